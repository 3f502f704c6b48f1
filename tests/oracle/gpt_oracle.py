#!/usr/bin/env python3
"""PyTorch oracle for tests/test_gpt.c: nanoGPT's model at the test's size.

    gpt_oracle.py IN OUT

IN (safetensors, written by cgrad): the model's parameters under nanoGPT's
state_dict names, the batch "x" and "y" (B, T) int64, and metadata with the
configuration (n_layer, n_head, n_embd, block_size, vocab_size) and the AdamW
settings (lr, beta1, beta2, eps, weight_decay, steps).
OUT (safetensors): "logits", "loss", "grad.<name>" for every parameter after
one backward, and "losses" (steps,) float64: the loss before each of `steps`
AdamW steps on the same batch.
Exit status 3 if torch cannot be imported."""
import math
import sys

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as e:  # noqa: BLE001
    sys.stderr.write("gpt_oracle.py: cannot import torch with %s: %s\n" % (sys.executable, e))
    sys.exit(3)

from safetensors_oracle import deserialize, serialize


class CausalSelfAttention(nn.Module):
    def __init__(self, C, nh, T):
        super().__init__()
        self.c_attn, self.c_proj, self.nh = nn.Linear(C, 3 * C), nn.Linear(C, C), nh
        self.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.nh, C // self.nh).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = F.softmax(att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf")), dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.c_fc, self.c_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, C, nh, T):
        super().__init__()
        self.ln_1, self.attn = nn.LayerNorm(C), CausalSelfAttention(C, nh, T)
        self.ln_2, self.mlp = nn.LayerNorm(C), MLP(C)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, V, T, C, L, nh):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(V, C), wpe=nn.Embedding(T, C),
            h=nn.ModuleList([Block(C, nh, T) for _ in range(L)]), ln_f=nn.LayerNorm(C)))
        self.lm_head = nn.Linear(C, V, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied

    def forward(self, idx, targets):
        B, T = idx.shape
        tr = self.transformer
        x = tr.wte(idx) + tr.wpe(torch.arange(T))
        for b in tr.h:
            x = b(x)
        logits = self.lm_head(tr.ln_f(x))
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def main(argv):
    torch.set_num_threads(1)
    tensors, meta = deserialize(open(argv[1], "rb").read())
    t = dict(tensors)
    cfg = {k: int(meta[k]) for k in ("n_layer", "n_head", "n_embd", "block_size", "vocab_size")}
    model = GPT(cfg["vocab_size"], cfg["block_size"], cfg["n_embd"], cfg["n_layer"], cfg["n_head"])
    params = {k: v for k, v in t.items() if k not in ("x", "y")}
    missing, unexpected = model.load_state_dict(params, strict=False)
    assert not unexpected, unexpected
    assert all(k == "lm_head.weight" or k.endswith(".attn.bias") for k in missing), missing
    x, y = t["x"], t["y"]
    logits, loss = model(x, y)
    loss.backward()
    out = [("logits", logits.detach()), ("loss", loss.detach())]
    named = dict(model.named_parameters())
    for k in params:
        out.append(("grad." + k, named[k].grad))
    opt = torch.optim.AdamW(model.parameters(), lr=float(meta["lr"]),
                            betas=(float(meta["beta1"]), float(meta["beta2"])),
                            eps=float(meta["eps"]), weight_decay=float(meta["weight_decay"]))
    losses = []
    for _ in range(int(meta["steps"])):
        opt.zero_grad(set_to_none=True)
        _, loss = model(x, y)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    out.append(("losses", torch.tensor(losses, dtype=torch.float64)))
    open(argv[2], "wb").write(serialize(out, {}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
