"""Tests of corpusflow.torch.PipelineDataset on a live corpusflow.Pipeline (the native module):
the stream of ``read | tokenize | pack`` equals the samples ``write-megatron`` writes from the
same pipeline, in order; ranks (W 2, 4) and workers (0, 3) share it as the single-rank stream;
a state saved mid-stream resumes in a new process at the next sample; an engine error (a missing
input) surfaces as a Python exception and leaves no engine thread behind.

Skipped (77) only when corpusflow.Pipeline cannot be imported (the native module is not built)
or torch is missing. Needs CORPUSFLOW_BINARY; run by ctest with PYTHONPATH on python/.
``test_torch_pipeline.py --resume SPEC STATE OUT`` is the new process of the resume check.
"""

import json
import os
import subprocess
import sys
import tempfile
import warnings

import torch_inputs
from torch_inputs import fail

warnings.filterwarnings("ignore", message="This DataLoader will create")

FIELDS = ["input_ids", "loss_mask", "cu_seqlens"]
BATCH = 8


def dataset(spec, **kwargs):
    from corpusflow.torch import PipelineDataset
    return PipelineDataset(spec, fields=FIELDS, batch_size=BATCH, threads=2, **kwargs)


def samples(loader, limit=None):
    """(index, input_ids) of the units of one iteration."""
    out = []
    for unit in loader:
        for k, i in enumerate(unit["index"].tolist()):
            out.append((i, unit["input_ids"][k].tolist()))
        if limit is not None and len(out) >= limit:
            break
    return out


def resume_child(spec, state_path, out_path):
    from corpusflow.torch import Loader
    with open(state_path) as f:
        state = json.load(f)
    loader = Loader(dataset(spec, rank=1, world_size=2), num_workers=2)
    loader.load_state_dict(state)
    with open(out_path, "w") as f:
        json.dump([i for i, _ in samples(loader)], f)


def engine_threads():
    return len(os.listdir("/proc/self/task"))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--resume":
        resume_child(*sys.argv[2:])
        return
    try:
        from corpusflow import Pipeline  # noqa: F401
    except ImportError as error:
        print("SKIPPED: corpusflow.Pipeline cannot be imported (%s)" % error)
        sys.exit(77)
    torch_inputs.skip_without_torch()
    from corpusflow.torch import Loader
    from corpusflow_data import IndexedDataset, dataset_prefix

    with tempfile.TemporaryDirectory() as tmp:
        prefix, spec, _ = torch_inputs.packed(tmp, "a", "150K", 7, 64)
        ids = IndexedDataset(dataset_prefix(prefix, "input_ids"))
        n = len(ids)
        whole = samples(Loader(dataset(spec)))
        if [i for i, _ in whole] != list(range(n)):
            fail("the live stream has %d samples, write-megatron wrote %d" % (len(whole), n))
        for i, tokens in whole:
            if tokens != ids[i].tolist():
                fail("live sample %d differs from write-megatron's" % i)
        print("ok: the live stream equals the %d samples write-megatron writes" % n)

        # Workers of a PipelineDataset are spawned processes: a few seconds each to start.
        for world, workers in ((2, 0), (2, 3), (4, 0)):
            per = [[i for i, _ in samples(Loader(dataset(spec, rank=r, world_size=world),
                                                 num_workers=workers))]
                   for r in range(world)]
            if sorted(i for x in per for i in x) != list(range(n)) or any(
                    i % world != r for r in range(world) for i in per[r]):
                fail("W=%d num_workers=%d: the ranks do not share the stream" % (world, workers))
        print("ok: ranks (W 2, 4) and spawned workers (0, 3) share the live stream")

        loader = Loader(dataset(spec, rank=1, world_size=2), num_workers=2)
        first = [i for i, _ in samples(loader, 20 * BATCH)]
        state_path = os.path.join(tmp, "state.json")
        out_path = os.path.join(tmp, "rest.json")
        with open(state_path, "w") as f:
            json.dump(loader.state_dict(), f)
        subprocess.run([sys.executable, os.path.abspath(__file__), "--resume", spec, state_path,
                        out_path], check=True)
        with open(out_path) as f:
            rest = json.load(f)
        if first + rest != list(range(1, n, 2)):
            fail("the resumed live stream differs from the uninterrupted one")
        print("ok: a live stream resumes in a new process at the next sample")

        before = engine_threads()
        broken = spec.replace(os.path.join(tmp, "a.jsonl"), os.path.join(tmp, "missing.jsonl"))
        import corpusflow
        try:
            samples(Loader(dataset(broken)))
        except corpusflow.Error as error:
            if "missing.jsonl" not in str(error):
                fail("the engine's error does not name the file: %s" % error)
        else:
            fail("a missing input did not raise corpusflow.Error")
        if engine_threads() > before:
            fail("%d threads after the error, %d before" % (engine_threads(), before))
        print("ok: an engine error is a Python exception, no thread left")


if __name__ == "__main__":
    main()
