"""PyTorch datasets over corpusflow's packed outputs and live pipelines, with an order that is a
pure function of (seed, epoch) and a constant-size state that resumes at the exact next sample.

Importing this module imports PyTorch (``import corpusflow`` alone does not); without it the
import fails with an ImportError saying so.

The pieces (docs/python.md has the whole contract):

- ``PackedDataset(prefix_or_source, seed=...)``: an ``IterableDataset`` over packed samples
  (a ``write-megatron`` prefix, or any map-style source, see corpusflow.packed). Epoch e visits
  every sample once, in the order of ``order.Permutation(N, seed, e)``. Rank r of W takes the
  epoch's positions r, r + W, ...; the tail is padded by wrapping (``drop_last=False``) or
  dropped (``drop_last=True``, which also drops a last partial batch).
- ``Mixture(datasets, weights, seed=...)``: an endless weighted mixture; position p of the mixed
  order reads from the source picked by (seed, p) and the weights; each source walks its own
  order epoch after epoch.
- ``PipelineDataset(spec, ...)``: the samples of a live ``corpusflow.Pipeline``, sharded by
  rank the same way (rank r takes the stream's samples r, r + W, ...).
- ``Loader(dataset, num_workers=...)``: what to iterate (a DataLoader with workers, the dataset
  itself without). It counts the samples handed to the training loop (never those prefetched by
  workers), so ``loader.state_dict()`` is the state after the last batch received, and
  ``loader.load_state_dict(state)`` resumes at the next.

What a dataset yields (its *unit*) is a batch of ``batch_size`` samples when ``batch_size`` is
given, and one sample otherwise. Units are dealt to DataLoader workers round-robin (worker w of
nw makes the rank's units w, w + nw, ...), which is the order in which DataLoader collects
them from its workers, so num_workers 0, 1 or 3 yield the same units in the same order. Hence the
DataLoader must not batch again (``batch_size=None``; Loader does this).

A batch is a dict of tensors: a field of one length per sample is an int64 tensor (B, L); a
field of varying lengths is two int64 tensors, ``name`` (the values of all samples, one after
the other) and ``name_offsets`` (B + 1 offsets: sample k is ``name[off[k]:off[k+1]]``); integer
fields are (B,) tensors and text fields lists of str. ``index`` (B,) holds the sample numbers in
their source, and a Mixture adds ``source`` (B,). A single sample (no batch_size) has the same
keys, with one dimension less.

Datasets are configured once and then read-only, except through load_state_dict() and the
Loader that advances them; one Loader per dataset, used from one thread.
"""

import itertools

import numpy as np

try:
    import torch
    from torch.utils.data import IterableDataset, get_worker_info
except ImportError as error:  # pragma: no cover - depends on the machine
    raise ImportError("corpusflow.torch needs PyTorch (Debian: apt-get install python3-torch; "
                      "pip: pip install torch)") from error

from .order import MixturePicks, Permutation, rank_positions, samples_per_rank
from .packed import MegatronSamples, collate

__all__ = ["PackedDataset", "Mixture", "PipelineDataset", "Loader", "document_layout"]

#: Units whose indices are computed at once (one vectorized call of the permutation).
_UNITS_PER_CHUNK = 64


def _worker():
    """(worker id, number of workers) of the calling process: (0, 1) outside DataLoader workers."""
    info = get_worker_info()
    return (0, 1) if info is None else (info.id, info.num_workers)


def _check_rank(rank, world_size):
    rank, world_size = int(rank), int(world_size)
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError("rank %d is not in [0, world_size=%d)" % (rank, world_size))
    return rank, world_size


def _check_batch_size(batch_size):
    if batch_size is None:
        return None
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1, not %d" % batch_size)
    return batch_size


def _as_tensor(array):
    """An int64 tensor of an integer array (always a copy: memory maps stay read-only), a float
    tensor of a float array."""
    array = np.asarray(array)
    if array.dtype.kind in "iub":
        return torch.from_numpy(array.astype(np.int64))
    return torch.from_numpy(np.array(array))


def _to_torch(columns, out):
    """Add the tensors of a batch's columns (numpy 2-D or 1-D arrays, Ragged-like objects with
    .values and .offsets, lists of str) to the dict `out`."""
    for name, column in columns.items():
        if isinstance(column, list):
            out[name] = column
        elif hasattr(column, "values") and hasattr(column, "offsets"):
            out[name] = _as_tensor(column.values)
            out[name + "_offsets"] = _as_tensor(column.offsets)
        else:
            out[name] = _as_tensor(column)
    return out


def _fetch(source, indices, ragged=()):
    """The columns of the samples at `indices` of a map-style source."""
    get_batch = getattr(source, "get_batch", None)
    if get_batch is not None:
        return get_batch(indices)
    return collate([source[int(i)] for i in indices], ragged=ragged)


def _sample(columns, index, extra=None):
    """Unit of one sample: row 0 of one-row columns, as 1-D tensors and scalars."""
    out = {"index": torch.tensor(index, dtype=torch.int64)}
    if extra:
        out.update({k: torch.tensor(v, dtype=torch.int64) for k, v in extra.items()})
    for name, column in columns.items():
        # Row 0 of a list of str, a 2-D or 1-D array, or a Ragged (its first row).
        out[name] = column[0] if isinstance(column, list) else _as_tensor(column[0])
    return out


def _pinned(unit):
    """The unit with its tensors in pinned (page-locked) memory, as DataLoader(pin_memory=True)
    pins them; lists of str stay as they are."""
    return {name: value.pin_memory() if isinstance(value, torch.Tensor) else value
            for name, value in unit.items()}


def _unit_size(unit):
    """The number of samples in a unit (a batch or one sample)."""
    index = unit["index"]
    return 1 if index.dim() == 0 else int(index.shape[0])


def _open_source(source, fields):
    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        return MegatronSamples(source, fields=fields)
    if fields is not None:
        raise ValueError("fields= applies to a write-megatron prefix, not to a source object")
    if not (hasattr(source, "__len__") and hasattr(source, "__getitem__")):
        raise TypeError("a PackedDataset reads a write-megatron prefix or a map-style source "
                        "(len(src), src[i] -> dict of arrays), not %r" % type(source).__name__)
    return source


class _EpochStream(IterableDataset):
    """What PackedDataset and PipelineDataset share: the epoch and the samples of it consumed."""

    def set_epoch(self, epoch):
        """Start epoch `epoch` at its first sample."""
        self.epoch = int(epoch)
        self.consumed = 0

    def _advance(self, count):
        self.consumed += count

    def _end_epoch(self):
        self.set_epoch(self.epoch + 1)


class PackedDataset(_EpochStream):
    """Packed samples in an order that is a pure function of (seed, epoch).

    ``source``: a ``write-megatron`` prefix (``fields`` picks some of its fields) or a map-style
    source. One iteration is the rest of the current epoch, from the state's position; the
    Loader moves the state to the next epoch when an iteration ends. ``state_dict()`` is
    {seed, epoch, consumed (samples of the epoch this rank has received), samples, rank,
    world_size, drop_last}: a few integers whatever the data size.
    """

    def __init__(self, source, *, seed, epoch=0, rank=0, world_size=1, batch_size=None,
                 drop_last=False, fields=None):
        super().__init__()
        self.source = _open_source(source, fields)
        self.samples = len(self.source)
        if self.samples < 1:
            raise ValueError("a PackedDataset needs at least one sample")
        self.seed = int(seed)
        self.rank, self.world_size = _check_rank(rank, world_size)
        self.batch_size = _check_batch_size(batch_size)
        self.drop_last = bool(drop_last)
        per_rank = samples_per_rank(self.samples, self.world_size, self.drop_last)
        if self.drop_last and self.batch_size:
            per_rank -= per_rank % self.batch_size
        #: The samples this rank receives per epoch.
        self.samples_per_epoch = per_rank
        self._ragged = tuple(getattr(self.source, "ragged_fields", ()))
        self.epoch = int(epoch)
        self.consumed = 0

    def __len__(self):
        """Units (batches, or samples without batch_size) of a whole epoch for this rank."""
        return -(-self.samples_per_epoch // (self.batch_size or 1))

    def state_dict(self):
        return {"kind": "PackedDataset", "seed": self.seed, "epoch": self.epoch,
                "consumed": self.consumed, "samples": self.samples, "rank": self.rank,
                "world_size": self.world_size, "drop_last": self.drop_last}

    def load_state_dict(self, state):
        """Resume where `state` (from state_dict()) stopped. The seed, the number of samples, the
        world size and drop_last must be those of the saved run; the batch size may change."""
        if state.get("kind") != "PackedDataset":
            raise ValueError("not a PackedDataset state: %r" % (state.get("kind"),))
        for key in ("seed", "samples", "world_size", "drop_last"):
            if state[key] != getattr(self, key):
                raise ValueError("the state was saved with %s=%r, this dataset has %r" %
                                 (key, state[key], getattr(self, key)))
        if not 0 <= state["consumed"] <= self.samples_per_epoch:
            raise ValueError("consumed=%d is outside this epoch's %d samples" %
                             (state["consumed"], self.samples_per_epoch))
        self.epoch = int(state["epoch"])
        self.consumed = int(state["consumed"])

    def __iter__(self):
        epoch, start = self.epoch, self.consumed
        worker, workers = _worker()
        permutation = Permutation(self.samples, self.seed, epoch)
        size = self.batch_size or 1
        total = self.samples_per_epoch
        offsets = np.arange(size, dtype=np.int64)
        # This worker's units are w, w + nw, ...: unit u holds the rank positions
        # [start + u * size, start + (u + 1) * size), cut at the epoch's end. Their sample
        # indices are computed _UNITS_PER_CHUNK units at a time, in one vectorized step.
        first = worker
        while True:
            units = np.arange(first, first + workers * _UNITS_PER_CHUNK, workers, dtype=np.int64)
            first += workers * _UNITS_PER_CHUNK
            los = start + units * size
            los = los[los < total]
            if not los.size:
                return
            local = (los[:, None] + offsets).reshape(-1)
            local = local[local < total]  # only the epoch's last unit may be cut
            indices = permutation(rank_positions(self.samples, self.rank, self.world_size,
                                                 local, self.drop_last))
            begin = 0
            for lo in los.tolist():
                end = begin + min(size, total - lo)
                unit = indices[begin:end]
                begin = end
                columns = _fetch(self.source, unit, self._ragged)
                if self.batch_size is None:
                    yield _sample(columns, int(unit[0]))
                else:
                    yield _to_torch(columns, {"index": torch.from_numpy(unit.copy())})


class Mixture(IterableDataset):
    """An endless weighted mixture of PackedDatasets (their sources and seeds; their ranks,
    batch sizes and epochs are not used), which must have the same fields.

    Position p of the mixed order (global, across ranks) reads from source s with probability
    weights[s] / sum(weights), decided by (seed, p) alone; the k-th position that picks source s
    reads sample k of s's endless stream: epoch k // N_s of s, position k % N_s of
    ``Permutation(N_s, seed_s, epoch)``. Rank r takes positions r, r + W, ... The state is the
    mixed position and, per source, its epoch and position: O(number of sources). The weights
    are not part of it: a run may resume with new weights (positions from the resumed one on
    use them), without re-preparing any file.
    """

    def __init__(self, datasets, weights, seed, *, rank=0, world_size=1, batch_size=None):
        super().__init__()
        datasets = list(datasets)
        if not datasets or len(datasets) != len(weights):
            raise ValueError("a Mixture needs one weight per dataset (%d datasets, %d weights)" %
                             (len(datasets), len(weights)))
        for ds in datasets:
            if not isinstance(ds, PackedDataset):
                raise TypeError("a Mixture mixes PackedDatasets, not %r" % type(ds).__name__)
        self.sources = [ds.source for ds in datasets]
        self.source_seeds = [ds.seed for ds in datasets]
        self.source_samples = [ds.samples for ds in datasets]
        self._ragged = tuple(sorted({name for ds in datasets for name in ds._ragged}))
        self.seed = int(seed)
        self._picks = MixturePicks(weights, self.seed)
        self.weights = self._picks.weights
        self.rank, self.world_size = _check_rank(rank, world_size)
        self.batch_size = _check_batch_size(batch_size)
        #: Samples this rank has received; the mixed order has reached consumed * world_size.
        self.consumed = 0
        #: Picks of each source before the mixed position consumed * world_size.
        self.picked = [0] * len(datasets)

    def state_dict(self):
        return {"kind": "Mixture", "seed": self.seed, "consumed": self.consumed,
                "world_size": self.world_size,
                "position": self.consumed * self.world_size,
                "sources": [{"seed": seed, "samples": n, "epoch": k // n, "consumed": k % n}
                            for seed, n, k in zip(self.source_seeds, self.source_samples,
                                                  self.picked)]}

    def load_state_dict(self, state):
        """Resume where `state` stopped; the sources (seeds and sizes) and the world size must be
        those of the saved run, the weights may differ."""
        if state.get("kind") != "Mixture":
            raise ValueError("not a Mixture state: %r" % (state.get("kind"),))
        if state["seed"] != self.seed or state["world_size"] != self.world_size:
            raise ValueError("the state was saved with seed %r and world_size %r, this mixture "
                             "has %r and %r" % (state["seed"], state["world_size"], self.seed,
                                                self.world_size))
        saved = [(s["seed"], s["samples"]) for s in state["sources"]]
        mine = list(zip(self.source_seeds, self.source_samples))
        if saved != mine:
            raise ValueError("the state's sources (seed, samples) %r are not this mixture's %r" %
                             (saved, mine))
        self.consumed = int(state["consumed"])
        self.picked = [s["epoch"] * s["samples"] + s["consumed"] for s in state["sources"]]

    def _advance(self, count):
        """Move the state past `count` samples of this rank (`count` * W mixed positions)."""
        begin = self.consumed * self.world_size
        self.consumed += count
        counts = np.bincount(self._picks.picks(begin, self.consumed * self.world_size),
                             minlength=len(self.sources))
        self.picked = [k + int(c) for k, c in zip(self.picked, counts)]

    def _end_epoch(self):
        """Nothing: a Mixture has no end."""

    def _sample_index(self, source, k, cache):
        n = self.source_samples[source]
        key = (source, k // n)
        permutation = cache.get(key)
        if permutation is None:
            if len(cache) > 4 * len(self.sources):
                cache.clear()
            permutation = cache[key] = Permutation(n, self.source_seeds[source], k // n)
        return permutation[k % n]

    def __iter__(self):
        worker, workers = _worker()
        size = self.batch_size or 1
        world = self.world_size
        # The Loader advances self.consumed and self.picked while this runs: read them once.
        start = self.consumed
        picked = np.array(self.picked, dtype=np.int64)
        cache = {}
        for unit in itertools.count():
            begin = (start + unit * size) * world
            picks = self._picks.picks(begin, begin + size * world)
            if unit % workers == worker:
                sources, indices, rows = [], [], []
                for offset in range(self.rank, size * world, world):
                    s = int(picks[offset])
                    before = int(np.count_nonzero(picks[:offset] == s))
                    index = self._sample_index(s, int(picked[s]) + before, cache)
                    sources.append(s)
                    indices.append(index)
                    rows.append(self.sources[s][index])
                columns = collate(rows, ragged=self._ragged)
                if self.batch_size is None:
                    yield _sample(columns, indices[0], {"source": sources[0]})
                else:
                    yield _to_torch(columns, {
                        "index": torch.tensor(indices, dtype=torch.int64),
                        "source": torch.tensor(sources, dtype=torch.int64)})
            picked += np.bincount(picks, minlength=len(self.sources))


def _batch_columns(batch, fields):
    """The named columns of a corpusflow.Pipeline batch as row accessors."""
    if fields is None:
        for attribute in ("fields", "names"):
            names = getattr(batch, attribute, None)
            if names is not None:
                fields = list(names() if callable(names) else names)
                break
        else:
            keys = getattr(batch, "keys", None)
            if keys is None:
                raise TypeError("give PipelineDataset(fields=[...]): the pipeline's batches do "
                                "not list their fields")
            fields = list(keys())
    return {name: batch[name] for name in fields}


def _row(column, i):
    """Row i of a column, copied out of the pipeline's batch (whose buffers the engine owns)."""
    if hasattr(column, "values") and hasattr(column, "offsets"):
        return np.array(column.values[int(column.offsets[i]):int(column.offsets[i + 1])])
    value = column[i]
    return np.array(value) if isinstance(value, np.ndarray) else value


class PipelineDataset(_EpochStream):
    """The samples of a live corpusflow pipeline, sharded by rank.

    ``spec`` is a pipeline (``'read ... | tokenize ... | pack ...'``, without a sink) or a
    callable ``spec(epoch) -> str`` (e.g. to put the epoch into ``shuffle --seed``). The stream's
    order is the pipeline's (deterministic for any --threads). Rank r takes the stream's samples
    r, r + W, ...; ranks differ by at most one sample at the end of the stream, unless
    ``drop_last`` drops the last incomplete row of W samples (and a last partial batch).

    Workers: every DataLoader worker (and every rank) runs its own pipeline on the whole input
    and keeps its units (w, w + nw, ... of its rank), so the order is that of num_workers=0;
    since the engine runs on its own threads, num_workers=0 is the economical choice.

    ``fields`` names the fields to yield (default: all those the batches list);
    ``ragged_fields`` those always yielded as values + offsets, even in a batch whose rows happen
    to have one length (pack's cu_seqlens by default). ``threads`` and ``memory`` go to
    corpusflow.Pipeline.

    The state is {epoch, consumed}; resuming runs the pipeline again and skips the samples
    already consumed (constant state, time proportional to the skipped part of the stream).
    """

    def __init__(self, spec, *, fields=None, ragged_fields=("cu_seqlens",), epoch=0, rank=0,
                 world_size=1, batch_size=None, drop_last=False, threads=None, memory=None):
        super().__init__()
        if not (isinstance(spec, str) or callable(spec)):
            raise TypeError("spec must be a pipeline string or a callable epoch -> string")
        self.spec = spec
        self.fields = list(fields) if fields is not None else None
        self.ragged_fields = tuple(ragged_fields)
        self.rank, self.world_size = _check_rank(rank, world_size)
        self.batch_size = _check_batch_size(batch_size)
        self.drop_last = bool(drop_last)
        self.threads = threads
        self.memory = memory
        self.epoch = int(epoch)
        self.consumed = 0

    def spec_for(self, epoch):
        """The pipeline of epoch `epoch`."""
        return self.spec(epoch) if callable(self.spec) else self.spec

    def state_dict(self):
        return {"kind": "PipelineDataset", "epoch": self.epoch, "consumed": self.consumed,
                "rank": self.rank, "world_size": self.world_size}

    def load_state_dict(self, state):
        if state.get("kind") != "PipelineDataset":
            raise ValueError("not a PipelineDataset state: %r" % (state.get("kind"),))
        if state["world_size"] != self.world_size:
            raise ValueError("the state was saved with world_size %r, this dataset has %r" %
                             (state["world_size"], self.world_size))
        self.epoch = int(state["epoch"])
        self.consumed = int(state["consumed"])

    def _open(self, spec):
        """The pipeline's batches (core's corpusflow.Pipeline)."""
        try:
            from corpusflow import Pipeline
        except ImportError as error:
            raise ImportError("PipelineDataset needs corpusflow's native module "
                              "(corpusflow.Pipeline); build it with the corpusflow tree") from error
        kwargs = {}
        if self.threads is not None:
            kwargs["threads"] = self.threads
        if self.memory is not None:
            kwargs["memory"] = self.memory
        return Pipeline(spec, **kwargs)

    def _emit(self, rows, indices):
        columns = collate(rows, ragged=self.ragged_fields)
        if self.batch_size is None:
            return _sample(columns, indices[0])
        return _to_torch(columns, {"index": torch.tensor(indices, dtype=torch.int64)})

    def __iter__(self):
        worker, workers = _worker()
        start = self.consumed
        size = self.batch_size or 1
        rank, world = self.rank, self.world_size
        pipeline = self._open(self.spec_for(self.epoch))
        rows, indices = [], []
        pending = []  # (stream position, sample) of rows of W samples not yet complete
        position = 0  # samples of the stream seen so far
        try:
            for batch in pipeline:
                count = len(batch)
                stream = np.arange(position, position + count, dtype=np.int64)
                local = (stream - rank) // world
                mine = ((stream - rank) % world == 0) & (local >= start)
                mine &= ((local - start) // size) % workers == worker
                selected = np.nonzero(mine)[0]
                if selected.size:
                    columns = _batch_columns(batch, self.fields)
                    for i in selected:
                        pending.append((int(stream[i]), {name: _row(column, i)
                                                         for name, column in columns.items()}))
                position += count
                # With drop_last a sample is final once its row of W samples is complete.
                while pending and (not self.drop_last or pending[0][0] - rank + world <= position):
                    q, sample = pending.pop(0)
                    rows.append(sample)
                    indices.append(q)
                    if len(rows) == size:
                        yield self._emit(rows, indices)
                        rows, indices = [], []
            if rows and not (self.drop_last and len(rows) < size):
                yield self._emit(rows, indices)
        finally:
            close = getattr(pipeline, "close", None)
            if close is not None:
                close()


class Loader:
    """The iteration of a corpusflow dataset that knows what the training loop has received.

    Iterating yields the dataset's units (batches when the dataset has a batch_size), made by
    ``num_workers`` worker processes of a DataLoader (0: the dataset iterated in this process,
    without a DataLoader, which would only add its per-unit cost) and pinned when ``pin_memory``
    (default: when CUDA is available). Each unit is counted when it is handed to the loop, so
    ``state_dict()`` at any time is the state after the last unit received, whatever the workers
    have prefetched; ``load_state_dict()`` (between iterations) makes the next iteration start at
    the next sample, in this or a new process. An iteration of a PackedDataset or
    PipelineDataset is the rest of the current epoch, and the next iteration starts the next
    epoch; a Mixture never ends. Workers are started for each iteration (persistent workers
    would keep a stale copy of the state, so they are not offered). Workers of a PipelineDataset
    are spawned, not forked (``multiprocessing_context`` overrides it): a forked copy of a
    process whose engine has run inherits its thread pool's state without its threads.
    """

    def __init__(self, dataset, *, num_workers=0, pin_memory=None, prefetch_factor=2,
                 timeout=0, multiprocessing_context=None):
        if not isinstance(dataset, (PackedDataset, Mixture, PipelineDataset)):
            raise TypeError("a Loader iterates a corpusflow.torch dataset, not %r" %
                            type(dataset).__name__)
        self.dataset = dataset
        self.num_workers = int(num_workers)
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else bool(pin_memory)
        self._options = {"timeout": timeout}
        if self.num_workers > 0:
            self._options["prefetch_factor"] = prefetch_factor
            if multiprocessing_context is None and isinstance(dataset, PipelineDataset):
                # A forked copy of a process whose engine has run keeps the engine's thread pool
                # state without its threads: start pipeline workers fresh.
                multiprocessing_context = "spawn"
            if multiprocessing_context is not None:
                self._options["multiprocessing_context"] = multiprocessing_context

    def __iter__(self):
        if self.num_workers == 0:
            # In this process a DataLoader (batch_size=None) would hand over the units as they
            # are, after a per-unit cost of its own: iterate the dataset directly.
            units = iter(self.dataset)
            if self.pin_memory and torch.cuda.is_available():  # as DataLoader decides
                units = map(_pinned, units)
        else:
            units = torch.utils.data.DataLoader(
                self.dataset, batch_size=None, num_workers=self.num_workers,
                pin_memory=self.pin_memory, **self._options)
        for unit in units:
            self.dataset._advance(_unit_size(unit))
            yield unit
        self.dataset._end_epoch()

    def state_dict(self):
        """The dataset's state after the last unit handed to the loop (a small dict)."""
        return self.dataset.state_dict()

    def load_state_dict(self, state):
        self.dataset.load_state_dict(state)


def document_layout(cu_seqlens, offsets, length):
    """Segment ids and position ids (B, length) int64 tensors from a batch's ragged cu_seqlens
    (``batch["cu_seqlens"]``, ``batch["cu_seqlens_offsets"]``): piece j of sample b spans
    [cu[j], cu[j+1]) with segment j and positions restarting at 0; padding (from the sample's
    last offset on) gets segment -1 and position 0 (docs/packing.md)."""
    cu = np.asarray(cu_seqlens, dtype=np.int64)
    off = np.asarray(offsets, dtype=np.int64)
    batch = len(off) - 1
    segments = np.full((batch, length), -1, dtype=np.int64)
    positions = np.zeros((batch, length), dtype=np.int64)
    for b in range(batch):
        bounds = cu[off[b]:off[b + 1]]
        pieces = len(bounds) - 1
        if pieces < 1:
            continue
        filled = int(bounds[-1])
        p = np.arange(filled)
        segment = np.searchsorted(bounds, p, side="right") - 1
        segments[b, :filled] = segment
        positions[b, :filled] = p - bounds[segment]
    return torch.from_numpy(segments), torch.from_numpy(positions)

