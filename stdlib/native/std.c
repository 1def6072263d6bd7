/* std.c -- per-runtime state of the standard library (see native.h). */
#include "native.h"

#include <stdlib.h>

weft__std *weft__std_get(weft_rt *rt) {
  if (!rt->std) rt->std = weft__xcalloc(1, sizeof *rt->std);
  return rt->std;
}

void weft__std_free(weft_rt *rt) {
  weft__std *s = rt->std;
  if (!s) return;
  if (s->procs_free) s->procs_free(rt);
  if (s->fsops_free) s->fsops_free(rt);
  if (s->breakers_free) s->breakers_free(rt);
  free(s->scratch);
  free(s);
  rt->std = NULL;
}

char *weft__std_scratch(weft_rt *rt, size_t n) {
  weft__std *s = weft__std_get(rt);
  if (s->scratch_cap < n) {
    free(s->scratch);
    s->scratch = weft__xmalloc(n);
    s->scratch_cap = n;
  }
  return s->scratch;
}

weft_rt *weft__std_rt(const char *fn) {
  weft_rt *rt = weft_current_rt();
  if (!rt) weft__internal_error("%s called outside weft_run", fn);
  return rt;
}

void weft__buf_reserve(weft__buf *b, size_t more) {
  if (b->cap - b->len >= more) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->len < more) cap *= 2;
  b->p = weft__xrealloc(b->p, cap);
  b->cap = cap;
}

void weft__buf_free(weft__buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}
