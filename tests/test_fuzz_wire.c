/* Replays fuzz/corpus/wire through the fuzz target of the host's checks of
** sandbox messages (fuzz/fuzz_wire.c), under the test build's sanitizers,
** plus random images of every size. See LICENSE. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "../fuzz/fuzz_wire.c"

#define CORPUS MFFI_SOURCE_DIR "/fuzz/corpus/wire"

Test(fuzz_wire, corpus) {
  DIR *d = opendir(CORPUS);
  cr_assert_not_null(d, "cannot open %s", CORPUS);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", CORPUS, e->d_name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static uint8_t buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    n++;
  }
  closedir(d);
  cr_assert_geq(n, 3, "the corpus has %d inputs", n);
}

Test(fuzz_wire, random_images) {
  srand(12345);
  static uint8_t buf[4096];
  for (int i = 0; i < 20000; i++) {
    size_t len = (size_t)rand() % sizeof buf;
    for (size_t k = 0; k < len; k++)
      buf[k] = (uint8_t)rand();
    if (len >= 24 && (i & 1)) { /* Aim at plausible offsets. */
      uint64_t off = ((uint64_t)rand() % 256) & ~15u, mlen = 48 + rand() % 200;
      memcpy(buf + 8, &off, 8);
      memcpy(buf + 16, &mlen, 8);
    }
    LLVMFuzzerTestOneInput(buf, len);
  }
}

/* The checks' verdicts on known messages. */
Test(fuzz_wire, verdicts) {
  wire_msg m = {.kind = WIRE_REPLY, .len = 16};
  cr_assert_null(mffi__wire_msg_check(64, 512, 64, &m));
  cr_assert_not_null(mffi__wire_msg_check(80, 512, 64, &m)); /* Below lo. */
  cr_assert_not_null(mffi__wire_msg_check(0, 512, 65, &m)); /* Misaligned. */
  cr_assert_not_null(mffi__wire_msg_check(0, 512, 496, &m)); /* Past hi. */
  cr_assert_not_null(mffi__wire_msg_check(0, 512, UINT64_MAX - 15, &m));
  m.len = 512 - 64 - sizeof m + 1; /* One byte past hi. */
  cr_assert_not_null(mffi__wire_msg_check(0, 512, 64, &m));
  m.len = 512 - 64 - sizeof m; /* Ends exactly at hi. */
  cr_assert_null(mffi__wire_msg_check(0, 512, 64, &m));
  m.len = UINT32_MAX;
  cr_assert_not_null(mffi__wire_msg_check(0, 512, 64, &m));
  m.len = 0;
  m.kind = 99;
  cr_assert_not_null(mffi__wire_msg_check(0, 512, 64, &m));

  unsigned char pay[64] = {0};
  wire_arg a = {16, 8, 0, 0}, tab[1];
  memcpy(pay, &a, sizeof a);
  size_t sz8 = 8, sz4 = 4;
  cr_assert_null(mffi__wire_args_check(pay, 64, 1, &sz8, 1, tab));
  cr_assert_not_null(mffi__wire_args_check(pay, 64, 2, &sz8, 1, tab));
  cr_assert_not_null(mffi__wire_args_check(pay, 64, 1, &sz4, 1, tab));
  cr_assert_not_null(mffi__wire_args_check(pay, 20, 1, &sz8, 1, tab));
  a.off = 60;
  memcpy(pay, &a, sizeof a);
  cr_assert_not_null(mffi__wire_args_check(pay, 64, 1, &sz8, 1, tab));
  size_t len;
  memcpy(pay + 32, "abc", 4);
  cr_assert_null(mffi__wire_str_check(pay, 64, 32, &len));
  cr_assert_eq(len, 3u);
  memset(pay + 40, 'x', 24);
  cr_assert_not_null(mffi__wire_str_check(pay, 64, 40, &len));
  cr_assert_not_null(mffi__wire_str_check(pay, 64, 64, &len));
}
