/* builtins.c -- print, log, now.
 *
 * stdout goes through stdio's buffer (line-buffered on a terminal, fully
 * buffered otherwise); it is flushed before anything is written to stderr so
 * that the two streams interleave in program order when they share a file.
 */
#include "weft_private.h"

#include <string.h>

void weft_print(weft_rt *rt, weft_str *s) {
  (void)rt;
  fwrite(s->data, 1, (size_t)s->len, stdout);
  putc('\n', stdout);
}

void weft_log(weft_rt *rt, weft_str *s) {
  (void)rt;
  fflush(stdout);
  /* stderr is unbuffered: write line and newline at once when it fits, so
   * lines from concurrent processes sharing the stream do not interleave. */
  char buf[1024];
  size_t n = (size_t)s->len;
  if (n < sizeof buf) {
    memcpy(buf, s->data, n);
    buf[n] = '\n';
    fwrite(buf, 1, n + 1, stderr);
  } else {
    fwrite(s->data, 1, n, stderr);
    putc('\n', stderr);
  }
}

int64_t weft_now_ms(weft_rt *rt) { return (int64_t)(rt->now_us / 1000); }
