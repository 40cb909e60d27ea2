/* Replays the fuzz corpus (fuzz/corpus/cdef) through the fuzz target's code
** path in the normal test suite. See LICENSE. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FUZZ_CDEF_NO_MAIN
#include "../fuzz/fuzz_cdef.c"

#define CORPUS_DIR MFFI_SOURCE_DIR "/fuzz/corpus/cdef"
#define CORPUS_MAX 4096 /* Max. files replayed. */

typedef struct corpus_file {
  char name[256]; /* File name within CORPUS_DIR. */
} corpus_file;

static int is_file(const char *name) {
  char path[1024];
  struct stat sb;
  snprintf(path, sizeof path, "%s/%s", CORPUS_DIR, name);
  return name[0] != '.' && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const corpus_file *)a)->name, ((const corpus_file *)b)->name);
}

static void free_params(struct criterion_test_params *ctp) {
  cr_free(ctp->params);
}

ParameterizedTestParameters(corpus, replay) {
  corpus_file *files = cr_malloc(CORPUS_MAX * sizeof *files);
  size_t n = 0;
  DIR *dir = opendir(CORPUS_DIR);
  if (dir && files) {
    struct dirent *e;
    while ((e = readdir(dir)) && n < CORPUS_MAX)
      if (is_file(e->d_name) && strlen(e->d_name) < sizeof files->name)
        strcpy(files[n++].name, e->d_name);
    closedir(dir);
    qsort(files, n, sizeof *files, by_name);
  }
  return cr_make_param_array(corpus_file, files, n, free_params);
}

/* Read a whole file; *len gets its size. NULL if it cannot be read. */
static uint8_t *slurp(const char *path, size_t *len) {
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

ParameterizedTest(corpus_file *cf, corpus, replay) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", CORPUS_DIR, cf->name);
  size_t len = 0;
  uint8_t *data = slurp(path, &len);
  cr_assert(data != NULL, "cannot read %s", path);
  const char *bad = fuzz_cdef_one(data, len);
  cr_expect(bad == NULL, "%s: %s", cf->name, bad);
  /* Every prefix up to a declaration boundary, too: inputs cut short. */
  for (size_t i = 0; i < len && !bad; i++)
    if (data[i] == ';' || data[i] == '{' || data[i] == '(') {
      bad = fuzz_cdef_one(data, i + 1);
      cr_expect(bad == NULL, "%s, first %zu bytes: %s", cf->name, i + 1, bad);
      if (len > 8192) i += len / 64; /* Sample big files. */
    }
  free(data);
}

Test(corpus, has_seeds) {
  DIR *dir = opendir(CORPUS_DIR);
  cr_assert(dir != NULL, "cannot open %s", CORPUS_DIR);
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(dir)))
    if (is_file(e->d_name)) n++;
  closedir(dir);
  cr_expect(n >= 30, "only %zu seed files in %s", n, CORPUS_DIR);
}
