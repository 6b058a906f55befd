"""corpusflow in Python (docs/python.md).

``Pipeline`` runs a corpusflow pipeline (the text of ``corpusflow run`` without its final sink)
on the engine's threads and yields the batches of its last stage, their columns as numpy arrays
that share the engine's memory. The readers (``corpusflow.readers``) memory-map every format
corpusflow writes. ``corpusflow.torch`` holds the PyTorch datasets.

Example::

    import corpusflow
    with corpusflow.Pipeline("read docs.jsonl | tokenize --kind bpe --tiktoken cl100k.tiktoken"
                             " | pack --length 2048 --plus-one --eod '<|endoftext|>'") as p:
        for batch in p:
            ids = batch["input_ids"]        # numpy int32 (records, 2049), no copy
"""

from corpusflow import readers
from corpusflow._core import Batch, Error, Pipeline, Ragged, __version__
from corpusflow.readers import *  # noqa: F401,F403 (the readers, listed in readers.__all__)

__all__ = ["Batch", "Error", "Pipeline", "Ragged", "__version__"] + readers.__all__
