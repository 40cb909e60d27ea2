#!/bin/bash
# The host side of the remote strategy under valgrind: every test of
# test_remote, with its sandboxes (which valgrind cannot follow under their
# system call filter) and the compilers left out. No invalid access, no use
# of uninitialised memory, no definite leak. See LICENSE.
exec env MFFI_REMOTE_CYCLES=20 bash "$(dirname "$0")/valgrind_suite.sh" test_remote \
  '*modffi-sandbox*,*fake_sandbox*,*/mffi-rmfx-*/*,*/cc,*/sh,*collect2*,*cc1*,*/ld,*/as'
