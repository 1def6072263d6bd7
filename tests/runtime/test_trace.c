/* test_trace.c -- execution tracing (trace.c): lanes of join branches (a
 * lane per running branch, the lowest free one, reused), the open-span
 * table under many frames, and the file written at weft_rt_free. */
#include "test_util.h"

#include "weft_private.h"

#define MAX_LANES 8192

typedef struct br {
  weft_frame h;
  union {
    weft_timer t;
    weft_join j;
  } aw;
  weft_frame **kids;
  int64_t sleep_us;
  uint32_t depth, lane, nk;
} br;

static weft_frame *owner[MAX_LANES]; /* lane -> the branch holding it */
static uint32_t live, peak, frames, sleeps, seen[64], nseen;
static int random_tree;

static weft_frame *br_resume(weft_rt *rt, weft_frame *f);
static const weft_fninfo br_info = {br_resume, sizeof(br), offsetof(br, aw), "branch", "t.weft"};

static br *new_br(weft_rt *rt, uint32_t depth, int64_t sleep_us) {
  br *b = weft_frame_alloc(rt, sizeof(br));
  b->h.fn = &br_info;
  b->depth = depth;
  b->sleep_us = sleep_us;
  return b;
}

static void lane_enter(weft_rt *rt, br *b) {
  b->lane = weft__trace_lane(rt, &b->h);
  if (!rt->trace) {
    assert_int_equal(b->lane, 0);
    if (nseen < 64) seen[nseen++] = 0;
    frames++;
    return;
  }
  assert_true(b->lane >= 1 && b->lane < MAX_LANES);
  assert_null(owner[b->lane]); /* no two running branches share a lane */
  owner[b->lane] = &b->h;
  if (b->h.parent) {
    if (++live > peak) peak = live;
  }
  if (nseen < 64) seen[nseen++] = b->lane;
  frames++;
}

static weft_frame *lane_leave(weft_rt *rt, br *b) {
  if (!rt->trace) return weft_done(rt, &b->h);
  owner[b->lane] = NULL;
  if (b->h.parent) live--;
  return weft_done(rt, &b->h);
}

static weft_frame *br_resume(weft_rt *rt, weft_frame *f) {
  br *b = (br *)f;
  switch (f->state) {
  case 0:
    lane_enter(rt, b);
    if (b->depth && (!random_tree || rng_below(3))) {
      uint32_t k = random_tree ? 1 + (uint32_t)rng_below(4) : 2;
      b->kids = weft_join_alloc(rt, k);
      for (uint32_t i = 0; i < k; i++)
        b->kids[i] = &new_br(rt, b->depth - 1, 1000 * (int64_t)(1 + rng_below(50)))->h;
      b->aw.j.branches = b->kids;
      b->aw.j.n = k;
      b->aw.j.mode = WEFT_JOIN_ALL;
      b->nk = k;
      f->state = 1;
      return weft_join_start(rt, f, &b->aw.j);
    }
    sleeps++;
    f->state = 2;
    weft_sleep(rt, f, &b->aw.t, b->sleep_us);
    return NULL;
  case 1:
    for (uint32_t i = 0; i < b->nk; i++) weft_frame_free(rt, b->kids[i]);
    weft_join_free(rt, b->kids);
    return lane_leave(rt, b);
  default:
    return lane_leave(rt, b);
  }
}

static void reset(void) {
  memset(owner, 0, sizeof owner);
  live = peak = frames = sleeps = nseen = 0;
}

static char *slurp(const char *path) {
  FILE *in = fopen(path, "rb");
  assert_non_null(in);
  fseek(in, 0, SEEK_END);
  long n = ftell(in);
  fseek(in, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  assert_int_equal(fread(s, 1, (size_t)n, in), (size_t)n);
  s[n] = 0;
  fclose(in);
  return s;
}

static size_t count(const char *s, const char *needle) {
  size_t n = 0;
  for (const char *p = s; (p = strstr(p, needle)); p++) n++;
  return n;
}

static char trace_path[256];

static weft_rt *traced_rt(void) {
  snprintf(trace_path, sizeof trace_path, "/tmp/weft_test_trace_%d.json", (int)getpid());
  weft_rt_options o = {.virtual_time = true, .trace_file = trace_path};
  weft_rt *rt = weft_rt_new(&o);
  assert_non_null(rt->trace);
  return rt;
}

/* Two joins in a row under the root (lane 1): the first holds lanes 2..,
 * the second reuses the lowest freed ones. */
static void test_lanes_reused(void **state) {
  (void)state;
  reset();
  random_tree = 0;
  weft_rt *rt = traced_rt();
  /* depth 2, two kids each, started depth first: root (1), a (2), a's kids
   * (3, 4), b (5), b's kids (6, 7) -- all at time 0, so all running at once */
  br *root = new_br(rt, 2, 0);
  assert_int_equal(weft_run(rt, &root->h), 0);
  assert_int_equal(root->h.status, WEFT_DONE);
  assert_int_equal(weft__trace_open_spans(rt), 0);
  assert_int_equal(nseen, 7);
  assert_int_equal(seen[0], 1);
  assert_int_equal(seen[1], 2);
  assert_int_equal(seen[2], 3);
  assert_int_equal(seen[3], 4);
  assert_int_equal(seen[4], 5);
  assert_int_equal(seen[5], 6);
  assert_int_equal(seen[6], 7);
  weft_frame_free(rt, &root->h);
  /* a second run on the same runtime: every lane was given back, lowest first */
  nseen = 0;
  root = new_br(rt, 1, 0);
  assert_int_equal(weft_run(rt, &root->h), 0);
  assert_int_equal(nseen, 3);
  assert_int_equal(seen[1], 2);
  assert_int_equal(seen[2], 3);
  weft_frame_free(rt, &root->h);
  weft_rt_free(rt);
  char *s = slurp(trace_path);
  unlink(trace_path);
  assert_true(strncmp(s, "{\"traceEvents\":[\n", 17) == 0);
  assert_non_null(strstr(s, "\n],\"displayTimeUnit\":\"ms\"}\n"));
  assert_int_equal(count(s, "\"ph\":\"X\""), frames + sleeps);
  assert_int_equal(count(s, "\"name\":\"thread_name\""), 7); /* lanes 1..7 */
  free(s);
}

/* Random trees of nested joins: running branches never share a lane, the
 * highest lane is the peak number of running branches + 1 (lowest free
 * lane first), every span closes, and the file has one span per frame and
 * per sleep. */
static void test_random_trees(void **state) {
  (void)state;
  rng_seed("test_random_trees");
  random_tree = 1;
  for (int round = 0; round < 20; round++) {
    reset();
    weft_rt *rt = traced_rt();
    br *root = new_br(rt, 6, 0);
    assert_int_equal(weft_run(rt, &root->h), 0);
    assert_int_equal(root->h.status, WEFT_DONE);
    assert_int_equal(live, 0);
    assert_int_equal(weft__trace_open_spans(rt), 0);
    weft_frame_free(rt, &root->h);
    weft_rt_free(rt);
    char *s = slurp(trace_path);
    unlink(trace_path);
    assert_int_equal(count(s, "\"ph\":\"X\""), frames + sleeps);
    assert_int_equal(count(s, "\"name\":\"thread_name\""), peak + 1);
    free(s);
  }
}

/* Off: no table, hooks never run. */
static void test_off(void **state) {
  (void)state;
  reset();
  random_tree = 0;
  weft_rt_options o = {.virtual_time = true};
  weft_rt *rt = weft_rt_new(&o);
  assert_null(rt->trace);
  br *root = new_br(rt, 1, 0);
  assert_int_equal(weft_run(rt, &root->h), 0);
  assert_int_equal(seen[0], 0); /* weft__trace_lane: no span */
  assert_int_equal(weft__trace_open_spans(rt), 0);
  weft_frame_free(rt, &root->h);
  weft_rt_free(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lanes_reused),
      cmocka_unit_test(test_random_trees),
      cmocka_unit_test(test_off),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
