/* Optimizers — SGD (momentum, dampening, nesterov, weight decay), Adam and
 * AdamW — with PyTorch 1.13's update rules, step by step, and gradient-norm
 * clipping. Updates run without a graph, straight on the parameters' data
 * (float32 or float64, contiguous leaves; Adam(W) through the kernel table's
 * adamw); state buffers are tensors, so they can be saved and restored for an
 * exact resume. */
#include "../core/internal.h"
#include "../kernels/kernels.h"

#include <math.h>
#ifdef CG_HAVE_OPENMP
#include <omp.h>
#endif

typedef enum { OPT_SGD, OPT_ADAM, OPT_ADAMW } opt_kind;

struct cg_optimizer {
    opt_kind kind;
    int n;
    cg_tensor **params; /* (n) retained */
    cg_tensor **buf1;   /* (n) momentum buffer (SGD) or exp_avg (Adam); NULL until first use */
    cg_tensor **buf2;   /* (n) exp_avg_sq (Adam) */
    double lr, momentum, dampening, weight_decay, beta1, beta2, eps;
    bool nesterov;
    int64_t steps; /* optimizer steps taken (Adam's bias correction uses it) */
};

static cg_optimizer *make(const char *fn, opt_kind kind, int n, cg_tensor *const *params,
                          double lr) {
    if (n <= 0 || !params) {
        cg__error(fn, "optimizer got an empty parameter list");
        return NULL;
    }
    if (!(lr >= 0)) {
        cg__error(fn, "Invalid learning rate: %g", lr);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (!params[i]) return NULL;
        if (params[i]->grad_fn || !cg_dtype_is_floating(params[i]->dtype) ||
            !cg__is_contiguous(params[i])) {
            cg__error(fn,
                      "can't optimize a non-leaf Tensor (parameter %d), or one that is not a "
                      "contiguous floating-point tensor",
                      i);
            return NULL;
        }
    }
    cg_optimizer *o = calloc(1, sizeof *o);
    if (o) {
        o->params = calloc((size_t)n, sizeof *o->params);
        o->buf1 = calloc((size_t)n, sizeof *o->buf1);
        o->buf2 = calloc((size_t)n, sizeof *o->buf2);
    }
    if (!o || !o->params || !o->buf1 || !o->buf2) {
        if (o) free(o->params), free(o->buf1), free(o->buf2);
        free(o);
        return cg__oom(fn);
    }
    o->kind = kind;
    o->n = n;
    o->lr = lr;
    for (int i = 0; i < n; i++) o->params[i] = cg_retain(params[i]);
    return o;
}

cg_optimizer *cg_sgd(int n, cg_tensor *const *params, double lr, double momentum, double dampening,
                     double weight_decay, bool nesterov) {
    if (momentum < 0 || weight_decay < 0) {
        cg__error("cg_sgd",
                  momentum < 0 ? "Invalid momentum value: %g" : "Invalid weight_decay value: %g",
                  momentum < 0 ? momentum : weight_decay);
        return NULL;
    }
    if (nesterov && (momentum <= 0 || dampening != 0)) {
        cg__error("cg_sgd", "Nesterov momentum requires a momentum and zero dampening");
        return NULL;
    }
    cg_optimizer *o = make("cg_sgd", OPT_SGD, n, params, lr);
    if (o) {
        o->momentum = momentum;
        o->dampening = dampening;
        o->weight_decay = weight_decay;
        o->nesterov = nesterov;
    }
    return o;
}

static cg_optimizer *adam_like(const char *fn, opt_kind kind, int n, cg_tensor *const *params,
                               double lr, double beta1, double beta2, double eps, double wd) {
    if (!(eps >= 0)) {
        cg__error(fn, "Invalid epsilon value: %g", eps);
        return NULL;
    }
    if (!(beta1 >= 0 && beta1 < 1)) {
        cg__error(fn, "Invalid beta parameter at index 0: %g", beta1);
        return NULL;
    }
    if (!(beta2 >= 0 && beta2 < 1)) {
        cg__error(fn, "Invalid beta parameter at index 1: %g", beta2);
        return NULL;
    }
    if (!(wd >= 0)) {
        cg__error(fn, "Invalid weight_decay value: %g", wd);
        return NULL;
    }
    cg_optimizer *o = make(fn, kind, n, params, lr);
    if (o) {
        o->beta1 = beta1;
        o->beta2 = beta2;
        o->eps = eps;
        o->weight_decay = wd;
    }
    return o;
}

cg_optimizer *cg_adam(int n, cg_tensor *const *params, double lr, double beta1, double beta2,
                      double eps, double weight_decay) {
    return adam_like("cg_adam", OPT_ADAM, n, params, lr, beta1, beta2, eps, weight_decay);
}

cg_optimizer *cg_adamw(int n, cg_tensor *const *params, double lr, double beta1, double beta2,
                       double eps, double weight_decay) {
    return adam_like("cg_adamw", OPT_ADAMW, n, params, lr, beta1, beta2, eps, weight_decay);
}

void cg_optimizer_free(cg_optimizer *o) {
    if (!o) return;
    for (int i = 0; i < o->n; i++) {
        cg_release(o->params[i]);
        cg_release(o->buf1[i]);
        cg_release(o->buf2[i]);
    }
    free(o->params);
    free(o->buf1);
    free(o->buf2);
    free(o);
}

double cg_optimizer_lr(const cg_optimizer *o) { return o ? o->lr : NAN; }
void cg_optimizer_set_lr(cg_optimizer *o, double lr) {
    if (o) o->lr = lr;
}
int64_t cg_optimizer_steps(const cg_optimizer *o) { return o ? o->steps : -1; }

/* A zeroed state buffer like p, owned by the optimizer (outside any scope). */
static cg_tensor *state_like(cg_tensor *p) {
    cg_tensor *t = cg__tensor_new(p->dtype, p->ndim, p->shape);
    if (!t) return NULL;
    memset(cg__ptr(t), 0, t->storage->nbytes);
    return cg_retain(t); /* the optimizer's reference; the scope's goes with the scope */
}

/* SGD's update of one parameter, in type T (float or double): one loop per
 * rule, over restrict pointers, so that the compiler vectorises it. */
#define SGD_UPDATE(T)                                                                              \
    static void sgd_##T(const cg_optimizer *o, int64_t n, T *restrict p, const T *restrict g,      \
                        T *restrict b1, bool first) {                                              \
        const T wd = (T)o->weight_decay, lr = (T)o->lr;                                            \
        const T mom = (T)o->momentum, damp = (T)(1 - o->dampening);                                \
        if (!b1) {                                                                                 \
            for (int64_t i = 0; i < n; i++) p[i] -= lr * (g[i] + wd * p[i]);                       \
            return;                                                                                \
        }                                                                                          \
        for (int64_t i = 0; i < n; i++) {                                                          \
            T d = g[i] + wd * p[i];                                                                \
            b1[i] = first ? d : mom * b1[i] + damp * d; /* the first step starts at d */           \
            p[i] -= lr * (o->nesterov ? d + mom * b1[i] : b1[i]);                                  \
        }                                                                                          \
    }
SGD_UPDATE(float)
SGD_UPDATE(double)

/* This step's Adam(W) hyperparameters, for the kernel table's adamw. */
static cg__adamw_hp adam_hp(const cg_optimizer *o) {
    return (cg__adamw_hp){.lr = o->lr,
                          .beta1 = o->beta1,
                          .beta2 = o->beta2,
                          .eps = o->eps,
                          .weight_decay = o->weight_decay,
                          .bias_correction1 = 1 - pow(o->beta1, (double)o->steps),
                          .bias_correction2 = 1 - pow(o->beta2, (double)o->steps),
                          .decoupled = o->kind == OPT_ADAMW};
}

/* below this many elements a thread team costs more than it saves */
#define ADAM_PARALLEL_MIN 32768

/* The kernel's Adam(W) step over [lo, hi) of contiguous p, g, m, v. */
static void adam_range(bool f32, int64_t lo, int64_t hi, void *p, const void *g, void *m, void *v,
                       const cg__adamw_hp *hp) {
    const cg__kernels *k = cg__kern();
    if (f32)
        k->adamw_f32(hi - lo, (float *)p + lo, (const float *)g + lo, (float *)m + lo,
                     (float *)v + lo, hp);
    else
        k->adamw_f64(hi - lo, (double *)p + lo, (const double *)g + lo, (double *)m + lo,
                     (double *)v + lo, hp);
}

/* One Adam(W) step of n elements, split across threads when n is large
 * (elementwise: the result does not depend on the split). */
static void adam_update(bool f32, int64_t n, void *p, const void *g, void *m, void *v,
                        const cg__adamw_hp *hp) {
#ifdef CG_HAVE_OPENMP
    if (n >= ADAM_PARALLEL_MIN && omp_get_max_threads() > 1) {
#pragma omp parallel
        {
            int nt = omp_get_num_threads(), t = omp_get_thread_num();
            adam_range(f32, n * t / nt, n * (t + 1) / nt, p, g, m, v, hp);
        }
        return;
    }
#endif
    adam_range(f32, 0, n, p, g, m, v, hp);
}

int cg_optimizer_step(cg_optimizer *o) {
    if (!o) return -1;
    o->steps++;
    const cg__adamw_hp hp = adam_hp(o);
    for (int i = 0; i < o->n; i++) {
        cg_tensor *p = o->params[i];
        if (!p->grad) continue; /* a parameter no gradient reached is left alone */
        cg_tensor *g = p->grad;
        if (g->dtype != p->dtype || !cg__is_contiguous(g) ||
            cg__numel(g->ndim, g->shape) != cg__numel(p->ndim, p->shape)) {
            cg__error("cg_optimizer_step",
                      "parameter %d: its gradient has another dtype, shape "
                      "or layout",
                      i);
            return -1;
        }
        bool need1 = o->kind != OPT_SGD || o->momentum != 0, first = false;
        if (need1 && !o->buf1[i]) {
            if (!(o->buf1[i] = state_like(p))) return -1;
            first = true;
        }
        if (o->kind != OPT_SGD && !o->buf2[i] && !(o->buf2[i] = state_like(p))) return -1;
        int64_t n = cg__numel(p->ndim, p->shape);
        void *b1 = o->buf1[i] ? cg__ptr(o->buf1[i]) : NULL,
             *b2 = o->buf2[i] ? cg__ptr(o->buf2[i]) : NULL;
        bool f32 = p->dtype == CG_FLOAT32;
        if (o->kind != OPT_SGD)
            adam_update(f32, n, cg__ptr(p), cg__ptr(g), b1, b2, &hp);
        else if (f32)
            sgd_float(o, n, cg__ptr(p), cg__ptr(g), b1, first);
        else
            sgd_double(o, n, cg__ptr(p), cg__ptr(g), b1, first);
        p->storage->version++;
    }
    return 0;
}

void cg_optimizer_zero_grad(cg_optimizer *o, bool set_to_none) {
    if (!o) return;
    for (int i = 0; i < o->n; i++) {
        if (set_to_none)
            cg_clear_grad(o->params[i]);
        else
            cg_zero_grad(o->params[i]);
    }
}

cg_tensor *cg_optimizer_state(cg_optimizer *o, int param, int which) {
    if (!o || param < 0 || param >= o->n || which < 0 || which > 1) {
        cg__error("cg_optimizer_state", "no state %d for parameter %d", which, param);
        return NULL;
    }
    cg_tensor **b = which == 0 ? &o->buf1[param] : &o->buf2[param];
    bool used = which == 0 ? (o->kind != OPT_SGD || o->momentum != 0) : o->kind != OPT_SGD;
    if (!used) {
        cg__error("cg_optimizer_state", "this optimizer keeps no state %d", which);
        return NULL;
    }
    if (!*b && !(*b = state_like(o->params[param]))) return NULL;
    return *b;
}

int cg_optimizer_set_steps(cg_optimizer *o, int64_t steps) {
    if (!o) return -1;
    if (steps < 0) {
        cg__error("cg_optimizer_set_steps", "steps must be >= 0, got %lld", (long long)steps);
        return -1;
    }
    o->steps = steps;
    return 0;
}

double cg_clip_grad_norm(int n, cg_tensor *const *params, double max_norm, double norm_type) {
    if (n < 0 || (n && !params)) {
        cg__error("cg_clip_grad_norm", "bad parameter list");
        return NAN;
    }
    /* the norm of all gradients together, accumulated in double; PyTorch
     * takes the norm of the per-tensor norms, the same for p > 0, but for
     * p = 0 the count of tensors with a nonzero element */
    double total = 0;
    bool inf = isinf(norm_type), count = norm_type == 0;
    for (int i = 0; i < n; i++) {
        cg_tensor *g = params[i] ? params[i]->grad : NULL;
        if (!g) continue;
        int64_t m = cg__numel(g->ndim, g->shape);
        bool nonzero = false;
        for (int64_t k = 0; k < m; k++) {
            double v = fabs(cg__read_linear(g, k));
            nonzero |= v != 0;
            if (inf)
                total = v > total ? v : total;
            else if (!count)
                total += norm_type == 2 ? v * v : pow(v, norm_type);
        }
        total += count && nonzero;
    }
    if (!inf && !count) total = norm_type == 2 ? sqrt(total) : pow(total, 1 / norm_type);
    /* as PyTorch: every gradient times min(1, max_norm / (total + 1e-6)) */
    double coef = max_norm / (total + 1e-6);
    if (coef > 1) coef = 1;
    for (int i = 0; i < n; i++) {
        cg_tensor *g = params[i] ? params[i]->grad : NULL;
        if (g && coef < 1 && cg__binary_into("cg_clip_grad_norm", '*', g, NULL, coef) < 0)
            return NAN;
    }
    return total;
}
