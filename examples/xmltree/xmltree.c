/* xmltree: print the element tree of an XML document. See LICENSE.
**
** Written once against the generated expat binding (expat_mffi.h, made by
** `modffi gen --name expat --header expat.h --only '^XML_'`): the same
** source runs under any strategy (--strategy): dynamic, static, remote
** (expat in a confined sandbox; XML_Parse's buffer is annotated in
** expat_annotate.h), and compiled with -Dexpat_MFFI_DIRECT it calls expat
** directly.
**
**   xmltree [--strategy dynamic|static|remote] [FILE]
**
** Reads FILE (or stdin) in chunks and prints each element name on its own
** line, indented three spaces per depth. Malformed XML: "xmltree: line N:
** MESSAGE" on stderr and exit status 1.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expat_mffi.h"

#define XT_CHUNK 65536 /* Bytes read and parsed at a time. */

typedef struct xt_state {
  int depth; /* Of the next element. */
} xt_state;

/* Expat calls these: in process directly, under remote through closures
** that the generated wrapper makes for them. */
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

static int xt_usage(void) {
  fputs("Usage: xmltree [--strategy dynamic|static|remote] [FILE]\n", stderr);
  return 2;
}

/* Parse f; 0 on success, 1 after reporting an error. */
static int xt_parse(FILE *f, const char *fname) {
  static char buf[XT_CHUNK];
  XML_Parser p = expat_XML_ParserCreate(NULL);
  if (!p) {
    const char *m = expat_mffi_errmsg();
    fprintf(stderr, "xmltree: %s\n", m[0] ? m : "out of memory");
    return 1;
  }
  xt_state st = {0};
  expat_XML_SetUserData(p, &st);
  expat_XML_SetElementHandler(p, xt_start, xt_end);
  int rc = 0;
  for (;;) {
    size_t n = fread(buf, 1, sizeof buf, f);
    if (ferror(f)) {
      fprintf(stderr, "xmltree: %s: %s\n", fname, strerror(errno));
      rc = 1;
      break;
    }
    int last = n < sizeof buf && feof(f);
    if (expat_XML_Parse(p, buf, (int)n, last) == XML_STATUS_ERROR) {
      fprintf(stderr, "xmltree: line %lu: %s\n",
              (unsigned long)expat_XML_GetCurrentLineNumber(p),
              expat_XML_ErrorString(expat_XML_GetErrorCode(p)));
      rc = 1;
      break;
    }
    if (last) break;
  }
  expat_XML_ParserFree(p);
  return rc;
}

int main(int argc, char **argv) {
  const char *strategy = NULL, *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--strategy") == 0 && i + 1 < argc) {
      strategy = argv[++i];
    } else if (strncmp(argv[i], "--strategy=", 11) == 0) {
      strategy = argv[i] + 11;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      return xt_usage();
    } else if (!path) {
      path = argv[i];
    } else {
      return xt_usage();
    }
  }
  if (expat_mffi_open_name(strategy, NULL) != 0) {
    fprintf(stderr, "xmltree: %s\n", expat_mffi_errmsg());
    return 2;
  }
  FILE *f = path && strcmp(path, "-") != 0 ? fopen(path, "rb") : stdin;
  if (!f) {
    fprintf(stderr, "xmltree: %s: %s\n", path, strerror(errno));
    expat_mffi_close();
    return 1;
  }
  int rc = xt_parse(f, path ? path : "<stdin>");
  if (f != stdin) fclose(f);
  expat_mffi_close();
  if (fflush(stdout) != 0) rc = 1;
  return rc;
}
