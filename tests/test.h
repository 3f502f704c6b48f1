/* A small test framework in the spirit of libuv's: ASSERT_* print both
 * operands on failure (the typed asserts below). Each test file defines TESTS with TEST(name)
 * bodies and ends with TEST_MAIN(test_a, test_b, ...). Every test runs in its own scope and must
 * leave the live-tensor and live-node counts where they began (checked after the test). Output ends
 * with "N passed, N failed". */
#ifndef CG_TEST_H
#define CG_TEST_H

#include "cgrad.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int cg_test_failed_;

#define TEST(name) static void name(void)

#define FAIL_(...)                                                                                 \
    do {                                                                                           \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                                          \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        cg_test_failed_ = 1;                                                                       \
    } while (0)

#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            FAIL_("ASSERT(%s) failed (last error: %s)", #cond,                                     \
                  cg_last_error() ? cg_last_error() : "none");                                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Typed asserts, as libuv's task.h has them: each prints file:line, the
 * expressions and both values.
 *   numbers     ASSERT_EQ ASSERT_NE ASSERT_LT ASSERT_LE ASSERT_GT ASSERT_GE:
 *               integers compared as int64_t, and exactly as doubles when
 *               either is floating (a pointer does not compile)
 *   pointers    ASSERT_PTR_EQ ASSERT_PTR_NE ASSERT_NULL ASSERT_NOT_NULL
 *   tolerance   ASSERT_NEAR(a, b, tol): |a - b| <= tol, or both NaN
 *   strings     ASSERT_STR_EQ: neither NULL, the same bytes */
#define CG_TEST_IS_INT_(x)                                                                         \
    _Generic((x), _Bool : 1, char : 1, signed char : 1, unsigned char : 1, short : 1,              \
             unsigned short : 1, int : 1, unsigned : 1, long : 1, unsigned long : 1,               \
             long long : 1, unsigned long long : 1, default : 0)
#define CG_TEST_IS_REAL_(x) _Generic((x), float : 1, double : 1, default : 0)

#define ASSERT_CMP_(name, a, op, b, sa, sb)                                                        \
    do {                                                                                           \
        _Static_assert((CG_TEST_IS_INT_(a) || CG_TEST_IS_REAL_(a)) &&                              \
                           (CG_TEST_IS_INT_(b) || CG_TEST_IS_REAL_(b)),                            \
                       name " compares numbers");                                                  \
        if (CG_TEST_IS_INT_(a) && CG_TEST_IS_INT_(b)) {                                            \
            int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                                          \
            if (!(a_ op b_)) {                                                                     \
                FAIL_("%s(%s, %s): %" PRId64 " %s %" PRId64 " is false", name, sa, sb, a_, #op,    \
                      b_);                                                                         \
                return;                                                                            \
            }                                                                                      \
        } else {                                                                                   \
            double a_ = (double)(a), b_ = (double)(b);                                             \
            if (!(a_ op b_)) {                                                                     \
                FAIL_("%s(%s, %s): %.17g %s %.17g is false", name, sa, sb, a_, #op, b_);           \
                return;                                                                            \
            }                                                                                      \
        }                                                                                          \
    } while (0)

#define ASSERT_EQ(a, b) ASSERT_CMP_("ASSERT_EQ", a, ==, b, #a, #b)
#define ASSERT_NE(a, b) ASSERT_CMP_("ASSERT_NE", a, !=, b, #a, #b)
#define ASSERT_LT(a, b) ASSERT_CMP_("ASSERT_LT", a, <, b, #a, #b)
#define ASSERT_LE(a, b) ASSERT_CMP_("ASSERT_LE", a, <=, b, #a, #b)
#define ASSERT_GT(a, b) ASSERT_CMP_("ASSERT_GT", a, >, b, #a, #b)
#define ASSERT_GE(a, b) ASSERT_CMP_("ASSERT_GE", a, >=, b, #a, #b)

#define ASSERT_PTR_(name, a, op, b, sa, sb)                                                        \
    do {                                                                                           \
        const void *a_ = (const void *)(a), *b_ = (const void *)(b);                               \
        if (!(a_ op b_)) {                                                                         \
            FAIL_("%s(%s, %s): %p %s %p is false", name, sa, sb, a_, #op, b_);                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define ASSERT_PTR_EQ(a, b) ASSERT_PTR_("ASSERT_PTR_EQ", a, ==, b, #a, #b)
#define ASSERT_PTR_NE(a, b) ASSERT_PTR_("ASSERT_PTR_NE", a, !=, b, #a, #b)

/* both print the last error: a NULL from cgrad comes with one */
#define ASSERT_NULL(a)                                                                             \
    do {                                                                                           \
        const void *a_ = (const void *)(a);                                                        \
        if (a_ != NULL) {                                                                          \
            FAIL_("ASSERT_NULL(%s): %p (last error: %s)", #a, a_,                                  \
                  cg_last_error() ? cg_last_error() : "none");                                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define ASSERT_NOT_NULL(a)                                                                         \
    do {                                                                                           \
        if ((const void *)(a) == NULL) {                                                           \
            FAIL_("ASSERT_NOT_NULL(%s): NULL (last error: %s)", #a,                                \
                  cg_last_error() ? cg_last_error() : "none");                                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define ASSERT_NEAR(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);                             \
        if (!(fabs(a_ - b_) <= t_) && !(isnan(a_) && isnan(b_))) {                                 \
            FAIL_("ASSERT_NEAR(%s, %s): %.9g vs %.9g (tol %g)", #a, #b, a_, b_, t_);               \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                                        \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            FAIL_("ASSERT_STR_EQ(%s, %s):\n    got:      \"%s\"\n    expected: \"%s\"", #a, #b,    \
                  a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                         \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* The call must fail (return NULL / -1) with exactly this message. */
#define ASSERT_ERROR(expr, msg)                                                                    \
    do {                                                                                           \
        cg_clear_error();                                                                          \
        (void)(expr);                                                                              \
        ASSERT_STR_EQ(cg_last_error(), msg);                                                       \
        cg_clear_error();                                                                          \
    } while (0)

typedef struct {
    const char *name;
    void (*fn)(void);
} cg_test_case_;

int cg_test_run_(const cg_test_case_ *cases, int n, int argc, char **argv);

/* Runs CG_PYTHON tests/oracle/SCRIPT IN OUT with `in` saved as IN
 * (safetensors) and returns OUT loaded, or NULL after reporting a failure
 * (the oracle needs PyTorch). Free the result with cg_state_dict_free. */
cg_state_dict *cg_test_oracle(const char *script, const cg_state_dict *in);
/* A new empty temporary file named after name (in $TMPDIR or /tmp); 0 or -1. */
int cg_test_temp_path(char *path, size_t n, const char *name);
/* Writes n bytes to path; 0 or -1. */
int cg_test_write_file(const char *path, const void *data, size_t n);
/* The running test program's path into path (n bytes); 0 or -1. */
int cg_test_self_path(char *path, size_t n);
/* The path of examples/NAME, built beside the test programs; 0 or -1. */
int cg_test_example_path(char *path, size_t n, const char *name);
/* Runs cmd with sh and reads all it writes on stdout; when out is given, the
 * first n - 1 bytes of it, NUL-terminated. Its exit status, or -1 when it
 * could not start or did not exit (a signal). */
int cg_test_run(const char *cmd, char *out, size_t n);

/* TEST_MAIN(a, b, c): up to 64 tests per file. */
#define TEST_MAIN(...)                                                                             \
    int cg_test_failed_;                                                                           \
    static void (*const cg_test_fns_[])(void) = {__VA_ARGS__};                                     \
    static const char cg_test_names_[] = #__VA_ARGS__;                                             \
    int main(int argc, char **argv) {                                                              \
        enum { N = sizeof cg_test_fns_ / sizeof cg_test_fns_[0] };                                 \
        cg_test_case_ cases[N];                                                                    \
        static char names[sizeof cg_test_names_];                                                  \
        memcpy(names, cg_test_names_, sizeof names);                                               \
        char *p = names;                                                                           \
        for (int i = 0; i < N; i++) {                                                              \
            while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t') p++;                        \
            cases[i].name = p;                                                                     \
            cases[i].fn = cg_test_fns_[i];                                                         \
            while (*p && *p != ',') p++;                                                           \
            char *e = p;                                                                           \
            while (e > cases[i].name && (e[-1] == ' ' || e[-1] == '\n')) e--;                      \
            if (*p) p++;                                                                           \
            *e = '\0';                                                                             \
        }                                                                                          \
        return cg_test_run_(cases, N, argc, argv);                                                 \
    }

#endif
