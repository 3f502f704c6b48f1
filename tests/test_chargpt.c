/* The main job, examples/chargpt, as a user runs it: a checkpoint resumes
 * training exactly (3 steps + 3 resumed steps == 6 steps, bit for bit), the
 * loss curve and samples appear, it keeps its work (checkpoints every
 * --save-every steps, on SIGINT, and never over another run's), and bad flags
 * or files get clear errors. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, kill */
#include "test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static int chargpt_path(char *path, size_t n) { return cg_test_example_path(path, n, "chargpt"); }

/* runs chargpt with args; returns its exit status, its output in out (if any) */
static int chargpt(const char *args, char *out, size_t n) {
    char exe[1100], cmd[4096];
    if (chargpt_path(exe, sizeof exe) < 0) return -1;
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", exe, args);
    return cg_test_run(cmd, out, n);
}

static const char *TINY = "--layers 1 --heads 2 --embd 16 --block 16 --batch 4 --eval-every 2 "
                          "--threads 1 --seed 7";

static int write_text(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (int i = 0; i < 60; i++)
        fprintf(f, "The quick brown fox jumps over the lazy dog %d. 静夜思：床前明月光。\n", i);
    return fclose(f);
}

TEST(resume_is_exact) {
    snprintf(dir, sizeof dir, "/tmp/cgrad_chargpt_XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(dir));
    char data[128], args[1024], out[8192];
    snprintf(data, sizeof data, "%s/text.txt", dir);
    ASSERT_EQ(write_text(data), 0);
    snprintf(args, sizeof args, "%s --data %s --steps 6 --sample 0 --out %s/a", TINY, data, dir);
    int rc = chargpt(args, out, sizeof out);
    if (rc != 0) fprintf(stderr, "%s\n", out);
    ASSERT_EQ(rc, 0);
    snprintf(args, sizeof args, "%s --data %s --steps 6 --stop-after 3 --sample 0 --out %s/b", TINY,
             data, dir);
    ASSERT_EQ(chargpt(args, NULL, 0), 0);
    snprintf(args, sizeof args,
             "%s --data %s --steps 6 --sample 40 --resume %s/b.safetensors --out %s/c", TINY, data,
             dir, dir);
    rc = chargpt(args, out, sizeof out);
    if (rc != 0) fprintf(stderr, "%s\n", out);
    ASSERT_EQ(rc, 0);
    ASSERT(strstr(out, "resuming") && strstr(out, "at step 3"));
    ASSERT_NOT_NULL(strstr(out, "---- sample (40 characters"));
    char pa[128], pc[128];
    snprintf(pa, sizeof pa, "%s/a.safetensors", dir);
    snprintf(pc, sizeof pc, "%s/c.safetensors", dir);
    cg_state_dict *a = cg_load_safetensors(pa), *c = cg_load_safetensors(pc);
    ASSERT(a && c);
    ASSERT_EQ(cg_state_dict_count(a), cg_state_dict_count(c));
    int n = cg_state_dict_count(a);
    ASSERT_GT(n, 10);
    for (int i = 0; i < n; i++) {
        const char *name = cg_state_dict_name(a, i);
        if (!cg_equal(cg_state_dict_tensor(a, i), cg_state_dict_get(c, name)))
            FAIL_("%s differs between 6 steps and 3 + 3 resumed", name);
    }
    ASSERT_STR_EQ(cg_state_dict_metadata(a, "step"), cg_state_dict_metadata(c, "step"));
    ASSERT_STR_EQ(cg_state_dict_metadata(a, "rng"), cg_state_dict_metadata(c, "rng"));
    cg_state_dict_free(a);
    cg_state_dict_free(c);
    /* the loss curve is an SVG with the curve in it */
    char svg[128];
    snprintf(svg, sizeof svg, "%s/a_loss.svg", dir);
    FILE *f = fopen(svg, "r");
    ASSERT_NOT_NULL(f);
    size_t k = fread(out, 1, sizeof out - 1, f);
    out[k] = '\0';
    fclose(f);
    ASSERT(strstr(out, "<svg") && strstr(out, "<polyline") && strstr(out, "</svg>"));
}

/* starts chargpt with args (split at spaces), its stdout and stderr into *fd */
static pid_t spawn(const char *args, int *fd) {
    static char exe[1100], copy[2048];
    char *argv[64] = {exe};
    int argc = 1, p[2];
    if (chargpt_path(exe, sizeof exe) < 0 || pipe(p) != 0) return -1;
    snprintf(copy, sizeof copy, "%s", args);
    for (char *t = strtok(copy, " "); t && argc < 63; t = strtok(NULL, " ")) argv[argc++] = t;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        execv(exe, argv);
        _exit(127);
    }
    close(p[1]);
    *fd = p[0];
    return pid;
}

/* reads fd until its output holds want (1) or ends (0) */
static int wait_for(int fd, const char *want, char *out, size_t n) {
    size_t k = 0;
    ssize_t got;
    while (k + 1 < n && (got = read(fd, out + k, n - 1 - k)) > 0) {
        out[k += (size_t)got] = '\0';
        if (strstr(out, want)) return 1;
    }
    return 0;
}

/* the step a checkpoint records, -1 if none */
static long checkpoint_step(const char *path) {
    cg_state_dict *d = cg_load_safetensors(path);
    const char *s = d ? cg_state_dict_metadata(d, "step") : NULL;
    long step = s ? strtol(s, NULL, 10) : -1;
    cg_state_dict_free(d);
    return step;
}

TEST(keeps_its_work) {
    char data[128], args[1024], out[16384], want[512], path[256];
    snprintf(data, sizeof data, "%s/text.txt", dir);
    /* --out's directory is checked before training */
    snprintf(args, sizeof args, "%s --data %s --out %s/none/x", TINY, data, dir);
    ASSERT_EQ(chargpt(args, out, sizeof out), 1);
    snprintf(want, sizeof want,
             "chargpt: cannot write to the directory %s/none of --out %s/none/x: No such file or "
             "directory\n",
             dir, dir);
    ASSERT_STR_EQ(out, want);
    /* another run's checkpoint is kept unless --force */
    snprintf(args, sizeof args, "%s --data %s --steps 1 --sample 0 --out %s/a", TINY, data, dir);
    ASSERT_EQ(chargpt(args, out, sizeof out), 1);
    snprintf(want, sizeof want,
             "chargpt: %s/a.safetensors exists (another run's checkpoint?): --resume it to "
             "continue that run, or --force to overwrite it\n",
             dir);
    ASSERT_STR_EQ(out, want);
    snprintf(path, sizeof path, "%s/a.safetensors", dir);
    ASSERT_EQ(checkpoint_step(path), 6);
    snprintf(args, sizeof args, "%s --data %s --steps 1 --sample 0 --out %s/f --force", TINY, data,
             dir);
    ASSERT_EQ(chargpt(args, NULL, 0), 0);
    /* a checkpoint every --save-every steps: SIGKILL after step 4 finds step >= 4 */
    int fd;
    snprintf(args, sizeof args, "%s --data %s --steps 100000 --save-every 2 --sample 0 --out %s/k",
             TINY, data, dir);
    pid_t pid = spawn(args, &fd);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(wait_for(fd, "step      4/", out, sizeof out), 1);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(fd);
    snprintf(path, sizeof path, "%s/k.safetensors", dir);
    long step = checkpoint_step(path);
    ASSERT(step >= 4 && step % 2 == 0);
    /* SIGINT saves after the current step and exits 128 + SIGINT */
    snprintf(args, sizeof args, "%s --data %s --steps 100000 --save-every 0 --sample 0 --out %s/i",
             TINY, data, dir);
    pid = spawn(args, &fd);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(wait_for(fd, "step      2/", out, sizeof out), 1);
    kill(pid, SIGINT);
    wait_for(fd, "\1", out, sizeof out); /* to the end */
    int st;
    waitpid(pid, &st, 0);
    close(fd);
    ASSERT(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 128 + SIGINT);
    ASSERT_NOT_NULL(strstr(out, "stopped by signal 2 after step"));
    snprintf(path, sizeof path, "%s/i.safetensors", dir);
    ASSERT_GE(checkpoint_step(path), 2);
}

/* writes 60 lines of `line` (n bytes, NULs allowed) to dir/name */
static int write_bytes(const char *name, const char *line, size_t n) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    for (int i = 0; i < 60; i++) fwrite(line, 1, n, f);
    return fclose(f);
}

TEST(vocabulary_is_exact) {
    /* a text with a NUL byte resumes; another text with a NUL byte does not */
    static const char one[] = "a NUL \0 in the quick brown fox\n", two[] = "\0xyz\n";
    ASSERT_EQ(write_bytes("nul.txt", one, sizeof one - 1), 0);
    ASSERT_EQ(write_bytes("nul2.txt", two, sizeof two - 1), 0);
    char args[1024], out[8192], want[512];
    snprintf(args, sizeof args, "%s --data %s/nul.txt --steps 2 --sample 0 --out %s/nul", TINY, dir,
             dir);
    ASSERT_EQ(chargpt(args, out, sizeof out), 0);
    snprintf(args, sizeof args,
             "%s --data %s/nul.txt --steps 3 --sample 0 --resume %s/nul.safetensors --out %s/nul",
             TINY, dir, dir, dir);
    int rc = chargpt(args, out, sizeof out);
    if (rc != 0) fprintf(stderr, "%s\n", out);
    ASSERT_EQ(rc, 0);
    ASSERT_NOT_NULL(strstr(out, "resuming"));
    snprintf(args, sizeof args,
             "%s --data %s/nul2.txt --steps 3 --sample 0 --resume %s/nul.safetensors --out %s/n2",
             TINY, dir, dir, dir);
    ASSERT_EQ(chargpt(args, out, sizeof out), 1);
    snprintf(want, sizeof want,
             "chargpt: %s/nul.safetensors was trained on another vocabulary than %s/nul2.txt's\n",
             dir, dir);
    ASSERT_STR_EQ(out, want);
}

TEST(nan_loss_is_refused) {
    /* a checkpoint with a NaN weight: training stops unless --allow-nan */
    char path[128], args[1024], out[8192], want[512];
    snprintf(path, sizeof path, "%s/a.safetensors", dir);
    cg_state_dict *d = cg_load_safetensors(path);
    ASSERT_NOT_NULL(d);
    cg_fill_(cg_state_dict_get(d, "transformer.ln_f.bias"), NAN);
    snprintf(path, sizeof path, "%s/nan.safetensors", dir);
    ASSERT_EQ(cg_save_safetensors(path, d), 0);
    cg_state_dict_free(d);
    snprintf(args, sizeof args,
             "%s --data %s/text.txt --steps 8 --sample 0 --resume %s --out %s/nn", TINY, dir, path,
             dir);
    ASSERT_EQ(chargpt(args, out, sizeof out), 1);
    snprintf(want, sizeof want,
             "chargpt: training failed: loss is nan at step 7 (--allow-nan trains on)\n");
    ASSERT_NOT_NULL(strstr(out, want));
    snprintf(args, sizeof args,
             "%s --data %s/text.txt --steps 8 --sample 0 --resume %s --out %s/nn --allow-nan", TINY,
             dir, path, dir);
    int rc = chargpt(args, out, sizeof out);
    if (rc != 0) fprintf(stderr, "%s\n", out);
    ASSERT_EQ(rc, 0);
    ASSERT_NOT_NULL(strstr(out, "loss nan | val nan"));
}

/* resumes a.safetensors with metadata key set to value; chargpt's output */
static int resume_with(const char *key, const char *value, char *out, size_t n) {
    char path[128], args[1024];
    snprintf(path, sizeof path, "%s/a.safetensors", dir);
    cg_state_dict *d = cg_load_safetensors(path);
    if (!d || cg_state_dict_set_metadata(d, key, value) != 0) return -1;
    snprintf(path, sizeof path, "%s/hostile.safetensors", dir);
    int rc = cg_save_safetensors(path, d);
    cg_state_dict_free(d);
    if (rc != 0) return -1;
    snprintf(args, sizeof args, "%s --data %s/text.txt --steps 8 --sample 0 --resume %s --out %s/h",
             TINY, dir, path, dir);
    return chargpt(args, out, n);
}

TEST(hostile_metadata) {
    /* each field has the limits of its flag; overflow and empty values are refused */
    static const struct {
        const char *key, *value, *want;
    } cases[] = {
        {"n_layer", "4294967297", "n_layer \"4294967297\" is not an integer in [1, 64]"},
        {"n_layer", "16000", "n_layer \"16000\" is not an integer in [1, 64]"},
        {"step", "-100", "step \"-100\" is not an integer in [0, 100000000]"},
        {"step", "", "step \"\" is not an integer in [0, 100000000]"},
        {"n_embd", "16x", "n_embd \"16x\" is not an integer in [1, 65536]"},
        {"n_head", "0", "n_head \"0\" is not an integer in [1, 64]"},
        {"block_size", "65537", "block_size \"65537\" is not an integer in [1, 65536]"},
        {"vocab_size", "99999999999999999999",
         "vocab_size \"99999999999999999999\" is not an integer in [1, 9223372036854775807]"},
        {"optim.steps", "-1", "optim.steps \"-1\" is not an integer in [0, 100000000]"},
        {"dropout", "2", "dropout \"2\" is not a number in [0, 0.99]"},
        {"n_head", "3", "n_embd 16 is not a multiple of its n_head 3"},
    };
    char out[4096], want[512];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ASSERT_EQ(resume_with(cases[i].key, cases[i].value, out, sizeof out), 1);
        snprintf(want, sizeof want, "chargpt: the checkpoint's %s\n", cases[i].want);
        if (!strstr(out, want)) FAIL_("%s=\"%s\": got %s", cases[i].key, cases[i].value, out);
    }
    ASSERT_EQ(resume_with("vocab_size", "3", out, sizeof out), 1);
    ASSERT_NOT_NULL(strstr(out, "was trained on another vocabulary"));
}

TEST(bounded_inputs) {
    char args[1024], out[8192];
    snprintf(args, sizeof args, "--data /dev/zero --max-data 1 --out %s/z", dir);
    ASSERT_EQ(chargpt(args, out, sizeof out), 1);
    ASSERT_STR_EQ(out, "chargpt: \"/dev/zero\" is larger than the limit of 1048576 bytes\n");
    /* a val split shorter than a block is said to be skipped */
    static const char line[] = "a short\n"; /* 60 lines: 480 characters, val 48 */
    ASSERT_EQ(write_bytes("short.txt", line, sizeof line - 1), 0);
    snprintf(args, sizeof args, "%s --data %s/short.txt --block 64 --steps 2 --sample 0 --out %s/s",
             TINY, dir, dir);
    int rc = chargpt(args, out, sizeof out);
    if (rc != 0) fprintf(stderr, "%s\n", out);
    ASSERT_EQ(rc, 0);
    ASSERT_NOT_NULL(strstr(out, "chargpt: the val split (the last 10%) has 48 characters, too few "
                                "for a block of 64: the val loss is skipped\n"));
    ASSERT_NOT_NULL(strstr(out, "| val   -    |"));
}

TEST(bad_flags_and_files) {
    char out[4096];
    ASSERT_EQ(chargpt("--steps ten", out, sizeof out), 2);
    ASSERT_STR_EQ(
        out, "chargpt: --steps ten: expected an integer in [0, 100000000] (see chargpt --help)\n");
    ASSERT_EQ(chargpt("--frobnicate", out, sizeof out), 2);
    ASSERT_STR_EQ(out, "chargpt: unknown option '--frobnicate' (see chargpt --help)\n");
    ASSERT_EQ(chargpt("--embd 30 --heads 4", out, sizeof out), 2);
    ASSERT_STR_EQ(out, "chargpt: --embd 30 is not a multiple of --heads 4\n");
    ASSERT_EQ(chargpt("--data /nonexistent/text.txt --out /tmp/cgrad_none", out, sizeof out), 1);
    ASSERT_STR_EQ(out,
                  "chargpt: cannot open \"/nonexistent/text.txt\": No such file or directory\n");
    char args[512], data[128];
    snprintf(data, sizeof data, "%s/text.txt", dir);
    snprintf(args, sizeof args, "--data %s --resume %s/none.safetensors --out %s/n", data, dir,
             dir);
    ASSERT_EQ(chargpt(args, out, sizeof out), 1);
    char want[256];
    snprintf(want, sizeof want,
             "chargpt: cannot open \"%s/none.safetensors\": No such file or directory\n", dir);
    ASSERT_STR_EQ(out, want);
    /* a checkpoint of another vocabulary */
    snprintf(args, sizeof args, "rm -f %s/other.txt; echo xyz > %s/other.txt", dir, dir);
    ASSERT_EQ(system(args), 0);
    snprintf(args, sizeof args, "%s --data %s/other.txt --resume %s/a.safetensors --out %s/o", TINY,
             dir, dir, dir);
    ASSERT_EQ(chargpt(args, out, sizeof out), 1);
    snprintf(want, sizeof want,
             "chargpt: %s/a.safetensors was trained on another vocabulary than %s/other.txt's\n",
             dir, dir);
    ASSERT_STR_EQ(out, want);
    ASSERT_EQ(chargpt("--help", out, sizeof out), 0);
    ASSERT(strstr(out, "--temperature") && strstr(out, "--top-k"));
    snprintf(args, sizeof args, "rm -rf %s", dir);
    ASSERT_EQ(system(args), 0);
}

TEST_MAIN(resume_is_exact, keeps_its_work, vocabulary_is_exact, nan_loss_is_refused,
          hostile_metadata, bounded_inputs, bad_flags_and_files)
