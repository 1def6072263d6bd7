/* trace.c -- execution tracing (--weft-trace=FILE, WEFT_TRACE=FILE): Chrome /
 * Perfetto trace-event JSON, buffered in memory and written once, when the
 * runtime is freed.
 *
 * Off, every hook is one test of rt->trace (NULL) at its call site. On, the
 * runtime keeps a table frame -> open span (start time, lane, pending
 * sleep), keyed by address like the compensation table: a frame's span
 * opens at its first resume (weft_run) and closes when its status becomes
 * final (weft_done's fast path, weft__finish). Events are rendered to JSON
 * as they close and appended to one growable buffer.
 *
 * Lanes (the trace's tid): weft_run's root runs on lane 1, and each root
 * started with weft_root_start (embedding) on a lane of its own; a child started with
 * weft_call (and a compensation, and the compensation runner) runs on its
 * parent's lane -- it runs inside the parent's `yield`, so their spans
 * nest; each branch of a join takes a lane of its own, the lowest free one
 * (a min-heap of freed lanes), given back when the branch's span closes.
 * An activity call is a span (cat "activity") on the lane of its frame.
 * Every span on a lane lies inside the span of the frame owning the lane,
 * so spans on one lane nest properly.
 */
#include "weft_private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SPAN_OWNS_LANE 1u
#define SPAN_SLEEPING 2u
#define SPAN_COMP 4u   /* a compensation: cat "compensation" */
#define SPAN_RUNNER 8u /* the compensation runner: "compensations" */

typedef struct span {
  const weft_frame *frame; /* NULL: empty slot */
  const char *name;
  uint64_t start_us;
  uint64_t sleep_start_us;
  int64_t sleep_us;
  uint32_t lane;
  uint32_t flags;
} span;

struct weft__trace {
  FILE *out;
  char *path;
  /* rendered events, separated by ",\n" */
  char *buf;
  size_t len, cap;
  uint64_t nevents;
  weft__ptrmap spans; /* open spans: frame -> span */
  /* lanes: next never used, and a min-heap of freed ones */
  uint32_t next_lane;
  uint32_t *freed;
  size_t nfreed, freedcap;
};

/* ---- buffer ------------------------------------------------------------------ */

static void buf_reserve(weft__trace *t, size_t more) {
  if (t->len + more + 1 <= t->cap) return;
  size_t cap = t->cap ? t->cap : 4096;
  while (t->len + more + 1 > cap) cap *= 2;
  t->buf = weft__xrealloc(t->buf, cap);
  t->cap = cap;
}

static void buf_put(weft__trace *t, const char *s, size_t n) {
  buf_reserve(t, n);
  memcpy(t->buf + t->len, s, n);
  t->len += n;
  t->buf[t->len] = 0;
}

WEFT__PRINTF(2, 3) static void buf_printf(weft__trace *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    buf_put(t, small, (size_t)n);
    return;
  }
  buf_reserve(t, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  t->len += (size_t)n;
}

/* A JSON string literal of the n bytes at s (control characters escaped;
 * other bytes copied as they are). */
static void buf_jstr(weft__trace *t, const char *s, size_t n) {
  buf_put(t, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      buf_put(t, e, 2);
    } else if (c == '\n') {
      buf_put(t, "\\n", 2);
    } else if (c == '\t') {
      buf_put(t, "\\t", 2);
    } else if (c < 0x20 || c == 0x7f) {
      buf_printf(t, "\\u%04x", c);
    } else {
      buf_put(t, (const char *)&c, 1);
    }
  }
  buf_put(t, "\"", 1);
}

static void buf_jcstr(weft__trace *t, const char *s) {
  if (!s) s = "?";
  buf_jstr(t, s, strlen(s));
}

static void event_sep(weft__trace *t) {
  if (t->nevents++) buf_put(t, ",\n", 2);
}

/* ---- span table ----------------------------------------------------------------- */

static span *tab_find(weft__trace *t, const weft_frame *f) { return weft__ptrmap_find(&t->spans, f); }

/* f must not be in the table: returns its new (zeroed, keyed) span. */
static span *tab_add(weft__trace *t, const weft_frame *f) { return weft__ptrmap_add(&t->spans, f, sizeof(span)); }

static void tab_del(weft__trace *t, span *e) { weft__ptrmap_del(&t->spans, e); }

/* ---- lanes ------------------------------------------------------------------------ */

static uint32_t lane_take(weft__trace *t) {
  if (!t->nfreed) return t->next_lane++;
  uint32_t *h = t->freed, top = h[0], x = h[--t->nfreed];
  size_t n = t->nfreed, i = 0;
  for (;;) { /* sift x down from the root */
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && h[c + 1] < h[c]) c++;
    if (h[c] >= x) break;
    h[i] = h[c];
    i = c;
  }
  if (n) h[i] = x;
  return top;
}

static void lane_give(weft__trace *t, uint32_t lane) {
  if (t->nfreed == t->freedcap) {
    t->freedcap = t->freedcap ? 2 * t->freedcap : 16;
    t->freed = weft__xrealloc(t->freed, t->freedcap * sizeof *t->freed);
  }
  size_t i = t->nfreed++;
  while (i) { /* sift up */
    size_t p = (i - 1) / 2;
    if (t->freed[p] <= lane) break;
    t->freed[i] = t->freed[p];
    i = p;
  }
  t->freed[i] = lane;
}

/* ---- lifecycle ------------------------------------------------------------------- */

bool weft__trace_open(weft_rt *rt, const char *path) {
  FILE *out = fopen(path, "w");
  if (!out) {
    fflush(stdout);
    fprintf(stderr, "weft: cannot write trace file '%s': %s\n", path, strerror(errno));
    return false;
  }
  weft__trace *t = weft__xcalloc(1, sizeof *t);
  t->out = out;
  t->path = weft__xmalloc(strlen(path) + 1);
  strcpy(t->path, path);
  t->next_lane = 2; /* lane 1: the root */
  rt->trace = t;
  return true;
}

static void close_sleep(weft__trace *t, span *s, uint64_t now) {
  s->flags &= ~SPAN_SLEEPING;
  event_sep(t);
  buf_printf(t,
             "{\"name\":\"sleep\",\"cat\":\"sleep\",\"ph\":\"X\",\"pid\":1,\"tid\":%" PRIu32
             ",\"ts\":%" PRIu64 ",\"dur\":%" PRIu64 ",\"args\":{\"ms\":",
             s->lane, s->sleep_start_us, now - s->sleep_start_us);
  int64_t us = s->sleep_us;
  if (us % 1000 == 0) buf_printf(t, "%" PRId64 "}}", us / 1000);
  else buf_printf(t, "%s%" PRId64 ".%03" PRId64 "}}", us < 0 ? "-" : "",
                  (us < 0 ? -us : us) / 1000, (us < 0 ? -us : us) % 1000);
}

/* Renders the span of s up to now with the given status (NULL: from f) and
 * removes it, giving its lane back. */
static void close_span(weft__trace *t, span *s, uint64_t now, const char *status,
                       const weft_frame *f, const char *extra_args) {
  if (s->flags & SPAN_SLEEPING) close_sleep(t, s, now);
  event_sep(t);
  buf_put(t, "{\"name\":", 8);
  buf_jcstr(t, s->name);
  buf_printf(t, ",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":1,\"tid\":%" PRIu32 ",\"ts\":%" PRIu64
                ",\"dur\":%" PRIu64 ",\"args\":{",
             (s->flags & (SPAN_COMP | SPAN_RUNNER)) ? "compensation" : "workflow", s->lane,
             s->start_us, now >= s->start_us ? now - s->start_us : 0);
  if (!status && f) {
    switch (f->status) {
    case WEFT_DONE: status = "done"; break;
    case WEFT_FAILED: status = "failed"; break;
    case WEFT_CANCELLED: status = "cancelled"; break;
    default: status = "unfinished"; break;
    }
  }
  buf_printf(t, "\"status\":\"%s\"", status ? status : "unfinished");
  if (f && f->status == WEFT_FAILED && f->failure) {
    const weft_failure *e = f->failure;
    buf_put(t, ",\"kind\":", 8);
    buf_jcstr(t, e->kind && e->kind->name ? e->kind->name : "?");
    buf_put(t, ",\"message\":", 11);
    buf_jstr(t, e->message->data, (size_t)e->message->len);
  }
  if (extra_args) buf_printf(t, ",%s", extra_args);
  buf_put(t, "}}", 2);
  if (s->flags & SPAN_OWNS_LANE) lane_give(t, s->lane);
  tab_del(t, s);
}

void weft__trace_close(weft_rt *rt) {
  weft__trace *t = rt->trace;
  if (!t) return;
  rt->trace = NULL;
  /* spans still open (a deadlock, an embedding that stopped early) end now */
  for (size_t i = 0; i < t->spans.cap;) {
    span *s = weft__ptrmap_slot(&t->spans, i);
    if (s->frame) close_span(t, s, rt->now_us, "unfinished", NULL, NULL);
    else i++; /* deletion shifts a later span into slot i: look at it again */
  }
  FILE *out = t->out;
  fputs("{\"traceEvents\":[\n", out);
  fputs("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"weft\"}}", out);
  for (uint32_t lane = 1; lane < t->next_lane; lane++) {
    if (lane == 1)
      fprintf(out, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"main\"}}");
    else
      fprintf(out,
              ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%" PRIu32
              ",\"args\":{\"name\":\"branch lane %" PRIu32 "\"}}",
              lane, lane);
    fprintf(out,
            ",\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":%" PRIu32
            ",\"args\":{\"sort_index\":%" PRIu32 "}}",
            lane, lane);
  }
  if (t->len) {
    fputs(",\n", out);
    fwrite(t->buf, 1, t->len, out);
  }
  fputs("\n],\"displayTimeUnit\":\"ms\"}\n", out);
  if (ferror(out) | (fclose(out) != 0)) {
    fflush(stdout);
    fprintf(stderr, "weft: cannot write trace file '%s'\n", t->path);
  }
  free(t->path);
  free(t->buf);
  weft__ptrmap_free(&t->spans);
  free(t->freed);
  free(t);
}

/* ---- hooks ------------------------------------------------------------------------ */

static span *open_span(weft_rt *rt, weft__trace *t, weft_frame *f) {
  span *s = tab_add(t, f);
  s->name = f->fn && f->fn->name ? f->fn->name : "?";
  s->start_us = rt->now_us;
  weft_frame *p = f->parent;
  if (!p && f == rt->root) {
    s->lane = 1;
  } else if (!p) { /* a root started with weft_root_start: it runs beside the others */
    s->lane = lane_take(t);
    s->flags |= SPAN_OWNS_LANE;
  } else if (p->flags & WEFT_FLAG_AWAIT_JOIN) { /* a branch: a lane of its own */
    s->lane = lane_take(t);
    s->flags |= SPAN_OWNS_LANE;
  } else {
    span *ps = tab_find(t, p);
    s->lane = ps ? ps->lane : 1;
    if (p->flags & WEFT_FLAG_RUNNER) s->flags |= SPAN_COMP;
  }
  return s;
}

void weft__trace_resume(weft_rt *rt, weft_frame *f) {
  weft__trace *t = rt->trace;
  span *s = tab_find(t, f);
  if (!s) {
    open_span(rt, t, f);
    return;
  }
  if (s->flags & SPAN_SLEEPING) close_sleep(t, s, rt->now_us);
}

void weft__trace_end(weft_rt *rt, weft_frame *f) {
  weft__trace *t = rt->trace;
  span *s = tab_find(t, f);
  if (s) close_span(t, s, rt->now_us, NULL, f, NULL);
}

void weft__trace_sleep(weft_rt *rt, weft_frame *f, int64_t us) {
  weft__trace *t = rt->trace;
  span *s = tab_find(t, f);
  if (!s) return;
  s->flags |= SPAN_SLEEPING;
  s->sleep_start_us = rt->now_us;
  s->sleep_us = us;
}

void weft__trace_cancel(weft_rt *rt, weft_frame *f, const char *how) {
  weft__trace *t = rt->trace;
  span *s = tab_find(t, f);
  if (!s) return; /* not started: its span (status cancelled) shows it */
  event_sep(t);
  buf_printf(t,
             "{\"name\":\"cancel\",\"cat\":\"cancel\",\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%" PRIu32
             ",\"ts\":%" PRIu64 ",\"args\":{\"workflow\":",
             s->lane, rt->now_us);
  buf_jcstr(t, s->name);
  buf_printf(t, ",\"how\":\"%s\"}}", how);
}

void weft__trace_runner_start(weft_rt *rt, weft_frame *runner, weft_frame *target) {
  weft__trace *t = rt->trace;
  span *ts = tab_find(t, target);
  span *s = tab_add(t, runner);
  s->name = "compensations";
  s->start_us = rt->now_us;
  s->lane = ts ? ts->lane : 1;
  s->flags = SPAN_RUNNER;
}

void weft__trace_runner_end(weft_rt *rt, weft_frame *runner, uint32_t ran, uint32_t failed) {
  weft__trace *t = rt->trace;
  span *s = tab_find(t, runner);
  if (!s) return;
  char extra[64];
  snprintf(extra, sizeof extra, "\"ran\":%" PRIu32 ",\"failed\":%" PRIu32, ran, failed);
  close_span(t, s, rt->now_us, failed ? "failed" : "done", NULL, extra);
}

/* An activity call: one complete event on the lane of the frame that waited
 * for it (rendered when the call settles, so no table entry). */
void weft__trace_activity(weft_rt *rt, weft_frame *f, const char *name, uint64_t start_us,
                          const char *status, bool blocking) {
  weft__trace *t = rt->trace;
  span *fs = tab_find(t, f);
  uint64_t now = weft__clock_peek(rt); /* a blocking call ends in a libuv callback */
  event_sep(t);
  buf_put(t, "{\"name\":", 8);
  buf_jcstr(t, name);
  buf_printf(t, ",\"cat\":\"activity\",\"ph\":\"X\",\"pid\":1,\"tid\":%" PRIu32 ",\"ts\":%" PRIu64
                ",\"dur\":%" PRIu64 ",\"args\":{\"status\":\"%s\"",
             fs ? fs->lane : 1u, start_us, now >= start_us ? now - start_us : 0, status);
  if (blocking) buf_put(t, ",\"blocking\":true", 16);
  const weft_failure *e = f->failure;
  if (!strcmp(status, "failed") && e) {
    buf_put(t, ",\"kind\":", 8);
    buf_jcstr(t, e->kind && e->kind->name ? e->kind->name : "?");
    buf_put(t, ",\"message\":", 11);
    buf_jstr(t, e->message->data, (size_t)e->message->len);
  }
  buf_put(t, "}}", 2);
}

/* ---- for the unit tests ------------------------------------------------------------ */

uint32_t weft__trace_lane(weft_rt *rt, const weft_frame *f) {
  span *s = rt->trace ? tab_find(rt->trace, f) : NULL;
  return s ? s->lane : 0;
}

size_t weft__trace_open_spans(weft_rt *rt) { return rt->trace ? rt->trace->spans.n : 0; }
