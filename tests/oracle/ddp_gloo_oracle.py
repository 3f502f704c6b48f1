#!/usr/bin/env python3
"""PyTorch oracle for tests/test_dist_torch.c: one rank of torch's
DistributedDataParallel over gloo, trained as the cgrad rank that starts it.

    ddp_gloo_oracle.py IN OUT RANK WORLD PORT

Each cgrad rank starts one of these; together they form a gloo process group
over tcp://127.0.0.1:PORT. IN (safetensors, written by cgrad's rank 0): a
GPT's parameters under nanoGPT's names (gpt_oracle.py's model), "x" and "y"
(steps, WORLD * batch, T) int64, metadata with the configuration, the AdamW
settings and batch (the rows per rank). Rank r trains on rows
[r * batch, (r + 1) * batch) of each step's batch. OUT: "losses" (steps,)
float64, this rank's loss before each step, and the parameters after the
last step. Exit status 3 if torch cannot be imported."""
import sys

try:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
except Exception as e:  # noqa: BLE001
    sys.stderr.write("ddp_gloo_oracle.py: cannot import torch with %s: %s\n" % (sys.executable, e))
    sys.exit(3)

from gpt_oracle import GPT
from safetensors_oracle import deserialize, serialize


def main(argv):
    torch.set_num_threads(1)
    rank, world, port = int(argv[3]), int(argv[4]), int(argv[5])
    tensors, meta = deserialize(open(argv[1], "rb").read())
    t = dict(tensors)
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank,
                            world_size=world)
    cfg = [int(meta[k]) for k in ("vocab_size", "block_size", "n_embd", "n_layer", "n_head")]
    model = GPT(*cfg)
    params = {k: v for k, v in t.items() if k not in ("x", "y")}
    model.load_state_dict(params, strict=False)
    ddp = DDP(model)
    opt = torch.optim.AdamW(ddp.parameters(), lr=float(meta["lr"]),
                            betas=(float(meta["beta1"]), float(meta["beta2"])),
                            eps=float(meta["eps"]), weight_decay=float(meta["weight_decay"]))
    b = int(meta["batch"])
    losses = []
    for s in range(t["x"].shape[0]):
        opt.zero_grad(set_to_none=True)
        _, loss = ddp(t["x"][s, rank * b:(rank + 1) * b], t["y"][s, rank * b:(rank + 1) * b])
        losses.append(loss.item())
        loss.backward()
        opt.step()
    out = [("losses", torch.tensor(losses, dtype=torch.float64))]
    out += [(k, v.detach()) for k, v in model.state_dict().items() if k in params]
    open(argv[2], "wb").write(serialize(out, {}))
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
