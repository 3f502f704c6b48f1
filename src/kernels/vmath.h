/* Vectorisable math for the CPU kernels: static inline, branch-free (every
 * path is computed, then one is selected), no calls, so that the loops
 * around them auto-vectorise at each dispatch level. Polynomial
 * coefficients come from vmath_fit.py.
 *
 * cg__vexpf works in float arithmetic (softmax's exp). The others take a
 * float's value as a double and work in double, with polynomials only as
 * accurate as a float needs (relative error < 1e-9), so that the one
 * rounding to float dominates: they are then nearly correctly rounded, and
 * Phi(x) = P(N(0,1) <= x) keeps its relative accuracy for negative x, where
 * 0.5 (1 + erf(x / sqrt 2)) cancels (an erfc-style tail, exp(-x^2/2) t P(t)).
 *
 * Measured error (bench/vmath_ulp --full, GCC 12 build; a Clang 14 build
 * gives the same figures on the default 1/257 sample): all 2^32 float
 * inputs against libm evaluated in double; "ulp" is the distance
 * in floats from that reference rounded to float, "err" the distance from
 * the double reference in ulps of the rounded one; maxima over inputs whose
 * rounded reference is a normal float:
 *   function (kernel)              default       avx2          avx512
 *                                  ulp  err      ulp  err      ulp  err
 *   exp      cg__vexpf             1    0.957    1    0.987    1    0.987
 *   tanh     cg__vtanh             1    0.506    1    0.506    1    0.506
 *   sigmoid  cg__vsigmoid          1    0.502    1    0.502    1    0.502
 *   erf      cg__verf              1    0.527    1    0.527    1    0.527
 *   Phi      cg__vnormcdf          1    0.558    1    0.558    1    0.558
 *   gelu     x Phi(x)              1    0.559    1    0.559    1    0.559
 *   gelu     tanh form             1    0.503    1    0.503    1    0.503
 * Zero or subnormal results: within 0.75 * 2^-149 (exp), 0.51 * 2^-149 (the
 * rest). Every NaN, infinite or overflowing reference is matched exactly.
 * NaN gives NaN; exp(-inf) = 0, exp(+inf) = inf; tanh, erf, sigmoid and Phi
 * reach their limits at +-inf; tanh and erf keep the sign of -0. */
#ifndef CG_KERNELS_VMATH_H
#define CG_KERNELS_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* a * b + c: one rounding where the target fuses it, else two (C11 does
 * not contract a * b + c by itself under GCC's -std=c11) */
#if defined(__FMA__) || defined(FP_FAST_FMAF)
#define CG__VFMAF(a, b, c) fmaf(a, b, c)
#else
#define CG__VFMAF(a, b, c) ((a) * (b) + (c))
#endif
#if defined(__FMA__) || defined(FP_FAST_FMA)
#define CG__VFMA(a, b, c) fma(a, b, c)
#else
#define CG__VFMA(a, b, c) ((a) * (b) + (c))
#endif

#define CG__V_LOG2E 1.4426950408889634074
#define CG__V_SQRT2 1.4142135623730950488

static inline int32_t cg__vbits_f32(float f) {
    int32_t i;
    memcpy(&i, &f, sizeof i);
    return i;
}
static inline float cg__vf32_bits(int32_t i) {
    float f;
    memcpy(&f, &i, sizeof f);
    return f;
}
static inline uint64_t cg__vbits_f64(double d) {
    uint64_t i;
    memcpy(&i, &d, sizeof i);
    return i;
}
static inline double cg__vf64_bits(uint64_t i) {
    double d;
    memcpy(&d, &i, sizeof d);
    return d;
}

/* exp(x) in float arithmetic. x = k ln2 + r, |r| <= ln2/2: k is rounded by
 * adding 1.5 * 2^23 (it lands in the low mantissa bits), ln2 is split so
 * that k * LN2_HI is exact; exp(r) = 1 + r + r^2 P(r), P of degree 5
 * (fit 7.8e-10); 2^k is applied as two normal factors, so that a subnormal
 * result is rounded once. */
static inline float cg__vexpf(float x) {
    float xc = x < 89.0f ? x : 89.0f; /* exp(89) overflows: inf (NaN: restored below) */
    xc = xc > -104.0f ? xc : -104.0f; /* exp(-104) < 2^-150: 0 */
    float kf = xc * (float)CG__V_LOG2E + 0x1.8p23f;
    int32_t k = cg__vbits_f32(kf) - 0x4B400000; /* in [-150, 128] */
    float kr = kf - 0x1.8p23f;
    float r = xc - kr * 0.693359375f;     /* ln2's first 9 bits: exact */
    r = r + kr * 2.12194440054690583e-4f; /* 0.693359375 - ln2 */
    float p = CG__VFMAF(1.985780254e-04f, r, 1.393360668e-03f);
    p = CG__VFMAF(p, r, 8.333360776e-03f);
    p = CG__VFMAF(p, r, 4.166646674e-02f);
    p = CG__VFMAF(p, r, 1.666666716e-01f);
    p = CG__VFMAF(p, r, 0.5f);
    p = CG__VFMAF(p, r * r, r) + 1.0f;
    int32_t k1 = k / 2, k2 = k - k1; /* each in [-75, 64] */
    float y = p * cg__vf32_bits((k1 + 127) << 23) * cg__vf32_bits((k2 + 127) << 23);
    return x != x ? x : y;
}

/* exp(x) in double to float grade (relative error < 3e-10), the same
 * scheme as cg__vexpf; x < -708 gives 0, x > 709 is clamped (callers pass
 * x <= 0); a NaN goes through the arithmetic (the clamps keep it). */
static inline double cg__vexpd(double x) {
    double xc = x > 709.0 ? 709.0 : x;
    xc = xc < -708.0 ? -708.0 : xc;
    double kd = CG__VFMA(xc, CG__V_LOG2E, 0x1.8p52);
    uint64_t k = cg__vbits_f64(kd) - cg__vbits_f64(0x1.8p52); /* in [-1021, 1023], mod 2^64 */
    double kr = kd - 0x1.8p52;
    double r = CG__VFMA(-kr, 0x1.62e42fee00000p-1, xc); /* ln2's first 32 bits: exact */
    r = CG__VFMA(-kr, 0x1.a39ef35793c76p-33, r);
    double p = CG__VFMA(1.98578029056728630e-04, r, 1.39336065325569407e-03);
    p = CG__VFMA(p, r, 8.33336072530306560e-03);
    p = CG__VFMA(p, r, 4.16664654471636947e-02);
    p = CG__VFMA(p, r, 1.66666665322869723e-01);
    p = CG__VFMA(p, r, 5.00000001338756661e-01);
    p = CG__VFMA(p, r * r, r) + 1.0;
    double y = p * cg__vf64_bits((k + 1023) << 52);
    return x < -708.0 ? 0.0 : y;
}

/* Phi(-a) for a >= 0 given e = exp(-a^2/2): e t P(t), t = 1 / (1 + 0.3 a),
 * P of degree 9 (fit 3.5e-9 relative on a in [0, 15]; beyond, Phi(-a) is 0
 * as a float). a = +inf gives 0, NaN gives NaN. */
static inline double cg__vnormtail_e(double a, double e) {
    double t = 1.0 / CG__VFMA(0.3, a, 1.0);
    double p = CG__VFMA(-2.06286471078748652e-02, t, 1.12464718846161438e-01);
    p = CG__VFMA(p, t, -2.28284620275692574e-01);
    p = CG__VFMA(p, t, 1.91883079378590671e-01);
    p = CG__VFMA(p, t, -7.95090010310301187e-02);
    p = CG__VFMA(p, t, 9.62048459158790781e-02);
    p = CG__VFMA(p, t, 7.83722447152107593e-02);
    p = CG__VFMA(p, t, 1.10239343388828695e-01);
    p = CG__VFMA(p, t, 1.19571317768347007e-01);
    p = CG__VFMA(p, t, 1.19686716668825424e-01);
    return e * t * p;
}

static inline double cg__vnormtail(double a) { return cg__vnormtail_e(a, cg__vexpd(-0.5 * a * a)); }

/* Phi(x) = P(N(0,1) <= x): the tail at -|x|, or 1 minus the tail at |x| */
static inline double cg__vnormcdf(double x) {
    double q = cg__vnormtail(fabs(x));
    return x < 0 ? q : 1.0 - q;
}

/* erf(x): its Maclaurin series to x^17 for |x| < 1/2 (remainder < 3e-13),
 * else sign(x) (1 - 2 Phi(-|x| sqrt 2)) */
static inline double cg__verf(double x) {
    double a = fabs(x), z = x * x;
    double s = CG__VFMA(1.6462114365889247e-06, z, -1.4925650358406251e-05);
    s = CG__VFMA(s, z, 1.2055332981789664e-04);
    s = CG__VFMA(s, z, -8.5483270234508528e-04);
    s = CG__VFMA(s, z, 5.2239776254421878e-03);
    s = CG__VFMA(s, z, -2.6866170645131252e-02);
    s = CG__VFMA(s, z, 1.1283791670955126e-01);
    s = CG__VFMA(s, z, -3.7612638903183752e-01);
    s = CG__VFMA(s, z, 1.1283791670955126e+00);
    double l = 1.0 - 2.0 * cg__vnormtail(a * CG__V_SQRT2);
    return copysign(a < 0.5 ? s * a : l, x);
}

/* tanh(x) = (1 - e) / (1 + e), e = exp(-2|x|), for |x| >= 2^-5 (1 - e then
 * loses under 2^-4 of e's accuracy), else its series to x^7 */
static inline double cg__vtanh(double x) {
    double a = fabs(x), z = a * a;
    double s = a + a * z * (-1.0 / 3 + z * (2.0 / 15 + z * (-17.0 / 315)));
    double e = cg__vexpd(-2.0 * a);
    double l = (1.0 - e) / (1.0 + e);
    return copysign(a < 0x1p-5 ? s : l, x);
}

/* sigmoid(x) = 1 / (1 + exp(-x)), through e = exp(-|x|) <= 1 so that
 * nothing overflows: 1 / (1 + e) for x >= 0, e / (1 + e) below */
static inline double cg__vsigmoid(double x) {
    double e = cg__vexpd(-fabs(x));
    double s = 1.0 / (1.0 + e);
    return x >= 0 ? s : e * s;
}

#endif
