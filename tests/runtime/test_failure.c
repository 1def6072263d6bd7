/* test_failure.c -- raising, cause chains, attachments, reports. */
#include "test_util.h"
#include "weft_private.h"

TEST_LIT(lit_boom, "boom");

static const weft_srcloc loc_a = {"app.weft", 3, 5, "main"};
static const weft_srcloc loc_b = {"lib.weft", 10, 1, "helper"};
static const weft_errkind kind_Payment = {"PaymentDeclined"};

/* Renders a report into a malloc'd string. */
static char *report(const weft_failure *e) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  weft_failure_report(e, f);
  fclose(f);
  return buf;
}

static void test_raise(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *f = weft_frame_alloc(rt, 64);
  weft_str *msg = weft_str_from_cstr("card declined");
  weft_raise(rt, f, &kind_Payment, msg, &loc_a);
  assert_int_equal(msg->h.rc, 2); /* msg is borrowed: the failure took its own ref */
  weft_release(msg);
  weft_failure *e = f->failure;
  assert_non_null(e);
  assert_ptr_equal(weft_failure_kind(e), &kind_Payment);
  assert_true(weft_failure_is(e, &kind_Payment));
  assert_false(weft_failure_is(e, &weft_kind_Error));
  assert_str(weft_failure_message(e), "card declined");
  assert_ptr_equal(weft_failure_loc(e), &loc_a);
  assert_null(weft_failure_cause(e));
  assert_int_equal(weft_failure_nattached(e), 0);
  assert_ptr_equal(weft_failure_take(f), e);
  assert_null(f->failure);
  weft_failure_free(e);
  weft_failure_free(NULL);
  weft_frame_free(rt, f);
  weft_rt_free(rt);
}

static void test_builtin_raises(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *f = weft_frame_alloc(rt, 64);
  weft_raise_index(rt, f, 5, 3, &loc_a);
  assert_ptr_equal(weft_failure_kind(f->failure), &weft_kind_Error);
  assert_str(weft_failure_message(f->failure), "index 5 out of range for list of length 3");
  weft_failure_free(weft_failure_take(f));
  weft_raise_index(rt, f, -1, 0, &loc_a);
  assert_str(weft_failure_message(f->failure), "index -1 out of range for list of length 0");
  weft_failure_free(weft_failure_take(f));
  weft_raise_div0(rt, f, &loc_a);
  assert_str(weft_failure_message(f->failure), "division by zero");
  weft_failure_free(weft_failure_take(f));
  weft_raise_overflow(rt, f, &loc_b);
  assert_str(weft_failure_message(f->failure), "integer overflow");
  assert_ptr_equal(weft_failure_loc(f->failure), &loc_b);
  weft_failure_free(weft_failure_take(f));
  weft_raise_cstr(rt, f, &weft_kind_Timeout, "no answer in 5s", NULL);
  assert_ptr_equal(weft_failure_kind(f->failure), &weft_kind_Timeout);
  assert_null(weft_failure_loc(f->failure));
  weft_failure_free(weft_failure_take(f));
  weft_frame_free(rt, f);
  weft_rt_free(rt);
}

/* A raise while a failure is pending (failure inside `finally`) keeps the
 * old one as the cause. */
static void test_cause_chain(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *f = weft_frame_alloc(rt, 64);
  weft_raise(rt, f, &weft_kind_Error, lit_boom, &loc_b);
  weft_failure *first = f->failure;
  weft_raise_cstr(rt, f, &weft_kind_Timeout, "cleanup timed out", &loc_a);
  weft_failure *second = f->failure;
  assert_ptr_not_equal(first, second);
  assert_ptr_equal(weft_failure_cause(second), first);
  assert_int_equal(weft_objects_live(), base_objects + 3); /* 2 failures + 1 message */
  char *text = report(second);
  assert_string_equal(text,
                      "error: Timeout: cleanup timed out\n"
                      "  at app.weft:3:5 in workflow main\n"
                      "caused by: Error: boom\n"
                      "  at lib.weft:10:1 in workflow helper\n");
  free(text);
  weft_failure_free(weft_failure_take(f)); /* frees the whole chain */
  weft_frame_free(rt, f);
  weft_rt_free(rt);
}

static void test_add_cause_and_attach(void **state) {
  (void)state;
  weft_failure *top = weft_failure_new(&weft_kind_CompensationFailed, NULL, NULL);
  weft_failure *orig = weft_failure_new(&kind_Payment, lit_boom, &loc_a);
  weft_failure *older = weft_failure_new(&weft_kind_Error, NULL, &loc_b);
  weft_failure_add_cause(top, orig);
  weft_failure_add_cause(top, older); /* appended at the end of the chain */
  assert_ptr_equal(weft_failure_cause(top), orig);
  assert_ptr_equal(weft_failure_cause(orig), older);
  assert_null(weft_failure_cause(older));
  for (int i = 0; i < 6; i++) { /* grows the attachment array */
    weft_str *m = weft_str_from_int(i);
    weft_failure_attach(top, weft_failure_new(&weft_kind_ActivityFailed, m, NULL));
    weft_release(m);
  }
  assert_int_equal(weft_failure_nattached(top), 6);
  assert_str(weft_failure_message(weft_failure_attached(top, 5)), "5");
  assert_null(weft_failure_attached(top, 6));
  assert_str(weft_failure_message(top), "");
  char *text = report(top);
  assert_string_equal(text,
                      "error: CompensationFailed\n"
                      "caused by: PaymentDeclined: boom\n"
                      "  at app.weft:3:5 in workflow main\n"
                      "caused by: Error\n"
                      "  at lib.weft:10:1 in workflow helper\n"
                      "  also failed: ActivityFailed: 0\n"
                      "  also failed: ActivityFailed: 1\n"
                      "  also failed: ActivityFailed: 2\n"
                      "  also failed: ActivityFailed: 3\n"
                      "  also failed: ActivityFailed: 4\n"
                      "  also failed: ActivityFailed: 5\n");
  free(text);
  weft_failure_free(top);
}

/* add_cause never builds a cycle, and drops (releases) a redundant cause. */
static void test_add_cause_no_cycles(void **state) {
  (void)state;
  weft_failure *a = weft_failure_new(NULL, lit_boom, NULL);
  weft_failure *b = weft_failure_new(NULL, NULL, NULL);
  weft_retain(b);
  weft_failure_add_cause(a, b); /* a -> b (moved one ref of b) */
  weft_retain(a);
  weft_failure_add_cause(b, a); /* b -> a would close a loop: dropped */
  assert_null(weft_failure_cause(b));
  weft_retain(b);
  weft_failure_add_cause(a, b); /* already in a's chain: dropped */
  weft_retain(a);
  weft_failure_add_cause(a, a);
  assert_int_equal(a->h.rc, 1);
  assert_int_equal(b->h.rc, 2);
  weft_failure_add_cause(NULL, b); /* nowhere to put it: released */
  weft_failure_add_cause(a, NULL);
  assert_int_equal(weft_objects_live(), base_objects + 3); /* a, b and b's empty message */
  weft_release(a);
}

/* Failures are ordinary refcounted values: shared through variables,
 * stored in lists and records, released with their owners. */
static void test_failure_is_a_value(void **state) {
  (void)state;
  weft_failure *e = weft_failure_new(&kind_Payment, lit_boom, &loc_a);
  assert_int_equal(e->h.tag, WEFT_TAG_FAILURE);
  assert_int_equal(e->h.rc, 1);
  weft_list *l = weft_list_new(2, 1);
  weft_retain(e);
  l->data[0] = (uint64_t)(uintptr_t)e;
  weft_obj *rec = weft_obj_new(2, 0x2);
  weft_retain(e);
  rec->fields[1] = (uint64_t)(uintptr_t)e;
  weft_release(e); /* ours */
  weft_release(l);
  assert_int_equal(e->h.rc, 1);
  weft_str *k = weft_failure_kind_str(e), *m = weft_failure_message_str(e);
  assert_str(k, "PaymentDeclined");
  assert_ptr_equal(m, lit_boom);
  weft_release(k);
  weft_release(m);
  weft_release(rec);
}

static void test_failure_is(void **state) {
  (void)state;
  weft_failure *p = weft_failure_new(&kind_Payment, NULL, NULL);
  weft_failure *c = weft_failure_new(&weft_kind_Cancelled, NULL, NULL);
  assert_true(weft_failure_is(p, &kind_Payment));
  assert_false(weft_failure_is(p, &weft_kind_Error));
  assert_true(weft_failure_is(p, NULL));  /* catch e: any kind ... */
  assert_false(weft_failure_is(c, NULL)); /* ... but never cancellation */
  assert_true(weft_failure_is(c, &weft_kind_Cancelled));
  assert_false(weft_failure_is(NULL, NULL));
  assert_false(weft_failure_is(NULL, &weft_kind_Error));
  weft_release(p);
  weft_release(c);
}

/* catch e { fail e }, and `fail e` inside a finally while another failure is
 * in flight. */
static void test_reraise(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *f = weft_frame_alloc(rt, 64);
  weft_raise(rt, f, &kind_Payment, lit_boom, &loc_a);
  weft_failure *e = weft_failure_take(f); /* the catch variable owns it */
  weft_reraise(rt, f, e);
  assert_ptr_equal(f->failure, e);
  assert_int_equal(e->h.rc, 2);
  weft_raise_cstr(rt, f, &weft_kind_Timeout, "in finally", &loc_b); /* e becomes the cause */
  weft_failure *t = f->failure;
  assert_ptr_equal(weft_failure_cause(t), e);
  assert_int_equal(e->h.rc, 2);
  /* `fail e` with t in flight: t's chain already holds e, so linking t after
   * e would be a cycle; t is dropped and e is in flight again. */
  weft_reraise(rt, f, e);
  assert_ptr_equal(f->failure, e);
  assert_null(weft_failure_cause(e));
  assert_int_equal(e->h.rc, 2); /* catch variable + frame */
  weft_failure_free(weft_failure_take(f));
  /* An unrelated failure in flight is appended to e's chain. */
  weft_raise_cstr(rt, f, &weft_kind_Error, "cleanup failed", &loc_b);
  weft_failure *x = f->failure;
  weft_reraise(rt, f, e);
  assert_ptr_equal(f->failure, e);
  assert_ptr_equal(weft_failure_cause(e), x);
  char *text = report(f->failure);
  assert_string_equal(text,
                      "error: PaymentDeclined: boom\n"
                      "  at app.weft:3:5 in workflow main\n"
                      "caused by: Error: cleanup failed\n"
                      "  at lib.weft:10:1 in workflow helper\n");
  free(text);
  weft_release(e);
  weft_failure_free(weft_failure_take(f));
  weft_frame_free(rt, f);
  weft_rt_free(rt);
}

static void test_shield(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *f = weft_frame_alloc(rt, 64);
  weft_shield(f);
  weft_shield(f);
  assert_int_equal(f->flags & WEFT_FLAG_SHIELD_MASK, 2);
  f->flags |= WEFT_FLAG_CANCEL_PENDING; /* a cancellation arrived meanwhile */
  assert_false(weft_unshield(rt, f, 1)); /* still shielded */
  assert_null(f->failure);
  /* sub == 0: the caller would not look, so nothing is raised; still pending */
  assert_false(weft_unshield(rt, f, 0));
  assert_null(f->failure);
  assert_int_equal(f->flags, WEFT_FLAG_CANCEL_PENDING);
  weft_shield(f);
  assert_true(weft_unshield(rt, f, 1)); /* delivered now */
  assert_int_equal(f->flags, 0);
  assert_true(weft_failure_is(f->failure, &weft_kind_Cancelled));
  weft_failure_free(weft_failure_take(f));
  weft_shield(f);
  assert_false(weft_unshield(rt, f, 1));
  weft_frame_free(rt, f);
  weft_rt_free(rt);
}

static int unbalanced_child(void *arg) {
  (void)arg;
  static const weft_fninfo info = {NULL, 64, 0, "cleanup", "t.weft"};
  weft_rt *rt = virtual_rt();
  weft_frame *f = weft_frame_alloc(rt, 64);
  f->fn = &info;
  weft_unshield(rt, f, 0);
  return 0;
}

static void test_unbalanced_unshield(void **state) {
  (void)state;
  char *out;
  assert_int_equal(run_child(unbalanced_child, NULL, &out), WEFT_EXIT_INTERNAL);
  assert_string_equal(out, "weft: internal error: unbalanced unshield in workflow cleanup\n");
  free(out);
}

/* A long chain (a loop replacing failures) is freed iteratively. */
static void test_long_chain(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *f = weft_frame_alloc(rt, 64);
  for (int i = 0; i < 200000; i++) weft_raise(rt, f, &weft_kind_Error, lit_boom, NULL);
  assert_int_equal(weft_objects_live(), base_objects + 200000);
  weft_failure_free(weft_failure_take(f));
  weft_frame_free(rt, f);
  weft_rt_free(rt);
}

/* weft_failed keeps "FAILED owns a failure" even if generated code forgot. */
static void test_failed_without_failure(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *parent = weft_frame_alloc(rt, 64);
  weft_frame *f = weft_frame_alloc(rt, 64);
  f->parent = parent;
  assert_ptr_equal(weft_failed(rt, f), parent);
  assert_int_equal(f->status, WEFT_FAILED);
  assert_non_null(f->failure);
  weft_failure_free(weft_failure_take(f));
  assert_ptr_equal(weft_done(rt, parent), NULL);
  assert_int_equal(parent->status, WEFT_DONE);
  weft_frame_free(rt, f);
  weft_frame_free(rt, parent);
  weft_rt_free(rt);
}

static void test_kind_names(void **state) {
  (void)state;
  assert_string_equal(weft_kind_Error.name, "Error");
  assert_string_equal(weft_kind_Timeout.name, "Timeout");
  assert_string_equal(weft_kind_Cancelled.name, "Cancelled");
  assert_string_equal(weft_kind_CompensationFailed.name, "CompensationFailed");
  assert_string_equal(weft_kind_CircuitOpen.name, "CircuitOpen");
  assert_string_equal(weft_kind_ActivityFailed.name, "ActivityFailed");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_raise, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_builtin_raises, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_cause_chain, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_add_cause_and_attach, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_add_cause_no_cycles, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_failure_is_a_value, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_failure_is, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_reraise, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_shield, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_unbalanced_unshield, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_long_chain, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_failed_without_failure, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_kind_names, objects_setup, objects_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
