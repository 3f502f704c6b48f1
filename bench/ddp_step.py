"""Benchmark: bench/ddp_step.c in PyTorch — torch's DistributedDataParallel
over gloo, 2 processes on loopback (tcp://127.0.0.1), nanoGPT's model at
chargpt's size (4 layers, 4 heads, 128 wide, block 64, vocabulary 65), 4
sequences per rank, AdamW, one thread per process.
Prints "torch ddp_compute", "torch ddp_step" (DDP's default 25 MiB buckets),
"torch ddp_allreduce" (a gloo all-reduce of all the gradients, alone) in
us/iter, and "torch allreduce_bw_S" for S = 64KiB ... 16MiB in GB/s."""
import os
import socket
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP

from bench_util import bench_run
from gpt_bench import GPT

STEPS, PER_RANK = 30, 4
SIZES = [(64 << 10, "64KiB"), (1 << 20, "1MiB"), (4 << 20, "4MiB"), (16 << 20, "16MiB")]


def best_us(f, reps=10):
    best = float("inf")
    for _ in range(reps):
        dist.barrier()
        t0 = time.perf_counter()
        f()
        best = min(best, (time.perf_counter() - t0) * 1e6)
    return best


def worker(rank, world, port, out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank,
                            world_size=world)
    V, T, C, L, nh = 65, 64, 128, 4, 4
    torch.manual_seed(0)
    model = GPT(V, T, C, L, nh)
    x, y = torch.randint(0, V, (PER_RANK, T)), torch.randint(0, V, (PER_RANK, T))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)

    def local():
        opt.zero_grad(set_to_none=True)
        model(x, y).backward()
        opt.step()

    ddp = DDP(model)
    dopt = torch.optim.AdamW(ddp.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)

    def step():
        dopt.zero_grad(set_to_none=True)
        ddp(x, y).backward()
        dopt.step()

    dist.barrier()
    compute = bench_run(local, STEPS)
    dist.barrier()
    us = bench_run(step, STEPS)
    n = sum(p.numel() for p in model.parameters())
    g = torch.zeros(n)
    ar = best_us(lambda: dist.all_reduce(g))
    lines = ["torch ddp_compute: %.0f us/iter" % compute, "torch ddp_step: %.0f us/iter" % us,
             "torch ddp_allreduce: %.0f us/iter" % ar]
    for size, name in SIZES:
        t = torch.ones(size // 4)
        bw = size / best_us(lambda: dist.all_reduce(t)) * 1e-3
        lines.append("torch allreduce_bw_%s: %.3f GB/s" % (name, bw))
    if rank == 0:
        out.put(lines)
    dist.destroy_process_group()


def main():
    with socket.socket() as s:  # a free port on loopback
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(r, 2, port, out)) for r in range(2)]
    for p in procs:
        p.start()
    lines = out.get()
    for p in procs:
        p.join()
    for line in lines:
        print(line, flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
