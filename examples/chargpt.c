/* chargpt: train a character-level GPT on any UTF-8 text, then sample from it.
 *
 *     chargpt [--data FILE] [--steps N] ... (chargpt --help lists the flags)
 *     mpirun -np 4 chargpt ...    (data-parallel: each rank trains on --batch
 *                                  sequences of each step, gradients averaged)
 *
 * Shows a progress bar (step, train loss, val loss, tokens/s, ETA), writes a
 * checkpoint (OUT.safetensors: the weights, AdamW's state, the step, the
 * generator's state and the vocabulary, so --resume continues exactly) and a
 * loss curve (OUT_loss.svg), and prints samples. Without --data it trains on
 * cgrad's own sources and docs (the corpus the build gathers). */
#define _POSIX_C_SOURCE 200809L /* fileno, isatty, clock_gettime, sigaction */
#include <cgrad.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TRAIN_UI_NAME "chargpt"
#include "train_ui.h"

#ifndef CG_DEFAULT_CORPUS
#define CG_DEFAULT_CORPUS "corpus.txt"
#endif

typedef struct {
    const char *data, *resume, *out;
    int64_t steps, stop_after, save_every, block, batch, embd, max_data;
    bool force;     /* overwrite another run's checkpoint */
    bool allow_nan; /* train on after a non-finite loss */
    int layers, heads, threads, sample, top_k, eval_every, eval_iters;
    int64_t accum; /* micro-batches per step (gradient accumulation) */
    double lr, temperature, dropout;
    uint64_t seed;
} options;

static void usage(FILE *f) {
    fprintf(f,
            "usage: chargpt [options]\n"
            "Trains a character-level GPT on a UTF-8 text, then samples from it.\n\n"
            "  --data FILE        text to train on (default: cgrad's own sources and docs,\n"
            "                     %s)\n"
            "  --max-data N       refuse a --data file over N MiB (default 1024)\n"
            "  --steps N          optimizer steps in all (default 500)\n"
            "  --layers N         transformer blocks (default 4)\n"
            "  --heads N          attention heads per block (default 4)\n"
            "  --embd N           embedding width, a multiple of --heads (default 128)\n"
            "  --block N          context length in characters (default 64)\n"
            "  --batch N          sequences per step and rank (default 16)\n"
            "  --accum N          micro-batches of --batch per step and rank, their gradients\n"
            "                     accumulated (default 1); under mpirun -np R a step trains\n"
            "                     on batch x accum x R sequences\n"
            "  --lr X             peak learning rate of AdamW (default 0.002; linear warm-up,\n"
            "                     then cosine decay to lr/10)\n"
            "  --dropout X        dropout probability (default 0)\n"
            "  --seed N           seed of the generator (default 1337)\n"
            "  --resume CKPT      continue from a checkpoint written by chargpt\n"
            "  --stop-after N     stop after step N, as if interrupted (the checkpoint lets\n"
            "                     --resume finish the same run exactly)\n"
            "  --out PREFIX       writes PREFIX.safetensors and PREFIX_loss.svg (default chargpt)\n"
            "  --save-every N     also write the checkpoint every N steps (default 100; 0: only\n"
            "                     at the end); Ctrl-C (SIGINT) or SIGTERM writes it and stops\n"
            "                     after the current step\n"
            "  --allow-nan        train on when the loss is not finite (default: stop with an\n"
            "                     error)\n"
            "  --force            overwrite an existing PREFIX.safetensors that --resume does\n"
            "                     not name (another run's checkpoint)\n"
            "  --eval-every N     estimate the val loss every N steps (default 100)\n"
            "  --sample N         characters to sample after training (default 400; 0: none)\n"
            "  --temperature X    sampling temperature (default 0.8; 0: greedy)\n"
            "  --top-k N          sample among the k likeliest characters (default 20; 0: all)\n"
            "  --threads N        threads for the kernels and matmul (default 2)\n"
            "  --help             this text\n",
            CG_DEFAULT_CORPUS);
}

static const range STEPS = {0, 100000000}, LAYERS = {1, 64}, HEADS = {1, 64},
                   WIDTH = {1, 65536}; /* --embd, --block, --batch */
static const double DROPOUT_MAX = 0.99;

/* the flags' defaults */
static options defaults(void) {
    return (options){.data = CG_DEFAULT_CORPUS,
                     .out = "chargpt",
                     .steps = 500,
                     .save_every = 100,
                     .max_data = 1024,
                     .block = 64,
                     .batch = 16,
                     .accum = 1,
                     .embd = 128,
                     .layers = 4,
                     .heads = 4,
                     .threads = 2,
                     .sample = 400,
                     .top_k = 20,
                     .eval_every = 100,
                     .eval_iters = 10,
                     .lr = 2e-3,
                     .temperature = 0.8,
                     .dropout = 0,
                     .seed = 1337};
}

/* 0: run; 1: --help; -1: a bad flag (message printed) */
static int parse(int argc, char **argv, options *o) {
    *o = defaults();
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;
        int rc = 0;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) return 1;
#define INT(name, field, lo, hi)                                                                   \
    else if (!strcmp(f, name)) {                                                                   \
        rc = parse_int(f, v, (range){lo, hi}, &n);                                                 \
        o->field = n;                                                                              \
        i++;                                                                                       \
    }
#define DBL(name, field, lo, hi)                                                                   \
    else if (!strcmp(f, name)) {                                                                   \
        rc = parse_double(f, v, lo, hi, &o->field);                                                \
        i++;                                                                                       \
    }
#define FLAG(name, field) else if (!strcmp(f, name)) o->field = true;
#define STR(name, field)                                                                           \
    else if (!strcmp(f, name)) {                                                                   \
        if (!v) return bad(f, v, "a value");                                                       \
        o->field = v;                                                                              \
        i++;                                                                                       \
    }
        FLAG("--force", force)
        FLAG("--allow-nan", allow_nan)
        STR("--data", data)
        STR("--resume", resume)
        STR("--out", out)
        INT("--steps", steps, STEPS.lo, STEPS.hi)
        INT("--stop-after", stop_after, 1, STEPS.hi)
        INT("--save-every", save_every, 0, STEPS.hi)
        INT("--max-data", max_data, 1, 1 << 20)
        INT("--layers", layers, LAYERS.lo, LAYERS.hi)
        INT("--heads", heads, HEADS.lo, HEADS.hi)
        INT("--embd", embd, WIDTH.lo, WIDTH.hi)
        INT("--block", block, WIDTH.lo, WIDTH.hi)
        INT("--batch", batch, WIDTH.lo, WIDTH.hi)
        INT("--accum", accum, 1, 4096)
        INT("--eval-every", eval_every, 1, 100000000)
        INT("--sample", sample, 0, 100000000)
        INT("--top-k", top_k, 0, 1000000)
        INT("--threads", threads, 1, 1024)
        DBL("--lr", lr, 0, 10)
        DBL("--dropout", dropout, 0, DROPOUT_MAX)
        DBL("--temperature", temperature, 0, 100)
        else if (!strcmp(f, "--seed")) {
            rc = parse_int(f, v, (range){0, INT64_MAX}, &n);
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
#undef FLAG
        if (rc) return -1;
    }
    if (o->embd % o->heads) {
        fprintf(stderr, "chargpt: --embd %" PRId64 " is not a multiple of --heads %d\n", o->embd,
                o->heads);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ a run */

/* what a run trains: the data, the model and its optimizer */
typedef struct {
    cg_text_dataset *ds;
    const cg_char_tokenizer *tok; /* owned by ds */
    cg_gpt_config cfg;
    cg_gpt *m;
    cg_optimizer *opt;          /* owned by ddp */
    cg_ddp *ddp;                /* data parallelism (one process: a world of one) */
    int64_t step0;              /* the steps already taken: 0, or the checkpoint's */
    bool val_ok;                /* the val split is longer than a block: val is estimated */
    char ckpt[4096], svg[4096]; /* --out's PREFIX.safetensors and PREFIX_loss.svg */
} run;

/* r's output paths from --out, checked before any work: the directory is
 * writable, and an existing checkpoint is the one resumed (or --force) */
static int check_out(const options *o, run *r) {
    int a = snprintf(r->ckpt, sizeof r->ckpt, "%s.safetensors", o->out);
    int b = snprintf(r->svg, sizeof r->svg, "%s_loss.svg", o->out);
    if (a < 0 || b < 0 || (size_t)a >= sizeof r->ckpt || (size_t)b >= sizeof r->svg) {
        fprintf(stderr, "chargpt: --out is too long (%zu characters)\n", strlen(o->out));
        return -1;
    }
    char dir[4096];
    const char *slash = strrchr(o->out, '/');
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", slash == o->out ? 1 : (int)(slash - o->out), o->out);
    else
        snprintf(dir, sizeof dir, ".");
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "chargpt: cannot write to the directory %s of --out %s: %s\n", dir, o->out,
                strerror(errno));
        return -1;
    }
    struct stat out, res;
    if (o->force || stat(r->ckpt, &out) != 0) return 0;
    if (o->resume && stat(o->resume, &res) == 0 && res.st_dev == out.st_dev &&
        res.st_ino == out.st_ino)
        return 0;
    fprintf(stderr,
            "chargpt: %s exists (another run's checkpoint?): --resume it to continue that run, "
            "or --force to overwrite it\n",
            r->ckpt);
    return -1;
}

static void run_free(run *r) {
    cg_ddp_free(r->ddp); /* and its optimizer, r->opt */
    cg_gpt_free(r->m);
    cg_text_dataset_free(r->ds);
}

/* ------------------------------------------------------------ distributed */
/* Data parallelism (mpirun -np N chargpt): every rank holds the model and the
 * same generator; each step rank r trains on its own rows of the step's
 * batches (cg_text_dataset_batch_rank), DDP averages the gradients, and rank
 * 0 alone prints, writes the checkpoint and the loss curve, and samples. One
 * process is a world of one. */

static bool rank0(void) { return cg_dist_rank() == 0; }

/* a signal seen by this rank, made every rank's stop_signal at the next step */
static volatile sig_atomic_t pending_signal;

static void on_signal_pending(int sig) { pending_signal = sig; }

/* MPI started; the other ranks' stdout silenced (their errors still show) */
static int dist_start(int *argc, char ***argv) {
    if (!cg_dist_launched()) return 0; /* no mpirun: one process, no MPI start-up */
    if (cg_dist_init(argc, argv) != 0) {
        fprintf(stderr, "chargpt: %s\n", cg_last_error());
        return -1;
    }
    if (!rank0() && !freopen("/dev/null", "w", stdout)) return -1;
    return 0;
}

/* with several ranks a signal waits for the ranks to agree (dist_agree), so
 * that all stop after the same step */
static void dist_catch_signals(void) {
    if (cg_dist_world_size() == 1) return;
    struct sigaction sa = {.sa_handler = on_signal_pending, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* the end of the job: a failing rank, its message printed, ends every rank
 * (none waits for it in a collective); else MPI is closed */
static void dist_end(int status) {
    if (status != 0 && status < 128 && cg_dist_world_size() > 1)
        cg_dist_abort(status, "chargpt failed (its message is above): ending every rank");
    cg_dist_finalize();
}

/* r->m wrapped for data parallelism (rank 0's weights on every rank) with AdamW */
static int dist_wrap(run *r, double lr) {
    r->ddp = cg_ddp_new(cg_gpt_params(r->m), NULL);
    if (!r->ddp || cg_ddp_adamw(r->ddp, lr, 0.9, 0.99, 1e-8, 0.1) != 0) return -1;
    r->opt = cg_ddp_optimizer(r->ddp);
    return 0;
}

/* *loss (this rank's) becomes the mean over the ranks, and a pending signal
 * on any rank every rank's stop_signal */
static int dist_agree(double *loss) {
    double v[2] = {*loss, pending_signal ? 1 : 0};
    cg_tensor *t = cg_from_data(v, CG_SHAPE(2), CG_FLOAT64);
    if (!t || cg_dist_all_reduce(t, CG_REDUCE_MEAN) != 0) return -1;
    *loss = cg_get(t, (int64_t[]){0});
    if (cg_get(t, (int64_t[]){1}) > 0 && !stop_signal)
        stop_signal = pending_signal ? pending_signal : SIGINT;
    return 0;
}

/* --accum micro-batches of this rank's rows: the gradients accumulate
 * locally (no_sync) but the last backward's, which all-reduces; *loss: their
 * mean over micro-batches and ranks. 0 or -1 */
static int dist_forward_backward(const options *o, run *r, double *loss) {
    int rank = cg_dist_rank(), world = cg_dist_world_size();
    double sum = 0;
    for (int64_t k = 0; k < o->accum; k++) {
        cg_tensor *x, *y, *l = NULL;
        cg_ddp_set_sync(r->ddp, k == o->accum - 1);
        if (cg_text_dataset_batch_rank(r->ds, CG_SPLIT_TRAIN, o->batch, o->block, rank, world, &x,
                                       &y) != 0 ||
            !(l = cg_gpt_loss(r->m, x, y)))
            return -1;
        sum += cg_item(l);
        if (cg_backward(cg_div_scalar(l, (double)o->accum), NULL, false) != 0) return -1;
    }
    *loss = sum / (double)o->accum;
    return cg_dist_world_size() > 1 ? dist_agree(loss) : 0;
}

/* the model r->cfg describes, drawn from the generator, and its AdamW */
static int new_model(run *r, double lr) {
    if (!(r->m = cg_gpt_new(&r->cfg))) {
        fprintf(stderr, "chargpt: %s\n", cg_last_error());
        return -1;
    }
    if (dist_wrap(r, lr) != 0) {
        fprintf(stderr, "chargpt: %s\n", cg_last_error());
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ checkpoints */

static const char *CONFIG_KEYS[] = {"vocab_size", "block_size", "n_embd", "n_layer", "n_head"};

/* the vocabulary as a tensor of its code points, in id order (V) */
static const char *VOCAB = "chargpt.vocab";

static int add_vocab(cg_state_dict *d, const cg_char_tokenizer *tok) {
    int64_t n = cg_char_tokenizer_vocab_size(tok);
    int64_t *cps = malloc(sizeof *cps * (size_t)(n ? n : 1));
    if (!cps) return -1;
    for (int64_t i = 0; i < n; i++) cps[i] = cg_char_tokenizer_char(tok, i);
    cg_scope_begin();
    int rc = cg_state_dict_add(d, VOCAB, cg_from_data(cps, CG_SHAPE(n), CG_INT64));
    cg_scope_end();
    free(cps);
    return rc;
}

/* whether ck was trained on tok's vocabulary, compared exactly (checkpoints
 * before chargpt.vocab: the "vocab" metadata, with its length) */
static bool same_vocab(const cg_state_dict *ck, const cg_char_tokenizer *tok) {
    int64_t n = cg_char_tokenizer_vocab_size(tok);
    cg_tensor *t = cg_state_dict_get(ck, VOCAB);
    if (!t) {
        size_t len;
        const char *mine = cg_char_tokenizer_vocab(tok, &len),
                   *v = cg_state_dict_metadata(ck, "vocab");
        return v && strlen(v) == len && memcmp(v, mine, len) == 0;
    }
    if (cg_dtype_of(t) != CG_INT64 || cg_ndim(t) != 1 || cg_numel(t) != n) return false;
    for (int64_t i = 0; i < n; i++)
        if ((int64_t)cg_get(t, (int64_t[]){i}) != cg_char_tokenizer_char(tok, i)) return false;
    return true;
}

/* weights, AdamW's state, the vocabulary, and in the metadata the
 * configuration, the step and the generator */
static int save_checkpoint(const char *path, const run *r, int64_t step) {
    cg_state_dict *d = cg_state_dict_new();
    char val[128];
    int rc = ckpt_add_state(d, cg_gpt_params(r->m), r->opt);
    const cg_gpt_config *c = cg_gpt_get_config(r->m);
    int64_t cfg[5] = {c->vocab_size, c->block_size, c->n_embd, c->n_layer, c->n_head};
    for (int k = 0; k < 5 && rc == 0; k++) {
        snprintf(val, sizeof val, "%" PRId64, cfg[k]);
        rc |= cg_state_dict_set_metadata(d, CONFIG_KEYS[k], val);
    }
    if (rc == 0) rc |= ckpt_add_progress(d, r->opt, step);
    snprintf(val, sizeof val, "%.17g", r->cfg.dropout);
    if (rc == 0) rc |= cg_state_dict_set_metadata(d, "dropout", val);
    if (rc == 0) rc |= add_vocab(d, r->tok);
    if (rc == 0) rc = cg_save_safetensors(path, d);
    cg_state_dict_free(d);
    return rc;
}

/* the metadata key of d as an integer in r, with the flags' limits */
static int meta_int(const cg_state_dict *d, const char *key, range r, int64_t *out) {
    const char *v = cg_state_dict_metadata(d, key);
    if (to_int(v, r, out) == 0) return 0;
    if (!v)
        fprintf(stderr, "chargpt: the checkpoint has no '%s'\n", key);
    else
        fprintf(stderr,
                "chargpt: the checkpoint's %s \"%.40s\" is not an integer in [%" PRId64 ", %" PRId64
                "]\n",
                key, v, r.lo, r.hi);
    return -1;
}

/* the configuration and the step ck records into r (its model replaces the
 * flags'); ck must have been trained on data's vocabulary */
static int read_config(const cg_state_dict *ck, const char *path, const char *data, run *r) {
    const range limits[5] = {{1, INT64_MAX}, WIDTH, WIDTH, LAYERS, HEADS}; /* as CONFIG_KEYS */
    int64_t v[5];
    for (int k = 0; k < 5; k++)
        if (meta_int(ck, CONFIG_KEYS[k], limits[k], &v[k]) < 0) return -1;
    if (meta_int(ck, "step", STEPS, &r->step0) < 0) return -1;
    if (v[2] % v[4]) {
        fprintf(stderr,
                "chargpt: the checkpoint's n_embd %" PRId64 " is not a multiple of its "
                "n_head %" PRId64 "\n",
                v[2], v[4]);
        return -1;
    }
    if (v[0] != cg_char_tokenizer_vocab_size(r->tok) || !same_vocab(ck, r->tok)) {
        fprintf(stderr, "chargpt: %s was trained on another vocabulary than %s's\n", path, data);
        return -1;
    }
    r->cfg.vocab_size = v[0], r->cfg.block_size = v[1], r->cfg.n_embd = v[2];
    r->cfg.n_layer = (int)v[3], r->cfg.n_head = (int)v[4];
    const char *dp = cg_state_dict_metadata(ck, "dropout");
    if (dp && to_double(dp, 0, DROPOUT_MAX, &r->cfg.dropout) < 0) {
        fprintf(stderr, "chargpt: the checkpoint's dropout \"%.40s\" is not a number in [0, %g]\n",
                dp, DROPOUT_MAX);
        return -1;
    }
    return 0;
}

/* r's weights, AdamW's state and steps, and the generator, as ck records them */
static int restore_state(const cg_state_dict *ck, const char *path, run *r) {
    int64_t osteps; /* checked here with the flags' limits, for the message */
    if (ckpt_restore_state(ck, cg_gpt_params(r->m), r->opt) != 0 ||
        meta_int(ck, "optim.steps", STEPS, &osteps) < 0 || ckpt_restore_progress(ck, r->opt) != 0) {
        fprintf(stderr, "chargpt: %s is not a complete chargpt checkpoint%s%s\n", path,
                cg_last_error() ? ": " : "", cg_last_error() ? cg_last_error() : "");
        return -1;
    }
    return 0;
}

/* save_checkpoint's inverse: r's model, its AdamW, its step and the generator
 * as path records them (r->ds and r->tok already loaded from data) */
static int load_checkpoint(const char *path, const char *data, double lr, run *r) {
    cg_state_dict *ck = cg_load_safetensors(path);
    if (!ck) {
        fprintf(stderr, "chargpt: %s\n", cg_last_error());
        return -1;
    }
    int rc = -1;
    if (read_config(ck, path, data, r) == 0 && new_model(r, lr) == 0 &&
        restore_state(ck, path, r) == 0)
        rc = 0;
    cg_state_dict_free(ck);
    return rc;
}

/* the data, then the model: the flags' new one, or --resume's */
static int setup(options *o, run *r) {
    if (!(r->ds = cg_text_dataset_load_limit(o->data, (size_t)o->max_data << 20))) {
        fprintf(stderr, "chargpt: %s\n", cg_last_error());
        return -1;
    }
    cg_text_dataset_split(r->ds, 0.9);
    r->tok = cg_text_dataset_tokenizer(r->ds);
    r->cfg = (cg_gpt_config){.vocab_size = cg_char_tokenizer_vocab_size(r->tok),
                             .block_size = o->block,
                             .n_embd = o->embd,
                             .n_layer = o->layers,
                             .n_head = o->heads,
                             .dropout = o->dropout,
                             .tie_weights = true};
    if ((o->resume ? load_checkpoint(o->resume, o->data, o->lr, r) : new_model(r, o->lr)) != 0)
        return -1;
    o->block = r->cfg.block_size;
    const cg_gpt_config *c = &r->cfg;
    printf("chargpt: %s: %" PRId64 " characters, vocabulary %" PRId64
           "; GPT %d layers x %d heads x "
           "%" PRId64 " wide, block %" PRId64 ", %" PRId64 " parameters; batch %" PRId64
           ", %d threads\n",
           o->data,
           cg_text_dataset_len(r->ds, CG_SPLIT_TRAIN) + cg_text_dataset_len(r->ds, CG_SPLIT_VAL),
           c->vocab_size, c->n_layer, c->n_head, c->n_embd, c->block_size,
           cg_params_numel(cg_gpt_params(r->m)), o->batch, o->threads);
    if (r->step0) printf("chargpt: resuming %s at step %" PRId64 "\n", o->resume, r->step0);
    int64_t nval = cg_text_dataset_len(r->ds, CG_SPLIT_VAL);
    r->val_ok = nval > o->block;
    if (!r->val_ok)
        printf("chargpt: the val split (the last 10%%) has %" PRId64
               " characters, too few for a block of %" PRId64 ": the val loss is skipped\n",
               nval, o->block);
    return 0;
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
            CG_NO_GRAD { loss = cg_gpt_loss(m, x, y); }
        }
        if (loss) total += cg_item(loss), n++;
        cg_scope_end();
    }
    cg_gpt_train(m, true);
    cg_set_rng_state(rng);
    return n ? total / n : NAN;
}

/* step s (from 0) of o->steps: one batch, one AdamW step; its loss in *loss_out */
static int train_step(const options *o, run *r, int64_t s, double *loss_out) {
    int64_t warmup = o->steps / 20 + 1;
    cg_optimizer_set_lr(r->opt, cg_lr_warmup_cosine(o->lr, o->lr / 10, s, warmup, o->steps));
    cg_scope_begin();
    cg_ddp_zero_grad(r->ddp);
    int rc = dist_forward_backward(o, r, loss_out);
    if (rc == 0 && !isfinite(*loss_out) && !o->allow_nan) {
        char l[32];
        fmt_loss(l, sizeof l, *loss_out);
        cg_error_in("chargpt", "loss is %s at step %" PRId64 " (--allow-nan trains on)", l, s + 1);
        rc = -1;
    } else if (rc == 0) {
        rc = cg_ddp_step(r->ddp, 1.0, NULL); /* wait, average, clip to norm 1, AdamW */
    }
    cg_scope_end();
    return rc;
}

/* writes r's checkpoint at step (message on failure) */
static int write_checkpoint(const run *r, int64_t step) {
    if (!rank0()) return 0;
    if (save_checkpoint(r->ckpt, r, step) == 0) return 0;
    fprintf(stderr, "chargpt: cannot write %s: %s\n", r->ckpt, cg_last_error());
    return -1;
}

/* the steps after r->step0 up to --steps (or --stop-after, or a signal), with
 * the progress line, a val estimate every --eval-every steps and after the
 * last, and a checkpoint every --save-every steps; c->n: the steps taken */
static int train(const options *o, run *r, losses *c) {
    int64_t end = o->stop_after && o->stop_after < o->steps ? o->stop_after : o->steps;
    if (end < r->step0) end = r->step0;
    int64_t n = end - r->step0;
    int maxval = (int)(n / o->eval_every) + 2;
    c->train = calloc((size_t)(n + 1), sizeof *c->train);
    c->val = calloc((size_t)maxval, sizeof *c->val);
    c->val_at = calloc((size_t)maxval, sizeof *c->val_at);
    if (!c->train || !c->val || !c->val_at) return -1;
    bool tty = isatty(fileno(stdout));
    double t0 = now_s(), last_val = NAN, last_print = 0;
    int rc = 0, save_rc = 0; /* save_rc: a periodic checkpoint's */
    for (int64_t s = r->step0; s < end && rc == 0 && save_rc == 0 && !stop_signal; s++) {
        int64_t done = s - r->step0 + 1;
        bool last = s + 1 == end;
        rc = train_step(o, r, s, &c->train[done - 1]);
        if (rc == 0) c->n = done;
        if (rc == 0 && r->val_ok && ((s + 1) % o->eval_every == 0 || last || stop_signal)) {
            last_val = estimate_loss(r->m, r->ds, CG_SPLIT_VAL, o);
            c->val[c->nval] = last_val, c->val_at[c->nval++] = (double)done - 1;
        }
        if (rc == 0 && o->save_every && (s + 1) % o->save_every == 0 && !last && !stop_signal)
            save_rc = write_checkpoint(r, s + 1);
        double el = now_s() - t0,
               tok_s = (double)(done * o->batch * o->block * o->accum * cg_dist_world_size()) / el;
        bool force = last || stop_signal || el - last_print > 10 || (s + 1) % o->eval_every == 0;
        if (force) last_print = el;
        progress(tty, &(progress_line){.step = s + 1,
                                       .world = cg_dist_world_size(),
                                       .total = o->steps,
                                       .loss = c->train[done - 1],
                                       .val = last_val,
                                       .has_val = c->nval > 0,
                                       .tok_s = tok_s,
                                       .eta = el / (double)done * (double)(n - done),
                                       .force = force});
    }
    if (tty) printf("\n");
    if (save_rc != 0) return -1;
    if (rc != 0) {
        fprintf(stderr, "chargpt: training failed: %s\n", cg_last_error());
        return -1;
    }
    return 0;
}

/* --------------------------------------------------------------- outputs */

/* the loss curve written beside path, then renamed over it (atomic) */
static int dist_write_svg(const char *path, const losses *c, int64_t step0) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    if (write_svg(tmp, c, step0) == 0 && rename(tmp, path) == 0) return 0;
    remove(tmp);
    return -1;
}

/* OUT.safetensors and, when steps ran, OUT_loss.svg */
static int save_outputs(const run *r, const losses *c, double t0) {
    if (write_checkpoint(r, r->step0 + c->n) != 0) return -1;
    if (c->n > 0 && dist_write_svg(r->svg, c, r->step0) != 0) {
        fprintf(stderr, "chargpt: cannot write %s\n", r->svg);
        return -1;
    }
    printf("chargpt: %.1f s; checkpoint %s%s%s\n", now_s() - t0, r->ckpt,
           c->n > 0 ? ", loss curve " : "", c->n > 0 ? r->svg : "");
    if (stop_signal)
        printf("chargpt: stopped by signal %d after step %" PRId64 "; --resume %s continues\n",
               (int)stop_signal, r->step0 + c->n, r->ckpt);
    return 0;
}

static void sample(cg_gpt *m, const cg_char_tokenizer *tok, const options *o) {
    cg_scope_begin();
    int64_t start = cg_char_tokenizer_id(tok, '\n');
    if (start < 0) start = 0;
    cg_tensor *idx = cg_full(CG_SHAPE(1, 1), (double)start, CG_INT64);
    cg_tensor *out = cg_gpt_generate(m, idx, o->sample, o->temperature, o->top_k);
    char *text = out ? cg_char_tokenizer_decode(tok, out, NULL) : NULL;
    if (text)
        printf("---- sample (%d characters, temperature %g, top-k %d)\n%s\n----\n", o->sample,
               o->temperature, o->top_k, text + 1);
    else
        fprintf(stderr, "chargpt: sampling failed: %s\n", cg_last_error());
    free(text);
    cg_scope_end();
}

int main(int argc, char **argv) {
    options o;
    if (dist_start(&argc, &argv) != 0) return 1;
    int pr = parse(argc, argv, &o);
    if (pr > 0) usage(stdout);
    if (pr) return dist_end(pr > 0 ? 0 : 2), pr > 0 ? 0 : 2;
    cg_set_num_threads(o.threads);
    cg_manual_seed(o.seed);
    run r = {0};
    losses c = {0};
    int status = 1;
    if (check_out(&o, &r) == 0 && setup(&o, &r) == 0) {
        double t0 = now_s();
        catch_signals();
        dist_catch_signals();
        if (train(&o, &r, &c) == 0 && (!rank0() || save_outputs(&r, &c, t0) == 0)) {
            if (o.sample > 0 && !stop_signal && rank0()) sample(r.m, r.tok, &o);
            status = stop_signal ? 128 + stop_signal : 0; /* as a shell reports a signal */
        }
    }
    free(c.train);
    free(c.val);
    free(c.val_at);
    run_free(&r);
    cg_root_scope_drain();
    dist_end(status);
    return status;
}
