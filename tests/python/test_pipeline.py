"""Tests of corpusflow.Pipeline (python/src/module.cc, python/src/live_pipeline.h): the batches of
a live pipeline against the JSONL that the same pipeline writes through the binary, zero copy,
errors, and that a pipeline leaves no thread and no temp file behind. Run by ctest with Debian's
python3 and PYTHONPATH=<build>/python:<source>/python; exits 77 (skipped) only when the build
has no Python module (CORPUSFLOW_PYTHON_MODULE=OFF).
"""

import gc
import json
import os
import signal
import sys
import threading
import time
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from package_testing import CorpusTestCase, read_jsonl, run_cli  # noqa: E402 (exits 77)

import corpusflow  # noqa: E402


def thread_count():
    """The process's threads, as the kernel counts them (Python's and every native one)."""
    return len(os.listdir("/proc/self/task"))


def rows(batches, field):
    """The values of `field` over `batches`, one Python list per record."""
    out = []
    for b in batches:
        column = b[field]
        if isinstance(column, np.ndarray):
            out.extend(row.tolist() for row in column)
        elif isinstance(column, corpusflow.Ragged):
            out.extend(column[i].tolist() for i in range(len(column)))
        else:
            out.extend(column)
    return out


class PipelineTest(CorpusTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tokenize = ("read corpus.jsonl | tokenize --kind wordpiece --vocab vocab.txt "
                        "--lowercase --output text_ids")
        cls.pack = cls.tokenize + " | pack --length 48 --field text_ids --eod '[SEP]'"
        cls.tmp = os.path.join(cls.root, "tmp")
        os.mkdir(cls.tmp)

    def setUp(self):
        self.cwd = os.getcwd()
        os.chdir(self.root)
        gc.collect()
        self.threads = thread_count()
        self.py_threads = threading.active_count()

    def tearDown(self):
        os.chdir(self.cwd)

    def assert_nothing_left(self):
        """No thread more than before the test, and the run's temp folder gone."""
        gc.collect()
        self.assertEqual(threading.active_count(), self.py_threads)
        self.assertEqual(thread_count(), self.threads)
        self.assertEqual(os.listdir(self.tmp), [])

    def pipeline(self, spec, **kwargs):
        kwargs.setdefault("threads", 2)
        kwargs.setdefault("tmp_dir", self.tmp)
        return corpusflow.Pipeline(spec, **kwargs)

    def test_tokenize_batches_equal_the_jsonl_of_the_same_pipeline(self):
        r = run_cli(self.tokenize + " | write tokens.jsonl", self.root)
        self.assertEqual(r.returncode, 0, r.stderr)
        expected = read_jsonl("tokens.jsonl")
        # Small batches: many of them, in order.
        with self.pipeline(self.tokenize, batch_bytes=16384) as p:
            batches = list(p)
        self.assertGreater(len(batches), 10)
        self.assertEqual([b.sequence for b in batches], list(range(len(batches))))
        self.assertEqual(batches[0].fields, ["text", "text_ids"])
        self.assertEqual(batches[0].types, {"text": "string", "text_ids": "int32-list"})
        self.assertIsInstance(batches[0]["text_ids"], corpusflow.Ragged)
        self.assertIsInstance(batches[0]["text"], list)
        self.assertEqual(sum(len(b) for b in batches), len(expected))
        self.assertEqual(rows(batches, "text"), [e["text"] for e in expected])
        self.assertEqual(rows(batches, "text_ids"), [e["text_ids"] for e in expected])
        ragged = batches[3]["text_ids"]
        self.assertEqual(ragged.values.dtype, np.int32)
        self.assertEqual(ragged.offsets.dtype, np.int64)
        self.assertEqual(len(ragged.offsets), len(batches[3]) + 1)
        self.assertEqual(ragged.lengths().tolist(), np.diff(ragged.offsets).tolist())
        self.assertEqual(ragged[-1].tolist(), ragged.values[ragged.offsets[-2]:].tolist())
        with self.assertRaises(IndexError):
            ragged[len(ragged)]
        with self.assertRaises(KeyError):
            batches[0]["missing"]
        d = batches[1].to_dict()
        self.assertEqual(list(d), ["text", "text_ids"])
        self.assertEqual(d["text"], batches[1]["text"])
        self.assert_nothing_left()

    def test_string_lists_and_id_lists_per_sentence_equal_the_jsonl(self):
        spec = ("read corpus.jsonl | head 300 | sentences | tokenize --kind wordpiece "
                "--vocab vocab.txt --lowercase --field sentences")
        r = run_cli(spec + " | write sentences.jsonl", self.root)
        self.assertEqual(r.returncode, 0, r.stderr)
        expected = read_jsonl("sentences.jsonl")
        with self.pipeline(spec, batch_bytes=16384) as p:
            batches = list(p)
        self.assertGreater(len(batches), 1)
        self.assertEqual(batches[0].types["sentences_ids"], "int32-list-list")
        sentences, ids = [], []
        for b in batches:
            sentences.extend(b["sentences"])
            for record in b["sentences_ids"]:
                self.assertIsInstance(record, corpusflow.Ragged)
                self.assertIs(record.values.base, b)
                ids.append([record[j].tolist() for j in range(len(record))])
        self.assertEqual(sentences, [e["sentences"] for e in expected])
        self.assertEqual(ids, [e["sentences_ids"] for e in expected])
        self.assert_nothing_left()

    def test_pack_batches_are_2d_arrays_equal_to_the_jsonl(self):
        r = run_cli(self.pack + " | write samples.jsonl", self.root)
        self.assertEqual(r.returncode, 0, r.stderr)
        expected = read_jsonl("samples.jsonl")
        self.assertGreater(len(expected), 100)
        p = self.pipeline(self.pack, batch_bytes=65536)
        # The plan of `run --dry-run`, the queue sink last.
        plan = p.plan().splitlines()
        # pack streams: one pipeline.
        self.assertEqual(plan[0], "pipeline 1 of 1:")
        self.assertEqual(plan[-2], "  sink      python: the batches go to the Python iterator")
        self.assertTrue(plan[-1].startswith("      -> input_ids:int32-list"), plan[-1])
        batches = list(p)
        self.assertGreater(len(batches), 1)
        for b in batches:
            ids = b["input_ids"]
            self.assertIsInstance(ids, np.ndarray)
            self.assertEqual((ids.dtype, ids.shape), (np.dtype(np.int32), (len(b), 48)))
            self.assertEqual(b["loss_mask"].shape, (len(b), 48))
            self.assertIsInstance(b["cu_seqlens"], corpusflow.Ragged)
        for field in ("input_ids", "loss_mask", "cu_seqlens"):
            self.assertEqual(rows(batches, field), [e[field] for e in expected], field)
        stats = p.stats()
        self.assertEqual(stats["status"], "ok")
        self.assertEqual([o["name"] for o in stats["operators"]],
                         ["read", "tokenize", "pack", "python"])
        self.assertEqual(stats["records_out"], len(expected))
        self.assertEqual(stats["operators"][-1]["records_in"], len(expected))
        self.assertEqual(stats["records_in"], 3000)
        self.assert_nothing_left()

    def test_columns_are_read_only_views_that_keep_the_batch_alive(self):
        with self.pipeline(self.pack) as p:
            batch = next(iter(p))
        ids = batch["input_ids"]
        # The base chain reaches the Batch: no copy was made.
        base = ids
        while isinstance(base, np.ndarray):
            base = base.base
        self.assertIs(base, batch)
        self.assertTrue(np.shares_memory(ids, batch["input_ids"]))
        self.assertFalse(ids.flags.writeable)
        self.assertFalse(ids.flags.owndata)
        with self.assertRaises(ValueError):
            ids[0, 0] = 7
        ragged = batch["cu_seqlens"]
        self.assertIs(ragged.values.base, batch)
        self.assertTrue(np.shares_memory(ragged[0], ragged.values))
        copy = ids.copy()
        del batch, ragged, p
        gc.collect()
        # The array alone keeps the engine's memory alive.
        np.testing.assert_array_equal(ids, copy)
        del ids
        self.assert_nothing_left()

    def test_a_bad_line_raises_the_engine_error_from_next_and_leaves_nothing(self):
        with open("bad.jsonl", "w", encoding="utf-8") as f:
            for i in range(20000):
                f.write(json.dumps({"text": "line %d of the file" % i}) + "\n")
            f.write('{"text": "broken\n')
        spec = "read bad.jsonl | tokenize --kind wordpiece --vocab vocab.txt --lowercase"
        cli = run_cli(spec + " | write out.jsonl", self.root)
        self.assertEqual(cli.returncode, 1)
        # The binary prints the engine's message after "corpusflow: error: ".
        message = cli.stderr.strip().removeprefix("corpusflow: error: ")
        self.assertTrue(message.startswith("bad.jsonl:20001: malformed JSON"), message)
        p = self.pipeline(spec, batch_bytes=16384)
        received = 0
        with self.assertRaises(corpusflow.Error) as raised:
            for b in p:
                received += len(b)
        self.assertIsInstance(raised.exception, RuntimeError)
        self.assertEqual(str(raised.exception), message)
        # Batches came before the error: it was raised by next(), not by the constructor.
        self.assertGreater(received, 0)
        self.assertEqual(list(p), [])
        self.assertEqual(p.stats()["status"], "error")
        self.assert_nothing_left()

    def test_plan_errors_raise_from_the_constructor(self):
        with self.assertRaises(corpusflow.Error) as raised:
            self.pipeline(self.tokenize + " | write out.jsonl")
        self.assertEqual(str(raised.exception),
                         "Pipeline: the pipeline ends with the sink `write`; leave it out to get "
                         "its batches in Python")
        with self.assertRaises(corpusflow.Error) as raised:
            self.pipeline("read corpus.jsonl | tokenize --kind wordpiece --vocab nothing.txt")
        self.assertIn("nothing.txt", str(raised.exception))
        with self.assertRaises(corpusflow.Error) as raised:
            self.pipeline("read corpus.jsonl | frobnicate")
        self.assertIn("frobnicate", str(raised.exception))
        cli = run_cli("read corpus.jsonl | tokenize --kind bpe | write x", self.root)
        with self.assertRaises(corpusflow.Error) as raised:
            self.pipeline("read corpus.jsonl | tokenize --kind bpe")
        self.assertEqual(str(raised.exception), cli.stderr.strip().removeprefix("corpusflow: "))
        self.assert_nothing_left()

    def test_an_early_break_then_del_stops_the_run(self):
        # A run far longer than the test: only the cancellation can end it in time.
        spec = "gen --docs 100000000 --lang en | tokenize --kind wordpiece --vocab vocab.txt"
        start = time.monotonic()
        p = self.pipeline(spec, batch_bytes=16384)
        for n, batch in enumerate(p):
            if n == 3:
                break
        self.assertGreater(thread_count(), self.threads)
        del p, batch
        self.assert_nothing_left()
        # The context manager closes it too, and close() twice is harmless.
        with self.pipeline(spec) as p:
            next(p)
        p.close()
        self.assertEqual(p.stats()["status"], "interrupted")
        self.assertLess(time.monotonic() - start, 60)
        self.assert_nothing_left()

    def test_two_pipelines_at_once_leave_no_thread_once_both_are_closed(self):
        spec = "gen --docs 100000000 --lang en"
        a, b = self.pipeline(spec), self.pipeline(spec)
        self.assertGreater(len(next(a)), 0)
        self.assertGreater(len(next(b)), 0)
        a.close()
        # The workers stay while b runs, and b still delivers.
        self.assertGreater(len(next(b)), 0)
        b.close()
        self.assertEqual((a.stats()["status"], b.stats()["status"]), ("interrupted",) * 2)
        del a, b
        self.assert_nothing_left()

    def test_a_slow_consumer_holds_the_engine_back(self):
        # gen makes about 100 MB/s here when Python keeps up; while Python holds back, the
        # engine stops at the queue's two batches and its own batches in flight.
        spec = "gen --docs 100000000 --lang en"
        p = self.pipeline(spec, batch_bytes=16384, memory="256M")
        next(p)
        time.sleep(0.5)
        p.close()
        generated = p.stats()["operators"][0]["bytes_out"]
        self.assertGreater(generated, 0)
        self.assertLess(generated, 2000000)
        del p
        self.assert_nothing_left()

    def test_ctrl_c_while_waiting_raises_keyboard_interrupt_and_stops_the_run(self):
        # The shuffle keeps the first batch back for a long while: the iterator is waiting in
        # next() when SIGINT comes. The timer thread can send it only because next() released
        # the GIL (else this test hangs until ctest's timeout).
        spec = "gen --bytes 50G --lang en | shuffle --seed 1"
        p = self.pipeline(spec, memory="256M")
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        start = time.monotonic()
        with self.assertRaises(KeyboardInterrupt):
            next(p)
        self.assertLess(time.monotonic() - start, 30)
        timer.join()
        self.assertEqual(p.stats()["status"], "interrupted")
        del p
        self.assert_nothing_left()


if __name__ == "__main__":
    unittest.main()
