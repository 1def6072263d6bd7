/* weftc.h -- the compiler's one internal header (chibicc style).
 *
 * Pipeline, one .c per phase:
 *   source.c   source files, arena, diagnostics rendering
 *   grammar/lexer.l, grammar/parser.y   tokens -> AST (module prefixes lex_, parse_)
 *   resolve.c  imports, top-level symbol tables, local scopes      (res_)
 *   types.c    static type checking, records, tuples, lists        (ty_)
 *   lower.c    typed AST -> IR: ANF, CFG with suspension terminators (low_)
 *   frame.c    liveness across suspensions, frame slot layout      (frm_)
 *   codegen.c  IR -> LLVM IR via LLVM-C, object emission          (cg_)
 *   driver.c   command line, linking with cc                        (drv_)
 *
 * Memory: every AST node, type, IR object and string made by the compiler
 * lives in one arena (ar_*) freed once at exit. Nothing is freed piecemeal.
 */
#ifndef WEFTC_H
#define WEFTC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses of weftc. */
#define WEFTC_EXIT_OK 0
#define WEFTC_EXIT_USER 1   /* errors in the user's program or command line */
#define WEFTC_EXIT_ICE 101  /* internal compiler error (like rustc) */

/* ---------------------------------------------------------------- arena */

void *ar_alloc(size_t size);            /* zero-filled, 16-aligned, never NULL */
char *ar_strndup(const char *s, size_t n);
char *ar_strdup(const char *s);
char *ar_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ar_free_all(void);

/* Growable array of pointers, arena-backed. */
typedef struct Vec {
  void **data;
  int len, cap;
} Vec;
void vec_push(Vec *v, void *p);

/* ---------------------------------------------------------------- sources */

typedef struct SrcFile {
  int id;               /* index in the source table */
  const char *path;     /* as given / as resolved (what diagnostics print) */
  const char *text;     /* NUL-terminated copy of the file */
  size_t len;
} SrcFile;

/* A span in a source file. Lines and columns are 1-based; columns count
 * bytes. end_col is exclusive; a zero-width span has end == start. */
typedef struct Loc {
  int file;
  int line, col;
  int end_line, end_col;
} Loc;

SrcFile *src_load(const char *path, const char *display_path); /* NULL on I/O error (errno set) */
SrcFile *src_from_string(const char *display_path, const char *text, size_t len);
SrcFile *src_get(int id);
int src_count(void);
Loc loc_span(Loc a, Loc b); /* from the start of a to the end of b */
/* The span of the identifier `word` written at or after `from` on the same
 * line (e.g. the kind in `catch Timeout e`, whose node only has its whole
 * location); `from` when it is not there. Scans the source: for diagnostics. */
Loc loc_word_after(Loc from, const char *word);

/* ---------------------------------------------------------------- diagnostics */

typedef enum { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE } DiagLevel;

/* Printed at once as
 *   file:line:col: error: message
 *      12 |     yield charge(card)
 *         |           ^~~~~~
 * A note attaches to the diagnostic before it. Color only when stderr is a
 * tty and NO_COLOR is unset (diag_set_color overrides). With
 * diag_set_json(true), one JSON object per diagnostic per line instead. */
void diag_error(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_warning(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_note(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A note without a source location ("note: ..."), attached to the previous diagnostic. */
void diag_note_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Errors that have no place in a file (bad command line, unreadable file). */
void diag_error_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void diag_vreport(DiagLevel lvl, const Loc *loc, const char *fmt, va_list ap);
int diag_error_count(void);
int diag_warning_count(void);
void diag_set_color(int mode);   /* -1 auto, 0 never, 1 always */
void diag_set_json(bool on);
void diag_set_werror(bool on);
/* At most n errors are printed (default 100; 0 = no limit); the rest are only counted. */
void diag_set_error_limit(int n);
/* Internal compiler error: prints "weftc: internal compiler error: ..." and exits WEFTC_EXIT_ICE. */
_Noreturn void diag_ice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "did you mean" helper: the candidate closest to name (edit distance <= max(1, len/3)), or NULL. */
const char *diag_closest(const char *name, const char **cands, int n);

/* ---------------------------------------------------------------- types */

typedef enum {
  TY_INVALID,   /* poison after an error: compatible with everything, never reported again */
  TY_UNIT,
  TY_INT,
  TY_FLOAT,
  TY_BOOL,
  TY_STR,
  TY_DURATION,
  TY_LIST,      /* elem */
  TY_TUPLE,     /* elems[nelems] */
  TY_RECORD,    /* decl (D_TYPE) */
  TY_ERROR,     /* a caught failure: fields kind: str, message: str */
  TY_NEVER,     /* type of a block ending in fail/return; compatible with any type */
  TY_OUTCOME,   /* one branch of `all settle`: fields ok: bool, value: elem, error: error */
} TypeKind;

typedef struct Decl Decl;

typedef struct Type {
  TypeKind kind;
  struct Type *elem;     /* TY_LIST */
  struct Type **elems;   /* TY_TUPLE */
  int nelems;
  Decl *rec;             /* TY_RECORD */
} Type;

extern Type *ty_invalid, *ty_unit, *ty_int, *ty_float, *ty_bool, *ty_str,
    *ty_duration, *ty_never, *ty_error;
Type *ty_list(Type *elem);
Type *ty_tuple(Type **elems, int n);
Type *ty_record(Decl *rec);
Type *ty_outcome(Type *value);
bool ty_equal(Type *a, Type *b);
bool ty_is_ref(Type *t);        /* held by pointer and refcounted: str, list, tuple, record, error */
const char *ty_name(Type *t);   /* "list[(int, str)]" -- for diagnostics */

/* A type as written in the source. */
typedef enum { TE_NAME, TE_LIST, TE_TUPLE } TypeExprKind;
typedef struct TypeExpr {
  TypeExprKind kind;
  Loc loc;
  const char *name;            /* TE_NAME: int, float, bool, str, duration, unit, or a record name */
  struct TypeExpr *elem;       /* TE_LIST */
  struct TypeExpr **elems;     /* TE_TUPLE */
  int nelems;
} TypeExpr;

/* ---------------------------------------------------------------- AST */

typedef enum {
  /* expressions */
  N_INT,        /* ival */
  N_FLOAT,      /* fval */
  N_STR,        /* sval, slen (escapes already decoded) */
  N_BOOL,       /* ival 0/1 */
  N_DURATION,   /* ival in microseconds */
  N_IDENT,      /* name; sema sets sym (local) or decl (top level) */
  N_BINARY,     /* op, lhs, rhs */
  N_UNARY,      /* op ('-' or '!'), lhs */
  N_CALL,       /* lhs = callee (N_IDENT), args (list), nargs */
  N_FIELD,      /* lhs.name  (record field, error field)   -- sema sets ival = field index */
  N_TUPLE_IDX,  /* lhs.ival  (t.0) */
  N_INDEX,      /* lhs[rhs] */
  N_LIST,       /* [args...] */
  N_TUPLE,      /* (args...), nargs >= 2 */
  N_RECORD,     /* name { fields: args = N_FIELD_INIT list } */
  N_FIELD_INIT, /* name: lhs */
  N_RANGE,      /* lhs..rhs (only as the iterable of for / all for) */
  N_YIELD,      /* yield lhs [timeout rhs] [compensate comp]; lhs is the effect */
  N_ALL,        /* all { branches }: args = branch list (each an expression or N_BLOCK); ival = 1 for `all settle` */
  N_ALL_FOR,    /* all for name in rhs { body } ; sym = loop variable */
  N_RACE,       /* race { branches }: args */
  N_BLOCK_EXPR, /* a block used as a value (a branch): body = N_BLOCK */
  /* statements */
  N_BLOCK,      /* { stmts }: body = first statement (linked by next) */
  N_LET,        /* let name [: texpr] = rhs; or let (pats) = rhs;  ival = 1 for var */
  N_ASSIGN,     /* lhs = rhs (lhs is N_IDENT) */
  N_EXPR_STMT,  /* lhs */
  N_IF,         /* if cond then [else els]  (els is N_BLOCK or N_IF) */
  N_WHILE,      /* while cond body */
  N_FOR,        /* for name in rhs body ; sym = loop variable */
  N_RETURN,     /* return [lhs] */
  N_BREAK,
  N_CONTINUE,
  N_FAIL,       /* fail lhs : lhs is N_CALL Kind("msg") / N_IDENT Kind / N_IDENT e (re-raise) */
  N_TRY,        /* try body [catches] [finally els] : args = N_CATCH list */
  N_CATCH,      /* catch [Kind] [name] body : sval = kind name or NULL; name = bound variable or NULL */
} NodeKind;

typedef struct Sym Sym;

typedef struct Node {
  NodeKind kind;
  Loc loc;
  Type *type;             /* set by types.c for expressions */
  struct Node *next;      /* sibling in a statement list / argument list */

  int op;                 /* operator: a token value from the parser (see OP_* below) */
  struct Node *lhs, *rhs;
  struct Node *cond, *then, *els;
  struct Node *body;
  struct Node *args;      /* linked by next */
  int nargs;
  struct Node *comp;      /* N_YIELD: compensation (N_CALL or N_BLOCK) or NULL */
  struct Node *pats;      /* N_LET tuple pattern: list of N_IDENT, linked by next */

  const char *name;       /* identifier / field / record type / bound name */
  Loc name_loc;           /* where name is written (N_LET, N_FOR, N_CATCH, N_FIELD) */
  int64_t ival;
  double fval;
  const char *sval;
  size_t slen;
  TypeExpr *texpr;        /* N_LET annotation */

  Sym *sym;               /* resolve.c: N_IDENT (local), N_LET, N_FOR, N_ALL_FOR, N_CATCH */
  Decl *decl;             /* resolve.c: N_IDENT / N_CALL callee naming a top-level decl, N_RECORD type, error kind */
  int builtin;            /* resolve.c: N_CALL of a built-in function: BI_* */
} Node;

/* Operators (Node.op). */
enum {
  OP_ADD = 1, OP_SUB, OP_MUL, OP_DIV, OP_MOD,
  OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
  OP_AND, OP_OR, OP_NOT, OP_NEG,
};

/* Built-in synchronous functions (Node.builtin). `sleep` is an effect. */
/* int(float) truncates toward zero; float(int) converts: extensions of the core. */
enum { BI_NONE, BI_PRINT, BI_LOG, BI_STR, BI_LEN, BI_NOW, BI_SLEEP, BI_INT, BI_FLOAT };

/* A local variable or parameter. */
struct Sym {
  const char *name;
  Loc loc;                /* declaration */
  Type *type;
  bool mutable_;          /* var */
  bool is_param;
  int index;              /* number within its workflow (resolve.c), for lowering */
  Decl *owner;            /* workflow it belongs to */
  int depth;              /* branch nesting depth (all/race blocks), for the "assign from a branch" check */
};

typedef enum { D_IMPORT, D_TYPE, D_ERROR, D_ACTIVITY, D_EXTERN, D_WORKFLOW } DeclKind;

typedef struct Param {
  const char *name;
  Loc loc;
  TypeExpr *texpr;
  Type *type;             /* types.c */
  Sym *sym;               /* resolve.c (workflows) */
} Param;

struct Decl {
  DeclKind kind;
  Loc loc;                /* the whole declaration head */
  const char *name;       /* NULL for D_IMPORT */
  Loc name_loc;
  struct Decl *next;      /* in its module */
  int module;             /* SrcFile id of the module that declares it */

  const char *path;       /* D_IMPORT: as written */
  Loc path_loc;

  Param *fields;          /* D_TYPE: record fields */
  int nfields;

  Param *params;          /* D_ACTIVITY, D_EXTERN, D_WORKFLOW */
  int nparams;
  TypeExpr *ret_texpr;    /* NULL: unit */
  Type *ret;              /* types.c */
  bool blocking;          /* blocking activity */
  const char *c_name;     /* D_ACTIVITY, D_EXTERN: `as "symbol"`, the C function's name; NULL = name */
  Node *body;             /* D_WORKFLOW: N_BLOCK */

  Vec locals;             /* resolve.c: every Sym of a workflow, Sym.index = position */
  bool used;              /* for warnings */
  bool block_value;       /* lower.c: synthetic workflow of an all/race branch block, whose
                             value is its last expression statement */
};

/* A parsed module: one .weft file. */
typedef struct Module {
  int file;               /* SrcFile id */
  Decl *decls;            /* in source order, linked by next */
  struct Module *next;
} Module;

/* The whole program: the root module and everything it imports. */
typedef struct Program {
  Module *modules;        /* root first */
  Vec decls;              /* every non-import top-level declaration, all modules */
  Decl *main;             /* the root module's `workflow main`, or NULL */
} Program;

/* ---------------------------------------------------------------- phases */

/* parser.y: parses one file. Syntax errors are reported (with recovery, several
 * per run) and the returned module holds whatever parsed. Never NULL. */
Module *parse_file(SrcFile *f);

/* resolve.c: loads imports (relative to the importing file, `std/...` from
 * the stdlib directory), builds symbol tables, binds every identifier.
 * Returns false when errors were reported. */
void res_set_stdlib_dir(const char *dir);
Program *res_program(SrcFile *root);
/* Every file the program read (for -MD depfiles). */
int res_file_count(void);
/* A top-level declaration by name after res_program (NULL if none). */
Decl *res_global(const char *name);

/* types.c: checks every declaration and sets Node.type / Param.type / Decl.ret. */
bool ty_check(Program *p);

/* After types: reports constructs whose code generation is not there yet. */
bool low_check_supported(Program *p);

/* codegen.c */
typedef enum { EMIT_EXE, EMIT_OBJ, EMIT_ASM, EMIT_LLVM_IR, EMIT_FRAMES, EMIT_HEADER } EmitKind;
typedef struct CgOptions {
  int opt_level;          /* 0..3 */
  bool debug_info;        /* -g */
  bool verify;            /* run the LLVM verifier (debug builds / --verify) */
  bool emit_main;         /* emit a C `main` calling the root workflow */
  const char *embed_prefix; /* define <prefix>_<wf>_start/_result for the header (header.c); NULL: none */
  const char *target_triple; /* NULL: host */
} CgOptions;
/* Lowers and compiles the whole program into one LLVM module and writes it
 * to out_path as kind (EMIT_OBJ, EMIT_ASM, EMIT_LLVM_IR, EMIT_FRAMES).
 * Returns false (with a diagnostic) on failure. */
bool cg_program(Program *p, const CgOptions *opt, EmitKind kind, const char *out_path);

/* header.c: the C header for embedding (--emit=header, -H). */
bool hdr_exported(Program *p, Decl *d);           /* a workflow of the root file the header declares */
const char *hdr_default_prefix(const char *root_path); /* "dir/my-app.weft" -> "my_app" */
bool hdr_is_ident(const char *s);                 /* a C identifier */
bool hdr_reserved(const char *prefix);            /* weft, weft_*, WEFT*: the runtime's names */
const char *hdr_param_name(const char *name);     /* C name of a parameter (keywords, `rt`) */
bool hdr_write(Program *p, const char *prefix, const char *out_path); /* "-"/NULL: stdout */

/* Where a node's name is written: Node.name_loc, else found in the source. */
static inline Loc loc_of_name(Node *n) {
  return n->name_loc.line > 0 ? n->name_loc : loc_word_after(n->loc, n->name);
}

#endif
