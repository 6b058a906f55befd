"""Tests of python/corpusflow/order.py, the stateless orders behind corpusflow.torch (numpy only):
the epoch permutation is a bijection of [0, N) for many N, depends on the seed and the epoch and
on nothing else, is uniform over seeds within binomial bounds; rank shards interleave into the
single-rank order; mixture picks follow the weights within binomial bounds at p < 1e-6.

Run by ctest, which puts the build tree's python/ and the source tree's python/ on PYTHONPATH.
"""

import math
import os
import subprocess
import sys

import numpy as np

from corpusflow.order import (MixturePicks, Permutation, rank_positions, samples_per_rank,
                              shard_positions)


def fail(message):
    sys.exit("FAILED: " + message)


def z_for(p_two_sided):
    """The z with P(|N(0,1)| > z) = p (bisection on erfc)."""
    lo, hi = 0.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if math.erfc(mid / math.sqrt(2)) > p_two_sided:
            lo = mid
        else:
            hi = mid
    return hi


def check_binomial(count, n, p, what, z):
    bound = z * math.sqrt(n * p * (1 - p))
    if abs(count - n * p) > bound:
        fail("%s: %d of %d, expected %.1f +- %.1f" % (what, count, n, n * p, bound))


def check_bijection():
    sizes = [1, 2, 3, 4, 5, 7, 97, 101, 1009, 65521, 1000, 4095, 100003]
    sizes += [1 << k for k in range(1, 17)] + [(1 << k) + 1 for k in range(1, 17)]
    for n in sizes:
        for seed, epoch in ((0, 0), (7, 3)):
            values = Permutation(n, seed, epoch)(np.arange(n))
            if not np.array_equal(np.sort(values), np.arange(n)):
                fail("Permutation(%d, %d, %d) is not a bijection of [0, n)" % (n, seed, epoch))
    # Large N: spot positions fall inside and are distinct.
    n = (1 << 40) + 12345
    values = Permutation(n, 1, 0)(np.arange(0, n, n // 5000))
    if values.min() < 0 or values.max() >= n or len(np.unique(values)) != len(values):
        fail("Permutation(2^40 + 12345) leaves its range or collides")
    for bad in (0, -1):
        try:
            Permutation(bad, 1, 0)
        except ValueError:
            pass
        else:
            fail("Permutation(%d) should be refused" % bad)
    try:
        Permutation(10, 1, 0)(np.array([10]))
    except IndexError:
        pass
    else:
        fail("a position outside [0, n) should raise IndexError")
    print("ok: bijection for %d sizes (1, 2, primes, powers of two and neighbours)" % len(sizes))


def check_seed_and_epoch():
    n = 1000
    base = Permutation(n, 5, 0)(np.arange(n))
    if not np.array_equal(base, Permutation(n, 5, 0)(np.arange(n))):
        fail("the same (seed, epoch) gave two orders")
    # Positions evaluated one by one, in any order, agree with the vectorized call.
    p = Permutation(n, 5, 0)
    if [p[i] for i in range(n - 1, -1, -1)] != base[::-1].tolist():
        fail("perm[i] disagrees with perm(array)")
    others = [Permutation(n, 5, 1)(np.arange(n)), Permutation(n, 5, 2)(np.arange(n)),
              Permutation(n, 6, 0)(np.arange(n))]
    for other in others:
        # Two independent permutations of 1000 agree on about one position.
        if np.count_nonzero(other == base) > 10:
            fail("another epoch or seed gives nearly the same order")
    if np.count_nonzero(base == np.arange(n)) > 10:
        fail("the permutation leaves most positions in place")
    # The same seed and epoch in a new process: no hidden state (hash randomization included).
    code = ("import numpy as np; from corpusflow.order import Permutation; "
            "print(Permutation(1000, 5, 0)(np.arange(1000)).tolist())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONHASHSEED="123"), check=True).stdout
    if out.strip() != str(base.tolist()):
        fail("another process computes another order for the same seed and epoch")
    # Pinned values: a change of the algorithm would silently change every saved run's order.
    if Permutation(10, 1, 0)(np.arange(10)).tolist() != [7, 9, 0, 2, 8, 1, 5, 3, 6, 4]:
        fail("Permutation(10, 1, 0) changed: %r" % Permutation(10, 1, 0)(np.arange(10)).tolist())
    print("ok: the order is a function of (seed, epoch); epochs and seeds differ")


def check_uniform_over_seeds():
    """P(perm(position) = k) = 1/n for every position and k, over seeds: each of n*n cells is
    binomial(seeds, 1/n); bounds at p < 1e-6 over all cells together."""
    n, seeds = 6, 12000
    counts = np.zeros((n, n), dtype=np.int64)
    for seed in range(seeds):
        counts[np.arange(n), Permutation(n, seed, 0)(np.arange(n))] += 1
    z = z_for(1e-6 / (n * n))
    for position in range(n):
        for k in range(n):
            check_binomial(int(counts[position, k]), seeds, 1 / n,
                           "seeds where position %d holds %d" % (position, k), z)
    print("ok: every position is uniform over seeds (z = %.2f)" % z)


def check_shards():
    n = 103
    for world in (1, 2, 4, 5):
        for drop_last in (False, True):
            per = samples_per_rank(n, world, drop_last)
            shards = [shard_positions(n, r, world, 0, per, drop_last) for r in range(world)]
            interleaved = np.stack(shards, axis=1).reshape(-1)
            kept = (n // world) * world if drop_last else n
            if not np.array_equal(interleaved[:kept], np.arange(kept)):
                fail("W=%d: the ranks' positions do not interleave into 0 .. n-1" % world)
            tail = interleaved[kept:]
            if drop_last and tail.size:
                fail("W=%d drop_last: a rank got a position past the last full row" % world)
            if not drop_last and not np.array_equal(tail, np.arange(tail.size)):
                fail("W=%d: the tail is not padded by wrapping to the start: %r" % (world, tail))
    # A range of a rank's positions: the same as the slice of the whole.
    whole = shard_positions(n, 2, 4, 0, 26)
    if not np.array_equal(shard_positions(n, 2, 4, 7, 19), whole[7:19]):
        fail("shard_positions(start, stop) is not a slice of the whole shard")
    # Any local positions at once: those of the whole shard at the same places.
    local = np.array([24, 0, 7, 7, 19, 3], dtype=np.int64)
    for drop_last in (False, True):
        whole = shard_positions(n, 3, 4, 0, samples_per_rank(n, 4, drop_last), drop_last)
        if not np.array_equal(rank_positions(n, 3, 4, local, drop_last), whole[local]):
            fail("rank_positions is not the whole shard at the local positions (drop_last %r)"
                 % drop_last)
    print("ok: rank shards interleave into the single-rank order, tail wrapped or dropped")


def check_mixture_picks():
    weights = [0.5, 0.3, 0.15, 0.05, 0.0]
    n = 400000
    picks = MixturePicks(weights, 11).picks(0, n)
    counts = np.bincount(picks, minlength=len(weights))
    z = z_for(1e-6)
    if abs(z - 4.89) > 0.01:
        fail("z for 1e-6 two-sided is %.3f, not 4.89" % z)
    for s, w in enumerate(weights):
        check_binomial(int(counts[s]), n, w, "picks of source %d (weight %g)" % (s, w), z)
    # Pairs of consecutive positions are independent: P(s then t) = w_s w_t.
    pairs = np.bincount(picks[:-1] * 5 + picks[1:], minlength=25)
    zpairs = z_for(1e-6 / 16)
    for s in range(4):
        for t in range(4):
            check_binomial(int(pairs[s * 5 + t]), n - 1, weights[s] * weights[t],
                           "pairs %d then %d" % (s, t), zpairs)
    # Any range is a slice of the whole; another seed gives another sequence.
    if not np.array_equal(MixturePicks(weights, 11).picks(1234, 5678), picks[1234:5678]):
        fail("picks(start, stop) is not a slice of picks(0, n)")
    if np.mean(MixturePicks(weights, 12).picks(0, 10000) == picks[:10000]) > 0.5:
        fail("seed 12 picks nearly like seed 11")
    # Unnormalized weights mean the same; bad weights are refused.
    if not np.array_equal(MixturePicks([10, 6, 3, 1, 0], 11).picks(0, 1000), picks[:1000]):
        fail("weights 10:6:3:1 should pick like 0.5:0.3:0.15:0.05")
    for bad in ([], [0, 0], [1, -1], [1, float("nan")]):
        try:
            MixturePicks(bad, 1)
        except ValueError:
            pass
        else:
            fail("weights %r should be refused" % (bad,))
    print("ok: mixture picks within binomial bounds at p < 1e-6 (z = %.2f)" % z)


def main():
    check_bijection()
    check_seed_and_epoch()
    check_uniform_over_seeds()
    check_shards()
    check_mixture_picks()


if __name__ == "__main__":
    main()
