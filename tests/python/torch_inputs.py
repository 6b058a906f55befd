"""Inputs of the corpusflow.torch tests, made with the corpusflow binary (CORPUSFLOW_BINARY, set
by ctest): a generated Chinese corpus, a character vocabulary in BERT's layout, and packed
samples written by ``read | tokenize | pack | write-megatron`` (docs/packing.md)."""

import json
import os
import subprocess
import sys


def fail(message):
    sys.exit("FAILED: " + message)


def binary():
    path = os.environ.get("CORPUSFLOW_BINARY")
    if not path:
        sys.exit("set CORPUSFLOW_BINARY to the corpusflow executable")
    return path


def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        fail("(%d): %s\n%s%s" % (r.returncode, " ".join(argv), r.stdout, r.stderr))
    return r.stdout


def skip_without_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        print("SKIPPED: python3-torch is not installed (apt-get install python3-torch)")
        sys.exit(77)


def corpus(tmp, name, size, seed):
    """A generated Chinese JSONL corpus of about `size` bytes, and its character vocabulary."""
    path = os.path.join(tmp, name + ".jsonl")
    run([binary(), "gen", "--bytes", size, "--lang", "zh", "--paragraphs", "--seed", str(seed),
         "-o", path])
    chars = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            chars.update(c for c in json.loads(line)["text"] if not c.isspace())
    vocab = os.path.join(tmp, name + "_vocab.txt")
    with open(vocab, "w", encoding="utf-8") as f:
        specials = ["[PAD]"] + ["[unused%d]" % i for i in range(1, 100)]
        specials += ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        f.write("\n".join(specials + sorted(chars)) + "\n")
    return path, vocab


def tokenize_stage(vocab, field="text", output="text_ids"):
    return "tokenize --kind t5pegasus --vocab %s --field %s --output %s" % (vocab, field, output)


def gpt_pipeline(path, vocab, length, mode="concat"):
    """The live pipeline of GPT samples (no sink): tokenize, pack `length` ids with [SEP]."""
    extra = " --plus-one" if mode == "concat" else ""
    return ("read %s | %s | pack --mode %s --length %d --eod '[SEP]'%s"
            % (path, tokenize_stage(vocab), mode, length, extra))


def packed(tmp, name, size, seed, length, mode="concat"):
    """Write-megatron prefix of packed GPT samples (input_ids, loss_mask, cu_seqlens), the
    pipeline that made them, and a JSONL copy of the same samples."""
    path, vocab = corpus(tmp, name, size, seed)
    prefix = os.path.join(tmp, name)
    jsonl = os.path.join(tmp, name + "_samples.jsonl")
    pipeline = gpt_pipeline(path, vocab, length, mode)
    run([binary(), "run", "--threads", "2", "%s | tee %s | write-megatron %s"
         % (pipeline, jsonl, prefix)])
    return prefix, pipeline, jsonl
