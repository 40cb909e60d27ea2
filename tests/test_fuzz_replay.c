/* Replays the corpora of the value, member-path and type-expression fuzz
** targets (fuzz/corpus/{value,path,typeof}) through the targets' own code in
** the normal test suite. See LICENSE. */
/* modffi_value.c (through fuzz_value.c) reads _Float128 with strtof128. */
#define __STDC_WANT_IEC_60559_TYPES_EXT__ 1
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FUZZ_NO_MAIN
#include "../fuzz/fuzz_path.c"
#include "../fuzz/fuzz_typeof.c"
#include "../fuzz/fuzz_value.c"

#define CORPUS_ROOT MFFI_SOURCE_DIR "/fuzz/corpus/"
#define REPLAY_MAX 4096 /* Max. files replayed per corpus. */

typedef const char *(*replay_fn)(const uint8_t *data, size_t size);

typedef struct replay_file {
  char dir[16];   /* Corpus name: value, path, typeof. */
  char name[256]; /* File name within it. */
} replay_file;

static int rp_is_file(const char *dir, const char *name) {
  char path[1024];
  struct stat sb;
  snprintf(path, sizeof path, CORPUS_ROOT "%s/%s", dir, name);
  return name[0] != '.' && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int rp_by_name(const void *a, const void *b) {
  const replay_file *x = a, *y = b;
  int c = strcmp(x->dir, y->dir);
  return c ? c : strcmp(x->name, y->name);
}

static void rp_free_params(struct criterion_test_params *ctp) {
  cr_free(ctp->params);
}

static const char *const rp_dirs[] = {"value", "path", "typeof"};
#define RP_NDIRS (sizeof rp_dirs / sizeof *rp_dirs)

ParameterizedTestParameters(fuzz_replay, corpus) {
  replay_file *files = cr_malloc(RP_NDIRS * REPLAY_MAX * sizeof *files);
  size_t n = 0;
  for (size_t d = 0; d < RP_NDIRS && files; d++) {
    char dpath[1024];
    snprintf(dpath, sizeof dpath, CORPUS_ROOT "%s", rp_dirs[d]);
    DIR *dir = opendir(dpath);
    if (!dir) continue;
    struct dirent *e;
    size_t k = 0;
    while ((e = readdir(dir)) && k < REPLAY_MAX)
      if (rp_is_file(rp_dirs[d], e->d_name) &&
          strlen(e->d_name) < sizeof files->name) {
        strcpy(files[n].dir, rp_dirs[d]);
        strcpy(files[n++].name, e->d_name);
        k++;
      }
    closedir(dir);
  }
  if (files) qsort(files, n, sizeof *files, rp_by_name);
  return cr_make_param_array(replay_file, files, n, rp_free_params);
}

/* Read a whole file; *len gets its size. NULL if it cannot be read. */
static uint8_t *rp_slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    uint8_t *nb = realloc(buf, cap *= 2);
    if (!nb) free(buf);
    buf = nb;
  }
  fclose(f);
  *len = n;
  return buf;
}

ParameterizedTest(replay_file *rf, fuzz_replay, corpus) {
  replay_fn fn = strcmp(rf->dir, "value") == 0  ? fuzz_value_one
                 : strcmp(rf->dir, "path") == 0 ? fuzz_path_one
                                                : fuzz_typeof_one;
  char path[1024];
  snprintf(path, sizeof path, CORPUS_ROOT "%s/%s", rf->dir, rf->name);
  size_t len = 0;
  uint8_t *data = rp_slurp(path, &len);
  cr_assert(data != NULL, "cannot read %s", path);
  const char *bad = fn(data, len);
  cr_expect(bad == NULL, "%s/%s: %s", rf->dir, rf->name, bad);
  /* Every prefix too: inputs cut short. */
  for (size_t i = 1; i < len && !bad; i += 1 + len / 256) {
    bad = fn(data, i);
    cr_expect(bad == NULL, "%s/%s, first %zu bytes: %s", rf->dir, rf->name, i,
              bad);
  }
  free(data);
}

/* Each corpus has seeds. */
Test(fuzz_replay, has_seeds) {
  for (size_t d = 0; d < RP_NDIRS; d++) {
    char dpath[1024];
    snprintf(dpath, sizeof dpath, CORPUS_ROOT "%s", rp_dirs[d]);
    DIR *dir = opendir(dpath);
    cr_assert(dir != NULL, "cannot open %s", dpath);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
      if (rp_is_file(rp_dirs[d], e->d_name)) n++;
    closedir(dir);
    cr_expect(n >= 20, "only %zu seed files in %s", n, dpath);
  }
}
