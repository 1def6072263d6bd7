/* activity.c -- C activities (DESIGN 3): call records, handles, completion,
 * cancellation and blocking calls on libuv's thread pool.
 *
 * A call record (act) is owned by the runtime from weft_act_start to
 * weft_act_finish. C code never sees its address: it gets a handle, the
 * record's generation << 32 | its index + 1 in a process-global table
 * (several runtimes may live on several threads, and blocking activities
 * complete from pool threads), so a stale or garbage handle is detected and
 * reported instead of corrupting memory.
 *
 * Records are never freed: a finished record goes to the tail of a FIFO free
 * list and keeps its generation, activity and how its call ended until it is
 * reused (the generation is bumped then), so a late completion of a finished
 * call still names the activity that misbehaved for as long as possible.
 *
 * Threads: the table, the free list and each record's state/result fields
 * are guarded by table_mu. Heap values (weft_str, refcounts, the live-object
 * counter) are not thread-safe, so only the loop thread creates, retains or
 * releases them: a worker thread's completion stores plain bytes, and the
 * loop thread turns the outcome into a result word or a failure (settle())
 * before the waiting frame runs again.
 *
 * Lifecycle of a call on frame f (the record pointer is in f's await slot
 * while f is parked, WEFT_FLAG_AWAIT_ACT):
 *   start -> PENDING -> completion (COMPLETED / FAILED) or cancel hook
 *   (CANCELLED) or, blocking, the after-work callback (FAILED: returned
 *   without completing; CANCELLED: never ran) -> settle: f->failure raised
 *   or the result word built, f made ready -> finish: result handed out,
 *   record released. */
#include "weft_private.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { ACT_PENDING, ACT_COMPLETED, ACT_FAILED, ACT_CANCELLED, ACT_ABANDONED };
enum { VK_NONE, VK_BYTES, VK_VALUE }; /* what result holds besides scalar bits */
#define INLINE_ARGS 8u

struct weft__act {
  /* ---- guarded by table_mu ---- */
  uint32_t gen;       /* generation of the current (or last) call */
  uint32_t index;     /* position in the table: handle low word = index + 1 */
  uint32_t next_free; /* free list link: index + 1 of the next free record, 0 = end */
  bool live;          /* a call owns the record (start .. finish) */
  uint8_t state;      /* ACT_*: of the live call, or how the last call ended */
  uint8_t vkind;      /* VK_* */
  bool worker_active; /* blocking: the thunk is running on `worker` */
  bool ran;           /* blocking: the thunk was called */
  bool abandoned;     /* its runtime is being freed: completions are stale */
  atomic_bool cancel_requested; /* also read by weft_act_cancelled on any thread */
  pthread_t worker;
  pthread_t loop_thread; /* the thread driving rt (weft_act_start's) */
  const weft_actinfo *info;
  const weft_srcloc *loc;
  uint64_t result;    /* scalar bits; VK_VALUE: an owned value; after settle: the result word */
  char *bytes;        /* VK_BYTES: a str result as bytes (any thread), made a weft_str by settle */
  size_t nbytes;
  const weft_errkind *fkind; /* ACT_FAILED */
  char *fmsg;                /* ACT_FAILED: malloc'd message, NULL = none */
  weft_cancel_hook hook;
  void *hook_data;
  /* ---- loop thread only ---- */
  weft_rt *rt;
  weft_frame *f;
  bool in_thunk; /* non-blocking thunk running: f is the running frame, not to be queued */
  bool settled;  /* outcome delivered to f: f->failure raised or result word built */
  bool out_failed;
  uint64_t start_us;          /* for the trace span */
  weft__act *prev, *next;     /* rt's list of calls not finished, in start order */
  uv_work_t work;             /* blocking */
  uint64_t *args;             /* nargs words (argrefs retained until finish) */
  uint64_t inl[INLINE_ARGS];
};

static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static weft__act **table;              /* every record ever made, by index */
static uint32_t table_n, table_cap;
static uint32_t free_head, free_tail;  /* FIFO of free records (index + 1, 0 = none) */

static inline weft_act handle_of(const weft__act *r) {
  return (weft_act){(uint64_t)r->gen << 32 | (uint64_t)(r->index + 1)};
}

/* Lock held. The record a handle's index names (current or recycled), or
 * NULL for garbage. */
static weft__act *slot_of(weft_act a) {
  uint64_t i = a.id & 0xffffffffu;
  return i && i <= table_n ? table[i - 1] : NULL;
}

/* Lock held. A fresh live record (generation bumped). */
static weft__act *record_take(void) {
  weft__act *r;
  if (free_head) {
    r = table[free_head - 1];
    free_head = r->next_free;
    if (!free_head) free_tail = 0;
  } else {
    if (table_n == UINT32_MAX - 1) weft__internal_error("too many activity calls at once");
    if (table_n == table_cap) {
      table_cap = table_cap ? 2 * table_cap : 64;
      table = weft__xrealloc(table, (size_t)table_cap * sizeof *table);
    }
    r = weft__xcalloc(1, sizeof *r);
    r->index = table_n;
    table[table_n++] = r;
  }
  if (++r->gen == 0) r->gen = 1; /* a zero generation would make the handle invalid */
  r->next_free = 0;
  r->live = true;
  r->state = ACT_PENDING;
  r->vkind = VK_NONE;
  r->worker_active = r->ran = r->abandoned = false;
  atomic_store(&r->cancel_requested, false);
  r->result = 0;
  r->bytes = r->fmsg = NULL;
  r->nbytes = 0;
  r->fkind = NULL;
  r->hook = NULL;
  r->hook_data = NULL;
  return r;
}

/* Lock held. Ends the call (state keeps how) and queues the record for reuse. */
static void record_put(weft__act *r) {
  r->live = false;
  r->next_free = 0;
  if (free_tail) table[free_tail - 1]->next_free = r->index + 1;
  else free_head = r->index + 1;
  free_tail = r->index + 1;
}

/* ---- misuse reports ------------------------------------------------------------ */

typedef struct who {
  const char *name, *file;
  uint32_t line;
} who;

static who who_of(const weft__act *r) {
  who w = {r->info->name ? r->info->name : "?", r->info->file, r->info->line};
  if (r->loc && r->loc->file) { /* the yield's line says which call */
    w.file = r->loc->file;
    w.line = r->loc->line;
  }
  return w;
}

WEFT__PRINTF(3, 4) static int misuse(int code, const who *w, const char *fmt, ...) {
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  fflush(stdout);
  if (w)
    fprintf(stderr, "weft: activity misuse: '%s' (%s:%" PRIu32 ") %s; this %s\n", w->name,
            w->file ? w->file : "?", w->line, what,
            strncmp(what, "completed", 9) ? "call is ignored" : "completion is ignored");
  else
    fprintf(stderr, "weft: activity misuse: %s\n", what);
  return code;
}

static const char *res_name(uint8_t res) {
  switch (res) {
  case WEFT_RES_UNIT: return "nothing";
  case WEFT_RES_INT: return "int";
  case WEFT_RES_FLOAT: return "float";
  case WEFT_RES_BOOL: return "bool";
  case WEFT_RES_DURATION: return "duration";
  case WEFT_RES_STR: return "str";
  case WEFT_RES_REF: return "a list/record/tuple";
  default: return "?";
  }
}

/* ---- settling (loop thread) -------------------------------------------------------- */

/* Drops whatever result or failure message the record holds. */
static void drop_outcome(weft__act *r) {
  if (r->vkind == VK_VALUE) weft_release((void *)(uintptr_t)r->result);
  r->vkind = VK_NONE;
  r->result = 0;
  free(r->bytes);
  r->bytes = NULL;
  free(r->fmsg);
  r->fmsg = NULL;
}

/* The call's outcome is final and no other thread touches the record: turn
 * it into f's failure, or into the result word weft_act_finish hands out. A
 * cancellation of f wins over a late result (dropped: nobody wants it). */
static void settle(weft__act *r) {
  weft_rt *rt = r->rt;
  weft_frame *f = r->f;
  const char *status = "done";
  r->settled = true;
  if (r->state == ACT_CANCELLED || atomic_load(&r->cancel_requested)) {
    drop_outcome(r);
    weft__raise_cancelled(rt, f);
    r->out_failed = true;
    status = "cancelled";
  } else if (r->state == ACT_FAILED) {
    weft_str *m = weft_str_from_cstr(r->fmsg);
    weft_raise(rt, f, r->fkind, m, r->loc);
    weft_release(m);
    free(r->fmsg);
    r->fmsg = NULL;
    r->out_failed = true;
    status = "failed";
  } else if (r->vkind == VK_BYTES) {
    r->result = (uint64_t)(uintptr_t)weft_str_new(r->bytes, (int64_t)r->nbytes);
    free(r->bytes);
    r->bytes = NULL;
    r->vkind = VK_NONE;
  } else {
    r->vkind = VK_NONE; /* a value is now the result word, owned by the finisher */
  }
  if (WEFT__UNLIKELY(rt->trace))
    weft__trace_activity(rt, f, r->info->name, r->start_us, status, r->info->flags & WEFT_ACT_BLOCKING);
}

/* f may run again (outcome settled). */
static void wake(weft__act *r) {
  weft_frame *f = r->f;
  f->flags &= ~WEFT_FLAG_AWAIT_ACT;
  if (!r->in_thunk) weft_ready_fifo(r->rt, f); /* in the thunk, weft_act_start returns f */
}

static void list_remove(weft_rt *rt, weft__act *r) {
  if (r->prev) r->prev->next = r->next;
  else rt->acts = r->next;
  if (r->next) r->next->prev = r->prev;
  else rt->acts_tail = r->prev;
  r->prev = r->next = NULL;
}

/* Loop thread: releases what the call owns and recycles the record. */
static void release_record(weft__act *r, bool abandoned) {
  const weft_actinfo *info = r->info;
  list_remove(r->rt, r);
  uint64_t refs = info->argrefs;
  for (uint32_t i = 0; refs && i < info->nargs && i < 64; i++, refs >>= 1)
    if (refs & 1) weft_release((void *)(uintptr_t)r->args[i]);
  if (r->args != r->inl) free(r->args);
  r->args = NULL;
  drop_outcome(r);
  pthread_mutex_lock(&table_mu);
  r->rt = NULL;
  r->f = NULL;
  if (abandoned) r->state = ACT_ABANDONED;
  record_put(r);
  pthread_mutex_unlock(&table_mu);
}

/* ---- blocking calls ------------------------------------------------------------------ */

static void work_cb(uv_work_t *w) {
  weft__act *r = w->data;
  pthread_mutex_lock(&table_mu);
  /* cancelled after it was queued but before uv_cancel could stop it: it
   * has not started, so it never runs */
  bool run = !atomic_load(&r->cancel_requested);
  if (run) {
    r->worker = pthread_self();
    r->worker_active = r->ran = true;
  }
  weft_act h = handle_of(r);
  pthread_mutex_unlock(&table_mu);
  if (!run) return;
  r->info->thunk(h, r->args); /* info and args are fixed while the work is in flight */
  pthread_mutex_lock(&table_mu);
  r->worker_active = false;
  pthread_mutex_unlock(&table_mu);
}

static void after_work_cb(uv_work_t *w, int status) {
  weft__act *r = w->data;
  pthread_mutex_lock(&table_mu);
  bool abandoned = r->abandoned;
  if (!abandoned && r->state == ACT_PENDING) {
    if (status == UV_ECANCELED || !r->ran) {
      r->state = ACT_CANCELLED;
    } else {
      r->state = ACT_FAILED;
      r->fkind = &weft_kind_ActivityFailed;
      const char *name = r->info->name ? r->info->name : "?";
      size_t n = strlen(name) + 64;
      r->fmsg = weft__xmalloc(n);
      snprintf(r->fmsg, n, "blocking activity '%s' returned without completing", name);
    }
  }
  pthread_mutex_unlock(&table_mu);
  if (abandoned) { /* weft_rt_free is waiting for the pool: nobody resumes f */
    release_record(r, true);
    return;
  }
  settle(r);
  wake(r);
}

/* ---- start / finish (generated code) ------------------------------------------------- */

weft_frame *weft_act_start(weft_rt *rt, weft_frame *f, const weft_actinfo *info,
                           const uint64_t *args, const weft_srcloc *loc) {
  if (WEFT__UNLIKELY(!f->fn->await_off))
    weft__internal_error("workflow %s calls activity %s but has no await slot",
                         f->fn->name ? f->fn->name : "?", info->name ? info->name : "?");
  weft__act **slot = weft__await_slot(f);
  uint32_t fl = f->flags;
  if (WEFT__UNLIKELY(fl & WEFT_FLAG_CANCEL_PENDING) && !(fl & WEFT_FLAG_SHIELD_MASK)) {
    /* a cancellation waited for this suspension: the activity is not
     * called; weft_act_finish sees no record and reports Cancelled */
    f->flags = fl & ~WEFT_FLAG_CANCEL_PENDING;
    weft__raise_cancelled(rt, f);
    *slot = NULL;
    return f;
  }
  pthread_mutex_lock(&table_mu);
  weft__act *r = record_take();
  r->info = info;
  r->loc = loc;
  r->loop_thread = pthread_self();
  r->rt = rt;
  r->f = f;
  pthread_mutex_unlock(&table_mu);
  r->in_thunk = r->settled = r->out_failed = false;
  r->start_us = rt->now_us;
  uint32_t n = info->nargs;
  r->args = n <= INLINE_ARGS ? r->inl : weft__xmalloc(n * sizeof *r->args);
  if (n) memcpy(r->args, args, n * sizeof *r->args);
  uint64_t refs = info->argrefs;
  for (uint32_t i = 0; refs && i < n && i < 64; i++, refs >>= 1)
    if (refs & 1) weft_retain((void *)(uintptr_t)r->args[i]);
  r->prev = rt->acts_tail;
  r->next = NULL;
  if (rt->acts_tail) rt->acts_tail->next = r;
  else rt->acts = r;
  rt->acts_tail = r;
  *slot = r;
  f->flags = fl | WEFT_FLAG_AWAIT_ACT;

  if (info->flags & WEFT_ACT_BLOCKING) {
    r->work.data = r;
    int err = uv_queue_work(&rt->loop, &r->work, work_cb, after_work_cb);
    if (err) weft__internal_error("uv_queue_work: %s", uv_strerror(err));
    return NULL;
  }
  r->in_thunk = true;
  info->thunk(handle_of(r), r->args);
  r->in_thunk = false;
  if (r->settled) { /* completed (or cancelled through its hook) before returning */
    f->flags &= ~WEFT_FLAG_AWAIT_ACT;
    return f;
  }
  return NULL;
}

int weft_act_finish(weft_rt *rt, weft_frame *f, uint64_t *out) {
  weft__act **slot = weft__await_slot(f);
  weft__act *r = *slot;
  *out = 0;
  if (!r) { /* not started: a pending cancellation was raised instead */
    if (WEFT__UNLIKELY(!f->failure))
      weft__internal_error("workflow %s finishes an activity call it did not start",
                           f->fn->name ? f->fn->name : "?");
    return 1;
  }
  if (WEFT__UNLIKELY(r->f != f || r->rt != rt || !r->settled))
    weft__internal_error("workflow %s resumed before its activity call completed",
                         f->fn->name ? f->fn->name : "?");
  *slot = NULL;
  int failed = r->out_failed;
  if (!failed) *out = r->result; /* ownership of a str/value moves to the caller */
  r->result = 0;
  release_record(r, false);
  return failed;
}

/* ---- cancellation (cancel.c, weft_rt_free) -------------------------------------------- */

void weft__act_cancel(weft_rt *rt, weft_frame *f) {
  weft__act *r = *(weft__act **)weft__await_slot(f);
  (void)rt;
  if (r->settled) {
    /* completed inside its thunk, which then cancelled: the result is
     * delivered, the cancellation waits for f's next suspension */
    f->flags |= WEFT_FLAG_CANCEL_PENDING;
    return;
  }
  pthread_mutex_lock(&table_mu);
  atomic_store(&r->cancel_requested, true);
  weft_cancel_hook hook = NULL;
  void *data = NULL;
  if (r->state == ACT_PENDING && r->hook) {
    /* the call is complete as cancelled before the hook runs: a completion
     * from the hook or later is misuse (ECANCELED) */
    hook = r->hook;
    data = r->hook_data;
    r->hook = NULL;
    r->state = ACT_CANCELLED;
  }
  weft_act h = handle_of(r);
  pthread_mutex_unlock(&table_mu);
  if (hook) {
    hook(h, data);
    settle(r);
    wake(r);
  } else if (r->info->flags & WEFT_ACT_BLOCKING) {
    /* not started yet: it never runs (after-work sees UV_ECANCELED); running
     * or done: fails harmlessly, f waits for it and gets Cancelled */
    uv_cancel((uv_req_t *)&r->work);
  }
  /* otherwise f waits for the completion; its result is dropped then */
}

void weft__acts_abandon(weft_rt *rt) {
  weft__act *r = rt->acts;
  while (r) {
    weft__act *next = r->next;
    pthread_mutex_lock(&table_mu);
    r->abandoned = true;
    atomic_store(&r->cancel_requested, true); /* lets a running blocking call give up */
    weft_cancel_hook hook = r->state == ACT_PENDING ? r->hook : NULL;
    void *data = r->hook_data;
    r->hook = NULL;
    weft_act h = handle_of(r);
    pthread_mutex_unlock(&table_mu);
    /* the hook stops the activity's requests and frees what it owns */
    if (hook) hook(h, data);
    if ((r->info->flags & WEFT_ACT_BLOCKING) && !r->settled) {
      /* freed by its after-work callback, which weft_rt_free's last uv_run
       * waits for (a running thunk is not interrupted) */
      uv_cancel((uv_req_t *)&r->work);
    } else {
      release_record(r, true);
    }
    r = next;
  }
}

void weft__acts_report_pending(weft_rt *rt, FILE *out) {
  for (weft__act *r = rt->acts; r; r = r->next) {
    if (r->settled) continue;
    who w = who_of(r);
    fprintf(out, "weft:   workflow %s is waiting for activity '%s' (%s:%" PRIu32 "), which never completed\n",
            r->f->fn && r->f->fn->name ? r->f->fn->name : "?", w.name, w.file ? w.file : "?", w.line);
  }
}

/* ---- completion (C code) -------------------------------------------------------------- */

typedef struct completion {
  int res;            /* WEFT_RES_* given, or -1: a failure */
  uint64_t word;      /* scalar bits */
  const char *bytes;  /* str */
  size_t n;
  void *value;        /* weft_complete_value: an owned reference */
  const weft_errkind *kind;
  const char *msg;
} completion;

static const char *given_name(const completion *c) {
  if (c->value) {
    switch (((weft_hdr *)c->value)->tag) {
    case WEFT_TAG_STR: return "a str value";
    case WEFT_TAG_LIST: return "a list";
    case WEFT_TAG_OBJ: return "a record/tuple";
    case WEFT_TAG_FAILURE: return "a failure";
    default: return "an unknown value";
    }
  }
  switch (c->res) {
  case WEFT_RES_UNIT: return "no value";
  case WEFT_RES_INT: return "an int";
  case WEFT_RES_FLOAT: return "a float";
  case WEFT_RES_BOOL: return "a bool";
  case WEFT_RES_DURATION: return "a duration";
  case WEFT_RES_STR: return "a str";
  case WEFT_RES_REF: return "a NULL value";
  default: return "?";
  }
}

/* Lock held: why a handle cannot take a completion (or a cancel hook), as a
 * negative code and a report; 0 when r is a live, pending call. */
static int check_live(weft_act a, weft__act *r, const char *verb, who *w, char *why, size_t whyn) {
  if (!r || r->gen != (uint32_t)(a.id >> 32) || (a.id >> 32) == 0) {
    snprintf(why, whyn, "stale or invalid activity handle");
    return WEFT_EINVAL;
  }
  *w = who_of(r);
  if (r->abandoned || r->state == ACT_ABANDONED) {
    snprintf(why, whyn, "%s after its runtime was freed", verb);
    return WEFT_EINVAL;
  }
  if (r->state == ACT_CANCELLED) {
    snprintf(why, whyn, "%s after it was cancelled", verb);
    return WEFT_ECANCELED;
  }
  if (r->state != ACT_PENDING) {
    snprintf(why, whyn, "%s after it was completed", verb);
    return WEFT_EALREADY;
  }
  return 0;
}

static int complete(weft_act a, const completion *c) {
  /* copy the bytes before taking the lock (any thread may malloc) */
  char *copy = NULL;
  if (c->res == WEFT_RES_STR && !c->value) {
    copy = weft__xmalloc(c->n + 1);
    if (c->n) memcpy(copy, c->bytes, c->n);
    copy[c->n] = 0;
  } else if (c->res < 0 && c->msg) {
    size_t n = strlen(c->msg);
    copy = weft__xmalloc(n + 1);
    memcpy(copy, c->msg, n + 1);
  }
  pthread_t self = pthread_self();
  who w = {0};
  char why[160];
  int code;
  bool release_value = true; /* on error: v was moved in */

  pthread_mutex_lock(&table_mu);
  weft__act *r = slot_of(a);
  code = check_live(a, r, "completed", &w, why, sizeof why);
  if (code == WEFT_EALREADY) snprintf(why, sizeof why, "completed twice");
  if (r && !pthread_equal(self, r->loop_thread) && !(r->info->flags & WEFT_ACT_BLOCKING))
    release_value = false; /* never touch a refcount off the loop thread */
  if (!code) {
    bool blocking = r->info->flags & WEFT_ACT_BLOCKING;
    if (blocking && c->value) {
      code = WEFT_ETHREAD;
      release_value = pthread_equal(self, r->loop_thread);
      snprintf(why, sizeof why,
               "completed with weft_complete_value but runs on the thread pool (blocking "
               "activities complete with scalars or strings)");
    } else if (blocking ? !(r->worker_active && pthread_equal(self, r->worker))
                        : !pthread_equal(self, r->loop_thread)) {
      code = WEFT_ETHREAD;
      snprintf(why, sizeof why, "completed from another thread than %s",
               blocking ? "the pool thread running it (blocking activities complete before they return)"
                        : "its runtime's loop thread");
    } else if (c->res >= 0) {
      int res = c->res;
      if (c->value) {
        uint16_t tag = ((weft_hdr *)c->value)->tag;
        res = tag == WEFT_TAG_STR ? WEFT_RES_STR : (tag == WEFT_TAG_LIST || tag == WEFT_TAG_OBJ) ? WEFT_RES_REF : -2;
      }
      if (res != r->info->result) {
        code = WEFT_ETYPE;
        snprintf(why, sizeof why, "completed with %s but returns %s", given_name(c), res_name(r->info->result));
      }
    }
  }
  if (!code) {
    if (c->res < 0) {
      r->state = ACT_FAILED;
      r->fkind = c->kind ? c->kind : &weft_kind_ActivityFailed;
      r->fmsg = copy;
    } else {
      r->state = ACT_COMPLETED;
      if (c->value) {
        r->vkind = VK_VALUE;
        r->result = (uint64_t)(uintptr_t)c->value;
      } else if (copy) {
        r->vkind = VK_BYTES;
        r->bytes = copy;
        r->nbytes = c->n;
      } else {
        r->result = c->word;
      }
    }
    copy = NULL;
  }
  bool settle_now = !code && !(r->info->flags & WEFT_ACT_BLOCKING); /* blocking: after-work settles */
  pthread_mutex_unlock(&table_mu);

  if (code) {
    free(copy);
    if (c->value && release_value) weft_release(c->value);
    return misuse(code, w.name ? &w : NULL, "%s", why);
  }
  if (settle_now) {
    settle(r);
    wake(r);
  }
  return WEFT_OK;
}

int weft_complete(weft_act a) { return complete(a, &(completion){.res = WEFT_RES_UNIT}); }
int weft_complete_int(weft_act a, int64_t v) {
  return complete(a, &(completion){.res = WEFT_RES_INT, .word = (uint64_t)v});
}
int weft_complete_float(weft_act a, double v) {
  uint64_t w;
  memcpy(&w, &v, sizeof w);
  return complete(a, &(completion){.res = WEFT_RES_FLOAT, .word = w});
}
int weft_complete_bool(weft_act a, bool v) {
  return complete(a, &(completion){.res = WEFT_RES_BOOL, .word = v ? 1u : 0u});
}
int weft_complete_duration(weft_act a, int64_t us) {
  return complete(a, &(completion){.res = WEFT_RES_DURATION, .word = (uint64_t)us});
}
int weft_complete_str(weft_act a, const char *s) {
  return complete(a, &(completion){.res = WEFT_RES_STR, .bytes = s ? s : "", .n = s ? strlen(s) : 0});
}
int weft_complete_strn(weft_act a, const char *s, size_t n) {
  return complete(a, &(completion){.res = WEFT_RES_STR, .bytes = s, .n = s ? n : 0});
}
int weft_complete_value(weft_act a, void *v) {
  return complete(a, &(completion){.res = WEFT_RES_REF, .value = v});
}
int weft_fail(weft_act a, const weft_errkind *kind, const char *msg) {
  return complete(a, &(completion){.res = -1, .kind = kind, .msg = msg});
}

int weft_failf(weft_act a, const weft_errkind *kind, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return weft_fail(a, kind, fmt);
  if ((size_t)n < sizeof small) return weft_fail(a, kind, small);
  char *big = weft__xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  int rc = weft_fail(a, kind, big);
  free(big);
  return rc;
}

/* ---- queries -------------------------------------------------------------------------- */

int weft_act_on_cancel(weft_act a, weft_cancel_hook hook, void *data) {
  who w = {0};
  char why[160];
  pthread_mutex_lock(&table_mu);
  weft__act *r = slot_of(a);
  int code = check_live(a, r, "was given a cancel hook", &w, why, sizeof why);
  if (!code && (r->info->flags & WEFT_ACT_BLOCKING)) {
    code = WEFT_ETHREAD;
    snprintf(why, sizeof why, "was given a cancel hook but is blocking (runs on the thread pool: poll "
                              "weft_act_cancelled instead)");
  } else if (!code && !pthread_equal(pthread_self(), r->loop_thread)) {
    code = WEFT_ETHREAD;
    snprintf(why, sizeof why, "was given a cancel hook from another thread than its runtime's loop thread");
  }
  if (!code) {
    r->hook = hook;
    r->hook_data = data;
  }
  pthread_mutex_unlock(&table_mu);
  return code ? misuse(code, w.name ? &w : NULL, "%s", why) : WEFT_OK;
}

/* The record of a handle's call, live or finished but not reused (lock held). */
static weft__act *same_call(weft_act a) {
  weft__act *r = slot_of(a);
  return r && (a.id >> 32) && r->gen == (uint32_t)(a.id >> 32) ? r : NULL;
}

bool weft_act_cancelled(weft_act a) {
  pthread_mutex_lock(&table_mu);
  weft__act *r = same_call(a);
  bool c = r && (atomic_load(&r->cancel_requested) || r->state == ACT_CANCELLED);
  pthread_mutex_unlock(&table_mu);
  return c;
}

weft_rt *weft_act_rt(weft_act a) {
  pthread_mutex_lock(&table_mu);
  weft__act *r = same_call(a);
  weft_rt *rt = r && r->live && !r->abandoned ? r->rt : NULL;
  pthread_mutex_unlock(&table_mu);
  return rt;
}

struct uv_loop_s *weft_act_loop(weft_act a) {
  weft_rt *rt = weft_act_rt(a);
  return rt ? weft_rt_loop(rt) : NULL;
}

const char *weft_act_name(weft_act a) {
  pthread_mutex_lock(&table_mu);
  weft__act *r = same_call(a);
  const char *name = r && r->info->name ? r->info->name : "?";
  pthread_mutex_unlock(&table_mu);
  return name;
}

/* Calls started and not yet completed (sched.c: virtual time does not jump
 * over real work in flight). */
bool weft__acts_in_flight(const weft_rt *rt) {
  for (const weft__act *r = rt->acts; r; r = r->next)
    if (!r->settled) return true;
  return false;
}
