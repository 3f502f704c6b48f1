/* int64 exactness against live PyTorch: fills, scalar arithmetic and arange
 * beyond 2^53 are exact, and values no int64 holds are errors with
 * PyTorch's message (tests/oracle/int64_oracle.py prints torch's answers). */
#define _POSIX_C_SOURCE 200809L /* popen */
#include "test.h"

/* One line per case: "torch.int64 v v ..." or "ERR message". */
static void describe(cg_tensor *t, char *out, size_t n) {
    if (!t) {
        snprintf(out, n, "ERR %s", cg_last_error() ? cg_last_error() : "(none)");
        cg_clear_error();
        return;
    }
    size_t k = (size_t)snprintf(out, n, "torch.%s", cg_dtype_of(t) == CG_INT64 ? "int64" : "?");
    const int64_t *p = cg_data_ptr(t);
    for (int64_t i = 0; i < cg_numel(t) && k < n; i++)
        k += (size_t)snprintf(out + k, n - k, "%s%lld", i ? " " : " ", (long long)p[i]);
}

enum { N = 10 };
static char got[N][512];
static int n_got;

/* describes one case's result right after it ran (its error is the last) */
static void record(cg_tensor *t) {
    if (n_got < N) describe(t, got[n_got++], sizeof got[0]);
}

TEST(int64_matches_torch) {
    int64_t two[1] = {2};
    cg_tensor *ones = cg_ones(1, two, CG_INT64);
    cg_clear_error();
    n_got = 0;
    record(cg_full(1, two, 1e30, CG_INT64));
    record(cg_full(1, two, NAN, CG_INT64));
    record(cg_full(1, two, -INFINITY, CG_INT64));
    record(cg_full(1, two, 0x1p53 + 2, CG_INT64));
    record(cg_full(1, two, -0x1p63, CG_INT64));
    record(cg_add_scalar(ones, 1e19));
    record(cg_add_scalar(ones, 0x1p62));
    record(cg_mul_scalar(ones, 0x1p53 + 2));
    record(cg_arange(0x1p53, 0x1p53 + 6, 1, CG_INT64));
    record(cg_arange(0x1p53 + 8, 0x1p53 - 4, -4, CG_INT64));
    ASSERT_EQ(n_got, N);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s/tests/oracle/int64_oracle.py", CG_PYTHON, CG_SOURCE_DIR);
    FILE *p = popen(cmd, "r");
    ASSERT_NOT_NULL(p);
    char want[N][512];
    int n = 0;
    while (n < N && fgets(want[n], sizeof want[n], p)) {
        want[n][strcspn(want[n], "\n")] = 0;
        n++;
    }
    ASSERT_EQ(pclose(p), 0);
    ASSERT_EQ(n, N);
    for (int i = 0; i < N; i++)
        if (strcmp(got[i], want[i]) != 0)
            FAIL_("case %d: cgrad '%s', torch '%s'", i, got[i], want[i]);
}

TEST_MAIN(int64_matches_torch)
