#!/usr/bin/env python3
"""PyTorch oracle for tests/test_einsum.c.

    einsum_oracle.py IN OUT

IN holds one record per case, written by the C test:

    C <id> <n_inputs> <equation>       the equation is the rest of the line;
                                       "outer" stands for torch.outer
    I <ndim> <shape...> <values...>    float64 inputs (n_inputs lines)
    U <ndim> <shape...> <values...>    the upstream gradient, or "U none"

Values are C99 hex floats. For each case OUT gets

    R <id> OK
    O <ndim> <shape...> <values...>    the output (values as float.hex)
    G <k> <ndim> <shape...> <values...>
or
    R <id> ERR <message on one line>

Exit status 3 (with a message on stderr) if torch cannot be imported.
"""
import sys


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: einsum_oracle.py IN OUT\n")
        return 2
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - any import failure is fatal here
        sys.stderr.write("einsum_oracle: %s cannot import torch: %s: %s\n"
                         % (sys.executable, type(e).__name__, e))
        return 3
    torch.set_num_threads(1)

    def tensor(tok):
        nd = int(tok[0])
        shape = [int(x) for x in tok[1:1 + nd]]
        vals = [float.fromhex(x) for x in tok[1 + nd:]]
        return torch.tensor(vals, dtype=torch.float64).reshape(shape)

    def fmt(t):
        t = t.detach().contiguous()
        return " ".join([str(t.dim())] + [str(s) for s in t.shape]
                        + [float(v).hex() for v in t.reshape(-1).tolist()])

    lines = open(argv[1]).read().split("\n")
    out = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("C "):
            i += 1
            continue
        _, cid, n, eq = lines[i].split(" ", 3)
        n = int(n)
        xs = [tensor(lines[i + 1 + k].split()[1:]).requires_grad_() for k in range(n)]
        up = lines[i + 1 + n].split()[1:]
        i += 2 + n
        try:
            r = torch.outer(*xs) if eq == "outer" else torch.einsum(eq, *xs)
            res = ["R %s OK" % cid, "O " + fmt(r)]
            if up != ["none"]:
                gs = torch.autograd.grad(r, xs, tensor(up), allow_unused=True)
                for k, g in enumerate(gs):
                    res.append("G %d %s" % (k, fmt(g if g is not None else torch.zeros_like(xs[k]))))
            out += res
        except Exception as e:  # noqa: BLE001 - the message is the answer
            out.append("R %s ERR %s" % (cid, str(e).replace("\n", " ")))
    open(argv[2], "w").write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
