/* process.c -- native half of std/process: child processes on the
 * runtime's libuv loop.
 *
 *   activity run(cmd: str, args: list[str]) -> ProcResult
 *   activity run_shell(cmd: str) -> ProcResult            (/bin/sh -c cmd)
 *
 * uv_spawn searches PATH for cmd; stdin is /dev/null, stdout and stderr are
 * captured whole through pipes. The call completes once the process exited
 * AND both pipes reached end of file (a grandchild that keeps them open
 * keeps the call waiting). ProcResult = { status, signal, stdout, stderr }:
 * status is the exit code, or 128 + N when signal N killed it.
 *
 * Each child runs in a process group of its own (UV_PROCESS_DETACHED:
 * setsid), so a cancellation reaches everything it started: the cancel hook
 * sends SIGTERM to the group, stops reading, and never completes the call.
 * The proc record stays alive until libuv has closed all three handles
 * (the process handle only after the exit was seen, so the child is
 * reaped). Processes still running when the runtime is freed get SIGKILL
 * and are reaped there (procs_free). */
#include "native.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

typedef struct proc {
  uv_process_t p;
  uv_pipe_t pipe[2]; /* the child's stdout, stderr */
  weft__buf out[2];
  weft_rt *rt;
  weft_act a;
  struct proc *next, *prev; /* rt->std->procs while linked */
  int64_t status, signal;
  int open;                 /* handles not yet closed; the last close frees the record */
  bool linked, exited, eof[2];
  bool done;                /* completed, cancelled or abandoned: the call is never completed again */
} proc;

static void proc_unlink(proc *p) {
  if (!p->linked) return;
  if (p->prev) p->prev->next = p->next;
  else p->rt->std->procs = p->next;
  if (p->next) p->next->prev = p->prev;
  p->linked = false;
}

static void on_close(uv_handle_t *h) {
  proc *p = h->data;
  if (--p->open) return;
  proc_unlink(p);
  weft__buf_free(&p->out[0]);
  weft__buf_free(&p->out[1]);
  free(p);
}

static void close_pipe(proc *p, int i) {
  if (p->eof[i]) return;
  p->eof[i] = true;
  uv_read_stop((uv_stream_t *)&p->pipe[i]);
  uv_close((uv_handle_t *)&p->pipe[i], on_close);
}

static weft_str *buf_str(const weft__buf *b) { return weft_str_new(b->p, (int64_t)b->len); }

static void maybe_complete(proc *p) {
  if (p->done || !p->exited || !p->eof[0] || !p->eof[1]) return;
  p->done = true;
  weft_obj *r = weft_obj_new(4, 0xc); /* status, signal, stdout (ref), stderr (ref) */
  r->fields[0] = (uint64_t)p->status;
  r->fields[1] = (uint64_t)p->signal;
  r->fields[2] = (uint64_t)(uintptr_t)buf_str(&p->out[0]);
  r->fields[3] = (uint64_t)(uintptr_t)buf_str(&p->out[1]);
  weft_complete_value(p->a, r);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  proc *p = h->data;
  weft__buf *b = &p->out[h == (uv_handle_t *)&p->pipe[1]];
  /* room for as much again as read so far, 4 KiB to 64 KiB: small outputs of
   * many concurrent processes stay small */
  weft__buf_reserve(b, b->len < 4096 ? 4096 : b->len > 65536 ? 65536 : b->len);
  size_t room = b->cap - b->len;
  *buf = uv_buf_init(b->p + b->len, room > 0x40000000u ? 0x40000000u : (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  proc *p = s->data;
  int i = s == (uv_stream_t *)&p->pipe[1];
  if (n > 0) {
    p->out[i].len += (size_t)n;
    return;
  }
  if (n == 0) return; /* EAGAIN */
  close_pipe(p, i);   /* UV_EOF, or a read error: what was read is kept */
  maybe_complete(p);
}

static void proc_exited(uv_process_t *h, int64_t status, int sig) {
  proc *p = h->data;
  p->exited = true;
  p->signal = sig;
  p->status = sig ? 128 + sig : status;
  uv_close((uv_handle_t *)h, on_close);
  maybe_complete(p);
}

/* Cancel hook: the call is over for the workflow; kill the group, stop
 * reading, and let proc_exited close the process handle (it reaps the child). */
static void on_cancel(weft_act a, void *data) {
  (void)a;
  proc *p = data;
  p->done = true;
  /* the group lives on while a member holds the pipes (so its id is not reused) */
  if (!p->exited || !p->eof[0] || !p->eof[1]) uv_kill(-p->p.pid, SIGTERM);
  close_pipe(p, 0);
  close_pipe(p, 1);
}

/* weft_rt_free: nobody waits for these any more. Unlinks every record
 * first (rt->std goes away before the close callbacks run). */
static void procs_free(weft_rt *rt) {
  proc *p = rt->std->procs;
  rt->std->procs = NULL;
  while (p) {
    proc *nx = p->next;
    p->linked = false;
    p->done = true;
    int pid = p->p.pid;
    if (!p->exited || !p->eof[0] || !p->eof[1]) uv_kill(-pid, SIGKILL);
    close_pipe(p, 0);
    close_pipe(p, 1);
    if (!p->exited) {
      p->exited = true;
      uv_close((uv_handle_t *)&p->p, on_close); /* libuv stops watching it: reap it here */
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
      }
    }
    p = nx;
  }
}

static void spawn(weft_act a, const char *file, char **argv) {
  uv_loop_t *loop = weft_act_loop(a);
  proc *p = weft__xcalloc(1, sizeof *p);
  p->rt = weft_act_rt(a);
  p->a = a;
  for (int i = 0; i < 2; i++) {
    uv_pipe_init(loop, &p->pipe[i], 0);
    p->pipe[i].data = p;
  }
  p->p.data = p;
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_IGNORE},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&p->pipe[0]},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&p->pipe[1]},
  };
  uv_process_options_t o = {
      .exit_cb = proc_exited,
      .file = file,
      .args = argv,
      .stdio_count = 3,
      .stdio = stdio,
      .flags = UV_PROCESS_DETACHED,
  };
  int err = uv_spawn(loop, &p->p, &o);
  p->open = 3; /* uv_spawn initialises the process handle even when it fails */
  if (err) {
    p->done = p->exited = true;
    close_pipe(p, 0);
    close_pipe(p, 1);
    uv_close((uv_handle_t *)&p->p, on_close);
    weft_failf(a, NULL, "cannot run '%s': %s", file, uv_strerror(err));
    return;
  }
  weft__std *s = weft__std_get(p->rt);
  s->procs_free = procs_free;
  p->next = s->procs;
  if (p->next) p->next->prev = p;
  s->procs = p;
  p->linked = true;
  for (int i = 0; i < 2; i++)
    if (uv_read_start((uv_stream_t *)&p->pipe[i], on_alloc, on_read)) close_pipe(p, i);
  weft_act_on_cancel(a, on_cancel, p);
}

void weft_std_run(weft_act a, const char *cmd, weft_list *args) {
  char **argv = weft__xmalloc(sizeof *argv * (size_t)(args->len + 2));
  argv[0] = (char *)cmd;
  for (int64_t i = 0; i < args->len; i++) argv[i + 1] = ((weft_str *)(uintptr_t)args->data[i])->data;
  argv[args->len + 1] = NULL;
  spawn(a, cmd, argv);
  free(argv);
}

void weft_std_run_shell(weft_act a, const char *cmd) {
  char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
  spawn(a, "/bin/sh", argv);
}

/* Message of std/process's ProcessFailed: the program, how it ended and the
 * last non-empty line of its stderr (at most 200 bytes of it). */
const char *weft_proc_failure(const char *cmd, int64_t status, int64_t sig, const char *err) {
  static _Thread_local char msg[512];
  int n = sig ? snprintf(msg, sizeof msg, "'%s' was killed by signal %lld", cmd, (long long)sig)
              : snprintf(msg, sizeof msg, "'%s' exited with status %lld", cmd, (long long)status);
  size_t end = strlen(err);
  while (end && (err[end - 1] == '\n' || err[end - 1] == '\r' || err[end - 1] == ' ')) end--;
  size_t start = end;
  while (start && err[start - 1] != '\n') start--;
  if (end > start && n > 0 && (size_t)n < sizeof msg) {
    size_t len = end - start > 200 ? 200 : end - start;
    snprintf(msg + n, sizeof msg - (size_t)n, ": %.*s", (int)len, err + start);
  }
  return msg;
}

/* std/process's output: stdout without its trailing newlines, like the
 * shell's $(...). */
const char *weft_proc_chomp(const char *s) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
  char *r = weft__std_scratch(weft__std_rt("weft_proc_chomp"), n + 1);
  memcpy(r, s, n);
  r[n] = '\0';
  return r;
}
