/* main.c -- a C program that runs the workflows of order.weft.
 *
 * Build and run by hand, from the repository root (after `ninja -C build`):
 *
 *   build/compiler/weftc -c examples/embed/order.weft -o order.o -H --no-main
 *   cc -Iruntime/include -I. examples/embed/main.c order.o build/runtime/libweft.a \
 *      -luv -lm -lpthread -ldl -o embed
 *   WEFT_VIRTUAL_TIME=1 ./embed
 *
 * (-H writes order.h next to order.o; with an installed Weft use
 * `$(pkg-config --variable=weftc libweft)` and `pkg-config --cflags --libs libweft`.)
 *
 * It starts two orders and a watcher in one runtime, runs the runtime until
 * the orders finished, prints the result of one and the failure report of
 * the other, then cancels the watcher and steps the runtime until it has
 * unwound. WEFT_VIRTUAL_TIME=1 makes the timers cost no wall time (and the
 * output reproducible); WEFT_CHECK_LEAKS=1 checks that everything was freed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "order.h"

static const char *status_name(int st) {
  switch (st) {
  case WEFT_RUNNING: return "running";
  case WEFT_DONE: return "done";
  case WEFT_FAILED: return "failed";
  case WEFT_CANCELLED: return "cancelled";
  default: return "not a root";
  }
}

int main(void) {
  int64_t objects_base = weft_objects_live();
  weft_rt_options opts;
  weft_rt_options_from_env(&opts); /* WEFT_VIRTUAL_TIME, WEFT_TRACE, ... */
  weft_rt *rt = weft_rt_new(&opts);

  /* Start three roots; nothing runs until the runtime does. */
  weft_frame *alice = order_place_start(rt, "alice", 3, true);
  weft_frame *bob = order_place_start(rt, "bob", 9, false);
  weft_frame *watch = order_watch_start(rt, "stock watch", 4000 /* us: 4ms */);
  if (!alice || !bob || !watch) {
    fprintf(stderr, "embed: cannot start the workflows\n");
    return 1;
  }

  /* Run until both orders finished; the watcher runs meanwhile. */
  puts("running the orders");
  if (weft_rt_run_until(rt, alice) < 0 || weft_rt_run_until(rt, bob) < 0) {
    fprintf(stderr, "embed: the runtime is stuck\n");
    return 1;
  }

  const char *shipped;
  if (order_place_result(rt, alice, &shipped) == 0) printf("alice: %s\n", shipped);

  if (order_place_result(rt, bob, &shipped) == WEFT_EFAILED) {
    const weft_failure *e = weft_root_failure(rt, bob);
    printf("bob: %s (%s)\n", status_name(weft_root_status(rt, bob)),
           weft_failure_kind(e) == &weft_kind_OutOfStock ? "out of stock" : "other failure");
    weft_failure_report(e, stdout);
  }

  /* A root must finish before it is freed: cancel the watcher, then step the
   * runtime until no root runs any more (its finally block runs). */
  printf("watch: %s; freeing it now gives %d (WEFT_EBUSY)\n",
         status_name(weft_root_status(rt, watch)), weft_root_free(rt, watch));
  weft_root_cancel(rt, watch);
  int running, steps = 0;
  while ((running = weft_rt_run_once(rt)) > 0) steps++;
  if (running < 0) {
    fprintf(stderr, "embed: the runtime is stuck (%d)\n", running);
    return 1;
  }
  int64_t checks;
  printf("watch: %s after %d more step%s; result %s\n", status_name(weft_root_status(rt, watch)),
         steps + 1, steps ? "s" : "",
         order_watch_result(rt, watch, &checks) == WEFT_EFAILED ? "none (cancelled)" : "?");

  weft_root_free(rt, alice);
  weft_root_free(rt, bob);
  weft_root_free(rt, watch);

  int status = 0;
  weft_stats st;
  weft_rt_stats(rt, &st);
  const char *check = getenv("WEFT_CHECK_LEAKS");
  if (check && *check && *check != '0' &&
      (st.frames_live || weft_objects_live() != objects_base)) {
    fprintf(stderr, "embed: leak: %" PRIu64 " frames, %" PRId64 " objects\n", st.frames_live,
            weft_objects_live() - objects_base);
    status = 70;
  }
  weft_rt_free(rt);
  return status;
}
