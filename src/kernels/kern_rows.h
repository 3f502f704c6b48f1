/* Row kernels for one element type: softmax, log_softmax, layer_norm (each
 * with its backward) and the Adam(W) step. kern_impl.h includes this twice,
 * with T (float, double), SFX(name) (name_f32, name_f64), EXP_T, SQRT_T and
 * FMA_T defined. Sums run in double, over LANES partial sums. */

/* sum of x[0..n) */
static double SFX(sum)(int64_t n, const T *restrict x) {
    double acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += x[i + j];
    double s = fold_lanes(acc);
    for (; i < n; i++) s += x[i];
    return s;
}

/* sum of (x - mu)^2 */
static double SFX(sum_sqdev)(int64_t n, const T *restrict x, double mu) {
    double acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) {
            double d = x[i + j] - mu;
            acc[j] += d * d;
        }
    double s = fold_lanes(acc);
    for (; i < n; i++) s += (x[i] - mu) * (x[i] - mu);
    return s;
}

/* sum of a b, each product exact (in double) */
static double SFX(dot)(int64_t n, const T *restrict a, const T *restrict b) {
    double acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += (double)a[i + j] * b[i + j];
    double s = fold_lanes(acc);
    for (; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* the largest x that is not NaN (-inf if none) */
static T SFX(max_of)(int64_t n, const T *restrict x) {
    T acc[LANES];
    for (int j = 0; j < LANES; j++) acc[j] = -INFINITY;
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        CG__SIMD for (int j = 0; j < LANES; j++) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
    T m = -INFINITY;
    for (int j = 0; j < LANES; j++) m = acc[j] > m ? acc[j] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

/* ------------------------------------------------------------------ softmax */

/* one row: the exponentials go into y, their sum (double) scales them, or
 * log_softmax = x - max - log(sum). A NaN in the row (or a +inf, or only
 * -inf) gives a NaN x - max, so a NaN sum: the whole row is NaN. */
static void SFX(softmax_row)(int64_t n, const T *restrict x, T *restrict y, bool log_) {
    T m = SFX(max_of)(n, x);
    for (int64_t i = 0; i < n; i++) y[i] = EXP_T(x[i] - m);
    double sum = SFX(sum)(n, y);
    if (log_) {
        T lse = (T)log(sum);
        for (int64_t i = 0; i < n; i++) y[i] = x[i] - m - lse;
    } else {
        T inv = (T)(1 / sum);
        for (int64_t i = 0; i < n; i++) y[i] *= inv;
    }
}

static void SFX(softmax)(int64_t rows, int64_t len, const T *x, T *y, bool log_) {
    for (int64_t r = 0; r < rows; r++) SFX(softmax_row)(len, x + r * len, y + r * len, log_);
}

/* softmax: dx = y (g - sum(g y)); log_softmax: dx = g - exp(y) sum(g) */
static void SFX(softmax_bw_row)(int64_t n, const T *restrict y, const T *g, T *dx, bool log_) {
    if (log_) {
        T s = (T)SFX(sum)(n, g);
        CG__SIMD for (int64_t i = 0; i < n; i++) dx[i] = g[i] - EXP_T(y[i]) * s;
    } else {
        T s = (T)SFX(dot)(n, g, y);
        CG__SIMD for (int64_t i = 0; i < n; i++) dx[i] = y[i] * (g[i] - s);
    }
}

static void SFX(softmax_bw)(int64_t rows, int64_t len, const T *y, const T *g, T *dx, bool log_) {
    for (int64_t r = 0; r < rows; r++)
        SFX(softmax_bw_row)(len, y + r * len, g + r * len, dx + r * len, log_);
}

/* cross_entropy: dx = c (exp(y) - onehot(t)), written in one pass; exp(y) c
 * rounds as the log_softmax backward's g - exp(y) sum(g) does with g = -c
 * onehot(t) */
static void SFX(ce_bw)(int64_t rows, int64_t len, const T *y, const int64_t *target, const T *coef,
                       T *dx) {
    for (int64_t r = 0; r < rows; r++) {
        const T *restrict yr = y + r * len;
        T *restrict dr = dx + r * len, c = coef[r];
        CG__SIMD for (int64_t i = 0; i < len; i++) dr[i] = EXP_T(yr[i]) * c;
        if (target[r] >= 0 && target[r] < len) dr[target[r]] -= c;
    }
}

/* sum of exp(x - m) over x[0..n), the exponentials in blocks (vectorised),
 * the sum in double */
static double SFX(sum_exp)(int64_t n, const T *restrict x, T m) {
    T e[256];
    double s = 0;
    for (int64_t i0 = 0; i0 < n; i0 += 256) {
        int64_t nb = n - i0 < 256 ? n - i0 : 256;
        CG__SIMD for (int64_t i = 0; i < nb; i++) e[i] = EXP_T(x[i0 + i] - m);
        s += SFX(sum)(nb, e);
    }
    return s;
}

/* linear_cross_entropy's row pass, in place on logits z: loss[r] =
 * logsumexp(z_r) - z_r[t_r] (0 without a target); with coef, z_r becomes
 * coef[r] (softmax(z_r) - onehot(t_r)), exp(z - lse) c as ce_bw rounds it */
static void SFX(lce_rows)(int64_t rows, int64_t len, T *z, const int64_t *target, const T *coef,
                          double *loss) {
    for (int64_t r = 0; r < rows; r++) {
        T *restrict zr = z + r * len;
        T m = SFX(max_of)(len, zr);
        T lse = m + (T)log(SFX(sum_exp)(len, zr, m));
        int64_t t = target[r];
        bool has_t = t >= 0 && t < len;
        loss[r] = has_t ? (double)(lse - zr[t]) : 0;
        if (!coef) continue;
        T c = coef[r];
        CG__SIMD for (int64_t i = 0; i < len; i++) zr[i] = EXP_T(zr[i] - lse) * c;
        if (has_t) zr[t] -= c;
    }
}

/* embedding's backward: rows of src added into the rows of dst idx names */
static void SFX(scatter_add_rows)(int64_t n, int64_t D, const int64_t *idx, const T *src, T *dst) {
    for (int64_t k = 0; k < n; k++) {
        T *restrict d = dst + idx[k] * D;
        const T *restrict s = src + k * D;
        CG__SIMD for (int64_t j = 0; j < D; j++) d[j] += s[j];
    }
}

/* --------------------------------------------------------------- layer_norm */

/* y = (x scale + bias) w + b, each a * b + c rounded once; a missing w or b
 * as 1 or 0 would be, with the same roundings */
static void SFX(ln_affine)(int64_t n, const T *x, T scale, T bias, const T *restrict w,
                           const T *restrict b, T *y) {
    if (w && b) {
        CG__SIMD for (int64_t i = 0; i < n; i++) y[i] = FMA_T(FMA_T(x[i], scale, bias), w[i], b[i]);
    } else if (w) {
        CG__SIMD for (int64_t i = 0; i < n; i++) y[i] = FMA_T(x[i], scale, bias) * w[i] + (T)0;
    } else if (b) {
        CG__SIMD for (int64_t i = 0; i < n; i++) y[i] = FMA_T(x[i], scale, bias) + b[i];
    } else {
        CG__SIMD for (int64_t i = 0; i < n; i++) y[i] = FMA_T(x[i], scale, bias) + (T)0;
    }
}

/* rstd = 1 / sqrt(var + eps) and bias = -rstd mean in T, as PyTorch */
static void SFX(layer_norm)(int64_t rows, int64_t D, const T *x, const T *w, const T *b, double eps,
                            T *y, T *mean, T *rstd) {
    for (int64_t r = 0; r < rows; r++) {
        const T *xr = x + r * D;
        double mu = SFX(sum)(D, xr) / (double)D;
        double var = SFX(sum_sqdev)(D, xr, mu) / (double)D;
        T scale = (T)1 / SQRT_T((T)var + (T)eps), bias = -scale * (T)mu;
        SFX(ln_affine)(D, xr, scale, bias, w, b, y + r * D);
        if (mean) mean[r] = (T)mu;
        if (rstd) rstd[r] = scale;
    }
}

/* *m1 = sum of gx, *m2 = sum of gx xhat over one row, gx = g w (or g) */
#define LN_BW_SUMS(GX)                                                                             \
    do {                                                                                           \
        for (; i + LANES <= n; i += LANES)                                                         \
            for (int j = 0; j < LANES; j++) {                                                      \
                int64_t k = i + j;                                                                 \
                T gx = (GX), xh = (x[k] - mu) * rs;                                                \
                a1[j] += gx, a2[j] += (double)gx * xh;                                             \
            }                                                                                      \
        s1 = fold_lanes(a1), s2 = fold_lanes(a2);                                                  \
        for (int64_t k = i; k < n; k++) {                                                          \
            T gx = (GX), xh = (x[k] - mu) * rs;                                                    \
            s1 += gx, s2 += (double)gx * xh;                                                       \
        }                                                                                          \
    } while (0)

static void SFX(ln_bw_sums)(int64_t n, const T *restrict x, const T *restrict g,
                            const T *restrict w, T mu, T rs, double *m1, double *m2) {
    double a1[LANES] = {0}, a2[LANES] = {0}, s1, s2;
    int64_t i = 0;
    if (w)
        LN_BW_SUMS(g[k] * w[k]);
    else
        LN_BW_SUMS(g[k]);
    *m1 = s1, *m2 = s2;
}
#undef LN_BW_SUMS

/* dx = rstd (gx - mean(gx) - xhat mean(gx xhat)), the means given (a, c) */
static void SFX(ln_bw_dx)(int64_t n, const T *restrict x, const T *g, const T *restrict w, T mu,
                          T rs, T a, T c, T *dx) {
    if (w) {
        CG__SIMD for (int64_t i = 0; i < n; i++)
            dx[i] = rs * (g[i] * w[i] - a - (x[i] - mu) * rs * c);
    } else {
        CG__SIMD for (int64_t i = 0; i < n; i++) dx[i] = rs * (g[i] - a - (x[i] - mu) * rs * c);
    }
}

static void SFX(layer_norm_bw)(int64_t rows, int64_t D, const T *x, const T *mean, const T *rstd,
                               const T *w, const T *g, T *dx, double *restrict dw,
                               double *restrict db) {
    for (int64_t r = 0; r < rows; r++) {
        const T *xr = x + r * D, *gr = g + r * D; /* dx may be g */
        T mu = mean[r], rs = rstd[r];
        if (dw)
            for (int64_t i = 0; i < D; i++) dw[i] += (double)gr[i] * ((xr[i] - mu) * rs);
        if (db)
            for (int64_t i = 0; i < D; i++) db[i] += gr[i];
        if (!dx) continue;
        double m1, m2;
        SFX(ln_bw_sums)(D, xr, gr, w, mu, rs, &m1, &m2);
        SFX(ln_bw_dx)(D, xr, gr, w, mu, rs, (T)(m1 / (double)D), (T)(m2 / (double)D), dx + r * D);
    }
}

/* -------------------------------------------------------------------- adamw */

/* torch.optim.AdamW (Adam when !decoupled), non-amsgrad, single-tensor:
 * m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2,
 * p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps), in T as cgrad's optimizer */
static void SFX(adamw)(int64_t n, T *restrict p, const T *restrict g, T *restrict m, T *restrict v,
                       const cg__adamw_hp *hp) {
    const T beta1 = (T)hp->beta1, beta2 = (T)hp->beta2, eps = (T)hp->eps;
    const T step_size = (T)(hp->lr / hp->bias_correction1);
    const T bc2_sqrt = (T)SQRT_T((T)hp->bias_correction2);
    /* AdamW decays the weights first; Adam adds wd p to the gradient */
    const T decay = hp->decoupled ? (T)(1 - hp->lr * hp->weight_decay) : (T)1;
    const T wd_grad = hp->decoupled ? (T)0 : (T)hp->weight_decay;
    const T omb1 = 1 - beta1, omb2 = 1 - beta2;
    for (int64_t i = 0; i < n; i++) {
        T pi = p[i] * decay, gi = g[i] + wd_grad * pi;
        T mi = m[i] * beta1 + gi * omb1, vi = v[i] * beta2 + gi * gi * omb2;
        m[i] = mi, v[i] = vi;
        p[i] = pi - step_size * (mi / (SQRT_T(vi) / bc2_sqrt + eps));
    }
}
