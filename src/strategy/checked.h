/* The checked decorator, for the strategy registry. See LICENSE. */
#ifndef MFFI_CHECKED_H
#define MFFI_CHECKED_H

#include "modffi.h"

/* The checked strategy called name: "checked" (over dynamic),
** "checked:INNER" for a built-in or registered INNER ("checked:remote"
** exists even before a remote strategy does: its open then fails). NULL if
** name is not of that form or INNER is unknown. Static result. */
const mffi_strategy *mffi__checked_find(const char *name);

#endif
