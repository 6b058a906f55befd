#!/usr/bin/env bash
# The cost of a checkpoint (`--checkpoint DIR`, docs/resume.md) on a run that is never
# interrupted, and the work a kill costs. Two workloads on one generated corpus (`corpusflow
# gen`): `corpusflow shuffle` out of core (--memory, 256M by default: the shuffle spills), and
# a T5 PEGASUS pipeline (pseudo-summary, two tokenizers, a shuffle, write-megatron); each runs
# --runs times without and with a checkpoint, alternately (median wall time). The outputs with a
# checkpoint must be byte-identical to those without (checked by digest). Then each workload is
# killed once (SIGKILL) halfway through its tasks and resumed: the resumed run's report says
# how many tasks it did again (at most one). Prints wall seconds, the overhead of the checkpoint
# in percent, peak RSS, and the kill's rework.
#
# usage: bench/resume.sh [--size 1G] [--runs 5] [--memory 256M] [--threads 2] [--dir DIR]
#                        [--corpusflow PATH] [--keep]
# Needs: GNU time, md5sum. Never fails on speed.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

size=1G
runs=5
memory=256M
threads=2
dir="${TMPDIR:-/tmp}"
corpusflow="$root/build/cli/corpusflow"
keep=0

parse_options "size runs memory threads dir corpusflow" "keep" "$@"
require_corpusflow
require_tool /usr/bin/time "apt-get install time"
make_workdir "$dir" "$keep"

"$corpusflow" gen --bytes "$size" --lang zh -o "$work/corpus.txt" --progress never
input_bytes=$(stat -c %s "$work/corpus.txt")
mb=$(awk "BEGIN { printf \"%.1f\", $input_bytes / 1e6 }")
"$corpusflow" run "read $work/corpus.txt | head 20000 | vocab -o $work/vocab.txt --size 8000" \
  --progress never
echo "corpus: corpusflow gen --bytes $size --lang zh ($mb MB), --memory $memory," \
  "--threads $threads, $runs runs each, without and with --checkpoint alternately"

options=(--threads "$threads" --memory "$memory" --tmp-dir "$work" --progress never
  --stats-json "$work/stats.json")
shuffle_cmd() { echo shuffle "$work/corpus.txt" --seed 7 -o "$work/out.txt"; }
v="$work/vocab.txt"
pegasus="read $work/corpus.txt | pseudo-summary | tokenize --kind t5pegasus --vocab $v --field src \
--output src_ids | tokenize --kind t5pegasus --vocab $v --field tgt --output tgt_ids | shuffle \
--seed 5 | write-megatron $work/out"

# run NAME CMD...: time one run (after a sync, the outputs and checkpoint removed first), append
# "wall peak_rss_mb" to $work/NAME.runs and the outputs' digest to $work/NAME.digests.
run() {
  local name="$1"
  shift
  rm -rf "$work"/out* "$work/ck"
  sync
  /usr/bin/time -o "$work/time.tmp" -f "%e" "$@" >/dev/null
  local rss
  rss=$(/usr/bin/python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['peak_rss_bytes']/2**20))" "$work/stats.json")
  echo "$(cat "$work/time.tmp") $rss" >>"$work/$name.runs"
  cat "$work"/out* | md5sum | cut -d' ' -f1 >>"$work/$name.digests"
}

for ((i = 0; i < runs; i++)); do
  # shellcheck disable=SC2046
  run shuffle "$corpusflow" $(shuffle_cmd) "${options[@]}"
  # shellcheck disable=SC2046
  run shuffle_ck "$corpusflow" $(shuffle_cmd) "${options[@]}" --checkpoint "$work/ck"
  run pegasus "$corpusflow" run "$pegasus" "${options[@]}"
  run pegasus_ck "$corpusflow" run "$pegasus" "${options[@]}" --checkpoint "$work/ck"
done
for w in shuffle pegasus; do
  if [[ $(sort -u "$work/$w.digests" "$work/${w}_ck.digests" | wc -l) -ne 1 ]]; then
    die "$w: the outputs with a checkpoint differ from those without"
  fi
done

# kill NAME CMD...: run with a checkpoint, SIGKILL it when half its tasks are committed, resume
# it; print the resumed run's wall time and its checkpoint counters.
kill_and_resume() {
  local name="$1"
  shift
  rm -rf "$work"/out* "$work/ck"
  "$@" --checkpoint "$work/ck" &
  local pid=$! tasks=0 done=0
  while kill -0 "$pid" 2>/dev/null; do
    if [[ -f "$work/ck/corpusflow-checkpoint" ]]; then
      tasks=$("$corpusflow" status "$work/ck" 2>/dev/null | awk '/^  input tasks/ {print $5}')
      done=$(find "$work/ck/tasks" -name '*.done' 2>/dev/null | wc -l)
      if [[ -n "$tasks" && "$done" -ge $((tasks / 2 + 1)) ]]; then
        kill -9 "$pid"
        break
      fi
    fi
    sleep 0.05
  done
  wait "$pid" 2>/dev/null || true
  /usr/bin/time -o "$work/time.tmp" -f "%e" "$@" --checkpoint "$work/ck" >/dev/null
  /usr/bin/python3 - "$name" "$(cat "$work/time.tmp")" "$work/stats.json" <<'EOF'
import json, sys
name, wall, path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
c = json.load(open(path))["operators"][0]["counters"]
print(f"{name:10s} killed after half its input tasks, resumed in {wall:.2f} s: "
      f"{c['checkpoint_tasks_resumed']} of {c['checkpoint_tasks']} tasks kept, "
      f"{c['checkpoint_tasks_run']} run, {c['checkpoint_tasks_redone']} done again")
EOF
}

printf '\n%-10s %14s %14s %10s %12s %12s\n' "workload" "wall s" "checkpoint s" "overhead" \
  "RSS MB" "ck RSS MB"
for w in shuffle pegasus; do
  a=$(cut -d' ' -f1 "$work/$w.runs" | median)
  b=$(cut -d' ' -f1 "$work/${w}_ck.runs" | median)
  ra=$(cut -d' ' -f2 "$work/$w.runs" | median)
  rb=$(cut -d' ' -f2 "$work/${w}_ck.runs" | median)
  awk -v n="$w" -v a="$a" -v b="$b" -v ra="$ra" -v rb="$rb" 'BEGIN {
    printf "%-10s %14.2f %14.2f %9.1f%% %12d %12d\n", n, a, b, (b / a - 1) * 100, ra, rb }'
done
echo
echo "outputs with a checkpoint byte-identical to those without (md5 $(head -1 "$work/shuffle.digests"), $(head -1 "$work/pegasus.digests"))"
# shellcheck disable=SC2046
kill_and_resume shuffle "$corpusflow" $(shuffle_cmd) "${options[@]}"
kill_and_resume pegasus "$corpusflow" run "$pegasus" "${options[@]}"
