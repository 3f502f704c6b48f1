/* libstdc++'s nth_element, sort and partial_sort (stl_algo.h, stl_heap.h),
 * replayed on (value, index) pairs: see stl_order.h. */
#include "stl_order.h"

#include <math.h>

enum { THRESHOLD = 16 }; /* libstdc++'s _S_threshold */

static bool less(cg__stl_cmp c, cg__keyed x, cg__keyed y) {
    bool nx = isnan(x.v), ny = isnan(y.v);
    return c.down ? (nx && !ny) || x.v > y.v : (!nx && ny) || x.v < y.v;
}

static void swap(cg__keyed *a, cg__keyed *b) {
    cg__keyed t = *a;
    *a = *b;
    *b = t;
}

static int64_t lg(int64_t n) {
    int64_t k = 0;
    while (n >>= 1) k++;
    return k;
}

/* ------------------------------------------------------------------ heaps */

static void push_heap(cg__keyed *q, int64_t hole, int64_t top, cg__keyed v, cg__stl_cmp c) {
    int64_t parent = (hole - 1) / 2;
    while (hole > top && less(c, q[parent], v)) {
        q[hole] = q[parent];
        hole = parent;
        parent = (hole - 1) / 2;
    }
    q[hole] = v;
}

static void adjust_heap(cg__keyed *q, int64_t hole, int64_t len, cg__keyed v, cg__stl_cmp c) {
    int64_t top = hole, child = hole;
    while (child < (len - 1) / 2) {
        child = 2 * (child + 1);
        if (less(c, q[child], q[child - 1])) child--;
        q[hole] = q[child];
        hole = child;
    }
    if ((len & 1) == 0 && child == (len - 2) / 2) {
        child = 2 * (child + 1);
        q[hole] = q[child - 1];
        hole = child - 1;
    }
    push_heap(q, hole, top, v, c);
}

static void make_heap(cg__keyed *q, int64_t len, cg__stl_cmp c) {
    if (len < 2) return;
    for (int64_t parent = (len - 2) / 2;; parent--) {
        adjust_heap(q, parent, len, q[parent], c);
        if (parent == 0) return;
    }
}

/* the heap q[0, len) gives its top to *out, which joins the heap */
static void pop_heap(cg__keyed *q, int64_t len, cg__keyed *out, cg__stl_cmp c) {
    cg__keyed v = *out;
    *out = q[0];
    adjust_heap(q, 0, len, v, c);
}

static void heap_select(cg__keyed *q, int64_t mid, int64_t n, cg__stl_cmp c) {
    make_heap(q, mid, c);
    for (int64_t i = mid; i < n; i++)
        if (less(c, q[i], q[0])) pop_heap(q, mid, &q[i], c);
}

void cg__stl_partial_sort(cg__keyed *q, int64_t k, int64_t n, cg__stl_cmp c) {
    heap_select(q, k, n, c);
    for (int64_t len = k; len > 1; len--) pop_heap(q, len - 1, &q[len - 1], c);
}

/* ------------------------------------------------------ partition, insertion */

static void move_median_to_first(cg__keyed *r, cg__keyed *a, cg__keyed *b, cg__keyed *m,
                                 cg__stl_cmp c) {
    if (less(c, *a, *b)) {
        if (less(c, *b, *m))
            swap(r, b);
        else if (less(c, *a, *m))
            swap(r, m);
        else
            swap(r, a);
    } else if (less(c, *a, *m))
        swap(r, a);
    else if (less(c, *b, *m))
        swap(r, m);
    else
        swap(r, b);
}

/* q[0] the pivot (median of three); returns the cut */
static int64_t partition_pivot(cg__keyed *q, int64_t n, cg__stl_cmp c) {
    move_median_to_first(&q[0], &q[1], &q[n / 2], &q[n - 1], c);
    int64_t first = 1, last = n;
    for (;;) {
        while (less(c, q[first], q[0])) first++;
        last--;
        while (less(c, q[0], q[last])) last--;
        if (!(first < last)) return first;
        swap(&q[first], &q[last]);
        first++;
    }
}

static void linear_insert(cg__keyed *q, int64_t i, cg__stl_cmp c) {
    cg__keyed v = q[i];
    for (; less(c, v, q[i - 1]); i--) q[i] = q[i - 1];
    q[i] = v;
}

static void insertion_sort(cg__keyed *q, int64_t n, cg__stl_cmp c) {
    for (int64_t i = 1; i < n; i++) {
        if (less(c, q[i], q[0])) {
            cg__keyed v = q[i];
            for (int64_t j = i; j > 0; j--) q[j] = q[j - 1];
            q[0] = v;
        } else {
            linear_insert(q, i, c);
        }
    }
}

/* ------------------------------------------------------- the algorithms */

void cg__stl_nth_element(cg__keyed *q, int64_t nth, int64_t n, cg__stl_cmp c) {
    if (n == 0 || nth == n) return;
    int64_t first = 0, last = n, depth = lg(n) * 2;
    while (last - first > 3) {
        if (depth == 0) {
            heap_select(q + first, nth - first + 1, last - first, c);
            swap(&q[first], &q[nth]);
            return;
        }
        depth--;
        int64_t cut = first + partition_pivot(q + first, last - first, c);
        if (cut <= nth)
            first = cut;
        else
            last = cut;
    }
    insertion_sort(q + first, last - first, c);
}

static void introsort_loop(cg__keyed *q, int64_t n, int64_t depth, cg__stl_cmp c) {
    while (n > THRESHOLD) {
        if (depth == 0) {
            cg__stl_partial_sort(q, n, n, c);
            return;
        }
        depth--;
        int64_t cut = partition_pivot(q, n, c);
        introsort_loop(q + cut, n - cut, depth, c);
        n = cut;
    }
}

void cg__stl_sort(cg__keyed *q, int64_t n, cg__stl_cmp c) {
    if (n == 0) return;
    introsort_loop(q, n, lg(n) * 2, c);
    if (n > THRESHOLD) {
        insertion_sort(q, THRESHOLD, c);
        for (int64_t i = THRESHOLD; i < n; i++) linear_insert(q, i, c);
    } else {
        insertion_sort(q, n, c);
    }
}
