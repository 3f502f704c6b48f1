#!/usr/bin/env python3
"""PyTorch oracle for tests/test_ops_torch.c.

    ops_oracle.py IN OUT

IN holds a batch of cases written by the C test, one record per case:

    B <id> <n_inputs> <mode>          mode: G (forward + backward) or F (forward only)
    E <python expression in a, b, c, odt>
    I <dtype> <requires_grad 0|1> <ndim> <shape...> <values...>     (n_inputs times)
    U <dtype> <ndim> <shape...> <values...>                         (mode G: upstream grad)

Values are C99 hex floats ("%a"), read exactly with float.fromhex. For each case
the expression is evaluated in torch with the same inputs (leaves requiring
grad in mode G), backward is run with the same upstream gradient, and OUT gets

    R <id> OK
    O <dtype> <ndim> <shape...> <values...>          output (values as float.hex)
    G <k> <dtype> <ndim> <shape...> <values...>      input k's .grad  (or "G <k> None")
    N <graph>                                        the autograd graph (see graph())
or
    R <id> ERR <message on one line>

Exit status 3 (with a message on stderr) if torch cannot be imported.
"""
import sys


def spec_globals(torch):
    """The names the spec table's expressions use besides a, b, c and odt
    (tests/op_specs*.h); shared with random_programs_oracle.py."""
    class CgExpMul(torch.autograd.Function):
        """The CUSTOM row's function; tests/op_specs.h has its C twin."""
        @staticmethod
        def forward(ctx, x, y):
            out0 = torch.exp(x) * y
            ctx.save_for_backward(x, out0)
            return out0, x + y

        @staticmethod
        def backward(ctx, g0, g1):
            x, out0 = ctx.saved_tensors
            return g0 * out0 + g1, g0 * torch.exp(x) + g1

    def named_fused(name, saves_output=False):
        """A fused node torch 1.13 lacks: apply(f, *xs) runs f, the math
        composed, as one node whose backward is named name; its backward
        differentiates f with respect to the floating inputs (an int64
        target gets None). With saves_output it saves its output too, as
        torch 2.x's attention node does (a later in-place write to it fails
        the backward)."""
        class Fused(torch.autograd.Function):
            @staticmethod
            def forward(ctx, f, *xs):
                ctx.f = f
                out = f(*xs)
                ctx.save_for_backward(*xs, *((out,) if saves_output else ()))
                return out

            @staticmethod
            def backward(ctx, g):
                saved = ctx.saved_tensors[:-1] if saves_output else ctx.saved_tensors
                xs = [x if x is None else
                      x.detach().requires_grad_(x.is_floating_point())
                      for x in saved]
                diff = [x for x in xs if x is not None and x.requires_grad]
                with torch.enable_grad():
                    gs = iter(torch.autograd.grad(ctx.f(*xs), diff, g))
                return (None,) + tuple(
                    next(gs) if x is not None and x.requires_grad else None
                    for x in xs)
        Fused._backward_cls.__name__ = name
        return Fused

    return {"torch": torch, "CgExpMul": CgExpMul,
            # torch 2.x's fused CPU attention node
            "CgFlashAttention": named_fused("ScaledDotProductFlashAttentionForCpuBackward0",
                                            saves_output=True),
            # cgrad's fused LM head + cross-entropy (src/ops/linear_ce.c)
            "CgLinearCrossEntropy": named_fused("LinearCrossEntropyBackward0")}


def baddbmm_beta0_written(torch, baddbmm):
    """torch.baddbmm whose floating beta=0 result holds alpha * (batch1 @ batch2):
    torch 1.13's CPU kernel may leave elements it never wrote there. The
    values are set under the node torch recorded, so its graph and gradients
    stay torch's own."""
    def f(input, batch1, batch2, *, beta=1, alpha=1):
        r = baddbmm(input, batch1, batch2, beta=beta, alpha=alpha)
        if beta == 0 and r.is_floating_point():
            with torch.no_grad():
                r.data.copy_((torch.bmm(batch1, batch2) * alpha).to(r.dtype))
        return r
    return f


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: ops_oracle.py IN OUT\n")
        return 2
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - any import failure is fatal here
        sys.stderr.write("ops_oracle: %s cannot import torch: %s: %s\n"
                         % (sys.executable, type(e).__name__, e))
        return 3
    torch.set_num_threads(1)
    torch.baddbmm = baddbmm_beta0_written(torch, torch.baddbmm)

    spec_env = spec_globals(torch)

    dtypes = {"float32": torch.float32, "float64": torch.float64,
              "int64": torch.int64, "bool": torch.bool}
    names = {v: k for k, v in dtypes.items()}

    def tensor(tok, pos):
        dt = dtypes[tok[pos]]
        nd = int(tok[pos + 1])
        shape = [int(x) for x in tok[pos + 2:pos + 2 + nd]]
        vals = [float.fromhex(x) for x in tok[pos + 2 + nd:]]
        t = torch.tensor(vals, dtype=torch.float64).to(dt).reshape(shape)
        return t

    def fmt(t):
        t = t.detach()
        vals = t.to(torch.float64).reshape(-1).tolist()
        return " ".join([names[t.dtype], str(t.dim())] + [str(s) for s in t.shape]
                        + [float.hex(v) for v in vals])

    def graph(fn):
        """Preorder walk of next_functions: 'name:input_nr [ children ]',
        'None' for a missing edge, '^k' for the k-th node already printed."""
        seen = {}
        out = []

        def rec(f, nr):
            if f is None:
                out.append("None")
                return
            if f in seen:
                out.append("^%d" % seen[f])
                return
            seen[f] = len(seen)
            out.append("%s:%d" % (f.name(), nr))
            out.append("[")
            for g, n in f.next_functions:
                rec(g, n)
            out.append("]")

        rec(fn, 0)
        return " ".join(out)

    with open(argv[1]) as f:
        lines = f.read().split("\n")
    res = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("B "):
            i += 1
            continue
        _, cid, nin, mode = lines[i].split()
        nin = int(nin)
        expr = lines[i + 1][2:]
        ins = [lines[i + 2 + k].split() for k in range(nin)]
        i += 2 + nin
        up = None
        if mode == "G":
            up = lines[i].split()
            i += 1
        try:
            leaves = []
            for tok in ins:
                t = tensor(tok[:2] + tok[3:], 1)  # I <dtype> <rg> ...
                if tok[2] == "1":
                    t.requires_grad_(True)
                leaves.append(t)
            a = leaves[0] if nin > 0 else None
            odt = torch.float32 if a is not None and a.dtype == torch.float64 else torch.float64
            env = dict(spec_env, a=a, b=leaves[1] if nin > 1 else None,
                       c=leaves[2] if nin > 2 else None, odt=odt)
            with torch.set_grad_enabled(mode == "G"):
                out = eval(expr, env)  # noqa: S307 - expressions come from our own spec table
            rec = ["R %s OK" % cid, "O " + fmt(out)]
            if mode == "G":
                out.backward(tensor(up, 1))
                for k, t in enumerate(leaves):
                    rec.append("G %d %s" % (k, fmt(t.grad)) if t.grad is not None
                               else "G %d None" % k)
            rec.append("N " + (graph(out.grad_fn) if out.grad_fn is not None else "None"))
            res.extend(rec)
        except Exception as e:  # noqa: BLE001 - reported back to the C side
            msg = " ".join(("%s: %s" % (type(e).__name__, e)).split())
            res.append("R %s ERR %s" % (cid, msg))
    with open(argv[2], "w") as f:
        f.write("\n".join(res) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
