/* fs.c -- native half of std/fs: whole-file operations as activities,
 * asynchronous through uv_fs_* on the runtime's loop (libuv runs them on its
 * thread pool).
 *
 *   activity read_file(path: str) -> str
 *   activity write_file(path: str, data: str)     (created 0644 / truncated)
 *   activity append_file(path: str, data: str)    (created 0644 if missing)
 *   activity file_exists(path: str) -> bool
 *
 * Each call is one chain of requests on one uv_fs_t: open, read/write until
 * done, close, then complete. Errors complete with ActivityFailed naming
 * the path and strerror ("cannot read 'x': No such file or directory").
 * No cancel hook: a cancelled workflow waits for the (short) operation to
 * finish and its result is dropped. Operations still in flight when the
 * runtime is freed are abandoned: they finish and free themselves without
 * completing (fsops_free). Path and data are copied, so nothing borrowed
 * from the call is used after it is over. */
#include "native.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

enum { F_READ, F_WRITE, F_APPEND, F_EXISTS };
static const char *const verb[] = {"cannot read", "cannot write", "cannot append to", "cannot stat"};

typedef struct fsop {
  uv_fs_t req;
  weft_act a;
  weft_rt *rt;
  struct fsop *next, *prev; /* rt->std->fsops while linked (not abandoned) */
  bool linked;
  int kind;
  uv_file fd;  /* -1 when not open */
  int err;     /* first error (a negative libuv code), 0 if none */
  bool exists; /* F_EXISTS result */
  bool eof;    /* F_READ: end of file reached */
  char *path;  /* owned copy */
  char *data;  /* write/append: owned copy of len bytes */
  size_t len, off;
  weft__buf buf; /* read: the contents */
} fsop;

static void step(uv_fs_t *req);

static void op_finish(fsop *op) {
  if (op->linked) {
    if (op->prev) op->prev->next = op->next;
    else op->rt->std->fsops = op->next;
    if (op->next) op->next->prev = op->prev;
    if (op->err) weft_failf(op->a, NULL, "%s '%s': %s", verb[op->kind], op->path, strerror(-op->err));
    else if (op->kind == F_READ) weft_complete_strn(op->a, op->buf.p ? op->buf.p : "", op->buf.len);
    else if (op->kind == F_EXISTS) weft_complete_bool(op->a, op->exists);
    else weft_complete(op->a);
  }
  weft__buf_free(&op->buf);
  free(op->data);
  free(op->path);
  free(op);
}

/* Issues the next read/write of the chain, or closes the file (then finishes).
 * An abandoned operation goes straight to closing. */
static void advance(fsop *op) {
  uv_loop_t *loop = op->req.loop;
  int r;
  if (!op->err && op->linked) {
    r = 0;
    if (op->kind == F_READ && !op->eof) {
      weft__buf_reserve(&op->buf, 65536);
      size_t room = op->buf.cap - op->buf.len;
      uv_buf_t b = uv_buf_init(op->buf.p + op->buf.len, room > 0x40000000u ? 0x40000000u : (unsigned)room);
      r = uv_fs_read(loop, &op->req, op->fd, &b, 1, -1, step);
      if (!r) return;
    } else if (op->kind != F_READ && op->off < op->len) {
      size_t n = op->len - op->off;
      uv_buf_t b = uv_buf_init(op->data + op->off, n > 0x40000000u ? 0x40000000u : (unsigned)n);
      r = uv_fs_write(loop, &op->req, op->fd, &b, 1, -1, step);
      if (!r) return;
    }
    op->err = r;
  }
  r = uv_fs_close(loop, &op->req, op->fd, step);
  op->fd = -1;
  if (r) {
    if (!op->err) op->err = r;
    op_finish(op);
  }
}

/* Completion of every request of the chain. */
static void step(uv_fs_t *req) {
  fsop *op = req->data;
  ssize_t r = req->result;
  uv_fs_type t = req->fs_type;
  uv_fs_req_cleanup(req);
  if (r < 0 && !op->err && !(t == UV_FS_STAT && (r == UV_ENOENT || r == UV_ENOTDIR)))
    op->err = (int)r; /* the first error wins; a failed close can lose written data */
  switch (t) {
  case UV_FS_OPEN:
    if (r < 0) break;
    op->fd = (uv_file)r;
    advance(op);
    return;
  case UV_FS_READ:
    if (r == 0) op->eof = true;
    else if (r > 0) op->buf.len += (size_t)r;
    advance(op);
    return;
  case UV_FS_WRITE:
    if (r > 0) op->off += (size_t)r;
    advance(op);
    return;
  case UV_FS_STAT: op->exists = r == 0; break;
  case UV_FS_CLOSE: break;
  default: weft__internal_error("std/fs: unexpected request type %d", (int)t);
  }
  op_finish(op);
}

static void fsops_free(weft_rt *rt) {
  for (fsop *op = rt->std->fsops; op; op = op->next) op->linked = false;
  rt->std->fsops = NULL;
}

static void start(weft_act a, int kind, const char *path, const char *data) {
  fsop *op = weft__xcalloc(1, sizeof *op);
  op->a = a;
  op->rt = weft_act_rt(a);
  op->kind = kind;
  op->fd = -1;
  size_t pl = strlen(path);
  op->path = weft__xmalloc(pl + 1);
  memcpy(op->path, path, pl + 1);
  if (data) {
    op->len = strlen(data);
    op->data = weft__xmalloc(op->len + 1);
    memcpy(op->data, data, op->len + 1);
  }
  op->req.data = op;
  uv_loop_t *loop = weft_act_loop(a);
  int r;
  if (kind == F_EXISTS) r = uv_fs_stat(loop, &op->req, op->path, step);
  else {
    int flags = kind == F_READ    ? O_RDONLY
                : kind == F_WRITE ? O_WRONLY | O_CREAT | O_TRUNC
                                  : O_WRONLY | O_CREAT | O_APPEND;
    r = uv_fs_open(loop, &op->req, op->path, flags | O_CLOEXEC, 0644, step);
  }
  weft__std *s = weft__std_get(op->rt);
  s->fsops_free = fsops_free;
  op->next = s->fsops;
  if (op->next) op->next->prev = op;
  s->fsops = op;
  op->linked = true;
  if (r) { /* not even queued */
    op->err = r;
    op_finish(op);
  }
}

void weft_std_read_file(weft_act a, const char *path) { start(a, F_READ, path, NULL); }
void weft_std_write_file(weft_act a, const char *path, const char *data) { start(a, F_WRITE, path, data); }
void weft_std_append_file(weft_act a, const char *path, const char *data) { start(a, F_APPEND, path, data); }
void weft_std_file_exists(weft_act a, const char *path) { start(a, F_EXISTS, path, NULL); }
