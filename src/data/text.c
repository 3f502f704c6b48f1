/* Text data for a character-level language model: a tokenizer over Unicode
 * code points (the vocabulary is a text's distinct characters sorted by code
 * point, as the usual char-level GPT scripts build it), and a dataset of a
 * text's ids with a train/val split and random (x, y) batches. */
#include "../core/internal.h"

#include <errno.h>
#include <stdio.h>

#define UNICODE_LIMIT 0x110000u

/* ---------------------------------------------------------------- UTF-8 */

static bool utf8_tail_ok(const unsigned char *s, size_t n) { /* all continuation bytes */
    for (size_t i = 0; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return false;
    return true;
}

/* Records the invalid-UTF-8 error at byte i, prefixed with where (or not). */
static void utf8_error(const char *fn, const char *where, const unsigned char *s, size_t n,
                       size_t i) {
    char what[64];
    if (s[i] >= 0x80 && s[i] < 0xc0)
        snprintf(what, sizeof what, "a stray continuation byte 0x%02x", s[i]);
    else if (s[i] >= 0xc2 && s[i] <= 0xf4 &&
             n - i < (s[i] >= 0xf0   ? 4u
                      : s[i] >= 0xe0 ? 3u
                                     : 2u) &&
             utf8_tail_ok(s + i + 1, n - i - 1))
        snprintf(what, sizeof what, "a sequence cut short by the end of the text");
    else
        snprintf(what, sizeof what, "byte 0x%02x", s[i]);
    cg__error(fn, "%s%sinvalid UTF-8 at byte offset %zu (%s)", where ? where : "",
              where ? ": " : "", i, what);
}

/* ------------------------------------------------------------ tokenizer */

struct cg_char_tokenizer {
    int64_t n;
    uint32_t *chars;    /* (n) code points, ascending: id -> character */
    int32_t ascii[128]; /* id of each ASCII character, -1 if absent */
    char *vocab;        /* (vocab_len + 1) the characters in id order, UTF-8 */
    size_t vocab_len;
};

/* Builds the vocabulary of text; where (may be NULL) prefixes errors. */
static cg_char_tokenizer *tokenizer_new(const char *fn, const char *where, const unsigned char *s,
                                        size_t n) {
    uint8_t *seen = calloc(UNICODE_LIMIT / 8, 1); /* (UNICODE_LIMIT bits) */
    cg_char_tokenizer *tok = calloc(1, sizeof *tok);
    if (!seen || !tok) goto oom;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = cg__utf8_next(s, n, i, &cp);
        if (!len) {
            utf8_error(fn, where, s, n, i);
            goto fail;
        }
        seen[cp >> 3] |= (uint8_t)(1u << (cp & 7));
        i += len;
    }
    for (uint32_t cp = 0; cp < UNICODE_LIMIT; cp++) tok->n += seen[cp >> 3] >> (cp & 7) & 1;
    tok->chars = malloc(sizeof *tok->chars * (size_t)(tok->n ? tok->n : 1));
    tok->vocab = malloc((size_t)tok->n * 4 + 1);
    if (!tok->chars || !tok->vocab) goto oom;
    for (int c = 0; c < 128; c++) tok->ascii[c] = -1;
    int64_t id = 0;
    for (uint32_t cp = 0; cp < UNICODE_LIMIT; cp++) {
        if (!(seen[cp >> 3] >> (cp & 7) & 1)) continue;
        if (cp < 128) tok->ascii[cp] = (int32_t)id;
        tok->chars[id++] = cp;
        tok->vocab_len += cg__utf8_put(cp, tok->vocab + tok->vocab_len);
    }
    tok->vocab[tok->vocab_len] = '\0';
    free(seen);
    return tok;
oom:
    cg__oom(fn);
fail:
    free(seen);
    cg_char_tokenizer_free(tok);
    return NULL;
}

cg_char_tokenizer *cg_char_tokenizer_new(const char *text, size_t len) {
    if (!text && len) return NULL;
    return tokenizer_new("cg_char_tokenizer_new", NULL, (const unsigned char *)(text ? text : ""),
                         len);
}

void cg_char_tokenizer_free(cg_char_tokenizer *tok) {
    if (!tok) return;
    free(tok->chars);
    free(tok->vocab);
    free(tok);
}

int64_t cg_char_tokenizer_vocab_size(const cg_char_tokenizer *tok) { return tok ? tok->n : 0; }

const char *cg_char_tokenizer_vocab(const cg_char_tokenizer *tok, size_t *len) {
    if (!tok) return NULL;
    if (len) *len = tok->vocab_len;
    return tok->vocab;
}

int64_t cg_char_tokenizer_id(const cg_char_tokenizer *tok, uint32_t codepoint) {
    if (!tok) return -1;
    if (codepoint < 128) return tok->ascii[codepoint];
    int64_t lo = 0, hi = tok->n; /* binary search in chars[lo, hi) */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (tok->chars[mid] < codepoint)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < tok->n && tok->chars[lo] == codepoint ? lo : -1;
}

int64_t cg_char_tokenizer_char(const cg_char_tokenizer *tok, int64_t id) {
    return tok && id >= 0 && id < tok->n ? (int64_t)tok->chars[id] : -1;
}

/* Token ids of `width` bytes each (1, 2, 4: unsigned; 8: int64_t). */
static void id_put(void *ids, int width, int64_t i, int64_t id) {
    switch (width) {
    case 1: ((uint8_t *)ids)[i] = (uint8_t)id; break;
    case 2: ((uint16_t *)ids)[i] = (uint16_t)id; break;
    case 4: ((uint32_t *)ids)[i] = (uint32_t)id; break;
    default: ((int64_t *)ids)[i] = id; break;
    }
}

static int64_t id_get(const void *ids, int width, int64_t i) {
    switch (width) {
    case 1: return ((const uint8_t *)ids)[i];
    case 2: return ((const uint16_t *)ids)[i];
    case 4: return ((const uint32_t *)ids)[i];
    default: return ((const int64_t *)ids)[i];
    }
}

/* The fewest bytes that hold every id of a vocabulary of n characters. */
static int id_width(int64_t n) { return n <= 1 << 8 ? 1 : n <= 1 << 16 ? 2 : 4; }

/* Encodes s[0, n) into ids of `width` bytes (ids NULL: only counts and
 * checks); the number of characters, or -1 with the error set. */
static int64_t encode(const char *fn, const char *where, const cg_char_tokenizer *tok,
                      const unsigned char *s, size_t n, void *ids, int width) {
    int64_t count = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = cg__utf8_next(s, n, i, &cp);
        if (!len) {
            utf8_error(fn, where, s, n, i);
            return -1;
        }
        int64_t id = cg_char_tokenizer_id(tok, cp);
        if (id < 0) {
            cg__error(fn,
                      "%s%scharacter '%.*s' (U+%04X) at byte offset %zu is not in the vocabulary",
                      where ? where : "", where ? ": " : "", cp < 0x20 || cp == 0x7f ? 0 : (int)len,
                      (const char *)s + i, (unsigned)cp, i);
            return -1;
        }
        if (ids) id_put(ids, width, count, id);
        count++;
        i += len;
    }
    return count;
}

cg_tensor *cg_char_tokenizer_encode(const cg_char_tokenizer *tok, const char *text, size_t len) {
    static const char *fn = "cg_char_tokenizer_encode";
    if (!tok || (!text && len)) return NULL;
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    int64_t n = encode(fn, NULL, tok, s, len, NULL, 0);
    if (n < 0) return NULL;
    cg_tensor *t = cg__tensor_new(CG_INT64, 1, &n); /* (n) ids */
    if (t) encode(fn, NULL, tok, s, len, cg__ptr(t), 8);
    return t;
}

char *cg_char_tokenizer_decode(const cg_char_tokenizer *tok, const cg_tensor *ids, size_t *len) {
    static const char *fn = "cg_char_tokenizer_decode";
    if (!tok || !ids) return NULL;
    if (ids->dtype != CG_INT64) {
        cg__error(fn, "decode expects an int64 tensor of ids, but got %s",
                  cg_dtype_name(ids->dtype));
        return NULL;
    }
    int64_t n = cg__numel(ids->ndim, ids->shape);
    if ((uint64_t)n > (SIZE_MAX - 1) / 4) return cg__oom(fn);
    char *out = malloc((size_t)n * 4 + 1); /* (4 n + 1) at most 4 bytes a character */
    if (!out) return cg__oom(fn);
    size_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t id = (int64_t)cg__read_linear(ids, i);
        if (id < 0 || id >= tok->n) {
            cg__error(
                fn, "id %lld at position %lld is out of range for a vocabulary of %lld characters",
                (long long)id, (long long)i, (long long)tok->n);
            free(out);
            return NULL;
        }
        at += cg__utf8_put(tok->chars[id], out + at);
    }
    out[at] = '\0';
    if (len) *len = at;
    return out;
}

/* -------------------------------------------------------------- dataset */

struct cg_text_dataset {
    cg_char_tokenizer *tok;
    int64_t n;       /* tokens in all */
    int64_t n_train; /* the first n_train are the train split, the rest val */
    int width;       /* bytes of an id: the fewest that hold the vocabulary */
    void *ids;       /* (n) the text's ids, width bytes each */
};

static cg_text_dataset *dataset_new(const char *fn, const char *where, const unsigned char *s,
                                    size_t n) {
    if (n == 0) {
        if (where)
            cg__error(fn, "%s: the file is empty", where);
        else
            cg__error(fn, "the text is empty");
        return NULL;
    }
    cg_text_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return cg__oom(fn);
    ds->tok = tokenizer_new(fn, where, s, n);
    if (!ds->tok) goto fail;
    /* cannot fail: the vocabulary is the text's */
    ds->n = encode(fn, where, ds->tok, s, n, NULL, 0);
    ds->width = id_width(ds->tok->n);
    ds->ids = malloc((size_t)ds->width * (size_t)ds->n);
    if (!ds->ids) {
        cg__oom(fn);
        goto fail;
    }
    encode(fn, where, ds->tok, s, n, ds->ids, ds->width);
    ds->n_train = ds->n;
    return ds;
fail:
    cg_text_dataset_free(ds);
    return NULL;
}

cg_text_dataset *cg_text_dataset_from_text(const char *text, size_t len) {
    if (!text && len) return NULL;
    return dataset_new("cg_text_dataset_from_text", NULL, (const unsigned char *)(text ? text : ""),
                       len);
}

#define LOAD_LIMIT ((size_t)1 << 30) /* cg_text_dataset_load's: 1 GiB */

cg_text_dataset *cg_text_dataset_load(const char *path) {
    return cg_text_dataset_load_limit(path, LOAD_LIMIT);
}

/* f's bytes into *buf (malloc'ed), at most max + 1 of them: their count, or
 * with *buf NULL when out of memory */
static size_t read_upto(FILE *f, size_t max, unsigned char **buf) {
    size_t limit = max < SIZE_MAX ? max + 1 : max; /* one more byte tells a file over max */
    size_t n = 0, cap = limit < ((size_t)1 << 16) ? limit : (size_t)1 << 16;
    unsigned char *b = malloc(cap ? cap : 1); /* (cap) the file's bytes, n read so far */
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap || cap == limit) break;
        size_t c = cap <= limit / 2 ? cap * 2 : limit;
        unsigned char *grown = realloc(b, c);
        if (!grown) free(b);
        b = grown, cap = c;
    }
    *buf = b;
    return n;
}

cg_text_dataset *cg_text_dataset_load_limit(const char *path, size_t max_bytes) {
    static const char *fn = "cg_text_dataset_load";
    if (!path) return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        cg__error(fn, "cannot open \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    unsigned char *buf;
    size_t n = read_upto(f, max_bytes, &buf);
    bool err = ferror(f);
    int e = errno;
    fclose(f);
    if (!buf) return cg__oom(fn);
    cg_text_dataset *ds = NULL;
    if (err) {
        cg__error(fn, "cannot read \"%s\": %s", path, strerror(e));
    } else if (n > max_bytes) {
        cg__error(fn, "\"%s\" is larger than the limit of %zu bytes", path, max_bytes);
    } else {
        char where[1024];
        snprintf(where, sizeof where, "\"%s\"", path);
        ds = dataset_new(fn, where, buf, n);
    }
    free(buf);
    return ds;
}

void cg_text_dataset_free(cg_text_dataset *ds) {
    if (!ds) return;
    cg_char_tokenizer_free(ds->tok);
    free(ds->ids);
    free(ds);
}

const cg_char_tokenizer *cg_text_dataset_tokenizer(const cg_text_dataset *ds) {
    return ds ? ds->tok : NULL;
}

int cg_text_dataset_split(cg_text_dataset *ds, double train_fraction) {
    if (!ds) return -1;
    if (!(train_fraction >= 0 && train_fraction <= 1)) {
        cg__error("cg_text_dataset_split", "train fraction must be in [0, 1], but got %g",
                  train_fraction);
        return -1;
    }
    ds->n_train = (int64_t)(train_fraction * (double)ds->n); /* int(0.9 * len(data)) */
    if (ds->n_train > ds->n) ds->n_train = ds->n;
    return 0;
}

/* The split's first id's index in ds->ids; its length into *n. */
static int64_t split_ids(const cg_text_dataset *ds, cg_data_split split, int64_t *n) {
    *n = split == CG_SPLIT_TRAIN ? ds->n_train : ds->n - ds->n_train;
    return split == CG_SPLIT_TRAIN ? 0 : ds->n_train;
}

/* ds's ids [from, from + n) into out, as int64 */
static void widen(const cg_text_dataset *ds, int64_t from, int64_t n, int64_t *out) {
    for (int64_t i = 0; i < n; i++) out[i] = id_get(ds->ids, ds->width, from + i);
}

static int check_split(const char *fn, cg_data_split split) {
    if (split == CG_SPLIT_TRAIN || split == CG_SPLIT_VAL) return 0;
    cg__error(fn, "unknown split %d (CG_SPLIT_TRAIN or CG_SPLIT_VAL)", (int)split);
    return -1;
}

int64_t cg_text_dataset_len(const cg_text_dataset *ds, cg_data_split split) {
    if (!ds || check_split("cg_text_dataset_len", split) < 0) return -1;
    int64_t n;
    split_ids(ds, split, &n);
    return n;
}

cg_tensor *cg_text_dataset_tokens(const cg_text_dataset *ds, cg_data_split split) {
    if (!ds || check_split("cg_text_dataset_tokens", split) < 0) return NULL;
    int64_t n, from = split_ids(ds, split, &n);
    cg_tensor *t = cg__tensor_new(CG_INT64, 1, &n); /* (n) */
    if (t) widen(ds, from, n, cg__ptr(t));
    return t;
}

static uint64_t rand_below(uint64_t n) {             /* uniform in [0, n), n > 0 */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, r; /* a multiple of n */
    do r = cg__rng_next();
    while (r >= limit);
    return r % n;
}

/* rank's rows of the batch * world rows drawn in turn (see
 * cg_text_dataset_batch_rank); rank 0 of 1 is cg_text_dataset_batch */
static int draw_batch(const char *fn, const cg_text_dataset *ds, cg_data_split split, int64_t batch,
                      int64_t block, int rank, int world, cg_tensor **x, cg_tensor **y) {
    if (!ds || !x || !y) return -1;
    if (world < 1 || rank < 0 || rank >= world || batch > INT64_MAX / world) {
        cg__error(fn, "rank %d is not a rank of a world of %d (batch %lld)", rank, world,
                  (long long)batch);
        return -1;
    }
    if (check_split(fn, split) < 0) return -1;
    if (batch <= 0 || block <= 0) {
        cg__error(fn, "batch size and block size must be positive, but got %lld and %lld",
                  (long long)batch, (long long)block);
        return -1;
    }
    int64_t n, from = split_ids(ds, split, &n);
    if (n <= block) {
        cg__error(fn,
                  "the %s split has %lld tokens: too short for block size %lld (it needs at "
                  "least %lld)",
                  split == CG_SPLIT_TRAIN ? "train" : "val", (long long)n, (long long)block,
                  (long long)block + 1);
        return -1;
    }
    int64_t shape[2] = {batch, block};
    if (cg__check_shape(fn, 2, shape) < 0) return -1;
    cg_tensor *tx = cg__tensor_new(CG_INT64, 2, shape);             /* (batch, block) inputs */
    cg_tensor *ty = tx ? cg__tensor_new(CG_INT64, 2, shape) : NULL; /* (batch, block) targets */
    if (!ty) return -1;
    int64_t *px = cg__ptr(tx), *py = cg__ptr(ty);
    cg__rng_lock();
    for (int64_t r = 0; r < batch * world; r++) {
        int64_t i = from + (int64_t)rand_below((uint64_t)(n - block)), b = r - rank * batch;
        if (b < 0 || b >= batch) continue; /* another rank's row */
        widen(ds, i, block, px + b * block);
        widen(ds, i + 1, block, py + b * block);
    }
    cg__rng_unlock();
    *x = tx;
    *y = ty;
    return 0;
}

int cg_text_dataset_batch(const cg_text_dataset *ds, cg_data_split split, int64_t batch,
                          int64_t block, cg_tensor **x, cg_tensor **y) {
    return draw_batch("cg_text_dataset_batch", ds, split, batch, block, 0, 1, x, y);
}

int cg_text_dataset_batch_rank(const cg_text_dataset *ds, cg_data_split split, int64_t batch,
                               int64_t block, int rank, int world, cg_tensor **x, cg_tensor **y) {
    return draw_batch("cg_text_dataset_batch_rank", ds, split, batch, block, rank, world, x, y);
}
