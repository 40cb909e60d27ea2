#!/bin/sh
# Install the Debian packages modffi needs, only those missing.
# Usage: scripts/install-deps.sh [build|test|fuzz|demo|bench]...
# bench: the peers `make bench` compares with (LuaJIT 2.1 and its library
# for bench/parse_speed.c, Python cffi; python3-dev for cffi's API mode;
# ctypes comes with Python) and the headers it parses.
set -eu
pkgs="build-essential cmake pkg-config libffi-dev libseccomp-dev"
for what in "$@"; do
  case "$what" in
    test) pkgs="$pkgs libcriterion-dev zlib1g-dev libexpat1-dev libsqlite3-dev valgrind man-db" ;;
    fuzz) pkgs="$pkgs clang libclang-rt-14-dev" ;;
    demo) pkgs="$pkgs libexpat1-dev zlib1g-dev shared-mime-info" ;;
    bench) pkgs="$pkgs luajit libluajit-5.1-dev python3-cffi python3-dev libsqlite3-dev zlib1g-dev" ;;
    build) ;;
    *) echo "install-deps: unknown set '$what'" >&2; exit 2 ;;
  esac
done
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: not root; please run: sudo apt-get install -y$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq $missing >/dev/null
