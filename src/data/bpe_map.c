/* The byte string -> int32 map of the tokenizer (bpe.h). */
#include "bpe.h"

#include <stdlib.h>
#include <string.h>

uint64_t cg__hash_bytes(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

int cg__strmap_init(cg__strmap *m, size_t expect) {
    size_t ns = 16;
    while (ns <= 2 * expect) ns *= 2;
    memset(m, 0, sizeof *m);
    m->keys = calloc(ns, sizeof *m->keys);
    m->lens = malloc(ns * sizeof *m->lens);
    m->vals = malloc(ns * sizeof *m->vals);
    m->nslots = ns;
    if (m->keys && m->lens && m->vals) return 0;
    cg__strmap_free(m);
    return -1;
}

static size_t slot_of(const cg__strmap *m, const char *key, size_t len) {
    size_t mask = m->nslots - 1, s = (size_t)cg__hash_bytes(key, len) & mask;
    while (m->keys[s] && (m->lens[s] != len || memcmp(m->keys[s], key, len) != 0))
        s = (s + 1) & mask;
    return s;
}

int32_t cg__strmap_get(const cg__strmap *m, const char *key, size_t len) {
    size_t s = slot_of(m, key, len);
    return m->keys[s] ? m->vals[s] : -1;
}

static int grow(cg__strmap *m) {
    cg__strmap bigger;
    if (cg__strmap_init(&bigger, m->nslots)) return -1;
    for (size_t i = 0; i < m->nslots; i++) {
        if (!m->keys[i]) continue;
        size_t s = slot_of(&bigger, m->keys[i], m->lens[i]);
        bigger.keys[s] = m->keys[i], bigger.lens[s] = m->lens[i], bigger.vals[s] = m->vals[i];
    }
    bigger.n = m->n;
    cg__strmap_free(m);
    *m = bigger;
    return 0;
}

int32_t cg__strmap_put(cg__strmap *m, const char *key, size_t len, int32_t val) {
    size_t s = slot_of(m, key, len);
    if (m->keys[s]) return m->vals[s];
    if (2 * (m->n + 1) >= m->nslots) {
        if (grow(m)) return -2;
        s = slot_of(m, key, len);
    }
    m->keys[s] = key, m->lens[s] = (uint32_t)len, m->vals[s] = val;
    m->n++;
    return -1;
}

void cg__strmap_free(cg__strmap *m) {
    free(m->keys);
    free(m->lens);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
