"""End-to-end test of the data path to a training step: corpusflow turns generated Chinese text
into T5 PEGASUS pairs (pseudo-summary), tokenizes both sides, writes Megatron datasets, checks
them with `corpusflow inspect`, and examples/train_tiny_seq2seq.py trains a tiny
encoder-decoder on them with Debian's python3-torch on CPU; the loss must fall.

Needs CORPUSFLOW_BINARY (set by ctest). Exits 77 (skipped) when torch is not installed.
"""

import os
import subprocess
import sys
import tempfile

import training_log

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")


def run(argv, **kwargs):
    r = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if r.returncode != 0:
        sys.exit("FAILED (%d): %s\n%s%s" % (r.returncode, " ".join(argv), r.stdout, r.stderr))
    return r.stdout


def main():
    try:
        import torch  # noqa: F401
    except ImportError:
        print("SKIPPED: python3-torch is not installed (apt-get install python3-torch)")
        sys.exit(77)
    binary = os.environ.get("CORPUSFLOW_BINARY")
    if not binary:
        sys.exit("set CORPUSFLOW_BINARY to the corpusflow executable")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "zh.jsonl")
        run([binary, "gen", "--bytes", "120K", "--lang", "zh", "--paragraphs", "--seed", "7",
             "-o", corpus])
        # A character vocabulary in BERT's layout: the T5 PEGASUS tokenizer falls back to
        # characters for jieba words that are not in it.
        import json
        chars = set()
        with open(corpus, encoding="utf-8") as f:
            for line in f:
                chars.update(c for c in json.loads(line)["text"] if not c.isspace())
        vocab = os.path.join(tmp, "vocab.txt")
        with open(vocab, "w", encoding="utf-8") as f:
            specials = ["[PAD]"] + ["[unused%d]" % i for i in range(1, 100)]
            specials += ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
            f.write("\n".join(specials + sorted(chars)) + "\n")
        out = os.path.join(tmp, "out", "train")
        os.mkdir(os.path.dirname(out))
        tokenize = "tokenize --kind t5pegasus --vocab %s --add-special" % vocab
        run([binary, "run", "--threads", "2",
             "read %s | pseudo-summary"
             " | %s --field src --output src_ids --max-len 64"
             " | %s --field tgt --output tgt_ids --max-len 32"
             " | write-megatron %s --fields src_ids,tgt_ids" % (corpus, tokenize, tokenize, out)])
        report = run([binary, "inspect", out, "--vocab", vocab, "--show", "1"])
        if report.count("check      ok") != 2 or "dtype uint16" not in report:
            sys.exit("unexpected inspect report:\n" + report)
        log = run([sys.executable, os.path.join(ROOT, "examples", "train_tiny_seq2seq.py"), out,
                   "--src-len", "64", "--tgt-len", "32", "--steps", "150", "--d-model", "64",
                   "--layers", "2", "--batch-size", "16", "--log-every", "50", "--device", "cpu"])
        print(log)
        if "decoder start 0," not in log:
            sys.exit("the decoder should start with the pad id by default:\n" + log)
        # From about ln(vocabulary) to well below it: the model learns.
        training_log.check_loss_fell(log, 1.0)

        # --decoder-start-id reaches the decoder input of every pair; the defaults are the small
        # CPU-sized run the README promises (about a minute on two cores).
        sys.path.insert(0, os.path.join(ROOT, "examples"))
        import train_tiny_seq2seq as script
        defaults = script.parse_args([out])
        if (defaults.steps, defaults.src_len, defaults.tgt_len, defaults.batch_size,
                defaults.d_model, defaults.decoder_start_id) != (150, 128, 48, 8, 64, None):
            sys.exit("unexpected defaults: %s" % defaults)
        args = script.parse_args([out, "--decoder-start-id", "101", "--tgt-len", "8"])
        src = script.IndexedDataset(script.dataset_prefix(out, "src_ids", "document"))
        tgt = script.IndexedDataset(script.dataset_prefix(out, "tgt_ids", "document"))
        pairs = script.make_pairs(args, src, tgt)
        for i in (0, len(pairs) - 1):
            item = pairs[i]
            if int(item["decoder_input_ids"][0]) != 101:
                sys.exit("pair %d: decoder input starts with %d, not 101"
                         % (i, int(item["decoder_input_ids"][0])))
            # The rest is the target shifted right by one.
            target = tgt[i][:min(len(tgt[i]), 8) - 1].astype("int64")
            if list(item["decoder_input_ids"][1:1 + len(target)]) != list(target):
                sys.exit("pair %d: the decoder input is not the shifted target" % i)
        print("ok: --decoder-start-id 101 starts every decoder input")


if __name__ == "__main__":
    main()
