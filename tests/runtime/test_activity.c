/* test_activity.c -- C activities (activity.c): completions now and later,
 * failures, blocking calls on the thread pool, cancellation with and without
 * a cancel hook, misuse codes (twice, wrong type, stale handle, wrong
 * thread), argument references, abandonment at weft_rt_free, the deadlock
 * report, and weft_random. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <uv.h>

#define WEFT_TEST_TRACE /* say(), trace, setup/teardown from test_util.h */
#include "test_util.h"

#include "weft_private.h"

/* ---- a workflow that yields one activity: `x = yield act(args)` ---------------------- */

typedef struct caller {
  weft_frame h;
  union { /* the await slot */
    void *rec;
    weft_timer t;
  } aw;
  const weft_actinfo *info;
  uint64_t args[4];
  int shield;        /* call inside a shielded region */
  int cancel_first;  /* weft_cancel before the yield (pending at the suspension) */
  int rc;            /* weft_act_finish's result */
  uint64_t out;
  int unshield_delivered;
} caller;

static const weft_srcloc call_loc = {"order.weft", 12, 5, "main"};

static weft_frame *caller_resume(weft_rt *rt, weft_frame *f) {
  caller *c = (caller *)f;
  if (f->state == 0) {
    f->state = 1;
    if (c->shield) weft_shield(f);
    if (c->cancel_first) weft_cancel(rt);
    return weft_act_start(rt, f, c->info, c->args, &call_loc);
  }
  c->rc = weft_act_finish(rt, f, &c->out);
  if (c->shield) c->unshield_delivered = weft_unshield(rt, f, 1);
  return f->failure ? weft_failed(rt, f) : weft_done(rt, f);
}
static const weft_fninfo caller_info = {caller_resume, sizeof(caller), offsetof(caller, aw), "main",
                                        "order.weft"};

static caller *new_caller(weft_rt *rt, const weft_actinfo *info) {
  caller *c = weft_frame_alloc(rt, sizeof *c);
  c->h.fn = &caller_info;
  c->info = info;
  return c;
}

/* Runs one call as the root; returns the finished frame (caller frees). */
static caller *run_call(weft_rt *rt, const weft_actinfo *info, uint64_t a0, uint64_t a1) {
  caller *c = new_caller(rt, info);
  c->args[0] = a0;
  c->args[1] = a1;
  assert_int_equal(weft_run(rt, &c->h), 0);
  assert_int_not_equal(c->h.status, WEFT_RUNNING);
  return c;
}

static void end_rt(weft_rt *rt, caller *c) {
  weft_failure_free(weft_failure_take(&c->h));
  weft_frame_free(rt, &c->h);
  weft_stats s;
  weft_rt_stats(rt, &s);
  assert_int_equal(s.frames_live, 0);
  weft_rt_free(rt);
}

static weft_act last; /* the handle of the latest call */

/* ---- activities ------------------------------------------------------------------------ */

static int double_rc, second_rc;
static weft_rt *seen_rt;

static void twice_thunk(weft_act a, const uint64_t *args) {
  last = a;
  seen_rt = weft_current_rt();
  assert_int_equal(weft_complete_int(a, (int64_t)args[0] * 2), WEFT_OK);
  double_rc = weft_complete_int(a, 1);
}
static const weft_actinfo twice_info = {twice_thunk, "double", "order.weft", 3, 1, WEFT_RES_INT, 0, 0};

static void greet_thunk(weft_act a, const uint64_t *args) {
  last = a;
  weft_str *who = (weft_str *)(uintptr_t)args[0];
  char buf[64];
  snprintf(buf, sizeof buf, "hello %s", who->data);
  second_rc = weft_complete_int(a, 5); /* wrong type: ignored */
  assert_int_equal(weft_complete_str(a, buf), WEFT_OK);
}
static const weft_actinfo greet_info = {greet_thunk, "greet", "order.weft", 4, 1, WEFT_RES_STR, 0, 1};

static void list_thunk(weft_act a, const uint64_t *args) {
  (void)args;
  last = a;
  weft_list *l = weft_list_new(2, 0);
  l->data[0] = 7;
  l->data[1] = 8;
  assert_int_equal(weft_complete_value(a, l), WEFT_OK);
}
static const weft_actinfo list_info = {list_thunk, "pair", "order.weft", 5, 0, WEFT_RES_REF, 0, 0};

static const weft_errkind kind_Declined = {"Declined"};
static void fail_thunk(weft_act a, const uint64_t *args) {
  last = a;
  if (args[0]) assert_int_equal(weft_failf(a, &kind_Declined, "code %d", 42), WEFT_OK);
  else assert_int_equal(weft_fail(a, NULL, "card declined"), WEFT_OK);
}
static const weft_actinfo fail_info = {fail_thunk, "charge", "order.weft", 6, 1, WEFT_RES_UNIT, 0, 0};

/* async: completes from a libuv timer after args[1] ms; an optional second
 * timer cancels the runtime after args[2] ms */
typedef struct pending {
  uv_timer_t timer, canceller;
  weft_act a;
  int64_t value;
  int closing;
  weft_str *kept; /* args[0] when it is a str: read at completion */
} pending;
static int hook_calls, use_hook, cancel_after_ms;
static char completed_with[64];

static void pending_closed(uv_handle_t *h) {
  pending *p = h->data;
  if (++p->closing == 2) free(p);
}
static void pending_close(pending *p) {
  uv_close((uv_handle_t *)&p->timer, pending_closed);
  uv_close((uv_handle_t *)&p->canceller, pending_closed);
}
static void pending_fire(uv_timer_t *t) {
  pending *p = t->data;
  if (p->kept) snprintf(completed_with, sizeof completed_with, "%s", p->kept->data);
  say("complete: cancelled=%d\n", weft_act_cancelled(p->a));
  assert_int_equal(weft_complete_int(p->a, p->value), WEFT_OK);
  pending_close(p);
}
static void pending_cancel(uv_timer_t *t) {
  pending *p = t->data;
  say("weft_cancel\n");
  weft_cancel(weft_act_rt(p->a));
}
static void pending_hook(weft_act a, void *data) {
  pending *p = data;
  hook_calls++;
  say("hook: cancelled=%d\n", weft_act_cancelled(a));
  pending_close(p);
}
static void async_thunk(weft_act a, const uint64_t *args) {
  last = a;
  pending *p = calloc(1, sizeof *p);
  p->a = a;
  p->value = 99;
  p->kept = args[0] ? (weft_str *)(uintptr_t)args[0] : NULL;
  if (p->kept) assert_int_equal(p->kept->h.rc, 2); /* the caller's and the call record's */
  uv_loop_t *loop = weft_act_loop(a);
  assert_non_null(loop);
  uv_timer_init(loop, &p->timer);
  uv_timer_init(loop, &p->canceller);
  p->timer.data = p->canceller.data = p;
  uv_timer_start(&p->timer, pending_fire, (uint64_t)args[1], 0);
  if (cancel_after_ms) uv_timer_start(&p->canceller, pending_cancel, (uint64_t)cancel_after_ms, 0);
  if (use_hook) assert_int_equal(weft_act_on_cancel(a, pending_hook, p), WEFT_OK);
}
static const weft_actinfo async_info = {async_thunk, "fetch", "order.weft", 7, 2, WEFT_RES_INT, 0, 1};

/* never completes */
static void never_thunk(weft_act a, const uint64_t *args) {
  (void)args;
  last = a;
}
static const weft_actinfo never_info = {never_thunk, "never", "order.weft", 8, 0, WEFT_RES_INT, 0, 0};

/* blocking */
static atomic_int pool_ran;
static weft_rt *_Atomic worker_rt = (weft_rt *)1;
static void *prebuilt; /* a value made on the loop thread for the ETHREAD test */
static atomic_int value_rc;
static void pool_thunk(weft_act a, const uint64_t *args) {
  last = a;
  atomic_fetch_add(&pool_ran, 1);
  atomic_store(&worker_rt, weft_current_rt());
  switch (args[0]) {
  case 0: /* completes with a str */
    assert_int_equal(weft_complete_str(a, "from the pool"), WEFT_OK);
    break;
  case 1: /* returns without completing */
    break;
  case 2: /* waits until cancelled, then completes anyway */
    while (!weft_act_cancelled(a)) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
    assert_int_equal(weft_complete_str(a, "too late"), WEFT_OK);
    break;
  case 3:
    atomic_store(&value_rc, weft_complete_value(a, prebuilt));
    break;
  }
}
static const weft_actinfo pool_info = {pool_thunk, "crunch", "order.weft", 9, 1, WEFT_RES_STR, WEFT_ACT_BLOCKING,
                                       0};
static const weft_actinfo pool_ref_info = {pool_thunk, "crunch_list", "order.weft", 10, 1, WEFT_RES_REF,
                                           WEFT_ACT_BLOCKING, 0};

/* A libuv timer on the loop: weft_cancel after ms. */
static void cancel_cb(uv_timer_t *t) {
  say("weft_cancel\n");
  weft_cancel(t->data);
  uv_close((uv_handle_t *)t, NULL);
}
static uv_timer_t cancel_timer;
static void cancel_later(weft_rt *rt, uint64_t ms) {
  uv_timer_init(weft_rt_loop(rt), &cancel_timer);
  cancel_timer.data = rt;
  uv_timer_start(&cancel_timer, cancel_cb, ms, 0);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_sync_int_and_twice(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  assert_null(weft_current_rt());
  caller *c = run_call(rt, &twice_info, 21, 0);
  assert_null(weft_current_rt()); /* restored */
  assert_ptr_equal(seen_rt, rt);
  assert_int_equal(c->h.status, WEFT_DONE);
  assert_int_equal(c->rc, 0);
  assert_int_equal((int64_t)c->out, 42);
  assert_int_equal(double_rc, WEFT_EALREADY);
  /* finished, not reused yet: still named, still "twice" */
  assert_string_equal(weft_act_name(last), "double");
  assert_null(weft_act_rt(last));
  assert_int_equal(weft_complete_int(last, 3), WEFT_EALREADY);
  end_rt(rt, c);
}

static void test_sync_str_wrong_type_and_args(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  int64_t base = weft_objects_live();
  weft_str *who = weft_str_from_cstr("ada");
  caller *c = run_call(rt, &greet_info, (uint64_t)(uintptr_t)who, 0);
  assert_int_equal(second_rc, WEFT_ETYPE);
  assert_int_equal(c->rc, 0);
  assert_int_equal(who->h.rc, 1); /* the record's reference was released at finish */
  check_str((weft_str *)(uintptr_t)c->out, "hello ada");
  weft_release(who);
  assert_int_equal(weft_objects_live(), base);
  end_rt(rt, c);
}

static void test_sync_value(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  caller *c = run_call(rt, &list_info, 0, 0);
  assert_int_equal(c->rc, 0);
  weft_list *l = (weft_list *)(uintptr_t)c->out;
  assert_int_equal(l->len, 2);
  assert_int_equal(l->data[1], 8);
  weft_release(l);
  end_rt(rt, c);
}

static void test_failures(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  caller *c = run_call(rt, &fail_info, 0, 0);
  assert_int_equal(c->h.status, WEFT_FAILED);
  assert_int_equal(c->rc, 1);
  weft_failure *e = c->h.failure;
  assert_ptr_equal(weft_failure_kind(e), &weft_kind_ActivityFailed);
  assert_str(weft_failure_message(e), "card declined");
  assert_ptr_equal(weft_failure_loc(e), &call_loc);
  assert_int_equal(weft_complete(last), WEFT_EALREADY);
  weft_failure_free(weft_failure_take(&c->h));
  weft_frame_free(rt, &c->h);
  c = run_call(rt, &fail_info, 1, 0);
  e = c->h.failure;
  assert_ptr_equal(weft_failure_kind(e), &kind_Declined);
  assert_str(weft_failure_message(e), "code 42");
  end_rt(rt, c);
}

static void test_async_args_kept(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  use_hook = cancel_after_ms = 0;
  int64_t base = weft_objects_live();
  weft_str *arg = weft_str_from_cstr("order-7");
  caller *c = new_caller(rt, &async_info);
  c->args[0] = (uint64_t)(uintptr_t)arg;
  c->args[1] = 5;
  assert_int_equal(weft_run(rt, &c->h), 0);
  assert_int_equal(c->rc, 0);
  assert_int_equal((int64_t)c->out, 99);
  assert_string_equal(completed_with, "order-7");
  assert_string_equal(trace, "complete: cancelled=0\n");
  assert_int_equal(arg->h.rc, 1);
  weft_release(arg);
  assert_int_equal(weft_objects_live(), base);
  end_rt(rt, c);
}

static void test_cancel_with_hook(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  use_hook = 1;
  cancel_after_ms = 1;
  hook_calls = 0;
  caller *c = new_caller(rt, &async_info);
  c->args[1] = 10000; /* never fires: the hook stops it */
  assert_int_equal(weft_run(rt, &c->h), 0);
  assert_int_equal(c->h.status, WEFT_CANCELLED);
  assert_int_equal(c->rc, 1);
  assert_int_equal(hook_calls, 1);
  assert_string_equal(trace, "weft_cancel\nhook: cancelled=1\n");
  assert_true(weft_act_cancelled(last));
  assert_int_equal(weft_complete_int(last, 1), WEFT_ECANCELED); /* late: ignored */
  use_hook = cancel_after_ms = 0;
  end_rt(rt, c);
}

static void test_cancel_without_hook(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  use_hook = 0;
  cancel_after_ms = 1;
  caller *c = new_caller(rt, &async_info);
  c->args[1] = 20;
  assert_int_equal(weft_run(rt, &c->h), 0);
  /* it waited for the completion, dropped the result and unwound */
  assert_int_equal(c->h.status, WEFT_CANCELLED);
  assert_int_equal(c->rc, 1);
  assert_int_equal(c->out, 0);
  assert_string_equal(trace, "weft_cancel\ncomplete: cancelled=1\n");
  cancel_after_ms = 0;
  end_rt(rt, c);
}

static void test_cancel_pending_and_shield(void **state) {
  (void)state;
  /* a cancellation pending at the yield: the activity is not called */
  weft_rt *rt = virtual_rt();
  last.id = 0;
  caller *c = new_caller(rt, &twice_info);
  c->cancel_first = 1;
  assert_int_equal(weft_run(rt, &c->h), 0);
  assert_int_equal(c->h.status, WEFT_CANCELLED);
  assert_int_equal(c->rc, 1);
  assert_int_equal(last.id, 0);
  end_rt(rt, c);
  /* shielded: the call completes, the cancellation lands at unshield */
  rt = virtual_rt();
  cancel_after_ms = 1;
  c = new_caller(rt, &async_info);
  c->args[1] = 5;
  c->shield = 1;
  assert_int_equal(weft_run(rt, &c->h), 0);
  assert_int_equal(c->rc, 0);
  assert_int_equal((int64_t)c->out, 99);
  assert_true(c->unshield_delivered);
  assert_int_equal(c->h.status, WEFT_CANCELLED);
  cancel_after_ms = 0;
  end_rt(rt, c);
}

static void test_blocking(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  caller *c = run_call(rt, &pool_info, 0, 0);
  assert_int_equal(c->rc, 0);
  check_str((weft_str *)(uintptr_t)c->out, "from the pool");
  assert_null(atomic_load(&worker_rt)); /* the pool thread drives no runtime */
  weft_frame_free(rt, &c->h);
  /* returns without completing */
  c = run_call(rt, &pool_info, 1, 0);
  assert_int_equal(c->h.status, WEFT_FAILED);
  assert_ptr_equal(weft_failure_kind(c->h.failure), &weft_kind_ActivityFailed);
  assert_str(weft_failure_message(c->h.failure), "blocking activity 'crunch' returned without completing");
  assert_ptr_equal(weft_failure_loc(c->h.failure), &call_loc);
  weft_failure_free(weft_failure_take(&c->h));
  weft_frame_free(rt, &c->h);
  /* weft_complete_value on the pool thread: ETHREAD, v left alone */
  prebuilt = weft_list_new(0, 0);
  c = run_call(rt, &pool_ref_info, 3, 0);
  assert_int_equal(atomic_load(&value_rc), WEFT_ETHREAD);
  assert_int_equal(c->h.status, WEFT_FAILED);
  weft_release(prebuilt);
  end_rt(rt, c);
}

static void test_blocking_cancel_running(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  cancel_later(rt, 5);
  caller *c = run_call(rt, &pool_info, 2, 0);
  /* waited for, its str dropped, Cancelled */
  assert_int_equal(c->h.status, WEFT_CANCELLED);
  assert_int_equal(c->rc, 1);
  end_rt(rt, c);
}

/* pool size 1 (main): a gate call occupies the thread, so a second
 * blocking call stays queued; cancelling it means it never runs */
static atomic_int gate_open;
static void gate_thunk(weft_act a, const uint64_t *args) {
  (void)args;
  while (!atomic_load(&gate_open)) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  weft_complete_str(a, "gate");
}
static const weft_actinfo gate_info = {gate_thunk, "gate", "order.weft", 11, 0, WEFT_RES_STR, WEFT_ACT_BLOCKING, 0};

typedef struct gate_root {
  weft_frame h;
  union {
    void *rec;
    weft_timer t;
  } aw;
  caller *queued;
} gate_root;
static weft_frame *gate_root_resume(weft_rt *rt, weft_frame *f) {
  gate_root *g = (gate_root *)f;
  uint64_t out;
  switch (f->state) {
  case 0:
    f->state = 1;
    g->queued = new_caller(rt, &pool_info); /* detached: runs after this yield */
    weft_ready_fifo(rt, &g->queued->h);
    return weft_act_start(rt, f, &gate_info, NULL, &call_loc);
  case 1:
    assert_int_equal(weft_act_finish(rt, f, &out), 0);
    check_str((weft_str *)(uintptr_t)out, "gate");
    /* fallthrough */
  default:
    f->state = 2;
    if (g->queued->h.status == WEFT_RUNNING) {
      weft_sleep(rt, f, &g->aw.t, 1000);
      return NULL;
    }
    return weft_done(rt, f);
  }
}
static const weft_fninfo gate_root_info = {gate_root_resume, sizeof(gate_root), offsetof(gate_root, aw), "gate_root",
                                           "order.weft"};
static gate_root *gate_g;
static void gate_cancel_cb(uv_timer_t *t) {
  weft_cancel_frame(t->data, &gate_g->queued->h);
  atomic_store(&gate_open, 1);
  uv_close((uv_handle_t *)t, NULL);
}

static void test_blocking_cancel_queued(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  atomic_store(&pool_ran, 0);
  gate_root *g = gate_g = weft_frame_alloc(rt, sizeof *g);
  g->h.fn = &gate_root_info;
  uv_timer_init(weft_rt_loop(rt), &cancel_timer);
  cancel_timer.data = rt;
  uv_timer_start(&cancel_timer, gate_cancel_cb, 5, 0);
  assert_int_equal(weft_run(rt, &g->h), 0);
  assert_int_equal(g->h.status, WEFT_DONE);
  assert_int_equal(g->queued->h.status, WEFT_CANCELLED);
  assert_int_equal(atomic_load(&pool_ran), 0); /* never ran */
  weft_failure_free(weft_failure_take(&g->queued->h));
  weft_frame_free(rt, &g->queued->h);
  weft_frame_free(rt, &g->h);
  weft_rt_free(rt);
}

static void test_stale_after_recycle(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  caller *c = run_call(rt, &twice_info, 1, 0);
  weft_act old = last;
  weft_frame_free(rt, &c->h);
  int reused = 0;
  for (int i = 0; i < 100000 && !reused; i++) {
    c = run_call(rt, &twice_info, 1, 0);
    reused = (last.id & 0xffffffffu) == (old.id & 0xffffffffu);
    weft_frame_free(rt, &c->h);
  }
  assert_true(reused);
  assert_int_not_equal(last.id, old.id);
  assert_int_equal(weft_complete_int(old, 1), WEFT_EINVAL);
  assert_false(weft_act_cancelled(old));
  assert_null(weft_act_rt(old));
  assert_string_equal(weft_act_name(old), "?");
  assert_int_equal(weft_complete((weft_act){0}), WEFT_EINVAL);
  assert_int_equal(weft_complete((weft_act){0xffffffff12345ull}), WEFT_EINVAL);
  weft_rt_free(rt);
}

static int deadlock_child(void *arg) {
  (void)arg;
  weft_rt *rt = virtual_rt();
  caller *c = new_caller(rt, &never_info);
  int rc = weft_run(rt, &c->h);
  weft_rt_free(rt);
  return rc;
}

static void test_deadlock_and_abandon(void **state) {
  (void)state;
  char *out;
  assert_int_equal(run_child(deadlock_child, NULL, &out), WEFT_EXIT_INTERNAL);
  assert_string_equal(out, "weft: internal error: deadlock: no runnable workflow and nothing pending\n"
                           "weft:   workflow main is waiting for activity 'never' (order.weft:12), which never "
                           "completed\n");
  free(out);
  /* in process: the runtime is freed with the call pending; the argument
   * reference is released and a late completion is stale */
  weft_rt *rt = virtual_rt();
  use_hook = 1;
  hook_calls = 0;
  weft_str *arg = weft_str_from_cstr("x");
  caller *c = new_caller(rt, &async_info);
  c->args[0] = (uint64_t)(uintptr_t)arg;
  c->args[1] = 100000;
  /* an embedding that gives up: start the call by hand, never finish it */
  assert_null(c->h.fn->resume(rt, &c->h));
  weft_act a = last;
  assert_ptr_equal(weft_act_rt(a), rt);
  weft_rt_free(rt); /* the hook closes its timers */
  assert_int_equal(hook_calls, 1);
  assert_int_equal(arg->h.rc, 1);
  weft_release(arg);
  assert_int_equal(weft_complete_int(a, 1), WEFT_EINVAL);
  use_hook = 0;
  ntrace = 0;
  trace[0] = 0;
}

static void test_trace_span(void **state) {
  (void)state;
  char path[] = "/tmp/weft-act-traceXXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  weft_rt_options o = {.virtual_time = true, .trace_file = path};
  weft_rt *rt = weft_rt_new(&o);
  caller *c = run_call(rt, &fail_info, 0, 0);
  end_rt(rt, c);
  FILE *in = fopen(path, "r");
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, in);
  buf[n] = 0;
  fclose(in);
  unlink(path);
  assert_non_null(strstr(buf, "{\"name\":\"charge\",\"cat\":\"activity\""));
  assert_non_null(strstr(buf, "\"status\":\"failed\",\"kind\":\"ActivityFailed\",\"message\":\"card declined\""));
}

static void test_random(void **state) {
  (void)state;
  weft_rt_options o = {.virtual_time = true, .seed = 42};
  weft_rt *a = weft_rt_new(&o), *b = weft_rt_new(&o);
  o.seed = 0;
  weft_rt *z = weft_rt_new(&o);
  o.seed = 1;
  weft_rt *one = weft_rt_new(&o);
  int differ = 0;
  for (int i = 0; i < 1000; i++) {
    uint64_t x = weft_random(a);
    assert_int_equal(x, weft_random(b));
    uint64_t zz = weft_random(z);
    assert_int_equal(zz, weft_random(one));
    differ += x != zz;
  }
  assert_true(differ > 990);
  uint64_t counts[3] = {0, 0, 0};
  for (int i = 0; i < 30000; i++) counts[weft_random_below(a, 3)]++;
  for (int i = 0; i < 3; i++) assert_true(counts[i] > 9000 && counts[i] < 11000);
  uint64_t big = (UINT64_C(1) << 63) + 1;
  for (int i = 0; i < 1000; i++) {
    assert_true(weft_random_below(a, big) < big);
    assert_true(weft_random_below(a, 7) < 7);
    assert_int_equal(weft_random_below(a, 1), 0);
  }
  assert_int_equal(weft_random_below(a, 0), 0);
  weft_rt_free(a);
  weft_rt_free(b);
  weft_rt_free(z);
  weft_rt_free(one);
}

/* completions of a non-blocking call from another thread are refused; a
 * thunk that completes and then cancels its own runtime gets its result and
 * the cancellation at the next suspension */
static int foreign_rc;
static void *foreign_main(void *arg) {
  (void)arg;
  foreign_rc = weft_complete_int(last, 1);
  return NULL;
}
static void foreign_cb(uv_timer_t *t) {
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, foreign_main, NULL), 0);
  pthread_join(th, NULL);
  assert_int_equal(weft_complete_int(last, 7), WEFT_OK);
  uv_close((uv_handle_t *)t, NULL);
}
static void self_cancel_thunk(weft_act a, const uint64_t *args) {
  (void)args;
  assert_int_equal(weft_complete_int(a, 5), WEFT_OK);
  weft_cancel(weft_act_rt(a));
}
static const weft_actinfo self_cancel_info = {self_cancel_thunk, "selfcancel", "order.weft", 13, 0, WEFT_RES_INT, 0, 0};

typedef struct two_calls {
  weft_frame h;
  union {
    void *rec;
    weft_timer t;
  } aw;
  int rc1, rc2;
  uint64_t out1;
} two_calls;
static weft_frame *two_calls_resume(weft_rt *rt, weft_frame *f) {
  two_calls *c = (two_calls *)f;
  switch (f->state) {
  case 0:
    f->state = 1;
    return weft_act_start(rt, f, &self_cancel_info, NULL, &call_loc);
  case 1:
    f->state = 2;
    c->rc1 = weft_act_finish(rt, f, &c->out1);
    return weft_act_start(rt, f, &twice_info, (uint64_t[]){1}, &call_loc); /* not called: cancelled */
  default:
    c->rc2 = weft_act_finish(rt, f, &(uint64_t){0});
    return weft_failed(rt, f);
  }
}
static const weft_fninfo two_calls_info = {two_calls_resume, sizeof(two_calls), offsetof(two_calls, aw), "main",
                                           "order.weft"};

static void test_threads_and_self_cancel(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  static uv_timer_t t;
  uv_timer_init(weft_rt_loop(rt), &t);
  uv_timer_start(&t, foreign_cb, 2, 0);
  caller *c = run_call(rt, &never_info, 0, 0);
  assert_int_equal(foreign_rc, WEFT_ETHREAD);
  assert_int_equal(c->rc, 0);
  assert_int_equal((int64_t)c->out, 7);
  weft_frame_free(rt, &c->h);
  two_calls *tc = weft_frame_alloc(rt, sizeof *tc);
  tc->h.fn = &two_calls_info;
  double_rc = 0;
  assert_int_equal(weft_run(rt, &tc->h), 0);
  assert_int_equal(tc->rc1, 0);
  assert_int_equal((int64_t)tc->out1, 5);
  assert_int_equal(tc->rc2, 1);
  assert_int_equal(double_rc, 0); /* twice_thunk never ran */
  assert_int_equal(tc->h.status, WEFT_CANCELLED);
  weft_failure_free(weft_failure_take(&tc->h));
  weft_frame_free(rt, &tc->h);
  weft_rt_free(rt);
}

/* --weft-seed / WEFT_SEED through weft_main: main prints weft_random */
static weft_frame *seed_main_resume(weft_rt *rt, weft_frame *f) {
  assert_ptr_equal(weft_current_rt(), rt);
  printf("%llu\n", (unsigned long long)weft_random(rt));
  return weft_done(rt, f);
}
static const weft_fninfo seed_main_info = {seed_main_resume, sizeof(weft_frame), 0, "main", "t.weft"};
static int seed_child(void *arg) {
  char *argv[] = {"prog", arg, NULL};
  return weft_main(arg ? 2 : 1, argv, &seed_main_info, 0);
}

static void test_seed_options(void **state) {
  (void)state;
  weft_rt_options o = {.seed = 42};
  weft_rt *rt = weft_rt_new(&o);
  char want[32];
  snprintf(want, sizeof want, "%llu\n", (unsigned long long)weft_random(rt));
  weft_rt_free(rt);
  char *out;
  assert_int_equal(run_child(seed_child, "--weft-seed=42", &out), 0);
  assert_string_equal(out, want);
  free(out);
  assert_int_equal(run_child(seed_child, "--weft-seed=0x2a", &out), 0);
  assert_string_equal(out, want);
  free(out);
  setenv("WEFT_SEED", "42", 1);
  assert_int_equal(run_child(seed_child, NULL, &out), 0);
  assert_string_equal(out, want);
  free(out);
  unsetenv("WEFT_SEED");
  assert_int_equal(run_child(seed_child, "--weft-seed=x1", &out), WEFT_EXIT_USAGE);
  assert_string_equal(out, "weft: runtime option '--weft-seed' needs an unsigned number: --weft-seed=N\n");
  free(out);
}

int main(void) {
  setenv("UV_THREADPOOL_SIZE", "1", 1); /* before the pool starts: test_blocking_cancel_queued */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sync_int_and_twice, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sync_str_wrong_type_and_args, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sync_value, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
      cmocka_unit_test_setup_teardown(test_async_args_kept, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_with_hook, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_without_hook, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_pending_and_shield, setup, teardown),
      cmocka_unit_test_setup_teardown(test_blocking, setup, teardown),
      cmocka_unit_test_setup_teardown(test_blocking_cancel_running, setup, teardown),
      cmocka_unit_test_setup_teardown(test_blocking_cancel_queued, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stale_after_recycle, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deadlock_and_abandon, setup, teardown),
      cmocka_unit_test_setup_teardown(test_trace_span, setup, teardown),
      cmocka_unit_test_setup_teardown(test_random, setup, teardown),
      cmocka_unit_test_setup_teardown(test_seed_options, setup, teardown),
      cmocka_unit_test_setup_teardown(test_threads_and_self_cancel, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
