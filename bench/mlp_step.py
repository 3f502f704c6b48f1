"""Benchmark: bench/mlp_step.c in PyTorch — one training step of an MLP
784-256-256-10 (ReLU), batch 64, cross-entropy, Adam.
Prints "torch mlp_step: Y us/iter"."""
import os

import torch

from bench_util import bench_iters, bench_run


def main():
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(64, 784)
    y = torch.randint(0, 10, (64,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    us = bench_run(step, bench_iters(500))
    print(f"torch mlp_step: {us:.1f} us/iter", flush=True)


if __name__ == "__main__":
    main()
