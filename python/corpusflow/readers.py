"""Readers for every format corpusflow writes, with numpy alone (docs/python.md).

Each reader memory-maps its files (nothing is loaded whole but the small indexes: an MDS
``index.json`` and shard headers, an OLMo ``.csv.gz``, the line offsets of a JSONL file) and is
a map-style dataset: ``len(r)`` and ``r[i]``. Items are read-only numpy views of the maps (copy
one to change it), or dicts of them for samples of several fields:

=======================  ================================================  =====================
reader                   files (docs/)                                     item
=======================  ================================================  =====================
``MegatronDataset``      ``PREFIX.bin`` / ``.idx`` (megatron.md)           1-D array: sequence i
``PackedMegatronDataset`` ``PREFIX_input_ids_document`` + side datasets    dict of fields
                         ``_loss_mask_document``, ``_cu_seqlens_document``
                         (megatron.md, Packed samples)
``DatatroveDataset``     ``PREFIX.ds`` + ``.ds.index`` / ``.ds.loss`` /     dict: ``input_ids``
                         ``.ds.metadata`` (formats.md)                      (+ ``loss_mask``)
``MDSDataset``           ``DIR/index.json`` v2 + ``shard.NNNNN.mds``        dict of columns
                         (formats.md)
``OlmoDataset``          ``PREFIX.npy`` raw memmap + ``.csv.gz``           dict: ``input_ids``
                         (+ ``PREFIX_mask.npy``) (formats.md)               (+ ``loss_mask``)
``JsonlDataset``         one JSON object per line (``write``)              dict of fields
=======================  ================================================  =====================

A damaged file raises ``ValueError`` naming the file and what is wrong.
"""

import gzip
import json
import os

import numpy as np

from corpusflow_data import IndexedDataset as MegatronDataset

__all__ = [
    "MegatronDataset",
    "PackedMegatronDataset",
    "DatatroveDataset",
    "MDSDataset",
    "OlmoDataset",
    "JsonlDataset",
]


def _map(path, dtype, offset=0, count=-1):
    """A read-only memory map of ``path`` from ``offset`` (an empty array for no bytes)."""
    size = os.path.getsize(path)
    itemsize = np.dtype(dtype).itemsize
    if count < 0:
        count = (size - offset) // itemsize
    if count == 0:
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=(count,))


def _index(i, n, what):
    i = int(i)
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise IndexError("%s index %d out of range (%d items)" % (what, i, n))
    return i


class PackedMegatronDataset:
    """Packed samples written by ``write-megatron PREFIX``: sample i is
    ``{"input_ids", "loss_mask", "cu_seqlens"}`` from sequence i of ``PREFIX_input_ids_document``
    and of its side datasets (each present only when written)."""

    def __init__(self, prefix, field="input_ids", loss_mask="loss_mask", boundaries="cu_seqlens"):
        prefix = os.fspath(prefix)
        self.fields = {}
        for name in (field, loss_mask, boundaries):
            path = "%s_%s_document" % (prefix, name)
            if name and os.path.exists(path + ".idx"):
                self.fields[name] = MegatronDataset(path)
        if field not in self.fields:
            raise ValueError("%s_%s_document.idx: no such dataset" % (prefix, field))
        n = len(self.fields[field])
        for name, dataset in self.fields.items():
            if len(dataset) != n:
                raise ValueError("%s_%s_document: %d sequences, but %s has %d"
                                 % (prefix, name, len(dataset), field, n))
        self._n = n

    def __len__(self):
        return self._n

    def __getitem__(self, i):
        i = _index(i, self._n, "PackedMegatronDataset")
        return {name: dataset[i] for name, dataset in self.fields.items()}


class _TokenFile:
    """Tokens (``self.tokens``) and an optional loss mask (``self.loss``) of one file, read as
    documents (``_document(i)`` gives their bounds) or, with a sample length L, as the samples
    of L tokens."""

    def _items(self, sample_length, documents):
        self._sample_length = sample_length
        self._n = len(self.tokens) // sample_length if sample_length is not None else documents

    def __len__(self):
        return self._n

    def __getitem__(self, i):
        i = _index(i, self._n, type(self).__name__)
        if self._sample_length is not None:
            start, end = i * self._sample_length, (i + 1) * self._sample_length
        else:
            start, end = self._document(i)
        item = {"input_ids": self.tokens[start:end]}
        if self.loss is not None:
            item["loss_mask"] = self.loss[start:end]
        return item


def _datatrove_paths(path):
    path = os.fspath(path)
    return path if path.endswith(".ds") else path + ".ds"


class DatatroveDataset(_TokenFile):
    """datatrove / nanotron tokens: ``PREFIX.ds`` (``PREFIX`` or the ``.ds`` path).

    Without ``sample_length``, item i is document i of ``.ds.index`` (a packed sample's
    documents and its padding tail are items of their own); with ``sample_length=L``, item i is
    tokens ``[i L, (i + 1) L)``, the fixed-length samples ``pack --length L`` wrote (nanotron's
    ``DatatroveFolderDataset(seq_len=L - 1)``). The token size comes from ``.ds.metadata``
    (``token_size`` when it is missing)."""

    def __init__(self, path, sample_length=None, token_size=None):
        ds = _datatrove_paths(path)
        self.path = ds
        metadata = ds + ".metadata"
        if os.path.exists(metadata):
            with open(metadata, encoding="utf-8") as f:
                lines = f.read().split("\n")
            try:
                self.tokenizer, size = lines[0].rsplit("|", 1)
                token_size = int(size)
                tokens = int(lines[1])
            except (ValueError, IndexError):
                raise ValueError("%s: not a datatrove metadata file (TOKENIZER|SIZE, then the "
                                 "token count)" % metadata) from None
        elif token_size is None:
            raise ValueError("%s: missing; give token_size (2 or 4)" % metadata)
        else:
            self.tokenizer, tokens = None, None
        if token_size not in (2, 4):
            raise ValueError("%s: token size %d (2 or 4)" % (metadata, token_size))
        size = os.path.getsize(ds)
        if size % token_size:
            raise ValueError("%s: %d bytes, not a whole number of %d-byte tokens"
                             % (ds, size, token_size))
        self.tokens = _map(ds, "<u2" if token_size == 2 else "<u4")
        if tokens is not None and tokens != len(self.tokens):
            raise ValueError("%s: %d tokens, but %s says %d" % (ds, len(self.tokens), metadata,
                                                                 tokens))
        self.ends = _map(ds + ".index", "<u8")
        if len(self.ends) and int(self.ends[-1]) != len(self.tokens):
            raise ValueError("%s.index: the last document ends at %d, not at the %d tokens"
                             % (ds, int(self.ends[-1]), len(self.tokens)))
        self.loss = _map(ds + ".loss", np.uint8) if os.path.exists(ds + ".loss") else None
        if self.loss is not None and len(self.loss) != len(self.tokens):
            raise ValueError("%s.loss: %d bytes for %d tokens" % (ds, len(self.loss),
                                                                  len(self.tokens)))
        if sample_length is not None and (sample_length <= 0 or
                                          len(self.tokens) % sample_length):
            raise ValueError("%s: %d tokens are not samples of %d" % (ds, len(self.tokens),
                                                                     sample_length))
        self._items(sample_length, len(self.ends))

    def _document(self, i):
        return (int(self.ends[i - 1]) if i > 0 else 0), int(self.ends[i])


_MDS_SHAPE_TYPES = [np.dtype("<u1"), np.dtype("<u2"), np.dtype("<u4"), np.dtype("<u8")]
_MDS_ARRAY_TYPES = {"int32": np.dtype("<i4"), "int64": np.dtype("<i8"), "uint8": np.dtype("u1"),
                    "uint16": np.dtype("<u2"), "uint32": np.dtype("<u4"),
                    "int16": np.dtype("<i2"), "float32": np.dtype("<f4")}


class MDSDataset:
    """MosaicML MDS (``index.json`` version 2, no compression) as ``write-mds DIR`` writes it:
    item i is a dict of its columns, each ``ndarray:DTYPE`` column a 1-D numpy view (the
    ``ndarray`` encoding with its shape stored per sample)."""

    def __init__(self, folder):
        folder = os.fspath(folder)
        if os.path.basename(folder) == "index.json":
            folder = os.path.dirname(folder)
        self.folder = folder
        index_path = os.path.join(folder, "index.json")
        with open(index_path, encoding="utf-8") as f:
            index = json.load(f)
        if index.get("version") != 2:
            raise ValueError("%s: version %r (2 expected)" % (index_path, index.get("version")))
        self.shards = []
        self._starts = [0]
        for k, shard in enumerate(index.get("shards", [])):
            where = "%s: shard %d" % (index_path, k)
            if shard.get("format") != "mds" or shard.get("compression") is not None:
                raise ValueError("%s: format %r, compression %r (uncompressed mds expected)"
                                 % (where, shard.get("format"), shard.get("compression")))
            columns = []
            for name, encoding, size in zip(shard["column_names"], shard["column_encodings"],
                                            shard["column_sizes"]):
                kind, _, dtype = encoding.partition(":")
                if kind != "ndarray" or dtype not in _MDS_ARRAY_TYPES or size is not None:
                    raise ValueError("%s: column %s encoded %r (ndarray:DTYPE expected)"
                                     % (where, name, encoding))
                columns.append((name, _MDS_ARRAY_TYPES[dtype]))
            path = os.path.join(folder, shard["raw_data"]["basename"])
            data = _map(path, np.uint8)
            n = int(shard["samples"])
            if len(data) < 4 * (n + 2) or int(data[:4].view("<u4")[0]) != n:
                raise ValueError("%s: not an MDS shard of %d samples" % (path, n))
            offsets = data[4:4 * (n + 2)].view("<u4")
            if int(offsets[-1]) != len(data):
                raise ValueError("%s: the offsets end at %d, the file has %d bytes"
                                 % (path, int(offsets[-1]), len(data)))
            self.shards.append((path, data, offsets, columns))
            self._starts.append(self._starts[-1] + n)
        self._n = self._starts[-1]

    def __len__(self):
        return self._n

    def __getitem__(self, i):
        i = _index(i, self._n, "MDSDataset")
        k = int(np.searchsorted(self._starts, i, side="right")) - 1
        path, data, offsets, columns = self.shards[k]
        j = i - self._starts[k]
        start, end = int(offsets[j]), int(offsets[j + 1])
        sizes = data[start:start + 4 * len(columns)].view("<u4")
        pos = start + 4 * len(columns)
        item = {}
        for (name, dtype), size in zip(columns, sizes):
            size = int(size)
            code = int(data[pos])
            ndim, shape_type = code >> 2, _MDS_SHAPE_TYPES[code & 3]
            head = 1 + ndim * shape_type.itemsize
            shape = tuple(int(x) for x in data[pos + 1:pos + head].view(shape_type))
            count = int(np.prod(shape)) if shape else 1
            if head + count * dtype.itemsize != size or pos + size > end:
                raise ValueError("%s: sample %d, column %s: %d bytes for shape %s"
                                 % (path, j, name, size, shape))
            item[name] = data[pos + head:pos + size].view(dtype).reshape(shape)
            pos += size
        return item


class OlmoDataset(_TokenFile):
    """OLMo / Dolma tokens: ``PREFIX.npy`` (a raw memmap, no numpy header), documents from
    ``PREFIX.csv.gz`` (``start,end,...`` in tokens) and the loss mask ``PREFIX_mask.npy`` when
    present. Item i is document i (``sequence_length=None``) or tokens ``[i L, (i + 1) L)``
    (``sequence_length=L``: OLMo-core's ``NumpyFSLDataset`` chunks, the samples ``pack`` wrote).
    ``dtype`` (uint8, uint16 or uint32) is what ``write-olmo`` chose from the vocabulary size;
    when it is not given it is inferred where only one fits the file size and the documents."""

    def __init__(self, path, dtype=None, sequence_length=None):
        path = os.fspath(path)
        prefix = path[:-4] if path.endswith(".npy") else path
        self.path = prefix + ".npy"
        with gzip.open(prefix + ".csv.gz", "rt", encoding="utf-8") as f:
            rows = [line.split(",", 2)[:2] for line in f if line.strip()]
        try:
            self.documents = np.array(rows, dtype=np.int64).reshape(-1, 2)
        except ValueError:
            raise ValueError("%s.csv.gz: not start,end,... lines" % prefix) from None
        size = os.path.getsize(self.path)
        last = int(self.documents[:, 1].max()) if len(self.documents) else 0
        if dtype is None:
            fits = [t for t in (np.uint8, np.uint16, np.uint32)
                    if size % np.dtype(t).itemsize == 0 and size // np.dtype(t).itemsize == last]
            if len(fits) != 1:
                raise ValueError("%s: %d bytes and documents ending at %d: give dtype"
                                 % (self.path, size, last))
            dtype = fits[0]
        self.tokens = _map(self.path, np.dtype(dtype).newbyteorder("<"))
        if size % self.tokens.dtype.itemsize or last > len(self.tokens):
            raise ValueError("%s: %d bytes, documents end at token %d" % (self.path, size, last))
        mask = prefix + "_mask.npy"
        self.loss = _map(mask, np.uint8) if os.path.exists(mask) else None
        if self.loss is not None and len(self.loss) != len(self.tokens):
            raise ValueError("%s: %d bytes for %d tokens" % (mask, len(self.loss),
                                                              len(self.tokens)))
        if sequence_length is not None and sequence_length <= 0:
            raise ValueError("OlmoDataset: sequence_length %d" % sequence_length)
        self._items(sequence_length, len(self.documents))

    def _document(self, i):
        return int(self.documents[i, 0]), int(self.documents[i, 1])


class JsonlDataset:
    """One JSON object per line (``write out.jsonl``; uncompressed). Item i is line i parsed,
    each list of integers as a numpy int64 array. The line offsets are found once, by a scan of
    the memory map for newlines."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._data = _map(self.path, np.uint8)
        ends = np.flatnonzero(self._data == ord("\n"))
        if len(self._data) and self._data[-1] != ord("\n"):
            ends = np.append(ends, len(self._data))
        self._starts = np.concatenate([[0], ends[:-1] + 1]) if len(ends) else ends
        self._ends = ends

    def __len__(self):
        return len(self._ends)

    def __getitem__(self, i):
        i = _index(i, len(self._ends), "JsonlDataset")
        line = self._data[int(self._starts[i]):int(self._ends[i])].tobytes()
        try:
            record = json.loads(line)
        except ValueError as e:
            raise ValueError("%s:%d: %s" % (self.path, i + 1, e)) from None
        if isinstance(record, dict):
            for key, value in record.items():
                if isinstance(value, list) and all(type(v) is int for v in value) and value:
                    record[key] = np.array(value, dtype=np.int64)
        return record
