/* Calls the start functions and result getters of types.weft with every
 * parameter and result type, and checks what comes back. */
#include <stdio.h>
#include <string.h>

#include "types.h"

#define CHECK(c)                                                     \
  do {                                                               \
    if (!(c)) {                                                      \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      return 1;                                                      \
    }                                                                \
  } while (0)

int main(void) {
  int64_t base = weft_objects_live();
  weft_rt_options o = {.virtual_time = true};
  weft_rt *rt = weft_rt_new(&o);

  char name[16];
  strcpy(name, "ada");
  weft_list *xs = weft_list_new(3, 0);
  xs->data[0] = 1, xs->data[1] = 2, xs->data[2] = 39;
  weft_str *city = weft_str_from_cstr("Lisbon");
  weft_obj *trip = weft_obj_new(2, 1); /* Trip { city: str, nights: int } */
  trip->fields[0] = (uint64_t)(uintptr_t)city;
  trip->fields[1] = 4;

  weft_frame *s = types_scalars_start(rt, 40, 0.25, true, 1500000, name);
  weft_frame *f = types_flip_start(rt, false);
  weft_frame *sum = types_sum_start(rt, xs);
  weft_frame *t = types_longer_start(rt, trip, 3);
  weft_frame *p = types_pair_start(rt, 7);
  weft_frame *u = types_nothing_start(rt);
  weft_frame *kw = types_keywords_start(rt, 1, 2);
  CHECK(s && f && sum && t && p && u && kw);
  strcpy(name, "changed"); /* the string was copied */
  weft_release(xs);        /* the roots hold their own references */
  weft_release(trip);
  /* a NULL list or record is refused, and so is a NULL runtime */
  CHECK(types_sum_start(rt, NULL) == NULL);
  CHECK(types_longer_start(rt, NULL, 1) == NULL);
  CHECK(types_flip_start(NULL, true) == NULL);

  const char *str;
  CHECK(types_scalars_result(rt, s, &str) == WEFT_EAGAIN);
  CHECK(weft_rt_run(rt) == 0);

  CHECK(types_scalars_result(rt, s, &str) == 0);
  printf("scalars: %s\n", str);
  bool b = true;
  CHECK(types_flip_result(rt, f, &b) == 0 && b == true);
  int64_t n = 0;
  CHECK(types_sum_result(rt, sum, &n) == 0 && n == 42);
  weft_obj *r = NULL;
  CHECK(types_longer_result(rt, t, &r) == 0 && r);
  weft_str *rcity = (weft_str *)(uintptr_t)r->fields[0];
  printf("longer: %s, %lld nights\n", rcity->data, (long long)r->fields[1]);
  weft_obj *pair = NULL;
  CHECK(types_pair_result(rt, p, &pair) == 0);
  double half;
  memcpy(&half, &pair->fields[1], sizeof half);
  printf("pair: %lld %g\n", (long long)pair->fields[0], half);
  CHECK(types_nothing_result(rt, u) == 0);
  CHECK(types_keywords_result(rt, kw, &n) == 0 && n == 3);
  CHECK(types_scalars_result(rt, s, NULL) == 0); /* out may be NULL */
  /* a getter checks that the root is one of its workflow */
  CHECK(types_sum_result(rt, s, &n) == WEFT_EINVAL);
  CHECK(types_sum_result(rt, NULL, &n) == WEFT_EINVAL);

  weft_frame *roots[] = {s, f, sum, t, p, u, kw};
  for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) CHECK(weft_root_free(rt, roots[i]) == 0);
  CHECK(types_sum_result(rt, sum, &n) == WEFT_EINVAL); /* freed */
  weft_stats st;
  weft_rt_stats(rt, &st);
  CHECK(st.frames_live == 0);
  weft_rt_free(rt);
  CHECK(weft_objects_live() == base);
  puts("ok");
  return 0;
}
