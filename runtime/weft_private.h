/* weft_private.h -- internals shared by libweft's sources (and its unit tests).
 * Not installed; nothing here is ABI. */
#ifndef WEFT_PRIVATE_H
#define WEFT_PRIVATE_H

#include "weft.h"

#include <signal.h>
#include <uv.h>

#if defined(__GNUC__)
#define WEFT__LIKELY(x) __builtin_expect(!!(x), 1)
#define WEFT__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define WEFT__NORETURN __attribute__((noreturn))
#define WEFT__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define WEFT__LIKELY(x) (x)
#define WEFT__UNLIKELY(x) (x)
#define WEFT__NORETURN
#define WEFT__PRINTF(a, b)
#endif

/* AddressSanitizer hooks: pooled frames are poisoned while on a free list so
 * use-after-free of a frame is caught even though the memory is recycled. */
#if defined(__SANITIZE_ADDRESS__)
#define WEFT__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT__ASAN 1
#endif
#endif
#ifdef WEFT__ASAN
#include <sanitizer/asan_interface.h>
#define WEFT__POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define WEFT__UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define WEFT__POISON(p, n) ((void)(p), (void)(n))
#define WEFT__UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Prints "weft: internal error: <msg>" to stderr (after flushing stdout) and
 * exits with WEFT_EXIT_INTERNAL. For states the runtime cannot recover from. */
WEFT__NORETURN void weft__internal_error(const char *fmt, ...) WEFT__PRINTF(1, 2);
void *weft__xmalloc(size_t n);

/* Pointer-keyed hash table of fixed-size entries whose FIRST member is the
 * key (`const void *`; NULL marks an empty slot): linear probing with
 * backward-shift deletion, capacity a power of two (0 until the first add).
 * Used for frame -> compensation stack (comp.c) and frame -> open span
 * (trace.c). Entry pointers are valid until the next add or del. */
typedef struct weft__ptrmap {
  char *v;
  size_t cap, n, esize;
} weft__ptrmap;
void *weft__ptrmap_find(const weft__ptrmap *m, const void *key);
/* The entry of key; a new zero-filled one (key set) when it is absent. */
void *weft__ptrmap_add(weft__ptrmap *m, const void *key, size_t esize);
void weft__ptrmap_del(weft__ptrmap *m, void *entry);
static inline void *weft__ptrmap_slot(const weft__ptrmap *m, size_t i) { return m->v + i * m->esize; }
static inline const void *weft__ptrmap_key(const void *entry) { return *(const void *const *)entry; }
void weft__ptrmap_free(weft__ptrmap *m);
void *weft__xcalloc(size_t n, size_t m);
void *weft__xrealloc(void *p, size_t n);
bool weft__env_flag(const char *name); /* set, non-empty and not "0" */

/* ---- frame.c: size-class frame pool --------------------------------------- */

#define WEFT__FRAME_GRAIN 16u
#define WEFT__FRAME_NCLASSES (WEFT_FRAME_POOL_MAX / WEFT__FRAME_GRAIN)

typedef struct weft__chunk weft__chunk;
typedef struct weft__bigframe weft__bigframe;

typedef struct weft__frame_pool {
  void *free[WEFT__FRAME_NCLASSES]; /* class i holds (i+1)*16-byte blocks; link in the first word */
  char *bump, *bump_end;            /* uncarved rest of the newest chunk */
  weft__chunk *chunks;              /* every chunk, freed by weft__pool_destroy */
  size_t next_chunk;                /* size of the next chunk (grows geometrically) */
  weft__bigframe *big;              /* live malloc'd frames (> WEFT_FRAME_POOL_MAX), doubly linked */
  /* live = alloc - freed: one counter per path (two adjacent counters both
   * bumped on alloc get vectorised into a load that stalls on the free
   * path's store) */
  uint64_t frames_alloc, frames_freed;
} weft__frame_pool;

void weft__pool_init(weft__frame_pool *p);
void weft__pool_destroy(weft__frame_pool *p);

/* ---- timer.c: hierarchical timing wheel ------------------------------------
 *
 * 1 ms ticks; WEFT__WHEEL_LEVELS levels of 64 slots (level l holds timers
 * between 64^l and 64^(l+1) ticks ahead, in slot (tick >> 6l) & 63) and an
 * overflow list beyond 64^6 ticks (~2.2 years), re-examined whenever the top
 * level wraps. Start and cancel are O(1); advancing skips empty stretches by
 * jumping to the next cascade boundary, so virtual-time jumps over years are
 * cheap. Timers due in one advance are returned sorted by (expiry, seq).
 *
 * Slot lists are circular with sentinel nodes; a timer is armed iff its prev
 * is non-NULL. Slot occupancy bitmaps are exact: cancel recognises that a
 * slot became empty because its neighbours are then both the sentinel.
 */

#define WEFT__WHEEL_BITS 6
#define WEFT__WHEEL_SLOTS 64
#define WEFT__WHEEL_LEVELS 6
#define WEFT__TICK_US 1000u

typedef struct weft__wheel {
  uint64_t cur;  /* ticks < cur are fully fired; tick cur was entered (cascaded) */
  uint64_t seq;  /* next start sequence number */
  uint64_t count; /* armed timers */
  uint64_t occupied[WEFT__WHEEL_LEVELS];
  /* LEVELS*64 slot sentinels, then the overflow sentinel */
  weft_timer slots[WEFT__WHEEL_LEVELS * WEFT__WHEEL_SLOTS + 1];
} weft__wheel;

void weft__wheel_init(weft__wheel *w, uint64_t now_us);
void weft__wheel_start(weft__wheel *w, weft_timer *t, uint64_t expiry_us); /* assigns t->seq */
void weft__wheel_cancel(weft__wheel *w, weft_timer *t);
/* Moves the wheel to now_us (never backwards) and returns the timers now due
 * (expiry_us <= now_us), disarmed, sorted by (expiry, seq), linked through next. */
weft_timer *weft__wheel_advance(weft__wheel *w, uint64_t now_us);
/* Exact earliest expiry, or UINT64_MAX if empty. O(levels*slot length). */
uint64_t weft__wheel_next_expiry(const weft__wheel *w);
/* Cheap lower bound of the earliest expiry (UINT64_MAX if empty), > the
 * current time after an advance. Advancing to it fires a timer or moves a
 * group of timers down a level, so repeating bound+advance always progresses. */
uint64_t weft__wheel_next_bound(const weft__wheel *w);

/* ---- sched.c: the runtime --------------------------------------------------- */

struct weft_rt {
  /* run queue: see weft_ready / weft_ready_fifo */
  weft_frame *next;                /* LIFO-first slot */
  weft_frame *fifo_head, *fifo_tail;
  weft_frame *starts;              /* joining frames with branches not started yet, newest first
                                      (linked through qnext; join.c) */
  uint32_t next_streak;            /* consecutive pops from the next slot or the starts */

  uint64_t now_us;                 /* runtime clock, read once per turn */
  uint64_t wall_base_us;           /* real mode: wall clock at start */
  uint64_t mono_base_ns;           /* real mode: uv_hrtime() at start */
  weft_frame *root;                /* frame weft_run is driving */
  int cancel;                      /* weft_cancel was called */
  volatile sig_atomic_t interrupted; /* set by weft_main's SIGINT/SIGTERM handler */
  uint64_t resumes, timers_fired;
  weft_rt_options opts;

  weft__frame_pool pool;
  weft__wheel wheel;
  /* deadline timers that fired this turn, acted on at its end (cancel.c),
   * doubly linked through the timers' next/prev */
  weft_timer *deadlines_due;
  weft__ptrmap comps;              /* comp.c: owner frame -> compensation stack */

  struct weft__trace *trace;       /* trace.c: NULL when tracing is off (every hook tests it) */
  struct weft__std *std;           /* stdlib/native: standard library state, NULL until first use */

  /* embed.c: roots started with weft_root_start (frame -> weft__rootent) */
  weft__ptrmap roots;
  uint32_t roots_running;          /* of them, not finished */
  uint64_t root_seq;               /* start order, for deterministic cancel-all */
  uint32_t driving;                /* nesting depth of weft__drive (re-entry guard) */

  struct weft__act *acts, *acts_tail; /* activity.c: calls not finished yet, in start order */
  uint64_t rng[4];                 /* random.c: xoshiro256** state (never all zero) */

  uv_loop_t loop;
  uv_timer_t uvtimer;              /* armed for the wheel's next expiry while idle (real mode) */
};

weft_frame *weft__runq_pop(weft_rt *rt); /* for tests: next frame the scheduler would run */
uint64_t weft__clock_peek(const weft_rt *rt); /* the clock now, the turn's clock unchanged */

static inline void *weft__await_slot(const weft_frame *f) { return (char *)f + f->fn->await_off; }
/* cancel.c: a deadline timer fired (queued for the turn's end); the turn
 * ended (cancels the children whose deadline passed) */
void weft__deadline_due(weft_rt *rt, weft_timer *t);
void weft__deadlines_fire(weft_rt *rt);

/* A frame finished (status set): routes it to its parent -- clears the
 * parent's AWAIT_CHILD, or counts it in the parent's join -- and returns the
 * frame to run next (the parent, or NULL). */
weft_frame *weft__finish(weft_rt *rt, weft_frame *f);
/* join.c: b (status set) finished while its parent p is parked on a join. */
weft_frame *weft__join_branch_finished(weft_rt *rt, weft_frame *p, weft_frame *b);
/* join.c: the next branch to start, from the newest join on rt->starts. */
weft_frame *weft__join_next_start(weft_rt *rt);
/* cancel.c: weft_cancel_frame(rt->root) */
void weft__cancel_root(weft_rt *rt);
/* cancel.c: raises the Cancelled failure a cancellation delivers into f */
void weft__raise_cancelled(weft_rt *rt, weft_frame *f);

/* ---- activity.c: C activity calls ------------------------------------------------ */
typedef struct weft__act weft__act;
/* weft_cancel_frame reached f, parked on an activity call (not shielded):
 * calls its cancel hook (f unwinds at once) or marks the call cancelled (f
 * waits for the completion; a blocking call not started yet never runs). */
void weft__act_cancel(weft_rt *rt, weft_frame *f);
/* weft_rt_free: every unfinished call is abandoned (cancel hooks called,
 * arguments released; blocking ones when their work returns); later
 * completions are stale (WEFT_EINVAL). */
void weft__acts_abandon(weft_rt *rt);
/* Deadlock report: one line per call still waiting for its completion. */
void weft__acts_report_pending(weft_rt *rt, FILE *out);
/* Some call is started and not completed: virtual time must not jump. */
bool weft__acts_in_flight(const weft_rt *rt);

/* ---- random.c ---------------------------------------------------------------------- */
void weft__rng_seed(weft_rt *rt, uint64_t seed); /* seed 0 = 1 */

/* sched.c: the scheduler loop behind weft_run, weft_rt_run, weft_rt_run_once
 * and weft_rt_run_until (see there); 0 or WEFT_EDEADLK. */
int weft__drive(weft_rt *rt, weft_frame *cur, const weft_frame *root, bool once);
/* embed.c: a root without parent finished (status final): counted if it is
 * one of rt->roots. */
void weft__root_finished(weft_rt *rt, weft_frame *f);
/* embed.c: weft_cancel: every running root, in start order. */
void weft__roots_cancel(weft_rt *rt);
/* embed.c: weft_rt_free: releases what finished roots own, drops the table. */
void weft__roots_destroy(weft_rt *rt);

/* comp.c: slow paths of weft_done / weft_failed for frames with WEFT_FLAG_COMPS */
void weft__comps_handoff(weft_rt *rt, weft_frame *f);          /* success: to parent, or discard at root */
weft_frame *weft__comps_unwind(weft_rt *rt, weft_frame *f);    /* failure: returns the driver frame */
void weft__comps_destroy(weft_rt *rt);
void weft__comps_drop(weft_rt *rt, weft_frame *f);            /* frame freed with a stack: discard it */

/* Resumes between scheduler turns when frames stay runnable: bounds how long
 * timers and I/O wait behind a busy chain of frames. */
#define WEFT__TURN_BUDGET 1024u
/* Consecutive pops from the next slot before the FIFO head gets a turn. */
#define WEFT__NEXT_STREAK_MAX 16u

/* ---- stdlib/native/std.c: per-runtime state of the standard library ------------
 * weft_rt_free calls weft__std_free before it closes the loop's handles. */
typedef struct weft__std weft__std;
void weft__std_free(weft_rt *rt);

/* ---- trace.c: --weft-trace / WEFT_TRACE ------------------------------------------
 * Hooks are called only when rt->trace is set (the call sites test it). */
typedef struct weft__trace weft__trace;
bool weft__trace_open(weft_rt *rt, const char *path); /* false (reported) if path cannot be written */
void weft__trace_close(weft_rt *rt);                  /* closes open spans, writes the file, frees */
void weft__trace_resume(weft_rt *rt, weft_frame *f);  /* before each resume: opens f's span / ends a sleep */
void weft__trace_end(weft_rt *rt, weft_frame *f);     /* f's status is final: closes its span */
void weft__trace_sleep(weft_rt *rt, weft_frame *f, int64_t us);
void weft__trace_cancel(weft_rt *rt, weft_frame *f, const char *how); /* the cancellation reached f */
void weft__trace_runner_start(weft_rt *rt, weft_frame *runner, weft_frame *target);
void weft__trace_runner_end(weft_rt *rt, weft_frame *runner, uint32_t ran, uint32_t failed);
/* An activity call of f settled (status done/failed/cancelled): a span on f's lane from start_us. */
void weft__trace_activity(weft_rt *rt, weft_frame *f, const char *name, uint64_t start_us,
                          const char *status, bool blocking);
uint32_t weft__trace_lane(weft_rt *rt, const weft_frame *f); /* tests: lane of f's open span, 0 if none */
size_t weft__trace_open_spans(weft_rt *rt);                  /* tests */

/* ---- value.c / failure.c ------------------------------------------------------- */

extern int64_t weft__objects_live; /* live non-immortal values + failures */
void *weft__value_alloc(size_t size, uint16_t tag, uint16_t aux); /* rc 1, counted */

/* One line of a failure's compensation log. */
typedef struct weft__complog {
  const char *name;      /* the compensation's workflow name */
  weft_failure *failure; /* owned reference, NULL if it succeeded */
} weft__complog;

struct weft_failure {
  weft_hdr h;              /* tag WEFT_TAG_FAILURE: refcounted like any value */
  const weft_errkind *kind;
  weft_str *message;       /* owned, never NULL */
  const weft_srcloc *loc;  /* static, may be NULL */
  weft_failure *cause;     /* owned reference */
  weft_failure **attached; /* owned array of owned references */
  uint32_t nattached, cap;
  weft__complog *log;      /* compensations run while this failure unwound, in order */
  uint32_t nlog, logcap;
};
void weft__failure_log(weft_failure *e, const char *name, weft_failure *failed /* moved */);
/* Status of a frame finishing with failure e: CANCELLED for Cancelled, else FAILED. */
uint32_t weft__failed_status(const weft_failure *e);

#endif /* WEFT_PRIVATE_H */
