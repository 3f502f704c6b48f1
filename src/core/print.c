/* Printing: repr(tensor) exactly as PyTorch 1.13's torch/_tensor_str.py
 * writes it with the default print options, and repr() of backward nodes. */
#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

/* PyTorch's default print options. */
enum { PRECISION = 4, THRESHOLD = 1000, EDGEITEMS = 3, LINEWIDTH = 80 };

/* ------------------------------------------------------- growable string */

typedef struct {
    char *s;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_spaces(sbuf *b, int n) {
    for (; n > 0; n--) sb_add(b, " ", 1);
}

/* ------------------------------------------------------------- formatter */

/* PyTorch's _Formatter: one format (and one width) for every element shown. */
typedef struct {
    const cg_tensor *t;
    bool summarize; /* numel > threshold: show edgeitems per dim around "..." */
    bool int_mode;  /* floats: every nonzero finite value is integral */
    bool sci_mode;
    int width;
    /* statistics over the nonzero finite values shown */
    int64_t count;
    double min_abs, max_abs;
} printer;

static double read_float(const cg_tensor *t, int64_t off) {
    const char *p = (const char *)t->storage->data;
    return t->dtype == CG_FLOAT32 ? (double)((const float *)p)[off] : ((const double *)p)[off];
}

/* One element (at a storage offset), unpadded, as Python formats it. */
static int format_elem(const printer *p, int64_t off, char *out, size_t n) {
    const cg_tensor *t = p->t;
    const char *data = (const char *)t->storage->data;
    if (t->dtype == CG_INT64) return snprintf(out, n, "%" PRId64, ((const int64_t *)data)[off]);
    if (t->dtype == CG_BOOL)
        return snprintf(out, n, "%s", ((const bool *)data)[off] ? "True" : "False");
    double v = read_float(t, off);
    if (isnan(v)) return snprintf(out, n, "nan"); /* Python drops the sign of nan; printf may not */
    if (isinf(v)) return snprintf(out, n, v > 0 ? "inf" : "-inf");
    if (p->sci_mode) return snprintf(out, n, "%.*e", PRECISION, v);
    if (p->int_mode) return snprintf(out, n, "%.0f.", v); /* the "." marks a float */
    return snprintf(out, n, "%.*f", PRECISION, v);
}

/* Pass 0 gathers statistics over the nonzero finite floats; pass 1 measures
 * widths (floats: nonzero finite values only; int64/bool: every value). */
static void visit(printer *p, int64_t off, int pass) {
    bool floating = cg_dtype_is_floating(p->t->dtype);
    if (floating) {
        double v = read_float(p->t, off);
        if (!isfinite(v) || v == 0) return;
        if (pass == 0) {
            double a = fabs(v);
            if (p->count == 0 || a < p->min_abs) p->min_abs = a;
            if (p->count == 0 || a > p->max_abs) p->max_abs = a;
            if (v != ceil(v)) p->int_mode = false;
            p->count++;
            return;
        }
    } else if (pass == 0) {
        return;
    }
    char buf[64];
    int w = format_elem(p, off, buf, sizeof buf);
    if (w > p->width) p->width = w;
}

/* Visits the elements shown, in order: with summarize, a dim longer than
 * 2 * edgeitems shows only its first and last edgeitems entries. */
static void scan(printer *p, int d, int64_t off, int pass) {
    const cg_tensor *t = p->t;
    if (d == t->ndim) {
        visit(p, off, pass);
        return;
    }
    int64_t n = t->shape[d];
    for (int64_t i = 0; i < n; i++) {
        if (p->summarize && n > 2 * EDGEITEMS && i == EDGEITEMS) i = n - EDGEITEMS;
        scan(p, d + 1, off + i * t->strides[d], pass);
    }
}

static void analyze(printer *p) {
    p->int_mode = true;
    p->sci_mode = false;
    p->width = 1;
    if (cg_dtype_is_floating(p->t->dtype)) {
        scan(p, 0, p->t->offset, 0);
        if (p->count == 0) return; /* only zeros / nan / inf: width 1, "0." */
        double ratio = p->max_abs / p->min_abs;
        /* integral floats switch to sci for a wide range or > 1e8; others also
         * for a smallest magnitude below 1e-4 */
        p->sci_mode = ratio > 1000.0 || p->max_abs > 1.0e8 || (!p->int_mode && p->min_abs < 1.0e-4);
    }
    scan(p, 0, p->t->offset, 1);
}

/* ------------------------------------------------------------- rendering */

static void put_elem(const printer *p, sbuf *b, int64_t off) {
    char buf[64];
    int w = format_elem(p, off, buf, sizeof buf);
    sb_spaces(b, p->width - w); /* right-aligned to the common width */
    sb_str(b, buf);
}

/* The dims from d on, at a storage offset; indent is the column of "[". */
static void render(const printer *p, sbuf *b, int d, int64_t off, int indent) {
    const cg_tensor *t = p->t;
    if (d == t->ndim) { /* 0-d */
        put_elem(p, b, off);
        return;
    }
    int64_t n = t->shape[d];
    bool cut = p->summarize && n > 2 * EDGEITEMS;
    bool last = d == t->ndim - 1;
    /* a row wraps after floor((linewidth - indent) / (width + 2)) items */
    int per_line = (LINEWIDTH - indent) / (p->width + 2);
    if (per_line < 1) per_line = 1;
    int64_t k = 0; /* items written, "..." included */
    sb_str(b, "[");
    for (int64_t i = 0; i < n; i++, k++) {
        if (k > 0 && !last) { /* sub-tensors: "," and (their ndim - 1) newlines */
            sb_str(b, ",");
            for (int j = 0; j < t->ndim - d - 1; j++) sb_str(b, "\n");
            sb_spaces(b, indent + 1);
        } else if (k > 0) { /* row items: ", ", or a new line every per_line */
            sb_str(b, k % per_line ? ", " : ",\n");
            if (!(k % per_line)) sb_spaces(b, indent + 1);
        }
        if (cut && i == EDGEITEMS) { /* the elision counts as an item */
            sb_str(b, last ? " ..." : "...");
            i = n - EDGEITEMS - 1;
        } else if (last) {
            put_elem(p, b, off + i * t->strides[d]);
        } else {
            render(p, b, d + 1, off + i * t->strides[d], indent + 1);
        }
    }
    sb_str(b, "]");
}

/* Strips a C++ namespace: "torch::autograd::AccumulateGrad" -> "AccumulateGrad". */
static const char *short_name(const cg_node *n) {
    const char *name = cg_node_name(n), *s = name;
    for (const char *q = name; (q = strstr(q, "::")) != NULL; q += 2) s = q + 2;
    return s;
}

char *cg_to_string(const cg_tensor *t) {
    if (!t) return NULL;  /* NULL in, NULL out: the first error stays */
    const int indent = 7; /* strlen("tensor(") */
    char suffix[3][512];
    int nsuf = 0;
    sbuf b = {0};
    sb_str(&b, "tensor(");
    if (cg__numel(t->ndim, t->shape) == 0) {
        sb_str(&b, "[]");
        if (t->ndim != 1) { /* the shape, as a Python tuple, unless it is (0,) */
            int len = snprintf(suffix[nsuf], sizeof suffix[0], "size=(");
            for (int d = 0; d < t->ndim; d++)
                len += snprintf(suffix[nsuf] + len, sizeof suffix[0] - (size_t)len, "%s%" PRId64,
                                d ? ", " : "", t->shape[d]);
            snprintf(suffix[nsuf] + len, sizeof suffix[0] - (size_t)len, ")");
            nsuf++;
        }
        /* with no values to tell int64 or bool apart, only float32 omits it */
        if (t->dtype != CG_FLOAT32)
            snprintf(suffix[nsuf++], sizeof suffix[0], "dtype=%s", cg_dtype_name(t->dtype));
    } else {
        /* float32 (the default), int64 and bool print no dtype */
        if (t->dtype == CG_FLOAT64)
            snprintf(suffix[nsuf++], sizeof suffix[0], "dtype=%s", cg_dtype_name(t->dtype));
        printer p = {.t = t, .summarize = cg__numel(t->ndim, t->shape) > THRESHOLD};
        analyze(&p);
        render(&p, &b, 0, t->offset, indent);
    }
    if (t->grad_fn)
        snprintf(suffix[nsuf++], sizeof suffix[0], "grad_fn=<%s>", short_name(t->grad_fn));
    else if (t->requires_grad)
        snprintf(suffix[nsuf++], sizeof suffix[0], "requires_grad=True");
    /* suffixes go on a new line (indented) when the current one would pass
     * the line width; PyTorch's measure counts 2 extra on the first line */
    if (b.oom) goto oom;
    const char *nl = strrchr(b.s, '\n');
    size_t last_len = nl ? b.len - (size_t)(nl - b.s) + 1 : b.len + 2;
    for (int i = 0; i < nsuf; i++) {
        size_t sl = strlen(suffix[i]);
        if (last_len + sl + 2 > LINEWIDTH) {
            sb_str(&b, ",\n");
            sb_spaces(&b, indent);
            last_len = (size_t)indent + sl;
        } else {
            sb_str(&b, ", ");
            last_len += sl + 2;
        }
        sb_str(&b, suffix[i]);
    }
    sb_str(&b, ")");
    if (b.oom) goto oom;
    return b.s;
oom:
    free(b.s);
    return cg__oom("cg_to_string");
}

int cg_fprint(FILE *f, const cg_tensor *t) {
    if (!f) {
        cg__error("cg_fprint", "expected a FILE, got NULL");
        return -1;
    }
    char *s = cg_to_string(t);
    if (!s) return -1;
    int rc = fprintf(f, "%s\n", s) < 0 ? -1 : 0;
    free(s);
    if (rc) cg__error("cg_fprint", "failed to write the tensor");
    return rc;
}

int cg_print(const cg_tensor *t) { return cg_fprint(stdout, t); }

char *cg_node_repr(const cg_node *n) {
    const char *name = n ? short_name(n) : "None";
    size_t cap = strlen(name) + 64;
    char *s = malloc(cap);
    if (!s) return cg__oom("cg_node_repr");
    if (n) /* Python's "<%s object at %p>" */
        snprintf(s, cap, "<%s object at 0x%" PRIxPTR ">", name, (uintptr_t)n);
    else
        snprintf(s, cap, "%s", name);
    return s;
}

int cg_node_print(const cg_node *n) {
    char *s = cg_node_repr(n);
    if (!s) return -1;
    int rc = printf("%s\n", s) < 0 ? -1 : 0;
    free(s);
    if (rc) cg__error("cg_node_print", "failed to write the node");
    return rc;
}
