/* A text dataset keeps its token ids in the smallest integer type that holds
 * the vocabulary (1 byte up to 256 characters, 2 up to 65536), not int64;
 * its tokens and batches are int64 all the same. */
#include "test.h"

#include <malloc.h>

/* bytes the heap holds now (ASan's allocator reports nothing: -1 then) */
static long heap_bytes(void) {
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd ? (long)(m.uordblks + m.hblkhd) : -1;
}

/* n characters drawn (by a fixed LCG) from alphabet's k code points, UTF-8 */
static char *make_text(size_t n, const uint32_t *alphabet, size_t k, size_t *len) {
    char *s = malloc(n * 4 + 1);
    if (!s) return NULL;
    uint64_t x = 42;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t cp = alphabet[(x >> 33) % k];
        if (cp < 0x80) {
            s[at++] = (char)cp;
        } else { /* two or three bytes */
            if (cp < 0x800) {
                s[at++] = (char)(0xc0 | cp >> 6);
            } else {
                s[at++] = (char)(0xe0 | cp >> 12);
                s[at++] = (char)(0x80 | (cp >> 6 & 0x3f));
            }
            s[at++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    *len = at;
    return s;
}

/* ids of ds's train split equal tokens' ids of the whole text (split 1.0) */
static int check_batches(cg_text_dataset *ds, const cg_char_tokenizer *tok, const char *text,
                         size_t len) {
    cg_tensor *all = cg_char_tokenizer_encode(tok, text, len), *x, *y;
    cg_tensor *tokens = cg_text_dataset_tokens(ds, CG_SPLIT_TRAIN);
    if (!all || !tokens || cg_dtype_of(tokens) != CG_INT64 || cg_numel(all) != cg_numel(tokens) ||
        memcmp(cg_data_ptr(all), cg_data_ptr(tokens), sizeof(int64_t) * (size_t)cg_numel(all)))
        return -1;
    if (cg_text_dataset_batch(ds, CG_SPLIT_TRAIN, 4, 16, &x, &y) < 0) return -1;
    const int64_t *px = cg_data_ptr(x), *py = cg_data_ptr(y), *pa = cg_data_ptr(all);
    for (int b = 0; b < 4; b++) { /* each row is a window of the text, y one further */
        int64_t i = 0;
        while (i + 16 < cg_numel(all) && memcmp(pa + i, px + b * 16, 16 * sizeof *pa)) i++;
        if (i + 16 >= cg_numel(all) || memcmp(pa + i + 1, py + b * 16, 16 * sizeof *pa)) return -1;
    }
    return cg_dtype_of(x) == CG_INT64 && cg_dtype_of(y) == CG_INT64 ? 0 : -1;
}

/* A dataset of n characters drawn from k consecutive code points from
 * first: its vocabulary is k, it holds less than bytes_per_id * n + n / 4
 * bytes of heap, and its batches are the text's windows. */
static void check_dataset(size_t n, uint32_t first, size_t k, int bytes_per_id) {
    uint32_t alphabet[512];
    for (size_t i = 0; i < k; i++) alphabet[i] = first + (uint32_t)i;
    size_t len;
    char *text = make_text(n, alphabet, k, &len);
    ASSERT_NOT_NULL(text);
    long before = heap_bytes();
    cg_text_dataset *ds = cg_text_dataset_from_text(text, len);
    long held = heap_bytes() - before;
    ASSERT_NOT_NULL(ds);
    ASSERT_EQ(cg_char_tokenizer_vocab_size(cg_text_dataset_tokenizer(ds)), (int64_t)k);
    if (before >= 0) {
        printf("  %zu characters of a %zu-character vocabulary: the dataset holds %ld bytes (%.2f "
               "a character)\n",
               n, k, held, (double)held / (double)n);
        ASSERT_LT(held, (long)(bytes_per_id * n + n / 4)); /* int64 ids would take 8 n */
    }
    ASSERT_EQ(check_batches(ds, cg_text_dataset_tokenizer(ds), text, len), 0);
    cg_text_dataset_free(ds);
    free(text);
}

TEST(ascii_ids_take_a_byte_each) { check_dataset(8 << 20, 32, 90, 1); }

/* Greek, Cyrillic and more: 300 characters */
TEST(a_larger_vocabulary_takes_two_bytes) { check_dataset(1 << 20, 0x370, 300, 2); }

TEST_MAIN(ascii_ids_take_a_byte_each, a_larger_vocabulary_takes_two_bytes)
