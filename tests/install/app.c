/* A consumer of an installed cgrad: the seed example from cgrad.h. */
#include <cgrad.h>

#include <stdio.h>

int main(void) {
    cg_tensor *x = cg_ones(CG_SHAPE(2, 2), CG_REQUIRES_GRAD);
    cg_tensor *y = cg_add_scalar(x, 2);            /* y = x + 2 */
    cg_tensor *z = cg_mul_scalar(cg_mul(y, y), 3); /* z = y * y * 3 */
    cg_tensor *out = cg_mean(z);                   /* out = z.mean() */
    if (!out || cg_print(out) < 0 || cg_backward(out, NULL, false) < 0 ||
        cg_print(cg_grad(x)) < 0) {
        fprintf(stderr, "error: %s\n", cg_last_error() ? cg_last_error() : "(none)");
        return 1;
    }
    return 0;
}
