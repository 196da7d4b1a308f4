"""The solve rule: one champion test per generation, as in the NEAT paper.

Of the genomes whose evaluation met the task's goal (`EvalResult.solved`), the fittest one `Task.verify` has not
judged before takes the test; when it passes, the run is solved. The NEAT reference code tests an unchecked
species' champion each generation: an elite copied unchanged would otherwise take the test every generation and
keep failing it, while the other candidates never get theirs. When every candidate was judged, the fittest is
tested again (a task's verify may draw new episodes). The judged genomes' content digests live in the run progress,
so a resumed run judges as the uninterrupted one does.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from evolve.evaluation import TaskSource, verify_genome
from evolve.run_progress import RunProgress
from evolve.strategy import Population
from genomes.atomic_io import json_bytes
from genomes.families import GenomeFamily
from genomes.streams import STREAM_VERIFY, generation_rng

log = logging.getLogger(__name__)


class ChampionTest:
    def __init__(self, source: TaskSource, family: GenomeFamily) -> None:
        self.source, self.family = source, family

    def check(
        self,
        progress: RunProgress,
        seed: int,
        generation: int,
        population: Population,
        documents: list[Any],
        results: list[dict[str, Any]],
    ) -> int | None:
        """Verify this generation's candidate; returns its index when it passes (the run is then solved)."""
        if progress.solved:
            return None
        candidates = sorted((i for i, r in enumerate(results) if r["solved"]),
                            key=lambda i: (-results[i]["fitness"], i))
        if not candidates:
            return None
        judged = set(progress.verified)
        best, digest = candidates[0], None
        for i in candidates:
            if (content := genome_digest(population.genomes[i])) not in judged:
                best, digest = i, content
                break
        if digest is not None:
            progress.verified.append(digest)
        rng_seed = int(generation_rng(seed, generation, STREAM_VERIFY).integers(2**31))
        verdict = verify_genome({"genome": documents[best], "task": self.source}, rng_seed)
        progress.verify_metrics = {"generation": generation, **verdict.metrics}
        if not verdict.solved:
            return None
        figures = self.family.describe(population.genomes[best])
        progress.solution = {"hidden_nodes": figures["hidden"], "enabled_connections": figures["connections"]}
        progress.solved, progress.solved_generation = True, generation
        progress.evaluations_to_solve = progress.evaluations
        log.info("solved at generation %d after %d evaluations", generation, progress.evaluations)
        return best


def genome_digest(genome: Any) -> str:
    """A short content hash of a genome's JSON document: equal genomes (an elite and its copy) share it."""
    return hashlib.blake2b(json_bytes(genome.shared_dict()), digest_size=12).hexdigest()
