/* test_embed.c -- the embedding API (weft.h, "Embedding"): several roots in
 * one runtime, weft_rt_run / run_once / run_until, status, failure and
 * result accessors, cancelling one root or all, freeing and its errors.
 * The roots are hand-written frames shaped like weftc's generated code (a
 * switch on f->state, the timer in the await slot, the result at 48). */
#include <time.h>

#include <uv.h>

#define WEFT_TEST_TRACE /* say(), trace, setup/teardown from test_util.h */
#include "test_util.h"

static const weft_srcloc loc_boom = {"t.weft", 7, 5, "sleeper"};

/* sleeper(name, us, fail): sleep us; [fail Error("boom")]; return us.
 * Resumed with a failure (cancelled at its sleep): unwinds. */
typedef struct sleeper {
  weft_frame h;
  int64_t result; /* 48 */
  weft_timer t;   /* await slot */
  int64_t us;
  const char *name;
  int fail;
} sleeper;

static weft_frame *sleeper_resume(weft_rt *rt, weft_frame *f) {
  sleeper *s = (sleeper *)f;
  switch (f->state) {
  case 0:
    say("%s start @%lld\n", s->name, (long long)weft_now_ms(rt));
    f->state = 1;
    weft_sleep(rt, f, &s->t, s->us);
    return NULL;
  case 1:
    f->state = 2;
    if (f->failure) {
      say("%s unwinds @%lld\n", s->name, (long long)weft_now_ms(rt));
      return weft_failed(rt, f);
    }
    say("%s done @%lld\n", s->name, (long long)weft_now_ms(rt));
    if (s->fail) {
      weft_raise_cstr(rt, f, &weft_kind_Error, "boom", &loc_boom);
      return weft_failed(rt, f);
    }
    s->result = s->us;
    return weft_done(rt, f);
  case WEFT_STATE_DISCARD:
    say("%s dropped\n", s->name);
    return weft_done(rt, f);
  default: return weft_failed(rt, f);
  }
}
static const weft_fninfo sleeper_info = {sleeper_resume, sizeof(sleeper), offsetof(sleeper, t), "sleeper",
                                         "t.weft"};

static weft_frame *start_sleeper(weft_rt *rt, const char *name, int64_t ms, int fail) {
  sleeper *s = weft_frame_alloc(rt, sizeof *s);
  s->h.fn = &sleeper_info;
  s->name = name;
  s->us = ms * 1000;
  s->fail = fail;
  assert_int_equal(weft_root_start(rt, &s->h, WEFT_RES_INT), 0);
  return &s->h;
}

static int64_t result_of(weft_rt *rt, weft_frame *root) {
  const void *slot = NULL;
  assert_int_equal(weft_root_result(rt, root, &sleeper_info, &slot), 0);
  return *(const int64_t *)slot;
}

/* greeter(name): returns "hello " + name (a str result the root owns) */
typedef struct greeter {
  weft_frame h;
  weft_str *result; /* 48 */
  weft_str *name;   /* parameter, owned by the frame */
} greeter;

static weft_frame *greeter_resume(weft_rt *rt, weft_frame *f) {
  greeter *g = (greeter *)f;
  if (f->state != WEFT_STATE_DISCARD) {
    weft_str *hello = weft_str_from_cstr("hello ");
    g->result = weft_str_concat(hello, g->name);
    weft_release(hello);
  }
  weft_release(g->name);
  g->name = NULL;
  return weft_done(rt, f);
}
static const weft_fninfo greeter_info = {greeter_resume, sizeof(greeter), 0, "greeter", "t.weft"};

static weft_frame *start_greeter(weft_rt *rt, const char *name) {
  greeter *g = weft_frame_alloc(rt, sizeof *g);
  g->h.fn = &greeter_info;
  g->name = weft_str_from_cstr(name);
  assert_int_equal(weft_root_start(rt, &g->h, WEFT_RES_STR), 0);
  return &g->h;
}

static void assert_no_frames(weft_rt *rt) {
  weft_stats st;
  weft_rt_stats(rt, &st);
  assert_int_equal(st.frames_live, 0);
}

/* ---- several roots ------------------------------------------------------------------ */

static void test_several_roots(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *a = start_sleeper(rt, "a", 30, 0);
  weft_frame *b = start_sleeper(rt, "b", 10, 0);
  weft_frame *c = start_sleeper(rt, "c", 20, 1);
  weft_frame *g = start_greeter(rt, "world");
  assert_string_equal(trace, ""); /* nothing runs before the runtime does */
  assert_int_equal(weft_root_status(rt, a), WEFT_RUNNING);
  assert_int_equal(weft_rt_run(rt), 0);
  /* started in start order, finished in timer order */
  assert_string_equal(trace, "a start @0\nb start @0\nc start @0\n"
                             "b done @10\nc done @20\na done @30\n");
  assert_int_equal(weft_now_us(rt), 30000);
  assert_int_equal(weft_root_status(rt, a), WEFT_DONE);
  assert_int_equal(weft_root_status(rt, b), WEFT_DONE);
  assert_int_equal(weft_root_status(rt, c), WEFT_FAILED);
  assert_int_equal(weft_root_status(rt, g), WEFT_DONE);
  assert_int_equal(result_of(rt, a), 30000);
  assert_int_equal(result_of(rt, b), 10000);
  assert_null(weft_root_failure(rt, a));
  const weft_failure *e = weft_root_failure(rt, c);
  assert_non_null(e);
  assert_ptr_equal(weft_failure_kind(e), &weft_kind_Error);
  assert_string_equal(weft_failure_message((weft_failure *)e)->data, "boom");
  const void *slot;
  assert_int_equal(weft_root_result(rt, c, &sleeper_info, &slot), WEFT_EFAILED);
  assert_int_equal(weft_root_result(rt, g, &greeter_info, &slot), 0);
  assert_string_equal((*(weft_str *const *)slot)->data, "hello world");
  /* running again: nothing to do */
  assert_int_equal(weft_rt_run(rt), 0);
  assert_int_equal(weft_rt_run_once(rt), 0);
  assert_int_equal(weft_root_free(rt, a), 0);
  assert_int_equal(weft_root_free(rt, b), 0);
  assert_int_equal(weft_root_free(rt, c), 0); /* releases its failure */
  assert_int_equal(weft_root_free(rt, g), 0); /* releases its string (teardown checks) */
  assert_no_frames(rt);
  weft_rt_free(rt);
}

/* ---- stepping -------------------------------------------------------------------------- */

static void test_run_once_steps(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  assert_int_equal(weft_rt_run_once(rt), 0); /* no roots: nothing to do, not a deadlock */
  weft_frame *a = start_sleeper(rt, "a", 10, 0);
  weft_frame *b = start_sleeper(rt, "b", 20, 0);
  assert_int_equal(weft_rt_run_once(rt), 2); /* both start and park */
  assert_string_equal(trace, "a start @0\nb start @0\n");
  assert_int_equal(weft_now_us(rt), 0);
  assert_int_equal(weft_rt_run_once(rt), 1); /* virtual time jumps to a's timer */
  assert_int_equal(weft_now_us(rt), 10000);
  assert_int_equal(weft_root_status(rt, a), WEFT_DONE);
  assert_int_equal(weft_root_status(rt, b), WEFT_RUNNING);
  const void *slot;
  assert_int_equal(weft_root_result(rt, b, &sleeper_info, &slot), WEFT_EAGAIN);
  assert_int_equal(weft_root_free(rt, b), WEFT_EBUSY);
  assert_int_equal(weft_rt_run_once(rt), 0);
  assert_int_equal(weft_now_us(rt), 20000);
  assert_string_equal(trace, "a start @0\nb start @0\na done @10\nb done @20\n");
  assert_int_equal(weft_root_free(rt, a), 0);
  assert_int_equal(weft_root_free(rt, b), 0);
  weft_rt_free(rt);
}

/* With the real clock, run_once never blocks: it returns while the timer
 * is still pending. */
static void test_run_once_real_time_does_not_block(void **state) {
  (void)state;
  weft_rt *rt = weft_rt_new(NULL);
  weft_frame *a = start_sleeper(rt, "a", 200, 0);
  uint64_t t0 = uv_hrtime();
  assert_int_equal(weft_rt_run_once(rt), 1);
  assert_int_equal(weft_rt_run_once(rt), 1);
  assert_true(uv_hrtime() - t0 < 150 * 1000000ull);
  assert_int_equal(weft_root_status(rt, a), WEFT_RUNNING);
  /* run_until waits for it */
  assert_int_equal(weft_rt_run_until(rt, a), 0);
  assert_true(uv_hrtime() - t0 >= 190 * 1000000ull);
  assert_int_equal(weft_root_status(rt, a), WEFT_DONE);
  assert_int_equal(weft_root_free(rt, a), 0);
  weft_rt_free(rt);
}

static void test_run_until_one_root(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *slow = start_sleeper(rt, "slow", 3600 * 1000, 0);
  weft_frame *fast = start_sleeper(rt, "fast", 5, 0);
  assert_int_equal(weft_rt_run_until(rt, fast), 0);
  assert_int_equal(weft_now_us(rt), 5000);
  assert_int_equal(weft_root_status(rt, slow), WEFT_RUNNING);
  assert_int_equal(weft_rt_run_until(rt, fast), 0); /* finished already */
  assert_int_equal(weft_rt_run(rt), 0);            /* an hour of virtual time */
  assert_int_equal(weft_now_us(rt), 3600ull * 1000000);
  assert_int_equal(weft_root_free(rt, slow), 0);
  assert_int_equal(weft_root_free(rt, fast), 0);
  weft_rt_free(rt);
}

/* ---- cancelling --------------------------------------------------------------------------- */

static void test_cancel_one_root(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *a = start_sleeper(rt, "a", 3600 * 1000, 0);
  weft_frame *b = start_sleeper(rt, "b", 10, 0);
  weft_frame *c = start_sleeper(rt, "c", 10, 0);
  assert_int_equal(weft_root_cancel(rt, c), 0); /* before it started: dropped */
  assert_int_equal(weft_rt_run_once(rt), 2);
  assert_int_equal(weft_root_status(rt, c), WEFT_CANCELLED);
  assert_int_equal(weft_root_cancel(rt, a), 0); /* parked on its timer: unwinds */
  assert_int_equal(weft_rt_run(rt), 0);
  assert_string_equal(trace, "a start @0\nb start @0\nc dropped\na unwinds @0\nb done @10\n");
  assert_int_equal(weft_now_us(rt), 10000); /* a's hour-long timer is gone */
  assert_int_equal(weft_root_status(rt, a), WEFT_CANCELLED);
  assert_int_equal(weft_root_status(rt, b), WEFT_DONE);
  assert_ptr_equal(weft_failure_kind(weft_root_failure(rt, a)), &weft_kind_Cancelled);
  assert_int_equal(weft_root_cancel(rt, b), 0); /* finished: nothing happens */
  assert_int_equal(weft_root_status(rt, b), WEFT_DONE);
  const void *slot;
  assert_int_equal(weft_root_result(rt, a, &sleeper_info, &slot), WEFT_EFAILED);
  assert_int_equal(weft_root_free(rt, a), 0);
  assert_int_equal(weft_root_free(rt, b), 0);
  assert_int_equal(weft_root_free(rt, c), 0);
  assert_no_frames(rt);
  weft_rt_free(rt);
}

static void test_cancel_all_roots(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *a = start_sleeper(rt, "a", 1000, 0);
  weft_frame *b = start_sleeper(rt, "b", 2000, 0);
  assert_int_equal(weft_rt_run_once(rt), 2);
  weft_cancel(rt);
  assert_true(weft_cancel_requested(rt));
  weft_frame *late = start_sleeper(rt, "late", 10, 0); /* after weft_cancel: cancelled at once */
  assert_int_equal(weft_rt_run(rt), 0);
  /* in start order */
  assert_string_equal(trace, "a start @0\nb start @0\na unwinds @0\nb unwinds @0\nlate dropped\n");
  assert_int_equal(weft_root_status(rt, a), WEFT_CANCELLED);
  assert_int_equal(weft_root_status(rt, b), WEFT_CANCELLED);
  assert_int_equal(weft_root_status(rt, late), WEFT_CANCELLED);
  assert_int_equal(weft_root_free(rt, a), 0);
  assert_int_equal(weft_root_free(rt, b), 0);
  assert_int_equal(weft_root_free(rt, late), 0);
  weft_rt_free(rt);
}

/* ---- errors ------------------------------------------------------------------------------- */

static void test_bad_handles(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_rt *other = virtual_rt();
  weft_frame *a = start_sleeper(rt, "a", 10, 0);
  /* not a root of this runtime */
  assert_int_equal(weft_root_status(rt, NULL), WEFT_EINVAL);
  assert_int_equal(weft_root_status(other, a), WEFT_EINVAL);
  assert_int_equal(weft_root_free(other, a), WEFT_EINVAL);
  assert_int_equal(weft_root_cancel(other, a), WEFT_EINVAL);
  assert_int_equal(weft_rt_run_until(other, a), WEFT_EINVAL);
  assert_null(weft_root_failure(rt, NULL));
  const void *slot = NULL;
  assert_int_equal(weft_root_result(rt, a, &greeter_info, &slot), WEFT_EINVAL); /* another workflow */
  assert_int_equal(weft_root_result(rt, a, NULL, &slot), WEFT_EAGAIN);
  /* starting twice, or a frame that is not a fresh root */
  assert_int_equal(weft_root_start(rt, a, WEFT_RES_INT), WEFT_EINVAL);
  assert_int_equal(weft_root_start(rt, NULL, WEFT_RES_INT), WEFT_EINVAL);
  sleeper *child = weft_frame_alloc(rt, sizeof *child);
  child->h.fn = &sleeper_info;
  child->h.parent = a;
  assert_int_equal(weft_root_start(rt, &child->h, WEFT_RES_INT), WEFT_EINVAL);
  child->h.parent = NULL;
  assert_int_equal(weft_root_start(rt, &child->h, 99), WEFT_EINVAL);
  weft_frame_free(rt, child);
  /* freeing a running root is refused; once finished it works once */
  assert_int_equal(weft_root_free(rt, a), WEFT_EBUSY);
  assert_int_equal(weft_rt_run(rt), 0);
  assert_int_equal(weft_root_free(rt, a), 0);
  assert_int_equal(weft_root_free(rt, a), WEFT_EINVAL);
  assert_int_equal(weft_root_status(rt, a), WEFT_EINVAL);
  assert_no_frames(rt);
  weft_rt_free(other);
  weft_rt_free(rt);
}

/* parks without anything that could wake it (an activity that never
 * completes, in effect) */
static weft_frame *stuck_resume(weft_rt *rt, weft_frame *f) {
  (void)rt;
  f->state = 1;
  return NULL;
}
static const weft_fninfo stuck_info = {stuck_resume, sizeof(weft_frame) + 8, 0, "stuck", "t.weft"};

static void test_deadlock(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *f = weft_frame_alloc(rt, stuck_info.frame_size);
  f->fn = &stuck_info;
  assert_int_equal(weft_root_start(rt, f, WEFT_RES_UNIT), 0);
  weft_frame *a = start_sleeper(rt, "a", 10, 0);
  assert_int_equal(weft_rt_run(rt), WEFT_EDEADLK); /* after a finished */
  assert_int_equal(weft_root_status(rt, a), WEFT_DONE);
  assert_int_equal(weft_rt_run_once(rt), WEFT_EDEADLK);
  assert_int_equal(weft_rt_run_until(rt, f), WEFT_EDEADLK);
  assert_int_equal(weft_root_free(rt, f), WEFT_EBUSY);
  assert_int_equal(weft_root_free(rt, a), 0);
  weft_rt_free(rt); /* reclaims the stuck frame (it holds no values) */
}

/* A workflow that tries to run the runtime it is running in. */
static int reentry_rc[3];
static weft_frame *reenter_resume(weft_rt *rt, weft_frame *f) {
  reentry_rc[0] = weft_rt_run(rt);
  reentry_rc[1] = weft_rt_run_once(rt);
  reentry_rc[2] = weft_rt_run_until(rt, f);
  return weft_done(rt, f);
}
static const weft_fninfo reenter_info = {reenter_resume, sizeof(weft_frame), 0, "reenter", "t.weft"};

static void test_reentry_refused(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *f = weft_frame_alloc(rt, sizeof(weft_frame));
  f->fn = &reenter_info;
  assert_int_equal(weft_root_start(rt, f, WEFT_RES_UNIT), 0);
  assert_int_equal(weft_rt_run(rt), 0);
  assert_int_equal(reentry_rc[0], WEFT_EBUSY);
  assert_int_equal(reentry_rc[1], WEFT_EBUSY);
  assert_int_equal(reentry_rc[2], WEFT_EBUSY);
  assert_int_equal(weft_root_free(rt, f), 0);
  weft_rt_free(rt);
}

/* ---- with weft_run, and at weft_rt_free ------------------------------------------------------ */

static void test_with_weft_run(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *bg = start_sleeper(rt, "bg", 50, 0);
  sleeper *main_ = weft_frame_alloc(rt, sizeof *main_);
  main_->h.fn = &sleeper_info;
  main_->name = "main";
  main_->us = 20000;
  /* weft_run drives its own root; started roots make progress meanwhile */
  assert_int_equal(weft_run(rt, &main_->h), 0);
  assert_int_equal(main_->h.status, WEFT_DONE);
  assert_int_equal(weft_root_status(rt, bg), WEFT_RUNNING);
  assert_int_equal(weft_root_status(rt, &main_->h), WEFT_EINVAL); /* not a started root */
  assert_int_equal(weft_rt_run(rt), 0);
  assert_string_equal(trace, "main start @0\nbg start @0\nmain done @20\nbg done @50\n");
  weft_frame_free(rt, &main_->h);
  assert_int_equal(weft_root_free(rt, bg), 0);
  weft_rt_free(rt);
}

static void test_rt_free_releases_finished_roots(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  start_greeter(rt, "left behind");
  start_sleeper(rt, "failing", 1, 1);
  assert_int_equal(weft_rt_run(rt), 0);
  weft_rt_free(rt); /* the string and the failure are released (teardown checks) */
}

/* With tracing on, each root runs on a lane (trace tid) of its own, so
 * roots running side by side show as parallel tracks. */
static void test_trace_lanes(void **state) {
  (void)state;
  char path[] = "/tmp/weft-test-embed-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  weft_rt_options o = {.virtual_time = true, .trace_file = path};
  weft_rt *rt = weft_rt_new(&o);
  weft_frame *a = start_sleeper(rt, "a", 10, 0);
  weft_frame *b = start_sleeper(rt, "b", 20, 0);
  assert_int_equal(weft_rt_run(rt), 0);
  assert_int_equal(weft_root_free(rt, a), 0);
  assert_int_equal(weft_root_free(rt, b), 0);
  weft_rt_free(rt); /* writes the trace */
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  unlink(path);
  assert_non_null(strstr(buf, "{\"name\":\"sleeper\",\"cat\":\"workflow\",\"ph\":\"X\",\"pid\":1,\"tid\":2,\"ts\":0,\"dur\":10000"));
  assert_non_null(strstr(buf, "{\"name\":\"sleeper\",\"cat\":\"workflow\",\"ph\":\"X\",\"pid\":1,\"tid\":3,\"ts\":0,\"dur\":20000"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_several_roots, setup, teardown),
      cmocka_unit_test_setup_teardown(test_run_once_steps, setup, teardown),
      cmocka_unit_test_setup_teardown(test_run_once_real_time_does_not_block, setup, teardown),
      cmocka_unit_test_setup_teardown(test_run_until_one_root, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_one_root, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_all_roots, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_handles, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deadlock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reentry_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_with_weft_run, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rt_free_releases_finished_roots, setup, teardown),
      cmocka_unit_test_setup_teardown(test_trace_lanes, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
