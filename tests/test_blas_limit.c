/* matmul under an address space limit (ulimit -v, RLIMIT_AS): OpenBLAS's
 * constructor spins forever when its buffers do not fit, so cgrad loads it
 * only when the limit leaves room, else uses its portable GEMM. A process
 * started under a 200 MB limit and a child whose limit is lowered after
 * start both multiply correctly, and a product that does not fit is "out of
 * memory", within a timeout. Not under ASan or TSan, whose shadow memory
 * needs more address space than any such limit. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "test.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

/* A small product (checked) and one too large for the limit (refused):
 * 0 when both behave. */
static int multiply_under_limit(void) {
    cg_tensor *a = cg_ones(2, (int64_t[]){64, 64}, CG_FLOAT32);
    cg_tensor *c = cg_matmul(a, a);
    if (!c || cg_item(cg_sum(c)) != 64.0 * 64 * 64) return 1;
    cg_clear_error();
    int64_t big[2] = {8192, 8192}; /* 256 MiB each */
    cg_tensor *x = cg_ones(2, big, CG_FLOAT32), *y = cg_ones(2, big, CG_FLOAT32);
    if (cg_matmul(x, y) || !cg_last_error() || !strstr(cg_last_error(), "out of memory")) return 2;
    return 0;
}

/* the exec'd process's part: runs only when the parent asks */
TEST(child_under_limit) {
    const char *e = getenv("CG_LIMIT_CHILD");
    if (!e || strcmp(e, "1") != 0) return;
    ASSERT_EQ(multiply_under_limit(), 0);
    printf("child: matmul under the limit: ok\n");
}

TEST(a_process_started_under_200_mb) {
#ifdef SANITIZED
    printf("  skipped: a sanitizer build\n");
#else
    char self[1024], cmd[1400], out[4096];
    ASSERT_EQ(cg_test_self_path(self, sizeof self), 0);
    snprintf(cmd, sizeof cmd,
             "ulimit -v 200000 && CG_LIMIT_CHILD=1 exec timeout 60 %s child_under_limit 2>&1",
             self);
    int rc = cg_test_run(cmd, out, sizeof out); /* -1: no exit, 124: it hung (timeout) */
    if (rc != 0) fprintf(stderr, "  child said:\n%s\n", out);
    ASSERT_EQ(rc, 0);
    ASSERT(strstr(out, "child: matmul under the limit: ok"));
#endif
}

TEST(a_limit_lowered_after_start) {
#ifdef SANITIZED
    printf("  skipped: a sanitizer build\n");
#else
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        alarm(60); /* a hang dies of SIGALRM */
        struct rlimit r = {(rlim_t)300 << 20, (rlim_t)300 << 20};
        _exit(setrlimit(RLIMIT_AS, &r) == 0 ? multiply_under_limit() : 3);
    }
    int st;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT(WIFEXITED(st)); /* not killed by SIGALRM */
    ASSERT_EQ(WEXITSTATUS(st), 0);
#endif
}

TEST_MAIN(child_under_limit, a_process_started_under_200_mb, a_limit_lowered_after_start)
