#!/bin/bash
# The generated call routines under valgrind: test_jit, whose routines are
# written through one view of their memory and run from another, so
# valgrind must be told of new code in a reused slot. No invalid access,
# no use of uninitialised memory, no definite leak. See LICENSE.
exec env bash "$(dirname "$0")/valgrind_suite.sh" test_jit \
  '*/cc,*/sh,*collect2*,*cc1*,*/ld,*/as,*/rm'
