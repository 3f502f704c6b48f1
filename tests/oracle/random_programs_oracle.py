#!/usr/bin/env python3
"""PyTorch twin of tests/test_random_programs.c.

    random_programs_oracle.py IN OUT

IN holds programs the C test generated, one line per step:

    P <id>                                   a new program (fresh registers)
    L <k> <dtype> <rg> <nc> <nd> <shape...> <values as C99 hex floats>
                                             leaf r<k>; nc: strides reversed
    X <k> <python statement>                 a step; when it binds r<k>, r<k>
                                             is reported (k = -1: nothing)
    F                                        the end: every register's final
                                             state and every leaf's .grad

OUT gets "P <id>", then for each step of the program, in order:

    R <k> OK <tensor>   or   R <k> ERR <message>   or   R <k> NONE
    V <k> <tensor>      (after F, every register)
    G <k> <tensor> | G <k> None     (after F, every leaf's .grad)

<tensor> is "<dtype> <rg> <leaf> <grad_fn> <nd> <shape...> c<contiguous> s<strides> :
<values...>",
values as float.hex. Exit status 3 if torch cannot be imported."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def checked_baddbmm(torch, baddbmm):
    """torch.baddbmm, refused when beta=0 left torch's result with elements
    not of alpha * (batch1 @ batch2): torch 1.13's CPU kernel then reads
    memory it never wrote (the "torch-baddbmm-beta0" exclusion of the C
    test)."""
    def f(input, batch1, batch2, *, beta=1, alpha=1):
        r = baddbmm(input, batch1, batch2, beta=beta, alpha=alpha)
        if beta == 0:
            with torch.no_grad():
                ref = torch.bmm(batch1, batch2) * alpha
                if not torch.allclose(r, ref.to(r.dtype), equal_nan=True):
                    raise RuntimeError("!torch-baddbmm-beta0")
        return r
    return f


def main(argv):
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - any import failure is fatal here
        sys.stderr.write("random_programs_oracle: cannot import torch: %s\n" % e)
        return 3
    import warnings
    warnings.simplefilter("ignore")
    from ops_oracle import spec_globals
    torch.set_num_threads(1)
    torch.baddbmm = checked_baddbmm(torch, torch.baddbmm)
    dtypes = {"float32": torch.float32, "float64": torch.float64,
              "int64": torch.int64, "bool": torch.bool}
    names = {v: k for k, v in dtypes.items()}

    def desc(t):
        if not isinstance(t, torch.Tensor):
            return None
        try:
            fn = t.grad_fn.name() if t.grad_fn is not None else "None"
            leaf = str(int(t.is_leaf))
        except RuntimeError as e:
            # an output of split/chunk/unbind written in place: torch refuses
            # its history, which cgrad does not track (the "multiview"
            # exclusion of the C test)
            # (or a view made under no_grad whose base was written in place:
            # the "no-grad-view" exclusion)
            if "This view is the output of a function that returns multiple views" in str(e):
                fn, leaf = "!multiview", "?"
            elif "A view was created in no_grad mode and its base" in str(e):
                fn, leaf = "!nogradview", "?"
            else:
                raise
        vals = t.detach().to(torch.float64).reshape(-1).tolist()
        return " ".join([names[t.dtype], str(int(t.requires_grad)), leaf, fn,
                         str(t.dim())] + [str(s) for s in t.shape]
                        + ["c%d" % t.is_contiguous(), "s" + ",".join(
                            "-" if n <= 1 or t.numel() == 0 else str(s)
                            for n, s in zip(t.shape, t.stride())), ":"]
                        + [float.hex(v) for v in vals])

    def leaf(tok):
        k, dt, rg, nc, nd = int(tok[1]), dtypes[tok[2]], tok[3] == "1", tok[4] == "1", int(tok[5])
        shape = [int(x) for x in tok[6:6 + nd]]
        vals = [float.fromhex(x) for x in tok[6 + nd:]]
        t = torch.tensor(vals, dtype=torch.float64).to(dt).reshape(shape).clone()  # not a view
        if nc and nd >= 2:
            rev = list(range(nd))[::-1]
            t = t.permute(rev).contiguous().permute(rev).detach()  # a leaf, not a view
        if rg:
            t.requires_grad_(True)
        return k, t

    def has_node(fn, prefix, depth=8):
        return fn is not None and depth > 0 and (
            fn.name().startswith(prefix)
            or any(has_node(f, prefix, depth - 1) for f, _ in fn.next_functions))

    def grad_of(y, x):
        before = [env["r%d" % k].grad for k in leaves]
        g, = torch.autograd.grad(y.sum(), [x], create_graph=True, allow_unused=True)
        if g is not None and has_node(g.grad_fn, "NllLoss"):
            # torch's nll_loss backward takes (and saves) the input, so its
            # create_graph gradient requires grad; cgrad's does not save it:
            # the "nll-create-graph" exclusion of the C test
            raise RuntimeError("!nll-create-graph")
        if any(env["r%d" % k].grad is not b for k, b in zip(leaves, before)):
            # torch 1.13 accumulated into a leaf's .grad during autograd.grad
            # (through a CopySlices): the "grad-leak" exclusion of the C test
            raise RuntimeError("!grad-leak")
        return g

    base = dict(spec_globals(torch), GRAD=grad_of)
    out = []
    env = None
    leaves = []
    failed_backward = False
    with open(argv[1]) as f:
        lines = f.read().split("\n")
    for line in lines:
        if line.startswith("P "):
            torch.set_grad_enabled(True)
            out.append(line)
            env = dict(base)
            leaves = []
            failed_backward = False
        elif line.startswith("L "):
            k, t = leaf(line.split())
            env["r%d" % k] = t
            leaves.append(k)
        elif line.startswith("X "):
            _, k, stmt = line.split(" ", 2)
            k = int(k)
            try:
                exec(stmt, env)  # noqa: S102 - statements come from our own generator
                t = env.get("r%d" % k) if k >= 0 else None
                if k >= 0:
                    d = desc(t)
                    out.append("R %d NONE" % k if d is None else "R %d OK %s" % (k, d))
            except Exception as e:  # noqa: BLE001 - reported back to the C side
                failed_backward = failed_backward or stmt.endswith(".backward()")
                env.pop("r%d" % k, None)
                out.append("R %d ERR %s" % (k, " ".join(str(e).split())))
        elif line == "F":
            torch.set_grad_enabled(True)
            regs = sorted(int(n[1:]) for n, v in env.items()
                          if n[0] == "r" and n[1:].isdigit() and isinstance(v, torch.Tensor))
            for k in regs:
                out.append("V %d %s" % (k, desc(env["r%d" % k])))
            for k in leaves:
                if failed_backward:  # what a failed backward accumulated is the engine's order
                    out.append("G %d skipped" % k)
                    continue
                g = env["r%d" % k].grad
                out.append("G %d %s" % (k, desc(g) if g is not None else "None"))
    with open(argv[2], "w") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
