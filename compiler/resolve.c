/* resolve.c -- imports, the global namespace, local scopes, name binding.
 *
 * Modules. res_program parses the root file, then every file it imports,
 * transitively, each file once (keyed by realpath, so import cycles and
 * diamond imports are fine). `import "std/x"` reads <stdlib dir>/std/x.weft;
 * any other path is relative to the importing file's directory, `.weft`
 * appended when missing.
 *
 * Namespace. Weft has ONE FLAT GLOBAL NAMESPACE: every top-level name of
 * every module of the program (types, error kinds, activities, extern fns,
 * workflows) lives in the same table, visible from every module whether or
 * not that module imports the declaring one. Imports only decide which files
 * are part of the program. Two top-level declarations with the same name are
 * an error, across modules too. Built-in names are predeclared and cannot be
 * redeclared at top level: the error kinds Error, Timeout, Cancelled,
 * CompensationFailed, CircuitOpen, ActivityFailed (synthesized D_ERROR decls
 * with module == -1; they are NOT in Program.decls, Node.decl points at them),
 * the functions print log str len now sleep int float (Node.builtin), and the
 * type names int float bool str duration unit list.
 *
 * Locals. Block scoping; an inner block may shadow an outer name (locals may
 * also shadow globals), a second declaration in the same block is an error.
 * Every Sym of a workflow (parameters first) is pushed on Decl.locals and
 * numbered by Sym.index.
 *
 * Boundaries. `all`/`race` branch blocks and compensation blocks run as
 * separate activations: Sym.depth counts how many such boundaries enclose a
 * declaration. Assigning a variable declared outside the innermost boundary,
 * `break`/`continue` to a loop outside it and `return` inside it are errors.
 *
 * Record type names inside type expressions are looked up by types.c (it
 * builds its own table from Program.decls, which is the same flat namespace).
 */
#include "weftc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- state */

static const char *stdlib_dir;
static int nfiles;

void res_set_stdlib_dir(const char *dir) { stdlib_dir = dir; }
int res_file_count(void) { return nfiles; }

static const char *builtin_error_names[] = {
    "Error", "Timeout", "Cancelled", "CompensationFailed", "CircuitOpen", "ActivityFailed",
};
#define N_BUILTIN_ERRORS ((int)(sizeof builtin_error_names / sizeof *builtin_error_names))

static const struct {
  const char *name;
  int bi;
} builtin_fns[] = {
    {"print", BI_PRINT}, {"log", BI_LOG}, {"str", BI_STR},     {"len", BI_LEN},
    {"now", BI_NOW},     {"sleep", BI_SLEEP}, {"int", BI_INT}, {"float", BI_FLOAT},
};
#define N_BUILTIN_FNS ((int)(sizeof builtin_fns / sizeof *builtin_fns))

static const char *builtin_types[] = {"int", "float", "bool", "str", "duration", "unit", "list"};
#define N_BUILTIN_TYPES ((int)(sizeof builtin_types / sizeof *builtin_types))

static int builtin_fn(const char *name) {
  for (int i = 0; i < N_BUILTIN_FNS; i++)
    if (!strcmp(builtin_fns[i].name, name)) return builtin_fns[i].bi;
  return BI_NONE;
}

static bool is_builtin_type(const char *name) {
  for (int i = 0; i < N_BUILTIN_TYPES; i++)
    if (!strcmp(builtin_types[i], name)) return true;
  return false;
}

/* ---------------------------------------------------------------- global table */

typedef struct GEnt {
  const char *name;
  Decl *decl;
} GEnt;

static GEnt *gtab;
static int gcap, gcount;
static Vec gnames; /* every global name in declaration order (for "did you mean") */

static unsigned hash_str(const char *s) {
  unsigned h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static Decl *glookup(const char *name) {
  if (!gcap || !name) return NULL;
  for (unsigned i = hash_str(name) & (gcap - 1);; i = (i + 1) & (gcap - 1)) {
    if (!gtab[i].name) return NULL;
    if (!strcmp(gtab[i].name, name)) return gtab[i].decl;
  }
}

static void ginsert(const char *name, Decl *d) {
  if ((gcount + 1) * 2 > gcap) {
    int ncap = gcap ? gcap * 2 : 64;
    GEnt *nt = ar_alloc(sizeof(GEnt) * ncap);
    for (int j = 0; j < gcap; j++) {
      if (!gtab[j].name) continue;
      unsigned i = hash_str(gtab[j].name) & (ncap - 1);
      while (nt[i].name) i = (i + 1) & (ncap - 1);
      nt[i] = gtab[j];
    }
    gtab = nt;
    gcap = ncap;
  }
  unsigned i = hash_str(name) & (gcap - 1);
  while (gtab[i].name) i = (i + 1) & (gcap - 1);
  gtab[i].name = name;
  gtab[i].decl = d;
  gcount++;
  vec_push(&gnames, (void *)name);
}

static const char *decl_kind_name(Decl *d) {
  switch (d->kind) {
  case D_IMPORT: return "an import";
  case D_TYPE: return "a record type";
  case D_ERROR: return "an error kind";
  case D_ACTIVITY: return "an activity";
  case D_EXTERN: return "an extern fn";
  case D_WORKFLOW: return "a workflow";
  }
  return "a declaration";
}

/* ---------------------------------------------------------------- locations */

static bool loc_set(Loc l) { return l.line > 0; }

static Loc pick(Loc a, Loc b) { return loc_set(a) ? a : b; }


/* ---------------------------------------------------------------- locals */

typedef enum { SK_LET, SK_VAR, SK_PARAM, SK_LOOP, SK_CATCH } SymKind;

typedef struct LSym {
  Sym s; /* first: a Sym * is an LSym * */
  SymKind kind;
} LSym;

typedef struct Scope {
  struct Scope *up;
  Vec syms;
} Scope;

typedef enum { BD_BRANCH, BD_COMP } Boundary;

typedef struct IntStack {
  int *v;
  int len, cap;
} IntStack;

static void ipush(IntStack *s, int x) {
  if (s->len == s->cap) {
    int ncap = s->cap ? s->cap * 2 : 16;
    int *nv = ar_alloc(sizeof(int) * ncap);
    if (s->len) memcpy(nv, s->v, sizeof(int) * s->len);
    s->v = nv;
    s->cap = ncap;
  }
  s->v[s->len++] = x;
}

static Scope *scope;
static Decl *cur_wf;
static IntStack bounds;  /* Boundary kinds, innermost last; depth = bounds.len */
static IntStack loops;   /* for each enclosing loop: the boundary depth at its start */
static bool in_fail;     /* resolving the operand of `fail` */

static int depth(void) { return bounds.len; }

static void push_scope(void) {
  Scope *s = ar_alloc(sizeof *s);
  s->up = scope;
  scope = s;
}

static void pop_scope(void) { scope = scope->up; }

static Sym *lookup_local(const char *name) {
  for (Scope *s = scope; s; s = s->up)
    for (int i = s->syms.len - 1; i >= 0; i--) {
      Sym *y = s->syms.data[i];
      if (!strcmp(y->name, name)) return y;
    }
  return NULL;
}

static Sym *declare(const char *name, Loc loc, SymKind kind) {
  if (!name) return NULL;
  for (int i = 0; i < scope->syms.len; i++) {
    Sym *y = scope->syms.data[i];
    if (!strcmp(y->name, name)) {
      if (((LSym *)y)->kind == SK_PARAM)
        diag_error(loc, "parameter '%s' is declared twice", name);
      else
        diag_error(loc, "'%s' is already declared in this block", name);
      diag_note(y->loc, "previously declared here");
      break;
    }
  }
  LSym *ls = ar_alloc(sizeof *ls);
  ls->kind = kind;
  Sym *s = &ls->s;
  s->name = name;
  s->loc = loc;
  s->mutable_ = kind == SK_VAR;
  s->is_param = kind == SK_PARAM;
  s->owner = cur_wf;
  s->depth = depth();
  if (cur_wf) {
    s->index = cur_wf->locals.len;
    vec_push(&cur_wf->locals, s);
  }
  vec_push(&scope->syms, s);
  return s;
}

/* ---------------------------------------------------------------- did you mean */

static void suggest(const char *name, bool locals, bool globals, bool fns, bool (*filter)(Decl *)) {
  Vec c = {0};
  if (locals)
    for (Scope *s = scope; s; s = s->up)
      for (int i = 0; i < s->syms.len; i++) vec_push(&c, (void *)((Sym *)s->syms.data[i])->name);
  if (globals)
    for (int i = 0; i < gnames.len; i++) {
      Decl *d = glookup(gnames.data[i]);
      if (!filter || (d && filter(d))) vec_push(&c, gnames.data[i]);
    }
  if (fns)
    for (int i = 0; i < N_BUILTIN_FNS; i++) vec_push(&c, (void *)builtin_fns[i].name);
  /* one- and two-letter names are too short for a meaningful suggestion */
  const char *best = strlen(name) >= 3 ? diag_closest(name, (const char **)c.data, c.len) : NULL;
  if (best && strcmp(best, name)) diag_note_plain("did you mean '%s'?", best);
}

static bool is_error_decl(Decl *d) { return d->kind == D_ERROR; }
static bool is_type_decl(Decl *d) { return d->kind == D_TYPE; }
static bool is_callable_decl(Decl *d) {
  return d->kind == D_WORKFLOW || d->kind == D_ACTIVITY || d->kind == D_EXTERN;
}

static void note_declared(Decl *d) {
  if (d && d->module >= 0) diag_note(pick(d->name_loc, d->loc), "'%s' declared here", d->name);
}

/* ---------------------------------------------------------------- expressions */

static void res_expr(Node *n);
static void res_stmt(Node *n);
static void res_block(Node *blk);

static void res_list(Node *n) {
  for (; n; n = n->next) res_expr(n);
}

/* A branch block: N_BLOCK_EXPR (body = N_BLOCK) or a bare N_BLOCK. */
static Node *branch_block(Node *b) {
  if (!b) return NULL;
  if (b->kind == N_BLOCK_EXPR) return b->body;
  if (b->kind == N_BLOCK) return b;
  return NULL;
}

static void res_bounded_block(Node *blk, Boundary kind) {
  ipush(&bounds, kind);
  IntStack saved = loops;
  res_block(blk);
  loops = saved;
  bounds.len--;
}

static void res_branch(Node *b) {
  Node *blk = branch_block(b);
  if (blk)
    res_bounded_block(blk, BD_BRANCH);
  else
    res_expr(b);
}

/* An error kind named in `fail` or `catch`. */
static Decl *res_error_kind(const char *name, Loc loc) {
  Decl *d = glookup(name);
  if (d && d->kind == D_ERROR) return d;
  if (d) {
    diag_error(loc, "'%s' is not an error kind: it is %s", name, decl_kind_name(d));
    note_declared(d);
    return NULL;
  }
  diag_error(loc, "cannot find error kind '%s'", name);
  suggest(name, false, true, false, is_error_decl);
  return NULL;
}

static void res_call(Node *n) {
  Node *callee = n->lhs;
  if (!callee || callee->kind != N_IDENT) {
    diag_error(callee ? callee->loc : n->loc,
               "only workflows, activities and functions can be called, by name");
    if (callee) res_expr(callee);
    res_list(n->args);
    return;
  }
  const char *name = callee->name;
  Sym *s = lookup_local(name);
  if (s) {
    diag_error(callee->loc, "'%s' is a variable, not a function", name);
    diag_note(s->loc, "'%s' declared here", name);
  } else {
    Decl *d = glookup(name);
    int bi;
    if (d) {
      callee->decl = d;
      switch (d->kind) {
      case D_WORKFLOW:
      case D_ACTIVITY:
      case D_EXTERN:
        n->decl = d;
        d->used = true;
        break;
      case D_ERROR:
        if (in_fail) {
          n->decl = d;
          d->used = true;
        } else {
          diag_error(callee->loc, "'%s' is an error kind, not a function", name);
          diag_note_plain("raise it with `fail %s(\"...\")`", name);
        }
        break;
      case D_TYPE:
        diag_error(callee->loc, "'%s' is a record type, not a function", name);
        diag_note_plain("build a record with `%s { field: value, ... }`", name);
        break;
      default:
        diag_error(callee->loc, "'%s' is not a function", name);
        break;
      }
    } else if ((bi = builtin_fn(name))) {
      n->builtin = bi;
      callee->builtin = bi;
    } else {
      diag_error(callee->loc, "cannot find '%s' in this scope", name);
      suggest(name, false, true, true, is_callable_decl);
    }
  }
  bool saved = in_fail;
  in_fail = false;
  res_list(n->args);
  in_fail = saved;
}

static void res_ident(Node *n) {
  Sym *s = lookup_local(n->name);
  if (s) {
    n->sym = s;
    return;
  }
  Decl *d = glookup(n->name);
  if (d) {
    n->decl = d;
    if (d->kind == D_ERROR && in_fail) {
      d->used = true;
      return;
    }
    if (d->kind == D_ERROR) {
      diag_error(n->loc, "'%s' is an error kind, not a value", n->name);
      diag_note_plain("raise it with `fail %s(\"...\")`", n->name);
    } else if (d->kind == D_TYPE) {
      diag_error(n->loc, "'%s' is a record type, not a value", n->name);
    } else {
      diag_error(n->loc, "'%s' is %s, not a value", n->name, decl_kind_name(d));
      if (d->kind == D_WORKFLOW || d->kind == D_ACTIVITY)
        diag_note_plain("call it: `yield %s(...)`", n->name);
    }
    return;
  }
  if (builtin_fn(n->name)) {
    diag_error(n->loc, "'%s' is a built-in function, not a value", n->name);
    return;
  }
  diag_error(n->loc, "cannot find '%s' in this scope", n->name);
  suggest(n->name, true, true, false, NULL);
}

Decl *res_global(const char *name) { return glookup(name); }

/* `breaker B` / `retry P` are carried out by std modules: the compiler
 * calls their workflows (and the breaker's extern fn) by name. */
static void need_std(Node *e, const char *word, const char *module, const char *name, DeclKind kind) {
  Decl *d = glookup(name);
  if (d && d->kind == kind) {
    d->used = true;
    return;
  }
  diag_error(e->loc, "`%s` needs `import \"%s\"`", word, module);
  diag_note_plain("'%s' from %s carries out `%s`", name, module, word);
}

static void res_yield_head(Node *n) {
  res_expr(n->lhs);
  if (n->rhs) res_expr(n->rhs);
  if (n->cond) {
    res_expr(n->cond);
    need_std(n->cond, "breaker", "std/breaker", "breaker_enter", D_WORKFLOW);
    need_std(n->cond, "breaker", "std/breaker", "weft_breaker_exit", D_EXTERN);
  }
  if (n->els) {
    res_expr(n->els);
    need_std(n->els, "retry", "std/retry", "retry_wait", D_WORKFLOW);
  }
}

static void res_comp(Node *c) {
  if (!c) return;
  Node *blk = branch_block(c);
  if (blk)
    res_bounded_block(blk, BD_COMP);
  else
    res_expr(c);
}

static void res_expr(Node *n) {
  if (!n) return;
  bool saved;
  switch (n->kind) {
  case N_INT:
  case N_FLOAT:
  case N_STR:
  case N_BOOL:
  case N_DURATION:
    return;
  case N_IDENT:
    res_ident(n);
    return;
  case N_BINARY:
  case N_INDEX:
  case N_RANGE:
    res_expr(n->lhs);
    res_expr(n->rhs);
    return;
  case N_UNARY:
  case N_FIELD:
  case N_TUPLE_IDX:
    res_expr(n->lhs);
    return;
  case N_CALL:
    res_call(n);
    return;
  case N_LIST:
  case N_TUPLE:
    res_list(n->args);
    return;
  case N_RECORD: {
    Loc nl = loc_of_name(n);
    Decl *d = n->name ? glookup(n->name) : NULL;
    if (d && d->kind == D_TYPE) {
      n->decl = d;
      d->used = true;
    } else if (d) {
      diag_error(nl, "'%s' is not a record type: it is %s", n->name, decl_kind_name(d));
      note_declared(d);
    } else if (n->name) {
      diag_error(nl, "cannot find type '%s'", n->name);
      suggest(n->name, false, true, false, is_type_decl);
    }
    for (Node *f = n->args; f; f = f->next) res_expr(f->kind == N_FIELD_INIT ? f->lhs : f);
    return;
  }
  case N_FIELD_INIT:
    res_expr(n->lhs);
    return;
  case N_YIELD:
    saved = in_fail;
    in_fail = false;
    res_yield_head(n);
    res_comp(n->comp);
    in_fail = saved;
    return;
  case N_ALL:
  case N_RACE:
    saved = in_fail;
    in_fail = false;
    for (Node *b = n->args; b; b = b->next) res_branch(b);
    in_fail = saved;
    return;
  case N_ALL_FOR: {
    saved = in_fail;
    in_fail = false;
    res_expr(n->rhs);
    ipush(&bounds, BD_BRANCH);
    IntStack sl = loops;
    loops.len = 0, loops.cap = 0, loops.v = NULL;
    push_scope();
    n->sym = declare(n->name, pick(n->name_loc, n->loc), SK_LOOP);
    Node *blk = branch_block(n->body);
    if (blk)
      res_block(blk);
    else
      res_expr(n->body);
    pop_scope();
    loops = sl;
    bounds.len--;
    in_fail = saved;
    return;
  }
  case N_BLOCK_EXPR:
    res_block(n->body);
    return;
  default:
    /* a statement where an expression was expected: the parser's business */
    res_stmt(n);
    return;
  }
}

/* ---------------------------------------------------------------- statements */

static const char *boundary_what(void) {
  return bounds.v[bounds.len - 1] == BD_COMP ? "a compensation" : "an all/race branch";
}

static void res_let(Node *n) {
  Node *rhs = n->rhs;
  Node *comp = NULL;
  if (rhs && rhs->kind == N_YIELD && rhs->comp) {
    comp = rhs->comp;
    res_yield_head(rhs);
  } else {
    res_expr(rhs);
  }
  SymKind k = n->ival ? SK_VAR : SK_LET;
  if (n->pats) {
    for (Node *p = n->pats; p; p = p->next) p->sym = declare(p->name, p->loc, k);
  } else {
    n->sym = declare(n->name, pick(n->name_loc, n->loc), k);
  }
  if (comp) res_comp(comp);
}

static void res_assign(Node *n) {
  Node *lhs = n->lhs;
  res_expr(n->rhs);
  if (!lhs) return;
  if (lhs->kind != N_IDENT) {
    res_expr(lhs);
    diag_error(lhs->loc, "cannot assign to this expression");
    diag_note_plain("only `var` variables can be assigned; records, tuples and lists are immutable values");
    return;
  }
  Sym *s = lookup_local(lhs->name);
  if (!s) {
    res_ident(lhs); /* reports "cannot find" or "not a value" */
    return;
  }
  lhs->sym = s;
  switch (((LSym *)s)->kind) {
  case SK_PARAM:
    diag_error(lhs->loc, "cannot assign to parameter '%s'", s->name);
    diag_note(s->loc, "parameters are immutable; copy it into a `var` first");
    return;
  case SK_LOOP:
    diag_error(lhs->loc, "cannot assign to loop variable '%s'", s->name);
    diag_note(s->loc, "'%s' declared here", s->name);
    return;
  case SK_CATCH:
    diag_error(lhs->loc, "cannot assign to caught error '%s'", s->name);
    diag_note(s->loc, "'%s' declared here", s->name);
    return;
  case SK_LET:
    diag_error(lhs->loc, "cannot assign twice to immutable variable '%s'", s->name);
    diag_note(s->loc, "consider declaring it with `var`");
    return;
  case SK_VAR:
    if (s->depth < depth()) {
      if (bounds.v[bounds.len - 1] == BD_COMP) {
        diag_error(lhs->loc, "cannot assign to '%s' from inside a compensation", s->name);
        diag_note(s->loc, "a compensation captures the values it uses when it is registered");
      } else {
        diag_error(lhs->loc, "cannot assign to '%s' from inside a concurrent branch", s->name);
        diag_note(s->loc, "results flow through the join: use the branch's value");
      }
    }
    return;
  }
}

static void res_jump(Node *n, const char *what) {
  if (loops.len == 0) {
    if (depth() > 0)
      diag_error(n->loc, "`%s` inside %s cannot leave it", what, boundary_what());
    else
      diag_error(n->loc, "`%s` outside of a loop", what);
    return;
  }
  if (loops.v[loops.len - 1] != depth())
    diag_error(n->loc, "`%s` inside %s cannot leave it", what, boundary_what());
}

static void res_loop_body(Node *body) {
  ipush(&loops, depth());
  res_block(body);
  loops.len--;
}

static void res_stmt(Node *n) {
  if (!n) return;
  switch (n->kind) {
  case N_BLOCK:
    res_block(n);
    return;
  case N_LET:
    res_let(n);
    return;
  case N_ASSIGN:
    res_assign(n);
    return;
  case N_EXPR_STMT:
    res_expr(n->lhs);
    return;
  case N_IF:
    res_expr(n->cond);
    res_block(n->then);
    if (n->els) res_stmt(n->els);
    return;
  case N_WHILE:
    res_expr(n->cond);
    res_loop_body(n->body);
    return;
  case N_FOR:
    res_expr(n->rhs);
    push_scope();
    n->sym = declare(n->name, pick(n->name_loc, n->loc), SK_LOOP);
    res_loop_body(n->body);
    pop_scope();
    return;
  case N_RETURN:
    if (depth() > 0) {
      if (bounds.v[bounds.len - 1] == BD_COMP) {
        diag_error(n->loc, "return inside a compensation");
        diag_note_plain("a compensation runs after its workflow has moved on; it cannot return from it");
      } else {
        diag_error(n->loc, "return inside an all/race branch");
        diag_note_plain("a branch's value is its last expression; `fail` stops the whole all/race");
      }
    }
    res_expr(n->lhs);
    return;
  case N_BREAK:
    res_jump(n, "break");
    return;
  case N_CONTINUE:
    res_jump(n, "continue");
    return;
  case N_FAIL: {
    Node *e = n->lhs;
    if (e && e->kind == N_CALL && e->lhs && e->lhs->kind == N_IDENT && !lookup_local(e->lhs->name)) {
      Decl *d = glookup(e->lhs->name);
      if (!d || d->kind != D_ERROR) {
        /* `fail f(x)`: report it as a wrong error kind, then resolve the arguments */
        res_error_kind(e->lhs->name, e->lhs->loc);
        res_list(e->args);
        return;
      }
    } else if (e && e->kind == N_IDENT && !lookup_local(e->name)) {
      Decl *d = glookup(e->name);
      if (!d || d->kind != D_ERROR) {
        e->decl = res_error_kind(e->name, e->loc);
        return;
      }
    }
    bool saved = in_fail;
    in_fail = true;
    res_expr(e);
    in_fail = saved;
    return;
  }
  case N_TRY:
    res_block(n->body);
    for (Node *c = n->args; c; c = c->next) {
      if (c->sval) {
        Loc kl = c->lhs ? c->lhs->loc : loc_word_after(c->loc, c->sval);
        c->decl = res_error_kind(c->sval, kl);
        if (c->lhs) c->lhs->decl = c->decl;
      }
      push_scope();
      if (c->name) c->sym = declare(c->name, loc_of_name(c), SK_CATCH);
      res_block(c->body);
      pop_scope();
    }
    if (n->els) res_block(n->els);
    return;
  default:
    res_expr(n);
    return;
  }
}

static void res_block(Node *blk) {
  if (!blk) return;
  if (blk->kind != N_BLOCK) {
    res_stmt(blk);
    return;
  }
  push_scope();
  for (Node *s = blk->body; s; s = s->next) res_stmt(s);
  pop_scope();
}

static void res_workflow(Decl *d) {
  cur_wf = d;
  scope = NULL;
  bounds.len = 0;
  loops.len = 0;
  in_fail = false;
  push_scope();
  for (int i = 0; i < d->nparams; i++)
    d->params[i].sym = declare(d->params[i].name, d->params[i].loc, SK_PARAM);
  res_block(d->body);
  pop_scope();
  cur_wf = NULL;
}

static void check_param_names(Decl *d) {
  for (int i = 0; i < d->nparams; i++)
    for (int j = 0; j < i; j++)
      if (d->params[i].name && d->params[j].name && !strcmp(d->params[i].name, d->params[j].name)) {
        diag_error(d->params[i].loc, "parameter '%s' is declared twice", d->params[i].name);
        diag_note(d->params[j].loc, "previously declared here");
        break;
      }
}

/* ---------------------------------------------------------------- modules */

typedef struct Loaded {
  const char *key;
  Module *mod;
} Loaded;

static Vec loaded;

static const char *file_key(const char *path) {
  char buf[PATH_MAX];
  if (realpath(path, buf)) return ar_strdup(buf);
  return ar_strdup(path);
}

static bool seen_key(const char *key) {
  for (int i = 0; i < loaded.len; i++)
    if (!strcmp(((Loaded *)loaded.data[i])->key, key)) return true;
  return false;
}

static bool ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && !strcmp(s + a - b, suf);
}

static const char *import_path(const char *from, const char *path) {
  const char *ext = ends_with(path, ".weft") ? "" : ".weft";
  if (!strncmp(path, "std/", 4))
    return ar_printf("%s/%s%s", stdlib_dir ? stdlib_dir : "stdlib", path, ext);
  if (path[0] == '/') return ar_printf("%s%s", path, ext);
  const char *slash = from ? strrchr(from, '/') : NULL;
  if (!slash) return ar_printf("%s%s", path, ext);
  return ar_printf("%.*s/%s%s", (int)(slash - from), from, path, ext);
}

static Module *load_module(SrcFile *f, const char *key) {
  Module *m = parse_file(f);
  Loaded *l = ar_alloc(sizeof *l);
  l->key = key;
  l->mod = m;
  vec_push(&loaded, l);
  nfiles++;
  return m;
}

Program *res_program(SrcFile *root) {
  Program *p = ar_alloc(sizeof *p);
  gtab = NULL;
  gcap = gcount = 0;
  memset(&gnames, 0, sizeof gnames);
  memset(&loaded, 0, sizeof loaded);
  nfiles = 0;

  /* Load the root, then its imports breadth first: modules in discovery order. */
  load_module(root, file_key(root->path));
  for (int i = 0; i < loaded.len; i++) {
    Module *m = ((Loaded *)loaded.data[i])->mod;
    SrcFile *from = src_get(m->file);
    for (Decl *d = m->decls; d; d = d->next) {
      if (d->kind != D_IMPORT || !d->path) continue;
      const char *path = import_path(from ? from->path : NULL, d->path);
      const char *key = file_key(path);
      if (seen_key(key)) continue;
      SrcFile *f = src_load(path, path);
      if (!f) {
        int err = errno;
        diag_error(pick(d->path_loc, d->loc), "cannot find module '%s'", d->path);
        diag_note_plain("tried '%s': %s", path, strerror(err));
        continue;
      }
      load_module(f, key);
    }
  }
  Module **tail = &p->modules;
  for (int i = 0; i < loaded.len; i++) {
    Module *m = ((Loaded *)loaded.data[i])->mod;
    m->next = NULL;
    *tail = m;
    tail = &m->next;
  }

  /* Predeclared error kinds. */
  for (int i = 0; i < N_BUILTIN_ERRORS; i++) {
    Decl *d = ar_alloc(sizeof *d);
    d->kind = D_ERROR;
    d->name = builtin_error_names[i];
    d->module = -1;
    ginsert(d->name, d);
  }

  /* Top-level declarations: one flat namespace. */
  for (Module *m = p->modules; m; m = m->next)
    for (Decl *d = m->decls; d; d = d->next) {
      if (d->kind == D_IMPORT) continue;
      d->module = m->file;
      vec_push(&p->decls, d);
      if (!d->name) continue;
      Loc nl = pick(d->name_loc, d->loc);
      Decl *prev = glookup(d->name);
      if (prev && prev->module < 0) {
        diag_error(nl, "'%s' is a built-in error kind and cannot be redeclared", d->name);
      } else if (prev) {
        diag_error(nl, "redefinition of '%s'", d->name);
        diag_note(pick(prev->name_loc, prev->loc), "previously declared here");
      } else if (d->kind == D_TYPE && is_builtin_type(d->name)) {
        diag_error(nl, "'%s' is a built-in type and cannot be redeclared", d->name);
      } else if (builtin_fn(d->name)) {
        diag_error(nl, "'%s' is a built-in function and cannot be redeclared", d->name);
      } else if (is_builtin_type(d->name)) {
        diag_error(nl, "'%s' is a built-in type and cannot be redeclared", d->name);
      } else {
        ginsert(d->name, d);
      }
      if (m == p->modules && d->kind == D_WORKFLOW && !strcmp(d->name, "main") && !p->main) p->main = d;
    }

  /* Bodies. */
  for (int i = 0; i < p->decls.len; i++) {
    Decl *d = p->decls.data[i];
    if (d->kind == D_ACTIVITY || d->kind == D_EXTERN) check_param_names(d);
    if (d->kind == D_WORKFLOW) res_workflow(d);
  }
  return p;
}
