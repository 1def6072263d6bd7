/* test_cancel.c -- root cancellation (weft_cancel, top-down through the
 * frames' await slots): delivery at sleeps and through children, shielding,
 * compensations after a cancellation, SIGINT through weft_main. */
#include <signal.h>
#include <stdarg.h>
#include <time.h>

#include <uv.h>

#define WEFT_TEST_TRACE /* say(), trace, setup/teardown from test_util.h */
#include "test_util.h"


/* ---- frames ------------------------------------------------------------------------ */

/* canceller: sleeps `us`, then calls weft_cancel (a detached frame: parent NULL) */
typedef struct timed {
  weft_frame h;
  union { /* the await slot */
    weft_timer t;
    weft_frame *child;
  } aw;
  int64_t us;
  int shield;           /* sleeper: sleep inside a shielded region */
  int call_child;       /* sleeper: instead of sleeping, call a child sleeper */
  const char *name;
} timed;

static weft_frame *canceller_resume(weft_rt *rt, weft_frame *f) {
  timed *c = (timed *)f;
  if (f->state == 0) {
    f->state = 1;
    weft_sleep(rt, f, &c->aw.t, c->us);
    return NULL;
  }
  say("cancel @%lld\n", (long long)weft_now_ms(rt));
  weft_cancel(rt);
  return weft_done(rt, f);
}
static const weft_fninfo canceller_info = {canceller_resume, sizeof(timed), offsetof(timed, aw), "canceller",
                                           "t.weft"};

/* sleeper(name): [shield;] sleep us | yield child; [unshield]; done
 * resumed with a failure => unwinds (weft_failed) */
static weft_frame *sleeper_resume(weft_rt *rt, weft_frame *f);
static const weft_fninfo sleeper_info = {sleeper_resume, sizeof(timed), offsetof(timed, aw), "sleeper",
                                         "t.weft"};

static weft_frame *sleeper_resume(weft_rt *rt, weft_frame *f) {
  timed *s = (timed *)f;
  if (f->state == 0) {
    f->state = 1;
    if (s->shield) weft_shield(f);
    if (s->call_child) {
      timed *c = weft_frame_alloc(rt, sizeof *c);
      c->h.fn = &sleeper_info;
      c->us = s->us;
      c->name = "child";
      s->aw.child = &c->h;
      return weft_call(rt, f, &c->h);
    }
    weft_sleep(rt, f, &s->aw.t, s->us);
    return NULL;
  }
  if (s->call_child) {
    weft_frame *c = s->aw.child;
    if (c->status != WEFT_DONE) f->failure = weft_failure_take(c);
    weft_frame_free(rt, c);
  }
  say("%s resumed @%lld%s\n", s->name, (long long)weft_now_ms(rt), f->failure ? " cancelled" : "");
  if (s->shield && weft_unshield(rt, f, 1)) say("%s: deferred cancellation delivered\n", s->name);
  if (f->failure) return weft_failed(rt, f);
  return weft_done(rt, f);
}

/* root: starts a canceller (detached), then yields sleeper */
typedef struct root_frame {
  weft_frame h;
  timed *sleeper; /* the await slot */
  timed *canceller;
} root_frame;

static timed sleeper_cfg;
static int64_t cancel_after_us;

static weft_frame *root_resume(weft_rt *rt, weft_frame *f) {
  root_frame *r = (root_frame *)f;
  if (f->state == 0) {
    f->state = 1;
    r->canceller = weft_frame_alloc(rt, sizeof(timed));
    r->canceller->h.fn = &canceller_info;
    r->canceller->us = cancel_after_us;
    weft_ready_fifo(rt, &r->canceller->h);
    r->sleeper = weft_frame_alloc(rt, sizeof(timed));
    r->sleeper->h.fn = &sleeper_info;
    r->sleeper->us = sleeper_cfg.us;
    r->sleeper->shield = sleeper_cfg.shield;
    r->sleeper->call_child = sleeper_cfg.call_child;
    r->sleeper->name = "sleeper";
    return weft_call(rt, f, &r->sleeper->h);
  }
  weft_frame *s = &r->sleeper->h;
  if (s->status != WEFT_DONE) f->failure = weft_failure_take(s);
  weft_frame_free(rt, s);
  say("root resumed @%lld\n", (long long)weft_now_ms(rt));
  return f->failure ? weft_failed(rt, f) : weft_done(rt, f);
}
static const weft_fninfo root_info = {root_resume, sizeof(root_frame), offsetof(root_frame, sleeper), "main",
                                      "t.weft"};

static uint32_t run_scenario(int64_t sleep_us, int shield, int call_child, int64_t cancel_us) {
  sleeper_cfg.us = sleep_us;
  sleeper_cfg.shield = shield;
  sleeper_cfg.call_child = call_child;
  cancel_after_us = cancel_us;
  weft_rt *rt = virtual_rt();
  root_frame *r = weft_frame_alloc(rt, sizeof *r);
  r->h.fn = &root_info;
  assert_int_equal(weft_run(rt, &r->h), 0);
  uint32_t st = r->h.status;
  if (st == WEFT_CANCELLED) {
    assert_true(weft_failure_is(r->h.failure, &weft_kind_Cancelled));
    assert_false(weft_failure_is(r->h.failure, NULL)); /* `catch e` never sees it */
  }
  weft_failure_free(weft_failure_take(&r->h));
  weft_timer_cancel(rt, &r->canceller->aw.t); /* still armed if the root ended first */
  weft_frame_free(rt, &r->canceller->h);
  weft_frame_free(rt, &r->h);
  weft_stats s;
  weft_rt_stats(rt, &s);
  assert_int_equal(s.frames_live, 0);
  assert_int_equal(s.timers_armed, 0);
  weft_rt_free(rt);
  return st;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_cancel_at_sleep(void **state) {
  (void)state;
  assert_int_equal(run_scenario(10000000, 0, 0, 1000000), WEFT_CANCELLED);
  assert_string_equal(trace, "cancel @1000\nsleeper resumed @1000 cancelled\nroot resumed @1000\n");
}

static void test_cancel_through_child(void **state) {
  (void)state;
  /* sleeper yields a child that sleeps: the child is cancelled, the
   * sleeper sees it finish CANCELLED */
  assert_int_equal(run_scenario(10000000, 0, 1, 1000000), WEFT_CANCELLED);
  assert_string_equal(trace,
                      "cancel @1000\nchild resumed @1000 cancelled\nsleeper resumed @1000 cancelled\n"
                      "root resumed @1000\n");
}

static void test_cancel_deferred_by_shield(void **state) {
  (void)state;
  /* the sleep runs shielded: it completes; the cancellation lands at unshield */
  assert_int_equal(run_scenario(10000000, 1, 0, 1000000), WEFT_CANCELLED);
  assert_string_equal(trace,
                      "cancel @1000\nsleeper resumed @10000\n"
                      "sleeper: deferred cancellation delivered\nroot resumed @10000\n");
}

static void test_cancel_shield_covers_children(void **state) {
  (void)state;
  /* a child called inside the shielded region is not cancelled either */
  assert_int_equal(run_scenario(10000000, 1, 1, 1000000), WEFT_CANCELLED);
  assert_string_equal(trace,
                      "cancel @1000\nchild resumed @10000\nsleeper resumed @10000\n"
                      "sleeper: deferred cancellation delivered\nroot resumed @10000\n");
}

static void test_cancel_after_finish_is_noop(void **state) {
  (void)state;
  /* the sleeper finishes before the cancellation request */
  assert_int_equal(run_scenario(1000, 0, 0, 5000000), WEFT_DONE);
  assert_string_equal(trace, "sleeper resumed @1\nroot resumed @1\n");
}

/* ---- SIGINT through weft_main ------------------------------------------------------------
 * main() { push release(flight), release(hotel); print("sleeping");
 *          try { sleep(1h) } finally { print("finally ran"); sleep(10ms); print("finally done") } } */

typedef struct rel_frame {
  weft_frame h;
  const char *what;
} rel_frame;
static weft_frame *rel_resume(weft_rt *rt, weft_frame *f) {
  if (f->state != WEFT_STATE_DISCARD) printf("release %s\n", ((rel_frame *)f)->what);
  return weft_done(rt, f);
}
static const weft_fninfo rel_info = {rel_resume, sizeof(rel_frame), 0, "release", "t.weft"};

typedef struct sig_main {
  weft_frame h;
  weft_timer t;
  weft_failure *inflight; /* the completion record of the finally */
} sig_main;

static int64_t finally_sleep_us = 10000;
static weft_frame *sig_main_resume(weft_rt *rt, weft_frame *f) {
  sig_main *m = (sig_main *)f;
  switch (f->state) {
  case 0: {
    static const char *const what[] = {"flight", "hotel"};
    for (int i = 0; i < 2; i++) {
      rel_frame *c = weft_frame_alloc(rt, sizeof *c);
      c->h.fn = &rel_info;
      c->what = what[i];
      weft_comp_push(rt, f, &c->h);
    }
    printf("sleeping\n");
    fflush(stdout);
    f->state = 1;
    weft_sleep(rt, f, &m->t, 3600000000ll);
    return NULL;
  }
  case 1:
    if (!f->failure) printf("woke up\n");
    m->inflight = weft_failure_take(f); /* finally: park the failure in flight */
    weft_shield(f);
    printf("finally ran\n");
    fflush(stdout);
    f->state = 2;
    weft_sleep(rt, f, &m->t, finally_sleep_us);
    return NULL;
  default:
    printf("finally done\n");
    weft_unshield(rt, f, 0);
    f->failure = m->inflight; /* replay the completion */
    m->inflight = NULL;
    return f->failure ? weft_failed(rt, f) : weft_done(rt, f);
  }
}
static const weft_fninfo sig_main_info = {sig_main_resume, sizeof(sig_main), offsetof(sig_main, t), "main",
                                          "t.weft"};

/* Forks weft_main, sends `nsig` SIGINTs (after 300ms, then 200ms apart),
 * returns the exit status and the output; *elapsed_ms gets the run time. */
static int sigint_run(int nsig, char **out, int64_t *elapsed_ms) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(stdout);
  fflush(stderr);
  uint64_t t0 = uv_hrtime();
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[1]);
    alarm(20); /* an ignored SIGINT would sleep for an hour: fail instead */
    setenv("WEFT_CHECK_LEAKS", "1", 1);
    unsetenv("WEFT_VIRTUAL_TIME");
    char *argv[] = {"app", NULL};
    int st = weft_main(1, argv, &sig_main_info, 0);
    fflush(NULL);
    _exit(st);
  }
  close(fds[1]);
  struct timespec ts = {0, 300000000};
  nanosleep(&ts, NULL);
  for (int i = 0; i < nsig; i++) {
    kill(pid, SIGINT);
    struct timespec gap = {0, 200000000};
    if (i + 1 < nsig) nanosleep(&gap, NULL);
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    ssize_t r = read(fds[0], buf + n, cap - n - 1);
    if (r <= 0) break;
    n += (size_t)r;
    if (n + 1 >= cap) buf = realloc(buf, cap *= 2);
  }
  buf[n] = '\0';
  close(fds[0]);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  *elapsed_ms = (int64_t)((uv_hrtime() - t0) / 1000000);
  *out = buf;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_sigint_unwinds(void **state) {
  (void)state;
  char *out;
  int64_t ms;
  finally_sleep_us = 10000;
  assert_int_equal(sigint_run(1, &out, &ms), WEFT_EXIT_CANCELLED);
  assert_string_equal(out, "sleeping\nfinally ran\nfinally done\nrelease hotel\nrelease flight\n");
  assert_true(ms < 10000);
  free(out);
}

/* A second SIGINT does not skip cleanup: it says that cleanup is still
 * running; the finally and the compensations finish, exit 130. */
static void test_second_sigint_waits_for_cleanup(void **state) {
  (void)state;
  char *out;
  int64_t ms;
  finally_sleep_us = 1000000; /* a finally that takes 1s: both signals land in it */
  assert_int_equal(sigint_run(2, &out, &ms), WEFT_EXIT_CANCELLED);
  assert_string_equal(out, "sleeping\nfinally ran\n"
                           "weft: still cleaning up (finally blocks and compensations are running); "
                           "waiting for them to finish\n"
                           "finally done\nrelease hotel\nrelease flight\n");
  assert_true(ms >= 1000 && ms < 10000);
  free(out);
  finally_sleep_us = 10000;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_cancel_at_sleep, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_through_child, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_deferred_by_shield, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_shield_covers_children, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_after_finish_is_noop, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sigint_unwinds, setup, teardown),
      cmocka_unit_test_setup_teardown(test_second_sigint_waits_for_cleanup, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
