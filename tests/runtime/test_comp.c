/* test_comp.c -- compensation stacks: LIFO on failure, hand-off to the parent
 * on success, dropping at the root, failing compensations, the log. The
 * workflows are hand-written the way weftc lowers them. */
#include <stdarg.h>

#define WEFT_TEST_TRACE /* say(), trace, setup/teardown from test_util.h */
#include "test_util.h"
#include "weft_private.h"

static const weft_srcloc loc_main = {"app.weft", 5, 5, "main"};
static const weft_srcloc loc_undo = {"app.weft", 9, 9, "undo"};
static const weft_errkind kind_Boom = {"Boom"}, kind_RefundDown = {"RefundDown"};


/* workflow undo(name: str) { [yield sleep(1ms)]; if name == failing { fail RefundDown(...) }; print("undo " + name) } */
static const char *failing_name;
static bool slow_undo;
typedef struct undo_frame {
  weft_frame h;
  weft_str *name; /* parameter: owned */
  weft_timer t;
} undo_frame;

static weft_frame *undo_resume(weft_rt *rt, weft_frame *f) {
  undo_frame *u = (undo_frame *)f;
  switch (f->state) {
  case WEFT_STATE_DISCARD: /* never started: just release what we own */
    say("discard %s\n", u->name->data);
    weft_release(u->name);
    u->name = NULL;
    return weft_done(rt, f);
  case 0:
    assert_int_equal(f->flags & WEFT_FLAG_SHIELD_MASK, 1); /* compensations run shielded */
    if (slow_undo) {
      f->state = 1;
      weft_sleep(rt, f, &u->t, 1000);
      return NULL;
    }
    /* fallthrough */
  case 1:
    if (failing_name && strcmp(u->name->data, failing_name) == 0) {
      char buf[64];
      snprintf(buf, sizeof buf, "refund down %s", u->name->data);
      weft_raise_cstr(rt, f, &kind_RefundDown, buf, &loc_undo);
      weft_release(u->name);
      u->name = NULL;
      return weft_failed(rt, f);
    }
    say("undo %s @%lld\n", u->name->data, (long long)weft_now_ms(rt));
    weft_release(u->name);
    u->name = NULL;
    return weft_done(rt, f);
  }
  fail_msg("bad state %u", f->state);
  return NULL;
}
static const weft_fninfo undo_info = {undo_resume, sizeof(undo_frame), 0, "undo", "app.weft"};

static void push_undo(weft_rt *rt, weft_frame *f, const char *name) {
  undo_frame *c = weft_frame_alloc(rt, sizeof *c);
  c->h.fn = &undo_info;
  c->name = weft_str_from_cstr(name);
  weft_comp_push(rt, f, &c->h);
}

/* A generic scripted workflow: runs `script` one step per resume. Steps:
 *  'p' push undo(<next name>)   'c' call the child workflow (script in child_script)
 *  'f' fail Boom                 'k' catch a failure in flight (drop it)
 *  'd' done                      */
typedef struct scripted {
  weft_frame h;
  const char *script;
  const char *names;   /* space-separated names for 'p' */
  const char *child_script, *child_names;
  weft_frame *child;
  size_t pc, name_off;
} scripted;

static weft_frame *scripted_resume(weft_rt *rt, weft_frame *f);
static const weft_fninfo scripted_info = {scripted_resume, sizeof(scripted), 0, "main", "app.weft"};

static weft_frame *new_scripted(weft_rt *rt, const char *script, const char *names) {
  scripted *s = weft_frame_alloc(rt, sizeof *s);
  s->h.fn = &scripted_info;
  s->script = script;
  s->names = names;
  return &s->h;
}

static weft_frame *scripted_resume(weft_rt *rt, weft_frame *f) {
  scripted *s = (scripted *)f;
  if (s->child) { /* returning from 'c' */
    weft_frame *c = s->child;
    s->child = NULL;
    if (c->status == WEFT_FAILED) f->failure = weft_failure_take(c);
    weft_frame_free(rt, c);
  }
  for (;;) {
    char op = s->script[s->pc++];
    switch (op) {
    case 'p': {
      char name[32];
      size_t n = strcspn(s->names + s->name_off, " ");
      memcpy(name, s->names + s->name_off, n);
      name[n] = '\0';
      s->name_off += n + (s->names[s->name_off + n] ? 1 : 0);
      push_undo(rt, f, name);
      say("do %s\n", name);
      break;
    }
    case 'c': {
      weft_frame *c = new_scripted(rt, s->child_script, s->child_names);
      c->parent = f;
      s->child = c;
      return c;
    }
    case 'f': weft_raise_cstr(rt, f, &kind_Boom, "original", &loc_main); break;
    case 'k':
      if (f->failure) {
        say("caught %s\n", weft_failure_message(f->failure)->data);
        weft_failure_free(weft_failure_take(f));
      }
      break;
    case 'd':
    case '\0':
      if (f->failure) return weft_failed(rt, f);
      return weft_done(rt, f);
    default: fail_msg("bad op %c", op);
    }
    if (f->failure && s->script[s->pc] != 'k') return weft_failed(rt, f); /* unwind */
  }
}

static char *report(const weft_failure *e) {
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  weft_failure_report(e, m);
  fclose(m);
  return buf;
}

/* Run a root script; returns the root (caller frees); rt in *out_rt. */
static weft_frame *run_root(weft_rt *rt, const char *script, const char *names, const char *cscript,
                            const char *cnames) {
  scripted *root = (scripted *)new_scripted(rt, script, names);
  root->child_script = cscript;
  root->child_names = cnames;
  assert_int_equal(weft_run(rt, &root->h), 0);
  return &root->h;
}

/* Failure: compensations run newest first, after the body unwound. */
static void test_lifo(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *root = run_root(rt, "pppf", "a b c", NULL, NULL);
  assert_int_equal(root->status, WEFT_FAILED);
  assert_string_equal(trace, "do a\ndo b\ndo c\nundo c @0\nundo b @0\nundo a @0\n");
  weft_failure *e = root->failure;
  assert_true(weft_failure_is(e, &kind_Boom)); /* all succeeded: the original failure */
  char *text = report(e);
  assert_string_equal(text,
                      "error: Boom: original\n"
                      "  at app.weft:5:5 in workflow main\n"
                      "compensations run:\n"
                      "  undo ok\n"
                      "  undo ok\n"
                      "  undo ok\n");
  free(text);
  assert_int_equal(weft_comp_count(rt, root), 0);
  assert_false(root->flags & WEFT_FLAG_COMPS);
  weft_failure_free(weft_failure_take(root));
  weft_frame_free(rt, root);
  weft_stats st;
  weft_rt_stats(rt, &st);
  assert_int_equal(st.frames_live, 0);
  weft_rt_free(rt);
}

/* Success hands the child's steps to the parent (newest on top); a catch
 * inside keeps the stack; a later failure undoes everything; success at the
 * root drops (discards) what is left. */
static void test_handoff_and_drop(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  /* parent: push p1, call child (push a, b; done), fail+catch, push p2, fail */
  weft_frame *root = run_root(rt, "pcfkpf", "p1 p2", "ppd", "a b");
  assert_int_equal(root->status, WEFT_FAILED);
  assert_string_equal(trace,
                      "do p1\ndo a\ndo b\ncaught original\ndo p2\n"
                      "undo p2 @0\nundo b @0\nundo a @0\nundo p1 @0\n");
  weft_failure_free(weft_failure_take(root));
  weft_frame_free(rt, root);

  ntrace = 0;
  root = run_root(rt, "pcd", "kept", "pd", "child-kept");
  assert_int_equal(root->status, WEFT_DONE);
  assert_string_equal(trace, "do kept\ndo child-kept\ndiscard child-kept\ndiscard kept\n");
  weft_frame_free(rt, root);
  weft_stats st;
  weft_rt_stats(rt, &st);
  assert_int_equal(st.frames_live, 0);
  weft_rt_free(rt);
}

/* A failing compensation does not stop the others; the failure becomes
 * CompensationFailed carrying the original and the failed compensation. */
static void test_compensation_fails(void **state) {
  (void)state;
  failing_name = "2";
  weft_rt *rt = virtual_rt();
  weft_frame *root = run_root(rt, "pppf", "1 2 3", NULL, NULL);
  failing_name = NULL;
  assert_string_equal(trace, "do 1\ndo 2\ndo 3\nundo 3 @0\nundo 1 @0\n");
  weft_failure *e = root->failure;
  assert_true(weft_failure_is(e, &weft_kind_CompensationFailed));
  assert_true(weft_failure_is(weft_failure_cause(e), &kind_Boom));
  assert_int_equal(weft_failure_nattached(e), 1);
  assert_true(weft_failure_is(weft_failure_attached(e, 0), &kind_RefundDown));
  char *text = report(e);
  assert_string_equal(text,
                      "error: CompensationFailed: 1 of 3 compensations failed\n"
                      "caused by: Boom: original\n"
                      "  at app.weft:5:5 in workflow main\n"
                      "  also failed: RefundDown: refund down 2\n"
                      "    at app.weft:9:9 in workflow undo\n"
                      "compensations run:\n"
                      "  undo ok\n"
                      "  undo failed: RefundDown: refund down 2\n"
                      "  undo ok\n");
  free(text);
  weft_failure_free(weft_failure_take(root));
  weft_frame_free(rt, root);
  weft_rt_free(rt);
}

/* Compensations that yield: the root is not finished until they are done,
 * and they run one after the other. */
static void test_slow_compensations(void **state) {
  (void)state;
  slow_undo = true;
  weft_rt *rt = virtual_rt();
  weft_frame *root = run_root(rt, "pppf", "x y z", NULL, NULL);
  slow_undo = false;
  assert_int_equal(root->status, WEFT_FAILED);
  assert_string_equal(trace, "do x\ndo y\ndo z\nundo z @1\nundo y @2\nundo x @3\n");
  weft_failure_free(weft_failure_take(root));
  weft_frame_free(rt, root);
  weft_rt_free(rt);
}

/* A child that fails runs its own compensations before the parent sees the
 * failure; the log travels with it; the parent's own stack runs next. */
static void test_nested_failure_log(void **state) {
  (void)state;
  failing_name = "inner2";
  weft_rt *rt = virtual_rt();
  weft_frame *root = run_root(rt, "pcd", "outer", "ppf", "inner1 inner2");
  failing_name = NULL;
  assert_string_equal(trace, "do outer\ndo inner1\ndo inner2\nundo inner1 @0\nundo outer @0\n");
  char *text = report(root->failure);
  assert_string_equal(text,
                      "error: CompensationFailed: 1 of 2 compensations failed\n"
                      "caused by: Boom: original\n"
                      "  at app.weft:5:5 in workflow main\n"
                      "  also failed: RefundDown: refund down inner2\n"
                      "    at app.weft:9:9 in workflow undo\n"
                      "compensations run:\n"
                      "  undo failed: RefundDown: refund down inner2\n"
                      "  undo ok\n"
                      "  undo ok\n");
  free(text);
  weft_failure_free(weft_failure_take(root));
  weft_frame_free(rt, root);
  weft_rt_free(rt);
}

/* Through weft_main with the leak check on: exit 1 and the report with the
 * compensation log on stderr. */
static weft_frame *main_resume(weft_rt *rt, weft_frame *f) {
  scripted *s = (scripted *)f;
  if (f->state == 0) {
    f->state = 1;
    s->script = "ppf";
    s->names = "flight hotel";
  }
  return scripted_resume(rt, f);
}
static const weft_fninfo main_info = {main_resume, sizeof(scripted), 0, "main", "app.weft"};
static int main_child(void *arg) {
  (void)arg;
  setenv("WEFT_CHECK_LEAKS", "1", 1);
  setenv("WEFT_VIRTUAL_TIME", "1", 1);
  char *argv[] = {"app", NULL};
  int st = weft_main(1, argv, &main_info, 0);
  fputs(trace, stdout);
  return st;
}

static void test_main_report(void **state) {
  (void)state;
  char *out;
  assert_int_equal(run_child(main_child, NULL, &out), 1);
  assert_string_equal(out,
                      "error: Boom: original\n"
                      "  at app.weft:5:5 in workflow main\n"
                      "compensations run:\n"
                      "  undo ok\n"
                      "  undo ok\n"
                      "do flight\ndo hotel\nundo hotel @0\nundo flight @0\n");
  free(out);
}

/* The owner -> stack table under churn: many owners, random pushes and
 * hand-offs, against a model of the counts. */
static void test_table_churn(void **state) {
  (void)state;
  rng_seed("test_table_churn");
  weft_rt *rt = virtual_rt();
  enum { OWNERS = 3000, STEPS = 40000 };
  weft_frame *sink = new_scripted(rt, "d", "");
  weft_frame **own = malloc(OWNERS * sizeof *own);
  uint32_t *count = calloc(OWNERS, sizeof *count);
  bool *done = calloc(OWNERS, sizeof *done);
  for (int i = 0; i < OWNERS; i++) {
    own[i] = new_scripted(rt, "d", "");
    own[i]->parent = sink;
  }
  uint32_t handed = 0;
  for (int step = 0; step < STEPS; step++) {
    size_t i = rng_below(OWNERS);
    if (done[i]) continue;
    if (rng_below(5)) {
      push_undo(rt, own[i], "n");
      count[i]++;
    } else {
      assert_ptr_equal(weft_done(rt, own[i]), sink); /* hand-off to sink */
      handed += count[i];
      count[i] = 0;
      done[i] = true;
    }
    if (step % 97 == 0)
      for (size_t k = 0; k < OWNERS; k++) assert_int_equal(weft_comp_count(rt, own[k]), count[k]);
  }
  assert_int_equal(weft_comp_count(rt, sink), handed);
  ntrace = 0;
  for (size_t i = 0; i < OWNERS; i++) {
    if (!done[i]) {
      own[i]->parent = NULL; /* a root's success drops its stack */
      weft_done(rt, own[i]);
    }
    assert_int_equal(weft_comp_count(rt, own[i]), 0);
    weft_frame_free(rt, own[i]);
  }
  assert_null(weft_done(rt, sink));
  weft_frame_free(rt, sink);
  weft_stats st;
  weft_rt_stats(rt, &st);
  assert_int_equal(st.frames_live, 0);
  assert_int_equal(rt->comps.n, 0);
  free(own);
  free(count);
  free(done);
  weft_rt_free(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_lifo, setup, teardown),
      cmocka_unit_test_setup_teardown(test_handoff_and_drop, setup, teardown),
      cmocka_unit_test_setup_teardown(test_compensation_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(test_slow_compensations, setup, teardown),
      cmocka_unit_test_setup_teardown(test_nested_failure_log, setup, teardown),
      cmocka_unit_test_setup_teardown(test_main_report, setup, teardown),
      cmocka_unit_test_setup_teardown(test_table_churn, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
