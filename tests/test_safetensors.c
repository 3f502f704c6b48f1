/* Weights on disk: the state dict, the safetensors writer (byte for byte the
 * reference writer's layout), the reader's checks on malformed input (each
 * one a clear error, never a crash), and a round trip through real torch by
 * tests/oracle/safetensors_oracle.py, both ways. */
#define _POSIX_C_SOURCE 200809L /* mkstemp, close */
#include "test.h"

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

static unsigned char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = malloc(1 << 20);
    *n = b ? fread(b, 1, 1 << 20, f) : 0;
    fclose(f);
    return b;
}

/* A file image: the 8-byte size of header (or size_override when not
 * UINT64_MAX), the header, then data_len bytes 0, 1, 2, ... */
static unsigned char *image(const char *header, size_t data_len, uint64_t size_override,
                            size_t *n) {
    size_t h = strlen(header);
    *n = 8 + h + data_len;
    unsigned char *b = malloc(*n + 1);
    uint64_t sz = size_override != UINT64_MAX ? size_override : h;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(sz >> (8 * i));
    memcpy(b + 8, header, h);
    for (size_t i = 0; i < data_len; i++) b[8 + h + i] = (unsigned char)i;
    return b;
}

/* Loading header + data_len bytes must fail with "safetensors buffer: " msg. */
static int expect_bad(const char *header, size_t data_len, const char *msg) {
    size_t n;
    unsigned char *b = image(header, data_len, UINT64_MAX, &n);
    cg_clear_error();
    cg_state_dict *d = cg_load_safetensors_buffer(b, n);
    free(b);
    char want[1024];
    snprintf(want, sizeof want, "safetensors buffer: %s", msg);
    const char *got = cg_last_error();
    if (d || !got || strcmp(got, want) != 0) {
        fprintf(stderr, "  header %s\n    got:      %s\n    expected: %s\n", header,
                d     ? "(loaded)"
                : got ? got
                      : "(no error)",
                want);
        cg_state_dict_free(d);
        return -1;
    }
    return 0;
}

/* Bytes equal: same dtype, shape and elements (NaNs compared by bits). */
static bool same_tensor(cg_tensor *a, cg_tensor *b) {
    if (!a || !b || cg_dtype_of(a) != cg_dtype_of(b) || cg_ndim(a) != cg_ndim(b)) return false;
    for (int i = 0; i < cg_ndim(a); i++)
        if (cg_size(a, i) != cg_size(b, i)) return false;
    bool same = false;
    CG_SCOPE {
        cg_tensor *ca = cg_contiguous(a), *cb = cg_contiguous(b);
        same = !memcmp(cg_data_ptr(ca), cg_data_ptr(cb),
                       (size_t)cg_numel(a) * cg_dtype_size(cg_dtype_of(a)));
    }
    return same;
}

/* ------------------------------------------------------- the state dict */

TEST(test_state_dict_api) {
    cg_state_dict *d = cg_state_dict_new();
    ASSERT_NOT_NULL(d);
    cg_tensor *w = cg_ones(CG_SHAPE(2, 3), 0), *b = cg_zeros(CG_SHAPE(3), CG_FLOAT64);
    ASSERT_EQ(cg_state_dict_add(d, "w", w), 0);
    ASSERT_EQ(cg_state_dict_add(d, "b", b), 0);
    ASSERT_EQ(cg_state_dict_count(d), 2);
    ASSERT_STR_EQ(cg_state_dict_name(d, 0), "w");
    ASSERT_STR_EQ(cg_state_dict_name(d, 1), "b");
    ASSERT_PTR_EQ(cg_state_dict_tensor(d, 1), b);
    ASSERT_PTR_EQ(cg_state_dict_get(d, "w"), w);
    ASSERT_ERROR(cg_state_dict_get(d, "nope"), "no tensor named \"nope\" in the dict");
    ASSERT_ERROR(cg_state_dict_add(d, "w", b), "the dict already has a tensor named \"w\"");
    ASSERT_ERROR(cg_state_dict_add(d, "__metadata__", b),
                 "the name \"__metadata__\" is reserved for the file's metadata");
    ASSERT_ERROR(cg_state_dict_add(d, "bad\xff", b), "tensor name \"bad\xff\" is not valid UTF-8");
    ASSERT_ERROR(cg_state_dict_name(d, 2), "index 2 is out of range for a dict of 2 tensors");
    ASSERT_ERROR(cg_state_dict_tensor(d, -1), "index -1 is out of range for a dict of 2 tensors");
    /* NULL arguments: -1/NULL without a message */
    cg_clear_error();
    ASSERT_EQ(cg_state_dict_add(d, "x", NULL), -1);
    ASSERT_EQ(cg_state_dict_add(NULL, "x", w), -1);
    ASSERT_NULL(cg_state_dict_get(NULL, "w"));
    ASSERT_NULL(cg_load_safetensors(NULL));
    ASSERT_EQ(cg_save_safetensors(NULL, d), -1);
    ASSERT_NULL(cg_last_error());
    ASSERT_EQ(cg_state_dict_count(NULL), 0);
    cg_state_dict_free(NULL);

    ASSERT_EQ(cg_state_dict_metadata_count(d), 0);
    ASSERT_EQ(cg_state_dict_set_metadata(d, "format", "pt"), 0);
    ASSERT_EQ(cg_state_dict_set_metadata(d, "step", "10"), 0);
    ASSERT_EQ(cg_state_dict_set_metadata(d, "format", "cgrad"), 0); /* replaces */
    ASSERT_EQ(cg_state_dict_metadata_count(d), 2);
    ASSERT_STR_EQ(cg_state_dict_metadata_key(d, 0), "format");
    ASSERT_STR_EQ(cg_state_dict_metadata(d, "format"), "cgrad");
    ASSERT_STR_EQ(cg_state_dict_metadata(d, "step"), "10");
    ASSERT_NULL(cg_state_dict_metadata(d, "absent"));
    ASSERT_ERROR(cg_state_dict_metadata_key(d, 5),
                 "index 5 is out of range for 2 metadata entries");

    /* the dict holds its own reference: the tensors outlive their scope */
    cg_state_dict *d2 = cg_state_dict_new();
    long live = cg_live_tensors();
    CG_SCOPE { cg_state_dict_add(d2, "t", cg_full(CG_SHAPE(2), 7, 0)); }
    ASSERT_EQ(cg_live_tensors(), live + 1);
    ASSERT_NEAR(cg_item(cg_sum(cg_state_dict_get(d2, "t"))), 14, 0);
    cg_state_dict_free(d2);
    ASSERT_EQ(cg_live_tensors(), live + 1); /* the cg_sum result, in this test's scope */
    cg_state_dict_free(d);
}

/* Many names: the hash index finds each one. */
TEST(test_state_dict_many) {
    cg_state_dict *d = cg_state_dict_new();
    cg_tensor *t = cg_zeros(CG_SHAPE(1), 0);
    char name[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "layer.%d.weight", i);
        ASSERT_EQ(cg_state_dict_add(d, name, t), 0);
    }
    ASSERT_EQ(cg_state_dict_count(d), 2000);
    for (int i = 0; i < 2000; i += 7) {
        snprintf(name, sizeof name, "layer.%d.weight", i);
        ASSERT_PTR_EQ(cg_state_dict_get(d, name), t);
        ASSERT_STR_EQ(cg_state_dict_name(d, i), name);
    }
    size_t n;
    unsigned char *buf = cg_save_safetensors_buffer(d, &n);
    ASSERT_NOT_NULL(buf);
    cg_state_dict *back = cg_load_safetensors_buffer(buf, n);
    free(buf);
    ASSERT_NOT_NULL(back);
    ASSERT_EQ(cg_state_dict_count(back), 2000);
    ASSERT_NOT_NULL(cg_state_dict_get(back, "layer.1999.weight"));
    cg_state_dict_free(back);
    cg_state_dict_free(d);
}

/* ------------------------------------------------------------- writing */

/* The reference implementation's own test vectors (safetensors' tensor.rs:
 * test_serialization, test_empty, test_serialization_forced_alignement). */
TEST(test_writer_matches_reference_bytes) {
    static const unsigned char attn0[] = {64,  0,   0,   0,  0,   0,  0,   0,   123, 34,  97,  116,
                                          116, 110, 46,  48, 34,  58, 123, 34,  100, 116, 121, 112,
                                          101, 34,  58,  34, 70,  51, 50,  34,  44,  34,  115, 104,
                                          97,  112, 101, 34, 58,  91, 49,  44,  50,  44,  51,  93,
                                          44,  34,  100, 97, 116, 97, 95,  111, 102, 102, 115, 101,
                                          116, 115, 34,  58, 91,  48, 44,  50,  52,  93,  125, 125,
                                          0,   0,   0,   0,  0,   0,  128, 63,  0,   0,   0,   64,
                                          0,   0,   64,  64, 0,   0,  128, 64,  0,   0,   160, 64};
    static const unsigned char empty[] = {8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32};
    static const unsigned char framework[] = {40,  0,   0,   0,   0,   0,  0,   0,   123, 34,
                                              95,  95,  109, 101, 116, 97, 100, 97,  116, 97,
                                              95,  95,  34,  58,  123, 34, 102, 114, 97,  109,
                                              101, 119, 111, 114, 107, 34, 58,  34,  112, 116,
                                              34,  125, 125, 32,  32,  32, 32,  32};
    static const unsigned char padded_head[] = {72,  0,  0,  0,   0,   0,   0, 0,
                                                123, 34, 97, 116, 116, 110, 48};
    float v[6] = {0, 1, 2, 3, 4, 5};
    size_t n;
    unsigned char *b;

    cg_state_dict *d = cg_state_dict_new();
    cg_state_dict_add(d, "attn.0", cg_from_data(v, CG_SHAPE(1, 2, 3), 0));
    b = cg_save_safetensors_buffer(d, &n);
    ASSERT_NOT_NULL(b);
    ASSERT_EQ(n, sizeof attn0);
    ASSERT(!memcmp(b, attn0, n));
    free(b);
    cg_state_dict_free(d);

    d = cg_state_dict_new();
    b = cg_save_safetensors_buffer(d, &n);
    ASSERT_EQ(n, sizeof empty);
    ASSERT(!memcmp(b, empty, n));
    free(b);
    cg_state_dict_set_metadata(d, "framework", "pt");
    b = cg_save_safetensors_buffer(d, &n);
    ASSERT_EQ(n, sizeof framework);
    ASSERT(!memcmp(b, framework, n));
    free(b);
    cg_state_dict_free(d);

    d = cg_state_dict_new();
    cg_state_dict_add(d, "attn0", cg_from_data(v, CG_SHAPE(1, 1, 2, 3), 0));
    b = cg_save_safetensors_buffer(d, &n);
    ASSERT_EQ(n, 8 + 72 + 24);
    ASSERT(!memcmp(b, padded_head, sizeof padded_head));
    ASSERT(!memcmp(b + 8 + 62, "]}}       ", 10)); /* 7 spaces of padding */
    free(b);
    cg_state_dict_free(d);
}

/* Order in the file: descending dtype alignment, then name; JSON escapes as
 * serde_json and Python's json module write them. */
TEST(test_writer_order_and_escapes) {
    cg_state_dict *d = cg_state_dict_new();
    cg_state_dict_add(d, "z", cg_ones(CG_SHAPE(1), 0));
    cg_state_dict_add(d, "flag", cg_ones(CG_SHAPE(1), CG_BOOL));
    cg_state_dict_add(d, "a", cg_ones(CG_SHAPE(1), 0));
    cg_state_dict_add(d, "idx", cg_ones(CG_SHAPE(1), CG_INT64));
    cg_state_dict_add(d, "d", cg_ones(CG_SHAPE(1), CG_FLOAT64));
    cg_state_dict_add(d, "q\"b\\t\t\x01/é", cg_ones(CG_SHAPE(0), 0));
    size_t n;
    unsigned char *b = cg_save_safetensors_buffer(d, &n);
    ASSERT_NOT_NULL(b);
    const char *want =
        "{\"idx\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
        "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]},"
        "\"q\\\"b\\\\t\\t\\u0001/é\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[20,20]},"
        "\"z\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[20,24]},"
        "\"flag\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[24,25]}}";
    size_t hn = (size_t)b[0] | (size_t)b[1] << 8;
    ASSERT_EQ(hn % 8, 0);
    ASSERT_EQ(n, 8 + hn + 25);
    ASSERT(hn >= strlen(want) && !memcmp(b + 8, want, strlen(want)));
    for (size_t i = strlen(want); i < hn; i++) ASSERT_EQ(b[8 + i], ' ');
    /* loads back in the header's order, with the escaped name */
    cg_state_dict *back = cg_load_safetensors_buffer(b, n);
    free(b);
    ASSERT_NOT_NULL(back);
    ASSERT_STR_EQ(cg_state_dict_name(back, 0), "idx");
    ASSERT_STR_EQ(cg_state_dict_name(back, 3), "q\"b\\t\t\x01/é");
    ASSERT_STR_EQ(cg_state_dict_name(back, 5), "flag");
    cg_state_dict_free(back);
    cg_state_dict_free(d);
}

/* Save and load: every dtype, 0-d, empty, non-contiguous, extreme values. */
TEST(test_round_trip_in_c) {
    cg_manual_seed(7);
    int64_t big[4] = {INT64_MIN, -1, 0, INT64_MAX};
    double specials[5] = {NAN, INFINITY, -INFINITY, -0.0, 5e-324};
    bool flags[3] = {true, false, true};
    cg_tensor *base = cg_randn(CG_SHAPE(3, 4), 0);
    struct {
        const char *name;
        cg_tensor *t;
    } cases[] = {
        {"randn", cg_randn(CG_SHAPE(2, 3, 4), 0)},
        {"f64", cg_rand(CG_SHAPE(5), CG_FLOAT64)},
        {"i64", cg_from_data(big, CG_SHAPE(2, 2), CG_INT64)},
        {"specials", cg_from_data(specials, CG_SHAPE(5), CG_FLOAT64)},
        {"flags", cg_from_data(flags, CG_SHAPE(3), CG_BOOL)},
        {"scalar", cg_scalar(3.5, 0)},
        {"empty", cg_zeros(CG_SHAPE(0, 3), 0)},
        {"transposed", cg_transpose(base, 0, 1)},
        {"expanded", cg_expand(cg_randn(CG_SHAPE(3, 1), CG_FLOAT64), CG_SHAPE(3, 4))},
        {"permuted", cg_permute(cg_to(cg_mul_scalar(cg_randn(CG_SHAPE(2, 3, 4), 0), 100), CG_INT64),
                                CG_DIMS(2, 0, 1))},
        {"grad", cg_randn(CG_SHAPE(2), CG_REQUIRES_GRAD)},
    };
    int nc = (int)(sizeof cases / sizeof *cases);
    ASSERT(!cg_is_contiguous(cases[7].t) && !cg_is_contiguous(cases[8].t));
    cg_state_dict *d = cg_state_dict_new();
    for (int i = 0; i < nc; i++) ASSERT_EQ(cg_state_dict_add(d, cases[i].name, cases[i].t), 0);
    cg_state_dict_set_metadata(d, "note", "多语言 \"quoted\"\n\ttab");

    char path[512];
    ASSERT_EQ(cg_test_temp_path(path, sizeof path, "st_roundtrip"), 0);
    ASSERT_EQ(cg_save_safetensors(path, d), 0);
    cg_state_dict *back = cg_load_safetensors(path);
    ASSERT_NOT_NULL(back);
    size_t fn, bn;
    unsigned char *fb = read_file(path, &fn), *bb = cg_save_safetensors_buffer(d, &bn);
    remove(path);
    ASSERT(fb && bb && fn == bn && !memcmp(fb, bb, fn)); /* file and buffer: the same bytes */
    free(fb);
    free(bb);
    ASSERT_EQ(cg_state_dict_count(back), nc);
    for (int i = 0; i < nc; i++) {
        cg_tensor *t = cg_state_dict_get(back, cases[i].name);
        if (!same_tensor(t, cases[i].t))
            FAIL_("tensor %s differs after the round trip", cases[i].name);
        ASSERT(t && cg_is_contiguous(t) && !cg_requires_grad(t) && cg_is_leaf(t));
    }
    ASSERT_EQ(cg_ndim(cg_state_dict_get(back, "scalar")), 0);
    ASSERT_STR_EQ(cg_state_dict_metadata(back, "note"), "多语言 \"quoted\"\n\ttab");
    /* the loaded tensors are ordinary tensors: they can require grad */
    cg_tensor *g = cg_requires_grad_(cg_state_dict_get(back, "randn"), true);
    cg_backward(cg_sum(cg_mul(g, g)), NULL, false);
    ASSERT_NOT_NULL(cg_grad(g));
    cg_state_dict_free(back);
    cg_state_dict_free(d);
}

/* Valid files other writers may produce. */
TEST(test_reader_accepts_valid_variants) {
    size_t n;
    unsigned char *b;
    cg_state_dict *d;
    /* no tensors; whitespace inside the JSON; offsets not in header order */
    b = image("{}", 0, UINT64_MAX, &n);
    d = cg_load_safetensors_buffer(b, n);
    free(b);
    ASSERT(d && cg_state_dict_count(d) == 0);
    cg_state_dict_free(d);
    b = image("{ \n\"b\" : {\"shape\": [ 2 ], \"dtype\" : \"I16\",\n \"data_offsets\":[4, 8]},"
              "\"a\":{\"dtype\":\"U8\",\"shape\":[2,2],\"data_offsets\":[0,4]},"
              "\"e1\":{\"dtype\":\"F64\",\"shape\":[0],\"data_offsets\":[8,8]},"
              "\"e2\":{\"dtype\":\"F64\",\"shape\":[4,0],\"data_offsets\":[8,8]},"
              "\"__metadata__\":{}} \t\r\n",
              8, UINT64_MAX, &n);
    d = cg_load_safetensors_buffer(b, n);
    free(b);
    ASSERT_NOT_NULL(d);
    ASSERT_EQ(cg_state_dict_count(d), 4);
    ASSERT_STR_EQ(cg_state_dict_name(d, 0), "b");
    cg_tensor *t = cg_state_dict_get(d, "b"); /* bytes 4 5 6 7 as little-endian int16 */
    ASSERT_EQ(cg_dtype_of(t), CG_INT64);
    ASSERT_EQ(cg_get(t, (int64_t[]){0}), 0x0504);
    ASSERT_EQ(cg_get(t, (int64_t[]){1}), 0x0706);
    t = cg_state_dict_get(d, "a");
    ASSERT_EQ(cg_size(t, 1), 2);
    ASSERT_EQ(cg_get(t, (int64_t[]){1, 1}), 3);
    ASSERT_EQ(cg_numel(cg_state_dict_get(d, "e2")), 0);
    ASSERT_EQ(cg_state_dict_metadata_count(d), 0);
    cg_state_dict_free(d);

    /* conversions: I8, U16, I32, U32, F16 (with a subnormal), BF16, BOOL (nonzero is true) */
    static const unsigned char data[] = {
        0xff, 0x80,                                     /* I8: -1 -128 */
        0xff, 0xff,                                     /* U16: 65535 */
        0xfe, 0xff, 0xff, 0xff,                         /* I32: -2 */
        0xff, 0xff, 0xff, 0xff,                         /* U32: 4294967295 */
        0x00, 0x3c, 0x01, 0x80, 0x00, 0x7c, 0xff, 0x7b, /* F16: 1, -2^-24, inf, 65504 */
        0xc0, 0x3f, 0x80, 0xff,                         /* BF16: 1.5, -inf */
        0x00, 0x07,                                     /* BOOL: false, true */
    };
    const char *h = "{\"i8\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                    "\"u16\":{\"dtype\":\"U16\",\"shape\":[],\"data_offsets\":[2,4]},"
                    "\"i32\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                    "\"u32\":{\"dtype\":\"U32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                    "\"f16\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[12,20]},"
                    "\"bf16\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[20,24]},"
                    "\"bool\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[24,26]}}";
    b = image(h, sizeof data, UINT64_MAX, &n);
    memcpy(b + 8 + strlen(h), data, sizeof data);
    d = cg_load_safetensors_buffer(b, n);
    free(b);
    ASSERT_NOT_NULL(d);
    ASSERT_EQ(cg_get(cg_state_dict_get(d, "i8"), (int64_t[]){0}), -1);
    ASSERT_EQ(cg_get(cg_state_dict_get(d, "i8"), (int64_t[]){1}), -128);
    ASSERT_EQ(cg_item(cg_state_dict_get(d, "u16")), 65535);
    ASSERT_EQ(cg_item(cg_state_dict_get(d, "i32")), -2);
    ASSERT_EQ(cg_item(cg_state_dict_get(d, "u32")), 4294967295.0);
    t = cg_state_dict_get(d, "f16");
    ASSERT_EQ(cg_dtype_of(t), CG_FLOAT32);
    ASSERT_EQ(cg_get(t, (int64_t[]){0}), 1);
    ASSERT_EQ(cg_get(t, (int64_t[]){1}), -ldexp(1, -24));
    ASSERT(isinf(cg_get(t, (int64_t[]){2})));
    ASSERT_EQ(cg_get(t, (int64_t[]){3}), 65504);
    t = cg_state_dict_get(d, "bf16");
    ASSERT_EQ(cg_get(t, (int64_t[]){0}), 1.5);
    ASSERT_EQ(cg_get(t, (int64_t[]){1}), -INFINITY);
    t = cg_state_dict_get(d, "bool");
    ASSERT_EQ(cg_dtype_of(t), CG_BOOL);
    ASSERT_EQ(cg_get(t, (int64_t[]){0}), 0);
    ASSERT_EQ(cg_get(t, (int64_t[]){1}), 1);
    cg_state_dict_free(d);
}

/* ----------------------------------------------------- malformed input */

TEST(test_reader_rejects_bad_sizes) {
    unsigned char tiny[3] = {1, 2, 3};
    ASSERT_ERROR(
        cg_load_safetensors_buffer(tiny, 3),
        "safetensors buffer: 3 bytes is too short: the format starts with an 8-byte header size");
    ASSERT_ERROR(
        cg_load_safetensors_buffer(tiny, 0),
        "safetensors buffer: 0 bytes is too short: the format starts with an 8-byte header size");
    size_t n;
    unsigned char *b = image("{}", 0, (uint64_t)1 << 63, &n);
    ASSERT_ERROR(cg_load_safetensors_buffer(b, n),
                 "safetensors buffer: header size 9223372036854775808 is too large (the limit is "
                 "100000000 bytes)");
    free(b);
    b = image("{}", 0, UINT64_MAX - 1, &n);
    ASSERT_ERROR(cg_load_safetensors_buffer(b, n),
                 "safetensors buffer: header size 18446744073709551614 is too large (the limit is "
                 "100000000 bytes)");
    free(b);
    b = image("{}      ", 4, 1000, &n);
    ASSERT_ERROR(
        cg_load_safetensors_buffer(b, n),
        "safetensors buffer: header size 1000 is larger than the rest of the file (12 bytes)");
    free(b);
    b = image("", 0, UINT64_MAX, &n);
    ASSERT_ERROR(cg_load_safetensors_buffer(b, n),
                 "safetensors buffer: the header does not start with '{'");
    free(b);
}

#define F32_2 "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\""

TEST(test_reader_rejects_bad_json) {
    ASSERT_EQ(expect_bad("[]", 0, "the header does not start with '{'"), 0);
    ASSERT_EQ(expect_bad(" {}", 0, "the header does not start with '{'"), 0);
    ASSERT_EQ(expect_bad("{\"a\":" F32_2 ":[0,8]}", 8,
                         "invalid JSON in the header at byte 53: expected ',' or '}' in an object"),
              0);
    ASSERT_EQ(expect_bad("{\"a\" " F32_2 ":[0,8]}}", 8,
                         "invalid JSON in the header at byte 5: expected ':' after an object key"),
              0);
    ASSERT_EQ(expect_bad("{a:1}", 0, "invalid JSON in the header at byte 1: expected a string"), 0);
    ASSERT_EQ(expect_bad("{\"a\":" F32_2 ":[0,8]},}", 8,
                         "invalid JSON in the header at byte 54: expected a string"),
              0);
    ASSERT_EQ(expect_bad("{\"a\":" F32_2 ":[0,8,]}}", 8,
                         "invalid JSON in the header at byte 52: expected an integer"),
              0);
    ASSERT_EQ(
        expect_bad(
            "{} x", 0,
            "invalid JSON in the header at byte 3: trailing characters after the header's object"),
        0);
    ASSERT_EQ(
        expect_bad(
            "{}{}", 0,
            "invalid JSON in the header at byte 2: trailing characters after the header's object"),
        0);
    ASSERT_EQ(expect_bad("{\"a", 0, "invalid JSON in the header at byte 2: unterminated string"),
              0);
    ASSERT_EQ(expect_bad("{\"a\\", 0, "invalid JSON in the header at byte 4: unterminated string"),
              0);
    ASSERT_EQ(expect_bad("{\"a\\x\":1}", 0,
                         "invalid JSON in the header at byte 4: invalid escape in a string"),
              0);
    ASSERT_EQ(expect_bad("{\"a\\u12\"}", 0,
                         "invalid JSON in the header at byte 5: invalid \\u escape"),
              0);
    ASSERT_EQ(expect_bad("{\"a\\u12", 0,
                         "invalid JSON in the header at byte 5: truncated \\u escape"),
              0);
    ASSERT_EQ(
        expect_bad("{\"\\ud800\":1}", 0,
                   "invalid JSON in the header at byte 8: lone high surrogate in a \\u escape"),
        0);
    ASSERT_EQ(
        expect_bad("{\"\\ud800\\u0041\":1}", 0,
                   "invalid JSON in the header at byte 14: lone high surrogate in a \\u escape"),
        0);
    ASSERT_EQ(
        expect_bad("{\"\\udc00\":1}", 0,
                   "invalid JSON in the header at byte 8: lone low surrogate in a \\u escape"),
        0);
    ASSERT_EQ(
        expect_bad("{\"\\u0000\":1}", 0,
                   "invalid JSON in the header at byte 8: \\u0000 in a string is not supported"),
        0);
    ASSERT_EQ(expect_bad("{\"a\tb\":1}", 0,
                         "invalid JSON in the header at byte 3: control character in a string"),
              0);
    ASSERT_EQ(expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
                         "invalid JSON in the header at byte 29: expected a non-negative integer"),
              0);
    ASSERT_EQ(expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8,
                         "invalid JSON in the header at byte 30: expected an integer"),
              0);
    ASSERT_EQ(expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2e0],\"data_offsets\":[0,8]}}", 8,
                         "invalid JSON in the header at byte 30: expected an integer"),
              0);
    ASSERT_EQ(expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", 8,
                         "invalid JSON in the header at byte 29: leading zero in a number"),
              0);
    ASSERT_EQ(
        expect_bad(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808],\"data_offsets\":[0,8]}}", 8,
            "invalid JSON in the header at byte 29: integer too large"),
        0);
    ASSERT_EQ(expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2 3],\"data_offsets\":[0,8]}}", 8,
                         "invalid JSON in the header at byte 31: expected ',' or ']' in an array"),
              0);
    ASSERT_EQ(expect_bad("{\"a\":" F32_2 ":[0,8]}", 8,
                         "invalid JSON in the header at byte 53: expected ',' or '}' in an object"),
              0);
    /* invalid UTF-8 anywhere in the header */
    ASSERT_EQ(expect_bad("{\"caf\xc3\":1}", 0, "the header is not valid UTF-8 (byte 5)"), 0);
    ASSERT_EQ(expect_bad("{\"\xed\xa0\x80\":1}", 0, "the header is not valid UTF-8 (byte 2)"), 0);
    ASSERT_EQ(expect_bad("{\"\xc0\xaf\":1}", 0, "the header is not valid UTF-8 (byte 2)"), 0);
}

TEST(test_reader_rejects_bad_entries) {
    ASSERT_EQ(expect_bad("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                         "tensor \"a\": unknown dtype \"F33\""),
              0);
    ASSERT_EQ(
        expect_bad("{\"a\":{\"dtype\":\"U64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
                   "tensor \"a\": dtype U64 is not supported (cgrad reads BOOL, U8, I8, I16, U16, "
                   "I32, U32, I64, F16, BF16, F32 and F64)"),
        0);
    ASSERT_EQ(expect_bad("{\"a\":{\"dtype\":3,\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
                         "tensor \"a\": dtype must be a string"),
              0);
    ASSERT_EQ(expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8,
                         "tensor \"a\": shape must be an array of integers"),
              0);
    ASSERT_EQ(expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", 9,
                         "tensor \"a\": data_offsets must be [begin, end]"),
              0);
    ASSERT_EQ(expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":{}}}", 8,
                         "tensor \"a\": data_offsets must be [begin, end]"),
              0);
    ASSERT_EQ(expect_bad("{\"a\":[1]}", 0,
                         "tensor \"a\": expected an object with dtype, shape and data_offsets"),
              0);
    ASSERT_EQ(expect_bad("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8,
                         "tensor \"a\": missing \"shape\""),
              0);
    ASSERT_EQ(expect_bad("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                         "tensor \"a\": missing \"dtype\""),
              0);
    ASSERT_EQ(expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8,
                         "tensor \"a\": missing \"data_offsets\""),
              0);
    ASSERT_EQ(expect_bad("{\"a\":{}}", 0, "tensor \"a\": missing \"dtype\""), 0);
    ASSERT_EQ(
        expect_bad(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"offsets\":[0,8]}}", 8,
            "tensor \"a\": unknown field \"offsets\""),
        0);
    ASSERT_EQ(
        expect_bad(
            "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
            "tensor \"a\": field \"dtype\" appears twice"),
        0);
    ASSERT_EQ(
        expect_bad(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
            "tensor \"a\": shape has 9 dimensions; cgrad supports at most 8"),
        0);
    ASSERT_EQ(
        expect_bad(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[0,4294967296,4294967296],\"data_offsets\":[0,0]}}",
            0, "tensor \"a\": shape [0, 4294967296, 4294967296] is too large"),
        0);
    ASSERT_EQ(
        expect_bad(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20,
            "tensor \"a\": data_offsets [0, 20] hold 20 bytes, but F32 of shape [2, 3] needs 24"),
        0);
    ASSERT_EQ(
        expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 16,
                   "tensor \"a\": data_offsets [0, 24] go past the end of the data (16 bytes)"),
        0);
    ASSERT_EQ(expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8,
                         "tensor \"a\": data_offsets [8, 0] end before they begin"),
              0);
    ASSERT_EQ(
        expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[9223372036854775800,"
                   "9223372036854775807]}}",
                   8,
                   "tensor \"a\": data_offsets [9223372036854775800, 9223372036854775807] hold 7 "
                   "bytes, but F32 of shape [2] needs 8"),
        0);
    ASSERT_EQ(
        expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[9223372036854775799,"
                   "9223372036854775807]}}",
                   8,
                   "tensor \"a\": data_offsets [9223372036854775799, 9223372036854775807] go past "
                   "the end of the data (8 bytes)"),
        0);
}

TEST(test_reader_rejects_bad_layout) {
    ASSERT_EQ(expect_bad("{\"a\":" F32_2 ":[0,8]},\"a\":" F32_2 ":[8,16]}}", 16,
                         "the tensor name \"a\" appears twice"),
              0);
    ASSERT_EQ(expect_bad("{\"a\":" F32_2 ":[0,8]},\"b\":" F32_2 ":[4,12]}}", 12,
                         "tensors \"a\" and \"b\" overlap in the data"),
              0);
    ASSERT_EQ(expect_bad("{\"a\":" F32_2 ":[0,8]},\"b\":" F32_2 ":[0,8]}}", 8,
                         "tensors \"a\" and \"b\" overlap in the data"),
              0);
    ASSERT_EQ(expect_bad("{\"a\":" F32_2
                         ":[0,8]},\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
                         8, "tensors \"a\" and \"e\" overlap in the data"),
              0);
    ASSERT_EQ(expect_bad("{\"a\":" F32_2 ":[0,8]},\"b\":" F32_2 ":[12,20]}}", 20,
                         "bytes [8, 12) of the data belong to no tensor"),
              0);
    ASSERT_EQ(expect_bad("{\"b\":" F32_2 ":[4,12]}}", 12,
                         "bytes [0, 4) of the data belong to no tensor"),
              0);
    ASSERT_EQ(expect_bad(
                  "{\"a\":" F32_2 ":[0,8]}}", 12,
                  "4 bytes after the last tensor's data (the file is longer than its header says)"),
              0);
    ASSERT_EQ(
        expect_bad("{}", 1,
                   "1 byte after the last tensor's data (the file is longer than its header says)"),
        0);
}

TEST(test_reader_rejects_bad_metadata) {
    ASSERT_EQ(expect_bad("{\"__metadata__\":{\"k\":1}}", 0,
                         "__metadata__ value of \"k\" is not a string"),
              0);
    ASSERT_EQ(expect_bad("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", 0,
                         "__metadata__ value of \"k\" is not a string"),
              0);
    ASSERT_EQ(expect_bad("{\"__metadata__\":{\"k\":null}}", 0,
                         "__metadata__ value of \"k\" is not a string"),
              0);
    ASSERT_EQ(expect_bad("{\"__metadata__\":\"pt\"}", 0,
                         "__metadata__ must be an object of strings"),
              0);
    ASSERT_EQ(expect_bad("{\"__metadata__\":null}", 0, "__metadata__ must be an object of strings"),
              0);
    ASSERT_EQ(expect_bad("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0,
                         "the __metadata__ key \"k\" appears twice"),
              0);
    ASSERT_EQ(expect_bad("{\"__metadata__\":{},\"__metadata__\":{}}", 0,
                         "the header has __metadata__ twice"),
              0);
    ASSERT_EQ(expect_bad("{\"__metadata__\":{\"k\":\"a\",}}", 0,
                         "invalid JSON in the header at byte 25: expected a string"),
              0);
    /* a good one, with escapes */
    size_t n;
    unsigned char *b =
        image("{\"__metadata__\":{\"k\\u00e9y\":\"line\\n\\\"v\\\" \\ud83d\\ude00\"}}", 0,
              UINT64_MAX, &n);
    cg_state_dict *d = cg_load_safetensors_buffer(b, n);
    free(b);
    ASSERT_NOT_NULL(d);
    ASSERT_STR_EQ(cg_state_dict_metadata(d, "kéy"), "line\n\"v\" \xf0\x9f\x98\x80");
    cg_state_dict_free(d);
}

/* Files: missing, a directory, truncated, unwritable; errors name the path. */
TEST(test_files) {
    char path[512], msg[1200];
    ASSERT_EQ(cg_test_temp_path(path, sizeof path, "st_file"), 0);
    remove(path);
    snprintf(msg, sizeof msg, "cannot open \"%s\": No such file or directory", path);
    ASSERT_ERROR(cg_load_safetensors(path), msg);
    ASSERT_ERROR(cg_load_safetensors("/"), "cannot read \"/\": not a regular file");

    cg_state_dict *d = cg_state_dict_new();
    cg_state_dict_add(d, "w", cg_randn(CG_SHAPE(4, 4), 0));
    ASSERT_EQ(cg_save_safetensors(path, d), 0);
    size_t n;
    unsigned char *b = read_file(path, &n);
    ASSERT(b && n == 8 + 64 + 64);
    ASSERT_EQ(cg_test_write_file(path, b, n - 5), 0); /* truncated */
    snprintf(msg, sizeof msg,
             "safetensors file \"%s\": tensor \"w\": data_offsets [0, 64] go past the "
             "end of the data (59 bytes)",
             path);
    ASSERT_ERROR(cg_load_safetensors(path), msg);
    ASSERT_EQ(cg_test_write_file(path, b, 20), 0); /* cut in the header */
    snprintf(msg, sizeof msg,
             "safetensors file \"%s\": header size 64 is larger than the rest of the "
             "file (12 bytes)",
             path);
    ASSERT_ERROR(cg_load_safetensors(path), msg);
    ASSERT_EQ(cg_test_write_file(path, b, 5), 0);
    snprintf(msg, sizeof msg,
             "safetensors file \"%s\": 5 bytes is too short: the format starts with "
             "an 8-byte header size",
             path);
    ASSERT_ERROR(cg_load_safetensors(path), msg);
    free(b);
    remove(path);

    ASSERT_ERROR(
        cg_save_safetensors("/nonexistent-dir/x.safetensors", d),
        "cannot open \"/nonexistent-dir/x.safetensors\" for writing: No such file or directory");
    /* a target that is not a regular file is refused, and left as it was */
    struct stat st;
    if (stat("/dev/full", &st) == 0) {
        ASSERT_ERROR(cg_save_safetensors("/dev/full", d),
                     "cannot write \"/dev/full\": not a regular file");
        ASSERT(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode));
    }
    ASSERT_ERROR(cg_save_safetensors("/tmp", d), "cannot write \"/tmp\": not a regular file");
    cg_state_dict_free(d);
}

/* How many files in path's directory start with path's name + ".tmp-"
 * (-1 if the directory cannot be read). */
static int temporaries_of(const char *path) {
    char dir[512], pre[512];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return -1;
    *slash = '\0';
    snprintf(pre, sizeof pre, "%s.tmp-", slash + 1);
    DIR *dp = opendir(dir);
    if (!dp) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(dp));) n += strncmp(e->d_name, pre, strlen(pre)) == 0;
    closedir(dp);
    return n;
}

/* A save that fails half-way (a file-size limit here; a full disk alike)
 * leaves the previous file byte for byte, and no temporary behind. */
TEST(test_save_is_atomic) {
    char path[512];
    ASSERT_EQ(cg_test_temp_path(path, sizeof path, "st_atomic"), 0);
    cg_state_dict *d = cg_state_dict_new();
    cg_state_dict_add(d, "w", cg_randn(CG_SHAPE(4, 4), 0));
    ASSERT_EQ(cg_save_safetensors(path, d), 0);
    size_t n0, n1;
    unsigned char *before = read_file(path, &n0);
    ASSERT_NOT_NULL(before);
    cg_state_dict_add(d, "big", cg_randn(CG_SHAPE(256, 256), 0)); /* 256 KiB */
    struct rlimit old, lim;
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 64 * 1024;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails (EFBIG) */
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = cg_save_safetensors(path, d);
    char msg[700];
    snprintf(msg, sizeof msg, "cannot write \"%s\": File too large", path);
    bool right_error = rc == -1 && cg_last_error() && strcmp(cg_last_error(), msg) == 0;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    ASSERT(right_error);
    unsigned char *after = read_file(path, &n1);
    ASSERT_NOT_NULL(after);
    ASSERT_EQ(n1, n0);
    ASSERT(memcmp(before, after, n0) == 0);
    ASSERT_EQ(temporaries_of(path), 0);
    ASSERT_EQ(cg_save_safetensors(path, d), 0); /* without the limit it saves */
    ASSERT_EQ(temporaries_of(path), 0);
    free(before), free(after);
    remove(path);
    cg_state_dict_free(d);
}

/* Every prefix and many one-byte corruptions of a valid file: loads or fails
 * cleanly (ASan and valgrind runs of this test check the "cleanly"). */
TEST(test_reader_survives_corruption) {
    cg_state_dict *d = cg_state_dict_new();
    cg_state_dict_add(d, "w", cg_randn(CG_SHAPE(2, 3), 0));
    cg_state_dict_add(d, "i", cg_ones(CG_SHAPE(2), CG_INT64));
    cg_state_dict_add(d, "b", cg_ones(CG_SHAPE(3), CG_BOOL));
    cg_state_dict_set_metadata(d, "k", "v\u00e9");
    size_t n;
    unsigned char *good = cg_save_safetensors_buffer(d, &n);
    cg_state_dict_free(d);
    ASSERT_NOT_NULL(good);
    unsigned char *b = malloc(n);
    int loaded = 0, failed = 0;
    for (size_t len = 0; len <= n; len++) {
        memcpy(b, good, len);
        cg_state_dict *x = cg_load_safetensors_buffer(b, len);
        if (x)
            loaded++;
        else
            failed++;
        if (!x) ASSERT_NOT_NULL(cg_last_error());
        cg_state_dict_free(x);
    }
    ASSERT_EQ(loaded, 1); /* only the whole file */
    static const unsigned char bytes[] = {0,   1,   '"',  '{', '}', '[',  ']',
                                          ',', ':', '\\', '-', '9', 0x80, 0xff};
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof bytes; k++) {
            memcpy(b, good, n);
            b[i] = bytes[k];
            cg_state_dict *x = cg_load_safetensors_buffer(b, n);
            if (x)
                loaded++;
            else
                failed++;
            cg_state_dict_free(x);
        }
    printf("  corruption: %d loads, %d clean failures\n", loaded, failed);
    free(b);
    free(good);
}

/* ----------------------------------------------------- through torch */

static void hex(FILE *f, const char *s) {
    fputc(' ', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) fprintf(f, "%02x", *p);
}

static void write_expected(FILE *f, const char *name, cg_tensor *t) {
    static const char *kinds[] = {"F32", "F64", "I64", "BOOL"};
    fprintf(f, "tensor");
    hex(f, name);
    fprintf(f, " %s %d", kinds[cg_dtype_of(t)], cg_ndim(t));
    for (int i = 0; i < cg_ndim(t); i++) fprintf(f, " %lld", (long long)cg_size(t, i));
    CG_SCOPE {
        cg_tensor *c = cg_contiguous(t);
        const void *p = cg_data_ptr(c);
        for (int64_t i = 0; i < cg_numel(c); i++) switch (cg_dtype_of(c)) {
            case CG_FLOAT32: fprintf(f, " %a", (double)((const float *)p)[i]); break;
            case CG_FLOAT64: fprintf(f, " %a", ((const double *)p)[i]); break;
            case CG_INT64: fprintf(f, " %lld", (long long)((const int64_t *)p)[i]); break;
            default: fprintf(f, " %d", ((const bool *)p)[i] ? 1 : 0);
            }
    }
    fputc('\n', f);
}

TEST(test_round_trip_with_torch) {
    cg_manual_seed(2024);
    double ints[6] = {-1099511627776.0, -3, 0, 1, 42, 1099511627776.0}; /* +-2^40 */
    cg_tensor *ts[] = {
        cg_randn(CG_SHAPE(3, 4), 0),
        cg_rand(CG_SHAPE(2, 3, 2), CG_FLOAT64),
        cg_to(cg_from_data(ints, CG_SHAPE(2, 3), CG_FLOAT64), CG_INT64),
        cg_scalar(-2.75, 0),
        cg_scalar(12345, CG_INT64),
        cg_zeros(CG_SHAPE(0, 3), 0),
        cg_zeros(CG_SHAPE(2, 0), CG_INT64),
        cg_transpose(cg_randn(CG_SHAPE(4, 5), CG_FLOAT64), 0, 1),
        cg_expand(cg_randn(CG_SHAPE(3, 1), 0), CG_SHAPE(3, 4)),
        cg_gt_scalar(cg_randn(CG_SHAPE(7), 0), 0),
        cg_randn(CG_SHAPE(1, 1, 1, 2, 1, 2, 1, 2), 0),
    };
    const char *names[] = {
        "w.f32",     "w.f64",      "w.i64",    "scalar", "scalar.i64", "empty",
        "empty.i64", "transposed", "expanded", "mask",   "名字.嵌入",
    };
    const char *odd = "odd \"name\" \\ with\ttab/é";
    int n = (int)(sizeof ts / sizeof *ts);
    cg_state_dict *d = cg_state_dict_new();
    for (int i = 0; i < n; i++) ASSERT_EQ(cg_state_dict_add(d, names[i], ts[i]), 0);
    ASSERT_EQ(cg_state_dict_add(d, odd, ts[0]), 0);
    cg_state_dict_set_metadata(d, "format", "pt");
    cg_state_dict_set_metadata(d, "note", "多语言 \"quoted\"\n");

    char cfile[512], expected[512], out[512], cmd[2048];
    ASSERT_EQ(cg_test_temp_path(cfile, sizeof cfile, "st_c"), 0);
    ASSERT_EQ(cg_test_temp_path(expected, sizeof expected, "st_expected"), 0);
    ASSERT_EQ(cg_test_temp_path(out, sizeof out, "st_torch"), 0);
    ASSERT_EQ(cg_save_safetensors(cfile, d), 0);
    FILE *f = fopen(expected, "w");
    ASSERT_NOT_NULL(f);
    for (int i = 0; i < n; i++) write_expected(f, names[i], ts[i]);
    write_expected(f, odd, ts[0]);
    fprintf(f, "meta");
    hex(f, "format");
    hex(f, "pt");
    fprintf(f, "\nmeta");
    hex(f, "note");
    hex(f, "多语言 \"quoted\"\n");
    fputc('\n', f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "\"%s\" \"%s/tests/oracle/safetensors_oracle.py\" \"%s\" \"%s\" \"%s\"", CG_PYTHON,
             CG_SOURCE_DIR, cfile, expected, out);
    int rc = system(cmd);
    if (rc != 0) {
        FAIL_("the oracle failed (exit status %d): `%s`. It needs PyTorch importable by %s; "
              "this test does not skip without it.",
              rc, cmd, CG_PYTHON);
        cg_state_dict_free(d);
        return;
    }

    cg_state_dict *back = cg_load_safetensors(out);
    ASSERT_NOT_NULL(back);
    ASSERT_EQ(cg_state_dict_count(back), n + 1 + 8);
    ASSERT_STR_EQ(cg_state_dict_metadata(back, "writer"), "torch");
    ASSERT_STR_EQ(cg_state_dict_metadata(back, "format"), "pt");
    int compared = 0;
    for (int i = 0; i <= n; i++) {
        const char *name = i < n ? names[i] : odd;
        cg_tensor *t = i < n ? ts[i] : ts[0];
        cg_tensor *want = cg_dtype_of(t) == CG_BOOL ? cg_eq_scalar(t, 0) : cg_mul_scalar(t, 2);
        cg_tensor *got = cg_state_dict_get(back, name);
        if (!same_tensor(got, want)) {
            FAIL_("tensor \"%s\": torch's t * 2 differs from cgrad's", name);
            char *a = cg_to_string(got), *b = cg_to_string(want);
            fprintf(stderr, "  torch: %s\n  cgrad: %s\n", a ? a : "(null)", b ? b : "(null)");
            free(a);
            free(b);
        }
        compared++;
    }
    static const char *conv[][2] = {{"torch.bf16", "torch.bf16_as_f32"},
                                    {"torch.f16", "torch.f16_as_f32"},
                                    {"torch.i32", "torch.i32_as_i64"},
                                    {"torch.u8", "torch.u8_as_i64"}};
    for (int i = 0; i < 4; i++) {
        cg_tensor *a = cg_state_dict_get(back, conv[i][0]),
                  *b = cg_state_dict_get(back, conv[i][1]);
        if (!same_tensor(a, b))
            FAIL_("%s as read by cgrad differs from torch's %s", conv[i][0], conv[i][1]);
        compared++;
    }
    ASSERT_EQ(cg_size(cg_state_dict_get(back, "torch.bf16"), 1), 13);
    printf("  torch: %d tensors compared\n", compared);
    cg_state_dict_free(back);
    cg_state_dict_free(d);
    remove(cfile);
    remove(expected);
    remove(out);
}

TEST_MAIN(test_state_dict_api, test_state_dict_many, test_writer_matches_reference_bytes,
          test_writer_order_and_escapes, test_round_trip_in_c, test_reader_accepts_valid_variants,
          test_reader_rejects_bad_sizes, test_reader_rejects_bad_json,
          test_reader_rejects_bad_entries, test_reader_rejects_bad_layout,
          test_reader_rejects_bad_metadata, test_files, test_save_is_atomic,
          test_reader_survives_corruption, test_round_trip_with_torch)
