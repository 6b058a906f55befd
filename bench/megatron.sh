#!/usr/bin/env bash
# Throughput and memory of `write-megatron`, in one invocation:
#  1. write throughput: `read ids | parse-ids | write-megatron` on --throughput-tokens tokens;
#     the time inside write-megatron (Write calls + Finish, from --stats-json) gives tokens/s and
#     MB/s of .bin+.idx written, against a raw sequential write of the same number of bytes
#     (dd from /dev/zero, 4 MiB blocks) and a copy of the written files (cat .bin .idx > copy);
#     --repeat runs, the three alternating, median reported. Wall time inside the sink suffers
#     from the other stages running at the same time (and from a loaded machine), so CPU time
#     (user + system) is compared too: write-megatron's thread CPU time inside Write() against
#     dd's and cat's.
#  2. peak RSS of the whole run for each size in --tokens (default 1e7,1e8,1e9 tokens), with a
#     fixed --memory budget: it must stay flat, whatever the size of the dataset. Each size runs
#     twice: with glibc's default malloc, and with MALLOC_MMAP_THRESHOLD_=1048576 (buffers of
#     1 MiB and more always mmapped), which separates the pipeline's own memory from heap
#     fragmentation of multi-MB batch buffers under glibc's dynamic mmap threshold.
# Source of ids: a text file of 1e7 whitespace-separated ids (documents of 1..2000 tokens, ids
# below --vocab, made by /usr/bin/python3 with numpy, seed 1), read as many times as needed
# (`read ids.txt ids.txt ...`); `gen | parse-ids` cannot make ids. The .bin is uint16 (vocab
# 32000 < 65500). No fsync anywhere: corpusflow, dd and cat all leave dirty pages to the kernel.
#
# usage: bench/megatron.sh [--tokens 1e7,1e8,1e9] [--throughput-tokens 1e8] [--repeat 3]
#                          [--threads 2] [--memory 1G] [--vocab 32000] [--dir DIR]
#                          [--corpusflow PATH]
# Needs: /usr/bin/python3 with numpy (Debian python3-numpy), GNU time (/usr/bin/time).
# Disk: about 2 bytes per token for the largest size, plus 60 MB.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tokens_list=1e7,1e8,1e9
throughput_tokens=1e8
repeat=3
threads=2
memory=1G
vocab=32000
dir="${TMPDIR:-/tmp}"
corpusflow="$root/build/cli/corpusflow"

parse_options "tokens:tokens_list throughput-tokens repeat threads memory vocab dir corpusflow" "" \
  "$@"
require_corpusflow
require_tool /usr/bin/time "apt-get install time"
/usr/bin/python3 -c 'import numpy' 2>/dev/null ||
  die "/usr/bin/python3 lacks numpy (apt-get install python3-numpy)"
make_workdir "$dir"
base_tokens=10000000

as_int() { /usr/bin/python3 -c "print(int(float('$1')))"; }

echo "generating $base_tokens ids (vocabulary $vocab) in $work/ids.txt ..."
/usr/bin/python3 - "$work/ids.txt" "$base_tokens" "$vocab" <<'PY'
import sys
import numpy as np
path, tokens, vocab = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(1)
ids = rng.integers(0, vocab, tokens)
cuts = np.cumsum(rng.integers(1, 2001, tokens // 1000 + 2))  # documents of 1..2000 tokens
cuts = cuts[cuts < tokens]
text = np.char.mod("%d", ids)
with open(path, "w") as f:
    for doc in np.split(text, cuts):
        f.write(" ".join(doc.tolist()))
        f.write("\n")
PY

# Run the pipeline on N tokens (N a multiple of the base file); sets run_wall, run_rss_kb,
# sink_seconds, sink_cpu, out_bytes. Further arguments: NAME=value environment for the run.
run_pipeline() {
  local n copies files=()
  n="$(as_int "$1")"
  if (( n % base_tokens != 0 )); then
    die "token counts must be multiples of $base_tokens (got $1)" 2
  fi
  copies=$(( n / base_tokens ))
  for ((i = 0; i < copies; i++)); do files+=("$work/ids.txt"); done
  rm -f "$work"/out_*
  env "${@:2}" /usr/bin/time -f "%e %M" -o "$work/time.txt" "$corpusflow" run \
    --threads "$threads" --memory "$memory" --progress never --stats-json "$work/stats.json" \
    "read ${files[*]} | parse-ids --vocab-size $vocab | write-megatron $work/out"
  read -r run_wall run_rss_kb < "$work/time.txt"
  local sink_wall sink_finish
  read -r sink_wall sink_finish sink_cpu < <(op_stat "$work/stats.json" write-megatron \
    wall_seconds finish_seconds cpu_seconds)
  sink_seconds=$(/usr/bin/python3 -c "print($sink_wall + $sink_finish)")
  out_bytes=$(( $(stat -c %s "$work/out_text_ids_document.bin") + $(stat -c %s "$work/out_text_ids_document.idx") ))
}

seconds_of() {  # prints "wall cpu" seconds of a command (cpu = user + system, in microseconds)
  /usr/bin/python3 -c '
import resource, subprocess, sys, time
start = time.monotonic()
subprocess.run(sys.argv[1:], check=True)
wall = time.monotonic() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(wall, usage.ru_utime + usage.ru_stime)' "$@"
}

echo
echo "== write throughput: $(as_int "$throughput_tokens") tokens, uint16, --threads $threads, $repeat runs (median) =="
sink=(); sink_c=(); total=(); dd_w=(); dd_c=(); cat_w=(); cat_c=()
for ((r = 0; r < repeat; r++)); do
  run_pipeline "$throughput_tokens"
  sink+=("$sink_seconds"); sink_c+=("$sink_cpu"); total+=("$run_wall")
  blocks=$(( (out_bytes + 4194303) / 4194304 ))
  rm -f "$work/dd.out"
  read -r w c < <(seconds_of dd if=/dev/zero of="$work/dd.out" bs=4M count="$blocks" status=none)
  dd_w+=("$w"); dd_c+=("$c")
  rm -f "$work/dd.out" "$work/copy.out"
  read -r w c < <(seconds_of sh -c "cat '$work/out_text_ids_document.bin' '$work/out_text_ids_document.idx' > '$work/copy.out'")
  cat_w+=("$w"); cat_c+=("$c")
  rm -f "$work/copy.out"
done
n="$(as_int "$throughput_tokens")"
/usr/bin/python3 - "$n" "$out_bytes" "$(median "${sink[@]}")" "$(median "${sink_c[@]}")" \
  "$(median "${total[@]}")" "$(median "${dd_w[@]}")" "$(median "${dd_c[@]}")" \
  "$(median "${cat_w[@]}")" "$(median "${cat_c[@]}")" <<'PY'
import sys
n, nbytes = int(sys.argv[1]), int(sys.argv[2])
sink, sink_cpu, total, dd, dd_cpu, cat, cat_cpu = map(float, sys.argv[3:10])
mb = nbytes / 1e6


def rate(seconds):
    return mb / seconds if seconds > 0 else float("inf")


def ratio(a, b):
    return a / b if b > 0 else float("inf")


print("%-42s %7s %7s %8s %7s %9s %7s %7s" % ("", "wall s", "cpu s", "Mtok/s", "MB/s",
                                             "MB/cpu-s", "wall x", "cpu x"))
print("%-42s %7.3f %7.3f %8.1f %7.0f %9.0f" % ("write-megatron (inside the sink)", sink, sink_cpu,
                                               n / sink / 1e6, rate(sink), rate(sink_cpu)))
for name, w, c in (("dd if=/dev/zero bs=4M (same bytes)", dd, dd_cpu),
                   ("cat .bin .idx > copy (same bytes)", cat, cat_cpu)):
    print("%-42s %7.3f %7.3f %8s %7.0f %9.0f %7.2f %7.2f" % (name, w, c, "", rate(w), rate(c),
                                                            ratio(w, sink), ratio(c, sink_cpu)))
print("%-42s %7.3f %7s %8.1f %7.0f" % ("whole run: read | parse-ids | write-megatron", total, "",
                                       n / total / 1e6, rate(total)))
print("(%d bytes of .bin + .idx. 'wall x' and 'cpu x': write-megatron's speed relative to the"
      " baseline, 1.0 = as fast, above 1 = faster)" % nbytes)
PY

echo
echo "== peak RSS of whole runs (--memory $memory, --threads $threads) =="
printf '%-12s %9s %10s %9s %13s %20s\n' "tokens" "seconds" "Mtokens/s" ".bin MB" "peak RSS MB" "RSS MB (mmap >=1M)"
IFS=',' read -r -a sizes <<< "$tokens_list"
for size in "${sizes[@]}"; do
  run_pipeline "$size"
  wall=$run_wall
  rss=$run_rss_kb
  run_pipeline "$size" MALLOC_MMAP_THRESHOLD_=1048576
  n="$(as_int "$size")"
  /usr/bin/python3 -c "
n, wall, rss, rss2, nbytes = $n, $wall, $rss, $run_rss_kb, $out_bytes
print('%-12d %9.1f %10.1f %9.0f %13.1f %20.1f' % (n, wall, n / wall / 1e6, nbytes / 1e6,
                                                  rss / 1024, rss2 / 1024))"
done
rm -f "$work"/out_*
