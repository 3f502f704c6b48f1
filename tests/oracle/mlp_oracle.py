#!/usr/bin/env python3
"""PyTorch oracle for tests/test_mlp_train.c.

    mlp_oracle.py IN OUT

IN (safetensors from cgrad): W1 (in, hidden), b1, W2 (hidden, classes), b2,
x (N, in), y (N) int64; metadata: steps, lr. The network
relu(x W1 + b1) W2 + b2 with softmax cross-entropy trains `steps` steps of
plain SGD written by hand (p -= lr * p.grad under no_grad, then the grads
are zeroed), as the C test does; OUT gets "losses" (steps,) float64.
Exit status 3 if torch cannot be imported."""
import sys

try:
    import torch
    import torch.nn.functional as F
except Exception as e:  # noqa: BLE001
    sys.stderr.write("mlp_oracle.py: cannot import torch with %s: %s\n" % (sys.executable, e))
    sys.exit(3)

from safetensors_oracle import deserialize, serialize


def main(argv):
    torch.set_num_threads(1)
    tensors, meta = deserialize(open(argv[1], "rb").read())
    t = dict(tensors)
    params = [t[k].clone().requires_grad_(True) for k in ("W1", "b1", "W2", "b2")]
    W1, b1, W2, b2 = params
    lr, losses = float(meta["lr"]), []
    for _ in range(int(meta["steps"])):
        loss = F.cross_entropy(torch.relu(t["x"] @ W1 + b1) @ W2 + b2, t["y"])
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
    open(argv[2], "wb").write(serialize([("losses", torch.tensor(losses, dtype=torch.float64))], {}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
