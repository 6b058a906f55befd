"""Oracle of the jieba parity tests: python3-jieba's cut(line, HMM=False) on every line of a file.

Usage: /usr/bin/python3 jieba_oracle.py INPUT OUTPUT [--dict PATH] [--user-dict PATH]...

INPUT is split on b'\\n' exactly like corpusflow's line reader (a final empty piece after a last
newline is not a line) and each line is decoded as UTF-8 with errors='replace'. OUTPUT gets one
line per input line: the UTF-8 byte lengths of the words, separated by spaces (the words cover
the line in order, so the lengths are the segmentation).
"""
import argparse
import logging

import jieba


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--dict")
    parser.add_argument("--user-dict", action="append", default=[])
    args = parser.parse_args()

    jieba.setLogLevel(logging.ERROR)
    tokenizer = jieba.Tokenizer(dictionary=args.dict) if args.dict else jieba.Tokenizer()
    tokenizer.initialize()
    for path in args.user_dict:
        tokenizer.load_userdict(path)

    with open(args.input, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    with open(args.output, "w", encoding="ascii") as out:
        for raw in lines:
            text = raw.decode("utf-8", errors="replace")
            lengths = [len(w.encode("utf-8")) for w in tokenizer.cut(text, HMM=False)]
            out.write(" ".join(str(n) for n in lengths))
            out.write("\n")


if __name__ == "__main__":
    main()
