#!/usr/bin/env bash
# Throughput of the I/O layer: `corpusflow run 'read IN | write OUT'` against the standard tool
# doing the same copy, in one invocation, on the same generated corpus, with the page cache warm
# for both. Each case runs --repeat times, the two commands alternating, and the median wall time
# is reported with MB/s (input bytes, uncompressed) and the ratio corpusflow / baseline.
#
# usage: bench/passthrough.sh [--size 512M] [--repeat 3] [--threads 2] [--dir DIR]
#                             [--cases cat,dd,zstd,gzip,jsonl] [--corpusflow PATH]
#
# Cases (baseline in brackets):
#   cat    in.txt -> out.txt                      [cat: copy_file_range, no user-space copy]
#   dd     in.txt -> out.txt                      [dd bs=1M: read/write through user space]
#   zstd   in.txt.zst -> out.txt.zst (level 3)    [zstd -dc | zstd -3 -T<threads>]
#   gzip   in.txt.gz -> out.txt                   [gzip -dc]
#   jsonl  in.jsonl -> out.jsonl (field text)     [jq -c '{text}']
# Needs: zstd, gzip, jq (Debian packages), GNU time (/usr/bin/time).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

size=512M
repeat=3
threads=2
dir="${TMPDIR:-/tmp}"
cases=cat,dd,zstd,gzip,jsonl
corpusflow="$root/build/cli/corpusflow"

parse_options "size repeat threads dir cases corpusflow" "" "$@"
require_corpusflow
for tool in zstd gzip jq /usr/bin/time; do require_tool "$tool"; done
make_workdir "$dir"

run_opts=(--threads "$threads" --progress never)

echo "# generating $size of mixed text (corpusflow gen, seed 1) in $work" >&2
"$corpusflow" run "gen --bytes $size --lang mixed --seed 1 | write $work/in.txt" "${run_opts[@]}"
"$corpusflow" run "gen --bytes $size --lang mixed --seed 1 --paragraphs | write $work/in.jsonl" \
  "${run_opts[@]}"
zstd -q -3 -T"$threads" "$work/in.txt" -o "$work/in.txt.zst"
gzip -6 -c "$work/in.txt" > "$work/in.txt.gz"
input_bytes=$(stat -c %s "$work/in.txt")
jsonl_bytes=$(stat -c %s "$work/in.jsonl")

# Run a shell command under GNU time; print "seconds peak_kib".
measure() {
  local out
  out=$(/usr/bin/time -f "%e %M" bash -c "$1" 2>&1 >/dev/null | tail -1)
  echo "$out"
}

printf "%-6s %-34s %9s %9s %10s\n" case command seconds MB/s peak_MiB
report() {  # case label bytes seconds peak_kib
  printf "%-6s %-34s %9.2f %9.0f %10.0f\n" "$1" "$2" "$4" \
    "$(awk -v b="$3" -v s="$4" 'BEGIN {print (s > 0 ? b / s / 1e6 : 0)}')" \
    "$(awk -v k="$5" 'BEGIN {print k / 1024}')"
}

bench_case() {  # name bytes corpusflow_cmd baseline_label baseline_cmd
  local name="$1" bytes="$2" ours="$3" label="$4" theirs="$5"
  local ours_times=() their_times=() ours_peak=0 their_peak=0 t m
  for ((i = 0; i < repeat; i++)); do
    read -r t m < <(measure "$ours")
    ours_times+=("$t"); ((m > ours_peak)) && ours_peak=$m
    read -r t m < <(measure "$theirs")
    their_times+=("$t"); ((m > their_peak)) && their_peak=$m
  done
  local ours_med their_med
  ours_med=$(printf "%s\n" "${ours_times[@]}" | median)
  their_med=$(printf "%s\n" "${their_times[@]}" | median)
  report "$name" "corpusflow read | write" "$bytes" "$ours_med" "$ours_peak"
  report "$name" "$label" "$bytes" "$their_med" "$their_peak"
  printf "%-6s %-34s %9.2fx\n" "$name" "speed ratio corpusflow/baseline" \
    "$(awk -v a="$ours_med" -v b="$their_med" 'BEGIN {print (a > 0 ? b / a : 0)}')"
}

cf="$corpusflow run"
opts="--threads $threads --progress never"
IFS=, read -ra wanted <<< "$cases"
for c in "${wanted[@]}"; do
  case "$c" in
    cat)
      bench_case cat "$input_bytes" \
        "$cf 'read $work/in.txt | write $work/out.txt' $opts" \
        "cat" "cat $work/in.txt > $work/out-base.txt" ;;
    dd)
      bench_case dd "$input_bytes" \
        "$cf 'read $work/in.txt | write $work/out.txt' $opts" \
        "dd bs=1M" "dd if=$work/in.txt of=$work/out-base.txt bs=1M status=none" ;;
    zstd)
      bench_case zstd "$input_bytes" \
        "$cf 'read $work/in.txt.zst | write $work/out.txt.zst' $opts" \
        "zstd -dc | zstd -3 -T$threads" \
        "zstd -q -dc $work/in.txt.zst | zstd -q -3 -T$threads -c > $work/out-base.txt.zst" ;;
    gzip)
      bench_case gzip "$input_bytes" \
        "$cf 'read $work/in.txt.gz | write $work/out.txt' $opts" \
        "gzip -dc" "gzip -dc $work/in.txt.gz > $work/out-base.txt" ;;
    jsonl)
      bench_case jsonl "$jsonl_bytes" \
        "$cf 'read $work/in.jsonl | write $work/out.jsonl' $opts" \
        "jq -c '{text}'" "jq -c '{text}' $work/in.jsonl > $work/out-base.jsonl" ;;
    *) die "unknown case $c" 2 ;;
  esac
  rm -f "$work"/out*
done

# The copies must be exact: check the last outputs of each kind once more, outside the timing.
"$corpusflow" run "read $work/in.txt.zst | write $work/check.txt" $opts
cmp -s "$work/in.txt" "$work/check.txt" && echo "# check: zstd round trip is byte-identical" >&2 ||
  die "round trip differs"
