#!/usr/bin/env python3
"""PyTorch oracle for tests/test_gpt2.c: a Hugging Face GPT-2 directory and
GPT-2's forward as transformers computes it (Conv1D, gelu_new, the config's
layer_norm_epsilon, the tied head), written here with torch alone (Debian has
no transformers).

    gpt2_oracle.py IN OUT

IN (safetensors, written by cgrad) has metadata "task":

  make   metadata dir, seed, n_layer, n_embd, n_head, n_positions, vocab_size,
         eps; tensors x, y (B, T) int64. Writes dir/config.json (as
         save_pretrained writes GPT2Config) and dir/model.safetensors holding
         random weights in GPT2Model's layout (names without "transformer.",
         Conv1D weights (in, out), the attn.bias and attn.masked_bias
         buffers), then OUT: "logits" (B, T, V), "loss" (cross-entropy on y)
         and "grad.<name>" for every weight, in the file's layout.
  check  metadata dir (the "make" directory) and saved (a directory cgrad
         saved). Reads saved/model.safetensors with the reference reader and
         checks that its names are GPT2LMHeadModel's state_dict keys (less
         the buffers and the tied head), that every tensor equals dir's bit
         for bit, that the metadata has format "pt", and that
         saved/config.json is a GPT2Config of the same model. OUT: "problems"
         (a count, 0 when every check passed; each is printed on stderr).
Exit status 3 if torch cannot be imported."""
import json
import math
import os
import sys

try:
    import torch
    import torch.nn.functional as F
except Exception as e:  # noqa: BLE001
    sys.stderr.write("gpt2_oracle.py: cannot import torch with %s: %s\n" % (sys.executable, e))
    sys.exit(3)

from safetensors_oracle import deserialize, serialize

CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def gelu_new(x):
    """transformers' NewGELUActivation"""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def conv1d(x, w, b):
    """transformers' Conv1D: x @ w + b, w (in, out)"""
    out = torch.addmm(b, x.view(-1, x.size(-1)), w)
    return out.view(x.size()[:-1] + (w.size(-1),))


def random_weights(cfg, gen):
    """GPT2Model's state dict with random weights, buffers included: larger
    than GPT-2's init, so that the logits spread, and the position embedding
    larger than the token embedding, so that greedy decoding does not repeat
    one token"""
    C, V, P, L = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"], cfg["n_layer"]

    def rnd(*shape, std=0.1, mean=0.0):
        return torch.randn(*shape, generator=gen) * std + mean

    sd = {"wte.weight": rnd(V, C, std=0.2), "wpe.weight": rnd(P, C, std=0.5)}
    for i in range(L):
        p = "h.%d." % i
        sd[p + "ln_1.weight"], sd[p + "ln_1.bias"] = rnd(C, mean=1.0), rnd(C)
        sd[p + "attn.bias"] = torch.tril(torch.ones(P, P, dtype=torch.bool)).view(1, 1, P, P)
        sd[p + "attn.masked_bias"] = torch.tensor(-1e4)
        sd[p + "attn.c_attn.weight"], sd[p + "attn.c_attn.bias"] = rnd(C, 3 * C), rnd(3 * C)
        sd[p + "attn.c_proj.weight"], sd[p + "attn.c_proj.bias"] = rnd(C, C), rnd(C)
        sd[p + "ln_2.weight"], sd[p + "ln_2.bias"] = rnd(C, mean=1.0), rnd(C)
        sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"] = rnd(C, 4 * C), rnd(4 * C)
        sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"] = rnd(4 * C, C), rnd(C)
    sd["ln_f.weight"], sd["ln_f.bias"] = rnd(C, mean=1.0), rnd(C)
    return sd


def attention(x, sd, p, nh):
    """GPT2Attention: causal, weights scaled by 1/sqrt(head size), the mask
    filled with the dtype's minimum"""
    B, T, C = x.shape
    q, k, v = conv1d(x, sd[p + "attn.c_attn.weight"], sd[p + "attn.c_attn.bias"]).split(C, dim=2)
    q, k, v = (t.view(B, T, nh, C // nh).permute(0, 2, 1, 3) for t in (q, k, v))
    w = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5)
    mask = sd[p + "attn.bias"][:, :, :T, :T]
    w = torch.where(mask, w, torch.full([], torch.finfo(w.dtype).min))
    w = torch.softmax(w, dim=-1)
    y = torch.matmul(w, v).permute(0, 2, 1, 3).contiguous().view(B, T, C)
    return conv1d(y, sd[p + "attn.c_proj.weight"], sd[p + "attn.c_proj.bias"])


def forward(sd, x, cfg):
    """GPT2LMHeadModel's logits (tied head)"""
    C, eps = cfg["n_embd"], cfg["eps"]
    T = x.size(1)
    h = sd["wte.weight"][x] + sd["wpe.weight"][torch.arange(T)]
    for i in range(cfg["n_layer"]):
        p = "h.%d." % i
        a = F.layer_norm(h, (C,), sd[p + "ln_1.weight"], sd[p + "ln_1.bias"], eps)
        h = h + attention(a, sd, p, cfg["n_head"])
        m = F.layer_norm(h, (C,), sd[p + "ln_2.weight"], sd[p + "ln_2.bias"], eps)
        m = conv1d(m, sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"])
        h = h + conv1d(gelu_new(m), sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"])
    h = F.layer_norm(h, (C,), sd["ln_f.weight"], sd["ln_f.bias"], eps)
    return h @ sd["wte.weight"].t()


def config_json(cfg):
    """GPT2Config as save_pretrained writes it"""
    return {
        "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1, "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256,
        "initializer_range": 0.02, "layer_norm_epsilon": cfg["eps"], "model_type": "gpt2",
        "n_ctx": cfg["n_positions"], "n_embd": cfg["n_embd"], "n_head": cfg["n_head"],
        "n_inner": None, "n_layer": cfg["n_layer"], "n_positions": cfg["n_positions"],
        "reorder_and_upcast_attn": False, "resid_pdrop": 0.1, "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True, "summary_activation": None, "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True, "summary_type": "cls_index", "summary_use_proj": True,
        "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}},
        "torch_dtype": "float32", "transformers_version": "4.26.0", "use_cache": True,
        "vocab_size": cfg["vocab_size"]}


def make(meta, t, out):
    cfg = {k: int(meta[k]) for k in ("n_layer", "n_embd", "n_head", "n_positions", "vocab_size")}
    cfg["eps"] = float(meta["eps"])
    gen = torch.Generator().manual_seed(int(meta["seed"]))
    sd = random_weights(cfg, gen)
    d = meta["dir"]
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config_json(cfg), f, indent=2, sort_keys=True)
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(serialize(list(sd.items()), {"format": "pt"}))
    weights = {k: v.requires_grad_() for k, v in sd.items() if v.is_floating_point() and v.dim()}
    logits = forward(sd, t["x"], cfg)
    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), t["y"].view(-1))
    loss.backward()
    res = [("logits", logits.detach()), ("loss", loss.detach())]
    res += [("grad." + k, w.grad) for k, w in weights.items()]
    open(out, "wb").write(serialize(res, {}))


def check(meta, out):
    problems = []
    d, saved = meta["dir"], meta["saved"]
    ref, _ = deserialize(open(os.path.join(d, "model.safetensors"), "rb").read())
    ref = {k: v for k, v in ref if not k.endswith((".attn.bias", ".attn.masked_bias"))}
    got, got_meta = deserialize(open(os.path.join(saved, "model.safetensors"), "rb").read())
    got = dict(got)
    want_names = {"transformer." + k for k in ref}
    if set(got) != want_names:
        problems.append("names: extra %s, missing %s" % (sorted(set(got) - want_names),
                                                         sorted(want_names - set(got))))
    for k, v in ref.items():
        g = got.get("transformer." + k)
        if g is not None and (g.dtype != v.dtype or g.shape != v.shape or not torch.equal(g, v)):
            problems.append("tensor %s differs" % k)
    if got_meta.get("format") != "pt":
        problems.append("metadata %r has no format pt" % got_meta)
    cfg = json.load(open(os.path.join(saved, "config.json")))
    mine = json.load(open(os.path.join(d, "config.json")))
    for k in ("n_layer", "n_embd", "n_head", "n_positions", "vocab_size", "layer_norm_epsilon",
              "activation_function", "model_type"):
        if cfg.get(k) != mine[k]:
            problems.append("config.json %s: %r, expected %r" % (k, cfg.get(k), mine[k]))
    if cfg.get("architectures") != ["GPT2LMHeadModel"] or cfg.get("tie_word_embeddings") is not True:
        problems.append("config.json architectures/tie_word_embeddings: %r" % cfg)
    for p in problems:
        sys.stderr.write("gpt2_oracle.py: %s\n" % p)
    res = [("problems", torch.tensor(len(problems), dtype=torch.int64))]
    open(out, "wb").write(serialize(res, {}))


def main(argv):
    torch.set_num_threads(1)
    tensors, meta = deserialize(open(argv[1], "rb").read())
    if meta["task"] == "make":
        make(meta, dict(tensors), argv[2])
    else:
        check(meta, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
