#!/usr/bin/env bash
# The demo pipeline: raw Chinese text to a Megatron dataset a trainer memory-maps, the T5 PEGASUS
# way. Generates its own corpus, so it needs nothing but the built binary.
#   examples/demo.sh [PATH_TO_CORPUSFLOW] [WORK_DIR]
set -euo pipefail
cf="${1:-build/cli/corpusflow}"
work="${2:-demo-out}"
mkdir -p "$work"
step() { printf '\n== %s\n' "$*"; }

step "1. generate 40 MB of Chinese documents (JSONL, zstd)"
"$cf" gen --bytes 40M --lang zh --paragraphs --seed 1 -o "$work/corpus.jsonl.zst"

step "2. build a 20,000-token T5 PEGASUS vocabulary (jieba words + characters)"
"$cf" vocab "$work/corpus.jsonl.zst" -o "$work/vocab.txt" --size 20000

step "3. shuffle globally, cut pseudo-summary pairs, tokenize, write Megatron datasets"
"$cf" run --memory 256M --stats-json "$work/stats.json" "
  read $work/corpus.jsonl.zst
  | filter --min-chars 64
  | shuffle --seed 7
  | pseudo-summary
  | tokenize --kind t5pegasus --vocab $work/vocab.txt --field src --output src_ids --add-special --max-len 512
  | tokenize --kind t5pegasus --vocab $work/vocab.txt --field tgt --output tgt_ids --add-special --max-len 128
  | write-megatron $work/train --fields src_ids,tgt_ids"

step "4. look inside the dataset"
"$cf" inspect "$work/train_src_ids_document" --vocab "$work/vocab.txt" --show 1
"$cf" inspect "$work/train_tgt_ids_document" --vocab "$work/vocab.txt" --show 1

step "5. a few training steps of a tiny seq2seq Transformer (needs Debian python3-torch)"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 examples/train_tiny_seq2seq.py "$work/train" --steps 40 --src-len 128 --tgt-len 48 \
    --batch-size 8 --d-model 64 --log-every 10
else
  echo "python3-torch is not installed: skipped (apt-get install python3-torch)"
fi
printf '\nDone. Outputs in %s/ (stats: %s/stats.json)\n' "$work" "$work"
