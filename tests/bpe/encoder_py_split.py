"""GPT-2's pre-tokenizer as OpenAI's encoder.py runs it (openai/gpt-2,
src/encoder.py: the `regex` module and this pattern). Reads texts (records:
u32 little-endian byte count, u8 flags, UTF-8 bytes) from argv[1] and writes
{"pieces": [[piece, ...] per text]} as JSON to argv[2]."""
import json
import struct
import sys

import regex as re

pat = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

data = open(sys.argv[1], "rb").read()
pieces, p = [], 0
while p < len(data):
    (n,) = struct.unpack_from("<I", data, p)
    pieces.append(re.findall(pat, data[p + 5 : p + 5 + n].decode("utf-8")))
    p += 5 + n
with open(sys.argv[2], "w") as f:
    json.dump({"pieces": pieces}, f)
