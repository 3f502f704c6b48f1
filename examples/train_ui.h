/* What the training examples share (chargpt.c, gpt2.c): flag parsing with
 * limits, the clock, SIGINT/SIGTERM as a request to stop after the current
 * step, the progress line (step, train loss, val loss, tokens/s, ETA) and
 * the loss curve as SVG. Define TRAIN_UI_NAME (the program's name, used in
 * messages) before including it. */
#ifndef CG_EXAMPLES_TRAIN_UI_H
#define CG_EXAMPLES_TRAIN_UI_H

#include <cgrad.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef TRAIN_UI_NAME
#error "define TRAIN_UI_NAME before including train_ui.h"
#endif

static inline int bad(const char *flag, const char *value, const char *want) {
    fprintf(stderr, TRAIN_UI_NAME ": %s %s: expected %s (see " TRAIN_UI_NAME " --help)\n", flag,
            value ? value : "(missing)", want);
    return -1;
}

/* the limits of a flag, and of the checkpoint field it becomes */
typedef struct {
    int64_t lo, hi;
} range;
/* v as an integer in r (the whole of a non-empty v, no overflow); 0 or -1 */
static inline int to_int(const char *v, range r, int64_t *out) {
    char *end;
    errno = 0;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || errno || *end || end == v || x < r.lo || x > r.hi) return -1;
    *out = x;
    return 0;
}

static inline int to_double(const char *v, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double x = v ? strtod(v, &end) : 0;
    if (!v || errno || *end || end == v || !(x >= lo && x <= hi)) return -1;
    *out = x;
    return 0;
}

static inline int parse_int(const char *flag, const char *v, range r, int64_t *out) {
    if (to_int(v, r, out) == 0) return 0;
    char want[96];
    snprintf(want, sizeof want, "an integer in [%" PRId64 ", %" PRId64 "]", r.lo, r.hi);
    return bad(flag, v, want);
}

static inline int parse_double(const char *flag, const char *v, double lo, double hi, double *out) {
    if (to_double(v, lo, hi, out) == 0) return 0;
    char want[96];
    snprintf(want, sizeof want, "a number in [%g, %g]", lo, hi);
    return bad(flag, v, want);
}

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* the SIGINT or SIGTERM received (0: none): training stops after its step */
static volatile sig_atomic_t stop_signal;

static inline void on_signal(int sig) { stop_signal = sig; }

static inline void catch_signals(void) {
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static inline void fmt_time(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 359999) s = 0;
    int t = (int)(s + 0.5);
    snprintf(buf, n, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
}

/* what the progress line shows */
typedef struct {
    int64_t step, total;
    int world; /* ranks (tok_s counts them all) */
    double loss, val, tok_s, eta;
    bool has_val; /* val was estimated ("-" until then) */
    bool force;   /* print it even when not on a terminal */
} progress_line;

/* a loss as text, NaN as "nan" whatever its sign */
static inline void fmt_loss(char *buf, size_t n, double x) {
    if (isnan(x))
        snprintf(buf, n, "nan");
    else
        snprintf(buf, n, "%.4f", x);
}

/* the progress line: on a terminal it redraws itself, elsewhere it is
 * printed every so often */
static inline void progress(bool tty, const progress_line *pl) {
    char e[32], v[32] = "  -   ", l[32];
    int64_t step = pl->step, total = pl->total;
    fmt_time(e, sizeof e, pl->eta);
    fmt_loss(l, sizeof l, pl->loss);
    if (pl->has_val) fmt_loss(v, sizeof v, pl->val);
    int width = 24, done = total ? (int)((double)step * width / (double)total) : width;
    char bar[64], ranks[32] = "";
    if (pl->world > 1) snprintf(ranks, sizeof ranks, " on %d ranks", pl->world);
    for (int i = 0; i < width; i++) bar[i] = i < done ? '#' : i == done ? '>' : '.';
    bar[width] = '\0';
    if (tty) {
        printf("\rstep %6" PRId64 "/%-6" PRId64 " [%s] loss %s | val %s | %6.0f tok/s%s | ETA %s ",
               step, total, bar, l, v, pl->tok_s, ranks, e);
        fflush(stdout);
    } else if (pl->force) {
        printf("step %6" PRId64 "/%-6" PRId64 " [%s] loss %s | val %s | %6.0f tok/s%s | ETA %s\n",
               step, total, bar, l, v, pl->tok_s, ranks, e);
        fflush(stdout);
    }
}
/* the losses of a run's n steps: train[i] of its step i (from 0), and val[k]
 * estimated after its step val_at[k] */
typedef struct {
    double *train, *val, *val_at;
    int64_t n;
    int nval;
} losses;

/* ------------------------------------------------------------ loss curve */

/* the plot's frame: pixels, the steps and losses it spans */
typedef struct {
    double W, H, L, R, T, B; /* size and margins */
    double lo, hi;           /* the y axis's range of losses */
    int64_t step0, n;        /* x spans steps step0 + 1 .. step0 + n */
} plot;

static inline double px(const plot *p, double i) { /* i: the run's step, from 0 */
    return p->L + i * (p->W - p->L - p->R) / (double)(p->n > 1 ? p->n - 1 : 1);
}

static inline double py(const plot *p, double v) {
    return p->H - p->B - (v - p->lo) * (p->H - p->T - p->B) / (p->hi - p->lo);
}

/* a round tick spacing (1, 2 or 5 times a power of ten) for at most about
 * max ticks over span */
static inline double tick_spacing(double span, int max) {
    double raw = span / max, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/* the y range: the losses' own, widened to round ticks */
static inline void y_range(plot *p, const losses *c) {
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < c->n; i++)
        if (isfinite(c->train[i])) lo = fmin(lo, c->train[i]), hi = fmax(hi, c->train[i]);
    for (int i = 0; i < c->nval; i++)
        if (isfinite(c->val[i])) lo = fmin(lo, c->val[i]), hi = fmax(hi, c->val[i]);
    if (!(hi > lo)) lo = isfinite(lo) ? lo - 0.5 : 0, hi = lo + 1;
    double dy = tick_spacing(hi - lo, 6);
    p->lo = floor(lo / dy) * dy, p->hi = ceil(hi / dy) * dy;
}

/* the grid, the y axis's loss labels and the x axis's step ticks */
static inline void svg_axes(FILE *f, const plot *p) {
    double dy = tick_spacing(p->hi - p->lo, 6);
    for (double v = p->lo; v <= p->hi + dy / 2; v += dy) {
        double y = py(p, v), label = fabs(v) < dy / 2 ? 0 : v;
        fprintf(f,
                "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                p->L, y, p->W - p->R, y, p->L - 6, y + 4, label);
    }
    double yb = p->H - p->B, dx = fmax(1, tick_spacing((double)p->n, 8));
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#444\"/>\n", p->L, yb,
            p->W - p->R, yb);
    for (double s = ceil((double)(p->step0 + 1) / dx) * dx; s <= (double)(p->step0 + p->n);
         s += dx) {
        double x = px(p, s - (double)p->step0 - 1);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#444\"/>\n"
                "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%.0f</text>\n",
                x, yb, x, yb + 5, x, yb + 18, s);
    }
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">step</text>\n",
            (p->L + p->W - p->R) / 2, p->H - 10);
}

/* the loss curve: the train loss of each step (light), its trailing mean over
 * the last `window` steps, and the val estimates as points */
static inline int write_svg(const char *path, const losses *c, int64_t step0) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    plot p = {.W = 720, .H = 400, .L = 60, .R = 20, .T = 40, .B = 50, .step0 = step0, .n = c->n};
    y_range(&p, c);
    int64_t window = c->n / 50 > 10 ? c->n / 50 : c->n < 10 ? c->n : 10;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
            "fill=\"white\"/>\n",
            p.W, p.H);
    fprintf(f, "<text x=\"%g\" y=\"18\" font-size=\"14\">" TRAIN_UI_NAME ": loss per step</text>\n",
            p.L);
    svg_axes(f, &p);
    fprintf(f, "<polyline fill=\"none\" stroke=\"#9ecae1\" stroke-width=\"1\" points=\"");
    for (int64_t i = 0; i < c->n; i++)
        if (isfinite(c->train[i])) fprintf(f, "%.1f,%.1f ", px(&p, (double)i), py(&p, c->train[i]));
    fprintf(f, "\"/>\n");
    for (int64_t i = 0; i < c->n && c->n <= 200; i++) /* few enough to show as points too */
        if (isfinite(c->train[i]))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.5\" fill=\"#6baed6\"/>\n",
                    px(&p, (double)i), py(&p, c->train[i]));
    fprintf(f, "<polyline fill=\"none\" stroke=\"#08519c\" stroke-width=\"2\" points=\"");
    double sum = 0; /* of the finite losses among the last `window` */
    int64_t k = 0;  /* their count */
    for (int64_t i = 0; i < c->n; i++) {
        if (isfinite(c->train[i])) sum += c->train[i], k++;
        if (i >= window && isfinite(c->train[i - window])) sum -= c->train[i - window], k--;
        if (k) fprintf(f, "%.1f,%.1f ", px(&p, (double)i), py(&p, sum / (double)k));
    }
    fprintf(f, "\"/>\n");
    for (int i = 0; i < c->nval; i++)
        if (isfinite(c->val[i]))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#e6550d\"/>\n",
                    px(&p, c->val_at[i]), py(&p, c->val[i]));
    double x = p.W - p.R - 330; /* the legend */
    fprintf(
        f,
        "<line x1=\"%g\" y1=\"14\" x2=\"%g\" y2=\"14\" stroke=\"#9ecae1\"/>\n"
        "<text x=\"%g\" y=\"18\">train</text>\n"
        "<line x1=\"%g\" y1=\"14\" x2=\"%g\" y2=\"14\" stroke=\"#08519c\" stroke-width=\"2\"/>\n"
        "<text x=\"%g\" y=\"18\">mean of the last %" PRId64 " steps</text>\n"
        "<circle cx=\"%g\" cy=\"14\" r=\"4\" fill=\"#e6550d\"/>\n"
        "<text x=\"%g\" y=\"18\">val</text>\n</svg>\n",
        x, x + 20, x + 25, x + 70, x + 90, x + 95, window, x + 265, x + 275);
    return fclose(f) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ checkpoints */

/* AdamW's state of parameter NAME is saved as OPTIM_STATE[which].NAME
 * (which as in cg_optimizer_state) */
static const char *OPTIM_STATE[] = {"optim.exp_avg", "optim.exp_avg_sq"};

/* p's weights under their names and opt's state beside them, into d */
static inline int ckpt_add_state(cg_state_dict *d, cg_params *p, cg_optimizer *opt) {
    char key[512];
    int rc = d ? 0 : -1;
    for (int i = 0; i < cg_params_count(p) && rc == 0; i++) {
        const char *name;
        cg_tensor *t = cg_params_get(p, i, &name);
        rc |= cg_state_dict_add(d, name, t);
        for (int which = 0; which < 2; which++) {
            snprintf(key, sizeof key, "%s.%s", OPTIM_STATE[which], name);
            rc |= cg_state_dict_add(d, key, cg_optimizer_state(opt, i, which));
        }
    }
    return rc;
}

/* the metadata of how far a run is: the generator ("rng"), "step" and
 * AdamW's "optim.steps" */
static inline int ckpt_add_progress(cg_state_dict *d, const cg_optimizer *opt, int64_t step) {
    char val[80];
    uint64_t rng[4];
    cg_get_rng_state(rng);
    snprintf(val, sizeof val, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, rng[0],
             rng[1], rng[2], rng[3]);
    int rc = cg_state_dict_set_metadata(d, "rng", val);
    snprintf(val, sizeof val, "%" PRId64, step);
    if (rc == 0) rc |= cg_state_dict_set_metadata(d, "step", val);
    snprintf(val, sizeof val, "%" PRId64, cg_optimizer_steps(opt));
    if (rc == 0) rc |= cg_state_dict_set_metadata(d, "optim.steps", val);
    return rc;
}

/* copies src into dst (same shape) without recording a graph */
static inline int restore(cg_tensor *dst, cg_tensor *src, const char *name) {
    if (!src) return -1;
    if (cg_numel(dst) != cg_numel(src) || cg_ndim(dst) != cg_ndim(src)) {
        fprintf(stderr, TRAIN_UI_NAME ": the checkpoint's %s has another shape\n", name);
        return -1;
    }
    cg_tensor *r = NULL;
    CG_NO_GRAD { r = cg_copy_(dst, src); }
    return r ? 0 : -1;
}

/* ckpt_add_state's inverse: p's weights and opt's state from ck */
static inline int ckpt_restore_state(const cg_state_dict *ck, cg_params *p, cg_optimizer *opt) {
    char key[512];
    int rc = 0;
    for (int i = 0; i < cg_params_count(p) && rc == 0; i++) {
        const char *name;
        cg_tensor *t = cg_params_get(p, i, &name);
        rc |= restore(t, cg_state_dict_get(ck, name), name);
        for (int which = 0; which < 2; which++) {
            snprintf(key, sizeof key, "%s.%s", OPTIM_STATE[which], name);
            rc |= restore(cg_optimizer_state(opt, i, which), cg_state_dict_get(ck, key), key);
        }
    }
    return rc;
}

/* ckpt_add_progress's inverse: the generator and AdamW's steps (the step is
 * the caller's to read); 0 or -1 */
static inline int ckpt_restore_progress(const cg_state_dict *ck, cg_optimizer *opt) {
    const char *rng = cg_state_dict_metadata(ck, "rng");
    uint64_t st[4];
    int64_t osteps;
    if (to_int(cg_state_dict_metadata(ck, "optim.steps"), (range){0, INT64_MAX}, &osteps) < 0 ||
        !rng || strlen(rng) != 64 ||
        sscanf(rng, "%16" SCNx64 "%16" SCNx64 "%16" SCNx64 "%16" SCNx64, &st[0], &st[1], &st[2],
               &st[3]) != 4)
        return -1;
    cg_optimizer_set_steps(opt, osteps);
    cg_set_rng_state(st);
    return 0;
}

#endif
