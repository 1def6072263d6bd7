/* C helpers for the driver tests: extern fn takes and returns int64_t. */
#include <signal.h>
#include <stdint.h>
#include <weft.h> /* found through the -I weftc passes for the runtime */

int64_t c_add(int64_t a, int64_t b) { return a + b; }

/* Kills the process with signal s (for `weftc run` status tests). */
int64_t c_die(int64_t s) {
  raise((int)s);
  return 0;
}
