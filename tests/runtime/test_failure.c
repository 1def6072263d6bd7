/* test_failure.c -- raising, cause chains, attachments, reports. */
#include "test_util.h"

TEST_LIT(lit_boom, "boom");

static const weft_srcloc loc_a = {"app.weft", 3, 5, "main"};
static const weft_srcloc loc_b = {"lib.weft", 10, 1, "helper"};
static const weft_errkind kind_Payment = {"PaymentDeclined"};

static int64_t base_objects;
static int setup(void **state) {
  (void)state;
  base_objects = weft_objects_live();
  return 0;
}
static int teardown(void **state) {
  (void)state;
  assert_int_equal(weft_objects_live(), base_objects);
  return 0;
}

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

static void test_set_cause_and_attach(void **state) {
  (void)state;
  weft_failure *top = weft_failure_new(&weft_kind_CompensationFailed, NULL, NULL);
  weft_failure *orig = weft_failure_new(&kind_Payment, lit_boom, &loc_a);
  weft_failure *old_cause = weft_failure_new(&weft_kind_Error, NULL, &loc_b);
  weft_failure_set_cause(top, old_cause);
  weft_failure_set_cause(top, orig); /* existing cause moves behind orig */
  assert_ptr_equal(weft_failure_cause(top), orig);
  assert_ptr_equal(weft_failure_cause(orig), old_cause);
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
      cmocka_unit_test_setup_teardown(test_raise, setup, teardown),
      cmocka_unit_test_setup_teardown(test_builtin_raises, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cause_chain, setup, teardown),
      cmocka_unit_test_setup_teardown(test_set_cause_and_attach, setup, teardown),
      cmocka_unit_test_setup_teardown(test_long_chain, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failed_without_failure, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kind_names, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
