/* Factory functions: from data, empty/zeros/ones/full, arange, linspace,
 * rand/randn and their *_like forms. */
#include "internal.h"

#include <math.h>

static cg_dtype opts_dtype(int opts) { return (cg_dtype)(opts & CG_DTYPE_MASK); }

/* Validates opts and shape, makes the tensor, applies requires_grad. */
static cg_tensor *make(const char *fn, int ndim, const int64_t *shape, int opts) {
    if ((unsigned)opts_dtype(opts) >= CG_NUM_DTYPES ||
        (opts & ~(CG_DTYPE_MASK | CG_REQUIRES_GRAD | CG_LIKE_DTYPE))) {
        cg__error(fn, "invalid options 0x%x: expected a dtype, optionally | CG_REQUIRES_GRAD",
                  opts);
        return NULL;
    }
    if ((opts & CG_REQUIRES_GRAD) && !cg_dtype_is_floating(opts_dtype(opts))) {
        cg__error(fn, "Only Tensors of floating point and complex dtype can require gradients");
        return NULL;
    }
    if (cg__check_shape(fn, ndim, shape) < 0) return NULL;
    return cg__tensor_new(opts_dtype(opts), ndim, shape);
}

static cg_tensor *finish(cg_tensor *t, int opts) {
    if (t && (opts & CG_REQUIRES_GRAD)) t->requires_grad = true;
    return t;
}

static void fill(cg_tensor *t, double v) {
    int64_t n = cg__numel(t->ndim, t->shape);
    void *p = cg__ptr(t);
    switch (t->dtype) {
    case CG_FLOAT32:
        for (int64_t i = 0; i < n; i++) ((float *)p)[i] = (float)v;
        break;
    case CG_FLOAT64:
        for (int64_t i = 0; i < n; i++) ((double *)p)[i] = v;
        break;
    case CG_INT64:
        for (int64_t i = 0; i < n; i++) ((int64_t *)p)[i] = (int64_t)v;
        break;
    case CG_BOOL: memset(p, v != 0, (size_t)n); break;
    }
}

cg_tensor *cg_from_data(const void *data, int ndim, const int64_t *shape, int opts) {
    cg_tensor *t = make("cg_from_data", ndim, shape, opts);
    if (!t) return NULL;
    size_t bytes = (size_t)cg__numel(ndim, shape) * cg_dtype_size(t->dtype);
    if (bytes && !data) {
        cg__error("cg_from_data", "data is NULL for a tensor of %zu bytes", bytes);
        return NULL;
    }
    if (bytes) memcpy(cg__ptr(t), data, bytes);
    return finish(t, opts);
}

cg_tensor *cg_empty(int ndim, const int64_t *shape, int opts) {
    return finish(make("cg_empty", ndim, shape, opts), opts);
}

/* PyTorch's check before an int64 fill: NaN, the infinities and values
 * beyond int64 are refused (PyTorch 1.13 lets exactly 2^63 through and
 * wraps it to INT64_MIN; cgrad refuses it too). */
static int check_value(const char *fn, double v, int opts) {
    if (opts_dtype(opts) != CG_INT64 || (v >= -0x1p63 && v < 0x1p63)) return 0;
    cg__error(fn, "value cannot be converted to type int64_t without overflow");
    return -1;
}

cg_tensor *cg_full(int ndim, const int64_t *shape, double value, int opts) {
    if (check_value("cg_full", value, opts) < 0) return NULL;
    cg_tensor *t = make("cg_full", ndim, shape, opts);
    if (t) fill(t, value);
    return finish(t, opts);
}

cg_tensor *cg_zeros(int ndim, const int64_t *shape, int opts) {
    cg_tensor *t = make("cg_zeros", ndim, shape, opts);
    if (t) memset(cg__ptr(t), 0, t->storage->nbytes);
    return finish(t, opts);
}

cg_tensor *cg_ones(int ndim, const int64_t *shape, int opts) {
    cg_tensor *t = make("cg_ones", ndim, shape, opts);
    if (t) fill(t, 1);
    return finish(t, opts);
}

cg_tensor *cg_scalar(double value, int opts) {
    if (check_value("cg_scalar", value, opts) < 0) return NULL;
    cg_tensor *t = make("cg_scalar", 0, NULL, opts);
    if (t) fill(t, value);
    return finish(t, opts);
}

static void set_linear(cg_tensor *t, int64_t i, double v) {
    void *p = cg__ptr(t);
    switch (t->dtype) {
    case CG_FLOAT32: ((float *)p)[i] = (float)v; break;
    case CG_FLOAT64: ((double *)p)[i] = v; break;
    case CG_INT64: ((int64_t *)p)[i] = (int64_t)v; break;
    case CG_BOOL: ((bool *)p)[i] = v != 0; break;
    }
}

/* PyTorch's "not implemented for 'Bool'" (and 'Long') errors of factories */
static int check_kernel_dtype(const char *fn, const char *kernel, int opts, bool ints_ok) {
    cg_dtype d = opts_dtype(opts);
    if (d == CG_BOOL || (!ints_ok && d == CG_INT64)) {
        cg__error(fn, "\"%s\" not implemented for '%s'", kernel, d == CG_BOOL ? "Bool" : "Long");
        return -1;
    }
    return 0;
}

/* An int64 arange in int64 arithmetic, exact beyond 2^53 (bounds already
 * truncated, checked finite and consistent with the step's sign). */
static cg_tensor *arange_int64(double start, double end, double step, int opts) {
    if (check_value("cg_arange", start, opts) < 0 || check_value("cg_arange", end, opts) < 0 ||
        check_value("cg_arange", step, opts) < 0)
        return NULL;
    int64_t s = (int64_t)start, e = (int64_t)end, st = (int64_t)step, diff;
    if (__builtin_sub_overflow(e, s, &diff)) {
        cg__error("cg_arange", "arange of %g elements is too large", (end - start) / step);
        return NULL;
    }
    int64_t n = diff / st + (diff % st != 0); /* ceil: diff and st share a sign */
    if (n > (int64_t)1e15) {
        cg__error("cg_arange", "arange of %g elements is too large", (double)n);
        return NULL;
    }
    cg_tensor *t = make("cg_arange", 1, &n, opts);
    if (!t) return NULL;
    for (int64_t i = 0; i < n; i++) ((int64_t *)cg__ptr(t))[i] = s + i * st;
    return finish(t, opts);
}

cg_tensor *cg_arange(double start, double end, double step, int opts) {
    if (check_kernel_dtype("cg_arange", "arange_cpu", opts, true) < 0) return NULL;
    if (opts_dtype(opts) == CG_INT64) { /* integer arange works on truncated bounds */
        start = trunc(start), end = trunc(end), step = trunc(step);
    }
    if (!isfinite(start) || !isfinite(end)) {
        cg__error("cg_arange", "unsupported range: %.6g -> %.6g", start, end);
        return NULL;
    }
    if (step == 0 || isnan(step)) {
        cg__error("cg_arange", "step must be nonzero");
        return NULL;
    }
    if ((step > 0 && end < start) || (step < 0 && end > start)) {
        cg__error("cg_arange", "upper bound and larger bound inconsistent with step sign");
        return NULL;
    }
    if (opts_dtype(opts) == CG_INT64) return arange_int64(start, end, step, opts);
    double len = ceil((end - start) / step);
    if (len > 1e15) {
        cg__error("cg_arange", "arange of %g elements is too large", len);
        return NULL;
    }
    int64_t n = (int64_t)len;
    cg_tensor *t = make("cg_arange", 1, &n, opts);
    if (!t) return NULL;
    for (int64_t i = 0; i < n; i++) set_linear(t, i, start + (double)i * step);
    return finish(t, opts);
}

cg_tensor *cg_linspace(double start, double end, int64_t steps, int opts) {
    if (steps < 0) {
        cg__error("cg_linspace", "number of steps must be non-negative");
        return NULL;
    }
    if (check_kernel_dtype("cg_linspace", "linspace_cpu", opts, true) < 0) return NULL;
    cg_tensor *t = make("cg_linspace", 1, &steps, opts);
    if (!t) return NULL;
    /* as PyTorch: the first half counts up from start, the second down from
     * end; float32 in float arithmetic, so the values match to the bit */
    int64_t half = steps / 2;
    if (t->dtype == CG_FLOAT32) {
        float s0 = (float)start, s1 = (float)end;
        float step = steps > 1 ? (s1 - s0) / (float)(steps - 1) : 0;
        for (int64_t i = 0; i < steps; i++)
            ((float *)cg__ptr(t))[i] = i < half ? s0 + step * (float)i
                                                : s1 - step * (float)(steps - i - 1);
        return finish(t, opts);
    }
    double step = steps > 1 ? (end - start) / (double)(steps - 1) : 0;
    for (int64_t i = 0; i < steps; i++)
        set_linear(t, i,
                   i < half ? start + step * (double)i : end - step * (double)(steps - i - 1));
    return finish(t, opts);
}

static double uniform01(void) { return (double)(cg__rng_next() >> 11) * 0x1.0p-53; }

cg_tensor *cg_rand(int ndim, const int64_t *shape, int opts) {
    if (check_kernel_dtype("cg_rand", "check_uniform_bounds", opts, false) < 0) return NULL;
    cg_tensor *t = make("cg_rand", ndim, shape, opts);
    if (!t) return NULL;
    int64_t n = cg__numel(ndim, shape);
    cg__rng_lock();
    for (int64_t i = 0; i < n; i++) set_linear(t, i, uniform01());
    cg__rng_unlock();
    return finish(t, opts);
}

cg_tensor *cg_randn(int ndim, const int64_t *shape, int opts) {
    if (check_kernel_dtype("cg_randn", "normal_kernel_cpu", opts, false) < 0) return NULL;
    cg_tensor *t = make("cg_randn", ndim, shape, opts);
    if (!t) return NULL;
    int64_t n = cg__numel(ndim, shape);
    cg__rng_lock();
    for (int64_t i = 0; i < n; i += 2) { /* Box-Muller: two normals per draw */
        double u1 = 1.0 - uniform01(), u2 = uniform01();
        double r = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
        set_linear(t, i, r * cos(th));
        if (i + 1 < n) set_linear(t, i + 1, r * sin(th));
    }
    cg__rng_unlock();
    return finish(t, opts);
}

/* *_like: t's shape; t's dtype unless opts carries CG_LIKE_DTYPE. A dtype
 * without that flag is a mistake (float32 is 0, so it could not be told
 * from "same as t"): -1. */
static int like_opts(const char *fn, const cg_tensor *t, int opts) {
    if (opts & CG_LIKE_DTYPE) return opts & ~CG_LIKE_DTYPE;
    if (opts & CG_DTYPE_MASK) {
        cg__error(fn, "invalid options 0x%x: to choose a dtype, pass CG_LIKE_DTYPE | dtype", opts);
        return -1;
    }
    return opts | (int)t->dtype;
}

#define LIKE(name, call)                                                                           \
    cg_tensor *cg_##name##_like(const cg_tensor *t, int opts) {                                    \
        if (!t || (opts = like_opts("cg_" #name "_like", t, opts)) < 0) return NULL;               \
        return call;                                                                               \
    }
LIKE(empty, cg_empty(t->ndim, t->shape, opts))
LIKE(zeros, cg_zeros(t->ndim, t->shape, opts))
LIKE(ones, cg_ones(t->ndim, t->shape, opts))
LIKE(rand, cg_rand(t->ndim, t->shape, opts))
LIKE(randn, cg_randn(t->ndim, t->shape, opts))

cg_tensor *cg_full_like(const cg_tensor *t, double value, int opts) {
    if (!t || (opts = like_opts("cg_full_like", t, opts)) < 0) return NULL;
    return cg_full(t->ndim, t->shape, value, opts);
}
