/* GPT-2's tokenizer files: the vocabulary (encoder.json / vocab.json, token
 * string -> id) and the merges (vocab.bpe / merges.txt, one "left right" pair
 * a line, by rank), checked strictly; decoding; the lookups. Encoding is in
 * bpe_encode.c. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "bpe.h"

#include "../core/internal.h"
#include "../io/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *FN = "cg_bpe_load";

/* GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others
 * for 256 + n in byte order. */
static void byte_chars(cg_bpe *t) {
    int n = 0;
    for (int c = 0; c < CG__BPE_CHARS; c++) t->char_byte[c] = -1;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        t->byte_char[b] = printable ? (uint32_t)b : (uint32_t)(256 + n++);
        t->char_byte[t->byte_char[b]] = (int16_t)b;
    }
}

/* A vocabulary string's bytes (each character one byte), malloc'd; -1 if a
 * character is not one of the 256, -2 out of memory. */
static int string_bytes(const int16_t char_byte[CG__BPE_CHARS], const char *s, size_t n, char **out,
                        uint32_t *len) {
    char *b = malloc(n + 1);
    if (!b) return -2;
    size_t k = 0, i = 0, w;
    uint32_t cp;
    while (i < n) {
        w = cg__utf8_next((const unsigned char *)s, n, i, &cp);
        int byte = w && cp < CG__BPE_CHARS ? char_byte[cp] : -1;
        if (byte < 0) return free(b), -1;
        b[k++] = (char)byte;
        i += w;
    }
    b[k] = 0;
    *out = b, *len = (uint32_t)k;
    return 0;
}

static int vocab_entry(cg_bpe *b, const char *path, const cg__json *v, size_t i) {
    const cg__json *id = &v->items[i];
    const char *key = v->keys[i];
    if (id->type != CG__JSON_NUMBER || !id->is_int || id->integer < 0 ||
        id->integer >= (int64_t)v->n) {
        cg__error(FN, "%s: the id of \"%s\" must be an integer in [0, %zu), got %s", path, key,
                  v->n,
                  id->type == CG__JSON_NUMBER ? "a number out of range"
                                              : cg__json_type_name(id->type));
        return -1;
    }
    int32_t t = (int32_t)id->integer;
    if (b->token_str[t]) {
        cg__error(FN, "%s: duplicate id %d (\"%s\" and \"%s\")", path, t, b->token_str[t], key);
        return -1;
    }
    if (!v->key_lens[i] || strlen(key) != v->key_lens[i]) {
        cg__error(FN, "%s: token %d is empty or holds a NUL", path, t);
        return -1;
    }
    if (!(b->token_str[t] = strdup(key))) return cg__oom(FN), -1;
    int rc = string_bytes(b->char_byte, key, v->key_lens[i], &b->token_bytes[t], &b->token_len[t]);
    if (rc == -2) return cg__oom(FN), -1;
    if (rc) {
        cg__error(
            FN,
            "%s: token %d \"%s\" holds a character that is not one of GPT-2's 256 byte characters",
            path, t, key);
        return -1;
    }
    return cg__strmap_put(&b->by_str, b->token_str[t], v->key_lens[i], t) == -2 ? (cg__oom(FN), -1)
                                                                                : 0;
}

static int load_vocab(cg_bpe *b, const char *path) {
    cg__json *v = cg__json_parse_file(FN, path);
    if (!v) return -1;
    int rc = -1;
    if (v->type != CG__JSON_OBJECT || v->n == 0 || v->n > INT32_MAX) {
        cg__error(FN, "%s: expected an object of token -> id, got %s%s", path,
                  v->n ? "" : "an empty ", cg__json_type_name(v->type));
        goto out;
    }
    b->n_vocab = (int32_t)v->n;
    b->token_str = calloc(v->n, sizeof *b->token_str);
    b->token_bytes = calloc(v->n, sizeof *b->token_bytes);
    b->token_len = calloc(v->n, sizeof *b->token_len);
    b->special = calloc(v->n, 1);
    if (!b->token_str || !b->token_bytes || !b->token_len || !b->special ||
        cg__strmap_init(&b->by_str, v->n)) {
        cg__oom(FN);
        goto out;
    }
    for (size_t i = 0; i < v->n; i++)
        if (vocab_entry(b, path, v, i)) goto out;
    rc = 0;
out:
    cg__json_free(v);
    return rc;
}

/* The id of each byte's one-character token. */
static int byte_ids(cg_bpe *b, const char *path) {
    for (int c = 0; c < 256; c++) {
        char s[4];
        size_t n = cg__utf8_put(b->byte_char[c], s);
        b->byte_id[c] = cg__strmap_get(&b->by_str, s, n);
        if (b->byte_id[c] < 0) {
            cg__error(FN, "%s: no token for byte 0x%02X (\"%.*s\")", path, c, (int)n, s);
            return -1;
        }
    }
    return 0;
}

/* One merges line "left right" of rank `rank`, into the merge table. */
static int merge_line(cg_bpe *b, const char *path, size_t line, const char *s, size_t n,
                      int32_t rank) {
    const char *sp = memchr(s, ' ', n);
    if (!sp || sp == s || sp == s + n - 1 || memchr(sp + 1, ' ', (size_t)(s + n - sp - 1))) {
        cg__error(FN, "%s: line %zu: expected two tokens separated by one space, got \"%.*s\"",
                  path, line, (int)(n > 60 ? 60 : n), s);
        return -1;
    }
    size_t nl = (size_t)(sp - s), nr = n - nl - 1;
    int32_t l = cg__strmap_get(&b->by_str, s, nl), r = cg__strmap_get(&b->by_str, sp + 1, nr);
    if (l < 0 || r < 0) {
        cg__error(FN, "%s: line %zu: \"%.*s\" is not in the vocabulary", path, line,
                  (int)(l < 0 ? nl : nr), l < 0 ? s : sp + 1);
        return -1;
    }
    char *joined = malloc(n);
    if (!joined) return cg__oom(FN), -1;
    memcpy(joined, s, nl);
    memcpy(joined + nl, sp + 1, nr);
    int32_t m = cg__strmap_get(&b->by_str, joined, nl + nr);
    free(joined);
    if (m < 0) {
        cg__error(FN, "%s: line %zu: the merge of \"%.*s\" and \"%.*s\" is not in the vocabulary",
                  path, line, (int)nl, s, (int)nr, sp + 1);
        return -1;
    }
    uint64_t key = (uint64_t)(uint32_t)l << 32 | (uint32_t)r;
    size_t mask = b->merge_slots - 1, slot = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
    for (; b->merges[slot].pair != UINT64_MAX; slot = (slot + 1) & mask)
        if (b->merges[slot].pair == key) {
            cg__error(FN, "%s: line %zu: duplicate merge \"%.*s\" (rank %d before)", path, line,
                      (int)n, s, b->merges[slot].rank);
            return -1;
        }
    b->merges[slot] = (bpe_merge){key, rank, m};
    return 0;
}

/* The merges file: an optional "#version" first line, then one merge a line. */
static int load_merges(cg_bpe *b, const char *path) {
    size_t len;
    char *text = cg__read_file(FN, path, &len);
    if (!text) return -1;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    b->merge_slots = 16;
    while (b->merge_slots <= 2 * lines) b->merge_slots *= 2;
    b->merges = malloc(b->merge_slots * sizeof *b->merges);
    if (!b->merges) return free(text), cg__oom(FN), -1;
    memset(b->merges, 0xff, b->merge_slots * sizeof *b->merges);
    int rc = 0;
    size_t line = 0, pos = 0;
    while (pos < len && rc == 0) {
        char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;
        line++;
        if (n && text[pos + n - 1] == '\r') n--;
        if (line == 1 && n >= 8 && memcmp(text + pos, "#version", 8) == 0) {
        } else if (n == 0 && end == len) {
        } else if (n == 0) {
            cg__error(FN, "%s: line %zu: empty line", path, line);
            rc = -1;
        } else {
            rc = merge_line(b, path, line, text + pos, n, (int32_t)b->n_merges++);
        }
        pos = end + 1;
    }
    free(text);
    if (rc == 0 && b->n_merges == 0) cg__error(FN, "%s: no merges", path), rc = -1;
    return rc;
}

/* Special tokens: ids neither a byte nor a merge's result ("<|endoftext|>"). */
static int find_specials(cg_bpe *b) {
    uint8_t *made = calloc((size_t)b->n_vocab, 1);
    if (!made) return cg__oom(FN), -1;
    for (int c = 0; c < 256; c++) made[b->byte_id[c]] = 1;
    for (size_t s = 0; s < b->merge_slots; s++)
        if (b->merges[s].pair != UINT64_MAX) made[b->merges[s].merged] = 1;
    for (int32_t t = 0; t < b->n_vocab; t++) b->n_specials += !made[t];
    b->specials = malloc((size_t)(b->n_specials ? b->n_specials : 1) * sizeof *b->specials);
    if (!b->specials) return free(made), cg__oom(FN), -1;
    int k = 0;
    for (int32_t t = 0; t < b->n_vocab; t++)
        if (!made[t]) b->special[t] = 1, b->specials[k++] = t;
    free(made);
    /* longest first: at one position the longest special wins */
    for (int i = 1; i < k; i++)
        for (int j = i; j > 0 && b->token_len[b->specials[j]] > b->token_len[b->specials[j - 1]];
             j--) {
            int32_t x = b->specials[j];
            b->specials[j] = b->specials[j - 1], b->specials[j - 1] = x;
        }
    return 0;
}

cg_bpe *cg_bpe_load(const char *vocab_json_path, const char *merges_path) {
    if (!vocab_json_path || !merges_path) return cg__error(FN, "a path is NULL"), NULL;
    cg_bpe *b = calloc(1, sizeof *b);
    if (!b) return cg__oom(FN);
    byte_chars(b);
    if (cg__bpe_encoder_init(b, FN) || load_vocab(b, vocab_json_path) ||
        byte_ids(b, vocab_json_path) || load_merges(b, merges_path) || find_specials(b)) {
        cg_bpe_free(b);
        return NULL;
    }
    return b;
}

static int is_file(const char *dir, const char *name, char *out, size_t cap) {
    struct stat st;
    snprintf(out, cap, "%s/%s", dir, name);
    return stat(out, &st) == 0 && S_ISREG(st.st_mode);
}

cg_bpe *cg_bpe_load_dir(const char *dir) {
    static const char *fn = "cg_bpe_load_dir";
    if (!dir) return cg__error(fn, "dir is NULL"), NULL;
    static const char *pairs[2][2] = {{"vocab.json", "merges.txt"}, {"encoder.json", "vocab.bpe"}};
    char v[4096], m[4096];
    for (int k = 0; k < 2; k++)
        if (is_file(dir, pairs[k][0], v, sizeof v) && is_file(dir, pairs[k][1], m, sizeof m))
            return cg_bpe_load(v, m);
    for (int k = 0; k < 2; k++) { /* half a pair */
        int hv = is_file(dir, pairs[k][0], v, sizeof v);
        if (hv || is_file(dir, pairs[k][1], m, sizeof m)) {
            cg__error(fn, "\"%s\" has %s but no %s", dir, pairs[k][hv ? 0 : 1],
                      pairs[k][hv ? 1 : 0]);
            return NULL;
        }
    }
    cg__error(fn,
              "\"%s\" holds neither vocab.json + merges.txt (Hugging Face) nor encoder.json + "
              "vocab.bpe (OpenAI)",
              dir);
    return NULL;
}

void cg_bpe_free(cg_bpe *b) {
    if (!b) return;
    cg__bpe_encoder_free(b);
    for (int32_t t = 0; b->token_str && t < b->n_vocab; t++) free(b->token_str[t]);
    for (int32_t t = 0; b->token_bytes && t < b->n_vocab; t++) free(b->token_bytes[t]);
    free(b->token_str);
    free(b->token_bytes);
    free(b->token_len);
    free(b->special);
    cg__strmap_free(&b->by_str);
    free(b->merges);
    free(b->specials);
    free(b);
}

char *cg_bpe_decode(const cg_bpe *b, const int32_t *ids, size_t n, size_t *len) {
    static const char *fn = "cg_bpe_decode";
    if (!b || (!ids && n) || !len) return cg__error(fn, "an argument is NULL"), NULL;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= b->n_vocab) {
            cg__error(fn, "id %d (at %zu) is out of range for a vocabulary of %d", ids[i], i,
                      b->n_vocab);
            return NULL;
        }
        total += b->token_len[ids[i]];
    }
    char *out = malloc(total + 1);
    if (!out) return cg__oom(fn);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(out + k, b->token_bytes[ids[i]], b->token_len[ids[i]]);
        k += b->token_len[ids[i]];
    }
    out[k] = 0;
    *len = k;
    return out;
}

int32_t cg_bpe_vocab_size(const cg_bpe *b) {
    if (!b) return cg__error("cg_bpe_vocab_size", "bpe is NULL"), -1;
    return b->n_vocab;
}

int32_t cg_bpe_token_id(const cg_bpe *b, const char *token) {
    if (!b || !token) return cg__error("cg_bpe_token_id", "an argument is NULL"), -1;
    return cg__strmap_get(&b->by_str, token, strlen(token));
}
