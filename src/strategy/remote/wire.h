/* Remote strategy: the wire between host and sandbox. See LICENSE.
**
** Host and sandbox share one memfd, mapped at the same address in both (the
** arena). Its first page is the control block: two doorbells, the message
** slots and the death note. After it come the scratch stack (messages and
** the buffers marshalled for one call, used by whichever side holds the
** turn) and the heap (mffi_new blocks, managed by the host alone).
**
** Exactly one side runs at a time. A side posts a message (offset and
** length in the arena) and rings the peer's doorbell, then waits for the
** next message; a request met while waiting (a callback in a call, a call
** in a callback) is served first, so nesting is plain recursion on both
** sides. Each message says from where the receiver may use scratch
** (`top`); the receiver's messages must lie above it.
**
** Nothing the sandbox writes is trusted: the host reads each shared word
** once into a local, validates it (wire_span()) and copies out what it
** needs before use.
*/
#ifndef MFFI_WIRE_H
#define MFFI_WIRE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_MAGIC 0x6d666669u /* "mffi" */
#define WIRE_VERSION 2u
#define WIRE_CTL_SIZE 4096u    /* The control block's page. */
#define WIRE_ALIGN 16u         /* Every message and buffer. */
#define WIRE_MSG_ALIGN 64u     /* Message headers start a cache line: a
                                  reply never shares one with the request. */
#define WIRE_HELLO_INT 0x5678
#define WIRE_HELLO_DOUBLE 370.5

/* Message kinds. Host to sandbox: */
enum {
  WIRE_INIT = 1, /* Open the target: payload wire_init + strings + log. */
  WIRE_CDEF,     /* Declarations added after the open: payload text. */
  WIRE_BIND,     /* a: 0 by name (payload "name\0" + nvar "type\0"), 1 by
                    address b (payload "type\0"). Reply: id, a = address. */
  WIRE_UNBIND,   /* id. */
  WIRE_CALL,     /* id; payload: nargs wire_arg, then values. Reply: the
                    result's bytes; a = string length when copied. */
  WIRE_CB_MAKE,  /* id: the host's closure number; payload "type\0".
                    Reply: id = sandbox slot, a = code address. */
  WIRE_CB_FREE,  /* id: sandbox slot. */
  WIRE_READ,     /* Copy b bytes at library address a into the reply. */
  WIRE_WRITE,    /* Copy the payload (b bytes) to library address a. */
  WIRE_CB_RET,   /* Reply to WIRE_CALLBACK: status, the result's bytes. */
  /* Sandbox to host: */
  WIRE_REPLY,    /* Reply to any host request: status, err, payload. */
  WIRE_CALLBACK, /* id: host closure number; payload as WIRE_CALL. */
  WIRE_NKINDS
};

/* The hello the sandbox writes on the socket before anything else (as
** Lua's chunk header): the host refuses a sandbox built differently. */
typedef struct wire_hello {
  uint32_t magic, version;
  uint8_t sz_ptr, sz_long, sz_ldouble, sz_msg;
  int32_t test_int;  /* WIRE_HELLO_INT */
  double test_dbl;   /* WIRE_HELLO_DOUBLE */
  int32_t map_errno; /* 0: the arena is mapped at the host's address. */
  int32_t shared_heap; /* 1: the library's malloc serves from the arena. */
} wire_hello;

/* The control block. Each side writes only its own cache line (its
** doorbell, its message slot, its sleep flag) and reads the other's, so a
** round trip moves each line once. Only the doorbells and sleep flags are
** atomics; the slots are plain data written before the doorbell rings. */
/* A message header. */
typedef struct wire_msg {
  uint32_t kind;   /* WIRE_*. */
  uint32_t id;     /* Function, closure or slot number. */
  int32_t status;  /* Replies: MFFI_OK or a code. */
  int32_t err;     /* Replies to calls: errno right after the call. */
  uint64_t a, b;   /* Kind-specific. */
  uint64_t top;    /* Scratch from here up is the receiver's. */
  uint32_t nargs;  /* WIRE_CALL, WIRE_CALLBACK: entries of the arg table. */
  uint32_t len;    /* Payload bytes after the header. */
} wire_msg;

typedef struct wire_side {
  _Alignas(64) _Atomic uint32_t bell; /* Bumped per message (futex word). */
  _Atomic uint8_t sleeps; /* This side sleeps on the peer's bell. */
  uint8_t pad;
  /* 1 + the CPU this side last ran on while waiting; 0 unknown. A hint for
  ** the peer's spinning only (untrusted from the sandbox). */
  _Atomic uint16_t cpu;
  uint64_t off; /* This side's message, at off in the arena... */
  wire_msg hdr; /* ...whose header is copied here: one line to fetch. */
} wire_side;

typedef struct wire_ctl {
  wire_side host;    /* Written by the host. */
  wire_side sandbox; /* Written by the sandbox. */
  /* Death note: the sandbox's fatal-signal handler writes the signal and,
  ** for a denied system call, its number. Untrusted: for messages only. */
  _Alignas(64) _Atomic uint32_t note_sig;
  _Atomic int32_t note_syscall;
  uint64_t note_addr;
} wire_ctl;


/* One argument of a call or callback: where its value lies in the
** payload. For a string argument of a callback, the value is copied too
** and flags says so. */
typedef struct wire_arg {
  uint32_t off; /* Offset of the value from the payload's start. */
  uint32_t size;
  uint32_t flags; /* WIRE_ARG_*. */
  uint32_t pad;
} wire_arg;
#define WIRE_ARG_STRING 0x1u /* Value is a NUL-terminated copy. */

/* The payload of WIRE_INIT: fixed part, then target and policy, each
** NUL-terminated, then the declaration log: nlog bytes of entries, each an
** 8-byte length and that many bytes of text. */
typedef struct wire_init {
  uint32_t flags;        /* MFFI_OPEN_* of the open. */
  uint32_t rflags;       /* MFFI_REMOTE_*. */
  uint32_t max_closures;
  uint32_t cpu_seconds;
  uint64_t as_limit;
  uint64_t scratch_off, scratch_end; /* The scratch stack. */
  uint32_t has_target, pad;
  uint64_t ntarget, npolicy, nlog;
} wire_init;

/* Round n up to WIRE_ALIGN; false on overflow. */
static inline bool wire_round(uint64_t n, uint64_t *out) {
  if (n > UINT64_MAX - (WIRE_ALIGN - 1)) return false;
  *out = (n + WIRE_ALIGN - 1) & ~(uint64_t)(WIRE_ALIGN - 1);
  return true;
}

/* Where the arena's regions lie, from its size alone, so that both sides
** agree without telling each other: the control block, the scratch stack
** (a quarter), the host's heap for mffi_new (3/8) and the library's heap
** (3/8: the sandbox's malloc, so that what the library allocates is arena
** memory the host can read and pass back as it is). */
typedef struct wire_layout {
  uint64_t scratch_lo, scratch_hi; /* [lo, hi) offsets. */
  uint64_t host_lo, host_hi;
  uint64_t lib_lo, lib_hi;
} wire_layout;

static inline wire_layout wire_layout_of(uint64_t size) {
  wire_layout l;
  uint64_t rest = (size - WIRE_CTL_SIZE) & ~(uint64_t)4095;
  l.scratch_lo = WIRE_CTL_SIZE;
  l.scratch_hi = l.scratch_lo + (rest / 4 & ~(uint64_t)4095);
  l.host_lo = l.scratch_hi;
  l.host_hi = l.host_lo + (rest / 8 * 3 & ~(uint64_t)4095);
  l.lib_lo = l.host_hi;
  l.lib_hi = WIRE_CTL_SIZE + rest;
  return l;
}

/* Round a size known to be small (a type's size) up to WIRE_ALIGN. */
static inline uint64_t wire_up(uint64_t n) {
  return (n + WIRE_ALIGN - 1) & ~(uint64_t)(WIRE_ALIGN - 1);
}

/* Is [off, off + len) within [lo, hi)? Written so nothing overflows. */
static inline bool wire_span(uint64_t off, uint64_t len, uint64_t lo,
                             uint64_t hi) {
  return off >= lo && off <= hi && len <= hi - off;
}

/* -- Checks of untrusted messages (decode.c) ------------------------------- */

/* The message the peer posted at off with header *m (the copy from the
** control block): it must lie aligned within [lo, hi) with its payload,
** and its kind be one the host receives. NULL, or what is wrong. */
const char *mffi__wire_msg_check(uint64_t lo, uint64_t hi, uint64_t off,
                                 const wire_msg *m);
/* The argument table of a payload of plen bytes at pay: nargs entries of
** the n expected sizes, each value within the payload. Copies the entries to
** out[0..n). NULL, or what is wrong. */
const char *mffi__wire_args_check(const unsigned char *pay, uint64_t plen,
                                  uint32_t nargs, const size_t *sizes,
                                  size_t n, wire_arg *out);
/* A NUL-terminated string at offset at of the payload: *len gets its
** length. NULL, or what is wrong. */
const char *mffi__wire_str_check(const unsigned char *pay, uint64_t plen,
                                 uint64_t at, size_t *len);

/* -- The channel (wire.c) -------------------------------------------------- */

/* How long a waiting side spins before it sleeps: longer than a wake-up
** costs on a busy or virtual machine (tens of microseconds), short enough
** that an idle side soon burns no CPU. */
#define WIRE_SPIN_NS 100000u

typedef struct wire_chan {
  wire_ctl *ctl;
  bool host;      /* Which side this is. */
  uint32_t seen;  /* The peer's doorbell value last consumed. */
  uint64_t spin_ns; /* How long to spin before yielding and sleeping. */
  bool nudge; /* Move off the peer's CPU when they meet (the sandbox). */
} wire_chan;

/* Post the message at off (its header filled, len its payload's size) to
** the peer and ring its doorbell. */
void mffi__wire_post(wire_chan *ch, uint64_t off);

/* Wait for the peer's next message. The host passes a poll routine that is
** run every slice_ms while asleep (and returns nonzero to stop waiting:
** the peer died or the deadline passed); the sandbox passes NULL and sleeps
** until woken. Returns 0 with *off and the header *m read once from the
** control block (not yet validated), or what poll returned. */
int mffi__wire_wait(wire_chan *ch, int (*poll)(void *ud), void *ud,
                    unsigned slice_ms, uint64_t *off, wire_msg *m);

#endif
