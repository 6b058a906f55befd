"""Oracle of the T5 PEGASUS tokenizer tests: bert4keras' Tokenizer semantics, written here from
its definition (REFERENCE.md section 4), with python3-jieba and Python's unicodedata:
lowercase + NFD + drop Mn, jieba.cut(HMM=False), a jieba word found in the vocabulary is one
token, any other word goes through bert4keras' basic tokenizer (punctuation and CJK characters
apart, spaces split, NUL/U+FFFD/Cc/Cf dropped) and WordPiece (words over 200 characters and
words with an unmatched position are one unknown token); [CLS] ... [SEP] around.

Usage: /usr/bin/python3 t5pegasus_oracle.py VOCAB INPUT OUTPUT
INPUT is split on b'\\n' (no final empty line), each line decoded as UTF-8; OUTPUT gets the ids of
each line, space-separated.
"""
import logging
import sys
import unicodedata

import jieba

WORD_MAXLEN = 200


def lowercase_and_normalize(text):
    text = text.lower()
    text = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn")


def is_punctuation(ch):
    code = ord(ch)
    return (33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126
            or unicodedata.category(ch).startswith("P"))


def is_cjk(ch):
    code = ord(ch)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
            or 0x2A700 <= code <= 0x2B73F or 0x2B740 <= code <= 0x2B81F
            or 0x2B820 <= code <= 0x2CEAF or 0xF900 <= code <= 0xFAFF
            or 0x2F800 <= code <= 0x2FA1F)


def is_space(ch):
    return ch in " \n\r\t" or unicodedata.category(ch) == "Zs"


def is_control(ch):
    return unicodedata.category(ch) in ("Cc", "Cf")


class Tokenizer:
    def __init__(self, vocab_path):
        with open(vocab_path, "rb") as f:
            lines = f.read().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        self.vocab = {line.decode("utf-8"): i for i, line in enumerate(lines)}
        self.unk = self.vocab["[UNK]"]

    def basic_words(self, text):
        spaced = ""
        for ch in text:
            if is_punctuation(ch) or is_cjk(ch):
                spaced += " " + ch + " "
            elif is_space(ch):
                spaced += " "
            elif ord(ch) == 0 or ord(ch) == 0xFFFD or is_control(ch):
                continue
            else:
                spaced += ch
        return spaced.strip().split()

    def word_piece(self, word):
        if len(word) > WORD_MAXLEN:
            return [word]
        tokens, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                sub = word[start:end]
                if start > 0:
                    sub = "##" + sub
                if sub in self.vocab:
                    break
                end -= 1
            if start == end:
                return [word]
            tokens.append(sub)
            start = end
        return tokens

    def tokenize(self, text):
        tokens = []
        for word in jieba.cut(lowercase_and_normalize(text), HMM=False):
            if word in self.vocab:
                tokens.append(word)
                continue
            for basic in self.basic_words(lowercase_and_normalize(word)):
                tokens.extend(self.word_piece(basic))
        return ["[CLS]"] + tokens + ["[SEP]"]

    def encode(self, text):
        return [self.vocab.get(token, self.unk) for token in self.tokenize(text)]


def main():
    vocab_path, input_path, output_path = sys.argv[1:4]
    jieba.setLogLevel(logging.ERROR)
    tokenizer = Tokenizer(vocab_path)
    with open(input_path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    with open(output_path, "w", encoding="ascii") as out:
        for raw in lines:
            ids = tokenizer.encode(raw.decode("utf-8"))
            out.write(" ".join(str(i) for i in ids) + "\n")


if __name__ == "__main__":
    main()
