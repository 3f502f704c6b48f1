/* chargpt: train a character-level GPT on any UTF-8 text, then sample from it.
 *
 *     chargpt [--data FILE] [--steps N] ... (chargpt --help lists the flags)
 *
 * Shows a progress bar (step, train loss, val loss, tokens/s, ETA), writes a
 * checkpoint (OUT.safetensors: the weights, AdamW's state, the step, the
 * generator's state and the vocabulary, so --resume continues exactly) and a
 * loss curve (OUT_loss.svg), and prints samples. Without --data it trains on
 * cgrad's own sources and docs (the corpus the build gathers). */
#define _POSIX_C_SOURCE 200809L /* fileno, isatty, clock_gettime */
#include <cgrad.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef CG_DEFAULT_CORPUS
#define CG_DEFAULT_CORPUS "corpus.txt"
#endif

typedef struct {
    const char *data, *resume, *out;
    int64_t steps, stop_after, block, batch, embd;
    int layers, heads, threads, sample, top_k, eval_every, eval_iters;
    double lr, temperature, dropout;
    uint64_t seed;
} options;

static void usage(FILE *f) {
    fprintf(f,
            "usage: chargpt [options]\n"
            "Trains a character-level GPT on a UTF-8 text, then samples from it.\n\n"
            "  --data FILE        text to train on (default: cgrad's own sources and docs,\n"
            "                     %s)\n"
            "  --steps N          optimizer steps in all (default 500)\n"
            "  --layers N         transformer blocks (default 4)\n"
            "  --heads N          attention heads per block (default 4)\n"
            "  --embd N           embedding width, a multiple of --heads (default 128)\n"
            "  --block N          context length in characters (default 64)\n"
            "  --batch N          sequences per step (default 16)\n"
            "  --lr X             peak learning rate of AdamW (default 0.002; linear warm-up,\n"
            "                     then cosine decay to lr/10)\n"
            "  --dropout X        dropout probability (default 0)\n"
            "  --seed N           seed of the generator (default 1337)\n"
            "  --resume CKPT      continue from a checkpoint written by chargpt\n"
            "  --stop-after N     stop after step N, as if interrupted (the checkpoint lets\n"
            "                     --resume finish the same run exactly)\n"
            "  --out PREFIX       writes PREFIX.safetensors and PREFIX_loss.svg (default chargpt)\n"
            "  --eval-every N     estimate the val loss every N steps (default 100)\n"
            "  --sample N         characters to sample after training (default 400; 0: none)\n"
            "  --temperature X    sampling temperature (default 0.8; 0: greedy)\n"
            "  --top-k N          sample among the k likeliest characters (default 20; 0: all)\n"
            "  --threads N        threads for the kernels and matmul (default 2)\n"
            "  --help             this text\n",
            CG_DEFAULT_CORPUS);
}

static int bad(const char *flag, const char *value, const char *want) {
    fprintf(stderr, "chargpt: %s %s: expected %s (see chargpt --help)\n", flag,
            value ? value : "(missing)", want);
    return -1;
}

static int parse_int(const char *flag, const char *v, int64_t lo, int64_t hi, int64_t *out) {
    char *end;
    errno = 0;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || errno || *end || end == v || x < lo || x > hi) {
        char want[96];
        snprintf(want, sizeof want, "an integer in [%" PRId64 ", %" PRId64 "]", lo, hi);
        return bad(flag, v, want);
    }
    *out = x;
    return 0;
}

static int parse_double(const char *flag, const char *v, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double x = v ? strtod(v, &end) : 0;
    if (!v || errno || *end || end == v || !(x >= lo && x <= hi)) {
        char want[96];
        snprintf(want, sizeof want, "a number in [%g, %g]", lo, hi);
        return bad(flag, v, want);
    }
    *out = x;
    return 0;
}

/* 0: run; 1: --help; -1: a bad flag (message printed) */
static int parse(int argc, char **argv, options *o) {
    *o = (options){.data = CG_DEFAULT_CORPUS, .out = "chargpt", .steps = 500, .block = 64,
                   .batch = 16, .embd = 128, .layers = 4, .heads = 4, .threads = 2, .sample = 400,
                   .top_k = 20, .eval_every = 100, .eval_iters = 10, .lr = 2e-3,
                   .temperature = 0.8, .dropout = 0, .seed = 1337};
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;
        int rc = 0;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) return 1;
#define INT(name, field, lo, hi)                                                               \
    else if (!strcmp(f, name)) {                                                               \
        rc = parse_int(f, v, lo, hi, &n);                                                      \
        o->field = n;                                                                          \
        i++;                                                                                   \
    }
#define DBL(name, field, lo, hi)                                                               \
    else if (!strcmp(f, name)) {                                                               \
        rc = parse_double(f, v, lo, hi, &o->field);                                            \
        i++;                                                                                   \
    }
#define STR(name, field)                                                                       \
    else if (!strcmp(f, name)) {                                                               \
        if (!v) return bad(f, v, "a value");                                                   \
        o->field = v;                                                                          \
        i++;                                                                                   \
    }
        STR("--data", data)
        STR("--resume", resume)
        STR("--out", out)
        INT("--steps", steps, 0, 100000000)
        INT("--stop-after", stop_after, 1, 100000000)
        INT("--layers", layers, 1, 64)
        INT("--heads", heads, 1, 64)
        INT("--embd", embd, 1, 65536)
        INT("--block", block, 1, 65536)
        INT("--batch", batch, 1, 65536)
        INT("--eval-every", eval_every, 1, 100000000)
        INT("--sample", sample, 0, 100000000)
        INT("--top-k", top_k, 0, 1000000)
        INT("--threads", threads, 1, 1024)
        DBL("--lr", lr, 0, 10)
        DBL("--dropout", dropout, 0, 0.99)
        DBL("--temperature", temperature, 0, 100)
        else if (!strcmp(f, "--seed")) {
            rc = parse_int(f, v, 0, INT64_MAX, &n);
            o->seed = (uint64_t)n;
            i++;
        }
        else {
            fprintf(stderr, "chargpt: unknown option '%s' (see chargpt --help)\n", f);
            return -1;
        }
#undef INT
#undef DBL
#undef STR
        if (rc) return -1;
    }
    if (o->embd % o->heads) {
        fprintf(stderr, "chargpt: --embd %" PRId64 " is not a multiple of --heads %d\n", o->embd, o->heads);
        return -1;
    }
    return 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------ checkpoints */

static const char *CONFIG_KEYS[] = {"vocab_size", "block_size", "n_embd", "n_layer", "n_head"};

/* weights, AdamW's state (optim.exp_avg.NAME, optim.exp_avg_sq.NAME), and in
 * the metadata the configuration, the step, the generator and the vocabulary */
static int save_checkpoint(const char *path, cg_gpt *m, cg_optimizer *opt, int64_t step,
                           const cg_char_tokenizer *tok, double dropout) {
    cg_state_dict *d = cg_state_dict_new();
    cg_params *p = cg_gpt_params(m);
    char key[512], val[128];
    int rc = d ? 0 : -1;
    for (int i = 0; i < cg_params_count(p) && rc == 0; i++) {
        const char *name;
        cg_tensor *t = cg_params_get(p, i, &name);
        rc |= cg_state_dict_add(d, name, t);
        snprintf(key, sizeof key, "optim.exp_avg.%s", name);
        rc |= cg_state_dict_add(d, key, cg_optimizer_state(opt, i, 0));
        snprintf(key, sizeof key, "optim.exp_avg_sq.%s", name);
        rc |= cg_state_dict_add(d, key, cg_optimizer_state(opt, i, 1));
    }
    const cg_gpt_config *c = cg_gpt_get_config(m);
    int64_t cfg[5] = {c->vocab_size, c->block_size, c->n_embd, c->n_layer, c->n_head};
    for (int k = 0; k < 5 && rc == 0; k++) {
        snprintf(val, sizeof val, "%" PRId64, cfg[k]);
        rc |= cg_state_dict_set_metadata(d, CONFIG_KEYS[k], val);
    }
    uint64_t rng[4];
    cg_get_rng_state(rng);
    snprintf(val, sizeof val, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, rng[0],
             rng[1], rng[2], rng[3]);
    if (rc == 0) rc |= cg_state_dict_set_metadata(d, "rng", val);
    snprintf(val, sizeof val, "%" PRId64, step);
    if (rc == 0) rc |= cg_state_dict_set_metadata(d, "step", val);
    snprintf(val, sizeof val, "%" PRId64, cg_optimizer_steps(opt));
    if (rc == 0) rc |= cg_state_dict_set_metadata(d, "optim.steps", val);
    snprintf(val, sizeof val, "%.17g", dropout);
    if (rc == 0) rc |= cg_state_dict_set_metadata(d, "dropout", val);
    if (rc == 0) rc |= cg_state_dict_set_metadata(d, "vocab", cg_char_tokenizer_vocab(tok, NULL));
    if (rc == 0) rc = cg_save_safetensors(path, d);
    cg_state_dict_free(d);
    return rc;
}

static int meta_int(const cg_state_dict *d, const char *key, int64_t *out) {
    const char *v = cg_state_dict_metadata(d, key);
    char *end;
    if (!v || (*out = strtoll(v, &end, 10), *end)) {
        fprintf(stderr, "chargpt: the checkpoint has no valid '%s'\n", key);
        return -1;
    }
    return 0;
}

/* copies src into dst (same shape) without recording a graph */
static int restore(cg_tensor *dst, cg_tensor *src, const char *name) {
    if (!src) return -1;
    if (cg_numel(dst) != cg_numel(src) || cg_ndim(dst) != cg_ndim(src)) {
        fprintf(stderr, "chargpt: the checkpoint's %s has another shape\n", name);
        return -1;
    }
    cg_tensor *r = NULL;
    CG_NO_GRAD { r = cg_copy_(dst, src); }
    return r ? 0 : -1;
}

/* ------------------------------------------------------------- training */

/* the mean loss over eval_iters batches of split, in eval mode, without a
 * graph; the generator is put back so that training draws the same batches
 * whether or not it evaluates (exact resumption) */
static double estimate_loss(cg_gpt *m, const cg_text_dataset *ds, cg_data_split split,
                            const options *o) {
    uint64_t rng[4];
    cg_get_rng_state(rng);
    cg_gpt_train(m, false);
    double total = 0;
    int n = 0;
    for (int i = 0; i < o->eval_iters; i++) {
        cg_scope_begin();
        cg_tensor *x, *y, *loss = NULL;
        if (cg_text_dataset_batch(ds, split, o->batch, o->block, &x, &y) == 0) {
            CG_NO_GRAD { cg_gpt_forward(m, x, y, &loss); }
        }
        if (loss) total += cg_item(loss), n++;
        cg_scope_end();
    }
    cg_gpt_train(m, true);
    cg_set_rng_state(rng);
    return n ? total / n : NAN;
}

static void fmt_time(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 359999) s = 0;
    int t = (int)(s + 0.5);
    snprintf(buf, n, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
}

/* the progress line: on a terminal it redraws itself, elsewhere it is
 * printed every so often */
static void progress(bool tty, int64_t step, int64_t total, double loss, double val,
                     double tok_s, double eta, bool force) {
    char e[32], v[32] = "  -   ";
    fmt_time(e, sizeof e, eta);
    if (!isnan(val)) snprintf(v, sizeof v, "%.4f", val);
    int width = 24, done = total ? (int)((double)step * width / (double)total) : width;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < done ? '#' : i == done ? '>' : '.';
    bar[width] = '\0';
    if (tty) {
        printf("\rstep %6" PRId64 "/%-6" PRId64 " [%s] loss %.4f | val %s | %6.0f tok/s | ETA %s ",
               step, total, bar, loss, v, tok_s, e);
        fflush(stdout);
    } else if (force) {
        printf("step %6" PRId64 "/%-6" PRId64 " [%s] loss %.4f | val %s | %6.0f tok/s | ETA %s\n",
               step, total, bar, loss, v, tok_s, e);
        fflush(stdout);
    }
}

/* the loss curve: train loss per step (light), its running mean, and the
 * val estimates as points */
static int write_svg(const char *path, const double *train, int64_t n, const double *val_step,
                     const double *val, int nval) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(train[i])) lo = fmin(lo, train[i]), hi = fmax(hi, train[i]);
    for (int i = 0; i < nval; i++)
        if (isfinite(val[i])) lo = fmin(lo, val[i]), hi = fmax(hi, val[i]);
    if (!(hi > lo)) lo = 0, hi = 1;
    const double W = 720, H = 400, L = 60, R = 20, T = 30, B = 50;
    double xs = (W - L - R) / (double)(n > 1 ? n - 1 : 1), ys = (H - T - B) / (hi - lo);
#define X(i) (L + (double)(i) * xs)
#define Y(v) (H - B - ((v) - lo) * ys)
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
               "fill=\"white\"/>\n", W, H);
    fprintf(f, "<text x=\"%g\" y=\"18\" font-size=\"14\">chargpt: loss per step</text>\n", L);
    for (int k = 0; k <= 4; k++) { /* grid and y labels */
        double v = lo + (hi - lo) * k / 4;
        fprintf(f, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                   "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n",
                L, Y(v), W - R, Y(v), L - 6, Y(v) + 4, v);
    }
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">step (%" PRId64 " in all)</text>\n",
            (L + W - R) / 2, H - 12, n);
    fprintf(f, "<polyline fill=\"none\" stroke=\"#9ecae1\" stroke-width=\"1\" points=\"");
    for (int64_t i = 0; i < n; i++)
        if (isfinite(train[i])) fprintf(f, "%.1f,%.1f ", X(i), Y(train[i]));
    fprintf(f, "\"/>\n<polyline fill=\"none\" stroke=\"#08519c\" stroke-width=\"2\" points=\"");
    double run = NAN;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(train[i])) continue;
        run = isnan(run) ? train[i] : 0.95 * run + 0.05 * train[i];
        fprintf(f, "%.1f,%.1f ", X(i), Y(run));
    }
    fprintf(f, "\"/>\n");
    for (int i = 0; i < nval; i++)
        if (isfinite(val[i]))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#e6550d\"/>\n", X(val_step[i]),
                    Y(val[i]));
    fprintf(f, "<text x=\"%g\" y=\"%g\" fill=\"#08519c\">train (running mean)</text>\n"
               "<text x=\"%g\" y=\"%g\" fill=\"#e6550d\">val</text>\n</svg>\n",
            W - R - 220, T + 14.0, W - R - 60, T + 14.0);
#undef X
#undef Y
    return fclose(f) == 0 ? 0 : -1;
}

static void print_sample(cg_gpt *m, const cg_char_tokenizer *tok, const options *o) {
    cg_scope_begin();
    int64_t start = cg_char_tokenizer_id(tok, '\n');
    if (start < 0) start = 0;
    cg_tensor *idx = cg_full(CG_SHAPE(1, 1), (double)start, CG_INT64);
    cg_tensor *out = cg_gpt_generate(m, idx, o->sample, o->temperature, o->top_k);
    char *text = out ? cg_char_tokenizer_decode(tok, out, NULL) : NULL;
    if (text) printf("---- sample (%d characters, temperature %g, top-k %d)\n%s\n----\n", o->sample,
                     o->temperature, o->top_k, text + 1);
    else fprintf(stderr, "chargpt: sampling failed: %s\n", cg_last_error());
    free(text);
    cg_scope_end();
}

int main(int argc, char **argv) {
    options o;
    int pr = parse(argc, argv, &o);
    if (pr > 0) usage(stdout);
    if (pr) return pr > 0 ? 0 : 2;
    /* everything made here is freed at the one exit, `done` */
    int status = 1;
    cg_text_dataset *ds = NULL;
    cg_state_dict *ck = NULL;
    cg_gpt *m = NULL;
    cg_optimizer *opt = NULL;
    double *train = NULL, *val = NULL, *val_at = NULL;
    cg_set_num_threads(o.threads);
    cg_manual_seed(o.seed);
    if (!(ds = cg_text_dataset_load(o.data))) {
        fprintf(stderr, "chargpt: %s\n", cg_last_error());
        goto done;
    }
    cg_text_dataset_split(ds, 0.9);
    const cg_char_tokenizer *tok = cg_text_dataset_tokenizer(ds);
    cg_gpt_config cfg = {.vocab_size = cg_char_tokenizer_vocab_size(tok), .block_size = o.block,
                         .n_embd = o.embd, .n_layer = o.layers, .n_head = o.heads,
                         .dropout = o.dropout, .tie_weights = true};
    int64_t step0 = 0;
    if (o.resume) { /* the checkpoint's model replaces the flags' */
        ck = cg_load_safetensors(o.resume);
        int64_t v[5];
        const char *vocab = ck ? cg_state_dict_metadata(ck, "vocab") : NULL;
        if (!ck) {
            fprintf(stderr, "chargpt: %s\n", cg_last_error());
            goto done;
        }
        for (int k = 0; k < 5; k++)
            if (meta_int(ck, CONFIG_KEYS[k], &v[k]) < 0) goto done;
        if (meta_int(ck, "step", &step0) < 0) goto done;
        if (!vocab || strcmp(vocab, cg_char_tokenizer_vocab(tok, NULL)) != 0) {
            fprintf(stderr, "chargpt: %s was trained on another vocabulary than %s's\n", o.resume, o.data);
            goto done;
        }
        cfg.vocab_size = v[0], cfg.block_size = v[1], cfg.n_embd = v[2];
        cfg.n_layer = (int)v[3], cfg.n_head = (int)v[4];
        const char *dp = cg_state_dict_metadata(ck, "dropout");
        if (dp) cfg.dropout = strtod(dp, NULL);
        o.block = cfg.block_size;
    }
    if (!(m = cg_gpt_new(&cfg))) {
        fprintf(stderr, "chargpt: %s\n", cg_last_error());
        goto done;
    }
    cg_params *p = cg_gpt_params(m);
    opt = cg_adamw(cg_params_count(p), cg_params_tensors(p), o.lr, 0.9, 0.99, 1e-8, 0.1);
    if (ck) {
        char key[512];
        int rc = 0;
        int64_t osteps;
        for (int i = 0; i < cg_params_count(p) && rc == 0; i++) {
            const char *name;
            cg_tensor *t = cg_params_get(p, i, &name);
            rc |= restore(t, cg_state_dict_get(ck, name), name);
            snprintf(key, sizeof key, "optim.exp_avg.%s", name);
            rc |= restore(cg_optimizer_state(opt, i, 0), cg_state_dict_get(ck, key), key);
            snprintf(key, sizeof key, "optim.exp_avg_sq.%s", name);
            rc |= restore(cg_optimizer_state(opt, i, 1), cg_state_dict_get(ck, key), key);
        }
        const char *rng = cg_state_dict_metadata(ck, "rng");
        uint64_t st[4];
        if (rc || meta_int(ck, "optim.steps", &osteps) < 0 || !rng || strlen(rng) != 64 ||
            sscanf(rng, "%16" SCNx64 "%16" SCNx64 "%16" SCNx64 "%16" SCNx64, &st[0], &st[1], &st[2],
                   &st[3]) != 4) {
            fprintf(stderr, "chargpt: %s is not a complete chargpt checkpoint%s%s\n", o.resume,
                    cg_last_error() ? ": " : "", cg_last_error() ? cg_last_error() : "");
            goto done;
        }
        cg_optimizer_set_steps(opt, osteps);
        cg_set_rng_state(st);
    }
    printf("chargpt: %s: %" PRId64 " characters, vocabulary %" PRId64 "; GPT %d layers x %d heads x "
           "%" PRId64 " wide, block %" PRId64 ", %" PRId64 " parameters; batch %" PRId64 ", %d threads\n",
           o.data, cg_text_dataset_len(ds, CG_SPLIT_TRAIN) + cg_text_dataset_len(ds, CG_SPLIT_VAL),
           cfg.vocab_size, cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.block_size,
           cg_params_numel(p), o.batch, o.threads);
    if (step0) printf("chargpt: resuming %s at step %" PRId64 "\n", o.resume, step0);

    int64_t n = o.steps > step0 ? o.steps - step0 : 0, warmup = o.steps / 20 + 1;
    int nval = 0, maxval = (int)(n / o.eval_every) + 2;
    train = calloc((size_t)(n + 1), sizeof *train);
    val = calloc((size_t)maxval, sizeof *val), val_at = calloc((size_t)maxval, sizeof *val_at);
    if (!train || !val || !val_at) goto done;
    bool tty = isatty(fileno(stdout));
    double t0 = now_s(), last_val = NAN, last_print = 0;
    int rc = 0;
    int64_t end = o.stop_after && o.stop_after < o.steps ? o.stop_after : o.steps;
    if (end < step0) end = step0;
    n = end - step0;
    for (int64_t s = step0; s < end && rc == 0; s++) {
        cg_optimizer_set_lr(opt, cg_lr_warmup_cosine(o.lr, o.lr / 10, s, warmup, o.steps));
        cg_scope_begin();
        cg_tensor *x, *y, *loss = NULL;
        cg_optimizer_zero_grad(opt, true);
        if (cg_text_dataset_batch(ds, CG_SPLIT_TRAIN, o.batch, o.block, &x, &y) == 0)
            cg_gpt_forward(m, x, y, &loss);
        if (!loss || cg_backward(loss, NULL, false) != 0) rc = -1;
        else {
            cg_clip_grad_norm(cg_params_count(p), cg_params_tensors(p), 1.0, 2);
            rc = cg_optimizer_step(opt);
            train[s - step0] = cg_item(loss);
        }
        cg_scope_end();
        int64_t done = s - step0 + 1;
        bool last = s + 1 == end;
        if (rc == 0 && ((s + 1) % o.eval_every == 0 || last)) {
            last_val = estimate_loss(m, ds, CG_SPLIT_VAL, &o);
            val[nval] = last_val, val_at[nval++] = (double)done - 1;
        }
        double el = now_s() - t0, tok_s = (double)(done * o.batch * o.block) / el;
        bool force = last || el - last_print > 10 || (s + 1) % o.eval_every == 0;
        if (force) last_print = el;
        progress(tty, s + 1, o.steps, train[s - step0], last_val, tok_s,
                 el / (double)done * (double)(n - done), force);
    }
    if (tty) printf("\n");
    if (rc != 0) {
        fprintf(stderr, "chargpt: training failed: %s\n", cg_last_error());
        goto done;
    }
    char ckpt[1024], svg[1024];
    snprintf(ckpt, sizeof ckpt, "%s.safetensors", o.out);
    snprintf(svg, sizeof svg, "%s_loss.svg", o.out);
    if (save_checkpoint(ckpt, m, opt, end, tok, cfg.dropout) != 0) {
        fprintf(stderr, "chargpt: cannot write %s: %s\n", ckpt, cg_last_error());
        goto done;
    }
    if (n > 0 && write_svg(svg, train, n, val_at, val, nval) != 0) {
        fprintf(stderr, "chargpt: cannot write %s\n", svg);
        goto done;
    }
    printf("chargpt: %.1f s; checkpoint %s%s%s\n", now_s() - t0, ckpt, n > 0 ? ", loss curve " : "",
           n > 0 ? svg : "");
    if (o.sample > 0) print_sample(m, tok, &o);
    status = 0;
done:
    free(train);
    free(val);
    free(val_at);
    cg_state_dict_free(ck);
    cg_optimizer_free(opt);
    cg_gpt_free(m);
    cg_text_dataset_free(ds);
    cg_root_scope_drain();
    return status;
}
