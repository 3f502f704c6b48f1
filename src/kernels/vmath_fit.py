#!/usr/bin/env python3
"""Derives the polynomial coefficients in vmath.h (run: /usr/bin/python3
src/kernels/vmath_fit.py; needs numpy and mpmath). Each fit is a near-minimax
polynomial (Lawson's iteratively reweighted least squares on Chebyshev
nodes, relative error) against mpmath at 40 digits; it prints the C
constants and the fit's own maximum relative error on a dense grid (the
arithmetic's rounding comes on top: bench/vmath_ulp.c measures the whole)."""
import mpmath as mp
import numpy as np

mp.mp.dps = 40


def cheb_nodes(lo, hi, n):
    k = np.arange(n)
    return (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / n)


def lawson(xs, fs, powers, iters=400):
    """c minimising max |sum c_i x^p_i - f| / |f| over xs."""
    A = np.array([[x ** p for p in powers] for x in xs])
    f = np.array(fs)
    w = np.full(len(xs), 1.0 / len(xs))
    for _ in range(iters):
        sw = np.sqrt(w) / np.abs(f)
        c, *_ = np.linalg.lstsq(A * sw[:, None], f * sw, rcond=None)
        e = np.abs(A @ c - f) / np.abs(f)
        w = w * e
        w /= w.sum()
    return c


def max_rel(fn, ref, xs):
    return max(abs((fn(x) - ref(x)) / ref(x)) for x in xs)


def horner(c, x):
    p = mp.mpf(0)
    for ci in reversed(c):
        p = p * x + ci
    return p


def show(name, c, fmt):
    print(f"/* {name} */")
    for i, ci in enumerate(c):
        print(f"#define {name}{i} {fmt(ci)}")


def fit_expf():
    """float expf: exp(r) = 1 + r + r^2 (c0 + c1 r + ... + c5 r^5), |r| <= ln2/2,
    coefficients rounded to float."""
    h = float(mp.log(2) / 2) * 1.0001
    xs = [x for x in cheb_nodes(-h, h, 800) if abs(x) > 1e-6]
    fs = [float((mp.exp(x) - 1 - x) / x ** 2) for x in xs]
    c = lawson(xs, fs, range(6))
    c = [float(np.float32(ci)) for ci in c]
    grid = np.linspace(-h, h, 4001)
    err = max_rel(lambda r: 1 + r + r * r * horner(c, r), mp.exp, [mp.mpf(r) for r in grid])
    show("EXPF_C", c, lambda v: f"{v:.9e}f")
    print(f"/*   fit error {float(err):.3g} */")


def fit_expd():
    """double exp to float grade: exp(r) = 1 + r + r^2 (c0 + ... + c5 r^5)."""
    h = float(mp.log(2) / 2) * 1.0001
    xs = [x for x in cheb_nodes(-h, h, 800) if abs(x) > 1e-6]
    fs = [float((mp.exp(x) - 1 - x) / x ** 2) for x in xs]
    c = lawson(xs, fs, range(6))
    grid = np.linspace(-h, h, 4001)
    err = max_rel(lambda r: 1 + r + r * r * horner(c, r), mp.exp, [mp.mpf(r) for r in grid])
    show("EXPD_C", c, lambda v: f"{v:.17e}")
    print(f"/*   fit error {float(err):.3g} */")


TAIL_K = 0.3     # t = 1 / (1 + K a)
TAIL_AMAX = 15.0  # Phi(-15) = 3.7e-51: 0 as a float
TAIL_DEG = 9


def tail_ref(a):
    """Phi(-a) exp(a^2 / 2)"""
    a = mp.mpf(a)
    return mp.erfc(a / mp.sqrt(2)) / 2 * mp.exp(a * a / 2)


def fit_tail():
    """Phi(-a) = exp(-a^2/2) t P(t), t = 1/(1 + K a), a in [0, AMAX]"""
    tmin = 1 / (1 + TAIL_K * TAIL_AMAX)
    ts = cheb_nodes(tmin, 1.0, 1200)
    fs = [float(tail_ref((1 / mp.mpf(t) - 1) / TAIL_K) / t) for t in ts]
    c = lawson(ts, fs, range(TAIL_DEG + 1))
    grid = [mp.mpf(a) for a in np.linspace(0, TAIL_AMAX, 6001)]

    def approx(a):
        t = 1 / (1 + TAIL_K * a)
        return t * horner(c, t)
    err = max_rel(approx, tail_ref, grid)
    print(f"#define NORM_TAIL_K {TAIL_K}")
    show("NORM_TAIL_C", c, lambda v: f"{v:.17e}")
    print(f"/*   fit error {float(err):.3g} */")


if __name__ == "__main__":
    fit_expf()
    fit_expd()
    fit_tail()
