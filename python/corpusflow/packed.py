"""Map-style sources of packed samples: the protocol corpusflow.torch reads, and a reader of the
Megatron datasets that ``pack ... | write-megatron PREFIX`` writes.

A *source* is any object with ``len(src)`` (the number of samples) and ``src[i]`` (sample i as a
dict of field name -> 1-D numpy array, or an integer / str for scalar fields). A source may also
offer ``src.get_batch(indices)`` returning the samples at an int64 index array at once, as a dict
of field name -> a 2-D array (n, L) for fields of one length, or a ``Ragged`` for fields of
varying lengths; corpusflow.torch uses it when present, and ``collate()`` otherwise.

``MegatronSamples(prefix)`` reads the datasets ``PREFIX_<field>_document.{bin,idx}`` of every
field written (or of ``fields``), e.g. ``input_ids``, ``loss_mask`` and ``cu_seqlens`` after
``pack --mode concat|best-fit``, or ``src_ids``, ``src_mask``, ``tgt_ids``, ``tgt_mask`` after
``pack --mode pad`` (docs/packing.md): sample i is sequence i of every dataset. A field whose
sequences all have the same length is read as one (n, L) memory-mapped matrix, so a batch is a
single gather. Read-only after construction; safe to share between threads and to pickle into
loader workers (the memory maps are reopened there).
"""

import glob
import os

import numpy as np

__all__ = ["Ragged", "MegatronSamples", "collate"]


class Ragged:
    """Rows of varying lengths: row i is ``values[offsets[i]:offsets[i + 1]]`` (offsets int64,
    n + 1 entries, starting at 0)."""

    __slots__ = ("values", "offsets")

    def __init__(self, values, offsets):
        self.values = values
        self.offsets = offsets

    def __len__(self):
        return len(self.offsets) - 1

    def __getitem__(self, i):
        return self.values[int(self.offsets[i]):int(self.offsets[i + 1])]


def collate(samples, ragged=()):
    """The dict of field -> 2-D array, ``Ragged``, 1-D array (scalars) or list (str) of a list of
    samples (each a dict of field -> value, all with the same fields). An array field is a 2-D
    array when its values have one length, unless it is named in `ragged`, and a ``Ragged``
    otherwise."""
    if not samples:
        raise ValueError("collate() needs at least one sample")
    names = list(samples[0])
    out = {}
    for name in names:
        column = [s[name] for s in samples]
        first = column[0]
        if isinstance(first, str):
            out[name] = column
        elif np.ndim(first) == 0:
            out[name] = np.asarray(column)
        else:
            lengths = np.fromiter((len(v) for v in column), dtype=np.int64, count=len(column))
            if name not in ragged and np.all(lengths == lengths[0]):
                out[name] = np.stack(column)
            else:
                offsets = np.zeros(len(column) + 1, dtype=np.int64)
                np.cumsum(lengths, out=offsets[1:])
                out[name] = Ragged(np.concatenate(column), offsets)
    return out


def _corpusflow_data():
    try:
        import corpusflow_data
    except ImportError as e:
        raise ImportError("corpusflow.packed reads Megatron datasets with corpusflow_data.py "
                          "(python/ of the corpusflow tree must be on sys.path)") from e
    return corpusflow_data


def _fields_of(prefix):
    """The fields written under `prefix`: the X of every PREFIX_X_document.idx, sorted."""
    head = prefix + "_"
    tail = "_document.idx"
    found = sorted(path[len(head):-len(tail)]
                   for path in glob.glob(glob.escape(head) + "*" + tail))
    if not found:
        raise FileNotFoundError("%s: no dataset %s<field>%s (write-megatron %s ...)" %
                                (prefix, head, tail, prefix))
    return found


def _gather_ragged(ds, indices):
    """The sequences `indices` of an IndexedDataset as one Ragged."""
    lengths = ds.sequence_lengths[indices].astype(np.int64)
    starts = ds.sequence_pointers[indices] // ds.dtype.itemsize
    offsets = np.zeros(len(indices) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    tokens = ds.tokens
    values = np.concatenate([tokens[s:s + n] for s, n in zip(starts.tolist(), lengths.tolist())])
    return Ragged(values, offsets)


class MegatronSamples:
    """The samples written by ``write-megatron PREFIX`` (one dataset per field, aligned)."""

    def __init__(self, prefix, fields=None):
        self.prefix = os.fspath(prefix)
        self.fields = list(fields) if fields else _fields_of(self.prefix)
        self._open()

    def _open(self):
        data = _corpusflow_data()
        self._datasets = {}
        self._matrices = {}
        size = None
        for name in self.fields:
            ds = data.IndexedDataset(data.dataset_prefix(self.prefix, name), verify=True)
            if size is not None and len(ds) != size:
                raise ValueError("%s has %d sequences but %s has %d: not one set of samples" %
                                 (ds.idx_path, len(ds), self._datasets[self.fields[0]].idx_path,
                                  size))
            size = len(ds)
            self._datasets[name] = ds
            lengths = ds.sequence_lengths
            if len(lengths) and lengths.min() == lengths.max() and lengths[0] > 0:
                # A plain ndarray view of the map: np.memmap's own indexing costs more.
                self._matrices[name] = ds.tokens.view(np.ndarray).reshape(len(ds),
                                                                          int(lengths[0]))
        self._size = size
        #: The fields of varying lengths (always a ``Ragged`` in a batch).
        self.ragged_fields = tuple(n for n in self.fields if n not in self._matrices)

    def __getstate__(self):
        return {"prefix": self.prefix, "fields": self.fields}

    def __setstate__(self, state):
        self.prefix = state["prefix"]
        self.fields = state["fields"]
        self._open()

    def __len__(self):
        return self._size

    def __getitem__(self, i):
        return {name: ds[i] for name, ds in self._datasets.items()}

    def get_batch(self, indices):
        indices = np.asarray(indices, dtype=np.int64)
        out = {}
        for name, ds in self._datasets.items():
            matrix = self._matrices.get(name)
            if matrix is not None:
                out[name] = matrix[indices]
            else:
                out[name] = _gather_ragged(ds, indices)
        return out
