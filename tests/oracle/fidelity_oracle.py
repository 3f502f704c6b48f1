#!/usr/bin/env python3
"""PyTorch oracle for tests/test_fidelity.c: one line per case,

    <case> OK <text>      or      <case> ERR <message>

where <text> is what the case prints (values with %g, shapes, node names).
The C test runs the same cases in cgrad and compares the lines.
Exit status 3 if torch cannot be imported."""
import sys


def g(v):
    return "nan" if v != v else "%g" % v


def vals(t):
    return "[" + ", ".join(g(v) for v in t.detach().double().reshape(-1).tolist()) + "]"


def shape(t):
    return "[" + ", ".join(str(s) for s in t.shape) + "]"


def name(fn):
    return "None" if fn is None else fn.name()


def cases(torch):
    F = torch.nn.functional
    c = {}

    def case(f):
        c[f.__name__] = f
        return f

    def inplace_saved_output(op):
        x = torch.tensor([1., 2, 3], requires_grad=True)
        y = getattr(x * 2, op)()
        y.neg_()
        y.sum().backward()
        return vals(x.grad)

    for op in ("tanh_", "sigmoid_", "exp_", "relu_"):
        c["A_" + op] = (lambda op: lambda: inplace_saved_output(op))(op)

    @case
    def A_prod_dim_0d():
        s = torch.tensor(2., requires_grad=True)
        y = s * 1
        z = y.prod(0)
        y.mul_(2)
        z.backward()
        return vals(s.grad)

    @case
    def A_lerp_saves_what_it_reads():
        x = torch.tensor([1., 2], requires_grad=True)
        e, w = torch.tensor([3., 5]), torch.tensor([0.25, 0.5])
        out = torch.lerp(x * 1, e, w)
        e.add_(1)
        out.sum().backward()
        return vals(x.grad)

    @case
    def A_layer_norm_bias():
        x = torch.tensor([[1., 2, 4], [0, 1, 0]], requires_grad=True)
        w = torch.ones(3, requires_grad=True)
        b = torch.zeros(3, requires_grad=True)
        out = F.layer_norm(x, (3,), w, b)
        with torch.no_grad():
            b.add_(1)
        out.sum().backward()
        return vals(x.grad)

    @case
    def B_expand_add():
        return vals(torch.zeros(3).unsqueeze(0).expand(2, -1).add_(1))

    @case
    def B_detach_view():
        return vals(torch.zeros(3).view(3).detach_())

    @case
    def B_partial_overlap():
        x = torch.ones(3, 3)
        return vals(x.t().add_(x))

    @case
    def B_split_piece_write():
        x = torch.ones(4, requires_grad=True)
        return vals(torch.split(x * 1, 2)[1].add_(1))

    @case
    def C_stale_view_regenerated():
        x = torch.tensor([1., 2, 3], requires_grad=True)
        y = x * 1
        v = y.narrow(0, 0, 2)
        y.mul_(2)
        v.sum().backward()
        return name(v.grad_fn) + " " + vals(x.grad)

    @case
    def C_detached_leaf_drops_gradient():
        x = torch.tensor([1., 2], requires_grad=True)
        y = x * 2
        x.detach_()
        y.sum().backward()
        return "%s" % (x.grad is None)

    @case
    def C_create_graph_retains_graph():
        x = torch.tensor([1., 2], requires_grad=True)
        y = (x * x).sum()
        g, = torch.autograd.grad(y, x, create_graph=True)
        y.backward()
        return vals(g) + " " + vals(x.grad)

    @case
    def C_no_grad_view_write():
        x = torch.ones(3, requires_grad=True)
        y = x * 1
        with torch.no_grad():
            v = y.view(3)
        return vals(v.add_(1))

    @case
    def C_no_grad_view():
        x = torch.ones(3, requires_grad=True)
        with torch.no_grad():
            v = x.view(3)
        s = v.sum()
        s.backward()
        return "%d %d %s %s %s" % (v.requires_grad, v.is_leaf, name(v.grad_fn), name(s.grad_fn),
                                   name(s.grad_fn.next_functions[0][0]))

    @case
    def C_view_before_requires_grad():
        x = torch.ones(3)
        v = x.view(3)
        x.requires_grad_()
        s = (v * 2).sum()
        return "%d %d %s %s" % (v.requires_grad, v.is_leaf, name(v.grad_fn),
                                name(s.grad_fn.next_functions[0][0]))

    @case
    def D_matmul_empty_batch():
        return shape(torch.matmul(torch.zeros(0, 1, 0), torch.zeros(0, 1)))

    @case
    def D_matmul_vec_empty():
        return vals(torch.matmul(torch.zeros(0), torch.zeros(2, 0, 2)))

    @case
    def D_linear_empty_batch():
        x = torch.zeros(0, 3, requires_grad=True)
        w = torch.ones(4, 3, requires_grad=True)
        y = F.linear(x, w, torch.ones(4))
        y.sum().backward()
        return shape(y) + " " + vals(w.grad)

    @case
    def E_vec_mat_not_view():
        v = torch.tensor([1., 2, 3], requires_grad=True)
        m = torch.ones(3, 2)
        y = (v @ m).mul_(2)
        y.sum().backward()
        return name(y.grad_fn) + " " + vals(v.grad)

    @case
    def E_unsafe_view_not_view():
        x = torch.tensor([[1., 2], [3, 4]], requires_grad=True)
        y = x.t().reshape(4).mul_(2)
        return name(y.grad_fn)

    @case
    def E_linear_vec_not_view():
        v = torch.tensor([1., 2, 3], requires_grad=True)
        y = F.linear(v, torch.ones(2, 3)).mul_(2)
        return name(y.grad_fn)

    @case
    def F_div_relu():
        x = torch.tensor([-1., 0, 2], requires_grad=True)
        (0 / torch.relu(x)).sum().backward()
        return vals(x.grad)

    @case
    def F_sqrt_max():
        x = torch.tensor([1., -1, 2], requires_grad=True)
        torch.sqrt(x).max().backward()
        return vals(x.grad)

    @case
    def F_sqrt_min_ties():
        x = torch.tensor([4., -1, 4], requires_grad=True)
        torch.sqrt(x).min().backward()
        return vals(x.grad)

    @case
    def G_values():
        x = torch.tensor([[1., 2, 3], [4, 5, 6]], requires_grad=True)
        y = x.t() * 2
        r = y.reshape(6)
        r.sum().backward()
        return vals(r) + " " + vals(x.grad)

    @case
    def H_retain_grad_view_write():
        x = torch.tensor([1., 2], requires_grad=True)
        t = x * 3
        t.retain_grad()
        t.squeeze().fill_(-1.5)
        t.sum().backward()
        return vals(x.grad)

    @case
    def I_grad_relu():
        x = torch.tensor([1., -2], requires_grad=True)
        gx, = torch.autograd.grad(torch.relu(x).sum(), x, create_graph=True)
        return "%d %s" % (gx.requires_grad, name(gx.grad_fn))

    @case
    def I_backward_relu():
        x = torch.tensor([1., -2], requires_grad=True)
        torch.relu(x).sum().backward(create_graph=True)
        r = x.grad.requires_grad
        x.grad = None
        return "%d" % r

    @case
    def F_write_through_view_inf():
        x = torch.tensor([-4., -3, -0.0, 0, 1], dtype=torch.float64, requires_grad=True)
        y = F.hardswish(x * 1)
        y.unsqueeze(0).mul_(1.5)
        y.reciprocal().sum().backward()
        return vals(x.grad)

    @case
    def K_hardswish_zeros():
        x = torch.tensor([-5., -3, -0.0, float("-inf")], dtype=torch.float64)
        return " ".join("%g" % v for v in F.hardswish(x).tolist())

    @case
    def K_signed_zeros():
        z = torch.tensor(-0.0)
        return " ".join(g(t.item()) for t in (torch.abs(z), torch.reciprocal(torch.abs(z)),
                                              torch.relu(z), torch.pow(z, -0.5)))

    @case
    def C_view_of_detached_base():
        x = torch.tensor([1., 3, 2], requires_grad=True)
        r = x.max()
        v = r.unsqueeze(0)
        r.detach_()
        r.fill_(0.25)
        v.sum().backward()
        return "%s %d %s %s" % (name(v.grad_fn), v.requires_grad, x.grad, vals(v))

    @case
    def C_detached_leaf_requires_grad_again():
        x = torch.tensor([1., 2], requires_grad=True)
        y = x * 2.5
        x.detach_()
        x.requires_grad_()
        (y.sum() + x.sum()).backward()
        return vals(x.grad)

    def index_0d_mask(*ix):
        x = torch.arange(6.).reshape(2, 3).requires_grad_()
        y = x[ix]
        (y * torch.arange(1., y.numel() + 1).reshape(y.shape)).sum().backward()
        return "%s %s %s %s %s" % (shape(y), vals(y), name(y.grad_fn),
                                   name(y.grad_fn.next_functions[0][0]), vals(x.grad))

    T, Fb = torch.tensor(True), torch.tensor(False)
    for k, ix in (("L_index_true", (T,)), ("L_index_false", (Fb,)), ("L_index_true2", (T, T)),
                  ("L_index_int_true", (torch.tensor([1, 0]), T)),
                  ("L_index_true_mask", (T, torch.tensor([[True, False, True], [False, False, True]]))),
                  ("L_index_false_int", (Fb, torch.tensor([1, 0]))),
                  ("L_index_mask_false", (torch.tensor([True, False]), Fb))):
        c[k] = (lambda ix: lambda: index_0d_mask(*ix))(ix)

    @case
    def M_broadcast():
        return vals(torch.ones(3, 3, 1) * torch.ones(2, 2, 1))

    @case
    def M_masked_fill():
        return vals(torch.ones(3).masked_fill_(torch.ones(2, 3, dtype=torch.bool), 1))

    @case
    def M_copy_smaller():
        return vals(torch.tensor(1.).copy_(torch.ones(4, 2)))

    @case
    def M_view_of_leaf():
        x = torch.ones(3, requires_grad=True)
        return vals(x.view(3).add_(1))

    return c


def main():
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - any import failure is fatal here
        sys.stderr.write("fidelity_oracle: cannot import torch: %s\n" % e)
        return 3
    import warnings
    warnings.simplefilter("ignore")
    for k, f in cases(torch).items():
        try:
            print(k, "OK", f())
        except Exception as e:  # noqa: BLE001 - reported back to the C side
            print(k, "ERR", " ".join(str(e).split()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
