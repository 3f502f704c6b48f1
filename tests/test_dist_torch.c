/* cgrad's DDP against PyTorch's DistributedDataParallel over gloo (run by
 * ctest under mpiexec): each cgrad rank starts one torch rank on loopback
 * with the same GPT, weights and batches; the losses agree step by step. */
#define _POSIX_C_SOURCE 200809L /* getpid */
#include "dist_util.h"

#include <unistd.h>

enum { STEPS = 8, PER = 3 };
static const cg_gpt_config CFG = {.vocab_size = 0, /* the text's */
                                  .block_size = 8,
                                  .n_embd = 16,
                                  .n_layer = 2,
                                  .n_head = 2,
                                  .dropout = 0.0,
                                  .tie_weights = true};
static const double LR = 3e-3, B1 = 0.9, B2 = 0.99, EPS = 1e-8, WD = 0.1;

static int add_meta(cg_state_dict *d, const cg_gpt_config *c) {
    char v[64];
    const char *keys[] = {"vocab_size", "block_size", "n_embd", "n_layer", "n_head",      "batch",
                          "lr",         "beta1",      "beta2",  "eps",     "weight_decay"};
    double vals[] = {(double)c->vocab_size,
                     (double)c->block_size,
                     (double)c->n_embd,
                     c->n_layer,
                     c->n_head,
                     PER,
                     LR,
                     B1,
                     B2,
                     EPS,
                     WD};
    for (int i = 0; i < 11; i++) {
        snprintf(v, sizeof v, "%.17g", vals[i]);
        if (cg_state_dict_set_metadata(d, keys[i], v) != 0) return -1;
    }
    return 0;
}

/* the file names of this job, from rank 0's pid; the port likewise */
static void job_paths(char *in, char *out, size_t n, int *port) {
    cg_tensor *pid = cg_scalar((double)getpid(), CG_INT64);
    cg_dist_broadcast(pid, 0);
    long p = (long)cg_item(pid);
    const char *dir = getenv("TMPDIR");
    dir = dir && dir[0] ? dir : "/tmp";
    snprintf(in, n, "%s/cgrad_ddp_gloo_%ld_in.safetensors", dir, p);
    snprintf(out, n, "%s/cgrad_ddp_gloo_%ld_out%d.safetensors", dir, p, cg_dist_rank());
    *port = 20000 + (int)(p % 20000);
}

TEST(ddp_matches_torch_gloo) {
    dist_setup();
    static const char text[] = "data parallel training: every rank holds the whole model and "
                               "trains on its own rows of each batch; gradients are averaged.";
    cg_text_dataset *ds = cg_text_dataset_from_text(text, sizeof text - 1);
    cg_gpt_config cfg = CFG;
    cfg.vocab_size = cg_char_tokenizer_vocab_size(cg_text_dataset_tokenizer(ds));
    int w = cg_dist_world_size(), r = cg_dist_rank();
    cg_manual_seed(42);
    cg_gpt *m = cg_gpt_new(&cfg);
    cg_tensor *xs[STEPS], *ys[STEPS];
    for (int s = 0; s < STEPS; s++) {
        cg_text_dataset_batch(ds, CG_SPLIT_TRAIN, PER * w, cfg.block_size, &xs[s], &ys[s]);
        xs[s] = cg_unsqueeze(xs[s], 0), ys[s] = cg_unsqueeze(ys[s], 0);
    }
    char in[512], out[512], cmd[2048];
    int port;
    job_paths(in, out, sizeof in, &port);
    cg_state_dict *d = cg_state_dict_new();
    cg_params *p = cg_gpt_params(m);
    for (int i = 0; i < cg_params_count(p); i++) {
        const char *name;
        cg_tensor *t = cg_params_get(p, i, &name);
        cg_state_dict_add(d, name, t);
    }
    cg_state_dict_add(d, "x", cg_cat(STEPS, xs, 0));
    cg_state_dict_add(d, "y", cg_cat(STEPS, ys, 0));
    ASSERT_EQ(add_meta(d, &cfg), 0);
    if (r == 0) ASSERT_EQ(cg_save_safetensors(in, d), 0);
    cg_state_dict_free(d);
    cg_dist_barrier();
    snprintf(cmd, sizeof cmd, "%s %s/tests/oracle/ddp_gloo_oracle.py %s %s %d %d %d", CG_PYTHON,
             CG_SOURCE_DIR, in, out, r, w, port);
    int rc = system(cmd);
    cg_dist_barrier();
    if (r == 0) unlink(in);
    cg_state_dict *want = rc == 0 ? cg_load_safetensors(out) : NULL;
    unlink(out);
    if (!want) FAIL_("the oracle failed (exit %d): %s", rc, cmd);

    /* cgrad: the same training */
    cg_ddp *ddp = cg_ddp_new(p, NULL);
    cg_ddp_adamw(ddp, LR, B1, B2, EPS, WD);
    double worst = 0;
    for (int s = 0; s < STEPS; s++) {
        cg_scope_begin();
        cg_tensor *loss = NULL;
        cg_ddp_zero_grad(ddp);
        cg_gpt_forward(m, cg_contiguous(cg_narrow(cg_squeeze_dim(xs[s], 0), 0, r * PER, PER)),
                       cg_contiguous(cg_narrow(cg_squeeze_dim(ys[s], 0), 0, r * PER, PER)), &loss);
        cg_backward(loss, NULL, false);
        cg_ddp_step(ddp, 0, NULL);
        double tl = want ? cg_get(cg_state_dict_get(want, "losses"), (int64_t[]){s}) : NAN;
        double diff = fabs(cg_item(loss) - tl);
        if (!(diff <= worst)) worst = diff;
        cg_scope_end();
    }
    if (want && r == 0) printf("  max |loss - torch's| over %d steps: %.3g\n", STEPS, worst);
    double pdiff = 0;
    for (int i = 0; want && i < cg_params_count(p); i++) {
        const char *name;
        cg_tensor *t = cg_params_get(p, i, &name), *u = cg_state_dict_get(want, name);
        double dd = u ? cg_item(cg_max(cg_abs(cg_sub(cg_detach(t), u)))) : INFINITY;
        if (!(dd <= pdiff)) pdiff = dd;
    }
    cg_ddp_free(ddp);
    cg_gpt_free(m);
    cg_text_dataset_free(ds);
    cg_state_dict_free(want);
    ASSERT_LE(worst, 2e-5);
    ASSERT_LE(pdiff, 2e-5);
}

TEST_MAIN(ddp_matches_torch_gloo)
