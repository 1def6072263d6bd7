/* codegen.c -- IR to LLVM IR through the LLVM-C API, and object emission.
 *
 * Each workflow becomes
 *   %wf.NAME            a named struct: the runtime header + the slots frame.c chose
 *   @weft.info.NAME     its weft_fninfo (resume function, frame size, names)
 *   weft.resume.NAME    `ptr resume(ptr rt, ptr f)`: one switch on f->state
 *                       (0 = start, k = after suspension k), then straight-line
 *                       code per IR block. It returns the next frame to run:
 *                       the child it just started, NULL after parking on a
 *                       timer, or whatever weft_done/weft_failed hand back.
 *                       It never calls another resume function, so the C
 *                       stack stays flat however deep workflows nest.
 *
 * Vars in the frame are addressed by GEP from f; all others are allocas of
 * one activation (mem2reg makes them SSA at -O1 and above). Reference vars
 * (str, list, tuple, record) own one reference each: allocas are nulled on
 * entry to an activation and released when it suspends, frame vars are
 * released when the workflow finishes either way.
 *
 * Runtime ABI: runtime/include/weft.h. Offsets used here:
 *   frame: fn 0, parent 8, failure 24, state 32, status 36
 *   str/list: len at 8, data at 16; obj fields at 16 + 8*i (8-byte words)
 */
#include "ir.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/DebugInfo.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { OFF_FN = 0, OFF_PARENT = 8, OFF_FAILURE = 24, OFF_STATE = 32, OFF_STATUS = 36 };
enum { WEFT_DONE = 1 };
#define WEFT_STATE_DISCARD 0xfffffffeu
enum { WEFT_MAIN_RETURNS_INT = 1, WEFT_MAIN_TAKES_ARGS = 2 };
/* weft_actinfo.result / .flags */
enum { WEFT_RES_UNIT, WEFT_RES_INT, WEFT_RES_FLOAT, WEFT_RES_BOOL, WEFT_RES_DURATION, WEFT_RES_STR, WEFT_RES_REF };
enum { WEFT_ACT_BLOCKING = 1 };

static LLVMContextRef C;
static LLVMModuleRef M;
static LLVMBuilderRef B;
static LLVMTargetMachineRef TM;
static LLVMTargetDataRef TD;
static LLVMTypeRef t_i1, t_i8, t_i16, t_i32, t_i64, t_f64, t_ptr, t_void, t_hdr, t_timer, t_info, t_actinfo;

/* ---------------------------------------------------------------- runtime functions */

typedef enum {
  RT_FRAME_ALLOC, RT_FRAME_FREE, RT_DONE, RT_FAILED, RT_SLEEP,
  RT_RETAIN, RT_RELEASE, RT_CONCAT, RT_STR_EQ, RT_STR_CMP,
  RT_STR_INT, RT_STR_FLOAT, RT_STR_BOOL, RT_STR_DUR, RT_STR_CSTR,
  RT_LIST_NEW, RT_OBJ_NEW, RT_PRINT, RT_LOG, RT_NOW,
  RT_RAISE_CSTR, RT_RAISE_INDEX, RT_RAISE_DIV0, RT_RAISE_OVERFLOW, RT_MAIN,
  RT_RAISE, RT_RERAISE, RT_FAIL_IS, RT_FAIL_CAUSE, RT_FAIL_KIND, RT_FAIL_MSG,
  RT_SHIELD, RT_UNSHIELD, RT_COMP_PUSH, RT_CALL, RT_JOIN_START, RT_JOIN_ALLOC, RT_JOIN_FREE, RT_COMP_ADOPT,
  RT_ACT_START, RT_ACT_FINISH, RT_FRAME_NEW, RT_CALL_DEADLINE, RT_DEADLINE_END,
  RT__COUNT
} RtFn;

static struct { const char *name; LLVMTypeRef ty; LLVMValueRef fn; } rt[RT__COUNT];

static void rt_declare(RtFn id, const char *name, LLVMTypeRef ret, LLVMTypeRef *params, int n) {
  rt[id].name = name;
  rt[id].ty = LLVMFunctionType(ret, params, n, 0);
  rt[id].fn = NULL;
}

static void rt_init(void) {
  LLVMTypeRef p[4];
#define P(...) (LLVMTypeRef[]){__VA_ARGS__}
  rt_declare(RT_FRAME_ALLOC, "weft_frame_alloc", t_ptr, P(t_ptr, t_i32), 2);
  rt_declare(RT_FRAME_FREE, "weft_frame_free", t_void, P(t_ptr, t_ptr), 2);
  rt_declare(RT_DONE, "weft_done", t_ptr, P(t_ptr, t_ptr), 2);
  rt_declare(RT_FAILED, "weft_failed", t_ptr, P(t_ptr, t_ptr), 2);
  rt_declare(RT_SLEEP, "weft_sleep", t_void, P(t_ptr, t_ptr, t_ptr, t_i64), 4);
  rt_declare(RT_RETAIN, "weft_retain", t_void, P(t_ptr), 1);
  rt_declare(RT_RELEASE, "weft_release", t_void, P(t_ptr), 1);
  rt_declare(RT_CONCAT, "weft_str_concat", t_ptr, P(t_ptr, t_ptr), 2);
  rt_declare(RT_STR_EQ, "weft_str_eq", t_i8, P(t_ptr, t_ptr), 2);
  rt_declare(RT_STR_CMP, "weft_str_cmp", t_i64, P(t_ptr, t_ptr), 2);
  rt_declare(RT_STR_INT, "weft_str_from_int", t_ptr, P(t_i64), 1);
  rt_declare(RT_STR_FLOAT, "weft_str_from_float", t_ptr, P(t_f64), 1);
  rt_declare(RT_STR_BOOL, "weft_str_from_bool", t_ptr, P(t_i32), 1);
  rt_declare(RT_STR_DUR, "weft_str_from_duration", t_ptr, P(t_i64), 1);
  rt_declare(RT_STR_CSTR, "weft_str_from_cstr", t_ptr, P(t_ptr), 1);
  rt_declare(RT_LIST_NEW, "weft_list_new", t_ptr, P(t_i64, t_i32), 2);
  rt_declare(RT_OBJ_NEW, "weft_obj_new", t_ptr, P(t_i32, t_i64), 2);
  rt_declare(RT_PRINT, "weft_print", t_void, P(t_ptr, t_ptr), 2);
  rt_declare(RT_LOG, "weft_log", t_void, P(t_ptr, t_ptr), 2);
  rt_declare(RT_NOW, "weft_now_ms", t_i64, P(t_ptr), 1);
  rt_declare(RT_RAISE_CSTR, "weft_raise_cstr", t_void, P(t_ptr, t_ptr, t_ptr, t_ptr, t_ptr), 5);
  rt_declare(RT_RAISE_INDEX, "weft_raise_index", t_void, P(t_ptr, t_ptr, t_i64, t_i64, t_ptr), 5);
  rt_declare(RT_RAISE_DIV0, "weft_raise_div0", t_void, P(t_ptr, t_ptr, t_ptr), 3);
  rt_declare(RT_RAISE_OVERFLOW, "weft_raise_overflow", t_void, P(t_ptr, t_ptr, t_ptr), 3);
  rt_declare(RT_MAIN, "weft_main", t_i32, P(t_i32, t_ptr, t_ptr, t_i32), 4);
  rt_declare(RT_RAISE, "weft_raise", t_void, P(t_ptr, t_ptr, t_ptr, t_ptr, t_ptr), 5);
  rt_declare(RT_RERAISE, "weft_reraise", t_void, P(t_ptr, t_ptr, t_ptr), 3);
  rt_declare(RT_FAIL_IS, "weft_failure_is", t_i8, P(t_ptr, t_ptr), 2);
  rt_declare(RT_FAIL_CAUSE, "weft_failure_add_cause", t_void, P(t_ptr, t_ptr), 2);
  rt_declare(RT_FAIL_KIND, "weft_failure_kind_str", t_ptr, P(t_ptr), 1);
  rt_declare(RT_FAIL_MSG, "weft_failure_message_str", t_ptr, P(t_ptr), 1);
  rt_declare(RT_SHIELD, "weft_shield", t_void, P(t_ptr), 1);
  rt_declare(RT_UNSHIELD, "weft_unshield", t_i8, P(t_ptr, t_ptr, t_i32), 3);
  rt_declare(RT_COMP_PUSH, "weft_comp_push", t_void, P(t_ptr, t_ptr, t_ptr), 3);
  rt_declare(RT_CALL, "weft_call", t_ptr, P(t_ptr, t_ptr, t_ptr), 3);
  rt_declare(RT_JOIN_START, "weft_join_start", t_ptr, P(t_ptr, t_ptr, t_ptr), 3);
  rt_declare(RT_JOIN_ALLOC, "weft_join_alloc", t_ptr, P(t_ptr, t_i32), 2);
  rt_declare(RT_JOIN_FREE, "weft_join_free", t_void, P(t_ptr, t_ptr), 2);
  rt_declare(RT_COMP_ADOPT, "weft_comp_adopt", t_void, P(t_ptr, t_ptr, t_ptr), 3);
  rt_declare(RT_ACT_START, "weft_act_start", t_ptr, P(t_ptr, t_ptr, t_ptr, t_ptr, t_ptr), 5);
  rt_declare(RT_ACT_FINISH, "weft_act_finish", t_i32, P(t_ptr, t_ptr, t_ptr), 3);
  rt_declare(RT_FRAME_NEW, "weft_frame_new", t_ptr, P(t_ptr, t_i32, t_ptr), 3);
  rt_declare(RT_CALL_DEADLINE, "weft_call_deadline", t_ptr, P(t_ptr, t_ptr, t_ptr, t_i64), 4);
  rt_declare(RT_DEADLINE_END, "weft_deadline_end", t_i32, P(t_ptr, t_ptr, t_ptr), 3);
#undef P
  (void)p;
}

static LLVMValueRef call_rt(RtFn id, LLVMValueRef *args, int n) {
  if (!rt[id].fn) {
    rt[id].fn = LLVMAddFunction(M, rt[id].name, rt[id].ty);
    LLVMSetLinkage(rt[id].fn, LLVMExternalLinkage);
  }
  return LLVMBuildCall2(B, rt[id].ty, rt[id].fn, args, n, "");
}

#define CALL(id, ...) call_rt(id, (LLVMValueRef[]){__VA_ARGS__}, \
                              sizeof((LLVMValueRef[]){__VA_ARGS__}) / sizeof(LLVMValueRef))

/* ---------------------------------------------------------------- debug info (-g) */

/* DWARF line tables point into the .weft sources: gdb steps Weft code, and a
 * crash backtrace names workflow lines. Locals are not described yet. */
static LLVMDIBuilderRef DIB;
static LLVMMetadataRef *di_files; /* per SrcFile id */
static LLVMMetadataRef di_scope;  /* subprogram of the function being generated */

static LLVMMetadataRef di_file(int id) {
  if (id < 0)
    id = 0;
  if (!di_files[id]) {
    const char *path = src_get(id)->path;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *dir = slash ? ar_strndup(path, (size_t)(slash - path)) : ".";
    di_files[id] = LLVMDIBuilderCreateFile(DIB, base, strlen(base), dir, strlen(dir));
  }
  return di_files[id];
}

static void di_at(Loc loc) {
  if (!DIB || !di_scope || loc.line <= 0)
    return;
  LLVMMetadataRef l = LLVMDIBuilderCreateDebugLocation(C, (unsigned)loc.line, (unsigned)loc.col, di_scope, NULL);
  LLVMSetCurrentDebugLocation2(B, l);
}

/* ---------------------------------------------------------------- constants */

static LLVMValueRef ci32(int64_t v) { return LLVMConstInt(t_i32, (unsigned long long)v, 1); }
static LLVMValueRef ci64(int64_t v) { return LLVMConstInt(t_i64, (unsigned long long)v, 1); }
static LLVMValueRef cnull(void) { return LLVMConstNull(t_ptr); }

static LLVMValueRef global_cstr(const char *s, const char *name) {
  LLVMValueRef init = LLVMConstStringInContext(C, s, (unsigned)strlen(s), 0);
  LLVMValueRef g = LLVMAddGlobal(M, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  return g;
}

/* String literals: immortal weft_str objects in read-only data. */
typedef struct StrLit { const char *s; size_t n; LLVMValueRef g; struct StrLit *next; } StrLit;
static StrLit *strlits;

static LLVMValueRef str_literal(const char *s, size_t n) {
  for (StrLit *l = strlits; l; l = l->next)
    if (l->n == n && memcmp(l->s, s, n) == 0)
      return l->g;
  LLVMValueRef bytes = LLVMConstStringInContext(C, s, (unsigned)n, 0); /* adds the NUL */
  LLVMValueRef fields[] = {LLVMConstInt(t_i32, 0xffffffffu, 0), LLVMConstInt(t_i16, 1, 0),
                           LLVMConstInt(t_i16, 0, 0), ci64((int64_t)n), bytes};
  LLVMValueRef init = LLVMConstStructInContext(C, fields, 5, 0);
  LLVMValueRef g = LLVMAddGlobal(M, LLVMTypeOf(init), ".str");
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetAlignment(g, 16);
  StrLit *l = ar_alloc(sizeof *l);
  l->s = s;
  l->n = n;
  l->g = g;
  l->next = strlits;
  strlits = l;
  return g;
}

/* weft_srcloc {file, line, col, func} per raise site. */
static LLVMTypeRef t_srcloc;
static LLVMValueRef *file_names; /* per SrcFile id */

static LLVMValueRef file_name(int file) {
  if (file < 0)
    file = 0;
  if (!file_names[file])
    file_names[file] = global_cstr(src_get(file)->path, ".file");
  return file_names[file];
}

static LLVMValueRef srcloc(Loc loc, LLVMValueRef func_name) {
  LLVMValueRef fields[] = {file_name(loc.file), ci32(loc.line), ci32(loc.col), func_name};
  LLVMValueRef init = LLVMConstNamedStruct(t_srcloc, fields, 4);
  LLVMValueRef g = LLVMAddGlobal(M, t_srcloc, ".loc");
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return g;
}

/* ---------------------------------------------------------------- types */

static LLVMTypeRef llty(Type *t) {
  switch (t->kind) {
  case TY_INT:
  case TY_DURATION: return t_i64;
  case TY_FLOAT: return t_f64;
  case TY_BOOL: return t_i1;
  case TY_STR:
  case TY_LIST:
  case TY_TUPLE:
  case TY_RECORD:
  case TY_ERROR:
  case TY_OUTCOME: return t_ptr;
  default: diag_ice("codegen: no LLVM type for %s", ty_name(t));
  }
}

/* ---------------------------------------------------------------- per workflow */

typedef struct Wf {
  IrFunc *ir;
  LLVMTypeRef frame_ty;
  LLVMValueRef resume, info, name_str;
} Wf;

static Wf *wfs;
static int nwfs;

static Wf *wf_of(Decl *d) {
  for (int i = 0; i < nwfs; i++)
    if (wfs[i].ir->decl == d)
      return &wfs[i];
  diag_ice("codegen: workflow '%s' was not lowered", d->name);
}

/* State of the function being generated. */
static Wf *W;
static IrFunc *F;
static LLVMValueRef v_rt, v_f, fn_val;
static LLVMValueRef *addr;           /* per var: alloca or frame GEP */
static LLVMBasicBlockRef *bbs;       /* per IR block */
static LLVMBasicBlockRef unwind_bb, exit_bb;

static LLVMValueRef field_ptr(LLVMValueRef base, int off) {
  LLVMValueRef idx = ci64(off);
  return LLVMBuildGEP2(B, t_i8, base, &idx, 1, "");
}

static LLVMValueRef load_var(int v) {
  IrVar *x = ir_var(F, v);
  return LLVMBuildLoad2(B, llty(x->type), addr[v], x->name ? x->name : "");
}

static void retain_if_ref(Type *t, LLVMValueRef val) {
  if (ty_is_ref(t))
    CALL(RT_RETAIN, val);
}

static bool local_ref(int v);
static uint64_t *ma_now; /* maybe_assigned: the locals that may hold a value here */

/* Stores an owned value into v, releasing what v held -- unless v is a
 * local still NULL in this activation (maybe_assigned). */
static void store_var(int v, LLVMValueRef val) {
  if (v < 0) {
    return;
  }
  IrVar *x = ir_var(F, v);
  if (ty_is_ref(x->type) && ma_now && local_ref(v) && !((ma_now[v / 64] >> (v % 64)) & 1)) {
    LLVMBuildStore(B, val, addr[v]);
    ma_now[v / 64] |= 1ull << (v % 64);
    return;
  }
  if (ty_is_ref(x->type)) {
    LLVMValueRef old = LLVMBuildLoad2(B, t_ptr, addr[v], "");
    LLVMBuildStore(B, val, addr[v]);
    CALL(RT_RELEASE, old);
  } else {
    LLVMBuildStore(B, val, addr[v]);
  }
}

/* An owned value that nobody stores (result of an expression statement). */
static void drop_value(Type *t, LLVMValueRef val) {
  if (t && ty_is_ref(t))
    CALL(RT_RELEASE, val);
}

static LLVMBasicBlockRef new_bb(const char *name) { return LLVMAppendBasicBlockInContext(C, fn_val, name); }

static LLVMBasicBlockRef handler_bb(int handler) {
  return handler == IR_UNWIND ? unwind_bb : bbs[handler];
}

/* if (!ok) { raise...; goto handler } -- the raise is emitted by `raise`. */
static void check(LLVMValueRef ok, int handler, void (*raise)(void *), void *arg) {
  LLVMBasicBlockRef good = new_bb("ok"), bad = new_bb("check.fail");
  LLVMBuildCondBr(B, ok, good, bad);
  LLVMPositionBuilderAtEnd(B, bad);
  raise(arg);
  LLVMBuildBr(B, handler_bb(handler));
  LLVMPositionBuilderAtEnd(B, good);
}

typedef struct RaiseArg { RtFn fn; LLVMValueRef loc, a, b; const char *msg; } RaiseArg;

/* The weft_errkind of a declared or built-in error kind. */
static LLVMValueRef kind_global(Decl *k) {
  const char *name = k ? k->name : "Error";
  if (!k || k->module < 0) {
    char *sym = ar_printf("weft_kind_%s", name);
    LLVMValueRef g = LLVMGetNamedGlobal(M, sym);
    if (!g) {
      g = LLVMAddGlobal(M, t_ptr, sym);
      LLVMSetGlobalConstant(g, 1);
      LLVMSetLinkage(g, LLVMExternalLinkage);
    }
    return g;
  }
  /* `error X` is the C symbol weft_kind_X, so C activities can fail with it.
   * Weak ODR: every object that imports the declaring module defines it, and
   * the linker keeps one (a kind's identity is its address). */
  char *sym = ar_printf("weft_kind_%s", name);
  LLVMValueRef g = LLVMGetNamedGlobal(M, sym);
  if (!g) {
    LLVMValueRef nm = global_cstr(name, ".kindname");
    g = LLVMAddGlobal(M, t_ptr, sym);
    LLVMSetInitializer(g, nm);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMWeakODRLinkage);
  }
  return g;
}

static void do_raise(void *p) {
  RaiseArg *r = p;
  switch (r->fn) {
  case RT_RAISE_DIV0:
  case RT_RAISE_OVERFLOW: CALL(r->fn, v_rt, v_f, r->loc); break;
  case RT_RAISE_INDEX: CALL(r->fn, v_rt, v_f, r->a, r->b, r->loc); break;
  case RT_RAISE_CSTR:
    CALL(RT_RAISE_CSTR, v_rt, v_f, kind_global(NULL), global_cstr(r->msg, ".msg"), r->loc);
    break;
  default: diag_ice("codegen: bad raise");
  }
}

/* ---------------------------------------------------------------- instructions */

static LLVMValueRef new_child_frame(Wf *callee, int *args, int nargs);

static LLVMValueRef gen_binop(IrInst *in, LLVMValueRef a, LLVMValueRef b) {
  Type *t = in->type;
  int op = in->sub;
  switch (t->kind) {
  case TY_INT:
  case TY_DURATION:
    switch (op) {
    case OP_ADD: return LLVMBuildAdd(B, a, b, "");
    case OP_SUB: return LLVMBuildSub(B, a, b, "");
    case OP_MUL: return LLVMBuildMul(B, a, b, "");
    case OP_DIV:
    case OP_MOD: {
      LLVMValueRef loc = srcloc(in->loc, W->name_str);
      RaiseArg z = {RT_RAISE_DIV0, loc, 0, 0, 0};
      check(LLVMBuildICmp(B, LLVMIntNE, b, ci64(0), ""), in->handler, do_raise, &z);
      LLVMValueRef minus1 = LLVMBuildICmp(B, LLVMIntEQ, b, ci64(-1), "");
      if (op == OP_DIV) {
        /* INT64_MIN / -1 does not fit: a failure, not a trap. */
        LLVMValueRef ovf = LLVMBuildAnd(B, minus1, LLVMBuildICmp(B, LLVMIntEQ, a, ci64(INT64_MIN), ""), "");
        RaiseArg o = {RT_RAISE_OVERFLOW, loc, 0, 0, 0};
        check(LLVMBuildNot(B, ovf, ""), in->handler, do_raise, &o);
        return LLVMBuildSDiv(B, a, b, "");
      }
      /* x % -1 == 0; avoids the INT64_MIN % -1 trap */
      LLVMValueRef safe_b = LLVMBuildSelect(B, minus1, ci64(1), b, "");
      return LLVMBuildSRem(B, a, safe_b, "");
    }
    case OP_EQ: return LLVMBuildICmp(B, LLVMIntEQ, a, b, "");
    case OP_NE: return LLVMBuildICmp(B, LLVMIntNE, a, b, "");
    case OP_LT: return LLVMBuildICmp(B, LLVMIntSLT, a, b, "");
    case OP_LE: return LLVMBuildICmp(B, LLVMIntSLE, a, b, "");
    case OP_GT: return LLVMBuildICmp(B, LLVMIntSGT, a, b, "");
    case OP_GE: return LLVMBuildICmp(B, LLVMIntSGE, a, b, "");
    }
    break;
  case TY_FLOAT:
    switch (op) {
    case OP_ADD: return LLVMBuildFAdd(B, a, b, "");
    case OP_SUB: return LLVMBuildFSub(B, a, b, "");
    case OP_MUL: return LLVMBuildFMul(B, a, b, "");
    case OP_DIV: return LLVMBuildFDiv(B, a, b, "");
    case OP_MOD: return LLVMBuildFRem(B, a, b, "");
    case OP_EQ: return LLVMBuildFCmp(B, LLVMRealOEQ, a, b, "");
    case OP_NE: return LLVMBuildFCmp(B, LLVMRealUNE, a, b, "");
    case OP_LT: return LLVMBuildFCmp(B, LLVMRealOLT, a, b, "");
    case OP_LE: return LLVMBuildFCmp(B, LLVMRealOLE, a, b, "");
    case OP_GT: return LLVMBuildFCmp(B, LLVMRealOGT, a, b, "");
    case OP_GE: return LLVMBuildFCmp(B, LLVMRealOGE, a, b, "");
    }
    break;
  case TY_BOOL:
    switch (op) {
    case OP_EQ: return LLVMBuildICmp(B, LLVMIntEQ, a, b, "");
    case OP_NE: return LLVMBuildICmp(B, LLVMIntNE, a, b, "");
    }
    break;
  case TY_STR:
    switch (op) {
    case OP_ADD: return CALL(RT_CONCAT, a, b);
    case OP_EQ: return LLVMBuildICmp(B, LLVMIntNE, CALL(RT_STR_EQ, a, b), LLVMConstInt(t_i8, 0, 0), "");
    case OP_NE: return LLVMBuildICmp(B, LLVMIntEQ, CALL(RT_STR_EQ, a, b), LLVMConstInt(t_i8, 0, 0), "");
    case OP_LT: return LLVMBuildICmp(B, LLVMIntSLT, CALL(RT_STR_CMP, a, b), ci64(0), "");
    case OP_LE: return LLVMBuildICmp(B, LLVMIntSLE, CALL(RT_STR_CMP, a, b), ci64(0), "");
    case OP_GT: return LLVMBuildICmp(B, LLVMIntSGT, CALL(RT_STR_CMP, a, b), ci64(0), "");
    case OP_GE: return LLVMBuildICmp(B, LLVMIntSGE, CALL(RT_STR_CMP, a, b), ci64(0), "");
    }
    break;
  default: break;
  }
  diag_ice("codegen: operator %d on %s", op, ty_name(t));
}

/* 8-byte words inside lists and objects. */
static void store_word(LLVMValueRef base, int64_t off, Type *t, LLVMValueRef val) {
  LLVMValueRef p = field_ptr(base, (int)off);
  if (t->kind == TY_BOOL)
    val = LLVMBuildZExt(B, val, t_i64, "");
  LLVMBuildStore(B, val, p);
}

static LLVMValueRef load_word(LLVMValueRef p, Type *t) {
  if (t->kind == TY_BOOL)
    return LLVMBuildICmp(B, LLVMIntNE, LLVMBuildLoad2(B, t_i64, p, ""), ci64(0), "");
  return LLVMBuildLoad2(B, llty(t), p, "");
}

static Type *obj_field_type(Type *t, int i) {
  if (t->kind == TY_TUPLE)
    return t->elems[i];
  return t->rec->fields[i].type;
}

static int obj_nfields(Type *t) { return t->kind == TY_TUPLE ? t->nelems : t->rec->nfields; }

static LLVMValueRef c_arg(Type *t, LLVMValueRef v) {
  if (t->kind == TY_STR)
    return field_ptr(v, 16); /* const char * into the string's bytes */
  if (t->kind == TY_BOOL)
    return LLVMBuildZExt(B, v, t_i8, "");
  return v;
}

/* The C function behind an activity or extern fn (`as "symbol"`). */
static const char *c_symbol(Decl *d) { return d->c_name ? d->c_name : d->name; }

static LLVMTypeRef c_type(Type *t) {
  if (!t || t->kind == TY_UNIT)
    return t_void;
  if (t->kind == TY_STR)
    return t_ptr;
  if (t->kind == TY_BOOL)
    return t_i8;
  return llty(t);
}

static void gen_extern(IrInst *in) {
  Decl *d = in->decl;
  LLVMTypeRef *ps = ar_alloc(sizeof(LLVMTypeRef) * (d->nparams + 1));
  for (int i = 0; i < d->nparams; i++)
    ps[i] = c_type(d->params[i].type);
  LLVMTypeRef fty = LLVMFunctionType(c_type(d->ret), ps, d->nparams, 0);
  LLVMValueRef callee = LLVMGetNamedFunction(M, c_symbol(d));
  if (!callee)
    callee = LLVMAddFunction(M, c_symbol(d), fty);
  LLVMValueRef *args = ar_alloc(sizeof(LLVMValueRef) * (in->nargs + 1));
  for (int i = 0; i < in->nargs; i++)
    args[i] = c_arg(d->params[i].type, load_var(in->args[i]));
  LLVMValueRef r = LLVMBuildCall2(B, fty, callee, args, in->nargs, "");
  if (!d->ret || d->ret->kind == TY_UNIT)
    return;
  if (d->ret->kind == TY_STR)
    r = CALL(RT_STR_CSTR, r); /* copied: the C side keeps its string */
  else if (d->ret->kind == TY_BOOL)
    r = LLVMBuildICmp(B, LLVMIntNE, r, LLVMConstInt(t_i8, 0, 0), "");
  if (in->dst >= 0)
    store_var(in->dst, r);
  else
    drop_value(d->ret, r);
}

static void gen_builtin(IrInst *in) {
  LLVMValueRef a = in->nargs ? load_var(in->args[0]) : NULL;
  LLVMValueRef r = NULL;
  Type *rt_ty = NULL;
  switch (in->sub) {
  case BI_PRINT: CALL(RT_PRINT, v_rt, a); return;
  case BI_LOG: CALL(RT_LOG, v_rt, a); return;
  case BI_NOW: r = CALL(RT_NOW, v_rt); break;
  case BI_LEN: r = LLVMBuildLoad2(B, t_i64, field_ptr(a, 8), "len"); break;
  case BI_FLOAT: r = LLVMBuildSIToFP(B, a, t_f64, ""); break;
  case BI_INT: {
    /* NaN and values outside int64 are failures, not poison. */
    LLVMValueRef lo = LLVMBuildFCmp(B, LLVMRealOGE, a, LLVMConstReal(t_f64, -9223372036854775808.0), "");
    LLVMValueRef hi = LLVMBuildFCmp(B, LLVMRealOLT, a, LLVMConstReal(t_f64, 9223372036854775808.0), "");
    RaiseArg ra = {RT_RAISE_CSTR, srcloc(in->loc, W->name_str), 0, 0, "float value out of range for int"};
    check(LLVMBuildAnd(B, lo, hi, ""), in->handler, do_raise, &ra);
    r = LLVMBuildFPToSI(B, a, t_i64, "");
    break;
  }
  case BI_STR:
    rt_ty = ty_str;
    switch (in->type->kind) {
    case TY_INT: r = CALL(RT_STR_INT, a); break;
    case TY_FLOAT: r = CALL(RT_STR_FLOAT, a); break;
    case TY_BOOL: r = CALL(RT_STR_BOOL, LLVMBuildZExt(B, a, t_i32, "")); break;
    case TY_DURATION: r = CALL(RT_STR_DUR, a); break;
    case TY_STR: CALL(RT_RETAIN, a); r = a; break;
    default: diag_ice("codegen: str() of %s", ty_name(in->type));
    }
    break;
  default: diag_ice("codegen: builtin %d", in->sub);
  }
  if (in->dst >= 0)
    store_var(in->dst, r);
  else
    drop_value(rt_ty, r);
}

static void gen_spawn_begin(IrInst *in);
static LLVMValueRef branch_at(LLVMValueRef barr, LLVMValueRef i);
static LLVMValueRef await_ptr(void);
static LLVMValueRef new_child_frame_vals(Wf *callee, LLVMValueRef *vals, int nargs);
enum { JOIN_BRANCHES = 0, JOIN_N = 8, JOIN_MODE = 16, JOIN_WINNER = 24, JOIN_FAILURE = 32 };

static void gen_inst(IrInst *in) {
  switch (in->op) {
  case I_CONST: {
    LLVMValueRef v;
    switch (in->type->kind) {
    case TY_FLOAT: v = LLVMConstReal(t_f64, in->fval); break;
    case TY_BOOL: v = LLVMConstInt(t_i1, in->ival ? 1 : 0, 0); break;
    case TY_STR: v = str_literal(in->sval ? in->sval : "", in->slen); break;
    default: v = ci64(in->ival); break;
    }
    store_var(in->dst, v);
    break;
  }
  case I_COPY: {
    LLVMValueRef v = load_var(in->a);
    retain_if_ref(in->type, v);
    store_var(in->dst, v);
    break;
  }
  case I_BIN: {
    LLVMValueRef a = load_var(in->a), b = load_var(in->b);
    LLVMValueRef r = gen_binop(in, a, b);
    if (in->dst >= 0)
      store_var(in->dst, r);
    else if (in->type->kind == TY_STR && in->sub == OP_ADD)
      drop_value(ty_str, r);
    break;
  }
  case I_UN: {
    LLVMValueRef a = load_var(in->a), r;
    if (in->sub == OP_NOT)
      r = LLVMBuildNot(B, a, "");
    else if (in->type->kind == TY_FLOAT)
      r = LLVMBuildFNeg(B, a, "");
    else
      r = LLVMBuildSub(B, ci64(0), a, "");
    store_var(in->dst, r);
    break;
  }
  case I_BUILTIN: gen_builtin(in); break;
  case I_EXTERN: gen_extern(in); break;
  case I_LIST: {
    Type *et = in->type->elem;
    LLVMValueRef l = CALL(RT_LIST_NEW, ci64(in->nargs), ci32(ty_is_ref(et) ? 1 : 0));
    for (int i = 0; i < in->nargs; i++) {
      LLVMValueRef v = load_var(in->args[i]);
      retain_if_ref(et, v);
      store_word(l, 16 + 8 * i, et, v);
    }
    store_var(in->dst, l);
    break;
  }
  case I_OBJ: {
    int n = obj_nfields(in->type);
    uint64_t mask = 0;
    for (int i = 0; i < n && i < 64; i++)
      if (ty_is_ref(obj_field_type(in->type, i)))
        mask |= 1ull << i;
    LLVMValueRef o = CALL(RT_OBJ_NEW, ci32(n), LLVMConstInt(t_i64, mask, 0));
    for (int i = 0; i < n; i++) {
      Type *ft = obj_field_type(in->type, i);
      LLVMValueRef v = load_var(in->args[i]);
      retain_if_ref(ft, v);
      store_word(o, 16 + 8 * i, ft, v);
    }
    store_var(in->dst, o);
    break;
  }
  case I_FIELD: {
    LLVMValueRef o = load_var(in->a);
    LLVMValueRef v = load_word(field_ptr(o, 16 + 8 * in->sub), in->type);
    retain_if_ref(in->type, v);
    store_var(in->dst, v);
    break;
  }
  case I_INDEX: {
    LLVMValueRef l = load_var(in->a), i = load_var(in->b);
    LLVMValueRef len = LLVMBuildLoad2(B, t_i64, field_ptr(l, 8), "len");
    RaiseArg ra = {RT_RAISE_INDEX, srcloc(in->loc, W->name_str), i, len, 0};
    check(LLVMBuildICmp(B, LLVMIntULT, i, len, ""), in->handler, do_raise, &ra);
    LLVMValueRef off = LLVMBuildAdd(B, LLVMBuildShl(B, i, ci64(3), ""), ci64(16), "");
    LLVMValueRef p = LLVMBuildGEP2(B, t_i8, l, &off, 1, "");
    LLVMValueRef v = load_word(p, in->type);
    retain_if_ref(in->type, v);
    store_var(in->dst, v);
    break;
  }
  case I_FAIL_IS: {
    LLVMValueRef fl = LLVMBuildLoad2(B, t_ptr, field_ptr(v_f, OFF_FAILURE), "failure");
    LLVMValueRef k = in->decl ? kind_global(in->decl) : cnull();
    store_var(in->dst, LLVMBuildICmp(B, LLVMIntNE, CALL(RT_FAIL_IS, fl, k), LLVMConstInt(t_i8, 0, 0), ""));
    break;
  }
  case I_FAIL_TAKE: {
    LLVMValueRef fl = LLVMBuildLoad2(B, t_ptr, field_ptr(v_f, OFF_FAILURE), "failure");
    LLVMBuildStore(B, cnull(), field_ptr(v_f, OFF_FAILURE));
    if (in->dst >= 0)
      store_var(in->dst, fl);
    else
      CALL(RT_RELEASE, fl);
    break;
  }
  case I_FAIL_PUT:
  case I_FAIL_CAUSE: {
    LLVMValueRef v = load_var(in->a);
    LLVMBuildStore(B, cnull(), addr[in->a]);
    if (in->op == I_FAIL_PUT)
      LLVMBuildStore(B, v, field_ptr(v_f, OFF_FAILURE));
    else
      CALL(RT_FAIL_CAUSE, LLVMBuildLoad2(B, t_ptr, field_ptr(v_f, OFF_FAILURE), ""), v);
    break;
  }
  case I_ERR_FIELD:
    store_var(in->dst, CALL(in->sub == 0 ? RT_FAIL_KIND : RT_FAIL_MSG, load_var(in->a)));
    break;
  case I_SHIELD: CALL(RT_SHIELD, v_f); break;
  case I_UNSHIELD: {
    LLVMValueRef r = CALL(RT_UNSHIELD, v_rt, v_f, ci32(in->sub));
    if (in->dst >= 0)
      store_var(in->dst, LLVMBuildICmp(B, LLVMIntNE, r, LLVMConstInt(t_i8, 0, 0), ""));
    break;
  }
  case I_OUTCOME: {
    /* outcome object: ok at field 0, value at 1, error at 2 */
    LLVMValueRef o = load_var(in->a);
    LLVMValueRef ok = load_word(field_ptr(o, 16), ty_bool);
    RaiseArg ra = {RT_RAISE_CSTR, srcloc(in->loc, W->name_str), 0, 0,
                   in->sub == 1 ? "this branch failed: its outcome has no value (read .error)"
                                : "this branch succeeded: its outcome has no error (read .value)"};
    check(in->sub == 1 ? ok : LLVMBuildNot(B, ok, ""), in->handler, do_raise, &ra);
    LLVMValueRef v = load_word(field_ptr(o, 16 + 8 * in->sub), in->type);
    retain_if_ref(in->type, v);
    store_var(in->dst, v);
    break;
  }
  case I_COMP_PUSH: {
    LLVMValueRef c = new_child_frame(wf_of(in->decl), in->args, in->nargs);
    CALL(RT_COMP_PUSH, v_rt, v_f, c);
    break;
  }
  case I_SPAWN_BEGIN: gen_spawn_begin(in); break;
  case I_SPAWN: {
    LLVMValueRef barr = LLVMBuildLoad2(B, t_ptr, field_ptr(await_ptr(), JOIN_BRANCHES), "branches");
    LLVMValueRef c = new_child_frame(wf_of(in->decl), in->args, in->nargs);
    LLVMBuildStore(B, c, branch_at(barr, load_var(in->a)));
    break;
  }
  case I_SPAWN_FAIL: {
    /* the failure moves into a weft.reraise frame, the join's last branch */
    LLVMValueRef fl = LLVMBuildLoad2(B, t_ptr, field_ptr(v_f, OFF_FAILURE), "failure");
    LLVMBuildStore(B, cnull(), field_ptr(v_f, OFF_FAILURE));
    LLVMValueRef c = new_child_frame_vals(wf_of(in->decl), &fl, 1);
    CALL(RT_RELEASE, fl);
    LLVMValueRef join = await_ptr();
    LLVMValueRef i = load_var(in->a);
    LLVMBuildStore(B, c, branch_at(LLVMBuildLoad2(B, t_ptr, field_ptr(join, JOIN_BRANCHES), ""), i));
    LLVMBuildStore(B, LLVMBuildTrunc(B, LLVMBuildAdd(B, i, ci64(1), ""), t_i32, ""), field_ptr(join, JOIN_N));
    break;
  }
  default: diag_ice("codegen: instruction %d", in->op);
  }
}

/* ---------------------------------------------------------------- suspension */

/* Reference locals that may hold a value at the end of each block, per
 * activation: a resume starts a new activation whose locals are NULL, so
 * only what was assigned since the last resume (or the start) can need a
 * release at a suspension. A forward may-analysis over the IR, so a
 * suspension releases a handful of temporaries instead of every reference
 * local of the workflow (that was most of the IR of big workflows). */
static uint64_t **ma_in, **ma_out; /* per block: the set at its start / its terminator */
static int ma_words;
static IrBlock *cur_block; /* the IR block being generated */

static bool local_ref(int v) {
  if (v < 0) return false;
  IrVar *x = ir_var(F, v);
  return !x->in_frame && ty_is_ref(x->type);
}

static bool ma_join(uint64_t *dst, const uint64_t *src) {
  bool changed = false;
  for (int w = 0; w < ma_words; w++) {
    uint64_t n = dst[w] | src[w];
    changed |= n != dst[w];
    dst[w] = n;
  }
  return changed;
}

static bool is_suspension(int op) { return op == T_CALL || op == T_SLEEP || op == T_JOIN || op == T_JOIN_FOR; }

static void maybe_assigned(void) {
  int nb = F->blocks.len;
  ma_words = (F->vars.len + 63) / 64 + 1;
  uint64_t **in = ma_in = ar_alloc(sizeof(uint64_t *) * (nb + 1));
  ma_out = ar_alloc(sizeof(uint64_t *) * (nb + 1));
  ma_now = ar_alloc(sizeof(uint64_t) * ma_words);
  for (int i = 0; i < nb; i++) {
    in[i] = ar_alloc(sizeof(uint64_t) * ma_words);
    ma_out[i] = ar_alloc(sizeof(uint64_t) * ma_words);
    memset(in[i], 0, sizeof(uint64_t) * ma_words);
    memset(ma_out[i], 0, sizeof(uint64_t) * ma_words);
  }
  uint64_t *cur = ar_alloc(sizeof(uint64_t) * ma_words), *fresh = ar_alloc(sizeof(uint64_t) * ma_words);
  for (bool changed = true; changed;) {
    changed = false;
    for (int i = 0; i < nb; i++) {
      IrBlock *b = ir_block(F, i);
      memcpy(cur, in[i], sizeof(uint64_t) * ma_words);
      for (int k = 0; k < b->insts.len; k++) {
        IrInst *x = b->insts.data[k];
        if (x->handler >= 0) changed |= ma_join(in[x->handler], cur);
        if (local_ref(x->dst)) cur[x->dst / 64] |= 1ull << (x->dst % 64);
      }
      memcpy(ma_out[i], cur, sizeof(uint64_t) * ma_words);
      IrInst *t = &b->term;
      if (is_suspension(t->op)) { /* what follows runs in a new activation */
        memset(fresh, 0, sizeof(uint64_t) * ma_words);
        if (t->handler >= 0) changed |= ma_join(in[t->handler], fresh);
        if (local_ref(t->dst)) fresh[t->dst / 64] |= 1ull << (t->dst % 64);
        for (int s = 0; s < b->nsucc; s++) changed |= ma_join(in[b->succ[s]], fresh);
      } else {
        if (t->handler >= 0 && (t->op == T_FAIL || t->op == T_UNWIND)) changed |= ma_join(in[t->handler], cur);
        for (int s = 0; s < b->nsucc; s++) changed |= ma_join(in[b->succ[s]], cur);
      }
    }
  }
}

/* At a suspension: drop the references the locals may hold (the frame's
 * slots live on; the activation's locals die with it). */
static void release_locals(void) {
  const uint64_t *set = ma_out[cur_block->id];
  for (int v = 0; v < F->vars.len; v++)
    if ((set[v / 64] >> (v % 64)) & 1)
      CALL(RT_RELEASE, LLVMBuildLoad2(B, t_ptr, addr[v], ""));
}

static void release_all(void) {
  for (int v = 0; v < F->vars.len; v++) {
    IrVar *x = ir_var(F, v);
    if (ty_is_ref(x->type))
      CALL(RT_RELEASE, LLVMBuildLoad2(B, t_ptr, addr[v], ""));
  }
}

static LLVMValueRef await_ptr(void) { return LLVMBuildStructGEP2(B, W->frame_ty, v_f, F->await_field, "await"); }

static void set_state(int k) { LLVMBuildStore(B, ci32(k), field_ptr(v_f, OFF_STATE)); }

/* A not-yet-started frame of callee with its arguments stored (borrowed
 * values: the frame takes its own references). */
static LLVMValueRef new_child_frame_vals(Wf *callee, LLVMValueRef *vals, int nargs) {
  IrFunc *cf = callee->ir;
  LLVMValueRef size = ci32((int64_t)LLVMABISizeOfType(TD, callee->frame_ty));
  /* only the header comes zeroed: store the parameters, and NULL in every
   * other reference slot (the frame releases them when it ends) */
  LLVMValueRef child = CALL(RT_FRAME_NEW, v_rt, size, callee->info);
  if (cf->result_field >= 0 && ty_is_ref(cf->decl->ret))
    LLVMBuildStore(B, cnull(), LLVMBuildStructGEP2(B, callee->frame_ty, child, cf->result_field, ""));
  for (int i = 0; i < cf->vars.len; i++) {
    IrVar *pv = ir_var(cf, i);
    if (pv->in_frame && !pv->is_param && ty_is_ref(pv->type))
      LLVMBuildStore(B, cnull(), LLVMBuildStructGEP2(B, callee->frame_ty, child, pv->field, ""));
    if (!pv->is_param || pv->param_index >= nargs)
      continue;
    LLVMValueRef v = vals[pv->param_index];
    retain_if_ref(pv->type, v);
    LLVMBuildStore(B, v, LLVMBuildStructGEP2(B, callee->frame_ty, child, pv->field, ""));
  }
  return child;
}

static LLVMValueRef new_child_frame(Wf *callee, int *args, int nargs) {
  LLVMValueRef *vals = ar_alloc(sizeof(LLVMValueRef) * (nargs + 1));
  for (int i = 0; i < nargs; i++)
    vals[i] = load_var(args[i]);
  return new_child_frame_vals(callee, vals, nargs);
}

/* ---------------------------------------------------------------- joins */

/* struct weft_join: branches 0, n 8, pending 12, mode 16, winner 24, failure
 * 32 (JOIN_* above) */

static LLVMBasicBlockRef entry_bb;

static LLVMValueRef entry_alloca(LLVMTypeRef t, const char *name) {
  LLVMBasicBlockRef here = LLVMGetInsertBlock(B);
  LLVMValueRef first = LLVMGetFirstInstruction(entry_bb);
  if (first)
    LLVMPositionBuilderBefore(B, first);
  else
    LLVMPositionBuilderAtEnd(B, entry_bb);
  LLVMValueRef a = LLVMBuildAlloca(B, t, name);
  LLVMPositionBuilderAtEnd(B, here);
  return a;
}

static Type *ret_type(Decl *d) {
  return (d->ret && d->ret->kind != TY_UNIT && d->ret->kind != TY_NEVER && d->ret->kind != TY_INVALID)
             ? d->ret : NULL;
}

/* Frees a finished branch; a result still in its slot is released. */
static void free_branch(LLVMValueRef c, Type *rt_) {
  if (rt_ && ty_is_ref(rt_))
    CALL(RT_RELEASE, LLVMBuildLoad2(B, t_ptr, field_ptr(c, 48), ""));
  CALL(RT_FRAME_FREE, v_rt, c);
}

/* Moves a finished branch's result out of its slot (offset 48: the first
 * field after the header in every frame that has one). */
static LLVMValueRef take_result(LLVMValueRef c, Type *t) {
  LLVMValueRef p = field_ptr(c, 48);
  LLVMValueRef v = LLVMBuildLoad2(B, llty(t), p, "result");
  if (ty_is_ref(t))
    LLVMBuildStore(B, cnull(), p);
  return v;
}

static LLVMValueRef is_done(LLVMValueRef c) {
  return LLVMBuildICmp(B, LLVMIntEQ, LLVMBuildLoad2(B, t_i32, field_ptr(c, OFF_STATUS), ""), ci32(WEFT_DONE), "");
}

/* if (cond) { adopt c's compensations } */
/* weft_comp_adopt, only for a DONE branch that has a compensation stack
 * (WEFT_FLAG_COMPS in its flags at offset 40): most have none. */
static void adopt_if_done(LLVMValueRef c) {
  LLVMBasicBlockRef yes = new_bb("adopt"), no = new_bb("adopted");
  LLVMValueRef flags = LLVMBuildLoad2(B, t_i32, field_ptr(c, 40), "flags");
  LLVMValueRef comps = LLVMBuildICmp(B, LLVMIntNE, LLVMBuildAnd(B, flags, ci32(0x20000000), ""), ci32(0), "");
  LLVMBuildCondBr(B, LLVMBuildAnd(B, is_done(c), comps, ""), yes, no);
  LLVMPositionBuilderAtEnd(B, yes);
  CALL(RT_COMP_ADOPT, v_rt, v_f, c);
  LLVMBuildBr(B, no);
  LLVMPositionBuilderAtEnd(B, no);
}

/* all settle: every branch's outcome, in source order. The join fails only
 * when this workflow itself was cancelled. */
static void gen_settle(IrInst *t, LLVMValueRef *c, int next) {
  int n = t->nargs;
  LLVMValueRef join = await_ptr();
  LLVMValueRef fl = LLVMBuildLoad2(B, t_ptr, field_ptr(join, JOIN_FAILURE), "failure");
  LLVMBasicBlockRef ok = new_bb("settle.ok"), bad = new_bb("settle.cancelled");
  for (int i = 0; i < n; i++)
    adopt_if_done(c[i]);
  LLVMBuildCondBr(B, LLVMBuildIsNull(B, fl, ""), ok, bad);
  LLVMPositionBuilderAtEnd(B, bad);
  LLVMBuildStore(B, cnull(), field_ptr(join, JOIN_FAILURE));
  LLVMBuildStore(B, fl, field_ptr(v_f, OFF_FAILURE));
  for (int i = 0; i < n; i++) {
    CALL(RT_RELEASE, LLVMBuildLoad2(B, t_ptr, field_ptr(c[i], OFF_FAILURE), ""));
    free_branch(c[i], ret_type(t->bdecls[i]));
  }
  LLVMBuildBr(B, handler_bb(t->handler));

  LLVMPositionBuilderAtEnd(B, ok);
  LLVMValueRef *outs = ar_alloc(sizeof(LLVMValueRef) * (n + 1));
  for (int i = 0; i < n; i++) {
    Type *vt = ret_type(t->bdecls[i]);
    uint64_t mask = 4 | (vt && ty_is_ref(vt) ? 2 : 0);
    LLVMValueRef o = CALL(RT_OBJ_NEW, ci32(3), LLVMConstInt(t_i64, mask, 0));
    LLVMValueRef done = is_done(c[i]);
    store_word(o, 16, ty_bool, done);
    if (vt) {
      /* a failed branch never stored a result: its slot is zero */
      LLVMValueRef v = take_result(c[i], vt);
      store_word(o, 24, vt, v);
    }
    /* the failure (if any) moves into the outcome */
    LLVMValueRef e = LLVMBuildLoad2(B, t_ptr, field_ptr(c[i], OFF_FAILURE), "");
    LLVMBuildStore(B, cnull(), field_ptr(c[i], OFF_FAILURE));
    LLVMBuildStore(B, e, field_ptr(o, 32));
    CALL(RT_FRAME_FREE, v_rt, c[i]);
    outs[i] = o;
  }
  if (t->dst >= 0) {
    Type *rt_ = ir_var(F, t->dst)->type;
    if (rt_->kind == TY_TUPLE) {
      LLVMValueRef tup = CALL(RT_OBJ_NEW, ci32(n), LLVMConstInt(t_i64, (n >= 64 ? ~0ull : (1ull << n) - 1), 0));
      for (int i = 0; i < n; i++)
        LLVMBuildStore(B, outs[i], field_ptr(tup, 16 + 8 * i));
      store_var(t->dst, tup);
    } else {
      store_var(t->dst, outs[0]);
    }
  } else {
    for (int i = 0; i < n; i++)
      CALL(RT_RELEASE, outs[i]);
  }
  LLVMBuildBr(B, bbs[next]);
}

static void gen_join(IrBlock *b, LLVMBasicBlockRef resume_bb) {
  IrInst *t = &b->term;
  int n = t->nargs;
  LLVMValueRef join = await_ptr();
  LLVMValueRef barr = LLVMBuildStructGEP2(B, LLVMStructGetTypeAtIndex(W->frame_ty, F->await_field), join, 1, "branches");
  LLVMTypeRef arr_ty = LLVMArrayType2(t_ptr, F->max_branches);
  for (int i = 0; i < n; i++) {
    LLVMValueRef c = new_child_frame(wf_of(t->bdecls[i]), t->bargs[i], t->bnargs[i]);
    LLVMValueRef idx[2] = {ci64(0), ci64(i)};
    LLVMBuildStore(B, c, LLVMBuildGEP2(B, arr_ty, barr, idx, 2, ""));
  }
  LLVMBuildStore(B, barr, field_ptr(join, JOIN_BRANCHES));
  LLVMBuildStore(B, ci32(n), field_ptr(join, JOIN_N));
  LLVMBuildStore(B, ci32(t->sub), field_ptr(join, JOIN_MODE));
  set_state(b->state);
  release_locals();
  LLVMBuildRet(B, CALL(RT_JOIN_START, v_rt, v_f, join));

  /* resume: every branch has finished */
  LLVMPositionBuilderAtEnd(B, resume_bb);
  join = await_ptr();
  barr = LLVMBuildStructGEP2(B, LLVMStructGetTypeAtIndex(W->frame_ty, F->await_field), join, 1, "branches");
  LLVMValueRef *c = ar_alloc(sizeof(LLVMValueRef) * (n + 1));
  for (int i = 0; i < n; i++) {
    LLVMValueRef idx[2] = {ci64(0), ci64(i)};
    c[i] = LLVMBuildLoad2(B, t_ptr, LLVMBuildGEP2(B, arr_ty, barr, idx, 2, ""), "branch");
  }
  if (t->sub == JOIN_SETTLE) {
    gen_settle(t, c, b->succ[0]);
    return;
  }
  if (t->sub == JOIN_RACE) {
    LLVMBasicBlockRef bad = new_bb("race.failed");
    /* the winner decides: its value, or its failure raised here */
    LLVMValueRef w = LLVMBuildLoad2(B, t_ptr, field_ptr(join, JOIN_WINNER), "winner");
    LLVMValueRef r = NULL;
    LLVMBasicBlockRef won = new_bb("race.value");
    LLVMBuildCondBr(B, is_done(w), won, bad);
    LLVMPositionBuilderAtEnd(B, won);
    Type *rt_ = (t->type && t->type->kind != TY_UNIT && t->type->kind != TY_NEVER) ? t->type : NULL;
    if (rt_)
      r = take_result(w, rt_);
    CALL(RT_COMP_ADOPT, v_rt, v_f, w);
    for (int i = 0; i < n; i++)
      free_branch(c[i], ret_type(t->bdecls[i]));
    if (t->dst >= 0 && r)
      store_var(t->dst, r);
    else if (r)
      drop_value(rt_, r);
    LLVMBuildBr(B, bbs[b->succ[0]]);
    LLVMPositionBuilderAtEnd(B, bad);
    LLVMValueRef fl = LLVMBuildLoad2(B, t_ptr, field_ptr(w, OFF_FAILURE), "failure");
    LLVMBuildStore(B, cnull(), field_ptr(w, OFF_FAILURE));
    LLVMBuildStore(B, fl, field_ptr(v_f, OFF_FAILURE));
    for (int i = 0; i < n; i++)
      free_branch(c[i], ret_type(t->bdecls[i]));
    LLVMBuildBr(B, handler_bb(t->handler));
    return;
  }
  LLVMBasicBlockRef ok = new_bb("join.ok"), bad = new_bb("join.failed");
  /* all: successful branches hand their compensations over in source order,
   * whether or not a sibling failed */
  for (int i = 0; i < n; i++)
    adopt_if_done(c[i]);
  LLVMValueRef fl = LLVMBuildLoad2(B, t_ptr, field_ptr(join, JOIN_FAILURE), "failure");
  LLVMBuildCondBr(B, LLVMBuildIsNull(B, fl, ""), ok, bad);
  LLVMPositionBuilderAtEnd(B, bad);
  LLVMBuildStore(B, cnull(), field_ptr(join, JOIN_FAILURE));
  LLVMBuildStore(B, fl, field_ptr(v_f, OFF_FAILURE));
  for (int i = 0; i < n; i++)
    free_branch(c[i], ret_type(t->bdecls[i]));
  LLVMBuildBr(B, handler_bb(t->handler));

  LLVMPositionBuilderAtEnd(B, ok);
  LLVMValueRef *vals = ar_alloc(sizeof(LLVMValueRef) * (n + 1));
  for (int i = 0; i < n; i++) {
    Type *bt = ret_type(t->bdecls[i]);
    vals[i] = bt ? take_result(c[i], bt) : NULL;
    CALL(RT_FRAME_FREE, v_rt, c[i]);
  }
  if (t->dst >= 0) {
    Type *rt_ = ir_var(F, t->dst)->type;
    if (rt_->kind == TY_TUPLE && n > 1) {
      uint64_t mask = 0;
      for (int i = 0; i < rt_->nelems && i < 64; i++)
        if (ty_is_ref(rt_->elems[i]))
          mask |= 1ull << i;
      LLVMValueRef o = CALL(RT_OBJ_NEW, ci32(rt_->nelems), LLVMConstInt(t_i64, mask, 0));
      for (int i = 0; i < n && i < rt_->nelems; i++)
        if (vals[i] && rt_->elems[i]->kind != TY_UNIT)
          store_word(o, 16 + 8 * i, rt_->elems[i], vals[i]); /* moved in */
      store_var(t->dst, o);
    } else {
      for (int i = 0; i < n; i++)
        if (vals[i]) {
          store_var(t->dst, vals[i]);
          break;
        }
    }
  } else {
    for (int i = 0; i < n; i++)
      if (vals[i])
        drop_value(ret_type(t->bdecls[i]), vals[i]);
  }
  LLVMBuildBr(B, bbs[b->succ[0]]);
}

/* A counted loop: body(i) for i in [0, n). */
static void counted_loop(LLVMValueRef n, void (*body)(LLVMValueRef i, void *arg), void *arg) {
  LLVMValueRef ip = entry_alloca(t_i64, "i");
  LLVMBuildStore(B, ci64(0), ip);
  LLVMBasicBlockRef head = new_bb("loop"), bodyb = new_bb("loop.body"), done = new_bb("loop.done");
  LLVMBuildBr(B, head);
  LLVMPositionBuilderAtEnd(B, head);
  LLVMValueRef i = LLVMBuildLoad2(B, t_i64, ip, "i");
  LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, i, n, ""), bodyb, done);
  LLVMPositionBuilderAtEnd(B, bodyb);
  body(i, arg);
  LLVMBuildStore(B, LLVMBuildAdd(B, i, ci64(1), ""), ip);
  LLVMBuildBr(B, head);
  LLVMPositionBuilderAtEnd(B, done);
}

typedef struct ForCtx {
  IrInst *t;
  Wf *callee;
  LLVMValueRef barr, list, lo, out;
  Type *elem;
} ForCtx;

static LLVMValueRef branch_at(LLVMValueRef barr, LLVMValueRef i) {
  return LLVMBuildGEP2(B, t_ptr, barr, &i, 1, "");
}

static void for_spawn(LLVMValueRef i, void *p) {
  ForCtx *x = p;
  IrInst *t = x->t;
  LLVMValueRef *vals = ar_alloc(sizeof(LLVMValueRef) * (t->nargs + 2));
  Type *pt = x->callee->ir->decl->params[0].type;
  if (x->list) {
    LLVMValueRef off = LLVMBuildAdd(B, LLVMBuildShl(B, i, ci64(3), ""), ci64(16), "");
    vals[0] = load_word(LLVMBuildGEP2(B, t_i8, x->list, &off, 1, ""), pt);
  } else {
    vals[0] = LLVMBuildAdd(B, x->lo, i, "");
  }
  for (int k = 0; k < t->nargs; k++)
    vals[k + 1] = load_var(t->args[k]);
  LLVMBuildStore(B, new_child_frame_vals(x->callee, vals, t->nargs + 1), branch_at(x->barr, i));
}

static void for_adopt(LLVMValueRef i, void *p) {
  ForCtx *x = p;
  adopt_if_done(LLVMBuildLoad2(B, t_ptr, branch_at(x->barr, i), ""));
}

static void for_free(LLVMValueRef i, void *p) {
  ForCtx *x = p;
  free_branch(LLVMBuildLoad2(B, t_ptr, branch_at(x->barr, i), ""), x->elem);
}

static void for_collect(LLVMValueRef i, void *p) {
  ForCtx *x = p;
  LLVMValueRef c = LLVMBuildLoad2(B, t_ptr, branch_at(x->barr, i), "");
  if (x->out) {
    LLVMValueRef v = take_result(c, x->elem);
    if (x->elem->kind == TY_BOOL)
      v = LLVMBuildZExt(B, v, t_i64, "");
    LLVMValueRef off = LLVMBuildAdd(B, LLVMBuildShl(B, i, ci64(3), ""), ci64(16), "");
    LLVMBuildStore(B, v, LLVMBuildGEP2(B, t_i8, x->out, &off, 1, ""));
  }
  CALL(RT_FRAME_FREE, v_rt, c);
}

/* Number of branches of an `all for` over list a or range [a, b) (b < 0: a
 * list). */
static LLVMValueRef for_count(int a, int b, LLVMValueRef *lo, LLVMValueRef *list) {
  if (b >= 0) {
    *lo = load_var(a);
    LLVMValueRef d = LLVMBuildSub(B, load_var(b), *lo, "");
    return LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, d, ci64(0), ""), ci64(0), d, "n");
  }
  *list = load_var(a);
  return LLVMBuildLoad2(B, t_i64, field_ptr(*list, 8), "n");
}

static void gen_spawn_begin(IrInst *in) {
  LLVMValueRef lo, list;
  LLVMValueRef n = for_count(in->a, in->b, &lo, &list);
  LLVMValueRef join = await_ptr();
  LLVMValueRef n32 = LLVMBuildTrunc(B, n, t_i32, "");
  LLVMBuildStore(B, CALL(RT_JOIN_ALLOC, v_rt, n32), field_ptr(join, JOIN_BRANCHES));
  LLVMBuildStore(B, n32, field_ptr(join, JOIN_N));
  store_var(in->dst, n);
}

static void gen_join_for(IrBlock *b, LLVMBasicBlockRef resume_bb) {
  IrInst *t = &b->term;
  ForCtx x = {t, wf_of(t->decl), NULL, NULL, NULL, NULL, ret_type(t->decl)};
  LLVMValueRef join = await_ptr();
  if (t->sub != 1) { /* one branch frame per element, made here */
    LLVMValueRef n = for_count(t->a, t->b, &x.lo, &x.list);
    x.barr = CALL(RT_JOIN_ALLOC, v_rt, LLVMBuildTrunc(B, n, t_i32, ""));
    counted_loop(n, for_spawn, &x);
    LLVMBuildStore(B, x.barr, field_ptr(join, JOIN_BRANCHES));
    LLVMBuildStore(B, LLVMBuildTrunc(B, n, t_i32, ""), field_ptr(join, JOIN_N));
  } /* else I_SPAWN_BEGIN / I_SPAWN made them */
  LLVMBuildStore(B, ci32(JOIN_ALL), field_ptr(join, JOIN_MODE));
  set_state(b->state);
  release_locals();
  LLVMBuildRet(B, CALL(RT_JOIN_START, v_rt, v_f, join));

  LLVMPositionBuilderAtEnd(B, resume_bb);
  join = await_ptr();
  x.barr = LLVMBuildLoad2(B, t_ptr, field_ptr(join, JOIN_BRANCHES), "branches");
  LLVMValueRef n = LLVMBuildZExt(B, LLVMBuildLoad2(B, t_i32, field_ptr(join, JOIN_N), ""), t_i64, "n");
  counted_loop(n, for_adopt, &x);
  LLVMValueRef fl = LLVMBuildLoad2(B, t_ptr, field_ptr(join, JOIN_FAILURE), "failure");
  LLVMBasicBlockRef ok = new_bb("join.ok"), bad = new_bb("join.failed");
  LLVMBuildCondBr(B, LLVMBuildIsNull(B, fl, ""), ok, bad);
  LLVMPositionBuilderAtEnd(B, bad);
  LLVMBuildStore(B, cnull(), field_ptr(join, JOIN_FAILURE));
  LLVMBuildStore(B, fl, field_ptr(v_f, OFF_FAILURE));
  counted_loop(n, for_free, &x);
  CALL(RT_JOIN_FREE, v_rt, x.barr);
  LLVMBuildBr(B, handler_bb(t->handler));

  LLVMPositionBuilderAtEnd(B, ok);
  if (x.elem && t->dst >= 0)
    x.out = CALL(RT_LIST_NEW, n, ci32(ty_is_ref(x.elem) ? 1 : 0));
  counted_loop(n, for_collect, &x);
  CALL(RT_JOIN_FREE, v_rt, x.barr);
  if (x.out)
    store_var(t->dst, x.out);
  LLVMBuildBr(B, bbs[b->succ[0]]);
}

static void gen_call(IrBlock *b, LLVMBasicBlockRef resume_bb) {
  IrInst *t = &b->term;
  Wf *callee = wf_of(t->decl);
  IrFunc *cf = callee->ir;
  LLVMValueRef child = new_child_frame(callee, t->args, t->nargs);
  LLVMBuildStore(B, child, await_ptr());
  LLVMValueRef us = t->b >= 0 ? load_var(t->b) : NULL;
  set_state(b->state);
  release_locals();
  /* parks f on the child (parent link, cancellation) and runs it next */
  if (us)
    LLVMBuildRet(B, CALL(RT_CALL_DEADLINE, v_rt, v_f, child, us));
  else
    LLVMBuildRet(B, CALL(RT_CALL, v_rt, v_f, child));

  /* resume: the child has finished */
  LLVMPositionBuilderAtEnd(B, resume_bb);
  child = LLVMBuildLoad2(B, t_ptr, await_ptr(), "child");
  if (us) {
    /* the deadline passed first: Timeout is in flight, the child's outcome
     * (cancelled, or a failure while it unwound) is dropped */
    LLVMValueRef fired = CALL(RT_DEADLINE_END, v_rt, v_f, srcloc(t->loc, W->name_str));
    LLVMBasicBlockRef late = new_bb("deadline.passed"), in_time = new_bb("deadline.met");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntNE, fired, ci32(0), ""), late, in_time);
    LLVMPositionBuilderAtEnd(B, late);
    CALL(RT_RELEASE, LLVMBuildLoad2(B, t_ptr, field_ptr(child, OFF_FAILURE), ""));
    LLVMBuildStore(B, cnull(), field_ptr(child, OFF_FAILURE));
    free_branch(child, ret_type(t->decl));
    LLVMBuildBr(B, handler_bb(t->handler));
    LLVMPositionBuilderAtEnd(B, in_time);
  }
  LLVMValueRef status = LLVMBuildLoad2(B, t_i32, field_ptr(child, OFF_STATUS), "status");
  LLVMBasicBlockRef ok = new_bb("call.done"), bad = new_bb("call.failed");
  LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, status, ci32(WEFT_DONE), ""), ok, bad);

  LLVMPositionBuilderAtEnd(B, ok);
  if (cf->result_field >= 0) {
    /* the result moves from the child's frame to ours */
    LLVMValueRef rp = LLVMBuildStructGEP2(B, callee->frame_ty, child, cf->result_field, "");
    LLVMValueRef r = LLVMBuildLoad2(B, llty(t->decl->ret), rp, "result");
    if (t->dst >= 0)
      store_var(t->dst, r);
    else
      drop_value(t->decl->ret, r);
  }
  CALL(RT_FRAME_FREE, v_rt, child);
  LLVMBuildBr(B, bbs[b->succ[0]]);

  LLVMPositionBuilderAtEnd(B, bad);
  /* adopt the child's failure */
  LLVMValueRef fl = LLVMBuildLoad2(B, t_ptr, field_ptr(child, OFF_FAILURE), "failure");
  LLVMBuildStore(B, cnull(), field_ptr(child, OFF_FAILURE));
  LLVMBuildStore(B, fl, field_ptr(v_f, OFF_FAILURE));
  CALL(RT_FRAME_FREE, v_rt, child);
  LLVMBuildBr(B, handler_bb(t->handler));
}

/* ---------------------------------------------------------------- activities */

/* weft_actinfo.result for an activity's declared result type. */
static int act_result_kind(Type *t) {
  if (!t) return WEFT_RES_UNIT;
  switch (t->kind) {
  case TY_INT: return WEFT_RES_INT;
  case TY_FLOAT: return WEFT_RES_FLOAT;
  case TY_BOOL: return WEFT_RES_BOOL;
  case TY_DURATION: return WEFT_RES_DURATION;
  case TY_STR: return WEFT_RES_STR;
  default: return ty_is_ref(t) ? WEFT_RES_REF : WEFT_RES_UNIT;
  }
}

/* The C prototype of an activity: void NAME(weft_act, typed params...).
 * weft_act is a struct of one uint64_t, passed like an i64. */
static LLVMTypeRef act_c_type(Decl *d) {
  LLVMTypeRef *ps = ar_alloc(sizeof(LLVMTypeRef) * (d->nparams + 1));
  ps[0] = t_i64;
  for (int i = 0; i < d->nparams; i++)
    ps[i + 1] = c_type(d->params[i].type);
  return LLVMFunctionType(t_void, ps, d->nparams + 1, 0);
}

/* weft.thunk.NAME(weft_act a, const uint64_t *args): unpacks the argument
 * words and calls the C function. Runs on the loop thread, or on a pool
 * thread for a blocking activity: it must not touch reference counts. */
static LLVMValueRef act_thunk(Decl *d) {
  LLVMTypeRef tty = LLVMFunctionType(t_void, (LLVMTypeRef[]){t_i64, t_ptr}, 2, 0);
  LLVMValueRef th = LLVMAddFunction(M, ar_printf("weft.thunk.%s", d->name), tty);
  LLVMSetLinkage(th, LLVMInternalLinkage);
  LLVMTypeRef cty = act_c_type(d);
  LLVMValueRef callee = LLVMGetNamedFunction(M, c_symbol(d));
  if (!callee)
    callee = LLVMAddFunction(M, c_symbol(d), cty);
  LLVMBasicBlockRef here = LLVMGetInsertBlock(B);
  LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(C, th, "entry"));
  LLVMSetCurrentDebugLocation2(B, NULL);
  LLVMValueRef words = LLVMGetParam(th, 1);
  LLVMValueRef *args = ar_alloc(sizeof(LLVMValueRef) * (d->nparams + 1));
  args[0] = LLVMGetParam(th, 0);
  for (int i = 0; i < d->nparams; i++) {
    Type *t = d->params[i].type;
    LLVMValueRef w = LLVMBuildLoad2(B, t->kind == TY_BOOL ? t_i64 : llty(t), field_ptr(words, 8 * i), "");
    if (t->kind == TY_BOOL)
      w = LLVMBuildTrunc(B, w, t_i8, "");
    else if (t->kind == TY_STR)
      w = field_ptr(w, 16);
    args[i + 1] = w;
  }
  LLVMBuildCall2(B, cty, callee, args, d->nparams + 1, "");
  LLVMBuildRetVoid(B);
  if (here)
    LLVMPositionBuilderAtEnd(B, here);
  return th;
}

/* The static weft_actinfo of activity d (made once per module). */
static LLVMValueRef act_info(Decl *d) {
  char *sym = ar_printf("weft.act.%s", d->name);
  LLVMValueRef g = LLVMGetNamedGlobal(M, sym);
  if (g)
    return g;
  uint64_t refs = 0;
  for (int i = 0; i < d->nparams && i < 64; i++)
    if (ty_is_ref(d->params[i].type))
      refs |= 1ull << i;
  Type *rt_ = ret_type(d);
  LLVMValueRef fields[] = {act_thunk(d), global_cstr(d->name, ".actname"), file_name(d->module),
                           ci32(d->loc.line), LLVMConstInt(t_i16, (unsigned)d->nparams, 0),
                           LLVMConstInt(t_i8, (unsigned)act_result_kind(rt_), 0),
                           LLVMConstInt(t_i8, d->blocking ? WEFT_ACT_BLOCKING : 0, 0),
                           LLVMConstInt(t_i64, refs, 0)};
  g = LLVMAddGlobal(M, t_actinfo, sym);
  LLVMSetInitializer(g, LLVMConstNamedStruct(t_actinfo, fields, 8));
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMInternalLinkage);
  return g;
}

/* `yield act(args)`: the arguments go to the runtime's call record as
 * words; the frame parks on it (or goes on at once when the activity
 * completed before returning). At the resume point weft_act_finish gives
 * the result word or raises the failure. */
static void gen_act_call(IrBlock *b, LLVMBasicBlockRef resume_bb) {
  IrInst *t = &b->term;
  Decl *d = t->decl;
  LLVMValueRef words = cnull();
  if (t->nargs) {
    words = entry_alloca(LLVMArrayType2(t_i64, (uint64_t)t->nargs), "act.args");
    for (int i = 0; i < t->nargs; i++)
      store_word(words, 8 * i, ir_var(F, t->args[i])->type, load_var(t->args[i]));
  }
  set_state(b->state);
  LLVMValueRef next = CALL(RT_ACT_START, v_rt, v_f, act_info(d), words, srcloc(t->loc, W->name_str));
  release_locals();
  LLVMBuildRet(B, next);

  LLVMPositionBuilderAtEnd(B, resume_bb);
  LLVMValueRef out = entry_alloca(t_i64, "act.out");
  LLVMValueRef failed = CALL(RT_ACT_FINISH, v_rt, v_f, out);
  LLVMBasicBlockRef ok = new_bb("act.done");
  LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, failed, ci32(0), ""), ok, handler_bb(t->handler));
  LLVMPositionBuilderAtEnd(B, ok);
  Type *rt_ = ret_type(d);
  if (rt_) {
    LLVMValueRef r = load_word(out, rt_);
    if (t->dst >= 0)
      store_var(t->dst, r);
    else
      drop_value(rt_, r);
  }
  LLVMBuildBr(B, bbs[b->succ[0]]);
}

static void gen_sleep(IrBlock *b, LLVMBasicBlockRef resume_bb) {
  LLVMValueRef d = load_var(b->term.a);
  CALL(RT_SLEEP, v_rt, v_f, await_ptr(), d);
  set_state(b->state);
  release_locals();
  LLVMBuildRet(B, cnull());
  /* resumed: by the timer, or early with Cancelled raised into the frame */
  LLVMPositionBuilderAtEnd(B, resume_bb);
  LLVMValueRef fl = LLVMBuildLoad2(B, t_ptr, field_ptr(v_f, OFF_FAILURE), "failure");
  LLVMBuildCondBr(B, LLVMBuildIsNull(B, fl, ""), bbs[b->succ[0]], handler_bb(b->term.handler));
}

/* ---------------------------------------------------------------- functions */

static void declare_workflow(Wf *w) {
  IrFunc *f = w->ir;
  frm_layout(f);
  LLVMTypeRef *fields = ar_alloc(sizeof(LLVMTypeRef) * (f->nfields + 1));
  fields[0] = t_hdr;
  if (f->result_field >= 0)
    fields[f->result_field] = llty(f->decl->ret);
  if (f->await_field >= 0) {
    if (f->has_join) /* a weft_join (40 bytes, like a timer) and the branch pointers */
      fields[f->await_field] = LLVMStructTypeInContext(
          C, (LLVMTypeRef[]){t_timer, LLVMArrayType2(t_ptr, f->max_branches < 2 && f->has_deadline
                                                                   ? 2 : f->max_branches)}, 2, 0);
    else if (f->has_deadline) /* a weft_deadline: child, us, timer */
      fields[f->await_field] = LLVMArrayType2(t_i64, 7);
    else
      fields[f->await_field] = f->has_sleep ? t_timer : t_ptr;
  }
  for (int i = 0; i < f->vars.len; i++) {
    IrVar *v = ir_var(f, i);
    if (v->field >= 0)
      fields[v->field] = llty(v->type);
  }
  w->frame_ty = LLVMStructCreateNamed(C, ar_printf("wf.%s", f->name));
  LLVMStructSetBody(w->frame_ty, fields, f->nfields, 0);

  LLVMTypeRef rty = LLVMFunctionType(t_ptr, (LLVMTypeRef[]){t_ptr, t_ptr}, 2, 0);
  w->resume = LLVMAddFunction(M, ar_printf("weft.resume.%s", f->name), rty);
  LLVMSetLinkage(w->resume, LLVMInternalLinkage);
  w->name_str = global_cstr(f->name, ".name");
  uint64_t await_off = f->await_field >= 0 ? LLVMOffsetOfElement(TD, w->frame_ty, f->await_field) : 0;
  LLVMValueRef info_fields[] = {w->resume, ci32((int64_t)LLVMABISizeOfType(TD, w->frame_ty)),
                                ci32((int64_t)await_off), w->name_str, file_name(f->decl->module)};
  w->info = LLVMAddGlobal(M, t_info, ar_printf("weft.info.%s", f->name));
  LLVMSetInitializer(w->info, LLVMConstNamedStruct(t_info, info_fields, 5));
  LLVMSetGlobalConstant(w->info, 1);
  LLVMSetLinkage(w->info, LLVMInternalLinkage);
}

static void define_workflow(Wf *w) {
  W = w;
  F = w->ir;
  fn_val = w->resume;
  v_rt = LLVMGetParam(fn_val, 0);
  v_f = LLVMGetParam(fn_val, 1);
  LLVMSetValueName2(v_rt, "rt", 2);
  LLVMSetValueName2(v_f, "f", 1);

  di_scope = NULL;
  if (DIB) {
    Decl *d = F->decl;
    LLVMMetadataRef file = di_file(d->module);
    LLVMMetadataRef sty = LLVMDIBuilderCreateSubroutineType(DIB, file, NULL, 0, LLVMDIFlagZero);
    const char *lname = LLVMGetValueName2(fn_val, &(size_t){0});
    di_scope = LLVMDIBuilderCreateFunction(DIB, file, F->name, strlen(F->name), lname, strlen(lname), file,
                                           (unsigned)d->loc.line, sty, 1, 1, (unsigned)d->loc.line,
                                           LLVMDIFlagZero, 0);
    LLVMSetSubprogram(fn_val, di_scope);
  }
  LLVMBasicBlockRef entry = entry_bb = new_bb("entry");
  bbs = ar_alloc(sizeof(LLVMBasicBlockRef) * F->blocks.len);
  for (int i = 0; i < F->blocks.len; i++)
    bbs[i] = new_bb(ar_printf("b%d", i));
  LLVMBasicBlockRef *resume_bbs = ar_alloc(sizeof(LLVMBasicBlockRef) * (F->nstates + 1));
  for (int k = 1; k <= F->nstates; k++)
    resume_bbs[k] = new_bb(ar_printf("resume%d", k));
  unwind_bb = new_bb("unwind");
  exit_bb = new_bb("exit");
  LLVMBasicBlockRef bad_bb = new_bb("bad.state");

  /* entry: addresses of vars, null-initialised reference locals, dispatch */
  LLVMPositionBuilderAtEnd(B, entry);
  di_at(F->decl->loc);
  addr = ar_alloc(sizeof(LLVMValueRef) * (F->vars.len + 1));
  for (int v = 0; v < F->vars.len; v++) {
    IrVar *x = ir_var(F, v);
    const char *nm = x->name ? x->name : "t";
    if (x->in_frame) {
      addr[v] = LLVMBuildStructGEP2(B, w->frame_ty, v_f, x->field, nm);
    } else {
      addr[v] = LLVMBuildAlloca(B, llty(x->type), nm);
      if (ty_is_ref(x->type))
        LLVMBuildStore(B, cnull(), addr[v]);
    }
  }
  /* The dispatch gets a block of its own: FastISel cannot select a
   * `switch`, and at -O0 the block it falls back on goes through
   * SelectionDAG whole -- it must not be the entry with every variable's
   * setup in it. */
  LLVMBasicBlockRef dispatch = new_bb("dispatch");
  LLVMBuildBr(B, dispatch);
  LLVMPositionBuilderAtEnd(B, dispatch);
  LLVMValueRef st = LLVMBuildLoad2(B, t_i32, field_ptr(v_f, OFF_STATE), "state");
  LLVMValueRef sw = LLVMBuildSwitch(B, st, bad_bb, F->nstates + 1);
  LLVMAddCase(sw, ci32(0), bbs[0]);
  for (int k = 1; k <= F->nstates; k++)
    LLVMAddCase(sw, ci32(k), resume_bbs[k]);
  /* a never-started frame the runtime drops (an unneeded compensation):
   * release what it owns and finish */
  LLVMAddCase(sw, ci32(WEFT_STATE_DISCARD), exit_bb);

  /* blocks */
  maybe_assigned();
  for (int i = 0; i < F->blocks.len; i++) {
    IrBlock *b = cur_block = ir_block(F, i);
    memcpy(ma_now, ma_in[i], sizeof(uint64_t) * ma_words);
    LLVMPositionBuilderAtEnd(B, bbs[i]);
    for (int k = 0; k < b->insts.len; k++) {
      IrInst *in = b->insts.data[k];
      di_at(in->loc);
      gen_inst(in);
    }
    di_at(b->term.loc);
    switch (b->term.op) {
    case T_JUMP: LLVMBuildBr(B, bbs[b->succ[0]]); break;
    case T_BRANCH: LLVMBuildCondBr(B, load_var(b->term.a), bbs[b->succ[0]], bbs[b->succ[1]]); break;
    case T_RETURN:
      if (b->term.a >= 0 && F->result_field >= 0) {
        LLVMValueRef v = load_var(b->term.a);
        retain_if_ref(F->decl->ret, v);
        LLVMBuildStore(B, v, LLVMBuildStructGEP2(B, w->frame_ty, v_f, F->result_field, "result"));
      }
      LLVMBuildBr(B, exit_bb);
      break;
    case T_CALL:
      if (b->term.decl->kind == D_ACTIVITY)
        gen_act_call(b, resume_bbs[b->state]);
      else
        gen_call(b, resume_bbs[b->state]);
      break;
    case T_FAIL: {
      LLVMValueRef loc = srcloc(b->term.loc, w->name_str);
      if (b->term.sub == 1)
        CALL(RT_RERAISE, v_rt, v_f, load_var(b->term.a));
      else
        CALL(RT_RAISE, v_rt, v_f, kind_global(b->term.decl),
             b->term.a >= 0 ? load_var(b->term.a) : cnull(), loc);
      LLVMBuildBr(B, handler_bb(b->term.handler));
      break;
    }
    case T_UNWIND: LLVMBuildBr(B, handler_bb(b->term.handler)); break;
    case T_JOIN: gen_join(b, resume_bbs[b->state]); break;
    case T_JOIN_FOR: gen_join_for(b, resume_bbs[b->state]); break;
    case T_SLEEP: gen_sleep(b, resume_bbs[b->state]); break;
    default: diag_ice("codegen: block b%d of %s has no terminator", i, F->name);
    }
  }

  ma_now = NULL; /* store_var outside the blocks knows nothing */

  /* exit and unwind share the releases: one copy of release_all per
   * workflow (it is as long as the workflow has reference variables) */
  LLVMBasicBlockRef fin = new_bb("finish"), ok = new_bb("finish.done"), bad = new_bb("finish.failed");
  LLVMPositionBuilderAtEnd(B, exit_bb);
  LLVMBuildBr(B, fin);
  LLVMPositionBuilderAtEnd(B, unwind_bb);
  LLVMBuildBr(B, fin);
  LLVMPositionBuilderAtEnd(B, fin);
  LLVMValueRef failed = LLVMBuildPhi(B, t_i1, "failed");
  LLVMAddIncoming(failed, (LLVMValueRef[]){LLVMConstInt(t_i1, 0, 0), LLVMConstInt(t_i1, 1, 0)},
                  (LLVMBasicBlockRef[]){exit_bb, unwind_bb}, 2);
  release_all();
  set_state(0xffffffff);
  LLVMBuildCondBr(B, failed, bad, ok);
  LLVMPositionBuilderAtEnd(B, ok);
  LLVMBuildRet(B, CALL(RT_DONE, v_rt, v_f));
  LLVMPositionBuilderAtEnd(B, bad);
  LLVMBuildRet(B, CALL(RT_FAILED, v_rt, v_f));

  /* Resuming a finished frame (or a corrupt state) is a failure, not UB. */
  LLVMPositionBuilderAtEnd(B, bad_bb);
  RaiseArg ra = {RT_RAISE_CSTR, srcloc(F->decl->loc, w->name_str), 0, 0,
                 "resumed a workflow frame that is not suspended"};
  do_raise(&ra);
  LLVMBuildRet(B, CALL(RT_FAILED, v_rt, v_f));
}

static void define_main(Decl *main_decl) {
  Wf *w = wf_of(main_decl);
  LLVMTypeRef mty = LLVMFunctionType(t_i32, (LLVMTypeRef[]){t_i32, t_ptr}, 2, 0);
  LLVMValueRef m = LLVMAddFunction(M, "main", mty);
  LLVMSetCurrentDebugLocation2(B, NULL);
  di_scope = NULL;
  LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(C, m, "entry"));
  uint32_t flags = 0;
  if (main_decl->ret && main_decl->ret->kind == TY_INT)
    flags |= WEFT_MAIN_RETURNS_INT;
  if (main_decl->nparams == 1)
    flags |= WEFT_MAIN_TAKES_ARGS;
  LLVMValueRef r = CALL(RT_MAIN, LLVMGetParam(m, 0), LLVMGetParam(m, 1), w->info, ci32(flags));
  LLVMBuildRet(B, r);
}

/* ---------------------------------------------------------------- embedding: exported start functions
 *
 * For each workflow of the root file (hdr_exported), two C functions the
 * header of header.c declares (types: weft.h, "Embedding"):
 *   ptr  PREFIX_W_start(ptr rt, C params...)  a root frame of W, parameters
 *        stored (str copied, references retained), weft_root_start'ed;
 *        NULL when rt or a reference argument (not str) is NULL
 *   i32  PREFIX_W_result(ptr rt, ptr root [, ptr out])  weft_root_result
 *        checks root (a root of rt, of W, DONE), then *out = the result:
 *        str as its bytes, bool as a C bool, references borrowed
 * and every `error X` of the root file is defined (weft_kind_X), used or
 * not, so the host can name it. */

static LLVMValueRef embed_rt_fn(const char *name, LLVMTypeRef ty) {
  LLVMValueRef fn = LLVMGetNamedFunction(M, name);
  if (!fn)
    fn = LLVMAddFunction(M, name, ty);
  return fn;
}

static void embed_start(Wf *w, const char *prefix) {
  Decl *d = w->ir->decl;
  IrFunc *cf = w->ir;
  LLVMTypeRef *ps = ar_alloc(sizeof(LLVMTypeRef) * (d->nparams + 1));
  ps[0] = t_ptr;
  for (int i = 0; i < d->nparams; i++)
    ps[i + 1] = c_type(d->params[i].type);
  LLVMValueRef fn = LLVMAddFunction(M, ar_printf("%s_%s_start", prefix, d->name),
                                    LLVMFunctionType(t_ptr, ps, d->nparams + 1, 0));
  LLVMValueRef rtv = LLVMGetParam(fn, 0);
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(C, fn, "entry");
  LLVMBasicBlockRef refuse = LLVMAppendBasicBlockInContext(C, fn, "refuse");
  LLVMPositionBuilderAtEnd(B, refuse);
  LLVMBuildRet(B, cnull());
  LLVMPositionBuilderAtEnd(B, entry);
  /* rt and every list/record/tuple/error argument must be non-NULL */
  for (int i = -1; i < d->nparams; i++) {
    if (i >= 0 && (!ty_is_ref(d->params[i].type) || d->params[i].type->kind == TY_STR))
      continue;
    LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(C, fn, "arg.ok");
    LLVMBuildCondBr(B, LLVMBuildIsNull(B, LLVMGetParam(fn, (unsigned)(i + 1)), ""), refuse, next);
    LLVMPositionBuilderAtEnd(B, next);
  }
  /* zero-filled, so a slot the root never stores reads as NULL */
  LLVMTypeRef aty = LLVMFunctionType(t_ptr, (LLVMTypeRef[]){t_ptr, t_i32}, 2, 0);
  LLVMValueRef f = LLVMBuildCall2(B, aty, embed_rt_fn("weft_frame_alloc", aty), (LLVMValueRef[]){rtv,
                                  ci32((int64_t)LLVMABISizeOfType(TD, w->frame_ty))}, 2, "root");
  LLVMBuildStore(B, w->info, field_ptr(f, OFF_FN));
  for (int i = 0; i < cf->vars.len; i++) {
    IrVar *pv = ir_var(cf, i);
    if (!pv->is_param || pv->param_index >= d->nparams)
      continue;
    LLVMValueRef v = LLVMGetParam(fn, (unsigned)(pv->param_index + 1));
    if (pv->type->kind == TY_STR)
      v = CALL(RT_STR_CSTR, v); /* a copy the frame owns */
    else if (pv->type->kind == TY_BOOL)
      v = LLVMBuildICmp(B, LLVMIntNE, v, LLVMConstInt(t_i8, 0, 0), "");
    else
      retain_if_ref(pv->type, v);
    LLVMBuildStore(B, v, LLVMBuildStructGEP2(B, w->frame_ty, f, pv->field, ""));
  }
  LLVMTypeRef sty = LLVMFunctionType(t_i32, (LLVMTypeRef[]){t_ptr, t_ptr, t_i32}, 3, 0);
  LLVMValueRef rc = LLVMBuildCall2(B, sty, embed_rt_fn("weft_root_start", sty),
                                   (LLVMValueRef[]){rtv, f, ci32(act_result_kind(ret_type(d)))}, 3, "");
  LLVMBuildRet(B, LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntEQ, rc, ci32(0), ""), f, cnull(), ""));
}

static void embed_result(Wf *w, const char *prefix) {
  Decl *d = w->ir->decl;
  Type *t = ret_type(d);
  LLVMTypeRef fty = LLVMFunctionType(t_i32, (LLVMTypeRef[]){t_ptr, t_ptr, t_ptr}, t ? 3 : 2, 0);
  LLVMValueRef fn = LLVMAddFunction(M, ar_printf("%s_%s_result", prefix, d->name), fty);
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(C, fn, "entry");
  LLVMBasicBlockRef fail = LLVMAppendBasicBlockInContext(C, fn, "not.done");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(C, fn, "done");
  LLVMPositionBuilderAtEnd(B, entry);
  LLVMValueRef slot = LLVMBuildAlloca(B, t_ptr, "slot");
  LLVMTypeRef rty = LLVMFunctionType(t_i32, (LLVMTypeRef[]){t_ptr, t_ptr, t_ptr, t_ptr}, 4, 0);
  LLVMValueRef rc = LLVMBuildCall2(B, rty, embed_rt_fn("weft_root_result", rty),
                                   (LLVMValueRef[]){LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), w->info, slot}, 4, "");
  LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, rc, ci32(0), ""), done, fail);
  LLVMPositionBuilderAtEnd(B, fail);
  LLVMBuildRet(B, rc);
  LLVMPositionBuilderAtEnd(B, done);
  if (t) {
    LLVMValueRef out = LLVMGetParam(fn, 2);
    LLVMBasicBlockRef store = LLVMAppendBasicBlockInContext(C, fn, "store");
    LLVMBasicBlockRef ret = LLVMAppendBasicBlockInContext(C, fn, "ret");
    LLVMBuildCondBr(B, LLVMBuildIsNull(B, out, ""), ret, store);
    LLVMPositionBuilderAtEnd(B, store);
    LLVMValueRef v = LLVMBuildLoad2(B, llty(t), LLVMBuildLoad2(B, t_ptr, slot, ""), "result");
    if (t->kind == TY_STR)
      v = field_ptr(v, 16); /* the bytes, borrowed from the root */
    else if (t->kind == TY_BOOL)
      v = LLVMBuildZExt(B, v, t_i8, "");
    LLVMBuildStore(B, v, out);
    LLVMBuildBr(B, ret);
    LLVMPositionBuilderAtEnd(B, ret);
  }
  LLVMBuildRet(B, ci32(0));
}

static void define_embedding(Program *p, const char *prefix) {
  LLVMSetCurrentDebugLocation2(B, NULL);
  di_scope = NULL;
  for (int i = 0; i < p->decls.len; i++) {
    Decl *d = p->decls.data[i];
    if (d->kind == D_ERROR && p->modules && d->module == p->modules->file)
      kind_global(d);
    if (!hdr_exported(p, d))
      continue;
    embed_start(wf_of(d), prefix);
    embed_result(wf_of(d), prefix);
  }
}

/* ---------------------------------------------------------------- frames report */

static void print_frames(FILE *out) {
  for (int i = 0; i < nwfs; i++) {
    Wf *w = &wfs[i];
    IrFunc *f = w->ir;
    Loc l = f->decl->loc;
    fprintf(out, "workflow %s (%s:%d): frame %llu bytes, %d suspension state%s\n", f->name,
            src_get(l.file)->path, l.line, (unsigned long long)LLVMABISizeOfType(TD, w->frame_ty),
            f->nstates, f->nstates == 1 ? "" : "s");
    fprintf(out, "  %6s %5s  %s\n", "offset", "size", "slot");
    fprintf(out, "  %6d %5d  header\n", 0, 48);
    for (int fld = 1; fld < f->nfields; fld++) {
      unsigned long long off = LLVMOffsetOfElement(TD, w->frame_ty, fld);
      unsigned long long size = LLVMABISizeOfType(TD, LLVMStructGetTypeAtIndex(w->frame_ty, fld));
      const char *what = NULL;
      if (fld == f->result_field)
        what = ar_printf("result: %s", ty_name(f->decl->ret));
      else if (fld == f->await_field)
        what = f->has_join    ? ar_printf("await: join + %d branch slot%s", f->max_branches, f->max_branches == 1 ? "" : "s")
               : f->has_sleep ? "await: timer / child frame"
                              : "await: child frame";
      for (int v = 0; !what && v < f->vars.len; v++) {
        IrVar *x = ir_var(f, v);
        if (x->field == fld)
          what = ar_printf("%s %s: %s", x->is_param ? "param" : x->name ? "var" : "temp",
                           x->name ? x->name : ar_printf("t%d", v), ty_name(x->type));
      }
      fprintf(out, "  %6llu %5llu  %s\n", off, size, what ? what : "?");
    }
  }
}

/* ---------------------------------------------------------------- driver entry */

static bool setup_target(const CgOptions *opt) {
  LLVMInitializeNativeTarget();
  LLVMInitializeNativeAsmPrinter();
  char *triple = opt->target_triple ? strdup(opt->target_triple) : LLVMGetDefaultTargetTriple();
  LLVMTargetRef target;
  char *err = NULL;
  if (LLVMGetTargetFromTriple(triple, &target, &err)) {
    diag_error_plain("unknown target '%s': %s", triple, err);
    LLVMDisposeMessage(err);
    return false;
  }
  LLVMCodeGenOptLevel lvl = opt->opt_level <= 0   ? LLVMCodeGenLevelNone
                            : opt->opt_level == 1 ? LLVMCodeGenLevelLess
                            : opt->opt_level == 2 ? LLVMCodeGenLevelDefault
                                                  : LLVMCodeGenLevelAggressive;
  char *cpu = LLVMGetHostCPUName();
  char *features = LLVMGetHostCPUFeatures();
  if (opt->target_triple) {
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    cpu = strdup("generic");
    features = strdup("");
  }
  TM = LLVMCreateTargetMachine(target, triple, cpu, features, lvl, LLVMRelocPIC, LLVMCodeModelDefault);
  TD = LLVMCreateTargetDataLayout(TM);
  LLVMSetTarget(M, triple);
  char *dl = LLVMCopyStringRepOfTargetData(TD);
  LLVMSetDataLayout(M, dl);
  LLVMDisposeMessage(dl);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  LLVMDisposeMessage(triple);
  return true;
}

bool cg_program(Program *p, const CgOptions *opt, EmitKind kind, const char *out_path) {
  C = LLVMContextCreate();
  const char *mod_name = p->modules ? src_get(p->modules->file)->path : "weft";
  M = LLVMModuleCreateWithNameInContext(mod_name, C);
  B = LLVMCreateBuilderInContext(C);
  strlits = NULL;
  if (!setup_target(opt))
    return false;

  t_i1 = LLVMInt1TypeInContext(C);
  t_i8 = LLVMInt8TypeInContext(C);
  t_i16 = LLVMInt16TypeInContext(C);
  t_i32 = LLVMInt32TypeInContext(C);
  t_i64 = LLVMInt64TypeInContext(C);
  t_f64 = LLVMDoubleTypeInContext(C);
  t_ptr = LLVMPointerTypeInContext(C, 0);
  t_void = LLVMVoidTypeInContext(C);
  t_hdr = LLVMStructCreateNamed(C, "weft.frame");
  LLVMStructSetBody(t_hdr, (LLVMTypeRef[]){t_ptr, t_ptr, t_ptr, t_ptr, t_i32, t_i32, t_i32, t_i32}, 8, 0);
  t_timer = LLVMArrayType2(t_i64, 5);
  t_info = LLVMStructCreateNamed(C, "weft.fninfo");
  LLVMStructSetBody(t_info, (LLVMTypeRef[]){t_ptr, t_i32, t_i32, t_ptr, t_ptr}, 5, 0);
  t_actinfo = LLVMStructCreateNamed(C, "weft.actinfo");
  LLVMStructSetBody(t_actinfo, (LLVMTypeRef[]){t_ptr, t_ptr, t_ptr, t_i32, t_i16, t_i8, t_i8, t_i64}, 8, 0);
  t_srcloc = LLVMStructCreateNamed(C, "weft.srcloc");
  LLVMStructSetBody(t_srcloc, (LLVMTypeRef[]){t_ptr, t_i32, t_i32, t_ptr}, 4, 0);
  if (LLVMABISizeOfType(TD, t_hdr) != 48)
    diag_ice("codegen: frame header is not 48 bytes on this target");
  rt_init();
  file_names = ar_alloc(sizeof(LLVMValueRef) * (src_count() + 1));
  DIB = NULL;
  if (opt->debug_info) {
    DIB = LLVMCreateDIBuilder(M);
    di_files = ar_alloc(sizeof(LLVMMetadataRef) * (src_count() + 1));
    const char *producer = "weftc";
    LLVMDIBuilderCreateCompileUnit(DIB, LLVMDWARFSourceLanguageC, di_file(p->modules ? p->modules->file : 0),
                                   producer, strlen(producer), opt->opt_level > 0, "", 0, 0, "", 0,
                                   LLVMDWARFEmissionFull, 0, 0, 0, "", 0, "", 0);
    LLVMAddModuleFlag(M, LLVMModuleFlagBehaviorWarning, "Debug Info Version", 18,
                      LLVMValueAsMetadata(LLVMConstInt(LLVMInt32TypeInContext(C), LLVMDebugMetadataVersion(), 0)));
    LLVMAddModuleFlag(M, LLVMModuleFlagBehaviorWarning, "Dwarf Version", 13,
                      LLVMValueAsMetadata(LLVMConstInt(LLVMInt32TypeInContext(C), 5, 0)));
  }

  /* pass 1: lower every workflow, lay out frames, declare functions */
  nwfs = 0;
  low_helpers_init();
  wfs = ar_alloc(sizeof(Wf) * (p->decls.len + low_helpers.len + 1));
  for (int i = 0; i < p->decls.len; i++) {
    Decl *d = p->decls.data[i];
    if (d->kind == D_WORKFLOW && d->body)
      wfs[nwfs++].ir = low_workflow(d);
  }
  /* compensation blocks lowered above became workflows of their own; they
   * may contain more (lowering them can add further ones) */
  for (int k = 0; k < low_synthetic.len; k++) {
    Wf *grown = ar_alloc(sizeof(Wf) * (nwfs + 1));
    memcpy(grown, wfs, sizeof(Wf) * nwfs);
    wfs = grown;
    wfs[nwfs++].ir = low_workflow(low_synthetic.data[k]);
  }
  /* the hand-built helpers (sleep as a branch, timeouts) only when used */
  for (int k = 0; k < low_helpers.len; k++) {
    IrFunc *h = low_helpers.data[k];
    if (!h->decl->used)
      continue;
    Wf *grown = ar_alloc(sizeof(Wf) * (nwfs + 1));
    memcpy(grown, wfs, sizeof(Wf) * nwfs);
    wfs = grown;
    wfs[nwfs++].ir = h;
  }
  for (int i = 0; i < nwfs; i++)
    declare_workflow(&wfs[i]);
  if (getenv("WEFTC_DUMP_IR"))
    for (int i = 0; i < nwfs; i++)
      ir_dump(wfs[i].ir, stderr);

  if (kind == EMIT_FRAMES) {
    FILE *out = (!out_path || strcmp(out_path, "-") == 0) ? stdout : fopen(out_path, "w");
    if (!out) {
      diag_error_plain("cannot write '%s': %s", out_path, strerror(errno));
      return false;
    }
    print_frames(out);
    if (out != stdout)
      fclose(out);
    else
      fflush(stdout);
    return true;
  }

  /* pass 2: bodies */
  for (int i = 0; i < nwfs; i++)
    define_workflow(&wfs[i]);
  if (opt->emit_main && p->main)
    define_main(p->main);
  if (opt->embed_prefix)
    define_embedding(p, opt->embed_prefix);

  if (DIB) {
    LLVMDIBuilderFinalize(DIB);
    LLVMDisposeDIBuilder(DIB);
    DIB = NULL;
  }
  if (opt->verify) {
    char *msg = NULL;
    if (LLVMVerifyModule(M, LLVMReturnStatusAction, &msg)) {
      fprintf(stderr, "%s\n", msg);
      LLVMDumpModule(M);
      diag_ice("codegen: the LLVM module does not verify");
    }
    LLVMDisposeMessage(msg);
  }

  if (opt->opt_level > 0) {
    LLVMPassBuilderOptionsRef pbo = LLVMCreatePassBuilderOptions();
    char passes[32];
    snprintf(passes, sizeof passes, "default<O%d>", opt->opt_level > 3 ? 3 : opt->opt_level);
    LLVMErrorRef e = LLVMRunPasses(M, passes, TM, pbo);
    if (e) {
      char *m = LLVMGetErrorMessage(e);
      diag_ice("codegen: optimisation failed: %s", m);
    }
    LLVMDisposePassBuilderOptions(pbo);
  }

  bool ok = true;
  char *err = NULL;
  if (kind == EMIT_LLVM_IR) {
    if (!out_path || strcmp(out_path, "-") == 0) {
      char *s = LLVMPrintModuleToString(M);
      fputs(s, stdout);
      fflush(stdout);
      LLVMDisposeMessage(s);
    } else if (LLVMPrintModuleToFile(M, out_path, &err)) {
      diag_error_plain("cannot write '%s': %s", out_path, err);
      ok = false;
    }
  } else {
    LLVMCodeGenFileType ft = kind == EMIT_ASM ? LLVMAssemblyFile : LLVMObjectFile;
    if (!out_path || strcmp(out_path, "-") == 0) {
      LLVMMemoryBufferRef buf;
      if (LLVMTargetMachineEmitToMemoryBuffer(TM, M, ft, &err, &buf)) {
        diag_error_plain("code generation failed: %s", err);
        ok = false;
      } else {
        fwrite(LLVMGetBufferStart(buf), 1, LLVMGetBufferSize(buf), stdout);
        fflush(stdout);
        LLVMDisposeMemoryBuffer(buf);
      }
    } else if (LLVMTargetMachineEmitToFile(TM, M, (char *)out_path, ft, &err)) {
      diag_error_plain("cannot write '%s': %s", out_path, err);
      ok = false;
    }
  }
  if (err)
    LLVMDisposeMessage(err);
  LLVMDisposeTargetData(TD);
  LLVMDisposeTargetMachine(TM);
  LLVMDisposeBuilder(B);
  /* Like clang's -disable-free: weftc exits right after this, and tearing
   * down a big module costs ~5% of an -O0 compile. M and C stay reachable
   * from these statics, so leak checkers do not count them. */
  return ok;
}
