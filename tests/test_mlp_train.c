/* End to end: a two-layer MLP with softmax cross-entropy, trained 200 steps
 * by hand-written SGD under no_grad (in-place updates of the leaves), reaches
 * the same losses, step by step, as the same network in PyTorch from the
 * same initial weights and data (tests/oracle/mlp_oracle.py). */
#include "test.h"

#define STEPS 200
#define LR 0.5

TEST(mlp_sgd_matches_pytorch) {
    cg_manual_seed(2024);
    /* weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as nn.Linear */
    cg_tensor *p[4] = {cg_sub_scalar(cg_mul_scalar(cg_rand(CG_SHAPE(8, 16), 0), 2 / sqrt(8)),
                                     1 / sqrt(8)),
                       cg_sub_scalar(cg_mul_scalar(cg_rand(CG_SHAPE(16), 0), 2 / sqrt(8)),
                                     1 / sqrt(8)),
                       cg_sub_scalar(cg_mul_scalar(cg_rand(CG_SHAPE(16, 4), 0), 0.5), 0.25),
                       cg_sub_scalar(cg_mul_scalar(cg_rand(CG_SHAPE(4), 0), 0.5), 0.25)};
    cg_tensor *x = cg_randn(CG_SHAPE(64, 8), 0);
    /* labels from a rule the network can learn: the sign pattern of two inputs */
    cg_tensor *y = cg_add(cg_mul_scalar(cg_to(cg_gt_scalar(cg_select(x, 1, 0), 0), CG_INT64), 2),
                          cg_to(cg_gt_scalar(cg_select(x, 1, 3), 0), CG_INT64));
    const char *names[4] = {"W1", "b1", "W2", "b2"};
    cg_state_dict *in = cg_state_dict_new();
    for (int i = 0; i < 4; i++) cg_state_dict_add(in, names[i], p[i]);
    cg_state_dict_add(in, "x", x);
    cg_state_dict_add(in, "y", y);
    cg_state_dict_set_metadata(in, "steps", "200");
    cg_state_dict_set_metadata(in, "lr", "0.5");
    cg_state_dict *want = cg_test_oracle("mlp_oracle.py", in);
    cg_state_dict_free(in);
    if (!want) {
        FAIL_("no answer from the oracle");
        return;
    }
    int rc;
    const double *losses = cg_data_ptr(cg_state_dict_get(want, "losses"));
    for (int i = 0; i < 4; i++) cg_requires_grad_(p[i], true);
    double first = 0, last = 0;
    for (int s = 0; s < STEPS; s++) {
        cg_scope_begin();
        cg_tensor *h = cg_relu(cg_add(cg_matmul(x, p[0]), p[1]));
        cg_tensor *loss = cg_cross_entropy(cg_add(cg_matmul(h, p[2]), p[3]), y, NULL, -100,
                                           CG_REDUCTION_MEAN, 0.0);
        double l = loss ? cg_item(loss) : NAN;
        rc = loss ? cg_backward(loss, NULL, false) : -1;
        CG_NO_GRAD { /* p -= lr * p.grad, then p.grad = None */
            for (int i = 0; i < 4 && rc == 0; i++) {
                if (!cg_sub_(p[i], cg_mul_scalar(cg_grad(p[i]), LR))) rc = -1;
                cg_clear_grad(p[i]);
            }
        }
        cg_scope_end();
        ASSERT_EQ(rc, 0);
        if (!(fabs(l - losses[s]) <= 1e-5 + 1e-4 * fabs(losses[s]))) {
            FAIL_("step %d: loss %.9g, torch %.9g", s, l, losses[s]);
            break;
        }
        if (s == 0) first = l;
        last = l;
    }
    ASSERT_LT(last, 0.5 * first); /* it learned */
    printf("  mlp: %d SGD steps, loss %.4f -> %.4f, every step within 1e-4 of torch\n", STEPS,
           first, last);
    cg_state_dict_free(want);
}

TEST_MAIN(mlp_sgd_matches_pytorch)
