"""Batched population evaluation versus a per-genome loop, on the same genomes and the same inputs.

    python benchmarks/batch_eval.py --population 1000 [--steps 100] [--batch 8] [--recurrent] [--device cpu|cuda]
                                    [--dtype float64|float32] [--json]

The workload is a control task's: `steps` time steps, each feeding every genome `batch` fresh input rows (its
episodes). The per-genome loop compiles each genome's numpy phenotype once and calls it every step, as
genome-by-genome evaluation does; the batched side packs the population once (PopulationNetwork) and makes one
call per step for all genomes. Both times include compiling/packing. The genomes are grown by real NEAT mutation
sequences (5-40 structural steps each). Outputs are checked to agree to 1e-6 (float64). With --json the last line
is one JSON object with `speedup` (per-genome seconds / batched seconds).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genomes.base import MutationContext  # noqa: E402
from genomes.innovation import InnovationTracker  # noqa: E402
from genomes.neat_config import NeatGenomeConfig  # noqa: E402
from genomes.neat_genome import NeatGenome  # noqa: E402
from genomes.population_network import PopulationNetwork, resolve_device  # noqa: E402

NUM_INPUTS, NUM_OUTPUTS = 8, 4


def grown_population(size: int, recurrent: bool, seed: int) -> list[NeatGenome]:
    config = NeatGenomeConfig(
        num_inputs=NUM_INPUTS, num_outputs=NUM_OUTPUTS, feed_forward=not recurrent, node_add_prob=0.3,
        conn_add_prob=0.6, activation_options=["tanh", "sigmoid", "relu"], activation_mutate_rate=0.1,
    )
    rng = np.random.default_rng(seed)
    ctx = MutationContext(config, InnovationTracker())
    population = []
    for _ in range(size):
        genome = NeatGenome.initial(config, rng, ctx)
        for _ in range(int(rng.integers(5, 41))):
            genome = genome.mutate(rng, ctx)
        population.append(genome)
    return population


def per_genome(genomes: list[NeatGenome], inputs: np.ndarray) -> tuple[float, np.ndarray]:
    """inputs (steps, population, batch, n_in) -> seconds, outputs (steps, population, batch, n_out)."""
    out = np.empty((*inputs.shape[:3], NUM_OUTPUTS))
    started = time.perf_counter()
    for p, genome in enumerate(genomes):
        network = genome.phenotype()
        for t in range(len(inputs)):
            out[t, p] = network.activate(inputs[t, p])
    return time.perf_counter() - started, out


def batched(genomes: list[NeatGenome], inputs: np.ndarray, device: str, dtype: torch.dtype,
            backend: str = "auto") -> tuple[float, np.ndarray]:
    x = torch.as_tensor(inputs, dtype=dtype, device=device)  # inputs already on the device, as in a GPU task
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    network = PopulationNetwork(genomes, device=device, dtype=dtype, backend=backend)
    outs = [network.activate_tensor(x[t]) for t in range(len(inputs))]
    result = torch.stack(outs)
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started, result.cpu().double().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=8, help="input rows per genome and step (episodes)")
    parser.add_argument("--recurrent", action="store_true")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--backend", default="auto", choices=["auto", "torch"],
                        help="auto: numpy for float64 on the CPU, torch otherwise; torch: always torch")
    parser.add_argument("--skip-loop", action="store_true", help="time the batched side only (large populations)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    device, dtype = str(resolve_device(args.device)), getattr(torch, args.dtype)
    genomes = grown_population(args.population, args.recurrent, args.seed)
    inputs = np.random.default_rng(args.seed + 1).normal(size=(args.steps, args.population, args.batch, NUM_INPUTS))
    batched(genomes[:8], inputs[:2, :8], device, dtype, args.backend)  # warm-up: kernels, allocator
    batch_seconds, batch_out = batched(genomes, inputs, device, dtype, args.backend)
    result = {
        "population": args.population, "steps": args.steps, "batch": args.batch, "recurrent": args.recurrent,
        "device": device, "dtype": args.dtype, "backend": args.backend, "batched_seconds": batch_seconds,
        "batched_genome_steps_per_s": args.population * args.steps / batch_seconds,
        "mean_hidden_nodes": float(np.mean([len(g.hidden_keys) for g in genomes])),
        "mean_enabled_connections": float(np.mean([g.num_enabled() for g in genomes])),
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads",
    }
    if not args.skip_loop:
        loop_seconds, loop_out = per_genome(genomes, inputs)
        tolerance = 1e-6 if args.dtype == "float64" else 1e-3
        np.testing.assert_allclose(batch_out, loop_out, rtol=tolerance, atol=tolerance)
        result.update(per_genome_seconds=loop_seconds, speedup=loop_seconds / batch_seconds)
    print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()),
          file=sys.stderr)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
