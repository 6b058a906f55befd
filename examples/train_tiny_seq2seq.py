#!/usr/bin/env python3
"""Train a tiny encoder-decoder Transformer on corpusflow's Megatron output.

This is the last step of the path from raw text to a training step: a pipeline ending in
``write-megatron out/train --fields src_ids,tgt_ids`` writes two aligned datasets, and this
script reads them through ``python/corpusflow_data.py`` (numpy memory maps, a PyTorch
``Dataset`` padding/truncating to fixed lengths) and trains a small ``torch.nn.Transformer`` for
a few steps, on CUDA when a GPU is present and on CPU otherwise, printing the loss:

    corpusflow run 'read pairs.jsonl --field src --field tgt
        | tokenize --kind wordpiece --vocab vocab.txt --field src --output src_ids
        | tokenize --kind wordpiece --vocab vocab.txt --field tgt --output tgt_ids
        | write-megatron out/train --fields src_ids,tgt_ids'
    python3 examples/train_tiny_seq2seq.py out/train

The model is deliberately small (it is a demonstration of the data path, not of modelling): the
defaults (150 steps of 8 pairs, 128 source and 48 target tokens, d_model 64) take about a minute
on two CPU cores with a 20,000-token vocabulary; on a GPU raise --steps, the lengths and the
model size (T5 PEGASUS trains on 512/128-token pairs). The decoder input is the target shifted
right behind --decoder-start-id (default: the pad id, as T5 and T5 PEGASUS do; a BERT-layout
vocabulary's [CLS] is 101).
The last line printed is ``first-loss A last-loss B``: the mean training loss over the first
and the last tenth of the steps.

With --packed the prefix holds fixed-shape pairs from ``pack --mode pad`` (``src_ids``,
``src_mask``, ``tgt_ids``, ``tgt_mask``, all written by write-megatron) and they are read through
corpusflow.torch (python/corpusflow/torch.py) in an order that is a function of --seed and the
epoch; with --pipeline SPEC the pairs come from a live pipeline ending in ``pack --mode pad``,
without any file in between (needs corpusflow's native module and --vocab-size):

    corpusflow run 'read pairs.jsonl | pseudo-summary | tokenize ... --field src --output src_ids
        | tokenize ... --field tgt --output tgt_ids | pack --mode pad --src-length 128
        --tgt-length 48 | write-megatron out/pairs'
    python3 examples/train_tiny_seq2seq.py out/pairs --packed
    python3 examples/train_tiny_seq2seq.py --vocab-size 21128 --pipeline 'read pairs.jsonl | ...'
"""

import argparse
import itertools
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn

# Appended, so that a corpusflow on PYTHONPATH (the build tree's, with the native module) wins.
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

from corpusflow_data import IndexedDataset, Seq2SeqDataset, dataset_prefix  # noqa: E402


class TinySeq2Seq(nn.Module):
    """Shared token embeddings, learned positions, nn.Transformer, a vocabulary projection."""

    def __init__(self, vocab_size, src_len, tgt_len, d_model, heads, layers):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.src_positions = nn.Embedding(src_len, d_model)
        self.tgt_positions = nn.Embedding(tgt_len, d_model)
        self.transformer = nn.Transformer(
            d_model=d_model, nhead=heads, num_encoder_layers=layers, num_decoder_layers=layers,
            dim_feedforward=4 * d_model, dropout=0.0, batch_first=True)
        self.project = nn.Linear(d_model, vocab_size)
        causal = torch.triu(torch.full((tgt_len, tgt_len), float("-inf")), diagonal=1)
        self.register_buffer("causal_mask", causal, persistent=False)

    def forward(self, input_ids, src_padding, decoder_input_ids, tgt_padding):
        src_pos = torch.arange(input_ids.shape[1], device=input_ids.device)
        tgt_pos = torch.arange(decoder_input_ids.shape[1], device=input_ids.device)
        src = self.embed(input_ids) + self.src_positions(src_pos)
        tgt = self.embed(decoder_input_ids) + self.tgt_positions(tgt_pos)
        t = decoder_input_ids.shape[1]
        hidden = self.transformer(
            src, tgt, tgt_mask=self.causal_mask[:t, :t], src_key_padding_mask=src_padding,
            tgt_key_padding_mask=tgt_padding, memory_key_padding_mask=src_padding)
        return self.project(hidden)


def padding_masks(batch, device):
    """Key-padding masks (True = ignore). Position 0 is always attended so that an empty
    sequence never leaves a row with nothing to attend to."""
    src_padding = batch["attention_mask"] == 0
    tgt_padding = batch["decoder_attention_mask"] == 0
    src_padding[:, 0] = False
    tgt_padding[:, 0] = False
    return src_padding.to(device), tgt_padding.to(device)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("prefix", nargs="?",
                   help="the PREFIX given to write-megatron (e.g. out/train)")
    p.add_argument("--packed", action="store_true",
                   help="PREFIX holds pack --mode pad pairs: read them through corpusflow.torch")
    p.add_argument("--pipeline", metavar="SPEC",
                   help="train from a live pipeline ending in pack --mode pad (corpusflow.torch)")
    p.add_argument("--workers", type=int, default=0,
                   help="DataLoader workers with --packed or --pipeline")
    p.add_argument("--src-field", default="src_ids")
    p.add_argument("--tgt-field", default="tgt_ids")
    p.add_argument("--level", default="document", choices=["document", "sentence"])
    p.add_argument("--src-len", type=int, default=128, help="source length (pad/truncate)")
    p.add_argument("--tgt-len", type=int, default=48, help="target length (pad/truncate)")
    p.add_argument("--pad-id", type=int, default=0,
                   help="padding id ([PAD] is 0 in BERT vocabularies)")
    p.add_argument("--decoder-start-id", type=int, default=None,
                   help="the id the decoder input starts with (default: --pad-id, as T5 does)")
    p.add_argument("--vocab-size", type=int, default=0,
                   help="vocabulary size (default: the largest id in the data + 1)")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda")
    p.add_argument("--log-every", type=int, default=20)
    return p.parse_args(argv)


def make_pairs(args, src, tgt):
    """The training pairs of datasets `src` and `tgt`, as the command line asks."""
    return Seq2SeqDataset(src, tgt, src_len=args.src_len, tgt_len=args.tgt_len,
                          pad_id=args.pad_id, decoder_start_id=args.decoder_start_id)


def padded_pairs(batch, pad_id, decoder_start_id, label_pad_id=-100):
    """The model's inputs from a batch of pack --mode pad pairs (src_ids, src_mask, tgt_ids,
    tgt_mask, each (B, L)), as Seq2SeqDataset makes them: labels are the target with
    label_pad_id on padding, the decoder input the target shifted right behind the start id."""
    tgt, tgt_mask = batch["tgt_ids"], batch["tgt_mask"]
    decoder_input_ids = torch.full_like(tgt, pad_id)
    decoder_input_ids[:, 0] = decoder_start_id
    decoder_input_ids[:, 1:] = torch.where(tgt_mask[:, :-1] == 1, tgt[:, :-1],
                                           torch.full_like(tgt[:, :-1], pad_id))
    return {"input_ids": batch["src_ids"], "attention_mask": batch["src_mask"],
            "decoder_input_ids": decoder_input_ids, "decoder_attention_mask": tgt_mask,
            "labels": torch.where(tgt_mask == 1, tgt, torch.full_like(tgt, label_pad_id))}


def megatron_batches(args):
    """Pairs of write-megatron's src/tgt datasets through Seq2SeqDataset: the vocabulary size,
    the source and target lengths and an endless iterator of batches."""
    src = IndexedDataset(dataset_prefix(args.prefix, args.src_field, args.level))
    tgt = IndexedDataset(dataset_prefix(args.prefix, args.tgt_field, args.level))
    vocab_size = args.vocab_size or max(src.max_token_id(), tgt.max_token_id(), args.pad_id) + 1
    pairs = make_pairs(args, src, tgt)
    if len(pairs) == 0:
        sys.exit("no training pairs in %s" % args.prefix)
    description = ("%d pairs, %s/%s tokens, vocabulary %d, decoder start %d"
                   % (len(pairs), src.dtype.name, tgt.dtype.name, vocab_size,
                      pairs.decoder_start_id))
    generator = torch.Generator()
    generator.manual_seed(args.seed)
    loader = torch.utils.data.DataLoader(pairs, batch_size=args.batch_size, shuffle=True,
                                         generator=generator,
                                         drop_last=len(pairs) > args.batch_size)

    def epochs():
        while True:
            yield from loader
    return description, vocab_size, args.src_len, args.tgt_len, epochs()


def corpusflow_batches(args, device):
    """Pairs of pack --mode pad through corpusflow.torch (--packed or --pipeline): the
    vocabulary size, the source and target lengths and an endless iterator of batches."""
    from corpusflow.torch import Loader, PackedDataset, PipelineDataset
    fields = ["src_ids", "src_mask", "tgt_ids", "tgt_mask"]
    if args.packed:
        dataset = PackedDataset(args.prefix, seed=args.seed, batch_size=args.batch_size,
                                fields=fields)
        largest = max(IndexedDataset(dataset_prefix(args.prefix, f)).max_token_id()
                      for f in ("src_ids", "tgt_ids"))
        vocab_size = args.vocab_size or max(largest, args.pad_id) + 1
        source = "%d packed pairs in %s" % (dataset.samples, args.prefix)
    else:
        if not args.vocab_size:
            sys.exit("--pipeline needs --vocab-size (the stream's largest id is not known ahead)")
        dataset = PipelineDataset(args.pipeline, fields=fields, batch_size=args.batch_size)
        vocab_size = args.vocab_size
        source = "a live pipeline"
    start = args.pad_id if args.decoder_start_id is None else args.decoder_start_id
    loader = Loader(dataset, num_workers=args.workers, pin_memory=device.type == "cuda")

    def epochs():
        while True:
            for batch in loader:
                yield padded_pairs(batch, args.pad_id, start)
    batches = epochs()
    first = next(batches)
    src_len, tgt_len = first["input_ids"].shape[1], first["labels"].shape[1]
    description = ("%s, %d/%d ids, vocabulary %d, decoder start %d"
                   % (source, src_len, tgt_len, vocab_size, start))
    return description, vocab_size, src_len, tgt_len, itertools.chain([first], batches)


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    if (args.prefix is None) == (args.pipeline is None):
        sys.exit("give a write-megatron PREFIX (with --packed for pack --mode pad pairs) "
                 "or --pipeline SPEC")
    if args.packed or args.pipeline:
        description, vocab_size, src_len, tgt_len, batches = corpusflow_batches(args, device)
    else:
        description, vocab_size, src_len, tgt_len, batches = megatron_batches(args)
    print("data: %s, device %s" % (description, device), flush=True)
    model = TinySeq2Seq(vocab_size, src_len, tgt_len, args.d_model, args.heads,
                        args.layers).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)

    losses = []
    start = time.time()
    for step in range(1, args.steps + 1):
        batch = next(batches)
        src_padding, tgt_padding = padding_masks(batch, device)
        logits = model(batch["input_ids"].to(device, non_blocking=True), src_padding,
                       batch["decoder_input_ids"].to(device, non_blocking=True), tgt_padding)
        labels = batch["labels"].to(device, non_blocking=True)
        loss = loss_fn(logits.reshape(-1, vocab_size), labels.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % args.log_every == 0 or step == 1:
            print("step %d loss %.4f (%.1fs)" % (step, losses[-1], time.time() - start),
                  flush=True)
    print("%.1f ms per step" % (1000 * (time.time() - start) / max(1, args.steps)), flush=True)
    tenth = max(1, len(losses) // 10)
    first, last = float(np.mean(losses[:tenth])), float(np.mean(losses[-tenth:]))
    if not (math.isfinite(first) and math.isfinite(last)):
        sys.exit("the loss is not finite")
    print("first-loss %.4f last-loss %.4f" % (first, last), flush=True)


if __name__ == "__main__":
    main()
