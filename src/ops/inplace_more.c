/* In-place forms of more ops — pow_, sqrt_, abs_, and those of the math and
 * activation families that torch has (tan_, log2_, log10_, exp2_, atan2_,
 * fmod_, remainder_, lerp_, addcmul_, addcdiv_, hardtanh_, elu_, hardswish_,
 * mish_) — run by inplace.c's engine (NOTE [ In-place ops ]): each records
 * its out-of-place node, as torch (elu_ records EluBackward1, which saves
 * the result). */
#include "ewise.h"

#define ZERO2 ((const double[2]){0, 0})

#define UNARY_IP(NAME)                                                                             \
    static cg_tensor *f_##NAME(cg_tensor *a, cg_tensor *b, const double *s) {                      \
        CG_UNUSED(b), CG_UNUSED(s);                                                                \
        return cg_##NAME(a);                                                                       \
    }                                                                                              \
    cg_tensor *cg_##NAME##_(cg_tensor *a) {                                                        \
        return cg__inplace("cg_" #NAME "_", a, NULL, ZERO2, f_##NAME);                             \
    }
UNARY_IP(sqrt)
UNARY_IP(abs)
UNARY_IP(tan)
UNARY_IP(log2)
UNARY_IP(log10)
UNARY_IP(exp2)
UNARY_IP(hardswish)
UNARY_IP(mish)

/* a op= b, or with the scalar s[0] when b is NULL */
#define BINARY_IP(NAME, SCALAR)                                                                    \
    static cg_tensor *f_##NAME(cg_tensor *a, cg_tensor *b, const double *s) {                      \
        return b ? cg_##NAME(a, b) : SCALAR(a, s[0]);                                              \
    }                                                                                              \
    cg_tensor *cg_##NAME##_(cg_tensor *a, cg_tensor *b) {                                          \
        return b ? cg__inplace("cg_" #NAME "_", a, b, ZERO2, f_##NAME) : NULL;                     \
    }
#define NO_SCALAR(a, s) (CG_UNUSED(s), (cg_tensor *)NULL)
BINARY_IP(pow, cg_pow_scalar)
BINARY_IP(atan2, NO_SCALAR)
BINARY_IP(fmod, cg_fmod_scalar)
BINARY_IP(remainder, cg_remainder_scalar)

cg_tensor *cg_pow_scalar_(cg_tensor *a, double e) {
    return cg__inplace("cg_pow_scalar_", a, NULL, (const double[2]){e, 0}, f_pow);
}
cg_tensor *cg_fmod_scalar_(cg_tensor *a, double s) {
    return cg__inplace("cg_fmod_scalar_", a, NULL, (const double[2]){s, 0}, f_fmod);
}
cg_tensor *cg_remainder_scalar_(cg_tensor *a, double s) {
    return cg__inplace("cg_remainder_scalar_", a, NULL, (const double[2]){s, 0}, f_remainder);
}

static cg_tensor *f_lerp(cg_tensor *a, cg_tensor *end, const double *s) {
    return cg_lerp(a, end, s[0]);
}
cg_tensor *cg_lerp_(cg_tensor *a, cg_tensor *end, double weight) {
    return end ? cg__inplace("cg_lerp_", a, end, (const double[2]){weight, 0}, f_lerp) : NULL;
}

static cg_tensor *f_hardtanh(cg_tensor *a, cg_tensor *b, const double *s) {
    CG_UNUSED(b);
    return cg_hardtanh(a, s[0], s[1]);
}
cg_tensor *cg_hardtanh_(cg_tensor *a, double min_val, double max_val) {
    return cg__inplace("cg_hardtanh_", a, NULL, (const double[2]){min_val, max_val}, f_hardtanh);
}

/* addcmul_ / addcdiv_ take two tensors besides a, the engine one: both wait
 * here for the call, on this thread; the engine is handed whichever
 * requires grad (it records when a or that one does) */
static _Thread_local cg_tensor *addc_t1, *addc_t2;

static cg_tensor *f_addcmul(cg_tensor *a, cg_tensor *t, const double *s) {
    CG_UNUSED(t);
    return cg_addcmul(a, addc_t1, addc_t2, s[0]);
}
static cg_tensor *f_addcdiv(cg_tensor *a, cg_tensor *t, const double *s) {
    CG_UNUSED(t);
    return cg_addcdiv(a, addc_t1, addc_t2, s[0]);
}

static cg_tensor *addc_(const char *fn, cg_tensor *a, cg_tensor *t1, cg_tensor *t2, double value,
                        cg__inplace_fn f) {
    if (!t1 || !t2) return NULL;
    addc_t1 = t1, addc_t2 = t2;
    cg_tensor *r = cg__inplace(fn, a, cg__requires_grad(t1) ? t1 : t2, (const double[2]){value, 0},
                               f);
    addc_t1 = addc_t2 = NULL;
    return r;
}
cg_tensor *cg_addcmul_(cg_tensor *a, cg_tensor *t1, cg_tensor *t2, double value) {
    return addc_("cg_addcmul_", a, t1, t2, value, f_addcmul);
}
cg_tensor *cg_addcdiv_(cg_tensor *a, cg_tensor *t1, cg_tensor *t2, double value) {
    return addc_("cg_addcdiv_", a, t1, t2, value, f_addcdiv);
}

static cg_tensor *f_elu(cg_tensor *a, cg_tensor *b, const double *s) {
    CG_UNUSED(b);
    return cg__elu_result(a, s[0]);
}
cg_tensor *cg_elu_(cg_tensor *a, double alpha) {
    return cg__inplace("cg_elu_", a, NULL, (const double[2]){alpha, 0}, f_elu);
}
