/* lower.c -- typed AST to the state-machine IR (ir.h).
 *
 * Expressions are flattened into A-normal form as they are lowered: every
 * sub-expression lands in a var, left to right, so anything computed
 * before a `yield` is held in a var that liveness can see. A `yield` ends
 * the current block with a suspension terminator; lowering continues in a
 * fresh block, which is where the resume state will jump to.
 *
 * Suspension points are numbered 1..n in the order lowering meets them,
 * which is source order: states are stable small integers.
 */
#include "ir.h"

#include <string.h>

/* A try with a finally, while its body and catches are lowered. Every way
 * out of the region goes through the finally body with a completion record
 * (ck, and cf for a failure in flight) that the end of the finally replays:
 * regenerator's model, with the region's handler resolved statically. */
typedef struct Fin {
  int body;              /* first block of the finally body */
  int ck, cf;            /* completion kind (int) and in-flight failure */
  Vec exits;             /* FinExit*: break/continue/return routed through here */
  struct Fin *up;
} Fin;

typedef struct FinExit {
  int code, target;
  struct Fin *limit;     /* route through the finallies from here up to limit */
  int unshield;          /* finally bodies left on the way (see shield_depth) */
} FinExit;

enum { CK_NORMAL = 0, CK_FAIL = 1, CK_FIRST_EXIT = 2 };

typedef struct Loop {
  int brk, cont;
  Fin *fin;              /* innermost try-finally outside the loop */
  int shield_depth;
  struct Loop *up;
} Loop;

static IrFunc *fn;       /* function being lowered */
static int cur;          /* current open block */
static Loop *loops;
static Fin *fins;
static int shield_depth; /* finally bodies we are inside */
static int handler;      /* innermost failure handler for new instructions */
static int *symvar;      /* Sym.index -> var id */
static int retval_var;   /* return value routed through finally blocks; -1 until needed */
static int ret_block;    /* returns retval; -1 until needed */
Vec low_synthetic;
static int nsynthetic;

IrVar *ir_var(IrFunc *f, int id) { return f->vars.data[id]; }
IrBlock *ir_block(IrFunc *f, int id) { return f->blocks.data[id]; }

/* ---------------------------------------------------------------- builders */

static int new_var(Type *t, const char *name, Loc loc) {
  if (!t || t->kind == TY_UNIT || t->kind == TY_NEVER || t->kind == TY_INVALID)
    return -1;
  IrVar *v = ar_alloc(sizeof *v);
  v->id = fn->vars.len;
  v->type = t;
  v->name = name;
  v->loc = loc;
  v->field = -1;
  vec_push(&fn->vars, v);
  return v->id;
}

static int new_block(void) {
  IrBlock *b = ar_alloc(sizeof *b);
  b->id = fn->blocks.len;
  b->term.op = T_NONE;
  b->term.dst = b->term.a = b->term.b = -1;
  vec_push(&fn->blocks, b);
  return b->id;
}

static IrBlock *blk(int id) { return fn->blocks.data[id]; }

static IrInst *emit(int op, int dst, Type *type, Loc loc) {
  IrInst *i = ar_alloc(sizeof *i);
  i->op = op;
  i->dst = dst;
  i->a = i->b = -1;
  i->type = type;
  i->loc = loc;
  i->handler = handler;
  vec_push(&blk(cur)->insts, i);
  return i;
}

/* dst = a <op> b on ints (OP_ADD, OP_LT, ...) */
static IrInst *int_bin(int op, int dst, int a, int b, Loc loc) {
  IrInst *i = emit(I_BIN, dst, ty_int, loc);
  i->sub = op;
  i->a = a;
  i->b = b;
  return i;
}

/* Ends the current block. */
static IrInst *terminate(int op, Loc loc) {
  IrBlock *b = blk(cur);
  if (b->term.op != T_NONE)
    diag_ice("lowering: block %d terminated twice", b->id);
  b->term.op = op;
  b->term.loc = loc;
  b->term.handler = handler;
  return &b->term;
}

static void jump(int target, Loc loc) {
  terminate(T_JUMP, loc);
  blk(cur)->succ[0] = target;
  blk(cur)->nsucc = 1;
}

static void branch(int cond, int t, int f, Loc loc) {
  IrInst *i = terminate(T_BRANCH, loc);
  i->a = cond;
  blk(cur)->succ[0] = t;
  blk(cur)->succ[1] = f;
  blk(cur)->nsucc = 2;
}

/* Ends the current block with a suspension and continues in a new one. */
static IrInst *suspend(int op, Loc loc) {
  IrInst *i = terminate(op, loc);
  IrBlock *b = blk(cur);
  b->state = ++fn->nstates;
  vec_push(&fn->suspends, b);
  int next = new_block();
  b->succ[0] = next;
  b->nsucc = 1;
  cur = next;
  return i;
}

/* After return/break/continue: later statements go to an unreachable block. */
static void dead_block(void) { cur = new_block(); }

static int sym_var(Sym *s) { return symvar[s->index]; }

/* The var that carries a return value through finally blocks (and a branch
 * block's value), made on first use so plain workflows don't pay for it. */
static int retval(void) {
  if (retval_var < 0)
    retval_var = new_var(fn->decl->ret, "return", fn->decl->loc);
  return retval_var;
}

static int *args_array(int n) { return n ? ar_alloc(sizeof(int) * n) : NULL; }

/* ---------------------------------------------------------------- expressions */

static int lower_expr(Node *e, int want);
static void set_int(int var, int64_t v, Loc loc);
static void lower_stmt(Node *s);
static void lower_block(Node *b);

/* A var to hold e's value: `want` when the caller named one. */
static int dest(Node *e, int want) {
  if (want >= 0)
    return want;
  return new_var(e->type, NULL, e->loc);
}

/* Result of an expression that names an existing var: copy when the caller
 * wants it somewhere else. */
static int place(int v, int want, Type *t, Loc loc) {
  if (want < 0 || want == v || v < 0)
    return v;
  IrInst *i = emit(I_COPY, want, t, loc);
  i->a = v;
  return want;
}

static int lower_args(Node *list, int n, int *out) {
  int k = 0;
  for (Node *a = list; a && k < n; a = a->next)
    out[k++] = lower_expr(a, -1);
  return k;
}

static int lower_logical(Node *e, int want) {
  /* r = lhs; if (r == (op == ||)) skip rhs; else r = rhs */
  int r = dest(e, want);
  int a = lower_expr(e->lhs, r);
  (void)a;
  int rhs = new_block(), join = new_block();
  if (e->op == OP_AND)
    branch(r, rhs, join, e->loc);
  else
    branch(r, join, rhs, e->loc);
  cur = rhs;
  lower_expr(e->rhs, r);
  jump(join, e->loc);
  cur = join;
  return r;
}

/* ---- compensations */

/* Syms a compensation block declares and uses; captured = used - declared. */
static void collect_syms(Node *n, Vec *used, Vec *declared) {
  for (; n; n = n->next) {
    if (n->kind == N_IDENT && n->sym) {
      bool seen = false;
      for (int i = 0; i < used->len; i++)
        seen |= used->data[i] == n->sym;
      if (!seen)
        vec_push(used, n->sym);
    }
    if ((n->kind == N_LET || n->kind == N_FOR || n->kind == N_CATCH || n->kind == N_ALL_FOR) && n->sym)
      vec_push(declared, n->sym);
    if (n->kind == N_LET)
      for (Node *p = n->pats; p; p = p->next)
        if (p->sym)
          vec_push(declared, p->sym);
    Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els, n->body, n->args, n->comp};
    for (size_t k = 0; k < sizeof kids / sizeof *kids; k++)
      if (kids[k])
        collect_syms(kids[k], used, declared);
  }
}

/* A compensation block, or an all/race branch block, becomes a workflow of
 * its own whose parameters are the values it captures (copied when it is
 * pushed or started: a block cannot assign its workflow's variables).
 * `first`, when given, is parameter 0 (the element of an `all for`). It is
 * named after its place, for reports and traces: book.compensate@47:5. */
static Decl *synthesize_block(Node *block, const char *what, Type *ret, Sym *first, Vec *captures) {
  Vec used = {0}, declared = {0};
  collect_syms(block, &used, &declared);
  Decl *d = ar_alloc(sizeof *d);
  d->kind = D_WORKFLOW;
  d->loc = block->loc;
  d->name = ar_printf("%s.%s@%d:%d", fn->name, what, block->loc.line, block->loc.col);
  nsynthetic++;
  d->name_loc = block->loc;
  d->module = fn->decl->module;
  d->ret = (ret && ret->kind != TY_NEVER && ret->kind != TY_INVALID) ? ret : ty_unit;
  d->block_value = d->ret->kind != TY_UNIT;
  d->body = block;
  d->params = ar_alloc(sizeof(Param) * (used.len + 2));
  if (first) {
    Param *p = &d->params[d->nparams++];
    p->name = first->name;
    p->loc = first->loc;
    p->type = first->type;
    p->sym = first;
    vec_push(&d->locals, first);
  }
  for (int i = 0; i < used.len; i++) {
    Sym *s = used.data[i];
    if (s == first)
      continue;
    bool inner = false;
    for (int k = 0; k < declared.len; k++)
      inner |= declared.data[k] == s;
    if (inner) {
      vec_push(&d->locals, s);
      continue;
    }
    Param *p = &d->params[d->nparams++];
    p->name = s->name;
    p->loc = s->loc;
    p->type = s->type;
    p->sym = s;
    vec_push(&d->locals, s);
    vec_push(captures, s);
  }
  for (int k = 0; k < declared.len; k++) {
    bool seen = false;
    for (int i = 0; i < d->locals.len; i++)
      seen |= d->locals.data[i] == declared.data[k];
    if (!seen)
      vec_push(&d->locals, declared.data[k]);
  }
  vec_push(&low_synthetic, d);
  return d;
}

static Node *wrap_as_block(Node *effect, Type *t);

static void lower_comp_push(Node *c) {
  IrInst *i;
  /* an activity is not a frame: `compensate act(x)` runs as `{ yield act(x) }` */
  if (c->kind == N_CALL && c->decl && c->decl->kind == D_ACTIVITY)
    c = wrap_as_block(c, c->type);
  if (c->kind == N_CALL) {
    int *args = args_array(c->nargs);
    int n = lower_args(c->args, c->nargs, args);
    i = emit(I_COMP_PUSH, -1, NULL, c->loc);
    i->decl = c->decl;
    i->args = args;
    i->nargs = n;
    return;
  }
  Vec caps = {0};
  Decl *d = synthesize_block(c, "compensate", ty_unit, NULL, &caps);
  int *args = args_array(caps.len);
  for (int k = 0; k < caps.len; k++)
    args[k] = sym_var(caps.data[k]);
  i = emit(I_COMP_PUSH, -1, NULL, c->loc);
  i->decl = d;
  i->args = args;
  i->nargs = caps.len;
}

/* ---- all / race / timeout */

/* Hand-built helper workflows: `sleep(d)` as a branch, and the failing
 * branch of an `all for` whose arguments failed. */
static Decl *helper_sleep, *helper_reraise;
Vec low_helpers; /* IrFunc* */

static Decl *helper_decl(const char *name) {
  Decl *d = ar_alloc(sizeof *d);
  d->kind = D_WORKFLOW;
  d->name = name;
  d->ret = ty_unit;
  d->nparams = 1;
  d->params = ar_alloc(sizeof(Param));
  d->params[0].name = "d";
  d->params[0].type = ty_duration;
  return d;
}

void low_helpers_init(void) {
  low_helpers = (Vec){0};
  /* weft.sleep(d): `sleep(d)` as a branch of all/race */
  Decl *sd = helper_decl("weft.sleep");
  fn = ar_alloc(sizeof *fn);
  fn->decl = sd;
  fn->name = sd->name;
  fn->result_field = fn->await_field = -1;
  handler = IR_UNWIND;
  loops = NULL;
  fins = NULL;
  int dv = new_var(ty_duration, "d", sd->loc);
  ir_var(fn, dv)->is_param = true;
  cur = new_block();
  suspend(T_SLEEP, sd->loc)->a = dv;
  fn->has_sleep = true;
  terminate(T_RETURN, sd->loc)->a = -1;
  helper_sleep = sd;
  vec_push(&low_helpers, fn);
  /* weft.reraise(e): fails with e -- the branch of an `all for` whose
   * arguments failed to evaluate (lower_join_for_direct) */
  Decl *d = helper_decl("weft.reraise");
  d->params[0].name = "e";
  d->params[0].type = ty_error;
  fn = ar_alloc(sizeof *fn);
  fn->decl = d;
  fn->name = d->name;
  fn->result_field = fn->await_field = -1;
  handler = IR_UNWIND;
  loops = NULL;
  fins = NULL;
  int ev = new_var(ty_error, "e", d->loc);
  ir_var(fn, ev)->is_param = true;
  cur = new_block();
  IrInst *t = terminate(T_FAIL, d->loc);
  t->sub = 1;
  t->a = ev;
  helper_reraise = d;
  vec_push(&low_helpers, fn);
  fn = NULL;
}

static Node *wrap_as_block(Node *effect, Type *t) {
  Node *y = ar_alloc(sizeof *y);
  y->kind = N_YIELD;
  y->loc = effect->loc;
  y->lhs = effect;
  y->type = t;
  Node *st = ar_alloc(sizeof *st);
  st->kind = N_EXPR_STMT;
  st->loc = effect->loc;
  st->lhs = y;
  Node *b = ar_alloc(sizeof *b);
  b->kind = N_BLOCK;
  b->loc = effect->loc;
  b->body = st;
  return b;
}

/* One branch: the frame of a workflow call, or a synthetic workflow. */
static Decl *lower_branch(Node *b, Type *t, int **args, int *nargs) {
  if (b->kind == N_CALL && b->decl && b->decl->kind == D_WORKFLOW) {
    *args = args_array(b->nargs);
    *nargs = lower_args(b->args, b->nargs, *args);
    return b->decl;
  }
  if (b->kind == N_CALL && b->builtin == BI_SLEEP) {
    *args = args_array(1);
    (*args)[0] = lower_expr(b->args, -1);
    *nargs = 1;
    helper_sleep->used = true;
    return helper_sleep;
  }
  Node *block = b->kind == N_BLOCK_EXPR ? b->body : b->kind == N_BLOCK ? b : wrap_as_block(b, t);
  Vec caps = {0};
  Decl *d = synthesize_block(block, "branch", t, NULL, &caps);
  *args = args_array(caps.len);
  for (int k = 0; k < caps.len; k++)
    (*args)[k] = sym_var(caps.data[k]);
  *nargs = caps.len;
  return d;
}

/* The call of an `all for` body that is just `yield wf(args)` (its value),
 * or NULL. */
static Node *direct_for_call(Node *eff) {
  Node *body = eff->body;
  if (!body || body->kind != N_BLOCK || !body->body || body->body->next || body->body->kind != N_EXPR_STMT)
    return NULL;
  Node *y = body->body->lhs;
  if (!y || y->kind != N_YIELD || y->rhs || y->cond || y->els || y->comp)
    return NULL;
  Node *c = y->lhs;
  if (!c || c->kind != N_CALL || !c->decl || c->decl->kind != D_WORKFLOW || c->builtin)
    return NULL;
  return c;
}

/* `all for x in XS { yield wf(args) }`: one frame per element instead of a
 * branch frame that calls wf. The arguments are computed when the branches
 * are made; if that fails for element k, branch k is a frame that raises the
 * failure and there are no branches after it -- what the branch frames did:
 * branches 0..k-1 start, branch k fails, and the later ones never start. */
static int lower_join_for_direct(Node *e, Node *call, int r) {
  Node *eff = e->lhs;
  Loc loc = eff->loc;
  int a, b = -1;
  bool range = eff->rhs->kind == N_RANGE;
  if (range) {
    a = new_var(ty_int, NULL, loc);
    lower_expr(eff->rhs->lhs, a);
    b = new_var(ty_int, NULL, loc);
    lower_expr(eff->rhs->rhs, b);
  } else {
    a = lower_expr(eff->rhs, -1);
  }
  fn->has_join = true;
  if (fn->max_branches < 1)
    fn->max_branches = 1;
  int n = new_var(ty_int, NULL, loc), i = new_var(ty_int, NULL, loc);
  IrInst *beg = emit(I_SPAWN_BEGIN, n, ty_int, loc);
  beg->a = a;
  beg->b = b;
  set_int(i, 0, loc);
  int head = new_block(), body = new_block(), argfail = new_block(), done = new_block();
  jump(head, loc);
  cur = head;
  int more = new_var(ty_bool, NULL, loc);
  int_bin(OP_LT, more, i, n, loc);
  branch(more, body, done, loc);

  cur = body;
  int outer = handler;
  handler = argfail;
  Sym *xs = eff->sym;
  if (symvar[xs->index] < 0)
    symvar[xs->index] = new_var(xs->type, xs->name, xs->loc);
  int x = symvar[xs->index];
  if (range) {
    int_bin(OP_ADD, x, a, i, loc);
  } else {
    IrInst *el = emit(I_INDEX, x, xs->type, loc);
    el->a = a;
    el->b = i;
  }
  int *args = args_array(call->nargs);
  int na = lower_args(call->args, call->nargs, args);
  IrInst *sp = emit(I_SPAWN, -1, NULL, call->loc);
  sp->a = i;
  sp->decl = call->decl;
  sp->args = args;
  sp->nargs = na;
  handler = outer;
  int one = new_var(ty_int, NULL, loc);
  set_int(one, 1, loc);
  int_bin(OP_ADD, i, i, one, loc);
  jump(head, loc);

  cur = argfail;
  IrInst *sf = emit(I_SPAWN_FAIL, -1, NULL, loc);
  sf->a = i;
  sf->decl = helper_reraise;
  helper_reraise->used = true;
  jump(done, loc);

  cur = done;
  IrInst *t = suspend(T_JOIN_FOR, e->loc);
  t->decl = call->decl;
  t->sub = 1;
  t->a = t->b = -1;
  t->dst = r;
  t->type = e->type;
  return r;
}

static int lower_join(Node *e, int want) {
  Node *eff = e->lhs;
  int r = dest(e, want);
  Node *direct = eff->kind == N_ALL_FOR ? direct_for_call(eff) : NULL;
  if (direct)
    return lower_join_for_direct(e, direct, r);
  if (eff->kind == N_ALL_FOR) {
    int a, b = -1;
    if (eff->rhs->kind == N_RANGE) {
      a = new_var(ty_int, NULL, eff->loc);
      lower_expr(eff->rhs->lhs, a);
      b = new_var(ty_int, NULL, eff->loc);
      lower_expr(eff->rhs->rhs, b);
    } else {
      a = lower_expr(eff->rhs, -1);
    }
    Vec caps = {0};
    Type *elem = e->type && e->type->kind == TY_LIST ? e->type->elem : ty_unit;
    Decl *d = synthesize_block(eff->body, "branch", elem, eff->sym, &caps);
    IrInst *t = suspend(T_JOIN_FOR, e->loc);
    t->decl = d;
    t->a = a;
    t->b = b;
    t->args = args_array(caps.len);
    for (int k = 0; k < caps.len; k++)
      t->args[k] = sym_var(caps.data[k]);
    t->nargs = caps.len;
    t->dst = r;
    t->type = e->type;
    t->sub = JOIN_ALL;
    fn->has_join = true;
    return r;
  }
  /* the branches, in source order */
  Node *branches = eff->args;
  int n = eff->nargs;
  int mode = eff->kind == N_RACE ? JOIN_RACE : eff->ival ? JOIN_SETTLE : JOIN_ALL;
  Decl **decls = ar_alloc(sizeof(Decl *) * (n + 1));
  int **bargs = ar_alloc(sizeof(int *) * (n + 1));
  int *bn = ar_alloc(sizeof(int) * (n + 1));
  int i = 0;
  for (Node *b = branches; b && i < n; b = b->next, i++) {
    Type *bt = mode == JOIN_RACE ? e->type
               : (e->type && e->type->kind == TY_TUPLE && n > 1) ? e->type->elems[i]
                                                                 : e->type;
    if (b->type && (b->type->kind == TY_NEVER || b->type->kind == TY_UNIT))
      bt = b->type;
    decls[i] = lower_branch(b, bt, &bargs[i], &bn[i]);
  }
  IrInst *t = suspend(T_JOIN, e->loc);
  t->sub = mode;
  t->bdecls = decls;
  t->bargs = bargs;
  t->bnargs = bn;
  t->nargs = n;
  t->dst = r;
  t->type = e->type;
  if (n > fn->max_branches)
    fn->max_branches = n;
  fn->has_join = true;
  return r;
}

static int lower_yield(Node *e, int want);

/* `yield E [timeout D] [breaker B] [retry P] [compensate C]`, carried out
 * by the std modules' workflows (resolve.c checked they are imported):
 *
 *     attempt = 1
 *   top:                                  -- failures below go to `retry:`
 *     yield breaker_enter(B)              -- CircuitOpen when open
 *     r = yield E [timeout D]             -- failures go to `bfail:`
 *     weft_breaker_exit(B.name, true, true)
 *     goto done
 *   bfail:                                -- Cancelled is not counted
 *     weft_breaker_exit(B.name, false, <not Cancelled>); unwind to `retry:`
 *   retry:                                -- Cancelled is never retried
 *     e = take failure; yield retry_wait(P, e, attempt)  -- fails with e to give up
 *     attempt = attempt + 1; goto top
 *   done:                                 -- then the compensation is pushed
 *
 * Only the successful attempt pushes C. */
static int lower_guarded(Node *e, int want) {
  Loc loc = e->loc;
  int r = dest(e, want); /* -1 for a unit or never value (new_var) */
  int outer = handler;
  int pv = e->els ? lower_expr(e->els, -1) : -1;
  int bv = e->cond ? lower_expr(e->cond, -1) : -1;
  int attempt = -1, retry_blk = -1;
  if (pv >= 0) {
    attempt = new_var(ty_int, "attempt", loc);
    set_int(attempt, 1, loc);
    retry_blk = new_block();
  }
  int top = new_block(), done = new_block();
  jump(top, loc);
  cur = top;
  handler = pv >= 0 ? retry_blk : outer;
  int attempt_handler = handler;

  Node plain = *e; /* the effect alone */
  plain.cond = plain.els = plain.comp = NULL;
  if (bv >= 0) {
    Decl *enter = res_global("breaker_enter"), *exitfn = res_global("weft_breaker_exit");
    IrInst *t = suspend(T_CALL, loc);
    t->decl = enter;
    t->args = args_array(1);
    t->args[0] = bv;
    t->nargs = 1;
    t->dst = -1;
    t->type = ty_unit;
    fn->has_call = true;

    int bfail = new_block();
    handler = bfail;
    lower_yield(&plain, r);
    handler = attempt_handler;
    int name = new_var(ty_str, NULL, loc), okv = new_var(ty_bool, NULL, loc), counted = new_var(ty_bool, NULL, loc);
    Loc bloc = e->cond->loc;
    for (int pass = 0; pass < 2; pass++) {
      IrInst *f = emit(I_FIELD, name, ty_str, bloc);
      f->a = bv;
      f->sub = 0; /* Breaker.name is its first field */
      emit(I_CONST, okv, ty_bool, bloc)->ival = pass == 0;
      if (pass == 0)
        emit(I_CONST, counted, ty_bool, bloc)->ival = 1;
      else
        emit(I_FAIL_IS, counted, NULL, bloc)->decl = NULL; /* any kind but Cancelled */
      IrInst *x = emit(I_EXTERN, -1, ty_unit, bloc);
      x->decl = exitfn;
      x->args = args_array(3);
      x->args[0] = name;
      x->args[1] = okv;
      x->args[2] = counted;
      x->nargs = 3;
      if (pass == 0) {
        jump(done, loc);
        cur = bfail;
      } else {
        terminate(T_UNWIND, loc);
      }
    }
  } else {
    lower_yield(&plain, r);
    jump(done, loc);
  }

  if (pv >= 0) {
    cur = retry_blk;
    handler = outer;
    int real = new_var(ty_bool, NULL, loc);
    emit(I_FAIL_IS, real, NULL, loc)->decl = NULL;
    int again = new_block(), giveup = new_block();
    branch(real, again, giveup, loc);
    cur = giveup;
    terminate(T_UNWIND, loc);
    cur = again;
    int ev = new_var(ty_error, "error", loc);
    emit(I_FAIL_TAKE, ev, ty_error, loc);
    IrInst *t = suspend(T_CALL, e->els->loc);
    t->decl = res_global("retry_wait");
    t->args = args_array(3);
    t->args[0] = pv;
    t->args[1] = ev;
    t->args[2] = attempt;
    t->nargs = 3;
    t->dst = -1;
    t->type = ty_unit;
    fn->has_call = true;
    int one = new_var(ty_int, NULL, loc);
    set_int(one, 1, loc);
    int_bin(OP_ADD, attempt, attempt, one, loc)->handler = outer; /* never overflows: the policy bounds it */
    jump(top, loc);
  }
  cur = done;
  handler = outer;
  if (e->comp)
    lower_comp_push(e->comp);
  return r;
}

static int lower_yield(Node *e, int want) {
  Node *eff = e->lhs;
  if (e->cond || e->els)
    return lower_guarded(e, want);
  if (e->rhs) {
    /* `E timeout d` means race { E, { yield sleep(d); fail Timeout } }: it
     * is a call with a deadline -- of wf itself when E is `wf(args)`, else
     * of E wrapped as a workflow (an activity, sleep, all, race) */
    int *args, n;
    Decl *callee = lower_branch(eff, e->type, &args, &n);
    int d = lower_expr(e->rhs, -1);
    int r = dest(e, want); /* -1 for a unit or never value (new_var) */
    IrInst *t = suspend(T_CALL, e->loc);
    t->decl = callee;
    t->args = args;
    t->nargs = n;
    t->b = d;
    t->dst = r;
    t->type = e->type;
    fn->has_call = fn->has_deadline = true;
    if (e->comp)
      lower_comp_push(e->comp);
    return r;
  }
  if (eff->kind == N_ALL || eff->kind == N_RACE || eff->kind == N_ALL_FOR) {
    int r = lower_join(e, want);
    if (e->comp)
      lower_comp_push(e->comp);
    return r;
  }
  if (eff->kind != N_CALL)
    diag_ice("lowering: unsupported effect kind %d", eff->kind);
  if (eff->builtin == BI_SLEEP) {
    int d = lower_expr(eff->args, -1);
    IrInst *t = suspend(T_SLEEP, e->loc);
    t->a = d;
    fn->has_sleep = true;
    if (e->comp)
      lower_comp_push(e->comp);
    return -1;
  }
  Decl *callee = eff->decl;
  int *args = args_array(eff->nargs);
  int n = lower_args(eff->args, eff->nargs, args);
  int r = dest(e, want);
  IrInst *t = suspend(T_CALL, e->loc);
  t->decl = callee;
  t->args = args;
  t->nargs = n;
  t->dst = r;
  t->type = e->type;
  fn->has_call = true;
  if (e->comp)
    lower_comp_push(e->comp);
  return r;
}

static int lower_expr(Node *e, int want) {
  switch (e->kind) {
  case N_INT:
  case N_BOOL:
  case N_DURATION: {
    int r = dest(e, want);
    IrInst *i = emit(I_CONST, r, e->type, e->loc);
    i->ival = e->ival;
    return r;
  }
  case N_FLOAT: {
    int r = dest(e, want);
    emit(I_CONST, r, e->type, e->loc)->fval = e->fval;
    return r;
  }
  case N_STR: {
    int r = dest(e, want);
    IrInst *i = emit(I_CONST, r, e->type, e->loc);
    i->sval = e->sval;
    i->slen = e->slen;
    return r;
  }
  case N_IDENT:
    if (!e->sym)
      diag_ice("lowering: unresolved identifier '%s'", e->name);
    return place(symvar[e->sym->index], want, e->type, e->loc);
  case N_BINARY: {
    if (e->op == OP_AND || e->op == OP_OR)
      return lower_logical(e, want);
    int a = lower_expr(e->lhs, -1);
    int b = lower_expr(e->rhs, -1);
    int r = dest(e, want);
    IrInst *i = emit(I_BIN, r, e->lhs->type, e->loc);
    i->sub = e->op;
    i->a = a;
    i->b = b;
    i->btype = e->rhs->type; /* duration * int, int * duration */
    return r;
  }
  case N_UNARY: {
    int a = lower_expr(e->lhs, -1);
    int r = dest(e, want);
    IrInst *i = emit(I_UN, r, e->lhs->type, e->loc);
    i->sub = e->op;
    i->a = a;
    return r;
  }
  case N_CALL: {
    int *args = args_array(e->nargs);
    int n = lower_args(e->args, e->nargs, args);
    int r = dest(e, want);
    IrInst *i;
    if (e->builtin) {
      i = emit(I_BUILTIN, r, e->args ? e->args->type : NULL, e->loc);
      i->sub = e->builtin;
    } else if (e->decl && e->decl->kind == D_EXTERN) {
      i = emit(I_EXTERN, r, e->type, e->loc);
      i->decl = e->decl;
    } else {
      diag_ice("lowering: call of '%s' outside yield", e->lhs ? e->lhs->name : "?");
    }
    i->args = args;
    i->nargs = n;
    return r;
  }
  case N_FIELD:
  case N_TUPLE_IDX: {
    if (e->kind == N_FIELD && e->lhs->type->kind == TY_OUTCOME && e->ival > 0) {
      int a = lower_expr(e->lhs, -1);
      int r = dest(e, want);
      IrInst *i = emit(I_OUTCOME, r, e->type, e->loc);
      i->a = a;
      i->sub = (int)e->ival;
      return r;
    }
    if (e->kind == N_FIELD && e->lhs->type->kind == TY_ERROR) {
      int a = lower_expr(e->lhs, -1);
      int r = dest(e, want);
      IrInst *i = emit(I_ERR_FIELD, r, ty_str, e->loc);
      i->a = a;
      i->sub = strcmp(e->name, "kind") == 0 ? 0 : 1;
      return r;
    }
    int a = lower_expr(e->lhs, -1);
    int r = dest(e, want);
    IrInst *i = emit(I_FIELD, r, e->type, e->loc);
    i->a = a;
    i->sub = (int)e->ival;
    return r;
  }
  case N_INDEX: {
    int a = lower_expr(e->lhs, -1);
    int b = lower_expr(e->rhs, -1);
    int r = dest(e, want);
    IrInst *i = emit(I_INDEX, r, e->type, e->loc);
    i->a = a;
    i->b = b;
    return r;
  }
  case N_LIST:
  case N_TUPLE: {
    int *args = args_array(e->nargs);
    int n = lower_args(e->args, e->nargs, args);
    int r = dest(e, want);
    IrInst *i = emit(e->kind == N_LIST ? I_LIST : I_OBJ, r, e->type, e->loc);
    i->args = args;
    i->nargs = n;
    return r;
  }
  case N_RECORD: {
    /* Evaluate the field initialisers in source order, store by field index. */
    Decl *rec = e->type->rec;
    int *args = args_array(rec->nfields);
    for (int k = 0; k < rec->nfields; k++)
      args[k] = -1;
    for (Node *fi = e->args; fi; fi = fi->next) {
      int v = lower_expr(fi->lhs, -1);
      for (int k = 0; k < rec->nfields; k++)
        if (strcmp(rec->fields[k].name, fi->name) == 0)
          args[k] = v;
    }
    int r = dest(e, want);
    IrInst *i = emit(I_OBJ, r, e->type, e->loc);
    i->args = args;
    i->nargs = rec->nfields;
    return r;
  }
  case N_YIELD:
    return lower_yield(e, want);
  default:
    diag_ice("lowering: unexpected expression kind %d", e->kind);
  }
}

/* ---------------------------------------------------------------- statements */

static void lower_for(Node *s) {
  int x = sym_var(s->sym);
  int idx, end, list = -1;
  Loc loc = s->loc;
  if (s->rhs->kind == N_RANGE) {
    idx = new_var(ty_int, NULL, loc);
    lower_expr(s->rhs->lhs, idx);
    end = new_var(ty_int, NULL, loc);
    lower_expr(s->rhs->rhs, end); /* evaluated once: a copy, not an alias */
  } else {
    /* Hold our own reference to the list for the whole loop. */
    list = new_var(s->rhs->type, NULL, loc);
    lower_expr(s->rhs, list);
    idx = new_var(ty_int, NULL, loc);
    emit(I_CONST, idx, ty_int, loc)->ival = 0;
    end = new_var(ty_int, NULL, loc);
    IrInst *l = emit(I_BUILTIN, end, s->rhs->type, loc);
    l->sub = BI_LEN;
    l->args = args_array(1);
    l->args[0] = list;
    l->nargs = 1;
  }
  int head = new_block(), body = new_block(), step = new_block(), exit = new_block();
  jump(head, loc);
  cur = head;
  int c = new_var(ty_bool, NULL, loc);
  int_bin(OP_LT, c, idx, end, loc);
  branch(c, body, exit, loc);
  cur = body;
  if (list >= 0) {
    IrInst *g = emit(I_INDEX, x, s->sym->type, loc);
    g->a = list;
    g->b = idx;
  } else {
    emit(I_COPY, x, ty_int, loc)->a = idx;
  }
  Loop lp = {exit, step, fins, shield_depth, loops};
  loops = &lp;
  lower_block(s->body);
  loops = lp.up;
  jump(step, loc);
  cur = step;
  int one = new_var(ty_int, NULL, loc);
  emit(I_CONST, one, ty_int, loc)->ival = 1;
  IrInst *inc = emit(I_BIN, idx, ty_int, loc);
  inc->sub = OP_ADD;
  inc->a = idx;
  inc->b = one;
  jump(head, loc);
  cur = exit;
}

static void set_int(int var, int64_t v, Loc loc) { emit(I_CONST, var, ty_int, loc)->ival = v; }

static void unshield(int n, Loc loc) {
  for (int i = 0; i < n; i++)
    emit(I_UNSHIELD, -1, NULL, loc);
}

/* Jumps to target, running the finally blocks from `from` up to (not
 * including) `limit` on the way. */
static void leave_from(Fin *from, int target, Fin *limit, Loc loc) {
  if (from == limit) {
    jump(target, loc);
    return;
  }
  FinExit *x = NULL;
  for (int i = 0; i < from->exits.len; i++) {
    FinExit *e = from->exits.data[i];
    if (e->target == target && e->limit == limit)
      x = e;
  }
  if (!x) {
    x = ar_alloc(sizeof *x);
    x->code = CK_FIRST_EXIT + from->exits.len;
    x->target = target;
    x->limit = limit;
    vec_push(&from->exits, x);
  }
  set_int(from->ck, x->code, loc);
  jump(from->body, loc);
}

/* fail Kind("message") | fail Kind | fail e */
static void lower_fail(Node *s) {
  Node *e = s->lhs;
  IrInst *t;
  if (e->kind == N_CALL) {
    int msg = e->args ? lower_expr(e->args, -1) : -1;
    t = terminate(T_FAIL, s->loc);
    t->decl = e->decl;
    t->a = msg;
  } else if (e->kind == N_IDENT && e->sym) {
    int v = lower_expr(e, -1);
    t = terminate(T_FAIL, s->loc);
    t->sub = 1;
    t->a = v;
  } else {
    t = terminate(T_FAIL, s->loc);
    t->decl = e->decl;
  }
}

/* Normal end of a try body or catch: through the finally, or on. */
static void try_fallthrough(Fin *fin, int after, Loc loc) {
  if (fin) {
    set_int(fin->ck, CK_NORMAL, loc);
    jump(fin->body, loc);
  } else {
    jump(after, loc);
  }
}

static bool block_is_open(void) { return blk(cur)->term.op == T_NONE; }

static void lower_try(Node *s) {
  int outer = handler;
  int after = new_block();
  Fin *fin = NULL;
  int fail_entry = -1;
  if (s->els) {
    fin = ar_alloc(sizeof *fin);
    fin->body = new_block();
    fin->ck = new_var(ty_int, NULL, s->loc);
    fin->cf = new_var(ty_error, NULL, s->loc);
    fin->up = fins;
    fins = fin;
    fail_entry = new_block();
  }
  int catch_handler = fin ? fail_entry : outer;
  int dispatch = s->args ? new_block() : -1;

  handler = s->args ? dispatch : catch_handler;
  lower_block(s->body);
  if (block_is_open())
    try_fallthrough(fin, after, s->loc);

  handler = catch_handler;
  if (s->args) {
    cur = dispatch;
    for (Node *c = s->args; c; c = c->next) {
      int test = new_var(ty_bool, NULL, c->loc);
      emit(I_FAIL_IS, test, NULL, c->loc)->decl = c->sval ? c->decl : NULL;
      int body = new_block(), next = new_block();
      branch(test, body, next, c->loc);
      cur = body;
      emit(I_FAIL_TAKE, c->sym ? sym_var(c->sym) : -1, ty_error, c->loc);
      lower_block(c->body);
      if (block_is_open())
        try_fallthrough(fin, after, c->loc);
      cur = next;
    }
    terminate(T_UNWIND, s->loc); /* no clause matched */
  }

  if (fin) {
    fins = fin->up;
    cur = fail_entry;
    emit(I_FAIL_TAKE, fin->cf, ty_error, s->loc);
    set_int(fin->ck, CK_FAIL, s->loc);
    jump(fin->body, s->loc);

    /* the finally body: shielded; a failure inside it replaces the one in
     * flight, which becomes its cause */
    int raised = new_block();
    cur = fin->body;
    emit(I_SHIELD, -1, NULL, s->els->loc);
    handler = raised;
    shield_depth++;
    lower_block(s->els);
    shield_depth--;
    handler = outer;
    if (block_is_open()) {
      /* replay the completion record */
      Loc l = s->els->loc;
      int is_fail = new_var(ty_bool, NULL, l), one = new_var(ty_int, NULL, l);
      set_int(one, CK_FAIL, l);
      IrInst *cmp = emit(I_BIN, is_fail, ty_int, l);
      cmp->sub = OP_EQ;
      cmp->a = fin->ck;
      cmp->b = one;
      int failing = new_block(), other = new_block();
      branch(is_fail, failing, other, l);
      cur = failing;
      emit(I_UNSHIELD, -1, NULL, l);
      emit(I_FAIL_PUT, -1, NULL, l)->a = fin->cf;
      terminate(T_UNWIND, l);
      cur = other;
      /* a cancellation deferred while the finally ran is delivered now */
      int cancelled = new_var(ty_bool, NULL, l);
      emit(I_UNSHIELD, cancelled, NULL, l)->sub = 1;
      int deliver = new_block(), replay = new_block();
      branch(cancelled, deliver, replay, l);
      cur = deliver;
      terminate(T_UNWIND, l);
      cur = replay;
      for (int i = 0; i < fin->exits.len; i++) {
        FinExit *x = fin->exits.data[i];
        int code = new_var(ty_int, NULL, l), eq = new_var(ty_bool, NULL, l);
        set_int(code, x->code, l);
        IrInst *c2 = emit(I_BIN, eq, ty_int, l);
        c2->sub = OP_EQ;
        c2->a = fin->ck;
        c2->b = code;
        int go = new_block(), next = new_block();
        branch(eq, go, next, l);
        cur = go;
        leave_from(fin->up, x->target, x->limit, l);
        cur = next;
      }
      jump(after, l);
    }
    cur = raised;
    emit(I_FAIL_CAUSE, -1, NULL, s->els->loc)->a = fin->cf;
    emit(I_UNSHIELD, -1, NULL, s->els->loc);
    terminate(T_UNWIND, s->els->loc);
  }
  handler = outer;
  cur = after;
}

static void lower_stmt(Node *s) {
  switch (s->kind) {
  case N_LET:
    if (s->pats) {
      int v = lower_expr(s->rhs, -1);
      int k = 0;
      for (Node *p = s->pats; p; p = p->next, k++) {
        if (!p->sym)
          continue;
        IrInst *i = emit(I_FIELD, sym_var(p->sym), p->sym->type, p->loc);
        i->a = v;
        i->sub = k;
      }
    } else {
      lower_expr(s->rhs, s->sym ? sym_var(s->sym) : -1);
    }
    break;
  case N_ASSIGN:
    lower_expr(s->rhs, sym_var(s->lhs->sym));
    break;
  case N_EXPR_STMT:
    lower_expr(s->lhs, -1);
    break;
  case N_BLOCK:
    lower_block(s);
    break;
  case N_IF: {
    int c = lower_expr(s->cond, -1);
    int then = new_block(), join = new_block();
    int els = s->els ? new_block() : join;
    branch(c, then, els, s->loc);
    cur = then;
    lower_block(s->then);
    jump(join, s->loc);
    if (s->els) {
      cur = els;
      if (s->els->kind == N_IF)
        lower_stmt(s->els);
      else
        lower_block(s->els);
      jump(join, s->loc);
    }
    cur = join;
    break;
  }
  case N_WHILE: {
    int head = new_block(), body = new_block(), exit = new_block();
    jump(head, s->loc);
    cur = head;
    int c = lower_expr(s->cond, -1);
    branch(c, body, exit, s->loc);
    cur = body;
    Loop lp = {exit, head, fins, shield_depth, loops};
    loops = &lp;
    lower_block(s->body);
    loops = lp.up;
    jump(head, s->loc);
    cur = exit;
    break;
  }
  case N_FOR:
    lower_for(s);
    break;
  case N_RETURN: {
    if (!fins && !shield_depth) {
      int v = s->lhs ? lower_expr(s->lhs, -1) : -1;
      terminate(T_RETURN, s->loc)->a = v;
    } else {
      if (s->lhs)
        lower_expr(s->lhs, retval());
      if (ret_block < 0) {
        int save = cur;
        ret_block = cur = new_block();
        terminate(T_RETURN, s->loc)->a = retval();
        cur = save;
      }
      unshield(shield_depth, s->loc);
      leave_from(fins, ret_block, NULL, s->loc);
    }
    dead_block();
    break;
  }
  case N_BREAK:
  case N_CONTINUE:
    if (!loops)
      diag_ice("lowering: %s outside a loop", s->kind == N_BREAK ? "break" : "continue");
    unshield(shield_depth - loops->shield_depth, s->loc);
    leave_from(fins, s->kind == N_BREAK ? loops->brk : loops->cont, loops->fin, s->loc);
    dead_block();
    break;
  case N_FAIL:
    lower_fail(s);
    dead_block();
    break;
  case N_TRY:
    lower_try(s);
    break;
  default:
    diag_ice("lowering: unexpected statement kind %d", s->kind);
  }
}

/* Empty statements may sit in a block as NULL-free lists only. */
static void lower_block(Node *b) {
  for (Node *s = b->body; s; s = s->next)
    lower_stmt(s);
}

IrFunc *low_workflow(Decl *wf) {
  fn = ar_alloc(sizeof *fn);
  fn->decl = wf;
  fn->name = wf->name;
  fn->result_field = fn->await_field = -1;
  loops = NULL;
  fins = NULL;
  shield_depth = 0;
  ret_block = -1;
  handler = IR_UNWIND;
  /* Sym.index numbers the locals of the workflow that declared them (a
   * compensation block's Syms belong to its enclosing workflow). */
  int nsyms = 0;
  for (int i = 0; i < wf->locals.len; i++) {
    Sym *s = wf->locals.data[i];
    if (s->index + 1 > nsyms)
      nsyms = s->index + 1;
  }
  symvar = ar_alloc(sizeof(int) * (nsyms + 1));
  for (int i = 0; i < nsyms; i++)
    symvar[i] = -1;
  for (int p = 0; p < wf->nparams; p++) {
    Sym *s = wf->params[p].sym;
    if (!s)
      continue;
    symvar[s->index] = new_var(s->type, s->name, s->loc);
    if (symvar[s->index] >= 0) {
      IrVar *v = ir_var(fn, symvar[s->index]);
      v->is_param = true;
      v->param_index = p;
    }
  }
  for (int i = 0; i < wf->locals.len; i++) {
    Sym *s = wf->locals.data[i];
    if (symvar[s->index] < 0)
      symvar[s->index] = new_var(s->type, s->name, s->loc);
  }
  retval_var = -1;
  cur = new_block();
  if (wf->block_value) {
    /* a branch block: its value is its last expression statement */
    Node *last = NULL;
    for (Node *s = wf->body->body; s; s = s->next)
      last = s;
    for (Node *s = wf->body->body; s; s = s->next) {
      if (s == last && s->kind == N_EXPR_STMT) {
        int v = lower_expr(s->lhs, -1);
        if (block_is_open())
          terminate(T_RETURN, s->loc)->a = v;
      } else {
        lower_stmt(s);
      }
    }
  } else {
    lower_block(wf->body);
  }
  /* Falling off the end: a unit workflow returns; a typed one was rejected
   * by types.c unless the end is unreachable. */
  for (int i = 0; i < fn->blocks.len; i++) {
    IrBlock *b = blk(i);
    if (b->term.op == T_NONE) {
      int save = cur;
      cur = i;
      terminate(T_RETURN, wf->loc)->a = -1;
      cur = save;
    }
  }
  return fn;
}

/* ---------------------------------------------------------------- support check */

static bool supported_ok;

/* Does control never continue past statement s? (return/fail/break/continue,
 * or an if/else or block all of whose paths end so.) */
static bool stmt_ends(Node *s) {
  switch (s->kind) {
  case N_RETURN:
  case N_FAIL:
  case N_BREAK:
  case N_CONTINUE:
    return true;
  case N_BLOCK:
    for (Node *k = s->body; k; k = k->next)
      if (stmt_ends(k))
        return true;
    return false;
  case N_IF:
    return s->els && stmt_ends(s->then) && stmt_ends(s->els);
  default:
    return false;
  }
}

/* One warning per block: the first statement that cannot run. */
static void check_unreachable(Node *block) {
  for (Node *s = block->body; s && s->next; s = s->next) {
    if (stmt_ends(s)) {
      diag_warning(s->next->loc, "unreachable code");
      diag_note(s->loc, "any code following this statement is unreachable");
      return;
    }
  }
}

static void check_node(Node *n) {
  for (; n; n = n->next) {
    if (n->kind == N_BLOCK)
      check_unreachable(n);
    Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els, n->body, n->args, n->comp};
    for (size_t k = 0; k < sizeof kids / sizeof *kids; k++)
      if (kids[k])
        check_node(kids[k]);
  }
}

bool low_check_supported(Program *p) {
  supported_ok = true;
  for (int i = 0; i < p->decls.len; i++) {
    Decl *d = p->decls.data[i];
    if (d->kind == D_WORKFLOW && d->body)
      check_node(d->body);
  }
  return supported_ok;
}

/* ---------------------------------------------------------------- dump */

void ir_dump(IrFunc *f, FILE *out) {
  static const char *ops[] = {"const", "copy", "bin", "un", "builtin", "extern", "list", "obj", "field", "index",
                              "fail_is", "fail_take", "fail_put", "fail_cause", "err_field", "shield",
                              "unshield", "comp_push", "outcome", "spawn_begin", "spawn", "spawn_fail"};
  static const char *terms[] = {"<open>", "jump", "branch", "return", "call", "sleep", "fail", "unwind",
                                "join", "join_for"};
  fprintf(out, "workflow %s: %d vars, %d blocks, %d states\n", f->name, f->vars.len,
          f->blocks.len, f->nstates);
  for (int i = 0; i < f->blocks.len; i++) {
    IrBlock *b = ir_block(f, i);
    fprintf(out, "  b%d:\n", i);
    for (int k = 0; k < b->insts.len; k++) {
      IrInst *in = b->insts.data[k];
      fprintf(out, "    v%d = %s", in->dst, ops[in->op]);
      if (in->handler != IR_UNWIND) fprintf(out, " !b%d", in->handler);
      if (in->a >= 0) fprintf(out, " v%d", in->a);
      if (in->b >= 0) fprintf(out, " v%d", in->b);
      for (int j = 0; j < in->nargs; j++) fprintf(out, " v%d", in->args[j]);
      fprintf(out, " [%d]\n", in->sub);
    }
    fprintf(out, "    %s", terms[b->term.op]);
    if (b->term.a >= 0) fprintf(out, " v%d", b->term.a);
    if (b->term.op == T_CALL || b->term.op == T_SLEEP || b->term.op == T_JOIN || b->term.op == T_JOIN_FOR)
      fprintf(out, " state %d ->v%d", b->state, b->term.dst);
    if (b->term.op >= T_CALL) fprintf(out, " !%d", b->term.handler);
    for (int s = 0; s < b->nsucc; s++) fprintf(out, " b%d", b->succ[s]);
    fprintf(out, "\n");
  }
}
