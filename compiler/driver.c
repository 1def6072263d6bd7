/* driver.c -- weftc's command line, the compilation pipeline and linking.
 *
 *   weftc FILE.weft [FILE.c|.o|.a|.so ...] [options]   build (default: executable)
 *   weftc check [options] FILE.weft                    front end + sema only
 *   weftc run [options] FILE.weft [FILE.c ...] [--] [args...]
 *
 * Pipeline: src_load -> res_program -> ty_check -> low_check_supported ->
 * cg_program; for an executable the object goes to a temporary file and is
 * linked with $CC (default cc) against libweft.a, libuv, libm, libpthread.
 *
 * The compilation runs on a thread with a 512 MB stack so that deeply nested
 * input cannot overflow the C stack. Without sanitizers, fatal signals are
 * turned into an internal-compiler-error message and exit status 101.
 *
 * Prefix: drv_. Owns main().
 */
#include "weftc.h"
#include "weftc_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define DRV_STACK_SIZE ((size_t)512 * 1024 * 1024)

typedef enum { DRV_BUILD, DRV_CHECK, DRV_RUN } DrvCommand;

/* A growable list of strings, malloc-backed (the driver outlives the arena). */
typedef struct DrvList {
  const char **v;
  int n, cap;
} DrvList;

typedef struct DrvOptions {
  DrvCommand cmd;
  EmitKind emit;
  const char *out;          /* -o; NULL: default name */
  int opt_level;            /* -O0..-O3; default 0 */
  bool debug_info;          /* -g */
  bool verify;              /* --verify / --no-verify */
  bool verbose;             /* -v */
  bool werror;              /* -Werror */
  bool parse_only;          /* check --parse-only (hidden) */
  bool no_main;             /* --no-main: never emit a C main */
  bool header;              /* -H: also write the embedding header next to the object */
  const char *header_prefix; /* --header-prefix; NULL: from the root file's name */
  bool depfile;             /* -MD */
  const char *depfile_path; /* -MF */
  const char *stdlib;       /* --stdlib */
  const char *root;         /* the .weft file */
  DrvList c_sources;        /* .c inputs */
  DrvList link_inputs;      /* .o .a .so inputs */
  DrvList libs;             /* -l */
  DrvList lib_dirs;         /* -L */
  DrvList inc_dirs;         /* -I */
  DrvList run_args;         /* weftc run: arguments for the program */
  int color;                /* -1 auto, 0 never, 1 always */
  bool json;
} DrvOptions;

static DrvOptions drv_opts;
static char drv_exe_dir[PATH_MAX];   /* directory of the running weftc, "" if unknown */
static char drv_run_exe[PATH_MAX + 512];   /* weftc run: the temporary executable */
static char drv_run_dir[PATH_MAX];   /* weftc run: its temporary directory */

/* ------------------------------------------------------------ small helpers */

static void drv_list_push(DrvList *l, const char *s) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 8;
    l->v = realloc(l->v, sizeof(char *) * (size_t)l->cap);
    if (!l->v) {
      fputs("weftc: out of memory\n", stderr);
      exit(WEFTC_EXIT_ICE);
    }
  }
  l->v[l->n++] = s;
}

static bool drv_ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool drv_starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Every string the driver makes stays reachable from here until exit, so
 * LeakSanitizer (sanitized builds run with detect_leaks=1) has nothing to
 * report and nobody has to track ownership. */
static DrvList drv_owned;

static char *drv_own(char *p) {
  if (!p) {
    fputs("weftc: out of memory\n", stderr);
    exit(WEFTC_EXIT_ICE);
  }
  drv_list_push(&drv_owned, p);
  return p;
}

static char *drv_strdup(const char *s) { return drv_own(strdup(s)); }

static char *drv_concat(const char *a, const char *b, const char *c) {
  size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
  char *r = malloc(la + lb + lc + 1);
  if (!r) return drv_own(NULL);
  memcpy(r, a, la);
  memcpy(r + la, b, lb);
  if (c) memcpy(r + la + lb, c, lc);
  r[la + lb + lc] = 0;
  return drv_own(r);
}

static bool drv_is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool drv_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* "dir/name.weft" -> "name" (malloc'd). */
static char *drv_stem(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  char *s = drv_strdup(base);
  char *dot = strrchr(s, '.');
  if (dot && dot != s) *dot = 0;
  return s;
}

static const char *drv_tmpdir(void) {
  const char *t = getenv("TMPDIR");
  return (t && *t) ? t : "/tmp";
}

/* ------------------------------------------------------------ temp files */

/* Temporary files to remove at exit, also from the crash handler (unlink and
 * rmdir are async-signal-safe). Paths are fixed buffers, never freed. */
#define DRV_MAX_TEMPS 256
static char *drv_temps[DRV_MAX_TEMPS];
static volatile sig_atomic_t drv_ntemps;

static void drv_cleanup(void) {
  for (int i = (int)drv_ntemps - 1; i >= 0; i--)
    if (drv_temps[i]) unlink(drv_temps[i]);
  drv_ntemps = 0;
  if (drv_run_exe[0]) unlink(drv_run_exe);
  if (drv_run_dir[0]) rmdir(drv_run_dir);
}

/* Creates an empty temporary file "$TMPDIR/weftc-XXXXXX<suffix>". */
static char *drv_make_temp(const char *suffix) {
  char *path = drv_concat(drv_tmpdir(), "/weftc-XXXXXX", suffix);
  int fd = mkstemps(path, (int)strlen(suffix));
  if (fd < 0) {
    diag_error_plain("cannot create a temporary file in '%s': %s", drv_tmpdir(), strerror(errno));
    return NULL;
  }
  close(fd);
  if (drv_ntemps < DRV_MAX_TEMPS) {
    drv_temps[drv_ntemps] = path;
    drv_ntemps = drv_ntemps + 1;
  }
  return path;
}

/* ------------------------------------------------------------ crash handling */

static void drv_write_str(const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

static void drv_crash_handler(int sig) {
  char num[16];
  int i = (int)sizeof num - 1;
  unsigned v = (unsigned)sig;
  num[i] = 0;
  do {
    num[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v && i > 0);
  drv_write_str("weftc: internal compiler error: crashed with signal ");
  drv_write_str(num + i);
  drv_write_str("\nnote: please report this bug; it is not a problem in your program\n");
  drv_cleanup();
  _exit(WEFTC_EXIT_ICE);
}

static bool drv_sanitized(void) { return WEFT_SANITIZE_FLAGS[0] != 0; }

static void drv_install_crash_handlers(void) {
  if (drv_sanitized()) return; /* let ASan/UBSan report */
  static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = drv_crash_handler;
  sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
}

/* Alternate signal stack for the current thread, so a stack overflow can
 * still be reported. */
static void drv_alt_stack(void) {
  if (drv_sanitized()) return;
  static __thread bool done;
  if (done) return;
  size_t size = 256 * 1024;
  void *mem = malloc(size);
  if (!mem) return;
  stack_t ss;
  memset(&ss, 0, sizeof ss);
  ss.ss_sp = mem;
  ss.ss_size = size;
  if (sigaltstack(&ss, NULL) == 0) done = true;
}

/* ------------------------------------------------------------ where things are */

static void drv_find_self(void) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return;
  buf[n] = 0;
  char *slash = strrchr(buf, '/');
  if (!slash) return;
  *slash = 0;
  snprintf(drv_exe_dir, sizeof drv_exe_dir, "%s", buf);
}

/* Is this weftc the one in the build tree (<build>/compiler/weftc)? */
static bool drv_in_build_tree(void) {
  static int cached = -1;
  if (cached >= 0) return cached;
  cached = 0;
  if (!drv_exe_dir[0]) return false;
  char *root = drv_strdup(WEFT_BUILD_RUNTIME_DIR);
  char *slash = strrchr(root, '/');
  if (slash) *slash = 0;
  char *compiler_dir = drv_concat(root, "/compiler", NULL);
  char a[PATH_MAX], b[PATH_MAX];
  if (realpath(drv_exe_dir, a) && realpath(compiler_dir, b) && strcmp(a, b) == 0) cached = 1;
  return cached;
}

/* The install prefix the running weftc belongs to: its directory minus the
 * configured bindir (<prefix>/bin/weftc -> <prefix>), so an install that
 * was moved, or staged with DESTDIR, uses its own runtime, header and
 * stdlib. NULL in the build tree, or when weftc is not in a bindir. */
static const char *drv_self_prefix(void) {
  static int done;
  static char *prefix;
  if (done) return prefix;
  done = 1;
  if (!drv_exe_dir[0] || !WEFT_REL_BINDIR[0] || drv_in_build_tree()) return NULL;
  char *dir = drv_strdup(drv_exe_dir);
  char *bin = drv_strdup(WEFT_REL_BINDIR);
  /* Strip bindir's components from the end of dir, last first. */
  for (;;) {
    size_t n = strlen(bin);
    while (n > 0 && bin[n - 1] == '/') bin[--n] = 0;
    if (n == 0) break;
    char *cs = strrchr(bin, '/');
    const char *comp = cs ? cs + 1 : bin;
    if (strcmp(comp, ".") != 0) {
      char *ds = strrchr(dir, '/');
      if (!ds || strcmp(ds + 1, comp) != 0) return NULL;
      *ds = 0;
    }
    if (cs) *cs = 0;
    else bin[0] = 0;
  }
  prefix = *dir ? dir : drv_strdup("/");
  return prefix;
}

/* <prefix of this weftc>/<rel>, or NULL. */
static const char *drv_self_path(const char *rel) {
  const char *prefix = drv_self_prefix();
  if (!prefix || !rel[0]) return NULL;
  return drv_concat(prefix, "/", rel);
}

static const char *drv_stdlib_dir(void) {
  if (drv_opts.stdlib) return drv_opts.stdlib;
  const char *env = getenv("WEFT_STDLIB");
  if (env && *env) return env;
  if (drv_in_build_tree() && drv_is_dir(WEFT_SOURCE_STDLIB_DIR)) return WEFT_SOURCE_STDLIB_DIR;
  const char *self = drv_self_path(WEFT_REL_STDLIBDIR);
  if (self && drv_is_dir(self)) return self;
  if (drv_is_dir(WEFT_INSTALL_STDLIBDIR)) return WEFT_INSTALL_STDLIBDIR;
  return WEFT_SOURCE_STDLIB_DIR;
}

/* The directory holding libweft.a, or NULL (with an error reported). A
 * build-tree weftc uses the build tree; an installed one the libdir of its
 * own prefix, then the configured one. */
static const char *drv_runtime_dir(void) {
  const char *env = getenv("WEFT_RUNTIME_DIR");
  if (env && *env) return env;
  bool in_build = drv_is_file(drv_concat(WEFT_BUILD_RUNTIME_DIR, "/libweft.a", NULL));
  if (in_build && drv_in_build_tree()) return WEFT_BUILD_RUNTIME_DIR;
  const char *self = drv_self_path(WEFT_REL_LIBDIR);
  if (self && drv_is_file(drv_concat(self, "/libweft.a", NULL))) return self;
  if (drv_is_file(drv_concat(WEFT_INSTALL_LIBDIR, "/libweft.a", NULL))) return WEFT_INSTALL_LIBDIR;
  if (in_build) return WEFT_BUILD_RUNTIME_DIR;
  if (self && strcmp(self, WEFT_INSTALL_LIBDIR) != 0)
    diag_error_plain("cannot find the runtime library libweft.a (looked in '%s', '%s' and '%s')", self,
                     WEFT_INSTALL_LIBDIR, WEFT_BUILD_RUNTIME_DIR);
  else
    diag_error_plain("cannot find the runtime library libweft.a (looked in '%s' and '%s')",
                     WEFT_BUILD_RUNTIME_DIR, WEFT_INSTALL_LIBDIR);
  diag_note_plain("build it with 'ninja -C <build>', or set WEFT_RUNTIME_DIR to its directory");
  return NULL;
}

/* Include directories for C sources: the runtime's public header (weft.h),
 * from the same place as the runtime. */
static void drv_runtime_includes(DrvList *args) {
  const char *env = getenv("WEFT_INCLUDE_DIR");
  if (env && *env) {
    drv_list_push(args, drv_concat("-I", env, NULL));
    return;
  }
  if (drv_in_build_tree()) {
    drv_list_push(args, "-I" WEFT_SOURCE_INCLUDE_DIR);
    return;
  }
  const char *self = drv_self_path(WEFT_REL_INCLUDEDIR);
  if (self && drv_is_file(drv_concat(self, "/weft.h", NULL))) {
    drv_list_push(args, drv_concat("-I", self, NULL));
    return;
  }
  if (drv_is_file(WEFT_INSTALL_INCLUDEDIR "/weft.h")) {
    drv_list_push(args, "-I" WEFT_INSTALL_INCLUDEDIR);
    return;
  }
  drv_list_push(args, "-I" WEFT_SOURCE_INCLUDE_DIR);
}

/* ------------------------------------------------------------ running commands */

static void drv_print_command(const DrvList *argv) {
  for (int i = 0; i < argv->n; i++) {
    const char *a = argv->v[i];
    bool plain = *a != 0;
    for (const char *c = a; *c; c++)
      if (!(isalnum((unsigned char)*c) || strchr("-_./=+,:@%", *c))) plain = false;
    if (i) fputc(' ', stderr);
    if (plain) {
      fputs(a, stderr);
    } else {
      fputc('\'', stderr);
      for (const char *c = a; *c; c++) {
        if (*c == '\'') fputs("'\\''", stderr);
        else fputc(*c, stderr);
      }
      fputc('\'', stderr);
    }
  }
  fputc('\n', stderr);
}

/* $CC split on blanks ("ccache gcc" works), default "cc". */
static void drv_cc_command(DrvList *argv) {
  const char *cc = getenv("CC");
  if (!cc || !*cc) cc = "cc";
  char *copy = drv_strdup(cc);
  for (char *tok = strtok(copy, " \t"); tok; tok = strtok(NULL, " \t")) drv_list_push(argv, tok);
  if (argv->n == 0) drv_list_push(argv, "cc");
}

/* Runs argv (searched in PATH), waits. Returns the exit status, 128+signal
 * for a signal death, or -1 if it could not be started (error reported). */
static int drv_spawn(const DrvList *argv) {
  if (drv_opts.verbose) drv_print_command(argv);
  fflush(stdout);
  fflush(stderr);
  char **av = malloc(sizeof(char *) * (size_t)(argv->n + 1));
  for (int i = 0; i < argv->n; i++) av[i] = (char *)argv->v[i];
  av[argv->n] = NULL;
  pid_t pid;
  int rc = posix_spawnp(&pid, av[0], NULL, NULL, av, environ);
  free(av);
  if (rc != 0) {
    diag_error_plain("cannot run '%s': %s", argv->v[0], strerror(rc));
    return -1;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      diag_error_plain("waiting for '%s' failed: %s", argv->v[0], strerror(errno));
      return -1;
    }
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

/* ------------------------------------------------------------ usage */

static void drv_usage(FILE *f) {
  fputs(
      "weftc " WEFT_VERSION " -- the Weft workflow compiler\n"
      "\n"
      "Usage:\n"
      "  weftc [options] FILE.weft [FILE.c|FILE.o|FILE.a|FILE.so ...]\n"
      "                              compile (and link) a program; the default output\n"
      "                              is an executable named after FILE (FILE.weft -> ./FILE)\n"
      "  weftc check [options] FILE.weft\n"
      "                              parse and type-check only; no output\n"
      "  weftc run [options] FILE.weft [FILE.c ...] [--] [ARGS...]\n"
      "                              build a temporary executable, run it with ARGS and\n"
      "                              exit with its status (128+N if killed by signal N)\n"
      "\n"
      "Output:\n"
      "  -o FILE                     write the output to FILE ('-': stdout, text outputs only)\n"
      "  -c                          compile to an object file (FILE.o), do not link\n"
      "  -S                          compile to assembly (FILE.s)\n"
      "  --emit=KIND                 exe (default), obj, asm, llvm-ir (FILE.ll),\n"
      "                              frames (frame layout of every workflow; default: stdout),\n"
      "                              header (C header to start FILE's workflows: FILE.h)\n"
      "  -H                          with -c: also write the C header next to the object\n"
      "  --header-prefix=P           prefix of the header's functions (P_WF_start, P_WF_result);\n"
      "                              default: FILE's name as a C identifier\n"
      "  --no-main                   do not emit a C main() for `workflow main` (embedding);\n"
      "                              with C files, an executable takes main() from them\n"
      "  -MD                         also write a make dependency file (OUTPUT.d)\n"
      "  -MF FILE                    write the dependency file to FILE (implies -MD)\n"
      "\n"
      "Code generation:\n"
      "  -O0 -O1 -O2 -O3             optimization level (default -O0: fastest compile)\n"
      "  -O                          same as -O2\n"
      "  -g                          emit debug information (DWARF line tables)\n"
      "  --verify                    run the LLVM verifier on the generated module"
#if WEFT_DEBUG_BUILD
      " (default\n"
      "                              in this debug build)\n"
#else
      "\n"
#endif
      "  --no-verify                 do not run the LLVM verifier\n"
      "\n"
      "Linking (executables and `weftc run`):\n"
      "  -l LIB, -lLIB               link with library LIB\n"
      "  -L DIR, -LDIR               add DIR to the library search path\n"
      "  -I DIR, -IDIR               add DIR to the include path of C sources (weft.h's\n"
      "                              directory is always there)\n"
      "  C sources are compiled with `$CC -c` (default cc); objects are linked with\n"
      "  `$CC ... libweft.a -luv -lm -lpthread -ldl`.\n"
      "\n"
      "Diagnostics:\n"
      "  --error-format=human|json   human-readable (default) or one JSON object per line\n"
      "  --color=auto|always|never   color diagnostics (auto: only on a terminal, and\n"
      "                              never when NO_COLOR is set)\n"
      "  -Werror                     treat warnings as errors\n"
      "\n"
      "Other:\n"
      "  --stdlib=DIR                directory of the standard library (`import \"std/...\"`)\n"
      "  -v                          print the commands weftc runs (cc) and its search paths\n"
      "  --version                   print the version and exit\n"
      "  -h, --help                  print this help and exit\n"
      "\n"
      "Environment:\n"
      "  CC                          C compiler and linker driver (default: cc)\n"
      "  TMPDIR                      directory for temporary files (default: /tmp)\n"
      "  WEFT_STDLIB                 standard library directory (--stdlib overrides)\n"
      "  WEFT_RUNTIME_DIR            directory holding libweft.a\n"
      "  WEFT_INCLUDE_DIR            directory holding weft.h\n"
      "  NO_COLOR                    disable colors (with --color=auto)\n"
      "\n"
      "Exit status: 0 success, 1 errors in the program or the command line,\n"
      "101 internal compiler error. `weftc run` exits with the program's status.\n",
      f);
}

static void drv_version(void) {
  printf("weftc %s (LLVM %s)\n", WEFT_VERSION, WEFT_LLVM_VERSION);
}

static void drv_see_help(void) { diag_note_plain("see 'weftc --help'"); }

/* ------------------------------------------------------------ option parsing */

/* Returns true if a is the option `name` taking a value, setting *val (from
 * "-oVAL", "--name=VAL" or the next argument). *i is advanced. On a missing
 * value, reports and sets *bad. */
static bool drv_opt_value(int argc, char **argv, int *i, const char *name, const char **val,
                          bool *bad) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) != 0) return false;
  if (a[n] == 0) {
    if (*i + 1 >= argc) {
      diag_error_plain("missing argument to '%s'", name);
      *bad = true;
      *val = NULL;
      return true;
    }
    *val = argv[++*i];
    return true;
  }
  if (name[1] == '-') { /* --long=VAL */
    if (a[n] != '=') return false;
    *val = a + n + 1;
    return true;
  }
  if (strlen(name) != 2) return false; /* -MF etc. only as separate words */
  *val = a + n;                        /* -oVAL */
  return true;
}

static void drv_add_input(const char *a, bool *bad) {
  if (drv_ends_with(a, ".weft")) {
    if (drv_opts.root) {
      diag_error_plain("only one .weft file may be given ('%s' and '%s'); the root file "
                       "imports the others",
                       drv_opts.root, a);
      *bad = true;
      return;
    }
    drv_opts.root = a;
  } else if (drv_ends_with(a, ".c")) {
    drv_list_push(&drv_opts.c_sources, a);
  } else if (drv_ends_with(a, ".o") || drv_ends_with(a, ".a") || drv_ends_with(a, ".so") ||
             strstr(a, ".so.")) {
    drv_list_push(&drv_opts.link_inputs, a);
  } else {
    diag_error_plain("unrecognized input '%s' (expected a .weft, .c, .o, .a or .so file)", a);
    *bad = true;
  }
}

static bool drv_is_link_input(const char *a) {
  return drv_ends_with(a, ".c") || drv_ends_with(a, ".o") || drv_ends_with(a, ".a") ||
         drv_ends_with(a, ".so") || strstr(a, ".so.") != NULL;
}

/* Returns -1 to continue, or an exit status (--help, --version, errors). */
static int drv_parse_args(int argc, char **argv) {
  DrvOptions *o = &drv_opts;
  o->emit = EMIT_EXE;
  o->opt_level = 0;
  o->verify = WEFT_DEBUG_BUILD;
  o->color = -1;

  /* Diagnostic format first, so errors in the rest of the line follow it. */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    if (strcmp(argv[i], "--error-format=json") == 0) diag_set_json(true);
    if (strcmp(argv[i], "--color=never") == 0) diag_set_color(0);
    if (strcmp(argv[i], "--color=always") == 0) diag_set_color(1);
  }

  int i = 1;

  bool bad = false;
  bool only_inputs = false;
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char *val = NULL;

    /* weftc run: everything after the root file (and its C inputs) is the program's. */
    if (o->cmd == DRV_RUN && o->root) {
      if (!only_inputs && strcmp(a, "--") == 0) {
        i++;
      } else if (drv_is_link_input(a)) {
        drv_add_input(a, &bad);
        continue;
      }
      for (; i < argc; i++) drv_list_push(&o->run_args, argv[i]);
      break;
    }

    /* `weftc -v run x.weft`: the subcommand may follow options. */
    if (o->cmd == DRV_BUILD && !only_inputs && !o->root && !o->c_sources.n &&
        !o->link_inputs.n && (strcmp(a, "check") == 0 || strcmp(a, "run") == 0)) {
      o->cmd = a[0] == 'c' ? DRV_CHECK : DRV_RUN;
      continue;
    }
    if (only_inputs || a[0] != '-' || strcmp(a, "-") == 0) {
      if (strcmp(a, "-") == 0) {
        diag_error_plain("reading the program from standard input is not supported");
        bad = true;
        continue;
      }
      drv_add_input(a, &bad);
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_inputs = true;
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      drv_usage(stdout);
      return WEFTC_EXIT_OK;
    }
    if (strcmp(a, "--version") == 0) {
      drv_version();
      return WEFTC_EXIT_OK;
    }
    if (strcmp(a, "-c") == 0) {
      o->emit = EMIT_OBJ;
    } else if (strcmp(a, "-S") == 0) {
      o->emit = EMIT_ASM;
    } else if (strcmp(a, "-g") == 0) {
      o->debug_info = true;
    } else if (strcmp(a, "-v") == 0) {
      o->verbose = true;
    } else if (strcmp(a, "-Werror") == 0) {
      o->werror = true;
    } else if (strcmp(a, "--verify") == 0) {
      o->verify = true;
    } else if (strcmp(a, "--no-verify") == 0) {
      o->verify = false;
    } else if (strcmp(a, "--no-main") == 0) {
      o->no_main = true;
    } else if (strcmp(a, "-H") == 0) {
      o->header = true;
    } else if (strcmp(a, "--parse-only") == 0) {
      o->parse_only = true;
    } else if (strcmp(a, "-MD") == 0) {
      o->depfile = true;
    } else if (strcmp(a, "-O") == 0) {
      o->opt_level = 2;
    } else if (a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && a[3] == 0) {
      o->opt_level = a[2] - '0';
    } else if (drv_opt_value(argc, argv, &i, "-o", &val, &bad)) {
      if (val) o->out = val;
    } else if (drv_opt_value(argc, argv, &i, "-MF", &val, &bad)) {
      if (val) {
        o->depfile = true;
        o->depfile_path = val;
      }
    } else if (drv_opt_value(argc, argv, &i, "-l", &val, &bad)) {
      if (val) drv_list_push(&o->libs, val);
    } else if (drv_opt_value(argc, argv, &i, "-L", &val, &bad)) {
      if (val) drv_list_push(&o->lib_dirs, val);
    } else if (drv_opt_value(argc, argv, &i, "-I", &val, &bad)) {
      if (val) drv_list_push(&o->inc_dirs, val);
    } else if (drv_opt_value(argc, argv, &i, "--stdlib", &val, &bad)) {
      if (val) o->stdlib = val;
    } else if (drv_opt_value(argc, argv, &i, "--header-prefix", &val, &bad)) {
      if (!val) continue;
      if (!hdr_is_ident(val)) {
        diag_error_plain("--header-prefix '%s' is not a C identifier", val);
        bad = true;
      } else if (hdr_reserved(val)) {
        diag_error_plain("--header-prefix '%s' is reserved for the runtime's names (weft_*)", val);
        bad = true;
      } else {
        o->header_prefix = val;
      }
    } else if (drv_opt_value(argc, argv, &i, "--emit", &val, &bad)) {
      if (!val) continue;
      if (strcmp(val, "exe") == 0 || strcmp(val, "link") == 0) o->emit = EMIT_EXE;
      else if (strcmp(val, "obj") == 0) o->emit = EMIT_OBJ;
      else if (strcmp(val, "asm") == 0) o->emit = EMIT_ASM;
      else if (strcmp(val, "llvm-ir") == 0) o->emit = EMIT_LLVM_IR;
      else if (strcmp(val, "frames") == 0) o->emit = EMIT_FRAMES;
      else if (strcmp(val, "header") == 0) o->emit = EMIT_HEADER;
      else if (strcmp(val, "dot") == 0) {
        diag_error_plain("--emit=%s is not implemented yet", val);
        bad = true;
      } else {
        diag_error_plain("unknown --emit kind '%s' (expected exe, obj, asm, llvm-ir, frames or header)", val);
        bad = true;
      }
    } else if (drv_opt_value(argc, argv, &i, "--error-format", &val, &bad)) {
      if (!val) continue;
      if (strcmp(val, "json") == 0) o->json = true;
      else if (strcmp(val, "human") == 0) o->json = false;
      else {
        diag_error_plain("unknown --error-format '%s' (expected human or json)", val);
        bad = true;
      }
    } else if (strcmp(a, "--color") == 0) {
      o->color = 1;
    } else if (drv_starts_with(a, "--color=")) {
      val = a + 8;
      if (strcmp(val, "auto") == 0) o->color = -1;
      else if (strcmp(val, "always") == 0) o->color = 1;
      else if (strcmp(val, "never") == 0) o->color = 0;
      else {
        diag_error_plain("unknown --color '%s' (expected auto, always or never)", val);
        bad = true;
      }
    } else {
      diag_error_plain("unknown option '%s'", a);
      drv_see_help();
      bad = true;
    }
  }

  diag_set_json(o->json);
  diag_set_color(o->color);
  if (o->werror) diag_set_werror(true);
  if (bad) return WEFTC_EXIT_USER;

  if (!o->root) {
    if (o->c_sources.n || o->link_inputs.n)
      diag_error_plain("no .weft input file (C and object files are linked into a Weft program)");
    else
      diag_error_plain("no input files");
    drv_see_help();
    return WEFTC_EXIT_USER;
  }
  if (o->cmd == DRV_RUN) o->emit = EMIT_EXE;
  if (o->out && strcmp(o->out, "-") == 0 && (o->emit == EMIT_EXE || o->emit == EMIT_OBJ)) {
    diag_error_plain("'-o -' writes to standard output, which only text outputs can do "
                     "(-S, --emit=llvm-ir, --emit=frames, --emit=header)");
    return WEFTC_EXIT_USER;
  }
  if (o->header && (o->cmd != DRV_BUILD || o->emit != EMIT_OBJ)) {
    diag_error_plain("-H writes a C header next to the object file: use it with -c");
    return WEFTC_EXIT_USER;
  }
  if (o->cmd == DRV_BUILD && o->emit != EMIT_EXE && (o->c_sources.n || o->link_inputs.n))
    fprintf(stderr, "weftc: warning: '%s' is only used when linking an executable; ignored\n",
            o->c_sources.n ? o->c_sources.v[0] : o->link_inputs.v[0]);
  return -1;
}

/* ------------------------------------------------------------ pipeline */

static bool drv_failed(void) { return diag_error_count() > 0; }

/* Copies a file to stdout. */
static bool drv_cat(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    diag_error_plain("cannot read '%s': %s", path, strerror(errno));
    return false;
  }
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
  fclose(f);
  fflush(stdout);
  return true;
}

static void drv_dep_escaped(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == ' ' || *s == '#') fputc('\\', f);
    if (*s == '$') fputc('$', f);
    fputc(*s, f);
  }
}

/* Make-style dependency file: "OUT: every .weft file read". */
static bool drv_write_depfile(const char *target) {
  char *path;
  if (drv_opts.depfile_path) {
    path = drv_strdup(drv_opts.depfile_path);
  } else if (drv_ends_with(target, ".o")) { /* x.o -> x.d, like cc -MD */
    path = drv_strdup(target);
    path[strlen(path) - 1] = 'd';
  } else {
    path = drv_concat(target, ".d", NULL);
  }
  FILE *f = fopen(path, "w");
  if (!f) {
    diag_error_plain("cannot write '%s': %s", path, strerror(errno));
    return false;
  }
  drv_dep_escaped(f, target);
  fputc(':', f);
  int n = src_count();
  for (int i = 0; i < n; i++) {
    SrcFile *s = src_get(i);
    if (!s || !s->path) continue;
    fputs(" \\\n  ", f);
    drv_dep_escaped(f, s->path);
  }
  fputc('\n', f);
  for (int i = 1; i < n; i++) { /* phony targets (like -MP): deleted imports don't break make */
    SrcFile *s = src_get(i);
    if (!s || !s->path) continue;
    fputc('\n', f);
    drv_dep_escaped(f, s->path);
    fputs(":\n", f);
  }
  bool ok = fclose(f) == 0;
  if (!ok) diag_error_plain("cannot write '%s': %s", path, strerror(errno));
  return ok;
}

/* Compiles one C source to a temporary object. */
static const char *drv_compile_c(const char *src) {
  if (!drv_is_file(src)) {
    diag_error_plain("cannot read '%s': %s", src, strerror(errno ? errno : ENOENT));
    return NULL;
  }
  const char *obj = drv_make_temp(".o");
  if (!obj) return NULL;
  DrvList argv = {0};
  drv_cc_command(&argv);
  drv_list_push(&argv, "-c");
  static const char *olevels[] = {"-O0", "-O1", "-O2", "-O3"};
  drv_list_push(&argv, olevels[drv_opts.opt_level]);
  if (drv_opts.debug_info) drv_list_push(&argv, "-g");
  for (int i = 0; i < drv_opts.inc_dirs.n; i++)
    drv_list_push(&argv, drv_concat("-I", drv_opts.inc_dirs.v[i], NULL));
  drv_runtime_includes(&argv);
  if (drv_sanitized()) drv_list_push(&argv, WEFT_SANITIZE_FLAGS);
  drv_list_push(&argv, src);
  drv_list_push(&argv, "-o");
  drv_list_push(&argv, obj);
  int rc = drv_spawn(&argv);
  free(argv.v);
  if (rc < 0) return NULL;
  if (rc != 0) {
    diag_error_plain("compiling '%s' failed", src);
    return NULL;
  }
  return obj;
}

static bool drv_link(const char *weft_obj, const char *out) {
  DrvList objs = {0};
  for (int i = 0; i < drv_opts.c_sources.n; i++) {
    const char *o = drv_compile_c(drv_opts.c_sources.v[i]);
    if (!o) return false;
    drv_list_push(&objs, o);
  }
  for (int i = 0; i < drv_opts.link_inputs.n; i++) {
    const char *in = drv_opts.link_inputs.v[i];
    if (!drv_is_file(in)) {
      diag_error_plain("cannot read '%s': %s", in, strerror(errno ? errno : ENOENT));
      return false;
    }
  }
  const char *rtdir = drv_runtime_dir();
  if (!rtdir) return false;
  if (drv_opts.verbose) fprintf(stderr, "weftc: runtime: %s/libweft.a\n", rtdir);

  DrvList argv = {0};
  drv_cc_command(&argv);
  if (drv_opts.debug_info) drv_list_push(&argv, "-g");
  drv_list_push(&argv, weft_obj);
  for (int i = 0; i < objs.n; i++) drv_list_push(&argv, objs.v[i]);
  for (int i = 0; i < drv_opts.link_inputs.n; i++) drv_list_push(&argv, drv_opts.link_inputs.v[i]);
  drv_list_push(&argv, drv_concat(rtdir, "/libweft.a", NULL));
  for (int i = 0; i < drv_opts.lib_dirs.n; i++)
    drv_list_push(&argv, drv_concat("-L", drv_opts.lib_dirs.v[i], NULL));
  for (int i = 0; i < drv_opts.libs.n; i++)
    drv_list_push(&argv, drv_concat("-l", drv_opts.libs.v[i], NULL));
  drv_list_push(&argv, "-luv");
  drv_list_push(&argv, "-lm");
  drv_list_push(&argv, "-lpthread");
  drv_list_push(&argv, "-ldl");
  if (drv_sanitized()) drv_list_push(&argv, WEFT_SANITIZE_FLAGS);
  drv_list_push(&argv, "-o");
  drv_list_push(&argv, out);
  int rc = drv_spawn(&argv);
  free(argv.v);
  free(objs.v);
  if (rc < 0) return false;
  if (rc != 0) {
    diag_error_plain("linking failed");
    return false;
  }
  return true;
}

static const char *drv_default_output(void) {
  char *stem = drv_stem(drv_opts.root);
  switch (drv_opts.emit) {
  case EMIT_EXE: return stem;
  case EMIT_OBJ: return drv_concat(stem, ".o", NULL);
  case EMIT_ASM: return drv_concat(stem, ".s", NULL);
  case EMIT_LLVM_IR: return drv_concat(stem, ".ll", NULL);
  case EMIT_FRAMES: return "-";
  case EMIT_HEADER: return drv_concat(stem, ".h", NULL);
  }
  return stem;
}

/* The whole compilation; returns weftc's exit status. */
static int drv_compile(void) {
  DrvOptions *o = &drv_opts;

  /* Every input must be readable before any work starts. */
  DrvList *inputs[] = {&o->c_sources, &o->link_inputs};
  bool missing = false;
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < inputs[k]->n; i++)
      if (access(inputs[k]->v[i], R_OK) != 0) {
        diag_error_plain("cannot read '%s': %s", inputs[k]->v[i], strerror(errno));
        missing = true;
      }

  SrcFile *root = src_load(o->root, o->root);
  if (!root) {
    diag_error_plain("cannot read '%s': %s", o->root, strerror(errno ? errno : EIO));
    return WEFTC_EXIT_USER;
  }
  if (missing) return WEFTC_EXIT_USER;

  if (o->cmd == DRV_CHECK && o->parse_only) {
    parse_file(root);
    return drv_failed() ? WEFTC_EXIT_USER : WEFTC_EXIT_OK;
  }

  const char *stdlib = drv_stdlib_dir();
  if (o->verbose) fprintf(stderr, "weftc: stdlib: %s\n", stdlib);
  res_set_stdlib_dir(stdlib);

  Program *p = res_program(root);
  if (!p || drv_failed()) return WEFTC_EXIT_USER;
  if (!ty_check(p) || drv_failed()) return WEFTC_EXIT_USER;
  if (!low_check_supported(p) || drv_failed()) return WEFTC_EXIT_USER;
  if (o->cmd == DRV_CHECK) return WEFTC_EXIT_OK;

  /* --no-main with C inputs: the C program brings main() (embedding) */
  if (o->emit == EMIT_EXE && !p->main && !(o->no_main && (o->c_sources.n || o->link_inputs.n))) {
    diag_error_plain("'%s' has no 'workflow main', which an executable starts from", o->root);
    diag_note_plain("use -c to compile it to an object file");
    return WEFTC_EXIT_USER;
  }

  CgOptions cg = {0};
  cg.opt_level = o->opt_level;
  cg.debug_info = o->debug_info;
  cg.verify = o->verify;
  cg.emit_main = p->main != NULL && !o->no_main;
  cg.target_triple = NULL;

  /* Embedding: the object defines PREFIX_WF_start/_result, which the header
   * declares. A name in the runtime's namespace gets none (unless a header
   * was asked for: then it is an error). */
  const char *prefix = o->header_prefix ? o->header_prefix : hdr_default_prefix(o->root);
  if (hdr_reserved(prefix)) {
    if (o->header || o->emit == EMIT_HEADER) {
      diag_error_plain("the header prefix '%s' (from the file name) is reserved for the runtime's "
                       "names (weft_*)", prefix);
      diag_note_plain("choose another one with --header-prefix=P");
      return WEFTC_EXIT_USER;
    }
    prefix = NULL;
  }
  cg.embed_prefix = prefix;

  const char *out = o->out ? o->out : drv_default_output();

  if (o->emit == EMIT_HEADER) {
    if (!hdr_write(p, prefix, out)) return WEFTC_EXIT_USER;
    if (o->depfile && strcmp(out, "-") != 0 && !drv_write_depfile(out)) return WEFTC_EXIT_USER;
    return drv_failed() ? WEFTC_EXIT_USER : WEFTC_EXIT_OK;
  }

  if (o->emit == EMIT_EXE) {
    if (o->cmd == DRV_RUN) out = drv_run_exe;
    const char *obj = drv_make_temp(".o");
    if (!obj) return WEFTC_EXIT_USER;
    if (!cg_program(p, &cg, EMIT_OBJ, obj) || drv_failed()) return WEFTC_EXIT_USER;
    if (!drv_link(obj, out) || drv_failed()) return WEFTC_EXIT_USER;
  } else if (strcmp(out, "-") == 0) {
    const char *suffix = o->emit == EMIT_ASM ? ".s" : o->emit == EMIT_LLVM_IR ? ".ll" : ".txt";
    const char *tmp = drv_make_temp(suffix);
    if (!tmp) return WEFTC_EXIT_USER;
    if (!cg_program(p, &cg, o->emit, tmp) || drv_failed()) return WEFTC_EXIT_USER;
    if (!drv_cat(tmp)) return WEFTC_EXIT_USER;
  } else {
    if (!cg_program(p, &cg, o->emit, out) || drv_failed()) {
      if (o->emit == EMIT_OBJ) unlink(out);
      return WEFTC_EXIT_USER;
    }
    if (o->header) { /* -H: x.o -> x.h */
      char *h = drv_strdup(out);
      if (drv_ends_with(h, ".o")) h[strlen(h) - 1] = 'h';
      else h = drv_concat(out, ".h", NULL);
      if (!hdr_write(p, prefix, h)) return WEFTC_EXIT_USER;
    }
  }

  if (o->depfile && o->cmd == DRV_BUILD && strcmp(out, "-") != 0)
    if (!drv_write_depfile(out)) return WEFTC_EXIT_USER;
  return drv_failed() ? WEFTC_EXIT_USER : WEFTC_EXIT_OK;
}

/* ------------------------------------------------------------ weftc run */

static volatile sig_atomic_t drv_child_pid;

static void drv_forward_signal(int sig) {
  if (drv_child_pid > 0) kill((pid_t)drv_child_pid, sig);
}

static bool drv_prepare_run(void) {
  char tmpl[PATH_MAX];
  snprintf(tmpl, sizeof tmpl, "%s/weftc-run-XXXXXX", drv_tmpdir());
  if (!mkdtemp(tmpl)) {
    diag_error_plain("cannot create a temporary directory in '%s': %s", drv_tmpdir(),
                     strerror(errno));
    return false;
  }
  snprintf(drv_run_dir, sizeof drv_run_dir, "%s", tmpl);
  char *stem = drv_stem(drv_opts.root);
  if (strlen(stem) > 255) stem[255] = 0;
  snprintf(drv_run_exe, sizeof drv_run_exe, "%s/%s", drv_run_dir, stem);
  return true;
}

static int drv_run_program(void) {
  DrvList *args = &drv_opts.run_args;
  char **av = malloc(sizeof(char *) * (size_t)(args->n + 2));
  char *stem = drv_stem(drv_opts.root);
  av[0] = stem; /* the program sees its own name, not the temporary path */
  for (int i = 0; i < args->n; i++) av[i + 1] = (char *)args->v[i];
  av[args->n + 1] = NULL;

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t def, none;
  sigemptyset(&def);
  sigaddset(&def, SIGINT);
  sigaddset(&def, SIGQUIT);
  sigaddset(&def, SIGTERM);
  sigaddset(&def, SIGHUP);
  sigaddset(&def, SIGPIPE);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  if (drv_opts.verbose) {
    DrvList show = {0};
    drv_list_push(&show, drv_run_exe);
    for (int i = 0; i < args->n; i++) drv_list_push(&show, args->v[i]);
    drv_print_command(&show);
    free(show.v);
  }
  fflush(stdout);
  fflush(stderr);

  /* While the program runs, a terminal's ^C reaches it directly (same process
   * group); weftc waits for it to unwind, then cleans up. */
  struct sigaction ign, fwd, old_int, old_quit, old_term, old_hup;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  memset(&fwd, 0, sizeof fwd);
  fwd.sa_handler = drv_forward_signal;
  sigemptyset(&fwd.sa_mask);
  sigaction(SIGINT, &ign, &old_int);
  sigaction(SIGQUIT, &ign, &old_quit);
  sigaction(SIGTERM, &fwd, &old_term);
  sigaction(SIGHUP, &fwd, &old_hup);

  pid_t pid;
  int rc = posix_spawn(&pid, drv_run_exe, NULL, &attr, av, environ);
  posix_spawnattr_destroy(&attr);
  int result;
  if (rc != 0) {
    diag_error_plain("cannot run '%s': %s", drv_run_exe, strerror(rc));
    result = WEFTC_EXIT_USER;
  } else {
    drv_child_pid = pid;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    drv_child_pid = 0;
    if (WIFEXITED(status)) result = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) result = 128 + WTERMSIG(status);
    else result = WEFTC_EXIT_USER;
  }
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGQUIT, &old_quit, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGHUP, &old_hup, NULL);
  free(av);
  return result;
}

/* ------------------------------------------------------------ main */

static int drv_thread_result;

static void *drv_thread_main(void *arg) {
  (void)arg;
  drv_alt_stack();
  drv_thread_result = drv_compile();
  return NULL;
}

/* Runs drv_compile on a thread with a big stack (falls back to this thread). */
static int drv_compile_on_big_stack(void) {
  pthread_attr_t attr;
  pthread_t th;
  if (pthread_attr_init(&attr) == 0) {
    if (pthread_attr_setstacksize(&attr, DRV_STACK_SIZE) == 0 &&
        pthread_create(&th, &attr, drv_thread_main, NULL) == 0) {
      pthread_attr_destroy(&attr);
      pthread_join(th, NULL);
      return drv_thread_result;
    }
    pthread_attr_destroy(&attr);
  }
  drv_alt_stack();
  return drv_compile();
}

int main(int argc, char **argv) {
  drv_find_self();
  drv_install_crash_handlers();
  atexit(drv_cleanup);

  int rc = drv_parse_args(argc, argv);
  if (rc >= 0) {
    fflush(stdout);
    return rc;
  }
  if (drv_opts.cmd == DRV_RUN && !drv_prepare_run()) return WEFTC_EXIT_USER;

  rc = drv_compile_on_big_stack();
  if (rc == WEFTC_EXIT_OK && drv_opts.cmd == DRV_RUN) rc = drv_run_program();
  fflush(stdout);
  drv_cleanup();
  return rc;
}
