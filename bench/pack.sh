#!/usr/bin/env bash
# Padding and speed of `pack`, in one invocation: best-fit decreasing against the straightforward
# first-fit and concat, at each L of --lengths (default 2048 and 8192), on two corpora of ids:
#  - demo: `corpusflow gen --bytes SIZE` (mixed Chinese/English, the demo corpus), a 30000-word
#    vocabulary built from it (`corpusflow vocab`), tokenized once with `tokenize --kind wordpiece`
#    into a text file of ids (one document per line);
#  - long-tail: --docs documents of log-normal lengths (median 300 ids, sigma 1.5, at most 100000)
#    of random ids below 50000, written by /usr/bin/python3 with numpy (seed 1).
# Each run is `read IDS | parse-ids | pack --mode M --length L --eod 102 | write-megatron OUT` with
# the operator's default window (--window 100000 pieces, --window-bytes 16M); concat pads its
# last window (--keep-last) so that its padding is measured too. Every setting runs --runs times
# (default 5) and the speed columns are medians. From --stats-json: padding % (padding ids over
# sample slots), samples, pack's whole thread CPU time = its cpu_seconds as the executor times
# them (Apply calls: packing and building the samples of the windows packed; Drain: the last
# windows' samples), plus the finish_cpu_seconds that builds before the streaming stage reported
# (their Finish: the last window; --corpusflow PATH may name such a build); packing_cpu_seconds
# (the packer alone); documents/s per core = documents / whole CPU time; the run's peak RSS.
# Best-fit and first-fit run in the same invocation on the same input, so their ratio is the
# comparison.
# Goals (issue 16): best-fit padding under 1% at L = 2048 and 8192 on both corpora; best-fit at
# 1M documents/s per core or better.
#
# usage: bench/pack.sh [--size 256M] [--docs 200000] [--lengths 2048,8192] [--runs 5]
#                      [--threads 2] [--memory 2G] [--dir DIR] [--corpusflow PATH] [--keep]
# Needs: /usr/bin/python3 with numpy (Debian python3-numpy).
# Disk: about 4 times --size for the demo ids, plus 6 bytes per long-tail id, plus one output.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

size=256M
docs=200000
lengths=2048,8192
runs=5
threads=2
memory=2G
dir="${TMPDIR:-/tmp}"
corpusflow="$root/build/cli/corpusflow"
keep=0

parse_options "size docs lengths runs threads memory dir corpusflow" "keep" "$@"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer, not '$runs'" 2
require_corpusflow
/usr/bin/python3 -c 'import numpy' 2>/dev/null ||
  die "/usr/bin/python3 lacks numpy (apt-get install python3-numpy)"
make_workdir "$dir" "$keep"
run_options=(--threads "$threads" --memory "$memory" --progress never)

echo "== corpora"
echo "demo: corpusflow gen --bytes $size, vocab --size 30000, tokenize --kind wordpiece"
"$corpusflow" gen --bytes "$size" -o "$work/demo.txt" "${run_options[@]}"
"$corpusflow" vocab "$work/demo.txt" -o "$work/vocab.txt" --size 30000 "${run_options[@]}"
"$corpusflow" run "${run_options[@]}" "read $work/demo.txt | tokenize --kind wordpiece \
  --vocab $work/vocab.txt --lowercase --output ids | write $work/demo.jsonl --field ids"
/usr/bin/python3 - "$work/demo.jsonl" "$work/demo-ids.txt" <<'PY'
import json, sys
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as out:
    for line in src:
        out.write(" ".join(map(str, json.loads(line)["ids"])))
        out.write("\n")
PY
rm -f "$work/demo.jsonl" "$work/demo.txt"

echo "long-tail: $docs documents, log-normal lengths (median 300 ids, sigma 1.5, <= 100000)"
/usr/bin/python3 - "$work/longtail-ids.txt" "$docs" <<'PY'
import sys
import numpy as np
path, docs = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(1)
lengths = np.clip(rng.lognormal(np.log(300), 1.5, docs).astype(np.int64), 1, 100000)
with open(path, "w") as f:
    for n in lengths:
        f.write(" ".join(np.char.mod("%d", rng.integers(200, 50000, n)).tolist()))
        f.write("\n")
PY

/usr/bin/python3 - "$work"/demo-ids.txt "$work"/longtail-ids.txt <<'PY'
import sys
for path in sys.argv[1:]:
    lengths = sorted(len(line.split()) for line in open(path))
    n = len(lengths)
    print("%-16s %9d documents, %11d ids, median %6d, p99 %7d, max %7d ids" % (
        path.rsplit("/", 1)[-1], n, sum(lengths), lengths[n // 2], lengths[n * 99 // 100],
        lengths[-1]))
PY

# pack_run IDS MODE L EXTRA...: run the pipeline --runs times; sets the figures of pack's report
# (documents, samples, padding of the last run: they are the same in every run) and the medians
# of its whole CPU time, packing CPU time, documents/s per core and peak RSS (MiB).
pack_run() {
  local ids="$1" mode="$2" length="$3" run
  shift 3
  local figures=()
  for ((run = 0; run < runs; run++)); do
    rm -rf "$work/out"
    "$corpusflow" run "${run_options[@]}" --stats-json "$work/stats.json" \
      "read $ids | parse-ids | pack --mode $mode --length $length --eod 102 $* \
       | write-megatron $work/out/samples"
    # finish_cpu_seconds: only builds before the streaming stage have it.
    finish=$(op_stat "$work/stats.json" pack finish_cpu_seconds 2>/dev/null || echo 0)
    read -r d s p c k r < <(op_stat "$work/stats.json" pack documents samples padding_percent \
      cpu_seconds packing_cpu_seconds peak_rss_bytes)
    figures+=("$d $s $p $c $finish $k $r")
    rm -rf "$work/out"
  done
  read -r documents samples padding cpu packing per_core rss < <(printf '%s\n' "${figures[@]}" |
    /usr/bin/python3 -c '
import statistics, sys
runs = [list(map(float, line.split())) for line in sys.stdin]
def median(values): return statistics.median(values)
d, s, p = runs[-1][:3]
whole = [r[3] + r[4] for r in runs]
print(int(d), int(s), p, median(whole), median(r[5] for r in runs),
      int(median(d / w if w > 0 else 0 for w in whole)),
      int(median(r[6] for r in runs) / 2**20))')
}

echo
echo "== pack: padding % and documents/s per core (--threads $threads, --memory $memory," \
  "medians of $runs runs)"
printf '%-10s %6s %-10s %10s %9s %9s %9s %10s %12s %9s\n' corpus L mode documents samples \
  padding% "pack cpu" "packing" "docs/s/core" "RSS MiB"
for corpus in demo longtail; do
  ids="$work/$corpus-ids.txt"
  for length in ${lengths//,/ }; do
    declare -A rate=()
    for mode in best-fit first-fit concat; do
      extra=""
      [[ "$mode" == concat ]] && extra="--keep-last"
      pack_run "$ids" "$mode" "$length" $extra
      rate[$mode]=$per_core
      printf '%-10s %6s %-10s %10s %9s %9.3f %9.3f %10.3f %12s %9s\n' "$corpus" "$length" \
        "$mode" "$documents" "$samples" "$padding" "$cpu" "$packing" "$per_core" "$rss"
    done
    /usr/bin/python3 -c "
b, f, c = ${rate[best-fit]}, ${rate[first-fit]}, ${rate[concat]}
ratio = lambda x, y: '%.2fx' % (x / y) if y > 0 else 'n/a'
print('%-10s %6s best-fit documents/s per core: %s first-fit, %s concat, %s the 1M goal' % (
      '$corpus', '$length', ratio(b, f), ratio(b, c), ratio(b, 1e6)))"
    unset rate
  done
done
