/* Error paths of the index family (src/ops/index.c, src/ops/shape.c), with
 * PyTorch 1.13's exact messages (the Python expression that printed each is
 * in the comment beside it; x = torch.ones(3, 4), s = torch.ones(())); NULL
 * tensors; and what the generated op tests cannot reach: gradients through
 * several pieces of one split (summed by hand), split's out-array protocol,
 * views sharing storage, flatten returning its input, second derivatives. */
#include "test.h"

#include <stdint.h>

#define ONES(...) cg_ones(CG_SHAPE(__VA_ARGS__), 0)
#define ONES_D(dt, ...) cg_ones(CG_SHAPE(__VA_ARGS__), (dt))
/* torch.tensor([...]) of int64 indices, 1-D */
#define IDX(...)                                                                                   \
    cg_from_data((const int64_t[]){__VA_ARGS__},                                                   \
                 CG_SHAPE((int64_t)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))),    \
                 CG_INT64)
#define IDX2(r, c, ...) cg_from_data((const int64_t[]){__VA_ARGS__}, CG_SHAPE(r, c), CG_INT64)
#define IDX0(v) cg_from_data((const int64_t[]){v}, CG_SCALAR_SHAPE, CG_INT64)

#define DIM_RANGE(lo, hi, got)                                                                     \
    "Dimension out of range (expected to be in range of [" #lo ", " #hi "], but got " #got ")"

static bool values_are(cg_tensor *t, int n, const double *want) {
    if (!t || cg_numel(t) != n) {
        fprintf(stderr, "  %lld elements, expected %d\n", (long long)cg_numel(t), n);
        return false;
    }
    int nd = cg_ndim(t);
    const int64_t *sh = cg_shape(t);
    int64_t idx[CG_MAX_DIMS] = {0};
    for (int i = 0; i < n; i++) {
        double x = cg_get(t, idx);
        if (x != want[i]) {
            fprintf(stderr, "  element %d: %.9g, expected %.9g\n", i, x, want[i]);
            return false;
        }
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < sh[d]) break;
            idx[d] = 0;
        }
    }
    return true;
}
#define VALUES(t, ...)                                                                             \
    values_are((t), (int)(sizeof((const double[]){__VA_ARGS__}) / sizeof(double)),                 \
               (const double[]){__VA_ARGS__})

/* 0, 1, 2, ... as a float64 tensor of the given shape (requires grad) */
static cg_tensor *iota(int nd, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= shape[i];
    cg_tensor *t = cg_arange(0, (double)n, 1, CG_FLOAT64);
    return cg_requires_grad_(cg_detach(cg_reshape(t, nd, shape)), true);
}

/* ------------------------------------------------------- narrow, slice */

TEST(test_err_narrow) {
    cg_tensor *x = ONES(3, 4), *s = ONES();
    /* s.narrow(0, 0, 1) */
    ASSERT_ERROR(cg_narrow(s, 0, 0, 1), "narrow() cannot be applied to a 0-dim tensor.");
    /* x.narrow(2, 0, 1) */
    ASSERT_ERROR(cg_narrow(x, 2, 0, 1), DIM_RANGE(-2, 1, 2));
    /* x.narrow(1, -5, 1); x.narrow(1, 5, 0): start is wrapped like a dim */
    ASSERT_ERROR(cg_narrow(x, 1, -5, 1), DIM_RANGE(-4, 3, -5));
    ASSERT_ERROR(cg_narrow(x, 1, 5, 0), DIM_RANGE(-4, 3, 5));
    /* x.narrow(1, 3, 2); x.narrow(-1, -1, 2) (start printed wrapped); x.narrow(1, 1, -1) */
    ASSERT_ERROR(cg_narrow(x, 1, 3, 2), "start (3) + length (2) exceeds dimension size (4).");
    ASSERT_ERROR(cg_narrow(x, -1, -1, 2), "start (3) + length (2) exceeds dimension size (4).");
    ASSERT_ERROR(cg_narrow(x, 1, 1, -1), "start (1) + length (-1) exceeds dimension size (4).");
    /* torch.ones(0, 2).narrow(0, 1, 0): a size-0 dim wraps positions like a 0-d tensor */
    ASSERT_ERROR(cg_narrow(ONES(0, 2), 0, 1, 0), DIM_RANGE(-1, 0, 1));
    /* and these work: x.narrow(1, 4, 0), torch.ones(0, 2).narrow(0, -1, 0) */
    ASSERT_EQ(cg_size(cg_narrow(x, 1, 4, 0), 1), 0);
    ASSERT_EQ(cg_size(cg_narrow(ONES(0, 2), 0, -1, 0), 0), 0);
}

TEST(test_err_slice) {
    cg_tensor *x = ONES(3, 4);
    /* torch.ops.aten.slice(s, 0, 0, 1, 1) */
    ASSERT_ERROR(cg_slice(ONES(), 0, 0, 1, 1), "slice() cannot be applied to a 0-dim tensor.");
    /* torch.ops.aten.slice(x, 5, 0, 1, 1) */
    ASSERT_ERROR(cg_slice(x, 5, 0, 1, 1), DIM_RANGE(-2, 1, 5));
    /* torch.ops.aten.slice(x, 1, 0, 4, 0) and (..., -1) */
    ASSERT_ERROR(cg_slice(x, 1, 0, 4, 0), "slice step must be positive");
    ASSERT_ERROR(cg_slice(x, 1, 0, 4, -1), "slice step must be positive");
}

TEST(test_slice_values_and_views) {
    cg_tensor *x = iota(CG_SHAPE(3, 4));
    /* x[:, -100:100] is all of x; x[:, 3:1] is empty; x[:, 1::2] = columns 1, 3 */
    ASSERT_EQ(cg_size(cg_slice(x, 1, -100, 100, 1), 1), 4);
    ASSERT_EQ(cg_size(cg_slice(x, 1, 3, 1, 1), 1), 0);
    cg_tensor *c = cg_slice(x, 1, 1, INT64_MAX, 2);
    ASSERT(VALUES(c, 1, 3, 5, 7, 9, 11));
    ASSERT(cg_shares_storage(c, x));
    ASSERT_EQ(cg_strides(c)[1], 2);
    /* x[-2:] along dim 0; narrow(1, -2, 2) */
    ASSERT(VALUES(cg_slice(x, 0, -2, INT64_MAX, 1), 4, 5, 6, 7, 8, 9, 10, 11));
    ASSERT(VALUES(cg_narrow(x, 1, -2, 2), 2, 3, 6, 7, 10, 11));
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(cg_narrow(x, 1, 0, 1))), "SliceBackward0");
    /* a select of a narrow: storage offset adds up */
    cg_tensor *e = cg_select(cg_narrow(x, 0, 1, 2), 1, -1);
    ASSERT(VALUES(e, 7, 11));
    ASSERT_EQ(cg_storage_offset(e), 7);
    ASSERT(cg_shares_storage(e, x));
}

/* ---------------------------------------------------------------- select */

TEST(test_err_select) {
    cg_tensor *x = ONES(3, 4);
    /* s.select(0, 0) */
    ASSERT_ERROR(cg_select(ONES(), 0, 0), "select() cannot be applied to a 0-dim tensor.");
    /* x.select(2, 0) */
    ASSERT_ERROR(cg_select(x, 2, 0), DIM_RANGE(-2, 1, 2));
    /* x.select(0, 3); x.select(0, -4); x.select(-1, 9) (the dim printed wrapped) */
    ASSERT_ERROR(cg_select(x, 0, 3),
                 "select(): index 3 out of range for tensor of size [3, 4] at dimension 0");
    ASSERT_ERROR(cg_select(x, 0, -4),
                 "select(): index -4 out of range for tensor of size [3, 4] at dimension 0");
    ASSERT_ERROR(cg_select(x, -1, 9),
                 "select(): index 9 out of range for tensor of size [3, 4] at dimension 1");
    /* torch.ones(0, 3).select(0, 0) */
    ASSERT_ERROR(cg_select(ONES(0, 3), 0, 0),
                 "select(): index 0 out of range for tensor of size [0, 3] at dimension 0");
}

/* ---------------------------------------------------------- index_select */

TEST(test_err_index_select) {
    cg_tensor *x = ONES(3, 4);
    /* x.index_select(2, torch.tensor([0])) */
    ASSERT_ERROR(cg_index_select(x, 2, IDX(0)), DIM_RANGE(-2, 1, 2));
    /* x.index_select(1, torch.tensor([[0]])) */
    ASSERT_ERROR(cg_index_select(x, 1, IDX2(1, 1, 0)),
                 "index_select(): Index is supposed to be a vector");
    /* x.index_select(1, torch.tensor([0.])) */
    ASSERT_ERROR(cg_index_select(x, 1, ONES(1)),
                 "index_select(): Expected dtype int32 or int64 for index");
    /* PyTorch words an index out of range two ways, by the kernel it takes:
     * x.index_select(1, torch.tensor([0, 4])), x.index_select(1, torch.tensor([0, -1])) */
    ASSERT_ERROR(cg_index_select(x, 1, IDX(0, 4)),
                 "INDICES element is out of DATA bounds, id=4 axis_dim=4");
    ASSERT_ERROR(cg_index_select(x, 1, IDX(0, -1)),
                 "INDICES element is out of DATA bounds, id=-1 axis_dim=4");
    /* torch.ones(2,3,4).index_select(-2, torch.tensor([7])) */
    ASSERT_ERROR(cg_index_select(ONES(2, 3, 4), -2, IDX(7)),
                 "INDICES element is out of DATA bounds, id=7 axis_dim=3");
    /* x.index_select(0, torch.tensor([3])), torch.ones(5).index_select(0, torch.tensor([7])),
     * torch.ones(2,3,4).index_select(2, torch.tensor([7])) */
    ASSERT_ERROR(cg_index_select(x, 0, IDX(3)), "index out of range in self");
    ASSERT_ERROR(cg_index_select(ONES(5), 0, IDX(7)), "index out of range in self");
    ASSERT_ERROR(cg_index_select(ONES(2, 3, 4), 2, IDX(7)), "index out of range in self");
    /* empty input: torch.ones(0, 4).index_select(0, torch.tensor([0])),
     * torch.ones(0, 4).index_select(1, torch.tensor([7])),
     * torch.ones(2, 3, 0).index_select(0, torch.tensor([5])) */
    ASSERT_ERROR(cg_index_select(ONES(0, 4), 0, IDX(0)),
                 "index_select(): self indexing axis dim should be positive");
    ASSERT_ERROR(cg_index_select(ONES(0, 4), 1, IDX(7)),
                 "INDICES element is out of DATA bounds, id=7 axis_dim=4");
    ASSERT_ERROR(cg_index_select(ONES(2, 3, 0), 0, IDX(5)),
                 "INDICES element is out of DATA bounds, id=5 axis_dim=2");
    /* s.index_select(0, torch.tensor([1])) */
    ASSERT_ERROR(cg_index_select(ONES(), 0, IDX(1)), "index out of range in self");
    /* s.index_select(0, torch.tensor([0, 0])): PyTorch 1.13 returns a 0-d tensor
     * whose backward fails; this is the message of later versions */
    ASSERT_ERROR(cg_index_select(ONES(), 0, IDX(0, 0)),
                 "index_select(): Index to scalar can have only 1 value, got 2 value(s)");
}

TEST(test_index_select_values) {
    cg_tensor *x = iota(CG_SHAPE(3, 4));
    cg_tensor *y = cg_index_select(x, 1, IDX(3, 0, 3));
    ASSERT(VALUES(y, 3, 0, 3, 7, 4, 7, 11, 8, 11));
    /* the gradient counts how often each column was picked */
    ASSERT_EQ(cg_backward(cg_sum(y), NULL, false), 0);
    ASSERT(VALUES(cg_grad(x), 1, 0, 0, 2, 1, 0, 0, 2, 1, 0, 0, 2));
    /* a 0-d index keeps the dim: x.index_select(0, torch.tensor(2)) has shape (1, 4) */
    cg_tensor *z = cg_index_select(x, 0, IDX0(2));
    ASSERT_EQ(cg_ndim(z), 2);
    ASSERT(VALUES(z, 8, 9, 10, 11));
}

/* ---------------------------------------------------------------- gather */

TEST(test_err_gather) {
    cg_tensor *x = ONES(3, 4);
    /* x.gather(2, torch.zeros(1, 1, dtype=torch.long)) */
    ASSERT_ERROR(cg_gather(x, 2, IDX2(1, 1, 0)), DIM_RANGE(-2, 1, 2));
    /* x.gather(1, torch.tensor([0.])): the dtype is checked before the dims */
    ASSERT_ERROR(cg_gather(x, 1, ONES(1)), "gather(): Expected dtype int64 for index");
    /* x.gather(1, torch.tensor([0])) */
    ASSERT_ERROR(cg_gather(x, 1, IDX(0)),
                 "Index tensor must have the same number of dimensions as input tensor");
    /* x.gather(1, torch.zeros(4, 1, dtype=torch.long)) */
    ASSERT_ERROR(cg_gather(x, 1, IDX2(4, 1, 0, 0, 0, 0)),
                 "Size does not match at dimension 0 expected index [4, 1] to be smaller than "
                 "self [3, 4] apart from dimension 1");
    /* x.gather(1, torch.tensor([[0, 4]])), x.gather(1, torch.tensor([[0, -1]])) */
    ASSERT_ERROR(cg_gather(x, 1, IDX2(1, 2, 0, 4)),
                 "index 4 is out of bounds for dimension 1 with size 4");
    ASSERT_ERROR(cg_gather(x, -1, IDX2(1, 2, 0, -1)),
                 "index -1 is out of bounds for dimension 1 with size 4");
    /* s.gather(0, torch.tensor(1)) */
    ASSERT_ERROR(cg_gather(ONES(), 0, IDX0(1)),
                 "index 1 is out of bounds for dimension 0 with size 1");
    /* an empty index is not checked: x.gather(0, torch.zeros(0, dtype=torch.float)) */
    ASSERT_EQ(cg_numel(cg_gather(x, 0, ONES(0))), 0);
}

TEST(test_gather_scatter_values) {
    cg_tensor *x = iota(CG_SHAPE(2, 3));
    /* x.gather(1, [[2, 2], [0, 1]]) */
    cg_tensor *ix = IDX2(2, 2, 2, 2, 0, 1);
    cg_tensor *g = cg_gather(x, 1, ix);
    ASSERT(VALUES(g, 2, 2, 3, 4));
    ASSERT_EQ(cg_backward(cg_sum(g), NULL, false), 0);
    ASSERT(VALUES(cg_grad(x), 0, 0, 2, 1, 1, 0));
    /* zeros(2, 3).scatter_add(1, ix, [[1, 2], [3, 4]]): duplicates add */
    cg_tensor *src = cg_from_data((const double[]){1, 2, 3, 4}, CG_SHAPE(2, 2), CG_FLOAT64);
    ASSERT(
        VALUES(cg_scatter_add(cg_zeros(CG_SHAPE(2, 3), CG_FLOAT64), 1, ix, src), 0, 0, 3, 3, 4, 0));
    /* bool scatter_add is a logical or; int64 adds */
    cg_tensor *b = cg_scatter_add(ONES_D(CG_BOOL, 2, 3), 1, ix, cg_zeros(CG_SHAPE(2, 2), CG_BOOL));
    ASSERT_EQ(cg_dtype_of(b), CG_BOOL);
    ASSERT(VALUES(b, 1, 1, 1, 1, 1, 1));
    ASSERT(VALUES(cg_scatter_add(ONES_D(CG_INT64, 2, 3), 1, ix, ONES_D(CG_INT64, 2, 2)), 1, 1, 3, 2,
                  2, 1));
}

/* ----------------------------------------------------------- scatter_add */

TEST(test_err_scatter_add) {
    cg_tensor *x = ONES(3, 4), *b = ONES(2, 2);
    /* x.scatter_add(3, torch.zeros(1, 1, dtype=torch.long), torch.ones(2, 2)) */
    ASSERT_ERROR(cg_scatter_add(x, 3, IDX2(1, 1, 0), b), DIM_RANGE(-2, 1, 3));
    /* x.scatter_add(1, torch.zeros(1, 1), torch.ones(2, 2)) */
    ASSERT_ERROR(cg_scatter_add(x, 1, ONES(1, 1), b), "scatter(): Expected dtype int64 for index");
    /* x.scatter_add(1, torch.tensor([[0, 2]]), torch.ones(2, 2).double()) */
    ASSERT_ERROR(cg_scatter_add(x, 1, IDX2(1, 2, 0, 2), ONES_D(CG_FLOAT64, 2, 2)),
                 "scatter(): Expected self.dtype to be equal to src.dtype");
    /* x.scatter_add(1, torch.tensor([0, 1]), torch.ones(2, 2)) */
    ASSERT_ERROR(cg_scatter_add(x, 1, IDX(0, 1), b),
                 "Index tensor must have the same number of dimensions as self tensor");
    /* x.scatter_add(0, torch.tensor([[0]]), torch.ones(5, 5, 5)) */
    ASSERT_ERROR(cg_scatter_add(x, 0, IDX2(1, 1, 0), ONES(5, 5, 5)),
                 "Index tensor must have the same number of dimensions as src tensor");
    /* x.scatter_add(0, torch.tensor([[0]]), torch.ones(5)): PyTorch reads src.size(1) first */
    ASSERT_ERROR(cg_scatter_add(x, 0, IDX2(1, 1, 0), ONES(5)), DIM_RANGE(-1, 0, 1));
    /* x.scatter_add(1, torch.tensor([[0, 2, 1]]), torch.ones(2, 2)) */
    ASSERT_ERROR(cg_scatter_add(x, 1, IDX2(1, 3, 0, 2, 1), b),
                 "Expected index [1, 3] to be smaller than self [3, 4] apart from dimension 1 and "
                 "to be smaller size than src [2, 2]");
    /* x.scatter_add(0, torch.zeros(3, 5, dtype=torch.long), torch.ones(3, 5)) */
    ASSERT_ERROR(cg_scatter_add(x, 0, cg_zeros(CG_SHAPE(3, 5), CG_INT64), ONES(3, 5)),
                 "Expected index [3, 5] to be smaller than self [3, 4] apart from dimension 0 and "
                 "to be smaller size than src [3, 5]");
    /* x.scatter_add(1, torch.tensor([[0, 4]]), torch.ones(2, 2)) */
    ASSERT_ERROR(cg_scatter_add(x, 1, IDX2(1, 2, 0, 4), b),
                 "index 4 is out of bounds for dimension 1 with size 4");
    /* x = torch.randn(3, 4, requires_grad=True); src = torch.randn(2, 3, requires_grad=True);
     * x.scatter_add(0, torch.zeros(1, 2, dtype=torch.long), src).sum().backward():
     * src larger than the index gets a gradient of the index's shape */
    cg_tensor *xs = cg_ones(CG_SHAPE(3, 4), CG_REQUIRES_GRAD);
    cg_tensor *ss = cg_ones(CG_SHAPE(2, 3), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_scatter_add(xs, 0, cg_zeros(CG_SHAPE(1, 2), CG_INT64), ss);
    ASSERT_NOT_NULL(y);
    ASSERT_ERROR(
        cg_backward(cg_sum(y), NULL, false),
        "Function ScatterAddBackward0 returned an invalid gradient at index 1 - got [1, 2] "
        "but expected shape compatible with [2, 3]");
}

/* ----------------------------------------------------------- masked_fill */

TEST(test_err_masked_fill) {
    cg_tensor *x = ONES(3, 4);
    /* torch.ones(4).masked_fill(torch.ones(3, dtype=torch.bool), 1.): the mask is "a" */
    ASSERT_ERROR(cg_masked_fill(ONES(4), ONES_D(CG_BOOL, 3), 1),
                 "The size of tensor a (3) must match the size of tensor b (4) at non-singleton "
                 "dimension 0");
    /* x.masked_fill(torch.tensor([1, 0, 1, 0]), 2.): PyTorch 1.13 accepts integer masks
     * holding 0 and 1 and silently ignores floating ones; later versions refuse
     * both with this message */
    ASSERT_ERROR(cg_masked_fill(x, ONES_D(CG_INT64, 4), 2),
                 "masked_fill only supports boolean masks, but got dtype Long");
    ASSERT_ERROR(cg_masked_fill(x, ONES(4), 2),
                 "masked_fill only supports boolean masks, but got dtype Float");
    /* torch.ones(2, dtype=torch.long).masked_fill(torch.ones(2, dtype=torch.bool), float('nan')) */
    ASSERT_ERROR(cg_masked_fill(ONES_D(CG_INT64, 2), ONES_D(CG_BOOL, 2), NAN),
                 "value cannot be converted to type int64_t without overflow");
    ASSERT_ERROR(cg_masked_fill(ONES_D(CG_INT64, 2), ONES_D(CG_BOOL, 2), 1e30),
                 "value cannot be converted to type int64_t without overflow");
    /* torch.ones(2).masked_fill(torch.ones(2, dtype=torch.bool), 1e300) */
    ASSERT_ERROR(cg_masked_fill(ONES(2), ONES_D(CG_BOOL, 2), 1e300),
                 "value cannot be converted to type float without overflow");
    /* fine: inf in float32, anything in bool, 1e300 in float64 */
    ASSERT_NOT_NULL(cg_masked_fill(ONES(2), ONES_D(CG_BOOL, 2), INFINITY));
    ASSERT_NOT_NULL(cg_masked_fill(ONES_D(CG_BOOL, 2), ONES_D(CG_BOOL, 2), NAN));
    ASSERT_NOT_NULL(cg_masked_fill(ONES_D(CG_FLOAT64, 2), ONES_D(CG_BOOL, 2), 1e300));
    /* int64 values truncate: torch.ones(2, dtype=torch.long).masked_fill(m, -2.7) is -2 */
    cg_tensor *m = cg_from_data((const bool[]){true, false}, CG_SHAPE(2), CG_BOOL);
    ASSERT(VALUES(cg_masked_fill(ONES_D(CG_INT64, 2), m, -2.7), -2, 1));
    /* a broadcast by the mask: torch.ones(3, 1).masked_fill(m, 0.) has shape (3, 2) */
    cg_tensor *y = cg_masked_fill(ONES(3, 1), m, 0);
    ASSERT(VALUES(y, 0, 1, 0, 1, 0, 1));
}

/* ------------------------------------------------------------- cat, stack */

TEST(test_err_cat) {
    cg_tensor *x = ONES(3, 4), *s = ONES();
    /* torch.cat([], 0) */
    ASSERT_ERROR(cg_cat(0, NULL, 0), "torch.cat(): expected a non-empty list of Tensors");
    /* torch.cat([x, s], 5): zero-dim tensors are found before the dim is checked */
    ASSERT_ERROR(cg_cat(2, (cg_tensor *[]){x, s}, 5),
                 "zero-dimensional tensor (at position 1) cannot be concatenated");
    /* torch.cat([x, x], 2), torch.cat([x, x], -3) */
    ASSERT_ERROR(cg_cat(2, (cg_tensor *[]){x, x}, 2), DIM_RANGE(-2, 1, 2));
    ASSERT_ERROR(cg_cat(2, (cg_tensor *[]){x, x}, -3), DIM_RANGE(-2, 1, -3));
    /* torch.cat([x, torch.zeros(0), torch.ones(3)], 0): the 1-D empty tensor is skipped */
    ASSERT_ERROR(cg_cat(3, (cg_tensor *[]){x, ONES(0), ONES(3)}, 0),
                 "Tensors must have same number of dimensions: got 2 and 1");
    /* torch.cat([x, torch.ones(2, 2)], 0), torch.cat([x, torch.ones(2, 2)], 1) */
    ASSERT_ERROR(
        cg_cat(2, (cg_tensor *[]){x, ONES(2, 2)}, 0),
        "Sizes of tensors must match except in dimension 0. Expected size 4 but got size 2 "
        "for tensor number 1 in the list.");
    ASSERT_ERROR(
        cg_cat(2, (cg_tensor *[]){x, ONES(2, 2)}, 1),
        "Sizes of tensors must match except in dimension 1. Expected size 3 but got size 2 "
        "for tensor number 1 in the list.");
    /* torch.cat([torch.zeros(0), torch.zeros(0)], 5): nothing to wrap the dim against */
    cg_tensor *e = cg_cat(2, (cg_tensor *[]){ONES(0), ONES(0)}, 5);
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(cg_ndim(e), 1);
    ASSERT_EQ(cg_numel(e), 0);
}

TEST(test_cat_values) {
    /* torch.cat([bool, int64, float64 transposed], 1): promoted to float64 */
    cg_tensor *b = cg_from_data((const bool[]){true, false}, CG_SHAPE(2, 1), CG_BOOL);
    cg_tensor *i = cg_from_data((const int64_t[]){7, 8}, CG_SHAPE(2, 1), CG_INT64);
    cg_tensor *f = cg_t(cg_from_data((const double[]){0.5, 1.5, 2.5, 3.5}, CG_SHAPE(2, 2),
                                     CG_FLOAT64 | CG_REQUIRES_GRAD));
    cg_tensor *y = cg_cat(3, (cg_tensor *[]){b, i, f}, -1);
    ASSERT_EQ(cg_dtype_of(y), CG_FLOAT64);
    ASSERT(VALUES(y, 1, 7, 0.5, 2.5, 0, 8, 1.5, 3.5));
    /* CatBackward0 has an edge per input, None for those without grad */
    cg_node *n = cg_grad_fn(y);
    ASSERT_STR_EQ(cg_node_name(n), "CatBackward0");
    ASSERT_EQ(cg_node_num_next(n), 3);
    ASSERT_NULL(cg_node_next(n, 0, NULL));
    ASSERT_STR_EQ(cg_node_name(cg_node_next(n, 2, NULL)), "TBackward0");
}

TEST(test_err_stack) {
    cg_tensor *x = ONES(3, 4);
    /* torch.stack([], 0) */
    ASSERT_ERROR(cg_stack(0, NULL, 0), "stack expects a non-empty TensorList");
    /* torch.stack([x, x], 3) */
    ASSERT_ERROR(cg_stack(2, (cg_tensor *[]){x, x}, 3), DIM_RANGE(-3, 2, 3));
    /* torch.stack([x, torch.ones(3, 5)], 2), torch.stack([x, s], 0) */
    ASSERT_ERROR(cg_stack(2, (cg_tensor *[]){x, ONES(3, 5)}, 2),
                 "stack expects each tensor to be equal size, but got [3, 4] at entry 0 and [3, 5] "
                 "at entry 1");
    ASSERT_ERROR(cg_stack(2, (cg_tensor *[]){x, ONES()}, 0),
                 "stack expects each tensor to be equal size, but got [3, 4] at entry 0 and [] at "
                 "entry 1");
    /* torch.stack([s, s], 1) */
    ASSERT_ERROR(cg_stack(2, (cg_tensor *[]){ONES(), ONES()}, 1), DIM_RANGE(-1, 0, 1));
}

/* ---------------------------------------------------------- split, chunk */

TEST(test_err_split) {
    cg_tensor *x = ONES(3, 4), *out[8];
    int n = 8;
    /* s.split(1, 0) */
    ASSERT_ERROR(cg_split(ONES(), 1, 0, &n, out), "split expects at least a 1-dimensional tensor");
    /* x.split(-1, 5): the size is checked before the dim */
    ASSERT_ERROR(cg_split(x, -1, 5, &n, out),
                 "split expects split_size be non-negative, but got split_size=-1");
    /* x.split(2, 2) */
    ASSERT_ERROR(cg_split(x, 2, 2, &n, out), DIM_RANGE(-2, 1, 2));
    /* x.split(0, 1) */
    ASSERT_ERROR(cg_split(x, 0, 1, &n, out),
                 "split_size can only be 0 if dimension size is 0, but got dimension size of 4");
    /* x.split([1, 2], 1), x.split([1, 2], -1) (the dim printed as given) */
    ASSERT_ERROR(cg_split_with_sizes(x, 2, (const int64_t[]){1, 2}, 1, out),
                 "split_with_sizes expects split_sizes to sum exactly to 4 (input tensor's size at "
                 "dimension 1), but got split_sizes=[1, 2]");
    ASSERT_ERROR(cg_split_with_sizes(x, 2, (const int64_t[]){1, 2}, -1, out),
                 "split_with_sizes expects split_sizes to sum exactly to 4 (input tensor's size at "
                 "dimension -1), but got split_sizes=[1, 2]");
    /* x.split([], 1) */
    ASSERT_ERROR(cg_split_with_sizes(x, 0, NULL, 1, out),
                 "split_with_sizes expects split_sizes to sum exactly to 4 (input tensor's size at "
                 "dimension 1), but got split_sizes=[]");
    /* x.split([5, -1, 0], -1) */
    ASSERT_ERROR(cg_split_with_sizes(x, 3, (const int64_t[]){5, -1, 0}, -1, out),
                 "split_with_sizes expects split_sizes have only non-negative entries, but got "
                 "split_sizes=[5, -1, 0]");
    /* x.split_with_sizes([1, 3], 2); s.split([1], 0) */
    ASSERT_ERROR(cg_split_with_sizes(x, 2, (const int64_t[]){1, 3}, 2, out), DIM_RANGE(-2, 1, 2));
    ASSERT_ERROR(cg_split_with_sizes(ONES(), 1, (const int64_t[]){1}, 0, out),
                 "split expects at least a 1-dimensional tensor");
    /* s.chunk(1, 0), x.chunk(0, 5) (chunks before the dim), x.chunk(2, 2) */
    ASSERT_ERROR(cg_chunk(ONES(), 1, 0, &n, out), "chunk expects at least a 1-dimensional tensor");
    ASSERT_ERROR(cg_chunk(x, 0, 5, &n, out), "chunk expects `chunks` to be greater than 0, got: 0");
    ASSERT_ERROR(cg_chunk(x, -1, 1, &n, out),
                 "chunk expects `chunks` to be greater than 0, got: -1");
    ASSERT_ERROR(cg_chunk(x, 2, 2, &n, out), DIM_RANGE(-2, 1, 2));
}

TEST(test_split_out_array) {
    cg_tensor *x = ONES(7, 2), *out[4];
    /* out NULL: only the count */
    int n = 0;
    ASSERT_EQ(cg_split(x, 2, 0, &n, NULL), 0);
    ASSERT_EQ(n, 4);
    /* too little room: an error, and the count needed */
    n = 3;
    ASSERT_ERROR(cg_split(x, 2, 0, &n, out), "4 pieces do not fit in out[3]");
    ASSERT_EQ(n, 4);
    n = 4;
    ASSERT_EQ(cg_split(x, 2, 0, &n, out), 0);
    ASSERT_EQ(n, 4);
    ASSERT_EQ(cg_size(out[3], 0), 1);
    /* chunk: x.chunk(3) makes pieces of 3, 3, 1; torch.ones(2, 3).chunk(4) makes 2 */
    n = 4;
    ASSERT_EQ(cg_chunk(x, 3, 0, &n, out), 0);
    ASSERT_EQ(n, 3);
    ASSERT_EQ(cg_size(out[2], 0), 1);
    n = 4;
    ASSERT_EQ(cg_chunk(ONES(2, 3), 4, 0, &n, out), 0);
    ASSERT_EQ(n, 2);
    /* torch.ones(0, 3).chunk(2) makes 2 empty pieces (split_with_sizes) */
    n = 4;
    cg_tensor *e = cg_ones(CG_SHAPE(0, 3), CG_REQUIRES_GRAD);
    ASSERT_EQ(cg_chunk(e, 2, 0, &n, out), 0);
    ASSERT_EQ(n, 2);
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(out[1])), "SplitWithSizesBackward0");
    /* the pieces are views of x */
    ASSERT(cg_shares_storage(out[0], e));
    ASSERT_EQ(cg_split(NULL, 2, 0, &n, out), -1);
}

/* The gradient through several outputs of one split node: the engine sums
 * each piece's gradient into its block and gives zeros to the unused ones. */
TEST(test_split_several_outputs) {
    cg_tensor *x = iota(CG_SHAPE(6)); /* 0 1 2 3 4 5 */
    cg_tensor *p[3];
    int n = 3;
    ASSERT_EQ(cg_split(x, 2, 0, &n, p), 0);
    ASSERT_EQ(n, 3);
    ASSERT_PTR_EQ(cg_grad_fn(p[0]), cg_grad_fn(p[2]));
    /* y = sum(3 * p0) + sum(p2 * p2) + sum(p0 * p2): p1 unused */
    cg_tensor *y = cg_add(cg_add(cg_sum(cg_mul_scalar(p[0], 3)), cg_sum(cg_mul(p[2], p[2]))),
                          cg_sum(cg_mul(p[0], p[2])));
    ASSERT_EQ(cg_backward(y, NULL, false), 0);
    /* dy/dp0 = 3 + p2 = (7, 8); dy/dp1 = 0; dy/dp2 = 2 p2 + p0 = (8, 11) */
    ASSERT(VALUES(cg_grad(x), 7, 8, 0, 0, 8, 11));
    /* the node's outputs: next_functions of the MulBackward0 name slots 0 and 2 */
    cg_tensor *m = cg_mul(p[0], p[2]);
    int nr0 = -1, nr1 = -1;
    ASSERT_PTR_EQ(cg_node_next(cg_grad_fn(m), 0, &nr0), cg_node_next(cg_grad_fn(m), 1, &nr1));
    ASSERT_EQ(nr0, 0);
    ASSERT_EQ(nr1, 2);
    /* second order through a split: d2/dx2 of sum(p2^3) is 6 p2 on p2's block */
    cg_tensor *x2 = iota(CG_SHAPE(4));
    n = 2;
    ASSERT_EQ(cg_split(x2, 2, 0, &n, p), 0);
    cg_tensor *g;
    ASSERT_EQ(cg_autograd_grad(1, (cg_tensor *[]){cg_sum(cg_pow_scalar(p[1], 3))}, NULL, 1, &x2,
                               CG_RETAIN_GRAPH | CG_CREATE_GRAPH, &g),
              0);
    ASSERT(VALUES(g, 0, 0, 12, 27)); /* 3 p^2 */
    ASSERT_EQ(cg_backward(cg_sum(g), NULL, false), 0);
    ASSERT(VALUES(cg_grad(x2), 0, 0, 12, 18)); /* 6 p */
}

/* --------------------------------------------------------------- flatten */

TEST(test_err_flatten) {
    cg_tensor *x = ONES(2, 3, 4);
    /* torch.ones(2,3,4).flatten(1, 0), x.flatten(-1, -2) */
    ASSERT_ERROR(cg_flatten(x, 1, 0),
                 "flatten() has invalid args: start_dim cannot come after end_dim");
    ASSERT_ERROR(cg_flatten(x, -1, -2),
                 "flatten() has invalid args: start_dim cannot come after end_dim");
    /* x.flatten(0, 5), s.flatten(1, 1) */
    ASSERT_ERROR(cg_flatten(x, 0, 5), DIM_RANGE(-3, 2, 5));
    ASSERT_ERROR(cg_flatten(ONES(), 1, 1), DIM_RANGE(-1, 0, 1));
    /* x.flatten(1, 1) is x itself; s.flatten() has shape (1,) */
    ASSERT_PTR_EQ(cg_flatten(x, 1, 1), x);
    ASSERT_EQ(cg_ndim(cg_flatten(ONES(), 0, -1)), 1);
    cg_tensor *f = cg_flatten(x, 1, -1);
    ASSERT_EQ(cg_ndim(f), 2);
    ASSERT_EQ(cg_size(f, 1), 12);
    ASSERT(cg_shares_storage(f, x));
}

/* ---------------------------------------------------------------- repeat */

TEST(test_err_repeat) {
    cg_tensor *x = ONES(3, 4);
    /* x.repeat(2) */
    ASSERT_ERROR(cg_repeat(x, 1, (const int64_t[]){2}),
                 "Number of dimensions of repeat dims can not be smaller than number of dimensions "
                 "of tensor");
    /* x.repeat(-1, 1), x.repeat(1, 2, -1) */
    ASSERT_ERROR(cg_repeat(x, 2, (const int64_t[]){-1, 1}),
                 "Trying to create tensor with negative dimension -3: [-3, 4]");
    ASSERT_ERROR(cg_repeat(x, 3, (const int64_t[]){1, 2, -1}),
                 "Trying to create tensor with negative dimension -4: [1, 6, -4]");
    /* torch.ones(0, 2).repeat(-1, 1) works: 0 * -1 is 0 */
    ASSERT_EQ(cg_numel(cg_repeat(ONES(0, 2), 2, (const int64_t[]){-1, 1})), 0);
    /* [1, 2].repeat(2, 2) */
    cg_tensor *y = cg_repeat(cg_from_data((const float[]){1, 2}, CG_SHAPE(2), 0), 2,
                             (const int64_t[]){2, 2});
    ASSERT(VALUES(y, 1, 2, 1, 2, 1, 2, 1, 2));
}

/* ------------------------------------------------------------ triu, tril */

TEST(test_err_triangle) {
    /* s.triu(), s.tril() */
    ASSERT_ERROR(cg_triu(ONES(), 0), "Dimension specified as -2 but tensor has no dimensions");
    ASSERT_ERROR(cg_tril(ONES(), 0), "Dimension specified as -2 but tensor has no dimensions");
    /* torch.ones(3).triu(), torch.ones(3).tril(1) */
    ASSERT_ERROR(cg_triu(ONES(3), 0), DIM_RANGE(-1, 0, -2));
    ASSERT_ERROR(cg_tril(ONES(3), 1), DIM_RANGE(-1, 0, -2));
    cg_tensor *x = iota(CG_SHAPE(3, 3));
    ASSERT(VALUES(cg_triu(x, 1), 0, 1, 2, 0, 0, 5, 0, 0, 0));
    ASSERT(VALUES(cg_tril(x, -1), 0, 0, 0, 3, 0, 0, 6, 7, 0));
}

/* ----------------------------------------------------------------- NULL */

TEST(test_null_tensors) {
    cg_tensor *x = ONES(3, 4), *ix = IDX(0), *out[2];
    int n = 2;
    cg_clear_error();
    {
        ASSERT_NULL(cg_narrow(NULL, 0, 0, 1));
        ASSERT_NULL(cg_slice(NULL, 0, 0, 1, 1));
        ASSERT_NULL(cg_select(NULL, 0, 0));
        ASSERT_NULL(cg_index_select(NULL, 0, ix));
        ASSERT_NULL(cg_index_select(x, 0, NULL));
        ASSERT_NULL(cg_gather(NULL, 0, ix));
        ASSERT_NULL(cg_gather(x, 0, NULL));
        ASSERT_NULL(cg_scatter_add(NULL, 0, ix, x));
        ASSERT_NULL(cg_scatter_add(x, 0, NULL, x));
        ASSERT_NULL(cg_scatter_add(x, 0, ix, NULL));
        ASSERT_NULL(cg_masked_fill(NULL, x, 0));
        ASSERT_NULL(cg_masked_fill(x, NULL, 0));
        ASSERT_NULL(cg_cat(2, (cg_tensor *[]){x, NULL}, 0));
        ASSERT_NULL(cg_cat(2, NULL, 0));
        ASSERT_NULL(cg_stack(2, (cg_tensor *[]){NULL, x}, 0));
        ASSERT_EQ(cg_split(NULL, 1, 0, &n, out), -1);
        ASSERT_EQ(cg_split_with_sizes(NULL, 1, (const int64_t[]){1}, 0, out), -1);
        ASSERT_EQ(cg_chunk(NULL, 1, 0, &n, out), -1);
        ASSERT_NULL(cg_flatten(NULL, 0, -1));
        ASSERT_NULL(cg_repeat(NULL, 1, (const int64_t[]){1}));
        ASSERT_NULL(cg_triu(NULL, 0));
        ASSERT_NULL(cg_tril(NULL, 0));
    }
    ASSERT_NULL(cg_last_error());
    /* a nested failure reports the inner error once */
    ASSERT_ERROR(cg_sum(cg_narrow(cg_select(x, 0, 5), 0, 0, 1)),
                 "select(): index 5 out of range for tensor of size [3, 4] at dimension 0");
}

TEST_MAIN(test_err_narrow, test_err_slice, test_slice_values_and_views, test_err_select,
          test_err_index_select, test_index_select_values, test_err_gather,
          test_gather_scatter_values, test_err_scatter_add, test_err_masked_fill, test_err_cat,
          test_cat_values, test_err_stack, test_err_split, test_split_out_array,
          test_split_several_outputs, test_err_flatten, test_err_repeat, test_err_triangle,
          test_null_tensors)
