#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int64_t add3(int64_t a, int64_t b, int64_t c) { return a + b + c; }
double half(double x) { return x / 2; }
const char *shout(const char *s) {
  static char buf[64];
  size_t i = 0;
  for (; s[i] && i < sizeof buf - 1; i++) buf[i] = (char)toupper((unsigned char)s[i]);
  buf[i] = 0;
  return buf;
}
bool is_even(int64_t n) { return n % 2 == 0; }
void note(const char *s, bool flag) { printf("note: %s %d\n", s, flag); fflush(stdout); }

/* duration: int64_t microseconds */
int64_t double_dur(int64_t us) { return 2 * us; }

/* `extern fn twice(n: int) -> int as "ext_twice_impl"` */
int64_t ext_twice_impl(int64_t n) { return 2 * n; }
