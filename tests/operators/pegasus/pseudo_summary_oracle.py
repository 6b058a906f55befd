"""Oracle for `corpusflow pseudo-summary`: the T5 PEGASUS pseudo-summary written plainly from
REFERENCE.md section 3 (bert4keras text_segmentate, the grouping of t5-pegasus train.py, greedy
selection with a quadratic-table LCS). Run with Debian's /usr/bin/python3 (numpy).

  pseudo_summary_oracle.py make-input OUT.jsonl
      Build test documents from Debian's fortunes-zh (tang300, song100 and the `chinese`
      fortunes, single entries and runs of consecutive entries).
  pseudo_summary_oracle.py check IN.jsonl CORPUSFLOW_OUT.jsonl...
      Compute the pairs of IN.jsonl and compare them with each corpusflow output, in order.
      Exit 0 when all are identical; otherwise print the first difference and exit 1.
  pseudo_summary_oracle.py pairs IN.jsonl
      Print the pairs of IN.jsonl as JSONL.

The one deliberate difference from train.py: where it would divide by zero (source chunks left but
all of them empty) selection stops, as corpusflow documents.
"""
import json
import os
import sys

import numpy as np

FORTUNES = "/usr/share/games/fortunes"


def text_segmentate(text, maxlen, seps="\n", strips=None):
    text = text.strip().strip(strips)
    if seps and len(text) > maxlen:
        pieces = text.split(seps[0])
        text, texts = "", []
        for i, p in enumerate(pieces):
            if text and p and len(text) + len(p) > maxlen - 1:
                texts.extend(text_segmentate(text, maxlen, seps[1:], strips))
                text = ""
            if i + 1 == len(pieces):
                text = text + p
            else:
                text = text + p + seps[0]
        if text:
            texts.extend(text_segmentate(text, maxlen, seps[1:], strips))
        return texts
    return [text]


def text_process(text, maxlen=512):
    texts = text_segmentate(text, 32, "\n\u3002")
    result, length = [], 0
    for t in texts:
        if length + len(t) > maxlen * 1.5 and len(result) >= 3:
            yield result
            result, length = [], 0
        result.append(t)
        length += len(t)
    if result and len(result) >= 3:
        yield result


def lcs(a, b):
    """Length of the longest common subsequence: the DP table, one row at a time.

    Row i of the table is the running maximum of max(previous row, previous row shifted by one
    plus the match indicator), which is the textbook recurrence written with numpy.
    """
    if not a or not b:
        return 0
    codes_b = np.array([ord(c) for c in b], dtype=np.int64)
    previous = np.zeros(len(b) + 1, dtype=np.int64)
    for ch in a:
        match = (codes_b == ord(ch)).astype(np.int64)
        candidate = np.maximum(previous[1:], previous[:-1] + match)
        row = np.empty_like(previous)
        row[0] = 0
        row[1:] = np.maximum.accumulate(candidate)
        previous = row
    return int(previous[-1])


def gather_join(texts, idxs):
    return "".join(texts[i] for i in idxs)


def pseudo_summary(texts, summary_rate=0.25):
    source_idxs, target_idxs = list(range(len(texts))), []
    while True:
        sims = []
        for i in source_idxs:
            new_source_idxs = [j for j in source_idxs if j != i]
            new_target_idxs = sorted(target_idxs + [i])
            new_source = gather_join(texts, new_source_idxs)
            new_target = gather_join(texts, new_target_idxs)
            sims.append(lcs(new_source, new_target))
        new_idx = source_idxs[int(np.argmax(sims))]
        source_idxs.remove(new_idx)
        target_idxs = sorted(target_idxs + [new_idx])
        source = gather_join(texts, source_idxs)
        target = gather_join(texts, target_idxs)
        if len(source_idxs) == 1 or len(source) == 0:
            break
        if 1.0 * len(target) / len(source) > summary_rate:
            break
    if len(source) < len(target):
        source, target = target, source
    return source, target


def pairs_of(path):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            text = json.loads(line)["text"]
            for texts in text_process(text):
                yield pseudo_summary(texts)


def read_fortunes(name):
    with open(os.path.join(FORTUNES, name), encoding="utf-8") as f:
        entries = f.read().split("\n%\n")
    return [e.strip("\n") for e in entries if e.strip()]


def make_input(out_path):
    docs = []
    docs += read_fortunes("tang300")[:150]
    docs += read_fortunes("song100")
    chinese = read_fortunes("chinese")
    # Short and medium fortunes (many yield no group or one small group) ...
    docs += [e for e in chinese[:600] if len(e) < 400][:200]
    # ... and long documents: runs of consecutive fortunes joined by blank lines (several
    # full groups each).
    for start in (2000, 3000):
        docs.append("\n\n".join(chinese[start:start + 30]))
    # Edge cases: empty and blank documents, whitespace-only lines that become empty chunks,
    # a group whose source would be all empty chunks (the reference divides by zero), a run of
    # 1000 characters without a separator, CRLF line ends and full-width spaces.
    blank = " " * 30
    docs += ["", "  \n\u3000 ",
             "\u7532" * 40 + "\n \n" + "\u4e59" * 40 + "\n" + "\u4e19" * 10,
             "\u7532" * 40 + "\n" + blank + "\n" + blank + "\n" + "\u4e59" * 40,
             "\u7532" * 760 + "\n" + blank + "\n" + blank + "\n" + "\u4e59" * 40,
             "\u3000" + "\u4e00\u4e8c\u4e09\u3002" * 250 + "\u3000",
             "\u5929" * 1000 + "\u3002\u5730\u3002\u4eba\u3002",
             "\r\n".join(chinese[4000:4012])]
    with open(out_path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"text": d}, ensure_ascii=False) + "\n")


def check(in_path, out_paths):
    expected = list(pairs_of(in_path))
    status = 0
    for out_path in out_paths:
        with open(out_path, encoding="utf-8") as f:
            actual = [json.loads(line) for line in f]
        for k, (want, got) in enumerate(zip(expected, actual)):
            if [want[0], want[1]] != [got.get("src"), got.get("tgt")]:
                print("%s: pair %d differs:\n  oracle src %r\n  oracle tgt %r\n  corpusflow %r"
                      % (out_path, k, want[0], want[1], got))
                status = 1
                break
        else:
            if len(expected) != len(actual):
                print("%s: oracle has %d pairs, corpusflow %d"
                      % (out_path, len(expected), len(actual)))
                status = 1
            else:
                print("%s: %d pairs identical" % (out_path, len(expected)))
    return status


def main(argv):
    if len(argv) == 3 and argv[1] == "make-input":
        make_input(argv[2])
        return 0
    if len(argv) >= 4 and argv[1] == "check":
        return check(argv[2], argv[3:])
    if len(argv) == 3 and argv[1] == "pairs":
        for source, target in pairs_of(argv[2]):
            print(json.dumps({"src": source, "tgt": target}, ensure_ascii=False))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
