"""Seeds and random streams: every random draw of a run derives from its one seed through this module.

A stream is a purpose (breeding, speciation, ...); the generator of a stream in one generation is
`SeedSequence([seed, generation, stream])`, so serial, Ray, island and resumed runs draw the same numbers. The
other derivations (an evaluation's seed, an island's seed, a task's own sub-seeds) mix the seed with a fixed tag.
The numbers below are part of every recorded trajectory: changing one changes every run.
"""

from __future__ import annotations

import numpy as np

# Per-generation streams of a strategy: generation_rng(seed, generation, STREAM_...).
STREAM_INIT = 0  # the first population (drawn once: SeedSequence([seed, STREAM_INIT]))
STREAM_BREED = 1
STREAM_VERIFY = 2
STREAM_SPECIATE = 3
STREAM_MIGRATE = 4

# Tags of the other derivations: derived_seed(seed, TAG_...).
TAG_EVALUATION = 1000  # mixed with the generation, then with each genome id
TAG_ISLAND = 7907  # mixed with the island index
TAG_FINAL_TRAINING = 7  # a supervised search's final retraining and baselines
TAG_TUNE_TRAIN = 11  # the training seed of a tuning study's train objective
TAG_NESTED_TUNING = 31  # a candidate's nested hyperparameter study


def generation_rng(seed: int, generation: int, stream: int) -> np.random.Generator:
    """The generator for one purpose (stream) in one generation, derived from the run seed alone."""
    return np.random.default_rng(np.random.SeedSequence([seed, generation, stream]))


def init_rng(seed: int) -> np.random.Generator:
    """The generator that draws a strategy's first population."""
    return np.random.default_rng(np.random.SeedSequence([seed, STREAM_INIT]))


def derived_word(seed: int, tag: int, *more: int) -> int:
    """A 32-bit word derived from the seed and a tag (and further integers, such as an index)."""
    return int(np.random.SeedSequence([seed, tag, *more]).generate_state(1)[0])


def derived_seed(seed: int, tag: int, *more: int) -> int:
    """A 31-bit seed derived from the seed and a tag: valid for every consumer (torch, Gymnasium, ale-py)."""
    return derived_word(seed, tag, *more) >> 1


def island_seed(run_seed: int, index: int) -> int:
    """The seed that drives island `index` of an island run."""
    return derived_seed(run_seed, TAG_ISLAND, index)


def evaluation_seeds(seed: int, generation: int, genome_ids: list[int]) -> list[int]:
    """The seed of each genome's evaluation: a function of the seed, the generation and the genome id, never of the
    worker or of the genome's position in a chunk. One SeedSequence per generation, mixed with each id by the
    splitmix64 finalizer (vectorized: a SeedSequence per genome costs more than evaluating XOR)."""
    base = np.uint64(np.random.SeedSequence([seed, TAG_EVALUATION, generation]).generate_state(1, np.uint64)[0])
    with np.errstate(over="ignore"):
        z = base + np.asarray(genome_ids, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(33)).astype(np.int64).tolist()  # 31-bit seeds, valid for every consumer


def evaluation_seed(seed: int, generation: int, genome_id: int) -> int:
    return evaluation_seeds(seed, generation, [genome_id])[0]
