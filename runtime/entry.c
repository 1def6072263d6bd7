/* entry.c -- weft_main: runs `workflow main` as the root of a runtime and
 * turns its outcome into an exit status. */
#include "weft_private.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* SIGINT/SIGTERM cancel the root (exit 130 after unwinding). A second one
 * does not skip cleanup: it only says that finally blocks and compensations
 * are still running (SIGKILL is the way to stop at once). The handler only sets a flag the scheduler reads between
 * turns, and wakes a loop blocked in libuv (uv_async_send is
 * async-signal-safe). */
static weft_rt *volatile signal_rt;
static uv_async_t *volatile signal_wake;

static void on_signal(int signo) {
  (void)signo;
  weft_rt *rt = signal_rt;
  if (!rt) return;
  if (rt->interrupted) {
    static const char msg[] = "weft: still cleaning up (finally blocks and compensations are running); "
                              "waiting for them to finish\n";
    ssize_t r = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)r;
    return;
  }
  rt->interrupted = 1;
  if (signal_wake) uv_async_send(signal_wake);
}

static void on_wake(uv_async_t *h) { (void)h; /* the scheduler reads rt->interrupted */ }

int weft_main(int argc, char **argv, const weft_fninfo *main_fn, uint32_t flags) {
  weft_rt_options o;
  weft_rt_options_from_env(&o);
  return weft_main_opts(argc, argv, main_fn, flags, &o);
}

int weft_main_opts(int argc, char **argv, const weft_fninfo *main_fn, uint32_t flags,
                   const weft_rt_options *opts) {
  bool ret_int = flags & WEFT_MAIN_RETURNS_INT, args = flags & WEFT_MAIN_TAKES_ARGS;
  uint32_t need = (uint32_t)sizeof(weft_frame) + (ret_int ? 8u : 0u) + (args ? 8u : 0u);
  if (!main_fn || !main_fn->resume || main_fn->frame_size < need)
    weft__internal_error("bad main workflow descriptor");

  /* Runtime options on the command line (--weft-*) are taken out of the
   * program's arguments; they win over the environment. */
  weft_rt_options o;
  if (opts) o = *opts;
  else memset(&o, 0, sizeof o);
  char **av = weft__xmalloc(((size_t)(argc > 0 ? argc : 0) + 1) * sizeof *av);
  int ac = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (i == 0 || strncmp(a, "--weft-", 7) != 0) {
      av[ac++] = argv[i];
      continue;
    }
    const char *eq = strchr(a, '=');
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
    if (nlen == 12 && !strncmp(a, "--weft-trace", 12)) {
      if (!eq || !eq[1]) {
        fflush(stdout);
        fputs("weft: runtime option '--weft-trace' needs a file: --weft-trace=FILE\n", stderr);
        free(av);
        return WEFT_EXIT_USAGE;
      }
      o.trace_file = eq + 1;
      continue;
    }
    if (nlen == 11 && !strncmp(a, "--weft-seed", 11)) {
      char *end = NULL;
      errno = 0;
      unsigned long long v = eq && eq[1] && eq[1] != '-' ? strtoull(eq + 1, &end, 0) : 0;
      if (!end || *end || errno) {
        fflush(stdout);
        fputs("weft: runtime option '--weft-seed' needs an unsigned number: --weft-seed=N\n", stderr);
        free(av);
        return WEFT_EXIT_USAGE;
      }
      o.seed = (uint64_t)v;
      continue;
    }
    fflush(stdout);
    fprintf(stderr, "weft: unknown runtime option '%.*s'\n", (int)nlen, a);
    free(av);
    return WEFT_EXIT_USAGE;
  }
  av[ac] = NULL;

  /* Leaks are counted against the values alive before we started (an
   * embedding host may own some). */
  int64_t objects_base = weft__objects_live;
  weft_rt *rt = weft_rt_new(&o);
  weft_frame *root = weft_frame_alloc(rt, main_fn->frame_size);
  root->fn = main_fn;
  if (args) {
    /* Owned by the frame: the generated code releases it when main ends. */
    weft_list **slot = (weft_list **)((char *)root + (ret_int ? 56 : 48));
    *slot = weft_args_list(ac, av);
  }
  free(av);

  uv_async_t wake;
  uv_async_init(&rt->loop, &wake, on_wake);
  uv_unref((uv_handle_t *)&wake); /* must not keep the loop alive (deadlock detection) */
  struct sigaction sa, old_int, old_term;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  signal_rt = rt;
  signal_wake = &wake;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);

  int status = weft_run(rt, root);

  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  signal_wake = NULL;
  signal_rt = NULL;
  if (status == 0) {
    switch (root->status) {
    case WEFT_DONE:
      status = ret_int ? (int)((uint64_t) * (int64_t *)((char *)root + 48) & 0xffu) : 0;
      break;
    case WEFT_FAILED: {
      weft_failure *e = weft_failure_take(root);
      fflush(stdout);
      weft_failure_report(e, stderr);
      weft_failure_free(e);
      status = WEFT_EXIT_FAILURE;
      break;
    }
    case WEFT_CANCELLED:
      weft_failure_free(weft_failure_take(root));
      status = WEFT_EXIT_CANCELLED;
      break;
    default:
      weft__internal_error("main finished with unknown status %" PRIu32, root->status);
    }
  }
  /* On a deadlock the root never finished, so its slots were not released:
   * the leak check would only restate the deadlock. */
  bool finished = root->status != WEFT_RUNNING;
  weft_frame_free(rt, root);
  fflush(stdout);

  weft_stats st;
  weft_rt_stats(rt, &st);
  int64_t objects = st.objects_live - objects_base;
  if (rt->opts.stats)
    fprintf(stderr,
            "weft: stats: frames_alloc=%" PRIu64 " frames_live=%" PRIu64
            " objects_live=%" PRId64 " timers_fired=%" PRIu64 "\n",
            st.frames_alloc, st.frames_live, objects, st.timers_fired);
  if (rt->opts.check_leaks && finished && (st.frames_live || objects)) {
    fprintf(stderr, "weft: internal error: leak at exit: %" PRIu64 " frames, %" PRId64 " objects\n",
            st.frames_live, objects);
    status = WEFT_EXIT_INTERNAL;
  }
  weft_rt_free(rt);
  return status;
}
