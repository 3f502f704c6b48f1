/* Error paths of the extreme, scan, sort and rearrange families
 * (src/ops/extreme.c, scan.c, sort.c, rearrange.c), with PyTorch 1.13's exact
 * messages (the Python expression that printed each is in the comment beside
 * it), NULL inputs, and what the generated op tests cannot reach: NaN in
 * amax and sort, unbind's room for its pieces. */
#include "test.h"

#define ONES(dt, ...) cg_ones(CG_SHAPE(__VA_ARGS__), (dt))
#define DIM_RANGE(lo, hi, got)                                                                     \
    "Dimension out of range (expected to be in range of [" #lo ", " #hi "], but got " #got ")"

TEST(test_err_dims) {
    cg_tensor *a = ONES(0, 2, 3);
    const int two = 2, three = 3, m3 = -3, zero = 0;
    /* torch.ones(2,3).amax(2), .cumprod(-3), .sort(3), .roll(1, 2), .unbind(2), .movedim(0, 2) */
    ASSERT_ERROR(cg_amax(a, 1, &two, false), DIM_RANGE(-2, 1, 2));
    ASSERT_ERROR(cg_cumprod(a, m3), DIM_RANGE(-2, 1, -3));
    ASSERT_ERROR(cg_sort(a, three, false, NULL), DIM_RANGE(-2, 1, 3));
    ASSERT_ERROR(cg_roll(a, 1, (const int64_t[]){1}, 1, &two), DIM_RANGE(-2, 1, 2));
    int n = 4;
    cg_tensor *out[4];
    ASSERT_ERROR(cg_unbind(a, 2, &n, out), DIM_RANGE(-2, 1, 2));
    ASSERT_ERROR(cg_movedim(a, 1, &zero, &two), DIM_RANGE(-2, 1, 2));
    /* torch.ones(3).flip(1), torch.ones(3).cumsum(2) */
    ASSERT_ERROR(cg_flip(ONES(0, 3), 1, (const int[]){1}), DIM_RANGE(-1, 0, 1));
    ASSERT_ERROR(cg_cumsum(ONES(0, 3), 2), DIM_RANGE(-1, 0, 2));
}

TEST(test_err_amax) {
    /* torch.ones(0, 3).amax(0), torch.ones(0, 3).amin(0) */
    ASSERT_ERROR(cg_amax(ONES(0, 0, 3), 1, (const int[]){0}, false),
                 "amax(): Expected reduction dim 0 to have non-zero size.");
    ASSERT_ERROR(cg_amin(ONES(0, 0, 3), 1, (const int[]){0}, false),
                 "amin(): Expected reduction dim 0 to have non-zero size.");
    /* torch.ones(2, 3).amax((0, 0)) */
    ASSERT_ERROR(cg_amax(ONES(0, 2, 3), 2, (const int[]){0, 0}, false),
                 "dim 0 appears multiple times in the list of dims");
    /* torch.ones(0, 3).amax(1) is an empty tensor */
    cg_tensor *e = cg_amax(ONES(0, 0, 3), 1, (const int[]){1}, false);
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(cg_numel(e), 0);
    /* torch.tensor([1., nan]).amax() is nan */
    cg_tensor *x = cg_from_data((const float[]){1, NAN}, CG_SHAPE(2), 0);
    ASSERT(isnan(cg_item(cg_amax(x, 0, NULL, false))));
}

TEST(test_err_topk_and_sort) {
    /* torch.ones(3).topk(4), torch.ones(3).topk(-1), torch.ones((), dtype=torch.bool).topk(2) */
    ASSERT_ERROR(cg_topk(ONES(0, 3), 4, -1, 0, NULL), "selected index k out of range");
    ASSERT_ERROR(cg_topk(ONES(0, 3), -1, -1, 0, NULL), "selected index k out of range");
    ASSERT_ERROR(cg_topk(cg_scalar(1, CG_BOOL), 2, -1, 0, NULL), "selected index k out of range");
    /* torch.ones(3, dtype=torch.bool).topk(1) */
    ASSERT_ERROR(cg_topk(ONES(CG_BOOL, 3), 1, -1, 0, NULL),
                 "\"topk_cpu\" not implemented for 'Bool'");
    /* torch.tensor([1., nan, 0.]).sort(): values [0, 1, nan], indices [2, 0, 1];
     * .topk(2): values [nan, 1], indices [1, 0] */
    cg_tensor *x = cg_from_data((const float[]){1, NAN, 0}, CG_SHAPE(3), 0), *ix = NULL;
    cg_tensor *s = cg_sort(x, 0, false, &ix);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(cg_get(s, (int64_t[]){0}), 0.0);
    ASSERT(isnan(cg_get(s, (int64_t[]){2})));
    ASSERT_EQ(cg_get(ix, (int64_t[]){0}), 2.0);
    ASSERT_EQ(cg_get(ix, (int64_t[]){2}), 1.0);
    cg_tensor *t = cg_topk(x, 2, 0, 0, &ix);
    ASSERT(isnan(cg_get(t, (int64_t[]){0})));
    ASSERT_EQ(cg_get(ix, (int64_t[]){1}), 0.0);
    /* torch.tensor([1., nan, 0.]).argsort(descending=True) is [1, 0, 2] */
    cg_tensor *as = cg_argsort(x, 0, true);
    ASSERT_EQ(cg_dtype_of(as), CG_INT64);
    ASSERT_EQ(cg_get(as, (int64_t[]){0}), 1.0);
    ASSERT_EQ(cg_get(as, (int64_t[]){2}), 2.0);
}

TEST(test_err_roll_flip_movedim) {
    cg_tensor *a = ONES(0, 3);
    /* torch.ones(3).roll(1, (0, 0)), .roll((1, 2), 0), .roll((), ()) */
    ASSERT_ERROR(cg_roll(a, 1, (const int64_t[]){1}, 2, (const int[]){0, 0}),
                 "shifts and dimensions must align. shifts: 1, dims:2");
    ASSERT_ERROR(cg_roll(a, 2, (const int64_t[]){1, 2}, 1, (const int[]){0}),
                 "shifts and dimensions must align. shifts: 2, dims:1");
    ASSERT_ERROR(cg_roll(a, 0, NULL, 0, NULL), "`shifts` required");
    /* torch.ones(3, 2).flip((0, 0)) */
    ASSERT_ERROR(cg_flip(ONES(0, 3, 2), 2, (const int[]){0, 0}),
                 "dim 0 appears multiple times in the list of dims");
    /* torch.ones(3, 2).movedim((0, 1), (1, 1)), .movedim((0, 0), (1, 0)) */
    ASSERT_ERROR(cg_movedim(ONES(0, 3, 2), 2, (const int[]){0, 1}, (const int[]){1, 1}),
                 "movedim: repeated dim in `destination` ([1, 1])");
    ASSERT_ERROR(cg_movedim(ONES(0, 3, 2), 2, (const int[]){0, 0}, (const int[]){1, 0}),
                 "movedim: repeated dim in `source` ([0, 0])");
}

TEST(test_unbind_room) {
    /* torch.tensor(1.).unbind(0) */
    int n = 4;
    cg_tensor *out[4];
    ASSERT_ERROR(cg_unbind(cg_scalar(1, 0), 0, &n, out),
                 "Dimension specified as 0 but tensor has no dimensions");
    /* out NULL counts; too little room is an error */
    cg_tensor *a = ONES(0, 3, 2);
    n = 0;
    ASSERT_EQ(cg_unbind(a, 0, &n, NULL), 0);
    ASSERT_EQ(n, 3);
    n = 2;
    ASSERT_ERROR(cg_unbind(a, 0, &n, out), "3 pieces do not fit in out[2]");
    n = 4;
    ASSERT_EQ(cg_unbind(a, 1, &n, out), 0);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(cg_ndim(out[0]), 1);
}

TEST(test_null_inputs) {
    int n = 1;
    ASSERT_NULL(cg_amax(NULL, 0, NULL, false));
    ASSERT_NULL(cg_cumsum(NULL, 0));
    ASSERT_NULL(cg_sort(NULL, 0, false, NULL));
    ASSERT_NULL(cg_argsort(NULL, 0, false));
    ASSERT_NULL(cg_topk(NULL, 1, 0, 0, NULL));
    ASSERT_NULL(cg_flip(NULL, 0, NULL));
    ASSERT_NULL(cg_roll(NULL, 0, NULL, 0, NULL));
    ASSERT_EQ(cg_unbind(NULL, 0, &n, NULL), -1);
    ASSERT_NULL(cg_movedim(NULL, 0, NULL, NULL));
}

TEST_MAIN(test_err_dims, test_err_amax, test_err_topk_and_sort, test_err_roll_flip_movedim,
          test_unbind_room, test_null_inputs)
