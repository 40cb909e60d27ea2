/* What the preprocessor saw when modffi_add_binding() generated the probe
** binding: each function is declared only if its condition held, so the
** generated probe_mffi.h names exactly the conditions that held. See
** CMakeLists.txt. */
#include <probe_inc.h> /* Only in include/: the target's include directory. */

#ifdef PROBE_DEF /* target_compile_definitions, after the call. */
int probe_def(void);
#endif
#if PROBE_VALUE == 42 /* A definition with a value. */
int probe_value(void);
#endif
#ifdef PROBE_IFACE /* From a linked target's INTERFACE_COMPILE_DEFINITIONS. */
int probe_iface(void);
#endif
#ifdef __STRICT_ANSI__ /* -std=c11 and not -std=gnu11: the language mode. */
int probe_iso(void);
#else
int probe_gnu(void);
#endif
#if __STDC_VERSION__ == 199901L /* C_STANDARD 99. */
int probe_c99(void);
#endif
#ifdef __CHAR_UNSIGNED__ /* -funsigned-char: the target's compile options. */
int probe_uchar(void);
#endif
