/* sched.c -- the runtime: lifecycle, clock, run queue and run loop.
 *
 * Frames never call each other's resume: a resume function returns the next
 * frame to run (a child it starts, or its parent when it finishes) and this
 * loop runs it, so the C stack stays constant however deep the workflow call
 * tree or however long a loop of child calls.
 *
 * A scheduler *turn* ends when nothing is runnable or after WEFT__TURN_BUDGET
 * resumes. Between turns the clock is read (once), libuv is polled and due
 * timers are moved to the FIFO tail in (expiry, seq) order. Given the same
 * inputs and clock, everything here is deterministic.
 */
#include "weft_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void weft_rt_options_from_env(weft_rt_options *o) {
  memset(o, 0, sizeof *o);
  o->virtual_time = weft__env_flag("WEFT_VIRTUAL_TIME");
  o->check_leaks = weft__env_flag("WEFT_CHECK_LEAKS");
  o->stats = weft__env_flag("WEFT_STATS");
  const char *tr = getenv("WEFT_TRACE");
  o->trace_file = tr && *tr ? tr : NULL;
  const char *seed = getenv("WEFT_SEED");
  if (seed && *seed) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(seed, &end, 0);
    if (*end || errno || *seed == '-') {
      fflush(stdout);
      fprintf(stderr, "weft: ignoring WEFT_SEED='%s': not an unsigned number\n", seed);
    } else {
      o->seed = (uint64_t)v;
    }
  }
}

/* The runtime weft__drive drives on this thread; saved and restored around
 * each drive, so a runtime driven inside another's activity works. */
static _Thread_local weft_rt *current_rt;
weft_rt *weft_current_rt(void) { return current_rt; }

/* The runtime clock. Real mode: wall clock at start + monotonic elapsed,
 * never going backwards. Virtual mode: only the scheduler moves it (to the
 * next timer). weft__clock_peek reads it without moving the turn's clock
 * (trace spans that end inside libuv callbacks); clock_read moves it, once
 * per turn. */
uint64_t weft__clock_peek(const weft_rt *rt) {
  if (rt->opts.virtual_time) return rt->now_us;
  uint64_t now = rt->wall_base_us + (uv_hrtime() - rt->mono_base_ns) / 1000;
  return now > rt->now_us ? now : rt->now_us;
}

static void clock_read(weft_rt *rt) { rt->now_us = weft__clock_peek(rt); }

weft_rt *weft_rt_new(const weft_rt_options *o) {
  weft_rt *rt = weft__xcalloc(1, sizeof *rt);
  if (o) rt->opts = *o;
  int err = uv_loop_init(&rt->loop);
  if (err) weft__internal_error("uv_loop_init: %s", uv_strerror(err));
  uv_timer_init(&rt->loop, &rt->uvtimer);
  rt->uvtimer.data = rt;
  if (!rt->opts.virtual_time) {
    uv_timeval64_t tv;
    uv_gettimeofday(&tv);
    rt->wall_base_us = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
    rt->mono_base_ns = uv_hrtime();
    rt->now_us = rt->wall_base_us;
  }
  weft__pool_init(&rt->pool);
  weft__wheel_init(&rt->wheel, rt->now_us);
  weft__rng_seed(rt, rt->opts.seed);
  if (rt->opts.trace_file) weft__trace_open(rt, rt->opts.trace_file);
  rt->opts.trace_file = NULL; /* the caller's string need not outlive this call */
  return rt;
}

static void close_walk_cb(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

void weft_rt_free(weft_rt *rt) {
  if (!rt) return;
  weft__roots_destroy(rt);
  weft__trace_close(rt);
  /* Activity calls still pending (a deadlock, an embedding that gave up):
   * their hooks run now; blocking ones are freed by the uv_run below. */
  weft__acts_abandon(rt);
  weft__std_free(rt); /* closes the std modules' handles with their own callbacks */
  /* Close our timer and anything an activity left open, then let libuv run
   * the close callbacks so uv_loop_close succeeds. */
  uv_walk(&rt->loop, close_walk_cb, NULL);
  uv_run(&rt->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&rt->loop)) weft__internal_error("libuv loop still busy at exit");
  if (rt->acts) weft__internal_error("activity calls still pending after the loop closed");
  weft__comps_destroy(rt);
  weft__pool_destroy(&rt->pool);
  free(rt);
}

uint64_t weft_now_us(weft_rt *rt) { return rt->now_us; }
bool weft_rt_virtual_time(const weft_rt *rt) { return rt->opts.virtual_time; }
struct uv_loop_s *weft_rt_loop(weft_rt *rt) { return &rt->loop; }

void weft_rt_stats(const weft_rt *rt, weft_stats *out) {
  out->frames_alloc = rt->pool.frames_alloc;
  out->frames_live = rt->pool.frames_alloc - rt->pool.frames_freed;
  out->objects_live = weft__objects_live;
  out->timers_fired = rt->timers_fired;
  out->timers_armed = rt->wheel.count;
  out->resumes = rt->resumes;
}

/* ---- run queue -------------------------------------------------------------------
 *
 * A "next" slot plus a FIFO, both intrusive through qnext (tokio's LIFO-slot
 * design). weft_ready puts a frame in the slot, so the most recently woken
 * frame runs next (depth-first, cache-warm); a displaced occupant goes to the
 * FIFO tail. pop() takes the slot first, then the next not-started branch of
 * the newest join (rt->starts, see join.c), unless those have been taken
 * WEFT__NEXT_STREAK_MAX times in a row while the FIFO waits: then the FIFO head
 * goes first. Every frame in the FIFO is therefore reached after a bounded
 * number of pops, and a frame leaves the slot within one pop of being
 * displaced, so nothing starves. WEFT_FLAG_QUEUED catches double scheduling.
 */

static inline void mark_queued(weft_frame *f) {
  if (WEFT__UNLIKELY(f->flags & WEFT_FLAG_QUEUED))
    weft__internal_error("workflow %s made ready twice", f->fn && f->fn->name ? f->fn->name : "?");
  f->flags |= WEFT_FLAG_QUEUED;
}

static inline void fifo_push(weft_rt *rt, weft_frame *f) {
  f->qnext = NULL;
  if (rt->fifo_tail) rt->fifo_tail->qnext = f;
  else rt->fifo_head = f;
  rt->fifo_tail = f;
}

void weft_ready(weft_rt *rt, weft_frame *f) {
  mark_queued(f);
  weft_frame *old = rt->next;
  rt->next = f;
  if (old) fifo_push(rt, old);
}

void weft_ready_fifo(weft_rt *rt, weft_frame *f) {
  mark_queued(f);
  fifo_push(rt, f);
}

static inline weft_frame *runq_pop(weft_rt *rt) {
  weft_frame *f;
  if (rt->next_streak < WEFT__NEXT_STREAK_MAX || !rt->fifo_head) {
    if ((f = rt->next)) {
      rt->next = NULL;
      rt->next_streak++;
      goto taken;
    }
    if (rt->starts) { /* branches of the newest join: depth first */
      rt->next_streak++;
      return weft__join_next_start(rt);
    }
  }
  if ((f = rt->fifo_head)) {
    rt->fifo_head = f->qnext;
    if (!rt->fifo_head) rt->fifo_tail = NULL;
    f->qnext = NULL;
    rt->next_streak = 0;
  } else {
    return NULL;
  }
taken:
  /* a timer wake-up (or sleep(0)) is over once the frame is taken */
  f->flags &= ~(WEFT_FLAG_QUEUED | WEFT_FLAG_AWAIT_TIMER);
  return f;
}

weft_frame *weft__runq_pop(weft_rt *rt) { return runq_pop(rt); }

/* ---- completion --------------------------------------------------------------------
 *
 * The fast paths are a flag test on f and one on its parent: a plain child
 * finishing clears the parent's AWAIT_CHILD and returns it. Compensation
 * stacks, a pending cancellation (a frame dropped before it started), a
 * parent parked on a join or a parent whose cancellation was passed on to
 * this child take the slow paths. */

weft_frame *weft__finish(weft_rt *rt, weft_frame *f) {
  if (WEFT__UNLIKELY(rt->trace)) weft__trace_end(rt, f);
  weft_frame *p = f->parent;
  if (!p) {
    if (WEFT__UNLIKELY(rt->roots.n)) weft__root_finished(rt, f);
    return NULL;
  }
  uint32_t pf = p->flags;
  if (pf & WEFT_FLAG_AWAIT_JOIN) return weft__join_branch_finished(rt, p, f);
  if (pf & WEFT_FLAG_FORWARDED) {
    /* p's cancellation went to this child: delivered if the child ended
     * CANCELLED (p sees that), else p still owes it (next suspension) */
    pf &= ~WEFT_FLAG_FORWARDED;
    if (f->status != WEFT_CANCELLED) pf |= WEFT_FLAG_CANCEL_PENDING;
  }
  p->flags = pf & ~WEFT_FLAG_AWAIT_CHILD;
  return p;
}

static weft_frame *done_slow(weft_rt *rt, weft_frame *f) {
  if (f->state == WEFT_STATE_DISCARD && (f->flags & WEFT_FLAG_CANCEL_PENDING)) {
    /* cancelled before it started (weft_run resumed it with DISCARD): it
     * released what it owned and ends CANCELLED */
    f->flags &= ~WEFT_FLAG_CANCEL_PENDING;
    f->status = WEFT_RUNNING;
    weft_raise_cstr(rt, f, &weft_kind_Cancelled, "cancelled", NULL);
    return weft_failed(rt, f);
  }
  weft_frame *p = f->parent;
  if (p && (p->flags & WEFT_FLAG_AWAIT_JOIN)) {
    weft_join *j = weft__await_slot(p);
    if (j->mode == WEFT_JOIN_RACE && j->winner) {
      /* a race loser that succeeded anyway: treated as cancelled, so its
       * compensations run (DESIGN 2.4) */
      f->status = WEFT_RUNNING;
      weft_raise_cstr(rt, f, &weft_kind_Cancelled, "cancelled", NULL);
      return weft_failed(rt, f);
    }
    /* a branch keeps its stack until the parent adopts it (weft_comp_adopt) */
    return weft__finish(rt, f);
  }
  if (p && (p->flags & WEFT_FLAG_DEADLINE_FIRED)) {
    /* it beat nobody: the deadline passed first, so like a race loser it is
     * treated as cancelled and its compensations run */
    f->status = WEFT_RUNNING;
    weft_raise_cstr(rt, f, &weft_kind_Cancelled, "cancelled", NULL);
    return weft_failed(rt, f);
  }
  if (f->flags & WEFT_FLAG_COMPS) weft__comps_handoff(rt, f);
  return weft__finish(rt, f);
}

weft_frame *weft_done(weft_rt *rt, weft_frame *f) {
  f->status = WEFT_DONE;
  if (WEFT__UNLIKELY(f->flags & (WEFT_FLAG_COMPS | WEFT_FLAG_CANCEL_PENDING))) return done_slow(rt, f);
  weft_frame *p = f->parent;
  if (!p) {
    if (WEFT__UNLIKELY(rt->trace)) weft__trace_end(rt, f);
    if (WEFT__UNLIKELY(rt->roots.n)) weft__root_finished(rt, f);
    return NULL;
  }
  uint32_t pf = p->flags;
  if (pf & WEFT_FLAG_AWAIT_JOIN) {
    /* a branch of all / all for / settle (`all for` fans out millions):
     * counted straight away; a race's late finisher takes the slow path */
    if (WEFT__UNLIKELY(((weft_join *)weft__await_slot(p))->mode == WEFT_JOIN_RACE)) return done_slow(rt, f);
    if (WEFT__UNLIKELY(rt->trace)) weft__trace_end(rt, f);
    return weft__join_branch_finished(rt, p, f);
  }
  if (WEFT__UNLIKELY(pf & (WEFT_FLAG_FORWARDED | WEFT_FLAG_DEADLINE_FIRED))) return done_slow(rt, f);
  if (WEFT__UNLIKELY(rt->trace)) weft__trace_end(rt, f);
  p->flags = pf & ~WEFT_FLAG_AWAIT_CHILD;
  return p;
}

weft_frame *weft_failed(weft_rt *rt, weft_frame *f) {
  if (WEFT__UNLIKELY(!f->failure)) /* keep the invariant: FAILED owns a failure */
    weft_raise_cstr(rt, f, &weft_kind_Error, "workflow failed without a failure", NULL);
  if (WEFT__UNLIKELY(f->flags & WEFT_FLAG_COMPS)) return weft__comps_unwind(rt, f);
  f->status = weft__failed_status(f->failure);
  return weft__finish(rt, f);
}

/* ---- turns -------------------------------------------------------------------------- */

static void fire_due(weft_rt *rt) {
  weft_timer *t = weft__wheel_advance(&rt->wheel, rt->now_us);
  while (t) {
    weft_timer *n = t->next;
    t->next = NULL;
    rt->timers_fired++;
    if (t->owner) {
      if (WEFT__UNLIKELY(t->owner->flags & WEFT_FLAG_DEADLINE)) weft__deadline_due(rt, t);
      else weft_ready_fifo(rt, t->owner);
    }
    t = n;
  }
}

/* libuv only wakes us up; the wheel is examined after uv_run returns. */
static void uvtimer_cb(uv_timer_t *h) { (void)h; }

/* Arms the uv timer for the wheel's next expiry (a lower bound, in whole
 * ms, rounded up) so a blocking uv_run wakes for it; returns that bound. */
static uint64_t arm_wakeup(weft_rt *rt) {
  uint64_t b = weft__wheel_next_bound(&rt->wheel);
  uint64_t ms = b > rt->now_us ? (b - rt->now_us + 999) / 1000 : 0;
  uv_update_time(&rt->loop);
  uv_timer_start(&rt->uvtimer, uvtimer_cb, ms, 0);
  return b;
}

/* Ends a turn and starts the next: polls I/O, reads the clock, fires timers
 * and, while nothing is runnable, waits (real time) or jumps the clock to the
 * next timer (virtual time). Returns the next frame, or NULL on deadlock. */
static weft_frame *next_turn(weft_rt *rt) {
  if (rt->deadlines_due) weft__deadlines_fire(rt);
  if (uv_loop_alive(&rt->loop)) uv_run(&rt->loop, UV_RUN_NOWAIT);
  clock_read(rt);
  fire_due(rt);
  weft_frame *f;
  for (;;) {
    if (WEFT__UNLIKELY(rt->interrupted) && !rt->cancel) weft_cancel(rt);
    if ((f = runq_pop(rt))) break;
    if (rt->deadlines_due) { /* nothing else ran: the deadlines act now */
      weft__deadlines_fire(rt);
      continue;
    }
    if (rt->opts.virtual_time) {
      /* DESIGN 2.8: when nothing is runnable the clock jumps to the next
       * timer -- unless an activity call is in flight: real work (a
       * process, a file read, a C timer) takes real time, so meanwhile the
       * clock follows real time and a `timeout` around it means what it
       * says. */
      if (rt->wheel.count && weft__acts_in_flight(rt)) {
        uint64_t b = arm_wakeup(rt);
        uint64_t t0 = uv_hrtime();
        uv_run(&rt->loop, UV_RUN_ONCE);
        uint64_t now = rt->now_us + (uv_hrtime() - t0) / 1000;
        rt->now_us = now < b ? now : b;
      } else if (rt->wheel.count) {
        /* Nobody can observe the clock between here and the next fired
         * timer, so stepping through lower bounds is invisible. */
        uint64_t b = weft__wheel_next_bound(&rt->wheel);
        if (b > rt->now_us) rt->now_us = b;
      } else if (uv_loop_alive(&rt->loop)) {
        uv_run(&rt->loop, UV_RUN_ONCE);
      } else {
        return NULL;
      }
    } else {
      if (rt->wheel.count) {
        arm_wakeup(rt);
      } else {
        uv_timer_stop(&rt->uvtimer);
      }
      if (!uv_loop_alive(&rt->loop)) return NULL;
      uv_run(&rt->loop, UV_RUN_ONCE);
      clock_read(rt);
    }
    fire_due(rt);
  }
  return f;
}

/* A resume function that started a child by returning it (the child
 * pointer in its await slot) without weft_call: park it the same way. */
static void implicit_call(weft_rt *rt, weft_frame *f, weft_frame *child) {
  if (f->fn->await_off && *(weft_frame **)weft__await_slot(f) == child) weft_call(rt, f, child);
}

/* Not before the first root is done: a stop condition of weft__drive. */
static inline bool drive_done(const weft_rt *rt, const weft_frame *root) {
  return root ? root->status != WEFT_RUNNING : rt->roots_running == 0;
}

/* The scheduler loop (weft_run and the embedding API of embed.c): runs cur
 * (NULL: whatever is runnable) and everything it wakes, turn after turn,
 * until root finished (root NULL: every root started with weft_root_start).
 * once: a single turn that never blocks -- poll I/O, fire due timers (with
 * virtual time, jump to the next timer when nothing is runnable), run what
 * is runnable for at most one turn's budget. Returns 0, or WEFT_EDEADLK when
 * nothing is runnable, no timer armed and no libuv handle active. */
int weft__drive(weft_rt *rt, weft_frame *cur, const weft_frame *root, bool once) {
  int rc = 0;
  rt->driving++;
  weft_rt *outer_rt = current_rt;
  current_rt = rt;
  clock_read(rt);
  fire_due(rt);
  if (once && !cur) {
    if (rt->deadlines_due) weft__deadlines_fire(rt); /* the previous turn's */
    if (uv_loop_alive(&rt->loop)) uv_run(&rt->loop, UV_RUN_NOWAIT);
    clock_read(rt);
    fire_due(rt);
    if (WEFT__UNLIKELY(rt->interrupted) && !rt->cancel) weft_cancel(rt);
    cur = runq_pop(rt);
    while (!cur && (rt->deadlines_due ||
                    (rt->opts.virtual_time && rt->wheel.count && !weft__acts_in_flight(rt)))) {
      if (rt->deadlines_due) {
        weft__deadlines_fire(rt);
      } else { /* DESIGN 2.8 */
        uint64_t b = weft__wheel_next_bound(&rt->wheel);
        if (b > rt->now_us) rt->now_us = b;
        fire_due(rt);
      }
      cur = runq_pop(rt);
    }
    if (!cur && !drive_done(rt, root) && !rt->wheel.count && !uv_loop_alive(&rt->loop))
      rc = WEFT_EDEADLK;
  }
  for (;;) {
    uint32_t left = WEFT__TURN_BUDGET;
    while (cur) {
      if (WEFT__UNLIKELY(cur->status != WEFT_RUNNING))
        weft__internal_error("resuming finished workflow %s",
                             cur->fn && cur->fn->name ? cur->fn->name : "?");
      /* cancelled before it started: it never runs its body, only releases
       * what it owns (and then ends CANCELLED, see weft_done) */
      if (WEFT__UNLIKELY(cur->flags & WEFT_FLAG_CANCEL_PENDING) && cur->state == 0 &&
          !(cur->flags & WEFT_FLAG_SHIELD_MASK))
        cur->state = WEFT_STATE_DISCARD;
      if (WEFT__UNLIKELY(rt->trace)) weft__trace_resume(rt, cur);
      weft_frame *prev = cur;
      cur = cur->fn->resume(rt, cur);
      left--;
      if (cur && WEFT__UNLIKELY(cur->parent == prev) && !(prev->flags & WEFT_FLAG_AWAIT_MASK))
        implicit_call(rt, prev, cur);
      if (!cur) {
        if (drive_done(rt, root)) break;
        cur = runq_pop(rt);
      }
      if (WEFT__UNLIKELY(left == 0)) {
        if (cur && cur->state == 0 && cur->parent && (cur->parent->flags & WEFT_FLAG_AWAIT_JOIN)) {
          /* a join's first branch: its siblings are queued already, so it
           * starts now to keep the start order */
          left = 1;
        } else {
          /* Preempt at this suspension point: cur waits behind what is
           * queued (and behind the timers this turn boundary fires). */
          if (cur) weft_ready_fifo(rt, cur);
          cur = NULL;
        }
      }
    }
    rt->resumes += WEFT__TURN_BUDGET - left;
    if (once || drive_done(rt, root)) break;
    cur = next_turn(rt);
    if (!cur) {
      rc = WEFT_EDEADLK;
      break;
    }
  }
  uv_timer_stop(&rt->uvtimer);
  rt->driving--;
  current_rt = outer_rt;
  return rc;
}

int weft_run(weft_rt *rt, weft_frame *root) {
  if (root->status != WEFT_RUNNING) return 0;
  weft_frame *outer = rt->root;
  rt->root = root;
  if (rt->cancel) weft__cancel_root(rt); /* requested before the run */
  int rc = 0;
  if (weft__drive(rt, root, root, false) == WEFT_EDEADLK) {
    fflush(stdout);
    fputs("weft: internal error: deadlock: no runnable workflow and nothing pending\n", stderr);
    weft__acts_report_pending(rt, stderr);
    rc = WEFT_EXIT_INTERNAL;
  }
  rt->root = outer;
  return rc;
}
