/* Benchmark: GPT-2's tokenizer encoding English and code, cgrad against npm's
 * gpt-3-encoder and js-tiktoken (node, tests/bpe/reference.js; `make
 * test-deps` installs them) on the same texts, in one run.
 *
 *   english: Debian's license texts and package copyright files, the
 *            repository's Markdown
 *   code:    the repository's C sources and headers, then the headers in /usr/include
 *
 * Each corpus is BPE_BENCH_MB megabytes (default 2) of valid UTF-8 files
 * (without U+FEFF and U+0085, on which JavaScript's \s is not GPT-2's), cut
 * after a newline into texts of at most 16 KB (gpt-3-encoder's time grows
 * with the square of a text's length), the same texts for every encoder.
 * Each encoder warms up on the first 4 texts, then encodes them all once.
 * GPT-2's files are gpt-3-encoder's encoder.json and vocab.bpe.
 *
 * Prints "ENCODER bpe_encode_CORPUS: N tokens/s" a line, then
 * "RATIO bpe_encode_CORPUS cgrad/REFERENCE X" (> 1: cgrad is faster). */
#define _POSIX_C_SOURCE 200809L
#include <cgrad.h>

#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CHUNK = 16384 };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct corpus {
    char *text;
    size_t len, cap;
} corpus;

static int valid_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80                 ? 1
                   : c >= 0xc2 && c <= 0xdf ? 2
                   : c >= 0xe0 && c <= 0xef ? 3
                   : c >= 0xf0 && c <= 0xf4 ? 4
                                            : 0;
        if (!k || k > n - i) return 0;
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xc0) != 0x80) return 0;
        if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0) ||
            (c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90))
            return 0;
        i += k;
    }
    return 1;
}

/* U+FEFF or U+0085: JavaScript's \s differs from Unicode's on them, and so
 * the references' ids from GPT-2's (docs/design.md). */
static int js_space(const char *s, size_t n) {
    for (size_t i = 0; i + 1 < n; i++)
        if ((s[i] == '\xEF' && i + 2 < n && s[i + 1] == '\xBB' && s[i + 2] == '\xBF') ||
            (s[i] == '\xC2' && s[i + 1] == '\x85'))
            return 1;
    return 0;
}

/* Appends the files matching pattern (valid UTF-8 without U+FEFF and U+0085,
 * which the references split otherwise) until cap bytes. */
static void gather(corpus *c, const char *pattern) {
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0) return;
    for (size_t i = 0; i < g.gl_pathc && c->len < c->cap; i++) {
        FILE *f = fopen(g.gl_pathv[i], "rb");
        if (!f) continue;
        size_t n = fread(c->text + c->len, 1, c->cap - c->len, f);
        fclose(f);
        if (n && valid_utf8((unsigned char *)c->text + c->len, n) && !js_space(c->text + c->len, n))
            c->len += n;
    }
    globfree(&g);
}

/* The texts: up to CHUNK bytes, each cut after a newline. Their starts in
 * *starts (n + 1 entries, the last = len). */
static size_t chunks(const corpus *c, size_t **starts) {
    size_t n = 0, cap = c->len / (CHUNK / 2) + 2, pos = 0;
    *starts = malloc(cap * sizeof **starts);
    while (pos < c->len) {
        (*starts)[n++] = pos;
        size_t end = pos + CHUNK < c->len ? pos + CHUNK : c->len;
        if (end < c->len) {
            const char *nl = NULL;
            for (size_t k = end; k > pos + CHUNK / 2 && !nl; k--)
                if (c->text[k - 1] == '\n') nl = c->text + k;
            if (nl)
                end = (size_t)(nl - c->text);
            else
                while (end > pos + 1 && (c->text[end] & 0xc0) == 0x80) end--; /* whole characters */
        }
        pos = end;
    }
    (*starts)[n] = c->len;
    return n;
}

/* The texts as reference.js reads them: u32 length, u8 flags, bytes. */
static int write_records(const char *path, const corpus *c, const size_t *st, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    for (size_t i = 0; i < n; i++) {
        size_t len = st[i + 1] - st[i];
        unsigned char h[5] = {(unsigned char)len, (unsigned char)(len >> 8),
                              (unsigned char)(len >> 16), (unsigned char)(len >> 24), 0};
        fwrite(h, 1, 5, f);
        fwrite(c->text + st[i], 1, len, f);
    }
    return fclose(f);
}

/* cgrad over every text after a warm-up on the first 4: tokens/s, tokens in *ntok. */
static double cgrad_rate(cg_bpe *b, const corpus *c, const size_t *st, size_t n, int64_t *ntok) {
    int32_t *ids;
    for (size_t i = 0; i < n && i < 4; i++) {
        if (cg_bpe_encode(b, c->text + st[i], st[i + 1] - st[i], 0, &ids) < 0) return -1;
        free(ids);
    }
    double t0 = now_s();
    *ntok = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t k = cg_bpe_encode(b, c->text + st[i], st[i + 1] - st[i], 0, &ids);
        if (k < 0) return -1;
        *ntok += k;
        free(ids);
    }
    return (double)*ntok / (now_s() - t0);
}

static void run(cg_bpe *b, const char *name, const corpus *c, const char *root) {
    size_t *st, n = chunks(c, &st);
    int64_t ntok = 0;
    double mine = cgrad_rate(b, c, st, n, &ntok);
    printf("bpe_encode %s: %.2f MB in %zu texts, %" PRId64 " tokens\n", name, (double)c->len / 1e6,
           n, ntok);
    printf("cgrad bpe_encode_%s: %.0f tokens/s\n", name, mine);
    char in[] = "/tmp/cgrad_bpe_bench_XXXXXX", cmd[1024], line[256];
    int fd = mkstemp(in);
    if (fd < 0 || write_records(in, c, st, n))
        return (void)fprintf(stderr, "cannot write %s\n", in);
    snprintf(cmd, sizeof cmd, "node %s/tests/bpe/reference.js bench %s", root, in);
    FILE *p = popen(cmd, "r");
    while (p && fgets(line, sizeof line, p)) {
        char who[64];
        double tok, sec;
        if (sscanf(line, "%63s %lf %lf", who, &tok, &sec) != 3) continue;
        printf("%s bpe_encode_%s: %.0f tokens/s%s\n", who, name, tok / sec,
               tok == (double)ntok ? "" : " (a different token count!)");
        printf("RATIO bpe_encode_%s cgrad/%s %.3g\n", name, who, mine / (tok / sec));
    }
    if (!p || pclose(p) != 0)
        fprintf(stderr, "bpe_encode: `%s` failed: `make test-deps` installs the references\n", cmd);
    remove(in);
    free(st);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines in order with node's */
    char root[1024];
    snprintf(root, sizeof root, "%s", __FILE__);
    char *slash = strstr(root, "/bench/bpe_encode.c");
    if (!slash) return fprintf(stderr, "bpe_encode: cannot find the repository\n"), 1;
    *slash = 0;
    const char *mb = getenv("BPE_BENCH_MB");
    size_t cap = (size_t)((mb ? atof(mb) : 2.0) * 1e6);
    char dir[1100], pat[1200];
    snprintf(dir, sizeof dir, "%s/tests/bpe/node_modules/gpt-3-encoder", root);
    cg_bpe *b = cg_bpe_load_dir(dir);
    if (!b) return fprintf(stderr, "bpe_encode: %s (`make test-deps`)\n", cg_last_error()), 1;
    corpus en = {malloc(cap), 0, cap}, code = {malloc(cap), 0, cap};
    gather(&en, "/usr/share/common-licenses/*");
    snprintf(pat, sizeof pat, "%s/*.md", root), gather(&en, pat);
    snprintf(pat, sizeof pat, "%s/docs/*.md", root), gather(&en, pat);
    gather(&en, "/usr/share/doc/*/copyright");
    static const char *code_dirs[] = {"src/*/*.c", "src/*/*.h",    "include/*.h", "tests/*.c",
                                      "tests/*.h", "examples/*.c", "bench/*.c"};
    for (size_t i = 0; i < sizeof code_dirs / sizeof *code_dirs; i++)
        snprintf(pat, sizeof pat, "%s/%s", root, code_dirs[i]), gather(&code, pat);
    gather(&code, "/usr/include/*.h");
    gather(&code, "/usr/include/*/*.h");
    run(b, "english", &en, root);
    run(b, "code", &code, root);
    free(en.text);
    free(code.text);
    cg_bpe_free(b);
    return 0;
}
