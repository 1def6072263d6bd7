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

/* ---- pointer-keyed hash table ------------------------------------------------- */

static inline size_t hash_ptr(const void *p, size_t cap) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return (size_t)x & (cap - 1);
}

void *weft__ptrmap_find(const weft__ptrmap *m, const void *key) {
  if (!m->cap) return NULL;
  for (size_t i = hash_ptr(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
    void *e = weft__ptrmap_slot(m, i);
    if (weft__ptrmap_key(e) == key) return e;
    if (!weft__ptrmap_key(e)) return NULL;
  }
}

static void ptrmap_grow(weft__ptrmap *m) {
  weft__ptrmap old = *m;
  m->cap = old.cap ? old.cap * 2 : 16;
  m->v = weft__xcalloc(m->cap, m->esize);
  m->n = 0;
  for (size_t i = 0; i < old.cap; i++) {
    void *e = weft__ptrmap_slot(&old, i);
    if (weft__ptrmap_key(e)) memcpy(weft__ptrmap_add(m, weft__ptrmap_key(e), m->esize), e, m->esize);
  }
  free(old.v);
}

void *weft__ptrmap_add(weft__ptrmap *m, const void *key, size_t esize) {
  m->esize = esize;
  if ((m->n + 1) * 2 > m->cap) ptrmap_grow(m);
  size_t i = hash_ptr(key, m->cap);
  for (;; i = (i + 1) & (m->cap - 1)) {
    void *e = weft__ptrmap_slot(m, i);
    if (weft__ptrmap_key(e) == key) return e;
    if (!weft__ptrmap_key(e)) {
      memset(e, 0, m->esize);
      *(const void **)e = key;
      m->n++;
      return e;
    }
  }
}

void weft__ptrmap_del(weft__ptrmap *m, void *entry) {
  size_t i = (size_t)((char *)entry - m->v) / m->esize, mask = m->cap - 1;
  /* Backward-shift: move later members of the probe run into the hole. */
  for (size_t j = (i + 1) & mask; weft__ptrmap_key(weft__ptrmap_slot(m, j)); j = (j + 1) & mask) {
    size_t home = hash_ptr(weft__ptrmap_key(weft__ptrmap_slot(m, j)), m->cap);
    if (((j - home) & mask) >= ((j - i) & mask)) {
      memcpy(weft__ptrmap_slot(m, i), weft__ptrmap_slot(m, j), m->esize);
      i = j;
    }
  }
  *(const void **)weft__ptrmap_slot(m, i) = NULL;
  m->n--;
}

void weft__ptrmap_free(weft__ptrmap *m) {
  free(m->v);
  *m = (weft__ptrmap){0};
}
