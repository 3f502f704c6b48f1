/* GPT-2's encoder: special tokens split the text, GPT-2's pattern (PCRE2)
 * cuts each part into pieces, and each piece's bytes are merged by rank
 * (with a cache of pieces seen). Invalid UTF-8 is encoded byte for byte:
 * each byte that is not part of a valid character counts, for the pattern,
 * as one character that is neither space, letter nor number (as Python's
 * surrogateescape decodes it), and its piece's bytes are merged as they are. */
#include "bpe.h"

#include "../core/internal.h"

#include <stdlib.h>
#include <string.h>

#ifdef CG_HAVE_PCRE2
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif

enum {
    CACHE_PIECE = 64,        /* longest piece cached (bytes) */
    CACHE_TEXT = 1 << 20,    /* bytes of cached pieces before the cache is cleared */
    CACHE_IDS = 1 << 18,     /* ids of cached pieces, counts included */
    CACHE_ENTRIES = 1 << 16, /* pieces */
    ESCAPE_BASE = 0xF0000,   /* an invalid byte b stands as U+F0000 + b (private use) */
    ESCAPE_LEN = 4,          /* its UTF-8 length */
};

/* ------------------------------------------------------------------ cache */

static void cache_clear(bpe_cache *c) {
    memset(c->map.keys, 0, c->map.nslots * sizeof *c->map.keys);
    c->map.n = 0;
    c->text_len = c->ids_len = 0;
}

static int cache_init(bpe_cache *c) {
    c->text = malloc(CACHE_TEXT);
    c->ids = malloc(CACHE_IDS * sizeof *c->ids);
    c->text_cap = CACHE_TEXT, c->ids_cap = CACHE_IDS;
    return c->text && c->ids && cg__strmap_init(&c->map, CACHE_ENTRIES) == 0 ? 0 : -1;
}

/* Remembers piece -> ids (arenas of fixed size: the cache empties when full,
 * so the keys it points at never move). */
static void cache_put(bpe_cache *c, const unsigned char *p, size_t n, const int32_t *ids,
                      size_t k) {
    if (c->text_len + n > c->text_cap || c->ids_len + k + 1 > c->ids_cap ||
        c->map.n + 1 >= CACHE_ENTRIES)
        cache_clear(c);
    char *key = c->text + c->text_len;
    memcpy(key, p, n);
    if (cg__strmap_put(&c->map, key, n, (int32_t)c->ids_len) != -1) return;
    c->text_len += n;
    c->ids[c->ids_len] = (int32_t)k;
    memcpy(c->ids + c->ids_len + 1, ids, k * sizeof *ids);
    c->ids_len += k + 1;
}

/* ------------------------------------------------------------------ merges */

typedef struct ids_vec {
    int32_t *v;
    size_t n, cap;
} ids_vec;

static int push(ids_vec *o, const int32_t *ids, size_t k) {
    if (o->n + k > o->cap) {
        size_t nc = o->cap ? o->cap : 256;
        while (nc < o->n + k) nc *= 2;
        int32_t *nv = realloc(o->v, nc * sizeof *nv);
        if (!nv) return -1;
        o->v = nv, o->cap = nc;
    }
    memcpy(o->v + o->n, ids, k * sizeof *ids);
    o->n += k;
    return 0;
}

static int32_t pair_rank(const cg_bpe *b, int32_t l, int32_t r) {
    const bpe_merge *e = cg__bpe_merge_find(b, l, r);
    return e ? e->rank : INT32_MAX;
}

/* GPT-2's bpe(): while some adjacent pair merges, take the pair of lowest
 * rank and merge its every occurrence, left to right. sym (n) gets the ids,
 * rank (n) is scratch: rank[i] of the pair (i, i+1), -1 to recompute. */
static size_t merge(const cg_bpe *b, const unsigned char *p, size_t n, int32_t *sym,
                    int32_t *rank) {
    for (size_t i = 0; i < n; i++) sym[i] = b->byte_id[p[i]];
    for (size_t i = 0; i + 1 < n; i++) rank[i] = pair_rank(b, sym[i], sym[i + 1]);
    rank[n - 1] = INT32_MAX;
    size_t m = n;
    while (m > 1) {
        int32_t best = INT32_MAX;
        size_t first = 0;
        for (size_t i = 0; i + 1 < m; i++)
            if (rank[i] < best) best = rank[i], first = i;
        if (best == INT32_MAX) break;
        int32_t merged = cg__bpe_merge_find(b, sym[first], sym[first + 1])->merged;
        size_t j = first;
        for (size_t i = first; i < m; j++) {
            if (rank[i] == best) { /* the pair (i, i+1): one rank is one pair */
                sym[j] = merged, rank[j] = -1;
                if (j > 0) rank[j - 1] = -1;
                i += 2;
            } else {
                sym[j] = sym[i];
                rank[j] = i + 1 < m && rank[i + 1] == best ? -1 : rank[i];
                i++;
            }
        }
        m = j;
        rank[m - 1] = INT32_MAX;
        for (size_t k = first ? first - 1 : 0; k + 1 < m; k++)
            if (rank[k] == -1) rank[k] = pair_rank(b, sym[k], sym[k + 1]);
    }
    return m;
}

/* A pair in merge_long's heap: lowest rank first, then leftmost. */
typedef struct heap_pair {
    int32_t rank;
    uint32_t pos;        /* the left symbol's first byte */
    int32_t left, right; /* the ids it was made for (stale when they changed) */
} heap_pair;

static int heap_less(const heap_pair *a, const heap_pair *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(heap_pair *h, size_t *n, heap_pair e) {
    size_t i = (*n)++;
    for (; i && heap_less(&e, &h[(i - 1) / 2]); i = (i - 1) / 2) h[i] = h[(i - 1) / 2];
    h[i] = e;
}

static heap_pair heap_pop(heap_pair *h, size_t *n) {
    heap_pair top = h[0], last = h[--*n];
    size_t i = 0, c;
    while ((c = 2 * i + 1) < *n) {
        if (c + 1 < *n && heap_less(&h[c + 1], &h[c])) c++;
        if (!heap_less(&h[c], &last)) break;
        h[i] = h[c], i = c;
    }
    h[i] = last;
    return top;
}

/* The pair starting at symbol i (its right neighbour nx[i]) into the heap,
 * when it merges. */
static void push_pair(const cg_bpe *b, heap_pair *h, size_t *nh, const int32_t *id,
                      const uint32_t *nx, uint32_t i, uint32_t end) {
    if (nx[i] == end) return;
    int32_t r = pair_rank(b, id[i], id[nx[i]]);
    if (r != INT32_MAX) heap_push(h, nh, (heap_pair){r, i, id[i], id[nx[i]]});
}

/* merge() for long pieces in O(n log n): the same merges, as pairs of a
 * heap over a linked list of symbols (by rank, then position, is GPT-2's
 * order: a merge never makes a pair of the rank being merged). sym (n) gets
 * the ids; -1 out of memory. */
static int64_t merge_long(const cg_bpe *b, const unsigned char *p, size_t n, int32_t *sym) {
    int32_t *id = malloc(n * sizeof *id);
    uint32_t *nx = malloc(n * sizeof *nx), *pv = malloc(n * sizeof *pv), end = (uint32_t)n;
    heap_pair *h = malloc(3 * n * sizeof *h); /* n - 1 pairs, and 2 more a merge */
    size_t nh = 0, m = 0;
    int64_t rc = -1;
    if (!id || !nx || !pv || !h) goto out;
    for (uint32_t i = 0; i < end; i++) id[i] = b->byte_id[p[i]], nx[i] = i + 1, pv[i] = i - 1;
    for (uint32_t i = 0; i + 1 < end; i++) push_pair(b, h, &nh, id, nx, i, end);
    while (nh) {
        heap_pair e = heap_pop(h, &nh);
        uint32_t i = e.pos, r = nx[i];
        if (id[i] != e.left || r == end || id[r] != e.right) continue; /* stale */
        id[i] = cg__bpe_merge_find(b, e.left, e.right)->merged, id[r] = -1;
        nx[i] = nx[r];
        if (nx[r] != end) pv[nx[r]] = i;
        if (i != 0) push_pair(b, h, &nh, id, nx, pv[i], end);
        push_pair(b, h, &nh, id, nx, i, end);
    }
    for (uint32_t i = 0; i != end; i = nx[i]) sym[m++] = id[i];
    rc = (int64_t)m;
out:
    free(id), free(nx), free(pv), free(h);
    return rc;
}

/* One piece's ids, appended to out. */
static int encode_piece(cg_bpe *b, const unsigned char *p, size_t n, ids_vec *out) {
    if (n == 1) return push(out, &b->byte_id[p[0]], 1);
    bpe_cache *c = &b->cache;
    if (n <= CACHE_PIECE) {
        int32_t at = cg__strmap_get(&c->map, (const char *)p, n);
        if (at >= 0) return push(out, c->ids + at + 1, (size_t)c->ids[at]);
    }
    if (n > CACHE_PIECE) {
        int32_t *sym = n < UINT32_MAX ? malloc(n * sizeof *sym) : NULL;
        int64_t m = sym ? merge_long(b, p, n, sym) : -1;
        int rc = m < 0 ? -1 : push(out, sym, (size_t)m);
        free(sym);
        return rc;
    }
    int32_t sym[CACHE_PIECE], rank[CACHE_PIECE];
    size_t m = merge(b, p, n, sym, rank);
    cache_put(c, p, n, sym, m);
    return push(out, sym, m);
}

/* --------------------------------------------------------- pre-tokenizer */

/* The text the pattern sees: the input, or (invalid UTF-8) a copy with each
 * stray byte as an escape character; esc marks an escape's first byte. */
typedef struct subject {
    const unsigned char *s;
    size_t n;
    unsigned char *copy; /* owned, or NULL */
    uint8_t *esc;        /* (n) owned, or NULL */
    unsigned char *raw;  /* scratch for a piece's bytes (n), or NULL */
} subject;

static int make_subject(subject *S, const char *text, size_t len) {
    const unsigned char *t = (const unsigned char *)text;
    memset(S, 0, sizeof *S);
    S->s = t, S->n = len;
    if (cg__utf8_valid_prefix(t, len) == len) return 0;
    size_t cap = len * ESCAPE_LEN + 1, k = 0, i = 0, w;
    S->copy = malloc(cap), S->esc = calloc(cap, 1), S->raw = malloc(len + 1);
    if (!S->copy || !S->esc || !S->raw) return -1;
    while (i < len) {
        uint32_t cp;
        if ((w = cg__utf8_next(t, len, i, &cp))) {
            memcpy(S->copy + k, t + i, w);
            k += w, i += w;
        } else {
            S->esc[k] = 1;
            k += cg__utf8_put(ESCAPE_BASE + t[i++], (char *)S->copy + k);
        }
    }
    S->s = S->copy, S->n = k;
    return 0;
}

static void free_subject(subject *S) {
    free(S->copy);
    free(S->esc);
    free(S->raw);
}

/* The bytes of the piece [a, e) of the subject (escapes back to their byte). */
static const unsigned char *piece_bytes(const subject *S, size_t a, size_t e, size_t *n) {
    if (!S->esc) return *n = e - a, S->s + a;
    size_t k = 0;
    for (size_t i = a; i < e;) {
        if (S->esc[i]) {
            S->raw[k++] = (unsigned char)(0x80 | (S->s[i + 3] & 0x3f) | (S->s[i + 2] & 3) << 6);
            i += ESCAPE_LEN;
        } else {
            S->raw[k++] = S->s[i++];
        }
    }
    *n = k;
    return S->raw;
}

/* The end of the piece that starts at pos of the n bytes at s (the
 * pattern's leftmost match there). 0 or -1 with an error. */
static int next_piece(cg_bpe *b, const unsigned char *s, size_t n, size_t pos, size_t *end) {
#ifdef CG_HAVE_PCRE2
    pcre2_match_data *md = b->match_data;
    int rc = pcre2_match(b->regex, s, n, pos, PCRE2_NO_UTF_CHECK, md, b->match_ctx);
    if (rc < 0) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(rc, msg, sizeof msg);
        cg__error("cg_bpe_encode", "pre-tokenizer failed at byte %zu: %s", pos, (const char *)msg);
        return -1;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    *end = ov[1] > pos ? ov[1] : pos + 1; /* every character matches: never pos */
    return 0;
#else
    (void)b, (void)s, (void)n, (void)pos, (void)end;
    cg__error("cg_bpe_encode", "cgrad was built without PCRE2 (libpcre2-dev)");
    return -1;
#endif
}

/* The pieces of [a, e) of the subject, encoded into out. */
static int encode_ordinary(cg_bpe *b, const subject *S, size_t a, size_t e, ids_vec *out) {
    for (size_t pos = a, end, k; pos < e; pos = end) {
        if (next_piece(b, S->s + a, e - a, pos - a, &end)) return -1;
        end += a;
        const unsigned char *p = piece_bytes(S, pos, end, &k);
        if (encode_piece(b, p, k, out)) return cg__oom("cg_bpe_encode"), -1;
    }
    return 0;
}

/* The first special token at or after `from` (the longest where several
 * start together): its position, or n. */
static size_t next_special(const cg_bpe *b, const unsigned char *s, size_t from, size_t n,
                           int32_t *id) {
    size_t best = n;
    for (int k = 0; k < b->n_specials; k++) {
        int32_t t = b->specials[k];
        size_t len = b->token_len[t];
        const unsigned char *tok = (const unsigned char *)b->token_bytes[t];
        for (size_t i = from; i + len <= n && i < best; i++) {
            const unsigned char *q = memchr(s + i, tok[0], n - len + 1 - i);
            if (!q || (size_t)(q - s) >= best) break;
            i = (size_t)(q - s);
            if (memcmp(q, tok, len) == 0) best = i, *id = t;
        }
    }
    return best;
}

int64_t cg_bpe_encode(cg_bpe *b, const char *text, size_t len, int flags, int32_t **ids) {
    static const char *fn = "cg_bpe_encode";
    if (!b || (!text && len) || !ids) return cg__error(fn, "an argument is NULL"), -1;
    *ids = NULL;
    if (flags & ~CG_BPE_ALLOW_SPECIAL) return cg__error(fn, "unknown flags 0x%x", flags), -1;
    subject S;
    ids_vec out = {0};
    int rc = make_subject(&S, text ? text : "", len);
    for (size_t pos = 0; rc == 0 && pos <= S.n;) {
        int32_t id = -1;
        size_t at = flags & CG_BPE_ALLOW_SPECIAL ? next_special(b, S.s, pos, S.n, &id) : S.n;
        if (at > pos && encode_ordinary(b, &S, pos, at, &out)) rc = -2;
        if (rc == 0 && id >= 0 && push(&out, &id, 1)) rc = -1;
        pos = id >= 0 ? at + b->token_len[id] : S.n + 1;
    }
    free_subject(&S);
    if (rc == -1) cg__oom(fn);
    if (rc) return free(out.v), -1;
    if (!out.v && !(out.v = malloc(sizeof *out.v))) return cg__oom(fn), -1;
    *ids = out.v;
    return (int64_t)out.n;
}

/* ------------------------------------------------------------- lifecycle */

static int regex_init(cg_bpe *b, const char *fn) {
#ifdef CG_HAVE_PCRE2
    /* GPT-2's pre-tokenizer pattern (openai/gpt-2, src/encoder.py), its \s
     * spelt out as Unicode's White_Space, which encoder.py's regex module
     * uses (PCRE2's \s also holds U+180E) */
#define WS                                                                                         \
    "\\t\\n\\x0b\\f\\r \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
    static const char PATTERN[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS
                                  "\\p{L}\\p{N}]+|[" WS "]+(?![^" WS "])|[" WS "]+";
#undef WS
    int err;
    PCRE2_SIZE off;
    b->regex = pcre2_compile((PCRE2_SPTR)PATTERN, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                             &err, &off, NULL);
    if (!b->regex) return cg__error(fn, "PCRE2 cannot compile GPT-2's pattern (error %d)", err), -1;
    pcre2_jit_compile(b->regex, PCRE2_JIT_COMPLETE); /* interpreted when JIT is absent */
    b->match_data = pcre2_match_data_create_from_pattern(b->regex, NULL);
    b->match_ctx = pcre2_match_context_create(NULL);
    b->jit_stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, NULL);
    if (!b->match_data || !b->match_ctx || !b->jit_stack) return cg__oom(fn), -1;
    pcre2_jit_stack_assign(b->match_ctx, NULL, b->jit_stack);
    return 0;
#else
    (void)b;
    cg__error(fn, "cgrad was built without PCRE2 (libpcre2-dev), which GPT-2's tokenizer needs");
    return -1;
#endif
}

int cg__bpe_encoder_init(cg_bpe *b, const char *fn) {
    if (cache_init(&b->cache)) return cg__oom(fn), -1;
    return regex_init(b, fn);
}

void cg__bpe_encoder_free(cg_bpe *b) {
#ifdef CG_HAVE_PCRE2
    pcre2_match_data_free(b->match_data);
    pcre2_match_context_free(b->match_ctx);
    pcre2_jit_stack_free(b->jit_stack);
    pcre2_code_free(b->regex);
#endif
    free(b->cache.text);
    free(b->cache.ids);
    cg__strmap_free(&b->cache.map);
}
