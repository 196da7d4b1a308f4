"""Super Mario Bros. on the real emulator: RAM positions, death, the tile grid, determinism, and a short run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs import mario_ram
from envs.mario import MarioEmulator, parse_action
from envs.mario_ram import ENEMY, MARIO, SOLID, TileWindow
from envs.mario_task import FLAG_X, MarioTask, Progress
from evolve.config import ConfigError
from evolve.executor import SerialExecutor
from tests.run_helpers import start_run
from tests.run_helpers import run_config


class Press:
    """A stand-in network that always picks action `k` (and counts its calls)."""

    def __init__(self, k: int, outputs: int) -> None:
        self.k, self.outputs, self.calls = k, outputs, 0

    def reset(self) -> None:
        pass

    def activate(self, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        out = np.zeros(self.outputs)
        out[self.k] = 1.0
        return out


class Replay:
    """A stand-in network that picks the recorded action of each decision step in turn."""

    def __init__(self, steps: list[int], outputs: int) -> None:
        self.steps, self.outputs, self.calls = steps, outputs, 0

    def reset(self) -> None:
        self.calls = 0

    def activate(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros(self.outputs)
        out[self.steps[self.calls]] = 1.0
        self.calls += 1
        return out


FLAG_RUN = Path(__file__).parents[2] / "envs" / "mario_states" / "mario_1-1_flag.json"


@pytest.fixture(scope="module")
def task() -> MarioTask:
    task = MarioTask(actions=["right", "none", "right+A+B"])
    task.prepare()
    return task


def test_holding_right_advances_x_until_the_first_goomba_kills_mario(task):
    emulator = task.emulator
    ram = emulator.reset()
    start = mario_ram.mario_x(ram)
    right = emulator.mask(parse_action("right"))
    xs = []
    for _ in range(60):
        ram = emulator.step(right, 4)
        xs.append(mario_ram.mario_x(ram))
        if mario_ram.is_dying(ram):
            break
    assert xs[10] > start + 50, "x read from RAM advances while right is held"
    assert mario_ram.is_dying(ram), "the first Goomba ends a hold-right run"
    episode = task.play(Press(0, 3))
    assert episode.died and not episode.flag
    assert 250 < episode.max_x < 400 and episode.frames < 400
    assert episode.max_x == max(start, *xs), "the dying step's x counts too"


@pytest.mark.parametrize("cache_steps", [0, 40000])
def test_a_recorded_run_to_the_flag_reports_the_flagpole_x(cache_steps):
    recorded = json.loads(FLAG_RUN.read_text())
    steps = [int(c) for c in recorded["steps"]]
    flag_task = MarioTask(state=recorded["state"], actions=recorded["actions"], frame_skip=recorded["frame_skip"],
                          cache_steps=cache_steps)
    replay = Replay(steps, len(recorded["actions"]))
    episode = flag_task.play(replay)
    assert episode.flag and not episode.died
    assert replay.calls == len(steps), "the episode ends on the recorded run's last step"
    assert episode.max_x == FLAG_X, "the flag step's x (the pole's) is counted"
    assert flag_task.fitness(episode) == FLAG_X + flag_task.flag_bonus + episode.time_left


def test_standing_still_ends_on_the_stall_limit(task):
    episode = task.play(Press(1, 3))
    assert not episode.died and episode.max_x == episode.start_x
    assert episode.frames == pytest.approx(task.stall_frames, abs=task.frame_skip)


def test_same_genome_same_episode_and_noops_follow_the_seed(task):
    assert task.play(Press(2, 3)) == task.play(Press(2, 3))
    noisy = MarioTask(actions=["right", "none", "right+A+B"], noop_max=30, episodes=2)
    first = noisy.evaluate(Press(2, 3), np.random.default_rng(7))
    again = noisy.evaluate(Press(2, 3), np.random.default_rng(7))
    assert first == again


def test_observation_is_the_grid_then_the_extras(task):
    ram = task.emulator.reset()
    with_extras = MarioTask(extras=["velocity", "on_ground"])
    inputs = with_extras.observe(ram)
    assert inputs.shape == (with_extras.num_inputs,) == (13 * 13 + 2,)
    assert inputs[-1] == 1.0, "Mario starts on the ground"
    grid = inputs[:-2].reshape(13, 13)
    assert (grid[7:, :] == SOLID).any(), "the ground is below Mario"
    assert not (grid[:6, :] == SOLID).any(), "open sky above Mario at the start of 1-1"
    last = MarioTask(extras=["previous_action"])
    assert last.num_inputs == 13 * 13 + len(last.actions)
    assert last.observe(ram, 2)[169:].tolist() == [0, 0, 1, 0, 0, 0, 0]
    assert not last.observe(ram, -1)[169:].any(), "no previous action at the first step"


def test_one_emulator_per_process_is_handed_over(task):
    first = task.emulator
    other = MarioEmulator("Level1-1")
    assert first.env is None, "opening a second emulator closed the first"
    other.close()
    assert task.emulator is not first and task.emulator.env is not None


def test_bad_action_and_state_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown button 'jump'"):
        run_config("mario-1-1", "env.actions=['right', 'jump']")
    with pytest.raises(Exception, match="unknown Mario state 'Level9-9'"):
        MarioTask(state="Level9-9").prepare()


def _ram(mario_x: int, mario_y: int, scroll: int) -> np.ndarray:
    ram = np.zeros(0x800, dtype=np.uint8)
    ram[0x6D], ram[0x86] = divmod(mario_x, 256)
    ram[0xCE] = mario_y
    ram[0x71A], ram[0x71C] = divmod(scroll, 256)
    return ram


@settings(max_examples=200, deadline=None)
@given(
    x=st.integers(0, 3300),
    y=st.integers(0, 255),
    ahead=st.integers(0, 200),
    tiles=st.binary(min_size=416, max_size=416),
    width=st.integers(1, 17),
    height=st.integers(1, 13),
    left=st.integers(-16, 16),
    top=st.integers(-13, 13),
)
def test_grid_reads_the_tile_ring_at_the_right_cells(x, y, ahead, tiles, width, height, left, top):
    ram = _ram(x, y, max(0, x - ahead))
    ram[0x500:0x6A0] = np.frombuffer(tiles, dtype=np.uint8)
    window = TileWindow(width, height, left, top)
    grid = window.grid(ram)
    assert grid.shape == (height, width) and grid.dtype == np.float32
    column, row = mario_ram.mario_cell(ram)
    first_visible = mario_ram.screen_left(ram) // 16
    for i in range(height):
        for j in range(width):
            c, r = column + left + j, row + top + i
            on_screen = first_visible <= c <= first_visible + 16 and 0 <= r < 13
            expected = SOLID if on_screen and ram[0x500 + (c // 16) % 2 * 208 + r * 16 + c % 16] else 0.0
            assert grid[i, j] == expected


def test_grid_marks_enemies_and_mario_on_the_screen_anchor():
    ram = _ram(500, 176, 400)  # Mario on the ground, row 10
    ram[0x0F], ram[0x6E], ram[0x87], ram[0xCF] = 1, 2, 40, 184  # an enemy on the ground at x 552
    grid = TileWindow(13, 13, -6, 0, "screen").grid(ram)
    assert grid[10, 6] == MARIO
    assert grid[10, 6 + (552 + 8) // 16 - (500 + 8) // 16] == ENEMY
    centred = TileWindow().grid(ram)
    assert centred[6, 6] == 0.0 and centred[6, 10] == ENEMY


def test_short_run_reports_max_x_and_flag(tmp_path):
    config = run_config("mario-1-1", "run.seed=1", "run.generations=2", "population.size=8", "env.stall_frames=40")
    summary = start_run(config, tmp_path, SerialExecutor())
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert all(line["max_x"] >= 40 and line["flag"] == 0.0 for line in lines)
    assert summary["max_x"] == max(line["max_x"] for line in lines) and summary["flag"] == 0.0
    assert summary["frames"] == sum(line["frames"] for line in lines) >= 2 * 8 * 40, "every genome's frames count"
    assert "frame_skip = 4" in (tmp_path / "config.toml").read_text(), "the resolved config states the protocol"


def test_replay_writes_a_decodable_video_with_the_panel(tmp_path):
    import imageio.v3 as iio

    from evolve.cli import main

    config = run_config("mario-1-1", "run.seed=2", "run.generations=1", "population.size=4", "env.stall_frames=40")
    start_run(config, tmp_path / "run", SerialExecutor())
    assert main(["replay", str(tmp_path / "run"), "-o", str(tmp_path / "best.mp4")]) == 0
    frames = iio.imread(tmp_path / "best.mp4", index=None)
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert frames.shape[1:] == (224, 240 + 176, 3)
    assert len(frames) == best["metrics"]["frames"], "one video frame per emulated frame of the same episode"
    assert frames[:, :, 240:].std() > 0, "the side panel is drawn"


def test_path_cache_changes_nothing_but_the_work_done():
    from genomes.base import MutationContext
    from genomes.innovation import InnovationTracker
    from tests.neat_helpers import busy_config, grow

    neat = busy_config(num_inputs=169, num_outputs=7, initial_connection="partial", initial_connection_fraction=0.05,
                       activation_options=["tanh"], aggregation_options=["sum"], weight_mutate_power=0.3)
    ctx = MutationContext(neat, InnovationTracker())
    parents = [grow(neat, seed, 6, ctx) for seed in range(6)]
    rng = np.random.default_rng(0)
    genomes = [*parents, *(p.mutate(rng, ctx) for p in parents), *parents]  # offspring, then elites again
    plain = MarioTask(stall_frames=60, cache_steps=0)
    cached = MarioTask(stall_frames=60, cache_steps=100_000)
    tiny = MarioTask(stall_frames=60, cache_steps=5)  # emptied between most episodes
    expected = [plain.play(g.phenotype()) for g in genomes]
    assert [cached.play(g.phenotype()) for g in genomes] == expected
    assert [tiny.play(g.phenotype()) for g in genomes] == expected
    assert [cached.play(g.phenotype(), noops=7) for g in genomes] == [plain.play(g.phenotype(), 7) for g in genomes]
    assert cached.paths.replayed > cached.paths.emulated / 2, "the repeated elites at least are replayed"


def test_evaluate_plays_a_runs_best_and_reports_x_flag_and_level(tmp_path):
    from evolve.cli import main

    config = run_config("mario-1-1", "run.seed=1", "run.generations=1", "population.size=4", "env.stall_frames=40")
    summary = start_run(config, tmp_path / "run", SerialExecutor())
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["evaluate", str(tmp_path / "run"), "--episodes", "2", "--json"]) == 0
    report = json.loads(out.getvalue().strip().splitlines()[-1])
    assert report["scores"] == [summary["best_fitness"]] * 2  # deterministic emulator, no no-ops: the run's score
    assert report["mean"] == summary["best_fitness"] and report["flag"] is False and report["level"] == "1-1"
    assert report["max_x"] == max(e["max_x"] for e in report["episodes"]) >= 40


@pytest.mark.parametrize("state, stage, clock", [("Level1-2", 1, 400), ("Level1-3", 2, 300)])
def test_a_derived_level_state_is_the_games_own_and_plays(state, stage, clock):
    """Level1-2 is played into from 1-1 (the recorded flag run, then 1-2's intro), Level1-3 from 1-2 (the committed
    1-2 champion's run): deriving each again gives the shipped bytes, it starts in its level under the player's
    control with the level's full clock, and holding right makes progress there."""
    from envs import mario_level_states

    assert mario_level_states.derive(state) == mario_level_states.load_state(state)
    task = MarioTask(state=state, actions=["right", "none"], stall_frames=60)
    task.prepare()
    ram = task.emulator.reset()
    assert mario_ram.world_stage(ram) == (0, stage) and clock - 10 < mario_ram.time_left(ram) <= clock
    episode = task.play(Press(0, 2))
    assert episode.max_x > episode.start_x + 100 and not episode.flag
    assert task.level == state.removeprefix("Level")


def test_clearing_means_the_flagpole_or_the_next_level_never_a_warp():
    from envs.mario_task import following

    assert following((0, 0)) == (0, 1) and following((0, 2)) == (0, 3) and following((0, 3)) == (1, 0)


def test_world_mode_plays_each_level_in_turn_and_sums_them():
    """One genome across 1-1, 1-2 and 1-4: each level's episode is the one a task of that state alone plays."""
    levels = ["Level1-1", "Level1-2", "Level1-4"]
    world = MarioTask(levels=levels, actions=["right", "right+A"], stall_frames=60)
    world.prepare()
    result = world.evaluate(Press(1, 2), np.random.default_rng(0))
    alone = {}
    for state in levels:
        single = MarioTask(state=state, actions=["right", "right+A"], stall_frames=60)
        alone[state] = single.play(Press(1, 2))
    assert result.fitness == sum(world.fitness(e) for e in alone.values())
    for state, episode in alone.items():
        name = state.removeprefix("Level")
        assert result.metrics[f"max_x@{name}"] == episode.max_x and result.metrics[f"flag@{name}"] == 0.0
    assert result.metrics["max_x"] == sum(e.max_x for e in alone.values()) and not result.solved
    assert world.level == "1-1,1-2,1-4"
    frames = []
    replayed = world.replay(Press(1, 2), np.random.default_rng(0), frames.append)  # every level, one video
    assert (replayed.fitness, replayed.metrics) == (result.fitness, result.metrics)
    assert len(frames) == sum(e.frames for e in alone.values())


def test_evaluate_reports_each_level_of_a_world_run(tmp_path):
    from evolve.play import evaluate_genome

    config = run_config("mario-world1", "run.generations=1", "population.size=4", "env.stall_frames=40")
    start_run(config, tmp_path / "run", SerialExecutor())
    report = evaluate_genome(tmp_path / "run" / "best.json", 1, 0)
    assert [level["level"] for level in report["levels"]] == ["1-1", "1-2", "1-4"]
    assert report["max_x"] == sum(level["max_x"] for level in report["levels"]) and report["flag"] is False


def test_rejump_presses_a_afresh_on_landing_and_the_path_cache_agrees():
    """The game jumps on a press of A, so a held right+A jumps once and then walks into the first pipe; with rejump
    A is let go for the first frame of a step that starts on the ground, and the same choice hops on over pipes and
    pits. The path cache replays such episodes exactly."""
    held = MarioTask(actions=["right+A", "right"], stall_frames=60, cache_steps=0)
    held.prepare()
    hops = MarioTask(actions=["right+A", "right"], stall_frames=60, cache_steps=0, rejump=True)
    cached = MarioTask(actions=["right+A", "right"], stall_frames=60, rejump=True)
    walked, hopped = held.play(Press(0, 2)), hops.play(Press(0, 2))
    assert walked.max_x < 400 and hopped.max_x > 1000
    assert cached.play(Press(0, 2)) == hopped and cached.play(Press(0, 2)) == hopped
    assert cached.paths.replayed > 0
    assert hops.play(Press(1, 2)) == held.play(Press(1, 2)), "actions without A are untouched"


def test_a_genomes_flag_run_is_recorded_and_the_next_level_derived_from_it(tmp_path, monkeypatch):
    """What derives Level1-3 from a 1-2 champion, done with the committed 1-1 champion: its run to the flag is
    recorded (with rejump, as it played) and replayed into the level after it, where Mario has control."""
    from envs import mario_level_states
    from evolve.play import genome_and_task

    champion = Path(__file__).parents[2] / "benchmarks" / "champions" / "mario-1-1-seed0" / "best.json"
    genome, task, _ = genome_and_task(champion, None, [])
    recorded = mario_level_states.record_flag_run(task, genome.phenotype())
    assert recorded["state"] == "Level1-1" and recorded["rejump"] is True
    (tmp_path / "mario_1-1_flag.json").write_text(json.dumps(recorded))
    monkeypatch.setattr(mario_level_states, "STATES_DIR", tmp_path)
    state = mario_level_states.derive("Level1-2")
    emulator = task.emulator
    emulator.env.em.set_state(state)
    ram = emulator.ram()
    assert mario_ram.world_stage(ram) == (0, 1) and int(ram[0x0E]) == mario_level_states.NORMAL
    with pytest.raises(ValueError, match="does not reach"):
        mario_level_states.record_flag_run(MarioTask(actions=["right"]), Press(0, 1))


def test_progress_counts_afresh_in_each_area_a_pipe_leads_to():
    """1-2's exit pipe at x 2,540 leads to the flagpole's area, where x counts from 40 again: the walk there is
    progress (no stall), though the level's furthest x, the fitness, stays the pipe's."""
    progress = Progress(area=192, x=40)
    for x in (100, 2540, 2540, 2540):
        progress.update(192, x, 4)
    assert (progress.max_x, progress.since) == (2540, 8)  # two steps without new ground
    progress.update(37, 40, 4)  # through the pipe
    assert (progress.max_x, progress.since) == (2540, 0)
    progress.update(37, 40, 4)
    progress.update(37, 48, 4)
    assert (progress.max_x, progress.since, progress.area_best) == (2540, 0, 48)
    progress.update(37, 44, 4)
    assert progress.since == 4
    progress.update(192, 2700, 4)  # back in the first area, beyond where it was left
    assert (progress.max_x, progress.since) == (2700, 0)


def test_the_area_pointer_changes_between_1_2s_intro_and_its_underground():
    """The RAM address `mario_ram.area` reads is the game's area pointer: the flag run into 1-2 passes from 1-1's
    area through 1-2's outdoor intro into its underground, three areas."""
    from envs.mario_level_states import STATES_DIR, Scripted

    recorded = json.loads((STATES_DIR / "mario_1-1_flag.json").read_text())
    task = MarioTask(state="Level1-1", actions=recorded["actions"], frame_skip=recorded["frame_skip"],
                     rejump=recorded.get("rejump", False), stall_frames=1_000_000, cache_steps=0)
    areas = []
    episode = task.play(Scripted([int(c) for c in recorded["steps"]], len(recorded["actions"])),
                        on_decision=lambda ram, inputs, choice: areas.append(mario_ram.area(ram)))
    assert episode.flag and len(set(areas)) == 1
    areas = areas[:1]
    idle = np.zeros_like(task.emulator.mask(()))
    for _ in range(1300):
        ram = task.emulator.step(idle, 1)
        if areas[-1] != mario_ram.area(ram):
            areas.append(mario_ram.area(ram))
    assert len(areas) == 3 and mario_ram.world_stage(ram) == (0, 1)


def test_the_area_stays_when_level_objects_set_the_next_pipes_destination():
    """Running through 1-2's start passes an object (x about 530) that sets where the next pipe leads (0x750): not
    a new area, so Mario's progress is not counted afresh there."""
    actions = ["right", "right+A"]
    task = MarioTask(state="Level1-2", actions=actions, rejump=True, stall_frames=120, cache_steps=0)
    seen = []
    episode = task.play(Press(1, len(actions)), on_decision=lambda ram, inputs, choice: seen.append(
        (int(ram[0x750]), mario_ram.area(ram))))
    assert episode.max_x > 600
    assert len({pointer for pointer, _ in seen}) == 2 and len({area for _, area in seen}) == 1


def test_pipes_mark_only_the_mouths_mario_can_enter():
    """With `pipes`, the grid tells 1-1's pipe to the coin room (x about 915) from the three pipes before it, whose
    tops cannot be entered: its mouth reads PIPE where the plain grid reads SOLID, and nothing else differs."""
    from envs.mario_level_states import STATES_DIR, Scripted

    recorded = json.loads((STATES_DIR / "mario_1-1_flag.json").read_text())
    task = MarioTask(state="Level1-1", actions=recorded["actions"], frame_skip=recorded["frame_skip"],
                     rejump=recorded.get("rejump", False), stall_frames=1_000_000, cache_steps=0)
    plain, piped = task.window, MarioTask(state="Level1-1", pipes=True).window
    differs = []
    task.play(Scripted([int(c) for c in recorded["steps"]], len(recorded["actions"])), on_decision=lambda ram, i, c:
              differs.append((mario_ram.mario_x(ram), plain.grid(ram), piped.grid(ram))))
    marked = [(x, a, b) for x, a, b in differs if (a != b).any()]
    assert marked and all(700 < x < 1100 for x, _, _ in marked)  # in the window from 7 tiles ahead to 6 behind
    for _, a, b in marked:
        assert set(a[a != b].tolist()) == {mario_ram.SOLID} and set(b[a != b].tolist()) == {mario_ram.PIPE}
