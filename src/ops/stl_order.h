/* torch's CPU topk orders its rows with libstdc++'s nth_element and sort,
 * which are not stable: among equal values the order they leave is that of
 * their algorithms (introselect, introsort, heaps). These replay them step
 * by step, so cgrad's topk indices among ties are torch's. */
#ifndef CG_OPS_STL_ORDER_H
#define CG_OPS_STL_ORDER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    double v;
    int64_t i;
} cg__keyed;

/* x before y: by value (down: descending), NaN the largest; no tie-break */
typedef struct {
    bool down;
} cg__stl_cmp;

/* libstdc++'s std::nth_element(q, q + nth, q + n) */
void cg__stl_nth_element(cg__keyed *q, int64_t nth, int64_t n, cg__stl_cmp c);
/* libstdc++'s std::sort(q, q + n) */
void cg__stl_sort(cg__keyed *q, int64_t n, cg__stl_cmp c);
/* libstdc++'s std::partial_sort(q, q + k, q + n) */
void cg__stl_partial_sort(cg__keyed *q, int64_t k, int64_t n, cg__stl_cmp c);

#endif
