"""Tests of corpusflow's readers (python/corpusflow/readers.py): each format that corpusflow writes
is read back sample for sample and compared with the JSONL that `write` gives for the same
pipeline. Run by ctest with Debian's python3 and PYTHONPATH=<build>/python:<source>/python;
exits 77 (skipped) only when the build has no Python module (CORPUSFLOW_PYTHON_MODULE=OFF).
"""

import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from package_testing import CorpusTestCase, read_jsonl, run_ok  # noqa: E402 (exits 77)

import corpusflow  # noqa: E402

LENGTH = 256
SEP = 3


def is_mapped(array):
    """Whether `array` is a view of a memory map (not a copy in memory)."""
    while isinstance(array, np.ndarray):
        if isinstance(array, np.memmap):
            return True
        array = array.base
    return False


class ReadersTest(CorpusTestCase):
    DOCS = 4000
    SEED = 9

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        root = cls.root
        os.mkdir(os.path.join(root, "out"))
        # Documents of at most 200 ids (one per character at most), so that best-fit packs each
        # whole with its EOD (as write-olmo requires) and samples end with padding.
        docs = ("read corpus.jsonl | filter --max-chars 200 | tokenize --kind wordpiece "
                "--vocab vocab.txt --lowercase --output input_ids")
        samples = docs + (" | pack --mode best-fit --length %d --field input_ids --eod '[SEP]'"
                          % LENGTH)
        for spec, sinks in ((docs, ["write docs.jsonl", "write-megatron out/docs",
                                    "write-datatrove out/docs", "write-olmo out/docs --eos 3",
                                    "write-mds out/docs_mds"]),
                            (samples, ["write samples.jsonl", "write-megatron out/samples",
                                       "write-datatrove out/samples",
                                       "write-olmo out/samples --eos 3",
                                       "write-mds out/samples_mds"])):
            for sink in sinks:
                run_ok(spec + " | " + sink, root)
        cls.docs = read_jsonl(os.path.join(root, "docs.jsonl"))
        cls.samples = read_jsonl(os.path.join(root, "samples.jsonl"))
        assert len(cls.docs) > 500 and len(cls.samples) > 100

    def path(self, name):
        return os.path.join(self.root, name)

    def assert_samples(self, reader, fields=("input_ids", "loss_mask", "cu_seqlens")):
        self.assertEqual(len(reader), len(self.samples))
        for i, expected in enumerate(self.samples):
            item = reader[i]
            self.assertEqual(sorted(item), sorted(fields), i)
            for field in fields:
                self.assertTrue(is_mapped(item[field]), (i, field))
                self.assertEqual(item[field].tolist(), expected[field], (i, field))
        self.assertEqual(reader[-1][fields[0]].tolist(), self.samples[-1][fields[0]])
        with self.assertRaises(IndexError):
            reader[len(self.samples)]

    def test_megatron(self):
        docs = corpusflow.MegatronDataset(self.path("out/docs_input_ids_document"))
        self.assertEqual([docs[i].tolist() for i in range(len(docs))],
                         [d["input_ids"] for d in self.docs])
        self.assert_samples(corpusflow.PackedMegatronDataset(self.path("out/samples")))

    def test_datatrove(self):
        docs = corpusflow.DatatroveDataset(self.path("out/docs"))
        self.assertEqual(docs.tokenizer, "vocab.txt")
        self.assertEqual([docs[i]["input_ids"].tolist() for i in range(len(docs))],
                         [d["input_ids"] for d in self.docs])
        self.assertEqual(docs[0]["input_ids"].dtype, np.dtype("<u2"))
        self.assertTrue(is_mapped(docs[0]["input_ids"]))
        samples = corpusflow.DatatroveDataset(self.path("out/samples.ds"), sample_length=LENGTH)
        self.assert_samples(samples, ("input_ids", "loss_mask"))
        # Without a sample length, items are the documents of the index: each boundary of a
        # sample, and its padding tail.
        pieces = corpusflow.DatatroveDataset(self.path("out/samples"))
        expected = []
        for s in self.samples:
            cu = s["cu_seqlens"] + ([LENGTH] if s["cu_seqlens"][-1] < LENGTH else [])
            expected.extend(s["input_ids"][a:b] for a, b in zip(cu, cu[1:]))
        self.assertEqual([pieces[i]["input_ids"].tolist() for i in range(len(pieces))], expected)

    def test_mds(self):
        self.assert_samples(corpusflow.MDSDataset(self.path("out/samples_mds")))
        docs = corpusflow.MDSDataset(self.path("out/docs_mds/index.json"))
        self.assertEqual([docs[i]["input_ids"].tolist() for i in range(len(docs))],
                         [d["input_ids"] for d in self.docs])

    def test_olmo(self):
        # Documents end with the EOS, which write-olmo appends; the dtype (uint8 for this
        # vocabulary) is inferred from the file size and the documents.
        docs = corpusflow.OlmoDataset(self.path("out/docs.npy"))
        self.assertEqual(docs.tokens.dtype, np.dtype(np.uint8))
        self.assertEqual([docs[i]["input_ids"].tolist() for i in range(len(docs))],
                         [d["input_ids"] + [SEP] for d in self.docs])
        # Padded samples leave the dtype ambiguous: it must be given.
        with self.assertRaisesRegex(ValueError, "give dtype"):
            corpusflow.OlmoDataset(self.path("out/samples"))
        samples = corpusflow.OlmoDataset(self.path("out/samples"), dtype=np.uint8,
                                         sequence_length=LENGTH)
        self.assert_samples(samples, ("input_ids", "loss_mask"))

    def test_jsonl(self):
        reader = corpusflow.JsonlDataset(self.path("samples.jsonl"))
        self.assertEqual(len(reader), len(self.samples))
        for i, expected in enumerate(self.samples):
            item = reader[i]
            self.assertEqual({k: v.tolist() for k, v in item.items()}, expected)
            self.assertEqual(item["input_ids"].dtype, np.int64)

    def test_damaged_files_are_errors_naming_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            prefix = os.path.join(d, "x")
            with open(self.path("out/samples.ds"), "rb") as f:
                data = f.read()
            for suffix in (".ds.index", ".ds.metadata"):
                with open(self.path("out/samples" + suffix), "rb") as f:
                    with open(prefix + suffix, "wb") as g:
                        g.write(f.read())
            with open(prefix + ".ds", "wb") as f:
                f.write(data[:-1])
            with self.assertRaisesRegex(ValueError, "x.ds: .* not a whole number of 2-byte"):
                corpusflow.DatatroveDataset(prefix)
            with open(prefix + ".ds", "wb") as f:
                f.write(data[:-2])
            with self.assertRaisesRegex(ValueError, "x.ds: .* tokens, but .*metadata says"):
                corpusflow.DatatroveDataset(prefix)
            folder = os.path.join(d, "mds")
            os.mkdir(folder)
            for name in os.listdir(self.path("out/samples_mds")):
                with open(os.path.join(self.path("out/samples_mds"), name), "rb") as f:
                    data = f.read()
                with open(os.path.join(folder, name), "wb") as f:
                    f.write(data + (b"\0" if name.endswith(".mds") else b""))
            with self.assertRaisesRegex(ValueError, "shard.00000.mds: the offsets end at"):
                corpusflow.MDSDataset(folder)


if __name__ == "__main__":
    unittest.main()
