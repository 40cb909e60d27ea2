/* xmltree_plain: xmltree written directly against expat. See LICENSE.
**
** The oracle for tests and the baseline for benchmarks: the same program
** as xmltree.c, calling expat's functions with no binding in between.
**
**   xmltree_plain [FILE]
*/
#include <errno.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XT_CHUNK 65536 /* Bytes read and parsed at a time. */

typedef struct xt_state {
  int depth; /* Of the next element. */
} xt_state;

static void XMLCALL xt_start(void *ud, const XML_Char *name,
                             const XML_Char **atts) {
  xt_state *st = ud;
  (void)atts;
  printf("%*s%s\n", st->depth * 3, "", name);
  st->depth++;
}

static void XMLCALL xt_end(void *ud, const XML_Char *name) {
  xt_state *st = ud;
  (void)name;
  st->depth--;
}

/* Parse f; 0 on success, 1 after reporting an error. */
static int xt_parse(FILE *f, const char *fname) {
  static char buf[XT_CHUNK];
  XML_Parser p = XML_ParserCreate(NULL);
  if (!p) {
    fputs("xmltree: out of memory\n", stderr);
    return 1;
  }
  xt_state st = {0};
  XML_SetUserData(p, &st);
  XML_SetElementHandler(p, xt_start, xt_end);
  int rc = 0;
  for (;;) {
    size_t n = fread(buf, 1, sizeof buf, f);
    if (ferror(f)) {
      fprintf(stderr, "xmltree: %s: %s\n", fname, strerror(errno));
      rc = 1;
      break;
    }
    int last = n < sizeof buf && feof(f);
    if (XML_Parse(p, buf, (int)n, last) == XML_STATUS_ERROR) {
      fprintf(stderr, "xmltree: line %lu: %s\n",
              (unsigned long)XML_GetCurrentLineNumber(p),
              XML_ErrorString(XML_GetErrorCode(p)));
      rc = 1;
      break;
    }
    if (last) break;
  }
  XML_ParserFree(p);
  return rc;
}

int main(int argc, char **argv) {
  if (argc > 2 || (argc == 2 && argv[1][0] == '-' && argv[1][1] != '\0')) {
    fputs("Usage: xmltree_plain [FILE]\n", stderr);
    return 2;
  }
  const char *path = argc == 2 ? argv[1] : NULL;
  FILE *f = path && strcmp(path, "-") != 0 ? fopen(path, "rb") : stdin;
  if (!f) {
    fprintf(stderr, "xmltree: %s: %s\n", path, strerror(errno));
    return 1;
  }
  int rc = xt_parse(f, path ? path : "<stdin>");
  if (f != stdin) fclose(f);
  if (fflush(stdout) != 0) rc = 1;
  return rc;
}
