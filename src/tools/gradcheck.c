/* cg_gradcheck / cg_gradgradcheck: analytical gradients (one backward per
 * output element) against float64 central differences, with PyTorch's
 * tolerance rule |analytical - numerical| <= atol + rtol * |numerical|. */
#include "cgrad.h"

#include <math.h>
#include <stdlib.h>

#define MAX_IN 16

static int check_inputs(const char *fn, int n, cg_tensor *const *in) {
    if (n <= 0 || n > MAX_IN || !in) {
        cg_error_in(fn, "takes 1 to %d inputs, got %d", MAX_IN, n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (!in[i]) return -1;
        if (cg_requires_grad(in[i]) &&
            (cg_dtype_of(in[i]) != CG_FLOAT64 || !cg_is_contiguous(in[i]))) {
            cg_error_in(fn, "input %d: gradcheck needs contiguous float64 inputs", i);
            return -1;
        }
    }
    return 0;
}

/* f(inputs) as a contiguous float64 copy (f may hand back an input's
 * storage, which the next perturbation changes), without recording */
static const double *eval_nograd(cg_func f, void *ctx, cg_tensor *const *in) {
    cg_tensor *y = NULL, *c = NULL;
    CG_NO_GRAD {
        if ((y = f(in, ctx)) && (c = cg_empty_like(y, CG_LIKE_DTYPE | CG_FLOAT64)))
            c = cg_copy_(c, y);
    }
    return c ? cg_data_ptr(c) : NULL;
}

static bool compare(const char *fn, int out_i, int in_i, const double *ana, const double *num,
                    int64_t rows, int64_t cols, double atol, double rtol) {
    for (int64_t k = 0; k < rows * cols; k++) {
        if (fabs(ana[k] - num[k]) <= atol + rtol * fabs(num[k])) continue;
        cg_error_in(fn,
                    "Jacobian mismatch for output %d with respect to input %d,\n"
                    "numerical:%.10g\nanalytical:%.10g\n"
                    "(at input element %lld, output element %lld)",
                    out_i, in_i, num[k], ana[k], (long long)(k / cols), (long long)(k % cols));
        return false;
    }
    return true;
}

static bool gradcheck_impl(const char *fn_name, cg_func f, void *ctx, int n, cg_tensor *const *in,
                           double eps, double atol, double rtol) {
    if (check_inputs(fn_name, n, in) < 0) return false;
    bool ok = true;
    cg_scope_begin();
    cg_tensor *y = f(in, ctx);
    if (!y) {
        cg_scope_end();
        return false;
    }
    int64_t m = cg_numel(y);
    cg_tensor *wrt[MAX_IN];
    int idx[MAX_IN], nw = 0;
    for (int i = 0; i < n; i++)
        if (cg_requires_grad(in[i])) idx[nw] = i, wrt[nw++] = in[i];
    if (nw == 0) {
        cg_error_in(fn_name, "gradcheck expects at least one input to require grad");
        cg_scope_end();
        return false;
    }
    /* an output that does not require grad has a zero analytical Jacobian:
     * the numerical one must be zero too */
    bool constant = !cg_requires_grad(y);
    for (int w = 0; w < nw && ok; w++) {
        cg_tensor *x = wrt[w];
        int64_t nx = cg_numel(x);
        double *ana = calloc((size_t)(nx * m) + 1, sizeof *ana);
        double *num = calloc((size_t)(nx * m) + 1, sizeof *num);
        if (!ana || !num) {
            free(ana), free(num);
            cg_error_in(fn_name, "out of memory");
            ok = false;
            break;
        }
        /* analytical: row j of the Jacobian from a backward with one-hot j */
        for (int64_t j = 0; j < m && ok && !constant; j++) {
            cg_scope_begin();
            cg_tensor *onehot = cg_zeros_like(y, 0), *g[1]; /* contiguous */
            if (cg_dtype_of(y) == CG_FLOAT32)
                ((float *)cg_data_ptr(onehot))[j] = 1;
            else
                ((double *)cg_data_ptr(onehot))[j] = 1;
            if (cg_autograd_grad(1, &y, &onehot, 1, &x, CG_RETAIN_GRAPH | CG_ALLOW_UNUSED, g) != 0)
                ok = false;
            else if (g[0]) {
                const double *gd = cg_data_ptr(cg_contiguous(cg_to(g[0], CG_FLOAT64))); /* (nx) */
                for (int64_t k = 0; k < nx; k++) ana[k * m + j] = gd[k];
            }
            cg_scope_end();
        }
        /* numerical: central differences, perturbing x's data in place */
        double *xp = cg_data_ptr(x);
        for (int64_t k = 0; k < nx && ok; k++) {
            double orig = xp[k];
            cg_scope_begin();
            xp[k] = orig + eps;
            const double *yp = eval_nograd(f, ctx, in); /* (m) */
            xp[k] = orig - eps;
            const double *ym = eval_nograd(f, ctx, in);
            xp[k] = orig;
            if (!yp || !ym) ok = false;
            for (int64_t j = 0; ok && j < m; j++) num[k * m + j] = (yp[j] - ym[j]) / (2 * eps);
            cg_scope_end();
        }
        if (ok && constant) {
            for (int64_t k = 0; k < nx * m && ok; k++)
                if (fabs(num[k]) > atol) {
                    cg_error_in(fn_name, "Numerical gradient for function expected to be zero");
                    ok = false;
                }
        } else if (ok) {
            ok = compare(fn_name, 0, idx[w], ana, num, nx, m, atol, rtol);
        }
        free(ana);
        free(num);
    }
    cg_scope_end();
    return ok;
}

bool cg_gradcheck(cg_func f, void *ctx, int n, cg_tensor *const *inputs, double eps, double atol,
                  double rtol) {
    if (!f) {
        cg_error_in("cg_gradcheck", "f is NULL");
        return false;
    }
    return gradcheck_impl("cg_gradcheck", f, ctx, n, inputs, eps, atol, rtol);
}

/* gradgradcheck: for each input i, gradcheck the map (inputs, v) -> the
 * gradient of <v, f(inputs)> with respect to input i, built with
 * create_graph. v is a fixed random upstream gradient that requires grad. */
typedef struct {
    cg_func f;
    void *ctx;
    int n, which;
} vjp_ctx;

static cg_tensor *vjp(cg_tensor *const *in, void *p) {
    vjp_ctx *c = p;
    bool graph = cg_is_grad_enabled(); /* off while gradcheck differences numerically */
    cg_tensor *g[1] = {NULL};
    int rc = -1;
    CG_ENABLE_GRAD {
        cg_tensor *y = c->f(in, c->ctx);
        int flags = CG_ALLOW_UNUSED | (graph ? CG_RETAIN_GRAPH | CG_CREATE_GRAPH : 0);
        if (y) rc = cg_autograd_grad(1, &y, &in[c->n], 1, &in[c->which], flags, g);
    }
    if (rc != 0) return NULL;
    if (g[0]) return g[0];
    /* unused input: a zero gradient (kept in the graph when one is being built) */
    return graph ? cg_mul_scalar(in[c->which], 0) : cg_zeros_like(in[c->which], 0);
}

bool cg_gradgradcheck(cg_func f, void *ctx, int n, cg_tensor *const *inputs, double eps,
                      double atol, double rtol) {
    if (!f) {
        cg_error_in("cg_gradgradcheck", "f is NULL");
        return false;
    }
    if (check_inputs("cg_gradgradcheck", n, inputs) < 0) return false;
    bool ok = true;
    cg_scope_begin();
    cg_tensor *y = NULL;
    CG_NO_GRAD { y = f(inputs, ctx); }
    cg_tensor *all[MAX_IN + 1];
    for (int i = 0; i < n; i++) all[i] = inputs[i];
    all[n] = y ? cg_randn_like(y, CG_LIKE_DTYPE | CG_FLOAT64 | CG_REQUIRES_GRAD) : NULL;
    if (!all[n]) ok = false;
    for (int i = 0; i < n && ok; i++) {
        if (!cg_requires_grad(inputs[i])) continue;
        vjp_ctx c = {f, ctx, n, i};
        ok = gradcheck_impl("cg_gradgradcheck", vjp, &c, n + 1, all, eps, atol, rtol);
    }
    cg_scope_end();
    return ok;
}
