/* Runner behind TEST_MAIN: runs each test in a scope, checks live counts. */
#define _POSIX_C_SOURCE 200809L /* mkstemp, popen */
#include "test.h"

#include <sys/wait.h>
#include <unistd.h>

int cg_test_temp_path(char *path, size_t n, const char *name) {
    const char *dir = getenv("TMPDIR");
    snprintf(path, n, "%s/cgrad_%s_XXXXXX", dir && dir[0] ? dir : "/tmp", name);
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

int cg_test_self_path(char *path, size_t n) {
    ssize_t len = readlink("/proc/self/exe", path, n - 1);
    if (len <= 0) return -1;
    path[len] = '\0';
    return 0;
}

int cg_test_example_path(char *path, size_t n, const char *name) {
    char self[1024];
    if (cg_test_self_path(self, sizeof self) < 0) return -1;
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    int k = snprintf(path, n, "%s/../examples/%s", self, name);
    return k > 0 && (size_t)k < n ? 0 : -1;
}

int cg_test_run(const char *cmd, char *out, size_t n) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t k = 0;
    int c;
    while ((c = fgetc(p)) != EOF)
        if (out && k + 1 < n) out[k++] = (char)c;
    if (out && n) out[k] = '\0';
    int st = pclose(p);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int cg_test_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

cg_state_dict *cg_test_oracle(const char *script, const cg_state_dict *in) {
    char inp[] = "/tmp/cgrad_oracle_in_XXXXXX", outp[] = "/tmp/cgrad_oracle_out_XXXXXX";
    int fi = mkstemp(inp), fo = mkstemp(outp);
    if (fi < 0 || fo < 0) {
        fprintf(stderr, "  cannot make temporary files\n");
        return NULL;
    }
    close(fi), close(fo);
    cg_state_dict *out = NULL;
    int rc = cg_save_safetensors(inp, in);
    if (rc == 0) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "%s %s/tests/oracle/%s %s %s", CG_PYTHON, CG_SOURCE_DIR, script,
                 inp, outp);
        rc = system(cmd);
        if (rc == 0) out = cg_load_safetensors(outp);
    }
    if (!out)
        fprintf(stderr, "  the oracle %s failed (exit %d; it needs PyTorch importable by %s)\n",
                script, rc, CG_PYTHON);
    unlink(inp);
    unlink(outp);
    return out;
}

int cg_test_run_(const cg_test_case_ *cases, int n, int argc, char **argv) {
    int passed = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        if (argc > 1 && !strstr(cases[i].name, argv[1])) continue;
        long t0 = cg_live_tensors(), n0 = cg_live_nodes(), s0 = cg_live_storages();
        cg_test_failed_ = 0;
        cg_clear_error();
        cg_scope_begin();
        int depth = cg_scope_depth();
        cases[i].fn();
        while (cg_scope_depth() > depth) cg_scope_end(); /* a failed ASSERT left early */
        cg_scope_end();
        if (!cg_is_grad_enabled()) {
            fprintf(stderr, "  grad mode left disabled\n");
            cg_set_grad_enabled(true);
            cg_test_failed_ = 1;
        }
        long t1 = cg_live_tensors(), n1 = cg_live_nodes(), s1 = cg_live_storages();
        if (t1 != t0 || n1 != n0 || s1 != s0) {
            fprintf(stderr,
                    "  leak: live tensors %ld -> %ld, nodes %ld -> %ld, storages %ld -> %ld\n", t0,
                    t1, n0, n1, s0, s1);
            cg_test_failed_ = 1;
        }
        printf("%s %s\n", cg_test_failed_ ? "FAIL" : "ok  ", cases[i].name);
        fflush(stdout);
        if (cg_test_failed_)
            failed++;
        else
            passed++;
    }
    cg_root_scope_drain();
    if (cg_live_tensors() != 0 || cg_live_nodes() != 0) {
        fprintf(stderr, "live at exit: %ld tensors, %ld nodes\n", cg_live_tensors(),
                cg_live_nodes());
        failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
