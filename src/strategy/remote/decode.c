/* Remote strategy: checks of what the sandbox sends. See LICENSE.
**
** Pure functions over a copy of the arena's bytes: the host runs every
** message through them before it reads a field, and fuzz/fuzz_wire.c runs
** them on random bytes. Each returns NULL when the input is sound, or a
** static description of what is wrong (for MFFI_EPROTOCOL's message).
*/
#include <string.h>

#include "wire.h"

const char *mffi__wire_msg_check(uint64_t lo, uint64_t hi, uint64_t off,
                                 const wire_msg *m) {
  if (off % WIRE_ALIGN) return "a misaligned message";
  if (!wire_span(off, sizeof *m + (uint64_t)m->len, lo, hi))
    return "a message outside its scratch";
  if (m->kind != WIRE_REPLY && m->kind != WIRE_CALLBACK)
    return "a message of an unknown kind";
  return NULL;
}

const char *mffi__wire_args_check(const unsigned char *pay, uint64_t plen,
                                  uint32_t nargs, const size_t *sizes,
                                  size_t n, wire_arg *out) {
  if (nargs != n) return "a callback with the wrong number of arguments";
  if ((uint64_t)n * sizeof(wire_arg) > plen)
    return "an argument table longer than its payload";
  for (size_t i = 0; i < n; i++) {
    memcpy(&out[i], pay + i * sizeof(wire_arg), sizeof out[i]);
    if (out[i].size != sizes[i]) return "an argument of the wrong size";
    if (!wire_span(out[i].off, out[i].size, 0, plen))
      return "an argument outside its payload";
    if (out[i].flags & ~WIRE_ARG_STRING) return "unknown argument flags";
  }
  return NULL;
}

const char *mffi__wire_str_check(const unsigned char *pay, uint64_t plen,
                                 uint64_t at, size_t *len) {
  if (at >= plen) return "a string outside its payload";
  const void *nul = memchr(pay + at, '\0', (size_t)(plen - at));
  if (!nul) return "an unterminated string";
  *len = (size_t)((const unsigned char *)nul - (pay + at));
  return NULL;
}
