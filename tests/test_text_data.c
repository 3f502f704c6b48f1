/* Text data for a char-level language model: the code-point tokenizer (ASCII
 * and Chinese), invalid UTF-8, the dataset from a file, its split and its
 * random (x, y) batches. Expected ids are Python's sorted(set(text)). */
#define _POSIX_C_SOURCE 200809L /* mkstemp, close */
#include "test.h"

#include <stdint.h>
#include <unistd.h>

/* 静夜思, Li Bai */
static const char *POEM = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n";

static int64_t at1(cg_tensor *t, int64_t i) { return (int64_t)cg_get(t, (int64_t[]){i}); }
static int64_t at2(cg_tensor *t, int64_t i, int64_t j) {
    return (int64_t)cg_get(t, (int64_t[]){i, j});
}

TEST(test_tokenizer_ascii) {
    const char *text = "hello world";
    cg_char_tokenizer *tok = cg_char_tokenizer_new(text, strlen(text));
    ASSERT_NOT_NULL(tok);
    ASSERT_EQ(cg_char_tokenizer_vocab_size(tok), 8);
    size_t len;
    ASSERT_STR_EQ(cg_char_tokenizer_vocab(tok, &len), " dehlorw");
    ASSERT_EQ(len, 8);
    ASSERT_EQ(cg_char_tokenizer_id(tok, 'h'), 3);
    ASSERT_EQ(cg_char_tokenizer_id(tok, 'z'), -1);
    ASSERT_EQ(cg_char_tokenizer_id(tok, 0x4e2d), -1);
    ASSERT_EQ(cg_char_tokenizer_char(tok, 0), ' ');
    ASSERT_EQ(cg_char_tokenizer_char(tok, 8), -1);
    ASSERT_EQ(cg_char_tokenizer_char(tok, -1), -1);

    cg_tensor *ids = cg_char_tokenizer_encode(tok, "hello", 5);
    ASSERT_NOT_NULL(ids);
    ASSERT_EQ(cg_dtype_of(ids), CG_INT64);
    ASSERT_EQ(cg_ndim(ids), 1);
    ASSERT_EQ(cg_numel(ids), 5);
    int64_t want[5] = {3, 2, 4, 4, 5};
    for (int i = 0; i < 5; i++) ASSERT_EQ(at1(ids, i), want[i]);
    char *s = cg_char_tokenizer_decode(tok, ids, &len);
    ASSERT_STR_EQ(s, "hello");
    ASSERT_EQ(len, 5);
    free(s);
    /* decode reads any shape and layout in row-major order */
    cg_tensor *all = cg_char_tokenizer_encode(tok, "world hello ", 12);
    s = cg_char_tokenizer_decode(tok, cg_transpose(cg_view(all, CG_SHAPE(3, 4)), 0, 1), NULL);
    ASSERT_STR_EQ(s, "wdlo lrhole "); /* columns of [[w o r l] [d _ h e] [l l o _]] */
    free(s);
    /* empty text and empty ids */
    cg_tensor *none = cg_char_tokenizer_encode(tok, "", 0);
    ASSERT_NOT_NULL(none);
    ASSERT_EQ(cg_numel(none), 0);
    s = cg_char_tokenizer_decode(tok, none, &len);
    ASSERT_STR_EQ(s, "");
    ASSERT_EQ(len, 0);
    free(s);
    cg_char_tokenizer_free(tok);

    tok = cg_char_tokenizer_new("", 0); /* an empty vocabulary is allowed */
    ASSERT_NOT_NULL(tok);
    ASSERT_EQ(cg_char_tokenizer_vocab_size(tok), 0);
    ASSERT_STR_EQ(cg_char_tokenizer_vocab(tok, NULL), "");
    cg_char_tokenizer_free(tok);
    cg_char_tokenizer_free(NULL);
}

TEST(test_tokenizer_chinese) {
    size_t n = strlen(POEM);
    ASSERT_EQ(n, 74);
    cg_char_tokenizer *tok = cg_char_tokenizer_new(POEM, n);
    ASSERT_NOT_NULL(tok);
    ASSERT_EQ(cg_char_tokenizer_vocab_size(tok), 20);
    static const uint32_t chars[20] = {0xa,    0x3002, 0x4e0a, 0x4e3e, 0x4e61, 0x4f4e, 0x5149,
                                       0x524d, 0x5730, 0x5934, 0x5e8a, 0x601d, 0x6545, 0x660e,
                                       0x662f, 0x6708, 0x671b, 0x7591, 0x971c, 0xff0c};
    for (int i = 0; i < 20; i++) {
        ASSERT_EQ(cg_char_tokenizer_char(tok, i), chars[i]);
        ASSERT_EQ(cg_char_tokenizer_id(tok, chars[i]), i);
    }
    ASSERT_STR_EQ(cg_char_tokenizer_vocab(tok, NULL), "\n。上举乡低光前地头床思故明是月望疑霜，");
    cg_tensor *ids = cg_char_tokenizer_encode(tok, POEM, n);
    ASSERT_NOT_NULL(ids);
    static const int64_t want[26] = {10, 7, 13, 15, 6,  19, 17, 14, 8,  2,  18, 1, 0,
                                     3,  9, 16, 13, 15, 19, 5,  9,  11, 12, 4,  1, 0};
    ASSERT_EQ(cg_numel(ids), 26);
    for (int i = 0; i < 26; i++) ASSERT_EQ(at1(ids, i), want[i]);
    size_t len;
    char *s = cg_char_tokenizer_decode(tok, ids, &len);
    ASSERT_STR_EQ(s, POEM);
    ASSERT_EQ(len, n);
    free(s);
    /* the vocabulary string rebuilds the same tokenizer */
    size_t vlen;
    const char *vocab = cg_char_tokenizer_vocab(tok, &vlen);
    cg_char_tokenizer *again = cg_char_tokenizer_new(vocab, vlen);
    cg_tensor *ids2 = cg_char_tokenizer_encode(again, POEM, n);
    ASSERT(cg_equal(ids, ids2));
    cg_char_tokenizer_free(again);
    /* 1- to 4-byte characters, and U+0000, round trip */
    const char mixed[] = "a\0é中😀";
    cg_char_tokenizer *m = cg_char_tokenizer_new(mixed, sizeof mixed - 1);
    ASSERT_EQ(cg_char_tokenizer_vocab_size(m), 5);
    ASSERT_EQ(cg_char_tokenizer_char(m, 4), 0x1f600);
    cg_tensor *mi = cg_char_tokenizer_encode(m, mixed, sizeof mixed - 1);
    s = cg_char_tokenizer_decode(m, mi, &len);
    ASSERT_EQ(len, sizeof mixed - 1);
    ASSERT(!memcmp(s, mixed, len));
    free(s);
    cg_char_tokenizer_free(m);
    cg_char_tokenizer_free(tok);
}

TEST(test_tokenizer_errors) {
    static const struct {
        const char *text;
        size_t len;
        const char *msg;
    } bad[] = {
        {"ab\xff", 3, "invalid UTF-8 at byte offset 2 (byte 0xff)"},
        {"\x80", 1, "invalid UTF-8 at byte offset 0 (a stray continuation byte 0x80)"},
        {"ok\xe4\xb8", 4,
         "invalid UTF-8 at byte offset 2 (a sequence cut short by the end of the text)"},
        {"\xe4\xb8z", 3, "invalid UTF-8 at byte offset 0 (byte 0xe4)"},
        {"\xc0\xaf", 2, "invalid UTF-8 at byte offset 0 (byte 0xc0)"},         /* overlong '/' */
        {"x\xe0\x80\xaf", 4, "invalid UTF-8 at byte offset 1 (byte 0xe0)"},    /* overlong */
        {"\xed\xa0\x80", 3, "invalid UTF-8 at byte offset 0 (byte 0xed)"},     /* surrogate */
        {"\xf4\x90\x80\x80", 4, "invalid UTF-8 at byte offset 0 (byte 0xf4)"}, /* > U+10FFFF */
        {"\xf5\x80\x80\x80", 4, "invalid UTF-8 at byte offset 0 (byte 0xf5)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ASSERT_ERROR(cg_char_tokenizer_new(bad[i].text, bad[i].len), bad[i].msg);

    cg_char_tokenizer *tok = cg_char_tokenizer_new(POEM, strlen(POEM));
    ASSERT_ERROR(cg_char_tokenizer_encode(tok, "明月好", strlen("明月好")),
                 "character '好' (U+597D) at byte offset 6 is not in the vocabulary");
    ASSERT_ERROR(cg_char_tokenizer_encode(tok, "明\t", 4),
                 "character '' (U+0009) at byte offset 3 is not in the vocabulary");
    ASSERT_ERROR(cg_char_tokenizer_encode(tok, "明\xe6", 4),
                 "invalid UTF-8 at byte offset 3 (a sequence cut short by the end of the text)");
    int64_t ids[3] = {0, 19, 20};
    ASSERT_ERROR(cg_char_tokenizer_decode(tok, cg_from_data(ids, CG_SHAPE(3), CG_INT64), NULL),
                 "id 20 at position 2 is out of range for a vocabulary of 20 characters");
    ids[2] = -1;
    ASSERT_ERROR(cg_char_tokenizer_decode(tok, cg_from_data(ids, CG_SHAPE(3), CG_INT64), NULL),
                 "id -1 at position 2 is out of range for a vocabulary of 20 characters");
    ASSERT_ERROR(cg_char_tokenizer_decode(tok, cg_ones(CG_SHAPE(2), 0), NULL),
                 "decode expects an int64 tensor of ids, but got torch.float32");
    /* NULL arguments: NULL without a message */
    cg_clear_error();
    ASSERT_NULL(cg_char_tokenizer_encode(NULL, "a", 1));
    ASSERT_NULL(cg_char_tokenizer_encode(tok, NULL, 1));
    ASSERT_NULL(cg_char_tokenizer_decode(tok, NULL, NULL));
    ASSERT_NULL(cg_char_tokenizer_new(NULL, 3));
    ASSERT_NULL(cg_text_dataset_load(NULL));
    ASSERT_NULL(cg_last_error());
    cg_char_tokenizer_free(tok);
}

/* Every row of x is a window of the split's tokens and y is it shifted by one. */
static int check_batch(cg_tensor *data, cg_tensor *x, cg_tensor *y, int64_t B, int64_t T) {
    if (!x || !y || cg_ndim(x) != 2 || cg_size(x, 0) != B || cg_size(x, 1) != T) return -1;
    if (cg_dtype_of(x) != CG_INT64 || cg_dtype_of(y) != CG_INT64 || cg_size(y, 0) != B ||
        cg_size(y, 1) != T)
        return -1;
    int64_t n = cg_numel(data);
    for (int64_t b = 0; b < B; b++) {
        for (int64_t t = 0; t + 1 < T; t++)
            if (at2(x, b, t + 1) != at2(y, b, t)) return -1;
        bool found = false; /* some start i in [0, n - T) matches the row */
        for (int64_t i = 0; i < n - T && !found; i++) {
            found = true;
            for (int64_t t = 0; t < T && found; t++)
                found = at1(data, i + t) == at2(x, b, t) && at1(data, i + t + 1) == at2(y, b, t);
        }
        if (!found) return -1;
    }
    return 0;
}

TEST(test_dataset_from_file) {
    char path[512];
    ASSERT_EQ(cg_test_temp_path(path, sizeof path, "text"), 0);
    char text[2048] = "";
    for (int i = 0; i < 10; i++) strcat(text, POEM); /* 260 characters */
    ASSERT_EQ(cg_test_write_file(path, text, strlen(text)), 0);
    cg_text_dataset *ds = cg_text_dataset_load(path);
    remove(path);
    ASSERT_NOT_NULL(ds);
    const cg_char_tokenizer *tok = cg_text_dataset_tokenizer(ds);
    ASSERT_EQ(cg_char_tokenizer_vocab_size(tok), 20);
    ASSERT_EQ(cg_text_dataset_len(ds, CG_SPLIT_TRAIN), 260);
    ASSERT_EQ(cg_text_dataset_len(ds, CG_SPLIT_VAL), 0);

    ASSERT_EQ(cg_text_dataset_split(ds, 0.9), 0);
    ASSERT_EQ(cg_text_dataset_len(ds, CG_SPLIT_TRAIN), 234); /* int(0.9 * 260) */
    ASSERT_EQ(cg_text_dataset_len(ds, CG_SPLIT_VAL), 26);
    cg_tensor *train = cg_text_dataset_tokens(ds, CG_SPLIT_TRAIN),
              *val = cg_text_dataset_tokens(ds, CG_SPLIT_VAL);
    ASSERT_EQ(cg_numel(train), 234);
    ASSERT_EQ(at1(train, 0), 10);
    ASSERT_EQ(at1(val, 0), 10); /* the val split starts with the last poem */
    char *s = cg_char_tokenizer_decode(tok, val, NULL);
    ASSERT_STR_EQ(s, POEM);
    free(s);

    cg_manual_seed(1337);
    cg_tensor *x, *y;
    ASSERT_EQ(cg_text_dataset_batch(ds, CG_SPLIT_TRAIN, 4, 8, &x, &y), 0);
    ASSERT_EQ(check_batch(train, x, y, 4, 8), 0);
    cg_tensor *vx, *vy;
    ASSERT_EQ(cg_text_dataset_batch(ds, CG_SPLIT_VAL, 3, 25, &vx, &vy), 0); /* the longest block */
    ASSERT_EQ(check_batch(val, vx, vy, 3, 25), 0);
    for (int b = 0; b < 3; b++) ASSERT_EQ(at2(vx, b, 0), 10); /* only start 0 fits */

    /* the same seed gives the same batches; another seed other ones */
    cg_manual_seed(1337);
    cg_tensor *x2, *y2;
    ASSERT_EQ(cg_text_dataset_batch(ds, CG_SPLIT_TRAIN, 4, 8, &x2, &y2), 0);
    ASSERT(cg_equal(x, x2) && cg_equal(y, y2));
    cg_manual_seed(7);
    ASSERT_EQ(cg_text_dataset_batch(ds, CG_SPLIT_TRAIN, 4, 8, &x2, &y2), 0);
    ASSERT(!cg_equal(x, x2));

    /* starts cover [0, n - T): with T = n - 2 only starts 0 and 1 exist, both drawn */
    cg_tensor *bx, *by;
    ASSERT_EQ(cg_text_dataset_batch(ds, CG_SPLIT_VAL, 64, 24, &bx, &by), 0);
    int seen[2] = {0, 0};
    for (int b = 0; b < 64; b++) seen[at2(bx, b, 0) == at1(val, 0) ? 0 : 1]++;
    ASSERT(seen[0] > 0 && seen[1] > 0);
    ASSERT_EQ(check_batch(val, bx, by, 64, 24), 0);

    ASSERT_EQ(cg_text_dataset_split(ds, 1), 0);
    ASSERT_EQ(cg_text_dataset_len(ds, CG_SPLIT_VAL), 0);
    ASSERT_EQ(cg_text_dataset_split(ds, 0), 0);
    ASSERT_EQ(cg_text_dataset_len(ds, CG_SPLIT_TRAIN), 0);
    cg_text_dataset_free(ds);
    cg_text_dataset_free(NULL);
}

TEST(test_dataset_ascii_from_text) {
    const char *text = "abcdefghij";
    cg_text_dataset *ds = cg_text_dataset_from_text(text, strlen(text));
    ASSERT_NOT_NULL(ds);
    ASSERT_EQ(cg_text_dataset_split(ds, 0.5), 0);
    cg_manual_seed(3);
    cg_tensor *x, *y;
    ASSERT_EQ(cg_text_dataset_batch(ds, CG_SPLIT_TRAIN, 5, 3, &x, &y), 0);
    for (int b = 0; b < 5; b++) {
        int64_t i = at2(x, b, 0); /* ids are the letters' positions */
        ASSERT(i >= 0 && i < 2);
        for (int t = 0; t < 3; t++) {
            ASSERT_EQ(at2(x, b, t), i + t);
            ASSERT_EQ(at2(y, b, t), i + t + 1);
        }
    }
    ASSERT_EQ(cg_text_dataset_batch(ds, CG_SPLIT_VAL, 2, 4, &x, &y), 0);
    ASSERT_EQ(at2(x, 0, 0), 5); /* val is "fghij": one start only */
    ASSERT_EQ(at2(y, 1, 3), 9);
    cg_text_dataset_free(ds);
}

TEST(test_dataset_errors) {
    char path[512], msg[1200];
    ASSERT_EQ(cg_test_temp_path(path, sizeof path, "text_err"), 0);
    ASSERT_EQ(cg_test_write_file(path, "", 0), 0);
    snprintf(msg, sizeof msg, "\"%s\": the file is empty", path);
    ASSERT_ERROR(cg_text_dataset_load(path), msg);
    ASSERT_EQ(cg_test_write_file(path, "good \xe6\x9c\x88 then bad \xff", 19), 0);
    snprintf(msg, sizeof msg, "\"%s\": invalid UTF-8 at byte offset 18 (byte 0xff)", path);
    ASSERT_ERROR(cg_text_dataset_load(path), msg);
    remove(path);
    snprintf(msg, sizeof msg, "cannot open \"%s\": No such file or directory", path);
    ASSERT_ERROR(cg_text_dataset_load(path), msg);
    ASSERT_ERROR(cg_text_dataset_load("/"), "cannot read \"/\": Is a directory");
    ASSERT_ERROR(cg_text_dataset_from_text("", 0), "the text is empty");
    ASSERT_ERROR(cg_text_dataset_from_text("a\xc3", 2),
                 "invalid UTF-8 at byte offset 1 (a sequence cut short by the end of the text)");

    cg_text_dataset *ds = cg_text_dataset_from_text(POEM, strlen(POEM)); /* 26 tokens */
    ASSERT_NOT_NULL(ds);
    ASSERT_ERROR(cg_text_dataset_split(ds, 1.5), "train fraction must be in [0, 1], but got 1.5");
    ASSERT_ERROR(cg_text_dataset_split(ds, -0.1), "train fraction must be in [0, 1], but got -0.1");
    ASSERT_ERROR(cg_text_dataset_split(ds, NAN), "train fraction must be in [0, 1], but got nan");
    cg_tensor *x = NULL, *y = NULL;
    ASSERT_ERROR(
        cg_text_dataset_batch(ds, CG_SPLIT_TRAIN, 2, 26, &x, &y),
        "the train split has 26 tokens: too short for block size 26 (it needs at least 27)");
    ASSERT_EQ(cg_text_dataset_batch(ds, CG_SPLIT_TRAIN, 2, 25, &x, &y), 0);
    ASSERT_EQ(cg_text_dataset_split(ds, 0.9), 0);
    ASSERT_ERROR(cg_text_dataset_batch(ds, CG_SPLIT_VAL, 1, 3, &x, &y),
                 "the val split has 3 tokens: too short for block size 3 (it needs at least 4)");
    ASSERT_ERROR(cg_text_dataset_batch(ds, CG_SPLIT_TRAIN, 0, 3, &x, &y),
                 "batch size and block size must be positive, but got 0 and 3");
    ASSERT_ERROR(cg_text_dataset_batch(ds, CG_SPLIT_TRAIN, 2, -1, &x, &y),
                 "batch size and block size must be positive, but got 2 and -1");
    ASSERT_ERROR(cg_text_dataset_batch(ds, (cg_data_split)5, 2, 3, &x, &y),
                 "unknown split 5 (CG_SPLIT_TRAIN or CG_SPLIT_VAL)");
    ASSERT_ERROR(cg_text_dataset_len(ds, (cg_data_split)-1),
                 "unknown split -1 (CG_SPLIT_TRAIN or CG_SPLIT_VAL)");
    ASSERT_ERROR(cg_text_dataset_batch(ds, CG_SPLIT_TRAIN, INT64_MAX / 2, 4, &x, &y),
                 "tensor of 2 dims is too large to allocate");
    cg_clear_error();
    ASSERT_EQ(cg_text_dataset_batch(ds, CG_SPLIT_TRAIN, 1, 1, NULL, &y), -1);
    ASSERT_EQ(cg_text_dataset_batch(NULL, CG_SPLIT_TRAIN, 1, 1, &x, &y), -1);
    ASSERT_NULL(cg_last_error());
    cg_text_dataset_free(ds);
}

/* a size limit: /dev/zero is refused at the limit, not read until memory runs out */
TEST(test_dataset_size_limit) {
    ASSERT_ERROR(cg_text_dataset_load_limit("/dev/zero", 1 << 20),
                 "\"/dev/zero\" is larger than the limit of 1048576 bytes");
    char path[512], msg[1200];
    ASSERT_EQ(cg_test_temp_path(path, sizeof path, "text_limit"), 0);
    ASSERT_EQ(cg_test_write_file(path, "abcdef", 6), 0);
    snprintf(msg, sizeof msg, "\"%s\" is larger than the limit of 5 bytes", path);
    ASSERT_ERROR(cg_text_dataset_load_limit(path, 5), msg);
    snprintf(msg, sizeof msg, "\"%s\" is larger than the limit of 0 bytes", path);
    ASSERT_ERROR(cg_text_dataset_load_limit(path, 0), msg);
    cg_text_dataset *ds = cg_text_dataset_load_limit(path, 6); /* exactly the limit */
    ASSERT_NOT_NULL(ds);
    ASSERT_EQ(cg_text_dataset_len(ds, CG_SPLIT_TRAIN), 6);
    cg_text_dataset_free(ds);
    remove(path);
}

TEST_MAIN(test_dataset_size_limit, test_tokenizer_ascii, test_tokenizer_chinese,
          test_tokenizer_errors, test_dataset_from_file, test_dataset_ascii_from_text,
          test_dataset_errors)
