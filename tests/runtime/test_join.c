/* test_join.c -- joins (all, all settle, all for, race), child calls and
 * top-down cancellation, driven by an interpreter of small scripted
 * workflows whose resume function behaves like weftc's generated code:
 * child frames through weft_call, joins through weft_join_start in the
 * await slot, try/finally with a shield and a completion record,
 * compensations pushed as frames. */
#include <stdarg.h>

#include "test_util.h"
#include "weft_private.h"

/* ---- trace --------------------------------------------------------------------------- */

static char *trace;
static size_t ntrace, trace_cap;
static bool quiet; /* random test: only hash the trace */
static uint64_t trace_hash;

static void say(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
  for (int i = 0; i < n; i++) trace_hash = (trace_hash ^ (uint8_t)buf[i]) * 0x100000001b3ull;
  if (quiet) return;
  if (ntrace + (size_t)n + 1 > trace_cap) {
    trace_cap = (ntrace + (size_t)n + 1) * 2;
    trace = realloc(trace, trace_cap);
  }
  memcpy(trace + ntrace, buf, (size_t)n);
  ntrace += (size_t)n;
  trace[ntrace] = '\0';
}

/* ---- scripts ------------------------------------------------------------------------------ */

enum {
  OP_SLEEP,        /* yield sleep(us) */
  OP_CALL,         /* yield kid() */
  OP_JOIN,         /* yield all/settle/race { kids } (dyn: weft_join_alloc, like `all for`) */
  OP_FAIL,         /* fail Error(text); inside finally: replaces the failure in flight */
  OP_COMP,         /* push compensation `text` ('~' first: it sleeps 5ms) */
  OP_SAY,          /* print text */
  OP_CANCEL_SELF,  /* weft_cancel_frame(self) while running */
  OP_SHIELD,       /* weft_shield */
  OP_UNSHIELD0,    /* weft_unshield(sub 0): never delivers */
  OP_UNSHIELD1,    /* weft_unshield(sub 1): unwinds if a cancellation is delivered */
};

typedef struct spec spec;
typedef struct op {
  int kind;
  int64_t us;
  uint32_t mode, n;
  spec **kids;
  bool dyn;
  const char *text;
} op;

struct spec {
  const char *name;
  int64_t value;
  op *ops[2]; /* body, finally */
  uint32_t nops[2], cap[2];
  bool has_fin, building_fin;
};

/* everything the builders allocate, freed after each test */
static void **arena;
static size_t narena, arena_cap;
static void *arena_add(void *p) {
  if (narena == arena_cap) {
    arena_cap = arena_cap ? 2 * arena_cap : 64;
    arena = realloc(arena, arena_cap * sizeof *arena);
  }
  arena[narena++] = p;
  return p;
}
static void arena_free(void) {
  for (size_t i = 0; i < narena; i++) free(arena[i]);
  narena = 0;
}

static spec *sp(const char *name, int64_t value) {
  spec *s = arena_add(calloc(1, sizeof *s));
  s->name = name;
  s->value = value;
  return s;
}
static op *add(spec *s, int kind) {
  int k = s->building_fin;
  if (s->nops[k] == s->cap[k]) {
    s->cap[k] = s->cap[k] ? 2 * s->cap[k] : 4;
    op *bigger = calloc(s->cap[k], sizeof *bigger);
    if (s->nops[k]) memcpy(bigger, s->ops[k], s->nops[k] * sizeof *bigger);
    arena_add(bigger);
    s->ops[k] = bigger;
  }
  op *o = &s->ops[k][s->nops[k]++];
  memset(o, 0, sizeof *o);
  o->kind = kind;
  return o;
}
static spec *s_sleep(spec *s, int64_t ms) { add(s, OP_SLEEP)->us = ms * 1000; return s; }
static spec *s_call(spec *s, spec *kid) {
  op *o = add(s, OP_CALL);
  o->kids = arena_add(malloc(sizeof(spec *)));
  o->kids[0] = kid;
  o->n = 1;
  return s;
}
static spec *s_joinv(spec *s, uint32_t mode, bool dyn, uint32_t n, spec **kids) {
  op *o = add(s, OP_JOIN);
  o->mode = mode;
  o->dyn = dyn;
  o->n = n;
  o->kids = arena_add(malloc((n ? n : 1) * sizeof(spec *)));
  if (n) memcpy(o->kids, kids, n * sizeof(spec *));
  return s;
}
static spec *s_join(spec *s, uint32_t mode, uint32_t n, ...) {
  spec *kids[16];
  va_list ap;
  va_start(ap, n);
  for (uint32_t i = 0; i < n; i++) kids[i] = va_arg(ap, spec *);
  va_end(ap);
  return s_joinv(s, mode, false, n, kids);
}
static spec *s_fail(spec *s, const char *msg) { add(s, OP_FAIL)->text = msg; return s; }
static spec *s_comp(spec *s, const char *name) { add(s, OP_COMP)->text = name; return s; }
static spec *s_say(spec *s, const char *text) { add(s, OP_SAY)->text = text; return s; }
static spec *s_op(spec *s, int kind) { add(s, kind); return s; }
static spec *s_fin(spec *s) { s->has_fin = s->building_fin = true; return s; }

/* ---- bookkeeping ----------------------------------------------------------------------------- */

typedef struct inst {
  const spec *sp;
  weft_frame *live; /* while allocated and not yet reaped */
  int started, discarded, terminal, reaped, fin_in, fin_out;
} inst;
static inst *insts;
static size_t ninsts, insts_cap;
static int comp_pushed, comp_ran, comp_discarded;

static int new_inst(const spec *s) {
  if (ninsts == insts_cap) {
    insts_cap = insts_cap ? 2 * insts_cap : 64;
    insts = realloc(insts, insts_cap * sizeof *insts);
  }
  memset(&insts[ninsts], 0, sizeof *insts);
  insts[ninsts].sp = s;
  return (int)ninsts++;
}

static int setup(void **state) {
  objects_setup(state);
  ntrace = 0;
  if (trace) trace[0] = '\0';
  trace_hash = 0xcbf29ce484222325ull;
  ninsts = 0;
  comp_pushed = comp_ran = comp_discarded = 0;
  quiet = false;
  return 0;
}
static int teardown(void **state) {
  arena_free();
  return objects_teardown(state);
}

/* ---- frames ------------------------------------------------------------------------------------ */

#define MAXK 16

typedef struct node {
  weft_frame h;
  int64_t result; /* 48: the result slot */
  union {         /* the await slot */
    weft_timer t;
    weft_frame *child;
    weft_join j;
  } aw;
  weft_frame *br[MAXK];
  const spec *sp;
  weft_failure *inflight; /* completion record of the finally */
  uint32_t pc;
  int in_fin, id;
} node;

static weft_frame *node_resume(weft_rt *rt, weft_frame *f);
static const weft_fninfo node_info = {node_resume, sizeof(node), offsetof(node, aw), "node", "t.weft"};

typedef struct compf {
  weft_frame h;
  weft_timer t;
  const char *name;
} compf;
static weft_frame *comp_resume(weft_rt *rt, weft_frame *f) {
  compf *c = (compf *)f;
  if (f->state == WEFT_STATE_DISCARD) {
    comp_discarded++;
    return weft_done(rt, f);
  }
  assert_true(f->flags & WEFT_FLAG_SHIELD_MASK); /* compensations run shielded */
  if (f->state == 0 && c->name[0] == '~') {
    f->state = 1;
    weft_sleep(rt, f, &c->t, 5000);
    return NULL;
  }
  assert_null(f->failure); /* never cancelled */
  say("undo %s @%lld\n", c->name, (long long)weft_now_ms(rt));
  comp_ran++;
  return weft_done(rt, f);
}
static const weft_fninfo comp_info = {comp_resume, sizeof(compf), offsetof(compf, t), "undo", "t.weft"};

static node *new_node(weft_rt *rt, const spec *s) {
  node *n = weft_frame_alloc(rt, sizeof *n);
  n->h.fn = &node_info;
  n->sp = s;
  n->id = new_inst(s);
  insts[n->id].live = &n->h;
  return n;
}

static const char *status_name(uint32_t st) {
  static const char *const names[] = {"running", "done", "failed", "cancelled"};
  return st < 4 ? names[st] : "?";
}

/* The parent takes a finished child/branch: checks, traces and frees it. */
static void reap(weft_rt *rt, weft_frame *c) {
  node *k = (node *)c;
  inst *in = &insts[k->id];
  assert_int_not_equal(c->status, WEFT_RUNNING);
  assert_int_equal(in->terminal, 1);
  in->reaped++;
  in->live = NULL;
  if (c->status == WEFT_DONE) assert_int_equal(k->result, k->sp->value);
  say("end %s %s\n", k->sp->name, status_name(c->status));
  if (c->failure) weft_failure_free(weft_failure_take(c));
  assert_false(c->flags & WEFT_FLAG_COMPS); /* adopted or run */
  weft_frame_free(rt, c);
}

static void after_call(weft_rt *rt, node *n) {
  weft_frame *c = n->aw.child;
  assert_false(n->h.flags & WEFT_FLAG_AWAIT_CHILD);
  if (c->status != WEFT_DONE) {
    assert_non_null(c->failure);
    n->h.failure = weft_failure_take(c);
  }
  reap(rt, c);
}

static void after_join(weft_rt *rt, node *n, const op *o) {
  weft_join *j = &n->aw.j;
  weft_frame **b = j->branches;
  assert_false(n->h.flags & WEFT_FLAG_AWAIT_JOIN);
  assert_int_equal(j->n, o->n);
  assert_int_equal(j->pending, 0);
  for (uint32_t i = 0; i < j->n; i++) assert_int_not_equal(b[i]->status, WEFT_RUNNING);
  for (uint32_t i = 0; i < j->n; i++)
    if (b[i]->status == WEFT_DONE) weft_comp_adopt(rt, &n->h, b[i]);
  if (j->failure) {
    assert_int_not_equal(j->mode, WEFT_JOIN_RACE);
    n->h.failure = j->failure;
    j->failure = NULL;
    say("%s: join raised %s: %s\n", n->sp->name, weft_failure_kind(n->h.failure)->name,
        weft_failure_message(n->h.failure)->data);
  } else if (j->mode == WEFT_JOIN_ALL) {
    for (uint32_t i = 0; i < j->n; i++) {
      assert_int_equal(b[i]->status, WEFT_DONE); /* values in source order */
      assert_int_equal(((node *)b[i])->result, o->kids[i]->value);
    }
    if (j->n) say("%s: all ok\n", n->sp->name);
  } else if (j->mode == WEFT_JOIN_SETTLE) {
    for (uint32_t i = 0; i < j->n; i++) {
      if (b[i]->status == WEFT_DONE) {
        say("%s: settle %u ok %lld\n", n->sp->name, i, (long long)((node *)b[i])->result);
      } else {
        assert_non_null(b[i]->failure);
        say("%s: settle %u err %s\n", n->sp->name, i, weft_failure_message(b[i]->failure)->data);
      }
    }
  } else {
    weft_frame *w = j->winner;
    assert_non_null(w);
    if (w->status == WEFT_DONE) {
      say("%s: race won by %s\n", n->sp->name, ((node *)w)->sp->name);
    } else {
      assert_non_null(w->failure);
      n->h.failure = weft_failure_take(w);
      say("%s: race lost to %s: %s\n", n->sp->name, ((node *)w)->sp->name,
          weft_failure_message(n->h.failure)->data);
    }
    for (uint32_t i = 0; i < j->n; i++)
      if (b[i] != w) {
        assert_null(b[i]->failure); /* losers' failures are dropped */
        assert_int_not_equal(b[i]->status, WEFT_DONE);
      }
  }
  if (j->mode == WEFT_JOIN_ALL)
    for (uint32_t i = 0; i < j->n; i++) assert_null(b[i]->failure); /* moved or dropped */
  for (uint32_t i = 0; i < j->n; i++) reap(rt, b[i]);
  if (o->dyn) weft_join_free(rt, b);
}

static weft_frame *node_resume(weft_rt *rt, weft_frame *f) {
  node *n = (node *)f;
  inst *in = &insts[n->id];
  const spec *s = n->sp;
  if (f->state == WEFT_STATE_DISCARD) { /* cancelled before it started */
    assert_int_equal(in->started, 0);
    in->discarded++;
    in->terminal++;
    say("drop %s\n", s->name);
    return weft_done(rt, f);
  }
  if (f->state == 0) {
    in->started++;
    f->state = 1;
    say("start %s @%lld\n", s->name, (long long)weft_now_ms(rt));
  } else {
    const op *o = &s->ops[n->in_fin][n->pc - 1];
    if (o->kind == OP_CALL) after_call(rt, n);
    else if (o->kind == OP_JOIN) after_join(rt, n, o);
    else if (n->in_fin) assert_null(f->failure); /* shielded sleeps are not cancelled */
  }
  for (;;) {
    if (f->failure) {
      if (!n->in_fin && s->has_fin) { /* into the finally with the failure parked */
        n->inflight = weft_failure_take(f);
        n->in_fin = 1;
        n->pc = 0;
        in->fin_in++;
        weft_shield(f);
        continue;
      }
      if (n->in_fin) { /* a failure inside the finally replaces the one in flight */
        weft_failure_add_cause(f->failure, n->inflight);
        n->inflight = NULL;
        in->fin_out++;
        weft_unshield(rt, f, 0);
      }
      in->terminal++;
      return weft_failed(rt, f);
    }
    if (n->pc == s->nops[n->in_fin]) {
      if (!n->in_fin && s->has_fin) {
        n->in_fin = 1;
        n->pc = 0;
        in->fin_in++;
        weft_shield(f);
        continue;
      }
      if (n->in_fin) {
        in->fin_out++;
        if (n->inflight) { /* replay: fail */
          weft_unshield(rt, f, 0);
          f->failure = n->inflight;
          n->inflight = NULL;
          in->terminal++;
          return weft_failed(rt, f);
        }
        if (weft_unshield(rt, f, 1)) { /* a deferred cancellation lands here */
          say("%s: cancelled after finally\n", s->name);
          in->terminal++;
          return weft_failed(rt, f);
        }
      }
      n->result = s->value;
      in->terminal++;
      return weft_done(rt, f);
    }
    const op *o = &s->ops[n->in_fin][n->pc++];
    switch (o->kind) {
    case OP_SLEEP:
      weft_sleep(rt, f, &n->aw.t, o->us);
      return NULL;
    case OP_CALL: {
      node *c = new_node(rt, o->kids[0]);
      n->aw.child = &c->h;
      return weft_call(rt, f, &c->h);
    }
    case OP_JOIN: {
      weft_frame **b = o->dyn ? weft_join_alloc(rt, o->n) : n->br;
      assert_true(o->n <= MAXK || o->dyn);
      for (uint32_t i = 0; i < o->n; i++) b[i] = &new_node(rt, o->kids[i])->h;
      memset(&n->aw.j, 0xa5, sizeof n->aw.j); /* the runtime initialises what it owns */
      n->aw.j.branches = b;
      n->aw.j.n = o->n;
      n->aw.j.mode = o->mode;
      return weft_join_start(rt, f, &n->aw.j);
    }
    case OP_FAIL:
      weft_raise_cstr(rt, f, &weft_kind_Error, o->text, NULL);
      break;
    case OP_COMP: {
      compf *c = weft_frame_alloc(rt, sizeof *c);
      c->h.fn = &comp_info;
      c->name = o->text;
      weft_comp_push(rt, f, &c->h);
      comp_pushed++;
      break;
    }
    case OP_SAY: say("%s @%lld\n", o->text, (long long)weft_now_ms(rt)); break;
    case OP_CANCEL_SELF: weft_cancel_frame(rt, f); break;
    case OP_SHIELD: weft_shield(f); break;
    case OP_UNSHIELD0: weft_unshield(rt, f, 0); break;
    case OP_UNSHIELD1:
      if (weft_unshield(rt, f, 1)) say("%s: delivered at unshield\n", s->name);
      break;
    default: fail_msg("bad op %d", o->kind);
    }
  }
}

/* A detached frame: after `us`, cancels `target` (by instance id; -1: the
 * root through weft_cancel) if it is still live. */
typedef struct canceller {
  weft_frame h;
  weft_timer t;
  int64_t us;
  int target;
} canceller;
static weft_frame *canceller_resume(weft_rt *rt, weft_frame *f) {
  canceller *c = (canceller *)f;
  if (f->state == 0) {
    f->state = 1;
    weft_sleep(rt, f, &c->t, c->us);
    return NULL;
  }
  if (c->target < 0) {
    say("cancel root @%lld\n", (long long)weft_now_ms(rt));
    weft_cancel(rt);
  } else if ((size_t)c->target < ninsts && insts[c->target].live) {
    say("cancel %s @%lld\n", insts[c->target].sp->name, (long long)weft_now_ms(rt));
    weft_cancel_frame(rt, insts[c->target].live);
  }
  return weft_done(rt, f);
}
static const weft_fninfo canceller_info = {canceller_resume, sizeof(canceller), offsetof(canceller, t),
                                           "canceller", "t.weft"};

/* ---- running a tree ------------------------------------------------------------------------------ */

typedef struct cancel_req {
  int64_t ms;
  int target; /* instance id, or -1 for the root */
} cancel_req;

/* Runs root spec `s` with the given cancellations; checks every invariant;
 * returns the root's status and (if failed) its report in *report. */
static uint32_t run_tree(const spec *s, const cancel_req *reqs, int nreq, char **report) {
  weft_rt *rt = virtual_rt();
  node *root = new_node(rt, s);
  canceller *cs[8];
  assert_true(nreq <= 8);
  for (int i = 0; i < nreq; i++) {
    cs[i] = weft_frame_alloc(rt, sizeof *cs[i]);
    cs[i]->h.fn = &canceller_info;
    cs[i]->us = reqs[i].ms * 1000;
    cs[i]->target = reqs[i].target;
    weft_ready_fifo(rt, &cs[i]->h);
  }
  assert_int_equal(weft_run(rt, &root->h), 0);
  uint32_t st = root->h.status;
  say("root %s @%lld\n", status_name(st), (long long)weft_now_ms(rt));
  if (report) *report = NULL;
  if (root->h.failure && report) {
    size_t len;
    FILE *m = open_memstream(report, &len);
    weft_failure_report(root->h.failure, m);
    fclose(m);
  }
  if (st == WEFT_CANCELLED) assert_true(weft_failure_is(root->h.failure, &weft_kind_Cancelled));
  if (st == WEFT_DONE) assert_null(root->h.failure);
  else assert_non_null(root->h.failure);
  insts[root->id].reaped++;
  insts[root->id].live = NULL;
  weft_failure_free(weft_failure_take(&root->h));
  weft_frame_free(rt, &root->h);
  for (int i = 0; i < nreq; i++) {
    weft_timer_cancel(rt, &cs[i]->t); /* still armed if the root ended first */
    weft_frame_free(rt, &cs[i]->h);
  }
  /* every frame finished exactly once and was reaped once; finally blocks
   * ran exactly once for every started frame that has one */
  for (size_t i = 0; i < ninsts; i++) {
    inst *in = &insts[i];
    assert_int_equal(in->terminal, 1);
    assert_int_equal(in->reaped, 1);
    assert_int_equal(in->started + in->discarded, 1);
    int want_fin = in->started && in->sp->has_fin;
    assert_int_equal(in->fin_in, want_fin);
    assert_int_equal(in->fin_out, want_fin);
  }
  assert_int_equal(comp_pushed, comp_ran + comp_discarded);
  weft_stats stt;
  weft_rt_stats(rt, &stt);
  assert_int_equal(stt.frames_live, 0);
  assert_int_equal(stt.timers_armed, 0);
  assert_int_equal(rt->comps.n, 0);
  weft_rt_free(rt);
  return st;
}

/* a leaf: [sleep ms]; value v */
static spec *leaf(const char *name, int64_t v, int64_t ms) {
  spec *s = sp(name, v);
  if (ms >= 0) s_sleep(s, ms);
  return s;
}
/* try { [comp u]; sleep ms } finally { say "fin <name>"; sleep fin_ms } */
static spec *guarded(const char *name, int64_t v, int64_t ms, const char *comp, int64_t fin_ms) {
  spec *s = sp(name, v);
  if (comp) s_comp(s, comp);
  s_sleep(s, ms);
  s_fin(s);
  char *t = arena_add(malloc(32));
  snprintf(t, 32, "fin %s", name);
  s_say(s, t);
  if (fin_ms >= 0) s_sleep(s, fin_ms);
  return s;
}

/* ---- tests ------------------------------------------------------------------------------------ */

static void test_all_values_in_source_order(void **state) {
  (void)state;
  spec *m = sp("main", 0);
  s_join(m, WEFT_JOIN_ALL, 3, leaf("a", 1, 30), leaf("b", 2, 10), leaf("c", 3, 20));
  assert_int_equal(run_tree(m, NULL, 0, NULL), WEFT_DONE);
  assert_string_equal(trace, "start main @0\nstart a @0\nstart b @0\nstart c @0\n"
                             "main: all ok\nend a done\nend b done\nend c done\nroot done @30\n");
}

static void test_all_for_and_empty(void **state) {
  (void)state;
  spec *kids[40];
  for (int i = 0; i < 40; i++) kids[i] = leaf("k", 100 + i, (40 - i) % 7);
  spec *m = sp("main", 0);
  s_joinv(m, WEFT_JOIN_ALL, true, 40, kids); /* values checked in source order */
  s_joinv(m, WEFT_JOIN_ALL, true, 0, NULL);  /* empty `all for` */
  s_join(m, WEFT_JOIN_ALL, 0);               /* empty `all {}` */
  s_join(m, WEFT_JOIN_SETTLE, 0);
  s_say(m, "after empty joins");
  assert_int_equal(run_tree(m, NULL, 0, NULL), WEFT_DONE);
  assert_non_null(strstr(trace, "main: all ok\n"));
  assert_non_null(strstr(trace, "after empty joins @6\nroot done @6\n"));
}

static void test_all_fail_fast(void **state) {
  (void)state;
  /* a and c wait an hour; b fails at 10ms: a and c are cancelled, their
   * finally blocks yield (50ms) and their compensations run before main
   * resumes; c's finally fails for real: attached to b's failure. */
  spec *a = guarded("a", 1, 3600000, "ua", 50);
  spec *b = sp("b", 2);
  s_comp(s_sleep(b, 10), "ub");
  s_fail(b, "b broke");
  spec *c = guarded("c", 3, 3600000, "~uc", 50);
  s_fail(c, "c cleanup broke");
  spec *d = leaf("d", 4, 5); /* finished before the failure: DONE, adopted */
  s_comp(d, "ud");
  spec *m = sp("main", 0);
  s_join(m, WEFT_JOIN_ALL, 4, a, b, c, d);
  char *rep;
  assert_int_equal(run_tree(m, NULL, 0, &rep), WEFT_FAILED);
  assert_string_equal(trace, "start main @0\nstart a @0\nstart b @0\nstart c @0\nstart d @0\n"
                             "undo ub @10\n"      /* b's own scope unwinds first */
                             "fin a @10\nfin c @10\n"
                             "undo ua @60\n"      /* a: finally, then compensations */
                             "undo ~uc @65\n"     /* c's compensation yields 5ms */
                             "main: join raised Error: b broke\n"
                             "end a cancelled\nend b failed\nend c failed\nend d done\n"
                             "undo ud @65\n"      /* d's adopted step, undone by main */
                             "root failed @65\n");
  assert_string_equal(rep, "error: Error: b broke\n"
                           "  also failed: Error: c cleanup broke\n"
                           "  caused by: Cancelled: cancelled\n"
                           "compensations run:\n"
                           "  undo ok\n"
                           "  undo ok\n");
  free(rep);
}

static void test_settle(void **state) {
  (void)state;
  spec *b = sp("b", 2);
  s_fail(s_sleep(b, 5), "b failed");
  spec *m = sp("main", 0);
  s_join(m, WEFT_JOIN_SETTLE, 3, leaf("a", 1, 10), b, leaf("c", 3, 20));
  assert_int_equal(run_tree(m, NULL, 0, NULL), WEFT_DONE);
  assert_string_equal(trace, "start main @0\nstart a @0\nstart b @0\nstart c @0\n"
                             "main: settle 0 ok 1\nmain: settle 1 err b failed\nmain: settle 2 ok 3\n"
                             "end a done\nend b failed\nend c done\nroot done @20\n");
}

static void test_race_winner_and_losers(void **state) {
  (void)state;
  /* b wins at 10ms; a is cancelled: finally (5ms), then its compensation;
   * c is cancelled at its timer; the race returns once both unwound, at 15ms */
  spec *a = guarded("a", 1, 100, "ua", 5);
  spec *c = leaf("c", 3, 3600000);
  spec *m = sp("main", 0);
  s_join(m, WEFT_JOIN_RACE, 3, a, leaf("b", 2, 10), c);
  s_say(m, "after race");
  assert_int_equal(run_tree(m, NULL, 0, NULL), WEFT_DONE);
  assert_string_equal(trace, "start main @0\nstart a @0\nstart b @0\nstart c @0\n"
                             "fin a @10\nundo ua @15\nmain: race won by b\n"
                             "end a cancelled\nend b done\nend c cancelled\n"
                             "after race @15\nroot done @15\n");
}

static void test_race_failure_wins(void **state) {
  (void)state;
  spec *b = sp("b", 2);
  s_fail(s_sleep(b, 5), "no answer");
  spec *m = sp("main", 0);
  s_join(m, WEFT_JOIN_RACE, 2, guarded("a", 1, 50, NULL, 5), b);
  char *rep;
  assert_int_equal(run_tree(m, NULL, 0, &rep), WEFT_FAILED);
  assert_string_equal(trace, "start main @0\nstart a @0\nstart b @0\nfin a @5\n"
                             "main: race lost to b: no answer\nend a cancelled\nend b failed\n"
                             "root failed @10\n");
  assert_string_equal(rep, "error: Error: no answer\n");
  free(rep);
}

static void test_race_done_loser_compensated(void **state) {
  (void)state;
  /* b's child finishes a shielded sleep in the same turn as a wins; b can
   * only be told at its next suspension, but it succeeds first: it is
   * treated as cancelled and its compensation runs before the race ends. */
  spec *k = sp("k", 9);
  s_op(k, OP_SHIELD);
  s_sleep(k, 10);
  s_op(k, OP_UNSHIELD0);
  spec *b = sp("b", 2);
  s_comp(b, "ub");
  s_call(b, k);
  spec *m = sp("main", 0);
  s_join(m, WEFT_JOIN_RACE, 2, leaf("a", 1, 10), b);
  s_say(m, "after race");
  assert_int_equal(run_tree(m, NULL, 0, NULL), WEFT_DONE);
  assert_string_equal(trace, "start main @0\nstart a @0\nstart b @0\nstart k @0\n"
                             "end k done\nundo ub @10\nmain: race won by a\n"
                             "end a done\nend b cancelled\nafter race @10\nroot done @10\n");
}

static void test_race_timeout_cost(void **state) {
  (void)state;
  /* race { f(), { yield sleep(5s); fail Timeout } } where f wins: one timer
   * cancelled and one frame unwound, nothing else */
  spec *t = sp("timeout", 0);
  s_fail(s_sleep(t, 5000), "timeout");
  spec *m = sp("main", 0);
  s_join(m, WEFT_JOIN_RACE, 2, leaf("f", 1, 3), t);
  weft_rt *rt = virtual_rt();
  node *root = new_node(rt, m);
  assert_int_equal(weft_run(rt, &root->h), 0);
  assert_int_equal(root->h.status, WEFT_DONE);
  weft_stats st;
  weft_rt_stats(rt, &st);
  /* main, f, timeout start; f wakes and wins; timeout unwinds; main resumes */
  assert_int_equal(st.resumes, 6);
  assert_int_equal(st.timers_fired, 1);
  assert_int_equal(st.timers_armed, 0);
  assert_int_equal(weft_now_ms(rt), 3);
  weft_frame_free(rt, &root->h);
  weft_rt_free(rt);
}

static void test_nested_join_cancelled_from_above(void **state) {
  (void)state;
  /* race { a (wins at 10), { all { c, d }; "x" } }: c and d are cancelled
   * through b; c's finally runs 5ms; b sees the inner join's Cancelled */
  spec *b = sp("b", 2);
  s_join(b, WEFT_JOIN_ALL, 2, guarded("c", 3, 100, "uc", 5), leaf("d", 4, 100));
  s_say(b, "b not reached");
  spec *m = sp("main", 0);
  s_join(m, WEFT_JOIN_RACE, 2, leaf("a", 1, 10), b);
  assert_int_equal(run_tree(m, NULL, 0, NULL), WEFT_DONE);
  assert_string_equal(trace, "start main @0\nstart a @0\nstart b @0\nstart c @0\nstart d @0\n"
                             "fin c @10\nundo uc @15\nb: join raised Cancelled: cancelled\n"
                             "end c cancelled\nend d cancelled\nmain: race won by a\n"
                             "end a done\nend b cancelled\nroot done @15\n");
}

static void test_start_order_at_turn_budget(void **state) {
  (void)state;
  /* however many resumes precede it (the run loop preempts after
   * WEFT__TURN_BUDGET), a join's branches start in source order */
  for (int pre = 0; pre < 2; pre++)
    for (int n = 505; n < 518; n++) {
      spec *m = sp("main", 0);
      if (pre) s_sleep(m, 0);
      for (int i = 0; i < n; i++) s_call(m, leaf("x", 0, -1));
      s_join(m, WEFT_JOIN_ALL, 3, leaf("a", 1, 0), leaf("b", 2, 0), leaf("c", 3, 0));
      ntrace = 0;
      trace[0] = '\0';
      assert_int_equal(run_tree(m, NULL, 0, NULL), WEFT_DONE);
      char *a = strstr(trace, "start a"), *b = strstr(trace, "start b"), *c = strstr(trace, "start c");
      assert_true(a && b && c && a < b && b < c);
      arena_free();
      ninsts = 0;
    }
}

/* main calls t; a canceller cancels t (instance 1) at 10ms */
static uint32_t cancel_t(spec *t) {
  spec *m = sp("main", 0);
  s_call(m, t);
  cancel_req r = {10, 1};
  return run_tree(m, &r, 1, NULL);
}

static void test_cancel_frame_timer(void **state) {
  (void)state;
  assert_int_equal(cancel_t(guarded("t", 1, 1000, "ut", 5)), WEFT_CANCELLED);
  assert_string_equal(trace, "start main @0\nstart t @0\ncancel t @10\nfin t @10\nundo ut @15\n"
                             "end t cancelled\nroot cancelled @15\n");
}

static void test_cancel_frame_child(void **state) {
  (void)state;
  spec *t = sp("t", 1);
  s_call(t, guarded("k", 2, 1000, NULL, 5));
  s_say(t, "t not reached");
  assert_int_equal(cancel_t(t), WEFT_CANCELLED);
  assert_string_equal(trace, "start main @0\nstart t @0\nstart k @0\ncancel t @10\nfin k @10\n"
                             "end k cancelled\nend t cancelled\nroot cancelled @15\n");
}

static void test_cancel_frame_join(void **state) {
  (void)state;
  spec *t = sp("t", 1);
  s_join(t, WEFT_JOIN_SETTLE, 2, guarded("x", 2, 1000, NULL, 5), leaf("y", 3, 1000));
  assert_int_equal(cancel_t(t), WEFT_CANCELLED);
  assert_string_equal(trace, "start main @0\nstart t @0\nstart x @0\nstart y @0\ncancel t @10\n"
                             "fin x @10\nt: join raised Cancelled: cancelled\n"
                             "end x cancelled\nend y cancelled\nend t cancelled\nroot cancelled @15\n");
}

static void test_cancel_frame_shielded(void **state) {
  (void)state;
  /* t is inside a shielded region, parked at a sleep: deferred to unshield */
  spec *t = sp("t", 1);
  s_op(t, OP_SHIELD);
  s_sleep(t, 30);
  s_op(t, OP_UNSHIELD1);
  s_say(t, "t not reached");
  assert_int_equal(cancel_t(t), WEFT_CANCELLED);
  assert_string_equal(trace, "start main @0\nstart t @0\ncancel t @10\nt: delivered at unshield\n"
                             "end t cancelled\nroot cancelled @30\n");
}

static void test_cancel_finished_is_noop(void **state) {
  (void)state;
  spec *m = sp("main", 0);
  s_call(m, leaf("t", 1, 5));
  s_sleep(m, 20);
  cancel_req r = {10, 1}; /* t finished at 5 */
  assert_int_equal(run_tree(m, &r, 1, NULL), WEFT_DONE);
  assert_string_equal(trace, "start main @0\nstart t @0\nend t done\nroot done @25\n");
}

static void test_pending_delivered_at_sleep(void **state) {
  (void)state;
  spec *t = sp("t", 1);
  s_op(t, OP_CANCEL_SELF);
  s_say(t, "still running");
  s_sleep(t, 1000); /* not parked: Cancelled at once */
  s_say(t, "t not reached");
  spec *m = sp("main", 0);
  s_call(m, t);
  assert_int_equal(run_tree(m, NULL, 0, NULL), WEFT_CANCELLED);
  assert_string_equal(trace, "start main @0\nstart t @0\nstill running @0\nend t cancelled\n"
                             "root cancelled @0\n");
}

static void test_pending_delivered_at_call(void **state) {
  (void)state;
  spec *t = sp("t", 1);
  s_op(t, OP_CANCEL_SELF);
  s_call(t, leaf("k", 2, 10)); /* k is dropped before it starts */
  s_say(t, "t not reached");
  spec *m = sp("main", 0);
  s_call(m, t);
  assert_int_equal(run_tree(m, NULL, 0, NULL), WEFT_CANCELLED);
  assert_string_equal(trace, "start main @0\nstart t @0\ndrop k\nend k cancelled\nend t cancelled\n"
                             "root cancelled @0\n");
}

static void test_pending_delivered_at_join(void **state) {
  (void)state;
  spec *t = sp("t", 1);
  s_op(t, OP_CANCEL_SELF);
  s_join(t, WEFT_JOIN_ALL, 2, leaf("x", 2, 10), leaf("y", 3, 10));
  s_say(t, "t not reached");
  spec *m = sp("main", 0);
  s_call(m, t);
  assert_int_equal(run_tree(m, NULL, 0, NULL), WEFT_CANCELLED);
  assert_string_equal(trace, "start main @0\nstart t @0\ndrop x\ndrop y\n"
                             "t: join raised Cancelled: cancelled\nend x cancelled\nend y cancelled\n"
                             "end t cancelled\nroot cancelled @0\n");
}

static void test_pending_then_shield(void **state) {
  (void)state;
  /* pending while shielded is not delivered by a sleep in the shield; the
   * sub-0 unshield keeps it; the next sleep delivers it */
  spec *t = sp("t", 1);
  s_op(t, OP_SHIELD);
  s_op(t, OP_CANCEL_SELF);
  s_sleep(t, 5);
  s_op(t, OP_UNSHIELD0);
  s_say(t, "after shield");
  s_sleep(t, 5);
  s_say(t, "t not reached");
  spec *m = sp("main", 0);
  s_call(m, t);
  assert_int_equal(run_tree(m, NULL, 0, NULL), WEFT_CANCELLED);
  assert_string_equal(trace, "start main @0\nstart t @0\nafter shield @5\nend t cancelled\n"
                             "root cancelled @5\n");
}

static void test_child_done_keeps_parent_pending(void **state) {
  (void)state;
  /* the cancellation reaches t's child k inside a shield; k then finishes
   * DONE (sub-0 unshield): t still owes it, delivered at t's next sleep */
  spec *k = sp("k", 2);
  s_op(k, OP_SHIELD);
  s_sleep(k, 20);
  s_op(k, OP_UNSHIELD0);
  spec *t = sp("t", 1);
  s_call(t, k);
  s_say(t, "t continues");
  s_sleep(t, 100);
  s_say(t, "t not reached");
  spec *m = sp("main", 0);
  s_call(m, t);
  cancel_req r = {10, 1};
  assert_int_equal(run_tree(m, &r, 1, NULL), WEFT_CANCELLED);
  assert_string_equal(trace, "start main @0\nstart t @0\nstart k @0\ncancel t @10\nend k done\n"
                             "t continues @20\nend t cancelled\nroot cancelled @20\n");
}

static void test_root_cancel(void **state) {
  (void)state;
  spec *b = sp("b", 2);
  s_call(b, guarded("c", 3, 3600000, "uc", 5));
  spec *m = sp("main", 0);
  s_comp(m, "um");
  s_join(m, WEFT_JOIN_ALL, 2, guarded("a", 1, 3600000, NULL, 1), b);
  cancel_req r = {10, -1};
  assert_int_equal(run_tree(m, &r, 1, NULL), WEFT_CANCELLED);
  assert_string_equal(trace, "start main @0\nstart a @0\nstart b @0\nstart c @0\ncancel root @10\n"
                             "fin a @10\nfin c @10\nundo uc @15\nend c cancelled\n"
                             "main: join raised Cancelled: cancelled\n"
                             "end a cancelled\nend b cancelled\nundo um @15\nroot cancelled @15\n");
}

static void test_cancel_before_run(void **state) {
  (void)state;
  /* weft_cancel before weft_run: the root never starts */
  weft_rt *rt = virtual_rt();
  spec *m = leaf("main", 0, 10);
  node *root = new_node(rt, m);
  weft_cancel(rt);
  assert_true(weft_cancel_requested(rt));
  assert_int_equal(weft_run(rt, &root->h), 0);
  assert_int_equal(root->h.status, WEFT_CANCELLED);
  assert_string_equal(trace, "drop main\n");
  weft_failure_free(weft_failure_take(&root->h));
  weft_frame_free(rt, &root->h);
  weft_rt_free(rt);
}

/* Code that starts its child by returning it (the pointer already in its
 * await slot) without weft_call is parked the same way by weft_run, so a
 * root cancellation still reaches the child. */
typedef struct lcall {
  weft_frame h;
  weft_frame *child; /* the await slot */
  const spec *k;
} lcall;
static weft_frame *lcall_resume(weft_rt *rt, weft_frame *f) {
  lcall *l = (lcall *)f;
  if (f->state == 0) {
    node *c = new_node(rt, l->k);
    c->h.parent = f;
    l->child = &c->h;
    f->state = 1;
    return &c->h;
  }
  weft_frame *c = l->child;
  if (c->status != WEFT_DONE) f->failure = weft_failure_take(c);
  reap(rt, c);
  return f->failure ? weft_failed(rt, f) : weft_done(rt, f);
}
static const weft_fninfo lcall_info = {lcall_resume, sizeof(lcall), offsetof(lcall, child), "main", "t.weft"};

static void test_implicit_call(void **state) {
  (void)state;
  weft_rt *rt = virtual_rt();
  lcall *root = weft_frame_alloc(rt, sizeof *root);
  root->h.fn = &lcall_info;
  root->k = guarded("k", 2, 1000, NULL, 5);
  canceller *c = weft_frame_alloc(rt, sizeof *c);
  c->h.fn = &canceller_info;
  c->us = 10000;
  c->target = -1;
  weft_ready_fifo(rt, &c->h);
  assert_int_equal(weft_run(rt, &root->h), 0);
  assert_int_equal(root->h.status, WEFT_CANCELLED);
  assert_string_equal(trace, "start k @0\ncancel root @10\nfin k @10\nend k cancelled\n");
  assert_int_equal(weft_now_ms(rt), 15);
  weft_failure_free(weft_failure_take(&root->h));
  weft_frame_free(rt, &root->h);
  weft_frame_free(rt, &c->h);
  weft_rt_free(rt);
}

/* ---- randomized trees ----------------------------------------------------------------------------- */

static int gen_count;
static spec *gen(int depth) {
  char *name = arena_add(malloc(16));
  snprintf(name, 16, "n%d", gen_count);
  spec *s = sp(name, 1000 + gen_count++);
  uint32_t nops = (uint32_t)rng_below(4) + (depth == 0 ? 1 : 0);
  for (uint32_t i = 0; i < nops; i++) {
    uint64_t r = rng_below(100);
    if (r < 30) {
      s_sleep(s, (int64_t)(rng_below(3) * rng_below(8)));
    } else if (r < 42 && depth < 4) {
      s_call(s, gen(depth + 1));
    } else if (r < 64 && depth < 4) {
      uint32_t mode = (uint32_t)rng_below(3);
      uint32_t k = (uint32_t)rng_below(4) + (mode == WEFT_JOIN_RACE ? 1 : 0);
      spec *kids[4];
      for (uint32_t j = 0; j < k; j++) kids[j] = gen(depth + 1);
      s_joinv(s, mode, mode == WEFT_JOIN_ALL && rng_below(2), k, kids);
    } else if (r < 72) {
      s_fail(s, name);
    } else if (r < 86) {
      s_comp(s, rng_below(3) ? name : "~slow");
    } else if (r < 89) {
      s_op(s, OP_CANCEL_SELF);
    } else {
      s_say(s, name);
    }
  }
  if (rng_below(3) == 0) {
    s_fin(s);
    if (rng_below(2)) s_sleep(s, (int64_t)rng_below(4));
    if (rng_below(12) == 0) s_fail(s, "finally failed");
  }
  return s;
}

static void test_random_trees(void **state) {
  (void)state;
  rng_seed("test_random_trees");
  int outcomes[4] = {0};
  for (int tree = 0; tree < 2000; tree++) {
    arena_free();
    gen_count = 0;
    spec *root = gen(0);
    cancel_req reqs[3];
    int nreq = (int)rng_below(4);
    uint64_t rs = rng_state;
    uint64_t hash[2];
    uint32_t st[2];
    for (int pass = 0; pass < 2; pass++) { /* same tree twice: same trace */
      ninsts = 0;
      comp_pushed = comp_ran = comp_discarded = 0;
      quiet = true;
      trace_hash = 0xcbf29ce484222325ull;
      rng_state = rs;
      for (int i = 0; i < nreq; i++) {
        reqs[i].ms = (int64_t)rng_below(25);
        /* the root, or an instance id that may exist by then */
        reqs[i].target = rng_below(3) == 0 ? -1 : (int)rng_below((uint64_t)gen_count + 1);
      }
      /* targets beyond the instances created are simply never live */
      st[pass] = run_tree(root, reqs, nreq, NULL);
      hash[pass] = trace_hash;
    }
    assert_int_equal(st[0], st[1]);
    assert_true(hash[0] == hash[1]);
    outcomes[st[0]]++;
  }
  quiet = false;
  printf("# random trees: done %d, failed %d, cancelled %d\n", outcomes[WEFT_DONE], outcomes[WEFT_FAILED],
         outcomes[WEFT_CANCELLED]);
  assert_true(outcomes[WEFT_DONE] > 0 && outcomes[WEFT_FAILED] > 0 && outcomes[WEFT_CANCELLED] > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_all_values_in_source_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_all_for_and_empty, setup, teardown),
      cmocka_unit_test_setup_teardown(test_all_fail_fast, setup, teardown),
      cmocka_unit_test_setup_teardown(test_settle, setup, teardown),
      cmocka_unit_test_setup_teardown(test_race_winner_and_losers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_race_failure_wins, setup, teardown),
      cmocka_unit_test_setup_teardown(test_race_done_loser_compensated, setup, teardown),
      cmocka_unit_test_setup_teardown(test_race_timeout_cost, setup, teardown),
      cmocka_unit_test_setup_teardown(test_nested_join_cancelled_from_above, setup, teardown),
      cmocka_unit_test_setup_teardown(test_start_order_at_turn_budget, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_frame_timer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_frame_child, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_frame_join, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_frame_shielded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_finished_is_noop, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pending_delivered_at_sleep, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pending_delivered_at_call, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pending_delivered_at_join, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pending_then_shield, setup, teardown),
      cmocka_unit_test_setup_teardown(test_child_done_keeps_parent_pending, setup, teardown),
      cmocka_unit_test_setup_teardown(test_root_cancel, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_before_run, setup, teardown),
      cmocka_unit_test_setup_teardown(test_implicit_call, setup, teardown),
      cmocka_unit_test_setup_teardown(test_random_trees, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
