/* time.c -- native half of std/time: clock helpers as extern fns.
 * String results live in a per-thread buffer that weftc copies at once. */
#include "native.h"

#include <stdio.h>
#include <time.h>

static _Thread_local char tbuf[64];

/* UTC ISO-8601 with milliseconds, "2026-11-23T21:00:00.000Z"; ms may be
 * negative (before 1970). */
const char *weft__format_time(int64_t ms, char *buf, size_t n) {
  int64_t sec = ms / 1000, frac = ms % 1000;
  if (frac < 0) { /* floor division */
    frac += 1000;
    sec -= 1;
  }
  time_t t = (time_t)sec;
  struct tm tm;
  if (!gmtime_r(&t, &tm)) { /* year out of range for struct tm */
    snprintf(buf, n, "%s", ms < 0 ? "-inf" : "+inf");
    return buf;
  }
  snprintf(buf, n, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
  return buf;
}

const char *weft_std_format_time(int64_t ms) { return weft__format_time(ms, tbuf, sizeof tbuf); }

const char *weft_std_now_iso(void) {
  return weft__format_time(weft_now_ms(weft__std_rt("now_iso")), tbuf, sizeof tbuf);
}

/* Runtime-clock time elapsed since start_ms (a now() reading), in us. */
int64_t weft_std_since(int64_t start_ms) {
  int64_t now_us = (int64_t)weft_now_us(weft__std_rt("since")), start_us, d;
  if (__builtin_mul_overflow(start_ms, 1000, &start_us)) return start_ms < 0 ? INT64_MAX : INT64_MIN;
  if (__builtin_sub_overflow(now_us, start_us, &d)) return start_us < 0 ? INT64_MAX : INT64_MIN;
  return d;
}
