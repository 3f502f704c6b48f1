"""Oracle for tests/test_safetensors.c: the safetensors format in a few lines
of Python over torch tensors (Debian has no python3-safetensors), following
huggingface/safetensors' reference reader and writer.

usage: safetensors_oracle.py C_FILE EXPECTED OUT_FILE

C_FILE is a file cgrad wrote. EXPECTED lists what it must hold, one item a
line, fields separated by spaces, names and strings as the hex of their UTF-8
bytes:
    tensor HEXNAME DTYPE NDIM SIZE_0 .. SIZE_{NDIM-1} VALUE ...
    meta HEXKEY HEXVALUE
DTYPE is F32, F64, I64 or BOOL; float values are C99 hex floats (or inf,
-inf), int64 values decimal, bool values 0/1.

Checks: the header size is a multiple of 8, the header is JSON that Python's
json module reads (padded with spaces only), the tensors tile the data, every
tensor and metadata entry is as expected, and the reference writer, given the
same tensors and metadata, writes exactly C_FILE's bytes.

Then writes OUT_FILE with the reference writer: every tensor of C_FILE
computed by torch (t * 2; ~t for bool) under its name, tensors torch.bf16,
torch.f16, torch.i32, torch.u8 with their values as float32/int64 in
torch.bf16_as_f32 ..., and metadata {"writer": "torch", "format": "pt"}.
Exit status 0 when every check passed; problems go to stderr.
"""
import json
import struct
import sys

try:
    import torch
except Exception as e:  # the C test reports this as a failure
    sys.stderr.write("safetensors_oracle.py: cannot import torch with %s: %s\n" % (sys.executable, e))
    sys.exit(2)

DTYPES = {"BOOL": torch.bool, "U8": torch.uint8, "I8": torch.int8, "I16": torch.int16,
          "F16": torch.float16, "BF16": torch.bfloat16, "I32": torch.int32, "F32": torch.float32,
          "F64": torch.float64, "I64": torch.int64}
NAMES = {v: k for k, v in DTYPES.items()}
# The reference writer orders tensors by this rank (descending), then by name.
RANK = {"BOOL": 0, "U8": 1, "I8": 2, "F8_E5M2": 3, "F8_E4M3": 4, "I16": 5, "U16": 6, "F16": 7,
        "BF16": 8, "I32": 9, "U32": 10, "F32": 11, "F64": 12, "I64": 13, "U64": 14}

problems = []


def problem(msg):
    problems.append(msg)
    sys.stderr.write("safetensors_oracle.py: %s\n" % msg)


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()  # little-endian on the test machines


def serialize(tensors, metadata):
    """The reference writer: tensors is a list of (name, tensor)."""
    items = sorted(tensors, key=lambda nt: (-RANK[NAMES[nt[1].dtype]], nt[0].encode("utf-8")))
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in items:
        n = t.numel() * t.element_size()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(tensor_bytes(t) for _, t in items)


def deserialize(data):
    """Returns ([(name, tensor)] in header order, metadata dict)."""
    (n,) = struct.unpack("<Q", data[:8])
    if n % 8:
        problem("header size %d is not a multiple of 8" % n)
    raw = data[8:8 + n]
    if not raw.startswith(b"{"):
        problem("the header does not start with '{'")
    text = raw.decode("utf-8")
    body = text.rstrip(" ")
    if not body.endswith("}"):
        problem("the header is padded with something other than spaces")
    header = json.loads(body)
    metadata = header.pop("__metadata__", {})
    buf = data[8 + n:]
    tensors, spans = [], []
    for name, info in header.items():
        dtype, shape = DTYPES[info["dtype"]], info["shape"]
        begin, end = info["data_offsets"]
        spans.append((begin, end, name))
        numel = 1
        for s in shape:
            numel *= s
        if numel == 0:
            t = torch.empty(shape, dtype=dtype)
        else:
            t = torch.frombuffer(bytearray(buf[begin:end]), dtype=dtype).reshape(shape)
        if t.numel() * t.element_size() != end - begin:
            problem("tensor %r: data_offsets do not match its shape" % name)
        tensors.append((name, t))
    at = 0
    for begin, end, name in sorted(spans):
        if begin != at:
            problem("tensor %r starts at %d, expected %d (gap or overlap)" % (name, begin, at))
        at = end
    if at != len(buf):
        problem("the data is %d bytes, the tensors cover %d" % (len(buf), at))
    return tensors, metadata


def parse_expected(path):
    tensors, metadata = [], {}
    with open(path) as f:
        for line in f:
            fields = line.split()
            if not fields:
                continue
            if fields[0] == "meta":
                metadata[bytes.fromhex(fields[1]).decode("utf-8")] = \
                    bytes.fromhex(fields[2]).decode("utf-8") if len(fields) > 2 else ""
                continue
            name = bytes.fromhex(fields[1]).decode("utf-8")
            kind, ndim = fields[2], int(fields[3])
            shape = [int(s) for s in fields[4:4 + ndim]]
            vals = fields[4 + ndim:]
            if kind in ("F32", "F64"):
                vals = [float(v) if v in ("inf", "-inf") else float.fromhex(v) for v in vals]
            elif kind == "I64":
                vals = [int(v) for v in vals]
            else:
                vals = [v == "1" for v in vals]
            tensors.append((name, torch.tensor(vals, dtype=DTYPES[kind]).reshape(shape)))
    return tensors, metadata


def main():
    c_file, expected_file, out_file = sys.argv[1:4]
    with open(c_file, "rb") as f:
        data = f.read()
    tensors, metadata = deserialize(data)
    want, want_meta = parse_expected(expected_file)
    got = dict(tensors)
    if len(got) != len(want):
        problem("%d tensors in the file, %d expected" % (len(got), len(want)))
    for name, w in want:
        t = got.get(name)
        if t is None:
            problem("tensor %r is missing" % name)
        elif t.dtype != w.dtype or t.shape != w.shape or not torch.equal(t, w):
            problem("tensor %r: got %s %s %s, expected %s %s %s" % (
                name, t.dtype, tuple(t.shape), t.flatten()[:8].tolist(),
                w.dtype, tuple(w.shape), w.flatten()[:8].tolist()))
    if metadata != want_meta:
        problem("metadata %r, expected %r" % (metadata, want_meta))
    again = serialize(tensors, metadata)
    if again != data:
        problem("the reference writer gives different bytes (%d vs %d bytes); its header: %r" % (
            len(again), len(data), again[8:8 + struct.unpack("<Q", again[:8])[0]]))

    torch.manual_seed(0)
    out = [(name, ~t if t.dtype == torch.bool else t * 2) for name, t in tensors]
    bf16 = torch.cat([torch.randn(20), torch.tensor([0.0, -0.0, 1e-40, 3e38, float("inf"),
                                                      float("-inf")])]).to(torch.bfloat16)
    f16 = torch.cat([torch.randn(20), torch.tensor([6e-8, -6e-8, 1e-5, 65504.0, -0.0,
                                                     float("inf")])]).to(torch.float16)
    i32 = torch.tensor([[-2**31, -1, 0], [1, 7, 2**31 - 1]], dtype=torch.int32)
    u8 = torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8)
    out += [("torch.bf16", bf16.reshape(2, 13)), ("torch.bf16_as_f32", bf16.float().reshape(2, 13)),
            ("torch.f16", f16), ("torch.f16_as_f32", f16.float()),
            ("torch.i32", i32), ("torch.i32_as_i64", i32.long()),
            ("torch.u8", u8), ("torch.u8_as_i64", u8.long())]
    with open(out_file, "wb") as f:
        f.write(serialize(out, {"writer": "torch", "format": "pt"}))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
