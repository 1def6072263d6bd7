/* failure.c -- failures (raised errors), cause chains and reports.
 *
 * A failure owns its message, its cause (a chain through `cause`) and its
 * attachments. Failures are rare, so plain malloc; they count as live objects
 * (weft_objects_live) so that a leaked failure is reported even when its
 * message is an immortal literal.
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

struct weft_failure {
  const weft_errkind *kind;
  weft_str *message; /* owned */
  const weft_srcloc *loc; /* static, may be NULL */
  weft_failure *cause; /* owned */
  weft_failure **attached; /* owned array of owned failures */
  uint32_t nattached, cap;
};

weft_failure *weft_failure_new(const weft_errkind *kind, weft_str *msg, const weft_srcloc *loc) {
  weft_failure *e = weft__xcalloc(1, sizeof *e);
  e->kind = kind ? kind : &weft_kind_Error;
  if (msg) weft_retain(msg);
  else msg = weft_str_new(NULL, 0);
  e->message = msg;
  e->loc = loc;
  weft__objects_live++;
  return e;
}

void weft_failure_free(weft_failure *e) {
  /* Iterative along the cause chain (it can grow long, e.g. a retry loop that
   * replaces failures); attachments recurse, but they are shallow. */
  while (e) {
    weft_failure *cause = e->cause;
    for (uint32_t i = 0; i < e->nattached; i++) weft_failure_free(e->attached[i]);
    free(e->attached);
    weft_release(e->message);
    free(e);
    weft__objects_live--;
    e = cause;
  }
}

const weft_errkind *weft_failure_kind(const weft_failure *e) { return e->kind; }
weft_str *weft_failure_message(const weft_failure *e) { return e->message; }
const weft_srcloc *weft_failure_loc(const weft_failure *e) { return e->loc; }
weft_failure *weft_failure_cause(const weft_failure *e) { return e->cause; }
uint32_t weft_failure_nattached(const weft_failure *e) { return e->nattached; }
bool weft_failure_is(const weft_failure *e, const weft_errkind *kind) { return e->kind == kind; }

weft_failure *weft_failure_attached(const weft_failure *e, uint32_t i) {
  return i < e->nattached ? e->attached[i] : NULL;
}

void weft_failure_set_cause(weft_failure *e, weft_failure *cause) {
  if (!cause || cause == e) return;
  if (e->cause) {
    weft_failure *last = cause;
    while (last->cause) last = last->cause;
    last->cause = e->cause;
  }
  e->cause = cause;
}

void weft_failure_attach(weft_failure *e, weft_failure *other) {
  if (!other || other == e) return;
  if (e->nattached == e->cap) {
    e->cap = e->cap ? 2 * e->cap : 4;
    e->attached = weft__xrealloc(e->attached, e->cap * sizeof *e->attached);
  }
  e->attached[e->nattached++] = other;
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
}
