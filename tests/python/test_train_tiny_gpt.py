"""End-to-end test of the GPT data path to a training step: corpusflow packs documents of ids
(runs of consecutive ids, so that the next id is learnable) after a global shuffle with
`pack --mode best-fit`, writes the samples as JSONL, and examples/train_tiny_gpt.py trains a tiny
GPT on them with per-document attention built from cu_seqlens; the loss must fall.

The samples' layout (segments and positions from cu_seqlens, padding masked) is checked without
torch; the training needs Debian's python3-torch and is skipped (exit 77) without it.
Needs CORPUSFLOW_BINARY (set by ctest).
"""

import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "examples"))

import train_tiny_gpt as script  # noqa: E402
import training_log  # noqa: E402


def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("FAILED (%d): %s\n%s%s" % (r.returncode, " ".join(argv), r.stdout, r.stderr))
    return r.stdout


def check_layout():
    segments, positions = script.document_layout([0, 3, 5], 8)
    if segments != [0, 0, 0, 1, 1, -1, -1, -1] or positions != [0, 1, 2, 0, 1, 0, 0, 0]:
        sys.exit("document_layout([0, 3, 5], 8) = %r, %r" % (segments, positions))


def check_samples(samples, length):
    """Every sample: `length` ids, pieces that cover [0, cu[-1]), padding masked after."""
    for number, (ids, mask, cu) in enumerate(samples):
        if len(ids) != length:
            sys.exit("sample %d has %d ids, not %d" % (number, len(ids), length))
        segments, positions = script.document_layout(cu, length)
        for p in range(length):
            padding = p >= cu[-1]
            if (segments[p] < 0) != padding or mask[p] != (0 if padding else 1):
                sys.exit("sample %d, id %d: segment %d, mask %d, cu %r" %
                         (number, p, segments[p], mask[p], cu))
            if padding and ids[p] != 0:
                sys.exit("sample %d, id %d: padding %d is not --pad-id 0" % (number, p, ids[p]))
        for begin in cu[:-1]:
            if positions[begin] != 0:
                sys.exit("sample %d: a piece starting at %d does not start at position 0" %
                         (number, begin))


def main():
    binary = os.environ.get("CORPUSFLOW_BINARY")
    if not binary:
        sys.exit("set CORPUSFLOW_BINARY to the corpusflow executable")
    check_layout()
    with tempfile.TemporaryDirectory() as tmp:
        rng = random.Random(1)
        ids = os.path.join(tmp, "ids.txt")
        with open(ids, "w") as f:
            for _ in range(600):
                start = rng.randrange(50)
                f.write(" ".join(str(1 + (start + i) % 50) for i in range(rng.randint(4, 90))))
                f.write("\n")
        samples_path = os.path.join(tmp, "samples.jsonl")
        run([binary, "run", "--threads", "2",
             "read %s | parse-ids | shuffle --seed 3 | pack --mode best-fit --length 64 --eod 51"
             " --pad-id 0 | write %s" % (ids, samples_path)])
        samples = script.read_samples(samples_path)
        check_samples(samples, 64)
        if sum(len(cu) - 1 for _, _, cu in samples) <= len(samples):
            sys.exit("best-fit should put several document pieces in most samples")
        print("ok: %d samples, layout from cu_seqlens" % len(samples))

        if script.torch is None:
            print("SKIPPED: python3-torch is not installed (apt-get install python3-torch)")
            sys.exit(77)
        log = run([sys.executable, os.path.join(ROOT, "examples", "train_tiny_gpt.py"),
                   samples_path, "--steps", "150", "--batch-size", "8", "--d-model", "64",
                   "--layers", "2", "--log-every", "50", "--device", "cpu"])
        print(log)
        # From about ln(52) = 3.95 to well below: the next id of a run is its successor.
        training_log.check_loss_fell(log, 1.0)

        # Per-document attention: a query sees only earlier ids of its own piece.
        allowed = script.attention_allowed([[0, 0, 1, 1, -1]])
        expected = [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 1, 1, 0],
                    [0, 0, 0, 0, 1]]
        if allowed[0].int().tolist() != expected:
            sys.exit("attention mask %r" % allowed[0].int().tolist())
        print("ok: block-diagonal causal attention")


if __name__ == "__main__":
    main()
