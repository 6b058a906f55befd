"""Tests of corpusflow.torch over packed files written by the corpusflow binary
(``read | tokenize | pack | write-megatron``):

- batches hold the samples of the files (checked against corpusflow_data's reader), int64, with
  the ragged cu_seqlens as values + offsets;
- an epoch is Permutation(N, seed, epoch) of the samples; the same units in the same order for
  world sizes 1, 2, 4 and num_workers 0, 1, 3; the union over ranks, interleaved, is the
  single-rank order (the tail padded by wrapping, or dropped); epochs and seeds differ; units
  far past the first chunk of units whose indices are computed at once hold their positions'
  samples;
- stop at a random step with workers prefetching, save the state, resume in a new process: the
  next 1,000 samples equal the uninterrupted run (packed files and mixtures; a mixture resumes
  with new weights too);
- a mixture's sources within binomial bounds at p < 1e-6, each source walking its own order
  epoch after epoch;
- the rank and worker sharding of PipelineDataset, on a stand-in pipeline that serves the same
  pack output in corpusflow.Pipeline's batch contract (the real one: test_torch_pipeline.py);
- pinned batches when CUDA is present.

Needs CORPUSFLOW_BINARY; run by ctest with PYTHONPATH on the build and source trees' python/.
``test_torch_loader.py --resume KIND STATE OUT`` is the new process of the resume checks.
"""

import json
import math
import os
import random
import subprocess
import sys
import tempfile
import warnings

import numpy as np

import torch_inputs
from torch_inputs import fail

warnings.filterwarnings("ignore", message="This DataLoader will create")

SEED = 1234
BATCH = 8
NEXT = 1000


def units(loader, limit=None):
    """The units of one iteration of `loader` (all, or the first `limit`)."""
    out = []
    for unit in loader:
        out.append(unit)
        if limit is not None and len(out) == limit:
            break
    return out


def indices(units_):
    return [i for u in units_ for i in u["index"].reshape(-1).tolist()]


def check_contents(prefix):
    from corpusflow_data import IndexedDataset, dataset_prefix
    from corpusflow.torch import Loader, PackedDataset
    ids = IndexedDataset(dataset_prefix(prefix, "input_ids"))
    mask = IndexedDataset(dataset_prefix(prefix, "loss_mask"))
    cu = IndexedDataset(dataset_prefix(prefix, "cu_seqlens"))
    ds = PackedDataset(prefix, seed=SEED, batch_size=BATCH)
    if ds.samples != len(ids) or ds.samples < 300:
        fail("%d samples in the dataset, %d in the files" % (ds.samples, len(ids)))
    length = len(ids[0])
    batches = units(Loader(ds))
    for batch in batches:
        if str(batch["input_ids"].dtype) != "torch.int64":
            fail("input_ids are %s, not int64" % batch["input_ids"].dtype)
        offsets = batch["cu_seqlens_offsets"].tolist()
        for k, i in enumerate(batch["index"].tolist()):
            if batch["input_ids"][k].tolist() != ids[i].tolist():
                fail("sample %d: input_ids differ from the file" % i)
            if batch["loss_mask"][k].tolist() != mask[i].tolist():
                fail("sample %d: loss_mask differs from the file" % i)
            if batch["cu_seqlens"][offsets[k]:offsets[k + 1]].tolist() != cu[i].tolist():
                fail("sample %d: cu_seqlens differ from the file" % i)
        if batch["input_ids"].shape[1] != length:
            fail("a batch of %r, not (B, %d)" % (tuple(batch["input_ids"].shape), length))
    if sorted(indices(batches)) != list(range(ds.samples)):
        fail("an epoch does not visit every sample once")
    sizes = [len(b["index"]) for b in batches]
    if sizes[:-1] != [BATCH] * (len(sizes) - 1) or not 1 <= sizes[-1] <= BATCH:
        fail("batch sizes %r" % sizes)
    # Without batch_size the units are single samples.
    one = next(iter(PackedDataset(prefix, seed=SEED)))
    if one["index"].dim() != 0 or one["input_ids"].shape != (length,):
        fail("a sample unit has index %r and input_ids %r" %
             (tuple(one["index"].shape), tuple(one["input_ids"].shape)))
    print("ok: %d samples of %d ids, batches equal to the files" % (ds.samples, length))
    return ds.samples


def check_order(prefix, n):
    from corpusflow.order import Permutation
    from corpusflow.torch import Loader, PackedDataset
    expected = Permutation(n, SEED, 0)(np.arange(n)).tolist()
    reference = None
    for world in (1, 2, 4):
        for drop_last in ((False, True) if world == 4 else (False,)):
            for workers in (0, 1, 3):
                per_rank = []
                for rank in range(world):
                    ds = PackedDataset(prefix, seed=SEED, rank=rank, world_size=world,
                                       batch_size=BATCH, drop_last=drop_last)
                    got = units(Loader(ds, num_workers=workers))
                    if len(got) != len(ds):
                        fail("W=%d rank %d: %d units, len() says %d" %
                             (world, rank, len(got), len(ds)))
                    per_rank.append(got)
                if workers == 0:
                    reference = per_rank
                elif any(indices(a) != indices(b) or len(a) != len(b) or any(
                        len(x["index"]) != len(y["index"]) for x, y in zip(a, b))
                        for a, b in zip(per_rank, reference)):
                    fail("W=%d: num_workers=%d gives other batches than num_workers=0" %
                         (world, workers))
            lists = [indices(u) for u in reference]
            counts = {len(x) for x in lists}
            if len(counts) != 1:
                fail("W=%d: ranks got %r samples" % (world, sorted(counts)))
            interleaved = [lists[r][j] for j in range(len(lists[0])) for r in range(world)]
            if drop_last:
                kept = (n // world // BATCH) * BATCH * world
                if interleaved != expected[:kept]:
                    fail("W=%d drop_last: not the single-rank order cut to full batches" % world)
            else:
                if interleaved[:n] != expected:
                    fail("W=%d: the ranks interleaved are not the single-rank order" % world)
                if interleaved[n:] != expected[:len(interleaved) - n]:
                    fail("W=%d: the tail is not padded with the epoch's first samples" % world)
    print("ok: W 1, 2, 4 x num_workers 0, 1, 3 give the single-rank order (n = %d)" % n)


class CountingSource:
    """A map-style source in memory: sample i is {"value": [i, i]} (picklable for workers)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"value": np.array([i, i], dtype=np.int64)}


def check_order_across_chunks():
    """Units far past the first chunk of units whose indices are computed at once, from a
    resumed position, for batches and single samples, W = 1 and 3, num_workers 0 and 2: each
    unit holds exactly the samples of its rank positions (shard_positions, Permutation)."""
    from corpusflow.order import Permutation, shard_positions
    from corpusflow.torch import Loader, PackedDataset
    n = 1001
    for batch in (None, 3):
        size = batch or 1
        for world, drop_last in ((1, False), (3, False), (3, True)):
            for workers in (0, 2):
                rank = world - 1
                ds = PackedDataset(CountingSource(n), seed=5, epoch=2, rank=rank,
                                   world_size=world, batch_size=batch, drop_last=drop_last)
                start = 37
                ds.load_state_dict(dict(ds.state_dict(), consumed=start))
                got = units(Loader(ds, num_workers=workers))
                permutation = Permutation(n, 5, 2)
                lo = start
                for k, unit in enumerate(got):
                    hi = min(lo + size, ds.samples_per_epoch)
                    want = permutation(shard_positions(n, rank, world, lo, hi, drop_last))
                    if unit["index"].reshape(-1).tolist() != want.tolist():
                        fail("batch %r W=%d workers %d: unit %d holds %r, not %r" %
                             (batch, world, workers, k, unit["index"].tolist(), want.tolist()))
                    if unit["value"].reshape(-1, 2)[:, 0].tolist() != want.tolist():
                        fail("batch %r W=%d: unit %d holds other samples than its indices" %
                             (batch, world, k))
                    lo = hi
                if lo != ds.samples_per_epoch or len(got) * size < 64 * 3:
                    fail("batch %r W=%d workers %d: %d units ended at rank position %d of %d" %
                         (batch, world, workers, len(got), lo, ds.samples_per_epoch))
    print("ok: units past the first chunk, resumed mid-epoch, hold their rank positions' samples")


def check_epochs_and_seeds(prefix, n):
    from corpusflow.order import Permutation
    from corpusflow.torch import Loader, PackedDataset
    ds = PackedDataset(prefix, seed=SEED, batch_size=BATCH)
    loader = Loader(ds)
    first, second = indices(units(loader)), indices(units(loader))
    if second != Permutation(n, SEED, 1)(np.arange(n)).tolist():
        fail("the second iteration is not epoch 1")
    if sum(a == b for a, b in zip(first, second)) > 10 or sorted(second) != list(range(n)):
        fail("epoch 1 repeats epoch 0's order")
    state = loader.state_dict()
    if (state["epoch"], state["consumed"]) != (2, 0):
        fail("after two epochs the state is %r" % state)
    other = indices(units(Loader(PackedDataset(prefix, seed=SEED + 1, batch_size=BATCH))))
    if sum(a == b for a, b in zip(first, other)) > 10:
        fail("another seed gives the same order")
    ds.set_epoch(0)
    if indices(units(loader)) != first:
        fail("epoch 0 again is another order")
    print("ok: epochs and seeds give other orders; set_epoch repeats one")


def packed_config(prefix):
    from corpusflow.torch import PackedDataset
    return PackedDataset(prefix, seed=SEED, rank=1, world_size=2, batch_size=BATCH)


def mixture_config(prefixes, weights=(0.6, 0.3, 0.1), rank=1, world=2):
    from corpusflow.torch import Mixture, PackedDataset
    sources = [PackedDataset(p, seed=SEED + k) for k, p in enumerate(prefixes)]
    return Mixture(sources, list(weights), seed=99, rank=rank, world_size=world,
                   batch_size=BATCH)


def stream(loader, count):
    """The next `count` samples: (source, index) pairs, across epochs."""
    out = []
    while len(out) < count:
        for unit in loader:
            index = unit["index"].tolist()
            sources = unit["source"].tolist() if "source" in unit else [0] * len(index)
            out.extend(zip(sources, index))
            if len(out) >= count:
                break
    return out[:count]


def make(kind, inputs, weights=None):
    if kind == "packed":
        return packed_config(inputs[0])
    return mixture_config(inputs, weights) if weights else mixture_config(inputs)


def resume_child(kind, state_path, out_path):
    """The new process: load the state, deliver the next NEXT samples."""
    from corpusflow.torch import Loader
    with open(state_path) as f:
        saved = json.load(f)
    loader = Loader(make(kind, saved["inputs"], saved.get("weights")), num_workers=3)
    loader.load_state_dict(saved["state"])
    with open(out_path, "w") as f:
        json.dump(stream(loader, NEXT), f)


def check_resume(kind, inputs, tmp, weights=None):
    """Stop at a random step with 3 workers prefetching, save, resume in a new process."""
    from corpusflow.torch import Loader
    rng = random.Random(17 if kind == "packed" else 23)
    stop = rng.randrange(20, 90)  # batches; an epoch of a rank is about 50 here
    loader = Loader(make(kind, inputs), num_workers=3)
    received, done = 0, 0
    while done < stop:
        for unit in loader:
            received += len(unit["index"])
            done += 1
            if done == stop:
                break
    whole = stream(Loader(make(kind, inputs), num_workers=3), received + NEXT)
    state = loader.state_dict()
    text = json.dumps(state)
    if len(text) > 1000:
        fail("the state is %d bytes: %s" % (len(text), text))
    state_path = os.path.join(tmp, kind + "_state.json")
    out_path = os.path.join(tmp, kind + "_next.json")
    with open(state_path, "w") as f:
        json.dump({"inputs": inputs, "state": state, "weights": weights}, f)
    subprocess.run([sys.executable, os.path.abspath(__file__), "--resume", kind, state_path,
                    out_path], check=True)
    with open(out_path) as f:
        resumed = [tuple(x) for x in json.load(f)]
    if weights is None:
        if resumed != whole[received:]:
            first = next(i for i, (a, b) in enumerate(zip(resumed, whole[received:]))
                         if a != b)
            fail("%s: the resumed run differs from the uninterrupted one at sample %d: %r vs %r" %
                 (kind, first, resumed[first:first + 3], whole[received + first:][:3]))
        print("ok: %s: stopped after %d batches, state %s; the next %d samples in a new process "
              "equal the uninterrupted run" % (kind, stop, text, NEXT))
    return state, resumed


def check_mixture(prefixes, sizes, tmp):
    from corpusflow.order import MixturePicks, Permutation
    from corpusflow.torch import Loader, Mixture, PackedDataset
    weights = [0.6, 0.3, 0.1]
    z = 4.89  # P(|N(0,1)| > 4.89) = 1e-6
    total = 24000
    mixed = stream(Loader(Mixture([PackedDataset(p, seed=SEED + k) for k, p in
                                   enumerate(prefixes)], weights, seed=99, batch_size=64),
                          num_workers=1), total)
    counts = np.bincount([s for s, _ in mixed], minlength=3)
    for s, w in enumerate(weights):
        bound = z * math.sqrt(total * w * (1 - w))
        if abs(counts[s] - total * w) > bound:
            fail("source %d: %d of %d samples, expected %.0f +- %.0f" %
                 (s, counts[s], total, total * w, bound))
    # Each source walks its own order, epoch after epoch.
    for s in range(3):
        got = [i for t, i in mixed if t == s]
        n = sizes[s]
        want = np.concatenate([Permutation(n, SEED + s, e)(np.arange(n))
                               for e in range(len(got) // n + 1)])[:len(got)].tolist()
        if got != want:
            fail("source %d does not walk its epochs in order" % s)
        if len(got) < 2 * n:
            fail("source %d never reached its third epoch (%d samples, %d each)" %
                 (s, len(got), n))
    # The mixed order is the picks of (seed, position).
    if [s for s, _ in mixed] != MixturePicks(weights, 99).picks(0, total).tolist():
        fail("the mixture's sources are not MixturePicks(weights, seed)")
    print("ok: mixture proportions %r of %d within z = 4.89; sources walk their epochs" %
          (counts.tolist(), total))

    # World sizes and workers: ranks interleave into the single-rank mixture.
    single = stream(Loader(mixture_config(prefixes, rank=0, world=1)), 400)
    for world in (2, 4):
        for workers in (0, 3):
            per = [stream(Loader(mixture_config(prefixes, rank=r, world=world),
                                 num_workers=workers), 400 // world) for r in range(world)]
            if [per[r][j] for j in range(400 // world) for r in range(world)] != single:
                fail("mixture W=%d num_workers=%d: not the single-rank order" % (world, workers))
    print("ok: mixture ranks (W 2, 4) and workers (0, 3) interleave into the single-rank order")

    check_resume("mixture", prefixes, tmp)
    # New weights after the resume: positions from the saved one on use them; the sources
    # continue their own streams.
    new = [0.1, 0.1, 0.8]
    state, resumed = check_resume("mixture", prefixes, tmp, weights=new)
    start = state["position"]
    expected_sources = MixturePicks(new, 99).picks(start, start + 2 * NEXT).tolist()[1::2]
    if [s for s, _ in resumed] != expected_sources[:NEXT]:
        fail("after new weights the sources are not those of the new weights")
    for s in range(3):
        n = sizes[s]
        k = state["sources"][s]["epoch"] * n + state["sources"][s]["consumed"]
        got = [i for t, i in resumed if t == s]
        # This rank sees every other pick of s; the stream of s continues from k.
        picks = MixturePicks(new, 99).picks(start, start + 2 * NEXT)
        mine = [k + int(np.count_nonzero(picks[:p] == s)) for p in range(1, 2 * NEXT, 2)
                if picks[p] == s][:len(got)]
        want = [Permutation(n, SEED + s, j // n)[j % n] for j in mine]
        if got != want:
            fail("after new weights source %d does not continue its stream" % s)
    print("ok: a mixture resumes with new weights, each source continuing its own stream")


class StandInBatch:
    """A batch in corpusflow.Pipeline's contract: 2-D int32 arrays for equal-length lists,
    Ragged for the others."""

    def __init__(self, records):
        from corpusflow.packed import collate
        self._columns = collate([{k: np.asarray(v, dtype=np.int32) for k, v in r.items()}
                                 for r in records], ragged=("cu_seqlens",))
        self._count = len(records)

    def __len__(self):
        return self._count

    def __getitem__(self, name):
        return self._columns[name]


def stand_in_dataset(jsonl, **kwargs):
    """A PipelineDataset whose pipeline is the pack output read back from JSONL, in batches of
    uneven sizes (7, 1, 30, ...)."""
    from corpusflow.torch import PipelineDataset

    class StandIn(PipelineDataset):
        def _open(self, spec):
            with open(spec) as f:
                records = [json.loads(line) for line in f]
            rng = random.Random(5)
            batches = []
            while records:
                take = rng.choice([1, 7, 30, 64])
                batches.append(StandInBatch(records[:take]))
                records = records[take:]
            return iter(batches)

    return StandIn(jsonl, fields=["input_ids", "loss_mask", "cu_seqlens"], **kwargs)


def check_pipeline_sharding(jsonl, prefix, n):
    from corpusflow.torch import Loader
    from corpusflow_data import IndexedDataset, dataset_prefix
    ids = IndexedDataset(dataset_prefix(prefix, "input_ids"))
    whole = units(Loader(stand_in_dataset(jsonl, batch_size=BATCH)))
    if indices(whole) != list(range(n)):
        fail("the stand-in pipeline's stream is not its samples in order")
    for batch in whole[:5]:
        for k, i in enumerate(batch["index"].tolist()):
            if batch["input_ids"][k].tolist() != ids[i].tolist():
                fail("stream sample %d differs from write-megatron's sample %d" % (i, i))
    for world in (1, 2, 4):
        for drop_last in (False, True):
            reference = None
            for workers in (0, 1, 3):
                per = [units(Loader(stand_in_dataset(jsonl, rank=r, world_size=world,
                                                     batch_size=BATCH, drop_last=drop_last),
                                    num_workers=workers, multiprocessing_context="fork"))
                       for r in range(world)]
                lists = [indices(u) for u in per]
                if reference is None:
                    reference = lists
                elif lists != reference:
                    fail("pipeline W=%d: num_workers=%d differs from 0" % (world, workers))
            merged = sorted(i for x in reference for i in x)
            for r in range(world):
                if any(i % world != r for i in reference[r]):
                    fail("pipeline W=%d: rank %d got another rank's sample" % (world, r))
            if drop_last:
                kept = [i for i in range(n) if i // world < (n // world)]
                kept = [i for i in kept
                        if (i // world) < (n // world) // BATCH * BATCH]
                if merged != kept:
                    fail("pipeline W=%d drop_last: kept %d samples" % (world, len(merged)))
            elif merged != list(range(n)):
                fail("pipeline W=%d: the ranks' union is not the stream" % world)
    # Resume mid-stream: the rest equals the uninterrupted run.
    loader = Loader(stand_in_dataset(jsonl, rank=1, world_size=2, batch_size=BATCH),
                    num_workers=3, multiprocessing_context="fork")
    got = units(loader, 9)
    state = loader.state_dict()
    if state["consumed"] != 9 * BATCH:
        fail("pipeline: state after 9 batches of 8 is %r" % state)
    again = Loader(stand_in_dataset(jsonl, rank=1, world_size=2, batch_size=BATCH),
                   num_workers=3, multiprocessing_context="fork")
    again.load_state_dict(state)
    rest = indices(units(again))
    everything = indices(units(Loader(stand_in_dataset(jsonl, rank=1, world_size=2,
                                                       batch_size=BATCH))))
    if indices(got) + rest != everything:
        fail("pipeline: the resumed stream differs")
    print("ok: PipelineDataset shards a stream by rank and worker (W 1, 2, 4 x nw 0, 1, 3), "
          "drop_last, resume")


def check_states(prefix):
    from corpusflow.torch import Loader, PackedDataset
    ds = PackedDataset(prefix, seed=SEED, batch_size=BATCH)
    for key, value in (("seed", SEED + 1), ("world_size", 2), ("samples", 1)):
        state = dict(ds.state_dict(), **{key: value})
        try:
            ds.load_state_dict(state)
        except ValueError as error:
            if key not in str(error):
                fail("the error does not name %s: %s" % (key, error))
        else:
            fail("a state with another %s was accepted" % key)
    try:
        PackedDataset(os.path.join(os.path.dirname(prefix), "missing"), seed=1)
    except FileNotFoundError as error:
        if "missing" not in str(error):
            fail("the error does not name the prefix: %s" % error)
    else:
        fail("a missing prefix was accepted")
    import torch
    loader = Loader(ds)
    if loader.pin_memory != torch.cuda.is_available():
        fail("pin_memory defaults to %r with CUDA %r" % (loader.pin_memory,
                                                         torch.cuda.is_available()))
    batch = next(iter(loader))
    if batch["input_ids"].is_pinned() != torch.cuda.is_available():
        fail("batches pinned: %r, CUDA: %r" % (batch["input_ids"].is_pinned(),
                                              torch.cuda.is_available()))
    # pin_memory=True pins only where CUDA is present (a DataLoader ignores it elsewhere), with
    # workers or without.
    for workers in (0, 1):
        batch = next(iter(Loader(PackedDataset(prefix, seed=SEED, batch_size=BATCH),
                                 num_workers=workers, pin_memory=True)))
        if batch["input_ids"].is_pinned() != torch.cuda.is_available():
            fail("pin_memory=True, num_workers=%d: batches pinned %r, CUDA %r" %
                 (workers, batch["input_ids"].is_pinned(), torch.cuda.is_available()))
    print("ok: states of other runs refused; pinned memory %s (CUDA %s)" %
          (batch["input_ids"].is_pinned(), torch.cuda.is_available()))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--resume":
        resume_child(*sys.argv[2:])
        return
    torch_inputs.skip_without_torch()
    with tempfile.TemporaryDirectory() as tmp:
        prefix, _, jsonl = torch_inputs.packed(tmp, "a", "150K", 7, 64)
        n = check_contents(prefix)
        check_order(prefix, n)
        check_order_across_chunks()
        check_epochs_and_seeds(prefix, n)
        check_resume("packed", [prefix], tmp)
        others = [torch_inputs.packed(tmp, name, size, seed, 64)[0]
                  for name, size, seed in (("b", "60K", 8), ("c", "30K", 9))]
        from corpusflow.torch import PackedDataset
        prefixes = [prefix] + others
        sizes = [PackedDataset(p, seed=0).samples for p in prefixes]
        check_mixture(prefixes, sizes, tmp)
        check_pipeline_sharding(jsonl, prefix, n)
        check_states(prefix)


if __name__ == "__main__":
    main()
