/* Strategy registry: find a strategy by name. See LICENSE. */
#include <pthread.h>
#include <string.h>

#include "checked.h"
#include "lib.h"
#include "strategy/remote/remote.h"

/* Max. strategies added with mffi_strategy_register. The registry is
** process-global, not per context, so it cannot use a context's allocator:
** a fixed capacity (documented in modffi.h) and unregistering instead. */
#define REG_MAX 16

static const mffi_strategy *reg_user[REG_MAX];
static int reg_n;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;

const char *mffi_strategy_name(const mffi_strategy *s) {
  return s && s->name ? s->name : "";
}

/* The registered strategy called name; reg_lock held. */
static const mffi_strategy *reg_find(const char *name) {
  if (strcmp(name, mffi__strategy_dynamic.name) == 0)
    return &mffi__strategy_dynamic;
  if (strcmp(name, mffi__strategy_static.name) == 0)
    return &mffi__strategy_static;
  if (strcmp(name, mffi__strategy_remote.name) == 0)
    return &mffi__strategy_remote;
  for (int i = 0; i < reg_n; i++)
    if (strcmp(reg_user[i]->name, name) == 0) return reg_user[i];
  return NULL;
}

const mffi_strategy *mffi_strategy_find(const char *name) {
  if (!name) return NULL;
  /* Decorators look their inner strategy up: outside the lock. */
  if (strncmp(name, "checked", 7) == 0) return mffi__checked_find(name);
  pthread_mutex_lock(&reg_lock);
  const mffi_strategy *s = reg_find(name);
  pthread_mutex_unlock(&reg_lock);
  return s;
}

int mffi_strategy_register(const mffi_strategy *s) {
  if (!s || !s->name || !s->name[0] || s->version < 1 || !s->xOpen || !s->xBind)
    return MFFI_EMISUSE;
  int rc = MFFI_OK;
  pthread_mutex_lock(&reg_lock);
  if (reg_find(s->name) || strncmp(s->name, "checked", 7) == 0)
    rc = MFFI_EMISUSE; /* Taken, or the decorators' names. */
  else if (reg_n == REG_MAX)
    rc = MFFI_ENOMEM;
  else
    reg_user[reg_n++] = s;
  pthread_mutex_unlock(&reg_lock);
  return rc;
}

int mffi_strategy_unregister(const mffi_strategy *s) {
  int rc = MFFI_ENOTFOUND;
  if (!s) return MFFI_EMISUSE;
  pthread_mutex_lock(&reg_lock);
  for (int i = 0; i < reg_n; i++)
    if (reg_user[i] == s) {
      memmove(&reg_user[i], &reg_user[i + 1],
              (size_t)(reg_n - i - 1) * sizeof *reg_user);
      reg_n--;
      rc = MFFI_OK;
      break;
    }
  pthread_mutex_unlock(&reg_lock);
  return rc;
}
