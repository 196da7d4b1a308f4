"""neat-python on XOR or CartPole-v1, as a neat-python user writes it: standalone, importing neat-python, numpy and
(for CartPole) Gymnasium, never this engine.

    python benchmarks/neat_python_run.py CONFIG.ini xor|cartpole --seed N --generations CAP

Prints one JSON object: solved, evaluations (every genome evaluated up to and including the solving generation),
and the in-run wall and CPU seconds (population built to last generation, imports excluded). `vs_neat_python.py`
imports the same functions to run neat-python in its own process; `end_to_end.py` runs this file as a whole
process against `evolve run`. The INI text comes from `neat_python_ini` (our TOML values, parameter for parameter).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import neat
import numpy as np

CARTPOLE_EPISODES, CARTPOLE_SOLVE = 5, 475.0
XOR_INPUTS = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
XOR_TARGETS = [0.0, 1.0, 1.0, 0.0]

NEAT_PYTHON_INI = """
[NEAT]
pop_size = {pop_size}
fitness_criterion = max
fitness_threshold = 1e30
no_fitness_termination = True
reset_on_extinction = False

[DefaultGenome]
num_inputs = {inputs}
num_outputs = {outputs}
num_hidden = 0
feed_forward = True
initial_connection = full_direct
compatibility_disjoint_coefficient = {c_disjoint}
compatibility_weight_coefficient = {c_weight}
conn_add_prob = {conn_add}
conn_delete_prob = 0.0
node_add_prob = {node_add}
node_delete_prob = 0.0
activation_default = {activation}
activation_options = {activation}
activation_mutate_rate = 0.0
aggregation_default = sum
aggregation_options = sum
aggregation_mutate_rate = 0.0
{float_genes}
enabled_default = True
# ours flips enabled with probability p; neat-python re-draws it at random with its rate, so 2p flips p
enabled_mutate_rate = {enabled_rate}

[DefaultSpeciesSet]
compatibility_threshold = {threshold}

[DefaultStagnation]
species_fitness_func = max
max_stagnation = {max_stagnation}
species_elitism = {species_elitism}

[DefaultReproduction]
elitism = {elitism}
survival_threshold = {survival}
min_species_size = {min_species_size}
"""


class Solved(Exception):
    """Raised by a neat-python fitness function after a generation in which some genome solved the task."""


def _steep_sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, 4.9 * z))))


def _plain_tanh(z: float) -> float:
    return math.tanh(z)


NEAT_PYTHON_ACTIVATIONS = {"steep_sigmoid": "steep_sigmoid", "tanh": "plain_tanh"}


def neat_python_config(ini_path: str) -> neat.Config:
    """neat-python's config from an INI file written from `NEAT_PYTHON_INI`, with our two activations."""
    config = neat.Config(neat.DefaultGenome, neat.DefaultReproduction, neat.DefaultSpeciesSet,
                         neat.DefaultStagnation, ini_path)
    config.genome_config.add_activation("steep_sigmoid", _steep_sigmoid)
    config.genome_config.add_activation("plain_tanh", _plain_tanh)
    return config


def episode_seeds(seed: int, generation: int, genome_id: int) -> np.ndarray:
    """Each genome's CartPole episode seeds, from the run seed, generation and genome id."""
    return np.random.default_rng((seed, generation, genome_id)).integers(0, 2**31 - 1, size=CARTPOLE_EPISODES)


def neat_python_run(task: str, config: neat.Config, seed: int, cap: int, env=None) -> dict:
    """One neat-python run until a genome solves the task or `cap` generations pass."""
    counter = {"evaluations": 0, "evaluations_to_solve": None, "generation": 0}

    def eval_xor(genomes, cfg):
        solved = False
        for _, genome in genomes:
            net = neat.nn.FeedForwardNetwork.create(genome, cfg)
            errors = [abs(net.activate(x)[0] - t) for x, t in zip(XOR_INPUTS, XOR_TARGETS)]
            genome.fitness = (4.0 - sum(errors)) ** 2
            solved = solved or all(e < 0.5 for e in errors)
        finish(genomes, solved)

    def eval_cartpole(genomes, cfg):
        solved = False
        for gid, genome in genomes:
            net = neat.nn.FeedForwardNetwork.create(genome, cfg)
            returns = []
            for episode_seed in episode_seeds(seed, counter["generation"], gid):
                obs, _ = env.reset(seed=int(episode_seed))
                total, done = 0.0, False
                while not done:
                    output = net.activate([float(v) for v in obs])
                    obs, reward, terminated, truncated, _ = env.step(int(np.argmax(output)))
                    total += float(reward)
                    done = terminated or truncated
                returns.append(total)
            genome.fitness = float(np.mean(returns))
            solved = solved or genome.fitness >= CARTPOLE_SOLVE
        finish(genomes, solved)

    def finish(genomes, solved):
        counter["evaluations"] += len(genomes)
        counter["generation"] += 1
        if solved:
            counter["evaluations_to_solve"] = counter["evaluations"]
            raise Solved

    if task == "cartpole" and env is None:
        import gymnasium

        env = gymnasium.make("CartPole-v1")
    started, cpu_started = time.perf_counter(), time.process_time()
    population = neat.Population(config, seed=seed)
    try:
        population.run(eval_xor if task == "xor" else eval_cartpole, cap)
    except (Solved, neat.CompleteExtinctionException):
        pass
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"solved": counter["evaluations_to_solve"] is not None, "evaluations": counter["evaluations"],
            "evaluations_to_solve": counter["evaluations_to_solve"], "wall": wall, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ini")
    parser.add_argument("task", choices=["xor", "cartpole"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generations", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(neat_python_run(args.task, neat_python_config(args.ini), args.seed, args.generations)))


if __name__ == "__main__":
    main()
