/* retry.c -- native half of std/retry: the backoff delay of one attempt.
 *
 *   extern fn weft_retry_delay(initial: duration, multiplier: float,
 *                              max: duration, jitter: str, attempt: int) -> duration
 *
 * delay = min(max, initial * multiplier^(attempt-1)), then jitter:
 *   "none"  delay
 *   "full"  uniform in [0, delay]
 *   "equal" delay/2 + uniform in [0, delay - delay/2]
 * Random numbers come from the runtime's seeded generator (weft_random_below),
 * so a run with the same WEFT_SEED waits the same times. std/retry validates
 * the policy first; here out-of-range inputs are clamped, never UB. */
#include "native.h"

#include <math.h>
#include <string.h>

/* Exported for the unit tests: the delay computed against an explicit runtime. */
int64_t weft__retry_delay(weft_rt *rt, int64_t initial, double multiplier, int64_t max, const char *jitter,
                          int64_t attempt) {
  if (initial < 0) initial = 0;
  if (max < 0) max = 0;
  if (attempt < 1) attempt = 1;
  double d = (double)initial * pow(multiplier, (double)(attempt - 1));
  /* NaN (a NaN multiplier) and anything beyond max (inf included) clamp to max;
   * comparing in double keeps huge values from overflowing the conversion. */
  int64_t delay = (d == d && d < (double)max) ? (int64_t)d : max;
  if (delay < 0) delay = 0;
  if (!strcmp(jitter, "full")) return (int64_t)weft_random_below(rt, (uint64_t)delay + 1);
  if (!strcmp(jitter, "equal")) {
    int64_t half = delay / 2;
    return half + (int64_t)weft_random_below(rt, (uint64_t)(delay - half) + 1);
  }
  return delay; /* "none" (std/retry rejects any other word before calling) */
}

int64_t weft_retry_delay(int64_t initial, double multiplier, int64_t max, const char *jitter, int64_t attempt) {
  return weft__retry_delay(weft__std_rt("weft_retry_delay"), initial, multiplier, max, jitter, attempt);
}
