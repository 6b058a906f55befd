#!/usr/bin/env bash
# Tokens per second that corpusflow.torch delivers to Python (int64 torch tensors), in one
# invocation on one generated Chinese corpus (`gen --lang zh --paragraphs --seed 1`, --size),
# each case in its own process (bench/loader.py) with the median of --runs passes and the
# process's peak RSS:
#  1. packed files: `tokenize --kind t5pegasus | pack --length L --eod [SEP] | write-megatron`
#     read by PackedDataset in batches of --batch x L (input_ids alone, then with loss_mask and
#     cu_seqlens), shuffled by (seed, epoch);
#  2. the rival: a numpy memmap of the same tokens written as documents (write-megatron of
#     text_ids) and a Python packing loop (documents in a random order, each followed by an EOD,
#     concatenated and cut into --batch x L), joining numpy slices (rival_numpy) or Python lists
#     of ids (rival_lists, as Hugging Face's group_texts does);
#  3. a live T5 PEGASUS pipeline (`pseudo-summary | tokenize src, tgt | pack --mode pad
#     --src-length 512 --tgt-length 128`) through PipelineDataset on --threads engine threads:
#     id slots (src + tgt, padding included) and real ids per second; skipped when
#     corpusflow.Pipeline cannot be imported (the native module is not built).
# Goals (docs/python.md): packed >= 20M tokens/s per process at 8 x 2048 and >= 10x the rival;
# live >= 1M tokens/s on 2 cores. Prints figures and ratios; it never fails on speed.
#
# usage: bench/loader.sh [--size 200M] [--runs 3] [--batch 8] [--length 2048] [--threads 2]
#                        [--dir DIR] [--corpusflow PATH] [--build DIR] [--keep]
# Needs Debian's /usr/bin/python3 with python3-numpy and python3-torch.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

size=200M
runs=3
batch=8
length=2048
threads=2
dir="${TMPDIR:-/tmp}"
corpusflow="$root/build/cli/corpusflow"
build="$root/build"
keep=0

parse_options "size runs batch length threads dir corpusflow build" "keep" "$@"
require_corpusflow
/usr/bin/python3 -c "import numpy, torch" 2>/dev/null ||
  die "Debian's python3 needs python3-numpy and python3-torch (apt-get install python3-torch)"
make_workdir "$dir" "$keep"
export PYTHONPATH="$build/python:$root/python${PYTHONPATH:+:$PYTHONPATH}"

echo "corpusflow: $corpusflow"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "corpus: gen --bytes $size --lang zh --paragraphs --seed 1; batches of $batch x $length"
cf() {
  "$corpusflow" run --threads "$threads" --progress never "$1" 2>/dev/null ||
    die "corpusflow run failed: $1"
}
cf "gen --bytes $size --lang zh --paragraphs --seed 1 | write $work/corpus.jsonl"
cf "read $work/corpus.jsonl | vocab -o $work/vocab.txt --size 30000"
tokenize="tokenize --kind t5pegasus --vocab $work/vocab.txt"
cf "read $work/corpus.jsonl | $tokenize --output text_ids
    | tee write-megatron $work/docs --fields text_ids
    | pack --mode concat --length $length --eod '[SEP]' | write-megatron $work/gpt"
eod="$(/usr/bin/python3 -c "import sys; print(open(sys.argv[1]).read().split().index('[SEP]'))" \
  "$work/vocab.txt")"
live="read $work/corpus.jsonl | pseudo-summary
  | $tokenize --field src --output src_ids --max-len 512
  | $tokenize --field tgt --output tgt_ids --max-len 128
  | pack --mode pad --src-length 512 --tgt-length 128"

measure() {  # measure LABEL CASE TARGET [loader.py options]: one table row
  local label="$1"
  shift
  /usr/bin/python3 "$root/bench/loader.py" "$@" --runs "$runs" --batch "$batch" \
    --length "$length" --threads "$threads" --eod "$eod" --label "$label" > "$work/row" ||
    die "bench/loader.py $2 failed"
  read -r _ _ seconds tokens per_s real_per_s peak < "$work/row"
  printf '%-26s %9s %12s %12s %12s %10s\n' "$label" "$seconds" "$tokens" \
    "$(numfmt --to=si "$per_s")" "$(numfmt --to=si "$real_per_s")" "$peak"
  rate[$label]="$per_s"
}
declare -A rate

printf '\n%-26s %9s %12s %12s %12s %10s\n' case seconds tokens "tokens/s" "real ids/s" \
  "peak MiB"
measure packed packed "$work/gpt" --fields input_ids
measure packed_all_fields packed "$work/gpt" --fields input_ids,loss_mask,cu_seqlens
measure rival_numpy rival "$work/docs" --rival numpy
measure rival_lists rival "$work/docs" --rival lists
if /usr/bin/python3 -c "from corpusflow import Pipeline" 2>/dev/null; then
  measure live live "$live"
else
  echo "live: skipped (corpusflow.Pipeline cannot be imported from $build/python)"
fi

echo
ratio() {  # ratio A B: A / B to one decimal
  /usr/bin/python3 -c "import sys; print('%.1f' % (float(sys.argv[1]) / float(sys.argv[2])))" \
    "$1" "$2"
}
for rival in rival_numpy rival_lists; do
  echo "packed / $rival: $(ratio "${rate[packed]}" "${rate[$rival]}")x (goal: 10x)," \
    "with all fields: $(ratio "${rate[packed_all_fields]}" "${rate[$rival]}")x"
done
echo "packed: $(numfmt --to=si "${rate[packed]}") tokens/s (goal: 20M per process)"
if [[ -n "${rate[live]:-}" ]]; then
  echo "live: $(numfmt --to=si "${rate[live]}") id slots/s on $threads threads (goal: 1M)"
fi
echo "tokens/s: id slots of the int64 tensors handed to Python (B x L; src + tgt for live),"
echo "median of $runs passes over all samples; peak MiB: the measuring process's maximum RSS."
