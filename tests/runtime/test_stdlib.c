/* test_stdlib.c -- the native half of the standard library (stdlib/native),
 * driven through the runtime API: retry delays with a fixed seed, breaker
 * transitions on a virtual clock, processes (exit status, output capture,
 * spawn failure, kill on cancel, teardown of a running process), files. */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <uv.h>

#define WEFT_TEST_TRACE /* setup/teardown: no heap value outlives a test */
#include "test_util.h"

#include "native.h"


/* ---- an activity call, shaped like the generated code ---------------------------- */

typedef struct actf {
  weft_frame h;
  void *aw; /* the await slot: the call record */
  const weft_actinfo *info;
  uint64_t args[3];
  uint64_t result;
  int rc;     /* weft_act_finish */
  int starts; /* resumes at state 0 */
} actf;

static const weft_srcloc act_loc = {"t.weft", 7, 5, "main"};

static weft_frame *actf_resume(weft_rt *rt, weft_frame *f) {
  actf *c = (actf *)f;
  if (f->state == 0) {
    f->state = 1;
    c->starts++;
    return weft_act_start(rt, f, c->info, c->args, &act_loc); /* f: already complete */
  }
  c->rc = weft_act_finish(rt, f, &c->result);
  return c->rc ? weft_failed(rt, f) : weft_done(rt, f);
}
static const weft_fninfo actf_info = {actf_resume, sizeof(actf), offsetof(actf, aw), "main", "t.weft"};

static weft_str *sarg(uint64_t w) { return (weft_str *)(uintptr_t)w; }

static void run_thunk(weft_act a, const uint64_t *args) {
  weft_std_run(a, sarg(args[0])->data, (weft_list *)(uintptr_t)args[1]);
}
static void run_shell_thunk(weft_act a, const uint64_t *args) { weft_std_run_shell(a, sarg(args[0])->data); }
static void read_thunk(weft_act a, const uint64_t *args) { weft_std_read_file(a, sarg(args[0])->data); }
static void write_thunk(weft_act a, const uint64_t *args) { weft_std_write_file(a, sarg(args[0])->data, sarg(args[1])->data); }
static void append_thunk(weft_act a, const uint64_t *args) {
  weft_std_append_file(a, sarg(args[0])->data, sarg(args[1])->data);
}
static void exists_thunk(weft_act a, const uint64_t *args) { weft_std_file_exists(a, sarg(args[0])->data); }

static const weft_actinfo run_info = {run_thunk, "run", "process.weft", 40, 2, WEFT_RES_REF, 0, 3};
static const weft_actinfo run_shell_info = {run_shell_thunk, "run_shell", "process.weft", 42, 1, WEFT_RES_REF, 0, 1};
static const weft_actinfo read_info = {read_thunk, "read_file", "fs.weft", 20, 1, WEFT_RES_STR, 0, 1};
static const weft_actinfo write_info = {write_thunk, "write_file", "fs.weft", 22, 2, WEFT_RES_UNIT, 0, 3};
static const weft_actinfo append_info = {append_thunk, "append_file", "fs.weft", 24, 2, WEFT_RES_UNIT, 0, 3};
static const weft_actinfo exists_info = {exists_thunk, "file_exists", "fs.weft", 26, 1, WEFT_RES_BOOL, 0, 1};

static weft_list *strlist(int n, const char *const *xs) {
  weft_list *l = weft_list_new(n, 1);
  for (int i = 0; i < n; i++) l->data[i] = (uint64_t)(uintptr_t)weft_str_from_cstr(xs[i]);
  return l;
}

/* Runs one call to its end on rt; the caller checks and frees c. Arguments
 * are owned by the caller (released by call_free). */
static actf *call(weft_rt *rt, const weft_actinfo *info, uint64_t a0, uint64_t a1) {
  actf *c = weft_frame_alloc(rt, sizeof *c);
  c->h.fn = &actf_info;
  c->info = info;
  c->args[0] = a0;
  c->args[1] = a1;
  assert_int_equal(weft_run(rt, &c->h), 0);
  assert_int_equal(c->starts, 1);
  return c;
}

static void call_free(weft_rt *rt, actf *c) {
  for (int i = 0; i < c->info->nargs; i++) weft_release((void *)(uintptr_t)c->args[i]);
  if (c->h.status == WEFT_DONE && (c->info->result == WEFT_RES_STR || c->info->result == WEFT_RES_REF))
    weft_release((void *)(uintptr_t)c->result);
  weft_failure_free(weft_failure_take(&c->h));
  weft_frame_free(rt, &c->h);
}

static uint64_t S(const char *s) { return (uint64_t)(uintptr_t)weft_str_from_cstr(s); }

/* The failure message of a failed call. */
static const char *failure_text(actf *c) {
  assert_int_equal(c->h.status, WEFT_FAILED);
  assert_ptr_equal(weft_failure_kind(c->h.failure), &weft_kind_ActivityFailed);
  return weft_failure_message(c->h.failure)->data;
}

/* ---- retry ------------------------------------------------------------------------- */

static weft_rt *seeded_rt(uint64_t seed) {
  weft_rt_options o = {.virtual_time = true, .seed = seed};
  return weft_rt_new(&o);
}

static void test_retry_none(void **state) {
  (void)state;
  weft_rt *rt = seeded_rt(42);
  /* 100ms * 2^(n-1), capped at 1s */
  int64_t want[] = {100000, 200000, 400000, 800000, 1000000, 1000000};
  for (int n = 1; n <= 6; n++) assert_int_equal(weft__retry_delay(rt, 100000, 2.0, 1000000, "none", n), want[n - 1]);
  assert_int_equal(weft__retry_delay(rt, 250000, 1.0, 1000000, "none", 9), 250000); /* constant */
  assert_int_equal(weft__retry_delay(rt, 1000, 10.0, INT64_MAX, "none", 400), INT64_MAX); /* inf -> max */
  assert_int_equal(weft__retry_delay(rt, 1000, 2.0, 0, "none", 3), 0);
  /* "none" draws no random numbers: the sequence is where a fresh one starts */
  weft_rt *fresh = seeded_rt(42);
  assert_int_equal(weft_random(rt), weft_random(fresh));
  weft_rt_free(fresh);
  weft_rt_free(rt);
}

static void test_retry_jitter(void **state) {
  (void)state;
  weft_rt *rt = seeded_rt(42), *ref = seeded_rt(42), *other = seeded_rt(43);
  bool differs = false;
  int64_t lo_full = INT64_MAX, hi_full = 0;
  for (int n = 1; n <= 200; n++) {
    int64_t attempt = 1 + n % 5, delay = 100000 << (attempt - 1);
    if (delay > 1000000) delay = 1000000;
    int64_t full = weft__retry_delay(rt, 100000, 2.0, 1000000, "full", attempt);
    assert_int_equal(full, (int64_t)weft_random_below(ref, (uint64_t)delay + 1)); /* one draw per call */
    assert_true(full >= 0 && full <= delay);
    if (weft__retry_delay(other, 100000, 2.0, 1000000, "full", attempt) != full) differs = true;
    if (full < lo_full) lo_full = full;
    if (full > hi_full) hi_full = full;
    int64_t eq = weft__retry_delay(rt, 100000, 2.0, 1000000, "equal", attempt);
    assert_int_equal(eq, delay / 2 + (int64_t)weft_random_below(ref, (uint64_t)(delay - delay / 2) + 1));
    assert_true(eq >= delay / 2 && eq <= delay);
    weft__retry_delay(other, 100000, 2.0, 1000000, "equal", attempt);
  }
  assert_true(differs);                           /* the seed matters */
  assert_true(lo_full < 50000 && hi_full > 500000); /* spread over the range */
  assert_int_equal(weft__retry_delay(rt, 0, 2.0, 1000, "full", 1), 0);
  weft_rt_free(other);
  weft_rt_free(ref);
  weft_rt_free(rt);
}

/* ---- breaker ----------------------------------------------------------------------- */

static void test_breaker(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  const char *b = "db";
  assert_string_equal(weft__breaker_state(rt, b), "closed");
  weft__breaker_exit(rt, b, false, true); /* never entered: ignored */
  /* closed: 2 failures, a success resets, then 3 in a row open it */
  for (int i = 0; i < 2; i++) {
    assert_true(weft__breaker_enter(rt, b, 3, 10000000));
    weft__breaker_exit(rt, b, false, true);
  }
  assert_true(weft__breaker_enter(rt, b, 3, 10000000));
  weft__breaker_exit(rt, b, true, true);
  assert_true(weft__breaker_enter(rt, b, 3, 10000000));
  weft__breaker_exit(rt, b, false, false); /* cancelled: not counted */
  rt->now_us = 1000000;
  for (int i = 0; i < 3; i++) {
    assert_string_equal(weft__breaker_state(rt, b), "closed");
    assert_true(weft__breaker_enter(rt, b, 3, 10000000));
    weft__breaker_exit(rt, b, false, true);
  }
  assert_string_equal(weft__breaker_state(rt, b), "open");
  /* open: fail fast until reset (10s) has passed since it opened at 1s */
  rt->now_us = 10999999;
  assert_false(weft__breaker_enter(rt, b, 3, 10000000));
  assert_true(weft__breaker_enter(rt, "other", 3, 10000000)); /* names are independent */
  rt->now_us = 11000000;
  assert_string_equal(weft__breaker_state(rt, b), "half-open");
  /* half-open: one probe; the others fail fast while it is in flight */
  assert_true(weft__breaker_enter(rt, b, 3, 10000000));
  assert_false(weft__breaker_enter(rt, b, 3, 10000000));
  weft__breaker_exit(rt, b, false, false); /* the probe was cancelled: slot freed */
  assert_string_equal(weft__breaker_state(rt, b), "half-open");
  assert_true(weft__breaker_enter(rt, b, 3, 10000000)); /* a new probe */
  weft__breaker_exit(rt, b, false, true);               /* fails: open again from now */
  assert_string_equal(weft__breaker_state(rt, b), "open");
  rt->now_us = 20999999;
  assert_false(weft__breaker_enter(rt, b, 3, 10000000));
  rt->now_us = 21000000;
  assert_true(weft__breaker_enter(rt, b, 3, 10000000));
  weft__breaker_exit(rt, b, true, true); /* the probe succeeds: closed */
  assert_string_equal(weft__breaker_state(rt, b), "closed");
  /* closed again with a fresh count */
  for (int i = 0; i < 2; i++) {
    assert_true(weft__breaker_enter(rt, b, 3, 10000000));
    weft__breaker_exit(rt, b, false, true);
  }
  assert_string_equal(weft__breaker_state(rt, b), "closed");
  /* results of calls that entered before it opened are ignored while open */
  assert_true(weft__breaker_enter(rt, b, 3, 10000000));
  assert_true(weft__breaker_enter(rt, b, 3, 10000000));
  weft__breaker_exit(rt, b, false, true); /* third failure: open */
  weft__breaker_exit(rt, b, true, true);  /* the straggler's success */
  assert_string_equal(weft__breaker_state(rt, b), "open");
  /* many names: the table grows */
  char name[32];
  for (int i = 0; i < 100; i++) {
    snprintf(name, sizeof name, "svc%d", i);
    assert_true(weft__breaker_enter(rt, name, 1, 5));
    weft__breaker_exit(rt, name, i % 2 == 0, true);
  }
  for (int i = 0; i < 100; i++) {
    snprintf(name, sizeof name, "svc%d", i);
    assert_string_equal(weft__breaker_state(rt, name), i % 2 ? "open" : "closed");
  }
  weft_rt_free(rt);
}

/* ---- time -------------------------------------------------------------------------- */

static void test_time_format(void **state) {
  (void)state;
  char buf[64];
  assert_string_equal(weft__format_time(0, buf, sizeof buf), "1970-01-01T00:00:00.000Z");
  assert_string_equal(weft__format_time(1795467600123, buf, sizeof buf), "2026-11-23T21:00:00.123Z");
  assert_string_equal(weft__format_time(-1, buf, sizeof buf), "1969-12-31T23:59:59.999Z");
  assert_string_equal(weft__format_time(951782400000, buf, sizeof buf), "2000-02-29T00:00:00.000Z");
  assert_string_equal(weft_std_format_time(86400000 + 61001), "1970-01-02T00:01:01.001Z");
  assert_string_equal(weft_proc_failure("make", 2, 0, "a\nmake: *** [all] Error 1\n\n"),
                      "'make' exited with status 2: make: *** [all] Error 1");
  assert_string_equal(weft_proc_failure("x", 137, 9, ""), "'x' was killed by signal 9");
}

/* ---- processes --------------------------------------------------------------------- */

static weft_obj *proc_result(actf *c) {
  assert_int_equal(c->h.status, WEFT_DONE);
  weft_obj *r = (weft_obj *)(uintptr_t)c->result;
  assert_int_equal(r->h.aux, 4);
  return r;
}
static const char *field_str(weft_obj *r, int i) { return ((weft_str *)(uintptr_t)r->fields[i])->data; }

static void test_process_run(void **state) {
  (void)state;
  weft_rt *rt = weft_rt_new(NULL);
  const char *args[] = {"-c", "printf 'out %s' \"$0\"; echo err >&2; exit 3", "zero"};
  actf *c = call(rt, &run_info, S("sh"), (uint64_t)(uintptr_t)strlist(3, args));
  weft_obj *r = proc_result(c);
  assert_int_equal(r->fields[0], 3);
  assert_int_equal(r->fields[1], 0);
  assert_string_equal(field_str(r, 2), "out zero");
  assert_string_equal(field_str(r, 3), "err\n");
  call_free(rt, c);

  /* more output than a pipe buffer holds, with a NUL byte in it */
  c = call(rt, &run_shell_info, S("head -c 300000 /dev/zero | tr '\\0' x; printf 'a\\0b'"), 0);
  r = proc_result(c);
  weft_str *out = (weft_str *)(uintptr_t)r->fields[2];
  assert_int_equal(out->len, 300003);
  assert_memory_equal(out->data + 300000, "a\0b", 3);
  assert_int_equal(r->fields[0], 0);
  call_free(rt, c);

  /* killed by a signal */
  c = call(rt, &run_shell_info, S("kill -9 $$"), 0);
  r = proc_result(c);
  assert_int_equal(r->fields[0], 137);
  assert_int_equal(r->fields[1], 9);
  call_free(rt, c);

  /* cannot spawn */
  c = call(rt, &run_info, S("weft-no-such-program"), (uint64_t)(uintptr_t)strlist(0, NULL));
  assert_string_equal(failure_text(c), "cannot run 'weft-no-such-program': no such file or directory");
  assert_int_equal(weft_failure_loc(c->h.failure)->line, 7); /* the yield's line */
  call_free(rt, c);
  assert_null(rt->std->procs);
  weft_rt_free(rt);
}

static void cancel_cb(uv_timer_t *t) {
  weft_cancel(t->data);
  uv_close((uv_handle_t *)t, NULL);
}

static int read_pid(const char *path) {
  for (int i = 0; i < 500; i++) { /* the shell writes it right after it starts */
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (f) {
      int n = fscanf(f, "%d", &pid);
      fclose(f);
      if (n == 1 && pid > 0) return pid;
    }
    usleep(10000);
  }
  fail();
  return -1;
}

/* The cancel hook sends SIGTERM to the process group; the call ends
 * cancelled at once, and the record goes away once libuv saw the exit.
 * teardown = true frees the runtime right away instead (SIGKILL path). */
static void cancel_case(bool teardown) {
  weft_rt *rt = weft_rt_new(NULL);
  char pidfile[] = "/tmp/weft-stdlib-pidXXXXXX";
  int fd = mkstemp(pidfile);
  assert_true(fd >= 0);
  close(fd);
  char cmd[256];
  /* a grandchild in the same group, so killing only the shell would miss it */
  snprintf(cmd, sizeof cmd, "sleep 30 & echo $! > %s; wait", pidfile);
  uv_timer_t t;
  uv_timer_init(weft_rt_loop(rt), &t);
  t.data = rt;
  uv_timer_start(&t, cancel_cb, 200, 0);
  uint64_t t0 = uv_hrtime();
  actf *c = call(rt, &run_shell_info, S(cmd), 0);
  assert_int_equal(c->h.status, WEFT_CANCELLED);
  assert_true(uv_hrtime() - t0 < 5000000000ull);
  int pid = read_pid(pidfile);
  unlink(pidfile);
  call_free(rt, c);
  if (!teardown) {
    /* the record stays until the exit is seen and the handles are closed */
    for (int i = 0; i < 500 && rt->std->procs; i++) uv_run(weft_rt_loop(rt), UV_RUN_ONCE);
    assert_null(rt->std->procs);
  }
  weft_rt_free(rt);
  /* the grandchild got the signal too (it is reparented, so poll) */
  int alive = 1;
  for (int i = 0; i < 300 && alive; i++) {
    char path[64], st = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) alive = 0;
    else {
      if (fscanf(f, "%*d %*s %c", &st) == 1 && st == 'Z') alive = 0; /* dead, not reaped yet */
      fclose(f);
    }
    if (alive) usleep(10000);
  }
  assert_false(alive);
}

static void test_process_cancel(void **state) {
  (void)state;
  cancel_case(false);
}

static void test_process_teardown(void **state) {
  (void)state;
  cancel_case(true);
}

/* ---- files ------------------------------------------------------------------------- */

static void test_fs(void **state) {
  (void)state;
  weft_rt *rt = weft_rt_new(NULL);
  char dir[] = "/tmp/weft-stdlib-fsXXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128], big[200001];
  snprintf(path, sizeof path, "%s/a.txt", dir);
  memset(big, 'q', sizeof big - 1);
  big[sizeof big - 1] = '\0';

  actf *c = call(rt, &exists_info, S(path), 0);
  assert_int_equal(c->h.status, WEFT_DONE);
  assert_int_equal(c->result, 0);
  call_free(rt, c);

  c = call(rt, &write_info, S(path), S(big));
  assert_int_equal(c->h.status, WEFT_DONE);
  call_free(rt, c);
  c = call(rt, &append_info, S(path), S("tail"));
  assert_int_equal(c->h.status, WEFT_DONE);
  call_free(rt, c);

  c = call(rt, &read_info, S(path), 0);
  assert_int_equal(c->h.status, WEFT_DONE);
  weft_str *s = (weft_str *)(uintptr_t)c->result;
  assert_int_equal(s->len, 200004);
  assert_memory_equal(s->data, big, 200000);
  assert_string_equal(s->data + 200000, "tail");
  call_free(rt, c);

  c = call(rt, &exists_info, S(path), 0);
  assert_int_equal(c->result, 1);
  call_free(rt, c);

  /* write truncates */
  c = call(rt, &write_info, S(path), S("short"));
  call_free(rt, c);
  c = call(rt, &read_info, S(path), 0);
  assert_string_equal(((weft_str *)(uintptr_t)c->result)->data, "short");
  call_free(rt, c);

  /* errors name the path and the reason */
  char missing[160];
  snprintf(missing, sizeof missing, "%s/missing/x", dir);
  c = call(rt, &read_info, S(missing), 0);
  char want[256];
  snprintf(want, sizeof want, "cannot read '%s': No such file or directory", missing);
  assert_string_equal(failure_text(c), want);
  call_free(rt, c);
  c = call(rt, &write_info, S(missing), S("x"));
  snprintf(want, sizeof want, "cannot write '%s': No such file or directory", missing);
  assert_string_equal(failure_text(c), want);
  call_free(rt, c);
  c = call(rt, &read_info, S(dir), 0); /* a directory: open works, read fails */
  snprintf(want, sizeof want, "cannot read '%s': Is a directory", dir);
  assert_string_equal(failure_text(c), want);
  call_free(rt, c);
  c = call(rt, &exists_info, S(missing), 0);
  assert_int_equal(c->h.status, WEFT_DONE);
  assert_int_equal(c->result, 0);
  call_free(rt, c);

  assert_null(rt->std->fsops);
  weft_rt_free(rt);
  unlink(path);
  rmdir(dir);
}

/* ---- abandonment: the runtime is freed while calls are in flight ------------------ */

/* Starts a read of a big file and a process as embedded roots, runs one
 * turn so both are in flight, then frees the runtime. Nothing may complete
 * a stale call (that would print "activity misuse" on stderr), nothing may
 * leak, and the process must be killed and reaped. */
static void test_abandon(void **state) {
  (void)state;
  char dir[] = "/tmp/weft-stdlib-abXXXXXX";
  assert_non_null(mkdtemp(dir));
  char big[256], pidfile[256], errfile[256], cmd[512];
  snprintf(big, sizeof big, "%s/big", dir);
  snprintf(pidfile, sizeof pidfile, "%s/pid", dir);
  snprintf(errfile, sizeof errfile, "%s/stderr", dir);
  snprintf(cmd, sizeof cmd, "echo $$ > %s; exec sleep 30", pidfile);
  FILE *f = fopen(big, "w");
  assert_non_null(f);
  for (int i = 0; i < 4096; i++) fprintf(f, "%01023d\n", i);
  fclose(f);

  fflush(stderr);
  int saved = dup(2), efd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(saved >= 0 && efd >= 0);
  dup2(efd, 2);
  close(efd);
  weft_rt *rt = weft_rt_new(NULL);
  actf *r = weft_frame_alloc(rt, sizeof *r), *p = weft_frame_alloc(rt, sizeof *p);
  r->h.fn = p->h.fn = &actf_info;
  r->info = &read_info;
  void *ra = (void *)(uintptr_t)(r->args[0] = S(big));
  p->info = &run_shell_info;
  void *pa = (void *)(uintptr_t)(p->args[0] = S(cmd));
  int rc1 = weft_root_start(rt, &r->h, WEFT_RES_STR), rc2 = weft_root_start(rt, &p->h, WEFT_RES_REF);
  int running = weft_rt_run_once(rt);
  int pid = read_pid(pidfile);
  weft_rt_free(rt); /* the roots' frames go with it; their arguments are ours */
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  weft_release(ra);
  weft_release(pa);
  assert_int_equal(rc1, 0);
  assert_int_equal(rc2, 0);
  assert_int_equal(running, 2);
  assert_int_equal(kill(pid, 0), -1); /* killed and reaped */
  assert_int_equal(errno, ESRCH);
  struct stat st;
  assert_int_equal(stat(errfile, &st), 0);
  assert_int_equal(st.st_size, 0); /* no "activity misuse" */
  unlink(errfile);
  unlink(pidfile);
  unlink(big);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_retry_none, setup, teardown),
      cmocka_unit_test_setup_teardown(test_retry_jitter, setup, teardown),
      cmocka_unit_test_setup_teardown(test_breaker, setup, teardown),
      cmocka_unit_test_setup_teardown(test_time_format, setup, teardown),
      cmocka_unit_test_setup_teardown(test_process_run, setup, teardown),
      cmocka_unit_test_setup_teardown(test_process_cancel, setup, teardown),
      cmocka_unit_test_setup_teardown(test_process_teardown, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_abandon, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
