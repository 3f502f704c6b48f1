/* The timing harness every benchmark shares (bench/NAME.c includes it; its
 * Python twin is bench/bench_util.py).
 *
 * A warm-up of one round, then ROUNDS rounds of BATCHES batches; each batch's
 * time per iteration comes from clock_gettime(CLOCK_MONOTONIC); a round's
 * result is the median of its batches, and the reported time is the best
 * round. Under ROUNDS * BATCHES iterations (a step of seconds), one warm-up
 * iteration, then one round of single-iteration batches. BENCH_ITERS
 * overrides a benchmark's number of timed iterations. */
#ifndef CG_BENCH_H
#define CG_BENCH_H

#define _POSIX_C_SOURCE 199309L
#include <cgrad.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

enum { ROUNDS = 5, BATCHES = 10 };

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline long bench_iters(long dflt) {
    const char *s = getenv("BENCH_ITERS");
    long n = s ? strtol(s, NULL, 10) : dflt;
    return n >= 1 ? n : 1;
}

/* Times step(ctx) (0 on success) and returns the best round's median time
 * per iteration in microseconds, or a negative value if a step failed. */
static inline double bench_run(int (*step)(void *), void *ctx, long iters) {
    bool few = iters < ROUNDS * BATCHES;
    int rounds = few ? 1 : ROUNDS, batches = few ? (int)iters : BATCHES;
    long per_batch = iters / (rounds * batches);
    for (long i = 0; i < (few ? 1 : per_batch * BATCHES); i++) /* warm-up */
        if (step(ctx) != 0) return -1;
    double best = INFINITY;
    for (int r = 0; r < rounds; r++) {
        double batch_us[ROUNDS * BATCHES];
        for (int b = 0; b < batches; b++) {
            double t0 = now_s();
            for (long i = 0; i < per_batch; i++)
                if (step(ctx) != 0) return -1;
            batch_us[b] = (now_s() - t0) * 1e6 / (double)per_batch;
        }
        qsort(batch_us, (size_t)batches, sizeof batch_us[0], cmp_double);
        double median = (batch_us[(batches - 1) / 2] + batch_us[batches / 2]) / 2;
        if (median < best) best = median;
    }
    return best;
}

/* Peak resident memory of this process so far, in kB. */
static inline long peak_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

#endif
