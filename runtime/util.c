/* util.c -- allocation wrappers, internal errors, environment flags. */
#include "weft_private.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void weft__internal_error(const char *fmt, ...) {
  fflush(stdout);
  fputs("weft: internal error: ", stderr);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  /* _exit, not exit: the runtime's state is inconsistent, so no atexit
   * handlers (nor a leak checker) should look at it. */
  fflush(NULL);
  _exit(WEFT_EXIT_INTERNAL);
}

/* Out of memory is not a Weft failure: the program cannot meaningfully go on. */
void *weft__xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) weft__internal_error("out of memory (%zu bytes)", n);
  return p;
}

void *weft__xcalloc(size_t n, size_t m) {
  void *p = calloc(n ? n : 1, m ? m : 1);
  if (!p) weft__internal_error("out of memory (%zu x %zu bytes)", n, m);
  return p;
}

void *weft__xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) weft__internal_error("out of memory (%zu bytes)", n);
  return q;
}

bool weft__env_flag(const char *name) {
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}
