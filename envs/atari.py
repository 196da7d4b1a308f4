"""Atari 2600 games through ale-py (which ships the ROMs) as neuroevolution tasks, from RAM or from pixels.

The protocol is explicit and lands in the run's resolved config: `frame_skip` frames per decision, sticky actions
with probability `sticky` per frame (Machado et al. 2018: the previous action repeats instead of the new one), a
cap of `max_frames` frames per episode, the minimal action set unless `actions` names others (argmax over one output
per action). Sticky actions are drawn from the evaluation's generator rather than ALE's own, so an episode is a
function of the genome and its seed, and a ROM is loaded once per process rather than once per seed.

Observations: "ram", the console's 128 bytes scaled to [0, 1]; "objects", a game's egocentric features decoded
from RAM (`envs/atari_objects.py`, for the games it lists); or "pixels", the grayscale screen averaged over blocks
down to `pixel_height` x `pixel_width`, scaled to [0, 1].

A chunk of genomes is played in lock step, all their episodes at once, one network call per step for the whole
chunk (a packed population network) when the genomes allow; ALE instances are kept between chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from envs.atari_objects import VIEWS
from envs.live import live
from envs.task import EvalResult, Task, TaskSetupError
from genomes.neat_genome import NeatGenome
from genomes.params import param
from genomes.phenotype import Network
from genomes.population_network import PopulationNetwork, packable

SCREEN = (210, 160)
# The Atari joystick's 18 actions, as ale_py.Action names them (a test checks); any of them is legal in every game.
ACTION_NAMES = ("NOOP", "FIRE", "UP", "RIGHT", "LEFT", "DOWN", "UPRIGHT", "UPLEFT", "DOWNRIGHT", "DOWNLEFT", "UPFIRE",
                "RIGHTFIRE", "LEFTFIRE", "DOWNFIRE", "UPRIGHTFIRE", "UPLEFTFIRE", "DOWNRIGHTFIRE", "DOWNLEFTFIRE")


def games() -> list[str]:
    from ale_py import roms

    return sorted(roms.get_all_rom_ids())


def new_ale(game: str, max_frames: int) -> Any:
    """An ALE with `game` loaded, sticky actions off (we draw them), a frame cap, quiet logging."""
    import ale_py
    from ale_py import roms

    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
    ale = ale_py.ALEInterface()
    ale.setFloat("repeat_action_probability", 0.0)
    ale.setInt("max_num_frames_per_episode", max_frames)
    ale.loadROM(roms.get_rom_path(game))
    return ale


@dataclass(frozen=True)
class AtariTask(Task):
    env_id: ClassVar[str] = "atari"
    run_metrics: ClassVar[dict[str, str]] = {"max_score": "max", "frames": "sum"}
    game: str = param("pong", doc="an ale-py ROM id (snake_case: pong, freeway, boxing, ms_pacman, ...)")
    obs: str = param("ram", choices=("ram", "objects", "pixels"),
                     doc="ram: the 128 bytes; objects: features decoded from RAM (games in envs/atari_objects.py)")
    frame_skip: int = param(4, ge=1, le=1_000, doc="frames each action is held (one network decision per step)")
    sticky: float = param(0.25, ge=0.0, le=1.0, doc="per-frame probability that the previous action repeats")
    max_frames: int = param(18000, ge=1, le=10_000_000, doc="frame cap per episode (18,000 frames = 5 minutes of play)")
    episodes: int = param(1, ge=1, le=1_000)
    actions: list[str] = param([], each_in=ACTION_NAMES,
                               doc="the ALE actions the network chooses among, by name (e.g. NOOP, RIGHT, LEFT); "
                                   "empty: the game's minimal action set")
    pixel_height: int = param(21, ge=1, le=210, doc="pixels obs: rows after block averaging (must divide 210)")
    pixel_width: int = param(16, ge=1, le=160, doc="pixels obs: columns after block averaging (must divide 160)")

    def __post_init__(self) -> None:
        if len(set(self.actions)) != len(self.actions):
            raise ValueError(f"actions must not repeat an action; got {list(self.actions)}")
        if self.obs == "pixels" and (SCREEN[0] % self.pixel_height or SCREEN[1] % self.pixel_width):
            raise ValueError(f"pixel_height must divide {SCREEN[0]} and pixel_width {SCREEN[1]}; "
                             f"got {self.pixel_height} x {self.pixel_width}")
        if self.obs == "objects" and self.game not in VIEWS:
            raise ValueError(f"no object view for {self.game!r}: obs = \"objects\" supports {sorted(VIEWS)}; "
                             "use obs = \"ram\" or \"pixels\"")

    def prepare(self) -> None:
        if self.game not in games():
            raise TaskSetupError(f"unknown Atari game {self.game!r} (ale-py has {len(games())} ROMs, e.g. "
                                 "pong, freeway, boxing, breakout, ms_pacman)")

    @property
    def num_inputs(self) -> int:
        if self.obs == "objects":
            return len(VIEWS[self.game].names)
        return 128 if self.obs == "ram" else self.pixel_height * self.pixel_width

    @property
    def num_outputs(self) -> int:
        return len(self.action_set)

    @property
    def action_set(self) -> list[Any]:
        """The ALE actions, one per network output: `actions` if given, else the game's minimal action set."""
        if self.actions:
            import ale_py

            return [ale_py.Action[name] for name in self.actions]
        return live(self, "minimal_actions", lambda: list(self.ales(1)[0].getMinimalActionSet()))

    def interface(self) -> dict[str, Any]:
        if self.obs == "objects":
            inputs, preprocessing = list(VIEWS[self.game].names), "from RAM: " + VIEWS[self.game].description
        elif self.obs == "ram":
            inputs, preprocessing = [f"ram[{i}]" for i in range(128)], "the 128 RAM bytes divided by 255"
        else:
            inputs = [f"pixel[{r}, {c}]" for r in range(self.pixel_height) for c in range(self.pixel_width)]
            preprocessing = (f"the grayscale screen averaged down to {self.pixel_height}x{self.pixel_width}, "
                             "divided by 255")
        chosen_from = "env.actions" if self.actions else "minimal action set"
        return {"inputs": inputs, "outputs": [a.name for a in self.action_set],
                "preprocessing": preprocessing,
                "decode": f"the ALE action of the largest output ({chosen_from}), held for {self.frame_skip} frames"}

    def ales(self, count: int) -> list[Any]:
        """At least `count` emulators with the game loaded (kept for the next chunk)."""
        ales = live(self, "ales", list)
        while len(ales) < count:
            ales.append(new_ale(self.game, self.max_frames))
        return ales[:count]

    def observe(self, ale: Any, ram: np.ndarray, previous_ram: np.ndarray) -> np.ndarray:
        """What the network sees now: `ram` is the RAM now, `previous_ram` at the previous decision (object views'
        motion)."""
        if self.obs == "ram":
            return ram / 255.0
        if self.obs == "objects":
            return VIEWS[self.game].read(ram, previous_ram)
        h, w = self.pixel_height, self.pixel_width
        screen = ale.getScreenGrayscale().reshape(h, SCREEN[0] // h, w, SCREEN[1] // w)
        return screen.mean(axis=(1, 3)).ravel() / 255.0

    def play(
        self,
        choose: Callable[[np.ndarray, np.ndarray], np.ndarray],
        rngs: Sequence[np.random.Generator],
        on_frame: Callable[[Any], None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Play one episode per generator in lock step; `choose(observations, running)` returns an action index
        per episode; `on_frame(ale)` sees every emulated frame of the first episode. Returns the scores and the
        frames played."""
        n = len(rngs)
        ales = self.ales(n)
        import ale_py

        # the actions chosen by index, then the NOOP every episode starts from (what a sticky first frame repeats)
        actions = [*self.action_set, ale_py.Action.NOOP]
        for ale in ales:
            ale.reset_game()
        scores = np.zeros(n)
        frames = np.zeros(n, dtype=np.int64)
        running = np.ones(n, dtype=bool)
        # ALE starts from NOOP (before env.actions, index 0: FIRE in backgammon's and video_checkers' minimal sets)
        previous = np.full(n, len(actions) - 1, dtype=np.int64)
        rams = [ale.getRAM() for ale in ales]  # ale-py returns a fresh array per call
        observations = np.stack([self.observe(ale, ram, ram) for ale, ram in zip(ales, rams)])
        while running.any():
            chosen = choose(observations, running)
            repeats = [rng.random(self.frame_skip) < self.sticky for rng in rngs]
            for i in np.flatnonzero(running):
                ale = ales[i]
                for repeat in repeats[i]:
                    if not repeat:
                        previous[i] = chosen[i]
                    scores[i] += ale.act(actions[previous[i]])
                    frames[i] += 1
                    if on_frame is not None and i == 0:
                        on_frame(ale)
                    if ale.game_over():
                        running[i] = False
                        break
                ram = ale.getRAM()
                observations[i] = self.observe(ale, ram, rams[i])
                rams[i] = ram
        return scores, frames

    def evaluate(self, network: Network, rng: np.random.Generator) -> EvalResult:
        rngs = self.episode_rngs(rng)
        network.reset()
        return self._result(*self.play(lambda obs, _: np.argmax(network.activate(obs), axis=-1), rngs))

    def evaluate_batch(self, genomes: Sequence[NeatGenome], seeds: Sequence[int]) -> list[EvalResult]:
        """Every genome's episodes in lock step, one packed network call per step: the same scores as `evaluate`."""
        if not packable(genomes):
            return super().evaluate_batch(genomes, seeds)
        pop, eps = len(genomes), self.episodes
        rngs = [r for s in seeds for r in self.episode_rngs(np.random.default_rng(s))]
        network = PopulationNetwork(genomes)

        def choose(observations: np.ndarray, running: np.ndarray) -> np.ndarray:
            outputs = network.activate(observations.reshape(pop, eps, -1))
            return np.argmax(outputs.reshape(pop * eps, -1), axis=-1)

        scores, frames = self.play(choose, rngs)
        return [self._result(s, f) for s, f in zip(scores.reshape(pop, eps), frames.reshape(pop, eps))]

    def episode_rngs(self, rng: np.random.Generator) -> list[np.random.Generator]:
        return [np.random.default_rng(s) for s in rng.integers(0, 2**31 - 1, size=self.episodes)]

    def _result(self, scores: np.ndarray, frames: np.ndarray) -> EvalResult:
        metrics = {"score": float(np.mean(scores)), "max_score": float(np.max(scores)), "frames": float(frames.sum())}
        return EvalResult(float(np.mean(scores)), metrics)

    def verify(self, network: Network, rng: np.random.Generator) -> EvalResult:
        return self.evaluate(network, rng)

    def replay(self, network: Network, rng: np.random.Generator, sink: Callable[[np.ndarray], None]) -> EvalResult:
        """The first episode of an evaluation with `rng`, every frame (RGB, 60 per second) handed to `sink`."""
        network.reset()
        rngs = self.episode_rngs(rng)[:1]
        return self._result(*self.play(lambda obs, _: np.argmax(network.activate(obs), axis=-1), rngs,
                                       lambda ale: sink(ale.getScreenRGB())))
