#!/usr/bin/env bash
# Tokenization throughput against the reference implementations, in one invocation on one
# generated corpus (`corpusflow gen --lang mixed`: Chinese and English sentences):
#   segment                          vs python3-jieba cut(HMM=False)
#   tokenize --kind wordpiece         vs HF tokenizers' BERT WordPiece (npm binding, node)
#   tokenize --kind sentencepiece     vs spm_encode (Debian sentencepiece), same .model
#   tokenize --kind t5pegasus, vocab  (no reference; figures for the record)
#   tokenize --kind bpe               vs npm tiktoken (WebAssembly) and npm tokenizers (HF, a
#                                     Llama-3-style tokenizer.json of the same ranks), cl100k
#                                     and o200k, on English and on Chinese text (gen --lang en,
#                                     zh), medians of --runs runs; plus the load time and RSS of
#                                     the o200k ranks
# "MB/s per core" is input bytes over CPU seconds: for corpusflow the operator's own CPU time
# from --stats-json (reading and writing excluded), for python3-jieba the process time of its
# cut loop, for HF the process CPU time of its encode loop, for spm_encode the process's user +
# system time. Wall-clock MB/s of the whole corpusflow pipeline is shown for --threads 1 and 2.
# It prints figures and ratios; it never fails on speed.
#
# Usage: bench/tokenize.sh [--build DIR] [--size 32M] [--only bpe|others] [--runs 5] [--work DIR]
#                          [--keep]
#   --build  build folder holding cli/corpusflow (default: build)
#   --size   corpus size (default 32M; python3-jieba runs at about 2 MB/s)
#   --only   bpe: the BPE section alone; others: everything but it (default: all)
#   --runs   runs of each BPE measurement, the median is shown (default 5)
#   --work   scratch folder (default: a new folder under $TMPDIR, removed at the end)
# Needs: /usr/bin/python3 with python3-jieba, node with tests/oracles/node_modules
# (npm ci --prefix tests/oracles), spm_train/spm_encode, /usr/bin/time.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build="$root/build"
size="32M"
work=""
keep=0
only=""
runs=5
parse_options "build size work only runs" "keep" "$@"
# Absolute: the script works inside the scratch folder.
[[ -d "$build" ]] && build="$(cd "$build" && pwd)"
corpusflow="$build/cli/corpusflow"
require_corpusflow "use --build DIR"
if [[ -z "$work" ]]; then
  make_workdir "${TMPDIR:-/tmp}" "$keep"
fi
mkdir -p "$work"
cd "$work"

[[ -z "$only" || "$only" == bpe || "$only" == others ]] || die "--only bpe or others" 2

# The BPE section: corpusflow, tiktoken and HF tokenizers on the same English and Chinese text.
bpe_section() {
  local oracle="$root/tests/oracles/bpe_oracle.js"
  [[ -d "$root/tests/oracles/node_modules/tiktoken" ]] ||
    die "npm tiktoken missing: npm ci --prefix tests/oracles"
  echo "== BPE: corpora (gen --lang en and zh, $size each) and rank files from npm tiktoken"
  for lang in en zh; do
    "$corpusflow" gen --bytes "$size" --lang "$lang" --seed 1 -o "bpe-$lang.txt" --progress never
    # Documents for the oracles: the lines, NUL-separated (they read documents, not lines).
    tr '\n' '\0' < "bpe-$lang.txt" > "bpe-$lang.bin"
  done
  printf '%-8s %-4s %10s %10s %10s %8s %8s %10s %10s\n' encoding lang "cf/core" tiktoken \
    "HF" "vs tt" "vs HF" "cf wall1t" "cf wall2t"
  for encoding in cl100k_base o200k_base; do
    node "$oracle" export "$encoding" "$encoding.tiktoken"
    node "$oracle" export-tokenizer-json "$encoding" "$encoding.json"
    for lang in en zh; do
      local bytes cf=() tt=() hf=() w1=() w2=() cpu elapsed wall k
      bytes=$(stat -c %s "bpe-$lang.txt")
      for ((k = 0; k < runs; ++k)); do
        for threads in 1 2; do
          "$corpusflow" run "read -z bpe-$lang.bin | tokenize --kind bpe --tiktoken \
            $encoding.tiktoken | write-megatron bpe-out" --threads "$threads" \
            --progress never --stats-json stats-bpe.json > /dev/null
          read -r cpu elapsed < <(op_stat stats-bpe.json tokenize cpu_seconds elapsed_seconds)
          wall=$(python3 -c "print(f'{$bytes / 1e6 / $elapsed:.1f}')")
          if ((threads == 1)); then
            cf+=("$(python3 -c "print(f'{$bytes / 1e6 / $cpu:.2f}')")")
            w1+=("$wall")
          else
            w2+=("$wall")
          fi
        done
        read -r _ _ _ cpu < <(node "$oracle" encode "$encoding" "bpe-$lang.bin" /dev/null --bench)
        tt+=("$(python3 -c "print(f'{$bytes / 1e6 / $cpu:.2f}')")")
        read -r _ _ _ cpu < <(node "$oracle" encode-hf "$encoding.json" "bpe-$lang.bin" /dev/null \
          --bench)
        hf+=("$(python3 -c "print(f'{$bytes / 1e6 / $cpu:.2f}')")")
      done
      local mcf mtt mhf
      mcf=$(median "${cf[@]}")
      mtt=$(median "${tt[@]}")
      mhf=$(median "${hf[@]}")
      printf '%-8s %-4s %10s %10s %10s %8s %8s %10s %10s\n' "${encoding%_base}" "$lang" "$mcf" \
        "$mtt" "$mhf" "$(python3 -c "print(f'{$mcf / $mtt:.1f}x')")" \
        "$(python3 -c "print(f'{$mcf / $mhf:.1f}x')")" "$(median "${w1[@]}")" \
        "$(median "${w2[@]}")"
    done
  done
  echo "cf/core, tiktoken, HF: MB/s per core (CPU time of the encoding); cf wall: MB/s of the"
  echo "whole pipeline (read | tokenize | write-megatron, the model's load included) at 1 and 2 threads. Medians of $runs runs. Goals: >= 8x tiktoken, >= 10x"
  echo "HF tokenizers, >= 25 MB/s per core, near-linear on 2 threads (on an idle machine)."
  local load=()
  echo a > one.txt
  for ((k = 0; k < runs; ++k)); do
    /usr/bin/time -f '%e %M' -o load.time "$corpusflow" run "read one.txt | tokenize --kind bpe \
      --tiktoken o200k_base.tiktoken | write /dev/null --format jsonl" --progress never
    load+=("$(cat load.time)")
  done
  printf '%s\n' "${load[@]}" | sort -g | awk -v n="$runs" \
    '{t[NR]=$1; m[NR]=$2} END {i=int((n+1)/2); printf "o200k: plan + load + one line: %.2f s, peak RSS %.0f MB (median of %d)\n", t[i], m[i]/1024, n}'
}

if [[ "$only" == bpe ]]; then
  bpe_section
  exit 0
fi

echo "== corpus: corpusflow gen --bytes $size --lang mixed --seed 1"
"$corpusflow" gen --bytes "$size" --lang mixed --seed 1 -o corpus.txt --progress never
BYTES=$(stat -c %s corpus.txt)
echo "   $BYTES bytes, $(wc -l < corpus.txt) lines; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A PER_CORE WALL1 WALL2 REF_PER_CORE REF_NAME

# corpusflow: run PIPELINE_MIDDLE at 1 and 2 threads; record MB/s per core and wall MB/s.
run_corpusflow() {
  local key="$1" op="$2" middle="$3" field="$4"
  for threads in 1 2; do
    "$corpusflow" run "read corpus.txt | $middle | write - --format jsonl --field $field" \
      --threads "$threads" --progress never --stats-json "stats-$key-$threads.json" > /dev/null
    read -r bytes cpu elapsed < <(op_stat "stats-$key-$threads.json" "$op" bytes_in cpu_seconds \
      elapsed_seconds)
    local wall
    wall=$(python3 -c "print(f'{$BYTES / 1e6 / $elapsed:.1f}')")
    if [[ $threads -eq 1 ]]; then
      PER_CORE[$key]=$(python3 -c "print(f'{$bytes / 1e6 / $cpu:.1f}')")
      WALL1[$key]=$wall
    else
      WALL2[$key]=$wall
    fi
  done
}

echo "== vocabulary for WordPiece and T5 PEGASUS: corpusflow vocab --size 30000"
"$corpusflow" vocab corpus.txt -o vocab.txt --size 30000 --threads 1 --progress never \
  --stats-json stats-vocab.json
read -r bytes cpu elapsed < <(op_stat stats-vocab.json vocab bytes_in cpu_seconds elapsed_seconds)
VOCAB_RATE=$(python3 -c "print(f'{$bytes / 1e6 / $cpu:.1f}')")

echo "== SentencePiece model: spm_train unigram 16000 (mT5 ids) on the first 4 MB"
head -c 4000000 corpus.txt > sample.txt
spm_train --input=sample.txt --model_prefix=sp --vocab_size=16000 --model_type=unigram \
  --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1 --byte_fallback=true --num_threads=2 \
  --minloglevel=2 > /dev/null 2>&1

echo "== segment vs python3-jieba"
run_corpusflow segment segment "segment" tokens
REF_NAME[segment]="python3-jieba"
REF_PER_CORE[segment]=$(/usr/bin/python3 - corpus.txt <<'EOF'
import logging, sys, time
import jieba
jieba.setLogLevel(logging.ERROR)
jieba.initialize()
lines = open(sys.argv[1], "rb").read().split(b"\n")
texts = [l.decode("utf-8", "replace") for l in lines]
start = time.process_time()
for t in texts:
    for _ in jieba.cut(t, HMM=False):
        pass
seconds = time.process_time() - start
print(f"{sum(len(l) + 1 for l in lines) / 1e6 / seconds:.2f}")
EOF
)

echo "== tokenize --kind wordpiece vs HF tokenizers"
run_corpusflow wordpiece tokenize "tokenize --kind wordpiece --vocab vocab.txt --lowercase" \
  text_ids
REF_NAME[wordpiece]="HF tokenizers"
if [[ -d "$root/tests/oracles/node_modules/tokenizers" ]]; then
  read -r _ hf_wall _ hf_cpu < <(node "$root/tests/oracles/wordpiece_oracle.js" vocab.txt \
    corpus.txt /dev/null --lowercase --bench)
  REF_PER_CORE[wordpiece]=$(python3 -c "print(f'{$BYTES / 1e6 / $hf_cpu:.2f}')")
else
  echo "   HF tokenizers not installed (npm ci --prefix tests/oracles): no reference" >&2
  REF_PER_CORE[wordpiece]=""
fi

echo "== tokenize --kind sentencepiece vs spm_encode"
run_corpusflow sentencepiece tokenize "tokenize --kind sentencepiece --model sp.model" text_ids
REF_NAME[sentencepiece]="spm_encode"
/usr/bin/time -f "%U %S" -o spm.time spm_encode --model=sp.model --output_format=id \
  --minloglevel=2 < corpus.txt > /dev/null
REF_PER_CORE[sentencepiece]=$(python3 -c "
u, s = open('spm.time').read().split()[-2:]
print(f'{$BYTES / 1e6 / (float(u) + float(s)):.2f}')")

echo "== tokenize --kind t5pegasus"
run_corpusflow t5pegasus tokenize "tokenize --kind t5pegasus --vocab vocab.txt" text_ids
REF_NAME[t5pegasus]="-"
REF_PER_CORE[t5pegasus]=""

echo
printf "%-14s %-14s %12s %12s %8s %10s %10s %8s\n" "stage" "reference" "MB/s/core" "ref MB/s" \
  "ratio" "wall 1t" "wall 2t" "2t/1t"
for key in segment wordpiece sentencepiece t5pegasus; do
  ref="${REF_PER_CORE[$key]}"
  ratio="-"
  [[ -n "$ref" ]] && ratio=$(python3 -c "print(f'{${PER_CORE[$key]} / $ref:.1f}x')")
  scaling=$(python3 -c "print(f'{${WALL2[$key]} / ${WALL1[$key]}:.2f}')")
  printf "%-14s %-14s %12s %12s %8s %10s %10s %8s\n" "$key" "${REF_NAME[$key]}" \
    "${PER_CORE[$key]}" "${ref:--}" "$ratio" "${WALL1[$key]}" "${WALL2[$key]}" "$scaling"
done
printf "%-14s %-14s %12s\n" "vocab" "-" "$VOCAB_RATE"
echo
echo "MB/s/core: corpusflow operator CPU time; wall: whole pipeline (read | op | write JSONL)."
echo "Goals: segment >= 30x python3-jieba, wordpiece >= 10x HF tokenizers, sentencepiece >= 1x"
echo "spm_encode per core and near-linear on 2 threads (on an otherwise idle machine)."

if [[ -z "$only" ]]; then
  echo
  bpe_section
fi
