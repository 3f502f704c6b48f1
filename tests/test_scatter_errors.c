/* Error paths of the scatter and advanced-indexing families
 * (src/ops/scatter.c, advindex.c), with PyTorch 1.13's exact messages (the
 * Python expression that printed each is in the comment beside it; a =
 * torch.ones(3, 4), i = torch.tensor([0, 2])), NULL inputs, and index_add's
 * integer and bool arithmetic. */
#include "test.h"

#define ONES(dt, ...) cg_ones(CG_SHAPE(__VA_ARGS__), (dt))
#define IDX(...)                                                                                   \
    cg_from_data((const int64_t[]){__VA_ARGS__},                                                   \
                 CG_SHAPE((int64_t)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))),    \
                 CG_INT64)

TEST(test_err_index_add) {
    cg_tensor *a = ONES(0, 3, 4), *i = IDX(0, 2);
    /* a.index_add(0, i, torch.ones(2, 4).double()) */
    ASSERT_ERROR(cg_index_add(a, 0, i, ONES(CG_FLOAT64, 2, 4), 1),
                 "index_add_(): self (Float) and source (Double) must have the same scalar type");
    /* a.index_add(0, i, torch.ones(3, 4)) */
    ASSERT_ERROR(cg_index_add(a, 0, i, ONES(0, 3, 4), 1),
                 "index_add_(): Number of indices (2) should be equal to source.size(dim): (3), "
                 "for dim: 0");
    /* a.index_add(0, torch.tensor([5, 0]), torch.ones(2, 4)) */
    ASSERT_ERROR(cg_index_add(a, 0, IDX(5, 0), ONES(0, 2, 4), 1), "index out of range in self");
    /* a.index_add(0, torch.tensor([[0]]), torch.ones(1, 4)) */
    ASSERT_ERROR(cg_index_add(a, 0, cg_reshape(IDX(0), 2, (const int64_t[]){1, 1}), ONES(0, 1, 4),
                              1),
                 "index_add_(): Index is supposed to be a vector, but got dim: 2 with type: Long "
                 "and size: [1, 1]");
    /* torch.ones(3, dtype=torch.long).index_add(0, torch.tensor([0]), torch.ones(1,
     * dtype=torch.long), alpha=2.5) is [3, 1, 1]: alpha cast to 2 */
    cg_tensor *r = cg_index_add(ONES(CG_INT64, 3), 0, IDX(0), ONES(CG_INT64, 1), 2.5);
    ASSERT_NOT_NULL(r);
    ASSERT_EQ(cg_get(r, (int64_t[]){0}), 3.0);
}

TEST(test_err_scatter) {
    cg_tensor *a = ONES(0, 3, 4), *i2 = cg_reshape(IDX(0, 1), 2, (const int64_t[]){1, 2});
    /* a.scatter(0, torch.tensor([[0, 1]]), torch.ones(1, 2).double()) */
    ASSERT_ERROR(cg_scatter(a, 0, i2, ONES(CG_FLOAT64, 1, 2)),
                 "scatter(): Expected self.dtype to be equal to src.dtype");
    /* a.scatter(0, torch.tensor([0, 1]), torch.ones(1, 2)) */
    ASSERT_ERROR(cg_scatter(a, 0, IDX(0, 1), ONES(0, 1, 2)),
                 "Index tensor must have the same number of dimensions as self tensor");
    /* a.scatter(0, torch.tensor([[5, 1]]), torch.ones(1, 2)) */
    ASSERT_ERROR(cg_scatter(a, 0, cg_reshape(IDX(5, 1), 2, (const int64_t[]){1, 2}), ONES(0, 1, 2)),
                 "index 5 is out of bounds for dimension 0 with size 3");
    /* a.scatter(0, torch.tensor([[0, 1, 2, 0, 1]]), torch.ones(1, 5)) */
    cg_tensor *i5 = cg_reshape(IDX(0, 1, 2, 0, 1), 2, (const int64_t[]){1, 5});
    ASSERT_ERROR(cg_scatter(a, 0, i5, ONES(0, 1, 5)),
                 "Expected index [1, 5] to be smaller than self [3, 4] apart from dimension 0 and "
                 "to be smaller size than src [1, 5]");
    /* a.scatter(0, torch.tensor([[0, 1]]).double(), 1.0) */
    ASSERT_ERROR(cg_scatter_value(a, 0, cg_to(i2, CG_FLOAT64), 1.0),
                 "scatter(): Expected dtype int64 for index");
}

TEST(test_err_index_put) {
    cg_tensor *a = ONES(0, 3, 4), *i = IDX(0, 1);
    /* a.index_put((i,), torch.ones(2, 4).double()) */
    ASSERT_ERROR(cg_index_put(a, 1, &i, ONES(CG_FLOAT64, 2, 4), 0),
                 "Index put requires the source and destination dtypes match, got Float for the "
                 "destination and Double for the source.");
    /* a.index_put((i,), torch.ones(3)) */
    ASSERT_ERROR(cg_index_put(a, 1, &i, ONES(0, 3), 0),
                 "shape mismatch: value tensor of shape [3] cannot be broadcast to indexing "
                 "result of shape [2, 4]");
    /* a.index_put((torch.tensor([5]),), torch.ones(4)) */
    cg_tensor *i5 = IDX(5), *three[3] = {IDX(0), IDX(0), IDX(0)};
    ASSERT_ERROR(cg_index_put(a, 1, &i5, ONES(0, 4), 0),
                 "index 5 is out of bounds for dimension 0 with size 3");
    /* a.index_put((torch.tensor([0]),) * 3, torch.ones(1)) */
    ASSERT_ERROR(cg_index_put(a, 3, three, ONES(0, 1), 0),
                 "too many indices for tensor of dimension 2 (got 3)");
    /* a.index_put((torch.ones(2, dtype=torch.bool),), torch.ones(1)) */
    cg_tensor *m2 = ONES(CG_BOOL, 2), *f = cg_to(i, CG_FLOAT32);
    ASSERT_ERROR(cg_index_put(a, 1, &m2, ONES(0, 1), 0),
                 "The shape of the mask [2] at index 0 does not match the shape of the indexed "
                 "tensor [3, 4] at index 0");
    /* a.index_put((torch.tensor([0, 1]).float(),), torch.ones(1)) */
    ASSERT_ERROR(cg_index_put(a, 1, &f, ONES(0, 1), 0),
                 "tensors used as indices must be long, byte or bool tensors");
    ASSERT_ERROR(cg_index(a, 1, &f), "tensors used as indices must be long, byte or bool tensors");
}

TEST(test_err_masked_select) {
    cg_tensor *a = ONES(0, 3, 4);
    /* a.masked_select(torch.ones(5, dtype=torch.bool)) */
    ASSERT_ERROR(cg_masked_select(a, ONES(CG_BOOL, 5)),
                 "The size of tensor a (5) must match the size of tensor b (4) at non-singleton "
                 "dimension 1");
    /* a.masked_select(torch.ones(4)) */
    ASSERT_ERROR(cg_masked_select(a, ONES(0, 4)),
                 "masked_select: expected BoolTensor or ByteTensor for mask");
}

TEST(test_null_inputs) {
    cg_tensor *a = ONES(0, 3), *i = IDX(0);
    ASSERT_NULL(cg_index_add(a, 0, NULL, a, 1));
    ASSERT_NULL(cg_scatter(a, 0, i, NULL));
    ASSERT_NULL(cg_scatter_value(NULL, 0, i, 1));
    ASSERT_NULL(cg_index(NULL, 1, &i));
    ASSERT_NULL(cg_index_put(a, 1, &i, NULL, 0));
    ASSERT_NULL(cg_masked_select(a, NULL));
}

TEST_MAIN(test_err_index_add, test_err_scatter, test_err_index_put, test_err_masked_select,
          test_null_inputs)
