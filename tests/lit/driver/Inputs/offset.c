/* Needs -I for offset.h (made by the test). */
#include <stdint.h>
#include "offset.h"

int64_t c_add(int64_t a, int64_t b) { return a + b + ADD_OFFSET; }
