/* frame.c -- liveness across suspension points and the frame layout.
 *
 * A var lives in the frame only when it is live across some suspension
 * (its value is needed after a resume, i.e. in a later activation of the
 * resume function), or when it is a parameter (the caller writes arguments
 * into the frame). Every other var is an SSA-able local of one activation.
 *
 * Frame struct fields, in order:
 *   0        the 48-byte runtime header (struct weft_frame)
 *   result   the return value, when the workflow returns one (the parent
 *            reads it from the finished child)
 *   params   in declaration order
 *   await    what a suspension waits on (one thing at a time): the child
 *            frame pointer, a weft_timer (40 bytes) whose first word doubles
 *            as the child pointer, or a weft_join (40 bytes) followed by the
 *            branch pointers of the widest `all`/`race` in the workflow;
 *            weft_fninfo.await_off tells the runtime where it is
 *   vars     the other vars live across a suspension, in var order
 */
#include "ir.h"

#include <string.h>

int frm_words(IrFunc *fn) { return (fn->vars.len + 63) / 64; }

static inline void bs_set(uint64_t *s, int i) { s[i / 64] |= 1ull << (i % 64); }
static inline void bs_clr(uint64_t *s, int i) { s[i / 64] &= ~(1ull << (i % 64)); }
static inline bool bs_has(const uint64_t *s, int i) { return (s[i / 64] >> (i % 64)) & 1; }

/* use/def of one instruction, applied backwards: live = (live - def) | use */
static void step_back(uint64_t *live, const IrInst *in) {
  if (in->dst >= 0)
    bs_clr(live, in->dst);
  if (in->a >= 0)
    bs_set(live, in->a);
  if (in->b >= 0)
    bs_set(live, in->b);
  if (in->op == T_JOIN && in->bargs) {
    for (int i = 0; i < in->nargs; i++)
      for (int k = 0; k < in->bnargs[i]; k++)
        if (in->bargs[i][k] >= 0)
          bs_set(live, in->bargs[i][k]);
    return;
  }
  for (int k = 0; k < in->nargs; k++)
    if (in->args[k] >= 0)
      bs_set(live, in->args[k]);
}

static void liveness(IrFunc *fn) {
  int w = frm_words(fn);
  int nb = fn->blocks.len;
  for (int i = 0; i < nb; i++) {
    IrBlock *b = ir_block(fn, i);
    b->live_in = ar_alloc(sizeof(uint64_t) * (w ? w : 1));
    b->live_out = ar_alloc(sizeof(uint64_t) * (w ? w : 1));
  }
  uint64_t *tmp = ar_alloc(sizeof(uint64_t) * (w ? w : 1));
  /* Iterate to a fixed point; blocks in reverse order converge fast. */
  for (bool changed = true; changed;) {
    changed = false;
    for (int i = nb - 1; i >= 0; i--) {
      IrBlock *b = ir_block(fn, i);
      memset(tmp, 0, sizeof(uint64_t) * w);
      for (int s = 0; s < b->nsucc; s++) {
        IrBlock *succ = ir_block(fn, b->succ[s]);
        for (int k = 0; k < w; k++)
          tmp[k] |= succ->live_in[k];
      }
      /* Failure edges: a handler may run from any instruction that names it,
       * or after the suspension that ends the block (a child's failure, a
       * cancellation). Counting them at the block's end is conservative:
       * what a handler needs is kept across the block's suspension. */
      for (int k = -1; k < b->insts.len; k++) {
        IrInst *in = k < 0 ? &b->term : b->insts.data[k];
        if (in->handler >= 0) {
          IrBlock *h = ir_block(fn, in->handler);
          for (int j = 0; j < w; j++)
            tmp[j] |= h->live_in[j];
        }
      }
      memcpy(b->live_out, tmp, sizeof(uint64_t) * w);
      step_back(tmp, &b->term);
      for (int k = b->insts.len - 1; k >= 0; k--)
        step_back(tmp, b->insts.data[k]);
      if (memcmp(tmp, b->live_in, sizeof(uint64_t) * w) != 0) {
        memcpy(b->live_in, tmp, sizeof(uint64_t) * w);
        changed = true;
      }
    }
  }
}

void frm_layout(IrFunc *fn) {
  liveness(fn);
  for (int i = 0; i < fn->vars.len; i++) {
    IrVar *v = ir_var(fn, i);
    v->in_frame = v->is_param;
    v->field = -1;
  }
  /* live across suspension k = live-out of its block, minus the value the
   * resume defines */
  for (int s = 0; s < fn->suspends.len; s++) {
    IrBlock *b = fn->suspends.data[s];
    for (int i = 0; i < fn->vars.len; i++)
      if (bs_has(b->live_out, i) && i != b->term.dst)
        ir_var(fn, i)->in_frame = true;
  }
  int field = 1;
  Type *ret = fn->decl->ret;
  fn->result_field = (ret && ret->kind != TY_UNIT && ret->kind != TY_INVALID) ? field++ : -1;
  for (int p = 0; p < fn->decl->nparams; p++)
    for (int i = 0; i < fn->vars.len; i++) {
      IrVar *v = ir_var(fn, i);
      if (v->is_param && v->param_index == p)
        v->field = field++;
    }
  fn->await_field = fn->nstates ? field++ : -1;
  for (int i = 0; i < fn->vars.len; i++) {
    IrVar *v = ir_var(fn, i);
    if (v->in_frame && v->field < 0)
      v->field = field++;
  }
  fn->nfields = field;
}
