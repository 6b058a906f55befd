"""Sample orders that are pure functions of a seed: epoch permutations, rank shards, mixtures.

Everything here is stateless arithmetic on 64-bit integers (numpy only, no PyTorch), so that a
training job's data order depends only on its seed, the epoch and the position in the epoch,
never on the number of processes or loader workers, and so that the state needed to resume is a
handful of integers.

``Permutation(n, seed, epoch)`` is a pseudo-random bijection of [0, n): a keyed Feistel network
on the smallest even number of bits that holds n, with cycle walking (a value that lands at or
beyond n is encrypted again until it falls inside; at most a 4x larger domain, so about two
steps on average). It costs O(1) memory for any n and is evaluated for a whole array of positions
at once.

``shard_positions`` deals the global positions of an epoch to data-parallel ranks: rank r of W
gets positions r, r + W, r + 2W, ... (the union over ranks, interleaved, is the single-rank
order). The tail of an epoch whose size is not a multiple of W is either padded by wrapping to
the start of the epoch (``drop_last=False``, as torch's DistributedSampler pads) or dropped
(``drop_last=True``), so that every rank gets the same number of samples.

``MixturePicks`` decides which source each position of a weighted mixture reads from: a
counter-based hash of (seed, position) gives a uniform in [0, 1) that the weights' cumulative
distribution maps to a source. Positions are independent of each other, so the weights may
change between runs.

All functions are thread-safe (no shared mutable state).
"""

import numpy as np

__all__ = ["Permutation", "samples_per_rank", "shard_positions", "rank_positions", "MixturePicks",
           "mix64"]

_U64 = np.uint64
_M1 = _U64(0xFF51AFD7ED558CCD)
_M2 = _U64(0xC4CEB9FE1A85EC53)
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_S33 = _U64(33)
_ROUNDS = 6
_MAX_N = 1 << 62


def mix64(x):
    """MurmurHash3's 64-bit finalizer of a uint64 array (a bijection with full avalanche)."""
    # uint64 array arithmetic wraps modulo 2^64 without warnings (only scalars warn).
    x = np.asarray(x, dtype=_U64)
    x = x ^ (x >> _S33)
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


def _key(*parts):
    """One 64-bit key from non-negative integers (each mixed in turn)."""
    h = _U64(0x243F6A8885A308D3)
    for part in parts:
        part = int(part)
        if part < 0 or part >= 1 << 64:
            raise ValueError("seeds, epochs and positions must be in [0, 2^64), not %d" % part)
        h = mix64(np.array([h ^ _U64(part)], dtype=_U64)) + np.array([_GOLDEN], dtype=_U64)
        h = h[0]
    return _U64(h)


def _check_count(n, what):
    n = int(n)
    if n < 1 or n > _MAX_N:
        raise ValueError("%s must be in [1, 2^62], not %d" % (what, n))
    return n


class Permutation:
    """A pseudo-random bijection of [0, n) determined by (seed, epoch).

    ``perm(positions)`` maps an integer array of positions in [0, n) to the sample indices at
    those positions (an int64 array of the same shape); ``perm[i]`` maps one position. Different
    epochs (or seeds) give unrelated permutations. Immutable and thread-safe.
    """

    def __init__(self, n, seed, epoch=0):
        self.n = _check_count(n, "the number of samples")
        self.seed = int(seed)
        self.epoch = int(epoch)
        bits = max(2, (self.n - 1).bit_length())
        bits += bits & 1
        self._half = _U64(bits // 2)
        self._mask = _U64((1 << (bits // 2)) - 1)
        self._keys = [_key(self.seed, self.epoch, r) for r in range(_ROUNDS)]

    def _encrypt(self, x):
        left = x >> self._half
        right = x & self._mask
        for k in self._keys:
            left, right = right, left ^ (mix64(right ^ k) & self._mask)
        return (left << self._half) | right

    def __call__(self, positions):
        positions = np.asarray(positions)
        if positions.size and (positions.min() < 0 or positions.max() >= self.n):
            raise IndexError("positions must be in [0, %d)" % self.n)
        x = self._encrypt(positions.astype(_U64).reshape(-1))
        n = _U64(self.n)
        outside = np.nonzero(x >= n)[0]
        while outside.size:  # cycle walking: at most a 4x larger domain
            x[outside] = self._encrypt(x[outside])
            outside = outside[x[outside] >= n]
        return x.astype(np.int64).reshape(positions.shape)

    def __getitem__(self, position):
        return int(self(np.array([position], dtype=np.int64))[0])

    def __len__(self):
        return self.n


def samples_per_rank(n, world_size, drop_last=False):
    """How many samples each of `world_size` ranks gets from an epoch of `n` samples: n / W
    rounded up (the tail padded by wrapping) or down (``drop_last``)."""
    n = int(n)
    world_size = int(world_size)
    if world_size < 1:
        raise ValueError("world_size must be at least 1, not %d" % world_size)
    return n // world_size if drop_last else -(-n // world_size)


def shard_positions(n, rank, world_size, start, stop, drop_last=False):
    """The global positions of rank `rank`'s local positions [start, stop) in an epoch of `n`
    samples: ``(rank + j * world_size)``, wrapped modulo n past the end (only when padding).

    REQUIRES: 0 <= rank < world_size, 0 <= start <= stop <= samples_per_rank(n, W, drop_last).
    """
    if not 0 <= rank < world_size:
        raise ValueError("rank %d is not in [0, %d)" % (rank, world_size))
    limit = samples_per_rank(n, world_size, drop_last)
    if not 0 <= start <= stop <= limit:
        raise IndexError("rank positions [%d, %d) are not inside [0, %d)" % (start, stop, limit))
    return rank_positions(n, rank, world_size, np.arange(start, stop, dtype=np.int64), drop_last)


def rank_positions(n, rank, world_size, local, drop_last=False):
    """The global positions of rank `rank`'s local positions `local` (an int64 array, any order)
    in an epoch of `n` samples, as ``shard_positions`` deals them: one vectorized step for the
    positions of many batches at once.

    REQUIRES: 0 <= rank < world_size, every local position in
    [0, samples_per_rank(n, W, drop_last)) (not checked: callers derive them from that bound).
    """
    positions = rank + local * world_size
    return positions % n if not drop_last else positions


class MixturePicks:
    """The source of each position of a weighted mixture, from (seed, position) alone.

    ``picks(start, stop)`` is an int64 array: the source (0 .. len(weights) - 1) of each global
    position in [start, stop). Source s is picked with probability weights[s] / sum(weights),
    independently at every position. Weights must be finite, non-negative, and not all zero.
    """

    def __init__(self, weights, seed):
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 1 or weights.size == 0:
            raise ValueError("weights must be a non-empty list of numbers")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero: %r"
                             % (weights.tolist(),))
        self.weights = weights / weights.sum()
        self.seed = int(seed)
        cdf = np.cumsum(self.weights)
        cdf[-1] = 1.0
        # A source of weight 0 never matches: searchsorted(side="right") skips equal entries.
        self._cdf = cdf
        self._key = _key(self.seed, 0x6D6978)  # "mix"

    def uniforms(self, start, stop):
        """The uniform in [0, 1) of each position in [start, stop) (53 bits of a hash)."""
        positions = np.arange(int(start), int(stop), dtype=np.int64).astype(_U64)
        h = mix64(positions * _GOLDEN ^ self._key)
        return (h >> _U64(11)).astype(np.float64) * (1.0 / (1 << 53))

    def picks(self, start, stop):
        sources = np.searchsorted(self._cdf, self.uniforms(start, stop), side="right")
        return np.minimum(sources, len(self._cdf) - 1).astype(np.int64)
