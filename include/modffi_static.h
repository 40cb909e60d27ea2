/* modffi static strategy: the tables `modffi gen` writes. See LICENSE.
**
** `modffi gen --name N ...` writes N_mffi_static.c, compiled against the
** library's real header. It holds one table: per bound function a thunk
** that calls the function by name, and per extern variable its address.
** The table registers itself when the program (or shared object) is
** loaded, with a constructor calling mffi_static_register(). Then
**
**   mffi_open(ctx, mffi_strategy_find("static"), "N", NULL, &lib);
**
** opens it, mffi_bind() finds an entry by its declared name, and
** mffi_call() runs the thunk: no dlopen, no dlsym, no libffi.
**
** Programs do not normally include this header: the generated files do.
** It is public so that a table can also be written by hand (tests do).
*/
#ifndef MODFFI_STATIC_H
#define MODFFI_STATIC_H

#include "modffi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MFFI_STATIC_VERSION 1 /* Of mffi_static_table. */

/* Call the function: args[i] points at argument i (as for mffi_call());
** ret, when not NULL, receives the return value at its exact C size. */
typedef void (*mffi_static_thunk)(void *ret, void *const *args);

/* One bound symbol of a table. */
typedef struct mffi_static_entry {
  const char *name;        /* The declared (C) name. */
  const char *type;        /* Its type as mffi_type_str() prints the
                              description's: mffi_bind() refuses a context
                              whose declaration prints otherwise. NULL: no
                              check. */
  mffi_static_thunk thunk; /* NULL for a variable or a variadic function. */
  void *addr;              /* The function's code, or the variable. */
  unsigned flags;          /* MFFI_STATIC_* bits. */
} mffi_static_entry;

/* Entry flags. */
#define MFFI_STATIC_VARIABLE 0x1u /* An extern variable: addr is its storage.  \
                                   */
#define MFFI_STATIC_VARIADIC                                                   \
  0x2u /* A variadic function: no thunk (a thunk                               \
          could pass the fixed arguments only);                                \
          calls go through the call engine on                                  \
          addr, as for the dynamic strategy. */

/* A generated table. Entries are sorted by name (strcmp order). */
typedef struct mffi_static_table {
  int version;                      /* MFFI_STATIC_VERSION. */
  const char *name;                 /* The target name given to mffi_open. */
  const char *header;               /* The header it was compiled against. */
  size_t n;                         /* Number of entries. */
  const mffi_static_entry *entries; /* n entries, sorted by name. */
} mffi_static_table;

/* Make table t findable by the static strategy under t->name. t must stay
** valid for the life of the process (generated tables are static data).
** Registering the same table twice is harmless; a different table with a
** name already taken is refused. Safe to call from a constructor, before
** main() (it allocates nothing). Thread-safe (the registry has a lock).
** The registry is process-global with a fixed capacity of 64 tables.
** Returns MFFI_OK; MFFI_EMISUSE (NULL, no name, unknown version, unsorted
** entries, name taken); MFFI_ENOMEM (64 tables are registered: unregister
** one first). */
MFFI_API int mffi_static_register(const mffi_static_table *t);

/* Remove table t (the same pointer as registered) from the registry, e.g.
** from the destructor of a plug-in that is about to be dlclosed; its name
** may then be registered again. Thread-safe.
** Returns MFFI_OK; MFFI_ENOTFOUND (t is not registered); MFFI_EMISUSE (t is
** NULL, or libraries opened on t are still open: close them first, as they
** read the table). */
MFFI_API int mffi_static_unregister(const mffi_static_table *t);

/* The registered table called name, or NULL. Thread-safe; the table stays
** valid until it is unregistered. */
MFFI_API const mffi_static_table *mffi_static_find(const char *name);

#ifdef __cplusplus
}
#endif
#endif
