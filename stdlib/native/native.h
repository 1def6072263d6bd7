/* native.h -- shared by the native parts of the standard library
 * (the .c files of stdlib/native, compiled into libweft). Not installed; not ABI. */
#ifndef WEFT_STD_NATIVE_H
#define WEFT_STD_NATIVE_H

#include "weft_private.h"

/* Per-runtime state of the standard library (rt->std), allocated on first
 * use by weft__std_get and freed by weft_rt_free (weft__std_free) BEFORE the
 * runtime closes the remaining libuv handles, so each module can close its
 * own handles with its own close callbacks and free what they carry.
 * Modules register their cleanup through a function pointer, so libweft's
 * core never references (and a static link never pulls in) a module the
 * program does not use. */
struct weft__std {
  void *breakers;                    /* breaker.c: name -> breaker table */
  void (*breakers_free)(weft_rt *rt);
  void *procs;                       /* process.c: live spawned processes */
  void (*procs_free)(weft_rt *rt);
  void *fsops;                       /* fs.c: file operations in flight */
  void (*fsops_free)(weft_rt *rt);
  char *scratch;                     /* string results of extern fns (copied by the caller at once) */
  size_t scratch_cap;
};

weft__std *weft__std_get(weft_rt *rt);
/* A buffer of at least n bytes for an extern fn's str result: valid until
 * the next call (weftc copies the result right after the call). */
char *weft__std_scratch(weft_rt *rt, size_t n);

/* The runtime an `extern fn` of the standard library runs in: it is only
 * ever called from generated code inside weft_run. */
weft_rt *weft__std_rt(const char *fn);

/* Growable byte buffer (process output, file contents). */
typedef struct weft__buf {
  char *p;
  size_t len, cap;
} weft__buf;
/* Makes room for at least `more` bytes after len. */
void weft__buf_reserve(weft__buf *b, size_t more);
void weft__buf_free(weft__buf *b);

/* ---- the modules' entry points (declared for the unit tests) ---------------- */

/* retry.c */
int64_t weft__retry_delay(weft_rt *rt, int64_t initial, double multiplier, int64_t max, const char *jitter,
                          int64_t attempt);
int64_t weft_retry_delay(int64_t initial, double multiplier, int64_t max, const char *jitter, int64_t attempt);
/* The C functions behind the std modules' activities and extern fns are
 * named weft_std_<name> (`as "weft_std_run"` in the .weft files), so
 * libweft exports no generic names like `run` or `since`. */
/* breaker.c */
bool weft__breaker_enter(weft_rt *rt, const char *name, int64_t threshold, int64_t reset_us);
void weft__breaker_exit(weft_rt *rt, const char *name, bool ok, bool counted);
const char *weft__breaker_state(weft_rt *rt, const char *name);
bool weft_breaker_enter(const char *name, int64_t threshold, int64_t reset_us);
void weft_breaker_exit(const char *name, bool ok, bool counted);
const char *weft_std_breaker_state(const char *name);
/* time.c */
const char *weft__format_time(int64_t ms, char *buf, size_t n);
const char *weft_std_format_time(int64_t ms);
const char *weft_std_now_iso(void);
int64_t weft_std_since(int64_t start_ms);
/* process.c (activities) */
void weft_std_run(weft_act a, const char *cmd, weft_list *args);
void weft_std_run_shell(weft_act a, const char *cmd);
const char *weft_proc_failure(const char *cmd, int64_t status, int64_t sig, const char *err);
const char *weft_proc_chomp(const char *s);
/* fs.c (activities) */
void weft_std_read_file(weft_act a, const char *path);
void weft_std_write_file(weft_act a, const char *path, const char *data);
void weft_std_append_file(weft_act a, const char *path, const char *data);
void weft_std_file_exists(weft_act a, const char *path);

#endif
