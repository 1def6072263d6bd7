/* failure.c -- failures (raised errors), cause chains and reports.
 *
 * Failures are refcounted heap values (tag WEFT_TAG_FAILURE; weft_release in
 * value.c frees them and their children), so they count as live objects and
 * a leaked failure is reported even when its message is an immortal literal.
 * Once caught into a variable a failure may be shared: only cause/attachment
 * links are ever added to it, never removed.
 */
#include "weft_private.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const weft_errkind weft_kind_Error = {"Error"};
const weft_errkind weft_kind_Timeout = {"Timeout"};
const weft_errkind weft_kind_Cancelled = {"Cancelled"};
const weft_errkind weft_kind_CompensationFailed = {"CompensationFailed"};
const weft_errkind weft_kind_CircuitOpen = {"CircuitOpen"};
const weft_errkind weft_kind_ActivityFailed = {"ActivityFailed"};

weft_failure *weft_failure_new(const weft_errkind *kind, weft_str *msg, const weft_srcloc *loc) {
  weft_failure *e = weft__value_alloc(sizeof *e, WEFT_TAG_FAILURE, 0);
  e->kind = kind ? kind : &weft_kind_Error;
  if (msg) weft_retain(msg);
  else msg = weft_str_new(NULL, 0);
  e->message = msg;
  e->loc = loc;
  e->cause = NULL;
  e->attached = NULL;
  e->nattached = e->cap = 0;
  e->log = NULL;
  e->nlog = e->logcap = 0;
  return e;
}

void weft__failure_log(weft_failure *e, const char *name, weft_failure *failed) {
  if (e->nlog == e->logcap) {
    e->logcap = e->logcap ? 2 * e->logcap : 8;
    e->log = weft__xrealloc(e->log, e->logcap * sizeof *e->log);
  }
  e->log[e->nlog].name = name ? name : "?";
  e->log[e->nlog].failure = failed;
  e->nlog++;
}

void weft_failure_free(weft_failure *e) { weft_release(e); }

const weft_errkind *weft_failure_kind(const weft_failure *e) { return e->kind; }
weft_str *weft_failure_message(const weft_failure *e) { return e->message; }
const weft_srcloc *weft_failure_loc(const weft_failure *e) { return e->loc; }
weft_failure *weft_failure_cause(const weft_failure *e) { return e->cause; }
uint32_t weft_failure_nattached(const weft_failure *e) { return e->nattached; }

bool weft_failure_is(const weft_failure *e, const weft_errkind *kind) {
  if (!e) return false;
  return kind ? e->kind == kind : e->kind != &weft_kind_Cancelled;
}

weft_failure *weft_failure_attached(const weft_failure *e, uint32_t i) {
  return i < e->nattached ? e->attached[i] : NULL;
}

static bool chain_has(const weft_failure *chain, const weft_failure *x) {
  for (; chain; chain = chain->cause)
    if (chain == x) return true;
  return false;
}

void weft_failure_add_cause(weft_failure *e, weft_failure *cause) {
  if (!cause) return;
  if (!e || chain_has(e, cause) || chain_has(cause, e)) {
    weft_release(cause); /* already there, or linking would make a cycle */
    return;
  }
  weft_failure *last = e;
  while (last->cause) last = last->cause;
  last->cause = cause;
}

void weft_failure_attach(weft_failure *e, weft_failure *other) {
  if (!other) return;
  if (other == e) { /* would be a cycle */
    weft_release(other);
    return;
  }
  if (e->nattached == e->cap) {
    e->cap = e->cap ? 2 * e->cap : 4;
    e->attached = weft__xrealloc(e->attached, e->cap * sizeof *e->attached);
  }
  e->attached[e->nattached++] = other;
}

weft_str *weft_failure_kind_str(weft_failure *e) { return weft_str_from_cstr(e->kind->name); }

weft_str *weft_failure_message_str(weft_failure *e) {
  weft_retain(e->message);
  return e->message;
}

weft_failure *weft_failure_take(weft_frame *f) {
  weft_failure *e = f->failure;
  f->failure = NULL;
  return e;
}

void weft_raise(weft_rt *rt, weft_frame *f, const weft_errkind *kind, weft_str *msg,
                const weft_srcloc *loc) {
  (void)rt;
  weft_failure *e = weft_failure_new(kind, msg, loc);
  e->cause = f->failure; /* the failure in flight becomes the cause */
  f->failure = e;
}

void weft_reraise(weft_rt *rt, weft_frame *f, weft_failure *e) {
  (void)rt;
  weft_failure *pending = f->failure;
  weft_retain(e);
  f->failure = e;
  weft_failure_add_cause(e, pending);
}

void weft_raise_cstr(weft_rt *rt, weft_frame *f, const weft_errkind *kind, const char *msg,
                     const weft_srcloc *loc) {
  weft_str *s = weft_str_from_cstr(msg);
  weft_raise(rt, f, kind, s, loc);
  weft_release(s);
}

void weft_raise_index(weft_rt *rt, weft_frame *f, int64_t idx, int64_t len, const weft_srcloc *loc) {
  char buf[96];
  snprintf(buf, sizeof buf, "index %" PRId64 " out of range for list of length %" PRId64, idx, len);
  weft_raise_cstr(rt, f, &weft_kind_Error, buf, loc);
}

void weft_raise_div0(weft_rt *rt, weft_frame *f, const weft_srcloc *loc) {
  weft_raise_cstr(rt, f, &weft_kind_Error, "division by zero", loc);
}

void weft_raise_overflow(weft_rt *rt, weft_frame *f, const weft_srcloc *loc) {
  weft_raise_cstr(rt, f, &weft_kind_Error, "integer overflow", loc);
}

uint32_t weft__failed_status(const weft_failure *e) {
  return e && e->kind == &weft_kind_Cancelled ? WEFT_CANCELLED : WEFT_FAILED;
}

/* ---- shielding ---------------------------------------------------------------- */

void weft_shield(weft_frame *f) {
  if (WEFT__UNLIKELY((f->flags & WEFT_FLAG_SHIELD_MASK) == WEFT_FLAG_SHIELD_MASK))
    weft__internal_error("shields nested too deeply");
  f->flags++;
}

bool weft_unshield(weft_rt *rt, weft_frame *f, int32_t sub) {
  if (WEFT__UNLIKELY(!(f->flags & WEFT_FLAG_SHIELD_MASK)))
    weft__internal_error("unbalanced unshield in workflow %s",
                         f->fn && f->fn->name ? f->fn->name : "?");
  f->flags--;
  if ((f->flags & WEFT_FLAG_SHIELD_MASK) || !(f->flags & WEFT_FLAG_CANCEL_PENDING)) return false;
  /* sub == 0: the caller does not look at the result (it puts a failure
   * back, or leaves through return/break): raising here would be lost, so
   * the cancellation stays pending for the next suspension. */
  if (!sub) return false;
  /* The deferred cancellation is delivered here: the frame unwinds with a
   * Cancelled failure in flight. */
  f->flags &= ~WEFT_FLAG_CANCEL_PENDING;
  weft_raise_cstr(rt, f, &weft_kind_Cancelled, "cancelled", NULL);
  return true;
}

/* ---- report ------------------------------------------------------------------ */

static void report_one(const weft_failure *e, const char *lead, const char *indent, FILE *out) {
  fprintf(out, "%s%s%s", indent, lead, e->kind->name ? e->kind->name : "?");
  if (e->message->len) {
    fputs(": ", out);
    fwrite(e->message->data, 1, (size_t)e->message->len, out);
  }
  fputc('\n', out);
  const weft_srcloc *l = e->loc;
  if (l) {
    fprintf(out, "%s  at %s:%" PRIu32 ":%" PRIu32, indent, l->file ? l->file : "?", l->line, l->col);
    if (l->func) fprintf(out, " in workflow %s", l->func);
    fputc('\n', out);
  }
}

/* One failure, then its cause chain, then its attachments (each with their
 * own chains) one level deeper. */
static void report_tree(const weft_failure *e, const char *lead, unsigned depth, FILE *out) {
  char indent[64];
  unsigned n = depth * 2 < sizeof indent - 1 ? depth * 2 : (unsigned)sizeof indent - 1;
  memset(indent, ' ', n);
  indent[n] = '\0';
  report_one(e, lead, indent, out);
  for (const weft_failure *c = e->cause; c; c = c->cause) report_one(c, "caused by: ", indent, out);
  for (uint32_t i = 0; i < e->nattached; i++)
    report_tree(e->attached[i], "also failed: ", depth + 1, out);
}

void weft_failure_report(const weft_failure *e, FILE *out) {
  report_tree(e, "error: ", 0, out);
  if (!e->nlog) return;
  fputs("compensations run:\n", out);
  for (uint32_t i = 0; i < e->nlog; i++) {
    const weft_failure *c = e->log[i].failure;
    fprintf(out, "  %s %s", e->log[i].name, c ? "failed: " : "ok");
    if (c) {
      fputs(c->kind->name ? c->kind->name : "?", out);
      if (c->message->len) {
        fputs(": ", out);
        fwrite(c->message->data, 1, (size_t)c->message->len, out);
      }
    }
    fputc('\n', out);
  }
}
