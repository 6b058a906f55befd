#!/usr/bin/env bash
# The global shuffle across MPI ranks on one machine: `mpirun -np N corpusflow run 'read | shuffle
# | write'` for N in --ranks (default 1 2 4) against the single process, on one generated corpus
# (`corpusflow gen`), out of core (--memory per rank, 256M by default: the shuffle spills). Each
# configuration runs --runs times (median wall time). Every output must be byte-identical to the
# single process's (checked by digest). Prints per N: wall seconds, MB/s in all and per rank,
# the ratio to the single process, exchange rounds, bytes sent between ranks and kept, and the
# peak RSS of the largest rank. On one machine the ranks share its cores (with more ranks than
# cores they are oversubscribed) and the exchange goes through shared memory: the figures show
# the cost of the exchange, not a cluster's speed (docs/scale-out.md has the cost model).
#
# usage: bench/mpi.sh [--size 1G] [--runs 5] [--ranks "1 2 4"] [--memory 256M] [--threads 1]
#                     [--dir DIR] [--corpusflow PATH] [--keep]
# Needs: mpirun (Debian openmpi-bin), GNU time, md5sum. Never fails on speed.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

size=1G
runs=5
ranks="1 2 4"
memory=256M
threads=1
dir="${TMPDIR:-/tmp}"
corpusflow="$root/build/cli/corpusflow"
keep=0

parse_options "size runs ranks memory threads dir corpusflow" "keep" "$@"
require_corpusflow
require_tool mpirun "apt-get install openmpi-bin"
require_tool /usr/bin/time "apt-get install time"
make_workdir "$dir" "$keep"

"$corpusflow" gen --bytes "$size" -o "$work/corpus.txt" --progress never
input_bytes=$(stat -c %s "$work/corpus.txt")
mb=$(awk "BEGIN { printf \"%.1f\", $input_bytes / 1e6 }")
echo "corpus: corpusflow gen --bytes $size ($mb MB, $(wc -l <"$work/corpus.txt") lines)," \
  "shuffle --memory $memory per rank, --threads $threads per rank, $runs runs each"

pipeline="read $work/corpus.txt | shuffle --seed 7 --memory $memory | write $work/out.txt"
options=(--threads "$threads" --tmp-dir "$work" --progress never --stats-json "$work/stats.json")

# run NAME CMD...: time one run (after a sync, the output removed first), append
# "wall peak_rss_mb rounds sent kept" to $work/NAME.runs, and check the output's digest.
run() {
  local name="$1"
  shift
  rm -f "$work/out.txt"
  sync
  /usr/bin/time -o "$work/time.tmp" -f "%e" "$@" >/dev/null
  local wall rss rounds sent kept
  wall=$(cat "$work/time.tmp")
  rss=$(/usr/bin/python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['peak_rss_bytes']/2**20))" "$work/stats.json")
  read -r rounds sent kept < <(/usr/bin/python3 - "$work/stats.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
op = next(o for o in doc["operators"] if o["name"] == "shuffle")
c = op.get("counters", {})
print(c.get("exchange_rounds", 0), c.get("exchange_bytes_sent", 0), c.get("exchange_bytes_kept", 0))
EOF
  )
  echo "$wall $rss $rounds $sent $kept" >>"$work/$name.runs"
  local digest
  digest=$(md5sum <"$work/out.txt" | cut -d' ' -f1)
  if [[ -z "${reference:-}" ]]; then
    reference="$digest"
  elif [[ "$digest" != "$reference" ]]; then
    die "$name: output differs from the single process's"
  fi
}

for ((i = 0; i < runs; i++)); do
  run single "$corpusflow" run "$pipeline" "${options[@]}"
  for n in $ranks; do
    run "np$n" mpirun --oversubscribe --allow-run-as-root -np "$n" \
      "$corpusflow" run "$pipeline" "${options[@]}"
  done
done

single_wall=$(cut -d' ' -f1 "$work/single.runs" | median)
printf '\n%-8s %8s %8s %10s %9s %8s %12s %12s %9s\n' "ranks" "wall s" "MB/s" "MB/s/rank" \
  "x single" "rounds" "sent MB" "kept MB" "RSS MB"
row() {
  local name="$1" n="$2" wall rss rounds sent kept
  wall=$(cut -d' ' -f1 "$work/$name.runs" | median)
  rss=$(awk 'BEGIN{m=0} {if ($2>m) m=$2} END {print m}' "$work/$name.runs")
  read -r _ _ rounds sent kept < <(tail -1 "$work/$name.runs")
  awk -v name="$name" -v n="$n" -v w="$wall" -v s="$single_wall" -v b="$input_bytes" \
    -v r="$rounds" -v se="$sent" -v k="$kept" -v m="$rss" 'BEGIN {
      printf "%-8s %8.2f %8.1f %10.1f %9.2f %8d %12.1f %12.1f %9d\n",
        name, w, b / w / 1e6, b / w / 1e6 / n, s / w, r, se / 1e6, k / 1e6, m }'
}
row single 1
for n in $ranks; do row "np$n" "$n"; done
echo
echo "every output byte-identical to the single process's (md5 $reference)"
