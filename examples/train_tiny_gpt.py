#!/usr/bin/env python3
"""Train a tiny GPT on corpusflow's packed samples, with per-document attention.

The last step of the GPT path: a pipeline ending in ``pack ... | write samples.jsonl`` writes one
JSON object per sample with ``input_ids``, ``loss_mask`` and ``cu_seqlens`` (docs/packing.md),
and this script trains a small decoder-only Transformer on them for a few steps, on CPU (or
CUDA with --device cuda), printing the loss:

    corpusflow run 'read ids.txt | parse-ids | shuffle --seed 1
        | pack --mode best-fit --length 128 --eod 0 | write samples.jsonl'
    python3 examples/train_tiny_gpt.py samples.jsonl

Document boundaries come from ``cu_seqlens`` alone, as docs/packing.md says readers derive
them: piece j of a sample spans [cu[j], cu[j+1]); its positions restart at 0; a token attends
only to earlier tokens of its own piece (a block-diagonal causal mask, what FlashAttention's
variable-length kernels compute from the same offsets); padding belongs to no piece. The loss of
position t predicts token t+1, weighted by ``loss_mask[t+1]`` (so padding is never a label) and
only where t and t+1 are in the same piece (the first token of a piece cannot be predicted from
inside it).

The samples can also come through corpusflow.torch (python/corpusflow/torch.py): from the
Megatron datasets of ``pack ... | write-megatron PREFIX`` in an order that is a function of
--seed and the epoch (--packed PREFIX), or from a live pipeline without any file in between
(--pipeline 'read ... | pack ...', which needs corpusflow's native module and --vocab-size):

    python3 examples/train_tiny_gpt.py --packed out/gpt
    python3 examples/train_tiny_gpt.py --vocab-size 52 --pipeline \
        'read ids.txt | parse-ids | pack --mode best-fit --length 128 --eod 0'

With --device cuda the loader pins its batches and the copies to the GPU are asynchronous.

The model is deliberately small (a demonstration of the data path, not of modelling). The last
line printed is ``first-loss A last-loss B``: the mean training loss over the first and the last
tenth of the steps.
"""

import argparse
import json
import math
import os
import sys
import time

try:
    import torch
    from torch import nn
except ImportError:  # document_layout() and read_samples() work without torch
    torch = None
    nn = None


def read_samples(path):
    """The samples of a JSONL file written from `pack`: lists of input_ids, loss_mask and
    cu_seqlens, checked against each other."""
    samples = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            record = json.loads(line)
            ids, mask, cu = record["input_ids"], record["loss_mask"], record["cu_seqlens"]
            if len(mask) != len(ids):
                raise ValueError("%s:%d: loss_mask and input_ids differ in length" % (path, number))
            if not cu or cu[0] != 0 or any(b <= a for a, b in zip(cu, cu[1:])) or cu[-1] > len(ids):
                raise ValueError("%s:%d: cu_seqlens %r is not 0 then increasing offsets" %
                                 (path, number, cu))
            samples.append((ids, mask, cu))
    if not samples:
        raise ValueError("%s: no samples" % path)
    lengths = {len(ids) for ids, _, _ in samples}
    if len(lengths) != 1:
        raise ValueError("%s: samples of several lengths %s" % (path, sorted(lengths)))
    return samples


def document_layout(cu_seqlens, length):
    """Segment ids and position ids of a sample of `length` ids from its cu_seqlens: piece j
    covers [cu[j], cu[j+1]) with segment j and positions 0, 1, ...; padding (from cu[-1] on)
    gets segment -1 and position 0."""
    segments = [-1] * length
    positions = [0] * length
    for j, (begin, end) in enumerate(zip(cu_seqlens, cu_seqlens[1:])):
        for p in range(begin, end):
            segments[p] = j
            positions[p] = p - begin
    return segments, positions


def attention_allowed(segments):
    """allowed[b, q, k]: query q may attend to key k (same piece, k <= q). Padding attends to
    itself only, so that no row of the softmax is empty."""
    segments = torch.as_tensor(segments)
    length = segments.shape[-1]
    same = segments.unsqueeze(-1) == segments.unsqueeze(-2)
    causal = torch.ones(length, length, dtype=torch.bool).tril()
    allowed = same & causal & (segments.unsqueeze(-1) >= 0)
    return allowed | torch.eye(length, dtype=torch.bool)


def make_model(vocab_size, length, d_model, heads, layers):
    """A pre-LayerNorm decoder-only Transformer whose attention takes an explicit mask."""

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1 = nn.LayerNorm(d_model)
            self.qkv = nn.Linear(d_model, 3 * d_model)
            self.out = nn.Linear(d_model, d_model)
            self.norm2 = nn.LayerNorm(d_model)
            self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(),
                                     nn.Linear(4 * d_model, d_model))

        def forward(self, x, allowed):
            batch, time_steps, _ = x.shape
            q, k, v = self.qkv(self.norm1(x)).split(d_model, dim=-1)
            shape = (batch, time_steps, heads, d_model // heads)
            q, k, v = (t.reshape(shape).transpose(1, 2) for t in (q, k, v))
            scores = q @ k.transpose(-1, -2) / math.sqrt(d_model // heads)
            scores = scores.masked_fill(~allowed.unsqueeze(1), float("-inf"))
            attended = scores.softmax(dim=-1) @ v
            x = x + self.out(attended.transpose(1, 2).reshape(batch, time_steps, d_model))
            return x + self.mlp(self.norm2(x))

    class TinyGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, d_model)
            self.positions = nn.Embedding(length, d_model)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.norm = nn.LayerNorm(d_model)
            self.project = nn.Linear(d_model, vocab_size)

        def forward(self, ids, positions, allowed):
            x = self.embed(ids) + self.positions(positions)
            for block in self.blocks:
                x = block(x, allowed)
            return self.project(self.norm(x))

    return TinyGPT()


def tensors(samples):
    """ids, loss_mask, segments, positions as [samples, length] tensors."""
    length = len(samples[0][0])
    layouts = [document_layout(cu, length) for _, _, cu in samples]
    return (torch.tensor([ids for ids, _, _ in samples], dtype=torch.long),
            torch.tensor([mask for _, mask, _ in samples], dtype=torch.float),
            torch.tensor([seg for seg, _ in layouts], dtype=torch.long),
            torch.tensor([pos for _, pos in layouts], dtype=torch.long))


def jsonl_batches(args):
    """The vocabulary size and batches (ids, loss_mask, segments, positions) of a JSONL file of
    samples, cycling through them."""
    samples = read_samples(args.samples)
    ids, loss_mask, segments, positions = tensors(samples)
    count = ids.shape[0]
    pieces = sum(len(cu) - 1 for _, _, cu in samples)
    print("%d samples of %d ids, %d document pieces" % (count, ids.shape[1], pieces), flush=True)

    def cycle():
        for step in range(args.steps):
            rows = torch.arange(step * args.batch_size, (step + 1) * args.batch_size) % count
            yield ids[rows], loss_mask[rows], segments[rows], positions[rows]
    return args.vocab_size or int(ids.max()) + 1, cycle()


def corpusflow_batches(args):
    """The vocabulary size and batches (ids, loss_mask, segments, positions) from
    corpusflow.torch, epoch after epoch."""
    # Appended, so that a corpusflow on PYTHONPATH (the build tree's, with the native module)
    # wins.
    sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    from corpusflow.torch import Loader, PackedDataset, PipelineDataset, document_layout
    if args.packed:
        dataset = PackedDataset(args.packed, seed=args.seed, batch_size=args.batch_size,
                                fields=["input_ids", "loss_mask", "cu_seqlens"])
        print("%d packed samples in %s" % (dataset.samples, args.packed), flush=True)
    else:
        dataset = PipelineDataset(args.pipeline, fields=["input_ids", "loss_mask", "cu_seqlens"],
                                  batch_size=args.batch_size, threads=args.threads)
        print("live pipeline: %s" % args.pipeline, flush=True)
    loader = Loader(dataset, num_workers=args.workers, pin_memory=args.device.startswith("cuda"))

    def epochs():
        while True:
            for batch in loader:
                ids = batch["input_ids"]
                segments, positions = document_layout(batch["cu_seqlens"],
                                                      batch["cu_seqlens_offsets"], ids.shape[1])
                yield ids, batch["loss_mask"].float(), segments, positions
    if args.vocab_size:
        return args.vocab_size, epochs()
    if args.pipeline:
        sys.exit("--pipeline needs --vocab-size (the stream's largest id is not known ahead)")
    from corpusflow_data import IndexedDataset, dataset_prefix
    ids = IndexedDataset(dataset_prefix(args.packed, "input_ids"))
    return ids.max_token_id() + 1, epochs()


def train(args):
    torch.manual_seed(args.seed)
    vocab_size, batches = (corpusflow_batches(args) if args.packed or args.pipeline
                           else jsonl_batches(args))
    first = next(batches)
    length = first[0].shape[1]
    device = torch.device(args.device)
    model = make_model(vocab_size, length, args.d_model, args.heads, args.layers).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    print("samples of %d ids, vocabulary %d, %s" % (length, vocab_size, device), flush=True)
    losses = []
    start = time.monotonic()
    batch = first
    for step in range(args.steps):
        if step:
            batch = next(batches)
        batch_ids, batch_mask, batch_segments, batch_positions = (
            t.to(device, non_blocking=True) for t in batch)
        logits = model(batch_ids, batch_positions, attention_allowed(batch_segments))
        # Position t predicts token t+1: a label of the same piece that is not padding.
        weights = batch_mask[:, 1:] * (batch_segments[:, 1:] == batch_segments[:, :-1]).float()
        token_loss = nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, vocab_size), batch_ids[:, 1:].reshape(-1),
            reduction="none").reshape(weights.shape)
        loss = (token_loss * weights).sum() / weights.sum().clamp(min=1.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if (step + 1) % args.log_every == 0 or step == 0:
            print("step %4d loss %.4f (%.1fs)" % (step + 1, losses[-1], time.monotonic() - start),
                  flush=True)
    elapsed = time.monotonic() - start
    print("%.1f ms per step" % (1000 * elapsed / max(1, args.steps)), flush=True)
    tenth = max(1, len(losses) // 10)
    first_loss = sum(losses[:tenth]) / tenth
    last_loss = sum(losses[-tenth:]) / tenth
    print("first-loss %.4f last-loss %.4f" % (first_loss, last_loss))
    return first_loss, last_loss


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples", nargs="?",
                        help="JSONL of packed samples (pack ... | write FILE.jsonl)")
    parser.add_argument("--packed", metavar="PREFIX",
                        help="read pack ... | write-megatron PREFIX through corpusflow.torch")
    parser.add_argument("--pipeline", metavar="SPEC",
                        help="train from a live pipeline ending in pack (corpusflow.torch)")
    parser.add_argument("--vocab-size", type=int, default=0,
                        help="vocabulary size (default: the largest id + 1; required with "
                        "--pipeline)")
    parser.add_argument("--workers", type=int, default=0,
                        help="DataLoader workers with --packed or --pipeline")
    parser.add_argument("--threads", type=int, default=2, help="engine threads of --pipeline")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if torch is None:
        sys.exit("train_tiny_gpt.py needs PyTorch (Debian: apt-get install python3-torch)")
    if sum(x is not None for x in (args.samples, args.packed, args.pipeline)) != 1:
        sys.exit("give one of: a JSONL file of samples, --packed PREFIX, --pipeline SPEC")
    if args.d_model % args.heads != 0:
        sys.exit("--d-model must be a multiple of --heads")
    train(args)


if __name__ == "__main__":
    main()
