/* test_util.h -- helpers shared by the runtime's cmocka tests. */
#ifndef WEFT_TEST_UTIL_H
#define WEFT_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "weft.h"

/* ---- deterministic RNG (splitmix64) ------------------------------------------ */

static uint64_t rng_state;

static inline uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static inline uint64_t rng_below(uint64_t n) { return n ? rng_next() % n : 0; }

/* Seed from WEFT_TEST_SEED (to reproduce a failure) or a fixed default;
 * always printed so a failing run can be replayed. */
static inline uint64_t rng_seed(const char *what) {
  const char *env = getenv("WEFT_TEST_SEED");
  uint64_t seed = env && *env ? strtoull(env, NULL, 0) : 0x5eed0001ull;
  rng_state = seed;
  printf("# %s: seed=0x%llx (set WEFT_TEST_SEED to replay)\n", what, (unsigned long long)seed);
  return seed;
}

/* ---- child processes ------------------------------------------------------------
 * Runs fn(arg) in a forked child with stdout and stderr both captured into one
 * pipe (so their interleaving is visible). The child leaves with _exit(status)
 * (no atexit handlers, no leak checker run on purpose-leaking scenarios).
 * Returns the exit status (or 128 + signal); *out gets the NUL-terminated
 * output (caller frees). */
typedef int (*child_fn)(void *arg);

static inline int run_child(child_fn fn, void *arg, char **out) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[1]);
    int st = fn(arg);
    fflush(NULL);
    _exit(st);
  }
  close(fds[1]);
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (n + 1 >= cap) buf = realloc(buf, cap *= 2);
    ssize_t r = read(fds[0], buf + n, cap - n - 1);
    if (r <= 0) break;
    n += (size_t)r;
  }
  buf[n] = '\0';
  close(fds[0]);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (out) *out = buf;
  else free(buf);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

/* Immortal string literal, laid out exactly as weftc emits them. */
#define TEST_LIT(name, text)                                                          \
  static struct {                                                                     \
    weft_hdr h;                                                                       \
    int64_t len;                                                                      \
    char data[sizeof(text)];                                                          \
  } name##_storage = {{UINT32_MAX, WEFT_TAG_STR, 0}, sizeof(text) - 1, text};          \
  static weft_str *const name = (weft_str *)&name##_storage

static inline void assert_str(weft_str *s, const char *want) {
  assert_non_null(s);
  assert_int_equal(s->h.tag, WEFT_TAG_STR);
  assert_int_equal(s->len, (int64_t)strlen(want));
  assert_int_equal(s->data[s->len], '\0');
  assert_string_equal(s->data, want);
}

/* Checks and releases an owned string. */
static inline void check_str(weft_str *s, const char *want) {
  assert_str(s, want);
  weft_release(s);
}

static inline weft_rt *virtual_rt(void) {
  weft_rt_options o = {.virtual_time = true};
  return weft_rt_new(&o);
}

/* ---- fixtures ------------------------------------------------------------------
 * Every test must give back what it allocated: the live heap-value count
 * after the test equals the one before it. */
static int64_t base_objects;
__attribute__((unused)) static int objects_setup(void **state) {
  (void)state;
  base_objects = weft_objects_live();
  return 0;
}
__attribute__((unused)) static int objects_teardown(void **state) {
  (void)state;
  assert_int_equal(weft_objects_live(), base_objects);
  return 0;
}

#ifdef WEFT_TEST_TRACE
/* A text trace the tests append to with say() and compare with strings; the
 * fixtures reset it and check that no heap value outlived the test. */
static char trace[8192];
static size_t ntrace;
__attribute__((unused)) static void say(const char *fmt, ...) {
  if (ntrace >= sizeof trace - 1) return; /* full: keep what we have */
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(trace + ntrace, sizeof trace - ntrace, fmt, ap);
  va_end(ap);
  ntrace += n > 0 ? (size_t)n : 0;
  if (ntrace > sizeof trace - 1) ntrace = sizeof trace - 1;
}

__attribute__((unused)) static int setup(void **state) {
  ntrace = 0;
  trace[0] = '\0';
  return objects_setup(state);
}
__attribute__((unused)) static int teardown(void **state) { return objects_teardown(state); }
#endif

#endif
