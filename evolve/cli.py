"""The `evolve` command line. Bad input prints one line naming the problem and exits with status 2."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

EXIT_USAGE = 2


class UsageError(Exception):
    """A user mistake reported as one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="evolve", description="Neuroevolution and AutoML engine.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="start an evolution run from a TOML config")
    run.add_argument("config", type=Path)
    run.add_argument("--seed", type=int)
    run.add_argument("--out", type=Path, help="run directory (default: runs/<config>-s<seed>-<time>)")
    run.add_argument("--workers", type=int, help="0: serial in-process; N: N Ray evaluators (default: one per CPU)")
    run.add_argument("--address", help="Ray cluster address")
    run.add_argument("--generations", type=int)
    run.add_argument("--rom", help="Super Mario Bros. ROM path (sets env.rom)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")

    resume = sub.add_parser("resume", help="continue a run from its newest checkpoint")
    resume.add_argument("run_dir", type=Path)
    resume.add_argument("--generations", type=int, help="continue to this many generations in total")
    resume.add_argument("--workers", type=int)
    resume.add_argument("--address")

    inspect = sub.add_parser("inspect", help="summarize and render a genome or a run's best genome")
    inspect.add_argument("path", type=Path)
    inspect.add_argument("-o", "--output", type=Path, help=".svg, .png, .dot, .graphml or .html")

    export = sub.add_parser("export", help="export a genome or a run's best genome")
    export.add_argument("path", type=Path)
    export.add_argument("--format", required=True, choices=["json", "torchscript", "onnx"])
    export.add_argument("-o", "--output", type=Path, required=True)

    replay = sub.add_parser("replay", help="play a genome (a run's best) and write the episode as a video")
    replay.add_argument("path", type=Path, help="a genome JSON or a run directory")
    replay.add_argument("--env", help="environment id (default: the run's)")
    replay.add_argument("--rom", help="Super Mario Bros. ROM path (sets env.rom)")
    replay.add_argument("--seed", type=int, default=0, help="seed of the replayed episode (sticky actions, no-ops)")
    replay.add_argument("--set", dest="overrides", action="append", default=[], metavar="env.KEY=VALUE")
    replay.add_argument("-o", "--output", type=Path, required=True, help=".mp4 or .gif")

    tune = sub.add_parser("tune", help="run more trials of an Optuna study (hyperparameters or NEAT's own)")
    tune.add_argument("config", type=Path, help="a tune config ([tune], [params])")
    tune.add_argument("--trials", type=int, help="trials to add (default: tune.trials)")
    tune.add_argument("--storage", help="SQLAlchemy URL (default: SQLite study.db in the output directory)")
    tune.add_argument("--study", help="study name (default: the config's name)")
    tune.add_argument("--out", type=Path, help="output directory (default: runs/tune-<study>)")
    tune.add_argument("--workers", type=int, help="Ray workers, one trial each (0: in this process)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from envs.task import TaskSetupError
    from evolve.checkpoint import CheckpointError
    from evolve.config import ConfigError
    from genomes.base import GenomeError

    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
        )
        return COMMANDS[args.command](args)
    except (UsageError, ConfigError, GenomeError, TaskSetupError, CheckpointError) as exc:
        return _fail(str(exc))
    except FileNotFoundError as exc:
        return _fail(f"file not found: {exc.filename or exc}")
    except KeyboardInterrupt:
        print("evolve: interrupted; continue with `evolve resume RUN_DIR`", file=sys.stderr)
        return 130


def _fail(message: str) -> int:
    print(f"evolve: error: {message.splitlines()[0] if message else 'invalid input'}", file=sys.stderr)
    return EXIT_USAGE


def _cmd_run(args: argparse.Namespace) -> int:
    from evolve.config import load_config
    from evolve.executor import make_executor
    from evolve.run import start_run

    rom = [f"env.rom={json.dumps(args.rom)}"] if args.rom else []
    config = load_config(args.config, [*args.overrides, *_run_overrides(args), *rom])
    run_dir = args.out or Path("runs") / f"{args.config.stem}-s{config.run.seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    if (run_dir / "checkpoints").exists():
        raise UsageError(f"{run_dir} already holds a run; continue it with `evolve resume {run_dir}`")
    if config.islands.count > 1:
        from evolve.islands import run_islands

        summary = run_islands(config, run_dir)
    else:
        executor = make_executor(config)
        try:
            summary = start_run(config, run_dir, executor)
        finally:
            executor.close()
    _print_summary(run_dir, summary)
    return 0


def _cmd_resume(args: argparse.Namespace) -> int:
    from evolve.config import load_config
    from evolve.executor import make_executor
    from evolve.run import resume_point, resume_run

    config_path = args.run_dir / "config.toml"
    if not config_path.is_file():
        raise UsageError(f"{args.run_dir} is not a run directory (no config.toml)")
    config = load_config(config_path, _run_overrides(args))
    (args.run_dir / "config.toml").write_text(config.to_toml())
    if config.islands.count > 1:
        from evolve.islands import run_islands

        summary = run_islands(config, args.run_dir, resume=True)
    else:
        point = resume_point(config, args.run_dir)  # a damaged checkpoint fails before any worker starts
        executor = make_executor(config)
        try:
            summary = resume_run(config, args.run_dir, executor, point)
        finally:
            executor.close()
    _print_summary(args.run_dir, summary)
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from genomes.export import load_genome
    from genomes.graph import summary

    genome = load_genome(_genome_path(args.path))
    facts = genome.summary() if hasattr(genome, "summary") else summary(genome)
    print(" ".join(f"{k}={v}" for k, v in facts.items()))
    if args.output:
        from genomes.render import render

        try:
            render(genome, args.output, title=str(args.path))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        print(f"wrote {args.output}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from genomes.export import export, load_genome

    source = _genome_path(args.path)
    genome = load_genome(source)
    weights, sample_shape = _trained_weights(source)
    export(genome, args.format, args.output, metadata={"source": str(source)}, weights=weights,
           sample_shape=sample_shape)
    print(f"wrote {args.output}")
    return 0


def _trained_weights(source: Path) -> tuple[Path | None, tuple[int, ...] | None]:
    """The trained weights a searched genome's best.json refers to, and its run's sample shape (None, None for
    genomes that carry their weights, such as NEAT's)."""
    try:
        document = json.loads(source.read_text())
    except (OSError, ValueError):
        return None, None
    name = document.get("weights") if isinstance(document, dict) else None
    if not isinstance(name, str):
        return None, None
    weights = source.parent / name
    if not weights.is_file():
        raise UsageError(f"{source} refers to trained weights {weights}, which do not exist")
    shape = None
    config_path = source.parent / "config.toml"
    if config_path.is_file():
        from envs.registry import make
        from evolve.config import load_config

        config = load_config(config_path)
        shape = getattr(make(config.env.id, **config.env.kwargs), "input_shape", None)
    return weights, shape


def _run_overrides(args: argparse.Namespace) -> list[str]:
    """The [run] keys given as command-line flags (--seed, --generations, --workers, --address), as overrides."""
    overrides = []
    for key in ("seed", "generations", "workers"):
        value = getattr(args, key, None)
        if value is not None:
            overrides.append(f"run.{key}={value}")
    if args.address is not None:
        overrides.append(f"run.address={json.dumps(args.address)}")
    return overrides


def _genome_path(path: Path) -> Path:
    """A genome file, or a run directory's best.json."""
    if path.is_dir():
        best = path / "best.json"
        if not best.is_file():
            raise UsageError(f"{path} has no best.json (is it a run directory with a finished generation?)")
        return best
    if not path.is_file():
        raise UsageError(f"no such genome file or run directory: {path}")
    return path


def _print_summary(run_dir: Path, summary: dict[str, Any]) -> None:
    status = "solved" if summary["solved"] else "not solved"
    print(
        f"{status} after {summary['generations']} generations, {summary['evaluations']} evaluations, "
        f"best fitness {summary['best_fitness']:.6g}, {summary['wall_seconds']:.1f}s; run directory: {run_dir}"
    )


def _cmd_replay(args: argparse.Namespace) -> int:
    from evolve.replay import replay

    if args.output.suffix.lower() not in (".mp4", ".gif"):
        raise UsageError(f"{args.output}: the video must be .mp4 or .gif")
    overrides = [*args.overrides, *([f"env.rom={json.dumps(args.rom)}"] if args.rom else [])]
    result = replay(_genome_path(args.path).parent if args.path.is_dir() else args.path, args.output, args.env,
                    overrides, args.seed)
    print(" ".join(f"{k}={v:.6g}" for k, v in result.items()) + f"; wrote {args.output}")
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    from search.tune import tune
    from search.tune_config import load_tune_config

    if args.trials is not None and args.trials < 1:
        raise UsageError(f"--trials must be >= 1, got {args.trials}")
    if args.workers is not None and args.workers < 0:
        raise UsageError(f"--workers must be >= 0, got {args.workers}")
    config = load_tune_config(args.config)
    if args.workers is not None:
        config.tune.workers = args.workers
    name = args.study or config.study_name
    out = args.out or Path("runs") / f"tune-{name}"
    best = tune(config, out, args.trials, args.storage, name)
    if "best_value" in best:
        print(f"study {name}: {best['states']['COMPLETE']} complete trials; best value {best['best_value']:.6g} "
              f"with {best['best_params']}; reports in {out}")
    else:
        print(f"study {name}: {best['states']['COMPLETE']} complete trials; "
              f"Pareto front of {len(best.get('pareto_front', []))}; reports in {out}")
    return 0


COMMANDS = {
    "run": _cmd_run,
    "resume": _cmd_resume,
    "inspect": _cmd_inspect,
    "export": _cmd_export,
    "replay": _cmd_replay,
    "tune": _cmd_tune,
}

if __name__ == "__main__":
    sys.exit(main())
