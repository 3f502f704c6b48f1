/* Copies between layouts and dtypes: contiguous, clone, to, and the strided
 * copy kernel every one of them uses. */
#include "ops.h"

#define COPY_K(NAME, T)                                                                            \
    static void NAME(int64_t n, void *o_, int64_t so, const void *a_, int64_t sa, const void *b_,  \
                     int64_t sb) {                                                                 \
        (void)b_, (void)sb;                                                                        \
        T *o = o_;                                                                                 \
        const T *a = a_;                                                                           \
        for (int64_t i = 0; i < n; i++) o[i * so] = a[i * sa];                                     \
    }
COPY_K(copy1, uint8_t)
COPY_K(copy8, uint64_t)
COPY_K(copy4, uint32_t)

/* dst[i] = (dst type) src[i]; both cast kernels read via double */
#define CAST_K(NAME, TO, TI)                                                                       \
    static void NAME(int64_t n, void *o_, int64_t so, const void *a_, int64_t sa, const void *b_,  \
                     int64_t sb) {                                                                 \
        (void)b_, (void)sb;                                                                        \
        TO *o = o_;                                                                                \
        const TI *a = a_;                                                                          \
        for (int64_t i = 0; i < n; i++) o[i * so] = (TO)a[i * sa];                                 \
    }
CAST_K(f32_f64, float, double)
CAST_K(f32_i64, float, int64_t)
CAST_K(f32_b, float, bool)
CAST_K(f64_f32, double, float)
CAST_K(f64_i64, double, int64_t)
CAST_K(f64_b, double, bool)
/* float to int64 as x86's cvtt (torch's result): NaN and out of range give
 * INT64_MIN, where a C cast is undefined */
static inline int64_t to_i64(double x) {
    return x >= -0x1p63 && x < 0x1p63 ? (int64_t)x : INT64_MIN;
}
#define CAST_I64_K(NAME, TI)                                                                       \
    static void NAME(int64_t n, void *o_, int64_t so, const void *a_, int64_t sa, const void *b_,  \
                     int64_t sb) {                                                                 \
        (void)b_, (void)sb;                                                                        \
        int64_t *o = o_;                                                                           \
        const TI *a = a_;                                                                          \
        for (int64_t i = 0; i < n; i++) o[i * so] = to_i64(a[i * sa]);                             \
    }
CAST_I64_K(i64_f32, float)
CAST_I64_K(i64_f64, double)
CAST_K(i64_b, int64_t, bool)
#define TO_BOOL_K(NAME, TI)                                                                        \
    static void NAME(int64_t n, void *o_, int64_t so, const void *a_, int64_t sa, const void *b_,  \
                     int64_t sb) {                                                                 \
        (void)b_, (void)sb;                                                                        \
        bool *o = o_;                                                                              \
        const TI *a = a_;                                                                          \
        for (int64_t i = 0; i < n; i++) o[i * so] = a[i * sa] != 0;                                \
    }
TO_BOOL_K(b_f32, float)
TO_BOOL_K(b_f64, double)
TO_BOOL_K(b_i64, int64_t)

/* cast[to][from] */
static const cg__kernel cast[CG_NUM_DTYPES][CG_NUM_DTYPES] = {
    [CG_FLOAT32] = {copy4, f32_f64, f32_i64, f32_b},
    [CG_FLOAT64] = {f64_f32, copy8, f64_i64, f64_b},
    [CG_INT64] = {i64_f32, i64_f64, copy8, i64_b},
    [CG_BOOL] = {b_f32, b_f64, b_i64, copy1},
};

/* dst (rows, cols), contiguous = src (rows, cols) stored column-major: a
 * transpose, copied in tiles so that both sides stay in cache */
#define TRANSPOSE_COPY(T)                                                                          \
    do {                                                                                           \
        const T *s = cg__ptr(src);                                                                 \
        T *d = cg__ptr(dst);                                                                       \
        for (int64_t i0 = 0; i0 < rows; i0 += 32)                                                  \
            for (int64_t j0 = 0; j0 < cols; j0 += 32)                                              \
                for (int64_t i = i0; i < i0 + 32 && i < rows; i++)                                 \
                    for (int64_t j = j0; j < j0 + 32 && j < cols; j++)                             \
                        d[i * cols + j] = s[j * rows + i];                                         \
    } while (0)

static bool transpose_copy(cg_tensor *dst, const cg_tensor *src) {
    if (src->ndim != 2 || dst->ndim != 2 || dst->dtype != src->dtype || !cg__is_contiguous(dst) ||
        dst->shape[0] != src->shape[0] || dst->shape[1] != src->shape[1])
        return false;
    int64_t rows = src->shape[0], cols = src->shape[1];
    if (rows < 2 || cols < 2 || src->strides[0] != 1 || src->strides[1] != rows) return false;
    if (src->dtype == CG_FLOAT32)
        TRANSPOSE_COPY(float);
    else if (src->dtype == CG_FLOAT64)
        TRANSPOSE_COPY(double);
    else
        return false;
    return true;
}

void cg__copy_into(cg_tensor *dst, const cg_tensor *src) {
    int64_t n = cg__numel(src->ndim, src->shape);
    if (dst->dtype == src->dtype && cg__is_contiguous(dst) && cg__is_contiguous(src)) {
        memcpy(cg__ptr(dst), cg__ptr(src), (size_t)n * cg__esize(src->dtype));
        return;
    }
    if (transpose_copy(dst, src)) return;
    /* walk dst's shape; src must have the same numel (a reshape is allowed
     * only when both are contiguous, handled by viewing src at dst's shape) */
    cg__operand o, a;
    o.p = cg__ptr(dst);
    o.esize = cg__esize(dst->dtype);
    memcpy(o.st, dst->strides, sizeof o.st);
    a.p = cg__ptr(src);
    a.esize = cg__esize(src->dtype);
    if (cg__same_shape(dst->ndim, dst->shape, src->ndim, src->shape))
        memcpy(a.st, src->strides, sizeof a.st);
    else /* src contiguous, read in dst's order */
        cg__contiguous_strides(dst->ndim, dst->shape, a.st);
    cg__loop(cast[dst->dtype][src->dtype], dst->ndim, dst->shape, &o, &a, NULL);
}

cg_tensor *cg__convert(cg_tensor *t, cg_dtype d) {
    if (t->dtype == d) return t;
    cg_tensor *c = cg__tensor_new(d, t->ndim, t->shape);
    if (c) cg__copy_into(c, t);
    return c;
}

static cg_tensor *copy_as(cg_op op, cg_tensor *t, cg_dtype d) {
    cg_tensor *c = cg__tensor_new(d, t->ndim, t->shape);
    if (!c) return NULL;
    cg__copy_into(c, t);
    cg__record(op, c, 1, &t);
    return cg__recorded(c);
}

cg_tensor *cg_contiguous(cg_tensor *t) {
    if (!t) return NULL;
    return cg__is_contiguous(t) ? cg__same(t) : copy_as(CG_OP_CLONE, t, t->dtype);
}

cg_tensor *cg_clone(cg_tensor *t) { return t ? copy_as(CG_OP_CLONE, t, t->dtype) : NULL; }

cg_tensor *cg_to(cg_tensor *t, cg_dtype d) {
    if (!t) return NULL;
    if ((unsigned)d >= CG_NUM_DTYPES) {
        cg__error("cg_to", "invalid dtype %d", (int)d);
        return NULL;
    }
    return t->dtype == d ? cg__same(t) : copy_as(CG_OP_TO_COPY, t, d);
}

/* CloneBackward0, ToCopyBackward0 */
int cg__bw_identity(cg_node *n, cg_tensor **go, cg_tensor **gi) {
    CG_UNUSED(n);
    gi[0] = go[0]; /* the engine casts it to the input's dtype */
    return 0;
}
