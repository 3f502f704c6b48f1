/* The GPT against PyTorch (nanoGPT's model, loaded with the same weights):
 * logits, loss and every parameter's gradient for one batch, then the losses
 * of 10 AdamW steps — in the spirit of llm.c's test_gpt2.c, with the expected
 * values made live by PyTorch in the test. */
#include "test.h"

#include "ops/ops.h" /* cg__linear_ce_set_chunk_rows */

#define STEPS 10

static cg_gpt_config CFG = {.vocab_size = 11,
                            .block_size = 8,
                            .n_embd = 16,
                            .n_layer = 2,
                            .n_head = 2,
                            .dropout = 0.0,
                            .tie_weights = true};

/* max |a - b| / (atol + rtol |b|) over the elements: <= 1 passes */
static double mismatch(const cg_tensor *a, const cg_tensor *b, double atol, double rtol) {
    if (cg_numel(a) != cg_numel(b)) return INFINITY;
    cg_tensor *x = cg_contiguous(cg_to((cg_tensor *)a, CG_FLOAT64));
    cg_tensor *y = cg_contiguous(cg_to((cg_tensor *)b, CG_FLOAT64));
    const double *p = cg_data_ptr(x), *q = cg_data_ptr(y);
    double worst = 0;
    for (int64_t i = 0; i < cg_numel(a); i++) {
        double r = fabs(p[i] - q[i]) / (atol + rtol * fabs(q[i]));
        if (!(r <= worst)) worst = r;
    }
    return worst;
}

/* a model of CFG and a batch x, y (3, 8) of tokens, drawn after seeding */
static cg_gpt *model_and_batch(uint64_t seed, cg_tensor **x, cg_tensor **y) {
    cg_manual_seed(seed);
    cg_gpt *m = cg_gpt_new(&CFG);
    *x = cg_to(cg_mul_scalar(cg_rand(CG_SHAPE(3, 8), 0), 11), CG_INT64);
    *y = cg_to(cg_mul_scalar(cg_rand(CG_SHAPE(3, 8), 0), 11), CG_INT64);
    return m;
}

TEST(gpt_matches_pytorch) {
    cg_tensor *x, *y;
    cg_gpt *m = model_and_batch(1234, &x, &y);
    ASSERT_NOT_NULL(m);
    cg_params *p = cg_gpt_params(m);
    /* the weights, the batch and the settings, for the oracle */
    cg_state_dict *in = cg_state_dict_new();
    for (int i = 0; i < cg_params_count(p); i++) {
        const char *name;
        cg_tensor *t = cg_params_get(p, i, &name);
        cg_state_dict_add(in, name, t);
    }
    cg_state_dict_add(in, "x", x);
    cg_state_dict_add(in, "y", y);
    const char *meta[][2] = {{"n_layer", "2"},        {"n_head", "2"},      {"n_embd", "16"},
                             {"block_size", "8"},     {"vocab_size", "11"}, {"lr", "0.01"},
                             {"beta1", "0.9"},        {"beta2", "0.99"},    {"eps", "1e-08"},
                             {"weight_decay", "0.1"}, {"steps", "10"}};
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++)
        cg_state_dict_set_metadata(in, meta[i][0], meta[i][1]);
    cg_state_dict *want = cg_test_oracle("gpt_oracle.py", in);
    cg_state_dict_free(in);
    if (!want) {
        cg_gpt_free(m);
        FAIL_("no answer from the oracle");
        return;
    }
    /* one forward and backward */
    cg_tensor *loss = NULL;
    cg_tensor *logits = cg_gpt_forward(m, x, y, &loss);
    ASSERT(logits && loss);
    ASSERT_EQ(cg_backward(loss, NULL, false), 0);
    double w = mismatch(logits, cg_state_dict_get(want, "logits"), 1e-5, 1e-4);
    if (w > 1) FAIL_("logits differ: %.3g of tolerance", w);
    w = mismatch(loss, cg_state_dict_get(want, "loss"), 1e-6, 1e-5);
    if (w > 1)
        FAIL_("loss %.9g differs from torch's %.9g", cg_item(loss),
              cg_item(cg_state_dict_get(want, "loss")));
    int n_grads = 0;
    for (int i = 0; i < cg_params_count(p); i++) {
        const char *name;
        cg_tensor *t = cg_params_get(p, i, &name);
        char key[256];
        snprintf(key, sizeof key, "grad.%s", name);
        w = mismatch(cg_grad(t), cg_state_dict_get(want, key), 1e-6, 1e-3);
        if (w > 1) FAIL_("%s differs: %.3g of tolerance", key, w);
        n_grads++;
    }
    /* 10 AdamW steps on the same batch */
    cg_optimizer *o = cg_adamw(cg_params_count(p), cg_params_tensors(p), 0.01, 0.9, 0.99, 1e-8,
                               0.1);
    const double *losses = cg_data_ptr(cg_state_dict_get(want, "losses"));
    for (int s = 0; s < STEPS && o; s++) {
        cg_scope_begin();
        cg_params_zero_grad(p, true);
        cg_gpt_forward(m, x, y, &loss);
        double l = loss ? cg_item(loss) : NAN;
        if (!loss || cg_backward(loss, NULL, false) != 0 || cg_optimizer_step(o) != 0) l = NAN;
        cg_scope_end();
        if (!(fabs(l - losses[s]) <= 1e-5 + 1e-4 * fabs(losses[s])))
            FAIL_("AdamW step %d: loss %.9g, torch %.9g", s, l, losses[s]);
    }
    printf(
        "  gpt: logits, loss and %d parameter gradients match torch; %d AdamW steps, last loss %.6f\n",
        n_grads, STEPS, losses[STEPS - 1]);
    cg_optimizer_free(o);
    cg_state_dict_free(want);
    cg_params_zero_grad(p, true);
    cg_gpt_free(m);
}

/* the parameters' gradients, copied */
static cg_tensor **copy_grads(cg_params *p) {
    cg_tensor **g = calloc((size_t)cg_params_count(p), sizeof *g);
    for (int i = 0; g && i < cg_params_count(p); i++) {
        g[i] = cg_clone(cg_grad(cg_params_get(p, i, NULL)));
    }
    return g;
}

/* cg_gpt_loss (the fused LM head and loss) against cg_gpt_forward's loss:
 * the loss and every gradient, with an ignored target, in several chunks;
 * a second backward with retain_graph adds the same gradients again */
TEST(gpt_loss_matches_forward) {
    cg_scope_begin();
    cg_tensor *x, *y;
    cg_gpt *m = model_and_batch(99, &x, &y);
    ASSERT_NOT_NULL(m);
    cg_params *p = cg_gpt_params(m);
    cg_set(y, (int64_t[]){1, 2}, -100);
    cg_tensor *ref = NULL;
    cg_gpt_forward(m, x, y, &ref);
    ASSERT_EQ(cg_backward(ref, NULL, false), 0);
    cg_tensor **want = copy_grads(p);
    cg_params_zero_grad(p, true);
    cg__linear_ce_set_chunk_rows(5); /* 24 rows: five chunks */
    cg_tensor *loss = cg_gpt_loss(m, x, y);
    cg__linear_ce_set_chunk_rows(0);
    ASSERT_NOT_NULL(loss);
    ASSERT_NEAR(cg_item(loss), cg_item(ref), 1e-6);
    ASSERT_EQ(cg_backward(loss, NULL, true), 0);
    for (int i = 0; want && i < cg_params_count(p); i++) {
        const char *name;
        cg_tensor *g = cg_grad(cg_params_get(p, i, &name));
        double w = mismatch(g, want[i], 1e-6, 1e-4);
        if (w > 1) FAIL_("grad of %s differs: %.3g of tolerance", name, w);
    }
    ASSERT_EQ(cg_backward(loss, NULL, false), 0);
    for (int i = 0; want && i < cg_params_count(p); i++) {
        const char *name;
        cg_tensor *g = cg_grad(cg_params_get(p, i, &name));
        double w = mismatch(g, cg_mul_scalar(want[i], 2), 1e-6, 1e-4);
        if (w > 1) FAIL_("second backward: grad of %s differs: %.3g of tolerance", name, w);
    }
    free(want);
    cg_params_zero_grad(p, true);
    cg_scope_end();
    ASSERT_ERROR(cg_gpt_loss(m, cg_zeros(CG_SHAPE(2, 3), CG_INT64),
                             cg_zeros(CG_SHAPE(3, 2), CG_INT64)),
                 "targets must be a (B, T) tensor, as idx");
    cg_gpt_free(m);
}

TEST(gpt_checks_and_generates) {
    cg_manual_seed(5);
    cg_gpt_config bad = CFG;
    bad.n_head = 3;
    ASSERT_ERROR(cg_gpt_new(&bad), "invalid GPT configuration: n_embd must be a positive multiple "
                                   "of n_head, sizes positive, 0 <= dropout < 1");
    cg_gpt *m = cg_gpt_new(&CFG);
    ASSERT_NOT_NULL(m);
    /* 2 * 11*16 + 8*16 ... : count once the tied head */
    ASSERT_NULL(cg_params_find(cg_gpt_params(m), "lm_head.weight"));
    ASSERT_NOT_NULL(cg_params_find(cg_gpt_params(m), "transformer.h.1.mlp.c_proj.bias"));
    cg_tensor *long_idx = cg_zeros(CG_SHAPE(1, 9), CG_INT64);
    ASSERT_ERROR(cg_gpt_forward(m, long_idx, NULL, NULL),
                 "Cannot forward sequence of length 9, block size is only 8");
    cg_tensor *start = cg_zeros(CG_SHAPE(1, 1), CG_INT64);
    cg_tensor *g1 = cg_gpt_generate(m, start, 20, 1.0, 5);
    ASSERT(g1 && cg_size(g1, 1) == 21);
    for (int i = 0; i < 21; i++) {
        double id = cg_get(g1, (int64_t[]){0, i});
        ASSERT(id >= 0 && id < 11);
    }
    cg_tensor *a = cg_gpt_generate(m, start, 10, 0, 0), *b = cg_gpt_generate(m, start, 10, 0, 0);
    ASSERT(a && b && cg_equal(a, b)); /* greedy is deterministic */
    /* a NaN or negative temperature, or NaN logits, are refused */
    ASSERT_ERROR(cg_gpt_generate(m, start, 3, NAN, 0),
                 "temperature must be a finite number >= 0, but got nan");
    ASSERT_ERROR(cg_gpt_generate(m, start, 3, -1, 0),
                 "temperature must be a finite number >= 0, but got -1");
    CG_NO_GRAD { cg_fill_(cg_params_find(cg_gpt_params(m), "transformer.ln_f.bias"), NAN); }
    ASSERT_ERROR(cg_gpt_generate(m, start, 3, 1.0, 0),
                 "the logits are nan (are the model's weights finite?)");
    ASSERT_ERROR(cg_gpt_generate(m, start, 3, 0, 5),
                 "the logits are nan (are the model's weights finite?)");
    cg_gpt_free(m);
}

TEST(layers_as_modules) {
    cg_manual_seed(9);
    cg_params *p = cg_params_new();
    cg_transformer_block b;
    ASSERT_EQ(cg_transformer_block_init(&b, p, "blk", 16, 4, 0.0), 0);
    const char *want[] = {"blk.ln_1.weight",        "blk.ln_1.bias",
                          "blk.attn.c_attn.weight", "blk.attn.c_attn.bias",
                          "blk.attn.c_proj.weight", "blk.attn.c_proj.bias",
                          "blk.ln_2.weight",        "blk.ln_2.bias",
                          "blk.mlp.c_fc.weight",    "blk.mlp.c_fc.bias",
                          "blk.mlp.c_proj.weight",  "blk.mlp.c_proj.bias"};
    ASSERT_EQ(cg_params_count(p), 12);
    for (int i = 0; i < 12; i++) {
        const char *name;
        cg_params_get(p, i, &name);
        ASSERT_STR_EQ(name, want[i]);
    }
    /* 2 * 16 * 3 + (16*48 + 48) + (16*16 + 16) + (16*64 + 64) + (64*16 + 16) */
    ASSERT_EQ(cg_params_numel(p), 3280);
    cg_tensor *x = cg_randn(CG_SHAPE(2, 5, 16), 0);
    cg_tensor *y = cg_transformer_block_forward(&b, x, true);
    ASSERT(y && cg_ndim(y) == 3 && cg_size(y, 1) == 5 && cg_size(y, 2) == 16);
    ASSERT_EQ(cg_backward(cg_sum(y), NULL, false), 0);
    ASSERT_NOT_NULL(cg_grad(cg_params_find(p, "blk.attn.c_attn.weight")));
    /* causal: the first position's output ignores the later ones */
    cg_tensor *x2 = cg_clone(x);
    CG_NO_GRAD { cg_fill_(cg_narrow(x2, 1, 3, 2), 7.0); }
    cg_tensor *y2 = cg_transformer_block_forward(&b, x2, false);
    ASSERT(cg_equal(cg_select(cg_select(y2, 1, 0), 0, 0),
                    cg_select(cg_select(cg_detach(y), 1, 0), 0, 0)));
    cg_self_attention a;
    ASSERT_ERROR(cg_self_attention_init(&a, p, "a", 10, 4, 0.0),
                 "n_embd (10) must be a positive multiple of n_head (4)");
    cg_dropout_layer d = {0.5};
    ASSERT(cg_equal(cg_dropout_forward(&d, x, false), x)); /* eval: the identity */
    cg_params_zero_grad(p, true);
    cg_params_free(p);
}

TEST_MAIN(gpt_matches_pytorch, gpt_loss_matches_forward, gpt_checks_and_generates,
          layers_as_modules)
