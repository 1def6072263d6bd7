/* test_timer.c -- the hierarchical timing wheel, against a brute-force model,
 * and timers driven by the scheduler under virtual time. */
#include "test_util.h"
#include "weft_private.h"

#define MS 1000ull
#define SEC (1000 * MS)
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)
#define YEAR (365 * DAY)

/* ---- model ------------------------------------------------------------------- */

enum { IDLE, ARMED, FIRED, CANCELLED };

typedef struct model {
  weft__wheel *w;
  weft_timer *t;
  int *st;
  size_t n, cap;
  uint64_t now;
  uint64_t fired, cancelled;
} model;

static void model_init(model *m, size_t cap, uint64_t now) {
  memset(m, 0, sizeof *m);
  m->w = malloc(sizeof *m->w);
  weft__wheel_init(m->w, now);
  m->t = calloc(cap, sizeof *m->t);
  m->st = calloc(cap, sizeof *m->st);
  m->cap = cap;
  m->now = now;
}

static void model_free(model *m) {
  free(m->w);
  free(m->t);
  free(m->st);
}

static size_t model_start(model *m, uint64_t expiry) {
  assert_true(m->n < m->cap);
  size_t i = m->n++;
  weft__wheel_start(m->w, &m->t[i], expiry);
  m->st[i] = ARMED;
  assert_true(weft_timer_armed(&m->t[i]));
  return i;
}

static void model_cancel(model *m, size_t i) {
  weft__wheel_cancel(m->w, &m->t[i]);
  assert_false(weft_timer_armed(&m->t[i]));
  if (m->st[i] == ARMED) {
    m->st[i] = CANCELLED;
    m->cancelled++;
  }
}

static uint64_t model_min(const model *m) {
  uint64_t best = UINT64_MAX;
  for (size_t i = 0; i < m->n; i++)
    if (m->st[i] == ARMED && m->t[i].expiry_us < best) best = m->t[i].expiry_us;
  return best;
}

static int cmp_idx(const void *a, const void *b, void *ctx);
static const model *sort_ctx;
static int cmp_idx_q(const void *a, const void *b) { return cmp_idx(a, b, NULL); }
static int cmp_idx(const void *a, const void *b, void *ctx) {
  (void)ctx;
  const weft_timer *x = &sort_ctx->t[*(const size_t *)a], *y = &sort_ctx->t[*(const size_t *)b];
  if (x->expiry_us != y->expiry_us) return x->expiry_us < y->expiry_us ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Advances wheel and model to `now`; the wheel must return exactly the armed
 * timers with expiry <= now, in (expiry, seq) order. */
static void model_advance(model *m, uint64_t now) {
  if (now < m->now) now = m->now;
  m->now = now;
  size_t *want = malloc((m->n + 1) * sizeof *want), nw = 0;
  for (size_t i = 0; i < m->n; i++)
    if (m->st[i] == ARMED && m->t[i].expiry_us <= now) want[nw++] = i;
  sort_ctx = m;
  qsort(want, nw, sizeof *want, cmp_idx_q);
  weft_timer *got = weft__wheel_advance(m->w, now);
  size_t k = 0;
  while (got) {
    weft_timer *n = got->next;
    assert_true(k < nw);
    if (got != &m->t[want[k]]) {
      fail_msg("at now=%llu: fired #%zu is timer %td (expiry %llu seq %llu), want %zu (expiry %llu seq %llu)",
               (unsigned long long)now, k, got - m->t, (unsigned long long)got->expiry_us,
               (unsigned long long)got->seq, want[k], (unsigned long long)m->t[want[k]].expiry_us,
               (unsigned long long)m->t[want[k]].seq);
    }
    assert_false(weft_timer_armed(got));
    got->next = NULL;
    m->st[want[k]] = FIRED;
    m->fired++;
    k++;
    got = n;
  }
  assert_int_equal(k, nw);
  free(want);
  /* Queries agree with the model and the bound is usable. */
  uint64_t mn = model_min(m);
  assert_int_equal(weft__wheel_next_expiry(m->w), mn);
  uint64_t b = weft__wheel_next_bound(m->w);
  assert_true(b <= mn);
  if (mn != UINT64_MAX) assert_true(b > now);
  else assert_int_equal(b, UINT64_MAX);
  size_t armed = 0;
  for (size_t i = 0; i < m->n; i++) armed += m->st[i] == ARMED;
  assert_int_equal(m->w->count, armed);
}

/* Random expiry from a mix of horizons covering every level and the overflow. */
static uint64_t random_expiry(const model *m) {
  switch (rng_below(9)) {
  case 0: return m->now + rng_below(64 * MS);
  case 1: return m->now + rng_below(5 * SEC);
  case 2: return m->now + rng_below(300 * SEC);
  case 3: return m->now + rng_below(5 * HOUR);
  case 4: return m->now + rng_below(12 * DAY);
  case 5: return m->now + rng_below(3 * YEAR); /* beyond 64^6 ms: overflow list */
  case 6: return m->now + rng_below(50 * YEAR);
  case 7: /* the same expiry as an earlier timer: ties by start order */
    if (m->n) return m->t[rng_below(m->n)].expiry_us > m->now ? m->t[rng_below(m->n)].expiry_us : m->now + 1;
    return m->now + 1;
  default: return m->now > 5000 ? m->now - rng_below(5000) : m->now; /* already due */
  }
}

static void random_run(uint64_t start, size_t ntimers, int steps) {
  model m;
  model_init(&m, ntimers, start);
  for (size_t i = 0; i < ntimers / 2; i++) model_start(&m, random_expiry(&m));
  for (int s = 0; s < steps; s++) {
    /* start a few more, relative to the moved clock */
    for (int k = 0; k < 20 && m.n < ntimers; k++) model_start(&m, random_expiry(&m));
    /* cancel a few at random (armed, fired or cancelled: all must be safe) */
    for (int k = 0; k < 10 && m.n; k++) model_cancel(&m, rng_below(m.n));
    uint64_t next = weft__wheel_next_expiry(m.w);
    switch (rng_below(6)) {
    case 0: model_advance(&m, m.now + rng_below(3 * MS)); break; /* sub-tick steps */
    case 1: model_advance(&m, m.now + rng_below(200 * MS)); break;
    case 2: model_advance(&m, m.now + rng_below(2 * HOUR)); break;
    case 3: model_advance(&m, m.now + rng_below(40 * DAY)); break;
    case 4: if (next != UINT64_MAX) model_advance(&m, next); break; /* virtual-time jump */
    default: if (next != UINT64_MAX) model_advance(&m, next - 1); break;
    }
  }
  /* drain: everything left fires, far future included */
  while (weft__wheel_next_expiry(m.w) != UINT64_MAX) model_advance(&m, weft__wheel_next_expiry(m.w));
  assert_int_equal(m.fired + m.cancelled, m.n);
  assert_int_equal(m.w->count, 0);
  model_free(&m);
}

static void test_random_order(void **state) {
  (void)state;
  uint64_t seed = rng_seed("test_random_order");
  for (int round = 0; round < 4; round++) {
    rng_state = seed + (uint64_t)round;
    random_run(0, 4000, 400);                      /* virtual clock: starts at 0 */
    random_run(1700000000000000ull + 123, 3000, 300); /* real clock: Unix epoch us */
  }
}

/* Thousands of timers, a third cancelled: the rest fire in (expiry, seq)
 * order, cancelled ones never. */
static void test_cancel_never_fires(void **state) {
  (void)state;
  rng_seed("test_cancel_never_fires");
  model m;
  model_init(&m, 6000, 0);
  for (size_t i = 0; i < 6000; i++) model_start(&m, 1 + rng_below(10 * SEC));
  for (size_t i = 0; i < 6000; i += 3) model_cancel(&m, i);
  model_cancel(&m, 0); /* twice: no-op */
  for (uint64_t t = 0; t <= 10 * SEC; t += 1 + rng_below(50 * MS)) model_advance(&m, t);
  model_advance(&m, 10 * SEC);
  assert_int_equal(m.fired, 4000);
  for (size_t i = 0; i < 6000; i += 3) assert_int_equal(m.st[i], CANCELLED);
  model_free(&m);
}

/* Expiries right at the level boundaries, walked tick by tick (cascades at
 * every multiple of 64) and then by big jumps. */
static void test_cascade_boundaries(void **state) {
  (void)state;
  static const uint64_t ticks[] = {0, 1, 62, 63, 64, 65, 127, 128, 4095, 4096, 4097, 262143,
                                   262144, 262145, 16777215, 16777216, 1073741823, 1073741824,
                                   68719476735ull, 68719476736ull, 68719476737ull};
  enum { N = sizeof ticks / sizeof ticks[0] };
  for (int variant = 0; variant < 3; variant++) {
    model m;
    uint64_t start = variant == 2 ? 37 * MS + 250 : 0; /* unaligned start */
    model_init(&m, 4 * N, start);
    for (int i = 0; i < N; i++) {
      model_start(&m, start + ticks[i] * MS);
      model_start(&m, start + ticks[i] * MS + 999); /* same tick, later in it */
      model_start(&m, start + ticks[i] * MS);       /* tie */
    }
    if (variant == 0) {
      for (uint64_t t = 0; t <= 300000; t++) model_advance(&m, start + t * MS);
    } else {
      for (int i = 0; i < N; i++) {
        model_advance(&m, start + ticks[i] * MS - (ticks[i] ? 1 : 0));
        model_advance(&m, start + ticks[i] * MS + 500);
      }
    }
    model_advance(&m, start + 68719476738ull * MS);
    assert_int_equal(m.fired, 3 * N - (variant == 0 ? 0 : 0));
    model_free(&m);
  }
}

/* Within one tick only the timers whose exact expiry passed fire. */
static void test_sub_tick(void **state) {
  (void)state;
  model m;
  model_init(&m, 16, 0);
  model_start(&m, 1000);
  model_start(&m, 1999);
  model_start(&m, 1500);
  model_start(&m, 1500);
  model_start(&m, 2000);
  model_advance(&m, 999);
  assert_int_equal(m.fired, 0);
  model_advance(&m, 1000);
  assert_int_equal(m.fired, 1);
  model_advance(&m, 1499);
  assert_int_equal(m.fired, 1);
  model_advance(&m, 1500);
  assert_int_equal(m.fired, 3);
  model_start(&m, 1700); /* started into the current, partly fired tick */
  model_start(&m, 1400); /* in the past: due at the next advance */
  model_advance(&m, 1500);
  assert_int_equal(m.fired, 4);
  model_advance(&m, 1999);
  assert_int_equal(m.fired, 6);
  model_advance(&m, 2000);
  assert_int_equal(m.fired, 7);
  model_free(&m);
}

/* Far-future timers (years, overflow list, near UINT64_MAX) fire on time and
 * huge clock jumps are cheap (skipping, not tick by tick). */
static void test_far_future(void **state) {
  (void)state;
  model m;
  model_init(&m, 16, 5);
  size_t a = model_start(&m, 100 * YEAR);
  size_t b = model_start(&m, 3 * YEAR + 7);
  size_t c = model_start(&m, UINT64_MAX - 5);
  size_t d = model_start(&m, 1000 * YEAR);
  model_advance(&m, 3 * YEAR + 6);
  assert_int_equal(m.st[b], ARMED);
  model_advance(&m, 3 * YEAR + 7);
  assert_int_equal(m.st[b], FIRED);
  model_cancel(&m, d);
  model_advance(&m, 99 * YEAR);
  assert_int_equal(m.st[a], ARMED);
  model_advance(&m, 100 * YEAR);
  assert_int_equal(m.st[a], FIRED);
  model_advance(&m, UINT64_MAX - 6);
  assert_int_equal(m.st[c], ARMED);
  model_advance(&m, UINT64_MAX - 5);
  assert_int_equal(m.st[c], FIRED);
  model_free(&m);
}

/* Start/cancel are O(1): a million of each is quick (the test would time out
 * on anything proportional to the number of armed timers). */
static void test_many_start_cancel(void **state) {
  (void)state;
  rng_seed("test_many_start_cancel");
  enum { N = 1000000 };
  weft__wheel *w = malloc(sizeof *w);
  weft__wheel_init(w, 0);
  weft_timer *t = calloc(N, sizeof *t);
  for (size_t i = 0; i < N; i++) weft__wheel_start(w, &t[i], 1 + rng_below(10 * SEC));
  for (size_t i = 0; i < N; i++) weft__wheel_cancel(w, &t[i]);
  assert_int_equal(w->count, 0);
  for (int l = 0; l < WEFT__WHEEL_LEVELS; l++) assert_int_equal(w->occupied[l], 0);
  assert_null(weft__wheel_advance(w, 20 * SEC));
  free(t);
  free(w);
}

/* ---- through the scheduler, virtual time -------------------------------------- */

typedef struct sleeper {
  weft_frame h;
  weft_timer timer;
  int64_t sleep_us;
  int id;
} sleeper;

static int order[64], norder;
static int64_t woke_at_us[64];

static weft_frame *sleeper_resume(weft_rt *rt, weft_frame *f) {
  sleeper *s = (sleeper *)f;
  switch (f->state) {
  case 0:
    f->state = 1;
    weft_sleep(rt, f, &s->timer, s->sleep_us);
    return NULL;
  default:
    order[norder] = s->id;
    woke_at_us[norder++] = (int64_t)weft_now_us(rt);
    return weft_done(rt, f);
  }
}
static const weft_fninfo sleeper_info = {sleeper_resume, sizeof(sleeper), 0, "sleeper", "t.weft"};

typedef struct spawner {
  weft_frame h;
  int n, done;
  sleeper *kids[16];
} spawner;
static int64_t spawner_sleeps[16];

static weft_frame *spawner_resume(weft_rt *rt, weft_frame *f) {
  spawner *p = (spawner *)f;
  if (f->state == 0) {
    f->state = 1;
    for (int i = 0; i < p->n; i++) {
      sleeper *s = weft_frame_alloc(rt, sizeof *s);
      s->h.fn = &sleeper_info;
      s->h.parent = f;
      s->id = i;
      s->sleep_us = spawner_sleeps[i];
      p->kids[i] = s;
      weft_ready_fifo(rt, &s->h);
    }
    return NULL;
  }
  if (++p->done < p->n) return NULL;
  for (int i = 0; i < p->n; i++) weft_frame_free(rt, p->kids[i]);
  return weft_done(rt, f);
}
static const weft_fninfo spawner_info = {spawner_resume, sizeof(spawner), 0, "spawner", "t.weft"};

static void run_spawner(weft_rt *rt, const int64_t *sleeps, int n) {
  memcpy(spawner_sleeps, sleeps, (size_t)n * sizeof *sleeps);
  norder = 0;
  spawner *p = weft_frame_alloc(rt, sizeof *p);
  p->h.fn = &spawner_info;
  p->n = n;
  assert_int_equal(weft_run(rt, &p->h), 0);
  assert_int_equal(p->h.status, WEFT_DONE);
  weft_frame_free(rt, p);
}

static void test_virtual_jumps(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  assert_int_equal(weft_now_us(rt), 0);
  assert_int_equal(weft_timer_next_expiry(rt), -1);
  const int64_t sleeps[] = {(int64_t)HOUR, 250 * (int64_t)MS, 0, 10 * (int64_t)YEAR,
                            250 * (int64_t)MS, 1500, -7};
  uint64_t t0 = uv_hrtime();
  run_spawner(rt, sleeps, 7);
  assert_true(uv_hrtime() - t0 < 2000000000ull); /* ten virtual years in well under 2s */
  static const int want_order[] = {2, 6, 5, 1, 4, 0, 3};
  static const int64_t want_at[] = {0, 0, 1500, 250000, 250000, 3600000000, 315360000000000};
  assert_int_equal(norder, 7);
  for (int i = 0; i < 7; i++) {
    assert_int_equal(order[i], want_order[i]);
    assert_int_equal(woke_at_us[i], want_at[i]);
  }
  assert_int_equal(weft_now_ms(rt), 315360000000);
  weft_stats st;
  weft_rt_stats(rt, &st);
  assert_int_equal(st.timers_fired, 5); /* sleep(0) and sleep(-7) are plain yields */
  assert_int_equal(st.timers_armed, 0);
  assert_int_equal(st.frames_live, 0);
  weft_rt_free(rt);
}

/* Many sleepers with random durations wake in (expiry, start) order with the
 * clock reading exactly their expiry. */
static void test_virtual_many(void **state) {
  (void)state;
  rng_seed("test_virtual_many");
  weft_rt *rt = virtual_rt();
  for (int round = 0; round < 50; round++) {
    int64_t sleeps[16];
    for (int i = 0; i < 16; i++) sleeps[i] = (int64_t)rng_below(4) * (int64_t)rng_below(3 * SEC);
    uint64_t start = weft_now_us(rt);
    run_spawner(rt, sleeps, 16);
    assert_int_equal(norder, 16);
    for (int i = 0; i < 16; i++) {
      int id = order[i];
      assert_int_equal(woke_at_us[i], (int64_t)start + (sleeps[id] > 0 ? sleeps[id] : 0));
      if (i) {
        int prev = order[i - 1];
        int64_t ep = sleeps[prev] > 0 ? sleeps[prev] : 0, ec = sleeps[id] > 0 ? sleeps[id] : 0;
        assert_true(ep < ec || (ep == ec && prev < id));
      }
    }
  }
  weft_rt_free(rt);
}

/* Cancelling a parked frame's timer: it never wakes. */
static weft_frame *cancel_root_resume(weft_rt *rt, weft_frame *f) {
  sleeper *s = (sleeper *)f;
  weft_timer *extra = (weft_timer *)((char *)f + sizeof(sleeper));
  switch (f->state) {
  case 0:
    f->state = 1;
    weft_timer_start(rt, extra, f, 10 * MS); /* would wake us at 10ms */
    assert_int_equal(weft_timer_next_expiry(rt), 10 * MS);
    weft_sleep(rt, f, &s->timer, 20 * MS);
    assert_int_equal(weft_timer_next_expiry(rt), 10 * MS);
    weft_timer_cancel(rt, extra);
    weft_timer_cancel(rt, extra); /* idempotent */
    assert_false(weft_timer_armed(extra));
    assert_int_equal(weft_timer_next_expiry(rt), 20 * MS);
    return NULL;
  default:
    assert_int_equal(weft_now_us(rt), 20 * MS);
    return weft_done(rt, f);
  }
}
static const weft_fninfo cancel_root_info = {cancel_root_resume, sizeof(sleeper) + sizeof(weft_timer),
                                             0, "cancel_root", "t.weft"};

static void test_cancel_parked(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  weft_frame *f = weft_frame_alloc(rt, cancel_root_info.frame_size);
  f->fn = &cancel_root_info;
  assert_int_equal(weft_run(rt, f), 0);
  assert_int_equal(f->status, WEFT_DONE);
  weft_stats st;
  weft_rt_stats(rt, &st);
  assert_int_equal(st.timers_fired, 1);
  weft_frame_free(rt, f);
  weft_rt_free(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_order),      cmocka_unit_test(test_cancel_never_fires),
      cmocka_unit_test(test_cascade_boundaries), cmocka_unit_test(test_sub_tick),
      cmocka_unit_test(test_far_future),        cmocka_unit_test(test_many_start_cancel),
      cmocka_unit_test(test_virtual_jumps),     cmocka_unit_test(test_virtual_many),
      cmocka_unit_test(test_cancel_parked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
