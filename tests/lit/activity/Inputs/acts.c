/* C activities for tests/lit/activity: sync, async (libuv timers), blocking,
 * failures, cancel hooks and deliberate misuse. */
#include <weft.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

/* ---- synchronous: complete before returning */

void add(weft_act a, int64_t x, int64_t y) { weft_complete_int(a, x + y); }
void greet(weft_act a, const char *name) {
  char buf[128];
  snprintf(buf, sizeof buf, "hello, %s", name);
  weft_complete_str(a, buf);
}
void halve(weft_act a, double x) { weft_complete_float(a, x / 2); }
void even(weft_act a, int64_t n) { weft_complete_bool(a, n % 2 == 0); }
void twice(weft_act a, int64_t us) { weft_complete_duration(a, 2 * us); }
void nothing(weft_act a) { weft_complete(a); }

/* list[str] from a comma-separated string */
void split(weft_act a, const char *s) {
  int64_t n = 1;
  for (const char *p = s; *p; p++) n += *p == ',';
  weft_list *l = weft_list_new(n, 1);
  int64_t i = 0;
  for (const char *p = s;; i++) {
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    l->data[i] = (uint64_t)(uintptr_t)weft_str_new(p, (int64_t)len);
    if (!c) break;
    p = c + 1;
  }
  weft_complete_value(a, l);
}

/* (int, str): a tuple is an object with field 1 a reference */
void pair(weft_act a, int64_t n) {
  weft_obj *o = weft_obj_new(2, 2);
  o->fields[0] = (uint64_t)n;
  o->fields[1] = (uint64_t)(uintptr_t)weft_str_from_int(n * 10);
  weft_complete_value(a, o);
}

/* total length of a list of strings */
void total(weft_act a, weft_list *xs) {
  int64_t n = 0;
  for (int64_t i = 0; i < xs->len; i++) n += ((weft_str *)(uintptr_t)xs->data[i])->len;
  weft_complete_int(a, n);
}

void broken(weft_act a) { weft_fail(a, NULL, "disk on fire"); }

/* ---- asynchronous: complete later from a libuv timer */

typedef struct Later {
  uv_timer_t timer;
  weft_act call;
  char value[64];
  int hook;     /* register a cancel hook */
  int obey;     /* the hook stops the timer (0: misuse, completes anyway) */
} Later;

static void later_closed(uv_handle_t *h) { free(h->data); }

static void later_fire(uv_timer_t *t) {
  Later *l = t->data;
  int rc = weft_complete_str(l->call, l->value);
  if (rc != WEFT_OK) printf("late completion of %s returned %d\n", l->value, rc);
  if (rc == WEFT_OK && !strcmp(l->value, "twice") && weft_complete_str(l->call, "again") == WEFT_EALREADY)
    printf("second completion of %s refused\n", l->value);
  uv_close((uv_handle_t *)t, later_closed);
}

static void later_cancel(weft_act a, void *data) {
  Later *l = data;
  printf("cancel hook: %s (%s)\n", l->value, weft_act_name(a));
  if (l->obey) {
    uv_timer_stop(&l->timer);
    uv_close((uv_handle_t *)&l->timer, later_closed);
  }
}

static void start_later(weft_act a, int64_t ms, const char *v, int hook, int obey) {
  Later *l = calloc(1, sizeof *l);
  l->call = a;
  l->hook = hook;
  l->obey = obey;
  snprintf(l->value, sizeof l->value, "%s", v);
  uv_timer_init(weft_act_loop(a), &l->timer);
  l->timer.data = l;
  uv_timer_start(&l->timer, later_fire, (uint64_t)ms, 0);
  if (hook) weft_act_on_cancel(a, later_cancel, l);
}

void later(weft_act a, int64_t ms, const char *v) { start_later(a, ms, v, 1, 1); }
void stubborn(weft_act a, int64_t ms, const char *v) { start_later(a, ms, v, 0, 0); }
void careless(weft_act a, int64_t ms, const char *v) { start_later(a, ms, v, 1, 0); }

/* keeps its list argument until it completes: the runtime holds it */
typedef struct Keep { uv_timer_t timer; weft_act call; weft_list *xs; } Keep;
static void keep_closed(uv_handle_t *h) { free(h->data); }
static void keep_fire(uv_timer_t *t) {
  Keep *k = t->data;
  weft_str *last = (weft_str *)(uintptr_t)k->xs->data[k->xs->len - 1];
  weft_complete_str(k->call, last->data);
  uv_close((uv_handle_t *)t, keep_closed);
}
void keep_last(weft_act a, weft_list *xs) {
  Keep *k = calloc(1, sizeof *k);
  k->call = a;
  k->xs = xs;
  uv_timer_init(weft_act_loop(a), &k->timer);
  k->timer.data = k;
  uv_timer_start(&k->timer, keep_fire, 5, 0);
}

/* never completes and registers nothing: the runtime reports it */
void forgotten(weft_act a) { (void)a; }

/* ---- blocking: runs on the thread pool */

void crunch(weft_act a, int64_t ms) {
  usleep((useconds_t)(ms * 1000));
  weft_complete_int(a, ms * 1000);
}
void upper(weft_act a, const char *s) {
  char buf[256];
  size_t i = 0;
  for (; s[i] && i + 1 < sizeof buf; i++) buf[i] = (char)toupper((unsigned char)s[i]);
  buf[i] = 0;
  weft_complete_str(a, buf);
}
void lazy(weft_act a) { (void)a; } /* returns without completing */
/* an immortal string: no reference count is touched, so the runtime can
 * refuse it without touching memory it does not own */
static struct { weft_hdr h; int64_t len; char data[4]; } imm = {{WEFT_RC_IMMORTAL, WEFT_TAG_STR, 0}, 3, "imm"};
void crunch_list(weft_act a) {
  /* values need the loop thread */
  printf("complete_value on a worker: %d\n", weft_complete_value(a, &imm));
  weft_complete(a);
}
void sleepy(weft_act a, int64_t ms) {
  for (int64_t i = 0; i < ms && !weft_act_cancelled(a); i++) usleep(1000);
  weft_complete_bool(a, weft_act_cancelled(a));
}

/* ---- misuse */

void wrong_type(weft_act a) {
  printf("complete_str on an int activity: %d\n", weft_complete_str(a, "x"));
  weft_complete_int(a, 7);
}
static weft_act saved;
void save_handle(weft_act a) {
  saved = a;
  weft_complete(a);
}
void use_saved(weft_act a) {
  printf("stale handle: %d\n", weft_complete(saved));
  weft_complete(a);
}
