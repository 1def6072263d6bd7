/* cancel.c -- cancellation (DESIGN 2.5): top-down through what each frame
 * awaits; child calls.
 *
 * A frame parked on an effect records it in its flags (WEFT_FLAG_AWAIT_*)
 * and in its await slot (weft_fninfo.await_off): its timer, its child, or
 * its join. weft_cancel_frame follows those links down from the cancelled
 * frame, so cancelling costs what it reaches -- one timer and one frame for
 * the loser of `race { f(), timeout }` -- never a scan of all timers or
 * frames.
 *
 * Flags on a frame f:
 *  - CANCELLED: the cancellation reached f (at most once);
 *  - CANCEL_PENDING: it is still to be delivered to f's own code: at its
 *    outermost weft_unshield (shielded) or its next weft_sleep / weft_call /
 *    weft_join_start; a frame that has not started is dropped (weft_run);
 *  - FORWARDED: it was passed on to the child/branches f awaits; when they
 *    finish, f either sees it (a CANCELLED child, a Cancelled j->failure) or
 *    gets CANCEL_PENDING (the child finished anyway: weft__finish, join.c).
 */
#include "weft_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void weft_cancel(weft_rt *rt) {
  if (rt->cancel) return;
  rt->cancel = 1;
  if (rt->root) weft__cancel_root(rt);
  if (rt->roots.n) weft__roots_cancel(rt); /* embedding: every started root too */
}

bool weft_cancel_requested(const weft_rt *rt) { return rt->cancel != 0; }

void weft__cancel_root(weft_rt *rt) { weft_cancel_frame(rt, rt->root); }

/* ---- top-down ------------------------------------------------------------------------ */

static void raise_cancelled(weft_rt *rt, weft_frame *f) {
  weft_raise_cstr(rt, f, &weft_kind_Cancelled, "cancelled", NULL);
}

typedef struct walk {
  weft_join *j;
  uint32_t i;
} walk;

/* Depth first, branches in source order (timers cancelled in that order make
 * their frames ready in that order: deterministic). Iterative: call chains
 * may be millions deep. */
void weft_cancel_frame(weft_rt *rt, weft_frame *f) {
  walk local[16], *stk = local;
  size_t depth = 0, cap = sizeof local / sizeof local[0];
  for (;;) {
    while (f) {
      weft_frame *next = NULL;
      uint32_t fl = f->flags;
      if (f->status == WEFT_RUNNING && !(fl & WEFT_FLAG_CANCELLED)) {
        fl |= WEFT_FLAG_CANCELLED;
        if (WEFT__UNLIKELY(rt->trace))
          weft__trace_cancel(rt, f,
                             (fl & (WEFT_FLAG_SHIELD_MASK | WEFT_FLAG_RUNNER)) ? "deferred"
                             : (fl & WEFT_FLAG_AWAIT_TIMER)                   ? "timer"
                             : (fl & (WEFT_FLAG_AWAIT_CHILD | WEFT_FLAG_AWAIT_JOIN)) ? "forwarded"
                                                                              : "pending");
        if (fl & (WEFT_FLAG_SHIELD_MASK | WEFT_FLAG_RUNNER)) {
          /* finally / compensation running: deferred to the outermost
           * unshield; a shielded frame never passes it on */
          f->flags = fl | WEFT_FLAG_CANCEL_PENDING;
        } else if (fl & WEFT_FLAG_AWAIT_TIMER) {
          f->flags = fl & ~WEFT_FLAG_AWAIT_TIMER;
          weft_timer_cancel(rt, weft__await_slot(f)); /* no-op if it fired already */
          raise_cancelled(rt, f);
          if (!(fl & WEFT_FLAG_QUEUED)) weft_ready_fifo(rt, f);
        } else if (fl & WEFT_FLAG_AWAIT_CHILD) {
          f->flags = fl | WEFT_FLAG_FORWARDED;
          next = *(weft_frame **)weft__await_slot(f);
        } else if (fl & WEFT_FLAG_AWAIT_JOIN) {
          f->flags = fl | WEFT_FLAG_FORWARDED;
          weft_join *j = weft__await_slot(f);
          if (depth == cap) {
            walk *bigger = weft__xmalloc(2 * cap * sizeof *bigger);
            memcpy(bigger, stk, depth * sizeof *stk);
            if (stk != local) free(stk);
            stk = bigger;
            cap *= 2;
          }
          stk[depth].j = j;
          stk[depth].i = 0;
          depth++;
        } else {
          f->flags = fl | WEFT_FLAG_CANCEL_PENDING; /* running or runnable */
        }
      }
      f = next;
    }
    while (depth) {
      walk *w = &stk[depth - 1];
      if (w->i < w->j->n) {
        f = w->j->branches[w->i++];
        break;
      }
      depth--;
    }
    if (!f) break;
  }
  if (stk != local) free(stk);
}

weft_frame *weft_call(weft_rt *rt, weft_frame *f, weft_frame *child) {
  if (WEFT__UNLIKELY(!f->fn->await_off))
    weft__internal_error("workflow %s calls a child but has no await slot",
                         f->fn->name ? f->fn->name : "?");
  child->parent = f;
  uint32_t fl = f->flags | WEFT_FLAG_AWAIT_CHILD;
  f->flags = fl;
  if (WEFT__UNLIKELY(fl & WEFT_FLAG_CANCEL_PENDING) && !(fl & WEFT_FLAG_SHIELD_MASK)) {
    f->flags = (fl & ~WEFT_FLAG_CANCEL_PENDING) | WEFT_FLAG_FORWARDED;
    weft_cancel_frame(rt, child);
  }
  return child;
}

/* ---- deadlines (`yield wf(args) timeout d`) ------------------------------------------ */

weft_frame *weft_call_deadline(weft_rt *rt, weft_frame *f, weft_frame *child, int64_t us) {
  weft_deadline *d = weft__await_slot(f);
  d->us = us;
  d->timer.next = d->timer.prev = NULL; /* the slot is not zeroed: never armed while f runs */
  f->flags |= WEFT_FLAG_DEADLINE;
  weft_timer_start(rt, &d->timer, f, weft_now_us(rt) + (uint64_t)(us > 0 ? us : 0));
  return weft_call(rt, f, child);
}

/* The deadline's timer fired (sched.c): f's child may still be woken in
 * this turn and finish first, so the deadline acts at the turn's end. */
void weft__deadline_due(weft_rt *rt, weft_timer *t) {
  t->owner->flags |= WEFT_FLAG_DEADLINE_DUE;
  t->prev = NULL;
  t->next = rt->deadlines_due;
  if (t->next) t->next->prev = t;
  rt->deadlines_due = t;
}

static void deadline_unlink(weft_rt *rt, weft_timer *t) {
  if (t->prev) t->prev->next = t->next;
  else rt->deadlines_due = t->next;
  if (t->next) t->next->prev = t->prev;
  t->next = t->prev = NULL;
  t->owner->flags &= ~WEFT_FLAG_DEADLINE_DUE;
}

/* The turn ended: each child still running past its deadline is cancelled
 * (in the order the deadlines fell due); f resumes once it has unwound. A
 * cancellation that already reached f wins: it was passed to the child. */
void weft__deadlines_fire(weft_rt *rt) {
  weft_timer *last = rt->deadlines_due;
  while (last && last->next) last = last->next; /* pushed at the head: oldest last */
  while (last) {
    weft_timer *t = last;
    last = t->prev;
    deadline_unlink(rt, t);
    weft_frame *f = t->owner;
    uint32_t fl = f->flags;
    if (!(fl & WEFT_FLAG_AWAIT_CHILD) || (fl & (WEFT_FLAG_CANCELLED | WEFT_FLAG_DEADLINE_FIRED))) continue;
    f->flags = fl | WEFT_FLAG_DEADLINE_FIRED;
    weft_cancel_frame(rt, ((weft_deadline *)weft__await_slot(f))->child);
  }
}

int weft_deadline_end(weft_rt *rt, weft_frame *f, const weft_srcloc *loc) {
  weft_deadline *d = weft__await_slot(f);
  uint32_t fl = f->flags;
  if (fl & WEFT_FLAG_DEADLINE_DUE) deadline_unlink(rt, &d->timer); /* the child finished first */
  f->flags = fl & ~(WEFT_FLAG_DEADLINE | WEFT_FLAG_DEADLINE_FIRED | WEFT_FLAG_DEADLINE_DUE);
  if (!(fl & WEFT_FLAG_DEADLINE_FIRED)) {
    weft_timer_cancel(rt, &d->timer); /* no-op when it fired */
    return 0;
  }
  if (fl & WEFT_FLAG_CANCELLED) { /* cancelled while the child unwound: that wins */
    raise_cancelled(rt, f);
    return 1;
  }
  weft_str *dur = weft_str_from_duration(d->us);
  char msg[96];
  snprintf(msg, sizeof msg, "timed out after %s", dur->data);
  weft_release(dur);
  weft_raise_cstr(rt, f, &weft_kind_Timeout, msg, loc);
  return 1;
}
