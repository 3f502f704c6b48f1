/* Error paths of the loss family (src/ops/loss.c), with PyTorch 1.13's exact
 * messages (the Python expression that printed each is in the comment beside
 * it; F is torch.nn.functional); NULL tensors; and the behaviours the
 * generated op tests cannot reach: a weight that requires grad under no_grad,
 * NaN of an empty or all-ignored mean, the saved target modified in place,
 * second derivatives of cross_entropy against PyTorch's values. */
#include "test.h"

#include <stdint.h>

#define ONES(...) cg_ones(CG_SHAPE(__VA_ARGS__), 0)
#define ONES_D(dt, ...) cg_ones(CG_SHAPE(__VA_ARGS__), (dt))
#define ZEROS_L(...) cg_zeros(CG_SHAPE(__VA_ARGS__), CG_INT64)
#define I64(...)                                                                                   \
    cg_from_data((const int64_t[]){__VA_ARGS__},                                                   \
                 CG_SHAPE((int64_t)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))),    \
                 CG_INT64)
#define MEAN CG_REDUCTION_MEAN
#define SUM CG_REDUCTION_SUM
#define NONE CG_REDUCTION_NONE

#define NOT_DIFF(fn, arg)                                                                          \
    "The function '" fn "' is not differentiable with respect to argument '" arg "'. "             \
    "This input cannot have requires_grad True."
#define NEG_BOOL                                                                                   \
    "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "         \
    "invert a mask, use the `~` or `logical_not()` operator instead."
#define BOOL_SUB                                                                                   \
    "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "              \
    "trying to invert a mask, use the `~` or `logical_not()` operator instead."

/* ---------------------------------------------------------------- nll_loss */

TEST(test_err_nll_shapes) {
    cg_tensor *x = ONES(3, 5), *t = I64(1, 0, 4);
    /* F.nll_loss(torch.randn(()), torch.tensor(1)) */
    ASSERT_ERROR(cg_nll_loss(cg_scalar(1, 0), cg_scalar(1, CG_INT64), NULL, -100, MEAN),
                 "Expected 1 or more dimensions (got 0)");
    /* F.nll_loss(torch.randn(3,5), torch.tensor([1,0])) */
    ASSERT_ERROR(cg_nll_loss(x, I64(1, 0), NULL, -100, MEAN),
                 "Expected input batch_size (3) to match target batch_size (2).");
    /* F.nll_loss(torch.randn(3,5), torch.tensor(1)) */
    ASSERT_ERROR(cg_nll_loss(x, cg_scalar(1, CG_INT64), NULL, -100, MEAN),
                 "Expected input batch_size (3) to match target batch_size (0).");
    /* F.nll_loss(torch.randn(0,5), torch.tensor(1)) */
    ASSERT_ERROR(cg_nll_loss(ONES(0, 5), cg_scalar(1, CG_INT64), NULL, -100, MEAN),
                 "Dimension specified as 0 but tensor has no dimensions");
    /* F.nll_loss(torch.randn(3,5), torch.tensor([[1,0],[2,2],[0,0]])) */
    ASSERT_ERROR(cg_nll_loss(x, ZEROS_L(3, 2), NULL, -100, MEAN),
                 "0D or 1D target tensor expected, multi-target not supported");
    /* F.nll_loss(torch.randn(5), torch.tensor([[1,0],[2,2],[0,0]])) */
    ASSERT_ERROR(cg_nll_loss(ONES(5), ZEROS_L(3, 2), NULL, -100, MEAN),
                 "0D or 1D target tensor expected, multi-target not supported");
    /* F.nll_loss(torch.randn(5), torch.tensor([1])) */
    ASSERT_ERROR(cg_nll_loss(ONES(5), I64(1), NULL, -100, MEAN),
                 "size mismatch (got input: [5], target: [1])");
    /* F.nll_loss(torch.randn(3,5), torch.tensor([1,0,4]), weight=torch.rand(4)) */
    ASSERT_ERROR(cg_nll_loss(x, t, ONES(4), -100, MEAN),
                 "weight tensor should be defined either for all 5 classes or no classes but got "
                 "weight tensor of shape: [4]");
    /* F.nll_loss(torch.randn(3,5), torch.tensor([1,0,4]), weight=torch.rand(5,1)) */
    ASSERT_ERROR(cg_nll_loss(x, t, ONES(5, 1), -100, MEAN),
                 "weight tensor should be defined either for all 5 classes or no classes but got "
                 "weight tensor of shape: [5, 1]");
}

TEST(test_err_nll_spatial_shapes) {
    /* F.nll_loss(torch.randn(2,3,4), torch.randint(0,3,(2,5))) */
    ASSERT_ERROR(cg_nll_loss(ONES(2, 3, 4), ZEROS_L(2, 5), NULL, -100, MEAN),
                 "Expected target size [2, 4], got [2, 5]");
    /* F.nll_loss(torch.randn(2,3,4), torch.randint(0,3,(2,))) */
    ASSERT_ERROR(cg_nll_loss(ONES(2, 3, 4), ZEROS_L(2), NULL, -100, MEAN),
                 "Expected target size [2, 4], got [2]");
    /* F.nll_loss(torch.randn(2,3,4), torch.randint(0,3,(3,4))) */
    ASSERT_ERROR(cg_nll_loss(ONES(2, 3, 4), ZEROS_L(3, 4), NULL, -100, MEAN),
                 "Expected input batch_size (2) to match target batch_size (3).");
    /* F.nll_loss(torch.randn(2,3,4,5,6), torch.randint(0,3,(2,4,5,7))) */
    ASSERT_ERROR(cg_nll_loss(ONES(2, 3, 4, 5, 6), ZEROS_L(2, 4, 5, 7), NULL, -100, MEAN),
                 "Expected target size [2, 4, 5, 6], got [2, 4, 5, 7]");
    /* F.nll_loss(torch.randn(2,3,4,5), torch.randint(0,3,(2,4))) */
    ASSERT_ERROR(cg_nll_loss(ONES(2, 3, 4, 5), ZEROS_L(2, 4), NULL, -100, MEAN),
                 "only batches of spatial targets supported (3D tensors) but got targets of "
                 "dimension: 2");
    /* F.nll_loss(torch.randn(2,3,4,5), torch.randint(0,3,(2,4,4))) */
    ASSERT_ERROR(cg_nll_loss(ONES(2, 3, 4, 5), ZEROS_L(2, 4, 4), NULL, -100, MEAN),
                 "size mismatch (got input: [2, 3, 4, 5] , target: [2, 4, 4]");
    /* F.nll_loss(torch.randn(2,3,4,5), torch.randint(0,3,(2,4,5)), weight=torch.rand(4)) */
    ASSERT_ERROR(cg_nll_loss(ONES(2, 3, 4, 5), ZEROS_L(2, 4, 5), ONES(4), -100, MEAN),
                 "weight tensor should be defined either for all or no classes");
    /* a (3, 1) weight is fine for nll_loss2d:
     * F.nll_loss(torch.randn(2,3,4,5), torch.randint(0,3,(2,4,5)), weight=torch.rand(3,1)) */
    ASSERT(cg_nll_loss(ONES(2, 3, 4, 5), ZEROS_L(2, 4, 5), ONES(3, 1), -100, MEAN));
}

TEST(test_err_nll_dtypes) {
    cg_tensor *x = ONES(3, 5), *t = I64(1, 0, 4);
    /* F.nll_loss(torch.randn(3,5).long(), torch.tensor([1,0,4])) */
    ASSERT_ERROR(cg_nll_loss(ONES_D(CG_INT64, 3, 5), t, NULL, -100, MEAN),
                 "\"nll_loss_out_frame\" not implemented for 'Long'");
    /* F.nll_loss(torch.randn(3,5) > 0, torch.tensor([1,0,4]), reduction='none') */
    ASSERT_ERROR(cg_nll_loss(ONES_D(CG_BOOL, 3, 5), t, NULL, -100, NONE),
                 "\"nll_loss_out_frame\" not implemented for 'Bool'");
    /* F.nll_loss(torch.randn(2,3,4).long(), torch.randint(0,3,(2,4))) */
    ASSERT_ERROR(cg_nll_loss(ONES_D(CG_INT64, 2, 3, 4), ZEROS_L(2, 4), NULL, -100, MEAN),
                 "\"nll_loss2d_forward_out_frame\" not implemented for 'Long'");
    /* F.nll_loss(torch.randn(3,5), torch.tensor([1,0,4]), weight=torch.rand(5).double()) */
    ASSERT_ERROR(cg_nll_loss(x, t, ONES_D(CG_FLOAT64, 5), -100, MEAN),
                 "expected scalar type Float but found Double");
    /* F.nll_loss(torch.randn(3,5).double(), torch.tensor([1,0,4]), weight=torch.rand(5)) */
    ASSERT_ERROR(cg_nll_loss(ONES_D(CG_FLOAT64, 3, 5), t, ONES(5), -100, MEAN),
                 "expected scalar type Double but found Float");
    /* F.nll_loss(torch.randn(3,5), torch.tensor([1.,0,2])): the weight's check first
     * F.nll_loss(torch.randn(3,5), torch.tensor([1,0,4.]), weight=torch.rand(5).double()) */
    ASSERT_ERROR(cg_nll_loss(x, ONES(3), NULL, -100, MEAN),
                 "expected scalar type Long but found Float");
    ASSERT_ERROR(cg_nll_loss(x, ONES(3), ONES_D(CG_FLOAT64, 5), -100, MEAN),
                 "expected scalar type Float but found Double");
    /* F.nll_loss(torch.randn(3,5), torch.tensor([True,False,True])) */
    ASSERT_ERROR(cg_nll_loss(x, ONES_D(CG_BOOL, 3), NULL, -100, MEAN),
                 "expected scalar type Long but found Bool");
    /* F.nll_loss(torch.randn(2,3,4), torch.randint(0,3,(2,4)).float()) */
    ASSERT_ERROR(cg_nll_loss(ONES(2, 3, 4), ONES(2, 4), NULL, -100, MEAN),
                 "expected scalar type Long but found Float");
}

TEST(test_err_nll_target_bounds) {
    cg_tensor *x = ONES(3, 5);
    /* F.nll_loss(torch.randn(3,5), torch.tensor([1,0,5])) */
    ASSERT_ERROR(cg_nll_loss(x, I64(1, 0, 5), NULL, -100, MEAN), "Target 5 is out of bounds.");
    /* F.nll_loss(torch.randn(3,5), torch.tensor([1,-1,4])) */
    ASSERT_ERROR(cg_nll_loss(x, I64(1, -1, 4), NULL, -100, MEAN), "Target -1 is out of bounds.");
    /* F.nll_loss(torch.randn(3,5), torch.tensor([1,7,4]), reduction='none') */
    ASSERT_ERROR(cg_nll_loss(x, I64(1, 7, 4), NULL, -100, NONE), "Target 7 is out of bounds.");
    /* F.nll_loss(torch.randn(5), torch.tensor(7)) */
    ASSERT_ERROR(cg_nll_loss(ONES(5), cg_scalar(7, CG_INT64), NULL, -100, SUM),
                 "Target 7 is out of bounds.");
    /* F.nll_loss(torch.randn(2,3,2,2), torch.tensor([[[-5,1],[1,1]]]*2)) */
    cg_tensor *t4 = cg_from_data((const int64_t[]){-5, 1, 1, 1, 0, 0, 0, 0}, CG_SHAPE(2, 2, 2),
                                 CG_INT64);
    ASSERT_ERROR(cg_nll_loss(ONES(2, 3, 2, 2), t4, NULL, -100, MEAN),
                 "Target -5 is out of bounds.");
    /* F.nll_loss(torch.randn(3,0), torch.tensor([0,0,0])) */
    ASSERT_ERROR(cg_nll_loss(ONES(3, 0), I64(0, 0, 0), NULL, -100, MEAN),
                 "Target 0 is out of bounds.");
    /* an ignored target may lie outside [0, C): F.nll_loss(torch.randn(3,5), torch.tensor([1,7,4]),
     * ignore_index=7) */
    ASSERT(cg_nll_loss(x, I64(1, 7, 4), NULL, 7, MEAN));
}

TEST(test_err_nll_weight_requires_grad) {
    cg_tensor *x = cg_ones(CG_SHAPE(3, 5), CG_REQUIRES_GRAD), *t = I64(1, 0, 4);
    cg_tensor *w = cg_ones(CG_SHAPE(5), CG_REQUIRES_GRAD);
    /* F.nll_loss(torch.randn(3,5,requires_grad=True), torch.tensor([1,0,4]),
     *            weight=torch.rand(5,requires_grad=True)) */
    ASSERT_ERROR(cg_nll_loss(x, t, w, -100, MEAN), NOT_DIFF("nll_loss_forward", "weight"));
    /* before the weight's shape: F.nll_loss(torch.randn(3,5), torch.tensor([1,0,4]),
     * weight=torch.rand(4, requires_grad=True)) */
    ASSERT_ERROR(cg_nll_loss(ONES(3, 5), t, cg_ones(CG_SHAPE(4), CG_REQUIRES_GRAD), -100, MEAN),
                 NOT_DIFF("nll_loss_forward", "weight"));
    /* F.nll_loss(torch.randn(2,3,4), torch.randint(0,3,(2,4)),
     * weight=torch.rand(3,requires_grad=True)) */
    ASSERT_ERROR(cg_nll_loss(ONES(2, 3, 4), ZEROS_L(2, 4), cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD),
                             -100, MEAN),
                 NOT_DIFF("nll_loss2d_forward", "weight"));
    /* cross_entropy: the same check, in its nll_loss
     * F.cross_entropy(torch.randn(3,5), torch.tensor([1,2,3]), weight=torch.rand(5,
     * requires_grad=True)) */
    ASSERT_ERROR(cg_cross_entropy(ONES(3, 5), I64(1, 2, 3), w, -100, MEAN, 0),
                 NOT_DIFF("nll_loss_forward", "weight"));
    ASSERT_ERROR(cg_cross_entropy(ONES(3, 5), I64(1, 2, 3), w, -100, MEAN, 0.2),
                 NOT_DIFF("nll_loss_forward", "weight"));
    /* fine under no_grad: with torch.no_grad(): F.nll_loss(x, t, weight=w) */
    cg_tensor *r = NULL;
    CG_NO_GRAD { r = cg_nll_loss(x, t, w, -100, MEAN); }
    ASSERT(r);
    ASSERT(!cg_requires_grad(r));
}

TEST(test_err_reduction) {
    cg_tensor *x = ONES(3, 5), *t = I64(1, 0, 4);
    /* F.nll_loss(x, t, reduction='foo'): "foo is not a valid value for reduction" */
    ASSERT_ERROR(cg_nll_loss(x, t, NULL, -100, (cg_reduction)3),
                 "3 is not a valid value for reduction");
    ASSERT_ERROR(cg_cross_entropy(x, t, NULL, -100, (cg_reduction)-1, 0),
                 "-1 is not a valid value for reduction");
    ASSERT_ERROR(cg_binary_cross_entropy_with_logits(x, ONES(5), NULL, NULL, (cg_reduction)7),
                 "7 is not a valid value for reduction");
    /* mse_loss broadcasts first: F.mse_loss(torch.randn(3,5), torch.rand(4), reduction='foo') */
    ASSERT_ERROR(cg_mse_loss(x, ONES(4), (cg_reduction)3),
                 "The size of tensor a (5) must match the size of tensor b (4) at non-singleton "
                 "dimension 1");
    ASSERT_ERROR(cg_mse_loss(x, ONES(5), (cg_reduction)3), "3 is not a valid value for reduction");
}

/* ----------------------------------------------------------- cross_entropy */

TEST(test_err_cross_entropy) {
    cg_tensor *x = ONES(3, 5), *t = I64(1, 2, 3);
    /* F.cross_entropy(torch.randn(3,5), torch.tensor([1,2,3]), label_smoothing=1.5) */
    ASSERT_ERROR(cg_cross_entropy(x, t, NULL, -100, MEAN, 1.5),
                 "label_smoothing must be between 0.0 and 1.0. Got: 1.5");
    /* F.cross_entropy(torch.randn(3,5), torch.tensor([1,2,3]), label_smoothing=2.0) */
    ASSERT_ERROR(cg_cross_entropy(x, t, NULL, -100, MEAN, 2.0),
                 "label_smoothing must be between 0.0 and 1.0. Got: 2");
    /* F.cross_entropy(torch.randn(3,5), torch.rand(3,5), label_smoothing=1.5) */
    ASSERT_ERROR(cg_cross_entropy(x, ONES(3, 5), NULL, -100, MEAN, 1.5),
                 "label_smoothing must be between 0.0 and 1.0. Got: 1.5");
    /* F.cross_entropy(torch.randn(3,5), torch.tensor([1,2,9])) (and with label smoothing) */
    ASSERT_ERROR(cg_cross_entropy(x, I64(1, 2, 9), NULL, -100, MEAN, 0),
                 "Target 9 is out of bounds.");
    ASSERT_ERROR(cg_cross_entropy(x, I64(1, 2, 9), NULL, -100, NONE, 0.2),
                 "Target 9 is out of bounds.");
    /* F.cross_entropy(torch.randn(3,5), torch.tensor([1,2,3,4]), label_smoothing=0.2) */
    ASSERT_ERROR(cg_cross_entropy(x, I64(1, 2, 3, 4), NULL, -100, MEAN, 0.2),
                 "Expected input batch_size (3) to match target batch_size (4).");
    /* F.cross_entropy(torch.randn(3,5), torch.tensor([1,2,3]), weight=torch.rand(4),
     * label_smoothing=0.2) */
    ASSERT_ERROR(cg_cross_entropy(x, t, ONES(4), -100, MEAN, 0.2),
                 "weight tensor should be defined either for all 5 classes or no classes but got "
                 "weight tensor of shape: [4]");
    /* F.cross_entropy(torch.randn(3,5), torch.tensor([1,2,3]).float()) — not the input's shape */
    ASSERT_ERROR(cg_cross_entropy(x, ONES(3), NULL, -100, MEAN, 0),
                 "expected scalar type Long but found Float");
    /* F.cross_entropy(torch.randn(3,5), torch.tensor([1,2,3]), label_smoothing=0.2,
     *                 weight=torch.rand(5).double()) */
    ASSERT_ERROR(cg_cross_entropy(x, t, ONES_D(CG_FLOAT64, 5), -100, MEAN, 0.2),
                 "expected scalar type Float but found Double");
    /* F.cross_entropy(torch.randn(3,5).long(), torch.tensor([1,2,3])) (log_softmax's message) */
    ASSERT_ERROR(cg_cross_entropy(ONES_D(CG_INT64, 3, 5), t, NULL, -100, MEAN, 0),
                 "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'");
    /* a 0-d weight passes nll_loss2d for one class, not the smoothing's weight.size(0):
     * F.cross_entropy(torch.randn(2,1,2,2), torch.zeros(2,2,2).long(), weight=torch.tensor(2.),
     *                 label_smoothing=0.1) */
    ASSERT_ERROR(cg_cross_entropy(ONES(2, 1, 2, 2), ZEROS_L(2, 2, 2), cg_scalar(2, 0), -100, MEAN,
                                  0.1),
                 "Dimension specified as 0 but tensor has no dimensions");
    ASSERT(cg_cross_entropy(ONES(2, 1, 2, 2), ZEROS_L(2, 2, 2), cg_scalar(2, 0), -100, MEAN, 0));
    /* F.cross_entropy(torch.randn(()), torch.tensor([1,2])) */
    ASSERT_ERROR(cg_cross_entropy(cg_scalar(1, 0), I64(1, 2), NULL, -100, MEAN, 0),
                 "Dimension out of range (expected to be in range of [-1, 0], but got 1)");
}

TEST(test_err_cross_entropy_probabilities) {
    cg_tensor *x = ONES(3, 5);
    /* F.cross_entropy(torch.randn(3), torch.tensor([1,0,0])) */
    ASSERT_ERROR(cg_cross_entropy(ONES(3), I64(1, 0, 0), NULL, -100, MEAN, 0),
                 "Expected floating point type for target with class probabilities, got Long");
    /* F.cross_entropy(torch.randn(()), torch.tensor(1)) */
    ASSERT_ERROR(cg_cross_entropy(cg_scalar(1, 0), cg_scalar(1, CG_INT64), NULL, -100, MEAN, 0),
                 "Expected floating point type for target with class probabilities, got Long");
    /* F.cross_entropy(torch.randn(3), torch.tensor([1.,0.,0.]), ignore_index=1) */
    ASSERT_ERROR(cg_cross_entropy(ONES(3), ONES(3), NULL, 1, MEAN, 0),
                 "ignore_index is not supported for floating point target");
    /* F.cross_entropy(torch.randn(3,5), torch.rand(3,5), weight=torch.rand(4)) */
    ASSERT_ERROR(cg_cross_entropy(x, ONES(3, 5), ONES(4), -100, MEAN, 0),
                 "cross_entropy: weight tensor should be defined either for all 5 classes or no "
                 "classes but got weight tensor of shape: [4]");
    /* F.cross_entropy(torch.randn(3,5).long(), torch.rand(3,5)) */
    ASSERT_ERROR(cg_cross_entropy(ONES_D(CG_INT64, 3, 5), ONES(3, 5), NULL, -100, MEAN, 0),
                 "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'");
    /* F.cross_entropy(torch.randn(()), torch.tensor(1.)) */
    ASSERT_ERROR(cg_cross_entropy(cg_scalar(1, 0), cg_scalar(1, 0), NULL, -100, MEAN, 0),
                 "Dimension out of range (expected to be in range of [-1, 0], but got 1)");
}

/* ---------------------------------------------------------------- mse_loss */

TEST(test_err_mse) {
    /* F.mse_loss(torch.randn(3,5), torch.rand(4)) */
    ASSERT_ERROR(cg_mse_loss(ONES(3, 5), ONES(4), MEAN),
                 "The size of tensor a (5) must match the size of tensor b (4) at non-singleton "
                 "dimension 1");
    /* F.mse_loss(torch.randn(3,5).long(), torch.rand(5).long()) */
    ASSERT_ERROR(cg_mse_loss(ONES_D(CG_INT64, 3, 5), ONES_D(CG_INT64, 5), MEAN),
                 "\"mse_cpu\" not implemented for 'Long'");
    /* F.mse_loss(torch.randn(3,5) > 0, torch.rand(5) > 0) */
    ASSERT_ERROR(cg_mse_loss(ONES_D(CG_BOOL, 3, 5), ONES_D(CG_BOOL, 5), NONE),
                 "\"mse_cpu\" not implemented for 'Bool'");
    /* promotion: F.mse_loss(torch.randn(3,5), torch.rand(5).double()).dtype == torch.float64,
     * F.mse_loss(torch.randn(3,5).long(), torch.rand(5)).dtype == torch.float32 */
    ASSERT_EQ(cg_dtype_of(cg_mse_loss(ONES(3, 5), ONES_D(CG_FLOAT64, 5), MEAN)), CG_FLOAT64);
    ASSERT_EQ(cg_dtype_of(cg_mse_loss(ONES_D(CG_INT64, 3, 5), ONES(5), MEAN)), CG_FLOAT32);
    /* the target may be bigger than the input: F.mse_loss(torch.randn(3,5), torch.rand(2,3,5)) */
    cg_tensor *r = cg_mse_loss(ONES(3, 5), ONES(2, 3, 5), NONE);
    ASSERT(r);
    ASSERT_EQ(cg_ndim(r), 3);
}

/* ---------------------------------------- binary_cross_entropy_with_logits */

TEST(test_err_bce_with_logits) {
    cg_tensor *x = ONES(3, 5), *y = ONES(3, 5);
#define BCE cg_binary_cross_entropy_with_logits
    /* F.binary_cross_entropy_with_logits(torch.randn(3,5), torch.rand(5)) */
    ASSERT_ERROR(
        BCE(x, ONES(5), NULL, NULL, MEAN),
        "Target size (torch.Size([5])) must be the same as input size (torch.Size([3, 5]))");
    /* F.binary_cross_entropy_with_logits(torch.randn(()), torch.rand(3)) */
    ASSERT_ERROR(BCE(cg_scalar(0, 0), ONES(3), NULL, NULL, MEAN),
                 "Target size (torch.Size([3])) must be the same as input size (torch.Size([]))");
    /* F.binary_cross_entropy_with_logits(x, y, weight=torch.rand(5, requires_grad=True)) */
    ASSERT_ERROR(BCE(x, y, cg_ones(CG_SHAPE(5), CG_REQUIRES_GRAD), NULL, MEAN),
                 NOT_DIFF("binary_cross_entropy_with_logits", "weight"));
    /* F.binary_cross_entropy_with_logits(x, y, pos_weight=torch.rand(5, requires_grad=True)) */
    ASSERT_ERROR(BCE(x, y, NULL, cg_ones(CG_SHAPE(5), CG_REQUIRES_GRAD), MEAN),
                 NOT_DIFF("binary_cross_entropy_with_logits", "pos_weight"));
    /* F.binary_cross_entropy_with_logits(x > 0, y, pos_weight=torch.rand(4) > 0) */
    ASSERT_ERROR(BCE(ONES_D(CG_BOOL, 3, 5), y, NULL, ONES_D(CG_BOOL, 4), MEAN), NEG_BOOL);
    /* F.binary_cross_entropy_with_logits(x, y > 0) and ... pos_weight=torch.rand(5) > 0) */
    ASSERT_ERROR(BCE(x, ONES_D(CG_BOOL, 3, 5), NULL, NULL, MEAN), BOOL_SUB);
    ASSERT_ERROR(BCE(x, y, NULL, ONES_D(CG_BOOL, 5), MEAN), BOOL_SUB);
    /* F.binary_cross_entropy_with_logits(x, y.long()) */
    ASSERT_ERROR(BCE(x, ONES_D(CG_INT64, 3, 5), NULL, NULL, MEAN),
                 "result type Float can't be cast to the desired output type Long");
    /* F.binary_cross_entropy_with_logits(x.double(), y.long()) */
    ASSERT_ERROR(BCE(ONES_D(CG_FLOAT64, 3, 5), ONES_D(CG_INT64, 3, 5), NULL, NULL, MEAN),
                 "result type Double can't be cast to the desired output type Long");
    /* F.binary_cross_entropy_with_logits(x.long(), y) */
    ASSERT_ERROR(BCE(ONES_D(CG_INT64, 3, 5), y, NULL, NULL, MEAN),
                 "result type Float can't be cast to the desired output type Long");
    /* F.binary_cross_entropy_with_logits(x, y, pos_weight=torch.rand(4)) (also with y.long()) */
    const char *m45 =
        "The size of tensor a (4) must match the size of tensor b (5) at non-singleton "
        "dimension 1";
    ASSERT_ERROR(BCE(x, y, NULL, ONES(4), MEAN), m45);
    ASSERT_ERROR(BCE(x, ONES_D(CG_INT64, 3, 5), NULL, ONES(4), MEAN), m45);
    /* F.binary_cross_entropy_with_logits(x, y, pos_weight=torch.rand(2,3,5)) */
    ASSERT_ERROR(BCE(x, y, NULL, ONES(2, 3, 5), MEAN),
                 "output with shape [3, 5] doesn't match the broadcast shape [2, 3, 5]");
    /* F.binary_cross_entropy_with_logits(x, y, weight=torch.rand(4)) */
    ASSERT_ERROR(BCE(x, y, ONES(4), NULL, MEAN),
                 "The size of tensor a (5) must match the size of tensor b (4) at non-singleton "
                 "dimension 1");
    /* F.binary_cross_entropy_with_logits(x, y, weight=torch.rand(2,3,5)) */
    ASSERT_ERROR(BCE(x, y, ONES(2, 3, 5), NULL, MEAN),
                 "output with shape [3, 5] doesn't match the broadcast shape [2, 3, 5]");
    /* F.binary_cross_entropy_with_logits(torch.randn(3), torch.rand(3), weight=torch.rand(1,3),
     *                                    reduction='none') */
    ASSERT_ERROR(BCE(ONES(3), ONES(3), ONES(1, 3), NULL, NONE),
                 "output with shape [3] doesn't match the broadcast shape [1, 3]");
    /* the loss takes the target's dtype; weights of any other dtype are fine:
     * F.binary_cross_entropy_with_logits(x.double(), y, pos_weight=torch.rand(5).long(),
     * weight=torch.rand(5) > 0).dtype == torch.float32 */
    cg_tensor *r = BCE(ONES_D(CG_FLOAT64, 3, 5), y, ONES_D(CG_BOOL, 5), ONES_D(CG_INT64, 5), MEAN);
    ASSERT(r);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
#undef BCE
}

/* ------------------------------------------------------------------- NULL */

TEST(test_err_null_inputs) {
    cg_tensor *x = ONES(3, 5), *t = I64(1, 0, 4);
    cg_clear_error();
    cg_nll_loss(x, t, ONES(4), -100, MEAN); /* an error to keep */
    const char *keep = "weight tensor should be defined either for all 5 classes or no classes but "
                       "got weight tensor of shape: [4]";
    ASSERT_STR_EQ(cg_last_error(), keep);
    ASSERT(!cg_nll_loss(NULL, t, NULL, -100, MEAN));
    ASSERT(!cg_nll_loss(x, NULL, NULL, -100, MEAN));
    ASSERT(!cg_cross_entropy(NULL, t, NULL, -100, MEAN, 0));
    ASSERT(!cg_cross_entropy(x, NULL, NULL, -100, MEAN, 0.1));
    ASSERT(!cg_mse_loss(NULL, x, MEAN));
    ASSERT(!cg_mse_loss(x, NULL, MEAN));
    ASSERT(!cg_binary_cross_entropy_with_logits(NULL, x, NULL, NULL, MEAN));
    ASSERT(!cg_binary_cross_entropy_with_logits(x, NULL, NULL, NULL, MEAN));
    ASSERT_STR_EQ(cg_last_error(), keep);
    cg_clear_error();
}

/* ---------------------------------------------------------------- values */

static double item(cg_tensor *t) { return t ? cg_item(t) : -12345; }

TEST(test_loss_nan_means) {
    cg_tensor *x = cg_ones(CG_SHAPE(3, 5), CG_REQUIRES_GRAD);
    /* every target ignored: F.nll_loss(x, torch.tensor([-100,-100,-100])) is nan, its
     * gradient zero; 'sum' gives 0 */
    cg_tensor *l = cg_nll_loss(x, I64(-100, -100, -100), NULL, -100, MEAN);
    ASSERT(isnan(item(l)));
    ASSERT_EQ(cg_backward(l, NULL, false), 0);
    ASSERT_NEAR(item(cg_sum(cg_abs(cg_grad(x)))), 0, 0);
    ASSERT_NEAR(item(cg_nll_loss(x, I64(-100, -100, -100), NULL, -100, SUM)), 0, 0);
    /* F.nll_loss(torch.randn(5), torch.tensor(-100)): nan; reduction='none': 0 */
    ASSERT(isnan(item(cg_nll_loss(ONES(5), cg_scalar(-100, CG_INT64), NULL, -100, MEAN))));
    ASSERT_NEAR(item(cg_nll_loss(ONES(5), cg_scalar(-100, CG_INT64), NULL, -100, NONE)), 0, 0);
    /* F.cross_entropy(x, torch.tensor([-100]*3), label_smoothing=0.2): nan, with a weight too */
    ASSERT(isnan(item(cg_cross_entropy(x, I64(-100, -100, -100), NULL, -100, MEAN, 0.2))));
    ASSERT(isnan(item(cg_cross_entropy(x, I64(-100, -100, -100), ONES(5), -100, MEAN, 0.2))));
    /* empty: F.mse_loss(torch.randn(0,3), torch.rand(0,3)) and F.nll_loss(torch.randn(0,5), ...) */
    ASSERT(isnan(item(cg_mse_loss(ONES(0, 3), ONES(0, 3), MEAN))));
    ASSERT(isnan(item(cg_nll_loss(ONES(0, 5), ZEROS_L(0), NULL, -100, MEAN))));
    ASSERT(
        isnan(item(cg_binary_cross_entropy_with_logits(ONES(0, 3), ONES(0, 3), NULL, NULL, MEAN))));
}

/* cg_linear_cross_entropy(x, w, b, t) against F.cross_entropy(F.linear(x, w, b), t) */
TEST(test_err_linear_cross_entropy) {
    cg_tensor *x = ONES(5, 3), *w = ONES(4, 3), *t = I64(1, 0, 3, 2, 1);
    /* F.cross_entropy(F.linear(torch.randn(5,3), torch.randn(4,4)), t) */
    ASSERT_ERROR(cg_linear_cross_entropy(x, ONES(4, 4), NULL, t, -100, MEAN),
                 "mat1 and mat2 shapes cannot be multiplied (5x3 and 4x4)");
    /* F.cross_entropy(F.linear(torch.randn(5,3), torch.randn(4,3), torch.randn(3)), t) */
    ASSERT_ERROR(cg_linear_cross_entropy(x, w, ONES(3), t, -100, MEAN),
                 "The expanded size of the tensor (4) must match the existing size (3) at "
                 "non-singleton dimension 1.  Target sizes: [5, 4].  Tensor sizes: [3]");
    /* F.cross_entropy(F.linear(torch.randn(5,3), torch.randn(4,3).double()), t) */
    ASSERT_ERROR(cg_linear_cross_entropy(x, ONES_D(CG_FLOAT64, 4, 3), NULL, t, -100, MEAN),
                 "expected scalar type Float but found Double");
    /* F.cross_entropy(F.linear(x, w), torch.tensor([1,0,8,2,1])) */
    ASSERT_ERROR(cg_linear_cross_entropy(x, w, NULL, I64(1, 0, 8, 2, 1), -100, SUM),
                 "Target 8 is out of bounds.");
    /* F.cross_entropy(F.linear(x, w), t[:4]) */
    ASSERT_ERROR(cg_linear_cross_entropy(x, w, NULL, I64(1, 0, 3, 2), -100, MEAN),
                 "Expected input batch_size (5) to match target batch_size (4).");
    /* F.cross_entropy(F.linear(x, w), t.float()) */
    ASSERT_ERROR(cg_linear_cross_entropy(x, w, NULL, cg_to(t, CG_FLOAT32), -100, MEAN),
                 "expected scalar type Long but found Float");
    ASSERT_ERROR(cg_linear_cross_entropy(x, w, NULL, t, -100, NONE),
                 "reduction 'none' is not supported: the fused loss is a mean or a sum");
    ASSERT_NULL(cg_linear_cross_entropy(NULL, w, NULL, t, -100, MEAN));
    /* every target ignored: nan, gradients zero (as cross_entropy's) */
    cg_tensor *xg = cg_ones(CG_SHAPE(5, 3), CG_REQUIRES_GRAD);
    cg_tensor *l = cg_linear_cross_entropy(xg, w, NULL, I64(-100, -100, -100, -100, -100), -100,
                                           MEAN);
    ASSERT(isnan(item(l)));
    ASSERT_EQ(cg_backward(l, NULL, false), 0);
    ASSERT_NEAR(item(cg_sum(cg_abs(cg_grad(xg)))), 0, 0);
}

TEST(test_loss_bce_is_stable) {
    /* F.binary_cross_entropy_with_logits(torch.tensor([-200., 200., 0.]),
     *     torch.tensor([1., 0., 0.5]), reduction='none') == [200, 200, log(2)] */
    cg_tensor *x = cg_from_data((const double[]){-200, 200, 0}, CG_SHAPE(3), CG_FLOAT64);
    cg_tensor *y = cg_from_data((const double[]){1, 0, 0.5}, CG_SHAPE(3), CG_FLOAT64);
    cg_tensor *l = cg_binary_cross_entropy_with_logits(x, y, NULL, NULL, NONE);
    ASSERT(l);
    int64_t i0 = 0, i1 = 1, i2 = 2;
    ASSERT_NEAR(cg_get(l, &i0), 200, 1e-12);
    ASSERT_NEAR(cg_get(l, &i1), 200, 1e-12);
    ASSERT_NEAR(cg_get(l, &i2), log(2.0), 1e-15);
}

TEST(test_loss_saved_target_modified) {
    cg_tensor *x = cg_ones(CG_SHAPE(3, 5), CG_REQUIRES_GRAD), *t = I64(1, 0, 4);
    cg_tensor *l = cg_nll_loss(x, t, NULL, -100, SUM);
    ASSERT(l);
    /* t[0] = 2 after the forward: backward refuses, as PyTorch does */
    int64_t i0 = 0;
    ASSERT_EQ(cg_set(t, &i0, 2), 0);
    ASSERT_EQ(cg_backward(l, NULL, false), -1);
    ASSERT(strstr(cg_last_error(), "modified by an inplace operation") != NULL);
    cg_clear_error();
}

/* Mixed float dtypes (left out of the generated dtype matrix, where torch's
 * float32 intermediates cannot meet float64's tolerance):
 *   x = torch.tensor([[0.5,-1.,2.],[0.1,0.2,-0.3]]); y = torch.tensor([[0.2,0.9,0.5],[1.,0.,0.3]])
 *   F.binary_cross_entropy_with_logits(x, y.double(), pos_weight=torch.tensor([1.,2.,3.]),
 *                                      reduction='sum')          float64 7.1226341665647901
 *   ... (x.double(), y, ...)                                     float32 7.1226339340209961
 *   F.cross_entropy(x, y.double(), label_smoothing=0.1)         float64 2.3180352431953719
 *   F.cross_entropy(x.double(), y, label_smoothing=0.1)         float64 2.3180352112610456 */
TEST(test_loss_mixed_dtypes) {
    const float xv[6] = {0.5f, -1, 2, 0.1f, 0.2f, -0.3f}, yv[6] = {0.2f, 0.9f, 0.5f, 1, 0, 0.3f};
    cg_tensor *x = cg_from_data(xv, CG_SHAPE(2, 3), 0), *y = cg_from_data(yv, CG_SHAPE(2, 3), 0);
    cg_tensor *xd = cg_to(x, CG_FLOAT64), *yd = cg_to(y, CG_FLOAT64);
    cg_tensor *pw = cg_from_data((const float[]){1, 2, 3}, CG_SHAPE(3), 0);
    cg_tensor *r = cg_binary_cross_entropy_with_logits(x, yd, NULL, pw, SUM);
    ASSERT(r);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT64);
    ASSERT_NEAR(cg_item(r), 7.1226341665647901, 1e-6);
    r = cg_binary_cross_entropy_with_logits(xd, y, NULL, pw, SUM);
    ASSERT(r);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_NEAR(cg_item(r), 7.1226339340209961, 1e-6);
    r = cg_cross_entropy(x, yd, NULL, -100, MEAN, 0.1);
    ASSERT(r);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT64);
    ASSERT_NEAR(cg_item(r), 2.3180352431953719, 1e-6);
    r = cg_cross_entropy(xd, y, NULL, -100, MEAN, 0.1);
    ASSERT(r);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT64);
    ASSERT_NEAR(cg_item(r), 2.3180352112610456, 1e-6);
}

/* Second derivatives against PyTorch's numbers:
 *   x = torch.tensor([[0.5, -1., 2.], [0.1, 0.2, -0.3]], dtype=torch.float64, requires_grad=True)
 *   t = torch.tensor([2, 0])
 *   l = F.cross_entropy(x, t, label_smoothing=0.3)
 *   g, = torch.autograd.grad(l, x, create_graph=True)
 *   h, = torch.autograd.grad((g * g).sum(), x)                                         */
TEST(test_loss_cross_entropy_double_backward) {
    const double xv[6] = {0.5, -1, 2, 0.1, 0.2, -0.3};
    cg_tensor *x = cg_from_data(xv, CG_SHAPE(2, 3), CG_FLOAT64 | CG_REQUIRES_GRAD);
    cg_tensor *l = cg_cross_entropy(x, I64(2, 0), NULL, -100, MEAN, 0.3), *g = NULL, *h = NULL;
    ASSERT(l);
    ASSERT_EQ(cg_autograd_grad(1, &l, NULL, 1, &x, CG_RETAIN_GRAPH | CG_CREATE_GRAPH, &g), 0);
    cg_tensor *gg = cg_sum(cg_mul(g, g));
    ASSERT_EQ(cg_autograd_grad(1, &gg, NULL, 1, &x, 0, &h), 0);
    static const double want_g[6] = {0.037645196070018344,   -0.030443713364656275,
                                     -0.0072014827053620712, -0.21985169237972996,
                                     0.149094670522468,      0.070757021857261931};
    static const double want_h[6] = {0.0066425505849148558,  -0.0011809790833788149,
                                     -0.0054615715015360403, -0.078219168300740924,
                                     0.060464959082908581,   0.017754209217832342};
    for (int64_t i = 0; i < 6; i++) {
        int64_t idx[2] = {i / 3, i % 3};
        ASSERT_NEAR(cg_get(g, idx), want_g[i], 1e-12);
        ASSERT_NEAR(cg_get(h, idx), want_h[i], 1e-12);
    }
}

TEST_MAIN(test_err_nll_shapes, test_err_nll_spatial_shapes, test_err_nll_dtypes,
          test_err_nll_target_bounds, test_err_nll_weight_requires_grad, test_err_reduction,
          test_err_cross_entropy, test_err_cross_entropy_probabilities, test_err_mse,
          test_err_bce_with_logits, test_err_linear_cross_entropy, test_err_null_inputs,
          test_loss_nan_means, test_loss_bce_is_stable, test_loss_saved_target_modified,
          test_loss_mixed_dtypes, test_loss_cross_entropy_double_backward)
