/* An extern fn for installed-weftc.weft; weft.h must come from the install. */
#include <stdint.h>
#include <weft.h>

int64_t c_twice(int64_t x) { return 2 * x; }
