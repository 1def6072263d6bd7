/* The floor: hand-written C state machines on a LIFO run queue with a free
 * list of 48-byte frames -- what a workflow compiler could emit at best.
 *
 *   floor skynet|sleepers|race|saga [N]
 *
 * Prints one line of key=value pairs (same keys as the Weft programs).
 * Built with cc -O2. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static int64_t rss_bytes(void) {
    long size = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) { if (fscanf(f, "%ld %ld", &size, &res) != 2) res = 0; fclose(f); }
    return (int64_t)res * sysconf(_SC_PAGESIZE);
}
static long maxrss_kb(void) { struct rusage ru; getrusage(RUSAGE_SELF, &ru); return ru.ru_maxrss; }

/* ---- frames, free list, LIFO run queue ---------------------------------- */
typedef struct frame frame;
typedef void (*resume_fn)(frame *);
struct frame {               /* 48 bytes */
    resume_fn resume;
    frame *parent;
    frame *next;             /* run queue / free list / timer list link */
    int32_t state, pending;
    int64_t a, b;
};

static frame *free_list;
static frame *runq;
static size_t frames_live, frames_peak;

static frame *chunk_alloc(void) {
    enum { CHUNK = 4096 };
    frame *c = malloc(CHUNK * sizeof(frame));
    if (!c) { perror("malloc"); exit(2); }
    for (int i = CHUNK - 1; i > 0; i--) { c[i].next = free_list; free_list = &c[i]; }
    return &c[0];
}
static inline frame *frame_new(resume_fn fn, frame *parent) {
    frame *f = free_list;
    if (f) free_list = f->next; else f = chunk_alloc();
    f->resume = fn; f->parent = parent; f->state = 0; f->pending = 0;
    if (++frames_live > frames_peak) frames_peak = frames_live;
    return f;
}
static inline void frame_free(frame *f) { f->next = free_list; free_list = f; frames_live--; }
static inline void push(frame *f) { f->next = runq; runq = f; }
static void run(void) {
    while (runq) { frame *f = runq; runq = f->next; f->resume(f); }
}

/* ---- 1. skynet ------------------------------------------------------------ */
static int64_t sky_result;
static void sky_resume(frame *f);
static void sky_complete(frame *f, int64_t v) {
    frame *p = f->parent;
    frame_free(f);
    if (!p) { sky_result = v; return; }
    p->b += v;
    if (--p->pending == 0) push(p);
}
static void sky_resume(frame *f) {
    if (f->state == 0) {
        if (f->b == 1) { sky_complete(f, f->a); return; }
        int64_t step = f->b / 10;
        f->state = 1; f->pending = 10; f->b = 0;
        for (int i = 9; i >= 0; i--) {           /* pushed last-first: child 0 runs first */
            frame *c = frame_new(sky_resume, f);
            c->a = f->a + i * step; c->b = step;
            push(c);
        }
        return;
    }
    sky_complete(f, f->b);
}
static int skynet(int64_t n) {
    int64_t wf = 0;
    for (int64_t s = n; s >= 1; s /= 10) wf += n / s;
    int64_t t0 = now_ns();
    frame *root = frame_new(sky_resume, NULL);
    root->a = 0; root->b = n;
    push(root); run();
    int64_t t1 = now_ns();
    int64_t exp = n * (n - 1) / 2;
    printf("workflows=%lld ns=%lld result=%lld expected=%lld maxrss_kb=%ld frames_peak=%zu\n",
           (long long)wf, (long long)(t1 - t0), (long long)sky_result, (long long)exp,
           maxrss_kb(), frames_peak);
    return sky_result != exp;
}

/* ---- timers: one bucket of an intrusive doubly linked timer list ----------
 * (every sleeper has the same deadline, so one wheel slot holds them all;
 * the node lives in the frame: a and b are the prev/next links) */
typedef struct { frame head; } bucket;
static void tq_init(bucket *q) { q->head.a = (int64_t)(intptr_t)&q->head; q->head.b = (int64_t)(intptr_t)&q->head; }
#define PREV(f) ((frame *)(intptr_t)(f)->a)
#define NEXT(f) ((frame *)(intptr_t)(f)->b)
static inline void tq_insert(bucket *q, frame *f) {
    frame *h = &q->head, *last = PREV(h);
    f->a = (int64_t)(intptr_t)last; f->b = (int64_t)(intptr_t)h;
    last->b = (int64_t)(intptr_t)f; h->a = (int64_t)(intptr_t)f;
}
static inline void tq_remove(frame *f) {
    frame *p = PREV(f), *n = NEXT(f);
    p->b = (int64_t)(intptr_t)n; n->a = (int64_t)(intptr_t)p;
}

/* ---- 2. sleepers ----------------------------------------------------------- */
static int64_t woken;
static void sleeper_resume(frame *f) {
    if (f->state == 0) { f->state = 1; return; }   /* (parked by the caller) */
    woken++;
    frame_free(f);
}
static int sleepers(int64_t n) {
    bucket q; tq_init(&q);
    frame *warm = frame_new(sleeper_resume, NULL); frame_free(warm);
    int64_t base = rss_bytes();
    int64_t t0 = now_ns();
    for (int64_t i = 0; i < n; i++) {
        frame *f = frame_new(sleeper_resume, NULL);
        f->resume(f);                      /* runs to its sleep */
        tq_insert(&q, f);
    }
    int64_t t1 = now_ns();
    int64_t peak = rss_bytes();
    int64_t parked = (int64_t)frames_live;
    /* the timer fires: move every sleeper to the run queue and run it */
    while (NEXT(&q.head) != &q.head) { frame *f = NEXT(&q.head); tq_remove(f); push(f); }
    run();
    int64_t t2 = now_ns();
    printf("workflows=%lld parked=%lld rss_base=%lld rss_peak=%lld bytes_each=%lld ns=%lld "
           "total_ns=%lld maxrss_kb=%ld result=%lld expected=%lld\n",
           (long long)n, (long long)parked, (long long)base, (long long)peak,
           (long long)((peak - base) / n), (long long)(t1 - t0), (long long)(t2 - t0),
           maxrss_kb(), (long long)woken, (long long)n);
    return woken != n;
}

/* ---- 3. race: E (returns at once) against a 1 s timeout ------------------- */
static int64_t acc;
static void work_resume(frame *f) {               /* E: returns i + 1 */
    frame *p = f->parent;
    p->b = f->a + 1;
    frame_free(f);
    push(p);
}
static bucket race_timers;
static frame timer_node;                          /* the loop's timeout branch node */
static void loop_resume(frame *f) {
    /* state 0: start E; state 1: E done */
    if (f->state == 1) {
        if (f->pending) { tq_remove(&timer_node); f->pending = 0; }   /* cancel the loser */
        acc += f->b;
        f->state = 0;
        return;
    }
}
static int64_t race_loop(int64_t n, int with_timer) {
    frame *loop = frame_new(loop_resume, NULL);
    acc = 0;
    for (int64_t i = 0; i < n; i++) {
        frame *e = frame_new(work_resume, loop);
        e->a = i;
        loop->state = 1;
        if (with_timer) { timer_node.state = 1000; tq_insert(&race_timers, &timer_node); loop->pending = 1; }
        push(e);
        run();
    }
    frame_free(loop);
    return acc;
}
static int race(int64_t n) {
    tq_init(&race_timers);
    race_loop(n < 10000 ? n : 10000, 0);          /* warm up */
    race_loop(n < 10000 ? n : 10000, 1);
    int64_t t0 = now_ns();
    int64_t a = race_loop(n, 0);
    int64_t t1 = now_ns();
    int64_t b = race_loop(n, 1);
    int64_t t2 = now_ns();
    printf("ops=%lld plain_ns=%lld race_ns=%lld ns=%lld maxrss_kb=%ld result=%lld expected=%lld\n",
           (long long)n, (long long)(t1 - t0), (long long)(t2 - t1),
           (long long)((t2 - t1) - (t1 - t0)), maxrss_kb(), (long long)b, (long long)a);
    return a != b || a != n * (n + 1) / 2;
}

/* ---- 4. saga: 100 steps, each pushing a compensation, then failure -------- */
static int64_t comps_run;
static void step_resume(frame *f) {               /* step(i) returns i */
    frame *p = f->parent;
    p->b = f->a;
    frame_free(f);
    push(p);
}
static void undo_resume(frame *f) {               /* undo(i) */
    frame *p = f->parent;
    comps_run++;
    frame_free(f);
    push(p);
}
/* saga frame: a = step index, b = last result, next-free compensation stack
 * kept as a singly linked list of created-not-started undo frames (parent
 * field reused as the link until started) */
static frame *comp_stack;
static void saga_resume(frame *f) {
    for (;;) switch (f->state) {
    case 0:                                       /* call step(a) */
        if (f->a == 100) { f->state = 2; continue; }   /* fail at the end */
        f->state = 1;
        { frame *c = frame_new(step_resume, f); c->a = f->a; push(c); }
        return;
    case 1: {                                     /* step done: push compensation */
        frame *u = frame_new(undo_resume, comp_stack);
        u->a = f->b;
        comp_stack = u;
        f->a++; f->state = 0; continue;
    }
    case 2:                                       /* failed: run compensations LIFO */
        if (!comp_stack) { f->state = 3; continue; }
        { frame *u = comp_stack; comp_stack = u->parent; u->parent = f; push(u); }
        return;
    case 3: {                                     /* report failure to the parent */
        frame *p = f->parent;
        frame_free(f);
        p->pending++;                             /* failures seen */
        return;
    }
    }
}
static int saga(int64_t n) {
    frame *main_f = frame_new(NULL, NULL);
    int64_t t0 = now_ns();
    for (int64_t k = 0; k < n; k++) {
        frame *s = frame_new(saga_resume, main_f);
        s->a = 0;
        push(s); run();
    }
    int64_t t1 = now_ns();
    printf("sagas=%lld ops=%lld ns=%lld maxrss_kb=%ld result=%lld expected=%lld\n",
           (long long)n, (long long)comps_run, (long long)(t1 - t0), maxrss_kb(),
           (long long)comps_run, (long long)(n * 100));
    return comps_run != n * 100 || main_f->pending != n;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: floor skynet|sleepers|race|saga [N]\n"); return 2; }
    const char *s = argv[1];
    const char *env = getenv("BENCH_N");
    int64_t n = argc > 2 ? atoll(argv[2]) : env && *env ? atoll(env) : 0;
    if (!strcmp(s, "skynet")) return skynet(n ? n : 1000000);
    if (!strcmp(s, "sleepers")) return sleepers(n ? n : 1000000);
    if (!strcmp(s, "race")) return race(n ? n : 1000000);
    if (!strcmp(s, "saga")) return saga(n ? n : 10000);
    fprintf(stderr, "unknown scenario %s\n", s);
    return 2;
}
