"""The timing harness every Python benchmark shares (the C twin is
bench/bench.h): a warm-up of one round, then ROUNDS rounds of BATCHES batches
timed with time.perf_counter; a round's result is the median of its batches'
time per iteration, and the reported time is the best round. Under
ROUNDS * BATCHES iterations (a step of seconds), one warm-up iteration, then one
round of single-iteration batches."""
import os
import resource
import statistics
import time

ROUNDS, BATCHES = 5, 10


def bench_iters(default):
    return max(int(os.environ.get("BENCH_ITERS", default)), 1)


def bench_run(step, iters):
    few = iters < ROUNDS * BATCHES
    rounds, batches = (1, iters) if few else (ROUNDS, BATCHES)
    per_batch = iters // (rounds * batches)
    for _ in range(1 if few else per_batch * BATCHES):  # warm-up
        step()
    best = float("inf")
    for _ in range(rounds):
        batch_us = []
        for _ in range(batches):
            t0 = time.perf_counter()
            for _ in range(per_batch):
                step()
            batch_us.append((time.perf_counter() - t0) * 1e6 / per_batch)
        best = min(best, statistics.median(batch_us))
    return best


def peak_rss_kb():
    """Peak resident memory of this process so far, in kB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
