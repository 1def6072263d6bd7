/* header.c -- the C header for embedding (--emit=header, -H).
 *
 * For every workflow declared in the root .weft file (not imported
 * modules, not the compiler's synthetic block workflows, not the weft.*
 * helpers) the header declares the start function and the result getter
 * that codegen.c defines in the object (section "embedding"), and for every
 * `error X` of the root file its kind, `extern const weft_errkind
 * weft_kind_X;`. The header only declares: the object is the single
 * definition, so the two always agree when made from the same source with
 * the same prefix. Types: weft.h, "Embedding".
 *
 * Prefix: hdr_.
 */
#include "weftc.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

bool hdr_exported(Program *p, Decl *d) {
  if (!p->modules || d->kind != D_WORKFLOW || !d->body || d->module != p->modules->file)
    return false;
  /* synthetic workflows are named "wf.compensate@3:4", helpers "weft.x" */
  return !strchr(d->name, '.') && !strchr(d->name, '@');
}

bool hdr_is_ident(const char *s) {
  if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
    return false;
  for (; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_'))
      return false;
  return true;
}

bool hdr_reserved(const char *prefix) {
  return strcmp(prefix, "weft") == 0 || strncmp(prefix, "weft_", 5) == 0 ||
         strncmp(prefix, "WEFT", 4) == 0;
}

const char *hdr_default_prefix(const char *root_path) {
  const char *base = strrchr(root_path, '/');
  base = base ? base + 1 : root_path;
  size_t n = strlen(base);
  if (n > 5 && strcmp(base + n - 5, ".weft") == 0)
    n -= 5;
  char *s = ar_alloc(n + 2);
  size_t k = 0;
  if (n == 0 || isdigit((unsigned char)base[0]))
    s[k++] = '_';
  for (size_t i = 0; i < n; i++)
    s[k++] = isalnum((unsigned char)base[i]) ? base[i] : '_';
  s[k] = 0;
  return s;
}

/* A Weft name as a C parameter name: C keywords and the start function's
 * own `rt` get a trailing underscore. */
const char *hdr_param_name(const char *name) {
  static const char *const reserved[] = {
      "rt", "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
      "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
      "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
      "union", "unsigned", "void", "volatile", "while", "bool", "true", "false", "_Bool"};
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcmp(name, reserved[i]) == 0)
      return ar_printf("%s_", name);
  return name;
}

/* C type of a parameter (is_param) or of a result stored through a pointer. */
static const char *c_type(Type *t, bool is_param) {
  switch (t->kind) {
  case TY_INT:
  case TY_DURATION: return "int64_t";
  case TY_FLOAT: return "double";
  case TY_BOOL: return "bool";
  case TY_STR: return "const char *";
  case TY_LIST: return "weft_list *";
  case TY_TUPLE:
  case TY_RECORD:
  case TY_OUTCOME: return "weft_obj *";
  case TY_ERROR: return is_param ? "weft_failure *" : "const weft_failure *";
  default: return NULL;
  }
}

static bool has_result(Decl *d) {
  return d->ret && d->ret->kind != TY_UNIT && d->ret->kind != TY_NEVER && d->ret->kind != TY_INVALID;
}

/* "int64_t qty", "const char *name": no space after a '*'. */
static void c_decl(FILE *f, const char *type, const char *name) {
  size_t n = strlen(type);
  fprintf(f, "%s%s%s", type, n && type[n - 1] == '*' ? "" : " ", name);
}

/* A comment describing the Weft signature: "place(customer: str, qty: int) -> str". */
static void weft_signature(FILE *f, Decl *d) {
  fprintf(f, "%s(", d->name);
  for (int i = 0; i < d->nparams; i++)
    fprintf(f, "%s%s: %s", i ? ", " : "", d->params[i].name, ty_name(d->params[i].type));
  fputc(')', f);
  if (has_result(d))
    fprintf(f, " -> %s", ty_name(d->ret));
}

static void write_workflow(FILE *f, Decl *d, const char *prefix) {
  fputs("\n/* workflow ", f);
  weft_signature(f, d);
  fputs(" */\n", f);
  fprintf(f, "weft_frame *%s_%s_start(weft_rt *rt", prefix, d->name);
  for (int i = 0; i < d->nparams; i++) {
    const char *t = c_type(d->params[i].type, true);
    fputs(", ", f);
    c_decl(f, t ? t : "void *", hdr_param_name(d->params[i].name));
  }
  fputs(");\n", f);
  fprintf(f, "int %s_%s_result(weft_rt *rt, weft_frame *root", prefix, d->name);
  if (has_result(d)) {
    const char *t = c_type(d->ret, false);
    fputs(", ", f);
    char *ptr = ar_printf("%s%s*", t ? t : "void *", t && t[strlen(t) - 1] == '*' ? "" : " ");
    c_decl(f, ptr, "out");
  }
  fputs(");\n", f);
}

static void guard_name(FILE *f, const char *prefix) {
  fputs("WEFT_GEN_", f);
  for (const char *c = prefix; *c; c++)
    fputc(toupper((unsigned char)*c), f);
  fputs("_H", f);
}

bool hdr_write(Program *p, const char *prefix, const char *out_path) {
  bool to_stdout = !out_path || strcmp(out_path, "-") == 0;
  FILE *f = to_stdout ? stdout : fopen(out_path, "w");
  if (!f) {
    diag_error_plain("cannot write '%s': %s", out_path, strerror(errno));
    return false;
  }
  const char *root = p->modules ? src_get(p->modules->file)->path : "?";
  const char *base = strrchr(root, '/');
  base = base ? base + 1 : root;
  const char *self = to_stdout ? NULL : strrchr(out_path, '/');
  self = to_stdout ? NULL : self ? self + 1 : out_path;
  if (self)
    fprintf(f, "/* %s -- generated by weftc from %s; do not edit.\n", self, base);
  else
    fprintf(f, "/* Generated by weftc from %s; do not edit.\n", base);
  fputs(" *\n"
        " * Start functions and result getters of the workflows of this file, defined\n"
        " * in the object weftc compiled from it (with the same --header-prefix); see\n"
        " * weft.h, \"Embedding\". Arguments: int and duration (microseconds) as int64_t,\n"
        " * float as double, str copied, lists and records borrowed (the root keeps a\n"
        " * reference). A start function returns the root, which runs when the runtime\n"
        " * does (NULL if rt or a list/record/tuple argument is NULL). A result getter\n"
        " * returns 0 and stores the result of a finished root (strings, lists and\n"
        " * records are borrowed from the root until weft_root_free), or WEFT_EAGAIN\n"
        " * (still running), WEFT_EFAILED (failed or cancelled: weft_root_failure) or\n"
        " * WEFT_EINVAL (not a root of rt started by this start function). */\n",
        f);
  fputs("#ifndef ", f);
  guard_name(f, prefix);
  fputs("\n#define ", f);
  guard_name(f, prefix);
  fputs("\n\n#include <weft.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n", f);

  bool kinds = false;
  for (int i = 0; i < p->decls.len; i++) {
    Decl *d = p->decls.data[i];
    if (d->kind != D_ERROR || !p->modules || d->module != p->modules->file)
      continue;
    if (!kinds)
      fputs("\n/* error kinds (weft_failure_kind, weft_fail in activities) */\n", f);
    kinds = true;
    fprintf(f, "extern const weft_errkind weft_kind_%s;\n", d->name);
  }
  for (int i = 0; i < p->decls.len; i++) {
    Decl *d = p->decls.data[i];
    if (hdr_exported(p, d))
      write_workflow(f, d, prefix);
  }
  fputs("\n#ifdef __cplusplus\n}\n#endif\n#endif\n", f);
  bool ok = !ferror(f);
  if (to_stdout)
    ok = fflush(stdout) == 0 && ok;
  else
    ok = fclose(f) == 0 && ok;
  if (!ok)
    diag_error_plain("cannot write '%s': %s", to_stdout ? "<stdout>" : out_path, strerror(errno));
  return ok;
}
