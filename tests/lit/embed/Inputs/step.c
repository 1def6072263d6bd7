/* Runs the roots of stepping.weft with weft_rt_run ("run"), a loop of
 * weft_rt_run_once ("once") or weft_rt_run_until per root ("until"). */
#include <stdio.h>
#include <string.h>

#include "step.h"

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "run";
  weft_rt_options o = {.virtual_time = true};
  weft_rt *rt = weft_rt_new(&o);
  weft_frame *fast = step_timed_start(rt, "fast", 5, 1000000);
  weft_frame *slow = step_timed_start(rt, "slow", 100, 30000);
  weft_frame *race = step_racer_start(rt);
  int rc = 0;
  if (strcmp(mode, "once") == 0) {
    int steps = 0, n;
    while ((n = weft_rt_run_once(rt)) > 0) steps++;
    rc = n;
    printf("steps: %d\n", steps);
  } else if (strcmp(mode, "until") == 0) {
    rc = weft_rt_run_until(rt, slow);
    if (!rc) rc = weft_rt_run_until(rt, race);
    if (!rc) rc = weft_rt_run_until(rt, fast);
  } else {
    rc = weft_rt_run(rt);
  }
  if (rc) {
    printf("run failed: %d\n", rc);
    return 1;
  }
  const char *s;
  if (step_timed_result(rt, fast, &s) == 0) printf("fast: %s\n", s);
  if (step_timed_result(rt, slow, &s) == 0) printf("slow: %s\n", s);
  if (step_racer_result(rt, race, &s) == 0) printf("race: %s\n", s);
  weft_root_free(rt, fast);
  weft_root_free(rt, slow);
  weft_root_free(rt, race);
  weft_stats st;
  weft_rt_stats(rt, &st);
  weft_rt_free(rt);
  puts(st.frames_live ? "leak" : "ok");
  return 0;
}
