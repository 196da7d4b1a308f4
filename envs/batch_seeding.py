"""numpy's seeded draws for many seeds at once: `uniform_per_seed(seeds, low, high, n)[i]` equals
`np.random.default_rng(seeds[i]).uniform(low, high, n)`, which is what Gymnasium's `reset(seed=...)` draws, and
`integers_per_seed(seeds, high, n)[i]` equals `np.random.default_rng(seeds[i]).integers(0, high, n)`, which is how
an episodic task draws its episodes' reset seeds from a genome's evaluation seed.

Building a Generator costs ~10 µs per seed (SeedSequence hashing, PCG64 seeding), which is most of a lock-step
reset of hundreds of episodes. Here the same three steps run as array operations over all the seeds: SeedSequence's
entropy pool and `generate_state` (32-bit hash mixing, numpy/random/bit_generator.pyx), PCG64's seeding and its
XSL-RR 128/64 output (two 64-bit limbs per 128-bit state), and `next_double`'s 53-bit mapping or the bounded
integers' Lemire method on 32-bit halves (low half first). Seeds outside [0, 2**32) take numpy's own path, as does a
row whose Lemire draw would be rejected (a few in 2**32).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_M32 = np.uint64(0xFFFFFFFF)
# SeedSequence constants (numpy/random/bit_generator.pyx)
_POOL_SIZE, _XSHIFT = 4, np.uint32(16)
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R = np.uint32(0xCA01F9DD), np.uint32(0x4973F715)
# PCG64's default 128-bit multiplier, as high and low limbs
_MULT_HI, _MULT_LO = np.uint64(0x2360ED051FC65DA4), np.uint64(0x4385DF649FCCF645)


def uniform_per_seed(seeds: Sequence[int] | np.ndarray, low: float, high: float, n: int) -> np.ndarray:
    """(len(seeds), n) draws; row i is `np.random.default_rng(seeds[i]).uniform(low, high, n)`."""
    seeds = np.asarray(seeds)
    if not len(seeds):
        return np.zeros((0, n))
    if seeds.dtype.kind not in "iu" or seeds.min() < 0 or seeds.max() >= 2**32:
        return np.stack([np.random.default_rng(int(s)).uniform(low, high, n) for s in seeds])
    with np.errstate(over="ignore"):
        hi, lo, inc_hi, inc_lo = _pcg64_seeded(_seed_sequence_state(seeds.astype(np.uint32)))
        doubles = np.empty((len(seeds), n))
        for k in range(n):
            hi, lo = _pcg64_step(hi, lo, inc_hi, inc_lo)
            doubles[:, k] = (_xsl_rr(hi, lo) >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    return low + (high - low) * doubles


def integers_per_seed(seeds: Sequence[int] | np.ndarray, high: int, n: int) -> np.ndarray:
    """(len(seeds), n) int64 draws; row i is `np.random.default_rng(seeds[i]).integers(0, high, n)`."""
    seeds = np.asarray(seeds)
    if not len(seeds):
        return np.zeros((0, n), dtype=np.int64)
    if seeds.dtype.kind not in "iu" or seeds.min() < 0 or seeds.max() >= 2**32 or not 2 <= high < 2**32:
        return np.stack([np.random.default_rng(int(s)).integers(0, high, n) for s in seeds])
    # numpy draws integers below 2**32 - 1 from 32-bit words: word * high, keeping the top half, unless the bottom
    # half falls under the threshold (then it draws again: those rows take numpy's own path)
    threshold = np.uint64((2**32 - high) % high)
    with np.errstate(over="ignore"):
        hi, lo, inc_hi, inc_lo = _pcg64_seeded(_seed_sequence_state(seeds.astype(np.uint32)))
        words = np.empty((len(seeds), n), dtype=np.uint64)
        for k in range(0, n, 2):
            hi, lo = _pcg64_step(hi, lo, inc_hi, inc_lo)
            output = _xsl_rr(hi, lo)
            words[:, k] = output & _M32
            if k + 1 < n:
                words[:, k + 1] = output >> np.uint64(32)
        products = words * np.uint64(high)
    draws = (products >> np.uint64(32)).astype(np.int64)
    for row in np.flatnonzero(((products & _M32) < threshold).any(axis=1)):
        draws[row] = np.random.default_rng(int(seeds[row])).integers(0, high, n)
    return draws


def _hashmix(value: np.ndarray, hash_const: list[int]) -> np.ndarray:
    value = value ^ np.uint32(hash_const[0])
    hash_const[0] = (hash_const[0] * _MULT_A) & 0xFFFFFFFF
    value = value * np.uint32(hash_const[0])
    return value ^ (value >> _XSHIFT)


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    result = _MIX_MULT_L * x - _MIX_MULT_R * y
    return result ^ (result >> _XSHIFT)


def _seed_sequence_state(words: np.ndarray) -> np.ndarray:
    """SeedSequence(seed).generate_state(4, np.uint64) for one-word seeds, as (4, seeds) uint64."""
    hash_const = [_INIT_A]
    zero = np.zeros_like(words)
    pool = [_hashmix(words if i == 0 else zero, hash_const) for i in range(_POOL_SIZE)]
    for i_src in range(_POOL_SIZE):
        for i_dst in range(_POOL_SIZE):
            if i_src != i_dst:
                pool[i_dst] = _mix(pool[i_dst], _hashmix(pool[i_src], hash_const))
    out, const = [], _INIT_B
    for i in range(8):
        value = pool[i % _POOL_SIZE] ^ np.uint32(const)
        const = (const * _MULT_B) & 0xFFFFFFFF
        value = value * np.uint32(const)
        out.append((value ^ (value >> _XSHIFT)).astype(np.uint64))
    return np.stack([out[2 * i] | (out[2 * i + 1] << np.uint64(32)) for i in range(4)])


def _mul_hi(a: np.ndarray, b: np.uint64) -> np.ndarray:
    """The high 64 bits of the 128-bit product a * b."""
    a0, a1, b0, b1 = a & _M32, a >> np.uint64(32), b & _M32, b >> np.uint64(32)
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> np.uint64(32)) + (p01 & _M32) + (p10 & _M32)
    return p11 + (p01 >> np.uint64(32)) + (p10 >> np.uint64(32)) + (mid >> np.uint64(32))


def _pcg64_step(hi: np.ndarray, lo: np.ndarray, inc_hi: np.ndarray, inc_lo: np.ndarray) -> tuple[np.ndarray, ...]:
    """state * multiplier + increment, modulo 2**128."""
    new_hi = hi * _MULT_LO + lo * _MULT_HI + _mul_hi(lo, _MULT_LO)
    new_lo = lo * _MULT_LO
    out_lo = new_lo + inc_lo
    return new_hi + inc_hi + (out_lo < new_lo).astype(np.uint64), out_lo


def _pcg64_seeded(words: np.ndarray) -> tuple[np.ndarray, ...]:
    """PCG64's state and increment after seeding with generate_state's four words (pcg_setseq_128_srandom_r)."""
    seed_hi, seed_lo, seq_hi, seq_lo = words
    inc_hi, inc_lo = (seq_hi << np.uint64(1)) | (seq_lo >> np.uint64(63)), (seq_lo << np.uint64(1)) | np.uint64(1)
    hi, lo = _pcg64_step(np.zeros_like(seed_hi), np.zeros_like(seed_lo), inc_hi, inc_lo)
    lo_sum = lo + seed_lo
    hi, lo = hi + seed_hi + (lo_sum < lo).astype(np.uint64), lo_sum
    hi, lo = _pcg64_step(hi, lo, inc_hi, inc_lo)
    return hi, lo, inc_hi, inc_lo


def _xsl_rr(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """PCG64's output: the halves xor-ed, rotated right by the top six bits."""
    x, rot = hi ^ lo, hi >> np.uint64(58)
    return (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))
