/* embed.c -- the embedding API: several root workflows in one runtime,
 * started, run, inspected, cancelled and freed by a C host (weft.h,
 * "Embedding").
 *
 * A root is an ordinary frame without a parent. rt->roots maps each one
 * (keyed by address, like the compensation table) to its entry: start
 * order and the kind of its result slot. Handles are validated through the
 * table, so a NULL, foreign or freed root pointer is WEFT_EINVAL, never a
 * read of freed memory. rt->roots_running counts the unfinished ones:
 * weft_done / weft__finish report a parentless frame that finished
 * (weft__root_finished), so "all finished" is a counter test.
 *
 * Running is sched.c's loop (weft__drive) with another stop condition.
 * Ownership: a root owns its parameters until it finishes (the generated
 * code releases them), then its result (DONE) or its failure
 * (FAILED/CANCELLED) until weft_root_free.
 */
#include "weft_private.h"

#include <stdlib.h>

typedef struct weft__rootent {
  const weft_frame *frame; /* key; NULL: empty slot */
  uint64_t seq;            /* start order */
  uint32_t result;         /* WEFT_RES_* of the result slot */
  bool finished;           /* counted out of rt->roots_running */
} rootent;

static rootent *find(weft_rt *rt, const weft_frame *f) {
  return rt && f ? weft__ptrmap_find(&rt->roots, f) : NULL;
}

int weft_root_start(weft_rt *rt, weft_frame *f, uint32_t result) {
  if (!rt || !f || !f->fn || !f->fn->resume || f->parent || f->state != 0 ||
      f->status != WEFT_RUNNING || (f->flags & WEFT_FLAG_QUEUED) || result > WEFT_RES_REF ||
      find(rt, f))
    return WEFT_EINVAL;
  rootent *e = weft__ptrmap_add(&rt->roots, f, sizeof *e);
  e->seq = rt->root_seq++;
  e->result = result;
  rt->roots_running++;
  weft_ready_fifo(rt, f); /* FIFO: roots start in the order they were started */
  if (rt->cancel) weft_cancel_frame(rt, f);
  return 0;
}

void weft__root_finished(weft_rt *rt, weft_frame *f) {
  rootent *e = find(rt, f);
  if (!e || e->finished) return; /* a discarded compensation, or weft_run's root */
  e->finished = true;
  rt->roots_running--;
}

/* ---- running ----------------------------------------------------------------- */

int weft_rt_run(weft_rt *rt) {
  if (rt->driving) return WEFT_EBUSY;
  if (!rt->roots_running) return 0;
  return weft__drive(rt, NULL, NULL, false);
}

int weft_rt_run_once(weft_rt *rt) {
  if (rt->driving) return WEFT_EBUSY;
  int rc = weft__drive(rt, NULL, NULL, true);
  return rc < 0 ? rc : (int)rt->roots_running;
}

int weft_rt_run_until(weft_rt *rt, weft_frame *root) {
  if (!find(rt, root)) return WEFT_EINVAL;
  if (rt->driving) return WEFT_EBUSY;
  if (root->status != WEFT_RUNNING) return 0;
  return weft__drive(rt, NULL, root, false);
}

/* ---- outcome -------------------------------------------------------------------- */

int weft_root_status(weft_rt *rt, const weft_frame *root) {
  if (!find(rt, root)) return WEFT_EINVAL;
  return (int)root->status;
}

const weft_failure *weft_root_failure(weft_rt *rt, const weft_frame *root) {
  if (!find(rt, root) || (root->status != WEFT_FAILED && root->status != WEFT_CANCELLED)) return NULL;
  return root->failure;
}

int weft_root_result(weft_rt *rt, const weft_frame *root, const weft_fninfo *fn, const void **slot) {
  if (!find(rt, root) || (fn && root->fn != fn)) return WEFT_EINVAL;
  switch (root->status) {
  case WEFT_RUNNING: return WEFT_EAGAIN;
  case WEFT_DONE:
    if (slot) *slot = (const char *)root + sizeof(weft_frame);
    return 0;
  default: return WEFT_EFAILED;
  }
}

/* ---- cancelling and freeing ------------------------------------------------------- */

int weft_root_cancel(weft_rt *rt, weft_frame *root) {
  if (!find(rt, root)) return WEFT_EINVAL;
  weft_cancel_frame(rt, root); /* nothing for a finished root */
  return 0;
}

static int by_seq(const void *a, const void *b) {
  const rootent *x = *(const rootent *const *)a, *y = *(const rootent *const *)b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void weft__roots_cancel(weft_rt *rt) {
  /* In start order, so that timers cancelled here make their frames ready
   * in a deterministic order (table order depends on addresses). Cancelling
   * never finishes a frame on the spot, so the table does not change. */
  rootent **v = weft__xmalloc(rt->roots.n * sizeof *v);
  size_t n = 0;
  for (size_t i = 0; i < rt->roots.cap; i++) {
    rootent *e = weft__ptrmap_slot(&rt->roots, i);
    if (e->frame && !e->finished) v[n++] = e;
  }
  qsort(v, n, sizeof *v, by_seq);
  for (size_t i = 0; i < n; i++) weft_cancel_frame(rt, (weft_frame *)v[i]->frame);
  free(v);
}

/* Releases what a finished root owns and frees its frame. */
static void release_root(weft_rt *rt, weft_frame *f, uint32_t result) {
  if (f->status == WEFT_DONE && (result == WEFT_RES_STR || result == WEFT_RES_REF))
    weft_release(*(void **)((char *)f + sizeof(weft_frame)));
  if (f->failure) weft_failure_free(weft_failure_take(f));
  weft_frame_free(rt, f);
}

int weft_root_free(weft_rt *rt, weft_frame *root) {
  rootent *e = find(rt, root);
  if (!e) return WEFT_EINVAL;
  if (root->status == WEFT_RUNNING) return WEFT_EBUSY;
  uint32_t result = e->result;
  weft__ptrmap_del(&rt->roots, e);
  release_root(rt, root, result);
  return 0;
}

void weft__roots_destroy(weft_rt *rt) {
  /* Finished roots the host did not free: their values go now. Running ones
   * keep theirs (their frames go with the pool; see weft__comps_destroy). */
  for (size_t i = 0; i < rt->roots.cap; i++) {
    rootent *e = weft__ptrmap_slot(&rt->roots, i);
    if (e->frame && e->frame->status != WEFT_RUNNING)
      release_root(rt, (weft_frame *)e->frame, e->result);
  }
  weft__ptrmap_free(&rt->roots);
}
