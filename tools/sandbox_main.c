/* modffi-sandbox: runs a library for the remote strategy. See LICENSE.
**
** Started by libmodffi (mffi_open with the "remote" strategy), never by
** hand: see modffi-sandbox(1) and docs/sandbox.md.
*/
#include "strategy/remote/remote.h"

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer needs ptrace and threads at exit, which the sandbox's
** system call filter denies: leaks of the host are checked, not these. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "detect_leaks=0";
}
#endif

int main(int argc, char **argv) {
  return mffi__sandbox_main(argc, argv);
}
