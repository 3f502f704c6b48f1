/* Every error path of the public API, with its exact message. Where PyTorch
 * has the same error, the text is PyTorch 1.13's, copied from what live torch
 * printed for the Python expression in the comment beside it. Also: NULL
 * tensors everywhere (no crash, no overwritten message), tensors intact after
 * an error, and the abort-on-error mode (in a forked child). */
#define _POSIX_C_SOURCE 200809L /* fork, pipe, dup2, waitpid */
#include "test.h"

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* torch.ones(shape) / torch.ones(shape, dtype=...) */
#define ONES(...) cg_ones(CG_SHAPE(__VA_ARGS__), 0)
#define ONES_D(dt, ...) cg_ones(CG_SHAPE(__VA_ARGS__), (dt))

#define BOOL_SUB_BOTH                                                                              \
    "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "          \
    "or `logical_xor()` operator instead."
#define BOOL_SUB_ONE                                                                               \
    "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "              \
    "trying to invert a mask, use the `~` or `logical_not()` operator instead."
#define NO_GRAD_DTYPE "Only Tensors of floating point and complex dtype can require gradients"
#define SECOND_BACKWARD                                                                            \
    "Trying to backward through the graph a second time (or directly access saved "                \
    "tensors after they have already been freed). Saved intermediate values of the graph "         \
    "are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if "        \
    "you need to backward through the graph a second time or if you need to access saved "         \
    "tensors after calling backward."
#define VIEW_STRIDE                                                                                \
    "view size is not compatible with input tensor's size and stride (at least one "               \
    "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
#define LEAF_INPLACE "a leaf Variable that requires grad is being used in an in-place operation."
#define VIEW_LEAF_INPLACE                                                                          \
    "a view of a leaf Variable that requires grad is being used in an in-place operation."

/* ---------------------------------------------------------- broadcasting */

TEST(test_err_broadcast) {
    cg_tensor *a = ONES(2, 3), *b = ONES(4, 3), *c = ONES(2, 4), *v = ONES(3);
    /* torch.ones(2,3) + torch.ones(4,3) (and -, *, /, **, ==, ...) */
    const char *m0 =
        "The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0";
    ASSERT_ERROR(cg_add(a, b), m0);
    ASSERT_ERROR(cg_sub(a, b), m0);
    ASSERT_ERROR(cg_mul(a, b), m0);
    ASSERT_ERROR(cg_div(a, b), m0);
    ASSERT_ERROR(cg_pow(a, b), m0);
    ASSERT_ERROR(cg_eq(a, b), m0);
    ASSERT_ERROR(cg_ne(a, b), m0);
    ASSERT_ERROR(cg_lt(a, b), m0);
    ASSERT_ERROR(cg_le(a, b), m0);
    ASSERT_ERROR(cg_gt(a, b), m0);
    ASSERT_ERROR(cg_ge(a, b), m0);
    /* torch.ones(2,3) + torch.ones(2,4) */
    ASSERT_ERROR(
        cg_add(a, c),
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1");
    /* torch.ones(3) + torch.ones(2,4) */
    ASSERT_ERROR(
        cg_mul(v, c),
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1");
    /* torch.ones(4,3) - torch.ones(2,3) */
    ASSERT_ERROR(
        cg_sub(b, a),
        "The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 0");
    /* an int64 and a float32 operand: the same message */
    ASSERT_ERROR(cg_add(ONES_D(CG_INT64, 2, 3), b), m0);
}

TEST(test_err_where) {
    /* torch.where(torch.ones(4,dtype=torch.bool), torch.ones(2,3), torch.ones(2,3)) */
    ASSERT_ERROR(
        cg_where(ONES_D(CG_BOOL, 4), ONES(2, 3), ONES(2, 3)),
        "The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1");
    /* torch.where(torch.ones(2,1,dtype=torch.bool), torch.ones(4,3), torch.ones(3)) */
    ASSERT_ERROR(
        cg_where(ONES_D(CG_BOOL, 2, 1), ONES(4, 3), ONES(3)),
        "The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0");
    /* torch.where(torch.ones(2,3,dtype=torch.bool), torch.ones(2,1), torch.ones(4,3)) */
    ASSERT_ERROR(
        cg_where(ONES_D(CG_BOOL, 2, 3), ONES(2, 1), ONES(4, 3)),
        "The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0");
}

TEST(test_err_where_broadcast_order) {
    /* PyTorch broadcasts the condition with x first:
     * torch.where(torch.ones(2,3,dtype=torch.bool), torch.ones(4,3), torch.ones(2,3)) */
    ASSERT_ERROR(
        cg_where(ONES_D(CG_BOOL, 2, 3), ONES(4, 3), ONES(2, 3)),
        "The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0");
}

TEST(test_err_where_cond_dtype) {
    /* torch.where(torch.ones(2,3), torch.ones(2,3), torch.ones(2,3)) */
    ASSERT_ERROR(
        cg_where(ONES(2, 3), ONES(2, 3), ONES(2, 3)),
        "where expected condition to be a boolean tensor, but got a tensor with dtype Float");
    /* torch.where(torch.ones(2,3, dtype=torch.int64), torch.ones(2,3), torch.ones(2,3)) */
    ASSERT_ERROR(
        cg_where(ONES_D(CG_INT64, 2, 3), ONES(2, 3), ONES(2, 3)),
        "where expected condition to be a boolean tensor, but got a tensor with dtype Long");
    /* torch.where(torch.ones(2,3, dtype=torch.float64), ...) */
    ASSERT_ERROR(
        cg_where(ONES_D(CG_FLOAT64, 2, 3), ONES(2, 3), ONES(2, 3)),
        "where expected condition to be a boolean tensor, but got a tensor with dtype Double");
}

/* ----------------------------------------------------------------- linalg */

TEST(test_err_mm) {
    /* torch.mm(torch.ones(2,3), torch.ones(4,5)) */
    ASSERT_ERROR(cg_mm(ONES(2, 3), ONES(4, 5)),
                 "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
    /* torch.mm(torch.ones(3), torch.ones(3,5)) */
    ASSERT_ERROR(cg_mm(ONES(3), ONES(3, 5)), "self must be a matrix");
    /* torch.mm(torch.ones(2,3), torch.ones(3)) */
    ASSERT_ERROR(cg_mm(ONES(2, 3), ONES(3)), "mat2 must be a matrix");
    ASSERT_ERROR(cg_mm(ONES(2, 2, 3), ONES(3, 2)), "self must be a matrix");
    /* torch.mm(torch.ones(2,3), torch.ones(3,2,dtype=torch.float64)) */
    ASSERT_ERROR(cg_mm(ONES(2, 3), ONES_D(CG_FLOAT64, 3, 2)),
                 "expected scalar type Float but found Double");
    /* torch.mm(torch.ones(2,3,dtype=torch.float64), torch.ones(3,2)) */
    ASSERT_ERROR(cg_mm(ONES_D(CG_FLOAT64, 2, 3), ONES(3, 2)),
                 "expected scalar type Double but found Float");
    /* torch.mm(torch.ones(2,3,dtype=torch.int64), torch.ones(3,2)) */
    ASSERT_ERROR(cg_mm(ONES_D(CG_INT64, 2, 3), ONES(3, 2)),
                 "expected scalar type Long but found Float");
    /* torch.mm(torch.ones(2,3,dtype=torch.bool), torch.ones(3,2,dtype=torch.bool)) */
    ASSERT_ERROR(cg_mm(ONES_D(CG_BOOL, 2, 3), ONES_D(CG_BOOL, 3, 2)),
                 "\"addmm_impl_cpu_\" not implemented for 'Bool'");
    /* torch.mm(torch.ones(2,3,dtype=torch.bool), torch.ones(3,2)) */
    ASSERT_ERROR(cg_mm(ONES_D(CG_BOOL, 2, 3), ONES(3, 2)),
                 "\"addmm_impl_cpu_\" not implemented for 'Bool'");
}

TEST(test_err_mm_bool_second) {
    /* torch.mm(torch.ones(2,3), torch.ones(3,2,dtype=torch.bool)) */
    ASSERT_ERROR(cg_mm(ONES(2, 3), ONES_D(CG_BOOL, 3, 2)),
                 "expected scalar type Float but found Bool");
    /* torch.mm(torch.ones(2,3,dtype=torch.int64), torch.ones(3,2,dtype=torch.bool)) */
    ASSERT_ERROR(cg_mm(ONES_D(CG_INT64, 2, 3), ONES_D(CG_BOOL, 3, 2)),
                 "expected scalar type Long but found Bool");
}

TEST(test_err_bmm) {
    /* torch.bmm(torch.ones(2,3), torch.ones(2,3,4)) */
    ASSERT_ERROR(cg_bmm(ONES(2, 3), ONES(2, 3, 4)), "batch1 must be a 3D tensor");
    /* torch.bmm(torch.ones(2,2,3), torch.ones(2,3)) */
    ASSERT_ERROR(cg_bmm(ONES(2, 2, 3), ONES(2, 3)), "batch2 must be a 3D tensor");
    /* torch.bmm(torch.ones(2,2,3), torch.ones(3,3,4)) */
    ASSERT_ERROR(
        cg_bmm(ONES(2, 2, 3), ONES(3, 3, 4)),
        "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [3, 3].");
    /* torch.bmm(torch.ones(2,2,3), torch.ones(2,4,4)) */
    ASSERT_ERROR(
        cg_bmm(ONES(2, 2, 3), ONES(2, 4, 4)),
        "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [2, 4].");
    /* torch.bmm(torch.ones(2,2,3), torch.ones(2,3,4,dtype=torch.float64)) */
    ASSERT_ERROR(cg_bmm(ONES(2, 2, 3), ONES_D(CG_FLOAT64, 2, 3, 4)),
                 "expected scalar type Float but found Double");
}

TEST(test_err_bmm_bool) {
    /* torch.bmm(torch.ones(2,2,3,dtype=torch.bool), torch.ones(2,3,2,dtype=torch.bool)) */
    ASSERT_ERROR(cg_bmm(ONES_D(CG_BOOL, 2, 2, 3), ONES_D(CG_BOOL, 2, 3, 2)),
                 "\"bmm\" not implemented for 'Bool'");
    /* torch.bmm(torch.ones(2,2,3,dtype=torch.bool), torch.ones(2,3,2)) */
    ASSERT_ERROR(cg_bmm(ONES_D(CG_BOOL, 2, 2, 3), ONES(2, 3, 2)),
                 "\"bmm\" not implemented for 'Bool'");
    /* torch.bmm(torch.ones(2,2,3), torch.ones(2,3,2,dtype=torch.bool)) */
    ASSERT_ERROR(cg_bmm(ONES(2, 2, 3), ONES_D(CG_BOOL, 2, 3, 2)),
                 "expected scalar type Float but found Bool");
}

TEST(test_err_mv) {
    /* torch.mv(torch.ones(2,3), torch.ones(4)) */
    ASSERT_ERROR(cg_mv(ONES(2, 3), ONES(4)), "size mismatch, got 2, 2x3,4");
    /* torch.mv(torch.ones(2,3), torch.ones(3,dtype=torch.float64)) */
    ASSERT_ERROR(cg_mv(ONES(2, 3), ONES_D(CG_FLOAT64, 3)),
                 "expected scalar type Float but found Double");
    /* torch.mv(torch.ones(2,3,dtype=torch.int64), torch.ones(3)) */
    ASSERT_ERROR(cg_mv(ONES_D(CG_INT64, 2, 3), ONES(3)),
                 "expected scalar type Long but found Float");
}

TEST(test_err_mv_dims) {
    /* torch.mv(torch.ones(3), torch.ones(3)) */
    ASSERT_ERROR(cg_mv(ONES(3), ONES(3)), "vector + matrix @ vector expected, got 1, 1, 1");
    /* torch.mv(torch.ones(2,3), torch.ones(3,1)) */
    ASSERT_ERROR(cg_mv(ONES(2, 3), ONES(3, 1)), "vector + matrix @ vector expected, got 1, 2, 2");
    /* torch.mv(torch.ones(2,3,4), torch.ones(3)) */
    ASSERT_ERROR(cg_mv(ONES(2, 3, 4), ONES(3)), "vector + matrix @ vector expected, got 1, 3, 1");
    /* torch.mv(torch.ones(2,3), torch.ones(())) */
    ASSERT_ERROR(cg_mv(ONES(2, 3), cg_ones(CG_SCALAR_SHAPE, 0)),
                 "vector + matrix @ vector expected, got 1, 2, 0");
}

TEST(test_err_mv_bool) {
    /* torch.mv(torch.ones(2,3,dtype=torch.bool), torch.ones(3,dtype=torch.bool)) */
    ASSERT_ERROR(cg_mv(ONES_D(CG_BOOL, 2, 3), ONES_D(CG_BOOL, 3)),
                 "\"addmv_impl_cpu\" not implemented for 'Bool'");
    /* torch.mv(torch.ones(2,3), torch.ones(3,dtype=torch.bool)) */
    ASSERT_ERROR(cg_mv(ONES(2, 3), ONES_D(CG_BOOL, 3)),
                 "expected scalar type Float but found Bool");
}

TEST(test_err_dot) {
    /* torch.dot(torch.ones(3), torch.ones(4)) */
    ASSERT_ERROR(
        cg_dot(ONES(3), ONES(4)),
        "inconsistent tensor size, expected tensor [3] and src [4] to have the same number "
        "of elements, but got 3 and 4 elements respectively");
    /* torch.dot(torch.ones(3,1), torch.ones(3)) */
    ASSERT_ERROR(cg_dot(ONES(3, 1), ONES(3)), "1D tensors expected, but got 2D and 1D tensors");
    /* torch.dot(torch.ones(()), torch.ones(3)) */
    ASSERT_ERROR(cg_dot(cg_ones(CG_SCALAR_SHAPE, 0), ONES(3)),
                 "1D tensors expected, but got 0D and 1D tensors");
    /* torch.dot(torch.ones(3), torch.ones(3,dtype=torch.float64)) */
    ASSERT_ERROR(cg_dot(ONES(3), ONES_D(CG_FLOAT64, 3)),
                 "dot : expected both vectors to have same dtype, but found Float and Double");
    /* torch.dot(torch.ones(3,dtype=torch.int64), torch.ones(3)) */
    ASSERT_ERROR(cg_dot(ONES_D(CG_INT64, 3), ONES(3)),
                 "dot : expected both vectors to have same dtype, but found Long and Float");
    /* torch.dot(torch.ones(3,dtype=torch.bool), torch.ones(3)) */
    ASSERT_ERROR(cg_dot(ONES_D(CG_BOOL, 3), ONES(3)),
                 "dot : expected both vectors to have same dtype, but found Bool and Float");
}

TEST(test_err_dot_bool) {
    /* torch.dot(torch.ones(3,dtype=torch.bool), torch.ones(3,dtype=torch.bool)) */
    ASSERT_ERROR(cg_dot(ONES_D(CG_BOOL, 3), ONES_D(CG_BOOL, 3)),
                 "\"dot\" not implemented for 'Bool'");
}

TEST(test_err_matmul) {
    cg_tensor *s = cg_ones(CG_SCALAR_SHAPE, 0);
    /* torch.matmul(torch.ones(()), torch.ones(3)) and the other way round */
    ASSERT_ERROR(cg_matmul(s, ONES(3)),
                 "both arguments to matmul need to be at least 1D, but they are 0D and 1D");
    ASSERT_ERROR(cg_matmul(ONES(3), s),
                 "both arguments to matmul need to be at least 1D, but they are 1D and 0D");
    ASSERT_ERROR(cg_matmul(s, s),
                 "both arguments to matmul need to be at least 1D, but they are 0D and 0D");
    /* torch.matmul(torch.ones(3), torch.ones(4)) */
    ASSERT_ERROR(
        cg_matmul(ONES(3), ONES(4)),
        "inconsistent tensor size, expected tensor [3] and src [4] to have the same number "
        "of elements, but got 3 and 4 elements respectively");
    /* torch.matmul(torch.ones(2,3), torch.ones(4,5)) */
    ASSERT_ERROR(cg_matmul(ONES(2, 3), ONES(4, 5)),
                 "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
    /* torch.matmul(torch.ones(2,3), torch.ones(4)) */
    ASSERT_ERROR(cg_matmul(ONES(2, 3), ONES(4)), "size mismatch, got 2, 2x3,4");
    /* torch.matmul(torch.ones(3), torch.ones(4,5)) */
    ASSERT_ERROR(cg_matmul(ONES(3), ONES(4, 5)),
                 "mat1 and mat2 shapes cannot be multiplied (1x3 and 4x5)");
    /* torch.matmul(torch.ones(2,2,3), torch.ones(4,5)) */
    ASSERT_ERROR(cg_matmul(ONES(2, 2, 3), ONES(4, 5)),
                 "mat1 and mat2 shapes cannot be multiplied (4x3 and 4x5)");
    /* torch.matmul(torch.ones(2,2,3), torch.ones(3,3,4)) */
    ASSERT_ERROR(
        cg_matmul(ONES(2, 2, 3), ONES(3, 3, 4)),
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0");
    /* torch.matmul(torch.ones(2,2,3), torch.ones(2,4,4)) */
    ASSERT_ERROR(
        cg_matmul(ONES(2, 2, 3), ONES(2, 4, 4)),
        "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [2, 4].");
    /* torch.matmul(torch.ones(2,3), torch.ones(3,2,dtype=torch.float64)) */
    ASSERT_ERROR(cg_matmul(ONES(2, 3), ONES_D(CG_FLOAT64, 3, 2)),
                 "expected scalar type Float but found Double");
    /* torch.matmul(torch.ones(2,2,3), torch.ones(2,3,2,dtype=torch.float64)) */
    ASSERT_ERROR(cg_matmul(ONES(2, 2, 3), ONES_D(CG_FLOAT64, 2, 3, 2)),
                 "expected scalar type Float but found Double");
    /* torch.ones(2,3,dtype=torch.int64) @ torch.ones(3) */
    ASSERT_ERROR(cg_matmul(ONES_D(CG_INT64, 2, 3), ONES(3)),
                 "expected scalar type Long but found Float");
    /* torch.ones(3,dtype=torch.int64) @ torch.ones(3) */
    ASSERT_ERROR(cg_matmul(ONES_D(CG_INT64, 3), ONES(3)),
                 "dot : expected both vectors to have same dtype, but found Long and Float");
    /* torch.ones(2,2,3,dtype=torch.int64) @ torch.ones(3,2) */
    ASSERT_ERROR(cg_matmul(ONES_D(CG_INT64, 2, 2, 3), ONES(3, 2)),
                 "expected scalar type Long but found Float");
    /* torch.ones(3,dtype=torch.float64) @ torch.ones(3,2) */
    ASSERT_ERROR(cg_matmul(ONES_D(CG_FLOAT64, 3), ONES(3, 2)),
                 "expected scalar type Double but found Float");
    /* torch.ones(2,2,3,dtype=torch.bool) @ torch.ones(3,2,dtype=torch.bool) */
    ASSERT_ERROR(cg_matmul(ONES_D(CG_BOOL, 2, 2, 3), ONES_D(CG_BOOL, 3, 2)),
                 "\"addmm_impl_cpu_\" not implemented for 'Bool'");
    /* torch.ones(3,dtype=torch.bool) @ torch.ones(3,2,dtype=torch.bool) */
    ASSERT_ERROR(cg_matmul(ONES_D(CG_BOOL, 3), ONES_D(CG_BOOL, 3, 2)),
                 "\"addmm_impl_cpu_\" not implemented for 'Bool'");
}

TEST(test_err_matmul_folded_vector) {
    /* the 3-D @ 1-D and 1-D @ 3-D cases go through mv in PyTorch:
     * torch.ones(2,2,3) @ torch.ones(4); torch.ones(4) @ torch.ones(2,3,2) */
    ASSERT_ERROR(cg_matmul(ONES(2, 2, 3), ONES(4)), "size mismatch, got 4, 4x3,4");
    ASSERT_ERROR(cg_matmul(ONES(4), ONES(2, 3, 2)), "size mismatch, got 4, 4x3,4");
    /* torch.ones(2,2,3,dtype=torch.int64) @ torch.ones(3) */
    ASSERT_ERROR(cg_matmul(ONES_D(CG_INT64, 2, 2, 3), ONES(3)),
                 "expected scalar type Long but found Float");
}

TEST(test_err_matmul_bool) {
    /* torch.ones(2,3,dtype=torch.bool) @ torch.ones(3,dtype=torch.bool) */
    ASSERT_ERROR(cg_matmul(ONES_D(CG_BOOL, 2, 3), ONES_D(CG_BOOL, 3)),
                 "\"addmv_impl_cpu\" not implemented for 'Bool'");
    /* torch.ones(2,2,3,dtype=torch.bool) @ torch.ones(2,3,2,dtype=torch.bool) */
    ASSERT_ERROR(cg_matmul(ONES_D(CG_BOOL, 2, 2, 3), ONES_D(CG_BOOL, 2, 3, 2)),
                 "\"bmm\" not implemented for 'Bool'");
    /* torch.ones(3,dtype=torch.bool) @ torch.ones(3,dtype=torch.bool) */
    ASSERT_ERROR(cg_matmul(ONES_D(CG_BOOL, 3), ONES_D(CG_BOOL, 3)),
                 "\"dot\" not implemented for 'Bool'");
}

/* ------------------------------------------------------------------ views */

TEST(test_err_view_reshape) {
    cg_tensor *a = ONES(2, 3);
    /* torch.ones(2,3).t().view(6) */
    ASSERT_ERROR(cg_view(cg_transpose(a, 0, 1), CG_SHAPE(6)), VIEW_STRIDE);
    ASSERT_ERROR(cg_view(cg_transpose(a, 0, 1), CG_SHAPE(-1)), VIEW_STRIDE);
    ASSERT_ERROR(cg_view(cg_expand(ONES(3, 1), CG_SHAPE(3, 4)), CG_SHAPE(12)), VIEW_STRIDE);
    /* torch.ones(2,3).view(4) */
    ASSERT_ERROR(cg_view(a, CG_SHAPE(4)), "shape '[4]' is invalid for input of size 6");
    /* torch.ones(2,3).view(-1,4) */
    ASSERT_ERROR(cg_view(a, CG_SHAPE(-1, 4)), "shape '[-1, 4]' is invalid for input of size 6");
    /* torch.ones(2,3).view(-1,0) */
    ASSERT_ERROR(cg_view(a, CG_SHAPE(-1, 0)), "shape '[-1, 0]' is invalid for input of size 6");
    /* torch.ones(2,3).view(-1,-1) */
    ASSERT_ERROR(cg_view(a, CG_SHAPE(-1, -1)), "only one dimension can be inferred");
    ASSERT_ERROR(cg_view(ONES(2), CG_SHAPE(-1, -1, -1)), "only one dimension can be inferred");
    /* torch.ones(2,3).view(-2,3) */
    ASSERT_ERROR(cg_view(a, CG_SHAPE(-2, 3)), "invalid shape dimension -2");
    ASSERT_ERROR(cg_view(a, CG_SHAPE(-3)), "invalid shape dimension -3");
    /* torch.ones(2,3).reshape(4) */
    ASSERT_ERROR(cg_reshape(a, CG_SHAPE(4)), "shape '[4]' is invalid for input of size 6");
    ASSERT_ERROR(cg_reshape(cg_transpose(a, 0, 1), CG_SHAPE(5)),
                 "shape '[5]' is invalid for input of size 6");
    /* torch.ones(2,3).reshape(-1,-1) */
    ASSERT_ERROR(cg_reshape(a, CG_SHAPE(-1, -1)), "only one dimension can be inferred");
    /* torch.ones(2,3).reshape(-1,4) */
    ASSERT_ERROR(cg_reshape(a, CG_SHAPE(-1, 4)), "shape '[-1, 4]' is invalid for input of size 6");
    /* torch.ones(2,3).reshape(-2,3) */
    ASSERT_ERROR(cg_reshape(a, CG_SHAPE(-2, 3)), "invalid shape dimension -2");
    ASSERT_ERROR(cg_view(cg_scalar(1, 0), CG_SHAPE(2)),
                 "shape '[2]' is invalid for input of size 1");
}

TEST(test_err_view_zero_elements) {
    /* torch.ones(0).reshape(-1,0); torch.ones(0,3).view(0,-1) */
    ASSERT_ERROR(cg_reshape(ONES(0), CG_SHAPE(-1, 0)),
                 "cannot reshape tensor of 0 elements into shape [-1, 0] because the unspecified "
                 "dimension size -1 can be any value and is ambiguous");
    ASSERT_ERROR(cg_view(ONES(0, 3), CG_SHAPE(0, -1)),
                 "cannot reshape tensor of 0 elements into shape [0, -1] because the unspecified "
                 "dimension size -1 can be any value and is ambiguous");
}

TEST(test_err_dims_out_of_range) {
    cg_tensor *a = ONES(2, 3), *s = cg_ones(CG_SCALAR_SHAPE, 0);
    /* torch.ones(2,3).transpose(0,2); .transpose(-3,0) */
    ASSERT_ERROR(cg_transpose(a, 0, 2),
                 "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    ASSERT_ERROR(cg_transpose(a, -3, 0),
                 "Dimension out of range (expected to be in range of [-2, 1], but got -3)");
    ASSERT_ERROR(cg_transpose(a, 1, 5),
                 "Dimension out of range (expected to be in range of [-2, 1], but got 5)");
    /* torch.ones(()).transpose(0,1) */
    ASSERT_ERROR(cg_transpose(s, 0, 1),
                 "Dimension out of range (expected to be in range of [-1, 0], but got 1)");
    /* torch.ones(2,3).unsqueeze(3); .unsqueeze(-4) */
    ASSERT_ERROR(cg_unsqueeze(a, 3),
                 "Dimension out of range (expected to be in range of [-3, 2], but got 3)");
    ASSERT_ERROR(cg_unsqueeze(a, -4),
                 "Dimension out of range (expected to be in range of [-3, 2], but got -4)");
    /* torch.ones(()).unsqueeze(1); .unsqueeze(-2) */
    ASSERT_ERROR(cg_unsqueeze(s, 1),
                 "Dimension out of range (expected to be in range of [-1, 0], but got 1)");
    ASSERT_ERROR(cg_unsqueeze(s, -2),
                 "Dimension out of range (expected to be in range of [-1, 0], but got -2)");
    /* torch.ones(2,3).squeeze(2); .squeeze(-3) */
    ASSERT_ERROR(cg_squeeze_dim(a, 2),
                 "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    ASSERT_ERROR(cg_squeeze_dim(a, -3),
                 "Dimension out of range (expected to be in range of [-2, 1], but got -3)");
    /* torch.ones(()).squeeze(1) */
    ASSERT_ERROR(cg_squeeze_dim(s, 1),
                 "Dimension out of range (expected to be in range of [-1, 0], but got 1)");
    /* torch.ones(2,3).sum((2,)); .mean((5,)) */
    ASSERT_ERROR(cg_sum_dims(a, CG_DIMS(2), false),
                 "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    ASSERT_ERROR(cg_sum_dims(a, CG_DIMS(0, -3), true),
                 "Dimension out of range (expected to be in range of [-2, 1], but got -3)");
    ASSERT_ERROR(cg_mean_dims(a, CG_DIMS(5), false),
                 "Dimension out of range (expected to be in range of [-2, 1], but got 5)");
    /* torch.ones(()).sum((1,)); torch.ones(3).sum((0,1)) */
    ASSERT_ERROR(cg_sum_dims(s, CG_DIMS(1), false),
                 "Dimension out of range (expected to be in range of [-1, 0], but got 1)");
    ASSERT_ERROR(cg_sum_dims(ONES(3), CG_DIMS(0, 1), false),
                 "Dimension out of range (expected to be in range of [-1, 0], but got 1)");
    /* torch.ones(2,3).size(2); .size(-3) */
    ASSERT_ERROR(cg_size(a, 2),
                 "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    ASSERT_ERROR(cg_size(a, -3),
                 "Dimension out of range (expected to be in range of [-2, 1], but got -3)");
    ASSERT_EQ(cg_size(a, 2), -1);
    cg_clear_error();
    /* torch.ones(2,3).permute(0,2) */
    ASSERT_ERROR(cg_permute(a, CG_DIMS(0, 2)),
                 "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
}

TEST(test_err_size_of_0d) {
    cg_tensor *s = cg_ones(CG_SCALAR_SHAPE, 0);
    /* torch.ones(()).size(0); .size(-1); .size(1) */
    ASSERT_ERROR(cg_size(s, 0), "Dimension specified as 0 but tensor has no dimensions");
    ASSERT_ERROR(cg_size(s, -1), "Dimension specified as -1 but tensor has no dimensions");
    ASSERT_ERROR(cg_size(s, 1), "Dimension specified as 1 but tensor has no dimensions");
}

TEST(test_err_duplicate_dims) {
    cg_tensor *a = ONES(2, 3), *b = ONES(2, 3, 4);
    /* torch.ones(2,3).sum((0,0)); .sum((0,-2)); .mean((0,0)) */
    ASSERT_ERROR(cg_sum_dims(a, CG_DIMS(0, 0), false),
                 "dim 0 appears multiple times in the list of dims");
    ASSERT_ERROR(cg_sum_dims(a, CG_DIMS(0, -2), true),
                 "dim 0 appears multiple times in the list of dims");
    ASSERT_ERROR(cg_mean_dims(a, CG_DIMS(0, 0), false),
                 "dim 0 appears multiple times in the list of dims");
    /* torch.ones(2,3,4).sum((1,-2)); .mean((2,-1)) */
    ASSERT_ERROR(cg_sum_dims(b, CG_DIMS(1, -2), false),
                 "dim 1 appears multiple times in the list of dims");
    ASSERT_ERROR(cg_mean_dims(b, CG_DIMS(2, 0, -1), false),
                 "dim 2 appears multiple times in the list of dims");
    /* torch.ones(2,3).permute(0,0) */
    ASSERT_ERROR(cg_permute(a, CG_DIMS(0, 0)), "permute(): duplicate dims are not allowed.");
    ASSERT_ERROR(cg_permute(b, CG_DIMS(2, 0, -1)), "permute(): duplicate dims are not allowed.");
}

TEST(test_err_duplicate_dims_0d) {
    cg_tensor *s = cg_ones(CG_SCALAR_SHAPE, 0);
    /* torch.ones(()).sum((0,0)); torch.ones(()).sum((0,-1)) */
    ASSERT_ERROR(cg_sum_dims(s, CG_DIMS(0, 0), false),
                 "dim 0 appears multiple times in the list of dims");
    ASSERT_ERROR(cg_mean_dims(s, CG_DIMS(0, -1), false),
                 "dim 0 appears multiple times in the list of dims");
}

TEST(test_err_permute) {
    /* torch.ones(2,3).permute(0) */
    ASSERT_ERROR(
        cg_permute(ONES(2, 3), CG_DIMS(0)),
        "permute(sparse_coo): number of dimensions in the tensor input does not match the "
        "length of the desired ordering of dimensions i.e. input.dim() = 2 is not equal to "
        "len(dims) = 1");
    /* torch.ones(2,3).permute(0,1,2) */
    ASSERT_ERROR(
        cg_permute(ONES(2, 3), CG_DIMS(0, 1, 2)),
        "permute(sparse_coo): number of dimensions in the tensor input does not match the "
        "length of the desired ordering of dimensions i.e. input.dim() = 2 is not equal to "
        "len(dims) = 3");
    /* torch.ones(()).permute(0) */
    ASSERT_ERROR(
        cg_permute(cg_ones(CG_SCALAR_SHAPE, 0), CG_DIMS(0)),
        "permute(sparse_coo): number of dimensions in the tensor input does not match the "
        "length of the desired ordering of dimensions i.e. input.dim() = 0 is not equal to "
        "len(dims) = 1");
}

TEST(test_err_expand) {
    cg_tensor *a = ONES(2, 3);
    /* torch.ones(2,3).expand(3) */
    ASSERT_ERROR(
        cg_expand(a, CG_SHAPE(3)),
        "expand(torch.FloatTensor{[2, 3]}, size=[3]): the number of sizes provided (1) must "
        "be greater or equal to the number of dimensions in the tensor (2)");
    /* torch.ones(2,3,dtype=torch.float64).expand(3) */
    ASSERT_ERROR(
        cg_expand(ONES_D(CG_FLOAT64, 2, 3), CG_SHAPE(3)),
        "expand(torch.DoubleTensor{[2, 3]}, size=[3]): the number of sizes provided (1) must "
        "be greater or equal to the number of dimensions in the tensor (2)");
    /* torch.ones(2,3,dtype=torch.int64).expand(3) */
    ASSERT_ERROR(
        cg_expand(ONES_D(CG_INT64, 2, 3), CG_SHAPE(3)),
        "expand(torch.LongTensor{[2, 3]}, size=[3]): the number of sizes provided (1) must "
        "be greater or equal to the number of dimensions in the tensor (2)");
    /* torch.ones(2,3).expand(4,3) */
    ASSERT_ERROR(cg_expand(a, CG_SHAPE(4, 3)),
                 "The expanded size of the tensor (4) must match the existing size (2) at "
                 "non-singleton dimension 0.  Target sizes: [4, 3].  Tensor sizes: [2, 3]");
    /* torch.ones(2,3).expand(-1,4) */
    ASSERT_ERROR(cg_expand(a, CG_SHAPE(-1, 4)),
                 "The expanded size of the tensor (4) must match the existing size (3) at "
                 "non-singleton dimension 1.  Target sizes: [-1, 4].  Tensor sizes: [2, 3]");
    /* torch.ones(2,3).expand(2,-2) */
    ASSERT_ERROR(cg_expand(a, CG_SHAPE(2, -2)),
                 "The expanded size of the tensor (-2) must match the existing size (3) at "
                 "non-singleton dimension 1.  Target sizes: [2, -2].  Tensor sizes: [2, 3]");
    /* torch.ones(2,3).expand(-1,2,3); torch.ones(3).expand(2,-1,3) */
    ASSERT_ERROR(
        cg_expand(a, CG_SHAPE(-1, 2, 3)),
        "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension 0");
    ASSERT_ERROR(
        cg_expand(ONES(3), CG_SHAPE(2, -1, 3)),
        "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension 1");
}

TEST(test_err_expand_trailing_mismatch) {
    /* PyTorch aligns the sizes at the right and reports the last mismatch first:
     * torch.ones(2,3).expand(2,3,4) */
    ASSERT_ERROR(cg_expand(ONES(2, 3), CG_SHAPE(2, 3, 4)),
                 "The expanded size of the tensor (4) must match the existing size (3) at "
                 "non-singleton dimension 2.  Target sizes: [2, 3, 4].  Tensor sizes: [2, 3]");
}

/* ------------------------------------------------------------- reductions */

TEST(test_err_reductions) {
    const char *mx =
        "max(): Expected reduction dim to be specified for input.numel() == 0. Specify "
        "the reduction dim with the 'dim' argument.";
    const char *mn =
        "min(): Expected reduction dim to be specified for input.numel() == 0. Specify "
        "the reduction dim with the 'dim' argument.";
    /* torch.ones(0).max(); torch.ones(0).min(); torch.ones(2,0).max(); int64 */
    ASSERT_ERROR(cg_max(ONES(0)), mx);
    ASSERT_ERROR(cg_min(ONES(0)), mn);
    ASSERT_ERROR(cg_max(ONES(2, 0)), mx);
    ASSERT_ERROR(cg_min(ONES_D(CG_INT64, 0)), mn);
    ASSERT_ERROR(cg_max(ONES_D(CG_BOOL, 0, 3)), mx);
    /* torch.ones(3,dtype=torch.int64).mean(); bool; .mean((0,)) */
    ASSERT_ERROR(
        cg_mean(ONES_D(CG_INT64, 3)),
        "mean(): could not infer output dtype. Input dtype must be either a floating point "
        "or complex dtype. Got: Long");
    ASSERT_ERROR(
        cg_mean(ONES_D(CG_BOOL, 3)),
        "mean(): could not infer output dtype. Input dtype must be either a floating point "
        "or complex dtype. Got: Bool");
    ASSERT_ERROR(
        cg_mean_dims(ONES_D(CG_INT64, 3), CG_DIMS(0), false),
        "mean(): could not infer output dtype. Input dtype must be either a floating point "
        "or complex dtype. Got: Long");
    ASSERT_ERROR(
        cg_mean_dims(ONES_D(CG_BOOL, 2, 3), CG_DIMS(-1), true),
        "mean(): could not infer output dtype. Input dtype must be either a floating point "
        "or complex dtype. Got: Bool");
}

/* ---------------------------------------------------------- requires_grad */

TEST(test_err_requires_grad_int_at_creation) {
    int64_t iv[2] = {1, 2};
    bool bv[2] = {true, false};
    /* torch.ones(3, dtype=torch.int64, requires_grad=True) (and every factory) */
    ASSERT_ERROR(cg_from_data(iv, CG_SHAPE(2), CG_INT64 | CG_REQUIRES_GRAD), NO_GRAD_DTYPE);
    ASSERT_ERROR(cg_from_data(bv, CG_SHAPE(2), CG_BOOL | CG_REQUIRES_GRAD), NO_GRAD_DTYPE);
    ASSERT_ERROR(cg_scalar(1, CG_INT64 | CG_REQUIRES_GRAD), NO_GRAD_DTYPE);
    ASSERT_ERROR(cg_empty(CG_SHAPE(2), CG_INT64 | CG_REQUIRES_GRAD), NO_GRAD_DTYPE);
    ASSERT_ERROR(cg_zeros(CG_SHAPE(2), CG_BOOL | CG_REQUIRES_GRAD), NO_GRAD_DTYPE);
    ASSERT_ERROR(cg_ones(CG_SHAPE(2), CG_INT64 | CG_REQUIRES_GRAD), NO_GRAD_DTYPE);
    ASSERT_ERROR(cg_full(CG_SHAPE(2), 1, CG_INT64 | CG_REQUIRES_GRAD), NO_GRAD_DTYPE);
    /* torch.arange(0,5,dtype=torch.int64,requires_grad=True); torch.linspace(...) */
    ASSERT_ERROR(cg_arange(0, 5, 1, CG_INT64 | CG_REQUIRES_GRAD), NO_GRAD_DTYPE);
    ASSERT_ERROR(cg_linspace(0, 1, 3, CG_INT64 | CG_REQUIRES_GRAD), NO_GRAD_DTYPE);
    /* torch.zeros_like(torch.ones(2,dtype=torch.int64), requires_grad=True) */
    cg_tensor *i = ONES_D(CG_INT64, 2);
    ASSERT_ERROR(cg_zeros_like(i, CG_REQUIRES_GRAD), NO_GRAD_DTYPE);
    ASSERT_ERROR(cg_ones_like(i, CG_REQUIRES_GRAD), NO_GRAD_DTYPE);
    ASSERT_ERROR(cg_empty_like(i, CG_REQUIRES_GRAD), NO_GRAD_DTYPE);
    ASSERT_ERROR(cg_full_like(i, 2, CG_REQUIRES_GRAD), NO_GRAD_DTYPE);
    ASSERT_ERROR(cg_zeros_like(ONES(2), CG_LIKE_DTYPE | CG_BOOL | CG_REQUIRES_GRAD), NO_GRAD_DTYPE);
}

TEST(test_err_requires_grad_) {
    /* torch.ones(3,dtype=torch.int64).requires_grad_() */
    ASSERT_ERROR(cg_requires_grad_(ONES_D(CG_INT64, 3), true),
                 "only Tensors of floating point dtype can require gradients");
    ASSERT_ERROR(cg_requires_grad_(ONES_D(CG_BOOL, 3), true),
                 "only Tensors of floating point dtype can require gradients");
    ASSERT_NULL(cg_requires_grad_(ONES_D(CG_INT64, 3), true));
    cg_clear_error();
    /* (torch.ones(3,requires_grad=True)*2).requires_grad_(False) */
    cg_tensor *x = cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_mul_scalar(x, 2);
    ASSERT_ERROR(cg_requires_grad_(y, false),
                 "you can only change requires_grad flags of leaf variables. If you want to use a "
                 "computed variable in a subgraph that doesn't require differentiation use "
                 "var_no_grad = var.detach().");
    ASSERT(cg_requires_grad(y)); /* unchanged */
    /* requires_grad_(True) on a non-leaf is allowed (it already requires grad) */
    cg_clear_error();
    ASSERT_PTR_EQ(cg_requires_grad_(y, true), y);
    ASSERT_NULL(cg_last_error());
}

TEST(test_err_item) {
    /* torch.ones(3).item(); torch.ones(0).item() */
    ASSERT_ERROR(cg_item(ONES(3)), "only one element tensors can be converted to Python scalars");
    ASSERT_ERROR(cg_item(ONES(0)), "only one element tensors can be converted to Python scalars");
    ASSERT_ERROR(cg_item(ONES_D(CG_INT64, 1, 2)),
                 "only one element tensors can be converted to Python scalars");
    ASSERT(isnan(cg_item(ONES(2))));
    cg_clear_error();
}

/* --------------------------------------------------------------- creation */

TEST(test_err_negative_dimension) {
    /* torch.zeros(-1); torch.ones(2,-1); torch.empty(2,-3); torch.full((2,-3), 1.0) */
    ASSERT_ERROR(cg_zeros(CG_SHAPE(-1), 0),
                 "Trying to create tensor with negative dimension -1: [-1]");
    ASSERT_ERROR(cg_ones(CG_SHAPE(2, -1), 0),
                 "Trying to create tensor with negative dimension -1: [2, -1]");
    ASSERT_ERROR(cg_empty(CG_SHAPE(2, -3), 0),
                 "Trying to create tensor with negative dimension -3: [2, -3]");
    ASSERT_ERROR(cg_full(CG_SHAPE(2, -3), 1, 0),
                 "Trying to create tensor with negative dimension -3: [2, -3]");
    /* torch.rand(-1,2); torch.randn(-1,2) */
    ASSERT_ERROR(cg_rand(CG_SHAPE(-1, 2), 0),
                 "Trying to create tensor with negative dimension -1: [-1, 2]");
    ASSERT_ERROR(cg_randn(CG_SHAPE(-1, 2), 0),
                 "Trying to create tensor with negative dimension -1: [-1, 2]");
    float f[2] = {1, 2};
    ASSERT_ERROR(cg_from_data(f, CG_SHAPE(2, -1), 0),
                 "Trying to create tensor with negative dimension -1: [2, -1]");
}

TEST(test_err_arange) {
    /* torch.arange(0,10,0) */
    ASSERT_ERROR(cg_arange(0, 10, 0, 0), "step must be nonzero");
    /* torch.arange(0,10,-1); torch.arange(10,0,1); torch.arange(0.5,-1.5,1) */
    ASSERT_ERROR(cg_arange(0, 10, -1, 0),
                 "upper bound and larger bound inconsistent with step sign");
    ASSERT_ERROR(cg_arange(10, 0, 1, CG_INT64),
                 "upper bound and larger bound inconsistent with step sign");
    ASSERT_ERROR(cg_arange(0.5, -1.5, 1, CG_FLOAT64),
                 "upper bound and larger bound inconsistent with step sign");
    /* torch.arange(0,float('inf'),1); torch.arange(0,float('nan'),1);
     * torch.arange(float('inf'),10,1) */
    ASSERT_ERROR(cg_arange(0, INFINITY, 1, 0), "unsupported range: 0 -> inf");
    ASSERT_ERROR(cg_arange(0, NAN, 1, 0), "unsupported range: 0 -> nan");
    ASSERT_ERROR(cg_arange(INFINITY, 10, 1, 0), "unsupported range: inf -> 10");
    ASSERT_ERROR(cg_arange(0, -INFINITY, -1, 0), "unsupported range: 0 -> -inf");
    /* torch.arange(0,10,float('nan')) */
    ASSERT_ERROR(cg_arange(0, 10, NAN, 0), "step must be nonzero");
}

TEST(test_err_arange_int_step) {
    /* the step is truncated for int64: torch.arange(0, 3, 0.5, dtype=torch.int64) */
    ASSERT_ERROR(cg_arange(0, 3, 0.5, CG_INT64), "step must be nonzero");
}

TEST(test_err_arange_bool) {
    /* torch.arange(0,2,dtype=torch.bool) */
    ASSERT_ERROR(cg_arange(0, 2, 1, CG_BOOL), "\"arange_cpu\" not implemented for 'Bool'");
}

TEST(test_arange_infinite_step_is_empty) {
    /* torch.arange(0,10,float('inf')) -> tensor([]) (no error) */
    cg_clear_error();
    cg_tensor *t = cg_arange(0, 10, INFINITY, 0);
    ASSERT_NOT_NULL(t);
    ASSERT_EQ(cg_numel(t), 0);
}

TEST(test_err_linspace) {
    /* torch.linspace(0,1,-1); torch.linspace(0,1,-5) */
    ASSERT_ERROR(cg_linspace(0, 1, -1, 0), "number of steps must be non-negative");
    ASSERT_ERROR(cg_linspace(0, 1, -5, CG_FLOAT64), "number of steps must be non-negative");
}

TEST(test_err_linspace_bool) {
    /* torch.linspace(0,1,3,dtype=torch.bool) */
    ASSERT_ERROR(cg_linspace(0, 1, 3, CG_BOOL), "\"linspace_cpu\" not implemented for 'Bool'");
}

TEST(test_err_rand_int_dtypes) {
    /* torch.rand(3,dtype=torch.int64); torch.rand(3,dtype=torch.bool) */
    ASSERT_ERROR(cg_rand(CG_SHAPE(3), CG_INT64),
                 "\"check_uniform_bounds\" not implemented for 'Long'");
    ASSERT_ERROR(cg_rand(CG_SHAPE(3), CG_BOOL),
                 "\"check_uniform_bounds\" not implemented for 'Bool'");
    /* torch.randn(3,dtype=torch.int64); torch.randn(3,dtype=torch.bool) */
    ASSERT_ERROR(cg_randn(CG_SHAPE(3), CG_INT64),
                 "\"normal_kernel_cpu\" not implemented for 'Long'");
    ASSERT_ERROR(cg_randn(CG_SHAPE(3), CG_BOOL),
                 "\"normal_kernel_cpu\" not implemented for 'Bool'");
    /* torch.rand_like(torch.ones(3,dtype=torch.int64)); randn_like */
    ASSERT_ERROR(cg_rand_like(ONES_D(CG_INT64, 3), 0),
                 "\"check_uniform_bounds\" not implemented for 'Long'");
    ASSERT_ERROR(cg_randn_like(ONES_D(CG_INT64, 3), 0),
                 "\"normal_kernel_cpu\" not implemented for 'Long'");
}

/* ------------------------------------------------------------- bool / int */

TEST(test_err_bool_arith) {
    cg_tensor *b = ONES_D(CG_BOOL, 2);
    /* torch.ones(2,dtype=torch.bool) - torch.ones(2,dtype=torch.bool) */
    ASSERT_ERROR(cg_sub(b, b), BOOL_SUB_BOTH);
    /* ... - torch.tensor(True) */
    ASSERT_ERROR(cg_sub(b, cg_scalar(1, CG_BOOL)), BOOL_SUB_BOTH);
    /* -torch.ones(2,dtype=torch.bool) */
    ASSERT_ERROR(cg_neg(b),
                 "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                 "to invert a mask, use the `~` or `logical_not()` operator instead.");
    /* torch.ones(2,dtype=torch.bool).abs() */
    ASSERT_ERROR(cg_abs(b), "\"abs_cpu\" not implemented for 'Bool'");
    /* torch.relu(torch.ones(2,dtype=torch.bool)) */
    ASSERT_ERROR(cg_relu(b), "Boolean inputs not supported for relu");
}

TEST(test_err_bool_sub_mixed) {
    cg_tensor *b = ONES_D(CG_BOOL, 2);
    /* torch.ones(2,dtype=torch.bool) - torch.ones(2,dtype=torch.int64), and reversed */
    ASSERT_ERROR(cg_sub(b, ONES_D(CG_INT64, 2)), BOOL_SUB_ONE);
    ASSERT_ERROR(cg_sub(ONES_D(CG_INT64, 2), b), BOOL_SUB_ONE);
    /* torch.ones(2) - torch.ones(2,dtype=torch.bool); torch.ones(2,dtype=torch.bool) -
     * torch.ones(2) */
    ASSERT_ERROR(cg_sub(ONES(2), b), BOOL_SUB_ONE);
    ASSERT_ERROR(cg_sub(b, ONES_D(CG_FLOAT64, 2)), BOOL_SUB_ONE);
    /* torch.ones(2,dtype=torch.bool) - torch.tensor(1); torch.tensor(True) - torch.ones(2) */
    ASSERT_ERROR(cg_sub(b, cg_scalar(1, CG_INT64)), BOOL_SUB_ONE);
    ASSERT_ERROR(cg_sub(cg_scalar(1, CG_BOOL), ONES(2)), BOOL_SUB_ONE);
    /* torch.ones(2,dtype=torch.bool) - 1; - 1.5; 1 - torch.ones(2,dtype=torch.bool) */
    ASSERT_ERROR(cg_sub_scalar(b, 1), BOOL_SUB_ONE);
    ASSERT_ERROR(cg_sub_scalar(b, 1.5), BOOL_SUB_ONE);
    ASSERT_ERROR(cg_rsub_scalar(b, 1), BOOL_SUB_ONE);
    ASSERT_ERROR(cg_rsub_scalar(b, 0.5), BOOL_SUB_ONE);
}

TEST(test_err_bool_pow) {
    /* torch.ones(2,dtype=torch.bool) ** torch.ones(2,dtype=torch.bool) */
    ASSERT_ERROR(cg_pow(ONES_D(CG_BOOL, 2), ONES_D(CG_BOOL, 2)),
                 "\"pow\" not implemented for 'Bool'");
    /* ... ** torch.tensor(True) */
    ASSERT_ERROR(cg_pow(ONES_D(CG_BOOL, 2), cg_scalar(1, CG_BOOL)),
                 "\"pow\" not implemented for 'Bool'");
}

TEST(test_err_int_pow_negative) {
    /* torch.ones(2,dtype=torch.int64) ** -1; ** -2; torch.ones(2,dtype=torch.bool) ** -1 */
    ASSERT_ERROR(cg_pow_scalar(ONES_D(CG_INT64, 2), -1),
                 "Integers to negative integer powers are not allowed.");
    ASSERT_ERROR(cg_pow_scalar(ONES_D(CG_INT64, 2), -2),
                 "Integers to negative integer powers are not allowed.");
    ASSERT_ERROR(cg_pow_scalar(ONES_D(CG_BOOL, 2), -1),
                 "Integers to negative integer powers are not allowed.");
    /* a fractional exponent is a float power: torch.ones(2,dtype=torch.int64) ** -1.5 */
    cg_clear_error();
    cg_tensor *r = cg_pow_scalar(ONES_D(CG_INT64, 2), -1.5);
    ASSERT_NOT_NULL(r);
    ASSERT_EQ(cg_dtype_of(r), CG_FLOAT32);
    ASSERT_NEAR(cg_get(r, (int64_t[]){0}), 1, 0);
    ASSERT_NULL(cg_last_error());
    /* float tensors take negative powers */
    ASSERT_NOT_NULL(cg_pow_scalar(ONES(2), -1));
}

TEST(test_int_pow_negative_tensor_exponent) {
    /* only the Python-scalar form refuses; with tensor exponents PyTorch computes:
     * torch.tensor([-1,2,3]) ** torch.tensor([-1,-2,2]) -> tensor([-1, 0, 9])
     * 2 ** torch.tensor([-1, 1]) -> tensor([0, 2])
     * torch.ones(2,dtype=torch.int64) ** torch.tensor(-1) -> tensor([1, 1]) */
    cg_clear_error();
    cg_tensor *a = cg_from_data((int64_t[]){-1, 2, 3}, CG_SHAPE(3), CG_INT64);
    cg_tensor *e = cg_from_data((int64_t[]){-1, -2, 2}, CG_SHAPE(3), CG_INT64);
    cg_tensor *r = cg_pow(a, e);
    ASSERT_NOT_NULL(r);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
    ASSERT_NEAR(cg_get(r, (int64_t[]){0}), -1, 0);
    ASSERT_NEAR(cg_get(r, (int64_t[]){1}), 0, 0);
    ASSERT_NEAR(cg_get(r, (int64_t[]){2}), 9, 0);
    cg_tensor *r2 = cg_rpow_scalar(cg_from_data((int64_t[]){-1, 1}, CG_SHAPE(2), CG_INT64), 2);
    ASSERT_NOT_NULL(r2);
    ASSERT_NEAR(cg_get(r2, (int64_t[]){0}), 0, 0);
    ASSERT_NEAR(cg_get(r2, (int64_t[]){1}), 2, 0);
    cg_tensor *r3 = cg_pow(ONES_D(CG_INT64, 2), cg_scalar(-1, CG_INT64));
    ASSERT_NOT_NULL(r3);
    ASSERT_NEAR(cg_get(r3, (int64_t[]){1}), 1, 0);
}

/* --------------------------------------------------------------- backward */

TEST(test_err_backward) {
    cg_tensor *x = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_mul_scalar(x, 2);
    /* (x*2).backward() */
    ASSERT_ERROR(cg_backward(y, NULL, false),
                 "grad can be implicitly created only for scalar outputs");
    ASSERT_EQ(cg_backward(y, NULL, false), -1);
    cg_clear_error();
    /* torch.ones(2).backward(); torch.ones(2).sum().backward() */
    ASSERT_ERROR(cg_backward(ONES(2), NULL, false),
                 "element 0 of tensors does not require grad and does not have a grad_fn");
    ASSERT_ERROR(cg_backward(cg_sum(ONES(2)), NULL, false),
                 "element 0 of tensors does not require grad and does not have a grad_fn");
    cg_tensor *d = cg_detach(y);
    ASSERT_ERROR(cg_backward(cg_sum(d), NULL, false),
                 "element 0 of tensors does not require grad and does not have a grad_fn");
    /* (x*2).backward(torch.ones(3)); (x*2).backward(torch.ones(2,1)) */
    ASSERT_ERROR(
        cg_backward(y, ONES(3), false),
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has "
        "a shape of torch.Size([2]).");
    ASSERT_ERROR(
        cg_backward(y, ONES(2, 1), false),
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([2, 1]) and output[0] "
        "has a shape of torch.Size([2]).");
    /* (x*2).sum().backward(torch.ones(2)); ... .backward(torch.ones(1)) */
    cg_tensor *s = cg_sum(y);
    ASSERT_ERROR(
        cg_backward(s, ONES(2), false),
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([2]) and output[0] has "
        "a shape of torch.Size([]).");
    ASSERT_ERROR(
        cg_backward(s, ONES(1), false),
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has "
        "a shape of torch.Size([]).");
    /* none of these reached the leaf */
    ASSERT_NULL(cg_grad(x));
    /* and the graph is still usable */
    ASSERT_EQ(cg_backward(s, NULL, false), 0);
    ASSERT_NOT_NULL(cg_grad(x));
    ASSERT_NEAR(cg_get(cg_grad(x), (int64_t[]){1}), 2, 0);
}

TEST(test_err_backward_twice) {
    /* x=torch.ones(2,requires_grad=True); y=(x*x).sum(); y.backward(); y.backward() */
    cg_tensor *x = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_sum(cg_mul(x, x));
    ASSERT_EQ(cg_backward(y, NULL, false), 0);
    ASSERT_ERROR(cg_backward(y, NULL, false), SECOND_BACKWARD);
    ASSERT_EQ(cg_backward(y, NULL, false), -1);
    cg_clear_error();
    /* y=x.exp().sum(): the saved output is freed too */
    cg_tensor *z = cg_sum(cg_exp(x));
    ASSERT_EQ(cg_backward(z, NULL, false), 0);
    ASSERT_ERROR(cg_backward(z, NULL, false), SECOND_BACKWARD);
    /* with retain_graph the second one works */
    cg_tensor *w = cg_sum(cg_mul(x, x));
    cg_clear_grad(x);
    ASSERT_EQ(cg_backward(w, NULL, true), 0);
    ASSERT_EQ(cg_backward(w, NULL, false), 0);
    ASSERT_NEAR(cg_get(cg_grad(x), (int64_t[]){0}), 4, 0); /* 2x + 2x */
}

TEST(test_err_backward_modified_saved) {
    /* x=torch.ones(2,requires_grad=True); y=x.exp(); y[0]=5; y.sum().backward() */
    cg_tensor *x = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_exp(x);
    ASSERT_EQ(cg_set(y, (int64_t[]){0}, 5), 0);
    ASSERT_ERROR(
        cg_backward(cg_sum(y), NULL, false),
        "one of the variables needed for gradient computation has been modified by an "
        "inplace operation: [torch.FloatTensor [2]], which is output 0 of ExpBackward0, is "
        "at version 1; expected version 0 instead. Hint: enable anomaly detection to find "
        "the operation that failed to compute its gradient, with "
        "torch.autograd.set_detect_anomaly(True).");
}

TEST(test_err_set_leaf) {
    /* x=torch.ones((),requires_grad=True); x[()]=5 */
    cg_tensor *s = cg_ones(CG_SCALAR_SHAPE, CG_REQUIRES_GRAD);
    ASSERT_ERROR(cg_set(s, NULL, 5), LEAF_INPLACE);
    ASSERT_EQ(cg_set(s, NULL, 5), -1);
    cg_clear_error();
    ASSERT_NEAR(cg_item(s), 1, 0); /* not written */
    ASSERT_EQ(cg_version(s), 0);
    /* with grad mode off it is allowed: with torch.no_grad(): x[()] = 5 */
    int rc = -1;
    CG_NO_GRAD { rc = cg_set(s, NULL, 5); }
    ASSERT_EQ(rc, 0);
    ASSERT_NEAR(cg_item(s), 5, 0);
}

TEST(test_err_set_leaf_nd) {
    /* x=torch.ones(2,3,requires_grad=True); x[0,1]=5 (indexing makes a view first) */
    cg_tensor *x = cg_ones(CG_SHAPE(2, 3), CG_REQUIRES_GRAD);
    ASSERT_ERROR(cg_set(x, (int64_t[]){0, 1}, 5), VIEW_LEAF_INPLACE);
    ASSERT_NEAR(cg_get(x, (int64_t[]){0, 1}), 1, 0);
}

TEST(test_err_set_view_of_leaf) {
    /* x=torch.ones(2,3,requires_grad=True); v=x.view(6); v[0]=5; and v=x.t(); v[0,0]=5 */
    cg_tensor *x = cg_ones(CG_SHAPE(2, 3), CG_REQUIRES_GRAD);
    ASSERT_ERROR(cg_set(cg_view(x, CG_SHAPE(6)), (int64_t[]){0}, 5), VIEW_LEAF_INPLACE);
    ASSERT_ERROR(cg_set(cg_transpose(x, 0, 1), (int64_t[]){0, 0}, 5), VIEW_LEAF_INPLACE);
    ASSERT_NEAR(cg_get(x, (int64_t[]){0, 0}), 1, 0); /* the leaf was not written */
}

/* ---------------------------------------------------- cgrad's own checks */

TEST(test_err_scope_end_without_begin) {
    /* leave every open scope (the runner's included: this test made nothing
     * yet), try one more, then reopen as many as there were */
    int depth = cg_scope_depth();
    for (int i = 0; i < depth; i++) cg_scope_end();
    cg_clear_error();
    int rc = cg_scope_end();
    char msg[256];
    snprintf(msg, sizeof msg, "%s", cg_last_error() ? cg_last_error() : "(none)");
    int d0 = cg_scope_depth();
    for (int i = 0; i < depth; i++) cg_scope_begin();
    cg_clear_error();
    ASSERT_EQ(rc, -1);
    ASSERT_EQ(d0, 0);
    ASSERT_STR_EQ(msg, "cg_scope_end() called without a matching cg_scope_begin()");
    ASSERT_EQ(cg_scope_depth(), depth);
}

/* Shapes whose element count overflows int64 are refused (torch 1.13:
 * torch.ones(1, 1).expand(2**32, 2**32), .expand(2**62, 3), .expand(2**32, 2**31);
 * torch.ones(2, 3).view(-1, 2**62); torch.ones(3).repeat(2**62)) */
TEST(test_err_numel_overflow) {
    cg_tensor *o = ONES(1, 1), *v = ONES(3), *s = ONES(2, 3);
    const char *overflow = "numel: integer multiplication overflow";
    ASSERT_ERROR(cg_expand(o, 2, (int64_t[]){1LL << 32, 1LL << 32}), overflow);
    ASSERT_ERROR(cg_expand(o, 2, (int64_t[]){1LL << 62, 3}), overflow);
    ASSERT_ERROR(cg_expand(o, 2, (int64_t[]){1LL << 32, 1LL << 31}), overflow);
    ASSERT_NOT_NULL(cg_expand(o, 2, (int64_t[]){1LL << 62, 0})); /* empty: no overflow */
    ASSERT_ERROR(cg_view(s, 2, (int64_t[]){-1, 1LL << 62}),
                 "shape '[-1, 4611686018427387904]' is invalid for input of size 6");
    ASSERT_ERROR(cg_view(v, 3, (int64_t[]){-1, 1LL << 62, 1LL << 62}),
                 "shape '[-1, 4611686018427387904, 4611686018427387904]' is invalid for input "
                 "of size 3");
    ASSERT_ERROR(cg_repeat(v, 1, (int64_t[]){1LL << 62}),
                 "Trying to create tensor with negative dimension -4611686018427387904: "
                 "[-4611686018427387904]");
}

/* NULL state: an error, not a crash; the generator is left as it was */
TEST(test_err_rng_state_null) {
    uint64_t st[4], again[4];
    ASSERT_EQ(cg_get_rng_state(st), 0);
    ASSERT_ERROR(cg_get_rng_state(NULL), "state is NULL");
    ASSERT_ERROR(cg_set_rng_state(NULL), "state is NULL");
    ASSERT_EQ(cg_get_rng_state(again), 0);
    ASSERT(memcmp(st, again, sizeof st) == 0);
    ASSERT_EQ(cg_set_rng_state(st), 0);
}

TEST(test_err_invalid_opts) {
    float f[2] = {1, 2};
    ASSERT_ERROR(cg_zeros(CG_SHAPE(2), 7),
                 "invalid options 0x7: expected a dtype, optionally | CG_REQUIRES_GRAD");
    ASSERT_ERROR(cg_ones(CG_SHAPE(2), 0x400),
                 "invalid options 0x400: expected a dtype, optionally | CG_REQUIRES_GRAD");
    ASSERT_ERROR(cg_from_data(f, CG_SHAPE(2), 4),
                 "invalid options 0x4: expected a dtype, optionally | CG_REQUIRES_GRAD");
    ASSERT_ERROR(cg_scalar(1, -1),
                 "invalid options 0xffffffff: expected a dtype, optionally | CG_REQUIRES_GRAD");
    ASSERT_ERROR(cg_arange(0, 3, 1, 5),
                 "invalid options 0x5: expected a dtype, optionally | CG_REQUIRES_GRAD");
    ASSERT_ERROR(cg_linspace(0, 1, 3, 0x1000),
                 "invalid options 0x1000: expected a dtype, optionally | CG_REQUIRES_GRAD");
    ASSERT_ERROR(cg_rand(CG_SHAPE(2), 9 | CG_REQUIRES_GRAD),
                 "invalid options 0x109: expected a dtype, optionally | CG_REQUIRES_GRAD");
    ASSERT_ERROR(cg_zeros_like(ONES(2), CG_LIKE_DTYPE | 9),
                 "invalid options 0x9: expected a dtype, optionally | CG_REQUIRES_GRAD");
    /* cg_to with a value outside cg_dtype */
    ASSERT_ERROR(cg_to(ONES(2), (cg_dtype)7), "invalid dtype 7");
    ASSERT_ERROR(cg_to(ONES(2), (cg_dtype)-1), "invalid dtype -1");
    ASSERT_STR_EQ(cg_dtype_name((cg_dtype)7), "invalid");
    ASSERT_EQ(cg_dtype_size((cg_dtype)7), 0);
    ASSERT(!cg_dtype_is_floating((cg_dtype)-1));
}

TEST(test_err_invalid_shapes) {
    int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    float f[2] = {1, 2};
    ASSERT_ERROR(cg_zeros(9, shape, 0), "cgrad supports tensors of 0 to 8 dimensions, but got 9");
    ASSERT_ERROR(cg_ones(-1, shape, 0), "cgrad supports tensors of 0 to 8 dimensions, but got -1");
    ASSERT_ERROR(cg_empty(2, NULL, 0), "shape is NULL but ndim is 2");
    ASSERT_ERROR(cg_from_data(f, 1, NULL, 0), "shape is NULL but ndim is 1");
    ASSERT_NOT_NULL(cg_zeros(0, NULL, 0)); /* 0-d: no shape needed */
    /* torch.tensor would need the data */
    ASSERT_ERROR(cg_from_data(NULL, CG_SHAPE(2, 3), 0), "data is NULL for a tensor of 24 bytes");
    ASSERT_ERROR(cg_from_data(NULL, CG_SHAPE(2), CG_FLOAT64),
                 "data is NULL for a tensor of 16 bytes");
    /* views to too many dims */
    ASSERT_ERROR(cg_view(ONES(1), 9, shape), "shape must have 0 to 8 dims, got 9");
    ASSERT_ERROR(cg_reshape(ONES(1), 9, shape), "shape must have 0 to 8 dims, got 9");
    ASSERT_ERROR(cg_unsqueeze(cg_ones(8, shape, 0), 0), "cgrad supports at most 8 dimensions");
    ASSERT_ERROR(cg_sum_dims(ONES(2), 2, NULL, false), "dims is NULL but ndims is 2");
}

TEST(test_err_index) {
    cg_tensor *a = ONES(3), *b = ONES(2, 3);
    /* torch.ones(3)[5]; torch.ones(3)[-4] */
    ASSERT_ERROR(cg_get(a, (int64_t[]){5}), "index 5 is out of bounds for dimension 0 with size 3");
    ASSERT_ERROR(cg_get(a, (int64_t[]){-4}),
                 "index -4 is out of bounds for dimension 0 with size 3");
    /* torch.ones(2,3)[1,3]; torch.ones(2,3)[1,-4] */
    ASSERT_ERROR(cg_get(b, (int64_t[]){1, 3}),
                 "index 3 is out of bounds for dimension 1 with size 3");
    ASSERT_ERROR(cg_set(b, (int64_t[]){1, -4}, 0),
                 "index -4 is out of bounds for dimension 1 with size 3");
    ASSERT_ERROR(cg_set(b, (int64_t[]){2, 0}, 0),
                 "index 2 is out of bounds for dimension 0 with size 2");
    ASSERT_EQ(cg_version(b), 0);
    ASSERT(isnan(cg_get(a, (int64_t[]){3})));
    ASSERT_EQ(cg_set(a, (int64_t[]){3}, 1), -1);
    ASSERT_ERROR(cg_get(b, NULL), "index is NULL but the tensor has 2 dimensions");
    ASSERT_ERROR(cg_set(b, NULL, 1), "index is NULL but the tensor has 2 dimensions");
    /* nodes: next_functions out of range */
    cg_tensor *y = cg_mul_scalar(cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD), 2);
    ASSERT_ERROR(cg_node_next(cg_grad_fn(y), 5, NULL), "next_functions index 5 out of range");
    ASSERT_ERROR(cg_node_next(cg_grad_fn(y), -1, NULL), "next_functions index -1 out of range");
}

TEST(test_err_clear) {
    cg_clear_error();
    ASSERT_NULL(cg_last_error());
    ASSERT_NULL(cg_mm(ONES(2, 3), ONES(4, 5)));
    ASSERT_STR_EQ(cg_last_error(), "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
    cg_clear_error();
    ASSERT_NULL(cg_last_error());
}

/* ------------------------------------------------------------ NULL inputs */

typedef cg_tensor *(*fn1)(cg_tensor *);
typedef cg_tensor *(*fn2)(cg_tensor *, cg_tensor *);
typedef cg_tensor *(*fns)(cg_tensor *, double);
typedef cg_tensor *(*fnlike)(const cg_tensor *, int);

static const struct {
    const char *name;
    fn1 f;
} unary_ops[] = {
    {"cg_neg", cg_neg},
    {"cg_exp", cg_exp},
    {"cg_log", cg_log},
    {"cg_sqrt", cg_sqrt},
    {"cg_abs", cg_abs},
    {"cg_sign", cg_sign},
    {"cg_reciprocal", cg_reciprocal},
    {"cg_tanh", cg_tanh},
    {"cg_sigmoid", cg_sigmoid},
    {"cg_relu", cg_relu},
    {"cg_sum", cg_sum},
    {"cg_mean", cg_mean},
    {"cg_max", cg_max},
    {"cg_min", cg_min},
    {"cg_all", cg_all},
    {"cg_any", cg_any},
    {"cg_squeeze", cg_squeeze},
    {"cg_contiguous", cg_contiguous},
    {"cg_clone", cg_clone},
    {"cg_detach", cg_detach},
    {"cg_detach_", cg_detach_},
    {"cg_keep", cg_keep},
    {"cg_retain", cg_retain},
};

static const struct {
    const char *name;
    fn2 f;
} binary_ops[] = {
    {"cg_add", cg_add}, {"cg_sub", cg_sub},       {"cg_mul", cg_mul}, {"cg_div", cg_div},
    {"cg_pow", cg_pow}, {"cg_matmul", cg_matmul}, {"cg_mm", cg_mm},   {"cg_bmm", cg_bmm},
    {"cg_mv", cg_mv},   {"cg_dot", cg_dot},       {"cg_eq", cg_eq},   {"cg_ne", cg_ne},
    {"cg_lt", cg_lt},   {"cg_le", cg_le},         {"cg_gt", cg_gt},   {"cg_ge", cg_ge},
};

static const struct {
    const char *name;
    fns f;
} scalar_ops[] = {
    {"cg_add_scalar", cg_add_scalar},   {"cg_sub_scalar", cg_sub_scalar},
    {"cg_rsub_scalar", cg_rsub_scalar}, {"cg_mul_scalar", cg_mul_scalar},
    {"cg_div_scalar", cg_div_scalar},   {"cg_rdiv_scalar", cg_rdiv_scalar},
    {"cg_pow_scalar", cg_pow_scalar},   {"cg_rpow_scalar", cg_rpow_scalar},
    {"cg_eq_scalar", cg_eq_scalar},     {"cg_ne_scalar", cg_ne_scalar},
    {"cg_lt_scalar", cg_lt_scalar},     {"cg_le_scalar", cg_le_scalar},
    {"cg_gt_scalar", cg_gt_scalar},     {"cg_ge_scalar", cg_ge_scalar},
};

static const struct {
    const char *name;
    fnlike f;
} like_ops[] = {
    {"cg_empty_like", cg_empty_like}, {"cg_zeros_like", cg_zeros_like},
    {"cg_ones_like", cg_ones_like},   {"cg_rand_like", cg_rand_like},
    {"cg_randn_like", cg_randn_like},
};

/* Every tensor-returning function given a NULL tensor (alone or beside a good
 * one): NULL back, and `first` still the last error. */
static bool null_ops_keep(const char *first) {
    cg_tensor *m = ONES(2, 2), *c = ONES_D(CG_BOOL, 2, 2);
#define CHECK_NULL(name, expr)                                                                     \
    do {                                                                                           \
        cg_tensor *r_ = (expr);                                                                    \
        const char *e_ = cg_last_error();                                                          \
        if (r_ != NULL || !e_ || strcmp(e_, first) != 0) {                                         \
            fprintf(stderr, "    %s: returned %p, last error now \"%s\"\n", (name), (void *)r_,    \
                    e_ ? e_ : "(none)");                                                           \
            return false;                                                                          \
        }                                                                                          \
    } while (0)
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++)
        CHECK_NULL(unary_ops[i].name, unary_ops[i].f(NULL));
    for (size_t i = 0; i < sizeof binary_ops / sizeof binary_ops[0]; i++) {
        CHECK_NULL(binary_ops[i].name, binary_ops[i].f(NULL, m));
        CHECK_NULL(binary_ops[i].name, binary_ops[i].f(m, NULL));
        CHECK_NULL(binary_ops[i].name, binary_ops[i].f(NULL, NULL));
    }
    for (size_t i = 0; i < sizeof scalar_ops / sizeof scalar_ops[0]; i++)
        CHECK_NULL(scalar_ops[i].name, scalar_ops[i].f(NULL, 2));
    for (size_t i = 0; i < sizeof like_ops / sizeof like_ops[0]; i++)
        CHECK_NULL(like_ops[i].name, like_ops[i].f(NULL, 0));
    CHECK_NULL("cg_full_like", cg_full_like(NULL, 1, 0));
    CHECK_NULL("cg_where", cg_where(NULL, m, m));
    CHECK_NULL("cg_where", cg_where(c, NULL, m));
    CHECK_NULL("cg_where", cg_where(c, m, NULL));
    CHECK_NULL("cg_to", cg_to(NULL, CG_FLOAT64));
    CHECK_NULL("cg_to", cg_to(NULL, (cg_dtype)9));
    CHECK_NULL("cg_requires_grad_", cg_requires_grad_(NULL, true));
    CHECK_NULL("cg_sum_dims", cg_sum_dims(NULL, CG_DIMS(0), false));
    CHECK_NULL("cg_mean_dims", cg_mean_dims(NULL, CG_DIMS(0), true));
    CHECK_NULL("cg_view", cg_view(NULL, CG_SHAPE(4)));
    CHECK_NULL("cg_reshape", cg_reshape(NULL, CG_SHAPE(4)));
    CHECK_NULL("cg_expand", cg_expand(NULL, CG_SHAPE(2, 2)));
    CHECK_NULL("cg_transpose", cg_transpose(NULL, 0, 1));
    CHECK_NULL("cg_permute", cg_permute(NULL, CG_DIMS(1, 0)));
    CHECK_NULL("cg_unsqueeze", cg_unsqueeze(NULL, 0));
    CHECK_NULL("cg_squeeze_dim", cg_squeeze_dim(NULL, 0));
    /* int-returning functions that signal failure in-band */
    if (cg_backward(NULL, NULL, false) != -1 || cg_backward(NULL, m, true) != -1 ||
        cg_zero_grad(NULL) != -1) {
        fprintf(stderr, "    cg_backward/cg_zero_grad(NULL) did not return -1\n");
        return false;
    }
    if (!cg_last_error() || strcmp(cg_last_error(), first) != 0) {
        fprintf(stderr, "    cg_backward/cg_zero_grad(NULL): last error now \"%s\"\n",
                cg_last_error() ? cg_last_error() : "(none)");
        return false;
    }
#undef CHECK_NULL
    return true;
}

TEST(test_err_null_ops_keep_first_error) {
    cg_tensor *a = ONES(2, 3), *bad = ONES(4, 5);
    const char *mm = "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)";
    cg_clear_error();
    /* the chained expression of the header's example */
    ASSERT_NULL(cg_mean(cg_matmul(a, bad)));
    ASSERT_STR_EQ(cg_last_error(), mm);
    ASSERT_NULL(cg_sum_dims(cg_relu(cg_add_scalar(cg_matmul(a, bad), 1)), CG_DIMS(0), true));
    ASSERT_STR_EQ(cg_last_error(), mm);
    ASSERT_EQ(cg_backward(cg_sum(cg_mul(cg_matmul(a, bad), a)), NULL, false), -1);
    ASSERT_STR_EQ(cg_last_error(), mm);
    ASSERT(null_ops_keep(mm));
    /* the same with no error recorded beforehand: still none after */
    cg_clear_error();
    ASSERT_NULL(cg_add(NULL, a));
    ASSERT_NULL(cg_view(NULL, CG_SHAPE(6)));
    ASSERT_NULL(cg_last_error());
    cg_clear_error();
}

TEST(test_err_null_accessors_do_not_crash) {
    ASSERT_EQ(cg_ndim(NULL), -1);
    ASSERT_EQ(cg_size(NULL, 0), -1);
    ASSERT_NULL(cg_shape(NULL));
    ASSERT_NULL(cg_strides(NULL));
    ASSERT_EQ(cg_storage_offset(NULL), -1);
    ASSERT_EQ(cg_numel(NULL), -1);
    (void)cg_dtype_of(NULL);
    ASSERT(!cg_is_contiguous(NULL));
    ASSERT(isnan(cg_item(NULL)));
    ASSERT(isnan(cg_get(NULL, (int64_t[]){0})));
    ASSERT_EQ(cg_set(NULL, (int64_t[]){0}, 1), -1);
    ASSERT_NULL(cg_data_ptr(NULL));
    ASSERT_EQ(cg_version(NULL), 0);
    cg_tensor *a = ONES(2);
    ASSERT(!cg_shares_storage(NULL, a));
    ASSERT(!cg_shares_storage(a, NULL));
    ASSERT(!cg_shares_storage(NULL, NULL));
    ASSERT(!cg_requires_grad(NULL));
    ASSERT(!cg_is_leaf(NULL));
    ASSERT_NULL(cg_grad_fn(NULL));
    ASSERT_NULL(cg_grad(NULL));
    ASSERT_EQ(cg_zero_grad(NULL), -1);
    cg_clear_grad(NULL);
    cg_release(NULL);
    ASSERT_NULL(cg_retain(NULL));
    ASSERT_NULL(cg_keep(NULL));
    ASSERT(!cg_equal(NULL, a));
    ASSERT(!cg_equal(a, NULL));
    ASSERT(!cg_equal(NULL, NULL));
    /* nodes: NULL is None */
    ASSERT_STR_EQ(cg_node_name(NULL), "None");
    ASSERT_EQ(cg_node_num_next(NULL), 0);
    ASSERT_EQ(cg_node_seq(NULL), 0);
    ASSERT_NULL(cg_node_next(NULL, 0, NULL));
    char *nr = cg_node_repr(NULL);
    ASSERT_NOT_NULL(nr);
    ASSERT_STR_EQ(nr, "None");
    free(nr);
    /* printing */
    ASSERT_NULL(cg_to_string(NULL));
    ASSERT_EQ(cg_fprint(stderr, NULL), -1);
    ASSERT_EQ(cg_fprint(NULL, a), -1);
    ASSERT_EQ(cg_print(NULL), -1);
    /* unary/binary ops: covered by test_err_null_ops_keep_first_error */
    cg_clear_error();
}

/* ------------------------------------------------- tensors survive errors */

TEST(test_err_tensors_intact_after_errors) {
    cg_tensor *x = cg_from_data((float[]){1, 2, 3, 4, 5, 6}, CG_SHAPE(2, 3), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_mul_scalar(x, 2);
    cg_tensor *i = cg_from_data((int64_t[]){1, 2, 3}, CG_SHAPE(3), CG_INT64);
    cg_tensor *z = cg_sum(y);
    uint64_t vx = cg_version(x), vy = cg_version(y), vi = cg_version(i);
    long live = cg_live_tensors();
    /* a batch of failing calls that involve them */
    ASSERT_NULL(cg_mm(x, y));
    ASSERT_NULL(cg_add(x, ONES(4, 3)));
    ASSERT_NULL(cg_view(cg_transpose(y, 0, 1), CG_SHAPE(6)));
    ASSERT_NULL(cg_reshape(x, CG_SHAPE(4)));
    ASSERT_NULL(cg_expand(y, CG_SHAPE(4, 3)));
    ASSERT_NULL(cg_sum_dims(x, CG_DIMS(5), false));
    ASSERT_NULL(cg_permute(y, CG_DIMS(0, 0)));
    ASSERT_NULL(cg_matmul(y, cg_scalar(1, 0)));
    ASSERT_NULL(cg_mean(i));
    ASSERT_NULL(cg_pow_scalar(i, -1));
    ASSERT_NULL(cg_where(i, x, y));
    ASSERT_NULL(cg_requires_grad_(y, false));
    ASSERT_NULL(cg_requires_grad_(i, true));
    ASSERT(isnan(cg_item(x)));
    ASSERT_EQ(cg_set(x, (int64_t[]){0, 0}, 100), -1); /* a leaf requiring grad */
    ASSERT_EQ(cg_set(y, (int64_t[]){2, 0}, 100), -1); /* out of bounds */
    ASSERT_EQ(cg_backward(y, NULL, false), -1);
    ASSERT_EQ(cg_backward(y, ONES(3), false), -1);
    cg_clear_error();
    /* nothing changed */
    for (int k = 0; k < 6; k++) {
        int64_t idx[2] = {k / 3, k % 3};
        ASSERT_NEAR(cg_get(x, idx), k + 1, 0);
        ASSERT_NEAR(cg_get(y, idx), 2 * (k + 1), 0);
    }
    ASSERT_NEAR(cg_get(i, (int64_t[]){2}), 3, 0);
    ASSERT_NEAR(cg_item(z), 42, 0);
    ASSERT_EQ(cg_version(x), vx);
    ASSERT_EQ(cg_version(y), vy);
    ASSERT_EQ(cg_version(i), vi);
    ASSERT(cg_requires_grad(x) && cg_is_leaf(x));
    ASSERT(cg_requires_grad(y) && !cg_is_leaf(y));
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(y)), "MulBackward0");
    ASSERT(!cg_requires_grad(i));
    ASSERT_NULL(cg_grad(x));
    ASSERT_EQ(cg_ndim(x), 2);
    ASSERT_EQ(cg_size(x, 1), 3);
    /* failed calls left no new tensors behind besides their own arguments */
    ASSERT_GE(cg_live_tensors(), live);
    /* and they still work */
    ASSERT_EQ(cg_backward(z, NULL, false), 0);
    ASSERT_NOT_NULL(cg_grad(x));
    ASSERT_NEAR(cg_get(cg_grad(x), (int64_t[]){1, 2}), 2, 0);
    cg_tensor *w = cg_add(x, y);
    ASSERT_NOT_NULL(w);
    ASSERT_NEAR(cg_get(w, (int64_t[]){1, 1}), 15, 0);
    ASSERT_NULL(cg_last_error());
}

/* --------------------------------------------------------- abort on error */

/* Runs body in a forked child with stderr on a pipe; returns the wait status
 * and the child's stderr in buf. */
static int run_child(void (*body)(void *), void *arg, char *buf, size_t n) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        close(fds[1]);
        body(arg);
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t k;
    while (len + 1 < n && (k = read(fds[0], buf + len, n - 1 - len)) > 0) len += (size_t)k;
    buf[len] = '\0';
    close(fds[0]);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return status;
}

static void child_abort(void *arg) {
    cg_tensor **ab = arg;
    cg_set_abort_on_error(true);
    cg_mm(ab[0], ab[1]);
    _exit(3); /* not reached: the error aborts */
}

static void child_abort_off(void *arg) {
    cg_tensor **ab = arg;
    cg_set_abort_on_error(true);
    cg_set_abort_on_error(false);
    cg_mm(ab[0], ab[1]);
    _exit(cg_last_error() ? 0 : 4);
}

static void child_null_no_abort(void *arg) {
    (void)arg;
    cg_set_abort_on_error(true);
    cg_add(NULL, NULL); /* not an error: nothing recorded, no abort */
    cg_mean(NULL);
    _exit(0);
}

TEST(test_err_abort_on_error) {
    cg_tensor *ab[2] = {ONES(2, 3), ONES(4, 5)};
    char buf[4096];
    int st = run_child(child_abort, ab, buf, sizeof buf);
    ASSERT_NE(st, -1);
    ASSERT(WIFSIGNALED(st));
    ASSERT_EQ(WTERMSIG(st), SIGABRT);
    /* the message, with the function that failed */
    ASSERT_NOT_NULL(strstr(buf, "cg_mm"));
    ASSERT_NOT_NULL(
        strstr(buf,
               "cgrad: error in cg_mm: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)\n"));
    /* switched back off: the error is only recorded */
    st = run_child(child_abort_off, ab, buf, sizeof buf);
    ASSERT(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 0);
    ASSERT_STR_EQ(buf, "");
    st = run_child(child_null_no_abort, NULL, buf, sizeof buf);
    ASSERT(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 0);
    /* the parent is not in abort mode */
    ASSERT_NULL(cg_mm(ab[0], ab[1]));
    cg_clear_error();
}

TEST_MAIN(test_err_numel_overflow, test_err_rng_state_null, test_err_broadcast, test_err_where,
          test_err_where_broadcast_order, test_err_where_cond_dtype, test_err_mm,
          test_err_mm_bool_second, test_err_bmm, test_err_bmm_bool, test_err_mv, test_err_mv_dims,
          test_err_mv_bool, test_err_dot, test_err_dot_bool, test_err_matmul,
          test_err_matmul_folded_vector, test_err_matmul_bool, test_err_view_reshape,
          test_err_view_zero_elements, test_err_dims_out_of_range, test_err_size_of_0d,
          test_err_duplicate_dims, test_err_duplicate_dims_0d, test_err_permute, test_err_expand,
          test_err_expand_trailing_mismatch, test_err_reductions,
          test_err_requires_grad_int_at_creation, test_err_requires_grad_, test_err_item,
          test_err_negative_dimension, test_err_arange, test_err_arange_int_step,
          test_err_arange_bool, test_arange_infinite_step_is_empty, test_err_linspace,
          test_err_linspace_bool, test_err_rand_int_dtypes, test_err_bool_arith,
          test_err_bool_sub_mixed, test_err_bool_pow, test_err_int_pow_negative,
          test_int_pow_negative_tensor_exponent, test_err_backward, test_err_backward_twice,
          test_err_backward_modified_saved, test_err_set_leaf, test_err_set_leaf_nd,
          test_err_set_view_of_leaf, test_err_scope_end_without_begin, test_err_invalid_opts,
          test_err_invalid_shapes, test_err_index, test_err_clear,
          test_err_null_ops_keep_first_error, test_err_null_accessors_do_not_crash,
          test_err_tensors_intact_after_errors, test_err_abort_on_error)
