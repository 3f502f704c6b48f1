/* gpt2: GPT-2 in cgrad, on Hugging Face model directories.
 *
 *     gpt2 generate --model DIR --prompt TEXT [--max-tokens N --temperature T
 *                   --top-k K --top-p P --seed S --stop STR]
 *     gpt2 train    --model DIR --data FILE [--out DIR --steps N ...]
 *     gpt2 tokenize --model DIR < text
 *     gpt2 init     --vocab DIR --out DIR [--layers N --heads N --embd N --positions N]
 *
 * A model directory holds config.json and model.safetensors (as
 * transformers' save_pretrained writes them) and GPT-2's tokenizer files
 * (vocab.json + merges.txt, or OpenAI's encoder.json + vocab.bpe). generate
 * streams the text as it is sampled (KV cache) and reports tokens/s; train
 * fine-tunes on a UTF-8 text with chargpt's progress line, loss curve and
 * exact resume, and writes a model directory; tokenize prints the ids of
 * stdin's text; init writes a GPT-2 with random weights (make gpt2-tiny). */
#define _POSIX_C_SOURCE 200809L /* fileno, isatty, clock_gettime, sigaction */
#define TRAIN_UI_NAME "gpt2"
#include "train_ui.h"

#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    const char *cmd, *model, *prompt, *stop, *data, *out, *vocab;
    int64_t max_tokens, top_k, steps, stop_after, save_every, batch, block, eval_every, eval_iters,
        max_data, sample, threads, layers, heads, embd, positions;
    double temperature, top_p, lr, dropout;
    uint64_t seed;
    bool seeded, resume, force, allow_nan;
} options;

static const range STEPS = {0, 100000000}, WIDTH = {1, 65536};

static void usage(FILE *f) {
    fprintf(
        f, "usage: gpt2 COMMAND [options]   (a model DIR: config.json, model.safetensors and\n"
           "                                 vocab.json + merges.txt, as Hugging Face saves them)\n"
           "  gpt2 generate --model DIR --prompt TEXT   sample a continuation, streamed\n"
           "      --max-tokens N (50)  --temperature T (1; 0: greedy)  --top-k K (0: all)\n"
           "      --top-p P (1: all)  --seed S (default: random)  --stop STR (stop before it)\n"
           "  gpt2 train --model DIR --data FILE        fine-tune on a UTF-8 text\n"
           "      --out DIR (gpt2-finetuned)  --steps N (200)  --batch N (4)  --block N (128)\n"
           "      --lr X (1e-4; AdamW, warm-up then cosine)  --dropout X (0)  --seed S (1337)\n"
           "      --eval-every N (50)  --eval-iters N (10)  --save-every N (100)\n"
           "      --resume (continue --out's run exactly)  --stop-after N  --force\n"
           "      --allow-nan  --max-data MiB (1024)  --sample N (100 tokens after training)\n"
           "  gpt2 tokenize --model DIR                 stdin's text -> token ids\n"
           "  gpt2 init --vocab DIR --out DIR           a GPT-2 with random weights\n"
           "      --layers N (2)  --heads N (4)  --embd N (128)  --positions N (256)\n"
           "  every command: --threads N (2)  --help\n");
}

static options defaults(void) {
    return (options){.out = "gpt2-finetuned",
                     .max_tokens = 50,
                     .temperature = 1.0,
                     .top_p = 1.0,
                     .steps = 200,
                     .batch = 4,
                     .block = 128,
                     .lr = 1e-4,
                     .eval_every = 50,
                     .eval_iters = 10,
                     .save_every = 100,
                     .max_data = 1024,
                     .sample = 100,
                     .threads = 2,
                     .layers = 2,
                     .heads = 4,
                     .embd = 128,
                     .positions = 256,
                     .seed = 1337};
}

/* one flag at argv[*i] (its value after it) into o; 0 or -1 */
static int parse_flag(char **argv, int argc, int *i, options *o) {
    const char *f = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    struct {
        const char *name;
        int64_t *field;
        range r;
    } ints[] = {{"--max-tokens", &o->max_tokens, {0, 1 << 24}},
                {"--top-k", &o->top_k, {0, 1 << 24}},
                {"--steps", &o->steps, STEPS},
                {"--stop-after", &o->stop_after, {1, STEPS.hi}},
                {"--save-every", &o->save_every, STEPS},
                {"--batch", &o->batch, WIDTH},
                {"--block", &o->block, WIDTH},
                {"--eval-every", &o->eval_every, {1, STEPS.hi}},
                {"--eval-iters", &o->eval_iters, {1, 100000}},
                {"--max-data", &o->max_data, {1, 1 << 20}},
                {"--sample", &o->sample, {0, 1 << 24}},
                {"--threads", &o->threads, {1, 1024}},
                {"--layers", &o->layers, {1, 64}},
                {"--heads", &o->heads, {1, 64}},
                {"--embd", &o->embd, WIDTH},
                {"--positions", &o->positions, WIDTH}};
    struct {
        const char *name;
        double *field, lo, hi;
    } dbls[] = {{"--temperature", &o->temperature, 0, 100},
                {"--top-p", &o->top_p, 0, 1},
                {"--lr", &o->lr, 0, 10},
                {"--dropout", &o->dropout, 0, 0.99}};
    struct {
        const char *name, **field;
    } strs[] = {{"--model", &o->model}, {"--prompt", &o->prompt}, {"--stop", &o->stop},
                {"--data", &o->data},   {"--out", &o->out},       {"--vocab", &o->vocab}};
    struct {
        const char *name;
        bool *field;
    } flags[] = {{"--resume", &o->resume}, {"--force", &o->force}, {"--allow-nan", &o->allow_nan}};
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
        if (!strcmp(f, flags[k].name)) return *flags[k].field = true, 0;
    (*i)++;
    for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++)
        if (!strcmp(f, ints[k].name)) return parse_int(f, v, ints[k].r, ints[k].field);
    for (size_t k = 0; k < sizeof dbls / sizeof dbls[0]; k++)
        if (!strcmp(f, dbls[k].name))
            return parse_double(f, v, dbls[k].lo, dbls[k].hi, dbls[k].field);
    for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++)
        if (!strcmp(f, strs[k].name)) return v ? (*strs[k].field = v, 0) : bad(f, v, "a value");
    if (!strcmp(f, "--seed")) {
        int64_t n;
        o->seeded = true;
        return parse_int(f, v, (range){0, INT64_MAX}, &n) == 0 ? (o->seed = (uint64_t)n, 0) : -1;
    }
    fprintf(stderr, "gpt2: unknown option '%s' (see gpt2 --help)\n", f);
    return -1;
}

/* 0: run; 1: --help; -1: a bad command line (message printed) */
static int parse(int argc, char **argv, options *o) {
    *o = defaults();
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return 1;
    o->cmd = argv[1];
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
        if (parse_flag(argv, argc, &i, o) < 0) return -1;
    }
    bool gen = !strcmp(o->cmd, "generate"), tok = !strcmp(o->cmd, "tokenize"),
         train = !strcmp(o->cmd, "train"), init = !strcmp(o->cmd, "init");
    if (!gen && !tok && !train && !init) {
        fprintf(stderr, "gpt2: unknown command '%s' (see gpt2 --help)\n", o->cmd);
        return -1;
    }
    const char *missing = (gen || tok || (train && !o->resume)) && !o->model ? "--model"
                          : gen && !o->prompt                                ? "--prompt"
                          : train && !o->data                                ? "--data"
                          : init && !o->vocab                                ? "--vocab"
                                                                             : NULL;
    if (missing) {
        fprintf(stderr, "gpt2 %s: %s is required (see gpt2 --help)\n", o->cmd, missing);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ model + text */

/* dir/name into buf (sized PATH) */
enum { PATH = 4096 };
static void join(char *buf, const char *dir, const char *name) {
    snprintf(buf, PATH, "%s/%s", dir, name);
}

/* a whole file (at most max bytes) in a malloc'ed buffer; NULL with a message */
static char *read_all(FILE *f, const char *name, size_t max, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || ferror(f)) break;
        if (cap >= max) {
            fprintf(stderr, "gpt2: %s is over %zu MiB (--max-data)\n", name, max >> 20);
            free(buf);
            return NULL;
        }
        char *nb = realloc(buf, (cap *= 2) + 1);
        if (!nb) free(buf);
        buf = nb;
    }
    if (!buf || ferror(f)) {
        fprintf(stderr, "gpt2: cannot read %s\n", name);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* text as token ids (special tokens such as <|endoftext|> recognised); -1 */
static int64_t encode(cg_bpe *bpe, const char *text, size_t len, int32_t **ids) {
    int64_t n = cg_bpe_encode(bpe, text, len, CG_BPE_ALLOW_SPECIAL, ids);
    if (n < 0) fprintf(stderr, "gpt2: %s\n", cg_last_error());
    return n;
}

static cg_bpe *load_tokenizer(const char *dir, const cg_gpt *m) {
    cg_bpe *bpe = cg_bpe_load_dir(dir);
    if (!bpe) {
        fprintf(stderr, "gpt2: %s\n", cg_last_error());
        return NULL;
    }
    if (m && cg_bpe_vocab_size(bpe) > cg_gpt_get_config(m)->vocab_size) {
        fprintf(stderr, "gpt2: the tokenizer of %s has %d tokens, the model %lld\n", dir,
                cg_bpe_vocab_size(bpe), (long long)cg_gpt_get_config(m)->vocab_size);
        cg_bpe_free(bpe);
        return NULL;
    }
    return bpe;
}

/* src into dst (a small file, whole) */
static int copy_file(const char *src, const char *dst) {
    FILE *in = fopen(src, "rb");
    size_t n = 0;
    char *buf = in ? read_all(in, src, (size_t)1 << 30, &n) : NULL;
    if (in) fclose(in);
    FILE *out = buf ? fopen(dst, "wb") : NULL;
    int rc = out && fwrite(buf, 1, n, out) == n ? 0 : -1;
    if (out && fclose(out) != 0) rc = -1;
    free(buf);
    if (rc) fprintf(stderr, "gpt2: cannot copy %s to %s\n", src, dst);
    return rc;
}

/* the tokenizer files of dir into out as vocab.json and merges.txt */
static int copy_tokenizer(const char *dir, const char *out) {
    static const char *FROM[2][2] = {{"vocab.json", "encoder.json"}, {"merges.txt", "vocab.bpe"}};
    char src[PATH], dst[PATH];
    for (int k = 0; k < 2; k++) {
        struct stat st;
        join(src, dir, FROM[k][0]);
        if (stat(src, &st) != 0) join(src, dir, FROM[k][1]);
        join(dst, out, FROM[k][0]);
        if (strcmp(dir, out) != 0 && copy_file(src, dst) < 0) return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- generate */

/* the streamed text: what was decoded, printed, and whether a stop string ended it */
typedef struct {
    cg_bpe *bpe;
    const char *stop;
    int32_t *ids; /* (cap) the generated tokens */
    size_t n, cap, printed;
    bool stopped;
    double t_first; /* when the first token came (the prompt's prefill) */
} stream;

/* bytes at the end of s[0, n) that may begin a longer UTF-8 character */
static size_t incomplete_utf8(const char *s, size_t n) {
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        unsigned char c = (unsigned char)s[n - k];
        if ((c & 0xc0) == 0x80) continue; /* a continuation byte */
        size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        return want > k ? k : 0;
    }
    return 0;
}

/* the length of the longest suffix of s[0, n) that begins stop */
static size_t stop_prefix(const char *s, size_t n, const char *stop) {
    size_t m = strlen(stop);
    for (size_t k = m - 1 < n ? m - 1 : n; k > 0; k--)
        if (!memcmp(s + n - k, stop, k)) return k;
    return 0;
}

/* prints what is certain of the text so far: not a part of a stop string,
 * not half a character; 1 once a stop string is found */
static int stream_print(stream *st, bool final) {
    size_t len;
    char *text = cg_bpe_decode(st->bpe, st->ids, st->n, &len);
    if (!text) return -1;
    size_t end = len;
    char *hit = st->stop && *st->stop ? strstr(text, st->stop) : NULL;
    if (hit)
        end = (size_t)(hit - text), st->stopped = true;
    else if (!final && st->stop && *st->stop)
        end -= stop_prefix(text, len, st->stop);
    if (!final && !hit) end -= incomplete_utf8(text, end);
    if (end > st->printed) fwrite(text + st->printed, 1, end - st->printed, stdout);
    if (end > st->printed) st->printed = end;
    fflush(stdout);
    free(text);
    return hit ? 1 : 0;
}

static int on_token(void *user, const int64_t *tokens, int64_t batch) {
    stream *st = user;
    (void)batch;
    if (!st->n) st->t_first = now_s();
    if (st->n == st->cap) {
        size_t cap = st->cap ? 2 * st->cap : 64;
        int32_t *ids = realloc(st->ids, cap * sizeof *ids);
        if (!ids) return 1;
        st->ids = ids, st->cap = cap;
    }
    st->ids[st->n++] = (int32_t)tokens[0];
    return stream_print(st, false) != 0 || stop_signal;
}

/* the prompt's ids (1, T); an empty prompt starts from <|endoftext|> */
static cg_tensor *prompt_ids(cg_bpe *bpe, const char *prompt) {
    int32_t *ids = NULL;
    int64_t n = encode(bpe, prompt, strlen(prompt), &ids);
    if (n < 0) return NULL;
    int64_t *wide = malloc(sizeof *wide * (size_t)(n ? n : 1));
    for (int64_t i = 0; wide && i < n; i++) wide[i] = ids[i];
    if (wide && n == 0) wide[0] = cg_bpe_token_id(bpe, "<|endoftext|>"), n = 1;
    cg_tensor *t = wide && wide[0] >= 0 ? cg_from_data(wide, CG_SHAPE(1, n), CG_INT64) : NULL;
    free(ids);
    free(wide);
    return t;
}

static int generate(const options *o) {
    cg_gpt *m = cg_gpt2_load_dir(o->model);
    cg_bpe *bpe = m ? load_tokenizer(o->model, m) : NULL;
    cg_tensor *idx = bpe ? prompt_ids(bpe, o->prompt) : NULL;
    int rc = idx ? 0 : -1;
    if (!m || !idx) fprintf(stderr, "gpt2: %s\n", cg_last_error() ? cg_last_error() : "error");
    stream st = {.bpe = bpe, .stop = o->stop};
    if (rc == 0) {
        int64_t T = cg_size(idx, 1), room = cg_gpt_get_config(m)->block_size - T;
        int64_t n = o->max_tokens < room ? o->max_tokens : room > 0 ? room : 0;
        if (n < o->max_tokens)
            fprintf(stderr, "gpt2: the model's %lld positions leave room for %lld new tokens\n",
                    (long long)cg_gpt_get_config(m)->block_size, (long long)n);
        cg_generate_options g = {.max_new_tokens = (int)n,
                                 .temperature = o->temperature,
                                 .top_k = (int)o->top_k,
                                 .top_p = o->top_p,
                                 .seeded = o->seeded,
                                 .seed = o->seed,
                                 .on_token = on_token,
                                 .user = &st};
        fputs(o->prompt, stdout);
        double t0 = now_s();
        cg_tensor *out = cg_gpt_generate_cached(m, idx, &g);
        double t1 = now_s();
        if (!out) rc = -1, fprintf(stderr, "\ngpt2: %s\n", cg_last_error());
        if (out && !st.stopped) stream_print(&st, true);
        printf("\n");
        fflush(stdout); /* the text, then the figures on stderr */
        if (out && st.n > 0)
            fprintf(stderr,
                    "gpt2: %zu tokens in %.2f s: %.1f tokens/s (prompt %lld tokens: %.2f s)\n",
                    st.n, t1 - t0, st.n > 1 ? (double)(st.n - 1) / (t1 - st.t_first) : 0,
                    (long long)T, st.t_first - t0);
    }
    free(st.ids);
    cg_bpe_free(bpe);
    cg_gpt_free(m);
    return rc;
}

/* ---------------------------------------------------------------- tokenize */

static int tokenize(const options *o) {
    cg_bpe *bpe = load_tokenizer(o->model, NULL);
    size_t len = 0;
    char *text = bpe ? read_all(stdin, "stdin", (size_t)o->max_data << 20, &len) : NULL;
    int32_t *ids = NULL;
    int64_t n = text ? encode(bpe, text, len, &ids) : -1;
    for (int64_t i = 0; i < n; i++) printf("%s%d", i ? " " : "", ids[i]);
    if (n >= 0) printf("\n");
    free(ids);
    free(text);
    cg_bpe_free(bpe);
    return n >= 0 ? 0 : -1;
}

/* -------------------------------------------------------------------- init */

static int init(const options *o) {
    if (o->embd % o->heads) {
        fprintf(stderr, "gpt2 init: --embd %lld is not a multiple of --heads %lld\n",
                (long long)o->embd, (long long)o->heads);
        return -1;
    }
    cg_bpe *bpe = load_tokenizer(o->vocab, NULL);
    if (!bpe) return -1;
    cg_gpt_config cfg = {.vocab_size = cg_bpe_vocab_size(bpe),
                         .block_size = o->positions,
                         .n_embd = o->embd,
                         .n_layer = (int)o->layers,
                         .n_head = (int)o->heads,
                         .tie_weights = true,
                         .gelu = CG_GELU_TANH};
    cg_bpe_free(bpe);
    cg_manual_seed(o->seed);
    cg_gpt *m = cg_gpt_new(&cfg);
    int rc = m && cg_gpt2_save_dir(m, o->out) == 0 ? copy_tokenizer(o->vocab, o->out) : -1;
    if (!m || rc)
        fprintf(stderr, "gpt2 init: %s\n", cg_last_error() ? cg_last_error() : "error");
    else
        printf("gpt2 init: %s: a GPT-2 of %lld parameters (%d layers, %d heads, %lld wide, "
               "%lld positions), random weights\n",
               o->out, (long long)cg_params_numel(cg_gpt_params(m)), cfg.n_layer, cfg.n_head,
               (long long)cfg.n_embd, (long long)cfg.block_size);
    cg_gpt_free(m);
    return rc;
}

#include "gpt2_train.h"

int main(int argc, char **argv) {
    options o;
    int pr = parse(argc, argv, &o);
    if (pr > 0) usage(stdout);
    if (pr) return pr > 0 ? 0 : 2;
    cg_set_num_threads((int)o.threads);
    int rc = !strcmp(o.cmd, "generate")   ? generate(&o)
             : !strcmp(o.cmd, "tokenize") ? tokenize(&o)
             : !strcmp(o.cmd, "init")     ? init(&o)
                                          : train(&o);
    cg_root_scope_drain();
    if (rc == 0 && stop_signal) return 128 + stop_signal; /* as a shell reports a signal */
    return rc == 0 ? 0 : 1;
}
