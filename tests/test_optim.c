/* Optimizers, gradient clipping and LR schedules against torch.optim: the
 * same model from the same weights, 20 steps per configuration; losses and
 * final parameters equal within float32 tolerance. */
#define _POSIX_C_SOURCE 200809L /* mkstemp */
#include "test.h"

#include <unistd.h>

#define STEPS 20

typedef struct {
    const char *name, *kind;
    double lr, momentum, dampening, wd;
    int nesterov;
    double beta1, beta2, eps, clip;
    const char *sched;
} config;

static const config configs[] = {
    {"sgd", "sgd", 0.1, 0, 0, 0, 0, 0, 0, 0, 0, "none"},
    {"sgd_momentum", "sgd", 0.05, 0.9, 0.1, 0.01, 0, 0, 0, 0, 0, "none"},
    {"sgd_nesterov", "sgd", 0.05, 0.9, 0, 0.01, 1, 0, 0, 0, 0, "none"},
    {"adam", "adam", 0.01, 0, 0, 0, 0, 0.9, 0.999, 1e-8, 0, "none"},
    {"adam_wd", "adam", 0.01, 0, 0, 0.1, 0, 0.8, 0.99, 1e-6, 0, "none"},
    {"adamw", "adamw", 0.01, 0, 0, 0.1, 0, 0.9, 0.999, 1e-8, 0, "none"},
    {"adamw_clip_sched", "adamw", 0.02, 0, 0, 0.01, 0, 0.9, 0.95, 1e-8, 0.5, "warmup_cosine"},
};
#define N_CONFIGS (int)(sizeof configs / sizeof configs[0])

static const char *PNAMES[4] = {"W1", "b1", "W2", "b2"};

static void write_tensor(FILE *f, const char *tag, const cg_tensor *t) {
    fprintf(f, "%s %d", tag, cg_ndim(t));
    for (int d = 0; d < cg_ndim(t); d++) fprintf(f, " %lld", (long long)cg_size(t, d));
    const float *p = cg_data_ptr(t);
    for (int64_t i = 0; i < cg_numel(t); i++) fprintf(f, " %a", (double)p[i]);
    fprintf(f, "\n");
}

/* Trains config c from the given parameters; losses[STEPS] and the final
 * parameters (copied into out[4], retained) come back. */
static int train(const config *c, cg_tensor *const *init, cg_tensor *x, cg_tensor *t,
                 double *losses, cg_tensor **out) {
    cg_tensor *p[4];
    for (int i = 0; i < 4; i++) p[i] = cg_retain(cg_requires_grad_(cg_clone(init[i]), true));
    cg_optimizer *o = !strcmp(c->kind, "sgd")
                          ? cg_sgd(4, p, c->lr, c->momentum, c->dampening, c->wd, c->nesterov)
                      : !strcmp(c->kind, "adam")
                          ? cg_adam(4, p, c->lr, c->beta1, c->beta2, c->eps, c->wd)
                          : cg_adamw(4, p, c->lr, c->beta1, c->beta2, c->eps, c->wd);
    int rc = o ? 0 : -1;
    for (int s = 0; s < STEPS && rc == 0; s++) {
        cg_scope_begin();
        cg_optimizer_zero_grad(o, true);
        if (!strcmp(c->sched, "warmup_cosine"))
            cg_optimizer_set_lr(o, cg_lr_warmup_cosine(c->lr, c->lr / 10, s, 4, 20));
        cg_tensor *y = cg_add(cg_matmul(cg_tanh(cg_add(cg_matmul(x, p[0]), p[1])), p[2]), p[3]);
        cg_tensor *d = cg_sub(y, t);
        cg_tensor *loss = cg_mean(cg_mul(d, d));
        if (!loss || cg_backward(loss, NULL, false) != 0)
            rc = -1;
        else
            losses[s] = cg_item(loss);
        if (rc == 0 && c->clip > 0 && isnan(cg_clip_grad_norm(4, p, c->clip, 2))) rc = -1;
        if (rc == 0) rc = cg_optimizer_step(o);
        cg_scope_end();
    }
    for (int i = 0; i < 4; i++) {
        cg_clear_grad(p[i]);
        out[i] = p[i];
    }
    cg_optimizer_free(o);
    return rc;
}

static char *read_line(FILE *f) {
    char *line = NULL;
    size_t cap = 0;
    if (getline(&line, &cap, f) < 0) {
        free(line);
        return NULL;
    }
    return line;
}

TEST(optimizers_match_torch) {
    cg_manual_seed(42);
    cg_tensor *init[4] = {cg_mul_scalar(cg_randn(CG_SHAPE(5, 8), 0), 0.5),
                          cg_mul_scalar(cg_randn(CG_SHAPE(8), 0), 0.1),
                          cg_mul_scalar(cg_randn(CG_SHAPE(8, 3), 0), 0.5),
                          cg_mul_scalar(cg_randn(CG_SHAPE(3), 0), 0.1)};
    cg_tensor *x = cg_randn(CG_SHAPE(16, 5), 0), *t = cg_randn(CG_SHAPE(16, 3), 0);
    char in[] = "/tmp/cgrad_optim_in_XXXXXX", outp[] = "/tmp/cgrad_optim_out_XXXXXX";
    int fi = mkstemp(in), fo = mkstemp(outp);
    ASSERT(fi >= 0 && fo >= 0);
    close(fo);
    FILE *f = fdopen(fi, "w");
    for (int i = 0; i < 4; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "P %s", PNAMES[i]);
        write_tensor(f, tag, init[i]);
    }
    write_tensor(f, "X", x);
    write_tensor(f, "T", t);
    for (int k = 0; k < N_CONFIGS; k++) {
        const config *c = &configs[k];
        fprintf(f, "C %s %s %a %a %a %a %d %a %a %a %a %s\n", c->name, c->kind, c->lr, c->momentum,
                c->dampening, c->wd, c->nesterov, c->beta1, c->beta2, c->eps, c->clip, c->sched);
    }
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s/tests/oracle/optim_oracle.py %s %s", CG_PYTHON, CG_SOURCE_DIR,
             in, outp);
    int rc = system(cmd);
    unlink(in);
    if (rc != 0) {
        unlink(outp);
        FAIL_("the oracle failed (exit %d): it needs PyTorch importable by %s", rc, CG_PYTHON);
        return;
    }
    FILE *r = fopen(outp, "r");
    ASSERT_NOT_NULL(r);
    int checked = 0;
    for (int k = 0; k < N_CONFIGS; k++) {
        const config *c = &configs[k];
        double losses[STEPS];
        cg_tensor *fin[4];
        ASSERT_EQ(train(c, init, x, t, losses, fin), 0);
        /* L line, then four F lines */
        char *line = read_line(r);
        ASSERT(line && !strncmp(line, "L ", 2));
        char *tok = strtok(line + 2, " \n");
        ASSERT_STR_EQ(tok, c->name);
        for (int s = 0; s < STEPS; s++) {
            tok = strtok(NULL, " \n");
            double want = strtod(tok, NULL);
            if (fabs(losses[s] - want) > 1e-5 + 1e-4 * fabs(want))
                FAIL_("%s step %d: loss %.9g, torch %.9g", c->name, s, losses[s], want);
        }
        free(line);
        for (int i = 0; i < 4; i++) {
            line = read_line(r);
            ASSERT(line && !strncmp(line, "F ", 2));
            strtok(line + 2, " \n");
            strtok(NULL, " \n");
            const float *p = cg_data_ptr(fin[i]);
            for (int64_t e = 0; e < cg_numel(fin[i]); e++) {
                double want = strtod(strtok(NULL, " \n"), NULL);
                if (fabs(p[e] - want) > 1e-5 + 1e-4 * fabs(want)) {
                    FAIL_("%s %s[%lld]: %.9g, torch %.9g", c->name, PNAMES[i], (long long)e, p[e],
                          want);
                    break;
                }
                checked++;
            }
            free(line);
            cg_release(fin[i]);
        }
    }
    /* the schedules' closed forms against torch's schedulers */
    for (int k = 0; k < 3; k++) {
        char *line = read_line(r);
        ASSERT(line && !strncmp(line, "S ", 2));
        char *kind = strtok(line + 2, " \n"), *tok;
        for (int s = 0; (tok = strtok(NULL, " \n")); s++) {
            double want = strtod(tok, NULL);
            double got = !strcmp(kind, "step")     ? cg_lr_step(0.1, s, 3, 0.5)
                         : !strcmp(kind, "cosine") ? cg_lr_cosine(0.1, 0.001, s, 10)
                                                   : cg_lr_warmup_cosine(0.1, 0.001, s, 4, 12);
            if (fabs(got - want) > 1e-12)
                FAIL_("schedule %s step %d: %.12g, torch %.12g", kind, s, got, want);
        }
        free(line);
    }
    fclose(r);
    unlink(outp);
    printf("  optimizers: %d configurations x %d steps, %d final parameter values compared\n",
           N_CONFIGS, STEPS, checked);
}

TEST(optimizer_errors_and_state) {
    cg_tensor *w = cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD);
    /* torch.optim.Adam([w], lr=-1) */
    ASSERT_ERROR(cg_adam(1, &w, -1, 0.9, 0.999, 1e-8, 0), "Invalid learning rate: -1");
    ASSERT_ERROR(cg_adam(1, &w, 0.1, 1.0, 0.999, 1e-8, 0), "Invalid beta parameter at index 0: 1");
    ASSERT_ERROR(cg_sgd(1, &w, 0.1, -0.5, 0, 0, false), "Invalid momentum value: -0.5");
    ASSERT_ERROR(cg_sgd(1, &w, 0.1, 0, 0, 0, true),
                 "Nesterov momentum requires a momentum and zero dampening");
    cg_tensor *nonleaf = cg_mul_scalar(w, 2);
    ASSERT_NULL(cg_sgd(1, &nonleaf, 0.1, 0, 0, 0, false));
    ASSERT_NULL(cg_sgd(0, NULL, 0.1, 0, 0, 0, false));
    cg_optimizer *o = cg_adamw(1, &w, 0.1, 0.9, 0.999, 1e-8, 0.01);
    ASSERT_NOT_NULL(o);
    ASSERT_EQ(cg_optimizer_step(o), 0); /* no grad yet: nothing moves */
    ASSERT_NEAR(cg_get(w, (int64_t[]){0}), 1, 0);
    ASSERT_EQ(cg_backward(cg_sum(cg_mul(w, w)), NULL, false), 0);
    ASSERT_EQ(cg_optimizer_step(o), 0);
    ASSERT_LT(cg_get(w, (int64_t[]){0}), 1);
    ASSERT_NOT_NULL(cg_optimizer_state(o, 0, 1));
    ASSERT_EQ(cg_optimizer_steps(o), 2);
    ASSERT_ERROR(cg_optimizer_set_steps(o, -1), "steps must be >= 0, got -1");
    ASSERT_EQ(cg_optimizer_steps(o), 2);
    ASSERT_NULL(cg_optimizer_state(o, 3, 0));
    cg_optimizer_zero_grad(o, false);
    ASSERT_NEAR(cg_get(cg_grad(w), (int64_t[]){1}), 0, 0);
    cg_optimizer_zero_grad(o, true);
    ASSERT_NULL(cg_grad(w));
    cg_optimizer_free(o);
    /* clip_grad_norm_: norm 5 clipped to 1 */
    cg_tensor *g = cg_zeros(CG_SHAPE(2), CG_REQUIRES_GRAD);
    float gv[] = {3, 4};
    ASSERT_EQ(cg_backward(cg_sum(cg_mul(g, cg_from_data(gv, CG_SHAPE(2), 0))), NULL, false), 0);
    ASSERT_NEAR(cg_clip_grad_norm(1, &g, 1.0, 2), 5, 1e-6);
    ASSERT_NEAR(cg_get(cg_grad(g), (int64_t[]){1}), 4 / (5 + 1e-6), 1e-6);
}

/* norm_type 0 as torch 1.13's clip_grad_norm_ (the values are what it printed
 * for grads [1, 2, 0], [0, 0], [3, 0]): the count of tensors with a nonzero
 * element, 2, so max_norm 5 leaves them and max_norm 1 halves them */
TEST(clip_grad_norm_zero_norm) {
    float v[3][3] = {{1, 2, 0}, {0, 0}, {3, 0}};
    int64_t len[3] = {3, 2, 2};
    cg_tensor *p[3];
    for (int i = 0; i < 3; i++) {
        p[i] = cg_zeros(1, &len[i], CG_REQUIRES_GRAD);
        cg_tensor *w = cg_from_data(v[i], 1, &len[i], 0);
        ASSERT_EQ(cg_backward(cg_sum(cg_mul(p[i], w)), NULL, false), 0);
    }
    ASSERT_NEAR(cg_clip_grad_norm(3, p, 5.0, 0), 2, 0);
    ASSERT_NEAR(cg_get(cg_grad(p[0]), (int64_t[]){1}), 2, 0); /* unchanged */
    ASSERT_NEAR(cg_clip_grad_norm(3, p, 1.0, 0), 2, 0);
    ASSERT_NEAR(cg_get(cg_grad(p[0]), (int64_t[]){1}), 1.0, 1e-6);
    ASSERT_NEAR(cg_get(cg_grad(p[2]), (int64_t[]){0}), 1.5, 1e-6);
}

TEST_MAIN(optimizers_match_torch, optimizer_errors_and_state, clip_grad_norm_zero_norm)
