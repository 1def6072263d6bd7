/* test_sched.c -- the run loop and weft_main, driven by hand-written resume
 * functions shaped like weftc's generated code (a switch on f->state; calls
 * return the child frame; results are read from the child's slots). */
#include <time.h>

#include <uv.h>

#include "test_util.h"

static const weft_srcloc loc_main = {"app.weft", 3, 5, "main"};
static const weft_srcloc loc_child = {"app.weft", 12, 9, "child"};
TEST_LIT(lit_boom, "boom");

/* ---- a million child calls in constant C stack ------------------------------------ */

typedef struct dbl_frame { /* workflow dbl(x: int) -> int { return x * 2 } */
  weft_frame h;
  int64_t result; /* 48 */
  int64_t x;      /* 56 */
} dbl_frame;

static uintptr_t sp_min = UINTPTR_MAX, sp_max;
static void note_sp(void) {
  uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
  if (sp < sp_min) sp_min = sp;
  if (sp > sp_max) sp_max = sp;
}

static weft_frame *dbl_resume(weft_rt *rt, weft_frame *f) {
  dbl_frame *d = (dbl_frame *)f;
  note_sp();
  d->result = d->x * 2;
  return weft_done(rt, f);
}
static const weft_fninfo dbl_info = {dbl_resume, sizeof(dbl_frame), 0, "dbl", "app.weft"};

typedef struct loop_frame { /* var s = 0; for i in 0..n { s = s + yield dbl(i) }; return s */
  weft_frame h;
  int64_t result;
  int64_t n, i, sum;
  dbl_frame *child;
} loop_frame;

static weft_frame *loop_resume(weft_rt *rt, weft_frame *f) {
  loop_frame *l = (loop_frame *)f;
  switch (f->state) {
  case 0: l->i = 0; break;
  case 1:
    l->sum += l->child->result;
    weft_frame_free(rt, l->child);
    l->i++;
    break;
  }
  if (l->i < l->n) {
    dbl_frame *c = weft_frame_alloc(rt, sizeof *c);
    c->h.fn = &dbl_info;
    c->h.parent = f;
    c->x = l->i;
    l->child = c;
    f->state = 1;
    return &c->h;
  }
  l->result = l->sum;
  return weft_done(rt, f);
}
static const weft_fninfo loop_info = {loop_resume, sizeof(loop_frame), 0, "main", "app.weft"};

static void test_million_calls(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  loop_frame *root = weft_frame_alloc(rt, sizeof *root);
  root->h.fn = &loop_info;
  root->n = 1000000;
  sp_min = UINTPTR_MAX;
  sp_max = 0;
  assert_int_equal(weft_run(rt, &root->h), 0);
  assert_int_equal(root->h.status, WEFT_DONE);
  assert_int_equal(root->result, 999999000000ll); /* 2 * sum(0..999999) */
  assert_true(sp_max - sp_min < 256);              /* same C stack depth every call */
  weft_stats st;
  weft_rt_stats(rt, &st);
  assert_int_equal(st.frames_alloc, 1000001);
  assert_int_equal(st.frames_live, 1);
  assert_int_equal(st.resumes, 2000001);
  weft_frame_free(rt, root);
  weft_rt_stats(rt, &st);
  assert_int_equal(st.frames_live, 0);
  weft_rt_free(rt);
}

/* ---- deep recursion: workflow depth(n) { if n == 0 return 0; return 1 + yield depth(n-1) } */

typedef struct rec_frame {
  weft_frame h;
  int64_t result, n;
  struct rec_frame *child;
} rec_frame;

static weft_frame *rec_resume(weft_rt *rt, weft_frame *f);
static const weft_fninfo rec_info = {rec_resume, sizeof(rec_frame), 0, "depth", "app.weft"};
static weft_frame *rec_resume(weft_rt *rt, weft_frame *f) {
  rec_frame *r = (rec_frame *)f;
  note_sp();
  if (f->state == 0) {
    if (r->n == 0) return weft_done(rt, f);
    rec_frame *c = weft_frame_alloc(rt, sizeof *c);
    c->h.fn = &rec_info;
    c->h.parent = f;
    c->n = r->n - 1;
    r->child = c;
    f->state = 1;
    return &c->h;
  }
  r->result = 1 + r->child->result;
  weft_frame_free(rt, r->child);
  return weft_done(rt, f);
}

static void test_deep_recursion(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  rec_frame *root = weft_frame_alloc(rt, sizeof *root);
  root->h.fn = &rec_info;
  root->n = 300000;
  sp_min = UINTPTR_MAX;
  sp_max = 0;
  assert_int_equal(weft_run(rt, &root->h), 0);
  assert_int_equal(root->result, 300000);
  assert_true(sp_max - sp_min < 256);
  weft_stats st;
  weft_rt_stats(rt, &st);
  assert_int_equal(st.frames_live, 1);
  weft_frame_free(rt, root);
  weft_rt_free(rt);
}

/* ---- sleeping and the clock ------------------------------------------------------------ */

typedef struct clock_frame {
  weft_frame h;
  weft_timer t;
  int64_t seen[4];
} clock_frame;

/* seen = [now(), (sleep 1h) now(), (sleep 250ms) now(), (sleep 1500us) now()] */
static weft_frame *clock_resume(weft_rt *rt, weft_frame *f) {
  clock_frame *c = (clock_frame *)f;
  static const int64_t naps[] = {3600000000ll, 250000, 1500};
  c->seen[f->state] = weft_now_ms(rt);
  if (f->state == 3) return weft_done(rt, f);
  weft_sleep(rt, f, &c->t, naps[f->state]);
  f->state++;
  return NULL;
}
static const weft_fninfo clock_info = {clock_resume, sizeof(clock_frame), 0, "main", "app.weft"};

static void test_sleep_virtual(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  assert_true(weft_rt_virtual_time(rt));
  clock_frame *c = weft_frame_alloc(rt, sizeof *c);
  c->h.fn = &clock_info;
  uint64_t t0 = uv_hrtime();
  assert_int_equal(weft_run(rt, &c->h), 0);
  assert_true(uv_hrtime() - t0 < 1000000000ull); /* an hour of sleep in no time */
  assert_int_equal(c->seen[0], 0);
  assert_int_equal(c->seen[1], 3600000);
  assert_int_equal(c->seen[2], 3600250);
  assert_int_equal(c->seen[3], 3600251); /* 3600251.5 ms, floored */
  assert_int_equal(weft_now_us(rt), 3600251500ull);
  weft_frame_free(rt, c);
  weft_rt_free(rt);
}

typedef struct real_frame {
  weft_frame h;
  weft_timer t;
  int64_t before, after;
} real_frame;

static weft_frame *real_resume(weft_rt *rt, weft_frame *f) {
  real_frame *r = (real_frame *)f;
  if (f->state == 0) {
    r->before = weft_now_ms(rt);
    f->state = 1;
    weft_sleep(rt, f, &r->t, 20000);
    return NULL;
  }
  r->after = weft_now_ms(rt);
  return weft_done(rt, f);
}
static const weft_fninfo real_info = {real_resume, sizeof(real_frame), 0, "main", "app.weft"};

static void test_sleep_real(void **state) {
  (void)state;
  weft_rt *rt = weft_rt_new(NULL);
  assert_false(weft_rt_virtual_time(rt));
  real_frame *r = weft_frame_alloc(rt, sizeof *r);
  r->h.fn = &real_info;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  uint64_t t0 = uv_hrtime();
  assert_int_equal(weft_run(rt, &r->h), 0);
  uint64_t elapsed_ns = uv_hrtime() - t0;
  assert_true(elapsed_ns >= 20000000ull);
  assert_true(llabs(r->before - wall_ms) < 5000); /* Unix epoch ms */
  assert_true(r->after - r->before >= 20);
  assert_true(r->after - r->before < 5000);
  weft_frame_free(rt, r);
  weft_rt_free(rt);
}

/* ---- an activity completing from a libuv callback ---------------------------------------
 * The frame parks with no runtime timer; a libuv timer standing in for I/O
 * wakes it with weft_ready. The active handle keeps the runtime waiting (no
 * deadlock report), in real and in virtual time. */

typedef struct act_frame {
  weft_frame h;
  uv_timer_t io;
  int64_t woke_ms;
  weft_rt *rt;
} act_frame;

static void io_closed(uv_handle_t *h) { (void)h; }
static void io_done(uv_timer_t *t) {
  act_frame *a = t->data;
  uv_close((uv_handle_t *)t, io_closed);
  weft_ready(a->rt, &a->h);
}

static weft_frame *act_resume(weft_rt *rt, weft_frame *f) {
  act_frame *a = (act_frame *)f;
  if (f->state == 0) {
    f->state = 1;
    a->rt = rt;
    uv_timer_init(weft_rt_loop(rt), &a->io);
    a->io.data = a;
    uv_timer_start(&a->io, io_done, 5, 0);
    return NULL;
  }
  a->woke_ms = weft_now_ms(rt);
  return weft_done(rt, f);
}
static const weft_fninfo act_info = {act_resume, sizeof(act_frame), 0, "main", "app.weft"};

static void test_libuv_activity(void **state) {
  (void)state;
  for (int virt = 0; virt < 2; virt++) {
    weft_rt_options o = {.virtual_time = virt};
    weft_rt *rt = weft_rt_new(&o);
    act_frame *a = weft_frame_alloc(rt, sizeof *a);
    a->h.fn = &act_info;
    uint64_t t0 = uv_hrtime();
    int64_t start_ms = weft_now_ms(rt);
    assert_int_equal(weft_run(rt, &a->h), 0);
    assert_int_equal(a->h.status, WEFT_DONE);
    assert_true(uv_hrtime() - t0 >= 4000000ull); /* really waited for the "I/O" */
    if (virt) assert_int_equal(a->woke_ms, 0);     /* the virtual clock does not follow I/O */
    else assert_true(a->woke_ms - start_ms >= 4);
    weft_rt_free(rt); /* runs the close callback before a's memory goes away */
  }
}

/* ---- failures ----------------------------------------------------------------------------- */

typedef struct failing_frame { /* workflow child() -> int { fail Error("boom") } */
  weft_frame h;
  int64_t result;
} failing_frame;

static weft_frame *failing_resume(weft_rt *rt, weft_frame *f) {
  weft_raise(rt, f, &weft_kind_Error, lit_boom, &loc_child);
  return weft_failed(rt, f);
}
static const weft_fninfo failing_info = {failing_resume, sizeof(failing_frame), 0, "child", "app.weft"};

typedef struct caller_frame {
  weft_frame h;
  int64_t result;
  int64_t catch_it; /* 1: catch e { result = 7 } ; 0: propagate */
  failing_frame *child;
} caller_frame;

static weft_frame *caller_resume(weft_rt *rt, weft_frame *f) {
  caller_frame *c = (caller_frame *)f;
  if (f->state == 0) {
    failing_frame *k = weft_frame_alloc(rt, sizeof *k);
    k->h.fn = &failing_info;
    k->h.parent = f;
    c->child = k;
    f->state = 1;
    return &k->h;
  }
  failing_frame *k = c->child;
  if (k->h.status == WEFT_FAILED) {
    weft_failure *e = weft_failure_take(&k->h);
    weft_frame_free(rt, &k->h);
    if (c->catch_it) {
      assert_true(weft_failure_is(e, &weft_kind_Error));
      weft_failure_free(e);
      c->result = 7;
      return weft_done(rt, f);
    }
    f->failure = e; /* re-raised at the yield */
    return weft_failed(rt, f);
  }
  weft_frame_free(rt, &k->h);
  return weft_done(rt, f);
}
static const weft_fninfo caller_info = {caller_resume, sizeof(caller_frame), 0, "main", "app.weft"};

static void test_failure_propagation(void **state) {
  (void)state;
  int64_t base = weft_objects_live();
  weft_rt *rt = virtual_rt();
  caller_frame *c = weft_frame_alloc(rt, sizeof *c);
  c->h.fn = &caller_info;
  assert_int_equal(weft_run(rt, &c->h), 0);
  assert_int_equal(c->h.status, WEFT_FAILED);
  weft_failure *e = c->h.failure;
  assert_non_null(e);
  assert_ptr_equal(weft_failure_kind(e), &weft_kind_Error);
  assert_string_equal(weft_failure_message(e)->data, "boom");
  assert_ptr_equal(weft_failure_loc(e), &loc_child);
  weft_failure_free(weft_failure_take(&c->h));
  weft_frame_free(rt, c);

  c = weft_frame_alloc(rt, sizeof *c); /* now with a catch */
  c->h.fn = &caller_info;
  c->catch_it = 1;
  assert_int_equal(weft_run(rt, &c->h), 0);
  assert_int_equal(c->h.status, WEFT_DONE);
  assert_int_equal(c->result, 7);
  assert_null(c->h.failure);
  weft_frame_free(rt, c);
  weft_stats st;
  weft_rt_stats(rt, &st);
  assert_int_equal(st.frames_live, 0);
  assert_int_equal(weft_objects_live(), base);
  weft_rt_free(rt);
}

/* ---- weft_main ------------------------------------------------------------------------------- */

typedef struct main_int_frame {
  weft_frame h;
  int64_t result;
} main_int_frame;

static int64_t main_ret;
static weft_frame *ret_resume(weft_rt *rt, weft_frame *f) {
  ((main_int_frame *)f)->result = main_ret;
  return weft_done(rt, f);
}
static const weft_fninfo ret_info = {ret_resume, sizeof(main_int_frame), 0, "main", "app.weft"};

static int main_ret_child(void *arg) {
  main_ret = *(int64_t *)arg;
  char *argv[] = {"app", NULL};
  return weft_main(1, argv, &ret_info, WEFT_MAIN_RETURNS_INT);
}

static void test_main_exit_codes(void **state) {
  (void)state;
  static const int64_t in[] = {0, 3, 255, 256, 300, -1, -256, INT64_MIN, INT64_MAX};
  static const int want[] = {0, 3, 255, 0, 44, 255, 0, 0, 255};
  for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
    char *out;
    assert_int_equal(run_child(main_ret_child, (void *)&in[i], &out), want[i]);
    assert_string_equal(out, "");
    free(out);
  }
}

/* workflow main() { print("hello"); log("to stderr"); print("bye"); fail Error("boom") } */
TEST_LIT(lit_hello, "hello");
TEST_LIT(lit_log, "to stderr");
TEST_LIT(lit_bye, "bye");
static weft_frame *noisy_fail_resume(weft_rt *rt, weft_frame *f) {
  weft_print(rt, lit_hello);
  weft_log(rt, lit_log);
  weft_print(rt, lit_bye);
  weft_raise_cstr(rt, f, &weft_kind_Timeout, "first", &loc_child);
  weft_raise(rt, f, &weft_kind_Error, lit_boom, &loc_main);
  return weft_failed(rt, f);
}
static const weft_fninfo noisy_fail_info = {noisy_fail_resume, 48, 0, "main", "app.weft"};
static int noisy_fail_child(void *arg) {
  (void)arg;
  char *argv[] = {"app", NULL};
  return weft_main(1, argv, &noisy_fail_info, 0);
}

static void test_main_failure_report(void **state) {
  (void)state;
  char *out;
  assert_int_equal(run_child(noisy_fail_child, NULL, &out), WEFT_EXIT_FAILURE);
  /* stdout is a pipe (fully buffered) and still comes out in program order. */
  assert_string_equal(out,
                      "hello\n"
                      "to stderr\n"
                      "bye\n"
                      "error: Error: boom\n"
                      "  at app.weft:3:5 in workflow main\n"
                      "caused by: Timeout: first\n"
                      "  at app.weft:12:9 in workflow child\n");
  free(out);
}

/* workflow main() { try { yield child() } catch e { } }: unit main, exit 0,
 * nothing leaked (WEFT_CHECK_LEAKS on). */
static weft_frame *catching_main_resume(weft_rt *rt, weft_frame *f) {
  if (f->state == 0) ((caller_frame *)f)->catch_it = 1;
  return caller_resume(rt, f);
}
static const weft_fninfo catching_main_info = {catching_main_resume, sizeof(caller_frame), 0, "main",
                                               "app.weft"};
static int catching_child(void *arg) {
  (void)arg;
  setenv("WEFT_CHECK_LEAKS", "1", 1);
  char *argv[] = {"app", NULL};
  return weft_main(1, argv, &catching_main_info, 0);
}
/* The same main without the catch: the child's failure reaches the root. */
static int propagating_child(void *arg) {
  (void)arg;
  setenv("WEFT_CHECK_LEAKS", "1", 1);
  char *argv[] = {"app", NULL};
  return weft_main(1, argv, &caller_info, 0);
}

/* print/log: byte-exact (embedded NUL), newline added, long lines intact,
 * program order kept across the two streams. */
static int print_log_child(void *arg) {
  (void)arg;
  weft_rt *rt = virtual_rt();
  weft_str *nul = weft_str_new("a\0b", 3);
  char *big = malloc(5001);
  memset(big, 'x', 5000);
  big[5000] = '\0';
  weft_str *long_line = weft_str_from_cstr(big);
  weft_print(rt, nul);
  weft_log(rt, long_line);
  weft_print(rt, long_line);
  weft_log(rt, nul);
  weft_release(nul);
  weft_release(long_line);
  free(big);
  weft_rt_free(rt);
  return 0;
}

static void test_print_log(void **state) {
  (void)state;
  char *out;
  assert_int_equal(run_child(print_log_child, NULL, &out), 0);
  /* out is NUL-terminated by run_child, so compare piecewise */
  assert_memory_equal(out, "a\0b\n", 4);
  for (int rep = 0; rep < 2; rep++) {
    const char *line = out + 4 + rep * 5001;
    for (int i = 0; i < 5000; i++) assert_int_equal(line[i], 'x');
    assert_int_equal(line[5000], '\n');
  }
  assert_memory_equal(out + 4 + 2 * 5001, "a\0b\n", 5);
  free(out);
}

static void test_main_unit(void **state) {
  (void)state;
  char *out;
  assert_int_equal(run_child(catching_child, NULL, &out), 0);
  assert_string_equal(out, "");
  free(out);
  assert_int_equal(run_child(propagating_child, NULL, &out), 1);
  assert_string_equal(out, "error: Error: boom\n  at app.weft:12:9 in workflow child\n");
  free(out);
}

/* workflow main(args: list[str]) -> int: returns len(args) * 10 + len(args[1]) */
typedef struct args_frame {
  weft_frame h;
  int64_t result;  /* 48 */
  weft_list *args; /* 56 */
} args_frame;
static weft_frame *args_resume(weft_rt *rt, weft_frame *f) {
  args_frame *a = (args_frame *)f;
  assert_int_equal(a->args->h.aux, 1);
  weft_str *second = (weft_str *)(uintptr_t)a->args->data[1];
  a->result = a->args->len * 10 + second->len;
  weft_print(rt, (weft_str *)(uintptr_t)a->args->data[0]);
  weft_release(a->args); /* generated code releases its slots when finishing */
  a->args = NULL;
  return weft_done(rt, f);
}
static const weft_fninfo args_info = {args_resume, sizeof(args_frame), 0, "main", "app.weft"};

/* workflow main(args: list[str]) (no result): args at offset 48 */
typedef struct args_only_frame {
  weft_frame h;
  weft_list *args; /* 48 */
} args_only_frame;
static weft_frame *args_only_resume(weft_rt *rt, weft_frame *f) {
  args_only_frame *a = (args_only_frame *)f;
  for (int64_t i = 0; i < a->args->len; i++) weft_print(rt, (weft_str *)(uintptr_t)a->args->data[i]);
  weft_release(a->args);
  a->args = NULL;
  return weft_done(rt, f);
}
static const weft_fninfo args_only_info = {args_only_resume, sizeof(args_only_frame), 0, "main", "app.weft"};

static int args_child(void *arg) {
  (void)arg;
  setenv("WEFT_CHECK_LEAKS", "1", 1);
  char *argv[] = {"app", "first", "xyz", "", NULL};
  return weft_main(4, argv, &args_info, WEFT_MAIN_RETURNS_INT | WEFT_MAIN_TAKES_ARGS);
}
static int args_only_child(void *arg) {
  (void)arg;
  setenv("WEFT_CHECK_LEAKS", "1", 1);
  char *argv[] = {"app", "a", "b c", NULL};
  return weft_main(3, argv, &args_only_info, WEFT_MAIN_TAKES_ARGS);
}

static void test_main_args(void **state) {
  (void)state;
  char *out;
  assert_int_equal(run_child(args_child, NULL, &out), 33);
  assert_string_equal(out, "first\n");
  free(out);
  assert_int_equal(run_child(args_only_child, NULL, &out), 0);
  assert_string_equal(out, "a\nb c\n");
  free(out);
}

/* workflow main() that parks with nothing pending: the runtime must not hang. */
static weft_frame *stuck_resume(weft_rt *rt, weft_frame *f) {
  (void)rt;
  (void)f;
  return NULL;
}
static const weft_fninfo stuck_info = {stuck_resume, 48, 0, "main", "app.weft"};
static int stuck_child(void *arg) {
  (void)arg;
  char *argv[] = {"app", NULL};
  return weft_main(1, argv, &stuck_info, 0);
}

static void test_main_deadlock(void **state) {
  (void)state;
  char *out;
  assert_int_equal(run_child(stuck_child, NULL, &out), WEFT_EXIT_INTERNAL);
  assert_string_equal(out, "weft: internal error: deadlock: no runnable workflow and nothing pending\n");
  free(out);
}

/* Leak checks: a leaked string, a leaked frame, and a clean run. */
static int leak_kind;
static weft_frame *leaky_resume(weft_rt *rt, weft_frame *f) {
  if (leak_kind == 1) (void)weft_str_from_cstr("leaked");
  if (leak_kind == 2) (void)weft_frame_alloc(rt, 64);
  return weft_done(rt, f);
}
static const weft_fninfo leaky_info = {leaky_resume, 48, 0, "main", "app.weft"};
static int leaky_child(void *arg) {
  leak_kind = *(int *)arg;
  setenv("WEFT_CHECK_LEAKS", leak_kind == 3 ? "0" : "1", 1);
  char *argv[] = {"app", NULL};
  return weft_main(1, argv, &leaky_info, 0);
}

static void test_main_leak_check(void **state) {
  (void)state;
  char *out;
  int k = 1;
  assert_int_equal(run_child(leaky_child, &k, &out), WEFT_EXIT_INTERNAL);
  assert_string_equal(out, "weft: internal error: leak at exit: 0 frames, 1 objects\n");
  free(out);
  k = 2;
  assert_int_equal(run_child(leaky_child, &k, &out), WEFT_EXIT_INTERNAL);
  assert_string_equal(out, "weft: internal error: leak at exit: 1 frames, 0 objects\n");
  free(out);
  k = 0;
  assert_int_equal(run_child(leaky_child, &k, &out), 0);
  assert_string_equal(out, "");
  free(out);
  k = 3; /* WEFT_CHECK_LEAKS=0 means off */
  assert_int_equal(run_child(leaky_child, &k, &out), 0);
  assert_string_equal(out, "");
  free(out);
}

static int stats_child(void *arg) {
  (void)arg;
  setenv("WEFT_STATS", "1", 1);
  setenv("WEFT_VIRTUAL_TIME", "1", 1);
  char *argv[] = {"app", NULL};
  return weft_main(1, argv, &clock_info, 0);
}

static void test_main_stats(void **state) {
  (void)state;
  char *out;
  assert_int_equal(run_child(stats_child, NULL, &out), 0);
  assert_string_equal(out, "weft: stats: frames_alloc=1 frames_live=0 objects_live=0 timers_fired=3\n");
  free(out);
}

/* WEFT_VIRTUAL_TIME through weft_main: an hour of sleep, now() jumps. */
static weft_frame *vt_resume(weft_rt *rt, weft_frame *f) {
  main_int_frame *m = (main_int_frame *)f;
  weft_timer *t = (weft_timer *)((char *)f + sizeof *m);
  if (f->state == 0) {
    f->state = 1;
    weft_sleep(rt, f, t, 3600000000ll);
    return NULL;
  }
  m->result = weft_now_ms(rt) == 3600000 ? 42 : 1;
  return weft_done(rt, f);
}
static const weft_fninfo vt_info = {vt_resume, sizeof(main_int_frame) + sizeof(weft_timer), 0, "main",
                                    "app.weft"};
static int vt_child(void *arg) {
  setenv("WEFT_VIRTUAL_TIME", (const char *)arg, 1);
  char *argv[] = {"app", NULL};
  return weft_main(1, argv, &vt_info, WEFT_MAIN_RETURNS_INT);
}

static void test_main_virtual_time_env(void **state) {
  (void)state;
  char *out;
  uint64_t t0 = uv_hrtime();
  assert_int_equal(run_child(vt_child, "1", &out), 42);
  assert_true(uv_hrtime() - t0 < 5000000000ull);
  free(out);
  assert_int_equal(run_child(vt_child, "yes", &out), 42);
  free(out);
}

/* Resuming a finished frame is an internal error, never UB. */
static weft_frame *zombie_resume(weft_rt *rt, weft_frame *f) {
  weft_frame *c = weft_frame_alloc(rt, 48);
  c->fn = &stuck_info;
  c->status = WEFT_DONE; /* generated code handing back a finished child */
  c->parent = f;
  return c;
}
static const weft_fninfo zombie_info = {zombie_resume, 48, 0, "main", "app.weft"};
static int zombie_child(void *arg) {
  (void)arg;
  char *argv[] = {"app", NULL};
  return weft_main(1, argv, &zombie_info, 0);
}

static int bad_info_child(void *arg) {
  (void)arg;
  static const weft_fninfo small = {ret_resume, 48, 0, "main", "app.weft"};
  char *argv[] = {"app", NULL};
  return weft_main(1, argv, &small, WEFT_MAIN_RETURNS_INT); /* no room for the result */
}

static void test_main_internal_errors(void **state) {
  (void)state;
  char *out;
  assert_int_equal(run_child(zombie_child, NULL, &out), WEFT_EXIT_INTERNAL);
  assert_string_equal(out, "weft: internal error: resuming finished workflow main\n");
  free(out);
  assert_int_equal(run_child(bad_info_child, NULL, &out), WEFT_EXIT_INTERNAL);
  assert_string_equal(out, "weft: internal error: bad main workflow descriptor\n");
  free(out);
}

static void test_main_embedded_opts(void **state) {
  (void)state;
  /* weft_main_opts ignores the environment */
  setenv("WEFT_VIRTUAL_TIME", "", 1);
  weft_rt_options o;
  weft_rt_options_from_env(&o);
  assert_false(o.virtual_time);
  setenv("WEFT_VIRTUAL_TIME", "0", 1);
  weft_rt_options_from_env(&o);
  assert_false(o.virtual_time);
  setenv("WEFT_VIRTUAL_TIME", "1", 1);
  weft_rt_options_from_env(&o);
  assert_true(o.virtual_time);
  unsetenv("WEFT_VIRTUAL_TIME");
  weft_rt_options opts = {.virtual_time = true, .check_leaks = true};
  char *argv[] = {"app", NULL};
  assert_int_equal(weft_main_opts(1, argv, &vt_info, WEFT_MAIN_RETURNS_INT, &opts), 42);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_million_calls),
      cmocka_unit_test(test_deep_recursion),
      cmocka_unit_test(test_sleep_virtual),
      cmocka_unit_test(test_sleep_real),
      cmocka_unit_test(test_libuv_activity),
      cmocka_unit_test(test_failure_propagation),
      cmocka_unit_test(test_main_exit_codes),
      cmocka_unit_test(test_main_failure_report),
      cmocka_unit_test(test_print_log),
      cmocka_unit_test(test_main_unit),
      cmocka_unit_test(test_main_args),
      cmocka_unit_test(test_main_deadlock),
      cmocka_unit_test(test_main_leak_check),
      cmocka_unit_test(test_main_stats),
      cmocka_unit_test(test_main_virtual_time_env),
      cmocka_unit_test(test_main_internal_errors),
      cmocka_unit_test(test_main_embedded_opts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
