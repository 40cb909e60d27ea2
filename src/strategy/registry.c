/* Strategy registry: find a strategy by name. See LICENSE. */
#include <string.h>

#include "checked.h"
#include "lib.h"

#define REG_MAX 16 /* Max. strategies added with mffi_strategy_register. */

static const mffi_strategy *reg_user[REG_MAX];
static int reg_n;

void *mffi_fn_native(const mffi_fn *fn) {
  if (!fn || mffi_fn_is_var(fn) || mffi_type_variadic(mffi_fn_type(fn)))
    return NULL;
  const mffi_strategy *s = mffi_lib_strategy(mffi_fn_lib(fn));
  if (!s || s->version < 2 || !(s->flags & MFFI_STRATEGY_NATIVE)) return NULL;
  return mffi_fn_addr(fn);
}

const mffi_strategy *mffi_strategy_find(const char *name) {
  if (!name) return NULL;
  if (strcmp(name, mffi__strategy_dynamic.name) == 0)
    return &mffi__strategy_dynamic;
  if (strcmp(name, mffi__strategy_static.name) == 0)
    return &mffi__strategy_static;
  if (strncmp(name, "checked", 7) == 0) return mffi__checked_find(name);
  for (int i = 0; i < reg_n; i++)
    if (strcmp(reg_user[i]->name, name) == 0) return reg_user[i];
  return NULL;
}

int mffi_strategy_register(const mffi_strategy *s) {
  if (!s || !s->name || !s->name[0] || s->version < 1 || !s->xOpen || !s->xBind)
    return MFFI_EMISUSE;
  if (mffi_strategy_find(s->name)) return MFFI_EMISUSE;
  if (reg_n == REG_MAX) return MFFI_ENOMEM;
  reg_user[reg_n++] = s;
  return MFFI_OK;
}
