/* Fidelity to PyTorch 1.13 in the corners random autograd programs found:
 * each test is the smallest program of one class of difference, run here and
 * in live torch (tests/oracle/fidelity_oracle.py prints one line per case:
 * "<case> OK <text>" or "<case> ERR <message>"); the lines must match.
 *   A  outputs saved by in-place ops are checked for later writes
 *   B  writes into overlapping memory (within the output, or partly shared
 *      with an input), to split pieces, and detach_() on a view are refused
 *   C  a view without history requires grad when its base does; a view whose
 *      base was written since gets its history regenerated; a view made
 *      under no_grad is not written in grad mode; a detach_()ed leaf drops
 *      its gradient until it requires grad again; autograd.grad(create_graph)
 *      keeps the graph
 *   D  matmul and linear with empty dims
 *   E  matmul and linear with a 1-d first operand, and reshape's copy, return
 *      no view
 *   F  masked gradients select, they do not multiply (no NaN leaks)
 *   G  elementwise results are contiguous (a documented deviation)
 *   H  retain_grad, then an in-place write through a view (current PyTorch)
 *   I  gradients made with create_graph require grad
 *   K  signed zeros
 *   L  0-d bool indices add a dim (a[True], a[False])
 *   M  messages */
#define _POSIX_C_SOURCE 200809L /* popen */
#include "test.h"

#include <stdarg.h>

/* ---------------------------------------------------------- the oracle */

#define MAX_CASES 64
static char *oracle_lines[MAX_CASES];
static int n_oracle = -1; /* -1: not run yet */

static void run_oracle(void) {
    n_oracle = 0;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "\"%s\" \"%s/tests/oracle/fidelity_oracle.py\"", CG_PYTHON,
             CG_SOURCE_DIR);
    FILE *p = popen(cmd, "r");
    if (!p) return;
    char line[8192];
    while (n_oracle < MAX_CASES && fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        size_t n = strlen(line) + 1;
        oracle_lines[n_oracle] = malloc(n);
        if (oracle_lines[n_oracle]) memcpy(oracle_lines[n_oracle++], line, n);
    }
    if (pclose(p) != 0) n_oracle = 0;
}

/* torch's line for a case, without the name; NULL if the oracle failed */
static const char *expected(const char *name) {
    if (n_oracle < 0) run_oracle();
    size_t k = strlen(name);
    for (int i = 0; i < n_oracle; i++)
        if (!strncmp(oracle_lines[i], name, k) && oracle_lines[i][k] == ' ')
            return oracle_lines[i] + k + 1;
    fprintf(stderr, "  the PyTorch oracle (%s) gave no line for %s\n", CG_PYTHON, name);
    return NULL;
}

/* ------------------------------------------------- printing, as the oracle */

static char got[8192];

static void put(const char *fmt, ...) {
    size_t k = strlen(got);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(got + k, sizeof got - k, fmt, ap);
    va_end(ap);
}
static void put_g(double v) {
    if (isnan(v))
        put("nan");
    else
        put("%g", v);
}
static void put_vals(const cg_tensor *t) {
    put("[");
    int64_t n = cg_numel(t);
    cg_tensor *c = cg_contiguous(cg_to((cg_tensor *)t, CG_FLOAT64));
    const double *p = cg_data_ptr(c);
    for (int64_t i = 0; i < n; i++) {
        put(i ? ", " : "");
        put_g(p[i]);
    }
    put("]");
}
static void put_shape(const cg_tensor *t) {
    put("[");
    for (int i = 0; i < cg_ndim(t); i++) put("%s%lld", i ? ", " : "", (long long)cg_shape(t)[i]);
    put("]");
}
static void put_strides(const cg_tensor *t) {
    put("(");
    for (int i = 0; i < cg_ndim(t); i++) put("%s%lld", i ? ", " : "", (long long)cg_strides(t)[i]);
    put(cg_ndim(t) == 1 ? ",)" : ")");
}

/* got = "OK " + what the case printed, or "ERR " + the error when it failed */
static void start(void) {
    got[0] = '\0';
    cg_clear_error();
    put("OK ");
}
static const char *result(bool ok) {
    if (!ok) snprintf(got, sizeof got, "ERR %s", cg_last_error() ? cg_last_error() : "(none)");
    cg_clear_error();
    return got;
}

#define CHECK_CASE(name, ok)                                                                       \
    do {                                                                                           \
        const char *want_ = expected(name);                                                        \
        ASSERT_NOT_NULL(want_);                                                                    \
        ASSERT_STR_EQ(result(ok), want_);                                                          \
    } while (0)

static cg_tensor *vec(int n, const float *v, int opts) {
    return cg_from_data(v, 1, (int64_t[]){n}, opts);
}

/* ------------------------------------------------------------------ A */

static bool inplace_saved_output(cg_tensor *(*op)(cg_tensor *)) {
    cg_tensor *x = vec(3, (float[]){1, 2, 3}, CG_REQUIRES_GRAD);
    cg_tensor *y = op(cg_mul_scalar(x, 2));
    if (!cg_neg_(y) || cg_backward(cg_sum(y), NULL, false) < 0) return false;
    put_vals(cg_grad(x));
    return true;
}

TEST(a_inplace_saved_outputs) {
    struct {
        const char *name;
        cg_tensor *(*op)(cg_tensor *);
    } ops[] = {{"A_tanh_", cg_tanh_},
               {"A_sigmoid_", cg_sigmoid_},
               {"A_exp_", cg_exp_},
               {"A_relu_", cg_relu_}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        start();
        CHECK_CASE(ops[i].name, inplace_saved_output(ops[i].op));
    }
}

TEST(a_prod_dim_0d) {
    start();
    cg_tensor *s = cg_scalar(2, CG_REQUIRES_GRAD), *y = cg_mul_scalar(s, 1);
    cg_tensor *z = cg_prod_dim(y, 0, false);
    bool ok = cg_mul_scalar_(y, 2) && cg_backward(z, NULL, false) == 0;
    if (ok) put_vals(cg_grad(s));
    CHECK_CASE("A_prod_dim_0d", ok);
}

TEST(a_lerp_saves_what_it_reads) {
    start(); /* self's gradient reads the weight only: end may change after */
    cg_tensor *x = vec(2, (float[]){1, 2}, CG_REQUIRES_GRAD);
    cg_tensor *e = vec(2, (float[]){3, 5}, 0), *w = vec(2, (float[]){0.25f, 0.5f}, 0);
    cg_tensor *out = cg_lerp_tensor(cg_mul_scalar(x, 1), e, w);
    bool ok = out && cg_add_scalar_(e, 1) && cg_backward(cg_sum(out), NULL, false) == 0;
    if (ok) put_vals(cg_grad(x));
    CHECK_CASE("A_lerp_saves_what_it_reads", ok);
}

TEST(a_layer_norm_bias) {
    start();
    float xv[] = {1, 2, 4, 0, 1, 0};
    cg_tensor *x = cg_from_data(xv, CG_SHAPE(2, 3), CG_REQUIRES_GRAD);
    cg_tensor *w = cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD),
              *b = cg_zeros(CG_SHAPE(3), CG_REQUIRES_GRAD);
    cg_tensor *out = cg_layer_norm(x, CG_SHAPE(3), w, b, 1e-5);
    CG_NO_GRAD { cg_add_scalar_(b, 1); }
    bool ok = cg_backward(cg_sum(out), NULL, false) == 0;
    if (ok) put_vals(cg_grad(x));
    CHECK_CASE("A_layer_norm_bias", ok);
}

/* ------------------------------------------------------------------ B */

TEST(b_overlapping_writes) {
    start();
    cg_tensor *e =
        cg_add_scalar_(cg_expand(cg_unsqueeze(cg_zeros(CG_SHAPE(3), 0), 0), CG_SHAPE(2, -1)), 1);
    if (e) put_vals(e);
    CHECK_CASE("B_expand_add", e != NULL);
    start();
    cg_tensor *d = cg_detach_(cg_view(cg_zeros(CG_SHAPE(3), 0), CG_SHAPE(3)));
    if (d) put_vals(d);
    CHECK_CASE("B_detach_view", d != NULL);
}

TEST(b_partial_overlap_and_split_pieces) {
    start();
    cg_tensor *x = cg_ones(CG_SHAPE(3, 3), 0), *r = cg_add_(cg_t(x), x);
    if (r) put_vals(r);
    CHECK_CASE("B_partial_overlap", r != NULL);
    start();
    cg_tensor *pieces[2] = {0};
    cg_tensor *y = cg_mul_scalar(cg_ones(CG_SHAPE(4), CG_REQUIRES_GRAD), 1);
    int n = 2;
    ASSERT_EQ(cg_split(y, 2, 0, &n, pieces), 0);
    cg_tensor *w = cg_add_scalar_(pieces[1], 1);
    if (w) put_vals(w);
    CHECK_CASE("B_split_piece_write", w != NULL);
}

/* ------------------------------------------------------------------ C */

TEST(c_views_and_leaves_after_writes) {
    start();
    cg_tensor *x = vec(3, (float[]){1, 2, 3}, CG_REQUIRES_GRAD), *y = cg_mul_scalar(x, 1);
    cg_tensor *v = cg_narrow(y, 0, 0, 2);
    bool ok = cg_mul_scalar_(y, 2) && cg_backward(cg_sum(v), NULL, false) == 0;
    if (ok) put("%s ", cg_node_name(cg_grad_fn(v))), put_vals(cg_grad(x));
    CHECK_CASE("C_stale_view_regenerated", ok);
    start();
    cg_tensor *x2 = vec(2, (float[]){1, 2}, CG_REQUIRES_GRAD), *y2 = cg_mul_scalar(x2, 2);
    cg_detach_(x2);
    ok = cg_backward(cg_sum(y2), NULL, false) == 0;
    if (ok) put("%s", cg_grad(x2) ? "False" : "True");
    CHECK_CASE("C_detached_leaf_drops_gradient", ok);
    start();
    cg_tensor *x3 = vec(2, (float[]){1, 2}, CG_REQUIRES_GRAD), *g = NULL;
    cg_tensor *y3 = cg_sum(cg_mul(x3, x3));
    ok = cg_autograd_grad(1, &y3, NULL, 1, &x3, CG_CREATE_GRAPH, &g) == 0 &&
         cg_backward(y3, NULL, false) == 0;
    if (ok) put_vals(g), put(" "), put_vals(cg_grad(x3));
    CHECK_CASE("C_create_graph_retains_graph", ok);
    start();
    cg_tensor *y4 = cg_mul_scalar(cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD), 1), *v4 = NULL;
    CG_NO_GRAD { v4 = cg_view(y4, CG_SHAPE(3)); }
    cg_tensor *w4 = cg_add_scalar_(v4, 1);
    if (w4) put_vals(w4);
    CHECK_CASE("C_no_grad_view_write", w4 != NULL);
}

TEST(c_view_requires_grad_follows_base) {
    start();
    cg_tensor *x = cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD), *v = NULL;
    CG_NO_GRAD { v = cg_view(x, CG_SHAPE(3)); }
    cg_tensor *s = cg_sum(v);
    bool ok = cg_backward(s, NULL, false) == 0;
    put("%d %d %s %s %s", cg_requires_grad(v), cg_is_leaf(v), cg_node_name(cg_grad_fn(v)),
        cg_node_name(cg_grad_fn(s)), cg_node_name(cg_node_next(cg_grad_fn(s), 0, NULL)));
    ASSERT_NULL(cg_grad(x));
    CHECK_CASE("C_no_grad_view", ok);

    start();
    cg_tensor *x2 = cg_ones(CG_SHAPE(3), 0), *v2 = cg_view(x2, CG_SHAPE(3));
    cg_requires_grad_(x2, true);
    cg_tensor *s2 = cg_sum(cg_mul_scalar(v2, 2));
    put("%d %d %s %s", cg_requires_grad(v2), cg_is_leaf(v2), cg_node_name(cg_grad_fn(v2)),
        cg_node_name(cg_node_next(cg_grad_fn(s2), 0, NULL)));
    CHECK_CASE("C_view_before_requires_grad", s2 != NULL);
}

/* ------------------------------------------------------------------ D */

TEST(d_matmul_empty_dims) {
    start();
    cg_tensor *m = cg_matmul(cg_zeros(CG_SHAPE(0, 1, 0), 0), cg_zeros(CG_SHAPE(0, 1), 0));
    if (m) put_shape(m);
    CHECK_CASE("D_matmul_empty_batch", m != NULL);
    start();
    cg_tensor *v = cg_matmul(cg_zeros(CG_SHAPE(0), 0), cg_zeros(CG_SHAPE(2, 0, 2), 0));
    if (v) put_vals(v);
    CHECK_CASE("D_matmul_vec_empty", v != NULL);
    start();
    cg_tensor *x = cg_zeros(CG_SHAPE(0, 3), CG_REQUIRES_GRAD),
              *w = cg_ones(CG_SHAPE(4, 3), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_linear(x, w, cg_ones(CG_SHAPE(4), 0));
    bool ok = y && cg_backward(cg_sum(y), NULL, false) == 0;
    if (ok) put_shape(y), put(" "), put_vals(cg_grad(w));
    CHECK_CASE("D_linear_empty_batch", ok);
}

/* ------------------------------------------------------------------ E */

TEST(e_unsafe_view_is_not_a_view) {
    start();
    cg_tensor *x = cg_from_data((float[]){1, 2, 3, 4}, CG_SHAPE(2, 2), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_mul_scalar_(cg_reshape(cg_t(x), CG_SHAPE(4)), 2);
    if (y) put("%s", cg_node_name(cg_grad_fn(y)));
    CHECK_CASE("E_unsafe_view_not_view", y != NULL);
}

TEST(e_vector_matmul_is_not_a_view) {
    start();
    cg_tensor *v = vec(3, (float[]){1, 2, 3}, CG_REQUIRES_GRAD);
    cg_tensor *y = cg_mul_scalar_(cg_matmul(v, cg_ones(CG_SHAPE(3, 2), 0)), 2);
    bool ok = y && cg_backward(cg_sum(y), NULL, false) == 0;
    if (ok) put("%s ", cg_node_name(cg_grad_fn(y))), put_vals(cg_grad(v));
    CHECK_CASE("E_vec_mat_not_view", ok);
    start();
    cg_tensor *v2 = vec(3, (float[]){1, 2, 3}, CG_REQUIRES_GRAD);
    cg_tensor *y2 = cg_mul_scalar_(cg_linear(v2, cg_ones(CG_SHAPE(2, 3), 0), NULL), 2);
    if (y2) put("%s", cg_node_name(cg_grad_fn(y2)));
    CHECK_CASE("E_linear_vec_not_view", y2 != NULL);
}

/* ------------------------------------------------------------------ F */

TEST(f_masked_gradients_select) {
    start();
    cg_tensor *x = vec(3, (float[]){-1, 0, 2}, CG_REQUIRES_GRAD);
    bool ok = cg_backward(cg_sum(cg_rdiv_scalar(cg_relu(x), 0)), NULL, false) == 0;
    if (ok) put_vals(cg_grad(x));
    CHECK_CASE("F_div_relu", ok);
    start();
    cg_tensor *y = vec(3, (float[]){1, -1, 2}, CG_REQUIRES_GRAD);
    ok = cg_backward(cg_max(cg_sqrt(y)), NULL, false) == 0;
    if (ok) put_vals(cg_grad(y));
    CHECK_CASE("F_sqrt_max", ok);
    start();
    cg_tensor *z = vec(3, (float[]){4, -1, 4}, CG_REQUIRES_GRAD);
    ok = cg_backward(cg_min(cg_sqrt(z)), NULL, false) == 0;
    if (ok) put_vals(cg_grad(z));
    CHECK_CASE("F_sqrt_min_ties", ok);
    start(); /* a write through a view: its base's gradient there is replaced, not patched */
    double wv[] = {-4, -3, -0.0, 0, 1};
    cg_tensor *w = cg_from_data(wv, CG_SHAPE(5), CG_FLOAT64 | CG_REQUIRES_GRAD);
    cg_tensor *h = cg_hardswish(cg_mul_scalar(w, 1));
    ok = cg_mul_scalar_(cg_unsqueeze(h, 0), 1.5) &&
         cg_backward(cg_sum(cg_reciprocal(h)), NULL, false) == 0;
    if (ok) put_vals(cg_grad(w));
    CHECK_CASE("F_write_through_view_inf", ok);
}

/* ------------------------------------------------------------------ G */

/* A deliberate difference (docs/design.md, "Deviations"): elementwise results
 * are contiguous, where torch keeps the input's stride order (x.t() * 2 has
 * strides (1, 3) there). Values and gradients agree. */
TEST(g_output_layout) {
    start();
    float xv[] = {1, 2, 3, 4, 5, 6};
    cg_tensor *x = cg_from_data(xv, CG_SHAPE(2, 3), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_mul_scalar(cg_t(x), 2), *r = cg_reshape(y, CG_SHAPE(6));
    bool ok = cg_backward(cg_sum(r), NULL, false) == 0;
    if (ok) put_vals(r), put(" "), put_vals(cg_grad(x));
    CHECK_CASE("G_values", ok);
    start();
    put_strides(y), put(" "), put_strides(cg_exp(cg_t(x)));
    ASSERT_STR_EQ(got, "OK (2, 1) (2, 1)");
    ASSERT_NOT_NULL(cg_view(y, CG_SHAPE(6))); /* torch: "view size is not compatible ..." */
}

/* ------------------------------------------------------------------ H */

TEST(h_retain_grad_then_write_through_view) {
    start();
    cg_tensor *x = vec(2, (float[]){1, 2}, CG_REQUIRES_GRAD), *t = cg_mul_scalar(x, 3);
    cg_retain_grad(t);
    bool ok = cg_fill_(cg_squeeze(t), -1.5) && cg_backward(cg_sum(t), NULL, false) == 0;
    if (ok) put_vals(cg_grad(x));
    CHECK_CASE("H_retain_grad_view_write", ok);
    /* t.grad is the gradient of t's current value, as current PyTorch moves
     * a retain_grad to the tensor's new grad_fn (torch 1.13 left it on the
     * old one and printed [0, 0]; docs/design.md, "Deviations") */
    start();
    put_vals(cg_grad(t));
    ASSERT_STR_EQ(got, "OK [1, 1]");
}

/* ------------------------------------------------------------------ I */

TEST(i_create_graph_grads_require_grad) {
    start();
    cg_tensor *x = vec(2, (float[]){1, -2}, CG_REQUIRES_GRAD), *g = NULL;
    cg_tensor *y = cg_sum(cg_relu(x));
    bool ok = cg_autograd_grad(1, &y, NULL, 1, &x, CG_CREATE_GRAPH, &g) == 0;
    if (ok) put("%d %s", cg_requires_grad(g), cg_node_name(cg_grad_fn(g)));
    CHECK_CASE("I_grad_relu", ok);
    start();
    cg_tensor *x2 = vec(2, (float[]){1, -2}, CG_REQUIRES_GRAD);
    ok = cg_backward_ex(cg_sum(cg_relu(x2)), NULL, CG_CREATE_GRAPH, 0, NULL) == 0;
    if (ok) put("%d", cg_requires_grad(cg_grad(x2)));
    cg_clear_grad(x2); /* the gradient's graph holds x2: break the cycle */
    CHECK_CASE("I_backward_relu", ok);
}

/* ------------------------------------------------------------------ K */

TEST(k_signed_zeros) {
    start();
    cg_tensor *z = cg_scalar(-0.0, 0);
    cg_tensor *r[] = {cg_abs(z), cg_reciprocal(cg_abs(z)), cg_relu(z), cg_pow_scalar(z, -0.5)};
    for (int i = 0; i < 4; i++) put(i ? " " : ""), put_g(cg_item(r[i]));
    CHECK_CASE("K_signed_zeros", true);
    start();
    double hv[] = {-5, -3, -0.0, -INFINITY};
    cg_tensor *h = cg_hardswish(cg_from_data(hv, CG_SHAPE(4), CG_FLOAT64));
    for (int i = 0; i < 4; i++) put(i ? " " : ""), put_g(cg_get(h, (int64_t[]){i}));
    CHECK_CASE("K_hardswish_zeros", true);
}

TEST(c_view_of_detached_base) {
    start();
    cg_tensor *x = vec(3, (float[]){1, 3, 2}, CG_REQUIRES_GRAD), *r = cg_max(x);
    cg_tensor *v = cg_unsqueeze(r, 0);
    bool ok = cg_detach_(r) && cg_fill_(r, 0.25) && cg_backward(cg_sum(v), NULL, false) == 0;
    if (ok) {
        put("%s %d %s ", cg_node_name(cg_grad_fn(v)), cg_requires_grad(v),
            cg_grad(x) ? "set" : "None");
        put_vals(v);
    }
    CHECK_CASE("C_view_of_detached_base", ok);
}

TEST(c_detached_leaf_requires_grad_again) {
    start(); /* the old graph's AccumulateGrad adds again, as PyTorch's */
    cg_tensor *x = vec(2, (float[]){1, 2}, CG_REQUIRES_GRAD), *y = cg_mul_scalar(x, 2.5);
    bool ok = cg_detach_(x) && cg_requires_grad_(x, true) &&
              cg_backward(cg_add(cg_sum(y), cg_sum(x)), NULL, false) == 0;
    if (ok) put_vals(cg_grad(x));
    CHECK_CASE("C_detached_leaf_requires_grad_again", ok);
}

/* ------------------------------------------------------------------ L */

/* x (2,3) = arange(6) indexed by ix, then sum(y * (1..numel)) backward */
static bool index_0d_mask(int n, cg_tensor *const *ix) {
    cg_tensor *x = cg_requires_grad_(cg_reshape(cg_arange(0, 6, 1, CG_FLOAT32), CG_SHAPE(2, 3)),
                                     true);
    cg_tensor *y = cg_index(x, n, ix);
    if (!y) return false;
    cg_tensor *w = cg_reshape(cg_arange(1, (double)cg_numel(y) + 1, 1, CG_FLOAT32), cg_ndim(y),
                              cg_shape(y));
    if (cg_backward(cg_sum(cg_mul(y, w)), NULL, false) < 0) return false;
    put_shape(y), put(" "), put_vals(y);
    put(" %s %s ", cg_node_name(cg_grad_fn(y)), cg_node_name(cg_node_next(cg_grad_fn(y), 0, NULL)));
    put_vals(cg_grad(x));
    return true;
}

TEST(l_index_0d_masks) {
    cg_tensor *t = cg_full(CG_SCALAR_SHAPE, 1, CG_BOOL), *f = cg_full(CG_SCALAR_SHAPE, 0, CG_BOOL);
    cg_tensor *i10 = cg_from_data((int64_t[]){1, 0}, CG_SHAPE(2), CG_INT64);
    cg_tensor *m23 = cg_from_data((bool[]){1, 0, 1, 0, 0, 1}, CG_SHAPE(2, 3), CG_BOOL);
    cg_tensor *m2 = cg_from_data((bool[]){1, 0}, CG_SHAPE(2), CG_BOOL);
    struct {
        const char *name;
        int n;
        cg_tensor *ix[2];
    } cases[] = {{"L_index_true", 1, {t}},           {"L_index_false", 1, {f}},
                 {"L_index_true2", 2, {t, t}},       {"L_index_int_true", 2, {i10, t}},
                 {"L_index_true_mask", 2, {t, m23}}, {"L_index_false_int", 2, {f, i10}},
                 {"L_index_mask_false", 2, {m2, f}}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        start();
        CHECK_CASE(cases[i].name, index_0d_mask(cases[i].n, cases[i].ix));
    }
}

/* ------------------------------------------------------------------ M */

TEST(m_messages) {
    start();
    cg_tensor *b = cg_mul(cg_ones(CG_SHAPE(3, 3, 1), 0), cg_ones(CG_SHAPE(2, 2, 1), 0));
    CHECK_CASE("M_broadcast", b != NULL);
    start();
    cg_tensor *m = cg_masked_fill_(cg_ones(CG_SHAPE(3), 0), cg_ones(CG_SHAPE(2, 3), CG_BOOL), 1);
    CHECK_CASE("M_masked_fill", m != NULL);
    start();
    cg_tensor *c = cg_copy_(cg_scalar(1, 0), cg_ones(CG_SHAPE(4, 2), 0));
    CHECK_CASE("M_copy_smaller", c != NULL);
    start();
    cg_tensor *v = cg_add_scalar_(cg_view(cg_ones(CG_SHAPE(3), CG_REQUIRES_GRAD), CG_SHAPE(3)), 1);
    CHECK_CASE("M_view_of_leaf", v != NULL);
}

TEST_MAIN(a_inplace_saved_outputs, a_prod_dim_0d, a_lerp_saves_what_it_reads, a_layer_norm_bias,
          b_overlapping_writes, b_partial_overlap_and_split_pieces, c_views_and_leaves_after_writes,
          e_unsafe_view_is_not_a_view, c_view_requires_grad_follows_base, d_matmul_empty_dims,
          e_vector_matmul_is_not_a_view, f_masked_gradients_select, g_output_layout,
          h_retain_grad_then_write_through_view, i_create_graph_grads_require_grad, k_signed_zeros,
          c_view_of_detached_base, c_detached_leaf_requires_grad_again, l_index_0d_masks,
          m_messages)
