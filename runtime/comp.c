/* comp.c -- compensation stacks (DESIGN 2.7).
 *
 * A stack is a list of not-started compensation frames linked through their
 * qnext (unused until a frame is queued, which happens only once it runs),
 * newest first. The frame header has no room for the list head, so a
 * per-runtime open-addressing table maps owner frame -> stack; owners carry
 * WEFT_FLAG_COMPS, so frames without compensations never touch the table and
 * weft_done/weft_failed stay a flag test on the fast path.
 *
 * Running a stack must not re-enter the failed frame, so weft_failed hands
 * the stack to a small runtime frame (the driver) that calls each
 * compensation as its child, then publishes the outcome on the failed frame
 * and continues with that frame's parent.
 */
#include "weft_private.h"

#include <stdlib.h>
#include <string.h>

typedef struct weft__compstack {
  const weft_frame *owner; /* NULL: empty slot */
  weft_frame *head, *tail; /* newest .. oldest, through qnext */
  uint32_t n;
} compstack;

/* ---- owner -> stack table (weft__ptrmap) ---- */

static compstack *tab_find(const weft__ptrmap *t, const weft_frame *owner) {
  return weft__ptrmap_find(t, owner);
}

/* Returns the (possibly new, empty) stack of owner. */
static compstack *tab_insert(weft__ptrmap *t, const weft_frame *owner) {
  return weft__ptrmap_add(t, owner, sizeof(compstack));
}

/* Removes owner's entry and returns its stack by value. */
static compstack tab_take(weft__ptrmap *t, const weft_frame *owner) {
  compstack out = {0};
  compstack *e = tab_find(t, owner);
  if (!e) return out;
  out = *e;
  weft__ptrmap_del(t, e);
  return out;
}

/* ---- pushing, handing over, dropping ------------------------------------- */

void weft_comp_push(weft_rt *rt, weft_frame *f, weft_frame *c) {
  compstack *s = tab_insert(&rt->comps, f);
  c->qnext = s->head;
  s->head = c;
  if (!s->tail) s->tail = c;
  s->n++;
  f->flags |= WEFT_FLAG_COMPS;
}

uint32_t weft_comp_count(weft_rt *rt, const weft_frame *f) {
  if (!(f->flags & WEFT_FLAG_COMPS)) return 0;
  compstack *s = tab_find(&rt->comps, f);
  return s ? s->n : 0;
}

static void discard_list(weft_rt *rt, weft_frame *head);

/* Drops a compensation that will never run: its resume releases what the
 * frame owns (WEFT_STATE_DISCARD), then the frame is freed. */
static void discard(weft_rt *rt, weft_frame *c) {
  c->qnext = NULL;
  c->parent = NULL;
  c->state = WEFT_STATE_DISCARD;
  (void)c->fn->resume(rt, c);
  if (c->failure) weft_failure_free(weft_failure_take(c));
  if (c->flags & WEFT_FLAG_COMPS) { /* cannot happen for a frame that never ran */
    compstack s = tab_take(&rt->comps, c);
    for (weft_frame *k = s.head, *n; k; k = n) {
      n = k->qnext;
      discard(rt, k);
    }
  }
  weft_frame_free(rt, c);
}

static void discard_list(weft_rt *rt, weft_frame *head) {
  for (weft_frame *c = head, *n; c; c = n) {
    n = c->qnext;
    discard(rt, c);
  }
}

/* Puts stack s on top of p's: its steps are newer than everything there. */
static void stack_onto(weft_rt *rt, weft_frame *p, compstack s) {
  compstack *ps = tab_insert(&rt->comps, p);
  s.tail->qnext = ps->head;
  if (!ps->tail) ps->tail = s.tail;
  ps->head = s.head;
  ps->n += s.n;
  p->flags |= WEFT_FLAG_COMPS;
}

void weft__comps_handoff(weft_rt *rt, weft_frame *f) {
  f->flags &= ~WEFT_FLAG_COMPS;
  compstack s = tab_take(&rt->comps, f);
  if (!s.head) return;
  weft_frame *p = f->parent;
  if (!p) { /* success at the root: nothing will ever need undoing */
    discard_list(rt, s.head);
    return;
  }
  stack_onto(rt, p, s);
}

void weft_comp_adopt(weft_rt *rt, weft_frame *f, weft_frame *branch) {
  if (!(branch->flags & WEFT_FLAG_COMPS)) return;
  branch->flags &= ~WEFT_FLAG_COMPS;
  compstack s = tab_take(&rt->comps, branch);
  if (s.head) stack_onto(rt, f, s);
}

void weft__comps_drop(weft_rt *rt, weft_frame *f) {
  f->flags &= ~WEFT_FLAG_COMPS;
  discard_list(rt, tab_take(&rt->comps, f).head);
}

/* ---- running a stack: the driver frame -------------------------------------- */

typedef struct comp_driver {
  weft_frame h;
  weft_frame *target;   /* the failed invocation; status published at the end */
  weft_frame *list;     /* compensations still to run, newest first */
  weft_frame *running;  /* the compensation being run (our child) */
  weft_failure *log;    /* collects the log and the failed compensations */
  uint32_t ran, failed;
} comp_driver;

static weft_frame *driver_resume(weft_rt *rt, weft_frame *f);
static const weft_fninfo driver_info = {driver_resume, sizeof(comp_driver), 0, "compensate",
                                        "<runtime>"};

weft_frame *weft__comps_unwind(weft_rt *rt, weft_frame *f) {
  f->flags &= ~WEFT_FLAG_COMPS;
  compstack s = tab_take(&rt->comps, f);
  if (!s.head) {
    f->status = weft__failed_status(f->failure);
    return weft__finish(rt, f);
  }
  comp_driver *d = weft_frame_alloc(rt, sizeof *d);
  d->h.fn = &driver_info;
  d->h.parent = f->parent; /* informational: the driver ends through weft__finish(target) */
  d->h.flags = WEFT_FLAG_RUNNER;
  d->target = f;
  d->list = s.head;
  if (WEFT__UNLIKELY(rt->trace)) weft__trace_runner_start(rt, &d->h, f);
  /* f stays WEFT_RUNNING (but inert: its resume already ended) until the
   * driver publishes the outcome, so a root is not taken as finished while
   * its compensations run. */
  return &d->h;
}

static weft_frame *driver_resume(weft_rt *rt, weft_frame *f) {
  comp_driver *d = (comp_driver *)f;
  if (!d->log) d->log = weft_failure_new(&weft_kind_CompensationFailed, NULL, NULL);
  if (d->running) { /* a compensation finished */
    weft_frame *c = d->running;
    weft_failure *e = c->status == WEFT_DONE ? NULL : weft_failure_take(c);
    if (c->status != WEFT_DONE && !e) e = weft_failure_new(&weft_kind_Cancelled, NULL, NULL);
    if (e) {
      d->failed++;
      weft_retain(e);
      weft_failure_attach(d->log, e);
    }
    weft__failure_log(d->log, c->fn->name, e);
    d->ran++;
    d->running = NULL;
    weft_frame_free(rt, c);
  }
  if (d->list) { /* next one, last-in first-out */
    weft_frame *c = d->list;
    d->list = c->qnext;
    c->qnext = NULL;
    c->parent = f;
    c->flags |= 1; /* shielded like finally (shield depth 1) */
    d->running = c;
    return c;
  }
  /* All ran: publish the outcome on the failed invocation. */
  weft_frame *t = d->target;
  weft_failure *orig = weft_failure_take(t), *out;
  if (d->failed) {
    char msg[80];
    snprintf(msg, sizeof msg, "%u of %u compensation%s failed", d->failed, d->ran,
             d->ran == 1 ? "" : "s");
    weft_str *m = weft_str_from_cstr(msg);
    out = weft_failure_new(&weft_kind_CompensationFailed, m, NULL);
    weft_release(m);
    weft_failure_add_cause(out, orig);
    /* keep the log of compensations that ran in inner scopes, first */
    for (uint32_t i = 0; orig && i < orig->nlog; i++) {
      weft_retain(orig->log[i].failure);
      weft__failure_log(out, orig->log[i].name, orig->log[i].failure);
    }
    for (uint32_t i = 0; i < d->log->nattached; i++) {
      weft_retain(d->log->attached[i]);
      weft_failure_attach(out, d->log->attached[i]);
    }
  } else {
    out = orig;
  }
  for (uint32_t i = 0; i < d->log->nlog; i++) {
    weft_retain(d->log->log[i].failure);
    weft__failure_log(out, d->log->log[i].name, d->log->log[i].failure);
  }
  weft_release(d->log);
  t->failure = out;
  t->status = weft__failed_status(out);
  /* Compensations that pushed compensations of their own and succeeded
   * handed them to us: they are not needed. */
  if (f->flags & WEFT_FLAG_COMPS) {
    f->flags &= ~WEFT_FLAG_COMPS;
    discard_list(rt, tab_take(&rt->comps, f).head);
  }
  if (WEFT__UNLIKELY(rt->trace)) weft__trace_runner_end(rt, f, d->ran, d->failed);
  weft_frame_free(rt, f);
  return weft__finish(rt, t);
}

void weft__comps_destroy(weft_rt *rt) {
  /* Stacks of frames that never finished are not dropped here: their frames
   * go with the pool, and their captured values are reported by the leak
   * check rather than released behind the program's back. */
  weft__ptrmap_free(&rt->comps);
  memset(&rt->comps, 0, sizeof rt->comps);
}
