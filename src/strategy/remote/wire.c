/* Remote strategy: doorbells in shared memory. See LICENSE.
**
** A doorbell is a counter the sender bumps. The waiting side spins a while
** on it (a call that returns quickly costs no system call), then announces
** that it sleeps and sleeps in FUTEX_WAIT; the sender wakes it only then.
** The announcement and the bump are sequentially consistent, so one of the
** two always sees the other: no wake-up is lost. The doorbell's cache line
** also carries the message's offset and a copy of its header, so the
** receiver learns what came from the one line it was spinning on.
**
** Spinning pays only while the peer runs on another CPU. The scheduler
** often puts the two processes on one (a woken task joins its waker), and
** then each spin starves the peer it waits for: each side says where it
** waits, and a side that finds the peer on its own CPU yields at once.
*/
#define _GNU_SOURCE /* sched_getcpu */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
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

/* How often a spinning side looks at the clock and where its peer runs;
** how many times it yields before it sleeps. */
#define WIRE_CHECK_EVERY 64u
#define WIRE_YIELDS 4

/* The monotonic clock in ns (vDSO: no system call). */
static uint64_t wire_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* 1 + this thread's CPU, 0 if unknown (glibc reads it from rseq). */
static uint32_t wire_cpu(void) {
  int c = sched_getcpu();
  return c < 0 ? 0 : (uint32_t)c + 1;
}

/* Publish this side's CPU and return it. The peer spins on this cache
** line: write it only when the value changes. */
static uint32_t wire_say_cpu(wire_side *me) {
  uint32_t cpu = (uint16_t)wire_cpu();
  if (atomic_load_explicit(&me->cpu, memory_order_relaxed) != cpu)
    atomic_store_explicit(&me->cpu, cpu, memory_order_relaxed);
  return cpu;
}

/* Move this thread off CPU cpu (1 + its number), where the peer runs: a
** moment's affinity without it makes the kernel migrate us at once, then
** the old affinity is restored (where we now are stays allowed). The two
** then spin on two CPUs again, which the scheduler rarely arranges by
** itself for two tasks that wake each other. False if it cannot. */
static bool wire_move_off(uint32_t cpu) {
  cpu_set_t old, off;
  if (sched_getaffinity(0, sizeof old, &old) != 0) return false;
  off = old;
  CPU_CLR(cpu - 1, &off);
  if (CPU_COUNT(&off) == 0) return false;
  if (sched_setaffinity(0, sizeof off, &off) != 0) return false;
  (void)sched_setaffinity(0, sizeof old, &old);
  return true;
}

/* A shared (not private) futex: the word is in a memfd mapping. */
static long wire_futex(_Atomic uint32_t *w, int op, uint32_t val,
                       const struct timespec *ts) {
  return syscall(SYS_futex, (uint32_t *)w, op, val, ts, NULL, 0);
}

void mffi__wire_post(wire_chan *ch, uint64_t off) {
  wire_side *me = ch->host ? &ch->ctl->host : &ch->ctl->sandbox;
  wire_side *peer = ch->host ? &ch->ctl->sandbox : &ch->ctl->host;
  me->off = off;
  memcpy(&me->hdr, (const unsigned char *)ch->ctl + off, sizeof me->hdr);
  atomic_fetch_add(&me->bell, 1);
  if (atomic_load(&peer->sleeps)) wire_futex(&me->bell, FUTEX_WAKE, 1, NULL);
}

int mffi__wire_wait(wire_chan *ch, int (*poll)(void *ud), void *ud,
                    unsigned slice_ms, uint64_t *off, wire_msg *m) {
  wire_side *me = ch->host ? &ch->ctl->host : &ch->ctl->sandbox;
  wire_side *peer = ch->host ? &ch->ctl->sandbox : &ch->ctl->host;
  _Atomic uint32_t *bell = &peer->bell;
  uint32_t seen = ch->seen;
  uint32_t now;
  uint32_t cpu = wire_say_cpu(me);
  /* Spin while the peer runs on another CPU, for at most spin_ns. */
  uint64_t t0 = 0;
  for (unsigned i = 0;; i++) {
    now = atomic_load_explicit(bell, memory_order_acquire);
    if (now != seen) goto done;
    if (i % WIRE_CHECK_EVERY == 0) {
      if (cpu &&
          atomic_load_explicit(&peer->cpu, memory_order_relaxed) == cpu) {
        if (!ch->nudge || !wire_move_off(cpu)) break;
        cpu = wire_say_cpu(me);
      }
      /* The clock from the first check on: a quick reply never waits
      ** for it. */
      if (i == WIRE_CHECK_EVERY)
        t0 = wire_now_ns();
      else if (i > WIRE_CHECK_EVERY && wire_now_ns() - t0 >= ch->spin_ns)
        break;
    }
    wire_pause();
  }
  /* Where CPUs are unknown, a peer on this one may finish within its
  ** turn. Where they are known, sleep: the wake-up that follows lets the
  ** scheduler move one of the two to an idle CPU, which it rarely does
  ** for two tasks that keep yielding to each other. */
  for (int k = 0; !cpu && k < WIRE_YIELDS; k++) {
    sched_yield();
    now = atomic_load_explicit(bell, memory_order_acquire);
    if (now != seen) goto done;
  }
  /* Sleep, waking each slice to ask poll whether to go on. */
  for (;;) {
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
  }
done:
  wire_say_cpu(me); /* Where this side runs now, for the peer's waits. */
  ch->seen = now;
  *off = peer->off;
  memcpy(m, &peer->hdr, sizeof *m);
  return 0;
}
