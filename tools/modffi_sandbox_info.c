/* `modffi sandbox-info`: what a remote library's sandbox runs under.
** See LICENSE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char info_usage[] =
    "Usage: " CLI_PROG " sandbox-info [--policy POLICY] [--strict] [LIB]\n"
    "\n"
    "Start a sandbox as the remote strategy does (for LIB, default the\n"
    "running process) and print which confinement layers it runs under.\n"
    "\n"
    "  --policy POLICY  compute (default) or files:DIR\n"
    "  --strict         fail (exit status 1) if any layer cannot be applied\n"
    "  -h, --help       show this help\n";

enum { INFO_HELP = 1, INFO_POLICY, INFO_STRICT };

/* The names of the layer bits in mask, space-separated, or "(none)". */
static void info_layers(unsigned mask, char *buf, size_t n) {
  buf[0] = '\0';
  size_t len = 0;
  for (unsigned bit = 1; bit <= MFFI_LAYER_ALL; bit <<= 1)
    if (mask & bit)
      len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s%s",
                              len ? " " : "", mffi_layer_name(bit));
  if (!len) snprintf(buf, n, "(none)");
}

int cli_sandbox_info(int argc, char **argv) {
  static const cli_opt opts[] = {
      {"help", 'h', false, INFO_HELP},
      {"policy", 0, true, INFO_POLICY},
      {"strict", 0, false, INFO_STRICT},
      {NULL, 0, false, 0},
  };
  cli_args a;
  cli_args_init(&a, "sandbox-info", argc, argv);
  mffi_remote_opts ro = {.version = MFFI_REMOTE_OPTS_VERSION};
  for (int id; (id = cli_getopt(&a, opts)) != 0;) {
    switch (id) {
    case INFO_HELP: fputs(info_usage, stdout); return CLI_EXIT_OK;
    case INFO_POLICY: ro.policy = a.value; break;
    case INFO_STRICT: ro.flags |= MFFI_REMOTE_STRICT; break;
    default: return CLI_EXIT_USAGE;
    }
  }
  if (a.noperands > 1)
    return cli_usage_error("sandbox-info", "at most one LIB");
  mffi_ctx *ctx;
  if (mffi_ctx_new(&ctx, NULL) != MFFI_OK) {
    cli_error("out of memory");
    return CLI_EXIT_FAIL;
  }
  mffi_open_opts oo = {MFFI_OPEN_OPTS_VERSION, 0, &ro};
  mffi_lib *lib;
  const char *target = a.noperands ? argv[1] : NULL;
  if (mffi_open(ctx, mffi_strategy_find("remote"), target, &oo, &lib) !=
      MFFI_OK) {
    cli_error("%s", mffi_errmsg(ctx));
    mffi_ctx_free(ctx);
    return CLI_EXIT_FAIL;
  }
  mffi_remote_info info;
  mffi_remote_info_get(lib, &info);
  char layers[512], missing[512];
  info_layers(info.layers, layers, sizeof layers);
  info_layers(info.missing, missing, sizeof missing);
  printf("sandbox: %s\n", info.sandbox);
  printf("target: %s\n", target ? target : "(the running process)");
  printf("pid: %ld\n", info.pid);
  printf("policy: %s\n", info.policy);
  printf("applied: %s\n", layers);
  printf("missing: %s\n", missing);
  printf("library heap: %s\n",
         info.shared_heap ? "in the shared arena" : "private");
  if (info.detail[0]) printf("why: %s\n", info.detail);
  mffi_ctx_free(ctx);
  return CLI_EXIT_OK;
}
