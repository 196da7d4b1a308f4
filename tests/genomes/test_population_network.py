"""A packed population evaluates exactly like each genome's own phenotype."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.xor import XorTask
from genomes.base import MutationContext
from genomes.innovation import InnovationTracker
from genomes.population_network import PopulationNetwork, packable
from genomes.population_pack import PopulationPack, pack_population
from tests.neat_helpers import busy_config, grow


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), feed_forward=st.booleans(), size=st.integers(1, 12), batch=st.integers(1, 5),
       backend=st.sampled_from(["auto", "torch"]))
def test_packed_population_matches_per_genome_phenotypes(seed, feed_forward, size, batch, backend):
    config = busy_config(feed_forward=feed_forward, aggregation_options=["sum"], aggregation_mutate_rate=0.0)
    ctx = MutationContext(config, InnovationTracker())
    rng = np.random.default_rng(seed)
    genomes = [grow(config, int(s), int(rng.integers(0, 30)), ctx) for s in rng.integers(0, 2**31, size=size)]
    assert packable(genomes)
    packed = PopulationNetwork(genomes, backend=backend)  # numpy on the CPU, or the torch path CUDA takes
    assert packed.uses_numpy == (backend == "auto")
    networks = [g.phenotype() for g in genomes]
    x = rng.normal(size=(batch, 3)) * 3
    for _ in range(3 if not feed_forward else 1):  # recurrent: several steps with carried state
        expected = np.stack([n.activate(x) for n in networks])
        np.testing.assert_allclose(packed.activate(x), expected, rtol=1e-9, atol=1e-12)
    packed.reset()
    for n in networks:
        n.reset()
    per_genome_inputs = rng.normal(size=(size, batch, 3))
    expected = np.stack([n.activate(xi) for n, xi in zip(networks, per_genome_inputs)])
    np.testing.assert_allclose(packed.activate(per_genome_inputs), expected, rtol=1e-9, atol=1e-12)


def _assert_packs_equal(got: PopulationPack, expected: PopulationPack) -> None:
    for name in ("num_inputs", "num_outputs", "recurrent", "size", "num_columns"):
        assert getattr(got, name) == getattr(expected, name), name
    for name in ("outputs", "node_columns", "node_counts"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)
    assert len(got.levels) == len(expected.levels)
    for a, b in zip(got.levels, expected.levels):
        assert (a.start, a.size, a.groups) == (b.start, b.size, b.groups)
        for name in ("indptr", "sources", "weights", "bias", "response", "genome"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), feed_forward=st.booleans(), size=st.integers(1, 12), data=st.data())
def test_a_pack_cut_to_some_genomes_equals_packing_those_genomes(seed, feed_forward, size, data):
    config = busy_config(feed_forward=feed_forward, aggregation_options=["sum"], aggregation_mutate_rate=0.0)
    ctx = MutationContext(config, InnovationTracker())
    rng = np.random.default_rng(seed)
    genomes = [grow(config, int(s), int(rng.integers(0, 30)), ctx) for s in rng.integers(0, 2**31, size=size)]
    rows = sorted(data.draw(st.sets(st.integers(0, size - 1), min_size=1)))
    _assert_packs_equal(pack_population(genomes).select(np.array(rows)), pack_population([genomes[r] for r in rows]))


@pytest.mark.parametrize("feed_forward", [True, False])
@pytest.mark.parametrize("batch", [1, 4, 7])
def test_numpy_levels_sum_bit_for_bit_like_a_sequential_csr_product(feed_forward, batch):
    """The numpy product adds each node's terms in connection order from 0.0, as scipy's CSR kernel does, so runs
    keep their exact trajectories whichever product computed them."""
    import scipy.sparse

    config = busy_config(feed_forward=feed_forward, aggregation_options=["sum"], aggregation_mutate_rate=0.0)
    network = PopulationNetwork([grow(config, s, 20) for s in range(10)])
    values = np.random.default_rng(3).normal(size=(network.num_columns, batch)) * 10
    assert network.uses_numpy and network.pack.levels
    for packed, level in zip(network.pack.levels, network._levels):
        matrix = scipy.sparse.csr_matrix((packed.weights, packed.sources, packed.indptr),
                                         shape=(packed.size, network.num_columns))
        np.testing.assert_array_equal(level.product(values), matrix @ values)


def test_non_sum_aggregation_is_not_packable_and_xor_falls_back():
    config = busy_config(num_inputs=2, num_outputs=1, aggregation_options=["product"], aggregation_mutate_rate=1.0)
    genomes = [grow(config, s, 5) for s in range(4)]
    assert not packable(genomes)
    task = XorTask()
    batch = task.evaluate_batch(genomes, [0, 1, 2, 3])
    single = [task.evaluate(g.phenotype(), np.random.default_rng(0)) for g in genomes]
    assert [r.to_dict() for r in batch] == [r.to_dict() for r in single]


def test_xor_batch_equals_single_evaluation():
    config = busy_config(num_inputs=2, num_outputs=1, aggregation_options=["sum"], aggregation_mutate_rate=0.0)
    genomes = [grow(config, s, 25) for s in range(30)]
    task = XorTask()
    batch = task.evaluate_batch(genomes, list(range(30)))
    for genome, result in zip(genomes, batch):
        single = task.evaluate(genome.phenotype(), np.random.default_rng(0))
        assert single.solved == result.solved
        np.testing.assert_allclose(single.fitness, result.fitness, rtol=1e-12)


def test_auto_device_falls_back_to_cpu_without_a_gpu():
    import torch

    from genomes.population_network import resolve_device

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == expected
    config = busy_config(num_inputs=2, num_outputs=1, aggregation_options=["sum"], aggregation_mutate_rate=0.0)
    genomes = [grow(config, s, 10) for s in range(8)]
    network = PopulationNetwork(genomes, device="auto")
    assert network.activate_tensor(np.zeros((3, 2))).device.type == expected
    on_auto = XorTask(device="auto").evaluate_batch(genomes, list(range(8)))
    on_cpu = XorTask(device="cpu").evaluate_batch(genomes, list(range(8)))
    np.testing.assert_allclose([r.fitness for r in on_auto], [r.fitness for r in on_cpu], rtol=1e-6)


@pytest.mark.parametrize("rows", [[1, 4], [4, 1, 2]])  # ascending rows are cut from the pack, others packed anew
@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_subset_keeps_the_chosen_genomes_and_their_state(backend, rows):
    config = busy_config(feed_forward=False, aggregation_options=["sum"], aggregation_mutate_rate=0.0)
    genomes = [grow(config, s, 15) for s in range(6)]
    full = PopulationNetwork(genomes, backend=backend)
    x = np.random.default_rng(0).normal(size=(6, 2, 3))
    full.activate(x)
    sub = full.subset(rows)
    np.testing.assert_array_equal(sub.activate(x[rows]), full.activate(x)[rows])


def test_nodes_that_feed_no_output_are_left_out_without_confusing_genomes():
    """Hidden nodes off every output path (their link to the output disabled) are not evaluated; their keys must
    not be mistaken for another genome's nodes."""
    config = busy_config(num_inputs=2, num_outputs=1, aggregation_options=["sum"], aggregation_mutate_rate=0.0)
    genomes = []
    for seed in range(12):
        genome = grow(config, seed, 12)
        c = genome.connections
        cut = c.enabled & (c.target == 0) & (c.source >= 0)  # detach hidden nodes from the output
        genomes.append(genome.with_genes(connections=c.replace(enabled=c.enabled & ~cut)))
    x = np.random.default_rng(1).normal(size=(5, 2))
    expected = np.stack([g.phenotype().activate(x) for g in genomes])
    np.testing.assert_allclose(PopulationNetwork(genomes).activate(x), expected, rtol=1e-9, atol=1e-12)


def test_default_device_is_the_processes_and_cpu_without_a_gpu():
    from genomes.population_network import resolve_device, set_default_device

    assert resolve_device() == "cpu" and resolve_device("") == "cpu"
    config = busy_config(num_inputs=2, num_outputs=1, aggregation_options=["sum"], aggregation_mutate_rate=0.0)
    genomes = [grow(config, s, 5) for s in range(3)]
    try:
        chosen = set_default_device("auto")  # what an evaluator actor given a GPU does
        assert PopulationNetwork(genomes).device == chosen
    finally:
        set_default_device("cpu")
    assert PopulationNetwork(genomes).device == "cpu"


@pytest.mark.parametrize("running, expected", [(1, None), (2, -1), (64, "one")])
def test_torch_threads_follow_the_free_cores_and_are_restored(tmp_path, running, expected):
    """Torch's CPU threads are capped at the cores other runnable threads leave (procs_running counts this one)."""
    import torch

    from genomes.cpu_share import allowed_cpus, usable_cpus

    stat = tmp_path / "stat"
    stat.write_text(f"cpu  1 2 3 4\nprocs_running {running}\nprocs_blocked 0\n")
    allowed = allowed_cpus()
    want = {None: allowed, -1: max(1, allowed - 1), "one": 1}[expected]
    assert usable_cpus(str(stat)) == want
    assert usable_cpus(str(tmp_path / "missing")) == allowed

    config = busy_config(feed_forward=True, aggregation_options=["sum"], aggregation_mutate_rate=0.0)
    ctx = MutationContext(config, InnovationTracker())
    genomes = [grow(config, seed, 10, ctx) for seed in range(4)]
    before = torch.get_num_threads()
    network = PopulationNetwork(genomes, backend="torch")
    assert 1 <= network._arrays._threads <= before
    network.activate(np.zeros((3, 3)))
    assert torch.get_num_threads() == before
