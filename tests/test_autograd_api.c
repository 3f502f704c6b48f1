/* The rest of torch.autograd: autograd.grad, backward(inputs=),
 * create_graph, hooks, retain_grad, custom functions, anomaly and inference
 * mode, gradcheck and the DOT export. Messages are PyTorch 1.13's (the Python
 * that produced each is noted); values are closed forms. */
#define _POSIX_C_SOURCE 200809L /* open_memstream, popen */
#include "test.h"

#include <stdint.h>

static double at(const cg_tensor *t, int64_t i) { return cg_get(t, &i); }

TEST(autograd_grad_values) {
    /* y = sum(x^3): dy/dx = 3x^2; leaves' .grad untouched */
    double xv[] = {1, 2, -3};
    cg_tensor *x = cg_from_data(xv, CG_SHAPE(3), CG_FLOAT64 | CG_REQUIRES_GRAD);
    cg_tensor *y = cg_sum(cg_pow_scalar(x, 3)), *g[1];
    ASSERT_EQ(cg_autograd_grad(1, &y, NULL, 1, &x, 0, g), 0);
    for (int i = 0; i < 3; i++) ASSERT_NEAR(at(g[0], i), 3 * xv[i] * xv[i], 1e-12);
    ASSERT(cg_grad(x) == NULL);
    ASSERT(!cg_requires_grad(g[0]));
}

TEST(autograd_grad_several_outputs_and_inputs) {
    cg_tensor *a = cg_full(CG_SHAPE(2), 2, CG_REQUIRES_GRAD);
    cg_tensor *b = cg_full(CG_SHAPE(2), 3, CG_REQUIRES_GRAD);
    cg_tensor *outs[2] = {cg_mul(a, b), cg_sum(cg_mul(a, a))};
    cg_tensor *gos[2] = {cg_full(CG_SHAPE(2), 10, 0), NULL};
    cg_tensor *ins[2] = {a, b}, *g[2];
    ASSERT_EQ(cg_autograd_grad(2, outs, gos, 2, ins, 0, g), 0);
    /* d/da = 10 b + 2a = 34; d/db = 10 a = 20 */
    ASSERT_NEAR(at(g[0], 0), 34, 1e-5);
    ASSERT_NEAR(at(g[1], 1), 20, 1e-5);
}

TEST(autograd_grad_errors) {
    cg_tensor *x = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    cg_tensor *other = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_sum(cg_mul_scalar(x, 2)), *g[2];
    cg_tensor *ins[2] = {x, other};
    /* torch.autograd.grad((x*2).sum(), [x, torch.ones(2, requires_grad=True)]) */
    ASSERT_ERROR(cg_autograd_grad(1, &y, NULL, 2, ins, CG_RETAIN_GRAPH, g),
                 "One of the differentiated Tensors appears to not have been used in the graph. "
                 "Set allow_unused=True if this is the desired behavior.");
    ASSERT_EQ(cg_autograd_grad(1, &y, NULL, 2, ins, CG_RETAIN_GRAPH | CG_ALLOW_UNUSED, g), 0);
    ASSERT(g[0] != NULL && g[1] == NULL);
    ASSERT_NEAR(at(g[0], 0), 2, 0);
    /* torch.autograd.grad((x*2).sum(), [torch.ones(2)]) */
    cg_tensor *plain = cg_ones(CG_SHAPE(2), 0);
    ASSERT_ERROR(cg_autograd_grad(1, &y, NULL, 1, &plain, CG_RETAIN_GRAPH, g),
                 "One of the differentiated Tensors does not require grad");
    ASSERT_EQ(cg_autograd_grad(1, &y, NULL, 0, NULL, CG_RETAIN_GRAPH, g), -1);
    /* a flag a function does not take is refused, not ignored */
    ASSERT_ERROR(cg_autograd_grad(1, &y, NULL, 1, &x, CG_RETAIN_GRAPH | 8, g), "invalid flags 0x8");
    ASSERT_ERROR(cg_backward_ex(y, NULL, CG_ALLOW_UNUSED, 0, NULL), "invalid flags 0x4");
    ASSERT(cg_grad(x) == NULL);
}

TEST(backward_restricted_to_inputs) {
    cg_tensor *a = cg_full(CG_SHAPE(2), 2, CG_REQUIRES_GRAD);
    cg_tensor *b = cg_full(CG_SHAPE(2), 3, CG_REQUIRES_GRAD);
    cg_tensor *h = cg_mul(a, b); /* a non-leaf input */
    cg_tensor *out = cg_sum(cg_mul(h, h));
    cg_tensor *ins[2] = {a, h};
    ASSERT_EQ(cg_backward_ex(out, NULL, 0, 2, ins), 0);
    ASSERT(cg_grad(b) == NULL);                      /* not among the inputs */
    ASSERT_NEAR(at(cg_grad(a), 0), 2 * 6 * 3, 1e-5); /* d/da h^2 = 2 h b */
    ASSERT_NEAR(at(cg_grad(h), 1), 12, 1e-5);        /* d/dh h^2 = 2h */
}

TEST(create_graph_second_derivative) {
    /* g = d(sum x^3)/dx = 3x^2 (MulBackward0 in PyTorch); dg/dx = 6x */
    double xv[] = {1, 2};
    cg_tensor *x = cg_from_data(xv, CG_SHAPE(2), CG_FLOAT64 | CG_REQUIRES_GRAD);
    cg_tensor *y = cg_sum(cg_pow_scalar(x, 3)), *g[1], *g2[1];
    ASSERT_EQ(cg_autograd_grad(1, &y, NULL, 1, &x, CG_RETAIN_GRAPH | CG_CREATE_GRAPH, g), 0);
    ASSERT(cg_requires_grad(g[0]));
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(g[0])), "MulBackward0");
    cg_tensor *s = cg_sum(g[0]);
    ASSERT_EQ(cg_autograd_grad(1, &s, NULL, 1, &x, 0, g2), 0);
    ASSERT_NEAR(at(g2[0], 0), 6, 1e-12);
    ASSERT_NEAR(at(g2[0], 1), 12, 1e-12);
    /* backward with create_graph (and retain_graph, PyTorch's default then)
     * leaves a differentiable .grad */
    cg_tensor *z = cg_sum(cg_exp(x));
    ASSERT_EQ(cg_backward_ex(z, NULL, CG_RETAIN_GRAPH | CG_CREATE_GRAPH, 0, NULL), 0);
    ASSERT(cg_requires_grad(cg_grad(x)));
    cg_tensor *gg = cg_sum(cg_grad(x)), *g3[1];
    ASSERT_EQ(cg_autograd_grad(1, &gg, NULL, 1, &x, 0, g3), 0);
    ASSERT_NEAR(at(g3[0], 1), exp(2.0), 1e-12); /* d/dx exp(x) twice */
    cg_clear_grad(x); /* x.grad's graph holds x: break the cycle, as in PyTorch */
}

TEST(third_derivative) {
    /* d^3/dx^3 tanh(x) = -2 (1 - t^2)(1 - 3 t^2), t = tanh(x) */
    double x0 = 0.4;
    cg_tensor *x = cg_scalar(x0, CG_FLOAT64 | CG_REQUIRES_GRAD);
    cg_tensor *y = cg_tanh(x), *g[1];
    for (int k = 0; k < 3; k++) {
        ASSERT_EQ(cg_autograd_grad(1, &y, NULL, 1, &x, CG_RETAIN_GRAPH | CG_CREATE_GRAPH, g), 0);
        y = g[0];
    }
    double t = tanh(x0);
    ASSERT_NEAR(cg_item(y), -2 * (1 - t * t) * (1 - 3 * t * t), 1e-12);
}

static cg_tensor *double_it(cg_tensor *grad, void *ctx) {
    (*(int *)ctx)++;
    return cg_mul_scalar(grad, 2);
}

static cg_tensor *observe(cg_tensor *grad, void *ctx) {
    *(double *)ctx = cg_item(cg_sum(grad));
    return NULL; /* keep it */
}

static void count_post(cg_tensor *t, void *ctx) {
    (*(int *)ctx)++;
    *((double *)ctx + 1) = cg_item(cg_sum(cg_grad(t)));
}

TEST(hooks_replace_and_observe) {
    /* x.register_hook(g*10 ...) etc.: y = x*3; hooks on y and x; x.grad = 3*2*10 */
    cg_tensor *x = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_mul_scalar(x, 3);
    int calls = 0;
    double seen = 0;
    int hy = cg_register_hook(y, double_it, &calls);
    int hs = cg_register_hook(y, observe, &seen); /* sees the doubled gradient */
    ASSERT(hy > 0 && hs > 0 && hy != hs);
    ASSERT(cg_register_hook(x, double_it, &calls) > 0);
    ASSERT_EQ(cg_backward(cg_sum(y), NULL, true), 0);
    ASSERT_EQ(calls, 2);
    ASSERT_NEAR(seen, 4, 0);
    ASSERT_NEAR(at(cg_grad(x), 0), 12, 0); /* 1 * 2 (y hook) * 3 * 2 (x hook) */
    ASSERT_EQ(cg_remove_hook(y, hy), 0);
    ASSERT_EQ(cg_remove_hook(y, hy), -1);
    cg_clear_grad(x);
    ASSERT_EQ(cg_backward(cg_sum(y), NULL, false), 0);
    ASSERT_NEAR(at(cg_grad(x), 0), 6, 0);
    /* torch.ones(2).register_hook(lambda g: g) */
    ASSERT_ERROR(cg_register_hook(cg_ones(CG_SHAPE(2), 0), observe, &seen),
                 "cannot register a hook on a tensor that doesn't require gradient");
}

TEST(post_accumulate_hook) {
    cg_tensor *x = cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD);
    struct {
        int calls;
        double sum;
    } st = {0, 0};
    ASSERT(cg_register_post_accumulate_grad_hook(x, count_post, &st) > 0);
    ASSERT_EQ(cg_backward(cg_sum(cg_mul_scalar(x, 5)), NULL, false), 0);
    ASSERT_EQ(st.calls, 1);
    ASSERT_NEAR(st.sum, 15, 0);
    ASSERT_EQ(cg_register_post_accumulate_grad_hook(cg_mul_scalar(x, 2), count_post, &st), -1);
}

TEST(hooks_do_not_touch_autograd_grad_captures) {
    /* PyTorch 1.13: a leaf's hooks do not run for torch.autograd.grad */
    cg_tensor *x = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    int calls = 0;
    cg_register_hook(x, double_it, &calls);
    cg_tensor *y = cg_sum(cg_mul_scalar(x, 3)), *g[1];
    ASSERT_EQ(cg_autograd_grad(1, &y, NULL, 1, &x, 0, g), 0);
    ASSERT_EQ(calls, 0);
    ASSERT_NEAR(at(g[0], 0), 3, 0);
}

TEST(retain_grad_on_non_leaf) {
    /* a = [[1,2],[3,4]]; y = a*2; y.retain_grad(); (y*y).sum().backward() */
    float av[] = {1, 2, 3, 4};
    cg_tensor *a = cg_from_data(av, CG_SHAPE(2, 2), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_mul_scalar(a, 2);
    ASSERT(!cg_retains_grad(y));
    ASSERT_EQ(cg_retain_grad(y), 0);
    ASSERT(cg_retains_grad(y));
    cg_tensor *z = cg_sum(cg_mul(y, y));
    ASSERT_EQ(cg_backward(z, NULL, true), 0);
    for (int i = 0; i < 4; i++) {
        ASSERT_NEAR(((float *)cg_data_ptr(cg_grad(y)))[i], 4 * av[i], 0);
        ASSERT_NEAR(((float *)cg_data_ptr(cg_grad(a)))[i], 8 * av[i], 0);
    }
    ASSERT_EQ(cg_backward(z, NULL, false), 0); /* accumulates, like a leaf */
    ASSERT_NEAR(((float *)cg_data_ptr(cg_grad(y)))[3], 32, 0);
    ASSERT_EQ(cg_retain_grad(a), 0); /* no-op on a leaf */
    ASSERT_ERROR(cg_retain_grad(cg_ones(CG_SHAPE(1), 0)),
                 "can't retain_grad on Tensor that has requires_grad=False");
}

/* a custom function: y = x * k (k in user data), with a second output
 * marked non-differentiable (an int64 count, as in the PyTorch docs) */
typedef struct {
    double k;
    int forward_calls, backward_calls;
    bool needed[2];
} scale_state;

static int scale_fwd(cg_ctx *ctx, int n_in, cg_tensor *const *in, int n_out, cg_tensor **out,
                     void *user) {
    scale_state *st = user;
    (void)n_in, (void)n_out;
    st->forward_calls++;
    st->needed[0] = cg_ctx_needs_input_grad(ctx, 0);
    if (cg_is_grad_enabled()) {
        cg_error("forward must run without grad");
        return -1;
    }
    out[0] = cg_mul_scalar(in[0], st->k);
    out[1] = cg_sum(cg_gt_scalar(in[0], 0));
    cg_ctx_save_for_backward(ctx, 1, &in[0]);
    return cg_ctx_mark_non_differentiable(ctx, out[1]);
}

static int scale_bwd(cg_ctx *ctx, int n_out, cg_tensor *const *g, int n_in, cg_tensor **gi,
                     void *user) {
    scale_state *st = user;
    (void)n_out, (void)n_in;
    st->backward_calls++;
    if (!cg_ctx_saved(ctx, 0)) return -1;
    gi[0] = cg_mul_scalar(g[0], st->k);
    return gi[0] ? 0 : -1;
}

static const cg_function Scale = {"ScaleBackward", scale_fwd, scale_bwd};

TEST(custom_function) {
    scale_state st = {2.5, 0, 0, {false, false}};
    cg_tensor *x = cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD), *out[2];
    ASSERT_EQ(cg_function_apply(&Scale, &st, 1, &x, 2, out), 0);
    ASSERT(st.needed[0]);
    ASSERT_STR_EQ(cg_node_name(cg_grad_fn(out[0])), "ScaleBackward");
    ASSERT(cg_grad_fn(out[1]) == NULL && !cg_requires_grad(out[1]));
    ASSERT_EQ(cg_item(out[1]), 3);
    int calls = 0;
    cg_register_hook(out[0], double_it, &calls); /* hooks compose */
    ASSERT_EQ(cg_backward(cg_sum(out[0]), NULL, false), 0);
    ASSERT_EQ(st.backward_calls, 1);
    ASSERT_EQ(calls, 1);
    ASSERT_NEAR(at(cg_grad(x), 0), 5, 0);
    /* a second backward: the saved input was freed */
    ASSERT_EQ(cg_backward(cg_sum(out[0]), NULL, false), -1);
    /* without grad no node is recorded */
    CG_NO_GRAD { ASSERT_EQ(cg_function_apply(&Scale, &st, 1, &x, 2, out), 0); }
    ASSERT(cg_grad_fn(out[0]) == NULL);
    ASSERT(!st.needed[0]);
}

static cg_tensor *scale_as_func(cg_tensor *const *in, void *user) {
    cg_tensor *out[2];
    return cg_function_apply(&Scale, user, 1, in, 2, out) == 0 ? out[0] : NULL;
}

static int failing_fwd(cg_ctx *ctx, int n_in, cg_tensor *const *in, int n_out, cg_tensor **out,
                       void *user) {
    (void)ctx, (void)n_in, (void)in, (void)n_out, (void)out, (void)user;
    cg_error("my forward refused: %d", 42);
    return -1;
}

TEST(custom_function_errors_and_gradcheck) {
    scale_state st = {-1.5, 0, 0, {false, false}};
    cg_tensor *x = cg_randn(CG_SHAPE(4), CG_FLOAT64 | CG_REQUIRES_GRAD);
    ASSERT(cg_gradcheck(scale_as_func, &st, 1, &x, 1e-6, 1e-5, 1e-3));
    static const cg_function Bad = {"BadBackward", failing_fwd, scale_bwd};
    cg_tensor *out[2];
    ASSERT_ERROR(cg_function_apply(&Bad, &st, 1, &x, 2, out), "my forward refused: 42");
    ASSERT(out[0] == NULL);
    static const cg_function Unnamed = {NULL, scale_fwd, scale_bwd};
    ASSERT_ERROR(cg_function_apply(&Unnamed, &st, 1, &x, 2, out),
                 "a cg_function needs a name, a forward and a backward");
}

TEST(anomaly_mode_names_the_node) {
    /* z = zeros(1, rg); (z / z).backward() with detect_anomaly */
    cg_tensor *z = cg_zeros(CG_SHAPE(1), CG_REQUIRES_GRAD);
    cg_tensor *q = cg_div(z, z);
    ASSERT_EQ(cg_backward(cg_sum(q), NULL, true), 0); /* off: NaN flows into .grad */
    ASSERT(isnan(at(cg_grad(z), 0)));
    cg_set_detect_anomaly(true);
    ASSERT(cg_is_anomaly_enabled());
    cg_clear_error();
    int rc = cg_backward(cg_sum(q), NULL, false);
    cg_set_detect_anomaly(false);
    ASSERT_EQ(rc, -1);
    /* PyTorch looks for NaN only: output 0 (1/0) is inf, output 1 (-0/0) nan */
    ASSERT(strncmp(cg_last_error(),
                   "Function 'DivBackward0' returned nan values in its 1th output. It was recorded "
                   "by cg_div (node sequence number ",
                   111) == 0);
}

TEST(inference_mode) {
    cg_tensor *x = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD), *t = NULL, *y = NULL;
    ASSERT(!cg_is_inference_mode_enabled());
    CG_INFERENCE_MODE {
        ASSERT(cg_is_inference_mode_enabled());
        ASSERT(!cg_is_grad_enabled());
        t = cg_ones(CG_SHAPE(2), 0);
        y = cg_mul(x, x);
    }
    ASSERT(cg_is_grad_enabled() && !cg_is_inference_mode_enabled());
    ASSERT(cg_is_inference(t) && cg_is_inference(y) && !cg_is_inference(x));
    ASSERT(cg_grad_fn(y) == NULL && !cg_requires_grad(y));
    ASSERT(cg_requires_grad(cg_add(x, t))); /* add saves nothing: allowed */
    /* with torch.inference_mode(): t = torch.ones(2); then x * t */
    ASSERT_ERROR(cg_mul(x, t),
                 "Inference tensors cannot be saved for backward. To work around you can make a "
                 "clone to get a normal tensor and use it in autograd.");
    ASSERT_ERROR(
        cg_requires_grad_(t, true),
        "Setting requires_grad=True on inference tensor outside InferenceMode is not allowed.");
    ASSERT(cg_requires_grad(cg_mul(x, cg_clone(t))));
    CG_NO_GRAD {
        CG_INFERENCE_MODE { ASSERT(!cg_is_grad_enabled()); }
        ASSERT(!cg_is_grad_enabled()); /* restored to what it found */
    }
}

static cg_tensor *f_mix(cg_tensor *const *in, void *ctx) {
    (void)ctx; /* sum(sigmoid(a @ b) * log(b^T ... )) over several ops */
    return cg_sum(cg_mul(cg_sigmoid(cg_matmul(in[0], in[1])), cg_tanh(in[0])));
}

static cg_tensor *f_wrong(cg_tensor *const *in, void *ctx) {
    (void)ctx; /* x * detach(x): the analytical gradient misses a term */
    return cg_sum(cg_mul(in[0], cg_detach(in[0])));
}

TEST(gradcheck_and_gradgradcheck) {
    cg_manual_seed(3);
    cg_tensor *in[2] = {cg_randn(CG_SHAPE(3, 3), CG_FLOAT64 | CG_REQUIRES_GRAD),
                        cg_randn(CG_SHAPE(3, 3), CG_FLOAT64 | CG_REQUIRES_GRAD)};
    ASSERT(cg_gradcheck(f_mix, NULL, 2, in, 1e-6, 1e-5, 1e-3));
    ASSERT(cg_gradgradcheck(f_mix, NULL, 2, in, 1e-6, 1e-5, 1e-3));
    cg_clear_error();
    ASSERT(!cg_gradcheck(f_wrong, NULL, 1, in, 1e-6, 1e-5, 1e-3));
    ASSERT(strncmp(cg_last_error(), "Jacobian mismatch for output 0 with respect to input 0,",
                   55) == 0);
    cg_tensor *f32 = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    ASSERT_ERROR(cg_gradcheck(f_wrong, NULL, 1, &f32, 1e-6, 1e-5, 1e-3),
                 "input 0: gradcheck needs contiguous float64 inputs");
}

TEST(graph_as_dot) {
    cg_tensor *x = cg_ones(CG_SHAPE(2, 2), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_add_scalar(x, 2);
    cg_tensor *out = cg_mean(cg_mul_scalar(cg_mul(y, y), 3));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ASSERT(f != NULL);
    ASSERT_EQ(cg_graph_dot(out, f), 0);
    fclose(f);
    ASSERT(strstr(buf, "digraph {") == buf);
    ASSERT(strstr(buf, "label=\"MeanBackward0\""));
    ASSERT(strstr(buf, "label=\"MulBackward0\""));
    ASSERT(strstr(buf, "label=\"AddBackward0\""));
    ASSERT(strstr(buf, "label=\"AccumulateGrad\""));
    ASSERT(strstr(buf, "label=\"[2, 2]\", fillcolor=lightblue"));
    /* Graphviz renders it (dot is installed by make test / .ci/run) */
    FILE *p = popen("dot -Tsvg > /dev/null 2>&1", "w");
    ASSERT(p != NULL);
    fputs(buf, p);
    int rc = pclose(p);
    free(buf);
    ASSERT_EQ(rc, 0);
}

TEST_MAIN(autograd_grad_values, autograd_grad_several_outputs_and_inputs, autograd_grad_errors,
          backward_restricted_to_inputs, create_graph_second_derivative, third_derivative,
          hooks_replace_and_observe, post_accumulate_hook,
          hooks_do_not_touch_autograd_grad_captures, retain_grad_on_non_leaf, custom_function,
          custom_function_errors_and_gradcheck, anomaly_mode_names_the_node, inference_mode,
          gradcheck_and_gradgradcheck, graph_as_dot)
