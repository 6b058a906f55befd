"""One case of bench/loader.sh, measured in its own process: tokens per second delivered to
Python as int64 torch tensors, the median over --runs passes, and the process's peak RSS.

  packed PREFIX FIELDS   corpusflow.torch.PackedDataset over pack ... | write-megatron PREFIX
                         (FIELDS: comma-separated, e.g. input_ids or input_ids,loss_mask,cu_seqlens),
                         batches of --batch samples, shuffled by (seed, epoch); tokens = B x L
                         input_ids per batch
  live SPEC              corpusflow.torch.PipelineDataset over a live pipeline ending in
                         pack --mode pad: tokens = the src and tgt ids of each batch (padding
                         included, as in the packed case), and the real ids (masks) besides
  rival PREFIX           a numpy memmap of write-megatron's documents (PREFIX_text_ids_document)
                         and a Python packing loop: documents in a random order, each followed by
                         an EOD, concatenated, cut into batches of --batch x --length; the loop
                         joins numpy slices (--rival numpy, the default) or Python lists of ids
                         (--rival lists, as Hugging Face's group_texts concatenates lists)

Prints one line: ``case runs seconds tokens tokens_per_s real_per_s peak_rss_mib`` (median run).
"""

import argparse
import os
import resource
import statistics
import sys
import time

import numpy as np


def packed(args):
    from corpusflow.torch import Loader, PackedDataset
    dataset = PackedDataset(args.target, seed=1, batch_size=args.batch,
                            fields=args.fields.split(","))
    loader = Loader(dataset, pin_memory=False)

    def one_pass():
        tokens = 0
        for batch in loader:
            tokens += batch["input_ids"].numel()
        return tokens, tokens
    return one_pass


def live(args):
    from corpusflow.torch import Loader, PipelineDataset
    dataset = PipelineDataset(args.target, fields=["src_ids", "src_mask", "tgt_ids", "tgt_mask"],
                              batch_size=args.batch, threads=args.threads)
    loader = Loader(dataset, pin_memory=False)

    def one_pass():
        tokens = real = 0
        for batch in loader:
            tokens += batch["src_ids"].numel() + batch["tgt_ids"].numel()
            real += int(batch["src_mask"].sum()) + int(batch["tgt_mask"].sum())
        return tokens, real
    return one_pass


def rival(args):
    import torch
    sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    from corpusflow_data import IndexedDataset, dataset_prefix
    docs = IndexedDataset(dataset_prefix(args.target, "text_ids"))
    tokens = np.memmap(docs.bin_path, dtype=docs.dtype, mode="r")
    starts = docs.sequence_pointers // docs.dtype.itemsize
    lengths = docs.sequence_lengths
    eod = np.array([args.eod], dtype=docs.dtype)
    size = args.batch * args.length
    rng = np.random.default_rng(1)

    def lists_pass():
        delivered = 0
        buffer = []
        for d in rng.permutation(len(lengths)):
            start = int(starts[d])
            buffer.extend(tokens[start:start + int(lengths[d])].tolist())
            buffer.append(args.eod)
            if len(buffer) >= size:
                batch = torch.tensor(buffer[:size], dtype=torch.int64).view(args.batch,
                                                                            args.length)
                delivered += batch.numel()
                del buffer[:size]
        return delivered, delivered

    def one_pass():
        delivered = 0
        pending, held = [], 0
        for d in rng.permutation(len(lengths)):
            start = int(starts[d])
            pending.append(tokens[start:start + int(lengths[d])])
            pending.append(eod)
            held += int(lengths[d]) + 1
            if held >= size:
                stream = np.concatenate(pending)
                batch = torch.from_numpy(stream[:size].astype(np.int64)).view(args.batch,
                                                                              args.length)
                delivered += batch.numel()
                pending, held = [stream[size:]], len(stream) - size
        return delivered, delivered
    return lists_pass if args.rival == "lists" else one_pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", choices=["packed", "live", "rival"])
    parser.add_argument("target", help="a prefix, or the pipeline of the live case")
    parser.add_argument("--fields", default="input_ids")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=2048)
    parser.add_argument("--eod", type=int, default=102)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rival", choices=["numpy", "lists"], default="numpy")
    parser.add_argument("--label", default=None)
    args = parser.parse_args()
    one_pass = {"packed": packed, "live": live, "rival": rival}[args.case](args)
    timings = []
    for _ in range(args.runs):
        start = time.perf_counter()
        tokens, real = one_pass()
        timings.append((time.perf_counter() - start, tokens, real))
    seconds, tokens, real = sorted(timings)[(len(timings) - 1) // 2]
    if tokens == 0:
        sys.exit("loader.py: %s delivered no tokens" % args.case)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("%s %d %.3f %d %.0f %.0f %.0f" % (args.label or args.case, args.runs, seconds, tokens,
                                             tokens / seconds, real / seconds, peak_mib))


if __name__ == "__main__":
    main()
