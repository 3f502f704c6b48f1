#!/usr/bin/env python3
"""PyTorch oracle for tests/test_optim.c.

    optim_oracle.py IN OUT

IN (written by the C test):
    P <name> <ndim> <shape...> <values...>   initial parameters W1 b1 W2 b2 (hex floats)
    X <ndim> <shape...> <values...>          inputs;  T ... targets
    C <name> <kind> <lr> <momentum> <dampening> <weight_decay> <nesterov> <beta1> <beta2> <eps> <clip> <sched>
      one optimizer configuration per line (kind: sgd, adam, adamw; clip: max norm or 0;
      sched: none or warmup_cosine)
For each configuration, the same model (tanh(x W1 + b1) W2 + b2, MSE loss)
trains 20 steps from the same parameters with torch.optim; OUT gets
    L <name> <loss at each step...>
    F <name> <pname> <final values...>
and S lines with learning rates of torch's schedulers for the C side's
closed forms:
    S step <lr...>     StepLR(step_size=3, gamma=0.5), 10 steps, lr 0.1
    S cosine <lr...>   CosineAnnealingLR(T_max=10, eta_min=0.001), 11 steps
    S warmup <lr...>   SequentialLR(LinearLR(1/4 -> 1 over 3), CosineAnnealingLR(T_max=8)), 13 steps
Exit status 3 if torch cannot be imported.
"""
import sys
import warnings


def main(argv):
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        sys.stderr.write("optim_oracle: %s cannot import torch: %s\n" % (sys.executable, e))
        return 3
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)

    def tensor(tok):
        nd = int(tok[0])
        shape = [int(x) for x in tok[1:1 + nd]]
        vals = [float.fromhex(x) for x in tok[1 + nd:]]
        return torch.tensor(vals, dtype=torch.float32).reshape(shape)

    params, configs = {}, []
    x = t = None
    for line in open(argv[1]).read().split("\n"):
        tok = line.split()
        if not tok:
            continue
        if tok[0] == "P":
            params[tok[1]] = tensor(tok[2:])
        elif tok[0] == "X":
            x = tensor(tok[1:])
        elif tok[0] == "T":
            t = tensor(tok[1:])
        elif tok[0] == "C":
            configs.append(tok[1:])

    out = []

    def sched(lr, steps, make):
        p = torch.nn.Parameter(torch.zeros(1))
        o = torch.optim.SGD([p], lr=lr)
        s = make(o)
        lrs = []
        for _ in range(steps):
            lrs.append(o.param_groups[0]["lr"])
            o.step()
            s.step()
        return lrs

    for c in configs:
        name, kind = c[0], c[1]
        lr, mom, damp, wd = (float.fromhex(v) for v in c[2:6])
        nesterov = c[6] == "1"
        b1, b2, eps, clip = (float.fromhex(v) for v in c[7:11])
        sch = c[11]
        ps = {k: torch.nn.Parameter(v.clone()) for k, v in params.items()}
        plist = [ps["W1"], ps["b1"], ps["W2"], ps["b2"]]
        if kind == "sgd":
            opt = torch.optim.SGD(plist, lr=lr, momentum=mom, dampening=damp, weight_decay=wd,
                                  nesterov=nesterov)
        elif kind == "adam":
            opt = torch.optim.Adam(plist, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
        else:
            opt = torch.optim.AdamW(plist, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
        scheduler = None
        if sch == "warmup_cosine":
            scheduler = torch.optim.lr_scheduler.SequentialLR(opt, [
                torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / 4, end_factor=1.0,
                                                  total_iters=3),
                torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=16, eta_min=lr / 10)],
                milestones=[4])
        losses = []
        for _ in range(20):
            opt.zero_grad()
            y = torch.tanh(x @ ps["W1"] + ps["b1"]) @ ps["W2"] + ps["b2"]
            loss = ((y - t) ** 2).mean()
            losses.append(loss.item())
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(plist, clip)
            opt.step()
            if scheduler is not None:
                scheduler.step()
        out.append("L %s %s" % (name, " ".join(float.hex(v) for v in losses)))
        for k in ("W1", "b1", "W2", "b2"):
            vals = ps[k].detach().reshape(-1).tolist()
            out.append("F %s %s %s" % (name, k, " ".join(float.hex(v) for v in vals)))

    lrs = sched(0.1, 10, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5))
    out.append("S step " + " ".join(float.hex(v) for v in lrs))
    lrs = sched(0.1, 11, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10,
                                                                              eta_min=0.001))
    out.append("S cosine " + " ".join(float.hex(v) for v in lrs))
    lrs = sched(0.1, 13, lambda o: torch.optim.lr_scheduler.SequentialLR(o, [
        torch.optim.lr_scheduler.LinearLR(o, start_factor=1 / 4, end_factor=1.0, total_iters=3),
        torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=8, eta_min=0.001)], milestones=[4]))
    out.append("S warmup " + " ".join(float.hex(v) for v in lrs))
    with open(argv[2], "w") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
