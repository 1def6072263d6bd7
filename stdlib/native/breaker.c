/* breaker.c -- native half of std/breaker: circuit-breaker state, shared by
 * every workflow of a runtime that uses the same breaker name.
 *
 *   closed     calls go through; `threshold` consecutive counted failures
 *              open it (a success resets the count)
 *   open       calls fail fast (CircuitOpen) until `reset` has passed since
 *              it opened; the next call then turns it half-open
 *   half-open  exactly one call (the probe) is in flight, other calls fail
 *              fast; the first result to arrive decides: success closes it,
 *              a counted failure re-opens it (clock restarted), a cancelled
 *              call frees the probe slot for the next caller
 *
 * weft_breaker_exit carries no per-call token, so results are attributed by
 * state: while open they are ignored (calls that entered before it opened),
 * while half-open the first one is taken as the probe's.
 * Clock: weft_now_us, so virtual time (WEFT_VIRTUAL_TIME) drives it too.
 * The table (chained hash on the name) hangs off rt->std and is freed with
 * the runtime. */
#include "native.h"

#include <stdlib.h>
#include <string.h>

enum { CLOSED, OPEN, HALF_OPEN };

typedef struct brk {
  struct brk *next; /* hash chain */
  int state;
  bool probe;        /* half-open: the probe call is in flight */
  int64_t failures;  /* closed: consecutive counted failures */
  int64_t threshold; /* from the latest weft_breaker_enter */
  int64_t reset_us;
  uint64_t opened_us; /* when it (re-)opened */
  char name[];
} brk;

typedef struct brk_table {
  brk **b;
  size_t nb, n;
} brk_table;

static uint64_t hash(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

static void table_free(weft_rt *rt) {
  brk_table *t = rt->std->breakers;
  for (size_t i = 0; i < t->nb; i++)
    for (brk *e = t->b[i], *nx; e; e = nx) {
      nx = e->next;
      free(e);
    }
  free(t->b);
  free(t);
  rt->std->breakers = NULL;
}

/* The breaker named `name`; created closed when `create`, else NULL if absent. */
static brk *lookup(weft_rt *rt, const char *name, bool create) {
  weft__std *s = weft__std_get(rt);
  brk_table *t = s->breakers;
  if (!t) {
    if (!create) return NULL;
    t = s->breakers = weft__xcalloc(1, sizeof *t);
    s->breakers_free = table_free;
    t->nb = 16;
    t->b = weft__xcalloc(t->nb, sizeof *t->b);
  }
  uint64_t h = hash(name);
  for (brk *e = t->b[h & (t->nb - 1)]; e; e = e->next)
    if (!strcmp(e->name, name)) return e;
  if (!create) return NULL;
  if (t->n >= t->nb) { /* load factor 1: double and rehash */
    size_t nb = t->nb * 2;
    brk **b = weft__xcalloc(nb, sizeof *b);
    for (size_t i = 0; i < t->nb; i++)
      for (brk *e = t->b[i], *nx; e; e = nx) {
        nx = e->next;
        size_t j = hash(e->name) & (nb - 1);
        e->next = b[j];
        b[j] = e;
      }
    free(t->b);
    t->b = b;
    t->nb = nb;
  }
  size_t len = strlen(name);
  brk *e = weft__xcalloc(1, sizeof *e + len + 1);
  memcpy(e->name, name, len + 1);
  size_t j = h & (t->nb - 1);
  e->next = t->b[j];
  t->b[j] = e;
  t->n++;
  return e;
}

bool weft__breaker_enter(weft_rt *rt, const char *name, int64_t threshold, int64_t reset_us) {
  brk *e = lookup(rt, name, true);
  e->threshold = threshold;
  e->reset_us = reset_us;
  switch (e->state) {
  case CLOSED: return true;
  case OPEN:
    if (weft_now_us(rt) - e->opened_us < (uint64_t)reset_us) return false;
    e->state = HALF_OPEN;
    e->probe = true;
    return true;
  default: /* HALF_OPEN */
    if (e->probe) return false;
    e->probe = true; /* the previous probe was cancelled: this call probes */
    return true;
  }
}

void weft__breaker_exit(weft_rt *rt, const char *name, bool ok, bool counted) {
  brk *e = lookup(rt, name, false);
  if (!e) return;
  switch (e->state) {
  case CLOSED:
    if (ok) e->failures = 0;
    else if (counted && ++e->failures >= e->threshold) {
      e->state = OPEN;
      e->opened_us = weft_now_us(rt);
    }
    break;
  case OPEN: break; /* a call that entered before it opened */
  default:          /* HALF_OPEN: the first result decides */
    if (!e->probe) break;
    e->probe = false;
    if (ok) {
      e->state = CLOSED;
      e->failures = 0;
    } else if (counted) {
      e->state = OPEN;
      e->opened_us = weft_now_us(rt);
    }
    break;
  }
}

const char *weft__breaker_state(weft_rt *rt, const char *name) {
  brk *e = lookup(rt, name, false);
  if (!e || e->state == CLOSED) return "closed";
  if (e->state == HALF_OPEN) return "half-open";
  return weft_now_us(rt) - e->opened_us < (uint64_t)e->reset_us ? "open" : "half-open";
}

/* ---- extern fns of std/breaker ------------------------------------------------ */

bool weft_breaker_enter(const char *name, int64_t threshold, int64_t reset_us) {
  return weft__breaker_enter(weft__std_rt("weft_breaker_enter"), name, threshold, reset_us);
}

void weft_breaker_exit(const char *name, bool ok, bool counted) {
  weft__breaker_exit(weft__std_rt("weft_breaker_exit"), name, ok, counted);
}

const char *weft_std_breaker_state(const char *name) { return weft__breaker_state(weft__std_rt("breaker_state"), name); }
