#!/usr/bin/env bash
# Throughput of the global shuffle: `corpusflow shuffle` with a 256 MB budget (spills to disk) and
# with a budget the input fits in (more memory must never be slower: the layout caps the memory
# it uses, docs/shuffle.md), against GNU `shuf`, `sort -R` and `cat`,
# in one invocation on one generated corpus with the page cache warm. Fast commands run --repeat
# times (median wall time); `sort -R` once. Every output is checked to be a permutation of the
# input (sorted copies compared by digest); the corpusflow outputs of one seed must be identical
# bytes whatever the budget. Prints MB/s (input bytes / wall), the ratio to shuf and to cat, and
# peak RSS (GNU time %M). Every timed command starts after a `sync` (no dirty pages carried over).
#
# usage: bench/shuffle.sh [--size 2G] [--repeat 3] [--threads 2] [--dir DIR] [--no-sort-r]
#                         [--spill-compression auto|zstd|none] [--corpusflow PATH] [--keep]
#        bench/shuffle.sh --big 26G [--dir DIR]   one out-of-core run on a corpus larger than RAM
#                                                  (checks free disk space first; no baselines)
# Needs: GNU coreutils (shuf, sort, md5sum), GNU time (/usr/bin/time). Never fails on speed.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

size=2G
repeat=3
threads=2
dir="${TMPDIR:-/tmp}"
corpusflow="$root/build/cli/corpusflow"
sort_r=1
big=""
compression=auto
keep=0

parse_options "size repeat threads dir big spill-compression:compression corpusflow" \
  "no-sort-r:sort_r=0 keep" "$@"
require_corpusflow
require_tool /usr/bin/time "apt-get install time"
make_workdir "$dir" "$keep"

to_bytes() {  # 2G -> bytes
  numfmt --from=iec "${1%B}"
}

# run_timed NAME OUTPUT CMD...: run once, record "wall_seconds peak_kb" in $work/NAME.times
# (appended). Each command starts with no dirty pages left by the previous one (`sync`, not
# timed): otherwise the kernel throttles whichever command writes next to the disk's writeback
# speed. Its OUTPUT from the previous round is removed first (not timed), so no command writes
# over an old copy of its own output: truncating one (`cat >`, `shuf -o`) hands its page-cache
# pages straight back to the writer, which a command writing a temp file and renaming it (as
# corpusflow does, to leave no partial output) cannot reuse. All start alike.
run_timed() {
  local name="$1" output="$2"
  shift 2
  rm -f "$output"
  sync
  /usr/bin/time -o "$work/time.tmp" -f "%e %M" "$@"
  cat "$work/time.tmp" >>"$work/$name.times"
}

calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
median_wall() { median <"$work/$1.times"; }
max_rss_mb() { awk 'BEGIN{m=0} {if ($2>m) m=$2} END {printf "%.0f", m/1024}' "$work/$1.times"; }

# Order-insensitive digest: the md5 of the sorted lines.
digest() { LC_ALL=C sort -S 25% --parallel="$threads" -T "$work" "$1" | md5sum | cut -d' ' -f1; }

shuffle_opts=(--threads "$threads" --progress never --tmp-dir "$work" --seed 1
              --spill-compression "$compression")

if [[ -n "$big" ]]; then
  bytes=$(to_bytes "$big")
  # Input, output and (raw, worst case) spill must fit; auto compression shrinks the spill when
  # the disk is tight.
  free=$(df --output=avail -B1 "$work" | tail -1)
  # Input and output, plus the spill minus what pass 2 releases as the output grows.
  need=$((bytes * 2 + bytes / 5))
  echo "big run: $big corpus, $((free / 1000000000)) GB free in $work, about $((need / 1000000000)) GB needed (input, output, part of the spill)"
  ((free >= need)) || die "not enough free disk in $dir for a $big run"
  # Generate up to 2 GB and repeat it: `gen` is slower than the shuffle, and repeated lines do
  # not change the shuffle's work.
  piece=$(( bytes < (2 << 30) ? bytes : (2 << 30) ))
  echo "generating $big (a $piece-byte corpus, repeated) ..."
  "$corpusflow" gen --bytes "$piece" --lang mixed -o "$work/piece.txt" --progress never
  : >"$work/in.txt"
  while (( $(stat -c %s "$work/in.txt") < bytes )); do cat "$work/piece.txt" >>"$work/in.txt"; done
  rm -f "$work/piece.txt"
  bytes=$(stat -c %s "$work/in.txt")
  lines=$(wc -l <"$work/in.txt")
  echo "corpus: $bytes bytes, $lines lines; RAM: $(free -g | awk '/Mem:/{print $2}') GiB"
  run_timed big "$work/out.txt" "$corpusflow" shuffle "$work/in.txt" -o "$work/out.txt" \
    --memory 256M "${shuffle_opts[@]}" --stats-json "$work/big.json"
  wall=$(median_wall big)
  out_lines=$(wc -l <"$work/out.txt")
  [[ "$out_lines" == "$lines" ]] || die "output has $out_lines lines, input $lines"
  printf "corpusflow shuffle --memory 256M: %.1f s, %.0f MB/s, peak RSS %s MB\n" "$wall" \
    "$(calc "$bytes / $wall / 1000000")" "$(max_rss_mb big)"
  grep -o '"spill_bytes_[a-z]*": [0-9]*\|"buckets": [0-9]*\|"rescatters": [0-9]*\|"spill_compression": "[^"]*"\|"pass[12]_seconds": [0-9.]*' "$work/big.json" | tr '\n' ' '
  echo
  exit 0
fi

echo "generating a $size corpus ..."
"$corpusflow" gen --bytes "$size" --lang mixed -o "$work/in.txt" --progress never
bytes=$(stat -c %s "$work/in.txt")
lines=$(wc -l <"$work/in.txt")
input_digest=$(digest "$work/in.txt")
cat "$work/in.txt" >/dev/null  # warm the page cache
echo "corpus: $bytes bytes, $lines lines; $(nproc) cores; threads $threads"

fits=$((bytes * 12 / 10000000 + 256))M  # the shuffle's share could hold the whole input

for ((r = 1; r <= repeat; ++r)); do
  run_timed cat "$work/cat.out" sh -c 'cat "$0" >"$1"' "$work/in.txt" "$work/cat.out"
  run_timed corpusflow-256M "$work/cf256.out" "$corpusflow" shuffle "$work/in.txt" \
    -o "$work/cf256.out" --memory 256M "${shuffle_opts[@]}" --stats-json "$work/cf256.json"
  run_timed corpusflow-fits "$work/cffit.out" "$corpusflow" shuffle "$work/in.txt" \
    -o "$work/cffit.out" --memory "$fits" "${shuffle_opts[@]}" --stats-json "$work/cffit.json"
  run_timed shuf "$work/shuf.out" shuf "$work/in.txt" -o "$work/shuf.out"
done
if ((sort_r)); then
  run_timed sort-R "$work/sortr.out" env LC_ALL=C sort -R --parallel="$threads" -S 50% \
    -T "$work" "$work/in.txt" \
    -o "$work/sortr.out"
fi

# Checks: permutations of the input, identical corpusflow outputs.
cmp -s "$work/cat.out" "$work/in.txt" || die "cat output differs"
cmp -s "$work/cf256.out" "$work/cffit.out" || die "corpusflow outputs differ between budgets"
for out in cf256 shuf $( ((sort_r)) && echo sortr); do
  [[ "$(digest "$work/$out.out")" == "$input_digest" ]] ||
    die "$out output is not a permutation of the input"
done
echo "checked: every output is a permutation of the input; corpusflow outputs identical"
grep -o '"mode": "[^"]*"\|"buckets": [0-9]*\|"re-scatters": [0-9]*\|"spill compression": "[^"]*"' \
  "$work/cf256.json" | tr '\n' ' '
echo

shuf_wall=$(median_wall shuf)
cat_wall=$(median_wall cat)
printf "\n%-34s %9s %9s %9s %9s %10s\n" "command" "wall s" "MB/s" "x shuf" "x cat" "peak RSS"
row() {
  local label="$1" name="$2" wall
  wall=$(median_wall "$name")
  printf "%-34s %9.2f %9.0f %9.2f %9.2f %7s MB\n" "$label" "$wall" \
    "$(calc "$bytes / $wall / 1000000")" "$(calc "$shuf_wall / $wall")" \
    "$(calc "$cat_wall / $wall")" "$(max_rss_mb "$name")"
}
row "corpusflow shuffle --memory 256M" corpusflow-256M
row "corpusflow shuffle --memory $fits" corpusflow-fits
row "shuf" shuf
((sort_r)) && row "sort -R (1 run)" sort-R
row "cat" cat
echo "(median of $repeat runs; MB/s = input bytes / wall time)"
for name in corpusflow-256M corpusflow-fits shuf cat; do
  echo "  $name runs (wall s, peak KB): $(tr '\n' ';' <"$work/$name.times")"
done
