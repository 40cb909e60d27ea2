/* Remote strategy: doorbells in shared memory. See LICENSE.
**
** A doorbell is a counter the sender bumps. The waiting side spins a while
** on it (a call that returns quickly costs no system call), then announces
** that it sleeps and sleeps in FUTEX_WAIT; the sender wakes it only then.
** The announcement and the bump are sequentially consistent, so one of the
** two always sees the other: no wake-up is lost.
*/
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

_Static_assert(sizeof(wire_ctl) <= WIRE_CTL_SIZE, "control block too big");
_Static_assert(sizeof(wire_msg) % WIRE_ALIGN == 0, "header misaligns");
_Static_assert(sizeof(wire_arg) == 16, "arg table entry size");

static void wire_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* A shared (not private) futex: the word is in a memfd mapping. */
static long wire_futex(_Atomic uint32_t *w, int op, uint32_t val,
                       const struct timespec *ts) {
  return syscall(SYS_futex, (uint32_t *)w, op, val, ts, NULL, 0);
}

void mffi__wire_post(wire_chan *ch, uint64_t off, uint64_t len) {
  wire_side *me = ch->host ? &ch->ctl->host : &ch->ctl->sandbox;
  wire_side *peer = ch->host ? &ch->ctl->sandbox : &ch->ctl->host;
  me->off = off;
  me->len = len;
  atomic_fetch_add(&me->bell, 1);
  if (atomic_load(&peer->sleeps)) wire_futex(&me->bell, FUTEX_WAKE, 1, NULL);
}

int mffi__wire_wait(wire_chan *ch, int (*poll)(void *ud), void *ud,
                    unsigned slice_ms, uint64_t *off, uint64_t *len) {
  wire_side *me = ch->host ? &ch->ctl->host : &ch->ctl->sandbox;
  wire_side *peer = ch->host ? &ch->ctl->sandbox : &ch->ctl->host;
  _Atomic uint32_t *bell = &peer->bell;
  uint32_t seen = ch->seen;
  uint32_t now;
  for (unsigned i = 0;; i++) {
    now = atomic_load_explicit(bell, memory_order_acquire);
    if (now != seen) break;
    if (i < ch->spins) {
      wire_pause();
      continue;
    }
    if (i < ch->spins + 4) { /* Give a peer on this core its turn. */
      sched_yield();
      continue;
    }
    atomic_store(&me->sleeps, 1);
    now = atomic_load(bell);
    if (now == seen) {
      struct timespec ts = {(time_t)(slice_ms / 1000),
                            (long)(slice_ms % 1000) * 1000000L};
      wire_futex(bell, FUTEX_WAIT, seen, poll ? &ts : NULL);
    }
    atomic_store(&me->sleeps, 0);
    now = atomic_load_explicit(bell, memory_order_acquire);
    if (now != seen) break;
    if (poll) {
      int rc = poll(ud);
      if (rc) return rc;
    }
    i = ch->spins; /* Back to sleep without spinning again. */
  }
  ch->seen = now;
  *off = peer->off;
  *len = peer->len;
  return 0;
}
