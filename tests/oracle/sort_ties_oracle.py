#!/usr/bin/env python3
"""PyTorch oracle for tests/test_sort_ties.c: rows full of ties (and NaNs),
their topk (largest or smallest, sorted or not, k from 0 to the row's length,
rows up to 300 long so both of torch's CPU paths run) and their stable sort.
One case a line:

    <op> <n> <k> <smallest> <unsorted> <values (%r)...> <indices...>

op is topk or sort (sort: k = n, smallest = ascending, unsorted = 0).
Exit status 3 if torch cannot be imported."""
import random
import sys


def main():
    try:
        import torch
    except ImportError:
        return 3
    rng = random.Random(7)
    out = []
    for case in range(1500):
        n = rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 10, 16, 17, 20, 33, 64, 65, 100, 130, 300])
        vals = [float(rng.randint(-3, 3)) for _ in range(n)]
        if rng.random() < 0.2:
            vals = [float("nan") if rng.random() < 0.2 else v for v in vals]
        x = torch.tensor(vals, dtype=torch.float64)
        if case % 5 == 0:
            down = rng.random() < 0.5
            ix = x.sort(descending=down, stable=True)[1]
            head = ["sort", n, n, int(not down), 0]
        else:
            k = rng.randint(0, n) if rng.random() < 0.7 else rng.randint(0, min(n, 3))
            smallest, unsorted = rng.random() < 0.5, rng.random() < 0.5
            ix = x.topk(k, largest=not smallest, sorted=not unsorted)[1]
            head = ["topk", n, k, int(smallest), int(unsorted)]
        out.append(" ".join(map(str, head + [repr(v) for v in vals] + ix.tolist())))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
