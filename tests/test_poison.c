/* CGRAD_POISON: with the block caches off, a tensor used after its last
 * release is freed memory, so ASan reports it. A child (this program again,
 * CGRAD_POISON=1) reads a released tensor; under ASan it must die with a
 * heap-use-after-free report. Other builds have no one to catch it: there
 * the test says so and runs no child. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "test.h"

#include <sys/wait.h>

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif

/* the child's part: runs only when the parent asks (CG_POISON_CHILD=1) */
TEST(child_reads_a_released_tensor) {
    const char *e = getenv("CG_POISON_CHILD");
    if (!e || strcmp(e, "1") != 0) return;
    cg_tensor *t = cg_retain(cg_full(1, (int64_t[]){4}, 2.0, CG_FLOAT32));
    cg_release(t);
    cg_scope_end(); /* the runner's scope: the last reference goes */
    cg_scope_begin();
    volatile int64_t n = cg_numel(t); /* a use after release */
    printf("child: read numel %lld after release\n", (long long)n);
}

TEST(use_after_release_is_caught) {
#ifndef HAVE_ASAN
    printf("  skipped: not an ASan build (make test's ASan phase runs it)\n");
#else
    char self[1024], cmd[1200], out[8192];
    ASSERT_EQ(cg_test_self_path(self, sizeof self), 0);
    snprintf(cmd, sizeof cmd,
             "CG_POISON_CHILD=1 CGRAD_POISON=1 ASAN_OPTIONS=detect_leaks=0 %s child_reads 2>&1",
             self);
    ASSERT(cg_test_run(cmd, out, sizeof out) > 0); /* it exited, with an error */
    ASSERT(strstr(out, "heap-use-after-free"));
    ASSERT(!strstr(out, "child: read numel"));
#endif
}

TEST_MAIN(child_reads_a_released_tensor, use_after_release_is_caught)
