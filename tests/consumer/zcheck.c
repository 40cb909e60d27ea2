/* zcheck: zlib checksums through a modffi binding, under any strategy. See
** LICENSE.
**
** An out-of-tree consumer of an installed modffi (scripts/consumer-test.sh):
** built with CMake (CMakeLists.txt: find_package and modffi_add_binding) and
** with a plain Makefile and pkg-config (Makefile). The same source compiled
** with -Dzlib_MFFI_DIRECT calls zlib directly: the oracle.
**
**   zcheck STRATEGY [TEXT]...   (STRATEGY: dynamic, static, remote, checked;
**                                ignored in direct mode)
*/
#include <stdio.h>
#include <string.h>

#include "zlib_mffi.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs("Usage: zcheck STRATEGY [TEXT]...\n", stderr);
    return 2;
  }
  if (zlib_mffi_open_name(argv[1], NULL) != 0) {
    fprintf(stderr, "zcheck: %s\n", zlib_mffi_errmsg());
    return 1;
  }
  /* A string result, buffers with their length (zlib_annotate.h), scalars,
  ** and a macro and enum constants of the real header. */
  printf("zlib %s, header %s\n", zlib_zlibVersion(), ZLIB_VERSION);
  for (int i = 2; i < argc; i++) {
    const unsigned char *s = (const unsigned char *)argv[i];
    unsigned len = (unsigned)strlen(argv[i]);
    printf("%s: crc32 %08lx adler32 %08lx\n", argv[i], zlib_crc32(0, s, len),
           zlib_adler32(1, s, len));
  }
  printf("compressBound(1000) = %lu\n", zlib_compressBound(1000));
  printf("zError(Z_DATA_ERROR) = %s\n", zlib_zError(Z_DATA_ERROR));
  int rc = zlib_mffi_status();
  if (rc != 0) fprintf(stderr, "zcheck: %s\n", zlib_mffi_errmsg());
  zlib_mffi_close();
  return rc != 0;
}
