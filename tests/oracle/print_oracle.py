"""Oracle for tests/test_print.c: rebuilds each tensor in PyTorch, writes repr().

usage: print_oracle.py INFILE OUTFILE

INFILE, one tensor per line, fields separated by spaces:
    dtype ndim size_0 .. size_{ndim-1} requires_grad grad_fn value_0 value_1 ...
dtype is f32, f64, i64 or b8; requires_grad 0 or 1; grad_fn a node name or
"-"; float values are C99 hex floats (or inf, -inf, nan), int64 values decimal,
bool values 0/1. A tensor with a grad_fn is rebuilt as an op of that name
applied to a leaf so that the result has exactly the given values.

OUTFILE gets, per tensor, "<byte length>\\n<repr>\\n".
"""
import sys

try:
    import torch
except Exception as e:  # the C test reports this as a failure
    sys.stderr.write("print_oracle.py: cannot import torch with %s: %s\n" % (sys.executable, e))
    sys.exit(2)

DTYPES = {"f32": torch.float32, "f64": torch.float64, "i64": torch.int64, "b8": torch.bool}

# grad_fn name -> (transform of the values for the leaf, op giving them back
# exactly; e.g. x + (-0.0) == x for every x, -0.0 included)
OPS = {
    "AddBackward0": (lambda v: v, lambda x: x + (-0.0)),
    "SubBackward0": (lambda v: v, lambda x: x - 0.0),
    "MulBackward0": (lambda v: v, lambda x: x * 1.0),
    "DivBackward0": (lambda v: v, lambda x: x / 1.0),
    "NegBackward0": (lambda v: [-a for a in v], lambda x: -x),
    "SumBackward0": (lambda v: v, lambda x: x.sum()),  # 0-d results only
    "MeanBackward0": (lambda v: v, lambda x: x.mean()),  # 0-d results only
}


def parse_value(tok, kind):
    if kind in ("f32", "f64"):
        return float(tok) if tok in ("inf", "-inf", "nan") else float.fromhex(tok)
    if kind == "i64":
        return int(tok)
    return tok == "1"


def build(line):
    f = line.split()
    kind, ndim = f[0], int(f[1])
    shape = tuple(int(s) for s in f[2:2 + ndim])
    rg, fn = f[2 + ndim] == "1", f[3 + ndim]
    vals = [parse_value(tok, kind) for tok in f[4 + ndim:]]
    dtype = DTYPES[kind]
    if fn != "-":
        prep, op = OPS[fn]
        leaf = torch.tensor(prep(vals), dtype=dtype).reshape(shape).requires_grad_()
        t = op(leaf)
        if t.grad_fn is None or type(t.grad_fn).__name__ != fn or t.dtype != dtype:
            raise RuntimeError("cannot rebuild a tensor with grad_fn %s" % fn)
        return t
    t = torch.tensor(vals, dtype=dtype).reshape(shape)
    return t.requires_grad_() if rg else t


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: print_oracle.py INFILE OUTFILE\n")
        return 2
    with open(sys.argv[1]) as fin, open(sys.argv[2], "wb") as fout:
        for line in fin:
            if line.strip():
                r = repr(build(line)).encode("utf-8")
                fout.write(b"%d\n" % len(r) + r + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
