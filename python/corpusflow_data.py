"""Read the Megatron indexed datasets that corpusflow writes, with numpy alone.

A dataset is two files sharing a prefix, e.g. ``out/train_src_ids_document.bin`` and ``.idx``
(the layout is in corpusflow's docs/megatron.md). ``IndexedDataset`` memory-maps both files and
indexes sequences and documents; nothing is read until a sequence is asked for.
``Seq2SeqDataset`` pairs a source and a target dataset (``write-megatron --fields
src_ids,tgt_ids``) and pads or truncates them to fixed lengths, 512 and 128 by default as in
T5 PEGASUS. It subclasses ``torch.utils.data.Dataset`` when PyTorch is installed (imported on
first use of the class only) and is a plain map-style dataset otherwise; items are dicts of numpy
int64 arrays, which PyTorch's default collate turns into tensors.

Example::

    from corpusflow_data import IndexedDataset, Seq2SeqDataset
    src = IndexedDataset("out/train_src_ids_document")
    print(len(src), src.dtype, src[0][:10])
    pairs = Seq2SeqDataset.from_output_prefix("out/train")
    loader = torch.utils.data.DataLoader(pairs, batch_size=32, shuffle=True)
"""

import os
import struct

import numpy as np

__all__ = ["IndexedDataset", "Seq2SeqDataset", "DTYPES", "dataset_prefix"]

_MAGIC = b"MMIDIDX\x00\x00"
_HEADER_BYTES = 34
_VERSION = 1

#: Megatron's dtype codes.
DTYPES = {
    1: np.dtype(np.uint8),
    2: np.dtype(np.int8),
    3: np.dtype("<i2"),
    4: np.dtype("<i4"),
    5: np.dtype("<i8"),
    6: np.dtype("<f8"),
    7: np.dtype("<f4"),
    8: np.dtype("<u2"),
}


def dataset_prefix(output_prefix, field, level="document"):
    """The prefix of one field's dataset: ``{output_prefix}_{field}_{level}``."""
    if level not in ("document", "sentence"):
        raise ValueError("level must be 'document' or 'sentence', not %r" % (level,))
    return "%s_%s_%s" % (output_prefix, field, level)


def _normalize_prefix(path):
    path = os.fspath(path)
    if path.endswith(".idx") or path.endswith(".bin"):
        return path[:-4]
    return path


def _map_file(path, dtype):
    """A read-only memory map of a whole file (an empty array for an empty file)."""
    if os.path.getsize(path) == 0:
        return np.empty(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r")


class IndexedDataset:
    """One Megatron indexed dataset (``PREFIX.bin`` + ``PREFIX.idx``).

    ``len(ds)`` is the number of sequences and ``ds[i]`` the tokens of sequence ``i`` as a
    read-only numpy array of the dataset's dtype (a view of the memory map). Documents are
    ranges of sequences: ``ds.document(d)`` lists them, ``ds.document_tokens(d)`` concatenates
    them. With ``verify=True`` (the default) the whole index is checked when opening: exact
    file sizes, pointers equal to the running sum of the lengths, document indices from 0 to
    the sequence count without decreasing. Errors are ``ValueError`` naming the file.
    """

    def __init__(self, prefix, verify=True):
        self.prefix = _normalize_prefix(prefix)
        self.idx_path = self.prefix + ".idx"
        self.bin_path = self.prefix + ".bin"
        index = _map_file(self.idx_path, np.uint8)
        size = len(index)
        if size < _HEADER_BYTES:
            raise ValueError(
                "%s: truncated index: %d bytes, shorter than the 34-byte header"
                % (self.idx_path, size)
            )
        header = bytes(index[:_HEADER_BYTES])
        if header[:9] != _MAGIC:
            raise ValueError("%s: not a Megatron index (no MMIDIDX magic)" % self.idx_path)
        version, code, sequences, document_entries = struct.unpack("<QBQQ", header[9:])
        if version != _VERSION:
            raise ValueError("%s: unsupported index version %d" % (self.idx_path, version))
        if code not in DTYPES:
            raise ValueError("%s: unknown dtype code %d" % (self.idx_path, code))
        expected = _HEADER_BYTES + 12 * sequences + 8 * document_entries
        if expected != size:
            raise ValueError(
                "%s: index is %d bytes but its header (%d sequences, %d document index "
                "entries) needs %d" % (self.idx_path, size, sequences, document_entries, expected)
            )
        if document_entries == 0:
            raise ValueError("%s: empty document index" % self.idx_path)
        self.dtype = DTYPES[code]
        self.dtype_code = code
        self.sequence_lengths = np.frombuffer(index, dtype="<i4", count=sequences,
                                              offset=_HEADER_BYTES)
        self.sequence_pointers = np.frombuffer(index, dtype="<i8", count=sequences,
                                               offset=_HEADER_BYTES + 4 * sequences)
        self.document_indices = np.frombuffer(index, dtype="<i8", count=document_entries,
                                              offset=_HEADER_BYTES + 12 * sequences)
        self._index = index
        bin_size = os.path.getsize(self.bin_path)
        if bin_size % self.dtype.itemsize != 0:
            raise ValueError("%s: %d bytes is not a whole number of %s tokens"
                             % (self.bin_path, bin_size, self.dtype.name))
        self.tokens = _map_file(self.bin_path, self.dtype)
        if verify:
            self.verify()

    def verify(self):
        """Check the index against itself and the .bin size; raise ValueError on damage."""
        lengths = self.sequence_lengths.astype(np.int64)
        if len(lengths) and lengths.min() < 0:
            bad = int(np.argmax(lengths < 0))
            raise ValueError("%s: sequence %d has a negative length" % (self.idx_path, bad))
        itemsize = self.dtype.itemsize
        expected = np.zeros(len(lengths), dtype=np.int64)
        if len(lengths) > 1:
            np.cumsum(lengths[:-1] * itemsize, out=expected[1:])
        mismatch = np.nonzero(self.sequence_pointers != expected)[0]
        if len(mismatch):
            i = int(mismatch[0])
            raise ValueError("%s: sequence %d starts at byte %d, expected %d"
                             % (self.idx_path, i, self.sequence_pointers[i], expected[i]))
        total = int(lengths.sum()) * itemsize
        bin_size = len(self.tokens) * itemsize
        if total != bin_size:
            raise ValueError("%s: the index describes %d bytes of tokens but the file has %d"
                             % (self.bin_path, total, bin_size))
        docs = self.document_indices
        if docs[0] != 0 or docs[-1] != len(lengths) or np.any(np.diff(docs) < 0):
            raise ValueError("%s: the document index is not 0 ... %d in order"
                             % (self.idx_path, len(lengths)))

    def __len__(self):
        return len(self.sequence_lengths)

    def __getitem__(self, i):
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("sequence %d out of range (%d sequences)" % (i, len(self)))
        start = int(self.sequence_pointers[i]) // self.dtype.itemsize
        return self.tokens[start:start + int(self.sequence_lengths[i])]

    @property
    def num_documents(self):
        return len(self.document_indices) - 1

    def document(self, d):
        """The sequences of document ``d`` (a list of arrays; empty for an empty document)."""
        if not 0 <= d < self.num_documents:
            raise IndexError("document %d out of range (%d documents)" % (d, self.num_documents))
        return [self[s] for s in range(int(self.document_indices[d]),
                                       int(self.document_indices[d + 1]))]

    def document_tokens(self, d):
        """All tokens of document ``d`` in one array."""
        parts = self.document(d)
        return np.concatenate(parts) if parts else np.empty(0, dtype=self.dtype)

    def max_token_id(self):
        """The largest id in the dataset (-1 when it holds no token); scans the .bin."""
        return int(self.tokens.max()) if len(self.tokens) else -1


def _fit(ids, length, pad_id, eos_id):
    """``ids`` truncated or padded with ``pad_id`` to ``length``; returns (array, kept)."""
    out = np.full(length, pad_id, dtype=np.int64)
    kept = min(len(ids), length)
    out[:kept] = ids[:kept]
    if eos_id is not None and len(ids) > length and length > 0:
        out[length - 1] = eos_id
    return out, kept


class _Seq2SeqPairs:
    """Source/target pairs from two aligned datasets (sequence ``i`` of one pairs with sequence
    ``i`` of the other), padded or truncated to ``src_len`` and ``tgt_len``.

    Each item is a dict of int64 arrays:
      ``input_ids`` (src_len), ``attention_mask`` (src_len, 1 on real tokens),
      ``decoder_input_ids`` (tgt_len): the target shifted right behind ``decoder_start_id``,
      ``decoder_attention_mask`` (tgt_len), ``labels`` (tgt_len, ``label_pad_id`` on padding).
    ``eos_id``, when given, replaces the last kept token of a truncated sequence so that
    truncated sequences still end with it (bert4keras keeps [SEP] the same way).
    """

    def __init__(self, source, target, src_len=512, tgt_len=128, pad_id=0,
                 decoder_start_id=None, eos_id=None, label_pad_id=-100):
        self.source = source if isinstance(source, IndexedDataset) else IndexedDataset(source)
        self.target = target if isinstance(target, IndexedDataset) else IndexedDataset(target)
        if len(self.source) != len(self.target):
            raise ValueError("%s has %d sequences but %s has %d: not a paired dataset"
                             % (self.source.prefix, len(self.source), self.target.prefix,
                                len(self.target)))
        if src_len < 1 or tgt_len < 1:
            raise ValueError("src_len and tgt_len must be positive")
        self.src_len = src_len
        self.tgt_len = tgt_len
        self.pad_id = pad_id
        self.decoder_start_id = pad_id if decoder_start_id is None else decoder_start_id
        self.eos_id = eos_id
        self.label_pad_id = label_pad_id

    @classmethod
    def from_output_prefix(cls, output_prefix, src_field="src_ids", tgt_field="tgt_ids",
                           level="document", **kwargs):
        """The pair written by ``write-megatron OUTPUT_PREFIX --fields SRC,TGT``."""
        return cls(dataset_prefix(output_prefix, src_field, level),
                   dataset_prefix(output_prefix, tgt_field, level), **kwargs)

    def __len__(self):
        return len(self.source)

    def __getitem__(self, i):
        input_ids, src_kept = _fit(self.source[i], self.src_len, self.pad_id, self.eos_id)
        labels, tgt_kept = _fit(self.target[i], self.tgt_len, self.label_pad_id, self.eos_id)
        attention_mask = np.zeros(self.src_len, dtype=np.int64)
        attention_mask[:src_kept] = 1
        decoder_attention_mask = np.zeros(self.tgt_len, dtype=np.int64)
        decoder_attention_mask[:tgt_kept] = 1
        decoder_input_ids = np.full(self.tgt_len, self.pad_id, dtype=np.int64)
        decoder_input_ids[0] = self.decoder_start_id
        decoder_input_ids[1:tgt_kept] = labels[:max(tgt_kept - 1, 0)]
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "decoder_input_ids": decoder_input_ids,
            "decoder_attention_mask": decoder_attention_mask,
            "labels": labels,
        }


_seq2seq_class = None


def __getattr__(name):
    """Build ``Seq2SeqDataset`` on first use, so that readers that never touch it do not pay
    for importing PyTorch: a ``torch.utils.data.Dataset`` when torch is installed, a plain
    map-style dataset otherwise."""
    global _seq2seq_class
    if name != "Seq2SeqDataset":
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    if _seq2seq_class is None:
        try:
            from torch.utils.data import Dataset as base
            bases = (_Seq2SeqPairs, base)
        except ImportError:
            bases = (_Seq2SeqPairs,)
        _seq2seq_class = type("Seq2SeqDataset", bases,
                              {"__module__": __name__, "__doc__": _Seq2SeqPairs.__doc__})
    return _seq2seq_class
