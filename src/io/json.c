/* A strict JSON reader (json.h): recursive descent over the buffer, depth
 * bounded, one tree of cg__json values. */
#include "json.h"

#include "../core/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *fn, *source;
    const unsigned char *s;
    size_t n, pos;
} parser;

/* Records "<source>: invalid JSON at byte N (line L, column C): msg". */
static int fail_at(parser *P, size_t at, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < P->n; i++) {
        if (P->s[i] == '\n')
            line++, col = 1;
        else if ((P->s[i] & 0xc0) != 0x80)
            col++; /* columns count characters */
    }
    cg__error(P->fn, "%s: invalid JSON at byte %zu (line %zu, column %zu): %s", P->source, at, line,
              col, msg);
    return -1;
}

static void skip_ws(parser *P) {
    while (P->pos < P->n) {
        unsigned char c = P->s[P->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        P->pos++;
    }
}

static int parse_value(parser *P, cg__json *v, int depth);

/* ----------------------------------------------------------------- strings */

static int hex4(parser *P, size_t at, uint32_t *out) {
    if (P->n - at < 4) return fail_at(P, at, "truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned c = P->s[at + k];
        int d = c >= '0' && c <= '9'   ? (int)(c - '0')
                : c >= 'a' && c <= 'f' ? (int)(c - 'a' + 10)
                : c >= 'A' && c <= 'F' ? (int)(c - 'A' + 10)
                                       : -1;
        if (d < 0) return fail_at(P, at + k, "invalid hex digit in a \\u escape");
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* A \u escape at P->pos (on the backslash), a surrogate pair joined; the code
 * point in *cp, P->pos past it. */
static int u_escape(parser *P, uint32_t *cp) {
    size_t at = P->pos;
    if (hex4(P, at + 2, cp)) return -1;
    P->pos = at + 6;
    if (*cp >= 0xdc00 && *cp <= 0xdfff) return fail_at(P, at, "lone low surrogate \\u%04X", *cp);
    if (*cp < 0xd800 || *cp > 0xdbff) return 0;
    uint32_t lo = 0;
    if (P->n - P->pos < 2 || P->s[P->pos] != '\\' || P->s[P->pos + 1] != 'u' ||
        hex4(P, P->pos + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
        return fail_at(P, at, "lone high surrogate \\u%04X (not followed by a low one)", *cp);
    P->pos += 6;
    *cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
    return 0;
}

/* One escape at P->pos (on the backslash), its UTF-8 appended to out. */
static int escape(parser *P, char *out, size_t *k) {
    if (P->pos + 1 >= P->n) return fail_at(P, P->pos, "unterminated string");
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *e = strchr(from, P->s[P->pos + 1]);
    if (P->s[P->pos + 1] && e) {
        out[(*k)++] = to[e - from];
        P->pos += 2;
        return 0;
    }
    if (P->s[P->pos + 1] != 'u')
        return fail_at(P, P->pos, "invalid escape \\%c in a string", P->s[P->pos + 1]);
    uint32_t cp = 0;
    if (u_escape(P, &cp)) return -1;
    *k += cg__utf8_put(cp, out + *k);
    return 0;
}

/* A string at P->pos (on the quote): malloc'd decoded bytes, length in *len. */
static char *parse_string(parser *P, size_t *len) {
    size_t start = P->pos++;
    /* decoded text is never longer than its source */
    size_t end = P->pos;
    while (end < P->n && P->s[end] != '"') end += P->s[end] == '\\' ? 2 : 1;
    if (end >= P->n) return fail_at(P, start, "unterminated string"), NULL;
    char *out = malloc(end - P->pos + 1);
    if (!out) return cg__oom(P->fn);
    size_t k = 0;
    while (P->s[P->pos] != '"') {
        unsigned char c = P->s[P->pos];
        uint32_t cp;
        size_t w;
        if (c == '\\') {
            if (escape(P, out, &k)) goto fail;
        } else if (c < 0x20) {
            fail_at(P, P->pos, "control character 0x%02X in a string (escape it)", c);
            goto fail;
        } else if (!(w = cg__utf8_next(P->s, P->n, P->pos, &cp))) {
            fail_at(P, P->pos, "invalid UTF-8 in a string");
            goto fail;
        } else {
            memcpy(out + k, P->s + P->pos, w);
            k += w;
            P->pos += w;
        }
    }
    P->pos++;
    out[k] = 0;
    *len = k;
    return out;
fail:
    free(out);
    return NULL;
}

/* ----------------------------------------------------------------- numbers */

static size_t digits(parser *P, size_t i) {
    while (i < P->n && P->s[i] >= '0' && P->s[i] <= '9') i++;
    return i;
}

/* Exact int64 of an integer literal (no fraction, no exponent); 0 if it
 * does not fit. */
static int exact_int(const unsigned char *s, size_t n, int64_t *out) {
    int neg = s[0] == '-';
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (size_t i = (size_t)neg; i < n; i++) {
        uint64_t d = s[i] - '0';
        if (v > (lim - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}

static int parse_number(parser *P, cg__json *v) {
    size_t st = P->pos, i = st;
    if (i < P->n && P->s[i] == '-') i++;
    if (i >= P->n || P->s[i] < '0' || P->s[i] > '9') return fail_at(P, st, "invalid number");
    i = P->s[i] == '0' ? i + 1 : digits(P, i);
    if (i < P->n && P->s[i] >= '0' && P->s[i] <= '9')
        return fail_at(P, st, "leading zero in a number");
    int integral = 1;
    if (i < P->n && P->s[i] == '.') {
        size_t j = digits(P, i + 1);
        if (j == i + 1) return fail_at(P, i, "expected a digit after the decimal point");
        i = j, integral = 0;
    }
    if (i < P->n && (P->s[i] == 'e' || P->s[i] == 'E')) {
        size_t j = i + 1 + (i + 1 < P->n && (P->s[i + 1] == '+' || P->s[i + 1] == '-'));
        size_t k = digits(P, j);
        if (k == j) return fail_at(P, i, "expected a digit in the exponent");
        i = k, integral = 0;
    }
    char small[64], *txt = i - st < sizeof small ? small : malloc(i - st + 1);
    if (!txt) return cg__oom(P->fn), -1;
    memcpy(txt, P->s + st, i - st);
    txt[i - st] = 0;
    errno = 0;
    v->number = strtod(txt, NULL);
    int range = errno == ERANGE && (v->number > 1 || v->number < -1);
    if (txt != small) free(txt);
    if (range) return fail_at(P, st, "number out of a double's range");
    v->type = CG__JSON_NUMBER;
    if (integral)
        v->is_int = exact_int(P->s + st, i - st, &v->integer);
    else if (v->number >= -0x1p63 && v->number < 0x1p63 && v->number == (double)(int64_t)v->number)
        v->is_int = 1, v->integer = (int64_t)v->number;
    P->pos = i;
    return 0;
}

/* -------------------------------------------------------- arrays, objects */

/* Grows items (and keys when want_keys) to hold one more member. */
static int grow(parser *P, cg__json *v, size_t *cap, int want_keys) {
    if (v->n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 4;
    cg__json *it = realloc(v->items, nc * sizeof *it);
    if (!it) return cg__oom(P->fn), -1;
    v->items = it;
    if (want_keys) {
        char **k = realloc(v->keys, nc * sizeof *k);
        if (k) v->keys = k;
        size_t *kl = k ? realloc(v->key_lens, nc * sizeof *kl) : NULL;
        if (!kl) return cg__oom(P->fn), -1;
        v->key_lens = kl;
    }
    *cap = nc;
    return 0;
}

static uint64_t hash_key(const char *k, size_t n) {
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    return h;
}

/* The slot of key in v's index: the member's slot, or the empty one where it
 * would go. */
static size_t find_slot(const cg__json *v, const char *key, size_t n) {
    size_t mask = v->nslots - 1, s = (size_t)hash_key(key, n) & mask;
    for (; v->index[s]; s = (s + 1) & mask) {
        size_t m = v->index[s] - 1;
        if (v->key_lens[m] == n && memcmp(v->keys[m], key, n) == 0) break;
    }
    return s;
}

/* Indexes member v->n - 1 (its key set); doubles the index as it fills. */
static int index_member(parser *P, cg__json *v) {
    if (2 * v->n >= v->nslots) {
        size_t ns = v->nslots ? v->nslots * 2 : 16;
        uint32_t *ix = calloc(ns, sizeof *ix);
        if (!ix) return cg__oom(P->fn), -1;
        free(v->index);
        v->index = ix, v->nslots = ns;
        for (size_t m = 0; m + 1 < v->n; m++)
            v->index[find_slot(v, v->keys[m], v->key_lens[m])] = (uint32_t)(m + 1);
    }
    v->index[find_slot(v, v->keys[v->n - 1], v->key_lens[v->n - 1])] = (uint32_t)v->n;
    return 0;
}

/* One "key": value member of the object v, P->pos on the key's quote. */
static int member(parser *P, cg__json *v, size_t *cap, int depth) {
    size_t at = P->pos, klen;
    if (at >= P->n || P->s[at] != '"') return fail_at(P, at, "expected a string key");
    if (grow(P, v, cap, 1)) return -1;
    char *key = parse_string(P, &klen);
    if (!key) return -1;
    if (v->nslots && v->index[find_slot(v, key, klen)]) {
        fail_at(P, at, "duplicate key \"%s\"", key);
        free(key);
        return -1;
    }
    if (v->n >= UINT32_MAX) return free(key), fail_at(P, at, "too many members");
    v->keys[v->n] = key, v->key_lens[v->n] = klen;
    memset(&v->items[v->n], 0, sizeof *v->items);
    v->n++;
    if (index_member(P, v)) return -1;
    skip_ws(P);
    if (P->pos >= P->n || P->s[P->pos] != ':') return fail_at(P, P->pos, "expected ':'");
    P->pos++;
    return parse_value(P, &v->items[v->n - 1], depth);
}

/* An array or an object at P->pos (on its bracket). */
static int parse_container(parser *P, cg__json *v, int depth) {
    int obj = P->s[P->pos] == '{';
    char close = obj ? '}' : ']';
    if (depth >= CG__JSON_MAX_DEPTH)
        return fail_at(P, P->pos, "nesting deeper than %d levels", CG__JSON_MAX_DEPTH);
    v->type = obj ? CG__JSON_OBJECT : CG__JSON_ARRAY;
    P->pos++;
    size_t cap = 0;
    skip_ws(P);
    if (P->pos < P->n && P->s[P->pos] == close) return P->pos++, 0;
    for (;;) {
        skip_ws(P);
        if (obj) {
            if (member(P, v, &cap, depth + 1)) return -1;
        } else {
            if (grow(P, v, &cap, 0)) return -1;
            memset(&v->items[v->n], 0, sizeof *v->items);
            if (parse_value(P, &v->items[v->n++], depth + 1)) return -1;
        }
        skip_ws(P);
        if (P->pos < P->n && P->s[P->pos] == ',') {
            P->pos++;
            continue;
        }
        if (P->pos < P->n && P->s[P->pos] == close) return P->pos++, 0;
        return fail_at(P, P->pos,
                       obj ? "expected ',' or '}' in an object"
                           : "expected ',' or ']' in an array");
    }
}

static int literal(parser *P, const char *word) {
    size_t k = strlen(word);
    if (P->n - P->pos < k || memcmp(P->s + P->pos, word, k) != 0) return 0;
    P->pos += k;
    return 1;
}

static int parse_value(parser *P, cg__json *v, int depth) {
    skip_ws(P);
    v->offset = P->pos;
    if (P->pos >= P->n) return fail_at(P, P->pos, "unexpected end of input");
    unsigned char c = P->s[P->pos];
    if (c == '{' || c == '[') return parse_container(P, v, depth);
    if (c == '"') {
        v->str = parse_string(P, &v->len);
        v->type = CG__JSON_STRING;
        return v->str ? 0 : -1;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(P, v);
    if (literal(P, "true"))
        v->type = CG__JSON_BOOL, v->boolean = 1;
    else if (literal(P, "false"))
        v->type = CG__JSON_BOOL, v->boolean = 0;
    else if (literal(P, "null"))
        v->type = CG__JSON_NULL;
    else if (c >= 0x20 && c < 0x7f)
        return fail_at(P, P->pos, "unexpected character '%c'", c);
    else
        return fail_at(P, P->pos, "unexpected byte 0x%02X", c);
    return 0;
}

/* ------------------------------------------------------------------ public */

static void free_value(cg__json *v) {
    free(v->str);
    for (size_t i = 0; i < v->n; i++) {
        free_value(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->key_lens);
    free(v->index);
}

void cg__json_free(cg__json *v) {
    if (!v) return;
    free_value(v);
    free(v);
}

cg__json *cg__json_parse(const char *fn, const char *source, const char *buf, size_t len) {
    parser P = {fn, source ? source : "JSON", (const unsigned char *)buf, len, 0};
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) P.pos = 3; /* a UTF-8 byte-order mark */
    cg__json *v = calloc(1, sizeof *v);
    if (!v) return cg__oom(fn);
    if (parse_value(&P, v, 0) == 0) {
        skip_ws(&P);
        if (P.pos == P.n) return v;
        fail_at(&P, P.pos, "trailing data after the top-level value");
    }
    cg__json_free(v);
    return NULL;
}

char *cg__read_file(const char *fn, const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return cg__error(fn, "cannot open \"%s\": %s", path, strerror(errno)), NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 1 << 16);
            if (!nb) return free(buf), fclose(f), cg__oom(fn);
            buf = nb;
        }
        n += got = fread(buf + n, 1, cap - n - 1, f);
    } while (got > 0);
    int err = ferror(f);
    fclose(f);
    if (err) return free(buf), cg__error(fn, "cannot read \"%s\"", path), NULL;
    buf[n] = 0;
    *len = n;
    return buf;
}

cg__json *cg__json_parse_file(const char *fn, const char *path) {
    size_t n;
    char *buf = cg__read_file(fn, path, &n);
    if (!buf) return NULL;
    cg__json *v = cg__json_parse(fn, path, buf, n);
    free(buf);
    return v;
}

const cg__json *cg__json_get(const cg__json *obj, const char *key) {
    if (!obj || obj->type != CG__JSON_OBJECT || !obj->nslots) return NULL;
    uint32_t m = obj->index[find_slot(obj, key, strlen(key))];
    return m ? &obj->items[m - 1] : NULL;
}

const char *cg__json_type_name(cg__json_type t) {
    static const char *names[] = {"null", "boolean", "number", "string", "array", "object"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "?";
}
