"""Oracle for the C++ tests: read datasets with python/corpusflow_data.py (numpy only) and
compare them with the documents the test wrote.

usage: check_dataset.py MANIFEST.json
MANIFEST.json is a list of {"prefix": ..., "dtype": "uint16"|"int32", "documents": [...]}, where
documents is a list of documents, each a list of sequences, each a list of ids. Exits 0 when
every dataset holds exactly its documents with its dtype, 1 with a message otherwise.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

from corpusflow_data import IndexedDataset  # noqa: E402


def check(prefix, dtype, expected):
    ds = IndexedDataset(prefix)
    if ds.dtype.name != dtype:
        return "%s: dtype %s, expected %s" % (prefix, ds.dtype.name, dtype)
    if ds.num_documents != len(expected):
        return "%s: %d documents, expected %d" % (prefix, ds.num_documents, len(expected))
    sequences = 0
    for d, want in enumerate(expected):
        got = [s.tolist() for s in ds.document(d)]
        if got != want:
            return "%s: document %d is %r, expected %r" % (prefix, d, got[:5], want[:5])
        sequences += len(want)
    if len(ds) != sequences:
        return "%s: %d sequences, expected %d" % (prefix, len(ds), sequences)
    return None


def main():
    with open(sys.argv[1]) as f:
        manifest = json.load(f)
    errors = [e for e in (check(m["prefix"], m["dtype"], m["documents"]) for m in manifest) if e]
    for e in errors:
        print(e)
    if errors:
        sys.exit(1)
    print("ok: %d datasets" % len(manifest))


if __name__ == "__main__":
    main()
