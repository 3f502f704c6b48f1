/* Error paths of the pointwise family (src/ops/pointwise.c), with PyTorch
 * 1.13's exact messages (the Python expression that printed each is in the
 * comment beside it); NULL tensors; and the behaviours the generated op tests
 * cannot reach: round half to even, NaN handling of clamp, clamp's gradients
 * at its bounds, second derivatives. */
#include "test.h"

#include <stdint.h>

#define F32(...)                                                                                   \
    cg_from_data((const float[]){__VA_ARGS__},                                                     \
                 CG_SHAPE((int64_t)(sizeof((const float[]){__VA_ARGS__}) / sizeof(float))), 0)
#define ONES_D(dt, ...) cg_ones(CG_SHAPE(__VA_ARGS__), (dt))

static bool values_are(cg_tensor *t, int n, const double *want) {
    if (!t || cg_numel(t) != n) return false;
    for (int64_t i = 0; i < n; i++) {
        double x = cg_get(t, &i), y = want[i];
        if (!(x == y || (isnan(x) && isnan(y)))) {
            fprintf(stderr, "  element %lld: %.9g, expected %.9g\n", (long long)i, x, y);
            return false;
        }
    }
    return true;
}

#define NONE_MSG "torch.clamp: At least one of 'min' or 'max' must not be None"

TEST(test_err_clamp_needs_a_bound) {
    cg_tensor *a = cg_ones(CG_SHAPE(3), 0);
    /* torch.clamp(torch.ones(3)) and torch.clamp(torch.ones(3), None, None) */
    ASSERT_ERROR(cg_clamp(a, -INFINITY, INFINITY), NONE_MSG);
    ASSERT_ERROR(cg_clamp_tensor(a, NULL, NULL), NONE_MSG);
    /* the same for int64 input: torch.clamp(torch.ones(3, dtype=torch.int64)) */
    ASSERT_ERROR(cg_clamp(ONES_D(CG_INT64, 3), -INFINITY, INFINITY), NONE_MSG);
}

TEST(test_err_clamp_tensor_broadcast) {
    cg_tensor *a = cg_ones(CG_SHAPE(2, 3), 0), *v = cg_ones(CG_SHAPE(3), 0);
    /* torch.clamp(torch.ones(2,3), torch.ones(4,3)) */
    ASSERT_ERROR(cg_clamp_tensor(a, cg_ones(CG_SHAPE(4, 3), 0), NULL),
                 "The size of tensor a (2) must match the size of tensor b (4) at non-singleton "
                 "dimension 0");
    /* torch.clamp(torch.ones(2,3), None, torch.ones(2,4)) */
    ASSERT_ERROR(cg_clamp_tensor(a, NULL, cg_ones(CG_SHAPE(2, 4), 0)),
                 "The size of tensor a (3) must match the size of tensor b (4) at non-singleton "
                 "dimension 1");
    /* torch.clamp(torch.ones(3), torch.ones(3), torch.ones(2,4)): a with min, then with max */
    ASSERT_ERROR(cg_clamp_tensor(v, v, cg_ones(CG_SHAPE(2, 4), 0)),
                 "The size of tensor a (3) must match the size of tensor b (4) at non-singleton "
                 "dimension 1");
    /* torch.clamp(torch.zeros(3), torch.zeros(2,1), torch.zeros(4,3)) */
    ASSERT_ERROR(cg_clamp_tensor(v, cg_ones(CG_SHAPE(2, 1), 0), cg_ones(CG_SHAPE(4, 3), 0)),
                 "The size of tensor a (2) must match the size of tensor b (4) at non-singleton "
                 "dimension 0");
}

TEST(test_err_clamp_tensor_bool) {
    cg_tensor *b = ONES_D(CG_BOOL, 3);
    /* torch.clamp(torch.ones(3, dtype=torch.bool), torch.ones(3, dtype=torch.bool),
     * torch.ones(3, dtype=torch.bool)) */
    ASSERT_ERROR(cg_clamp_tensor(b, b, b), "\"clamp_cpu\" not implemented for 'Bool'");
    /* one bound is torch.maximum / minimum, which take bool: torch.clamp(b, b) */
    cg_tensor *r = cg_clamp_tensor(b, NULL, b);
    ASSERT(r && cg_dtype_of(r) == CG_BOOL);
    /* bool with an int64 bound promotes: torch.clamp(b, torch.tensor(0), b) is int64 */
    r = cg_clamp_tensor(b, cg_scalar(0, CG_INT64), b);
    ASSERT(r && cg_dtype_of(r) == CG_INT64);
}

TEST(test_err_activations_refuse_int_and_bool) {
    cg_tensor *i = ONES_D(CG_INT64, 3), *b = ONES_D(CG_BOOL, 3), *i0 = cg_scalar(1, CG_INT64);
    /* F.gelu(torch.ones(3, dtype=torch.int64)) */
    ASSERT_ERROR(cg_gelu(i, false), "\"GeluKernelImpl\" not implemented for 'Long'");
    /* F.gelu(torch.ones(3, dtype=torch.bool), approximate='tanh') */
    ASSERT_ERROR(cg_gelu(b, true), "\"GeluKernelImpl\" not implemented for 'Bool'");
    /* F.gelu(torch.ones((), dtype=torch.int64), approximate='tanh') */
    ASSERT_ERROR(cg_gelu(i0, true), "\"GeluKernelImpl\" not implemented for 'Long'");
    /* F.silu(torch.ones(3, dtype=torch.int64)), F.silu(torch.ones(3, dtype=torch.bool)) */
    ASSERT_ERROR(cg_silu(i), "\"silu_cpu\" not implemented for 'Long'");
    ASSERT_ERROR(cg_silu(b), "\"silu_cpu\" not implemented for 'Bool'");
    /* F.leaky_relu(torch.ones(3, dtype=torch.int64), 0.1), F.leaky_relu(torch.ones(3,
     * dtype=torch.bool)) */
    ASSERT_ERROR(cg_leaky_relu(i, 0.1), "\"leaky_relu_cpu\" not implemented for 'Long'");
    ASSERT_ERROR(cg_leaky_relu(b, 0.01), "\"leaky_relu_cpu\" not implemented for 'Bool'");
    /* F.softplus(torch.ones(3, dtype=torch.int64)), F.softplus(torch.ones(3, dtype=torch.bool), 2,
     * 1) */
    ASSERT_ERROR(cg_softplus(i, 1, 20), "\"softplus_cpu\" not implemented for 'Long'");
    ASSERT_ERROR(cg_softplus(b, 2, 1), "\"softplus_cpu\" not implemented for 'Bool'");
}

TEST(test_err_rounding_refuses_bool) {
    cg_tensor *b = ONES_D(CG_BOOL, 3), *e = cg_zeros(CG_SHAPE(0), CG_BOOL);
    /* torch.floor(torch.ones(3, dtype=torch.bool)), and ceil, round */
    ASSERT_ERROR(cg_floor(b), "\"floor_vml_cpu\" not implemented for 'Bool'");
    ASSERT_ERROR(cg_ceil(b), "\"ceil_vml_cpu\" not implemented for 'Bool'");
    ASSERT_ERROR(cg_round(b), "\"round_vml_cpu\" not implemented for 'Bool'");
    /* torch.floor(torch.zeros(0, dtype=torch.bool)): empty too */
    ASSERT_ERROR(cg_floor(e), "\"floor_vml_cpu\" not implemented for 'Bool'");
    /* int64 stays int64 (a copy): torch.floor(torch.tensor([1, 2])) */
    cg_tensor *i = ONES_D(CG_INT64, 3), *r = cg_round(i);
    ASSERT(r && cg_dtype_of(r) == CG_INT64 && !cg_shares_storage(r, i));
    /* bool and int64 to float32: torch.rsqrt(torch.tensor([True, False])) is [1., inf] */
    cg_tensor *q = cg_rsqrt(cg_from_data((const bool[]){true, false}, CG_SHAPE(2), CG_BOOL));
    ASSERT(q && cg_dtype_of(q) == CG_FLOAT32);
    ASSERT(values_are(q, 2, (const double[]){1, INFINITY}));
}

TEST(test_err_null_inputs) {
    cg_tensor *a = cg_ones(CG_SHAPE(3), 0);
    cg_error("earlier");
    ASSERT(!cg_sin(NULL) && !cg_cos(NULL) && !cg_log1p(NULL) && !cg_expm1(NULL));
    ASSERT(!cg_rsqrt(NULL) && !cg_erf(NULL) && !cg_silu(NULL) && !cg_gelu(NULL, true));
    ASSERT(!cg_leaky_relu(NULL, 0.1) && !cg_softplus(NULL, 1, 20));
    ASSERT(!cg_floor(NULL) && !cg_ceil(NULL) && !cg_round(NULL));
    ASSERT(!cg_clamp(NULL, 0, 1) && !cg_clamp(NULL, -INFINITY, INFINITY));
    ASSERT(!cg_clamp_tensor(NULL, a, a) && !cg_clamp_tensor(NULL, NULL, NULL));
    ASSERT_STR_EQ(cg_last_error(), "earlier");
    cg_clear_error();
}

/* torch.round(torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 0.49999997]))
 * is [0., 2., 2., -0., -2., -2., 4., 0.] */
TEST(test_round_half_to_even) {
    cg_tensor *x = F32(0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.5f, 0.49999997f);
    const double want[] = {0, 2, 2, -0.0, -2, -2, 4, 0};
    ASSERT(values_are(cg_round(x), 8, want));
    ASSERT(values_are(cg_round(cg_to(x, CG_FLOAT64)), 8, want));
    ASSERT(signbit(cg_get(cg_round(x), (const int64_t[]){3}))); /* -0. */
}

TEST(test_clamp_nan_and_dtypes) {
    cg_tensor *x = F32(NAN, 1, 2);
    /* torch.clamp(x, 0., 0.5): a NaN input stays NaN */
    ASSERT(values_are(cg_clamp(x, 0, 0.5), 3, (const double[]){NAN, 0.5, 0.5}));
    /* torch.clamp(x, float('nan'), 0.5) and (x, 0., float('nan')): all NaN */
    ASSERT(values_are(cg_clamp(x, NAN, 0.5), 3, (const double[]){NAN, NAN, NAN}));
    ASSERT(values_are(cg_clamp(x, 0, NAN), 3, (const double[]){NAN, NAN, NAN}));
    /* torch.clamp(x, None, float('nan')): a single NaN bound is ignored */
    ASSERT(values_are(cg_clamp(x, -INFINITY, NAN), 3, (const double[]){NAN, 1, 2}));
    /* torch.clamp(x, 10.): min > every value */
    ASSERT(values_are(cg_clamp(x, 10, INFINITY), 3, (const double[]){NAN, 10, 10}));
    /* torch.clamp(torch.tensor([1., 2., 3.]), 2.5, 1.5): max wins */
    ASSERT(values_are(cg_clamp(F32(1, 2, 3), 2.5, 1.5), 3, (const double[]){1.5, 1.5, 1.5}));
    /* tensor bounds propagate every NaN: torch.clamp(torch.tensor([nan, 1., 3.]),
     * torch.tensor([0., nan, 0.]), torch.tensor(0.5)) is [nan, nan, 0.5] */
    ASSERT(values_are(cg_clamp_tensor(F32(NAN, 1, 3), F32(0, NAN, 0), cg_scalar(0.5, 0)), 3,
                      (const double[]){NAN, NAN, 0.5}));
    /* int64: torch.clamp(torch.tensor([1, 2, 3]), 2, 1.5) is float32 [1.5, 1.5, 1.5];
     * torch.clamp(torch.tensor([1, 2, 3]), 2) stays int64 */
    cg_tensor *i = cg_from_data((const int64_t[]){1, 2, 3}, CG_SHAPE(3), CG_INT64);
    cg_tensor *r = cg_clamp(i, 2, 1.5);
    ASSERT(r && cg_dtype_of(r) == CG_FLOAT32);
    ASSERT(values_are(r, 3, (const double[]){1.5, 1.5, 1.5}));
    r = cg_clamp(i, 2, INFINITY);
    ASSERT(r && cg_dtype_of(r) == CG_INT64);
    ASSERT(values_are(r, 3, (const double[]){2, 2, 3}));
    /* torch.clamp(torch.tensor([1, 2]), float('inf')) is float32 [inf, inf]: +inf
     * as a min is a bound */
    r = cg_clamp(i, INFINITY, INFINITY);
    ASSERT(r && cg_dtype_of(r) == CG_FLOAT32);
    ASSERT(values_are(r, 3, (const double[]){INFINITY, INFINITY, INFINITY}));
    /* torch.clamp(torch.tensor([True, False]), 0, 0) is int64 [0, 0] */
    r = cg_clamp(cg_from_data((const bool[]){true, false}, CG_SHAPE(2), CG_BOOL), 0, 0);
    ASSERT(r && cg_dtype_of(r) == CG_INT64);
    /* huge integral bounds saturate: torch.clamp(torch.tensor([1, 2, 3]), -2**62, 2) */
    r = cg_clamp(i, -1e300, 2);
    ASSERT(r && cg_dtype_of(r) == CG_INT64);
    ASSERT(values_are(r, 3, (const double[]){1, 2, 2}));
}

/* a = torch.tensor([-2., -0.5, 0., 0.5, 2., 1.], requires_grad=True)
 * mn = torch.tensor([-1., -1., 0., 1., 1., 1.], requires_grad=True)
 * mx = torch.tensor([1., 1., 0., -1., 3., 1.], requires_grad=True)
 * torch.clamp(a, mn, mx).backward(torch.arange(1., 7.)) gives
 * a.grad [0, 2, 3, 0, 5, 6], mn.grad [1, 0, 0, 0, 0, 0], mx.grad [0, 0, 0, 4, 0, 0];
 * torch.clamp(a, mn) gives a.grad [0, 2, 3, 0, 5, 6], mn.grad [1, 0, 0, 4, 0, 0] */
TEST(test_clamp_tensor_gradients_at_bounds) {
    cg_tensor *a = cg_requires_grad_(F32(-2, -0.5f, 0, 0.5f, 2, 1), true);
    cg_tensor *mn = cg_requires_grad_(F32(-1, -1, 0, 1, 1, 1), true);
    cg_tensor *mx = cg_requires_grad_(F32(1, 1, 0, -1, 3, 1), true);
    cg_tensor *g = F32(1, 2, 3, 4, 5, 6);
    cg_tensor *y = cg_clamp_tensor(a, mn, mx);
    ASSERT(y && cg_backward(y, g, false) == 0);
    ASSERT(values_are(cg_grad(a), 6, (const double[]){0, 2, 3, 0, 5, 6}));
    ASSERT(values_are(cg_grad(mn), 6, (const double[]){1, 0, 0, 0, 0, 0}));
    ASSERT(values_are(cg_grad(mx), 6, (const double[]){0, 0, 0, 4, 0, 0}));
    cg_clear_grad(a);
    cg_clear_grad(mn);
    y = cg_clamp_tensor(a, mn, NULL);
    ASSERT(y && cg_backward(y, g, false) == 0);
    ASSERT(values_are(cg_grad(a), 6, (const double[]){0, 2, 3, 0, 5, 6}));
    ASSERT(values_are(cg_grad(mn), 6, (const double[]){1, 0, 0, 4, 0, 0}));
    /* the scalar form includes its bounds too: torch.clamp(a, -0.5, 1.) */
    cg_clear_grad(a);
    y = cg_clamp(a, -0.5, 1);
    ASSERT(y && cg_backward(y, g, false) == 0);
    ASSERT(values_are(cg_grad(a), 6, (const double[]){0, 2, 3, 4, 0, 6}));
    /* node names: ClampBackward0 has three edges, None for an absent bound */
    y = cg_clamp_tensor(a, NULL, mx);
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(y)), "ClampBackward0");
    ASSERT_EQ(cg_node_num_next(cg_grad_fn(y)), 3);
    ASSERT_NULL(cg_node_next(cg_grad_fn(y), 1, NULL));
    /* torch.clamp(a, min=0.) records ClampBackward1, like both bounds */
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(cg_clamp(a, 0, INFINITY))), "ClampBackward1");
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(cg_clamp(a, -INFINITY, 0))), "ClampBackward1");
}

/* Second derivatives against torch:
 * x = torch.tensor([-1.2, 0.3, 0.9], dtype=torch.float64, requires_grad=True)
 * g, = torch.autograd.grad(f(x).sum(), x, create_graph=True); g.sum().backward() */
static double second(cg_tensor *(*f)(cg_tensor *), int64_t i) {
    cg_tensor *x = cg_from_data((const double[]){-1.2, 0.3, 0.9}, CG_SHAPE(3),
                                CG_FLOAT64 | CG_REQUIRES_GRAD);
    cg_tensor *g;
    if (cg_autograd_grad(1, (cg_tensor *[]){cg_sum(f(x))}, NULL, 1, &x, CG_CREATE_GRAPH, &g))
        return NAN;
    if (cg_backward(cg_sum(g), NULL, false)) return NAN;
    return cg_get(cg_grad(x), &i);
}
static cg_tensor *gelu_exact(cg_tensor *x) { return cg_gelu(x, false); }
static cg_tensor *gelu_tanh(cg_tensor *x) { return cg_gelu(x, true); }
static cg_tensor *softplus2(cg_tensor *x) { return cg_softplus(x, 2, 1); }

TEST(test_second_derivatives) {
    /* f = torch.sin: x.grad = -sin(x) */
    ASSERT_NEAR(second(cg_sin, 0), 0.9320390859672263, 1e-12);
    /* f = torch.nn.functional.gelu (approximate='none' and 'tanh') */
    ASSERT_NEAR(second(gelu_exact, 1), 0.728450727529601, 1e-12);
    ASSERT_NEAR(second(gelu_tanh, 1), 0.7281484484339118, 1e-12);
    /* f = torch.nn.functional.silu */
    ASSERT_NEAR(second(cg_silu, 2), 0.3329702769628823, 1e-12);
    /* f = lambda x: torch.nn.functional.softplus(x, 2, 1): 0 where linear */
    ASSERT_NEAR(second(softplus2, 1), 0.45756848091331465, 1e-12);
    ASSERT_NEAR(second(softplus2, 2), 0, 1e-12);
    /* f = torch.erf */
    ASSERT_NEAR(second(cg_erf, 0), 0.641626432808494, 1e-12);
}

TEST_MAIN(test_err_clamp_needs_a_bound, test_err_clamp_tensor_broadcast, test_err_clamp_tensor_bool,
          test_err_activations_refuse_int_and_bool, test_err_rounding_refuses_bool,
          test_err_null_inputs, test_round_half_to_even, test_clamp_nan_and_dtypes,
          test_clamp_tensor_gradients_at_bounds, test_second_derivatives)
