/* The seed walkthrough: PyTorch's autograd tour, step by step, in cgrad.
 * Prints exactly what the same program prints in PyTorch (only the
 * addresses in "object at 0x..." differ). */
#include <cgrad.h>
#include <stdio.h>
#include <stdlib.h>

static void print_pair(const cg_tensor *a, const cg_tensor *b) { /* print(a, b) */
    char *sa = cg_to_string(a), *sb = cg_to_string(b);
    printf("%s %s\n", sa, sb);
    free(sa);
    free(sb);
}

static const char *py_bool(bool b) { return b ? "True" : "False"; }

int main(void) {
    cg_tensor *x1 = cg_ones(CG_SHAPE(3, 3), 0); /* x1 = torch.ones(3, 3) */
    cg_print(x1);

    cg_tensor *x = cg_ones(CG_SHAPE(2, 2), CG_REQUIRES_GRAD); /* requires_grad=True */
    cg_print(x);

    cg_tensor *y = cg_add_scalar(x, 2); /* y = x + 2 */
    cg_print(y);
    cg_node_print(cg_grad_fn(x)); /* None: x was made by the user */
    cg_node_print(cg_grad_fn(y)); /* <AddBackward0 object at 0x...> */

    cg_tensor *z = cg_mul_scalar(cg_mul(y, y), 3); /* z = y * y * 3 */
    cg_tensor *out = cg_mean(z);
    print_pair(z, out);

    cg_tensor *a = cg_randn(CG_SHAPE(2, 2), 0);
    a = cg_div(cg_mul_scalar(a, 3), cg_sub_scalar(a, 1)); /* a = (a * 3) / (a - 1) */
    printf("%s\n", py_bool(cg_requires_grad(a)));
    cg_requires_grad_(a, true);
    printf("%s\n", py_bool(cg_requires_grad(a)));
    cg_tensor *b = cg_sum(cg_mul(a, a));
    cg_node_print(cg_grad_fn(b)); /* <SumBackward0 object at 0x...> */

    if (cg_backward(out, NULL, false) != 0) { /* out.backward() */
        fprintf(stderr, "backward failed: %s\n", cg_last_error());
        return 1;
    }
    cg_print(cg_grad(x)); /* d(out)/dx = 4.5 everywhere */

    printf("%s\n", py_bool(cg_requires_grad(x)));
    printf("%s\n", py_bool(cg_requires_grad(cg_pow_scalar(x, 2))));
    CG_NO_GRAD { printf("%s\n", py_bool(cg_requires_grad(cg_pow_scalar(x, 2)))); }

    printf("%s\n", py_bool(cg_requires_grad(x)));
    y = cg_detach(x); /* shares x's storage, no grad */
    printf("%s\n", py_bool(cg_requires_grad(y)));
    cg_print(cg_all(cg_eq(x, y)));
    return 0;
}
