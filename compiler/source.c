/* source.c -- arena, source files, diagnostics rendering.
 *
 * Arena: big zeroed chunks, 16-byte aligned bumps, freed all at once.
 * Sources: a table of loaded files; line tables are built lazily the first
 * time a diagnostic points into a file.
 * Diagnostics: clang/rustc-style text (location, level, message, the source
 * line, a caret and `~` underline), optionally colored, or JSON lines.
 */
#include "weftc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ================================================================ arena */

#define AR_CHUNK (1u << 20)     /* 1 MiB */
#define AR_BIG (AR_CHUNK / 4)   /* bigger requests get a chunk of their own */

typedef struct Chunk {
  struct Chunk *next;
  size_t size, used;            /* payload bytes */
  _Alignas(16) unsigned char data[];
} Chunk;

static Chunk *ar_head;          /* current bump chunk */
static Chunk *ar_big;           /* dedicated chunks for big requests */

static Chunk *chunk_new(size_t size) {
  Chunk *c = calloc(1, sizeof(Chunk) + size);
  if (!c) {
    fprintf(stderr, "weftc: error: out of memory (allocating %zu bytes)\n", size);
    exit(WEFTC_EXIT_USER);
  }
  c->size = size;
  return c;
}

void *ar_alloc(size_t size) {
  if (size == 0) size = 1;
  if (size > SIZE_MAX - 64) {
    fprintf(stderr, "weftc: error: out of memory\n");
    exit(WEFTC_EXIT_USER);
  }
  size = (size + 15) & ~(size_t)15;
  if (size > AR_BIG) {
    Chunk *c = chunk_new(size);
    c->used = size;
    c->next = ar_big;
    ar_big = c;
    return c->data;
  }
  if (!ar_head || ar_head->size - ar_head->used < size) {
    Chunk *c = chunk_new(AR_CHUNK);
    c->next = ar_head;
    ar_head = c;
  }
  void *p = ar_head->data + ar_head->used;
  ar_head->used += size;
  return p;
}

char *ar_strndup(const char *s, size_t n) {
  char *p = ar_alloc(n + 1);
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *ar_strdup(const char *s) { return ar_strndup(s, strlen(s)); }

static char *ar_vprintf(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  char probe[1]; /* measures; a NULL buffer trips -Wformat-truncation under sanitizers */
  int n = vsnprintf(probe, sizeof probe, fmt, ap2);
  va_end(ap2);
  if (n < 0) n = 0;
  char *p = ar_alloc((size_t)n + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  return p;
}

char *ar_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *p = ar_vprintf(fmt, ap);
  va_end(ap);
  return p;
}

static void src_reset(void);

void ar_free_all(void) {
  for (Chunk *c = ar_head, *n; c; c = n) {
    n = c->next;
    free(c);
  }
  for (Chunk *c = ar_big, *n; c; c = n) {
    n = c->next;
    free(c);
  }
  ar_head = ar_big = NULL;
  src_reset();   /* the source table lived in the arena */
}

void vec_push(Vec *v, void *p) {
  if (v->len == v->cap) {
    int ncap = v->cap ? v->cap * 2 : 8;
    void **nd = ar_alloc(sizeof(void *) * (size_t)ncap);
    if (v->len) memcpy(nd, v->data, sizeof(void *) * (size_t)v->len);
    v->data = nd;
    v->cap = ncap;
  }
  v->data[v->len++] = p;
}

/* ================================================================ sources */

typedef struct SrcEntry {
  SrcFile f;            /* first: a SrcFile* is a SrcEntry* */
  int *line_starts;     /* byte offset of each line, lazily built */
  int nlines;
} SrcEntry;

static Vec src_table;

static void src_reset(void) { memset(&src_table, 0, sizeof src_table); }

/* Files are limited so that every byte offset and column fits in an int. */
#define SRC_MAX_LEN ((size_t)INT_MAX - 16)

static SrcFile *src_add(const char *display_path, char *text, size_t len) {
  SrcEntry *e = ar_alloc(sizeof *e);
  e->f.id = src_table.len;
  e->f.path = ar_strdup(display_path ? display_path : "<input>");
  e->f.text = text;
  e->f.len = len;
  vec_push(&src_table, e);
  return &e->f;
}

SrcFile *src_load(const char *path, const char *display_path) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  if (!buf) {
    fclose(fp);
    errno = ENOMEM;
    return NULL;
  }
  for (;;) {
    if (cap - len < 4096) {
      if (cap > SRC_MAX_LEN) {
        free(buf);
        fclose(fp);
        errno = EFBIG;
        return NULL;
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        fclose(fp);
        errno = ENOMEM;
        return NULL;
      }
      buf = nb;
      cap *= 2;
    }
    size_t n = fread(buf + len, 1, cap - len, fp);
    len += n;
    if (n == 0) {
      if (ferror(fp)) {
        int e = errno ? errno : EIO;
        free(buf);
        fclose(fp);
        errno = e;
        return NULL;
      }
      break;
    }
  }
  fclose(fp);
  if (len > SRC_MAX_LEN) {
    free(buf);
    errno = EFBIG;
    return NULL;
  }
  char *text = ar_alloc(len + 1);
  memcpy(text, buf, len);
  text[len] = '\0';
  free(buf);
  return src_add(display_path ? display_path : path, text, len);
}

SrcFile *src_from_string(const char *display_path, const char *text, size_t len) {
  if (len > SRC_MAX_LEN) len = SRC_MAX_LEN;
  return src_add(display_path, ar_strndup(text, len), len);
}

SrcFile *src_get(int id) {
  if (id < 0 || id >= src_table.len) return NULL;
  return src_table.data[id];
}

int src_count(void) { return src_table.len; }

Loc loc_span(Loc a, Loc b) {
  if (b.line <= 0) return a;
  if (a.line <= 0) return b;
  Loc r = a;
  if (b.end_line > a.end_line || (b.end_line == a.end_line && b.end_col > a.end_col)) {
    r.end_line = b.end_line;
    r.end_col = b.end_col;
  }
  return r;
}

Loc loc_word_after(Loc from, const char *word) {
  SrcFile *f = from.line > 0 ? src_get(from.file) : NULL;
  if (!f || !word) return from;
  const char *p = f->text, *end = f->text + f->len;
  for (int line = 1; line < from.line && p < end; p++)
    if (*p == '\n') line++;
  const char *ls = p;
  size_t wl = strlen(word);
  for (p = ls + (from.col - 1); p < end && *p != '\n'; p++) {
    if ((size_t)(end - p) < wl) break;
    if (strncmp(p, word, wl)) continue;
    char b = p > ls ? p[-1] : ' ', a = p + wl < end ? p[wl] : ' ';
    bool idb = (b == '_' || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9'));
    bool ida = (a == '_' || (a >= 'a' && a <= 'z') || (a >= 'A' && a <= 'Z') || (a >= '0' && a <= '9'));
    if (idb || ida) continue;
    Loc l = from;
    l.col = (int)(p - ls) + 1;
    l.end_line = l.line;
    l.end_col = l.col + (int)wl;
    return l;
  }
  return from;
}

static void src_lines(SrcEntry *e) {
  if (e->line_starts) return;
  const char *t = e->f.text;
  size_t n = e->f.len;
  int count = 1;
  for (const char *p = t; (p = memchr(p, '\n', (size_t)(t + n - p))) != NULL; p++) count++;
  e->line_starts = ar_alloc(sizeof(int) * (size_t)(count + 1));
  int i = 0;
  e->line_starts[i++] = 0;
  for (const char *p = t; (p = memchr(p, '\n', (size_t)(t + n - p))) != NULL; p++)
    e->line_starts[i++] = (int)(p - t) + 1;
  e->line_starts[count] = (int)n + 1; /* sentinel: start of a line past the end */
  e->nlines = count;
}

/* ================================================================ diagnostics */

static int diag_errors, diag_warnings;
static int color_mode = -1;         /* -1 auto, 0 never, 1 always */
static int color_resolved = -1;
static bool json_mode, werror_mode;
static bool last_suppressed;        /* the previous error was not shown: hide its notes */
static int error_limit = 100;       /* errors shown; 0 = no limit */
static int errors_shown;
static bool limit_reported;

void diag_set_color(int mode) {
  color_mode = mode;
  color_resolved = -1;
}
void diag_set_json(bool on) { json_mode = on; }
void diag_set_werror(bool on) { werror_mode = on; }
void diag_set_error_limit(int n) { error_limit = n < 0 ? 0 : n; }
int diag_error_count(void) { return diag_errors; }
int diag_warning_count(void) { return diag_warnings; }

static bool use_color(void) {
  if (color_resolved >= 0) return color_resolved;
  if (color_mode >= 0) {
    color_resolved = color_mode;
  } else {
    const char *nc = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    color_resolved = isatty(2) && !(nc && *nc) && !(term && strcmp(term, "dumb") == 0);
  }
  return color_resolved;
}

/* A small growable string (malloc; freed after each diagnostic). */
typedef struct Buf {
  char *p;
  size_t len, cap;
} Buf;

static void buf_grow(Buf *b, size_t more) {
  if (b->len + more + 1 <= b->cap) return;
  size_t nc = b->cap ? b->cap : 256;
  while (nc < b->len + more + 1) nc *= 2;
  char *np = realloc(b->p, nc);
  if (!np) {
    fputs("weftc: error: out of memory\n", stderr);
    exit(WEFTC_EXIT_USER);
  }
  b->p = np;
  b->cap = nc;
}
static void buf_add(Buf *b, const char *s, size_t n) {
  buf_grow(b, n);
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}
static void buf_puts(Buf *b, const char *s) { buf_add(b, s, strlen(s)); }
static void buf_putc(Buf *b, char c) { buf_add(b, &c, 1); }
static void buf_rep(Buf *b, char c, int n) {
  for (int i = 0; i < n; i++) buf_putc(b, c);
}
__attribute__((format(printf, 2, 3))) static void buf_printf(Buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n <= 0) return;
  buf_grow(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if invalid. */
static int utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  int len;
  unsigned min;
  if (c >= 0xC2 && c <= 0xDF) len = 2, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, min = 0x10000;
  else return 0;
  if ((size_t)len > n) return 0;
  unsigned cp = c & (0x3F >> (len - 1));
  for (int i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

/* Byte length of the display unit at s[i] (a UTF-8 character, or one byte). */
static int unit_len(const unsigned char *s, size_t i, size_t n) {
  int l = utf8_len(s + i, n - i);
  return l ? l : 1;
}

#define SNIPPET_MAX 120   /* longer lines are shown as a window */
#define SNIPPET_WIN 100
#define SNIPPET_BEFORE 40

static const char *C_RESET = "\033[0m", *C_BOLD = "\033[1m", *C_RED = "\033[1;31m",
                  *C_MAGENTA = "\033[1;35m", *C_CYAN = "\033[1;36m", *C_GREEN = "\033[1;32m";

/* The source line of loc with a caret line under it. */
static void render_snippet(Buf *b, const Loc *loc, bool color) {
  SrcEntry *e = (SrcEntry *)src_get(loc->file);
  if (!e || loc->line <= 0) return;
  src_lines(e);
  if (loc->line > e->nlines) return;
  const unsigned char *t = (const unsigned char *)e->f.text;
  size_t ls = (size_t)e->line_starts[loc->line - 1];
  size_t le = (size_t)e->line_starts[loc->line] - 1; /* the '\n' or the end */
  if (le > e->f.len) le = e->f.len;
  const unsigned char *s = t + ls;
  size_t n = le - ls;
  if (n > 0 && s[n - 1] == '\r') n--;

  size_t c0 = loc->col > 0 ? (size_t)(loc->col - 1) : 0;
  if (c0 > n) c0 = n;
  size_t c1;
  if (loc->end_line > loc->line) c1 = n;
  else if (loc->end_line == loc->line && loc->end_col > loc->col) c1 = (size_t)(loc->end_col - 1);
  else c1 = c0;
  if (c1 > n) c1 = n;
  if (c1 < c0) c1 = c0;

  /* window */
  size_t ws = 0, we = n;
  if (n > SNIPPET_MAX) {
    ws = c0 > SNIPPET_BEFORE ? c0 - SNIPPET_BEFORE : 0;
    we = ws + SNIPPET_WIN < n ? ws + SNIPPET_WIN : n;
    if (we - ws < SNIPPET_WIN) ws = we > SNIPPET_WIN ? we - SNIPPET_WIN : 0;
    while (ws > 0 && ws < n && (s[ws] & 0xC0) == 0x80) ws++;
    while (we < n && (s[we] & 0xC0) == 0x80) we++;
    if (c1 > we) c1 = we;
    if (c0 > we) c0 = we;
  }

  int ndig = 1;
  for (int l = loc->line; l >= 10; l /= 10) ndig++;
  int w = ndig + 1 > 5 ? ndig + 1 : 5;

  /* the source line */
  buf_printf(b, "%*d | ", w, loc->line);
  if (ws > 0) buf_puts(b, "...");
  for (size_t i = ws; i < we;) {
    int ul = unit_len(s, i, we);
    unsigned c = s[i];
    if (ul > 1) buf_add(b, (const char *)s + i, (size_t)ul);
    else if (c == '\t') buf_putc(b, '\t');
    else if (c < 0x20 || c >= 0x7F) buf_putc(b, '?');
    else buf_putc(b, (char)c);
    i += (size_t)ul;
  }
  if (we < n) buf_puts(b, "...");
  buf_putc(b, '\n');

  /* the caret line */
  buf_rep(b, ' ', w);
  buf_puts(b, " | ");
  if (ws > 0) buf_puts(b, "   ");
  size_t i = ws;
  while (i < c0) {
    int ul = unit_len(s, i, we);
    buf_putc(b, s[i] == '\t' ? '\t' : ' ');
    i += (size_t)ul;
  }
  if (color) buf_puts(b, C_GREEN);
  buf_putc(b, '^');
  if (i < we) i += (size_t)unit_len(s, i, we);
  while (i < c1) {
    buf_putc(b, '~');
    i += (size_t)unit_len(s, i, we);
  }
  if (color) buf_puts(b, C_RESET);
  buf_putc(b, '\n');
}

static const char *level_name(DiagLevel lvl) {
  return lvl == DIAG_ERROR ? "error" : lvl == DIAG_WARNING ? "warning" : "note";
}

/* The full text of one diagnostic. */
static void render(Buf *b, DiagLevel lvl, bool werr, const Loc *loc, const char *msg, bool color) {
  SrcFile *f = loc ? src_get(loc->file) : NULL;
  if (color) buf_puts(b, C_BOLD);
  if (f) {
    if (loc->line > 0) buf_printf(b, "%s:%d:%d: ", f->path, loc->line, loc->col);
    else buf_printf(b, "%s: ", f->path);
  } else if (lvl != DIAG_NOTE) {
    buf_puts(b, "weftc: ");
  }
  if (color) {
    buf_puts(b, C_RESET);
    buf_puts(b, lvl == DIAG_ERROR ? C_RED : lvl == DIAG_WARNING ? C_MAGENTA : C_CYAN);
  }
  buf_puts(b, level_name(lvl));
  buf_puts(b, ":");
  if (color) {
    buf_puts(b, C_RESET);
    buf_puts(b, C_BOLD);
  }
  buf_putc(b, ' ');
  buf_puts(b, msg);
  if (werr) buf_puts(b, " [-Werror]");
  if (color) buf_puts(b, C_RESET);
  buf_putc(b, '\n');
  if (f) render_snippet(b, loc, color);
}

static void json_str(Buf *b, const char *s) {
  buf_putc(b, '"');
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    unsigned c = p[i];
    if (c == '"') buf_puts(b, "\\\"");
    else if (c == '\\') buf_puts(b, "\\\\");
    else if (c == '\n') buf_puts(b, "\\n");
    else if (c == '\t') buf_puts(b, "\\t");
    else if (c == '\r') buf_puts(b, "\\r");
    else if (c == '\b') buf_puts(b, "\\b");
    else if (c == '\f') buf_puts(b, "\\f");
    else if (c < 0x20 || c == 0x7F) buf_printf(b, "\\u%04x", c);
    else if (c >= 0x80) {
      int l = utf8_len(p + i, n - i);
      if (l) {
        buf_add(b, (const char *)p + i, (size_t)l);
        i += (size_t)l;
        continue;
      }
      buf_puts(b, "\\ufffd");
    } else buf_putc(b, (char)c);
    i++;
  }
  buf_putc(b, '"');
}

static void emit(DiagLevel lvl, const Loc *loc, const char *msg) {
  bool werr = false;
  if (lvl == DIAG_WARNING && werror_mode) {
    lvl = DIAG_ERROR;
    werr = true;
  }
  if (lvl == DIAG_ERROR) {
    diag_errors++;
    if (error_limit && errors_shown >= error_limit) {
      last_suppressed = true;
      if (!limit_reported) {
        limit_reported = true;
        if (json_mode)
          fprintf(stderr, "{\"level\":\"note\",\"message\":\"too many errors emitted; the rest are not shown\","
                          "\"rendered\":\"note: too many errors emitted; the rest are not shown\\n\"}\n");
        else if (use_color())
          fprintf(stderr, "%snote:%s %stoo many errors emitted; the rest are not shown%s\n", C_CYAN,
                  C_RESET, C_BOLD, C_RESET);
        else fputs("note: too many errors emitted; the rest are not shown\n", stderr);
        fflush(stderr);
      }
      return;
    }
    errors_shown++;
    last_suppressed = false;
  } else if (lvl == DIAG_WARNING) {
    diag_warnings++;
    last_suppressed = false;
  } else if (last_suppressed) {
    return;
  }

  Buf b = {0};
  if (json_mode) {
    Buf r = {0};
    render(&r, lvl, werr, loc, msg, false);
    SrcFile *f = loc ? src_get(loc->file) : NULL;
    buf_puts(&b, "{\"level\":");
    json_str(&b, level_name(lvl));
    buf_puts(&b, ",\"message\":");
    if (werr) {
      char *m = malloc(strlen(msg) + 16);
      if (m) {
        sprintf(m, "%s [-Werror]", msg);
        json_str(&b, m);
        free(m);
      }
    } else {
      json_str(&b, msg);
    }
    if (f) {
      buf_puts(&b, ",\"file\":");
      json_str(&b, f->path);
      buf_printf(&b, ",\"line\":%d,\"col\":%d,\"end_line\":%d,\"end_col\":%d", loc->line, loc->col,
                 loc->end_line, loc->end_col);
    }
    buf_puts(&b, ",\"rendered\":");
    json_str(&b, r.p ? r.p : "");
    buf_puts(&b, "}\n");
    free(r.p);
  } else {
    render(&b, lvl, werr, loc, msg, use_color());
  }
  fflush(stdout);
  fwrite(b.p, 1, b.len, stderr);
  fflush(stderr);
  free(b.p);
}

void diag_vreport(DiagLevel lvl, const Loc *loc, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  char probe[1]; /* measures; a NULL buffer trips -Wformat-truncation under sanitizers */
  int n = vsnprintf(probe, sizeof probe, fmt, ap2);
  va_end(ap2);
  if (n < 0) n = 0;
  char *msg = malloc((size_t)n + 1);
  if (!msg) {
    fputs("weftc: error: out of memory\n", stderr);
    exit(WEFTC_EXIT_USER);
  }
  vsnprintf(msg, (size_t)n + 1, fmt, ap);
  emit(lvl, loc, msg);
  free(msg);
}

void diag_error(Loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(DIAG_ERROR, &loc, fmt, ap);
  va_end(ap);
}

void diag_warning(Loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(DIAG_WARNING, &loc, fmt, ap);
  va_end(ap);
}

void diag_note(Loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(DIAG_NOTE, &loc, fmt, ap);
  va_end(ap);
}

void diag_note_plain(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(DIAG_NOTE, NULL, fmt, ap);
  va_end(ap);
}

void diag_error_plain(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(DIAG_ERROR, NULL, fmt, ap);
  va_end(ap);
}

_Noreturn void diag_ice(const char *fmt, ...) {
  fflush(stdout);
  va_list ap;
  va_start(ap, fmt);
  fputs("weftc: internal compiler error: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nnote: please report this bug; it is not a problem in your program\n", stderr);
  fflush(stderr);
  exit(WEFTC_EXIT_ICE);
}

/* Edit distance (optimal string alignment: insertions, deletions,
 * substitutions and transpositions of neighbours cost 1), three rows;
 * gives up (returns limit+1) once a whole row exceeds limit. */
static int edit_distance(const char *a, const char *b, int limit) {
  int la = (int)strlen(a), lb = (int)strlen(b);
  if (la - lb > limit || lb - la > limit) return limit + 1;
  int *pp = malloc(sizeof(int) * (size_t)(lb + 1));
  int *prev = malloc(sizeof(int) * (size_t)(lb + 1));
  int *cur = malloc(sizeof(int) * (size_t)(lb + 1));
  int d = limit + 1;
  if (!pp || !prev || !cur) goto done;
  for (int j = 0; j <= lb; j++) prev[j] = j;
  for (int i = 1; i <= la; i++) {
    cur[0] = i;
    int rowmin = cur[0];
    for (int j = 1; j <= lb; j++) {
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int v = prev[j - 1] + cost;
      if (prev[j] + 1 < v) v = prev[j] + 1;
      if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
        v = pp[j - 2] + 1;
      cur[j] = v;
      if (v < rowmin) rowmin = v;
    }
    int *t = pp;
    pp = prev;
    prev = cur;
    cur = t;
    if (rowmin > limit) goto done;
  }
  d = prev[lb];
done:
  free(pp);
  free(prev);
  free(cur);
  return d;
}

const char *diag_closest(const char *name, const char **cands, int n) {
  if (!name) return NULL;
  int len = (int)strlen(name);
  int limit = len / 3 > 1 ? len / 3 : 1;
  const char *best = NULL;
  int bestd = limit + 1;
  for (int i = 0; i < n; i++) {
    if (!cands[i]) continue;
    int d = edit_distance(name, cands[i], limit);
    if (d < bestd) {
      bestd = d;
      best = cands[i];
    }
  }
  return best;
}
