/* timer.c -- hierarchical timing wheel (see weft_private.h for the layout).
 *
 * Invariants, with c = w->cur and g_l(t) = tick(t) >> 6l:
 *  - level 0 holds timers with tick in [c, c+63] (slot = tick & 63, so a slot
 *    holds a single tick), or clamped past timers in slot c & 63;
 *  - level l >= 1 holds timers with g_l in [g_l(c)+1, g_l(c)+64]; the slot of
 *    group g is cascaded (re-inserted relative to c) when c reaches g << 6l;
 *  - the overflow list holds timers >= 64^LEVELS ticks ahead when inserted; it
 *    is re-inserted whenever c reaches a multiple of 64^LEVELS.
 * Order inside a slot is irrelevant: due timers are sorted before firing.
 */
#include "weft_private.h"

#include <string.h>

#define SLOTS WEFT__WHEEL_SLOTS
#define BITS WEFT__WHEEL_BITS
#define LEVELS WEFT__WHEEL_LEVELS
#define OVERFLOW_IDX (LEVELS * SLOTS)

static inline weft_timer *sentinel(weft__wheel *w, unsigned level, unsigned slot) {
  return &w->slots[level * SLOTS + slot];
}

static inline bool is_sentinel(const weft__wheel *w, const weft_timer *t) {
  uintptr_t p = (uintptr_t)t, lo = (uintptr_t)&w->slots[0],
            hi = (uintptr_t)&w->slots[OVERFLOW_IDX + 1];
  return p >= lo && p < hi;
}

static inline void list_init(weft_timer *s) { s->next = s->prev = s; }
static inline bool list_empty(const weft_timer *s) { return s->next == s; }

static inline void list_push(weft_timer *s, weft_timer *t) {
  t->next = s->next;
  t->prev = s;
  s->next->prev = t;
  s->next = t;
}

void weft__wheel_init(weft__wheel *w, uint64_t now_us) {
  memset(w, 0, sizeof *w);
  w->cur = now_us / WEFT__TICK_US;
  for (unsigned i = 0; i <= OVERFLOW_IDX; i++) list_init(&w->slots[i]);
}

static inline uint64_t tick_of(uint64_t expiry_us) { return expiry_us / WEFT__TICK_US; }

/* Links t into the slot matching its expiry relative to w->cur. */
static void place(weft__wheel *w, weft_timer *t) {
  uint64_t tick = tick_of(t->expiry_us);
  if (tick < w->cur) tick = w->cur; /* past: due at the current tick */
  uint64_t delta = tick - w->cur;
  unsigned level = 0;
  while (level < LEVELS && delta >= ((uint64_t)1 << (BITS * (level + 1)))) level++;
  if (level == LEVELS) {
    list_push(&w->slots[OVERFLOW_IDX], t);
    return;
  }
  unsigned slot = (unsigned)(tick >> (BITS * level)) & (SLOTS - 1);
  list_push(sentinel(w, level, slot), t);
  w->occupied[level] |= (uint64_t)1 << slot;
}

void weft__wheel_start(weft__wheel *w, weft_timer *t, uint64_t expiry_us) {
  t->expiry_us = expiry_us;
  t->seq = w->seq++;
  place(w, t);
  w->count++;
}

void weft__wheel_cancel(weft__wheel *w, weft_timer *t) {
  if (!t->prev) return; /* not armed (never started, fired or cancelled) */
  weft_timer *n = t->next, *p = t->prev;
  p->next = n;
  n->prev = p;
  t->next = t->prev = NULL;
  w->count--;
  /* The slot is now empty iff both neighbours are the same sentinel. */
  if (n == p && is_sentinel(w, n)) {
    size_t idx = (size_t)((uintptr_t)n - (uintptr_t)&w->slots[0]) / sizeof(weft_timer);
    if (idx < OVERFLOW_IDX)
      w->occupied[idx / SLOTS] &= ~((uint64_t)1 << (idx % SLOTS));
  }
}

/* Detaches the whole list of sentinel s; returns it NULL-terminated via next. */
static weft_timer *take_all(weft_timer *s) {
  if (list_empty(s)) return NULL;
  weft_timer *first = s->next;
  s->prev->next = NULL;
  list_init(s);
  return first;
}

/* Re-inserts every timer of a slot relative to the (new) current tick. */
static void cascade_slot(weft__wheel *w, unsigned level, unsigned slot) {
  weft_timer *t = take_all(sentinel(w, level, slot));
  w->occupied[level] &= ~((uint64_t)1 << slot);
  while (t) {
    weft_timer *n = t->next;
    place(w, t);
    t = n;
  }
}

/* Called when w->cur has just become a multiple of 64: the groups starting at
 * cur move down, highest level first (order does not matter for correctness;
 * a re-inserted timer never lands in a slot cascaded later in this call). */
static void cascade(weft__wheel *w) {
  uint64_t c = w->cur;
  unsigned top = 1; /* cur is a multiple of 64^top */
  while (top < LEVELS && ((c >> (BITS * top)) & (SLOTS - 1)) == 0) top++;
  if (top == LEVELS) {
    weft_timer *t = take_all(&w->slots[OVERFLOW_IDX]);
    while (t) {
      weft_timer *n = t->next;
      place(w, t);
      t = n;
    }
    top = LEVELS - 1;
  }
  for (unsigned l = top; l >= 1; l--)
    cascade_slot(w, l, (unsigned)(c >> (BITS * l)) & (SLOTS - 1));
}

/* Prepends every timer of list `t` (NULL-terminated) to *due, disarming them
 * (prev = NULL) but keeping next as the due-list link. */
static void push_due(weft_timer **due, weft_timer *t) {
  while (t) {
    weft_timer *n = t->next;
    t->prev = NULL;
    t->next = *due;
    *due = t;
    t = n;
  }
}

static inline bool before(const weft_timer *a, const weft_timer *b) {
  return a->expiry_us < b->expiry_us || (a->expiry_us == b->expiry_us && a->seq < b->seq);
}

/* Bottom-up merge sort of a NULL-terminated list by (expiry, seq). Stable and
 * O(n log n); only ever applied to the timers fired in one turn. */
static weft_timer *sort_due(weft_timer *list) {
  if (!list || !list->next) return list;
  size_t width = 1;
  for (;;) {
    weft_timer *head = NULL, **tail = &head, *p = list;
    size_t merges = 0;
    while (p) {
      merges++;
      weft_timer *q = p;
      size_t psize = 0;
      while (psize < width && q) { psize++; q = q->next; }
      size_t qsize = width;
      while (psize > 0 || (qsize > 0 && q)) {
        weft_timer *e;
        if (psize == 0) { e = q; q = q->next; qsize--; }
        else if (qsize == 0 || !q || !before(q, p)) { e = p; p = p->next; psize--; }
        else { e = q; q = q->next; qsize--; }
        *tail = e;
        tail = &e->next;
      }
      p = q;
    }
    *tail = NULL;
    list = head;
    if (merges <= 1) return list;
    width *= 2;
  }
}

static unsigned lowest_level(const weft__wheel *w) {
  for (unsigned l = 0; l < LEVELS; l++)
    if (w->occupied[l]) return l;
  return LEVELS; /* only the overflow list (or nothing) */
}

weft_timer *weft__wheel_advance(weft__wheel *w, uint64_t now_us) {
  weft_timer *due = NULL;
  uint64_t target = tick_of(now_us);
  while (w->cur < target) {
    if (w->count == 0) { w->cur = target; break; }
    uint64_t next;
    if (w->occupied[0]) {
      unsigned slot = (unsigned)w->cur & (SLOTS - 1);
      if (w->occupied[0] & ((uint64_t)1 << slot)) {
        w->occupied[0] &= ~((uint64_t)1 << slot);
        push_due(&due, take_all(sentinel(w, 0, slot)));
      }
      next = w->cur + 1;
    } else {
      /* Levels below k are empty: nothing happens before the next multiple
       * of 64^k, where level k cascades. */
      unsigned k = lowest_level(w);
      uint64_t span = (uint64_t)1 << (BITS * k);
      next = (w->cur | (span - 1)) + 1;
      if (next > target || next == 0) { w->cur = target; break; }
    }
    w->cur = next;
    if ((next & (SLOTS - 1)) == 0) cascade(w);
  }
  /* Current tick: only the timers whose exact expiry has passed. */
  unsigned slot = (unsigned)w->cur & (SLOTS - 1);
  if (w->occupied[0] & ((uint64_t)1 << slot)) {
    weft_timer *s = sentinel(w, 0, slot);
    for (weft_timer *t = s->next; t != s;) {
      weft_timer *n = t->next;
      if (t->expiry_us <= now_us) {
        t->prev->next = n;
        n->prev = t->prev;
        t->prev = NULL;
        t->next = due;
        due = t;
      }
      t = n;
    }
    if (list_empty(s)) w->occupied[0] &= ~((uint64_t)1 << slot);
  }
  size_t n = 0;
  for (weft_timer *t = due; t; t = t->next) n++;
  w->count -= n;
  return sort_due(due);
}

/* First occupied slot of `level` in time order, or -1. Level 0 starts at the
 * current tick; level l >= 1 at the group after the current one. */
static int first_slot(const weft__wheel *w, unsigned level, uint64_t *group_start_tick) {
  uint64_t m = w->occupied[level];
  if (!m) return -1;
  unsigned shift = BITS * level;
  uint64_t base = (w->cur >> shift) + (level ? 1 : 0); /* group of the first slot */
  unsigned start = (unsigned)base & (SLOTS - 1);
  uint64_t rot = start ? (m >> start) | (m << (SLOTS - start)) : m;
  unsigned off = (unsigned)__builtin_ctzll(rot);
  *group_start_tick = (base + off) << shift;
  return (int)((start + off) & (SLOTS - 1));
}

static uint64_t list_min(const weft_timer *s) {
  uint64_t m = UINT64_MAX;
  for (const weft_timer *t = s->next; t != s; t = t->next)
    if (t->expiry_us < m) m = t->expiry_us;
  return m;
}

uint64_t weft__wheel_next_expiry(const weft__wheel *w) {
  if (w->count == 0) return UINT64_MAX;
  uint64_t best = UINT64_MAX;
  for (unsigned l = 0; l < LEVELS; l++) {
    uint64_t g;
    int s = first_slot(w, l, &g);
    if (s < 0) continue;
    uint64_t m = list_min(&w->slots[l * SLOTS + (unsigned)s]);
    if (m < best) best = m;
  }
  uint64_t m = list_min(&w->slots[OVERFLOW_IDX]);
  return m < best ? m : best;
}

uint64_t weft__wheel_next_bound(const weft__wheel *w) {
  if (w->count == 0) return UINT64_MAX;
  uint64_t best = UINT64_MAX, g;
  int s = first_slot(w, 0, &g);
  if (s >= 0) best = list_min(&w->slots[(unsigned)s]); /* one tick: exact */
  for (unsigned l = 1; l < LEVELS; l++) {
    if (first_slot(w, l, &g) < 0) continue;
    /* A level's groups are not all later than the next level's, so every
     * level contributes its first group start. */
    uint64_t b = g * WEFT__TICK_US;
    if (b < best) best = b;
  }
  if (!list_empty(&w->slots[OVERFLOW_IDX])) {
    uint64_t span = (uint64_t)1 << (BITS * LEVELS);
    uint64_t b = ((w->cur | (span - 1)) + 1) * WEFT__TICK_US;
    if (b < best) best = b;
  }
  return best;
}

/* ---- runtime glue ---------------------------------------------------------------- */

void weft_timer_start(weft_rt *rt, weft_timer *t, weft_frame *owner, uint64_t expiry_us) {
  if (WEFT__UNLIKELY(t->prev)) weft__internal_error("starting an armed timer");
  t->owner = owner;
  weft__wheel_start(&rt->wheel, t, expiry_us);
}

void weft_sleep(weft_rt *rt, weft_frame *f, weft_timer *t, int64_t us) {
  uint32_t fl = f->flags;
  if (WEFT__UNLIKELY(fl & WEFT_FLAG_CANCEL_PENDING) && !(fl & WEFT_FLAG_SHIELD_MASK)) {
    /* a cancellation waited for this suspension: do not park */
    f->flags = fl & ~WEFT_FLAG_CANCEL_PENDING;
    weft_raise_cstr(rt, f, &weft_kind_Cancelled, "cancelled", NULL);
    t->owner = f;
    weft_ready_fifo(rt, f);
    return;
  }
  if (WEFT__UNLIKELY(rt->trace)) weft__trace_sleep(rt, f, us);
  /* parked at its await slot: weft_cancel_frame can find the timer */
  if ((char *)t == (char *)f + f->fn->await_off) f->flags = fl | WEFT_FLAG_AWAIT_TIMER;
  /* The await slot is shared with calls and joins, so t may hold their
   * leftovers; it cannot be armed: f is running, so its last timer fired or
   * was cancelled. */
  t->next = t->prev = NULL;
  t->owner = f;
  if (us <= 0) {
    weft_ready_fifo(rt, f);
    return;
  }
  uint64_t now = rt->now_us;
  uint64_t expiry = (uint64_t)us > UINT64_MAX - now ? UINT64_MAX : now + (uint64_t)us;
  weft__wheel_start(&rt->wheel, t, expiry);
}

void weft_timer_cancel(weft_rt *rt, weft_timer *t) { weft__wheel_cancel(&rt->wheel, t); }

bool weft_timer_armed(const weft_timer *t) { return t->prev != NULL; }

int64_t weft_timer_next_expiry(weft_rt *rt) {
  uint64_t e = weft__wheel_next_expiry(&rt->wheel);
  return e == UINT64_MAX ? -1 : (int64_t)(e > INT64_MAX ? INT64_MAX : e);
}
