/* The strict JSON reader (src/io/json.h): values, every escape, numbers with
 * their exact int64, ordered keys and lookup, the depth limit, and malformed
 * inputs, each with its message and byte offset. */
#define _POSIX_C_SOURCE 200809L /* mkstemp, close */
#include "io/json.h"
#include "test.h"

#include <unistd.h>

static cg__json *parse(const char *s) { return cg__json_parse("test", "doc", s, strlen(s)); }

TEST(test_json_values) {
    cg__json *v = parse(" {\"a\": [1, -2.5, true, false, null], \"b\": {\"c\": \"x\"}, \"\": 0} ");
    ASSERT_NOT_NULL(v);
    ASSERT_EQ(v->type, CG__JSON_OBJECT);
    ASSERT_EQ(v->n, 3);
    ASSERT_STR_EQ(v->keys[0], "a");
    ASSERT_STR_EQ(v->keys[1], "b");
    ASSERT_STR_EQ(v->keys[2], "");
    const cg__json *a = cg__json_get(v, "a");
    ASSERT_NOT_NULL(a);
    ASSERT_EQ(a->type, CG__JSON_ARRAY);
    ASSERT_EQ(a->n, 5);
    ASSERT_EQ(a->offset, 7);
    ASSERT_EQ(a->items[0].is_int, 1);
    ASSERT_EQ(a->items[0].integer, 1);
    ASSERT_EQ(a->items[1].number, -2.5);
    ASSERT_EQ(a->items[1].is_int, 0);
    ASSERT_EQ(a->items[2].type, CG__JSON_BOOL);
    ASSERT_EQ(a->items[2].boolean, 1);
    ASSERT_EQ(a->items[3].boolean, 0);
    ASSERT_EQ(a->items[4].type, CG__JSON_NULL);
    ASSERT_STR_EQ(cg__json_get(cg__json_get(v, "b"), "c")->str, "x");
    ASSERT_EQ(cg__json_get(v, "")->integer, 0);
    ASSERT_NULL(cg__json_get(v, "z"));
    ASSERT_NULL(cg__json_get(a, "a")); /* not an object */
    ASSERT_STR_EQ(cg__json_type_name(a->type), "array");
    cg__json_free(v);
    v = parse("\"top\"");
    ASSERT_NOT_NULL(v);
    ASSERT_STR_EQ(v->str, "top");
    cg__json_free(v);
}

TEST(test_json_escapes) {
    /* \u00e9 = é (C3 A9), \u4e2d = 中 (E4 B8 AD), \ud83d\ude00 = U+1F600 (F0 9F 98 80) */
    cg__json *v = parse(
        "\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9\\u4E2D\\ud83d\\ude00 \\u0000z\"");
    ASSERT_NOT_NULL(v);
    const char want[] = "q\" b\\ s/ \b\f\n\r\t \xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80 \0z";
    ASSERT_EQ(v->len, sizeof want - 1);
    ASSERT(memcmp(v->str, want, sizeof want) == 0);
    cg__json_free(v);
    v = parse("\"raw UTF-8: \xC3\xA9\xF0\x9F\x98\x80\"");
    ASSERT_NOT_NULL(v);
    ASSERT_STR_EQ(v->str, "raw UTF-8: \xC3\xA9\xF0\x9F\x98\x80");
    cg__json_free(v);
}

TEST(test_json_numbers) {
    cg__json *v = parse(
        "[0, -0, 9223372036854775807, -9223372036854775808, 9223372036854775808, 1e3, 2.0, "
        "1.5e-3, 9007199254740993, 0.1E+1, -1e-400]");
    ASSERT_NOT_NULL(v);
    const cg__json *x = v->items;
    ASSERT_EQ(x[0].integer, 0);
    ASSERT_EQ(x[1].is_int, 1);
    ASSERT(signbit(x[1].number));
    ASSERT_EQ(x[2].integer, INT64_MAX);
    ASSERT_EQ(x[3].integer, INT64_MIN);
    ASSERT_EQ(x[4].is_int, 0); /* 2^63 does not fit */
    ASSERT_EQ(x[4].number, 9223372036854775808.0);
    ASSERT_EQ(x[5].is_int, 1);
    ASSERT_EQ(x[5].integer, 1000);
    ASSERT_EQ(x[6].integer, 2);
    ASSERT_EQ(x[7].number, 1.5e-3);
    ASSERT_EQ(x[7].is_int, 0);
    ASSERT_EQ(x[8].integer, 9007199254740993); /* exact, beyond a double's 53 bits */
    ASSERT_EQ(x[9].integer, 1);
    ASSERT_EQ(x[10].number, 0.0); /* underflow rounds to zero, as Python's float() */
    cg__json_free(v);
}

/* An object large enough to rehash its index several times. */
TEST(test_json_many_keys) {
    size_t cap = 1 << 20, n = 0;
    char *s = malloc(cap);
    ASSERT_NOT_NULL(s);
    s[n++] = '{';
    for (int i = 0; i < 5000; i++) n += (size_t)sprintf(s + n, "%s\"k%d\":%d", i ? "," : "", i, i);
    s[n++] = '}';
    cg__json *v = cg__json_parse("test", "doc", s, n);
    free(s);
    ASSERT_NOT_NULL(v);
    ASSERT_EQ(v->n, 5000);
    char key[32];
    for (int i = 0; i < 5000; i += 7) {
        sprintf(key, "k%d", i);
        const cg__json *m = cg__json_get(v, key);
        if (!m || m->integer != i) cg__json_free(v);
        ASSERT_NOT_NULL(m);
        ASSERT_EQ(m->integer, i);
    }
    ASSERT_STR_EQ(v->keys[4999], "k4999");
    cg__json_free(v);
}

TEST(test_json_depth) {
    char deep[2 * CG__JSON_MAX_DEPTH + 3];
    size_t d = CG__JSON_MAX_DEPTH;
    memset(deep, '[', d);
    memset(deep + d, ']', d);
    deep[2 * d] = 0;
    cg__json *v = parse(deep);
    ASSERT_NOT_NULL(v);
    cg__json_free(v);
    memset(deep, '[', d + 1);
    memset(deep + d + 1, ']', d + 1);
    deep[2 * d + 2] = 0;
    ASSERT_ERROR(parse(deep),
                 "doc: invalid JSON at byte 256 (line 1, column 257): nesting deeper than 256 "
                 "levels");
}

#define BAD(text, msg) ASSERT_ERROR(parse(text), "doc: invalid JSON at " msg)

TEST(test_json_malformed) {
    BAD("", "byte 0 (line 1, column 1): unexpected end of input");
    BAD("  ", "byte 2 (line 1, column 3): unexpected end of input");
    BAD("{\"a\":1,}", "byte 7 (line 1, column 8): expected a string key");
    BAD("[1,]", "byte 3 (line 1, column 4): unexpected character ']'");
    BAD("[1 2]", "byte 3 (line 1, column 4): expected ',' or ']' in an array");
    BAD("{\"a\" 1}", "byte 5 (line 1, column 6): expected ':'");
    BAD("{\"a\":1 \"b\":2}", "byte 7 (line 1, column 8): expected ',' or '}' in an object");
    BAD("{\"a\":1,\n \"a\":2}", "byte 9 (line 2, column 2): duplicate key \"a\"");
    BAD("{1:2}", "byte 1 (line 1, column 2): expected a string key");
    BAD("[1", "byte 2 (line 1, column 3): expected ',' or ']' in an array");
    BAD("\"abc", "byte 0 (line 1, column 1): unterminated string");
    BAD("\"a\\", "byte 0 (line 1, column 1): unterminated string");
    BAD("\"a\\x\"", "byte 2 (line 1, column 3): invalid escape \\x in a string");
    BAD("\"\\u12\"", "byte 3 (line 1, column 4): truncated \\u escape");
    BAD("\"\\u12x4\"", "byte 5 (line 1, column 6): invalid hex digit in a \\u escape");
    BAD("\"\\u12", "byte 0 (line 1, column 1): unterminated string");
    BAD("\"\\ud800\"",
        "byte 1 (line 1, column 2): lone high surrogate \\uD800 (not followed by a low one)");
    BAD("\"\\ud800\\u0041\"",
        "byte 1 (line 1, column 2): lone high surrogate \\uD800 (not followed by a low one)");
    BAD("\"\\udc00\"", "byte 1 (line 1, column 2): lone low surrogate \\uDC00");
    BAD("\"a\tb\"", "byte 2 (line 1, column 3): control character 0x09 in a string (escape it)");
    BAD("\"\xC3\"", "byte 1 (line 1, column 2): invalid UTF-8 in a string");
    BAD("\"\xED\xA0\x80\"", "byte 1 (line 1, column 2): invalid UTF-8 in a string");
    BAD("01", "byte 0 (line 1, column 1): leading zero in a number");
    BAD("-", "byte 0 (line 1, column 1): invalid number");
    BAD("+1", "byte 0 (line 1, column 1): unexpected character '+'");
    BAD("1.", "byte 1 (line 1, column 2): expected a digit after the decimal point");
    BAD("1e+", "byte 1 (line 1, column 2): expected a digit in the exponent");
    BAD(".5", "byte 0 (line 1, column 1): unexpected character '.'");
    BAD("1e999", "byte 0 (line 1, column 1): number out of a double's range");
    BAD("NaN", "byte 0 (line 1, column 1): unexpected character 'N'");
    BAD("tru", "byte 0 (line 1, column 1): unexpected character 't'");
    BAD("nul", "byte 0 (line 1, column 1): unexpected character 'n'");
    BAD("{} {}", "byte 3 (line 1, column 4): trailing data after the top-level value");
    BAD("[1] x", "byte 4 (line 1, column 5): trailing data after the top-level value");
    BAD("\x01", "byte 0 (line 1, column 1): unexpected byte 0x01");
    BAD("\"\xC3\xA9\" \xFF", "byte 5 (line 1, column 5): trailing data after the top-level value");
    BAD("// c\n{}", "byte 0 (line 1, column 1): unexpected character '/'");
    /* an embedded NUL ends nothing: the length is the buffer's */
    ASSERT_ERROR(cg__json_parse("test", "doc", "[1]\0", 4),
                 "doc: invalid JSON at byte 3 (line 1, column 4): trailing data after the "
                 "top-level value");
}

TEST(test_json_file) {
    char path[] = "/tmp/cgrad_json_XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    const char *doc = "\xEF\xBB\xBF{\"n_embd\": 768, \"activation_function\": \"gelu_new\"}\n";
    ASSERT_EQ(write(fd, doc, strlen(doc)), (long)strlen(doc));
    close(fd);
    cg__json *v = cg__json_parse_file("test", path);
    unlink(path);
    ASSERT_NOT_NULL(v);
    ASSERT_EQ(cg__json_get(v, "n_embd")->integer, 768);
    ASSERT_STR_EQ(cg__json_get(v, "activation_function")->str, "gelu_new");
    cg__json_free(v);
    ASSERT_ERROR(cg__json_parse_file("test", "/nonexistent/config.json"),
                 "cannot open \"/nonexistent/config.json\": No such file or directory");
}

TEST_MAIN(test_json_values, test_json_escapes, test_json_numbers, test_json_many_keys,
          test_json_depth, test_json_malformed, test_json_file)
