/* Clear messages where a caller passes nothing or too much: a NULL dims or
 * shape list, and chargpt's --out longer than its path buffers (refused, not
 * truncated into another file's name). */
#include "test.h"

TEST(null_lists) {
    cg_tensor *a = cg_zeros(2, (int64_t[]){2, 3}, CG_FLOAT32);
    ASSERT_NOT_NULL(a);
    ASSERT_ERROR(cg_permute(a, 2, NULL), "dims is NULL but ndims is 2");
    ASSERT_ERROR(cg_view(a, 2, NULL), "shape is NULL but ndim is 2");
    ASSERT_ERROR(cg_reshape(a, 1, NULL), "shape is NULL but ndim is 1");
    ASSERT_NOT_NULL(cg_view(cg_zeros(0, NULL, CG_FLOAT32), 0, NULL)); /* 0 dims: no list */
}

/* chargpt --out PREFIX (PREFIX n characters long): its exit status and output */
static int chargpt_out(size_t n, char *out, size_t cap) {
    char exe[1100];
    if (cg_test_example_path(exe, sizeof exe, "chargpt") < 0) return -1;
    char *cmd = malloc(n + 2048);
    if (!cmd) return -1;
    int k = snprintf(cmd, 2048, "%s --steps 1 --sample 0 --out /tmp/", exe);
    memset(cmd + k, 'x', n - 5); /* "/tmp/" and n - 5 more */
    snprintf(cmd + k + n - 5, 64, " 2>&1");
    int rc = cg_test_run(cmd, out, cap);
    free(cmd);
    return rc;
}

TEST(chargpt_refuses_a_too_long_out) {
    char out[4096];
    /* PREFIX.safetensors would need 4098 bytes, PREFIX_loss.svg 4095: both
     * must fit the 4096-byte buffers */
    ASSERT_EQ(chargpt_out(4085, out, sizeof out), 1);
    ASSERT(strstr(out, "--out is too long (4085 characters)"));
}

TEST_MAIN(null_lists, chargpt_refuses_a_too_long_out)
