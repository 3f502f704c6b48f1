/* Finite-difference gradcheck of every differentiable row of the op table.
 *
 * For each row's spec (tests/op_specs.h), each variant and shape set: float64
 * inputs in the variant's domain, the analytic vector-Jacobian product (the
 * inputs' .grad after cg_backward with a random upstream gradient v) against
 * central differences of <v, f(x)> with eps = 1e-6, under PyTorch's gradcheck
 * tolerances: |analytic - numeric| <= atol + rtol * |numeric|, atol = 1e-5,
 * rtol = 1e-3. The backward is also run twice and must give bitwise equal
 * gradients (gradcheck's nondet_tol = 0).
 *
 * The helper (gradcheck() below) is self-contained; a public cg_gradcheck
 * will replace it. */
#include "test.h"

#include "op_specs.h"

#define CG_OP(id, name, bwd, fwd) [CG_OP_##id] = SPEC_##id,
static const op_spec specs[] = {
#include "ops/ops.def"
};
#undef CG_OP
_Static_assert(sizeof specs / sizeof specs[0] == CG_OP_COUNT,
               "tests/op_specs.h: one SPEC_<ID> per row of src/ops/ops.def");

/* --------------------------------------------------------------- gradcheck */

#define GC_MAX_IN 4

typedef cg_tensor *(*gc_fn)(cg_tensor *const *in, const void *ctx);

typedef struct {
    double eps, atol, rtol; /* 0: PyTorch's defaults 1e-6, 1e-5, 1e-3 */
    uint64_t seed;          /* for the upstream gradient v */
} gc_opts;

typedef struct {
    int n_checked; /* elements compared */
    int n_bad;
    int input; /* worst mismatch: which input, which element */
    int64_t index;
    double analytic, numeric;
    char msg[512]; /* why it failed */
} gc_result;

typedef struct {
    int ndim;
    int64_t shape[CG_MAX_DIMS];
    int64_t n;
    double *v;
} gc_buf;

static void gc_free(gc_buf *b, int n) {
    for (int i = 0; i < n; i++) free(b[i].v);
}

/* <v, f(p)> in double; NAN (with msg) when f fails or changes shape. */
static double gc_eval(gc_fn f, const void *ctx, cg_tensor *const *p, const gc_buf *v,
                      gc_result *res) {
    double acc = NAN;
    cg_scope_begin();
    cg_tensor *y = f(p, ctx);
    if (!y) {
        snprintf(res->msg, sizeof res->msg, "f failed on perturbed inputs: %s",
                 cg_last_error() ? cg_last_error() : "(no message)");
    } else if (cg_ndim(y) != v->ndim ||
               memcmp(cg_shape(y), v->shape, sizeof(int64_t) * (size_t)v->ndim) != 0) {
        snprintf(res->msg, sizeof res->msg, "f changed its output shape on perturbed inputs");
    } else {
        double *yv = malloc(sizeof(double) * (size_t)(v->n > 0 ? v->n : 1));
        if (!yv) abort();
        spec_read(y, yv);
        acc = 0;
        for (int64_t k = 0; k < v->n; k++) acc += v->v[k] * yv[k];
        free(yv);
    }
    cg_clear_error();
    cg_scope_end();
    return acc;
}

/* One analytic VJP: fresh float64 leaves holding x, y = f(leaves),
 * backward(y, v); grads written to g[i] (zeros where .grad stays None).
 * Returns 0, or -1 with res->msg. *vout receives v (made on the first call). */
static int gc_analytic(gc_fn f, const void *ctx, int n, const gc_buf *x, gc_buf *vout,
                       const gc_opts *o, double **g, gc_result *res) {
    int rc = -1;
    cg_scope_begin();
    cg_tensor *leaf[GC_MAX_IN];
    for (int i = 0; i < n; i++) {
        leaf[i] = spec_tensor(x[i].v, CG_FLOAT64, x[i].ndim, x[i].shape, CG_REQUIRES_GRAD);
        if (!leaf[i]) {
            snprintf(res->msg, sizeof res->msg, "cannot make the inputs: %s", cg_last_error());
            goto done;
        }
    }
    cg_tensor *y = f(leaf, ctx);
    if (!y) {
        snprintf(res->msg, sizeof res->msg, "f failed: %s",
                 cg_last_error() ? cg_last_error() : "(no message)");
        goto done;
    }
    if (!cg_dtype_is_floating(cg_dtype_of(y)) || !cg_requires_grad(y)) {
        snprintf(res->msg, sizeof res->msg, "the output is not differentiable (%s%s)",
                 cg_dtype_name(cg_dtype_of(y)), cg_requires_grad(y) ? "" : ", no grad");
        goto done;
    }
    if (!vout->v) {
        vout->ndim = cg_ndim(y);
        memcpy(vout->shape, cg_shape(y), sizeof(int64_t) * (size_t)vout->ndim);
        vout->n = cg_numel(y);
        vout->v = calloc((size_t)(vout->n > 0 ? vout->n : 1), sizeof(double));
        if (!vout->v) abort();
        if (spec_fill('R', cg_dtype_of(y), vout->n, o->seed, vout->v, 0)) {
            snprintf(res->msg, sizeof res->msg, "cg_randn failed");
            goto done;
        }
    }
    cg_tensor *vt = spec_tensor(vout->v, cg_dtype_of(y), vout->ndim, vout->shape, 0);
    if (!vt || cg_backward(y, vt, false) != 0) {
        snprintf(res->msg, sizeof res->msg, "cg_backward failed: %s",
                 cg_last_error() ? cg_last_error() : "(no message)");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        cg_tensor *gi = cg_grad(leaf[i]);
        if (!gi) {
            memset(g[i], 0, sizeof(double) * (size_t)x[i].n);
            continue;
        }
        if (cg_dtype_of(gi) != CG_FLOAT64 || cg_ndim(gi) != x[i].ndim ||
            memcmp(cg_shape(gi), x[i].shape, sizeof(int64_t) * (size_t)x[i].ndim) != 0) {
            snprintf(res->msg, sizeof res->msg,
                     "input %d's grad has dtype %s / a shape unlike the input's", i,
                     cg_dtype_name(cg_dtype_of(gi)));
            goto done;
        }
        spec_read(gi, g[i]);
    }
    rc = 0;
done:
    cg_clear_error();
    cg_scope_end();
    return rc;
}

/* Checks the gradient of f at the float64 tensors inputs[0..n). Returns 0 when
 * every element of the analytic VJP matches the central difference. */
static int gradcheck(gc_fn f, const void *ctx, int n, cg_tensor *const *inputs, const gc_opts *o,
                     gc_result *res) {
    double eps = o->eps > 0 ? o->eps : 1e-6, atol = o->atol > 0 ? o->atol : 1e-5,
           rtol = o->rtol > 0 ? o->rtol : 1e-3;
    memset(res, 0, sizeof *res);
    res->input = -1;
    if (n < 1 || n > GC_MAX_IN) {
        snprintf(res->msg, sizeof res->msg, "gradcheck takes 1 to %d inputs", GC_MAX_IN);
        return -1;
    }
    gc_buf x[GC_MAX_IN] = {{0}}, v = {0};
    double *g1[GC_MAX_IN] = {0}, *g2[GC_MAX_IN] = {0};
    int rc = -1;
    for (int i = 0; i < n; i++) {
        if (!inputs[i] || cg_dtype_of(inputs[i]) != CG_FLOAT64) {
            snprintf(res->msg, sizeof res->msg, "input %d is not a float64 tensor", i);
            goto out;
        }
        x[i].ndim = cg_ndim(inputs[i]);
        memcpy(x[i].shape, cg_shape(inputs[i]), sizeof(int64_t) * (size_t)x[i].ndim);
        x[i].n = cg_numel(inputs[i]);
        size_t sz = sizeof(double) * (size_t)(x[i].n > 0 ? x[i].n : 1);
        x[i].v = malloc(sz);
        g1[i] = malloc(sz);
        g2[i] = malloc(sz);
        if (!x[i].v || !g1[i] || !g2[i]) abort();
        spec_read(inputs[i], x[i].v);
    }
    /* analytic, twice: a backward must be deterministic */
    if (gc_analytic(f, ctx, n, x, &v, o, g1, res) || gc_analytic(f, ctx, n, x, &v, o, g2, res))
        goto out;
    for (int i = 0; i < n; i++)
        for (int64_t j = 0; j < x[i].n; j++)
            if (memcmp(&g1[i][j], &g2[i][j], sizeof(double)) != 0) {
                snprintf(res->msg, sizeof res->msg,
                         "backward is not reentrant: input %d element %lld gave %.17g, then %.17g",
                         i, (long long)j, g1[i][j], g2[i][j]);
                goto out;
            }
    /* numeric: perturb separate contiguous copies that do not require grad */
    cg_scope_begin();
    cg_tensor *p[GC_MAX_IN];
    for (int i = 0; i < n; i++) {
        p[i] = spec_tensor(x[i].v, CG_FLOAT64, x[i].ndim, x[i].shape, 0);
        if (!p[i]) {
            snprintf(res->msg, sizeof res->msg, "cannot copy the inputs");
            goto numeric_done;
        }
    }
    double worst = -1;
    for (int i = 0; i < n; i++) {
        double *d = cg_data_ptr(p[i]);
        for (int64_t j = 0; j < x[i].n; j++) {
            double orig = d[j];
            d[j] = orig + eps;
            double fp = gc_eval(f, ctx, p, &v, res);
            d[j] = orig - eps;
            double fm = gc_eval(f, ctx, p, &v, res);
            d[j] = orig;
            if (res->msg[0]) goto numeric_done;
            double num = (fp - fm) / (2 * eps), ana = g1[i][j];
            double err = fabs(ana - num), tol = atol + rtol * fabs(num);
            res->n_checked++;
            if (err <= tol) continue;
            res->n_bad++;
            double ex = isnan(err) ? INFINITY : err / tol;
            if (ex > worst) {
                worst = ex;
                res->input = i;
                res->index = j;
                res->analytic = ana;
                res->numeric = num;
            }
        }
    }
    if (res->n_bad)
        snprintf(res->msg, sizeof res->msg,
                 "%d of %d gradient elements mismatch; worst: input %d element %lld: "
                 "analytic %.10g, numeric %.10g",
                 res->n_bad, res->n_checked, res->input, (long long)res->index, res->analytic,
                 res->numeric);
    else
        rc = 0;
numeric_done:
    cg_scope_end();
out:
    for (int i = 0; i < n; i++) free(g1[i]), free(g2[i]);
    gc_free(x, n);
    free(v.v);
    return rc;
}

/* -------------------------------------------------------- the row checks */

/* A variant as a function of its differentiable inputs; its conditions and
 * indices (domains C and I) are held fixed. */
typedef struct {
    const spec_var *v;
    cg_tensor *fixed[SPEC_MAX_IN];
} spec_ctx;

static cg_tensor *spec_call(cg_tensor *const *x, const void *ctx) {
    const spec_ctx *sc = ctx;
    cg_tensor *in[SPEC_MAX_IN];
    for (int k = 0, j = 0; sc->v->dom[k]; k++) in[k] = spec_fixed(sc->v, k) ? sc->fixed[k] : x[j++];
    return sc->v->probe(in, sc->v);
}

static uint64_t gc_seed(int row, int var, int shp, int k) {
    return spec_seed(specs[row].id, var, shp, 1, k);
}

/* float64 inputs of a case in their domains: the fixed ones (conditions,
 * indices) into sc->fixed, the others into x[*n_x] (requiring grad when
 * asked); false if one could not be made */
static bool make_inputs(int r, int vi, int si, const int *nd, int64_t (*sh)[CG_MAX_DIMS],
                        bool requires_grad, spec_ctx *sc, cg_tensor **x, int *n_x) {
    const spec_var *v = sc->v;
    bool made = true;
    for (int k = 0; k < spec_n_in(v); k++) {
        int64_t numel = 1;
        for (int d = 0; d < nd[k]; d++) numel *= sh[k][d];
        double *vals = calloc((size_t)(numel > 0 ? numel : 1), sizeof(double));
        if (!vals) abort();
        cg_dtype dt = spec_in_dtype(v, k, CG_FLOAT64);
        cg_tensor *t = NULL;
        if (spec_fill(v->dom[k], dt, numel, gc_seed(r, vi, si, k), vals, v->ihi) == 0)
            t = spec_tensor(vals, dt, nd[k], sh[k],
                            requires_grad && !spec_fixed(v, k) ? CG_REQUIRES_GRAD : 0);
        free(vals);
        made = made && t;
        if (spec_fixed(v, k))
            sc->fixed[k] = t;
        else
            x[(*n_x)++] = t;
    }
    return made;
}

TEST(gradcheck_every_differentiable_row) {
    int n_cases = 0, n_fail = 0, n_rows = 0;
    long n_elems = 0;
    for (int r = 0; r < CG_OP_COUNT; r++) {
        const op_spec *s = &specs[r];
        if (s->not_an_op) continue;
        n_rows++;
        int row_cases = 0, row_fail = 0;
        for (int vi = 0; s->var[vi].py; vi++) {
            const spec_var *v = &s->var[vi];
            int n_in = spec_n_in(v);
            for (int si = 0; si < SPEC_MAX_SHAPES && v->shapes[si]; si++) {
                int nd[SPEC_MAX_IN];
                int64_t sh[SPEC_MAX_IN][CG_MAX_DIMS];
                ASSERT_EQ(spec_parse_shapes(v->shapes[si], nd, sh), n_in);
                cg_scope_begin();
                spec_ctx sc = {.v = v};
                cg_tensor *x[SPEC_MAX_IN];
                int n_x = 0;
                bool made = make_inputs(r, vi, si, nd, sh, false, &sc, x, &n_x);
                gc_opts o = {.eps = v->gc_eps, .seed = gc_seed(r, vi, si, 8)};
                gc_result res;
                memset(&res, 0, sizeof res);
                int rc = -1;
                if (made)
                    rc = gradcheck(spec_call, &sc, n_x, x, &o, &res);
                else
                    snprintf(res.msg, sizeof res.msg, "cannot make the inputs");
                cg_scope_end();
                row_cases++;
                n_elems += res.n_checked;
                if (rc != 0) {
                    row_fail++;
                    FAIL_("%s '%s' shapes %s: %s", s->id, v->py, v->shapes[si], res.msg);
                }
            }
        }
        n_cases += row_cases;
        n_fail += row_fail;
    }
    printf("  gradcheck: %d rows, %d cases (float64), %ld gradient elements, %d cases failed\n",
           n_rows, n_cases, n_elems, n_fail);
}

/* Second order: the public cg_gradgradcheck on every differentiable row,
 * every variant and shape set (float64, PyTorch's tolerances). */
static cg_tensor *spec_func(cg_tensor *const *x, void *ctx) { return spec_call(x, ctx); }

TEST(gradgradcheck_every_differentiable_row) {
    int n_cases = 0, n_fail = 0, n_rows = 0;
    for (int r = 0; r < CG_OP_COUNT; r++) {
        const op_spec *s = &specs[r];
        if (s->not_an_op) continue;
        n_rows++;
        for (int vi = 0; s->var[vi].py; vi++) {
            const spec_var *v = &s->var[vi];
            int n_in = spec_n_in(v);
            for (int si = 0; si < SPEC_MAX_SHAPES && v->shapes[si]; si++) {
                int nd[SPEC_MAX_IN];
                int64_t sh[SPEC_MAX_IN][CG_MAX_DIMS];
                ASSERT_EQ(spec_parse_shapes(v->shapes[si], nd, sh), n_in);
                cg_scope_begin();
                spec_ctx sc = {.v = v};
                cg_tensor *x[SPEC_MAX_IN];
                int n_x = 0;
                bool made = make_inputs(r, vi, si, nd, sh, true, &sc, x, &n_x);
                cg_manual_seed(gc_seed(r, vi, si, 9));
                cg_clear_error();
                bool ok = made && cg_gradgradcheck(spec_func, &sc, n_x, x,
                                                   v->gc_eps ? v->gc_eps : 1e-6, 1e-5, 1e-3);
                cg_scope_end();
                n_cases++;
                if (!ok) {
                    n_fail++;
                    FAIL_("%s '%s' shapes %s: %s", s->id, v->py, v->shapes[si],
                          cg_last_error() ? cg_last_error() : "cannot make the inputs");
                }
            }
        }
    }
    printf("  gradgradcheck: %d rows, %d cases (float64), %d cases failed\n", n_rows, n_cases,
           n_fail);
}

/* The helper itself: x * x passes; x * detach(x) has a wrong analytic
 * gradient (half the true one) and must be caught. */
static cg_tensor *f_square(cg_tensor *const *in, const void *ctx) {
    (void)ctx;
    return cg_mul(in[0], in[0]);
}
static cg_tensor *f_wrong(cg_tensor *const *in, const void *ctx) {
    (void)ctx;
    return cg_mul(in[0], cg_detach(in[0]));
}

TEST(gradcheck_helper_catches_a_wrong_gradient) {
    cg_manual_seed(7);
    cg_tensor *x = cg_randn(CG_SHAPE(3, 2), CG_FLOAT64);
    ASSERT_NOT_NULL(x);
    gc_opts o = {.seed = 11};
    gc_result res;
    int rc = gradcheck(f_square, NULL, 1, &x, &o, &res);
    if (rc != 0) FAIL_("x * x: %s", res.msg);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.n_checked, 6);
    ASSERT_EQ(gradcheck(f_wrong, NULL, 1, &x, &o, &res), -1);
    ASSERT_GT(res.n_bad, 0);
    ASSERT_NEAR(res.analytic * 2, res.numeric, 1e-6);
    /* float32 inputs are refused */
    cg_tensor *x32 = cg_randn(CG_SHAPE(2), 0);
    ASSERT_EQ(gradcheck(f_square, NULL, 1, &x32, &o, &res), -1);
}

TEST_MAIN(gradcheck_every_differentiable_row, gradgradcheck_every_differentiable_row,
          gradcheck_helper_catches_a_wrong_gradient)
