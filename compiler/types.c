/* types.c -- static type checking.
 *
 * Runs after resolve.c: every identifier is bound (Node.sym / Node.decl /
 * Node.builtin), or resolve.c already reported why not; an unbound node gets
 * TY_INVALID here silently. TY_INVALID is compatible with everything, so one
 * mistake is reported once. TY_NEVER (a branch ending in fail) is compatible
 * with any type.
 *
 * Entry point for expressions: check(expr, expected). `expected` is a hint
 * (NULL: none) that flows from let annotations, parameter types, return
 * types, record field types, assignment targets, and into list / tuple
 * elements; it lets `[]` take its element type from context. expect() is
 * check() plus the "mismatched types" report.
 *
 * Sets Node.type on every expression node (N_RANGE gets its element type,
 * int; a call's callee identifier gets the call's type; N_FIELD_INIT its
 * field's type), Param.type, Decl.ret (ty_unit when no return type), Sym.type
 * for every local, Node.ival = field index on N_FIELD and N_FIELD_INIT.
 *
 * Concurrency forms (decisions):
 *  - A branch is an effect (workflow/activity call, sleep(d), or a nested
 *    all/race/all for, all without `yield`) or a block; a block's value is its
 *    last expression statement (unit when the last statement is not an
 *    expression; never when the block always fails).
 *  - `all { B1, ..., Bn }` has type (T1, ..., Tn); with a single branch, T1
 *    itself (no 1-tuples); when every branch is unit (or never), unit.
 *  - `all for x in XS { body }` has type list[T], T the body's value type;
 *    unit when the body is unit (fire-and-forget fan-out).
 *  - `race { ... }`: the common type of the branches, never-branches ignored;
 *    never when all branches are never.
 *  - `all settle` gives outcome[T] per branch (a tuple of them, or one for a
 *    single branch): fields ok, value (when ok), error (when not).
 */
#include "weftc.h"

#include <string.h>

/* ---------------------------------------------------------------- types */

static Type t_invalid = {.kind = TY_INVALID}, t_unit = {.kind = TY_UNIT}, t_int = {.kind = TY_INT}, t_float = {.kind = TY_FLOAT},
            t_bool = {.kind = TY_BOOL}, t_str = {.kind = TY_STR}, t_duration = {.kind = TY_DURATION}, t_never = {.kind = TY_NEVER},
            t_error = {.kind = TY_ERROR};

Type *ty_invalid = &t_invalid, *ty_unit = &t_unit, *ty_int = &t_int, *ty_float = &t_float,
     *ty_bool = &t_bool, *ty_str = &t_str, *ty_duration = &t_duration, *ty_never = &t_never,
     *ty_error = &t_error;

/* Types are not interned (the arena may be reset between runs): compare with
 * ty_equal. */
Type *ty_list(Type *elem) {
  Type *t = ar_alloc(sizeof *t);
  t->kind = TY_LIST;
  t->elem = elem ? elem : ty_invalid;
  return t;
}

Type *ty_tuple(Type **elems, int n) {
  Type *t = ar_alloc(sizeof *t);
  t->kind = TY_TUPLE;
  t->nelems = n;
  t->elems = ar_alloc(sizeof(Type *) * (n ? n : 1));
  for (int i = 0; i < n; i++) t->elems[i] = elems[i] ? elems[i] : ty_invalid;
  return t;
}

Type *ty_outcome(Type *value) {
  Type *t = ar_alloc(sizeof *t);
  t->kind = TY_OUTCOME;
  t->elem = (!value || value->kind == TY_NEVER) ? ty_unit : value;
  return t;
}

Type *ty_record(Decl *rec) {
  Type *t = ar_alloc(sizeof *t);
  t->kind = TY_RECORD;
  t->rec = rec;
  return t;
}

bool ty_equal(Type *a, Type *b) {
  if (a == b) return true;
  if (!a || !b || a->kind != b->kind) return false;
  switch (a->kind) {
  case TY_LIST:
  case TY_OUTCOME:
    return ty_equal(a->elem, b->elem);
  case TY_TUPLE:
    if (a->nelems != b->nelems) return false;
    for (int i = 0; i < a->nelems; i++)
      if (!ty_equal(a->elems[i], b->elems[i])) return false;
    return true;
  case TY_RECORD:
    return a->rec == b->rec;
  default:
    return true;
  }
}

bool ty_is_ref(Type *t) {
  switch (t->kind) {
  case TY_STR:
  case TY_LIST:
  case TY_TUPLE:
  case TY_RECORD:
  case TY_ERROR:
  case TY_OUTCOME:
    return true;
  default:
    return false;
  }
}

const char *ty_name(Type *t) {
  if (!t) return "?";
  switch (t->kind) {
  case TY_INVALID: return "{unknown}";
  case TY_UNIT: return "unit";
  case TY_INT: return "int";
  case TY_FLOAT: return "float";
  case TY_BOOL: return "bool";
  case TY_STR: return "str";
  case TY_DURATION: return "duration";
  case TY_LIST: return ar_printf("list[%s]", ty_name(t->elem));
  case TY_TUPLE: {
    const char *s = "(";
    for (int i = 0; i < t->nelems; i++) s = ar_printf("%s%s%s", s, i ? ", " : "", ty_name(t->elems[i]));
    return ar_printf("%s%s)", s, t->nelems == 1 ? "," : "");
  }
  case TY_RECORD: return t->rec && t->rec->name ? t->rec->name : "record";
  case TY_ERROR: return "error";
  case TY_NEVER: return "never";
  case TY_OUTCOME: return ar_printf("outcome[%s]", ty_name(t->elem));
  }
  return "?";
}

/* ---------------------------------------------------------------- helpers */

static bool loc_set(Loc l) { return l.line > 0; }
static Loc pick(Loc a, Loc b) { return loc_set(a) ? a : b; }

static bool is_bad(Type *t) { return !t || t->kind == TY_INVALID; }
static bool is_quiet(Type *t) { return !t || t->kind == TY_INVALID || t->kind == TY_NEVER; }

/* want <- got: structural equality where invalid and never match anything. */
static bool compat(Type *want, Type *got) {
  if (!want || !got) return true;
  if (want->kind == TY_INVALID || got->kind == TY_INVALID) return true;
  if (got->kind == TY_NEVER || want->kind == TY_NEVER) return true;
  if (want->kind != got->kind) return false;
  switch (want->kind) {
  case TY_LIST:
    return compat(want->elem, got->elem);
  case TY_TUPLE:
    if (want->nelems != got->nelems) return false;
    for (int i = 0; i < want->nelems; i++)
      if (!compat(want->elems[i], got->elems[i])) return false;
    return true;
  case TY_RECORD:
    return want->rec == got->rec;
  default:
    return true;
  }
}


static const char *article(const char *s) {
  return strchr("aeiouAEIOU", s[0]) ? "an" : "a";
}

/* A note suggesting a conversion from `got` to `want`. */
static void conversion_hint(Type *want, Type *got) {
  if (!want || !got) return;
  if ((want->kind == TY_INT && got->kind == TY_FLOAT) || (want->kind == TY_FLOAT && got->kind == TY_INT))
    diag_note_plain("convert with float(x) or int(x)");
  else if (want->kind == TY_STR &&
           (got->kind == TY_INT || got->kind == TY_FLOAT || got->kind == TY_BOOL || got->kind == TY_DURATION))
    diag_note_plain("convert with str(x)");
}

static void mismatch(Loc loc, Type *want, Type *got) {
  diag_error(loc, "mismatched types: expected %s, found %s", ty_name(want), ty_name(got));
  conversion_hint(want, got);
}

/* ---------------------------------------------------------------- state */

static Program *prog;
static Decl *cur_wf;
static int bound_depth; /* inside branch / compensation blocks: return is resolve.c's error */

/* Top-level names (the flat namespace of resolve.c), hashed; the first
 * declaration of a name wins (resolve.c reported the others). */
static Decl **dtab;
static int dcap;

static unsigned hash_str(const char *s) {
  unsigned h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static void build_decl_table(void) {
  dcap = 64;
  while (dcap < prog->decls.len * 2 + 2) dcap *= 2;
  dtab = ar_alloc(sizeof(Decl *) * dcap);
  for (int i = 0; i < prog->decls.len; i++) {
    Decl *d = prog->decls.data[i];
    if (!d->name) continue;
    unsigned h = hash_str(d->name) & (dcap - 1);
    while (dtab[h] && strcmp(dtab[h]->name, d->name)) h = (h + 1) & (dcap - 1);
    if (!dtab[h]) dtab[h] = d;
  }
}

static Decl *find_decl(const char *name) {
  for (unsigned h = hash_str(name) & (dcap - 1); dtab[h]; h = (h + 1) & (dcap - 1))
    if (!strcmp(dtab[h]->name, name)) return dtab[h];
  return NULL;
}

static const char *builtin_error_names[] = {
    "Error", "Timeout", "Cancelled", "CompensationFailed", "CircuitOpen", "ActivityFailed",
};

/* ---------------------------------------------------------------- type expressions */

static const char *scalar_names[] = {"int", "float", "bool", "str", "duration", "unit"};

static Type *resolve_texpr(TypeExpr *te);

/* A type that holds a value (parameter, field, element): not unit. */
static Type *value_texpr(TypeExpr *te, const char *what) {
  Type *t = resolve_texpr(te);
  if (te && t->kind == TY_UNIT) {
    diag_error(te->loc, "%s cannot have type unit: unit has no value", what);
    return ty_invalid;
  }
  return t;
}

static Type *resolve_texpr(TypeExpr *te) {
  if (!te) return ty_unit;
  switch (te->kind) {
  case TE_LIST:
    return ty_list(value_texpr(te->elem, "a list element"));
  case TE_TUPLE: {
    if (te->nelems == 1) return resolve_texpr(te->elems[0]);
    Type **el = ar_alloc(sizeof(Type *) * (te->nelems ? te->nelems : 1));
    for (int i = 0; i < te->nelems; i++) el[i] = value_texpr(te->elems[i], "a tuple element");
    return ty_tuple(el, te->nelems);
  }
  case TE_NAME:
    break;
  }
  const char *n = te->name;
  if (!n) return ty_invalid;
  if (!strcmp(n, "int")) return ty_int;
  if (!strcmp(n, "float")) return ty_float;
  if (!strcmp(n, "bool")) return ty_bool;
  if (!strcmp(n, "str")) return ty_str;
  if (!strcmp(n, "duration")) return ty_duration;
  if (!strcmp(n, "unit")) return ty_unit;
  if (!strcmp(n, "error")) return ty_error;
  if (!strcmp(n, "list")) {
    diag_error(te->loc, "`list` needs an element type: `list[T]`");
    return ty_invalid;
  }
  Decl *d = find_decl(n);
  if (d && d->kind == D_TYPE) return ty_record(d);
  if (d) {
    diag_error(te->loc, "'%s' is not a type", n);
    diag_note(pick(d->name_loc, d->loc), "'%s' declared here", n);
    return ty_invalid;
  }
  for (int i = 0; i < (int)(sizeof builtin_error_names / sizeof *builtin_error_names); i++)
    if (!strcmp(n, builtin_error_names[i])) {
      diag_error(te->loc, "'%s' is an error kind, not a type", n);
      return ty_invalid;
    }
  diag_error(te->loc, "unknown type '%s'", n);
  /* names other languages use */
  static const char *aliases[][2] = {
      {"string", "str"},  {"String", "str"},     {"Str", "str"},       {"Int", "int"},
      {"integer", "int"}, {"i64", "int"},        {"long", "int"},      {"Bool", "bool"},
      {"boolean", "bool"}, {"Float", "float"},   {"double", "float"},  {"f64", "float"},
      {"Duration", "duration"}, {"void", "unit"}, {"Unit", "unit"},    {"List", "list[T]"},
      {"array", "list[T]"}, {"Vec", "list[T]"},
  };
  for (int i = 0; i < (int)(sizeof aliases / sizeof *aliases); i++)
    if (!strcmp(n, aliases[i][0])) {
      diag_note_plain("did you mean '%s'?", aliases[i][1]);
      return ty_invalid;
    }
  Vec c = {0};
  for (int i = 0; i < (int)(sizeof scalar_names / sizeof *scalar_names); i++) vec_push(&c, (void *)scalar_names[i]);
  for (int i = 0; i < prog->decls.len; i++) {
    Decl *x = prog->decls.data[i];
    if (x->kind == D_TYPE && x->name) vec_push(&c, (void *)x->name);
  }
  const char *best = diag_closest(n, (const char **)c.data, c.len);
  if (best) diag_note_plain("did you mean '%s'?", best);
  return ty_invalid;
}

/* ---------------------------------------------------------------- expressions */

static Type *check(Node *n, Type *expected);
static void check_stmt(Node *n);
static void check_block(Node *blk);
static bool block_ends(Node *blk);

static Type *expect(Node *n, Type *want) {
  Type *t = check(n, want);
  if (!compat(want, t)) {
    mismatch(n->loc, want, t);
    return ty_invalid;
  }
  return t;
}

static Type *set(Node *n, Type *t) {
  n->type = t ? t : ty_invalid;
  return n->type;
}

static const char *op_text(int op) {
  switch (op) {
  case OP_ADD: case '+': return "+";
  case OP_SUB: case '-': return "-";
  case OP_MUL: case '*': return "*";
  case OP_DIV: case '/': return "/";
  case OP_MOD: case '%': return "%";
  case OP_EQ: return "==";
  case OP_NE: return "!=";
  case OP_LT: case '<': return "<";
  case OP_LE: return "<=";
  case OP_GT: case '>': return ">";
  case OP_GE: return ">=";
  case OP_AND: return "&&";
  case OP_OR: return "||";
  case OP_NOT: case '!': return "!";
  case OP_NEG: return "-";
  }
  return "?";
}

static int norm_op(int op) {
  switch (op) {
  case '+': return OP_ADD;
  case '-': return OP_SUB;
  case '*': return OP_MUL;
  case '/': return OP_DIV;
  case '%': return OP_MOD;
  case '<': return OP_LT;
  case '>': return OP_GT;
  case '!': return OP_NOT;
  }
  return op;
}

static Type *check_binary(Node *n) {
  int op = norm_op(n->op);
  if (op == OP_AND || op == OP_OR) {
    expect(n->lhs, ty_bool);
    expect(n->rhs, ty_bool);
    return ty_bool;
  }
  Type *a = check(n->lhs, NULL), *b = check(n->rhs, NULL);
  if (is_quiet(a) || is_quiet(b)) {
    if (op >= OP_EQ && op <= OP_GE) return ty_bool;
    return ty_invalid;
  }
  TypeKind ka = a->kind, kb = b->kind;
  const char *o = op_text(op);
  switch (op) {
  case OP_ADD:
  case OP_SUB:
  case OP_MUL:
  case OP_DIV:
  case OP_MOD:
    if (ka == kb && (ka == TY_INT || ka == TY_FLOAT)) return a;
    if (op == OP_ADD && ka == TY_STR && kb == TY_STR) return ty_str;
    if ((op == OP_ADD || op == OP_SUB) && ka == TY_DURATION && kb == TY_DURATION) return ty_duration;
    if (op == OP_MUL && ((ka == TY_DURATION && kb == TY_INT) || (ka == TY_INT && kb == TY_DURATION)))
      return ty_duration;
    if (op == OP_DIV && ka == TY_DURATION && kb == TY_INT) return ty_duration;
    if (op == OP_DIV && ka == TY_DURATION && kb == TY_DURATION) return ty_int;
    if (!ty_equal(a, b)) {
      diag_error(n->loc, "mismatched types: %s %s %s", ty_name(a), o, ty_name(b));
      if ((ka == TY_INT && kb == TY_FLOAT) || (ka == TY_FLOAT && kb == TY_INT))
        diag_note_plain("convert with float(x) or int(x)");
      else if (op == OP_ADD && (ka == TY_STR || kb == TY_STR))
        diag_note_plain("convert with str(x)");
      else if (ka == TY_DURATION || kb == TY_DURATION)
        diag_note_plain("a duration adds to a duration, and multiplies or divides by an int");
    } else {
      diag_error(n->loc, "cannot apply '%s' to %s and %s", o, ty_name(a), ty_name(b));
    }
    return ty_invalid;
  case OP_EQ:
  case OP_NE:
  case OP_LT:
  case OP_LE:
  case OP_GT:
  case OP_GE: {
    if (!ty_equal(a, b)) {
      diag_error(n->loc, "mismatched types: %s %s %s", ty_name(a), o, ty_name(b));
      conversion_hint(a, b);
      return ty_bool;
    }
    bool ok = ka == TY_INT || ka == TY_FLOAT || ka == TY_STR || ka == TY_DURATION ||
              (ka == TY_BOOL && (op == OP_EQ || op == OP_NE));
    if (!ok) diag_error(n->loc, "cannot compare %s values with %s", ty_name(a), o);
    return ty_bool;
  }
  }
  diag_ice("unknown binary operator %d", n->op);
}

static Type *check_unary(Node *n) {
  int op = n->op == '-' ? OP_NEG : norm_op(n->op);
  if (op == OP_NOT) {
    expect(n->lhs, ty_bool);
    return ty_bool;
  }
  Type *t = check(n->lhs, NULL);
  if (is_quiet(t)) return ty_invalid;
  if (t->kind == TY_INT || t->kind == TY_FLOAT || t->kind == TY_DURATION) return t;
  diag_error(n->loc, "cannot negate a value of type %s", ty_name(t));
  return ty_invalid;
}

static const char *builtin_sig(int bi) {
  switch (bi) {
  case BI_PRINT: return "print(s: str)";
  case BI_LOG: return "log(s: str)";
  case BI_STR: return "str(x: int | float | bool | duration | str) -> str";
  case BI_LEN: return "len(x: list[T] | str) -> int";
  case BI_NOW: return "now() -> int";
  case BI_SLEEP: return "sleep(d: duration)";
  case BI_INT: return "int(x: float) -> int";
  case BI_FLOAT: return "float(x: int) -> float";
  }
  return "?";
}

static const char *callee_name(Node *n) {
  return n->lhs && n->lhs->name ? n->lhs->name : "?";
}

static void check_args_loose(Node *n) {
  for (Node *a = n->args; a; a = a->next) check(a, NULL);
}

static Type *check_builtin(Node *n, bool as_effect) {
  int bi = n->builtin;
  int want = bi == BI_NOW ? 0 : 1;
  const char *name = callee_name(n);
  if (bi == BI_SLEEP && !as_effect) diag_error(n->loc, "calling sleep suspends: write `yield sleep(...)`");
  if (n->nargs != want) {
    diag_error(n->loc, "expected %d argument%s, found %d", want, want == 1 ? "" : "s", n->nargs);
    diag_note_plain("built-in %s", builtin_sig(bi));
    check_args_loose(n);
    switch (bi) {
    case BI_STR: return ty_str;
    case BI_LEN: case BI_NOW: case BI_INT: return ty_int;
    case BI_FLOAT: return ty_float;
    default: return ty_unit;
    }
  }
  Node *a = n->args;
  Type *t;
  switch (bi) {
  case BI_PRINT:
  case BI_LOG:
    expect(a, ty_str);
    return ty_unit;
  case BI_STR:
    t = check(a, NULL);
    if (!is_quiet(t) && t->kind != TY_INT && t->kind != TY_FLOAT && t->kind != TY_BOOL &&
        t->kind != TY_DURATION && t->kind != TY_STR)
      diag_error(a->loc, "str() cannot convert a value of type %s", ty_name(t));
    return ty_str;
  case BI_LEN:
    t = check(a, NULL);
    if (!is_quiet(t) && t->kind != TY_LIST && t->kind != TY_STR)
      diag_error(a->loc, "len() needs a list or a str, found %s", ty_name(t));
    return ty_int;
  case BI_NOW:
    return ty_int;
  case BI_SLEEP:
    expect(a, ty_duration);
    return ty_unit;
  case BI_INT:
    expect(a, ty_float);
    return ty_int;
  case BI_FLOAT:
    expect(a, ty_int);
    return ty_float;
  }
  (void)name;
  return ty_invalid;
}

static void note_decl(Decl *d) {
  if (d->module >= 0) diag_note(pick(d->name_loc, d->loc), "'%s' declared here", d->name);
}

static Type *check_call(Node *n, bool as_effect) {
  Type *t;
  if (n->builtin) {
    t = check_builtin(n, as_effect);
  } else if (n->decl && (n->decl->kind == D_WORKFLOW || n->decl->kind == D_ACTIVITY ||
                         n->decl->kind == D_EXTERN)) {
    Decl *d = n->decl;
    if (d->kind != D_EXTERN && !as_effect) {
      diag_error(n->loc, "calling %s '%s' suspends: write `yield %s(...)`",
                 d->kind == D_WORKFLOW ? "workflow" : "activity", d->name, d->name);
    }
    if (n->nargs != d->nparams) {
      diag_error(n->loc, "expected %d argument%s, found %d", d->nparams, d->nparams == 1 ? "" : "s", n->nargs);
      note_decl(d);
      check_args_loose(n);
    } else {
      int i = 0;
      for (Node *a = n->args; a; a = a->next, i++) {
        Type *pt = d->params[i].type;
        Type *at = check(a, pt);
        if (!compat(pt, at)) {
          mismatch(a->loc, pt, at);
          diag_note(d->params[i].loc, "parameter '%s' declared here", d->params[i].name);
        }
      }
    }
    t = d->ret ? d->ret : ty_unit;
  } else {
    check_args_loose(n); /* resolve.c reported the callee */
    t = ty_invalid;
  }
  if (n->lhs) set(n->lhs, t);
  return set(n, t);
}

static bool is_effect_call(Node *n) {
  return n->kind == N_CALL &&
         (n->builtin == BI_SLEEP || (n->decl && (n->decl->kind == D_WORKFLOW || n->decl->kind == D_ACTIVITY)));
}

static bool is_unresolved_call(Node *n) {
  return n->kind == N_CALL && !n->builtin && !n->decl;
}

static bool is_conc(Node *n) { return n->kind == N_ALL || n->kind == N_ALL_FOR || n->kind == N_RACE; }

static Node *branch_block(Node *b) {
  if (!b) return NULL;
  if (b->kind == N_BLOCK_EXPR) return b->body;
  if (b->kind == N_BLOCK) return b;
  return NULL;
}

static Node *last_stmt(Node *blk) {
  Node *s = blk && blk->kind == N_BLOCK ? blk->body : NULL;
  while (s && s->next) s = s->next;
  return s;
}

/* A block used as a value: check it, then its value type. */
static Type *block_value(Node *blk) {
  check_block(blk);
  if (block_ends(blk)) return ty_never;
  Node *last = last_stmt(blk);
  if (last && last->kind == N_EXPR_STMT && last->lhs && last->lhs->type) return last->lhs->type;
  return ty_unit;
}

static Type *check_conc(Node *n);

static Type *check_branch(Node *b) {
  Node *blk = branch_block(b);
  Type *t;
  if (blk) {
    bound_depth++;
    t = block_value(blk);
    bound_depth--;
  } else if (is_effect_call(b) || is_unresolved_call(b)) {
    t = check_call(b, true);
  } else if (is_conc(b)) {
    t = check_conc(b);
  } else {
    diag_error(b->loc, "a branch must be an effect (a workflow or activity call, sleep, all, race) or a block `{ ... }`");
    if (b->kind == N_YIELD) diag_note_plain("drop the `yield`: the branch starts the effect itself, or write a block `{ yield ... }`");
    check(b, NULL);
    t = ty_invalid;
  }
  return set(b, t);
}

/* Element type of the iterable of for / all for. */
static Type *iter_elem(Node *it) {
  if (!it) return ty_invalid;
  if (it->kind == N_RANGE) {
    expect(it->lhs, ty_int);
    expect(it->rhs, ty_int);
    return set(it, ty_int);
  }
  Type *t = check(it, NULL);
  if (is_quiet(t)) return ty_invalid;
  if (t->kind == TY_LIST) return t->elem;
  diag_error(it->loc, "cannot iterate over a value of type %s", ty_name(t));
  diag_note_plain("iterate over a list, or a range `a..b`");
  return ty_invalid;
}

static Type *check_conc(Node *n) {
  Type *t;
  switch (n->kind) {
  case N_ALL: {
    int nb = 0;
    for (Node *b = n->args; b; b = b->next) nb++;
    Type **el = ar_alloc(sizeof(Type *) * (nb ? nb : 1));
    bool all_unit = true, bad = false;
    int i = 0;
    for (Node *b = n->args; b; b = b->next, i++) {
      el[i] = check_branch(b);
      if (is_bad(el[i])) bad = true;
      if (el[i]->kind != TY_UNIT && el[i]->kind != TY_NEVER) all_unit = false;
    }
    if (n->ival && nb > 0 && !bad) {
      /* all settle: one outcome per branch, never a failure */
      if (nb == 1) {
        t = ty_outcome(el[0]);
      } else {
        for (int k = 0; k < nb; k++) el[k] = ty_outcome(el[k]);
        t = ty_tuple(el, nb);
      }
    } else if (nb == 0) {
      diag_error(n->loc, "`all` needs at least one branch");
      t = ty_invalid;
    } else if (bad) {
      t = ty_invalid;
    } else if (nb == 1) {
      t = el[0];
    } else if (all_unit) {
      t = ty_unit;
    } else {
      t = ty_tuple(el, nb);
    }
    break;
  }
  case N_ALL_FOR: {
    Type *et = iter_elem(n->rhs);
    if (n->sym) n->sym->type = et;
    Node *blk = branch_block(n->body);
    Type *bt;
    bound_depth++;
    if (blk) {
      bt = block_value(blk);
      set(n->body, bt);
    } else {
      bt = n->body ? check_branch(n->body) : ty_unit;
    }
    bound_depth--;
    if (is_bad(bt))
      t = ty_invalid;
    else if (bt->kind == TY_UNIT || bt->kind == TY_NEVER)
      t = ty_unit;
    else
      t = ty_list(bt);
    break;
  }
  case N_RACE: {
    Type *common = NULL;
    Node *first = NULL;
    bool bad = false;
    for (Node *b = n->args; b; b = b->next) {
      Type *bt = check_branch(b);
      if (is_bad(bt)) {
        bad = true;
        continue;
      }
      if (bt->kind == TY_NEVER) continue;
      if (!common) {
        common = bt;
        first = b;
      } else if (!compat(common, bt)) {
        diag_error(b->loc, "race branches have different types: %s and %s", ty_name(common), ty_name(bt));
        diag_note(first->loc, "this branch has type %s", ty_name(common));
        bad = true;
      }
    }
    if (!n->args) diag_error(n->loc, "`race` needs at least one branch");
    t = bad || !n->args ? ty_invalid : common ? common : ty_never;
    break;
  }
  default:
    t = ty_invalid;
  }
  return set(n, t);
}

static void check_comp(Node *c) {
  Node *blk = branch_block(c);
  if (blk) {
    bound_depth++;
    check_block(blk);
    bound_depth--;
    set(c, ty_unit);
    return;
  }
  if (is_effect_call(c) && c->builtin != BI_SLEEP) {
    check_call(c, true);
    return;
  }
  if (is_unresolved_call(c)) {
    check_call(c, true);
    return;
  }
  diag_error(c->loc, "compensate expects an activity or workflow call, or a block");
  if (c->kind == N_YIELD) diag_note_plain("drop the `yield`: the compensation is started later, if the scope fails");
  check(c, NULL);
}

/* The operand of `breaker B` / `retry P` has the type of the first
 * parameter of the std workflow that carries it out (resolve.c made sure
 * it exists): Breaker / Retry. */
static void check_mod(Node *e, const char *wf, int nparams) {
  Decl *d = res_global(wf);
  if (!d || d->kind != D_WORKFLOW) {
    check(e, NULL);
    return;
  }
  if (d->nparams != nparams || (nparams == 3 && (is_bad(d->params[2].type) || d->params[2].type->kind != TY_INT))) {
    diag_error(d->loc, "'%s' does not have the signature the compiler expects of the standard library", wf);
    check(e, NULL);
    return;
  }
  Type *pt = d->params[0].type;
  if (nparams == 1 && !is_bad(pt) &&
      (pt->kind != TY_RECORD || pt->rec->nfields < 1 || !pt->rec->fields[0].type ||
       pt->rec->fields[0].type->kind != TY_STR)) {
    diag_error(d->loc, "'%s' does not have the signature the compiler expects of the standard library", wf);
    diag_note_plain("its parameter must be a record whose first field is the breaker's name (str)");
  }
  expect(e, pt);
}

static Type *check_yield(Node *n) {
  Node *e = n->lhs;
  Type *t;
  if (!e) {
    t = ty_invalid;
  } else if (is_effect_call(e) || is_unresolved_call(e)) {
    t = check_call(e, true);
  } else if (is_conc(e)) {
    t = check_conc(e);
  } else {
    diag_error(e->loc, "`yield` needs an effect (a workflow or activity call, sleep, all, race)");
    check(e, NULL);
    t = ty_invalid;
  }
  if (n->rhs) expect(n->rhs, ty_duration);
  if (n->cond) check_mod(n->cond, "breaker_enter", 1);
  if (n->els) check_mod(n->els, "retry_wait", 3);
  if (n->comp) check_comp(n->comp);
  return t;
}

static Type *check_field(Node *n) {
  Type *t = check(n->lhs, NULL);
  Loc nl = pick(n->name_loc, n->loc);
  if (is_quiet(t) || !n->name) return ty_invalid;
  if (t->kind == TY_RECORD) {
    Decl *d = t->rec;
    for (int i = 0; i < d->nfields; i++)
      if (d->fields[i].name && !strcmp(d->fields[i].name, n->name)) {
        n->ival = i;
        return d->fields[i].type ? d->fields[i].type : ty_invalid;
      }
    diag_error(nl, "no field '%s' on type %s", n->name, ty_name(t));
    const char **c = ar_alloc(sizeof(char *) * (d->nfields ? d->nfields : 1));
    for (int i = 0; i < d->nfields; i++) c[i] = d->fields[i].name;
    const char *best = diag_closest(n->name, c, d->nfields);
    if (best) diag_note_plain("did you mean '%s'?", best);
    return ty_invalid;
  }
  if (t->kind == TY_OUTCOME) {
    if (!strcmp(n->name, "ok")) {
      n->ival = 0;
      return ty_bool;
    }
    if (!strcmp(n->name, "value")) {
      n->ival = 1;
      if (t->elem->kind == TY_UNIT) {
        diag_error(nl, "this branch has no value: its outcome only has `ok` and `error`");
        return ty_invalid;
      }
      return t->elem;
    }
    if (!strcmp(n->name, "error")) {
      n->ival = 2;
      return ty_error;
    }
    diag_error(nl, "no field '%s' on type %s", n->name, ty_name(t));
    diag_note_plain("an outcome has the fields `ok`, `value` (when ok) and `error` (when not ok)");
    return ty_invalid;
  }
  if (t->kind == TY_ERROR) {
    if (!strcmp(n->name, "kind")) {
      n->ival = 0;
      return ty_str;
    }
    if (!strcmp(n->name, "message")) {
      n->ival = 1;
      return ty_str;
    }
    diag_error(nl, "no field '%s' on type error", n->name);
    diag_note_plain("an error has the fields `kind` and `message`");
    return ty_invalid;
  }
  diag_error(nl, "no field '%s' on type %s", n->name, ty_name(t));
  if (t->kind == TY_TUPLE) diag_note_plain("tuple elements are accessed by position: `.0`, `.1`, ...");
  return ty_invalid;
}

static Type *check_list(Node *n, Type *expected) {
  Type *want = expected && expected->kind == TY_LIST ? expected->elem : NULL;
  if (want && is_bad(want)) want = NULL;
  if (!n->args) {
    if (want || (expected && expected->kind == TY_LIST)) return expected;
    if (expected && is_bad(expected)) return ty_invalid; /* the expectation was already reported */
    if (expected && !is_bad(expected)) {
      diag_error(n->loc, "mismatched types: expected %s, found a list", ty_name(expected));
      return ty_invalid;
    }
    diag_error(n->loc, "cannot infer the type of an empty list");
    diag_note_plain("annotate it: `let xs: list[int] = []`");
    return ty_invalid;
  }
  Type *el = want;
  Node *first = NULL;
  for (Node *a = n->args; a; a = a->next) {
    if (!el || el->kind == TY_NEVER) {
      el = check(a, NULL);
      first = a;
      if (el->kind == TY_UNIT) {
        diag_error(a->loc, "this expression has no value");
        el = ty_invalid;
      }
      continue;
    }
    Type *t = check(a, el);
    if (!compat(el, t)) {
      mismatch(a->loc, el, t);
      if (first) diag_note(first->loc, "the list's element type is %s because of its first element", ty_name(el));
      /* one report per list literal: check the rest without an expectation */
      for (a = a->next; a; a = a->next) check(a, el);
      break;
    }
  }
  return ty_list(el);
}

static Type *check_tuple(Node *n, Type *expected) {
  Type **el = ar_alloc(sizeof(Type *) * (n->nargs > 0 ? n->nargs : 1));
  bool use = expected && expected->kind == TY_TUPLE && expected->nelems == n->nargs;
  int i = 0;
  for (Node *a = n->args; a; a = a->next, i++) {
    el[i] = check(a, use ? expected->elems[i] : NULL);
    if (el[i]->kind == TY_UNIT) {
      diag_error(a->loc, "this expression has no value");
      el[i] = ty_invalid;
    }
  }
  return ty_tuple(el, i);
}

static Type *check_record(Node *n) {
  Decl *d = n->decl;
  if (!d) {
    for (Node *f = n->args; f; f = f->next) check(f->kind == N_FIELD_INIT ? f->lhs : f, NULL);
    return ty_invalid;
  }
  Loc rl = loc_of_name(n);
  Node **seen = ar_alloc(sizeof(Node *) * (d->nfields ? d->nfields : 1));
  for (Node *f = n->args; f; f = f->next) {
    if (f->kind != N_FIELD_INIT) {
      check(f, NULL);
      continue;
    }
    Loc fl = loc_of_name(f);
    int idx = -1;
    for (int i = 0; i < d->nfields; i++)
      if (f->name && d->fields[i].name && !strcmp(d->fields[i].name, f->name)) idx = i;
    if (idx < 0) {
      diag_error(fl, "record '%s' has no field '%s'", d->name, f->name ? f->name : "?");
      const char **c = ar_alloc(sizeof(char *) * (d->nfields ? d->nfields : 1));
      for (int i = 0; i < d->nfields; i++) c[i] = d->fields[i].name;
      const char *best = f->name ? diag_closest(f->name, c, d->nfields) : NULL;
      if (best)
        diag_note_plain("did you mean '%s'?", best);
      else
        note_decl(d);
      set(f, check(f->lhs, NULL));
      continue;
    }
    if (seen[idx]) {
      diag_error(fl, "field '%s' is specified twice", f->name);
      diag_note(loc_of_name(seen[idx]), "first specified here");
    } else {
      seen[idx] = f;
    }
    f->ival = idx;
    Type *ft = d->fields[idx].type;
    Type *t = check(f->lhs, ft);
    if (!compat(ft, t)) mismatch(f->lhs->loc, ft, t);
    set(f, ft);
  }
  for (int i = 0; i < d->nfields; i++)
    if (!seen[i] && d->fields[i].name) {
      diag_error(rl, "missing field '%s' in record '%s'", d->fields[i].name, d->name);
      diag_note(d->fields[i].loc, "'%s' declared here", d->fields[i].name);
    }
  return ty_record(d);
}

static Type *check(Node *n, Type *expected) {
  if (!n) return ty_invalid;
  Type *t;
  switch (n->kind) {
  case N_INT: t = ty_int; break;
  case N_FLOAT: t = ty_float; break;
  case N_STR: t = ty_str; break;
  case N_BOOL: t = ty_bool; break;
  case N_DURATION: t = ty_duration; break;
  case N_IDENT:
    if (n->sym)
      t = n->sym->type ? n->sym->type : ty_invalid;
    else if (n->decl && n->decl->kind == D_ERROR)
      t = ty_error; /* `fail Kind` (checked by check_fail); elsewhere resolve.c reported it */
    else
      t = ty_invalid;
    break;
  case N_BINARY: t = check_binary(n); break;
  case N_UNARY: t = check_unary(n); break;
  case N_CALL: t = check_call(n, false); break;
  case N_FIELD: t = check_field(n); break;
  case N_TUPLE_IDX: {
    Type *lt = check(n->lhs, NULL);
    if (is_quiet(lt)) {
      t = ty_invalid;
    } else if (lt->kind != TY_TUPLE) {
      diag_error(n->loc, "no field '%lld' on type %s", (long long)n->ival, ty_name(lt));
      t = ty_invalid;
    } else if (n->ival < 0 || n->ival >= lt->nelems) {
      diag_error(n->loc, "tuple index %lld out of range for %s", (long long)n->ival, ty_name(lt));
      diag_note_plain("%s has %d elements: `.0` to `.%d`", ty_name(lt), lt->nelems, lt->nelems - 1);
      t = ty_invalid;
    } else {
      t = lt->elems[n->ival];
    }
    break;
  }
  case N_INDEX: {
    Type *lt = check(n->lhs, NULL);
    expect(n->rhs, ty_int);
    if (is_quiet(lt)) {
      t = ty_invalid;
    } else if (lt->kind != TY_LIST) {
      diag_error(n->loc, "cannot index into a value of type %s", ty_name(lt));
      t = ty_invalid;
    } else {
      t = lt->elem;
    }
    break;
  }
  case N_LIST: t = check_list(n, expected); break;
  case N_TUPLE: t = check_tuple(n, expected); break;
  case N_RECORD: t = check_record(n); break;
  case N_FIELD_INIT: t = check(n->lhs, expected); break;
  case N_RANGE:
    diag_error(n->loc, "a range `a..b` can only be iterated by `for` or `all for`");
    check(n->lhs, NULL);
    check(n->rhs, NULL);
    t = ty_invalid;
    break;
  case N_YIELD: t = check_yield(n); break;
  case N_ALL:
  case N_ALL_FOR:
  case N_RACE: {
    const char *w = n->kind == N_RACE ? "race" : n->kind == N_ALL_FOR ? "all for" : "all";
    diag_error(n->loc, "`%s` suspends: write `yield %s ...`", w, w);
    check_conc(n);
    t = ty_invalid;
    break;
  }
  case N_BLOCK_EXPR: t = block_value(n->body); break;
  default:
    check_stmt(n);
    return ty_invalid;
  }
  return set(n, t);
}

/* ---------------------------------------------------------------- statements */

static bool is_true(Node *c) { return c && c->kind == N_BOOL && c->ival; }

/* Does a loop body contain a `break` for this loop? (nested loops' breaks are theirs) */
static bool has_break(Node *s) {
  for (; s; s = s->next) {
    switch (s->kind) {
    case N_BREAK: return true;
    case N_BLOCK: if (has_break(s->body)) return true; break;
    case N_IF:
      if ((s->then && has_break(s->then->kind == N_BLOCK ? s->then->body : s->then)) ||
          (s->els && has_break(s->els->kind == N_BLOCK ? s->els->body : s->els)))
        return true;
      break;
    case N_TRY:
      if (s->body && has_break(s->body->body)) return true;
      for (Node *c = s->args; c; c = c->next)
        if (c->body && has_break(c->body->body)) return true;
      if (s->els && has_break(s->els->body)) return true;
      break;
    default: break;
    }
  }
  return false;
}

static bool stmt_ends(Node *s) {
  if (!s) return false;
  switch (s->kind) {
  case N_RETURN:
  case N_FAIL:
    return true;
  case N_BLOCK:
    return block_ends(s);
  case N_IF:
    return s->els && block_ends(s->then) && stmt_ends(s->els);
  case N_TRY: {
    if (s->els && block_ends(s->els)) return true;
    if (!block_ends(s->body)) return false;
    for (Node *c = s->args; c; c = c->next)
      if (!block_ends(c->body)) return false;
    return true;
  }
  case N_WHILE:
    return is_true(s->cond) && !has_break(s->body ? s->body->body : NULL);
  case N_EXPR_STMT:
    return s->lhs && s->lhs->type && s->lhs->type->kind == TY_NEVER;
  default:
    return false;
  }
}

/* A block "ends" when control never reaches its end (every path returns or fails). */
static bool block_ends(Node *blk) {
  if (!blk) return false;
  if (blk->kind != N_BLOCK) return stmt_ends(blk);
  for (Node *s = blk->body; s; s = s->next)
    if (stmt_ends(s)) return true;
  return false;
}

static void check_let(Node *n) {
  Type *ann = n->texpr ? resolve_texpr(n->texpr) : NULL;
  Node *rhs = n->rhs, *comp = NULL;
  if (rhs && rhs->kind == N_YIELD && rhs->comp) {
    comp = rhs->comp; /* checked after the binding, so it can use the bound value */
    rhs->comp = NULL;
  }
  Type *t = ann ? expect(rhs, ann) : check(rhs, NULL);
  if (t->kind == TY_UNIT) {
    diag_error(rhs ? rhs->loc : n->loc, "this expression has no value");
    t = ty_invalid;
  } else if (ann && !is_bad(ann)) {
    t = ann;
  }
  if (n->pats) {
    int np = 0;
    for (Node *p = n->pats; p; p = p->next) np++;
    bool ok = is_quiet(t);
    if (!ok && t->kind != TY_TUPLE) {
      diag_error(rhs->loc, "cannot destructure a value of type %s into %d names", ty_name(t), np);
    } else if (!ok && t->nelems != np) {
      diag_error(rhs->loc, "mismatched types: expected a tuple of %d elements, found %s", np, ty_name(t));
    } else {
      ok = true;
    }
    int i = 0;
    for (Node *p = n->pats; p; p = p->next, i++) {
      Type *pt = ok && t->kind == TY_TUPLE ? t->elems[i] : (t->kind == TY_NEVER ? ty_never : ty_invalid);
      if (pt->kind == TY_UNIT) {
        diag_error(p->loc, "cannot bind '%s': its value is unit", p->name);
        pt = ty_invalid;
      }
      if (p->sym) p->sym->type = pt;
      set(p, pt);
    }
  } else if (n->sym) {
    n->sym->type = t;
  }
  if (comp) {
    rhs->comp = comp;
    check_comp(comp);
  }
}

static void check_fail(Node *n) {
  Node *e = n->lhs;
  if (!e) return;
  if (e->kind == N_CALL && e->decl && e->decl->kind == D_ERROR) {
    if (e->nargs > 1) {
      diag_error(e->loc, "expected at most 1 argument, found %d", e->nargs);
      diag_note_plain("an error kind takes a message: `fail %s(\"...\")`", e->decl->name);
      check_args_loose(e);
    } else if (e->args) {
      expect(e->args, ty_str);
    }
    if (e->lhs) set(e->lhs, ty_error);
    set(e, ty_error);
    return;
  }
  if (e->kind == N_CALL && !e->decl && !e->builtin) {
    check_args_loose(e);
    set(e, ty_invalid);
    return;
  }
  Type *t = check(e, NULL);
  if (!is_quiet(t) && t->kind != TY_ERROR) {
    diag_error(e->loc, "cannot raise a value of type %s", ty_name(t));
    diag_note_plain("raise an error kind, `fail Error(\"...\")`, or re-raise a caught error, `fail e`");
  }
}

static void check_stmt(Node *n) {
  if (!n) return;
  switch (n->kind) {
  case N_BLOCK:
    check_block(n);
    return;
  case N_LET:
    check_let(n);
    return;
  case N_ASSIGN: {
    Node *l = n->lhs;
    if (l && l->kind == N_IDENT && l->sym) {
      Type *vt = l->sym->type;
      set(l, vt);
      expect(n->rhs, vt);
    } else {
      if (l && l->kind != N_IDENT) check(l, NULL);
      else if (l) set(l, ty_invalid);
      check(n->rhs, NULL);
    }
    return;
  }
  case N_EXPR_STMT:
    check(n->lhs, NULL);
    return;
  case N_IF:
    expect(n->cond, ty_bool);
    check_block(n->then);
    if (n->els) check_stmt(n->els);
    return;
  case N_WHILE:
    expect(n->cond, ty_bool);
    check_block(n->body);
    return;
  case N_FOR: {
    Type *et = iter_elem(n->rhs);
    if (n->sym) n->sym->type = et;
    check_block(n->body);
    return;
  }
  case N_RETURN: {
    Type *ret = cur_wf && cur_wf->ret ? cur_wf->ret : ty_unit;
    if (bound_depth > 0) { /* resolve.c reported it */
      if (n->lhs) check(n->lhs, NULL);
      return;
    }
    const char *wn = cur_wf && cur_wf->name ? cur_wf->name : "?";
    if (n->lhs) {
      if (ret->kind == TY_UNIT) {
        Type *t = check(n->lhs, NULL);
        if (!is_quiet(t) && t->kind != TY_UNIT) {
          diag_error(n->lhs->loc, "`return` with a value in workflow '%s', which returns nothing", wn);
          diag_note_plain("declare its return type: `-> %s`", ty_name(t));
        }
      } else {
        expect(n->lhs, ret);
      }
    } else if (ret->kind != TY_UNIT && !is_bad(ret)) {
      diag_error(n->loc, "`return` without a value in workflow '%s', which returns %s", wn, ty_name(ret));
    }
    return;
  }
  case N_BREAK:
  case N_CONTINUE:
    return;
  case N_FAIL:
    check_fail(n);
    return;
  case N_TRY:
    check_block(n->body);
    for (Node *c = n->args; c; c = c->next) {
      if (c->decl && c->decl->module < 0 && !strcmp(c->decl->name, "Cancelled"))
        diag_error(c->lhs ? c->lhs->loc : loc_word_after(c->loc, c->sval), "Cancelled cannot be caught: cancellation always unwinds; use finally");
      if (c->sym) c->sym->type = ty_error;
      if (c->lhs) set(c->lhs, ty_error); /* the kind's name */
      check_block(c->body);
    }
    if (n->els) check_block(n->els);
    return;
  default:
    check(n, NULL);
    return;
  }
}

static void check_block(Node *blk) {
  if (!blk) return;
  if (blk->kind != N_BLOCK) {
    check_stmt(blk);
    return;
  }
  for (Node *s = blk->body; s; s = s->next) check_stmt(s);
}

/* ---------------------------------------------------------------- declarations */

static bool c_abi_type(Type *t) {
  return is_bad(t) || t->kind == TY_INT || t->kind == TY_FLOAT || t->kind == TY_BOOL || t->kind == TY_STR ||
         t->kind == TY_DURATION || t->kind == TY_UNIT;
}

static void check_signature(Decl *d) {
  for (int i = 0; i < d->nparams; i++) {
    Param *p = &d->params[i];
    p->type = p->texpr ? value_texpr(p->texpr, "a parameter") : ty_invalid;
    if (p->sym) p->sym->type = p->type;
    if (d->kind == D_EXTERN && !c_abi_type(p->type)) {
      diag_error(p->texpr ? p->texpr->loc : p->loc,
                 "extern fn parameters must have a C type (int, float, bool, duration, str), found %s", ty_name(p->type));
      diag_note_plain("declare it as an `activity` to pass other types");
    }
  }
  d->ret = d->ret_texpr ? resolve_texpr(d->ret_texpr) : ty_unit;
  if (d->kind == D_EXTERN && !c_abi_type(d->ret)) {
    diag_error(d->ret_texpr->loc, "extern fn results must have a C type (int, float, bool, duration, str, unit), found %s",
               ty_name(d->ret));
    diag_note_plain("declare it as an `activity` to return other types");
  }
}

static void check_record_decl(Decl *d) {
  for (int i = 0; i < d->nfields; i++) {
    Param *f = &d->fields[i];
    f->type = f->texpr ? value_texpr(f->texpr, "a record field") : ty_invalid;
    for (int j = 0; j < i; j++)
      if (f->name && d->fields[j].name && !strcmp(f->name, d->fields[j].name)) {
        diag_error(f->loc, "field '%s' is declared twice", f->name);
        diag_note(d->fields[j].loc, "previously declared here");
        break;
      }
  }
}

static void check_main(Decl *d) {
  bool bad_types = is_bad(d->ret);
  for (int i = 0; i < d->nparams; i++)
    if (is_bad(d->params[i].type)) bad_types = true;
  if (bad_types) return;
  bool params_ok = d->nparams == 0 || (d->nparams == 1 && ty_equal(d->params[0].type, ty_list(ty_str)));
  bool ret_ok = d->ret->kind == TY_UNIT || d->ret->kind == TY_INT;
  if (params_ok && ret_ok) return;
  diag_error(d->loc, "unsupported signature for 'main'");
  diag_note_plain("accepted forms: `workflow main()`, `workflow main() -> int`, "
                  "`workflow main(args: list[str])`, `workflow main(args: list[str]) -> int`");
}

static Loc closing_brace(Node *body) {
  Loc l = body->loc;
  if (loc_set(l) && l.end_col > 1) {
    l.line = l.end_line;
    l.col = l.end_col - 1;
  }
  return l;
}

static void check_workflow(Decl *d) {
  cur_wf = d;
  bound_depth = 0;
  check_block(d->body);
  if (d->body && d->ret && !is_bad(d->ret) && d->ret->kind != TY_UNIT && !block_ends(d->body)) {
    const char *tn = ty_name(d->ret);
    diag_error(d->ret_texpr ? d->ret_texpr->loc : pick(d->name_loc, d->loc),
               "workflow '%s' must return %s %s on every path", d->name, article(tn), tn);
    diag_note(closing_brace(d->body), "the end of the body is reachable here");
  }
  cur_wf = NULL;
}

bool ty_check(Program *p) {
  int errs = diag_error_count();
  prog = p;
  build_decl_table();
  for (int i = 0; i < p->decls.len; i++) {
    Decl *d = p->decls.data[i];
    if (d->kind == D_TYPE) check_record_decl(d);
  }
  for (int i = 0; i < p->decls.len; i++) {
    Decl *d = p->decls.data[i];
    if (d->kind == D_ACTIVITY || d->kind == D_EXTERN || d->kind == D_WORKFLOW) check_signature(d);
  }
  if (p->main) check_main(p->main);
  for (int i = 0; i < p->decls.len; i++) {
    Decl *d = p->decls.data[i];
    if (d->kind == D_WORKFLOW) check_workflow(d);
  }
  return diag_error_count() == errs;
}
