/* value.c -- heap values: strings, lists, objects, reference counts.
 *
 * Values are immutable and may be shared freely, so functions that would
 * return a copy of an argument (concat with "") return it retained instead.
 * Immortal values (rc == WEFT_RC_IMMORTAL, the compiler's static literals) are
 * never counted or freed. Values are not tied to a runtime, so the live-value
 * counter is process-wide (plain int: values are single-threaded).
 */
#include "weft_private.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t weft__objects_live;

int64_t weft_objects_live(void) { return weft__objects_live; }

void *weft__value_alloc(size_t size, uint16_t tag, uint16_t aux) {
  weft_hdr *h = weft__xmalloc(size);
  h->rc = 1;
  h->tag = tag;
  h->aux = aux;
  weft__objects_live++;
  return h;
}
#define value_alloc weft__value_alloc

void weft_retain(void *o) {
  weft_hdr *h = o;
  if (!h || h->rc == WEFT_RC_IMMORTAL) return;
  if (WEFT__UNLIKELY(h->rc == WEFT_RC_IMMORTAL - 1))
    weft__internal_error("reference count overflow");
  h->rc++;
}

static inline bool has_children(const weft_hdr *h) {
  return (h->tag == WEFT_TAG_LIST && h->aux) ||
         (h->tag == WEFT_TAG_OBJ && ((const weft_obj *)h)->refmask) || h->tag == WEFT_TAG_FAILURE;
}

/* Dead containers whose children are still to be released. */
typedef struct dead_stack {
  weft_hdr **v, *small[32];
  size_t n, cap;
} dead_stack;

static void free_value(weft_hdr *h) {
  if (h->tag == WEFT_TAG_FAILURE) {
    free(((weft_failure *)h)->attached);
    free(((weft_failure *)h)->log);
  }
  free(h);
  weft__objects_live--;
}

/* Drops one reference to child c of a dying value. */
static void drop(dead_stack *s, weft_hdr *c) {
  if (!c || c->rc == WEFT_RC_IMMORTAL || --c->rc) return;
  if (!has_children(c)) {
    free_value(c);
    return;
  }
  if (s->n == s->cap) {
    weft_hdr **bigger = weft__xmalloc(2 * s->cap * sizeof *bigger);
    memcpy(bigger, s->v, s->n * sizeof *s->v);
    if (s->v != s->small) free(s->v);
    s->v = bigger;
    s->cap *= 2;
  }
  s->v[s->n++] = c;
}

/* Frees h (rc already 0) and every child that drops to 0, iteratively: deep
 * structures (a tree built in a loop, a long cause chain) must not overflow
 * the C stack. */
static void destroy(weft_hdr *h) {
  dead_stack s;
  s.v = s.small;
  s.n = 0;
  s.cap = sizeof s.small / sizeof s.small[0];
  for (;;) {
    switch (h->tag) {
    case WEFT_TAG_LIST: {
      weft_list *l = (weft_list *)h;
      if (h->aux)
        for (int64_t i = 0; i < l->len; i++) drop(&s, (weft_hdr *)(uintptr_t)l->data[i]);
      break;
    }
    case WEFT_TAG_OBJ: {
      weft_obj *o = (weft_obj *)h;
      uint64_t mask = o->refmask;
      while (mask) {
        unsigned i = (unsigned)__builtin_ctzll(mask);
        mask &= mask - 1;
        drop(&s, (weft_hdr *)(uintptr_t)o->fields[i]);
      }
      break;
    }
    case WEFT_TAG_FAILURE: {
      weft_failure *e = (weft_failure *)h;
      drop(&s, (weft_hdr *)e->message);
      drop(&s, (weft_hdr *)e->cause);
      for (uint32_t i = 0; i < e->nattached; i++) drop(&s, (weft_hdr *)e->attached[i]);
      for (uint32_t i = 0; i < e->nlog; i++) drop(&s, (weft_hdr *)e->log[i].failure);
      break;
    }
    default: break;
    }
    free_value(h);
    if (!s.n) break;
    h = s.v[--s.n];
  }
  if (s.v != s.small) free(s.v);
}

void weft_release(void *o) {
  weft_hdr *h = o;
  if (!h || h->rc == WEFT_RC_IMMORTAL) return;
  if (WEFT__UNLIKELY(h->rc == 0)) weft__internal_error("release of a freed value");
  if (--h->rc == 0) destroy(h);
}

/* ---- strings ---------------------------------------------------------------- */

static weft_str *str_alloc(int64_t len) {
  if (len < 0 || (uint64_t)len > SIZE_MAX - sizeof(weft_str) - 1)
    weft__internal_error("string length %" PRId64 " out of range", len);
  weft_str *s = value_alloc(sizeof(weft_str) + (size_t)len + 1, WEFT_TAG_STR, 0);
  s->len = len;
  s->data[len] = '\0';
  return s;
}

weft_str *weft_str_new(const char *bytes, int64_t len) {
  weft_str *s = str_alloc(len);
  if (len) memcpy(s->data, bytes, (size_t)len);
  return s;
}

weft_str *weft_str_from_cstr(const char *s) {
  return s ? weft_str_new(s, (int64_t)strlen(s)) : weft_str_new(NULL, 0);
}

weft_str *weft_str_concat(weft_str *a, weft_str *b) {
  if (b->len == 0) { weft_retain(a); return a; }
  if (a->len == 0) { weft_retain(b); return b; }
  if (a->len > INT64_MAX - b->len) weft__internal_error("string too long");
  weft_str *s = str_alloc(a->len + b->len);
  memcpy(s->data, a->data, (size_t)a->len);
  memcpy(s->data + a->len, b->data, (size_t)b->len);
  return s;
}

bool weft_str_eq(weft_str *a, weft_str *b) {
  return a == b || (a->len == b->len && memcmp(a->data, b->data, (size_t)a->len) == 0);
}

int64_t weft_str_cmp(weft_str *a, weft_str *b) {
  int64_t n = a->len < b->len ? a->len : b->len;
  int c = n ? memcmp(a->data, b->data, (size_t)n) : 0;
  if (c) return c;
  return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

weft_str *weft_str_from_int(int64_t v) {
  char buf[24];
  int n = snprintf(buf, sizeof buf, "%" PRId64, v);
  return weft_str_new(buf, n);
}

weft_str *weft_str_from_float(double v) {
  if (isnan(v)) return weft_str_new("nan", 3);
  if (isinf(v)) return v > 0 ? weft_str_new("inf", 3) : weft_str_new("-inf", 4);
  char buf[40];
  int n = 0;
  /* Shortest %g precision that reads back as the same double. */
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (prec == 17 || strtod(buf, NULL) == v) break;
  }
  /* Keep it recognisably a float: "2" -> "2.0", "-0" -> "-0.0". */
  if (!strpbrk(buf, ".eE")) {
    buf[n++] = '.';
    buf[n++] = '0';
    buf[n] = '\0';
  }
  return weft_str_new(buf, n);
}

weft_str *weft_str_from_bool(bool v) {
  return v ? weft_str_new("true", 4) : weft_str_new("false", 5);
}

/* Appends ".fff" for frac/scale (scale = 10^digits), trailing zeros dropped. */
static int put_frac(char *p, uint64_t frac, uint64_t scale) {
  if (!frac) return 0;
  int n = 0;
  p[n++] = '.';
  while (frac) {
    scale /= 10;
    p[n++] = (char)('0' + frac / scale);
    frac %= scale;
  }
  return n;
}

/* Go's time.Duration.String, at microsecond resolution. */
weft_str *weft_str_from_duration(int64_t us) {
  char buf[64];
  int n = 0;
  uint64_t u = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
  if (u == 0) return weft_str_new("0s", 2);
  if (us < 0) buf[n++] = '-';
  if (u < 1000) {
    n += snprintf(buf + n, sizeof buf - (size_t)n, "%" PRIu64 "us", u);
  } else if (u < 1000000) {
    n += snprintf(buf + n, sizeof buf - (size_t)n, "%" PRIu64, u / 1000);
    n += put_frac(buf + n, u % 1000, 1000);
    buf[n++] = 'm';
    buf[n++] = 's';
  } else {
    uint64_t s = u / 1000000, frac = u % 1000000;
    uint64_t h = s / 3600, m = s / 60 % 60, sec = s % 60;
    if (h) n += snprintf(buf + n, sizeof buf - (size_t)n, "%" PRIu64 "h", h);
    if (h || m) n += snprintf(buf + n, sizeof buf - (size_t)n, "%" PRIu64 "m", m);
    n += snprintf(buf + n, sizeof buf - (size_t)n, "%" PRIu64, sec);
    n += put_frac(buf + n, frac, 1000000);
    buf[n++] = 's';
  }
  return weft_str_new(buf, n);
}

/* ---- lists and objects ------------------------------------------------------ */

weft_list *weft_list_new(int64_t len, int elem_is_ref) {
  if (len < 0 || (uint64_t)len > (SIZE_MAX - sizeof(weft_list)) / 8)
    weft__internal_error("list length %" PRId64 " out of range", len);
  size_t sz = sizeof(weft_list) + (size_t)len * 8;
  weft_list *l = value_alloc(sz, WEFT_TAG_LIST, elem_is_ref ? 1 : 0);
  l->len = len;
  memset(l->data, 0, (size_t)len * 8);
  return l;
}

weft_obj *weft_obj_new(uint32_t nfields, uint64_t refmask) {
  if (nfields > UINT16_MAX) weft__internal_error("object with %u fields", nfields);
  /* Bits beyond nfields would make release read past the object. */
  if (nfields < 64) refmask &= ((uint64_t)1 << nfields) - 1;
  weft_obj *o = value_alloc(sizeof(weft_obj) + (size_t)nfields * 8, WEFT_TAG_OBJ,
                            (uint16_t)nfields);
  o->refmask = refmask;
  memset(o->fields, 0, (size_t)nfields * 8);
  return o;
}

weft_list *weft_args_list(int argc, char **argv) {
  int64_t n = argc > 1 ? argc - 1 : 0;
  weft_list *l = weft_list_new(n, 1);
  for (int64_t i = 0; i < n; i++)
    l->data[i] = (uint64_t)(uintptr_t)weft_str_from_cstr(argv[i + 1]);
  return l;
}
