/* Named tensors on disk in the safetensors format: an 8-byte little-endian
 * header size N, N bytes of JSON ({"name": {"dtype", "shape",
 * "data_offsets"}, "__metadata__": {...}}, padded with spaces to a multiple
 * of 8), then the tensors' bytes, little-endian and row-major, tiling the
 * rest of the file. The reader treats its input as hostile: every size and
 * offset is checked before it is used, and every failure is an error
 * message, never a crash. */
#define _POSIX_C_SOURCE 200809L /* fileno, fstat, fseeko */
#include "atomic_file.h"
#include "state_dict.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#define ST_MAX_HEADER 100000000ULL /* the reference implementation's limit */
#define ST_SHAPE_LIMIT (INT64_MAX / 16)

/* ------------------------------------------------------------ dtypes */

/* The format's dtypes that cgrad reads, and what it reads them as. */
typedef enum {
    ST_BOOL,
    ST_U8,
    ST_I8,
    ST_I16,
    ST_U16,
    ST_F16,
    ST_BF16,
    ST_I32,
    ST_U32,
    ST_F32,
    ST_F64,
    ST_I64,
    ST_NUM_DTYPES
} st_dtype;

static const struct {
    const char *name;
    size_t size;
    cg_dtype to;
} st_dtypes[ST_NUM_DTYPES] = {
    [ST_BOOL] = {"BOOL", 1, CG_BOOL},    [ST_U8] = {"U8", 1, CG_INT64},
    [ST_I8] = {"I8", 1, CG_INT64},       [ST_I16] = {"I16", 2, CG_INT64},
    [ST_U16] = {"U16", 2, CG_INT64},     [ST_F16] = {"F16", 2, CG_FLOAT32},
    [ST_BF16] = {"BF16", 2, CG_FLOAT32}, [ST_I32] = {"I32", 4, CG_INT64},
    [ST_U32] = {"U32", 4, CG_INT64},     [ST_F32] = {"F32", 4, CG_FLOAT32},
    [ST_F64] = {"F64", 8, CG_FLOAT64},   [ST_I64] = {"I64", 8, CG_INT64},
};
/* Dtypes of the format that cgrad cannot represent. */
static const char *const st_unsupported[] = {"U64", "F8_E5M2", "F8_E4M3"};

/* What a cgrad dtype is written as, and its rank in the reference writer's
 * order (descending alignment, so every tensor's data stays aligned). */
static const char *const st_write_name[CG_NUM_DTYPES] = {"F32", "F64", "I64", "BOOL"};
static const int st_write_rank[CG_NUM_DTYPES] = {11, 12, 13, 0};

static bool host_is_le(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap_bytes(void *p, size_t n, size_t size) { /* n elements of size bytes */
    if (size == 1) return;
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++, c += size)
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            unsigned char t = c[a];
            c[a] = c[b];
            c[b] = t;
        }
}

static uint64_t read_le(const unsigned char *p, size_t size) {
    uint64_t v = 0;
    for (size_t i = size; i-- > 0;) v = v << 8 | p[i];
    return v;
}

static float bits_to_float(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0x1f) return bits_to_float(sign | 0x7f800000u | mant << 13); /* inf, nan */
    if (exp) return bits_to_float(sign | (exp + 112) << 23 | mant << 13);
    float v = ldexpf((float)mant, -24); /* zero or subnormal */
    return sign ? -v : v;
}

/* Converts n little-endian elements of file dtype d at src into dst (the
 * cgrad dtype st_dtypes[d].to). */
static void convert_in(st_dtype d, const unsigned char *src, void *dst, size_t n) {
    size_t sz = st_dtypes[d].size;
    for (size_t i = 0; i < n; i++, src += sz) {
        uint64_t v = read_le(src, sz);
        switch (d) {
        case ST_BOOL: ((bool *)dst)[i] = v != 0; break;
        case ST_U8:
        case ST_U16:
        case ST_U32: ((int64_t *)dst)[i] = (int64_t)v; break;
        case ST_I8: ((int64_t *)dst)[i] = (int8_t)(uint8_t)v; break;
        case ST_I16: ((int64_t *)dst)[i] = (int16_t)(uint16_t)v; break;
        case ST_I32: ((int64_t *)dst)[i] = (int32_t)(uint32_t)v; break;
        case ST_F16: ((float *)dst)[i] = half_to_float((uint16_t)v); break;
        case ST_BF16: ((float *)dst)[i] = bits_to_float((uint32_t)v << 16); break;
        default: break; /* same representation: not converted (load_tensor) */
        }
    }
}

/* ----------------------------------------------------------- writing */

/* Where the bytes go: a FILE, or a growing buffer. */
typedef struct sink {
    FILE *f;
    unsigned char *buf; /* (cap) */
    size_t n, cap;
    bool failed;
    int err; /* errno of the failed write */
} sink;

static void put(sink *s, const void *p, size_t n) {
    if (s->failed || !n) return;
    if (s->f) {
        if (fwrite(p, 1, n, s->f) != n) s->failed = true, s->err = errno;
        return;
    }
    if (s->n + n > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < s->n + n) cap *= 2;
        unsigned char *b = realloc(s->buf, cap);
        if (!b) {
            s->failed = true;
            return;
        }
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->n, p, n);
    s->n += n;
}

static void put_str(sink *s, const char *str) { put(s, str, strlen(str)); }

static void put_json_str(sink *s, const char *str) { /* as serde_json and Python's json write it */
    put(s, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': put_str(s, "\\\""); break;
        case '\\': put_str(s, "\\\\"); break;
        case '\b': put_str(s, "\\b"); break;
        case '\f': put_str(s, "\\f"); break;
        case '\n': put_str(s, "\\n"); break;
        case '\r': put_str(s, "\\r"); break;
        case '\t': put_str(s, "\\t"); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                put_str(s, esc);
            } else
                put(s, p, 1);
        }
    }
    put(s, "\"", 1);
}

typedef struct write_item { /* a tensor's place in the file */
    int rank;
    const char *name;
    int index; /* in the dict */
} write_item;

static int write_order(const void *a, const void *b) {
    const write_item *x = a, *y = b;
    if (x->rank != y->rank) return y->rank - x->rank;
    return strcmp(x->name, y->name); /* bytewise, as Rust orders strings */
}

/* Writes d to s: the reference writer's layout (metadata first, tensors by
 * descending dtype alignment then name, header padded with spaces). */
static int write_dict(const char *fn, const cg_state_dict *d, sink *s) {
    int n = d->tensors.n;
    write_item *order = malloc(sizeof *order * (size_t)(n ? n : 1)); /* (n) in file order */
    if (!order) return cg__oom(fn), -1;
    for (int i = 0; i < n; i++)
        order[i] = (write_item){st_write_rank[((cg_tensor *)d->tensors.vals[i])->dtype],
                                d->tensors.keys[i], i};
    qsort(order, (size_t)n, sizeof *order, write_order);

    sink h = {0}; /* the header */
    put(&h, "{", 1);
    if (d->meta.n) {
        put_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < d->meta.n; i++) {
            if (i) put(&h, ",", 1);
            put_json_str(&h, d->meta.keys[i]);
            put(&h, ":", 1);
            put_json_str(&h, d->meta.vals[i]);
        }
        put(&h, "}", 1);
    }
    uint64_t offset = 0;
    for (int k = 0; k < n; k++) {
        const cg_tensor *t = d->tensors.vals[order[k].index];
        char num[64];
        if (k || d->meta.n) put(&h, ",", 1);
        put_json_str(&h, order[k].name);
        put_str(&h, ":{\"dtype\":\"");
        put_str(&h, st_write_name[t->dtype]);
        put_str(&h, "\",\"shape\":[");
        for (int i = 0; i < t->ndim; i++) {
            snprintf(num, sizeof num, "%s%lld", i ? "," : "", (long long)t->shape[i]);
            put_str(&h, num);
        }
        uint64_t nbytes = (uint64_t)cg__numel(t->ndim, t->shape) * cg__esize(t->dtype);
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                 (unsigned long long)(offset + nbytes));
        put_str(&h, num);
        offset += nbytes;
    }
    put(&h, "}", 1);
    while (h.n % 8) put(&h, " ", 1);
    if (h.failed) {
        free(h.buf);
        free(order);
        return cg__oom(fn), -1;
    }
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
    put(s, len, 8);
    put(s, h.buf, h.n);
    free(h.buf);

    bool le = host_is_le();
    for (int k = 0; k < n && !s->failed; k++) {
        cg_tensor *t = d->tensors.vals[order[k].index];
        size_t count = (size_t)cg__numel(t->ndim, t->shape), esize = cg__esize(t->dtype);
        if (cg__is_contiguous(t) && le) {
            put(s, cg__ptr(t), count * esize);
            continue;
        }
        cg_scope_begin(); /* a contiguous little-endian copy */
        cg_tensor *c = cg__tensor_new(t->dtype, t->ndim, t->shape);
        if (c) {
            cg__copy_into(c, t);
            if (!le) swap_bytes(cg__ptr(c), count, esize);
            put(s, cg__ptr(c), count * esize);
        }
        cg_scope_end();
        if (!c) {
            free(order);
            return -1;
        }
    }
    free(order);
    return 0;
}

/* Written atomically (atomic_file.h): a failed save leaves the old file. */
int cg_save_safetensors(const char *path, const cg_state_dict *d) {
    static const char *fn = "cg_save_safetensors";
    if (!path || !d) return -1;
    cg__atomic_file a;
    if (cg__atomic_open(&a, fn, path) < 0) return -1;
    sink s = {.f = a.f};
    if (write_dict(fn, d, &s) < 0) {
        cg__atomic_abort(&a);
        return -1;
    }
    return cg__atomic_commit(&a, fn, s.failed ? s.err : 0);
}

void *cg_save_safetensors_buffer(const cg_state_dict *d, size_t *size) {
    static const char *fn = "cg_save_safetensors_buffer";
    if (!d || !size) return NULL;
    sink s = {0};
    if (write_dict(fn, d, &s) < 0 || s.failed) {
        free(s.buf);
        if (s.failed) cg__oom(fn);
        return NULL;
    }
    *size = s.n;
    return s.buf;
}

/* ----------------------------------------------------------- reading */

typedef struct st_entry { /* a tensor as the header describes it */
    st_dtype dtype;
    int ndim;
    int64_t shape[CG_MAX_DIMS];
    uint64_t begin, end; /* data_offsets */
} st_entry;

typedef struct loader {
    const char *fn;   /* the public function */
    const char *path; /* NULL when reading a buffer */
    /* the source: a buffer, or a file */
    const unsigned char *buf;
    FILE *f;
    uint64_t size;    /* of the whole file */
    uint64_t data_at; /* where the data starts: 8 + header size */
    /* the header being parsed */
    const unsigned char *h;
    size_t hn, pos;
    /* the result */
    cg_state_dict *d;
    st_entry *entries; /* (ecap) parallel to d->tensors */
    int ecap;
    bool seen_metadata;
} loader;

static int fail(loader *L, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int fail(loader *L, const char *fmt, ...) {
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (L->path)
        cg__error(L->fn, "safetensors file \"%s\": %s", L->path, msg);
    else
        cg__error(L->fn, "safetensors buffer: %s", msg);
    return -1;
}

static int json_fail(loader *L, const char *what) {
    return fail(L, "invalid JSON in the header at byte %zu: %s", L->pos, what);
}

/* Reads n bytes of the source at off into dst. */
static int read_at(loader *L, uint64_t off, void *dst, size_t n) {
    if (!n) return 0;
    if (L->buf) {
        memcpy(dst, L->buf + off, n);
        return 0;
    }
    if (fseeko(L->f, (off_t)off, SEEK_SET) != 0 || fread(dst, 1, n, L->f) != n)
        return fail(L, "read error: %s", ferror(L->f) ? strerror(errno) : "unexpected end of file");
    return 0;
}

/* ---- the header's JSON: a strict parser for the subset the format uses */

static void skip_ws(loader *L) {
    while (L->pos < L->hn && (L->h[L->pos] == ' ' || L->h[L->pos] == '\t' || L->h[L->pos] == '\n' ||
                              L->h[L->pos] == '\r'))
        L->pos++;
}

static int peek(loader *L) { /* the next non-blank byte, or -1 at the end */
    skip_ws(L);
    return L->pos < L->hn ? L->h[L->pos] : -1;
}

static int expect(loader *L, char c, const char *what) {
    if (peek(L) != c) return json_fail(L, what);
    L->pos++;
    return 0;
}

/* After an element of an array or object: 1 at the closing bracket, 0
 * after a comma, -1 (error set) otherwise. */
static int separator(loader *L, char close, const char *what) {
    int c = peek(L);
    L->pos++;
    if (c == close) return 1;
    if (c == ',') return 0;
    L->pos--;
    char msg[64];
    snprintf(msg, sizeof msg, "expected ',' or '%c' in %s", close, what);
    return json_fail(L, msg), -1;
}

static int hex4(loader *L, unsigned *out) {
    if (L->hn - L->pos < 4) return json_fail(L, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int c = L->h[L->pos + (size_t)i], d = c >= '0' && c <= '9'   ? c - '0'
                                              : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                                     : -1;
        if (d < 0) return json_fail(L, "invalid \\u escape");
        v = v << 4 | (unsigned)d;
    }
    L->pos += 4;
    *out = v;
    return 0;
}

/* The code point of a \u escape (L->pos after the 'u'), a surrogate pair
 * joined; 0 or -1 (error set). */
static int unicode_escape(loader *L, unsigned *cp) {
    unsigned lo;
    if (hex4(L, cp) < 0) return -1;
    if (*cp >= 0xdc00 && *cp <= 0xdfff) return json_fail(L, "lone low surrogate in a \\u escape");
    if (*cp >= 0xd800 && *cp <= 0xdbff) {
        if (L->hn - L->pos < 2 || L->h[L->pos] != '\\' || L->h[L->pos + 1] != 'u')
            return json_fail(L, "lone high surrogate in a \\u escape");
        L->pos += 2;
        if (hex4(L, &lo) < 0) return -1;
        if (lo < 0xdc00 || lo > 0xdfff) return json_fail(L, "lone high surrogate in a \\u escape");
        *cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (*cp == 0) return json_fail(L, "\\u0000 in a string is not supported");
    return 0;
}

/* An escape (L->pos after the backslash) decoded into out (room for 4
 * bytes); the byte count, or -1 (error set). */
static int escape(loader *L, char *out) {
    if (L->pos >= L->hn) return json_fail(L, "unterminated string");
    unsigned c = L->h[L->pos++], cp;
    const char *simple = strchr("\"\\/bfnrt", (int)c);
    if (c && simple) {
        out[0] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
        return 1;
    }
    if (c != 'u') {
        L->pos--;
        return json_fail(L, "invalid escape in a string");
    }
    if (unicode_escape(L, &cp) < 0) return -1;
    return (int)cg__utf8_put(cp, out);
}

/* A string (escapes decoded) as a new NUL-terminated buffer, or NULL. */
static char *parse_string(loader *L) {
    if (expect(L, '"', "expected a string") < 0) return NULL;
    size_t start = L->pos, cap = 16, n = 0;
    char *s = malloc(cap); /* (cap) the decoded string */
    if (!s) return cg__oom(L->fn);
    for (;;) {
        if (L->pos >= L->hn) {
            L->pos = start;
            json_fail(L, "unterminated string");
            goto fail;
        }
        if (n + 5 > cap) {
            char *b = realloc(s, cap *= 2);
            if (!b) {
                cg__oom(L->fn);
                goto fail;
            }
            s = b;
        }
        unsigned c = L->h[L->pos++];
        if (c == '"') break;
        if (c < 0x20) {
            L->pos--;
            json_fail(L, "control character in a string");
            goto fail;
        }
        if (c != '\\') {
            s[n++] = (char)c; /* UTF-8 bytes were validated with the whole header */
            continue;
        }
        int len = escape(L, s + n);
        if (len < 0) goto fail;
        n += (size_t)len;
    }
    s[n] = '\0';
    return s;
fail:
    free(s);
    return NULL;
}

/* A non-negative integer that fits int64. */
static int parse_uint(loader *L, uint64_t *out) {
    int c = peek(L);
    if (c == '-') return json_fail(L, "expected a non-negative integer");
    if (c < '0' || c > '9') return json_fail(L, "expected an integer");
    uint64_t v = 0;
    size_t start = L->pos;
    while (L->pos < L->hn && L->h[L->pos] >= '0' && L->h[L->pos] <= '9') {
        unsigned dgt = L->h[L->pos] - '0';
        if (v > (uint64_t)(INT64_MAX - dgt) / 10) {
            L->pos = start;
            return json_fail(L, "integer too large");
        }
        v = v * 10 + dgt;
        L->pos++;
    }
    if (L->pos - start > 1 && L->h[start] == '0') {
        L->pos = start;
        return json_fail(L, "leading zero in a number");
    }
    if (L->pos < L->hn && (L->h[L->pos] == '.' || L->h[L->pos] == 'e' || L->h[L->pos] == 'E'))
        return json_fail(L, "expected an integer");
    *out = v;
    return 0;
}

/* [int, ...]: stores up to max values, counts all of them in *n. */
static int parse_uint_array(loader *L, uint64_t *vals, int max, int *n) {
    *n = 0;
    if (expect(L, '[', "expected an array") < 0) return -1;
    if (peek(L) == ']') {
        L->pos++;
        return 0;
    }
    for (;;) {
        uint64_t v = 0;
        if (parse_uint(L, &v) < 0) return -1;
        if (*n < max) vals[*n] = v;
        if (*n < INT32_MAX) (*n)++;
        int sep = separator(L, ']', "an array");
        if (sep != 0) return sep > 0 ? 0 : -1;
    }
}

static int parse_metadata(loader *L) {
    if (L->seen_metadata) return fail(L, "the header has __metadata__ twice");
    L->seen_metadata = true;
    if (peek(L) != '{') return fail(L, "__metadata__ must be an object of strings");
    L->pos++;
    if (peek(L) == '}') {
        L->pos++;
        return 0;
    }
    for (;;) {
        char *key = parse_string(L);
        if (!key) return -1;
        if (expect(L, ':', "expected ':' after an object key") < 0 ||
            (peek(L) != '"' && fail(L, "__metadata__ value of \"%s\" is not a string", key))) {
            free(key);
            return -1;
        }
        char *val = parse_string(L);
        if (!val) {
            free(key);
            return -1;
        }
        if (cg__table_find(&L->d->meta, key) >= 0) {
            fail(L, "the __metadata__ key \"%s\" appears twice", key);
            free(key);
            free(val);
            return -1;
        }
        if (cg__table_add(&L->d->meta, key, val) < 0) {
            free(val);
            return cg__oom(L->fn), -1;
        }
        int sep = separator(L, '}', "an object");
        if (sep != 0) return sep > 0 ? 0 : -1;
    }
}

static int find_dtype(loader *L, const char *name, const char *dtype, st_dtype *out) {
    for (int i = 0; i < ST_NUM_DTYPES; i++)
        if (!strcmp(dtype, st_dtypes[i].name)) {
            *out = (st_dtype)i;
            return 0;
        }
    for (size_t i = 0; i < sizeof st_unsupported / sizeof *st_unsupported; i++)
        if (!strcmp(dtype, st_unsupported[i]))
            return fail(L,
                        "tensor \"%s\": dtype %s is not supported (cgrad reads BOOL, U8, I8, I16, "
                        "U16, I32, U32, I64, F16, BF16, F32 and F64)",
                        name, dtype);
    return fail(L, "tensor \"%s\": unknown dtype \"%s\"", name, dtype);
}

/* {"dtype": ..., "shape": [...], "data_offsets": [begin, end]} of tensor name. */
static int parse_entry(loader *L, const char *name, st_entry *e) {
    if (peek(L) != '{')
        return fail(L, "tensor \"%s\": expected an object with dtype, shape and data_offsets",
                    name);
    L->pos++;
    bool seen[3] = {false, false, false};
    static const char *const fields[3] = {"dtype", "shape", "data_offsets"};
    if (peek(L) != '}')
        for (;;) {
            char *key = parse_string(L);
            if (!key) return -1;
            int k = 0;
            while (k < 3 && strcmp(key, fields[k])) k++;
            if (k == 3 || seen[k]) {
                fail(L,
                     k == 3 ? "tensor \"%s\": unknown field \"%s\""
                            : "tensor \"%s\": field \"%s\" appears twice",
                     name, key);
                free(key);
                return -1;
            }
            free(key);
            seen[k] = true;
            if (expect(L, ':', "expected ':' after an object key") < 0) return -1;
            if (k == 0) {
                if (peek(L) != '"') return fail(L, "tensor \"%s\": dtype must be a string", name);
                char *dt = parse_string(L);
                if (!dt) return -1;
                int rc = find_dtype(L, name, dt, &e->dtype);
                free(dt);
                if (rc < 0) return -1;
            } else if (k == 1) {
                uint64_t v[CG_MAX_DIMS];
                if (peek(L) != '[')
                    return fail(L, "tensor \"%s\": shape must be an array of integers", name);
                if (parse_uint_array(L, v, CG_MAX_DIMS, &e->ndim) < 0) return -1;
                if (e->ndim > CG_MAX_DIMS)
                    return fail(L,
                                "tensor \"%s\": shape has %d dimensions; cgrad supports at most %d",
                                name, e->ndim, CG_MAX_DIMS);
                for (int i = 0; i < e->ndim; i++) e->shape[i] = (int64_t)v[i];
            } else {
                uint64_t v[2];
                int n;
                if (peek(L) != '[')
                    return fail(L, "tensor \"%s\": data_offsets must be [begin, end]", name);
                if (parse_uint_array(L, v, 2, &n) < 0) return -1;
                if (n != 2)
                    return fail(L, "tensor \"%s\": data_offsets must be [begin, end]", name);
                e->begin = v[0];
                e->end = v[1];
            }
            int sep = separator(L, '}', "an object");
            if (sep < 0) return -1;
            if (sep > 0) break;
        }
    else
        L->pos++;
    for (int k = 0; k < 3; k++)
        if (!seen[k]) return fail(L, "tensor \"%s\": missing \"%s\"", name, fields[k]);
    return 0;
}

static void shape_text(char *buf, size_t n, const st_entry *e) {
    cg__shape_str(buf, n, e->ndim, e->shape);
}

/* Sizes and offsets of one tensor, against its dtype and the data. */
static int check_entry(loader *L, const char *name, const st_entry *e) {
    char s[256];
    uint64_t total = 1, nonzero = 1; /* numel, and the product of the non-zero sizes */
    for (int i = 0; i < e->ndim; i++) {
        uint64_t v = (uint64_t)e->shape[i];
        if (v && nonzero > ST_SHAPE_LIMIT / v) {
            shape_text(s, sizeof s, e);
            return fail(L, "tensor \"%s\": shape %s is too large", name, s);
        }
        nonzero *= v ? v : 1;
        total *= v;
    }
    uint64_t need = total * st_dtypes[e->dtype].size, data = L->size - L->data_at;
    if (e->end < e->begin)
        return fail(L, "tensor \"%s\": data_offsets [%llu, %llu] end before they begin", name,
                    (unsigned long long)e->begin, (unsigned long long)e->end);
    if (e->end - e->begin != need) {
        shape_text(s, sizeof s, e);
        return fail(L,
                    "tensor \"%s\": data_offsets [%llu, %llu] hold %llu bytes, but %s of shape %s "
                    "needs %llu",
                    name, (unsigned long long)e->begin, (unsigned long long)e->end,
                    (unsigned long long)(e->end - e->begin), st_dtypes[e->dtype].name, s,
                    (unsigned long long)need);
    }
    if (e->end > data)
        return fail(L,
                    "tensor \"%s\": data_offsets [%llu, %llu] go past the end of the data "
                    "(%llu bytes)",
                    name, (unsigned long long)e->begin, (unsigned long long)e->end,
                    (unsigned long long)data);
    return 0;
}

static int parse_header(loader *L) {
    if (L->hn == 0 || L->h[0] != '{') return fail(L, "the header does not start with '{'");
    L->pos = 1;
    if (peek(L) == '}') {
        L->pos++;
    } else {
        for (;;) {
            char *name = parse_string(L);
            if (!name) return -1;
            if (expect(L, ':', "expected ':' after an object key") < 0) {
                free(name);
                return -1;
            }
            if (!strcmp(name, "__metadata__")) {
                free(name);
                if (parse_metadata(L) < 0) return -1;
            } else {
                if (cg__table_find(&L->d->tensors, name) >= 0) {
                    fail(L, "the tensor name \"%s\" appears twice", name);
                    free(name);
                    return -1;
                }
                if (L->d->tensors.n == L->ecap) {
                    int cap = L->ecap ? L->ecap * 2 : 8;
                    st_entry *e = cap < INT32_MAX / 4 ? realloc(L->entries, sizeof *e * (size_t)cap)
                                                      : NULL;
                    if (!e) {
                        free(name);
                        return cg__oom(L->fn), -1;
                    }
                    L->entries = e;
                    L->ecap = cap;
                }
                st_entry *e = &L->entries[L->d->tensors.n];
                memset(e, 0, sizeof *e);
                if (parse_entry(L, name, e) < 0 || check_entry(L, name, e) < 0) {
                    free(name);
                    return -1;
                }
                if (cg__table_add(&L->d->tensors, name, NULL) < 0) return cg__oom(L->fn), -1;
            }
            int sep = separator(L, '}', "an object");
            if (sep < 0) return -1;
            if (sep > 0) break;
        }
    }
    if (peek(L) != -1) return json_fail(L, "trailing characters after the header's object");
    return 0;
}

typedef struct span { /* a tensor's bytes in the data */
    uint64_t begin, end;
    int index;
} span;

static int by_offset(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->index - y->index;
}

/* The tensors must tile the data: no gap, no overlap, nothing after. */
static int check_tiling(loader *L) {
    int n = L->d->tensors.n;
    span *order = malloc(sizeof *order * (size_t)(n ? n : 1)); /* (n) by offset */
    if (!order) return cg__oom(L->fn), -1;
    for (int i = 0; i < n; i++) order[i] = (span){L->entries[i].begin, L->entries[i].end, i};
    qsort(order, (size_t)n, sizeof *order, by_offset);
    uint64_t at = 0, data = L->size - L->data_at;
    int prev = -1, rc = 0;
    for (int k = 0; k < n && !rc; k++) {
        const span *e = &order[k];
        if (e->begin > at)
            rc = fail(L, "bytes [%llu, %llu) of the data belong to no tensor",
                      (unsigned long long)at, (unsigned long long)e->begin);
        else if (e->begin < at)
            rc = fail(L, "tensors \"%s\" and \"%s\" overlap in the data", L->d->tensors.keys[prev],
                      L->d->tensors.keys[e->index]);
        if (e->end > e->begin) prev = e->index;
        at = e->end;
    }
    if (!rc && at < data)
        rc = fail(L,
                  "%llu byte%s after the last tensor's data (the file is longer than its "
                  "header says)",
                  (unsigned long long)(data - at), data - at == 1 ? "" : "s");
    free(order);
    return rc;
}

/* Makes tensor i from its bytes; the dict takes the only reference. */
static int load_tensor(loader *L, int i) {
    const st_entry *e = &L->entries[i];
    st_dtype d = e->dtype;
    cg_dtype to = st_dtypes[d].to;
    if ((uint64_t)cg__numel(e->ndim, e->shape) > SIZE_MAX / 8)
        return cg__oom(L->fn), -1; /* 32-bit */
    size_t n = (size_t)cg__numel(e->ndim, e->shape), nbytes = n * st_dtypes[d].size;
    bool same = st_dtypes[d].size == cg__esize(to) && d != ST_BOOL; /* no conversion */
    cg_scope_begin();
    cg_tensor *t = cg__tensor_new(to, e->ndim, e->shape);
    int rc = -1;
    if (t) {
        uint64_t off = L->data_at + e->begin;
        if (same) {
            rc = read_at(L, off, cg__ptr(t), nbytes);
            if (!rc && !host_is_le()) swap_bytes(cg__ptr(t), n, st_dtypes[d].size);
        } else if (L->buf) {
            convert_in(d, L->buf + off, cg__ptr(t), n);
            rc = 0;
        } else {
            unsigned char *raw = malloc(nbytes ? nbytes : 1); /* (nbytes) the file's bytes */
            if (!raw)
                cg__oom(L->fn);
            else if (!(rc = read_at(L, off, raw, nbytes)))
                convert_in(d, raw, cg__ptr(t), n);
            free(raw);
        }
        if (!rc) L->d->tensors.vals[i] = cg_retain(t);
    }
    cg_scope_end();
    return rc;
}

/* Loads from L's source (buf or f, size set). */
static cg_state_dict *load(loader *L) {
    if (L->size < 8)
        return fail(L, "%llu bytes is too short: the format starts with an 8-byte header size",
                    (unsigned long long)L->size),
               NULL;
    unsigned char len[8];
    if (read_at(L, 0, len, 8) < 0) return NULL;
    uint64_t hn = read_le(len, 8);
    if (hn > ST_MAX_HEADER)
        return fail(L, "header size %llu is too large (the limit is %llu bytes)",
                    (unsigned long long)hn, ST_MAX_HEADER),
               NULL;
    if (hn > L->size - 8)
        return fail(L, "header size %llu is larger than the rest of the file (%llu bytes)",
                    (unsigned long long)hn, (unsigned long long)(L->size - 8)),
               NULL;
    L->data_at = 8 + hn;
    L->hn = (size_t)hn;
    unsigned char *hbuf = NULL; /* (hn) the header, when read from a file */
    if (L->buf) {
        L->h = L->buf + 8;
    } else {
        hbuf = malloc(L->hn ? L->hn : 1);
        if (!hbuf) return cg__oom(L->fn);
        if (read_at(L, 8, hbuf, L->hn) < 0) {
            free(hbuf);
            return NULL;
        }
        L->h = hbuf;
    }
    size_t bad = cg__utf8_valid_prefix(L->h, L->hn);
    int rc = bad < L->hn ? fail(L, "the header is not valid UTF-8 (byte %zu)", bad) : 0;
    if (!rc) rc = (L->d = cg_state_dict_new()) ? 0 : -1;
    if (!rc) rc = parse_header(L);
    if (!rc) rc = check_tiling(L);
    for (int i = 0; !rc && i < L->d->tensors.n; i++) rc = load_tensor(L, i);
    free(hbuf);
    free(L->entries);
    if (rc) {
        cg_state_dict_free(L->d);
        return NULL;
    }
    return L->d;
}

cg_state_dict *cg_load_safetensors_buffer(const void *data, size_t size) {
    if (!data && size) return NULL;
    static const unsigned char empty[1];
    loader L = {.fn = "cg_load_safetensors_buffer", .buf = data ? data : empty, .size = size};
    return load(&L);
}

cg_state_dict *cg_load_safetensors(const char *path) {
    static const char *fn = "cg_load_safetensors";
    if (!path) return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        cg__error(fn, "cannot open \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        cg__error(fn, "cannot read \"%s\": not a regular file", path);
        fclose(f);
        return NULL;
    }
    loader L = {.fn = fn, .path = path, .f = f, .size = (uint64_t)st.st_size};
    cg_state_dict *d = load(&L);
    fclose(f);
    return d;
}
