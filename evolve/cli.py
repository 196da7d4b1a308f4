"""The `evolve` command line. Bad input prints one line naming the problem and exits with status 2."""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

# Before numpy is imported: numpy's OpenBLAS starts a thread per core that spins while idle, and the engine does no
# large matrix products (torch keeps its own threads), so a command pays for those threads in CPU time and nothing
# else. A value the user set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

EXIT_USAGE = 2
COMMAND_GROUP = "evolve.commands"  # entry points: fn(subparsers) -> (name, command(args) -> exit status)


class UsageError(Exception):
    """A user mistake reported as one line with exit status 2."""


LOG_FORMATS = ("auto", "bar", "plain", "json")


def path_argument(text: str) -> Path:
    """A path argument; an empty one is refused (Path("") would quietly mean the current directory)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path names nothing")
    return Path(text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser(plugins: bool = True) -> argparse.ArgumentParser:
    """The parser of every command; `plugins` adds the commands of the `evolve.commands` entry points (the layers
    above: `evolve tune`), which a built-in command does not need to scan for."""
    parser = _Parser(prog="evolve", description="Neuroevolution and AutoML engine.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    verbose = argparse.ArgumentParser(add_help=False)  # -v also after the command (`evolve run -v ...`)
    verbose.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                         help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser = functools.partial(sub.add_parser, parents=[verbose])  # type: ignore[method-assign]

    run = sub.add_parser("run", help="start an evolution run from a TOML config")
    run.add_argument("config", type=path_argument)
    run.add_argument("--seed", type=int)
    run.add_argument("--out", type=path_argument, help="run directory (default: runs/<config>-s<seed>-<time>)")
    run.add_argument("--workers", type=int, help="0: serial in-process; N: N Ray evaluators (default: one per CPU)")
    run.add_argument("--address", help="Ray cluster address")
    run.add_argument("--generations", type=int)
    run.add_argument("--rom", help="Super Mario Bros. ROM path (sets env.rom)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("--log-format", choices=LOG_FORMATS, help="progress on stderr: a bar, or one plain or JSON "
                     "line per generation (default auto: a bar on a terminal, plain lines otherwise)")

    resume = sub.add_parser("resume", help="continue a run from its newest checkpoint")
    resume.add_argument("run_dir", type=path_argument)
    resume.add_argument("--generations", type=int, help="continue to this many generations in total")
    resume.add_argument("--workers", type=int)
    resume.add_argument("--address")
    resume.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="change how the run is carried out: run.generations, run.workers, run.executor, "
                        "run.stop_on_solve, ray.* and the like (never what it evolves)")
    resume.add_argument("--log-format", choices=LOG_FORMATS, help="as for run")

    inspect = sub.add_parser("inspect", help="summarize and render a genome or a run's best genome")
    inspect.add_argument("path", type=path_argument)
    inspect.add_argument("-o", "--output", type=path_argument, help=".svg, .png, .dot, .graphml or .html")

    export = sub.add_parser("export", help="export a genome or a run's best genome")
    export.add_argument("path", type=path_argument)
    export.add_argument("--format", required=True, choices=["json", "pt2", "torchscript", "onnx"],
                        help="pt2: a torch.export program (torch.export.load), the recommended torch format")
    export.add_argument("-o", "--output", type=path_argument, required=True)

    replay = sub.add_parser("replay", help="play a genome (a run's best) and write the episode as a video")
    replay.add_argument("path", type=path_argument, help="a genome JSON or a run directory")
    replay.add_argument("--env", help="environment id (default: the run's)")
    replay.add_argument("--rom", help="Super Mario Bros. ROM path (sets env.rom)")
    replay.add_argument("--seed", type=int, default=0, help="seed of the replayed episode (sticky actions, no-ops)")
    replay.add_argument("--set", dest="overrides", action="append", default=[], metavar="env.KEY=VALUE")
    replay.add_argument("-o", "--output", type=path_argument, required=True, help=".mp4 or .gif")

    evaluate = sub.add_parser("evaluate", help="play a genome (a run's best) on its task and print each episode's "
                              "score and their mean")
    evaluate.add_argument("path", type=path_argument, help="a genome JSON or a run directory")
    evaluate.add_argument("--episodes", type=int, default=10, help="episodes to play (default 10)")
    evaluate.add_argument("--seed", type=int, default=0, help="episode i plays with np.random.default_rng([seed, i])")
    evaluate.add_argument("--env", help="environment id (default: the run's)")
    evaluate.add_argument("--rom", help="Super Mario Bros. ROM path (sets env.rom)")
    evaluate.add_argument("--set", dest="overrides", action="append", default=[], metavar="env.KEY=VALUE")
    evaluate.add_argument("--json", action="store_true", help="end with one JSON object: scores, mean, solved and "
                          "the task's run metrics (Mario: max_x, flag)")

    plot = sub.add_parser("plot", help="draw runs' fitness and species over the generations to a picture")
    plot.add_argument("runs", type=path_argument, nargs="+", metavar="RUN", help="run directories (overlaid)")
    plot.add_argument("-o", "--output", type=path_argument, required=True, help=".png, .svg or .pdf")

    dashboard = sub.add_parser("dashboard", help="serve a live, read-only web page over a folder of runs and studies")
    dashboard.add_argument("runs_dir", type=path_argument, nargs="?", default=Path("runs"), metavar="RUNS_DIR",
                           help="the folder of runs (default: runs)")
    dashboard.add_argument("--port", type=int, default=8050)
    dashboard.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1: this machine only")

    if plugins:
        from importlib.metadata import entry_points

        for point in entry_points(group=COMMAND_GROUP):  # commands of the layers above (`evolve tune`: search/)
            name, command = point.load()(sub)
            COMMANDS[name] = command
    return parser


# Errors that are the user's input, not a bug: (module, class). Looked up only once one is raised, so that a
# command never imports a module (numpy, through these) just to be able to catch its errors.
INPUT_ERRORS = (("envs.task", "TaskSetupError"), ("evolve.checkpoint", "CheckpointError"),
                ("evolve.config", "ConfigError"), ("genomes.base", "GenomeError"))


def _is_input_error(exc: BaseException) -> bool:
    if isinstance(exc, UsageError):
        return True
    for module, name in INPUT_ERRORS:  # a module not imported yet cannot have raised its error
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and isinstance(exc, cls):
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    if os.getcwd() not in sys.path:  # "module:Name" env ids import from the working directory, as `python -m` does
        sys.path.insert(0, os.getcwd())
    args: argparse.Namespace | None = None
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)  # a scheduler's or `kill`'s stop saves the run as Ctrl-C does
    try:
        given = sys.argv[1:] if argv is None else argv
        command = next((a for a in given if not a.startswith("-")), None)
        args = build_parser(plugins=command not in BUILT_IN).parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
        )
        return COMMANDS[args.command](args)
    except FileNotFoundError as exc:
        return _fail(f"file not found: {exc.filename or exc}")
    except OSError as exc:  # a path the user named that cannot be written or read: read-only, a system folder, ...
        if exc.filename is None:
            raise
        return _fail(f"{exc.filename}: {exc.strerror or exc}")
    except Exception as exc:
        if _is_input_error(exc):
            return _fail(str(exc))
        raise
    except KeyboardInterrupt:
        terminated = _terminated  # not isinstance(exc, Terminated): Ray's get turns any interrupt into a plain one
        print(f"evolve: {'terminated' if terminated else 'interrupted'}{_how_to_continue(args)}", file=sys.stderr)
        return 128 + (signal.SIGTERM if terminated else signal.SIGINT)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread is, so that it unwinds a run as Ctrl-C does (checkpoint, close)."""


_terminated = False  # SIGTERM was received


def _terminate(signum: int, frame: object) -> None:
    global _terminated
    _terminated = True
    raise Terminated()


def _how_to_continue(args: argparse.Namespace | None) -> str:
    """What continues the interrupted command: resume for a run, the same command for a study."""
    run_dir = getattr(args, "run_dir", None)
    if run_dir is not None:
        return f"; continue with `evolve resume {run_dir}`"
    if getattr(args, "command", None) == "tune":
        return "; run the same `evolve tune` command again to continue the study"
    return ""


def _fail(message: str) -> int:
    print(f"evolve: error: {message.splitlines()[0] if message else 'invalid input'}", file=sys.stderr)
    return EXIT_USAGE


def _cmd_run(args: argparse.Namespace) -> int:
    from evolve.api import run
    from evolve.config import read_toml
    from evolve.process_tuning import FreezeHeap

    overrides = [*args.overrides, *([f"env.rom={json.dumps(args.rom)}"] if args.rom else []), *_log_format(args)]
    seed = args.seed if args.seed is not None else _configured_seed(read_toml(args.config), overrides)
    out = args.out or Path("runs") / f"{args.config.stem}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    args.run_dir = out  # for the interrupt message
    result = run(args.config, seed=args.seed, generations=args.generations, workers=args.workers,
                 address=args.address, out=out, overrides=overrides, callbacks=[FreezeHeap()])
    _print_summary(out, result.summary)
    return 0


def _log_format(args: argparse.Namespace) -> list[str]:
    return [f"run.log_format={args.log_format}"] if args.log_format else []


def _configured_seed(raw: dict[str, Any], overrides: list[str]) -> Any:
    """The seed a config file and its --set overrides give (for the default run directory's name)."""
    from evolve.config import apply_override

    for item in overrides:
        apply_override(raw, item)
    run = raw.get("run", {})
    return run.get("seed", 0) if isinstance(run, dict) else 0


def _cmd_resume(args: argparse.Namespace) -> int:
    from evolve.api import resume
    from evolve.process_tuning import FreezeHeap

    result = resume(args.run_dir, generations=args.generations, workers=args.workers, address=args.address,
                    overrides=[*args.overrides, *_log_format(args)], callbacks=[FreezeHeap()])
    if result.new_generations == 0:
        summary = result.summary
        reason = ((f"it was solved at generation {summary['solved_generation']}; go on with "
                   f"--set run.stop_on_solve=false --generations N") if summary["solved"]
                  else f"it already has {summary['generations']} generations; pass --generations N to go further")
        print(f"nothing to continue: {reason}")
    _print_summary(args.run_dir, result.summary)
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from evolve.genome_tools import inspect_genome, render_genome

    facts = inspect_genome(args.path)
    print(" ".join(f"{k}={v}" for k, v in facts.items()))
    if args.output:
        render_genome(args.path, args.output)
        print(f"wrote {args.output}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from evolve.genome_tools import export_genome

    export_genome(args.path, args.format, args.output)
    print(f"wrote {args.output}")
    return 0


def _print_summary(run_dir: Path, summary: dict[str, Any]) -> None:
    """The run's last line; generations are numbered from 0 as in metrics.jsonl and summary.json. When the solution
    (best.json) is not the fittest genome seen (a noisy task), both fitnesses are given."""
    from evolve.callbacks import print_line

    status = (f"solved at generation {summary['solved_generation']}" if summary["solved"] else "not solved")
    count = summary["generations"]
    fitness = f"best fitness {summary['best_fitness']:.6g}"
    if summary["solved"] and (solution := _solution_fitness(run_dir)) is not None and solution != summary["best_fitness"]:
        fitness = f"solution's fitness {solution:.6g} (best seen {summary['best_fitness']:.6g})"
    print_line(f"{status} ({count} generation{'s' if count != 1 else ''}, {summary['evaluations']:,} evaluations), "
               f"{fitness}, {summary['wall_seconds']:.1f}s; run directory: {run_dir}", sys.stdout)
    if "test_score" in summary:  # a cell search's final report: the retrained best network beside its baselines
        what = "test accuracy" if "test_accuracy" in summary else "test score"
        print_line(f"final report: {what} {summary['test_score']:.4g} with {summary['params']:,} parameters; best "
                   f"baseline {summary.get('baseline')}: {summary.get('baseline_test_score', float('nan')):.4g} with "
                   f"{summary.get('baseline_params', 0):,} parameters", sys.stdout)


def _solution_fitness(run_dir: Path) -> float | None:
    """The fitness best.json records (None when it cannot be read)."""
    try:
        return float(json.loads((run_dir / "best.json").read_text())["fitness"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cmd_replay(args: argparse.Namespace) -> int:
    from evolve.genome_tools import genome_path
    from evolve.replay import replay, run_fitness

    if args.output.suffix.lower() not in (".mp4", ".gif"):
        raise UsageError(f"{args.output}: the video must be .mp4 or .gif")
    overrides = [*args.overrides, *([f"env.rom={json.dumps(args.rom)}"] if args.rom else [])]
    source = genome_path(args.path)
    result = replay(source, args.output, args.env, overrides, args.seed)
    recorded = run_fitness(source)
    beside = "" if recorded is None else f"; the run recorded fitness {recorded:.6g} for this genome"
    print(f"replayed episode (--seed {args.seed}): " + " ".join(f"{k}={v:.6g}" for k, v in result.items())
          + f"{beside}; wrote {args.output}")
    if recorded is not None and recorded != result["fitness"]:
        print("the recorded fitness is the task's own evaluation (every episode of env.episodes, each with its own "
              "seed, and for the pole tasks the full test), where the replay plays one episode (at most the video's "
              "cap)")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from evolve.genome_tools import genome_path
    from evolve.play import evaluate_genome

    overrides = [*args.overrides, *([f"env.rom={json.dumps(args.rom)}"] if args.rom else [])]
    report = evaluate_genome(genome_path(args.path), args.episodes, args.seed, args.env, overrides)
    shown = ("score", "solved")
    for episode in report["episodes"]:
        extra = " ".join(f"{k}={v:.6g}" for k, v in episode.items() if k not in (*shown, "episode")
                         and isinstance(v, (int, float)))
        print(f"episode {episode['episode']}: score {episode['score']:.6g}{' solved' if episode['solved'] else ''}"
              f"{' ' + extra if extra else ''}")
    figures = " ".join(f"{k} {report[k]:.6g}" if isinstance(report[k], float) else f"{k} {report[k]}"
                       for k in report if k not in ("path", "env", "seed", "episodes", "scores", "mean", "solved"))
    print(f"{report['env']}: mean score {report['mean']:.6g} over {len(report['scores'])} episode"
          f"{'s' if len(report['scores']) != 1 else ''}{', every one solved' if report['solved'] else ''}"
          f"{'; ' + figures if figures else ''}")
    if args.json:
        print(json.dumps(report))
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from evolve.plot import plot_runs

    print(f"wrote {plot_runs(args.runs, args.output)}")
    return 0


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from evolve.dashboard import serve

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {args.port}")
    serve(args.runs_dir, args.host, args.port)
    return 0


COMMANDS = {
    "run": _cmd_run,
    "resume": _cmd_resume,
    "inspect": _cmd_inspect,
    "export": _cmd_export,
    "replay": _cmd_replay,
    "evaluate": _cmd_evaluate,
    "plot": _cmd_plot,
    "dashboard": _cmd_dashboard,
}
BUILT_IN = frozenset(COMMANDS)  # plugin commands join COMMANDS when the parser scans for them

if __name__ == "__main__":
    sys.exit(main())
