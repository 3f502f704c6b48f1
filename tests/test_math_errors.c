/* Error paths of the math and activation families (src/ops/math.c,
 * src/ops/activation.c), with PyTorch 1.13's exact messages (the Python
 * expression that printed each is in the comment beside it), NULL inputs,
 * and what the generated op tests cannot reach: the split of maximum's
 * gradient at ties, NaN in maximum, integer division by zero. */
#include "test.h"

#define ONES(dt, ...) cg_ones(CG_SHAPE(__VA_ARGS__), (dt))
#define ADDCDIV_INT                                                                                \
    "Integer division with addcdiv is no longer supported, and in a future  release addcdiv "      \
    "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can be "   \
    "implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "         \
    "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "      \
    "addcdiv behavior is just the latter implementation: (input + value * tensor1 / tensor2), "    \
    "for all dtypes."

TEST(test_err_binary_broadcast) {
    /* torch.maximum(torch.ones(2,3), torch.ones(4,3)) */
    ASSERT_ERROR(cg_maximum(ONES(0, 2, 3), ONES(0, 4, 3)),
                 "The size of tensor a (2) must match the size of tensor b (4) at non-singleton "
                 "dimension 0");
    /* torch.atan2(torch.ones(3), torch.ones(2)) */
    ASSERT_ERROR(cg_atan2(ONES(0, 3), ONES(0, 2)),
                 "The size of tensor a (3) must match the size of tensor b (2) at non-singleton "
                 "dimension 0");
    /* torch.lerp(torch.ones(3), torch.ones(3), torch.ones(2)) */
    ASSERT_ERROR(cg_lerp_tensor(ONES(0, 3), ONES(0, 3), ONES(0, 2)),
                 "The size of tensor a (3) must match the size of tensor b (2) at non-singleton "
                 "dimension 0");
}

TEST(test_err_integer_division) {
    cg_tensor *i = ONES(CG_INT64, 3), *z = cg_zeros(CG_SHAPE(3), CG_INT64);
    /* torch.fmod(torch.ones(3, dtype=torch.long), torch.zeros(3, dtype=torch.long)) */
    ASSERT_ERROR(cg_fmod(i, z), "ZeroDivisionError");
    /* torch.remainder(torch.ones(3, dtype=torch.long), 0) */
    ASSERT_ERROR(cg_remainder_scalar(i, 0), "ZeroDivisionError");
    /* torch.fmod(torch.ones(3, dtype=torch.bool), torch.ones(3, dtype=torch.bool)) */
    cg_tensor *b = ONES(CG_BOOL, 3);
    ASSERT_ERROR(cg_fmod(b, b), "\"fmod_cpu\" not implemented for 'Bool'");
    ASSERT_ERROR(cg_remainder(b, b), "\"remainder_cpu\" not implemented for 'Bool'");
    /* a float zero divisor gives NaN: torch.fmod(torch.ones(1), 0.0) */
    cg_tensor *r = cg_fmod_scalar(ONES(0, 1), 0.0);
    ASSERT_NOT_NULL(r);
    ASSERT(isnan(cg_item(r)));
}

TEST(test_err_lerp_dtypes) {
    cg_tensor *f = ONES(0, 3), *d = ONES(CG_FLOAT64, 3), *i = ONES(CG_INT64, 3);
    /* torch.lerp(a.double(), a, 0.3) */
    ASSERT_ERROR(cg_lerp(d, f, 0.3), "expected dtype double for `end` but got dtype float");
    /* torch.lerp(a, a, a.double()) */
    ASSERT_ERROR(cg_lerp_tensor(f, f, d), "expected dtype float for `weight` but got dtype double");
    /* torch.lerp(torch.ones(3, dtype=torch.long), torch.ones(3, dtype=torch.bool), 0.3) */
    ASSERT_ERROR(cg_lerp(i, ONES(CG_BOOL, 3), 0.3),
                 "expected dtype long int for `end` but got dtype bool");
    /* torch.lerp(i, i, 0.3), torch.lerp(i, i, i) */
    ASSERT_ERROR(cg_lerp(i, i, 0.3), "\"lerp_kernel_scalar\" not implemented for 'Long'");
    ASSERT_ERROR(cg_lerp_tensor(i, i, i), "\"lerp_kernel_tensor\" not implemented for 'Long'");
}

TEST(test_err_addc) {
    cg_tensor *i = ONES(CG_INT64, 3), *b = ONES(CG_BOOL, 3), *f = ONES(0, 3);
    /* torch.addcdiv(i, i, i) and torch.addcdiv(f, i, b): both divisor operands integral */
    ASSERT_ERROR(cg_addcdiv(i, i, i, 1), ADDCDIV_INT);
    ASSERT_ERROR(cg_addcdiv(f, i, b, 1), ADDCDIV_INT);
    /* torch.addcmul(b, b, b) */
    ASSERT_ERROR(cg_addcmul(b, b, b, 1), "\"addcmul_cpu_out\" not implemented for 'Bool'");
    /* int64: the value is cast to the integer type: torch.addcmul(i, i, i, value=2.5) is 3 */
    cg_tensor *r = cg_addcmul(i, i, i, 2.5);
    ASSERT_NOT_NULL(r);
    ASSERT_EQ(cg_item(cg_sum(r)), 9.0);
    ASSERT_EQ(cg_dtype_of(r), CG_INT64);
}

TEST(test_err_activations) {
    cg_tensor *i = ONES(CG_INT64, 3), *b = ONES(CG_BOOL, 3);
    /* F.hardtanh(torch.ones(3, dtype=torch.bool)) */
    ASSERT_ERROR(cg_hardtanh(b, -1, 1), "Bool inputs not supported for hardtanh");
    /* F.elu(i), F.logsigmoid(b), F.mish(i), F.hardswish(b) */
    ASSERT_ERROR(cg_elu(i, 1), "\"elu_cpu\" not implemented for 'Long'");
    ASSERT_ERROR(cg_logsigmoid(b), "\"log_sigmoid_cpu\" not implemented for 'Bool'");
    ASSERT_ERROR(cg_mish(i), "\"mish_cpu\" not implemented for 'Long'");
    ASSERT_ERROR(cg_hardswish(b), "\"hardswish_cpu\" not implemented for 'Bool'");
    /* int64 keeps its dtype, the bounds truncated: F.hardtanh(torch.tensor([-2, 0, 3]), -1.5,
     * 2.5) is [-1, 0, 2] */
    cg_tensor *r = cg_hardtanh(cg_from_data((const int64_t[]){-2, 0, 3}, CG_SHAPE(3), CG_INT64),
                               -1.5, 2.5);
    ASSERT_NOT_NULL(r);
    ASSERT_EQ(cg_get(r, (int64_t[]){0}), -1.0);
    ASSERT_EQ(cg_get(r, (int64_t[]){2}), 2.0);
}

TEST(test_maximum_ties_and_nan) {
    /* x = [1, 2, 3], y = [1, 1, 4]: torch.maximum(x, y).sum().backward() gives
     * x.grad [0.5, 1, 0], y.grad [0.5, 0, 1] */
    cg_tensor *x = cg_from_data((const float[]){1, 2, 3}, CG_SHAPE(3), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_from_data((const float[]){1, 1, 4}, CG_SHAPE(3), CG_REQUIRES_GRAD);
    ASSERT_EQ(cg_backward(cg_sum(cg_maximum(x, y)), NULL, false), 0);
    const double gx[3] = {0.5, 1, 0}, gy[3] = {0.5, 0, 1};
    for (int64_t k = 0; k < 3; k++) {
        ASSERT_EQ(cg_get(cg_grad(x), &k), gx[k]);
        ASSERT_EQ(cg_get(cg_grad(y), &k), gy[k]);
    }
    /* torch.maximum(torch.tensor([nan, 1.]), torch.tensor([1., nan])) is [nan, nan] */
    cg_tensor *m = cg_maximum(cg_from_data((const float[]){NAN, 1}, CG_SHAPE(2), 0),
                              cg_from_data((const float[]){1, NAN}, CG_SHAPE(2), 0));
    ASSERT_NOT_NULL(m);
    ASSERT(isnan(cg_get(m, (int64_t[]){0})) && isnan(cg_get(m, (int64_t[]){1})));
}

TEST(test_inplace_forms) {
    /* only t2 requires grad: a = zeros(3); a.addcmul_(ones(3) * 2, c, value=1.5);
     * a.sum().backward() gives c.grad = 3 everywhere, as torch */
    cg_tensor *c = cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD);
    cg_tensor *a = cg_zeros(CG_SHAPE(3), 0);
    ASSERT_PTR_EQ(cg_addcmul_(a, cg_full(CG_SHAPE(3), 2, 0), c, 1.5), a);
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(a)), "AddcmulBackward0");
    ASSERT_EQ(cg_backward(cg_sum(a), NULL, false), 0);
    ASSERT_EQ(cg_get(cg_grad(c), (int64_t[]){1}), 3.0);
    /* torch.ones(3, dtype=torch.long).atan2_(torch.ones(3)) */
    ASSERT_ERROR(cg_atan2_(ONES(CG_INT64, 3), ONES(0, 3)),
                 "result type Float can't be cast to the desired output type Long");
    /* torch.ones(3, requires_grad=True).tan_() */
    ASSERT_ERROR(cg_tan_(cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD)),
                 "a leaf Variable that requires grad is being used in an in-place operation.");
    /* no graph: written in place, t's storage: torch.tensor([4.]).sqrt_() is [2.] */
    cg_tensor *t = cg_full(CG_SHAPE(1), 4, 0);
    ASSERT_PTR_EQ(cg_sqrt_(t), t);
    ASSERT_EQ(cg_item(t), 2.0);
}

TEST(test_null_inputs) {
    cg_tensor *a = ONES(0, 3);
    ASSERT_NULL(cg_tan(NULL));
    ASSERT_NULL(cg_maximum(a, NULL));
    ASSERT_NULL(cg_fmod_scalar(NULL, 2));
    ASSERT_NULL(cg_lerp(NULL, a, 0.5));
    ASSERT_NULL(cg_lerp_tensor(a, a, NULL));
    ASSERT_NULL(cg_addcmul(a, NULL, a, 1));
    ASSERT_NULL(cg_hardtanh(NULL, -1, 1));
    ASSERT_NULL(cg_mish(NULL));
}

TEST_MAIN(test_err_binary_broadcast, test_err_integer_division, test_err_lerp_dtypes, test_err_addc,
          test_err_activations, test_maximum_ties_and_nan, test_inplace_forms, test_null_inputs)
