/* GPT-2's byte-level BPE tokenizer: the state shared by the loader (bpe.c)
 * and the encoder (bpe_encode.c). Internal. */
#ifndef CG_DATA_BPE_H
#define CG_DATA_BPE_H

#include "cgrad.h"

#include <stddef.h>
#include <stdint.h>

/* A byte string -> int32 map (open addressing, FNV-1a); keys point into
 * memory the owner keeps. */
typedef struct cg__strmap {
    const char **keys; /* (nslots) NULL = empty */
    uint32_t *lens;    /* (nslots) */
    int32_t *vals;     /* (nslots) */
    size_t nslots, n;  /* nslots a power of two, > 2n */
} cg__strmap;

int cg__strmap_init(cg__strmap *m, size_t expect);
/* The value of key, or -1. */
int32_t cg__strmap_get(const cg__strmap *m, const char *key, size_t len);
/* Adds key -> val; the value already there (>= 0) when the key exists,
 * -1 when added, -2 when out of memory. */
int32_t cg__strmap_put(cg__strmap *m, const char *key, size_t len, int32_t val);
void cg__strmap_free(cg__strmap *m);
uint64_t cg__hash_bytes(const void *p, size_t n);

/* One merge: (left id, right id) -> rank and the merged id. */
typedef struct bpe_merge {
    uint64_t pair; /* left << 32 | right; UINT64_MAX = empty slot */
    int32_t rank, merged;
} bpe_merge;

/* The encode cache: piece bytes -> ids, cleared when full. */
typedef struct bpe_cache {
    cg__strmap map; /* piece -> offset of its entry in ids (count first) */
    char *text;     /* piece bytes, arena */
    size_t text_len, text_cap;
    int32_t *ids; /* arena: count, then the ids */
    size_t ids_len, ids_cap;
} bpe_cache;

/* GPT-2's 256 byte characters lie below U+0144. */
#define CG__BPE_CHARS 0x144

struct cg_bpe {
    int32_t n_vocab;         /* ids are 0 .. n_vocab - 1 */
    char **token_str;        /* (n_vocab) the vocabulary's own strings (UTF-8, byte-mapped) */
    char **token_bytes;      /* (n_vocab) the bytes each id stands for */
    uint32_t *token_len;     /* (n_vocab) */
    uint8_t *special;        /* (n_vocab) 1: neither a byte nor a merge's result */
    cg__strmap by_str;       /* vocabulary string -> id */
    int32_t byte_id[256];    /* the id of each single byte */
    uint32_t byte_char[256]; /* GPT-2's bytes_to_unicode: byte -> code point */
    int16_t char_byte[CG__BPE_CHARS]; /* its inverse; -1 for other code points */
    bpe_merge *merges;                /* (merge_slots) hash table */
    size_t merge_slots, n_merges;
    int32_t *specials; /* ids of the special tokens, longest string first */
    int n_specials;
    /* PCRE2's compiled pattern, match data, match context, JIT stack (NULL without PCRE2) */
    void *regex, *match_data, *match_ctx, *jit_stack;
    bpe_cache cache;
};

/* The rank and merged id of (left, right); rank -1 when they do not merge. */
static inline const bpe_merge *cg__bpe_merge_find(const cg_bpe *b, int32_t left, int32_t right) {
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t mask = b->merge_slots - 1, s = (size_t)(h >> 32) & mask;
    for (; b->merges[s].pair != UINT64_MAX; s = (s + 1) & mask)
        if (b->merges[s].pair == key) return &b->merges[s];
    return NULL;
}

/* The pre-tokenizer and the cache (bpe_encode.c): set up / torn down by
 * the loader. 0 or -1 with an error naming fn. */
int cg__bpe_encoder_init(cg_bpe *b, const char *fn);
void cg__bpe_encoder_free(cg_bpe *b);

#endif
