"""Shared by the tests of the corpusflow package (test_pipeline.py, test_readers.py): the check
that the build has the module, the corpusflow binary, a WordPiece vocabulary for `gen --lang en`
text, and JSONL helpers."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

if os.environ.get("CORPUSFLOW_PYTHON_MODULE") == "OFF":
    print("corpusflow was built without its Python module (no pybind11): skipped")
    sys.exit(77)

BINARY = os.environ.get("CORPUSFLOW_BINARY", "")

# A small WordPiece vocabulary that covers every character `gen --lang en` writes ([SEP] is 3).
VOCAB = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "of", "and", "to", "in"]
         + [chr(c) for c in range(33, 127) if not chr(c).isupper()]
         + ["##" + chr(c) for c in range(33, 127) if not chr(c).isupper()])


def write_vocab(folder):
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(VOCAB) + "\n")


def run_cli(spec, cwd):
    """`corpusflow run SPEC` in `cwd`, on 2 threads; the CompletedProcess (text)."""
    return subprocess.run([BINARY, "run", "--threads", "2", "--progress", "never", spec],
                          cwd=cwd, capture_output=True, text=True)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def run_ok(spec, cwd):
    """run_cli, failing the test when the run fails."""
    r = run_cli(spec, cwd)
    if r.returncode != 0:
        raise AssertionError("corpusflow run %r: %s" % (spec, r.stderr))


class CorpusTestCase(unittest.TestCase):
    """A test case whose class has a temp folder `root` holding vocab.txt (VOCAB) and
    corpus.jsonl: `gen --docs DOCS --lang en --seed SEED`."""

    DOCS = 3000
    SEED = 5

    @classmethod
    def setUpClass(cls):
        if not BINARY:
            raise unittest.SkipTest("set CORPUSFLOW_BINARY")
        cls.dir = tempfile.TemporaryDirectory()
        cls.root = cls.dir.name
        write_vocab(cls.root)
        run_ok("gen --docs %d --lang en --seed %d | write corpus.jsonl" % (cls.DOCS, cls.SEED),
               cls.root)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()
