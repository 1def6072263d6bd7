/* ir.h -- the state-machine IR between lowering and codegen.
 *
 * One IrFunc per workflow. Code is a CFG of IrBlocks over IrVars (mutable
 * locations, not SSA). Expressions are in A-normal form: every operand is a
 * var, and a `yield` is a block *terminator* (T_CALL, T_SLEEP) whose
 * continuation is a fresh block, so evaluation order across a suspension is
 * explicit and the temporaries computed before it are ordinary vars that
 * liveness (frame.c) moves into the frame.
 *
 * Ownership (see codegen.c): a var of a reference type (ty_is_ref) owns one
 * reference or is null. An instruction reads its operands borrowed and
 * releases the old value of its destination after computing the new one.
 *
 * Failures: an instruction or terminator that can fail has a `handler`:
 * the block that runs when it does (with the failure stored in the frame
 * header), or IR_UNWIND for "leave the workflow failed". Handlers are
 * static: every place a failure can appear -- a runtime check, a child's
 * failure seen at the resume point -- knows its innermost handler at
 * compile time.
 */
#ifndef WEFT_IR_H
#define WEFT_IR_H

#include "weftc.h"

#define IR_UNWIND (-1)

typedef struct IrVar {
  int id;
  Type *type;             /* never unit */
  const char *name;       /* source name, or NULL for a temporary */
  Loc loc;
  bool is_param;
  int param_index;
  /* frame.c */
  bool in_frame;          /* live across some suspension (or a parameter) */
  int field;              /* index in the LLVM frame struct when in_frame */
} IrVar;

typedef enum {
  I_CONST,     /* dst = literal (type, ival / fval / sval,slen) */
  I_COPY,      /* dst = a */
  I_BIN,       /* dst = a <sub> b ; type = operand type */
  I_UN,        /* dst = <sub> a   ; type = operand type */
  I_BUILTIN,   /* [dst =] builtin sub (args) ; type = argument type for str/len/int/float */
  I_EXTERN,    /* [dst =] extern fn decl (args) */
  I_LIST,      /* dst = [args] */
  I_OBJ,       /* dst = record/tuple (args) ; type = dst type */
  I_FIELD,     /* dst = a.field[sub] (record/tuple) */
  I_INDEX,     /* dst = a[b] */
  /* failures (the in-flight failure lives in the frame header) */
  I_FAIL_IS,   /* dst = in-flight failure is of kind decl (NULL: any kind but Cancelled) */
  I_FAIL_TAKE, /* dst = in-flight failure, moved out of the header (dst -1: dropped) */
  I_FAIL_PUT,  /* in-flight failure = a, moved out of var a */
  I_FAIL_CAUSE,/* attach a (moved) as the cause of the in-flight failure */
  I_ERR_FIELD, /* dst = a.kind (sub 0) / a.message (sub 1) of a caught failure */
  I_SHIELD,    /* enter finally/compensation: cancellation is deferred */
  I_UNSHIELD,  /* leave it; dst (bool) = a deferred cancellation was delivered now */
  I_COMP_PUSH, /* push compensation decl(args) on this invocation's stack */
  I_OUTCOME,   /* dst = a.value (sub 1) / a.error (sub 2) of an outcome; a failure
                  when the branch failed / succeeded */
  /* `all for x in XS { yield wf(args) }` spawns wf's frames directly (no
   * branch frame per element); the branch array lives in the await slot */
  I_SPAWN_BEGIN, /* dst (int) = n = len(list a), or max(0, b - a) for a range (b >= 0);
                    allocates the n branch pointers of the join in the await slot */
  I_SPAWN,       /* branch a (index) = new frame of decl(args), not started */
  I_SPAWN_FAIL,  /* branch a = a frame that raises the in-flight failure (moved);
                    the join then has a + 1 branches */
} IrOp;

typedef enum {
  T_NONE,      /* block still open (lowering only) */
  T_JUMP,      /* goto succ[0] */
  T_BRANCH,    /* if a goto succ[0] else succ[1] */
  T_RETURN,    /* finish with value a (-1: none) */
  T_CALL,      /* suspend: run child workflow decl(args); resume at state, dst = result, goto succ[0];
                  b >= 0: with a deadline of b (duration), `yield wf(args) timeout b` */
  T_SLEEP,     /* suspend: timer of a microseconds; resume at state, goto succ[0] */
  T_FAIL,      /* raise: new failure of kind decl with message a (-1: none), or
                  re-raise the caught failure in a (sub 1); goto handler */
  T_UNWIND,    /* the in-flight failure continues to handler */
  T_JOIN,      /* suspend: run branches concurrently (sub = JOIN_ALL / JOIN_RACE):
                  branch i is workflow bdecls[i](bargs[i]); dst = tuple / single value
                  (all) or the winner's value (race); goto succ[0] */
  T_JOIN_FOR,  /* suspend: `all for`: one branch of decl per element of list a, or per
                  int in [a, b) when b >= 0; param 0 is the element, args are the
                  captured values; dst = list of the branch values.
                  sub 1: the branches were made by I_SPAWN* (a, b, args unused) */
} IrTerm;

enum { JOIN_ALL = 0, JOIN_SETTLE = 1, JOIN_RACE = 2 };

typedef struct IrInst {
  int op;               /* IrOp or IrTerm */
  int dst;              /* var or -1 */
  int a, b;             /* vars or -1 */
  int *args;
  int nargs;
  int sub;              /* OP_*, BI_*, field index */
  int64_t ival;
  double fval;
  const char *sval;
  size_t slen;
  Type *type;
  Type *btype;          /* I_BIN: type of b when it differs (duration * int) */
  Decl **bdecls;        /* T_JOIN: per branch workflow */
  int **bargs;          /* T_JOIN: per branch argument vars */
  int *bnargs;
  Decl *decl;
  Loc loc;
  int handler;          /* block, or IR_UNWIND */
} IrInst;

typedef struct IrBlock {
  int id;
  Vec insts;            /* IrInst* */
  IrInst term;          /* terminator (op is an IrTerm) */
  int succ[2];
  int nsucc;
  int state;            /* T_CALL / T_SLEEP: resume state (1..nstates) */
  /* frame.c */
  uint64_t *live_in, *live_out;
} IrBlock;

typedef struct IrFunc {
  Decl *decl;
  const char *name;
  Vec vars;             /* IrVar*, id = index */
  Vec blocks;           /* IrBlock*, id = index; block 0 is the entry */
  int nstates;          /* suspension points; states are 1..nstates in source order */
  Vec suspends;         /* IrBlock* ending in T_CALL/T_SLEEP, index = state - 1 */
  bool has_call, has_sleep;
  bool has_deadline;      /* a T_CALL with a deadline: the await slot holds a weft_deadline */
  int max_branches;     /* widest T_JOIN: branch pointer slots after the join */
  bool has_join;
  /* frame.c: layout of the LLVM frame struct after the 48-byte header */
  int result_field;     /* -1 when the workflow returns unit */
  int await_field;      /* child pointer / timer storage, -1 if no suspension */
  int nfields;          /* total struct fields including the header (field 0) */
} IrFunc;

/* lower.c */
IrFunc *low_workflow(Decl *wf);
/* Compensation blocks become workflows of their own (their captured values
 * are parameters); lowering adds them here as it meets them. */
extern Vec low_synthetic; /* Decl* */
/* Hand-built helper workflows (sleep as a branch, the timeout of `E timeout d`):
 * built by low_helpers_init before any lowering. */
extern Vec low_helpers;   /* IrFunc* */
void low_helpers_init(void);
IrVar *ir_var(IrFunc *fn, int id);
IrBlock *ir_block(IrFunc *fn, int id);
void ir_dump(IrFunc *fn, FILE *out);

/* frame.c */
void frm_layout(IrFunc *fn);
int frm_words(IrFunc *fn);   /* bitset words for fn's vars */

#endif
