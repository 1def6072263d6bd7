/* C helpers the Weft benchmark programs call through `extern fn`:
 * a monotonic clock, the resident set size (from /proc/self/statm), peak RSS
 * (getrusage) and the problem size from the environment (BENCH_N). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

int64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t bench_rss_bytes(void) {
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = 0;
        fclose(f);
    }
    return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

int64_t bench_maxrss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

int64_t bench_n(int64_t dflt) {
    const char *s = getenv("BENCH_N");
    return s && *s ? strtoll(s, NULL, 10) : dflt;
}

static int64_t counter;
int64_t bench_inc(void) { return ++counter; }
int64_t bench_count(void) { return counter; }
