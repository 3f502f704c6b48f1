#!/usr/bin/env bash
# Runs the benchmarks: for each bench/NAME.c (built as BUILD_DIR/bench/NAME)
# and its PyTorch twin bench/NAME.py, back to back. Each prints one or more
# metric lines "<cgrad|torch> METRIC: VALUE UNIT" (e.g. us/iter, kB); for
# every metric both print, this prints
#     RATIO METRIC X/Y          (3 significant digits; < 1 means cgrad is better)
#
# Usage: bench/run.sh [BUILD_DIR] [NAME...]     (`make bench` runs it)
# Env:   BENCH_THREADS (1): threads for both sides (OMP_NUM_THREADS,
#        OPENBLAS_NUM_THREADS, torch.set_num_threads)
#        BENCH_ITERS: timed iterations per benchmark (each program's default)
#        CGRAD_PYTHON (/usr/bin/python3): the Python with torch
#
# A new benchmark is a pair bench/NAME.c + bench/NAME.py printing their metric
# lines; nothing to add here.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$here/../build}
[ $# -gt 0 ] && shift
python=${CGRAD_PYTHON:-/usr/bin/python3}
threads=${BENCH_THREADS:-1}

if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for c in "$here"/*.c; do [ -e "$c" ] && names+=("$(basename "$c" .c)"); done
fi
[ ${#names[@]} -gt 0 ] || { echo "bench: no benchmarks in $here" >&2; exit 1; }

# The benchmark command's environment: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
# unset (for this command only) and the same thread count on both sides.
bench_env() {
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" "$@"
}

# The metrics "<who> METRIC: VALUE UNIT" a program printed, as "METRIC VALUE".
metrics_of() { sed -n "s/^$1 \([A-Za-z0-9_]*\): \([0-9.eE+-]*\) [^ ]*\$/\1 \2/p" <<<"$2"; }

have_torch=1
if ! "$python" -c 'import torch' >/dev/null 2>&1; then
    have_torch=0
    echo "bench: $python cannot import torch; install it with: apt-get install -y python3-torch" >&2
fi

echo "bench: threads=$threads, $(nproc) CPUs, $(uname -m)"
failed=0
for name in "${names[@]}"; do
    bin=$build/bench/$name
    if [ ! -x "$bin" ]; then
        echo "bench $name: $bin not built (make bench builds it)" >&2
        failed=1; continue
    fi
    if ! out_c=$(bench_env "$bin"); then
        echo "$out_c"; echo "bench $name: $bin failed" >&2
        failed=1; continue
    fi
    echo "$out_c"

    py=$here/$name.py
    if [ ! -f "$py" ]; then
        echo "bench $name: no $py, no ratio"; continue
    fi
    if [ $have_torch = 0 ]; then failed=1; continue; fi
    if ! out_t=$(bench_env "$python" "$py"); then
        echo "$out_t"; echo "bench $name: $py failed" >&2
        failed=1; continue
    fi
    echo "$out_t"
    n_ratios=0
    while read -r metric x; do
        y=$(metrics_of torch "$out_t" | awk -v m="$metric" '$1 == m { print $2 }' | tail -n 1)
        [ -n "$y" ] || continue
        awk -v n="$metric" -v x="$x" -v y="$y" 'BEGIN { printf "RATIO %s %.3g\n", n, x / y }'
        n_ratios=$((n_ratios + 1))
    done < <(metrics_of cgrad "$out_c")
    if [ $n_ratios = 0 ]; then
        echo "bench $name: no metric printed by both sides" >&2
        failed=1
    fi
done
exit $failed
