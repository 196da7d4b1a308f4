"""The module-level evaluation function shipped to executors: (payload, seed) -> EvalResult as a dict.

A payload is {"genome": genome document, "task": {"id": env id, "kwargs": {...}}}. Tasks are built once per
process and reused, so expensive environments stay alive between evaluations. An in-process executor may pass the
run's genome objects in place of their documents (they are immutable), which saves a JSON round trip per genome.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

import numpy as np

from envs.registry import make
from envs.task import EvalResult, Task
from genomes.families import load_document


@lru_cache(maxsize=8)
def _task(spec_json: str) -> Task:
    spec = json.loads(spec_json)
    return make(spec["id"], **spec["kwargs"])


def task_for(spec: dict[str, Any]) -> Task:
    return _task(json.dumps(spec, sort_keys=True))


def evaluate_chunk(payload: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    """Evaluate a chunk {"task": spec, "genomes": [documents], "seeds": [ints]}; one result dict per genome.

    Tasks with `evaluate_batch` score the chunk at once; others get one compiled phenotype per genome. `seed` (the
    chunk's) is unused: every genome carries its own.
    """
    task = task_for(payload["task"])
    genomes = [_genome(doc) for doc in payload["genomes"]]
    seeds = payload["seeds"]
    if hasattr(task, "evaluate_batch"):
        results = task.evaluate_batch(genomes, seeds)
    else:
        results = [task.evaluate(g.phenotype(), np.random.default_rng(s)) for g, s in zip(genomes, seeds)]
    for result in results:
        if not math.isfinite(result.fitness):
            raise ValueError(f"task {payload['task']['id']!r} returned a non-finite fitness {result.fitness}")
    return [r.to_dict() for r in results]


def verify_genome(payload: dict[str, Any], seed: int) -> EvalResult:
    task = task_for(payload["task"])
    network = _genome(payload["genome"]).phenotype()
    return task.verify(network, np.random.default_rng(seed))


def _genome(document: Any) -> Any:
    """A payload's genome: its document loaded (the run's own, so trusted), or the genome object itself."""
    return load_document(document, validate=False) if isinstance(document, dict) else document


def evaluation_seeds(run_seed: int, generation: int, genome_ids: list[int]) -> list[int]:
    """The seed of each genome's evaluation: a function of the run seed, the generation and the genome id, never
    of the worker or of the genome's position in a chunk. One SeedSequence per generation, mixed with each id by
    the splitmix64 finalizer (vectorized: a SeedSequence per genome costs more than evaluating XOR)."""
    base = np.uint64(np.random.SeedSequence([run_seed, 1000, generation]).generate_state(1, np.uint64)[0])
    with np.errstate(over="ignore"):
        z = base + np.asarray(genome_ids, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(33)).astype(np.int64).tolist()  # 31-bit seeds, valid for every consumer


def evaluation_seed(run_seed: int, generation: int, genome_id: int) -> int:
    return evaluation_seeds(run_seed, generation, [genome_id])[0]
