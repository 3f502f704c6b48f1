/* Hugging Face GPT-2 checkpoints and KV-cache generation. The oracle
 * (tests/oracle/gpt2_oracle.py) writes a GPT-2 directory with random weights
 * in transformers' exact layout (2 layers, 64 wide, vocabulary 50257,
 * n_positions 128) and computes GPT-2's forward with transformers' math;
 * cgrad loads the directory and must give the same logits and gradients,
 * save it back so that the reference reader finds the same tensors, and
 * generate with its KV cache exactly what recomputing the window gives. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, symlink */
#include "test.h"

#include <sys/stat.h>
#include <unistd.h>

enum { LAYERS = 2, EMBD = 64, HEADS = 4, POSITIONS = 128, VOCAB = 50257, B = 2, T = 16 };

/* the oracle's directory, made once per run; removed at exit */
static char DIR_[256];

static void remove_dir(const char *dir) {
    static const char *FILES[] = {"config.json", "model.safetensors"};
    char p[512];
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, FILES[i]);
        unlink(p);
    }
    rmdir(dir);
}

static void remove_model_dir(void) { remove_dir(DIR_); }

/* a new empty temporary directory in buf */
static int temp_dir(char *buf, size_t n, const char *name) {
    const char *t = getenv("TMPDIR");
    snprintf(buf, n, "%s/cgrad_%s_XXXXXX", t && *t ? t : "/tmp", name);
    return mkdtemp(buf) ? 0 : -1;
}

/* the random batch x, y (B, T) the oracle's answers are for */
static void batch(cg_tensor **x, cg_tensor **y) {
    cg_manual_seed(7);
    *x = cg_to(cg_mul_scalar(cg_rand(CG_SHAPE(B, T), 0), VOCAB), CG_INT64);
    *y = cg_to(cg_mul_scalar(cg_rand(CG_SHAPE(B, T), 0), VOCAB), CG_INT64);
}

/* the oracle's GPT-2 directory (made on first use) and, when want is not
 * NULL, its logits, loss and gradients for batch() */
static const char *model_dir(cg_state_dict **want) {
    if (DIR_[0] && !want) return DIR_;
    if (!DIR_[0]) {
        if (temp_dir(DIR_, sizeof DIR_, "gpt2") < 0) return NULL;
        atexit(remove_model_dir);
    }
    cg_tensor *x, *y;
    batch(&x, &y);
    cg_state_dict *in = cg_state_dict_new();
    cg_state_dict_add(in, "x", x);
    cg_state_dict_add(in, "y", y);
    char v[5][32];
    const char *keys[] = {"n_layer", "n_embd", "n_head", "n_positions", "vocab_size"};
    const int vals[] = {LAYERS, EMBD, HEADS, POSITIONS, VOCAB};
    for (int k = 0; k < 5; k++) {
        snprintf(v[k], sizeof v[k], "%d", vals[k]);
        cg_state_dict_set_metadata(in, keys[k], v[k]);
    }
    cg_state_dict_set_metadata(in, "task", "make");
    cg_state_dict_set_metadata(in, "dir", DIR_);
    cg_state_dict_set_metadata(in, "seed", "3");
    cg_state_dict_set_metadata(in, "eps", "0.0001");
    cg_state_dict *out = cg_test_oracle("gpt2_oracle.py", in);
    cg_state_dict_free(in);
    if (want)
        *want = out;
    else
        cg_state_dict_free(out);
    return out ? DIR_ : NULL;
}

/* max |a - b| / (atol + rtol |b|) over the elements: <= 1 passes */
static double mismatch(cg_tensor *a, cg_tensor *b, double atol, double rtol) {
    if (!a || !b || cg_numel(a) != cg_numel(b)) return INFINITY;
    cg_tensor *x = cg_contiguous(cg_to(a, CG_FLOAT64)), *y = cg_contiguous(cg_to(b, CG_FLOAT64));
    const double *p = cg_data_ptr(x), *q = cg_data_ptr(y);
    double worst = 0;
    for (int64_t i = 0; i < cg_numel(a); i++) {
        double r = fabs(p[i] - q[i]) / (atol + rtol * fabs(q[i]));
        if (!(r <= worst)) worst = r;
    }
    return worst;
}

/* whether cgrad's name is one of GPT-2's Conv1D weights, kept (in, out) */
static bool conv1d(const char *name) {
    return strstr(name, "c_attn.weight") || strstr(name, "c_proj.weight") ||
           strstr(name, "c_fc.weight");
}

/* every parameter's gradient against the oracle's (same layout as the file) */
static int check_grads(cg_gpt *m, const cg_state_dict *want) {
    cg_params *p = cg_gpt_params(m);
    int bad = 0;
    for (int i = 0; i < cg_params_count(p); i++) {
        const char *name;
        cg_tensor *t = cg_params_get(p, i, &name);
        char key[256];
        snprintf(key, sizeof key, "grad.%s", name + strlen("transformer."));
        cg_tensor *g = cg_grad(t), *w = cg_state_dict_get(want, key);
        double r = mismatch(g && conv1d(name) ? cg_t(g) : g, w, 1e-5, 1e-3);
        if (r > 1) {
            FAIL_("%s differs: %.3g of tolerance", key, r);
            bad++;
        }
    }
    return bad;
}

TEST(gpt2_hf_matches_pytorch) {
    cg_state_dict *want = NULL;
    const char *dir = model_dir(&want);
    ASSERT_NOT_NULL(dir);
    cg_gpt *m = cg_gpt2_load_dir(dir);
    ASSERT_NOT_NULL(m);
    const cg_gpt_config *c = cg_gpt_get_config(m);
    ASSERT(c->n_layer == LAYERS && c->n_head == HEADS && c->n_embd == EMBD &&
           c->block_size == POSITIONS && c->vocab_size == VOCAB && c->tie_weights &&
           c->gelu == CG_GELU_TANH && c->layer_norm_eps == 1e-4 && c->dropout == 0);
    cg_tensor *x, *y, *loss = NULL;
    batch(&x, &y);
    cg_tensor *logits = cg_gpt_forward(m, x, y, &loss);
    ASSERT(logits && loss && cg_backward(loss, NULL, false) == 0);
    double r = mismatch(logits, cg_state_dict_get(want, "logits"), 1e-4, 1e-4);
    if (r > 1) FAIL_("logits differ: %.3g of tolerance", r);
    r = mismatch(loss, cg_state_dict_get(want, "loss"), 1e-6, 1e-5);
    if (r > 1)
        FAIL_("loss %.9g, torch %.9g", cg_item(loss), cg_item(cg_state_dict_get(want, "loss")));
    int bad = check_grads(m, want);
    printf("  gpt2: logits (%d x %d x %d), loss %.6f and %d gradients match torch%s\n", B, T, VOCAB,
           cg_item(loss), cg_params_count(cg_gpt_params(m)), bad ? " (not all)" : "");
    cg_state_dict_free(want);
    cg_params_zero_grad(cg_gpt_params(m), true);
    cg_gpt_free(m);
}

/* a's and b's parameters are equal bit for bit */
static bool same_params(cg_gpt *a, cg_gpt *b) {
    cg_params *p = cg_gpt_params(a), *q = cg_gpt_params(b);
    if (cg_params_count(p) != cg_params_count(q)) return false;
    for (int i = 0; i < cg_params_count(p); i++) {
        const char *name;
        cg_tensor *t = cg_params_get(p, i, &name), *u = cg_params_find(q, name);
        if (!u || !cg_equal(t, u)) return false;
    }
    return true;
}

TEST(gpt2_save_load_roundtrip) {
    const char *dir = model_dir(NULL);
    ASSERT_NOT_NULL(dir);
    cg_gpt *m = cg_gpt2_load_dir(dir);
    ASSERT_NOT_NULL(m);
    char saved[256];
    ASSERT_EQ(temp_dir(saved, sizeof saved, "gpt2_saved"), 0);
    int rc = cg_gpt2_save_dir(m, saved);
    cg_gpt *back = rc == 0 ? cg_gpt2_load_dir(saved) : NULL;
    bool same = back && same_params(m, back) &&
                !memcmp(cg_gpt_get_config(m), cg_gpt_get_config(back), sizeof(cg_gpt_config));
    cg_state_dict *in = cg_state_dict_new(), *out = NULL;
    cg_state_dict_set_metadata(in, "task", "check");
    cg_state_dict_set_metadata(in, "dir", dir);
    cg_state_dict_set_metadata(in, "saved", saved);
    if (rc == 0) out = cg_test_oracle("gpt2_oracle.py", in);
    cg_state_dict_free(in);
    int64_t problems = out ? (int64_t)cg_item(cg_state_dict_get(out, "problems")) : -1;
    cg_state_dict_free(out);
    cg_gpt_free(back);
    cg_gpt_free(m);
    remove_dir(saved);
    ASSERT_EQ(rc, 0);
    ASSERT(same);
    ASSERT_EQ(problems, 0);
}

/* greedy tokens, n of them after prompt (1, Tp): with the cache, and by
 * recomputing the window */
TEST(gpt2_kv_cache_greedy_equals_recompute) {
    const char *dir = model_dir(NULL);
    ASSERT_NOT_NULL(dir);
    cg_gpt *m = cg_gpt2_load_dir(dir);
    ASSERT_NOT_NULL(m);
    cg_manual_seed(11);
    cg_tensor *prompt = cg_to(cg_mul_scalar(cg_rand(CG_SHAPE(2, 5), 0), VOCAB), CG_INT64);
    int n = 40;
    cg_generate_options o = {.max_new_tokens = n};
    cg_tensor *cached = cg_gpt_generate_cached(m, prompt, &o);
    bool rows_ok = cached != NULL;
    for (int64_t b = 0; b < 2 && rows_ok; b++) { /* each row alone, recomputed */
        cg_tensor *row = cg_narrow(prompt, 0, b, 1);
        cg_tensor *full = cg_gpt_generate(m, row, n, 0, 0);
        rows_ok = full && cg_equal(full, cg_narrow(cached, 0, b, 1));
        cg_tensor *alone = cg_gpt_generate_cached(m, row, &o);
        rows_ok = rows_ok && alone && cg_equal(alone, full);
    }
    int64_t distinct = 0; /* the greedy run is not one token repeated */
    for (int64_t i = 6; cached && i < 5 + n; i++)
        distinct += cg_get(cached, (int64_t[]){0, i}) != cg_get(cached, (int64_t[]){0, i - 1});
    cg_gpt_free(m);
    ASSERT_NOT_NULL(cached);
    ASSERT_EQ(cg_size(cached, 1), 5 + n);
    ASSERT(rows_ok);
    ASSERT_GT(distinct, 10);
}

/* stops after 3 tokens */
static int stop_at_3(void *user, const int64_t *tokens, int64_t batch) {
    (void)tokens, (void)batch;
    return ++*(int *)user == 3;
}

TEST(gpt2_sampling_seeded_and_checked) {
    const char *dir = model_dir(NULL);
    ASSERT_NOT_NULL(dir);
    cg_gpt *m = cg_gpt2_load_dir(dir);
    ASSERT_NOT_NULL(m);
    cg_tensor *prompt = cg_zeros(CG_SHAPE(1, 3), CG_INT64);
    cg_generate_options o = {.max_new_tokens = 40,
                             .temperature = 1.5,
                             .top_k = 200,
                             .top_p = 0.95,
                             .seeded = true,
                             .seed = 42};
    cg_tensor *a = cg_gpt_generate_cached(m, prompt, &o),
              *b = cg_gpt_generate_cached(m, prompt, &o);
    o.seed = 43;
    cg_tensor *c = cg_gpt_generate_cached(m, prompt, &o);
    o.seeded = false; /* from the global generator: reproducible by its seed */
    cg_manual_seed(5);
    cg_tensor *d = cg_gpt_generate_cached(m, prompt, &o);
    cg_manual_seed(5);
    cg_tensor *e = cg_gpt_generate_cached(m, prompt, &o);
    int calls = 0;
    cg_generate_options st = {.max_new_tokens = 10, .on_token = stop_at_3, .user = &calls};
    cg_tensor *s = cg_gpt_generate_cached(m, prompt, &st);
    ASSERT(a && b && c && d && e && s);
    ASSERT(cg_equal(a, b) && !cg_equal(a, c) && cg_equal(d, e));
    ASSERT_EQ(cg_size(s, 1), 6);
    ASSERT_EQ(calls, 3);
    char want[160];
    snprintf(want, sizeof want,
             "the prompt (3 tokens) and max_new_tokens (126) exceed the model's n_positions (%d)",
             POSITIONS);
    o.max_new_tokens = 126;
    ASSERT_ERROR(cg_gpt_generate_cached(m, prompt, &o), want);
    o.max_new_tokens = 1, o.top_p = 1.5;
    ASSERT_ERROR(cg_gpt_generate_cached(m, prompt, &o),
                 "invalid options: max_new_tokens >= 0, temperature finite and >= 0, top_k >= 0, "
                 "0 <= top_p <= 1");
    cg_gpt_free(m);
}

/* dir/config.json = text; dir/model.safetensors links to the model's */
static int write_config(const char *dir, const char *text) {
    char p[512], w[512];
    snprintf(p, sizeof p, "%s/config.json", dir);
    snprintf(w, sizeof w, "%s/model.safetensors", dir);
    if (access(w, F_OK) != 0) {
        char src[512];
        snprintf(src, sizeof src, "%s/model.safetensors", DIR_);
        if (symlink(src, w) != 0) return -1;
    }
    return cg_test_write_file(p, text, strlen(text));
}

#define SIZES                                                                                      \
    "\"vocab_size\": 50257, \"n_positions\": 128, \"n_head\": 4, \"layer_norm_epsilon\": 0.0001"

TEST(gpt2_config_errors) {
    ASSERT_NOT_NULL(model_dir(NULL));
    char dir[256], msg[768];
    ASSERT_EQ(temp_dir(dir, sizeof dir, "gpt2_bad"), 0);
    static const char *CASES[][2] = {
        {"{\"n_embd\": 64, " SIZES "}", "missing \"n_layer\""},
        {"{\"n_layer\": 2.5, \"n_embd\": 64, " SIZES "}",
         "\"n_layer\" must be an integer in [1, 1024]"},
        {"{\"n_layer\": 2, \"n_embd\": 66, " SIZES "}",
         "\"n_embd\" (66) must be a multiple of \"n_head\" (4)"},
        {"{\"n_layer\": 2, \"n_embd\": 64, \"activation_function\": \"relu\", " SIZES "}",
         "unsupported \"activation_function\" (cgrad's GPT-2 supports gelu_new, "
         "gelu_pytorch_tanh, gelu_fast and gelu)"},
        {"{\"n_layer\": 2, \"n_embd\": 64, \"n_inner\": 100, " SIZES "}",
         "unsupported \"n_inner\" (cgrad's GPT-2 supports null or 4 * n_embd)"},
        {"{\"n_layer\": 2, \"n_embd\": 64, \"scale_attn_by_inverse_layer_idx\": true, " SIZES "}",
         "unsupported \"scale_attn_by_inverse_layer_idx\" (cgrad's GPT-2 supports false only)"},
        {"{\"n_layer\": 2, \"n_embd\": 64, \"model_type\": \"gpt_neo\", " SIZES "}",
         "unsupported \"model_type\" (cgrad reads \"gpt2\")"},
        {"[1, 2]", "the config is not a JSON object"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        ASSERT_EQ(write_config(dir, CASES[i][0]), 0);
        snprintf(msg, sizeof msg, "%s/config.json: %s", dir, CASES[i][1]);
        ASSERT_ERROR(cg_gpt2_load_dir(dir), msg);
    }
    /* the tensors of another shape of model */
    static const char *SHAPES[][2] = {
        {"{\"n_layer\": 3, \"n_embd\": 64, " SIZES "}",
         "missing tensor \"transformer.h.2.ln_1.weight\""},
        {"{\"n_layer\": 1, \"n_embd\": 64, " SIZES "}",
         "unexpected tensor \"h.1.attn.c_attn.bias\" (not in a GPT-2 of this config.json)"},
        {"{\"n_layer\": 2, \"n_embd\": 32, " SIZES "}",
         "tensor \"transformer.wte.weight\" has shape [50257, 64], the config wants [50257, 32]"},
    };
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++) {
        ASSERT_EQ(write_config(dir, SHAPES[i][0]), 0);
        snprintf(msg, sizeof msg, "%s/model.safetensors: %s", dir, SHAPES[i][1]);
        ASSERT_ERROR(cg_gpt2_load_dir(dir), msg);
    }
    remove_dir(dir);
    snprintf(msg, sizeof msg, "%s: no model.safetensors", dir);
    ASSERT_EQ(mkdir(dir, 0700), 0);
    ASSERT_EQ(write_config(dir, "{\"n_layer\": 2, \"n_embd\": 64, " SIZES "}"), 0);
    char w[512];
    snprintf(w, sizeof w, "%s/model.safetensors", dir);
    unlink(w);
    ASSERT_ERROR(cg_gpt2_load_dir(dir), msg);
    remove_dir(dir);
}

/* a copy of the model's file, tensor name changed by edit */
static int write_weights(const char *dir, const char *drop, const char *as_int) {
    char src[512], dst[512];
    snprintf(src, sizeof src, "%s/model.safetensors", DIR_);
    snprintf(dst, sizeof dst, "%s/model.safetensors", dir);
    cg_state_dict *sd = cg_load_safetensors(src), *out = cg_state_dict_new();
    int rc = sd && out ? 0 : -1;
    for (int i = 0; rc == 0 && i < cg_state_dict_count(sd); i++) {
        const char *n = cg_state_dict_name(sd, i);
        cg_tensor *t = cg_state_dict_tensor(sd, i);
        if (strcmp(n, drop) != 0)
            rc = cg_state_dict_add(out, n, strcmp(n, as_int) ? t : cg_to(t, CG_INT64));
    }
    if (rc == 0) rc = cg_save_safetensors(dst, out);
    cg_state_dict_free(sd);
    cg_state_dict_free(out);
    return rc;
}

TEST(gpt2_checkpoint_errors) {
    ASSERT_NOT_NULL(model_dir(NULL));
    char dir[256], msg[768], cfg[512], text[4096];
    ASSERT_EQ(temp_dir(dir, sizeof dir, "gpt2_badw"), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", DIR_);
    FILE *f = fopen(cfg, "rb");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = '\0';
    ASSERT(n > 0 && n < sizeof text - 1);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    ASSERT_EQ(cg_test_write_file(cfg, text, n), 0);
    ASSERT_EQ(write_weights(dir, "h.1.mlp.c_fc.bias", ""), 0);
    snprintf(msg, sizeof msg,
             "%s/model.safetensors: missing tensor \"transformer.h.1.mlp.c_fc.bias\"", dir);
    ASSERT_ERROR(cg_gpt2_load_dir(dir), msg);
    ASSERT_EQ(write_weights(dir, "", "ln_f.bias"), 0);
    snprintf(msg, sizeof msg,
             "%s/model.safetensors: tensor \"transformer.ln_f.bias\" is not floating point", dir);
    ASSERT_ERROR(cg_gpt2_load_dir(dir), msg);
    remove_dir(dir);
}

TEST_MAIN(gpt2_hf_matches_pytorch, gpt2_save_load_roundtrip, gpt2_kv_cache_greedy_equals_recompute,
          gpt2_sampling_seeded_and_checked, gpt2_config_errors, gpt2_checkpoint_errors)
