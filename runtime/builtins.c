/* builtins.c -- print, log, now.
 *
 * stdout goes through stdio's buffer (line-buffered on a terminal, fully
 * buffered otherwise); it is flushed before anything is written to stderr so
 * that the two streams interleave in program order when they share a file.
 */
#include "weft_private.h"

void weft_print(weft_rt *rt, weft_str *s) {
  (void)rt;
  fwrite(s->data, 1, (size_t)s->len, stdout);
  putc('\n', stdout);
}

void weft_log(weft_rt *rt, weft_str *s) {
  (void)rt;
  fflush(stdout);
  fwrite(s->data, 1, (size_t)s->len, stderr);
  putc('\n', stderr);
}

int64_t weft_now_ms(weft_rt *rt) { return (int64_t)(rt->now_us / 1000); }
