/* libFuzzer target: the host's checks of what a sandbox sends. See LICENSE.
**
** The input is a little arena image: the first 32 bytes choose where the
** message lies and what the host expects (argument sizes, a string's
** place), the rest are the arena's bytes; the message's header is read
** from the image at its offset (as the control block's copy would say),
** or zero if it lies outside. Every check must answer without reading
** outside the image, whatever the bytes say.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strategy/remote/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 32) return 0;
  uint64_t p[4];
  memcpy(p, data, sizeof p);
  size_t n = size - 32;
  /* A private copy, so ASan sees the image's exact bounds. */
  unsigned char *arena = malloc(n ? n : 1);
  memcpy(arena, data + 32, n);
  uint64_t lo = p[0] % (n + 1), off = p[1];
  wire_msg m;
  memset(&m, 0, sizeof m);
  if (off <= n && n - off >= sizeof m) memcpy(&m, arena + off, sizeof m);
  m.len ^= (uint32_t)p[2]; /* Lengths the image alone would rarely say. */
  const char *bad = mffi__wire_msg_check(lo, n, off, &m);
  if (!bad) {
    const unsigned char *pay = arena + off + sizeof m;
    uint64_t plen = m.len;
    size_t nargs = p[3] % 8;
    size_t sizes[8];
    for (size_t i = 0; i < 8; i++)
      sizes[i] = ((p[3] >> (8 + 4 * i)) & 0xf) * 2;
    wire_arg tab[8];
    if (!mffi__wire_args_check(pay, plen, m.nargs, sizes, nargs, tab)) {
      for (size_t i = 0; i < nargs; i++) {
        size_t sl;
        if (tab[i].flags & WIRE_ARG_STRING)
          (void)mffi__wire_str_check(pay, plen, tab[i].off + 8, &sl);
      }
    }
    size_t sl;
    (void)mffi__wire_str_check(pay, plen, p[3] >> 40, &sl);
  }
  free(arena);
  return 0;
}
