"""Prints what PyTorch gives for the int64 cases of tests/test_int64.c, one
line each: the values (exact integers, space-separated) or ERR and the
message. A double argument that is a whole number stands for a Python int,
as cgrad's scalar rule says."""
import torch

def run(f):
    try:
        t = f()
        print(t.dtype, " ".join(str(int(v)) if t.dtype == torch.int64 else repr(float(v))
                                 for v in t.reshape(-1).tolist()))
    except Exception as e:  # noqa: BLE001 - the message is the answer
        print("ERR", str(e).splitlines()[0])

ones = lambda: torch.ones(2, dtype=torch.int64)
run(lambda: torch.full((2,), 1e30, dtype=torch.int64))
run(lambda: torch.full((2,), float("nan"), dtype=torch.int64))
run(lambda: torch.full((2,), -float("inf"), dtype=torch.int64))
run(lambda: torch.full((2,), 2.0**53 + 2, dtype=torch.int64))
run(lambda: torch.full((2,), -(2.0**63), dtype=torch.int64))
run(lambda: ones() + int(1e19))
run(lambda: ones() + int(2.0**62))
run(lambda: ones() * int(2.0**53 + 2))
run(lambda: torch.arange(2**53, 2**53 + 6, dtype=torch.int64))
run(lambda: torch.arange(2**53 + 8, 2**53 - 4, -4, dtype=torch.int64))
