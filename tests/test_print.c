/* Printing: cg_to_string must equal PyTorch's repr(tensor) byte for byte.
 * Several hundred generated tensors (every dtype, 0 to 8 dims, empty dims,
 * magnitudes 1e-8 .. 1e12, integral values, nan/inf, -0.0, summarised and
 * wrapped ones, requires_grad leaves and grad_fn results) are printed here and
 * by tests/oracle/print_oracle.py under real torch, then compared. */
#define _POSIX_C_SOURCE 200809L /* mkstemp, close */
#include "test.h"

#include <inttypes.h>
#include <stdint.h>
#include <unistd.h>

#define MAX_TENSORS 1024

/* ---------------------------------------------- deterministic generator */

static uint64_t rng_state = 0x243f6a8885a308d3u;

static uint64_t rnd(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}
static double unif(void) { return (double)(rnd() >> 11) * 0x1p-53; } /* [0, 1) */
static int64_t irange(int64_t lo, int64_t hi) {
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}
static bool chance(double p) { return unif() < p; }
static double sign(void) { return chance(0.5) ? -1.0 : 1.0; }

/* ------------------------------------------------------ random tensors */

static int random_shape(int64_t *shape) {
    double r = unif();
    int ndim;
    if (r < 0.08) return 0;
    if (r < 0.50) { /* small, 1 to 4 dims, now and then a zero-size dim */
        ndim = (int)irange(1, 4);
        for (int d = 0; d < ndim; d++) shape[d] = chance(0.04) ? 0 : irange(1, 6);
    } else if (r < 0.66) { /* long rows: wrapping at 80 columns */
        ndim = (int)irange(1, 2);
        shape[0] = ndim == 1 ? irange(8, 150) : irange(1, 4);
        if (ndim == 2) shape[1] = irange(8, 60);
    } else if (r < 0.80) { /* more than 1000 elements: summarised with "..." */
        ndim = (int)irange(1, 4);
        static const int64_t big1[] = {1001, 1500, 4000};
        if (ndim == 1) shape[0] = big1[irange(0, 2)];
        for (int64_t numel = 0; ndim > 1 && numel <= 1000;) {
            numel = 1;
            for (int d = 0; d < ndim; d++) numel *= (shape[d] = irange(1, ndim == 2 ? 60 : 15));
        }
    } else if (r < 0.90) { /* 5 to 8 dims */
        ndim = (int)irange(5, 8);
        for (int d = 0; d < ndim; d++) shape[d] = irange(1, ndim > 6 ? 2 : 3);
    } else { /* empty */
        ndim = (int)irange(1, 4);
        for (int d = 0; d < ndim; d++) shape[d] = irange(0, 3);
        shape[irange(0, ndim - 1)] = 0;
    }
    return ndim;
}

/* One float of a tensor whose values follow `mode`; scale is per tensor. */
static double random_float(int mode, double scale) {
    static const double edges[] = {1e-4,   0.99e-4, 1.01e-4, 1e8, 0.99e8,
                                   1.01e8, 1000,    999.5,   1,   0.1};
    switch (mode) {
    case 0: return sign() * unif() * scale;                   /* one magnitude */
    case 1: return unif() * scale;                            /* positive */
    case 2: return sign() * floor(unif() * scale + 0.5);      /* integral */
    case 3: return sign() * pow(10.0, unif() * 20.0 - 8.0);   /* mixed 1e-8 .. 1e12 */
    case 4: return (double)irange(-12, 12) * 0.25;            /* short decimals */
    case 5: return chance(0.5) ? 0.0 : -0.0;                  /* zeros */
    case 6: return sign() * edges[irange(0, 9)];              /* rule thresholds */
    default: return sign() * floor(pow(10.0, unif() * 12.0)); /* integral, up to 1e12 */
    }
}

static const char *kind_name(cg_dtype dt) {
    return dt == CG_FLOAT32 ? "f32" : dt == CG_FLOAT64 ? "f64" : dt == CG_INT64 ? "i64" : "b8";
}

static cg_tensor *random_tensor(void) {
    static const cg_dtype dts[] = {CG_FLOAT32, CG_FLOAT32, CG_FLOAT64,
                                   CG_FLOAT64, CG_INT64,   CG_BOOL};
    cg_dtype dt = dts[irange(0, 5)];
    int64_t shape[CG_MAX_DIMS];
    int ndim = random_shape(shape);
    int64_t numel = 1;
    for (int d = 0; d < ndim; d++) numel *= shape[d];
    void *buf = malloc((size_t)(numel ? numel : 1) * 8);
    int mode = (int)irange(0, 7);
    double scale = pow(10.0, unif() * 20.0 - 8.0);
    bool specials = chance(0.2);
    int64_t imag = (int64_t)pow(10.0, (double)irange(0, 18));
    double ptrue = unif();
    for (int64_t i = 0; i < numel; i++) {
        double v = random_float(mode, scale);
        if (specials && chance(0.15)) {
            static const double sp[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0};
            v = sp[irange(0, 4)];
        }
        switch (dt) {
        case CG_FLOAT32: ((float *)buf)[i] = (float)v; break;
        case CG_FLOAT64: ((double *)buf)[i] = v; break;
        case CG_INT64:
            ((int64_t *)buf)[i] = specials && chance(0.1) ? (chance(0.5) ? INT64_MIN : INT64_MAX)
                                  : mode < 4              ? irange(-imag, imag)
                                                          : irange(-10, 10);
            break;
        case CG_BOOL: ((bool *)buf)[i] = unif() < ptrue; break;
        }
    }
    bool floating = dt == CG_FLOAT32 || dt == CG_FLOAT64;
    int r = (int)irange(0, 19);
    cg_tensor *t = cg_from_data(buf, ndim, shape,
                                (int)dt | (floating && r < 3 ? CG_REQUIRES_GRAD : 0));
    free(buf);
    if (!t) return NULL;
    if (floating && r == 3) /* results with a grad_fn */
        t = cg_add_scalar(cg_requires_grad_(t, true), 2);
    else if (floating && r == 4)
        t = cg_mul_scalar(cg_requires_grad_(t, true), 3);
    else if (floating && r == 5)
        t = cg_neg(cg_requires_grad_(t, true));
    else if (ndim >= 2 && r == 6) /* a non-contiguous view */
        t = cg_transpose(t, 0, ndim - 1);
    return t;
}

/* ------------------------------------------------------- fixed tensors */

static int fixed_tensors(cg_tensor **ts) {
    int n = 0;
    static const float f_neg0[] = {-0.0f, 0.0f}, f_neg0b[] = {1.0f, -0.0f, 10.0f};
    static const float f_sci[] = {1e10f}, f_small[] = {1e-5f},
                       f_spec[] = {NAN, INFINITY, -INFINITY};
    static const float f_mix[] = {INFINITY, 1.5f, -NAN}, f_int[] = {1.0f, -2.0f, 1e8f};
    static const double d_two[] = {1.0, 2.0}, d_ratio[] = {1.0, 1000.0, 0.5},
                        d_ratio2[] = {1.0, 1000.5};
    /* the mode rules' boundaries (not sci at exactly 1e-4, 1e8, ratio 1000) and
     * printf ties, which round half to even as Python does */
    static const double d_edge1[] = {1e-4, 0.05}, d_edge2[] = {1e8, 1e6},
                        d_edge3[] = {1e8, 1e6 + 0.5};
    static const double d_edge4[] = {1.0, 1000.0}, d_edge5[] = {0.5, 500.0},
                        d_tie[] = {0.03125, 0.09375, 1.5};
    static const double d_tie2[] = {1.03125e-5, 2.5},
                        d_ext[] = {5e-324, 1.7976931348623157e308, -1e-300};
    static const int64_t i_ext[] = {INT64_MIN, INT64_MAX, 0, -1};
    static const bool b_two[] = {true, false}, b_true[] = {true}, b_all[] = {true, true};
    ts[n++] = cg_scalar(27, 0);
    ts[n++] = cg_scalar(-0.0, 0);
    ts[n++] = cg_scalar(1, CG_BOOL);
    ts[n++] = cg_scalar(0, CG_BOOL);
    ts[n++] = cg_scalar(-7, CG_INT64);
    ts[n++] = cg_scalar(0.1, CG_FLOAT64);
    ts[n++] = cg_scalar(NAN, 0);
    ts[n++] = cg_scalar(1.5, CG_REQUIRES_GRAD);
    ts[n++] = cg_from_data(b_true, CG_SHAPE(1), CG_BOOL);
    ts[n++] = cg_from_data(b_two, CG_SHAPE(2), CG_BOOL);
    ts[n++] = cg_from_data(b_all, CG_SHAPE(2, 1), CG_BOOL);
    ts[n++] = cg_zeros(CG_SHAPE(0), 0);
    ts[n++] = cg_zeros(CG_SHAPE(2, 0), 0);
    ts[n++] = cg_zeros(CG_SHAPE(0), CG_INT64);
    ts[n++] = cg_zeros(CG_SHAPE(0, 3), CG_BOOL);
    ts[n++] = cg_zeros(CG_SHAPE(1, 0, 3), CG_FLOAT64 | CG_REQUIRES_GRAD);
    ts[n++] = cg_zeros(CG_SHAPE(0), CG_REQUIRES_GRAD);
    ts[n++] = cg_from_data(f_neg0, CG_SHAPE(2), 0);
    ts[n++] = cg_from_data(f_neg0b, CG_SHAPE(3), 0);
    ts[n++] = cg_from_data(f_sci, CG_SHAPE(1), 0);
    ts[n++] = cg_from_data(f_small, CG_SHAPE(1), 0);
    ts[n++] = cg_from_data(f_spec, CG_SHAPE(3), 0);
    ts[n++] = cg_from_data(f_mix, CG_SHAPE(3), 0);
    ts[n++] = cg_from_data(f_int, CG_SHAPE(3), 0);
    ts[n++] = cg_from_data(d_two, CG_SHAPE(2), CG_FLOAT64);
    ts[n++] = cg_from_data(d_ratio, CG_SHAPE(3), CG_FLOAT64);
    ts[n++] = cg_from_data(d_ratio2, CG_SHAPE(2), CG_FLOAT64 | CG_REQUIRES_GRAD);
    ts[n++] = cg_from_data(d_edge1, CG_SHAPE(2), CG_FLOAT64);
    ts[n++] = cg_from_data(d_edge2, CG_SHAPE(2), CG_FLOAT64);
    ts[n++] = cg_from_data(d_edge3, CG_SHAPE(2), CG_FLOAT64);
    ts[n++] = cg_from_data(d_edge4, CG_SHAPE(2), CG_FLOAT64);
    ts[n++] = cg_from_data(d_edge5, CG_SHAPE(2), CG_FLOAT64);
    ts[n++] = cg_from_data(d_tie, CG_SHAPE(3), CG_FLOAT64);
    ts[n++] = cg_from_data(d_tie2, CG_SHAPE(2), CG_FLOAT64);
    ts[n++] = cg_from_data(d_ext, CG_SHAPE(3), CG_FLOAT64);
    ts[n++] = cg_from_data(i_ext, CG_SHAPE(2, 2), CG_INT64);
    ts[n++] = cg_zeros(CG_SHAPE(3, 3), 0);
    ts[n++] = cg_ones(CG_SHAPE(1, 1, 1, 1, 1, 1, 1, 1), CG_INT64);
    ts[n++] = cg_linspace(0, 1, 2000, CG_FLOAT64);
    ts[n++] = cg_arange(0, 100000, 1, CG_INT64);
    ts[n++] = cg_view(cg_arange(0, 1200, 1, 0), CG_SHAPE(10, 10, 12));
    ts[n++] = cg_view(cg_arange(0, 1200, 1, 0), CG_SHAPE(2, 600));
    ts[n++] = cg_arange(0, 30, 1, CG_REQUIRES_GRAD); /* suffix wraps onto a new line */
    ts[n++] = cg_linspace(-1, 1, 15, CG_FLOAT64 | CG_REQUIRES_GRAD);
    cg_tensor *x = cg_ones(CG_SHAPE(2, 2), CG_REQUIRES_GRAD);
    ts[n++] = cg_add_scalar(x, 2);
    ts[n++] = cg_mean(cg_full(CG_SCALAR_SHAPE, 27, CG_REQUIRES_GRAD));
    ts[n++] = cg_sum(cg_full(CG_SCALAR_SHAPE, 2.5, CG_FLOAT64 | CG_REQUIRES_GRAD));
    ts[n++] = cg_mul_scalar(cg_linspace(0, 1e9, 40, CG_REQUIRES_GRAD), 3);
    ts[n++] = cg_transpose(cg_view(cg_arange(0, 24, 1, CG_INT64), CG_SHAPE(2, 3, 4)), 0, 2);
    return n;
}

/* ------------------------------------------------------------- writing */

/* Writes one tensor's line for the oracle: dtype, shape, flags, values in
 * logical order (exact: hex floats, decimal int64). */
static void write_tensor(FILE *f, cg_tensor *t) {
    cg_dtype dt = cg_dtype_of(t);
    int ndim = cg_ndim(t);
    const int64_t *shape = cg_shape(t), *strides = cg_strides(t);
    cg_node *fn = cg_grad_fn(t);
    fprintf(f, "%s %d", kind_name(dt), ndim);
    for (int d = 0; d < ndim; d++) fprintf(f, " %" PRId64, shape[d]);
    fprintf(f, " %d %s", cg_requires_grad(t) && !fn, fn ? cg_node_name(fn) : "-");
    const char *base = cg_data_ptr(t);
    size_t es = cg_dtype_size(dt);
    int64_t idx[CG_MAX_DIMS] = {0};
    for (int64_t i = 0, n = cg_numel(t); i < n; i++) {
        int64_t off = 0;
        for (int d = 0; d < ndim; d++) off += idx[d] * strides[d];
        const char *p = base + off * (int64_t)es;
        double v = 0;
        switch (dt) {
        case CG_FLOAT32: v = *(const float *)p; break;
        case CG_FLOAT64: v = *(const double *)p; break;
        case CG_INT64: fprintf(f, " %" PRId64, *(const int64_t *)p); break;
        case CG_BOOL: fprintf(f, " %d", *(const bool *)p ? 1 : 0); break;
        }
        if (dt == CG_FLOAT32 || dt == CG_FLOAT64) {
            if (isnan(v))
                fprintf(f, " nan");
            else if (isinf(v))
                fprintf(f, v > 0 ? " inf" : " -inf");
            else
                fprintf(f, " %a", v);
        }
        for (int d = ndim - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
    }
    fprintf(f, "\n");
}

/* Reads one "<length>\n<bytes>\n" record; malloc'ed, NULL at the end. */
static char *read_record(FILE *f) {
    size_t len;
    if (fscanf(f, "%zu", &len) != 1 || fgetc(f) != '\n') return NULL;
    char *s = malloc(len + 1);
    if (!s) return NULL;
    if (fread(s, 1, len, f) != len || fgetc(f) != '\n') {
        free(s);
        return NULL;
    }
    s[len] = '\0';
    return s;
}

/* ----------------------------------------------------------------- tests */

TEST(test_print_vs_torch) {
    static cg_tensor *ts[MAX_TENSORS];
    static char *mine[MAX_TENSORS];
    cg_manual_seed(1234);
    int n = fixed_tensors(ts);
    for (int i = 0; i < n; i++) ASSERT_NOT_NULL(ts[i]);
    while (n < 700) {
        ts[n] = random_tensor();
        ASSERT_NOT_NULL(ts[n]);
        n++;
    }
    for (int i = 0; i < 40; i++) { /* the library's own generators */
        int64_t shape[CG_MAX_DIMS];
        int ndim = random_shape(shape);
        ts[n++] = chance(0.5) ? cg_randn(ndim, shape, 0) : cg_rand(ndim, shape, CG_FLOAT64);
        ASSERT_NOT_NULL(ts[n - 1]);
    }

    char in[512], out[512], cmd[2048];
    ASSERT_EQ(cg_test_temp_path(in, sizeof in, "print_in"), 0);
    ASSERT_EQ(cg_test_temp_path(out, sizeof out, "print_out"), 0);
    FILE *f = fopen(in, "w");
    ASSERT_NOT_NULL(f);
    for (int i = 0; i < n; i++) write_tensor(f, ts[i]);
    fclose(f);
    snprintf(cmd, sizeof cmd, "\"%s\" \"%s/tests/oracle/print_oracle.py\" \"%s\" \"%s\"", CG_PYTHON,
             CG_SOURCE_DIR, in, out);
    int rc = system(cmd);
    if (rc != 0) {
        FAIL_("the oracle failed (exit status %d): `%s`. It needs PyTorch importable by %s; "
              "this test does not skip without it.",
              rc, cmd, CG_PYTHON);
        remove(in);
        remove(out);
        return;
    }

    f = fopen(out, "rb");
    ASSERT_NOT_NULL(f);
    int compared = 0, mismatches = 0;
    for (int i = 0; i < n; i++) {
        char *theirs = read_record(f);
        if (!theirs) {
            FAIL_("oracle output ends after %d of %d tensors", i, n);
            break;
        }
        mine[i] = cg_to_string(ts[i]);
        compared++;
        if (!mine[i] || strcmp(mine[i], theirs) != 0) {
            if (++mismatches <= 8)
                fprintf(stderr,
                        "  tensor %d (%s, ndim %d, numel %" PRId64
                        "):\n  cgrad:\n%s\n  torch:\n%s\n",
                        i, kind_name(cg_dtype_of(ts[i])), cg_ndim(ts[i]), cg_numel(ts[i]),
                        mine[i] ? mine[i] : "(null)", theirs);
        }
        free(mine[i]);
        free(theirs);
    }
    fclose(f);
    printf("  print: %d tensors compared with torch, %d mismatches\n", compared, mismatches);
    if (mismatches == 0 && compared == n) {
        remove(in);
        remove(out);
    } else {
        fprintf(stderr, "  oracle input kept in %s, output in %s\n", in, out);
    }
    ASSERT_EQ(compared, n);
    ASSERT_EQ(mismatches, 0);
}

/* A few reprs spelled out, so that the basics hold without the oracle. */
TEST(test_print_known) {
    struct {
        cg_tensor *t;
        const char *repr;
    } cases[16];
    int n = 0;
    static const bool b2[] = {true, false};
    static const float big[] = {1e10f}, tiny[] = {1e-5f};
    cases[n].t = cg_scalar(27, 0), cases[n++].repr = "tensor(27.)";
    cases[n].t = cg_scalar(1, CG_BOOL), cases[n++].repr = "tensor(True)";
    cases[n].t = cg_from_data(b2, CG_SHAPE(2), CG_BOOL), cases[n++].repr = "tensor([ True, False])";
    cases[n].t = cg_zeros(CG_SHAPE(0), 0), cases[n++].repr = "tensor([])";
    cases[n].t = cg_zeros(CG_SHAPE(2, 0), 0), cases[n++].repr = "tensor([], size=(2, 0))";
    cases[n].t = cg_zeros(CG_SHAPE(0), CG_INT64), cases[n++].repr = "tensor([], dtype=torch.int64)";
    cases[n].t = cg_from_data(big, CG_SHAPE(1), 0), cases[n++].repr = "tensor([1.0000e+10])";
    cases[n].t = cg_from_data(tiny, CG_SHAPE(1), 0), cases[n++].repr = "tensor([1.0000e-05])";
    cases[n].t = cg_ones(CG_SHAPE(2), CG_FLOAT64),
    cases[n++].repr = "tensor([1., 1.], dtype=torch.float64)";
    cases[n].t = cg_full(CG_SHAPE(2, 2), 4.5, 0),
    cases[n++].repr = "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])";
    cases[n].t = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD),
    cases[n++].repr = "tensor([1., 1.], requires_grad=True)";
    cases[n].t = cg_add_scalar(cg_ones(CG_SHAPE(1), CG_REQUIRES_GRAD), 2),
    cases[n++].repr = "tensor([3.], grad_fn=<AddBackward0>)";
    for (int i = 0; i < n; i++) {
        ASSERT_NOT_NULL(cases[i].t);
        char *s = cg_to_string(cases[i].t);
        bool ok = s && strcmp(s, cases[i].repr) == 0;
        if (!ok)
            FAIL_("repr %d:\n    got:      \"%s\"\n    expected: \"%s\"", i, s ? s : "(null)",
                  cases[i].repr);
        free(s);
        if (!ok) return;
    }
}

TEST(test_print_fprint_and_errors) {
    cg_tensor *t = cg_scalar(27, 0);
    FILE *f = tmpfile();
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(cg_fprint(f, t), 0);
    rewind(f);
    char buf[64] = {0};
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    ASSERT_EQ(got, strlen("tensor(27.)\n"));
    ASSERT_STR_EQ(buf, "tensor(27.)\n");

    /* NULL in, NULL (or -1) out, and the first error message stays */
    cg_clear_error();
    ASSERT_NULL(cg_mm(t, t));
    const char *first = "both arguments to matmul need to be at least 1D, but they are 0D and 0D";
    ASSERT_NULL(cg_matmul(t, t));
    ASSERT_STR_EQ(cg_last_error(), first);
    ASSERT_NULL(cg_to_string(NULL));
    ASSERT_EQ(cg_print(NULL), -1);
    ASSERT_EQ(cg_fprint(stdout, NULL), -1);
    ASSERT_STR_EQ(cg_last_error(), first);
    cg_clear_error();
}

TEST(test_node_repr) {
    char *s = cg_node_repr(NULL);
    ASSERT_STR_EQ(s, "None");
    free(s);

    cg_tensor *y = cg_add_scalar(cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD), 2);
    ASSERT_NOT_NULL(y);
    s = cg_node_repr(cg_grad_fn(y));
    ASSERT_NOT_NULL(s);
    const char *pre = "<AddBackward0 object at 0x";
    bool ok = strncmp(s, pre, strlen(pre)) == 0 && s[strlen(s) - 1] == '>';
    for (const char *p = s + strlen(pre); ok && p[1]; p++) /* lowercase hex digits */
        ok = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f');
    ok = ok && strlen(s) > strlen(pre) + 1;
    if (!ok) FAIL_("cg_node_repr gave \"%s\"", s);
    free(s);
    ASSERT(ok);

    /* AccumulateGrad prints without its C++ namespace, as in Python */
    int nr = -1;
    cg_node *acc = cg_node_next(cg_grad_fn(y), 0, &nr);
    ASSERT_NOT_NULL(acc);
    s = cg_node_repr(acc);
    ok = s && strncmp(s, "<AccumulateGrad object at 0x", 28) == 0;
    if (!ok) FAIL_("cg_node_repr gave \"%s\"", s ? s : "(null)");
    free(s);
    ASSERT(ok);
    ASSERT_EQ(cg_node_print(NULL), 0);
}

TEST_MAIN(test_print_known, test_print_fprint_and_errors, test_node_repr, test_print_vs_torch)
