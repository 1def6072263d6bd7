/* join.c -- `all`, `all settle`, `all for` and `race` (DESIGN 2.3, 2.4).
 *
 * A join lives in the parent's await slot; its branches are ordinary frames
 * whose parent is the joining frame. Branch 0 runs at once, the others start
 * in source order as the scheduler picks them (weft__join_next_start). A
 * finishing branch is counted here (weft__finish routes it) and stays
 * allocated for the generated code to read; the parent resumes when the
 * last one finished. Failing fast (ALL) and deciding a race cancel the
 * unfinished siblings through weft_cancel_frame, so the join only completes
 * once they have unwound (finally blocks and compensations included).
 */
#include "weft_private.h"

#include <stdlib.h>

/* j->reserved: runtime state */
#define JOIN_LOST 0x80000000u  /* ALL: a branch ended CANCELLED although no branch failed */
#define JOIN_NEXT 0x7fffffffu  /* index of the next branch to start */

static weft_failure *cancelled_failure(void) {
  weft_str *m = weft_str_from_cstr("cancelled");
  weft_failure *e = weft_failure_new(&weft_kind_Cancelled, m, NULL);
  weft_release(m);
  return e;
}

weft_frame *weft_join_start(weft_rt *rt, weft_frame *f, weft_join *j) {
  if (WEFT__UNLIKELY(!f->fn->await_off || (void *)j != weft__await_slot(f)))
    weft__internal_error("workflow %s: a join must live in the await slot",
                         f->fn->name ? f->fn->name : "?");
  if (WEFT__UNLIKELY(j->mode > WEFT_JOIN_RACE))
    weft__internal_error("workflow %s: bad join mode %u", f->fn->name ? f->fn->name : "?", j->mode);
  uint32_t n = j->n;
  j->pending = n;
  j->reserved = 0;
  j->winner = NULL;
  j->failure = NULL;
  uint32_t fl = f->flags;
  bool cancel = (fl & WEFT_FLAG_CANCEL_PENDING) && !(fl & WEFT_FLAG_SHIELD_MASK);
  if (n == 0) {
    /* nothing to wait for: f resumes at once */
    if (cancel) {
      f->flags = fl & ~WEFT_FLAG_CANCEL_PENDING;
      j->failure = cancelled_failure();
    }
    return f;
  }
  if (WEFT__UNLIKELY(n > JOIN_NEXT)) weft__internal_error("a join of %u branches is too large", n);
  weft_frame **b = j->branches;
  for (uint32_t i = 0; i < n; i++) b[i]->parent = f;
  f->flags = fl | WEFT_FLAG_AWAIT_JOIN;
  if (n > 1) { /* the others start when the running chain stops (weft__join_next_start) */
    j->reserved = 1;
    f->qnext = rt->starts;
    rt->starts = f;
  }
  if (WEFT__UNLIKELY(cancel)) {
    /* the cancellation waited for this suspension: the branches get it
     * (none has started: they are dropped unstarted) */
    f->flags = (f->flags & ~WEFT_FLAG_CANCEL_PENDING) | WEFT_FLAG_FORWARDED;
    for (uint32_t i = 0; i < n; i++) weft_cancel_frame(rt, b[i]);
  }
  return b[0];
}

/* Branches start one by one, in source order, each when the chain of frames
 * running before it stops: the newest join first (depth first, so a deep
 * fan-out does not materialise level by level), from rt->starts, a stack of
 * joining frames linked through their qnext (unused while they are parked).
 * runq_pop takes starts after the next slot and before the FIFO, within the
 * same streak limit, so woken frames and timers do not starve behind a huge
 * `all for`. */
weft_frame *weft__join_next_start(weft_rt *rt) {
  weft_frame *p = rt->starts;
  weft_join *j = weft__await_slot(p);
  uint32_t i = j->reserved & JOIN_NEXT;
  j->reserved = (j->reserved & ~JOIN_NEXT) | (i + 1);
  if (i + 1 == j->n) {
    rt->starts = p->qnext;
    p->qnext = NULL;
  }
  return j->branches[i];
}

static void drop_failure(weft_frame *b) {
  if (b->failure) weft_failure_free(weft_failure_take(b));
}

static void cancel_others(weft_rt *rt, weft_join *j, weft_frame *except) {
  for (uint32_t i = 0; i < j->n; i++) {
    weft_frame *b = j->branches[i];
    if (b != except && b->status == WEFT_RUNNING) weft_cancel_frame(rt, b);
  }
}

weft_frame *weft__join_branch_finished(weft_rt *rt, weft_frame *p, weft_frame *b) {
  weft_join *j = weft__await_slot(p);
  switch (j->mode) {
  case WEFT_JOIN_ALL:
    if (b->status == WEFT_FAILED) {
      weft_failure *e = weft_failure_take(b);
      if (!j->failure) {
        j->failure = e; /* fail fast */
        cancel_others(rt, j, b);
      } else {
        weft_failure_attach(j->failure, e);
      }
    } else if (b->status == WEFT_CANCELLED) {
      drop_failure(b); /* the Cancelled we (or the parent's cancellation) caused */
      if (!j->failure) j->reserved |= JOIN_LOST;
    }
    break;
  case WEFT_JOIN_SETTLE:
    break;
  default: /* RACE: the first to finish decides; DONE losers never get here (weft_done) */
    if (!j->winner) {
      j->winner = b;
      cancel_others(rt, j, b);
    } else {
      drop_failure(b);
    }
    break;
  }
  if (--j->pending) return NULL;

  /* complete: p resumes */
  uint32_t pf = p->flags & ~WEFT_FLAG_AWAIT_JOIN;
  bool forwarded = pf & WEFT_FLAG_FORWARDED;
  pf &= ~WEFT_FLAG_FORWARDED;
  if (j->mode == WEFT_JOIN_RACE) {
    /* a race cancelled from above usually ends with a CANCELLED winner: p
     * raises its Cancelled. One that finished anyway leaves p owing it. */
    if (forwarded && j->winner->status != WEFT_CANCELLED) pf |= WEFT_FLAG_CANCEL_PENDING;
  } else if (!j->failure) {
    if (forwarded || (j->reserved & JOIN_LOST)) j->failure = cancelled_failure();
  } else if (forwarded) {
    pf |= WEFT_FLAG_CANCEL_PENDING; /* p raises a real failure: still owes the cancellation */
  }
  p->flags = pf;
  return p;
}

/* `all for` arrays come from the frame pool behind a frame header (which
 * holds the allocation size), so they are counted as live frames and the
 * leak check sees a missing weft_join_free. */
weft_frame **weft_join_alloc(weft_rt *rt, uint32_t n) {
  if (WEFT__UNLIKELY(n > (UINT32_MAX - sizeof(weft_frame)) / sizeof(weft_frame *)))
    weft__internal_error("all for: %u branches are too many", n);
  char *m = weft_frame_alloc(rt, (uint32_t)(sizeof(weft_frame) + (size_t)n * sizeof(weft_frame *)));
  return (weft_frame **)(m + sizeof(weft_frame));
}

void weft_join_free(weft_rt *rt, weft_frame **branches) {
  if (branches) weft_frame_free(rt, (char *)branches - sizeof(weft_frame));
}
