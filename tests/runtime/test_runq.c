/* test_runq.c -- run-queue order, determinism and starvation-freedom. */
#include "test_util.h"
#include "weft_private.h"

static weft_frame *noop_resume(weft_rt *rt, weft_frame *f) { return weft_done(rt, f); }
static const weft_fninfo noop_info = {noop_resume, 64, 0, "noop", "t.weft"};

static weft_frame *mk(weft_rt *rt) {
  weft_frame *f = weft_frame_alloc(rt, 64);
  f->fn = &noop_info;
  return f;
}

static void test_fifo_order(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *f[5];
  for (int i = 0; i < 5; i++) f[i] = mk(rt);
  for (int i = 0; i < 5; i++) {
    weft_ready_fifo(rt, f[i]);
    assert_true(f[i]->flags & WEFT_FLAG_QUEUED);
  }
  for (int i = 0; i < 5; i++) {
    weft_frame *g = weft__runq_pop(rt);
    assert_ptr_equal(g, f[i]);
    assert_false(g->flags & WEFT_FLAG_QUEUED);
    assert_null(g->qnext);
  }
  assert_null(weft__runq_pop(rt));
  /* queue is reusable after draining */
  weft_ready_fifo(rt, f[3]);
  assert_ptr_equal(weft__runq_pop(rt), f[3]);
  assert_null(weft__runq_pop(rt));
  for (int i = 0; i < 5; i++) weft_frame_free(rt, f[i]);
  weft_rt_free(rt);
}

/* weft_ready takes the "next" slot; a displaced occupant goes to the FIFO tail. */
static void test_next_slot(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *a = mk(rt), *b = mk(rt), *x = mk(rt), *y = mk(rt), *c = mk(rt);
  weft_ready_fifo(rt, x);
  weft_ready_fifo(rt, y);
  weft_ready(rt, a);
  assert_ptr_equal(weft__runq_pop(rt), a); /* LIFO-first */
  assert_ptr_equal(weft__runq_pop(rt), x);
  weft_ready(rt, a);
  weft_ready(rt, b); /* a -> FIFO tail, behind y */
  weft_ready_fifo(rt, c);
  assert_ptr_equal(weft__runq_pop(rt), b);
  assert_ptr_equal(weft__runq_pop(rt), y);
  assert_ptr_equal(weft__runq_pop(rt), a);
  assert_ptr_equal(weft__runq_pop(rt), c);
  assert_null(weft__runq_pop(rt));
  weft_frame *all[] = {a, b, x, y, c};
  for (int i = 0; i < 5; i++) weft_frame_free(rt, all[i]);
  weft_rt_free(rt);
}

/* A frame keeps refilling the next slot: the FIFO head still gets its turn
 * within WEFT__NEXT_STREAK_MAX + 1 pops. */
static void test_slot_cannot_starve_fifo(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *victim = mk(rt), *p = mk(rt), *q = mk(rt);
  weft_ready_fifo(rt, victim);
  weft_ready(rt, p);
  unsigned pops = 0;
  for (;;) {
    weft_frame *g = weft__runq_pop(rt);
    pops++;
    if (g == victim) break;
    weft_ready(rt, g == p ? q : p); /* ping-pong through the slot */
  }
  assert_int_equal(pops, WEFT__NEXT_STREAK_MAX + 1);
  /* drain the slot */
  assert_non_null(weft__runq_pop(rt));
  assert_null(weft__runq_pop(rt));
  weft_frame_free(rt, victim);
  weft_frame_free(rt, p);
  weft_frame_free(rt, q);
  weft_rt_free(rt);
}

static int double_ready_child(void *arg) {
  (void)arg;
  weft_rt *rt = virtual_rt();
  weft_frame *f = mk(rt);
  weft_ready_fifo(rt, f);
  weft_ready(rt, f); /* internal error: exits 70 */
  return 0;
}

static void test_double_ready_is_internal_error(void **state) {
  (void)state;
  char *out;
  assert_int_equal(run_child(double_ready_child, NULL, &out), WEFT_EXIT_INTERNAL);
  assert_string_equal(out, "weft: internal error: workflow noop made ready twice\n");
  free(out);
}

/* ---- a pseudo-random society of frames, run twice ---------------------------------
 * Each actor wakes, appends to the trace, then picks (from a seeded RNG held
 * in its frame) whether to sleep, yield, wake a sibling through weft_ready, or
 * finish. Two runs with the same seed must produce identical traces. */

typedef struct actor {
  weft_frame h;
  weft_timer timer;
  uint64_t rng;
  int id, steps;
  struct actor *sibling; /* woken through weft_ready */
  bool parked;          /* parked with nothing pending: only a sibling wakes it */
} actor;

typedef struct trace {
  char buf[1 << 16];
  size_t n;
} trace;
static trace *cur_trace;

static uint64_t actor_rand(actor *a) {
  a->rng ^= a->rng << 13;
  a->rng ^= a->rng >> 7;
  a->rng ^= a->rng << 17;
  return a->rng;
}

/* Deadlock-free by construction: at most live-1 actors are parked, and an
 * actor that finishes wakes every parked one. */
static int live_actors, parked_actors;
static actor **all_actors;
static int nall_actors;

static void wake(weft_rt *rt, actor *a) {
  a->parked = false;
  parked_actors--;
  weft_ready(rt, &a->h);
}

static weft_frame *actor_resume(weft_rt *rt, weft_frame *f) {
  actor *a = (actor *)f;
  cur_trace->n += (size_t)snprintf(cur_trace->buf + cur_trace->n, sizeof cur_trace->buf - cur_trace->n,
                                   "%d@%llu ", a->id, (unsigned long long)weft_now_us(rt));
  if (++a->steps >= 40) {
    live_actors--;
    for (int i = 0; i < nall_actors; i++)
      if (all_actors[i]->parked) wake(rt, all_actors[i]);
    return weft_done(rt, f);
  }
  switch (actor_rand(a) % 4) {
  case 0: weft_sleep(rt, f, &a->timer, (int64_t)(actor_rand(a) % 5000)); return NULL;
  case 1: weft_sleep(rt, f, &a->timer, 0); return NULL;
  case 2:
    if (a->sibling->parked) { /* hand over: sibling first, then us */
      wake(rt, a->sibling);
      weft_ready_fifo(rt, f);
      return NULL;
    }
    if (parked_actors + 1 < live_actors) {
      a->parked = true;
      parked_actors++;
      return NULL;
    }
    weft_sleep(rt, f, &a->timer, 1);
    return NULL;
  default: weft_sleep(rt, f, &a->timer, (int64_t)(actor_rand(a) % 100000)); return NULL;
  }
}
static const weft_fninfo actor_info = {actor_resume, sizeof(actor), 0, "actor", "t.weft"};

typedef struct society {
  weft_frame h;
  int n, done;
  actor *actors[32];
} society;

static weft_frame *society_resume(weft_rt *rt, weft_frame *f) {
  society *s = (society *)f;
  if (f->state == 0) {
    f->state = 1;
    for (int i = 0; i < s->n; i++) weft_ready_fifo(rt, &s->actors[i]->h);
    return NULL;
  }
  if (++s->done < s->n) return NULL;
  return weft_done(rt, f);
}
static const weft_fninfo society_info = {society_resume, sizeof(society), 0, "society", "t.weft"};

static void run_society(uint64_t seed, trace *t) {
  cur_trace = t;
  t->n = 0;
  weft_rt *rt = virtual_rt();
  society *s = weft_frame_alloc(rt, sizeof *s);
  s->h.fn = &society_info;
  s->n = 32;
  live_actors = 32;
  parked_actors = 0;
  all_actors = s->actors;
  nall_actors = 32;
  for (int i = 0; i < 32; i++) {
    actor *a = weft_frame_alloc(rt, sizeof *a);
    a->h.fn = &actor_info;
    a->h.parent = &s->h;
    a->id = i;
    a->rng = seed * 2654435761u + (uint64_t)i * 0x9e3779b97f4a7c15ull + 1;
    s->actors[i] = a;
  }
  for (int i = 0; i < 32; i++) s->actors[i]->sibling = s->actors[(i + 1) % 32];
  assert_int_equal(weft_run(rt, &s->h), 0);
  assert_int_equal(s->h.status, WEFT_DONE);
  for (int i = 0; i < 32; i++) {
    assert_int_equal(s->actors[i]->steps, 40);
    weft_frame_free(rt, s->actors[i]);
  }
  weft_frame_free(rt, s);
  weft_stats st;
  weft_rt_stats(rt, &st);
  assert_int_equal(st.frames_live, 0);
  weft_rt_free(rt);
}

static void test_determinism(void **state) {
  (void)state;
  uint64_t seed = rng_seed("test_determinism");
  trace *a = malloc(sizeof *a), *b = malloc(sizeof *b);
  for (int round = 0; round < 3; round++) {
    run_society(seed + (uint64_t)round, a);
    run_society(seed + (uint64_t)round, b);
    assert_true(a->n > 32 * 40 * 2);
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->buf, b->buf, a->n);
  }
  free(a);
  free(b);
}

/* ---- fairness through weft_run ------------------------------------------------------ */

typedef struct busy {
  weft_frame h;
  weft_timer timer;
  int64_t count;
  weft_frame *child;
} busy;

static volatile bool flag;
static int64_t yields_before_flag;

static weft_frame *leaf_resume(weft_rt *rt, weft_frame *f) { return weft_done(rt, f); }
static const weft_fninfo leaf_info = {leaf_resume, 48, 0, "leaf", "t.weft"};

/* Calls child workflows in a loop (never parks) until `flag` is set. */
static weft_frame *spinner_resume(weft_rt *rt, weft_frame *f) {
  busy *b = (busy *)f;
  if (f->state == 1) weft_frame_free(rt, b->child);
  if (flag) return weft_done(rt, f);
  b->count++;
  b->child = weft_frame_alloc(rt, 48);
  b->child->fn = &leaf_info;
  b->child->parent = f;
  f->state = 1;
  return b->child;
}
static const weft_fninfo spinner_info = {spinner_resume, sizeof(busy), 0, "spinner", "t.weft"};

/* Yields with sleep(0) until `flag` is set. */
static weft_frame *yielder_resume(weft_rt *rt, weft_frame *f) {
  busy *b = (busy *)f;
  if (flag) return weft_done(rt, f);
  b->count++;
  weft_sleep(rt, f, &b->timer, 0);
  return NULL;
}
static const weft_fninfo yielder_info = {yielder_resume, sizeof(busy), 0, "yielder", "t.weft"};

/* Sleeps `count` us, then sets the flag. */
static weft_frame *setter_resume(weft_rt *rt, weft_frame *f) {
  busy *b = (busy *)f;
  if (f->state == 0) {
    f->state = 1;
    weft_sleep(rt, f, &b->timer, b->count);
    return NULL;
  }
  flag = true;
  return weft_done(rt, f);
}
static const weft_fninfo setter_info = {setter_resume, sizeof(busy), 0, "setter", "t.weft"};

typedef struct pair {
  weft_frame h;
  busy *a, *b;
  int done;
} pair;
static weft_frame *pair_resume(weft_rt *rt, weft_frame *f) {
  pair *p = (pair *)f;
  if (f->state == 0) {
    f->state = 1;
    weft_ready_fifo(rt, &p->a->h);
    weft_ready_fifo(rt, &p->b->h);
    return NULL;
  }
  if (f->state == 1 && p->a->h.status != WEFT_RUNNING && yields_before_flag < 0)
    yields_before_flag = p->a->count;
  return ++p->done == 2 ? weft_done(rt, f) : NULL;
}
static const weft_fninfo pair_info = {pair_resume, sizeof(pair), 0, "pair", "t.weft"};

static int64_t run_pair(weft_rt *rt, const weft_fninfo *busy_fn, int64_t setter_us) {
  flag = false;
  yields_before_flag = -1;
  pair *p = weft_frame_alloc(rt, sizeof *p);
  p->h.fn = &pair_info;
  p->a = weft_frame_alloc(rt, sizeof(busy));
  p->a->h.fn = busy_fn;
  p->a->h.parent = &p->h;
  p->b = weft_frame_alloc(rt, sizeof(busy));
  p->b->h.fn = &setter_info;
  p->b->h.parent = &p->h;
  p->b->count = setter_us;
  assert_int_equal(weft_run(rt, &p->h), 0);
  assert_true(flag);
  int64_t n = p->a->count;
  weft_frame_free(rt, &p->a->h);
  weft_frame_free(rt, &p->b->h);
  weft_frame_free(rt, &p->h);
  return n;
}

/* Real time: a frame that never parks (a loop of child calls) cannot keep a
 * 2ms timer from firing -- turns are bounded, so the clock is read and timers
 * fire. Without preemption this test would spin forever (timeout). */
static void test_busy_chain_does_not_starve_timer(void **state) {
  (void)state;
  alarm(30); /* a starved timer would spin forever: fail fast instead */
  weft_rt *rt = weft_rt_new(NULL);
  int64_t n = run_pair(rt, &spinner_info, 2000);
  assert_true(n > 0);
  n = run_pair(rt, &yielder_info, 2000);
  assert_true(n > 0);
  weft_stats st;
  weft_rt_stats(rt, &st);
  assert_int_equal(st.frames_live, 0);
  weft_rt_free(rt);
  alarm(0);
}

/* Virtual time: sleep(0) goes through the FIFO, so a sibling that is ready
 * (here: its sleep(0)) runs between two yields of a yielding loop. */
static void test_yield_lets_sibling_run(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  int64_t n = run_pair(rt, &yielder_info, 0);
  assert_true(n >= 1 && n <= 2);
  weft_rt_free(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fifo_order),
      cmocka_unit_test(test_next_slot),
      cmocka_unit_test(test_slot_cannot_starve_fifo),
      cmocka_unit_test(test_double_ready_is_internal_error),
      cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_busy_chain_does_not_starve_timer),
      cmocka_unit_test(test_yield_lets_sibling_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
