/* test_value.c -- strings, lists, objects, reference counting, formatting. */
#include <math.h>

#include "test_util.h"

TEST_LIT(lit_hello, "hello");
TEST_LIT(lit_empty, "");
TEST_LIT(lit_world, " world");

static void test_str_basics(void **state) {
  (void)state;
  weft_str *s = weft_str_new("a\0b", 3);
  assert_int_equal(s->len, 3);
  assert_int_equal(s->h.rc, 1);
  assert_int_equal(s->h.tag, WEFT_TAG_STR);
  assert_memory_equal(s->data, "a\0b", 4);
  assert_int_equal(weft_objects_live(), base_objects + 1);
  weft_release(s);
  check_str(weft_str_from_cstr("xyz"), "xyz");
  check_str(weft_str_from_cstr(NULL), "");
  check_str(weft_str_new(NULL, 0), "");
  /* NULL-safety of refcount operations */
  weft_retain(NULL);
  weft_release(NULL);
}

static void test_concat(void **state) {
  (void)state;
  weft_str *a = weft_str_concat(lit_hello, lit_world);
  assert_str(a, "hello world");
  weft_str *b = weft_str_concat(a, a);
  assert_str(b, "hello worldhello world");
  /* Concatenating "" returns the other operand itself, retained. */
  weft_str *c = weft_str_concat(a, lit_empty);
  assert_ptr_equal(c, a);
  assert_int_equal(a->h.rc, 2);
  weft_str *d = weft_str_concat(lit_empty, lit_hello);
  assert_ptr_equal(d, lit_hello);
  weft_release(d);
  weft_release(c);
  weft_release(b);
  weft_release(a);
  /* Embedded NULs survive. */
  weft_str *n1 = weft_str_new("x\0", 2), *n2 = weft_str_new("\0y", 2);
  weft_str *n3 = weft_str_concat(n1, n2);
  assert_int_equal(n3->len, 4);
  assert_memory_equal(n3->data, "x\0\0y", 5);
  weft_release(n1);
  weft_release(n2);
  weft_release(n3);
}

static void test_eq_cmp(void **state) {
  (void)state;
  weft_str *h2 = weft_str_from_cstr("hello");
  assert_true(weft_str_eq(lit_hello, h2));
  assert_true(weft_str_eq(h2, h2));
  assert_int_equal(weft_str_cmp(lit_hello, h2), 0);
  weft_str *help = weft_str_from_cstr("help"), *hell = weft_str_from_cstr("hell");
  assert_false(weft_str_eq(lit_hello, help));
  assert_false(weft_str_eq(lit_hello, hell));
  assert_true(weft_str_cmp(hell, lit_hello) < 0); /* prefix sorts first */
  assert_true(weft_str_cmp(lit_hello, hell) > 0);
  assert_true(weft_str_cmp(lit_hello, help) < 0); /* 'l' < 'p' */
  assert_true(weft_str_cmp(lit_empty, hell) < 0);
  assert_int_equal(weft_str_cmp(lit_empty, lit_empty), 0);
  weft_str *hi = weft_str_new("\xff", 1), *lo = weft_str_new("\x01", 1);
  assert_true(weft_str_cmp(hi, lo) > 0); /* bytewise, unsigned */
  weft_str *z1 = weft_str_new("a\0b", 3), *z2 = weft_str_new("a\0c", 3);
  assert_false(weft_str_eq(z1, z2)); /* not strcmp */
  assert_true(weft_str_cmp(z1, z2) < 0);
  weft_release(h2);
  weft_release(help);
  weft_release(hell);
  weft_release(hi);
  weft_release(lo);
  weft_release(z1);
  weft_release(z2);
}

static void test_from_int_bool(void **state) {
  (void)state;
  check_str(weft_str_from_int(0), "0");
  check_str(weft_str_from_int(-1), "-1");
  check_str(weft_str_from_int(42), "42");
  check_str(weft_str_from_int(INT64_MAX), "9223372036854775807");
  check_str(weft_str_from_int(INT64_MIN), "-9223372036854775808");
  check_str(weft_str_from_bool(true), "true");
  check_str(weft_str_from_bool(false), "false");
}

static void test_from_float(void **state) {
  (void)state;
  check_str(weft_str_from_float(0.1), "0.1");
  check_str(weft_str_from_float(2.0), "2.0");
  check_str(weft_str_from_float(-2.0), "-2.0");
  check_str(weft_str_from_float(0.0), "0.0");
  check_str(weft_str_from_float(-0.0), "-0.0");
  check_str(weft_str_from_float(1.5), "1.5");
  check_str(weft_str_from_float(100.0), "100.0");
  check_str(weft_str_from_float(1e21), "1e+21");
  check_str(weft_str_from_float(1e300), "1e+300");
  check_str(weft_str_from_float(1e15), "1e+15");
  check_str(weft_str_from_float(123456789012345.0), "123456789012345.0");
  check_str(weft_str_from_float(1e-7), "1e-07");
  check_str(weft_str_from_float(0.1 + 0.2), "0.30000000000000004");
  check_str(weft_str_from_float(1.0 / 3.0), "0.3333333333333333");
  check_str(weft_str_from_float(0.1 + 0.7), "0.7999999999999999");
  check_str(weft_str_from_float(5e-324), "4.94065645841247e-324");
  check_str(weft_str_from_float(1.7976931348623157e308), "1.7976931348623157e+308");
  check_str(weft_str_from_float(INFINITY), "inf");
  check_str(weft_str_from_float(-INFINITY), "-inf");
  check_str(weft_str_from_float(NAN), "nan");
  check_str(weft_str_from_float(-NAN), "nan");
  /* Everything finite round-trips. */
  rng_seed("test_from_float");
  for (int i = 0; i < 20000; i++) {
    uint64_t bits = rng_next();
    double d;
    memcpy(&d, &bits, sizeof d);
    if (!isfinite(d)) continue;
    weft_str *s = weft_str_from_float(d);
    assert_true(strtod(s->data, NULL) == d);
    assert_non_null(strpbrk(s->data, ".e"));
    weft_release(s);
  }
}

static void test_from_duration(void **state) {
  (void)state;
  const int64_t MS = 1000, S = 1000000, M = 60 * S, H = 60 * M;
  check_str(weft_str_from_duration(0), "0s");
  check_str(weft_str_from_duration(1), "1us");
  check_str(weft_str_from_duration(250), "250us");
  check_str(weft_str_from_duration(999), "999us");
  check_str(weft_str_from_duration(1 * MS), "1ms");
  check_str(weft_str_from_duration(1500), "1.5ms");
  check_str(weft_str_from_duration(1001), "1.001ms");
  check_str(weft_str_from_duration(250 * MS), "250ms");
  check_str(weft_str_from_duration(999999), "999.999ms");
  check_str(weft_str_from_duration(S), "1s");
  check_str(weft_str_from_duration(5 * S), "5s");
  check_str(weft_str_from_duration(S + 500 * MS), "1.5s");
  check_str(weft_str_from_duration(S + 1), "1.000001s");
  check_str(weft_str_from_duration(59 * S), "59s");
  check_str(weft_str_from_duration(2 * M), "2m0s");
  check_str(weft_str_from_duration(M + 30 * S), "1m30s");
  check_str(weft_str_from_duration(H), "1h0m0s");
  check_str(weft_str_from_duration(H + 2 * M + 3 * S + 500 * MS), "1h2m3.5s");
  check_str(weft_str_from_duration(25 * H + 5 * S), "25h0m5s");
  check_str(weft_str_from_duration(-5 * S), "-5s");
  check_str(weft_str_from_duration(-1500), "-1.5ms");
  check_str(weft_str_from_duration(-1), "-1us");
  check_str(weft_str_from_duration(-(M + 30 * S)), "-1m30s");
  check_str(weft_str_from_duration(INT64_MAX), "2562047788h0m54.775807s");
  check_str(weft_str_from_duration(INT64_MIN), "-2562047788h0m54.775808s");
}

static void test_list_release(void **state) {
  (void)state;
  weft_list *ints = weft_list_new(3, 0);
  assert_int_equal(ints->h.tag, WEFT_TAG_LIST);
  assert_int_equal(ints->h.aux, 0);
  assert_int_equal(ints->len, 3);
  for (int i = 0; i < 3; i++) assert_int_equal(ints->data[i], 0);
  ints->data[0] = 0xdeadbeef; /* not a pointer: must not be touched */
  weft_release(ints);

  weft_str *shared = weft_str_from_cstr("shared");
  weft_list *a = weft_list_new(3, 1), *b = weft_list_new(2, 1);
  assert_int_equal(a->h.aux, 1);
  weft_retain(shared);
  a->data[0] = (uint64_t)(uintptr_t)shared;           /* moves our ref */
  a->data[1] = (uint64_t)(uintptr_t)lit_hello;        /* immortal */
  a->data[2] = 0;                                     /* NULL element tolerated */
  weft_retain(shared);
  b->data[0] = (uint64_t)(uintptr_t)shared;
  b->data[1] = (uint64_t)(uintptr_t)weft_str_from_int(7);
  assert_int_equal(shared->h.rc, 3);
  weft_release(shared); /* our own ref */
  assert_int_equal(weft_objects_live(), base_objects + 4);
  weft_release(a);
  assert_int_equal(shared->h.rc, 1); /* b still holds it */
  assert_int_equal(lit_hello->h.rc, UINT32_MAX);
  assert_int_equal(weft_objects_live(), base_objects + 3);
  weft_release(b);
  assert_int_equal(lit_hello->h.rc, UINT32_MAX);
  assert_string_equal(lit_hello->data, "hello");
}

static void test_obj_release(void **state) {
  (void)state;
  /* record { name: str, n: int, tags: list[str], ok: bool } */
  weft_obj *o = weft_obj_new(4, 0x5);
  assert_int_equal(o->h.tag, WEFT_TAG_OBJ);
  assert_int_equal(o->h.aux, 4);
  assert_int_equal(o->refmask, 0x5);
  o->fields[0] = (uint64_t)(uintptr_t)weft_str_from_cstr("Lisbon");
  o->fields[1] = 0x1234; /* int: never released */
  weft_list *tags = weft_list_new(2, 1);
  tags->data[0] = (uint64_t)(uintptr_t)weft_str_from_cstr("a");
  tags->data[1] = (uint64_t)(uintptr_t)lit_world;
  o->fields[2] = (uint64_t)(uintptr_t)tags;
  o->fields[3] = 1;
  assert_int_equal(weft_objects_live(), base_objects + 4);
  /* Bit 2 is not in the refmask, so tags would leak: set it properly. */
  o->refmask |= 0x4;
  weft_obj *outer = weft_obj_new(2, 0x3); /* tuple (record, record) sharing o */
  weft_retain(o);
  weft_retain(o);
  outer->fields[0] = (uint64_t)(uintptr_t)o;
  outer->fields[1] = (uint64_t)(uintptr_t)o;
  weft_release(outer);
  assert_int_equal(weft_objects_live(), base_objects + 4);
  assert_int_equal(o->h.rc, 1);
  weft_release(o);
  /* refmask bits beyond nfields are ignored (no read past the object). */
  weft_obj *small = weft_obj_new(1, UINT64_MAX);
  assert_int_equal(small->refmask, 1);
  weft_release(small);
  weft_obj *empty = weft_obj_new(0, 0);
  weft_release(empty);
}

/* A chain a million deep is released without recursion. */
static void test_deep_release(void **state) {
  (void)state;
  enum { DEPTH = 1000000 };
  weft_obj *head = NULL;
  for (int i = 0; i < DEPTH; i++) {
    weft_obj *n = weft_obj_new(2, 0x1);
    n->fields[0] = (uint64_t)(uintptr_t)head; /* moves the ref */
    n->fields[1] = (uint64_t)i;
    head = n;
  }
  /* and a list of lists of lists, wide and deep */
  weft_list *tree = weft_list_new(100, 1);
  for (int i = 0; i < 100; i++) {
    weft_list *mid = weft_list_new(100, 1);
    for (int j = 0; j < 100; j++) mid->data[j] = (uint64_t)(uintptr_t)weft_str_from_int(j);
    tree->data[i] = (uint64_t)(uintptr_t)mid;
  }
  assert_int_equal(weft_objects_live(), base_objects + DEPTH + 1 + 100 + 10000);
  weft_release(head);
  weft_release(tree);
}

static void test_immortal(void **state) {
  (void)state;
  weft_retain(lit_hello);
  weft_release(lit_hello);
  weft_release(lit_hello);
  assert_int_equal(lit_hello->h.rc, UINT32_MAX);
  assert_int_equal(weft_objects_live(), base_objects);
  /* immortal containers are fine too */
  static struct { weft_hdr h; int64_t len; uint64_t data[1]; } imm_list = {
      {UINT32_MAX, WEFT_TAG_LIST, 1}, 1, {0}};
  imm_list.data[0] = (uint64_t)(uintptr_t)lit_hello;
  weft_release(&imm_list);
  assert_int_equal(imm_list.h.rc, UINT32_MAX);
}

static void test_args_list(void **state) {
  (void)state;
  char *argv[] = {"prog", "one", "", "three", NULL};
  weft_list *l = weft_args_list(4, argv);
  assert_int_equal(l->len, 3);
  assert_int_equal(l->h.aux, 1);
  assert_str((weft_str *)(uintptr_t)l->data[0], "one");
  assert_str((weft_str *)(uintptr_t)l->data[1], "");
  assert_str((weft_str *)(uintptr_t)l->data[2], "three");
  weft_release(l);
  weft_list *none = weft_args_list(1, argv);
  assert_int_equal(none->len, 0);
  weft_release(none);
  weft_list *zero = weft_args_list(0, NULL);
  assert_int_equal(zero->len, 0);
  weft_release(zero);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_str_basics, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_concat, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_eq_cmp, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_from_int_bool, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_from_float, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_from_duration, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_list_release, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_obj_release, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_deep_release, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_immortal, objects_setup, objects_teardown),
      cmocka_unit_test_setup_teardown(test_args_list, objects_setup, objects_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
