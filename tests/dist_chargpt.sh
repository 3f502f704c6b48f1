#!/bin/sh
# chargpt under mpiexec (ctest runs it): dist_chargpt.sh MODE "MPIEXEC ARGS -np N" CHARGPT
#   resume          a run stopped after step 3 and resumed ends with the
#                   checkpoint of an unbroken run, byte for byte
#   missing_data    --data names no file: every rank ends, with chargpt's message
#   bad_checkpoint  --resume names a corrupt file: the same
set -u
mode=$1 mpiexec=$2 chargpt=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/cgrad_dist_chargpt.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
flags="--steps 6 --layers 1 --embd 32 --heads 2 --block 16 --batch 4 --accum 2 --sample 0
       --eval-every 2 --save-every 0 --threads 1 --dropout 0.1"
case $mode in
resume)
    $mpiexec "$chargpt" $flags --out "$dir/full" >"$dir/log" 2>&1 || { cat "$dir/log"; exit 1; }
    $mpiexec "$chargpt" $flags --out "$dir/part" --stop-after 3 >"$dir/log" 2>&1 ||
        { cat "$dir/log"; exit 1; }
    $mpiexec "$chargpt" $flags --out "$dir/part" --resume "$dir/part.safetensors" >"$dir/log" 2>&1 ||
        { cat "$dir/log"; exit 1; }
    grep -q "on 2 ranks" "$dir/log" || { echo "no progress line naming the ranks"; cat "$dir/log"; exit 1; }
    cmp "$dir/full.safetensors" "$dir/part.safetensors" || exit 1
    test -s "$dir/part_loss.svg" || exit 1
    echo "resumed run ends as the unbroken run: identical checkpoints"
    ;;
missing_data | bad_checkpoint)
    if [ "$mode" = missing_data ]; then
        extra="--data $dir/missing.txt" want="missing.txt"
    else
        printf 'not a safetensors file' >"$dir/bad.safetensors"
        extra="--resume $dir/bad.safetensors --out $dir/bad" want="safetensors"
    fi
    $mpiexec "$chargpt" $flags --out "$dir/out" $extra >"$dir/log" 2>&1
    rc=$?
    cat "$dir/log"
    [ $rc -ne 0 ] || { echo "the job succeeded"; exit 1; }
    grep -q "chargpt: .*$want" "$dir/log" || { echo "no message about $want"; exit 1; }
    grep -q "rank [01] of 2: chargpt failed" "$dir/log" || { echo "no rank ended the job"; exit 1; }
    ;;
*) echo "unknown mode $mode"; exit 2 ;;
esac
