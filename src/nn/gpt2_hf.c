/* Hugging Face GPT-2 model directories, both ways: config.json (GPT2Config)
 * and model.safetensors (GPT2LMHeadModel's or GPT2Model's state dict) to a
 * cg_gpt and back.
 *
 * The names are cgrad's own ("transformer.h.0.attn.c_attn.weight"), found in
 * the file with or without "transformer."; GPT-2's Conv1D keeps its weight
 * as (in, out), so the four projections of each block (attn.c_attn,
 * attn.c_proj, mlp.c_fc, mlp.c_proj) are transposed both ways. The causal
 * mask buffers (attn.bias, attn.masked_bias) are skipped, and so is
 * lm_head.weight when the head is tied. Everything else is checked: a
 * missing or unknown tensor, a wrong shape or dtype, and a config value that
 * would change the model's math are errors naming the tensor or the key. */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include "cgrad.h"
#include "init.h"

#include "../io/atomic_file.h"
#include "../io/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PATH_MAX_ 4096
static const char *PREFIX = "transformer.";

/* dir/name into buf; -1 with an error naming fn when it does not fit */
static int join(char *buf, const char *fn, const char *dir, const char *name) {
    int n = snprintf(buf, PATH_MAX_, "%s/%s", dir, name);
    if (n < 0 || n >= PATH_MAX_) {
        cg_error_in(fn, "the path %s/%s is too long", dir, name);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- config.json */

/* what a config.json says, while it is read */
typedef struct {
    const char *fn, *path;
    const cg__json *root;
} config_src;

/* key as an integer in [lo, hi] into *out; required */
static int config_int(const config_src *s, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    const cg__json *v = cg__json_get(s->root, key);
    if (!v) {
        cg_error_in(s->fn, "%s: missing \"%s\"", s->path, key);
        return -1;
    }
    if (v->type != CG__JSON_NUMBER || !v->is_int || v->integer < lo || v->integer > hi) {
        cg_error_in(s->fn, "%s: \"%s\" must be an integer in [%lld, %lld]", s->path, key,
                    (long long)lo, (long long)hi);
        return -1;
    }
    *out = v->integer;
    return 0;
}

/* key, when present, must be the boolean want (cgrad computes only that case) */
static int config_bool_is(const config_src *s, const char *key, bool want) {
    const cg__json *v = cg__json_get(s->root, key);
    if (!v) return 0;
    if (v->type != CG__JSON_BOOL || (v->boolean != 0) != want) {
        cg_error_in(s->fn, "%s: unsupported \"%s\" (cgrad's GPT-2 supports %s only)", s->path, key,
                    want ? "true" : "false");
        return -1;
    }
    return 0;
}

/* the GELU activation_function names: HF's tanh forms and the exact one */
static int config_gelu(const config_src *s, cg_gelu_approximate *out) {
    static const char *TANH[] = {"gelu_new", "gelu_pytorch_tanh", "gelu_fast"};
    const cg__json *v = cg__json_get(s->root, "activation_function");
    *out = CG_GELU_TANH; /* GPT2Config's default: gelu_new */
    if (!v) return 0;
    if (v->type == CG__JSON_STRING) {
        for (size_t i = 0; i < sizeof TANH / sizeof TANH[0]; i++)
            if (!strcmp(v->str, TANH[i])) return 0;
        if (!strcmp(v->str, "gelu")) return *out = CG_GELU_NONE, 0;
    }
    cg_error_in(s->fn,
                "%s: unsupported \"activation_function\" (cgrad's GPT-2 supports gelu_new, "
                "gelu_pytorch_tanh, gelu_fast and gelu)",
                s->path);
    return -1;
}

/* layer_norm_epsilon, tie_word_embeddings, n_inner and model_type */
static int config_optional(const config_src *s, cg_gpt_config *c) {
    const cg__json *eps = cg__json_get(s->root, "layer_norm_epsilon");
    if (eps && (eps->type != CG__JSON_NUMBER || !(eps->number > 0 && eps->number < 1))) {
        cg_error_in(s->fn, "%s: \"layer_norm_epsilon\" must be a number in (0, 1)", s->path);
        return -1;
    }
    c->layer_norm_eps = eps ? eps->number : 1e-5;
    const cg__json *tie = cg__json_get(s->root, "tie_word_embeddings");
    if (tie && tie->type != CG__JSON_BOOL) {
        cg_error_in(s->fn, "%s: \"tie_word_embeddings\" must be true or false", s->path);
        return -1;
    }
    c->tie_weights = tie ? tie->boolean : true;
    const cg__json *inner = cg__json_get(s->root, "n_inner");
    if (inner && inner->type != CG__JSON_NULL &&
        !(inner->type == CG__JSON_NUMBER && inner->is_int && inner->integer == 4 * c->n_embd)) {
        cg_error_in(s->fn,
                    "%s: unsupported \"n_inner\" (cgrad's GPT-2 supports null or 4 * n_embd)",
                    s->path);
        return -1;
    }
    const cg__json *type = cg__json_get(s->root, "model_type");
    if (type && (type->type != CG__JSON_STRING || strcmp(type->str, "gpt2") != 0)) {
        cg_error_in(s->fn, "%s: unsupported \"model_type\" (cgrad reads \"gpt2\")", s->path);
        return -1;
    }
    return 0;
}

/* the sizes, then the keys that change the math */
static int config_from_json(const config_src *s, cg_gpt_config *c) {
    int64_t v[5];
    static const char *KEYS[] = {"vocab_size", "n_positions", "n_embd", "n_layer", "n_head"};
    static const int64_t HI[] = {INT32_MAX, 1 << 24, 1 << 16, 1024, 1024};
    for (int k = 0; k < 5; k++)
        if (config_int(s, KEYS[k], 1, HI[k], &v[k]) < 0) return -1;
    *c = (cg_gpt_config){.vocab_size = v[0],
                         .block_size = v[1],
                         .n_embd = v[2],
                         .n_layer = (int)v[3],
                         .n_head = (int)v[4]};
    if (c->n_embd % c->n_head) {
        cg_error_in(s->fn, "%s: \"n_embd\" (%lld) must be a multiple of \"n_head\" (%d)", s->path,
                    (long long)c->n_embd, c->n_head);
        return -1;
    }
    if (config_optional(s, c) < 0 || config_gelu(s, &c->gelu) < 0 ||
        config_bool_is(s, "scale_attn_weights", true) < 0 ||
        config_bool_is(s, "scale_attn_by_inverse_layer_idx", false) < 0 ||
        config_bool_is(s, "add_cross_attention", false) < 0)
        return -1;
    return 0;
}

static int read_config(const char *fn, const char *path, cg_gpt_config *cfg) {
    cg__json *root = cg__json_parse_file(fn, path);
    if (!root) return -1;
    int rc = -1;
    if (root->type != CG__JSON_OBJECT)
        cg_error_in(fn, "%s: the config is not a JSON object", path);
    else
        rc = config_from_json(&(config_src){.fn = fn, .path = path, .root = root}, cfg);
    cg__json_free(root);
    return rc;
}

int cg_gpt2_read_config(const char *config_path, cg_gpt_config *cfg) {
    if (!config_path || !cfg) return -1;
    return read_config("cg_gpt2_read_config", config_path, cfg);
}

/* ----------------------------------------------------------------- tensors */

/* whether cgrad's name is a Conv1D weight in GPT-2: stored (in, out) */
static bool is_conv1d(const char *name) {
    static const char *SUFFIX[] = {"attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight",
                                   "mlp.c_proj.weight"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof SUFFIX / sizeof SUFFIX[0]; i++) {
        size_t k = strlen(SUFFIX[i]);
        if (n >= k && !strcmp(name + n - k, SUFFIX[i])) return true;
    }
    return false;
}

/* the tensor of sd under name, or under name less "transformer."; NULL, no error */
static cg_tensor *find(const cg_state_dict *sd, const char *name) {
    for (int i = 0; i < cg_state_dict_count(sd); i++) {
        const char *n = cg_state_dict_name(sd, i);
        if (!strcmp(n, name)) return cg_state_dict_tensor(sd, i);
    }
    size_t k = strlen(PREFIX);
    if (strncmp(name, PREFIX, k) != 0) return NULL;
    for (int i = 0; i < cg_state_dict_count(sd); i++)
        if (!strcmp(cg_state_dict_name(sd, i), name + k)) return cg_state_dict_tensor(sd, i);
    return NULL;
}

/* whether a file's tensor name is one cgrad may skip: a mask buffer, or the
 * tied head */
static bool skipped(const char *name, bool tied) {
    size_t n = strlen(name);
    if (tied && !strcmp(name, "lm_head.weight")) return true;
    return (n > 10 && !strcmp(name + n - 10, ".attn.bias")) ||
           (n > 17 && !strcmp(name + n - 17, ".attn.masked_bias"));
}

/* every tensor of sd is m's, or skipped */
static int check_known(const char *fn, const char *path, cg_gpt *m, const cg_state_dict *sd) {
    cg_params *p = cg_gpt_params(m);
    bool tied = cg_gpt_get_config(m)->tie_weights;
    char full[512];
    for (int i = 0; i < cg_state_dict_count(sd); i++) {
        const char *n = cg_state_dict_name(sd, i);
        bool prefixed = !strncmp(n, PREFIX, strlen(PREFIX));
        snprintf(full, sizeof full, "%s%s", prefixed ? "" : PREFIX, n);
        if (skipped(n, tied) || cg_params_find(p, n) || cg_params_find(p, full)) continue;
        cg_error_in(fn, "%s: unexpected tensor \"%s\" (not in a GPT-2 of this config.json)", path,
                    n);
        return -1;
    }
    return 0;
}

/* "[a, b]" */
static void fmt_shape(char *buf, size_t n, int nd, const int64_t *s) {
    int k = snprintf(buf, n, "[");
    for (int d = 0; d < nd && k > 0 && (size_t)k < n; d++)
        k += snprintf(buf + k, n - (size_t)k, "%s%lld", d ? ", " : "", (long long)s[d]);
    if (k > 0 && (size_t)k < n) snprintf(buf + k, n - (size_t)k, "]");
}

/* param = src (transposed for a Conv1D weight), after the checks */
static int load_one(const char *fn, const char *path, const char *name, cg_tensor *param,
                    const cg_state_dict *sd) {
    cg_tensor *src = find(sd, name);
    if (!src) {
        cg_error_in(fn, "%s: missing tensor \"%s\"", path, name);
        return -1;
    }
    bool conv = is_conv1d(name);
    int64_t want[2] = {cg_size(param, conv ? 1 : 0), cg_size(param, conv ? 0 : 1)};
    int nd = cg_ndim(param);
    if (cg_ndim(src) != nd || cg_size(src, 0) != want[0] ||
        (nd == 2 && cg_size(src, 1) != want[1])) {
        char got[128], exp[128];
        fmt_shape(got, sizeof got, cg_ndim(src), cg_shape(src));
        fmt_shape(exp, sizeof exp, nd, want);
        cg_error_in(fn, "%s: tensor \"%s\" has shape %s, the config wants %s", path, name, got,
                    exp);
        return -1;
    }
    if (cg_dtype_of(src) != CG_FLOAT32 && cg_dtype_of(src) != CG_FLOAT64) {
        cg_error_in(fn, "%s: tensor \"%s\" is not floating point", path, name);
        return -1;
    }
    cg_tensor *r = NULL;
    CG_NO_GRAD { r = cg_copy_(param, conv ? cg_t(src) : src); }
    return r ? 0 : -1;
}

/* every tensor of m from sd (path names sd in errors) */
static int load_all(const char *fn, const char *path, cg_gpt *m, const cg_state_dict *sd) {
    int rc = check_known(fn, path, m, sd);
    cg_params *p = cg_gpt_params(m);
    cg_scope_begin();
    for (int i = 0; i < cg_params_count(p) && rc == 0; i++) {
        const char *name;
        cg_tensor *t = cg_params_get(p, i, &name);
        rc = load_one(fn, path, name, t, sd);
    }
    cg_scope_end();
    return rc;
}

int cg_gpt2_load_state_dict(cg_gpt *m, const cg_state_dict *sd) {
    if (!m || !sd) return -1;
    return load_all("cg_gpt2_load_state_dict", "the state dict", m, sd);
}

/* a new model of cfg whose weights are sd's: built without a random init
 * (every weight is overwritten), so the global generator is untouched */
static cg_gpt *model_from(const char *fn, const char *path, const cg_gpt_config *cfg,
                          const cg_state_dict *sd) {
    cg__nn_skip_init = true;
    cg_gpt *m = cg_gpt_new(cfg);
    cg__nn_skip_init = false;
    if (m && load_all(fn, path, m, sd) < 0) {
        cg_gpt_free(m);
        return NULL;
    }
    return m;
}

/* the weights file: model.safetensors (a PyTorch pickle is named, not read) */
static cg_state_dict *load_weights(const char *fn, const char *dir, char *path) {
    struct stat st;
    if (join(path, fn, dir, "model.safetensors") < 0) return NULL;
    if (stat(path, &st) != 0) {
        char bin[PATH_MAX_];
        bool pickle = join(bin, fn, dir, "pytorch_model.bin") == 0 && stat(bin, &st) == 0;
        cg_error_in(fn, "%s: no model.safetensors%s", dir,
                    pickle ? " (pytorch_model.bin is a pickle, which cgrad does not read: "
                             "convert it to safetensors)"
                           : "");
        return NULL;
    }
    return cg_load_safetensors(path);
}

cg_gpt *cg_gpt2_load_dir(const char *dir) {
    static const char *fn = "cg_gpt2_load_dir";
    if (!dir) return NULL;
    char cpath[PATH_MAX_], wpath[PATH_MAX_];
    cg_gpt_config cfg;
    if (join(cpath, fn, dir, "config.json") < 0 || read_config(fn, cpath, &cfg) < 0) return NULL;
    cg_state_dict *sd = load_weights(fn, dir, wpath);
    cg_gpt *m = sd ? model_from(fn, wpath, &cfg, sd) : NULL;
    cg_state_dict_free(sd);
    return m;
}

/* ------------------------------------------------------------------ saving */

cg_state_dict *cg_gpt2_state_dict(cg_gpt *m) {
    if (!m) return NULL;
    cg_state_dict *d = cg_state_dict_new();
    cg_params *p = cg_gpt_params(m);
    int rc = d ? 0 : -1;
    cg_scope_begin();
    for (int i = 0; i < cg_params_count(p) && rc == 0; i++) {
        const char *name;
        cg_tensor *t = cg_params_get(p, i, &name);
        rc = cg_state_dict_add(d, name, is_conv1d(name) ? cg_t(t) : t); /* views, no copies */
    }
    cg_scope_end();
    if (rc == 0) rc = cg_state_dict_set_metadata(d, "format", "pt"); /* what transformers checks */
    if (rc == 0) return d;
    cg_state_dict_free(d);
    return NULL;
}

/* x as the shortest decimal that reads back as x */
static void fmt_double(char *buf, size_t n, double x) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) return;
    }
}

/* GPT2Config's JSON for c (keys sorted, as transformers writes them) */
static void write_config_json(FILE *f, const cg_gpt_config *c) {
    char eps[40], drop[40];
    fmt_double(eps, sizeof eps, c->layer_norm_eps);
    fmt_double(drop, sizeof drop, c->dropout);
    fprintf(
        f,
        "{\n  \"activation_function\": \"%s\",\n  \"architectures\": [\"GPT2LMHeadModel\"],\n"
        "  \"attn_pdrop\": 0.0,\n  \"embd_pdrop\": %s,\n  \"layer_norm_epsilon\": %s,\n"
        "  \"model_type\": \"gpt2\",\n  \"n_ctx\": %lld,\n  \"n_embd\": %lld,\n"
        "  \"n_head\": %d,\n  \"n_inner\": null,\n  \"n_layer\": %d,\n  \"n_positions\": %lld,\n"
        "  \"resid_pdrop\": %s,\n  \"scale_attn_weights\": true,\n"
        "  \"tie_word_embeddings\": %s,\n  \"torch_dtype\": \"float32\",\n"
        "  \"vocab_size\": %lld\n}\n",
        c->gelu == CG_GELU_TANH ? "gelu_new" : "gelu", drop, eps, (long long)c->block_size,
        (long long)c->n_embd, c->n_head, c->n_layer, (long long)c->block_size, drop,
        c->tie_weights ? "true" : "false", (long long)c->vocab_size);
}

static int save_config(const char *fn, const char *path, const cg_gpt_config *c) {
    cg__atomic_file a;
    if (cg__atomic_open(&a, fn, path) < 0) return -1;
    write_config_json(a.f, c);
    return cg__atomic_commit(&a, fn, ferror(a.f) ? EIO : 0);
}

int cg_gpt2_save_dir(cg_gpt *m, const char *dir) {
    static const char *fn = "cg_gpt2_save_dir";
    if (!m || !dir) return -1;
    struct stat st;
    if (mkdir(dir, 0777) != 0 && (errno != EEXIST || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        cg_error_in(fn, "cannot make the directory %s: %s", dir,
                    errno == EEXIST ? "a file has that name" : strerror(errno));
        return -1;
    }
    char cpath[PATH_MAX_], wpath[PATH_MAX_];
    if (join(cpath, fn, dir, "config.json") < 0 || join(wpath, fn, dir, "model.safetensors") < 0)
        return -1;
    cg_state_dict *d = cg_gpt2_state_dict(m);
    int rc = d ? cg_save_safetensors(wpath, d) : -1;
    cg_state_dict_free(d);
    if (rc == 0) rc = save_config(fn, cpath, cg_gpt_get_config(m));
    return rc;
}
