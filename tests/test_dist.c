/* Data parallelism over MPI (run by ctest under mpiexec at 2 and 3 ranks):
 * the collectives, DDP's gradients and training against one process on the
 * whole batch, ZeRO-1 against DDP, no_sync, unused parameters, rank-aware
 * batches. */
#include "dist_util.h"

TEST(collectives) {
    dist_setup();
    int w = cg_dist_world_size(), r = cg_dist_rank();
    ASSERT_GE(w, 1);
    ASSERT(cg_dist_has_mpi());
    cg_tensor *t = cg_full(CG_SHAPE(5), r + 1, CG_FLOAT64);
    ASSERT_EQ(cg_dist_all_reduce(t, CG_REDUCE_SUM), 0);
    ASSERT_EQ(cg_item(cg_sum(t)), 5.0 * w * (w + 1) / 2);
    cg_tensor *m = cg_full(CG_SHAPE(2, 3), r + 1, CG_FLOAT32);
    ASSERT_EQ(cg_dist_all_reduce(m, CG_REDUCE_MEAN), 0);
    ASSERT_NEAR(cg_item(cg_mean(m)), (w + 1) / 2.0, 1e-6);
    cg_tensor *i = cg_full(CG_SHAPE(3), r, CG_INT64);
    ASSERT_EQ(cg_dist_all_reduce(i, CG_REDUCE_SUM), 0);
    ASSERT_EQ(cg_item(cg_max(i)), w * (w - 1) / 2.0);
    cg_tensor *b = cg_full(CG_SHAPE(4), r == 0 ? 42 : r, CG_FLOAT32);
    ASSERT_EQ(cg_dist_broadcast(b, 0), 0);
    ASSERT_EQ(cg_item(cg_min(b)), 42.0);
    ASSERT_EQ(cg_dist_barrier(), 0);
    ASSERT_ERROR(cg_dist_all_reduce(cg_ones(CG_SHAPE(2), CG_BOOL), CG_REDUCE_SUM),
                 "torch.bool tensors are not supported");
    ASSERT_ERROR(cg_dist_all_reduce(cg_t(cg_ones(CG_SHAPE(2, 3), 0)), CG_REDUCE_SUM),
                 "expected a contiguous tensor");
    ASSERT_ERROR(cg_dist_all_reduce(i, CG_REDUCE_MEAN),
                 "the mean of a torch.int64 tensor is not supported");
    char msg[96];
    snprintf(msg, sizeof msg, "root %d is not a rank of a world of %d", w, w);
    ASSERT_ERROR(cg_dist_broadcast(b, w), msg);
}

TEST(broadcast_params) {
    dist_setup();
    mlp a = mlp_new(CG_FLOAT32, 5, false), ref = mlp_new(CG_FLOAT32, 5, true);
    ASSERT_EQ(cg_dist_broadcast_params(a.p), 0);
    ASSERT_EQ(max_param_diff(&a, &ref, false), 0.0);
    cg_params_free(a.p);
    cg_params_free(ref.p);
}

/* float64: DDP's averaged gradients are one process's on the whole batch */
TEST(ddp_grads_equal_full_batch) {
    dist_setup();
    const int64_t per = 5;
    mlp a = mlp_new(CG_FLOAT64, 11, false), ref = mlp_new(CG_FLOAT64, 11, true);
    /* tiny buckets: one parameter or two each, so several all-reduces overlap */
    cg_ddp *d = cg_ddp_new(a.p,
                           &(cg_ddp_options){.bucket_cap_bytes = 600, .first_bucket_bytes = 64});
    ASSERT_NOT_NULL(d);
    ASSERT_GE(cg_ddp_num_buckets(d), 3);
    for (int step = 0; step < 3; step++) {
        cg_tensor *x, *y;
        global_batch(CG_FLOAT64, step, per * cg_dist_world_size(), &x, &y);
        cg_ddp_zero_grad(d);
        cg_params_zero_grad(ref.p, true);
        ASSERT_EQ(cg_backward(mlp_loss(&a, my_rows(x, per), my_rows(y, per)), NULL, false), 0);
        ASSERT_EQ(cg_ddp_finish(d), 0);
        ASSERT_EQ(cg_backward(mlp_loss(&ref, x, y), NULL, false), 0);
        ASSERT_LE(max_param_diff(&a, &ref, true), 1e-12);
        ASSERT(same_on_all_ranks(cg_grad(a.w1)));
    }
    cg_ddp_stats s = cg_ddp_get_stats(d);
    ASSERT_EQ(s.steps, 3);
    ASSERT_EQ(s.buckets, 3 * cg_ddp_num_buckets(d));
    cg_ddp_free(d);
    cg_params_free(a.p);
    cg_params_free(ref.p);
}

/* trains a with DDP (flags) and ref alone on the whole batch, 20 AdamW steps */
static void train_pair(mlp *a, mlp *ref, cg_dtype dt, int flags, double max_norm) {
    const int64_t per = 4;
    cg_ddp *d = cg_ddp_new(a->p, &(cg_ddp_options){.bucket_cap_bytes = 400, .flags = flags});
    cg_ddp_adamw(d, 1e-2, 0.9, 0.999, 1e-8, 0.01);
    cg_optimizer *o = ref ? cg_adamw(cg_params_count(ref->p), cg_params_tensors(ref->p), 1e-2, 0.9,
                                     0.999, 1e-8, 0.01)
                          : NULL;
    for (int step = 0; step < 20; step++) {
        cg_scope_begin();
        cg_tensor *x, *y;
        global_batch(dt, step, per * cg_dist_world_size(), &x, &y);
        cg_ddp_zero_grad(d);
        cg_backward(mlp_loss(a, my_rows(x, per), my_rows(y, per)), NULL, false);
        if (cg_ddp_step(d, max_norm, NULL) != 0) FAIL_("%s", cg_last_error());
        if (o) {
            cg_optimizer_zero_grad(o, true);
            cg_backward(mlp_loss(ref, x, y), NULL, false);
            if (max_norm > 0)
                cg_clip_grad_norm(cg_params_count(ref->p), cg_params_tensors(ref->p), max_norm, 2);
            cg_optimizer_step(o);
        }
        cg_scope_end();
    }
    cg_optimizer_free(o);
    cg_ddp_free(d);
}

TEST(ddp_adamw_matches_one_process) {
    dist_setup();
    mlp a = mlp_new(CG_FLOAT32, 21, false), ref = mlp_new(CG_FLOAT32, 21, true);
    train_pair(&a, &ref, CG_FLOAT32, 0, 0);
    for (int i = 0; i < cg_params_count(a.p); i++)
        ASSERT(same_on_all_ranks(cg_params_get(a.p, i, NULL)));
    ASSERT_LE(max_param_diff(&a, &ref, false), 2e-5);
    mlp init = mlp_new(CG_FLOAT32, 21, true);
    double moved = max_param_diff(&a, &init, false);
    cg_params_free(init.p);
    ASSERT_GT(moved, 1e-2); /* it trained */
    cg_params_free(a.p);
    cg_params_free(ref.p);
}

TEST(zero1_matches_ddp) {
    dist_setup();
    mlp a = mlp_new(CG_FLOAT64, 31, false), z = mlp_new(CG_FLOAT64, 31, false);
    train_pair(&a, NULL, CG_FLOAT64, 0, 0.5);
    train_pair(&z, NULL, CG_FLOAT64, CG_DDP_ZERO1, 0.5);
    ASSERT_LE(max_param_diff(&a, &z, false), 1e-12);
    for (int i = 0; i < cg_params_count(z.p); i++)
        ASSERT(same_on_all_ranks(cg_params_get(z.p, i, NULL)));
    /* AdamW's state: 1/world of DDP's (up to the shards' padding) */
    cg_ddp *d = cg_ddp_new(a.p, NULL),
           *dz = cg_ddp_new(z.p, &(cg_ddp_options){.flags = CG_DDP_ZERO1});
    cg_ddp_adamw(d, 1e-3, 0.9, 0.999, 1e-8, 0);
    cg_ddp_adamw(dz, 1e-3, 0.9, 0.999, 1e-8, 0);
    double full = cg_ddp_get_stats(d).optim_state_bytes,
           shard = cg_ddp_get_stats(dz).optim_state_bytes;
    ASSERT_EQ(full, 2.0 * 8 * (double)cg_params_numel(a.p));
    ASSERT_LE(shard, full / cg_dist_world_size() + 2 * 8 * cg_dist_world_size());
    cg_ddp_free(d);
    cg_ddp_free(dz);
    cg_params_free(a.p);
    cg_params_free(z.p);
}

/* no_sync over k micro-batches, then one all-reduce: one large batch's gradient */
TEST(no_sync_accumulates) {
    dist_setup();
    const int64_t per = 3, k = 3;
    int w = cg_dist_world_size();
    mlp a = mlp_new(CG_FLOAT64, 41, false), ref = mlp_new(CG_FLOAT64, 41, true);
    cg_ddp *d = cg_ddp_new(a.p, NULL);
    cg_tensor *x, *y; /* rows: micro-batch m of rank r at (m * w + r) * per */
    global_batch(CG_FLOAT64, 9, per * w * k, &x, &y);
    for (int m = 0; m < k; m++) {
        cg_ddp_set_sync(d, m == k - 1);
        int64_t at = ((int64_t)m * w + cg_dist_rank()) * per;
        cg_tensor *loss = mlp_loss(&a, cg_contiguous(cg_narrow(x, 0, at, per)),
                                   cg_contiguous(cg_narrow(y, 0, at, per)));
        ASSERT_EQ(cg_backward(cg_div_scalar(loss, (double)k), NULL, false), 0);
    }
    ASSERT_EQ(cg_ddp_finish(d), 0);
    ASSERT_EQ(cg_backward(mlp_loss(&ref, x, y), NULL, false), 0);
    ASSERT_LE(max_param_diff(&a, &ref, true), 1e-12);
    ASSERT_ERROR((cg_ddp_set_sync(d, false), cg_ddp_step(d, 0, NULL)),
                 "no optimizer: call cg_ddp_adamw first");
    cg_ddp_adamw(d, 1e-3, 0.9, 0.999, 1e-8, 0);
    ASSERT_ERROR(cg_ddp_step(d, 0, NULL), "the gradients are not synchronized "
                                          "(cg_ddp_set_sync(d, false), no_sync)");
    cg_ddp_free(d);
    cg_params_free(a.p);
    cg_params_free(ref.p);
}

/* a parameter only rank 0 uses, and one nobody uses: no deadlock; with
 * find_unused the latter keeps None */
TEST(unused_parameters) {
    dist_setup();
    for (int flags = 0; flags <= CG_DDP_FIND_UNUSED; flags += CG_DDP_FIND_UNUSED) {
        cg_scope_begin();
        cg_params *p = cg_params_new();
        cg_tensor *u = cg_params_add(p, "used",
                                     cg_ones(CG_SHAPE(4), CG_FLOAT64 | CG_REQUIRES_GRAD));
        cg_tensor *r0 = cg_params_add(p, "rank0",
                                      cg_ones(CG_SHAPE(4), CG_FLOAT64 | CG_REQUIRES_GRAD));
        cg_tensor *no = cg_params_add(p, "none",
                                      cg_ones(CG_SHAPE(2), CG_FLOAT64 | CG_REQUIRES_GRAD));
        cg_ddp *d = cg_ddp_new(p, &(cg_ddp_options){.first_bucket_bytes = 8, .flags = flags});
        cg_tensor *loss = cg_sum(cg_mul_scalar(u, 2));
        if (cg_dist_rank() == 0) loss = cg_add(loss, cg_sum(cg_mul_scalar(r0, 3)));
        ASSERT_EQ(cg_backward(loss, NULL, false), 0);
        ASSERT_EQ(cg_ddp_finish(d), 0);
        ASSERT_EQ(cg_item(cg_mean(cg_grad(u))), 2.0);
        ASSERT_NEAR(cg_item(cg_mean(cg_grad(r0))), 3.0 / cg_dist_world_size(), 1e-15);
        if (flags)
            ASSERT_NULL(cg_grad(no));
        else
            ASSERT_EQ(cg_item(cg_sum(cg_abs(cg_grad(no)))), 0.0);
        cg_ddp_free(d);
        cg_params_free(p);
        cg_scope_end();
    }
}

TEST(ddp_errors) {
    dist_setup();
    cg_params *p = cg_params_new();
    cg_params_add(p, "w", cg_ones(CG_SHAPE(2), CG_REQUIRES_GRAD));
    ASSERT_ERROR(cg_ddp_new(p, &(cg_ddp_options){.flags = 8}), "unknown flags 0x8");
    /* another rank's model has another shape */
    cg_params *q = cg_params_new();
    cg_params_add(q, "w", cg_ones(CG_SHAPE(cg_dist_rank() + 1), CG_REQUIRES_GRAD));
    cg_clear_error();
    cg_ddp *d = cg_ddp_new(q, NULL);
    ASSERT_NULL(d);
    ASSERT(strstr(cg_last_error(), "differ between ranks"));
    cg_params_free(p);
    cg_params_free(q);
}

/* the ranks' batches are the rows of one process's batch of batch * world */
TEST(rank_batches) {
    dist_setup();
    static const char text[] = "the quick brown fox jumps over the lazy dog, again and again.";
    cg_text_dataset *ds = cg_text_dataset_from_text(text, sizeof text - 1);
    int w = cg_dist_world_size(), r = cg_dist_rank();
    cg_tensor *x, *y, *gx, *gy, *x1, *y1, *g1x, *g1y;
    cg_manual_seed(3);
    ASSERT_EQ(cg_text_dataset_batch_rank(ds, CG_SPLIT_TRAIN, 4, 8, r, w, &x, &y), 0);
    uint64_t after_rank[4], after_all[4];
    cg_get_rng_state(after_rank);
    cg_manual_seed(3);
    ASSERT_EQ(cg_text_dataset_batch(ds, CG_SPLIT_TRAIN, 4 * w, 8, &gx, &gy), 0);
    cg_get_rng_state(after_all);
    ASSERT(memcmp(after_rank, after_all, sizeof after_all) == 0);
    ASSERT(cg_equal(x, cg_narrow(gx, 0, 4 * r, 4)));
    ASSERT(cg_equal(y, cg_narrow(gy, 0, 4 * r, 4)));
    cg_manual_seed(4); /* world 1 is cg_text_dataset_batch */
    ASSERT_EQ(cg_text_dataset_batch_rank(ds, CG_SPLIT_TRAIN, 3, 5, 0, 1, &x1, &y1), 0);
    cg_manual_seed(4);
    ASSERT_EQ(cg_text_dataset_batch(ds, CG_SPLIT_TRAIN, 3, 5, &g1x, &g1y), 0);
    ASSERT(cg_equal(x1, g1x) && cg_equal(y1, g1y));
    ASSERT_ERROR(cg_text_dataset_batch_rank(ds, CG_SPLIT_TRAIN, 3, 5, 2, 2, &x1, &y1),
                 "rank 2 is not a rank of a world of 2 (batch 3)");
    cg_text_dataset_free(ds);
}

TEST_MAIN(collectives, broadcast_params, ddp_grads_equal_full_batch, ddp_adamw_matches_one_process,
          zero1_matches_ddp, no_sync_accumulates, unused_parameters, ddp_errors, rank_batches)
