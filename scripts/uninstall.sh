#!/bin/sh
# Remove what `make install` put there: the files CMake's install manifest
# lists, then those of their directories named after modffi
# (lib/cmake/modffi, libexec/modffi) once empty. Directories shared with
# other software (bin, lib, include, share/man/man1...) stay.
# Usage: scripts/uninstall.sh BUILD/install_manifest.txt
set -eu
manifest=${1:?usage: uninstall.sh install_manifest.txt}
if [ ! -f "$manifest" ]; then
  echo "uninstall: no $manifest (nothing installed from this build)" >&2
  exit 1
fi
n=0
while IFS= read -r f || [ -n "$f" ]; do
  [ -n "$f" ] || continue
  if [ -e "$f" ] || [ -L "$f" ]; then
    rm -f "$f"
    n=$((n + 1))
  fi
  d=$(dirname "$f")
  case "$(basename "$d")" in
    modffi) rmdir "$d" 2>/dev/null || true ;;
  esac
done <"$manifest"
echo "uninstall: removed $n files"
