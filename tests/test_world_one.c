/* The distributed API in one process (any build, no launcher): a world of
 * one, collectives as the identity, DDP as plain training; built without
 * MPI, a launch as one of several processes is refused. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "test.h"

#include <stdlib.h>

TEST(world_of_one) {
    ASSERT_EQ(cg_dist_world_size(), 1);
    ASSERT_EQ(cg_dist_rank(), 0);
    cg_tensor *t = cg_arange(0, 4, 1, CG_FLOAT64);
    ASSERT_EQ(cg_dist_all_reduce(t, CG_REDUCE_MEAN), 0);
    ASSERT(cg_equal(t, cg_arange(0, 4, 1, CG_FLOAT64)));
    ASSERT_EQ(cg_dist_broadcast(t, 0), 0);
    ASSERT_EQ(cg_dist_barrier(), 0);
}

/* DDP (and ZeRO-1) on one process trains as cg_adamw does */
TEST(ddp_one_process) {
    for (int flags = 0; flags <= CG_DDP_ZERO1; flags += CG_DDP_ZERO1) {
        cg_scope_begin();
        cg_params *p = cg_params_new(), *q = cg_params_new();
        cg_manual_seed(1);
        cg_tensor *a = cg_params_add(p, "w",
                                     cg_randn(CG_SHAPE(3, 2), CG_FLOAT64 | CG_REQUIRES_GRAD));
        cg_tensor *b = cg_params_add(q, "w", cg_requires_grad_(cg_clone(cg_detach(a)), true));
        cg_ddp *d = cg_ddp_new(p, &(cg_ddp_options){.flags = flags});
        ASSERT_EQ(cg_ddp_adamw(d, 0.1, 0.9, 0.999, 1e-8, 0.01), 0);
        cg_optimizer *o = cg_adamw(1, &b, 0.1, 0.9, 0.999, 1e-8, 0.01);
        for (int s = 0; s < 5; s++) {
            cg_ddp_zero_grad(d);
            cg_optimizer_zero_grad(o, true);
            cg_backward(cg_sum(cg_pow_scalar(a, 3)), NULL, false);
            cg_backward(cg_sum(cg_pow_scalar(b, 3)), NULL, false);
            ASSERT_EQ(cg_ddp_step(d, 0, NULL), 0);
            cg_optimizer_step(o);
        }
        ASSERT(cg_equal(a, b));
        cg_optimizer_free(o);
        cg_ddp_free(d);
        cg_params_free(p);
        cg_params_free(q);
        cg_scope_end();
    }
}

TEST(several_processes_need_mpi) {
    if (cg_dist_has_mpi()) return; /* an MPI build starts under any launcher */
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    ASSERT_EQ(cg_dist_init(NULL, NULL), -1);
    unsetenv("OMPI_COMM_WORLD_SIZE");
    ASSERT(strstr(cg_last_error(), "cgrad was built without MPI, so it cannot run as one of 2 "
                                   "processes"));
    cg_clear_error();
    ASSERT_EQ(cg_dist_init(NULL, NULL), 0);
    ASSERT_EQ(cg_dist_world_size(), 1);
    ASSERT_EQ(cg_dist_finalize(), 0);
}

TEST_MAIN(world_of_one, ddp_one_process, several_processes_need_mpi)
