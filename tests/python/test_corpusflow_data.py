"""Unit tests of python/corpusflow_data.py on datasets built byte by byte from the layout of
REFERENCE.md section 5 (independent of the C++ writer). Run with Debian's python:
    /usr/bin/python3 tests/python/test_corpusflow_data.py
"""

import os
import struct
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

import corpusflow_data  # noqa: E402
from corpusflow_data import IndexedDataset, dataset_prefix  # noqa: E402


def write_dataset(prefix, code, fmt, documents):
    """Write documents (lists of sequences of ids) with struct, following the spec."""
    lengths, tokens, bounds = [], [], [0]
    for doc in documents:
        for seq in doc:
            lengths.append(len(seq))
            tokens.extend(seq)
        bounds.append(len(lengths))
    itemsize = struct.calcsize("<" + fmt)
    pointers, offset = [], 0
    for n in lengths:
        pointers.append(offset)
        offset += n * itemsize
    with open(prefix + ".bin", "wb") as f:
        f.write(struct.pack("<%d%s" % (len(tokens), fmt), *tokens))
    with open(prefix + ".idx", "wb") as f:
        f.write(b"MMIDIDX\x00\x00" + struct.pack("<QBQQ", 1, code, len(lengths), len(bounds)))
        f.write(struct.pack("<%di" % len(lengths), *lengths))
        f.write(struct.pack("<%dq" % len(pointers), *pointers))
        f.write(struct.pack("<%dq" % len(bounds), *bounds))


class IndexedDatasetTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.prefix = os.path.join(self.dir.name, "d")

    def tearDown(self):
        self.dir.cleanup()

    def test_reads_documents_and_sequences(self):
        docs = [[[1, 2, 3]], [[4], [65535, 0]], [[]], []]
        write_dataset(self.prefix, 8, "H", docs)
        ds = IndexedDataset(self.prefix + ".idx")
        self.assertEqual(ds.dtype, np.dtype("<u2"))
        self.assertEqual(len(ds), 4)
        self.assertEqual(ds.num_documents, 4)
        self.assertEqual(ds[1].tolist(), [4])
        self.assertEqual(ds[-2].tolist(), [65535, 0])
        self.assertEqual([[s.tolist() for s in ds.document(d)] for d in range(4)], docs)
        self.assertEqual(ds.document_tokens(1).tolist(), [4, 65535, 0])
        self.assertEqual(ds.max_token_id(), 65535)
        with self.assertRaises(IndexError):
            ds[4]

    def test_int32_and_empty(self):
        write_dataset(self.prefix, 4, "i", [[[70000, 2147483647]]])
        ds = IndexedDataset(self.prefix)
        self.assertEqual(ds[0].tolist(), [70000, 2147483647])
        write_dataset(self.prefix, 8, "H", [])
        ds = IndexedDataset(self.prefix)
        self.assertEqual((len(ds), ds.num_documents, ds.max_token_id()), (0, 0, -1))

    def test_damage_is_a_clear_error(self):
        write_dataset(self.prefix, 8, "H", [[[1, 2]], [[3]]])
        with open(self.prefix + ".idx", "rb") as f:
            idx = f.read()
        cases = [
            (idx[:-1], "needs"),
            (idx[:20], "shorter than the 34-byte header"),
            (b"MMIDIDY" + idx[7:], "not a Megatron index"),
            (idx[:17] + b"\x09" + idx[18:], "unknown dtype code 9"),
            (idx[:34 + 8 + 8] + struct.pack("<q", 6) + idx[34 + 8 + 16:],
             "sequence 1 starts at byte 6"),
        ]
        for data, message in cases:
            with open(self.prefix + ".idx", "wb") as f:
                f.write(data)
            with self.assertRaises(ValueError) as e:
                IndexedDataset(self.prefix)
            self.assertIn(message, str(e.exception))
        with open(self.prefix + ".idx", "wb") as f:
            f.write(idx)
        with open(self.prefix + ".bin", "ab") as f:
            f.write(b"\x00\x00")
        with self.assertRaises(ValueError) as e:
            IndexedDataset(self.prefix)
        self.assertIn("describes 6 bytes of tokens but the file has 8", str(e.exception))

    def test_dataset_prefix(self):
        self.assertEqual(dataset_prefix("out/train", "src_ids"), "out/train_src_ids_document")
        self.assertEqual(dataset_prefix("o", "t", "sentence"), "o_t_sentence")
        with self.assertRaises(ValueError):
            dataset_prefix("o", "t", "paragraph")


class Seq2SeqDatasetTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.dir.name, "train")
        write_dataset(self.out + "_src_ids_document", 8, "H", [[[5, 6, 7, 8, 9]], [[5]], [[]]])
        write_dataset(self.out + "_tgt_ids_document", 8, "H",
                      [[[11, 12, 13]], [[14, 15, 16, 17, 18]], [[19]]])

    def tearDown(self):
        self.dir.cleanup()

    def test_pads_shifts_and_truncates(self):
        pairs = corpusflow_data.Seq2SeqDataset.from_output_prefix(self.out, src_len=4, tgt_len=4,
                                                                  pad_id=0, decoder_start_id=1)
        self.assertEqual(len(pairs), 3)
        item = pairs[0]
        self.assertEqual(item["input_ids"].tolist(), [5, 6, 7, 8])  # truncated
        self.assertEqual(item["attention_mask"].tolist(), [1, 1, 1, 1])
        self.assertEqual(item["labels"].tolist(), [11, 12, 13, -100])
        self.assertEqual(item["decoder_input_ids"].tolist(), [1, 11, 12, 0])
        self.assertEqual(item["decoder_attention_mask"].tolist(), [1, 1, 1, 0])
        item = pairs[1]
        self.assertEqual(item["input_ids"].tolist(), [5, 0, 0, 0])
        self.assertEqual(item["attention_mask"].tolist(), [1, 0, 0, 0])
        self.assertEqual(item["labels"].tolist(), [14, 15, 16, 17])
        self.assertEqual(item["decoder_input_ids"].tolist(), [1, 14, 15, 16])
        item = pairs[2]
        self.assertEqual(item["attention_mask"].tolist(), [0, 0, 0, 0])
        self.assertEqual(item["input_ids"].dtype, np.int64)

    def test_eos_kept_on_truncation_and_defaults(self):
        pairs = corpusflow_data.Seq2SeqDataset.from_output_prefix(self.out, src_len=3, tgt_len=2,
                                                                  eos_id=102)
        self.assertEqual(pairs[0]["input_ids"].tolist(), [5, 6, 102])
        self.assertEqual(pairs[0]["labels"].tolist(), [11, 102])
        self.assertEqual(pairs[0]["decoder_input_ids"].tolist(), [0, 11])  # start = pad
        full = corpusflow_data.Seq2SeqDataset.from_output_prefix(self.out)
        self.assertEqual(full[0]["input_ids"].shape, (512,))
        self.assertEqual(full[0]["labels"].shape, (128,))

    def test_misaligned_pair_is_an_error(self):
        write_dataset(self.out + "_tgt_ids_document", 8, "H", [[[1]]])
        with self.assertRaises(ValueError):
            corpusflow_data.Seq2SeqDataset.from_output_prefix(self.out)


if __name__ == "__main__":
    unittest.main()
