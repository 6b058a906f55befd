"""The examples train through corpusflow.torch: examples/train_tiny_gpt.py on GPT samples and
examples/train_tiny_seq2seq.py on T5 PEGASUS pairs, from packed files (``pack | write-megatron``,
read with --packed) or, with ``--live``, from live pipelines (--pipeline, corpusflow.Pipeline);
on CPU, a few steps, the loss must fall.

Needs CORPUSFLOW_BINARY; run by ctest with PYTHONPATH on python/. Exits 77 (skipped) without
torch, and with --live when corpusflow.Pipeline cannot be imported.
"""

import os
import random
import sys
import tempfile

import torch_inputs
import training_log
from torch_inputs import binary, fail, run

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples")


def gpt_spec(tmp):
    """Documents of runs of consecutive ids (the next id is learnable), shuffled and packed."""
    rng = random.Random(1)
    ids = os.path.join(tmp, "ids.txt")
    with open(ids, "w") as f:
        for _ in range(600):
            start = rng.randrange(50)
            f.write(" ".join(str(1 + (start + i) % 50) for i in range(rng.randint(4, 90))))
            f.write("\n")
    return ("read %s | parse-ids --vocab-size 52 | shuffle --seed 3"
            " | pack --mode best-fit --length 64 --eod 51 --pad-id 0" % ids)


def seq2seq_spec(tmp):
    path, vocab = torch_inputs.corpus(tmp, "zh", "120K", 7)
    tokenize = "tokenize --kind t5pegasus --vocab %s --add-special" % vocab
    spec = ("read %s | pseudo-summary | %s --field src --output src_ids --max-len 64"
            " | %s --field tgt --output tgt_ids --max-len 32"
            " | pack --mode pad --src-length 64 --tgt-length 32" % (path, tokenize, tokenize))
    with open(vocab, encoding="utf-8") as f:
        return spec, sum(1 for _ in f)


GPT_ARGS = ["--steps", "150", "--batch-size", "8", "--d-model", "64", "--layers", "2",
            "--log-every", "50", "--device", "cpu"]
SEQ2SEQ_ARGS = ["--steps", "150", "--d-model", "64", "--layers", "2", "--batch-size", "16",
                "--log-every", "50", "--device", "cpu"]


def check_padded_pairs(prefix):
    """The decoder input is the target shifted right behind the start id; labels hide padding."""
    sys.path.insert(0, EXAMPLES)
    import train_tiny_seq2seq as script
    from corpusflow.torch import PackedDataset
    batch = next(iter(PackedDataset(prefix, seed=1, batch_size=4,
                                    fields=["src_ids", "src_mask", "tgt_ids", "tgt_mask"])))
    pairs = script.padded_pairs(batch, 0, 101)
    for k in range(4):
        kept = int(batch["tgt_mask"][k].sum())
        target = batch["tgt_ids"][k][:kept].tolist()
        if pairs["labels"][k].tolist() != target + [-100] * (32 - kept):
            fail("labels %r for target %r" % (pairs["labels"][k].tolist(), target))
        if pairs["decoder_input_ids"][k].tolist() != ([101] + target + [0] * 32)[:32]:
            fail("decoder input %r for target %r" % (pairs["decoder_input_ids"][k].tolist(),
                                                     target))
    print("ok: pairs from pack --mode pad: labels and shifted decoder inputs")


def main():
    live = sys.argv[1:] == ["--live"]
    torch_inputs.skip_without_torch()
    if live:
        try:
            from corpusflow import Pipeline  # noqa: F401
        except ImportError as error:
            print("SKIPPED: corpusflow.Pipeline cannot be imported (%s)" % error)
            sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        gpt = gpt_spec(tmp)
        pairs, vocab_size = seq2seq_spec(tmp)
        if live:
            gpt_source = ["--pipeline", gpt, "--vocab-size", "52"]
            seq2seq_source = ["--pipeline", pairs, "--vocab-size", str(vocab_size)]
        else:
            gpt_prefix = os.path.join(tmp, "gpt")
            pairs_prefix = os.path.join(tmp, "pairs")
            run([binary(), "run", "--threads", "2", gpt + " | write-megatron " + gpt_prefix])
            run([binary(), "run", "--threads", "2", pairs + " | write-megatron " + pairs_prefix
                 + " --fields src_ids,src_mask,tgt_ids,tgt_mask"])
            check_padded_pairs(pairs_prefix)
            gpt_source = ["--packed", gpt_prefix, "--workers", "1"]
            seq2seq_source = [pairs_prefix, "--packed", "--workers", "1"]
        log = run([sys.executable, os.path.join(EXAMPLES, "train_tiny_gpt.py")] + gpt_source
                  + GPT_ARGS)
        print(log)
        # From about ln(52) = 3.95 to well below: the next id of a run is its successor.
        training_log.check_loss_fell(log, 1.0)
        log = run([sys.executable, os.path.join(EXAMPLES, "train_tiny_seq2seq.py")]
                  + seq2seq_source + SEQ2SEQ_ARGS)
        print(log)
        if "decoder start 0," not in log:
            fail("the decoder should start with the pad id by default:\n" + log)
        training_log.check_loss_fell(log, 1.0)


if __name__ == "__main__":
    main()
