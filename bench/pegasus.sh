#!/usr/bin/env bash
# Throughput of the PEGASUS operators on generated Chinese text, in one invocation:
#  1. `pseudo-summary` (T5 PEGASUS, bit-parallel LCS) on the whole corpus, 1 and --threads
#     threads: pairs/s and MB/s of input text (wall clock of the run), and MB/s per CPU-second
#     spent inside the operator (--stats-json);
#  2. bit-parallel vs quadratic LCS (`--lcs quadratic`, the same binary) on the same text (the
#     first --quadratic-docs generated documents, or a tenth as many long ones), one thread: the
#     ratio of the operator's CPU time;
#  3. `gsg --strategy ind` and `--strategy seq` (character ROUGE-1) on the whole corpus.
# Two corpora from `gen --lang zh --paragraphs --seed 1` (--size each): its documents as they come
# (a few hundred characters: groups shorter than 768), and "long" documents made of 10 of them
# joined by newlines (full 768-character groups, the reference's case).
# Goals (docs/pegasus.md): bit-parallel at least 30x the quadratic LCS; pseudo-summary at least
# 5 MB/s per core. The script prints figures; it never fails on speed.
#
# usage: bench/pegasus.sh [--size 20M] [--threads 2] [--quadratic-docs 2000] [--dir DIR]
#                         [--corpusflow PATH]
# Needs /usr/bin/python3 (Debian's) to make the long documents and read the stats.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

size=20M
threads=2
quadratic_docs=2000
dir="${TMPDIR:-/tmp}"
corpusflow="$root/build/cli/corpusflow"

parse_options "size threads quadratic-docs dir corpusflow" "" "$@"
require_corpusflow
make_workdir "$dir"

echo "corpusflow: $corpusflow"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "corpus: gen --bytes $size --lang zh --paragraphs --seed 1"
"$corpusflow" run "gen --bytes $size --lang zh --paragraphs --seed 1 | write $work/docs.jsonl" \
  --progress never 2>/dev/null
/usr/bin/python3 - "$work/docs.jsonl" "$work/long.jsonl" <<'EOF'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    docs = [json.loads(line)["text"] for line in f]
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for i in range(0, len(docs), 10):
        out.write(json.dumps({"text": "\n".join(docs[i:i + 10])}, ensure_ascii=False) + "\n")
EOF

# run NAME CORPUS THREADS STAGE...: run `read CORPUS | STAGES | write`, print one table row.
run() {
  local name="$1" corpus="$2" t="$3" stages="$4"
  "$corpusflow" run "read $work/$corpus.jsonl | $stages | write $work/out.jsonl" \
    --threads "$t" --progress never --stats-json "$work/stats.json" 2>/dev/null
  /usr/bin/python3 - "$work/stats.json" "$name" "$corpus" "$t" <<'EOF'
import json, sys
stats = json.load(open(sys.argv[1]))
op = next(o for o in stats["operators"] if o["name"] not in ("read", "head", "write"))
mb = op["bytes_in"] / 1e6
elapsed = stats["elapsed_seconds"]
cpu = max(op["cpu_seconds"], 1e-9)
print("%-30s %-5s %7s %9d %10d %9.0f %9.1f %11.1f %9.2f" % (
    sys.argv[2], sys.argv[3], sys.argv[4], op["records_in"], op["records_out"],
    op["records_out"] / elapsed, mb / elapsed, mb / cpu, cpu))
with open(sys.argv[1] + ".cpu", "w") as f:
    f.write("%r\n" % cpu)
EOF
}

header() {
  printf '\n%-30s %-5s %7s %9s %10s %9s %9s %11s %9s\n' "$1" corpus threads docs_in records \
    "recs/s" "MB/s" "MB/s/core" "op_cpu_s"
}

header "pseudo-summary (bit-parallel)"
for corpus in docs long; do
  for t in 1 "$threads"; do
    run "pseudo-summary" "$corpus" "$t" "pseudo-summary"
  done
done

header "LCS: the first $quadratic_docs docs"
declare -A cpu
for corpus in docs long; do
  docs="$quadratic_docs"
  [[ "$corpus" == long ]] && docs=$(( (quadratic_docs + 9) / 10 ))
  for lcs in bitparallel quadratic; do
    run "pseudo-summary --lcs $lcs" "$corpus" 1 "head $docs | pseudo-summary --lcs $lcs"
    cpu[$corpus-$lcs]="$(cat "$work/stats.json.cpu")"
  done
done
for corpus in docs long; do
  /usr/bin/python3 -c "import sys; print('%s: bit-parallel is %.1fx faster than quadratic (operator CPU time)' % (sys.argv[1], float(sys.argv[3]) / float(sys.argv[2])))" \
    "$corpus" "${cpu[$corpus-bitparallel]}" "${cpu[$corpus-quadratic]}"
done

header "gsg (chars ROUGE-1)"
for strategy in ind seq; do
  for t in 1 "$threads"; do
    run "gsg --strategy $strategy" docs "$t" "gsg --strategy $strategy"
  done
done
echo
echo "recs/s and MB/s: records out and input text per second of the whole run (read + stage +"
echo "write); MB/s/core: input text per CPU-second inside the stage."
