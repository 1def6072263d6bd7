/* parser.y -- Weft grammar (bison 3.8): tokens -> AST (weftc.h).
 *
 * - Pure parser with locations (Loc); the lexer wrapper lex_token (lexer.l)
 *   inserts automatic semicolons (Go's rule).
 * - "No bare record literal" in if/while conditions and for/all-for
 *   iterables: a duplicated expression chain (expr_nb, unary_nb, postfix_nb)
 *   whose primaries (atom) exclude `Name { ... }`; inside brackets the
 *   ordinary chain comes back.
 * - Syntax errors: custom messages ("expected expression, found '}'").
 *   Recovery: error productions at declaration, statement, list-element and
 *   bracket level. Lists keep what they accumulated ("open_stmts error",
 *   "plist error", ...), so the parser resumes at the next token that can
 *   start a statement/element without losing earlier ones. Lexical errors
 *   reach the parser as YYerror (silent recovery); mismatched closing
 *   brackets are reported by the lexer, which supplies the missing closers,
 *   so bracket-level recovery always finds its closer. Nodes standing for
 *   unparsable parts are N_INT 0.
 * - Every node carries a hidden depth; an AST deeper than WEFT_MAX_DEPTH is
 *   reported once and parsing stops, so later recursive phases are safe.
 */

%code requires {
#include "weftc.h"
typedef struct Lexer Lexer;
typedef struct NList { Node *head, *tail; int n; } NList;
#define WEFT_MAX_BRACKETS 256
#define WEFT_MAX_DEPTH 1000
}

%code provides {
/* One token as delivered to the parser. */
typedef struct Token {
  int kind;            /* yytoken_kind_t, or a raw-only code */
  YYSTYPE val;
  Loc loc;
  size_t off, len;     /* lexeme in the source text */
  int depth_before;    /* bracket depth before the token */
  bool is_auto;        /* an automatic ';' (newline or end of file) */
} Token;

struct Lexer {
  SrcFile *src;
  void *scanner;                 /* yyscan_t */
  /* position of the next byte */
  int line, col;
  size_t off;
  /* start of the token being matched */
  int tok_line, tok_col;
  size_t tok_off;
  /* last newline seen (for the end-of-file location) */
  int nl_line, nl_col;
  int prev_raw;                  /* previous raw token (t.0.1) */
  bool at_eof;                   /* the scanner has returned end of file */
  int prev_kind;                 /* previous token before recovery filtering */
  bool prev_auto;
  int lex_errors;
  /* automatic semicolons */
  Token last;                    /* last token delivered to the parser */
  bool has_pending;
  Token pending;
  Token queue[WEFT_MAX_BRACKETS + 2]; /* raw tokens waiting: synthesized closers, then the real one */
  int qhead, qlen;
  char brackets[WEFT_MAX_BRACKETS + 1];
  Loc bracket_locs[WEFT_MAX_BRACKETS + 1];
  int depth;
  bool fatal;                    /* stop: every further token is end of file, no more messages */
  int hide_depth;                /* recovering in a bracket: hide tokens nested deeper (-1: off) */
  /* parser */
  Module *mod;
  Decl **tail;
  bool depth_reported;
};

void lex_init(Lexer *lx, SrcFile *f);
void lex_destroy(Lexer *lx);
int lex_token(YYSTYPE *val, Loc *loc, Lexer *lx);
}

%code {
#include <ctype.h>
#include <string.h>

#define yylex lex_token

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                   \
  do {                                                                \
    if (N) {                                                          \
      (Cur) = loc_span(YYRHSLOC(Rhs, 1), YYRHSLOC(Rhs, N));           \
    } else {                                                          \
      (Cur).file = YYRHSLOC(Rhs, 0).file;                             \
      (Cur).line = (Cur).end_line = YYRHSLOC(Rhs, 0).end_line;        \
      (Cur).col = (Cur).end_col = YYRHSLOC(Rhs, 0).end_col;           \
    }                                                                 \
  } while (0)

static void yyerror(Loc *loc, Lexer *lx, const char *msg);

/* ---- nodes: each carries a hidden header with its depth */
typedef struct NodeHdr {
  _Alignas(16) int depth;
} NodeHdr;

static Node *mk(NodeKind k, Loc loc) {
  NodeHdr *h = ar_alloc(sizeof(NodeHdr) + sizeof(Node));
  h->depth = 1;
  Node *n = (Node *)(h + 1);
  n->kind = k;
  n->loc = loc;
  return n;
}

static int ndepth(Node *n) { return n ? ((NodeHdr *)n)[-1].depth : 0; }

static bool is_expr_kind(NodeKind k) { return k < N_BLOCK; }

/* Computes n's depth from its children; reports once when too deep. */
static Node *fin(Lexer *lx, Node *n) {
  int d = 0;
#define DMAX(x) do { int t_ = ndepth(x); if (t_ > d) d = t_; } while (0)
  DMAX(n->lhs); DMAX(n->rhs); DMAX(n->cond); DMAX(n->then); DMAX(n->els); DMAX(n->comp);
  for (Node *a = n->args; a; a = a->next) DMAX(a);
  for (Node *a = n->pats; a; a = a->next) DMAX(a);
  if (n->kind == N_BLOCK) {
    for (Node *s = n->body; s; s = s->next) DMAX(s);
  } else {
    DMAX(n->body);
  }
#undef DMAX
  ((NodeHdr *)n)[-1].depth = d + 1;
  if (d + 1 > WEFT_MAX_DEPTH && !lx->depth_reported) {
    lx->depth_reported = true;
    lx->fatal = true;
    Loc l = n->loc;
    if (is_expr_kind(n->kind))
      diag_error(l, "expression is nested too deeply (more than %d levels)", WEFT_MAX_DEPTH);
    else
      diag_error(l, "statements are nested too deeply (more than %d levels)", WEFT_MAX_DEPTH);
  }
  return n;
}

static Node *mk_bin(Lexer *lx, int op, Node *a, Node *b, Loc loc) {
  Node *n = mk(N_BINARY, loc);
  n->op = op;
  n->lhs = a;
  n->rhs = b;
  return fin(lx, n);
}

static Node *mk_un(Lexer *lx, int op, Node *a, Loc loc) {
  Node *n = mk(N_UNARY, loc);
  n->op = op;
  n->lhs = a;
  return fin(lx, n);
}

static Node *mk_ident(const char *name, Loc loc) {
  Node *n = mk(N_IDENT, loc);
  n->name = name;
  n->name_loc = loc;
  return n;
}

static NList nl_empty(void) { NList l = {0}; return l; }
static NList nl_one(Node *n) {
  NList l = {0};
  if (n) { l.head = l.tail = n; l.n = 1; }
  return l;
}
static NList nl_add(NList l, Node *n) {
  if (!n) return l;
  n->next = NULL;
  if (l.tail) l.tail->next = n; else l.head = n;
  l.tail = n;
  l.n++;
  return l;
}

static Node *mk_list(Lexer *lx, NodeKind k, NList l, Loc loc) {
  Node *n = mk(k, loc);
  n->args = l.head;
  n->nargs = l.n;
  return fin(lx, n);
}

static Node *mk_call(Lexer *lx, Node *callee, NList args, Loc loc) {
  Node *n = mk(N_CALL, loc);
  n->lhs = callee;
  n->args = args.head;
  n->nargs = args.n;
  return fin(lx, n);
}

static Node *mk_field(Lexer *lx, Node *lhs, const char *name, Loc name_loc, Loc loc) {
  Node *n = mk(N_FIELD, loc);
  n->lhs = lhs;
  n->name = name;
  n->name_loc = name_loc;
  return fin(lx, n);
}

static Node *mk_tuple_idx(Lexer *lx, Node *lhs, int64_t i, Loc loc) {
  Node *n = mk(N_TUPLE_IDX, loc);
  n->lhs = lhs;
  n->ival = i;
  return fin(lx, n);
}

static Node *mk_index(Lexer *lx, Node *lhs, Node *idx, Loc loc) {
  Node *n = mk(N_INDEX, loc);
  n->lhs = lhs;
  n->rhs = idx;
  return fin(lx, n);
}

/* A node standing for something that did not parse (keeps trees non-NULL). */
static Node *mk_poison(Loc loc) {
  Node *n = mk(N_INT, loc);
  return n;
}

static Node *mk_tuple(Lexer *lx, Node *first, NList rest, Loc loc) {
  NList l = nl_one(first);
  if (rest.head) {
    if (l.tail) { l.tail->next = rest.head; l.tail = rest.tail; l.n += rest.n; }
    else l = rest;
  }
  return mk_list(lx, N_TUPLE, l, loc);
}

/* `breaker B` / `retry P` after an effect (contextual words): collected in
 * a holder node (cond = breaker, els = retry) in this fixed order, at most
 * once each, so `timeout` binds per attempt and `retry` repeats the rest. */
static Node *add_mod(Lexer *lx, Node *mods, const char *word, Loc wloc, Node *e) {
  (void)lx;
  if (!mods) mods = mk(N_YIELD, wloc);
  bool is_breaker = word && !strcmp(word, "breaker"), is_retry = word && !strcmp(word, "retry");
  if (!is_breaker && !is_retry) {
    diag_error(wloc, "expected `timeout`, `breaker`, `retry` or `compensate` after the effect, found '%s'",
               word ? word : "?");
  } else if ((is_breaker && (mods->cond || mods->els)) || (is_retry && mods->els)) {
    diag_error(wloc, "`%s` %s", word,
               is_breaker && mods->els ? "must come before `retry`" : "is given twice");
    diag_note_plain("write `yield E [timeout D] [breaker B] [retry P] [compensate C]`");
  } else if (is_breaker) {
    mods->cond = e;
  } else {
    mods->els = e;
  }
  return mods;
}

static Node *mk_yield(Lexer *lx, Node *eff, Node *timeout, Node *mods, Node *comp, Loc loc) {
  Node *n = mk(N_YIELD, loc);
  n->lhs = eff;
  n->rhs = timeout;
  if (mods) {
    n->cond = mods->cond;
    n->els = mods->els;
  }
  n->comp = comp;
  return fin(lx, n);
}

static Node *mk_all_for(Lexer *lx, const char *name, Loc name_loc, Node *iter, Node *body, Loc loc) {
  Node *n = mk(N_ALL_FOR, loc);
  n->name = name;
  n->name_loc = name_loc;
  n->rhs = iter;
  n->body = body;
  return fin(lx, n);
}

static Node *mk_range(Lexer *lx, Node *a, Node *b, Loc loc) {
  Node *n = mk(N_RANGE, loc);
  n->lhs = a;
  n->rhs = b;
  return fin(lx, n);
}

static Node *mk_record(Lexer *lx, const char *name, Loc name_loc, NList fields, Loc loc) {
  Node *n = mk(N_RECORD, loc);
  n->name = name;
  n->name_loc = name_loc;
  n->args = fields.head;
  n->nargs = fields.n;
  return fin(lx, n);
}

static Node *mk_block_expr(Lexer *lx, Node *block) {
  Node *n = mk(N_BLOCK_EXPR, block->loc);
  n->body = block;
  return fin(lx, n);
}

static Node *mk_let(Lexer *lx, bool var, const char *name, Loc name_loc, TypeExpr *te, Node *rhs, Loc loc) {
  Node *n = mk(N_LET, loc);
  n->ival = var;
  n->name = name;
  n->name_loc = name_loc;
  n->texpr = te;
  n->rhs = rhs;
  return fin(lx, n);
}

static Node *mk_stmt1(Lexer *lx, NodeKind k, Node *lhs, Loc loc) {
  Node *n = mk(k, loc);
  n->lhs = lhs;
  return fin(lx, n);
}

static Node *mk_if(Lexer *lx, Node *cond, Node *then, Node *els, Loc loc) {
  Node *n = mk(N_IF, loc);
  n->cond = cond;
  n->then = then;
  n->els = els;
  return fin(lx, n);
}

static Node *mk_catch(Lexer *lx, const char *a, Loc aloc, const char *b, Loc bloc, Node *body, Loc loc) {
  Node *n = mk(N_CATCH, loc);
  n->body = body;
  if (a && b) {
    n->sval = a;
    n->lhs = mk_ident(a, aloc);
    n->name = b;
    n->name_loc = bloc;
  } else if (a) {
    if (isupper((unsigned char)a[0])) {
      n->sval = a;
      n->lhs = mk_ident(a, aloc);
    } else {
      n->name = a;
      n->name_loc = aloc;
    }
  }
  return fin(lx, n);
}

/* ---- type expressions and declarations */
static TypeExpr *te_name(const char *name, Loc loc) {
  TypeExpr *t = ar_alloc(sizeof *t);
  t->kind = TE_NAME;
  t->name = name;
  t->loc = loc;
  return t;
}

static TypeExpr *te_tuple(Vec v, Loc loc) {
  TypeExpr *t = ar_alloc(sizeof *t);
  t->kind = TE_TUPLE;
  t->loc = loc;
  t->nelems = v.len;
  t->elems = ar_alloc(sizeof(TypeExpr *) * (size_t)(v.len ? v.len : 1));
  for (int i = 0; i < v.len; i++) t->elems[i] = v.data[i];
  return t;
}

static Param *mk_param(const char *name, Loc loc, TypeExpr *te) {
  Param *p = ar_alloc(sizeof *p);
  p->name = name;
  p->loc = loc;
  p->texpr = te;
  return p;
}

static Param *param_array(Vec v) {
  Param *a = ar_alloc(sizeof(Param) * (size_t)(v.len ? v.len : 1));
  for (int i = 0; i < v.len; i++) a[i] = *(Param *)v.data[i];
  return a;
}

static Decl *mk_decl(Lexer *lx, DeclKind k, const char *name, Loc name_loc, Loc loc) {
  Decl *d = ar_alloc(sizeof *d);
  d->kind = k;
  d->name = name;
  d->name_loc = name_loc;
  d->loc = loc;
  d->module = lx->src->id;
  return d;
}

/* The symbol of `as "symbol"`: a C identifier. */
static const char *c_name(Lexer *lx, const char *word, Loc wloc, const char *sym, size_t n, Loc sloc) {
  (void)lx;
  if (!word || strcmp(word, "as") != 0) {
    diag_error(wloc, "expected newline, `as \"symbol\"` or `->`, found '%s'", word ? word : "?");
    return NULL;
  }
  bool ok = n > 0 && n < 256 && !(sym[0] >= '0' && sym[0] <= '9');
  for (size_t i = 0; ok && i < n; i++)
    ok = (sym[i] >= 'a' && sym[i] <= 'z') || (sym[i] >= 'A' && sym[i] <= 'Z') ||
         (sym[i] >= '0' && sym[i] <= '9') || sym[i] == '_';
  if (!ok) {
    diag_error(sloc, "`as` needs a C function name (letters, digits and _), found \"%.*s\"", (int)(n < 60 ? n : 60), sym);
    return NULL;
  }
  return sym;
}

static Decl *mk_fn_decl(Lexer *lx, DeclKind k, const char *name, Loc name_loc, Vec params, TypeExpr *ret, Loc loc) {
  Decl *d = mk_decl(lx, k, name, name_loc, loc);
  d->params = param_array(params);
  d->nparams = params.len;
  d->ret_texpr = ret;
  return d;
}

/* Recovering inside a bracket: until its closer, the lexer hides tokens
 * nested deeper, so the ')' or ']' found is the matching one. */
static void hide_nested(Lexer *lx) {
  if (lx->hide_depth < 0) lx->hide_depth = lx->last.depth_before;
}

static Vec vec_one(void *p) {
  Vec v = {0};
  vec_push(&v, p);
  return v;
}
}

%define api.pure full
%define api.location.type {Loc}
%locations
%define parse.error custom
%define parse.lac full
%param {Lexer *lx}
%expect 0

%initial-action {
  @$.file = lx->src->id;
  @$.line = @$.end_line = 1;
  @$.col = @$.end_col = 1;
}

%union {
  int64_t ival;
  double fval;
  struct { const char *s; size_t n; } str;
  const char *id;
  Node *node;
  Decl *decl;
  TypeExpr *te;
  Param *param;
  NList list;
  Vec vec;
}

%token END 0 "end of file"
%token <id> IDENT "identifier"
%token <ival> INT "integer literal"
%token <fval> FLOAT "float literal"
%token <str> STR "string literal"
%token <ival> DURATION "duration literal"

%token KW_IMPORT "import" KW_TYPE "type" KW_ERROR "error" KW_ACTIVITY "activity"
       KW_BLOCKING "blocking" KW_EXTERN "extern" KW_FN "fn" KW_WORKFLOW "workflow"
       KW_LET "let" KW_VAR "var" KW_IF "if" KW_ELSE "else" KW_WHILE "while"
       KW_FOR "for" KW_IN "in" KW_RETURN "return" KW_BREAK "break"
       KW_CONTINUE "continue" KW_FAIL "fail" KW_TRY "try" KW_CATCH "catch"
       KW_FINALLY "finally" KW_YIELD "yield" KW_ALL "all" KW_SETTLE "settle"
       KW_RACE "race" KW_TIMEOUT "timeout" KW_COMPENSATE "compensate"
       KW_TRUE "true" KW_FALSE "false"

%token PLUS "+" MINUS "-" STAR "*" SLASH "/" PERCENT "%"
       EQ "==" NE "!=" LT "<" LE "<=" GT ">" GE ">="
       ANDAND "&&" OROR "||" BANG "!" ASSIGN "=" ARROW "->"
       DOTDOT ".." DOT "." COMMA "," COLON ":" SEMI ";"
       LPAREN "(" RPAREN ")" LBRACKET "[" RBRACKET "]" LBRACE "{" RBRACE "}"

%left "||"
%left "&&"
%nonassoc "==" "!=" "<" "<=" ">" ">="
%left "+" "-"
%left "*" "/" "%"

%type <decl> decl
%type <te> type opt_ret opt_texpr
%type <vec> params plist fields record_fields types
%type <param> param field
%type <node> block stmt if_stmt catch_clause opt_finally
%type <node> expr unary postfix atom record_lit tunary yield_expr effect effect_common opt_timeout opt_comp opt_mods
%type <id> opt_cname
%type <node> expr_nb unary_nb postfix_nb tunary_nb yield_nb effect_nb opt_timeout_nb opt_comp_nb iter_nb opt_mods_nb
%type <node> branch finit
%type <list> stmts open_stmts exprs finits branches branch_list catches idlist

%%

module
  : items
  ;

items
  : %empty
  | items decl          { if ($2) { *lx->tail = $2; lx->tail = &$2->next; } }
  | items ";"
  ;

decl
  : "import" STR
      { $$ = mk_decl(lx, D_IMPORT, NULL, @2, @$); $$->path = $2.s; $$->path_loc = @2; }
  | "type" IDENT "=" record_fields
      { $$ = mk_decl(lx, D_TYPE, $2, @2, @$); $$->fields = param_array($4); $$->nfields = $4.len; }
  | "error" IDENT
      { $$ = mk_decl(lx, D_ERROR, $2, @2, @$); }
  | "activity" IDENT "(" params ")" opt_ret opt_cname
      { $$ = mk_fn_decl(lx, D_ACTIVITY, $2, @2, $4, $6, loc_span(@1, @6)); $$->c_name = $7; }
  | "blocking" "activity" IDENT "(" params ")" opt_ret opt_cname
      { $$ = mk_fn_decl(lx, D_ACTIVITY, $3, @3, $5, $7, loc_span(@1, @7)); $$->blocking = true; $$->c_name = $8; }
  | "extern" "fn" IDENT "(" params ")" opt_ret opt_cname
      { $$ = mk_fn_decl(lx, D_EXTERN, $3, @3, $5, $7, loc_span(@1, @7)); $$->c_name = $8; }
  | "workflow" IDENT "(" params ")" opt_ret block
      { $$ = mk_fn_decl(lx, D_WORKFLOW, $2, @2, $4, $6, loc_span(@1, @6)); $$->body = $7; }
  | error
      { $$ = NULL; }
  ;

opt_ret
  : %empty              { $$ = NULL; }
  | "->" type           { $$ = $2; }
  ;

/* `as "symbol"`: the C function behind an activity or extern fn, when it is
 * not named like the declaration (a contextual word, like retry) */
opt_cname
  : %empty              { $$ = NULL; }
  | IDENT STR           { $$ = c_name(lx, $1, @1, $2.s, $2.n, @2); }
  ;

params
  : %empty              { $$ = (Vec){0}; }
  | plist
  | plist ","
  ;

plist
  : param               { $$ = (Vec){0}; if ($1) vec_push(&$$, $1); }
  | plist "," param     { $$ = $1; if ($3) vec_push(&$$, $3); }
  | plist error
  ;

param
  : IDENT ":" type      { $$ = mk_param($1, @1, $3); }
  | error               { $$ = NULL; }
  ;

record_fields
  : "{" osemi fields osemi "}"          { $$ = $3; }
  | "{" osemi fields "," osemi "}"      { $$ = $3; }
  ;

fields
  : field                       { $$ = (Vec){0}; if ($1) vec_push(&$$, $1); }
  | fields "," osemi field      { $$ = $1; if ($4) vec_push(&$$, $4); }
  | fields error
  ;

field
  : IDENT ":" type      { $$ = mk_param($1, @1, $3); }
  | error               { $$ = NULL; }
  ;

osemi
  : %empty
  | osemi ";"
  ;

type
  : IDENT               { $$ = te_name($1, @$); }
  | "error"             { $$ = te_name("error", @$); }  /* a caught failure (catch e) */
  | IDENT "[" type "]"
      {
        if (strcmp($1, "list") != 0) {
          diag_error(@1, "unknown generic type '%s'; only 'list[T]' takes a type argument", $1);
          $$ = te_name($1, @$);
        } else {
          $$ = ar_alloc(sizeof(TypeExpr));
          $$->kind = TE_LIST;
          $$->loc = @$;
          $$->elem = $3;
        }
      }
  | "(" ")"                         { $$ = te_name("unit", @$); }
  | "(" type "," types ")"          { Vec v = vec_one($2); for (int i = 0; i < $4.len; i++) vec_push(&v, $4.data[i]); $$ = te_tuple(v, @$); }
  | "(" type "," types "," ")"      { Vec v = vec_one($2); for (int i = 0; i < $4.len; i++) vec_push(&v, $4.data[i]); $$ = te_tuple(v, @$); }
  ;

types
  : type                { $$ = vec_one($1); }
  | types "," type      { $$ = $1; vec_push(&$$, $3); }
  ;

/* ---------------------------------------------------------------- statements */

block
  : "{" stmts "}"
      { $$ = mk(N_BLOCK, @$); $$->body = $2.head; $$->nargs = $2.n; $$ = fin(lx, $$); }
  ;

/* Statements, each ended by ';' except the last. On a syntax error the
 * list accumulated so far stays on the stack ("open_stmts error"): bison
 * never has to pop it, so earlier statements survive. */
stmts
  : open_stmts
  | open_stmts stmt     { $$ = nl_add($1, $2); }
  ;

open_stmts
  : %empty                      { $$ = nl_empty(); }
  | open_stmts ";"
  | open_stmts stmt ";"         { $$ = nl_add($1, $2); }
  | open_stmts error            { $$ = $1; }
  | open_stmts stmt error       { $$ = nl_add($1, $2); }  /* keep it, drop what follows */
  ;

stmt
  : "let" IDENT opt_texpr "=" expr      { $$ = mk_let(lx, false, $2, @2, $3, $5, @$); }
  | "var" IDENT opt_texpr "=" expr      { $$ = mk_let(lx, true, $2, @2, $3, $5, @$); }
  /* a broken initializer keeps the binding, so later uses are not "undeclared" */
  | "let" IDENT opt_texpr "=" error     { $$ = mk_let(lx, false, $2, @2, $3, mk_poison(@5), @$); }
  | "var" IDENT opt_texpr "=" error     { $$ = mk_let(lx, true, $2, @2, $3, mk_poison(@5), @$); }
  | "let" "(" idlist ")" "=" expr
      { $$ = mk_let(lx, false, NULL, @3, NULL, $6, @$); $$->pats = $3.head; $$ = fin(lx, $$); }
  | "let" "(" idlist "," ")" "=" expr
      { $$ = mk_let(lx, false, NULL, @3, NULL, $7, @$); $$->pats = $3.head; $$ = fin(lx, $$); }
  | IDENT "=" expr
      { $$ = mk(N_ASSIGN, @$); $$->lhs = mk_ident($1, @1); $$->rhs = $3; $$ = fin(lx, $$); }
  | if_stmt
  | "while" expr_nb block
      { $$ = mk(N_WHILE, @$); $$->cond = $2; $$->body = $3; $$ = fin(lx, $$); }
  | "for" IDENT "in" iter_nb block
      { $$ = mk(N_FOR, @$); $$->name = $2; $$->name_loc = @2; $$->rhs = $4; $$->body = $5; $$ = fin(lx, $$); }
  | "return"                            { $$ = mk(N_RETURN, @$); }
  | "return" expr                       { $$ = mk_stmt1(lx, N_RETURN, $2, @$); }
  | "break"                             { $$ = mk(N_BREAK, @$); }
  | "continue"                          { $$ = mk(N_CONTINUE, @$); }
  | "fail" expr                         { $$ = mk_stmt1(lx, N_FAIL, $2, @$); }
  | "try" block catches opt_finally
      {
        if (!$3.n && !$4)
          diag_error(@1, "'try' needs at least one 'catch' or a 'finally'");
        $$ = mk(N_TRY, @$); $$->body = $2; $$->args = $3.head; $$->nargs = $3.n; $$->els = $4;
        $$ = fin(lx, $$);
      }
  | block
  | expr                                { $$ = mk_stmt1(lx, N_EXPR_STMT, $1, @$); }
  ;

opt_texpr
  : %empty              { $$ = NULL; }
  | ":" type            { $$ = $2; }
  ;

idlist
  : IDENT               { $$ = nl_one(mk_ident($1, @1)); }
  | idlist "," IDENT    { $$ = nl_add($1, mk_ident($3, @3)); }
  ;

if_stmt
  : "if" expr_nb block                  { $$ = mk_if(lx, $2, $3, NULL, @$); }
  | "if" expr_nb block "else" block     { $$ = mk_if(lx, $2, $3, $5, @$); }
  | "if" expr_nb block "else" if_stmt   { $$ = mk_if(lx, $2, $3, $5, @$); }
  ;

catches
  : %empty                      { $$ = nl_empty(); }
  | catches catch_clause        { $$ = nl_add($1, $2); }
  ;

catch_clause
  : "catch" block                       { $$ = mk_catch(lx, NULL, @1, NULL, @1, $2, @$); }
  | "catch" IDENT block                 { $$ = mk_catch(lx, $2, @2, NULL, @2, $3, @$); }
  | "catch" IDENT IDENT block           { $$ = mk_catch(lx, $2, @2, $3, @3, $4, @$); }
  ;

opt_finally
  : %empty              { $$ = NULL; }
  | "finally" block     { $$ = $2; }
  ;

/* ---------------------------------------------------------------- expressions */

expr
  : expr "||" expr      { $$ = mk_bin(lx, OP_OR, $1, $3, @$); }
  | expr "&&" expr      { $$ = mk_bin(lx, OP_AND, $1, $3, @$); }
  | expr "==" expr      { $$ = mk_bin(lx, OP_EQ, $1, $3, @$); }
  | expr "!=" expr      { $$ = mk_bin(lx, OP_NE, $1, $3, @$); }
  | expr "<" expr       { $$ = mk_bin(lx, OP_LT, $1, $3, @$); }
  | expr "<=" expr      { $$ = mk_bin(lx, OP_LE, $1, $3, @$); }
  | expr ">" expr       { $$ = mk_bin(lx, OP_GT, $1, $3, @$); }
  | expr ">=" expr      { $$ = mk_bin(lx, OP_GE, $1, $3, @$); }
  | expr "+" expr       { $$ = mk_bin(lx, OP_ADD, $1, $3, @$); }
  | expr "-" expr       { $$ = mk_bin(lx, OP_SUB, $1, $3, @$); }
  | expr "*" expr       { $$ = mk_bin(lx, OP_MUL, $1, $3, @$); }
  | expr "/" expr       { $$ = mk_bin(lx, OP_DIV, $1, $3, @$); }
  | expr "%" expr       { $$ = mk_bin(lx, OP_MOD, $1, $3, @$); }
  | unary
  ;

unary
  : "-" unary           { $$ = mk_un(lx, OP_NEG, $2, @$); }
  | "!" unary           { $$ = mk_un(lx, OP_NOT, $2, @$); }
  | yield_expr
  | postfix
  ;

postfix
  : atom
  | record_lit
  | postfix "(" ")"                     { $$ = mk_call(lx, $1, nl_empty(), @$); }
  | postfix "(" exprs ")"               { $$ = mk_call(lx, $1, $3, @$); }
  | postfix "(" exprs "," ")"           { $$ = mk_call(lx, $1, $3, @$); }
  | postfix "(" error { hide_nested(lx); } ")" { $$ = mk_call(lx, $1, nl_empty(), @$); }
  | postfix "." IDENT                   { $$ = mk_field(lx, $1, $3, @3, @$); }
  | postfix "." "error"                 { $$ = mk_field(lx, $1, "error", @3, @$); } /* outcome.error */
  | postfix "." INT                     { $$ = mk_tuple_idx(lx, $1, $3, @$); }
  | postfix "[" expr "]"                { $$ = mk_index(lx, $1, $3, @$); }
  | postfix "[" error { hide_nested(lx); } "]" { $$ = mk_index(lx, $1, mk_poison(@3), @$); }
  ;

/* Primaries other than record literals (shared by both chains). */
atom
  : INT                 { $$ = mk(N_INT, @$); $$->ival = $1; }
  | FLOAT               { $$ = mk(N_FLOAT, @$); $$->fval = $1; }
  | STR                 { $$ = mk(N_STR, @$); $$->sval = $1.s; $$->slen = $1.n; }
  | DURATION            { $$ = mk(N_DURATION, @$); $$->ival = $1; }
  | "true"              { $$ = mk(N_BOOL, @$); $$->ival = 1; }
  | "false"             { $$ = mk(N_BOOL, @$); $$->ival = 0; }
  | IDENT               { $$ = mk_ident($1, @$); }
  | "(" expr ")"        { $$ = $2; }
  | "(" expr "," exprs ")"              { $$ = mk_tuple(lx, $2, $4, @$); }
  | "(" expr "," exprs "," ")"          { $$ = mk_tuple(lx, $2, $4, @$); }
  | "(" error { hide_nested(lx); } ")"  { $$ = mk_poison(@$); }
  | "[" "]"                             { $$ = mk_list(lx, N_LIST, nl_empty(), @$); }
  | "[" exprs "]"                       { $$ = mk_list(lx, N_LIST, $2, @$); }
  | "[" exprs "," "]"                   { $$ = mk_list(lx, N_LIST, $2, @$); }
  | "[" error { hide_nested(lx); } "]"  { $$ = mk_poison(@$); }
  ;

record_lit
  : IDENT "{" osemi "}"                 { $$ = mk_record(lx, $1, @1, nl_empty(), @$); }
  | IDENT "{" osemi finits osemi "}"    { $$ = mk_record(lx, $1, @1, $4, @$); }
  | IDENT "{" osemi finits "," osemi "}" { $$ = mk_record(lx, $1, @1, $4, @$); }
  ;

finits
  : finit                       { $$ = nl_one($1); }
  | finits "," osemi finit      { $$ = nl_add($1, $4); }
  | finits error
  ;

finit
  : IDENT ":" expr
      { $$ = mk(N_FIELD_INIT, @$); $$->name = $1; $$->name_loc = @1; $$->lhs = $3; $$ = fin(lx, $$); }
  | error               { $$ = NULL; }
  ;

exprs
  : expr                { $$ = nl_one($1); }
  | exprs "," expr      { $$ = nl_add($1, $3); }
  ;

yield_expr
  : "yield" effect opt_timeout opt_mods opt_comp { $$ = mk_yield(lx, $2, $3, $4, $5, @$); }
  ;

effect
  : postfix
  | effect_common
  ;

effect_common
  : "all" branch_list                   { $$ = mk_list(lx, N_ALL, $2, @$); }
  | "all" "settle" branch_list          { $$ = mk_list(lx, N_ALL, $3, @$); $$->ival = 1; }
  | "all" "for" IDENT "in" iter_nb block { $$ = mk_all_for(lx, $3, @3, $5, $6, @$); }
  | "race" branch_list                  { $$ = mk_list(lx, N_RACE, $2, @$); }
  ;

opt_timeout
  : %empty              { $$ = NULL; }
  | "timeout" tunary    { $$ = $2; }
  ;

opt_mods
  : %empty              { $$ = NULL; }
  | opt_mods IDENT tunary { $$ = add_mod(lx, $1, $2, @2, $3); }
  ;

tunary
  : "-" tunary          { $$ = mk_un(lx, OP_NEG, $2, @$); }
  | "!" tunary          { $$ = mk_un(lx, OP_NOT, $2, @$); }
  | postfix
  ;

opt_comp
  : %empty              { $$ = NULL; }
  | "compensate" postfix { $$ = $2; }
  | "compensate" block  { $$ = $2; }
  ;

branch_list
  : "{" osemi branches osemi "}"        { $$ = $3; }
  | "{" osemi branches "," osemi "}"    { $$ = $3; }
  ;

branches
  : branch                      { $$ = nl_one($1); }
  | branches "," osemi branch   { $$ = nl_add($1, $4); }
  | branches error
  ;

branch
  : expr
  | block               { $$ = mk_block_expr(lx, $1); }
  | error               { $$ = NULL; }
  ;

/* ---- the same without bare record literals (conditions, iterables) */

iter_nb
  : expr_nb
  | expr_nb ".." expr_nb        { $$ = mk_range(lx, $1, $3, @$); }
  ;

expr_nb
  : expr_nb "||" expr_nb        { $$ = mk_bin(lx, OP_OR, $1, $3, @$); }
  | expr_nb "&&" expr_nb        { $$ = mk_bin(lx, OP_AND, $1, $3, @$); }
  | expr_nb "==" expr_nb        { $$ = mk_bin(lx, OP_EQ, $1, $3, @$); }
  | expr_nb "!=" expr_nb        { $$ = mk_bin(lx, OP_NE, $1, $3, @$); }
  | expr_nb "<" expr_nb         { $$ = mk_bin(lx, OP_LT, $1, $3, @$); }
  | expr_nb "<=" expr_nb        { $$ = mk_bin(lx, OP_LE, $1, $3, @$); }
  | expr_nb ">" expr_nb         { $$ = mk_bin(lx, OP_GT, $1, $3, @$); }
  | expr_nb ">=" expr_nb        { $$ = mk_bin(lx, OP_GE, $1, $3, @$); }
  | expr_nb "+" expr_nb         { $$ = mk_bin(lx, OP_ADD, $1, $3, @$); }
  | expr_nb "-" expr_nb         { $$ = mk_bin(lx, OP_SUB, $1, $3, @$); }
  | expr_nb "*" expr_nb         { $$ = mk_bin(lx, OP_MUL, $1, $3, @$); }
  | expr_nb "/" expr_nb         { $$ = mk_bin(lx, OP_DIV, $1, $3, @$); }
  | expr_nb "%" expr_nb         { $$ = mk_bin(lx, OP_MOD, $1, $3, @$); }
  | unary_nb
  ;

unary_nb
  : "-" unary_nb        { $$ = mk_un(lx, OP_NEG, $2, @$); }
  | "!" unary_nb        { $$ = mk_un(lx, OP_NOT, $2, @$); }
  | yield_nb
  | postfix_nb
  ;

postfix_nb
  : atom
  | postfix_nb "(" ")"                  { $$ = mk_call(lx, $1, nl_empty(), @$); }
  | postfix_nb "(" exprs ")"            { $$ = mk_call(lx, $1, $3, @$); }
  | postfix_nb "(" exprs "," ")"        { $$ = mk_call(lx, $1, $3, @$); }
  | postfix_nb "(" error { hide_nested(lx); } ")" { $$ = mk_call(lx, $1, nl_empty(), @$); }
  | postfix_nb "." IDENT                { $$ = mk_field(lx, $1, $3, @3, @$); }
  | postfix_nb "." "error"              { $$ = mk_field(lx, $1, "error", @3, @$); }
  | postfix_nb "." INT                  { $$ = mk_tuple_idx(lx, $1, $3, @$); }
  | postfix_nb "[" expr "]"             { $$ = mk_index(lx, $1, $3, @$); }
  | postfix_nb "[" error { hide_nested(lx); } "]" { $$ = mk_index(lx, $1, mk_poison(@3), @$); }
  ;

yield_nb
  : "yield" effect_nb opt_timeout_nb opt_mods_nb opt_comp_nb { $$ = mk_yield(lx, $2, $3, $4, $5, @$); }
  ;

effect_nb
  : postfix_nb
  | effect_common
  ;

opt_timeout_nb
  : %empty              { $$ = NULL; }
  | "timeout" tunary_nb { $$ = $2; }
  ;

opt_mods_nb
  : %empty              { $$ = NULL; }
  | opt_mods_nb IDENT tunary_nb { $$ = add_mod(lx, $1, $2, @2, $3); }
  ;

tunary_nb
  : "-" tunary_nb       { $$ = mk_un(lx, OP_NEG, $2, @$); }
  | "!" tunary_nb       { $$ = mk_un(lx, OP_NOT, $2, @$); }
  | postfix_nb
  ;

opt_comp_nb
  : %empty                      { $$ = NULL; }
  | "compensate" postfix_nb     { $$ = $2; }
  | "compensate" block          { $$ = $2; }
  ;

%%

/* ---------------------------------------------------------------- errors */

/* How a token kind is named in "expected ..." lists. */
static const char *sym_desc(yysymbol_kind_t k) {
  switch (k) {
  case YYSYMBOL_YYEOF: return "end of file";
  case YYSYMBOL_IDENT: return "identifier";
  case YYSYMBOL_INT: return "integer literal";
  case YYSYMBOL_FLOAT: return "float literal";
  case YYSYMBOL_STR: return "string literal";
  case YYSYMBOL_DURATION: return "duration literal";
  default: break;
  }
  static char buf[64];
  const char *n = yysymbol_name(k);
  size_t len = strlen(n);
  if (len >= 2 && n[0] == '"' && n[len - 1] == '"') {
    n++;
    len -= 2;
  }
  if (len > 40) len = 40;
  snprintf(buf, sizeof buf, "'%.*s'", (int)len, n);
  return buf;
}

/* The lookahead as found in the source: "'}'", "newline", "identifier 'x'". */
static void found_desc(Lexer *lx, yysymbol_kind_t k, char *out, size_t cap) {
  Token *t = &lx->last;
  if (k == YYSYMBOL_SEMI && t->is_auto) {
    snprintf(out, cap, "%s", t->len == 0 && t->off >= lx->src->len ? "end of file" : "newline");
    return;
  }
  const char *lex = lx->src->text + t->off;
  size_t len = t->len;
  bool more = false;
  if (len > 32) {
    len = 32;
    more = true;
  }
  switch (k) {
  case YYSYMBOL_IDENT:
  case YYSYMBOL_INT:
  case YYSYMBOL_FLOAT:
  case YYSYMBOL_DURATION:
    snprintf(out, cap, "%s '%.*s%s'", sym_desc(k), (int)len, lex, more ? "..." : "");
    return;
  default:
    snprintf(out, cap, "%s", sym_desc(k));
    return;
  }
}

static bool has_sym(const yysymbol_kind_t *v, int n, yysymbol_kind_t k) {
  for (int i = 0; i < n; i++)
    if (v[i] == k) return true;
  return false;
}

static bool is_operator_sym(yysymbol_kind_t k) {
  switch (k) {
  case YYSYMBOL_PLUS: case YYSYMBOL_MINUS: case YYSYMBOL_STAR: case YYSYMBOL_SLASH:
  case YYSYMBOL_PERCENT: case YYSYMBOL_EQ: case YYSYMBOL_NE: case YYSYMBOL_LT:
  case YYSYMBOL_LE: case YYSYMBOL_GT: case YYSYMBOL_GE: case YYSYMBOL_ANDAND:
  case YYSYMBOL_OROR: case YYSYMBOL_LPAREN: case YYSYMBOL_DOT: case YYSYMBOL_LBRACKET:
  case YYSYMBOL_KW_TIMEOUT: case YYSYMBOL_KW_COMPENSATE: case YYSYMBOL_DOTDOT:
    return true;
  default:
    return false;
  }
}

/* "if" / "while" / "for" when the parser stands right after a condition or
 * iterable (only expression pieces above that keyword on the stack). */
static bool expr_piece(yysymbol_kind_t s) {
  switch (s) {
  case YYSYMBOL_IDENT: case YYSYMBOL_INT: case YYSYMBOL_FLOAT: case YYSYMBOL_STR:
  case YYSYMBOL_DURATION: case YYSYMBOL_KW_TRUE: case YYSYMBOL_KW_FALSE:
  case YYSYMBOL_PLUS: case YYSYMBOL_MINUS: case YYSYMBOL_STAR: case YYSYMBOL_SLASH:
  case YYSYMBOL_PERCENT: case YYSYMBOL_EQ: case YYSYMBOL_NE: case YYSYMBOL_LT:
  case YYSYMBOL_LE: case YYSYMBOL_GT: case YYSYMBOL_GE: case YYSYMBOL_ANDAND:
  case YYSYMBOL_OROR: case YYSYMBOL_BANG: case YYSYMBOL_DOT: case YYSYMBOL_DOTDOT:
  case YYSYMBOL_KW_YIELD: case YYSYMBOL_KW_TIMEOUT: case YYSYMBOL_KW_COMPENSATE:
  case YYSYMBOL_expr_nb: case YYSYMBOL_unary_nb: case YYSYMBOL_postfix_nb: case YYSYMBOL_atom:
  case YYSYMBOL_yield_nb: case YYSYMBOL_effect_nb: case YYSYMBOL_effect_common:
  case YYSYMBOL_opt_timeout_nb: case YYSYMBOL_tunary_nb: case YYSYMBOL_opt_comp_nb:
  case YYSYMBOL_iter_nb:
    return true;
  default:
    return false;
  }
}

static const char *cond_context(const yypcontext_t *ctx) {
  const yy_state_t *p = ctx->yyssp;
  for (int i = 0; i < 512 && *p != 0; i++, p--) {
    yysymbol_kind_t s = (yysymbol_kind_t)yystos[*p];
    if (expr_piece(s)) continue;
    if (i == 0) return NULL; /* nothing of a condition yet */
    switch (s) {
    case YYSYMBOL_KW_IF: return "if condition";
    case YYSYMBOL_KW_WHILE: return "while condition";
    case YYSYMBOL_KW_IN: return "for loop iterable";
    default: return NULL;
    }
  }
  return NULL;
}

/* `if x == Name { field: ...` : the '{' began the if's block. */
static bool bare_record_in_cond(const yypcontext_t *ctx, yysymbol_kind_t la) {
  if (la != YYSYMBOL_COLON) return false;
  const yy_state_t *p = ctx->yyssp;
  if (*p == 0 || (yysymbol_kind_t)yystos[*p] != YYSYMBOL_IDENT) return false;
  p--;
  if (*p != 0 && (yysymbol_kind_t)yystos[*p] == YYSYMBOL_open_stmts) p--;
  if (*p == 0 || (yysymbol_kind_t)yystos[*p] != YYSYMBOL_LBRACE) return false;
  p--;
  if (*p == 0) return false;
  yysymbol_kind_t s = (yysymbol_kind_t)yystos[*p];
  if (s != YYSYMBOL_expr_nb && s != YYSYMBOL_iter_nb) return false;
  p--;
  if (*p == 0) return false;
  s = (yysymbol_kind_t)yystos[*p];
  return s == YYSYMBOL_KW_IF || s == YYSYMBOL_KW_WHILE || s == YYSYMBOL_KW_IN;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, Lexer *lx) {
  if (lx->fatal) return 0;
  yysymbol_kind_t la = yypcontext_token(ctx);
  Loc loc = *yypcontext_location(ctx);
  char found[128];
  found_desc(lx, la, found, sizeof found);
  yysymbol_kind_t exp[YYNTOKENS];
  int ne = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
  if (ne < 0) ne = 0;

  bool at_eof = la == YYSYMBOL_YYEOF || (la == YYSYMBOL_SEMI && lx->last.is_auto && lx->last.off >= lx->src->len);
  if (at_eof && lx->depth > 0) {
    diag_error(loc, "unexpected end of file");
    diag_note(lx->bracket_locs[lx->depth - 1], "unclosed '%c' opened here", lx->brackets[lx->depth - 1]);
    return 0;
  }

  bool cmp = la == YYSYMBOL_EQ || la == YYSYMBOL_NE || la == YYSYMBOL_LT || la == YYSYMBOL_LE ||
             la == YYSYMBOL_GT || la == YYSYMBOL_GE;
  if (cmp && !has_sym(exp, ne, la)) {
    diag_error(loc, "comparison operators cannot be chained, found %s", found);
    diag_note_plain("combine the comparisons with '&&', as in 'a < b && b < c'");
    return 0;
  }
  if (bare_record_in_cond(ctx, la)) {
    diag_error(loc, "expected newline or ';', found %s", found);
    diag_note_plain("a record literal is not allowed directly in a condition or loop iterable; "
                    "put it in parentheses: (Name { ... })");
    return 0;
  }

  const char *cc;
  if (has_sym(exp, ne, YYSYMBOL_LBRACE) && la != YYSYMBOL_LBRACE && (cc = cond_context(ctx))) {
    diag_error(loc, "expected '{' after %s, found %s", cc, found);
    if (la == YYSYMBOL_SEMI && lx->last.is_auto)
      diag_note_plain("the '{' must be on the same line as the %s", cc);
    return 0;
  }
  if (has_sym(exp, ne, YYSYMBOL_KW_WORKFLOW)) {
    if (has_sym(exp, ne, YYSYMBOL_ARROW))
      diag_error(loc, "expected '->' or newline, found %s", found);
    else
      diag_error(loc, "expected declaration, found %s", found);
    if (la == YYSYMBOL_KW_LET || la == YYSYMBOL_KW_VAR || la == YYSYMBOL_KW_IF || la == YYSYMBOL_KW_WHILE ||
        la == YYSYMBOL_KW_FOR || la == YYSYMBOL_KW_RETURN || la == YYSYMBOL_KW_YIELD || la == YYSYMBOL_KW_TRY ||
        la == YYSYMBOL_KW_FAIL)
      diag_note_plain("statements belong inside a workflow body");
    return 0;
  }
  if (has_sym(exp, ne, YYSYMBOL_KW_LET)) {
    diag_error(loc, "expected statement, found %s", found);
    return 0;
  }
  if (has_sym(exp, ne, YYSYMBOL_KW_RACE)) {
    diag_error(loc, "expected effect after 'yield', found %s", found);
    return 0;
  }
  if (has_sym(exp, ne, YYSYMBOL_INT)) {
    diag_error(loc, "expected expression, found %s", found);
    return 0;
  }

  /* a short list of punctuation, without the operators that could continue an expression */
  yysymbol_kind_t keep[YYNTOKENS];
  int nk = 0;
  /* after an identifier ending an expression, '{' would only continue it as
   * a record literal: not worth suggesting */
  bool after_ident = *ctx->yyssp != 0 && (yysymbol_kind_t)yystos[*ctx->yyssp] == YYSYMBOL_IDENT &&
                     (has_sym(exp, ne, YYSYMBOL_COMMA) || has_sym(exp, ne, YYSYMBOL_SEMI) ||
                      has_sym(exp, ne, YYSYMBOL_RPAREN) || has_sym(exp, ne, YYSYMBOL_RBRACKET));
  for (int i = 0; i < ne; i++)
    if (!is_operator_sym(exp[i]) && !(after_ident && exp[i] == YYSYMBOL_LBRACE)) keep[nk++] = exp[i];
  if (nk == 0) {
    for (int i = 0; i < ne; i++) keep[i] = exp[i];
    nk = ne;
  }
  bool comma = has_sym(keep, nk, YYSYMBOL_COMMA);
  if (!comma && has_sym(keep, nk, YYSYMBOL_SEMI)) {
    diag_error(loc, "expected newline or ';', found %s", found);
    return 0;
  }
  if (comma) { /* in a list: ';' (a newline) is only tolerated */
    int j = 0;
    for (int i = 0; i < nk; i++)
      if (keep[i] != YYSYMBOL_SEMI) keep[j++] = keep[i];
    nk = j;
  }
  if (nk == 0 || nk > 4) {
    diag_error(loc, "unexpected %s", found);
    return 0;
  }
  char list[256] = "";
  size_t used = 0;
  for (int i = 0; i < nk; i++) {
    const char *sep = i == 0 ? "" : i == nk - 1 ? " or " : ", ";
    int w = snprintf(list + used, sizeof list - used, "%s%s", sep, sym_desc(keep[i]));
    if (w < 0 || (size_t)w >= sizeof list - used) break;
    used += (size_t)w;
  }
  diag_error(loc, "expected %s, found %s", list, found);
  return 0;
}

static void yyerror(Loc *loc, Lexer *lx, const char *msg) {
  if (lx->fatal) return;
  lx->fatal = true;
  if (strstr(msg, "exhausted"))
    diag_error(*loc, "program is nested too deeply (the parser stack is exhausted)");
  else
    diag_error(*loc, "%s", msg);
}

Module *parse_file(SrcFile *f) {
  Module *m = ar_alloc(sizeof *m);
  m->file = f->id;
  Lexer lx;
  memset(&lx, 0, sizeof lx);
  lx.mod = m;
  lx.tail = &m->decls;
  lex_init(&lx, f);
  yyparse(&lx);
  lex_destroy(&lx);
  return m;
}
