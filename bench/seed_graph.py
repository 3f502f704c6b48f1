"""Benchmark: the seed graph in PyTorch, the counterpart of bench/seed_graph.c.

    x = torch.ones(2, 2, requires_grad=True)      (made once)
    per iteration: y = x + 2; z = y * y * 3; out = z.mean(); out.backward()
                   x.grad = None

Same timing as the C file: a warm-up of one round, then ROUNDS rounds of
BATCHES batches timed with time.perf_counter; a round's result is the median
of its batches' time per iteration, and the reported time is the best round.
BENCH_ITERS timed iterations in all, default 20000 (400 per batch; a Python
iteration of this graph takes tens of microseconds, so that keeps the run to
seconds). torch uses as many threads as OMP_NUM_THREADS says (bench/run.sh
sets 1 for both sides).

Prints: "torch seed_graph: Y us/iter".
"""
import os

import torch


from bench_util import bench_iters, bench_run


def main():
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    x = torch.ones(2, 2, requires_grad=True)

    def step():
        y = x + 2
        z = y * y * 3
        out = z.mean()
        out.backward()
        x.grad = None

    # Check the result once before timing: d(out)/dx = 4.5 everywhere.
    y = x + 2
    out = (y * y * 3).mean()
    out.backward()
    assert out.item() == 27.0 and x.grad.sum().item() == 18.0
    x.grad = None

    us = bench_run(step, bench_iters(20000))
    print(f"torch seed_graph: {us:.3f} us/iter", flush=True)


if __name__ == "__main__":
    main()
