/* Remote strategy: what the rest of modffi sees of it. See LICENSE. */
#ifndef MFFI_REMOTE_H
#define MFFI_REMOTE_H

#include "modffi_strategy.h"

/* The strategy (host.c), found as "remote". */
extern const mffi_strategy mffi__strategy_remote;

/* The sandbox's main (sandbox.c): `modffi-sandbox serve BASE SIZE` with
** the channel on fd 3 and the arena's memfd on fd 4, as the host starts it.
** Returns the exit status. */
int mffi__sandbox_main(int argc, char **argv);

#endif
