/* The main job, examples/chargpt, as a user runs it: a checkpoint resumes
 * training exactly (3 steps + 3 resumed steps == 6 steps, bit for bit), the
 * loss curve and samples appear, and bad flags or files get clear errors. */
#define _POSIX_C_SOURCE 200809L /* popen, mkdtemp */
#include "test.h"

#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

/* runs chargpt (built beside this test: ../examples/chargpt) with args;
 * returns its exit status, its output in out (if any) */
static int chargpt(const char *args, char *out, size_t n) {
    char self[1024], cmd[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return -1;
    self[len] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    snprintf(cmd, sizeof cmd, "%s/../examples/chargpt %s 2>&1", self, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t k = 0;
    int c;
    while ((c = fgetc(p)) != EOF)
        if (out && k + 1 < n) out[k++] = (char)c;
    if (out) out[k] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
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

TEST(bad_flags_and_files) {
    char out[4096];
    ASSERT_EQ(chargpt("--steps ten", out, sizeof out), 2);
    ASSERT_STR_EQ(
        out, "chargpt: --steps ten: expected an integer in [0, 100000000] (see chargpt --help)\n");
    ASSERT_EQ(chargpt("--frobnicate", out, sizeof out), 2);
    ASSERT_STR_EQ(out, "chargpt: unknown option '--frobnicate' (see chargpt --help)\n");
    ASSERT_EQ(chargpt("--embd 30 --heads 4", out, sizeof out), 2);
    ASSERT_STR_EQ(out, "chargpt: --embd 30 is not a multiple of --heads 4\n");
    ASSERT_EQ(chargpt("--data /nonexistent/text.txt", out, sizeof out), 1);
    ASSERT_STR_EQ(out,
                  "chargpt: cannot open \"/nonexistent/text.txt\": No such file or directory\n");
    char args[512], data[128];
    snprintf(data, sizeof data, "%s/text.txt", dir);
    snprintf(args, sizeof args, "--data %s --resume %s/none.safetensors", data, dir);
    ASSERT_EQ(chargpt(args, out, sizeof out), 1);
    char want[256];
    snprintf(want, sizeof want,
             "chargpt: cannot open \"%s/none.safetensors\": No such file or directory\n", dir);
    ASSERT_STR_EQ(out, want);
    /* a checkpoint of another vocabulary */
    snprintf(args, sizeof args, "rm -f %s/other.txt; echo xyz > %s/other.txt", dir, dir);
    ASSERT_EQ(system(args), 0);
    snprintf(args, sizeof args, "%s --data %s/other.txt --resume %s/a.safetensors", TINY, dir, dir);
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

TEST_MAIN(resume_is_exact, bad_flags_and_files)
