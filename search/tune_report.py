"""What a tuning call leaves in its output directory: best.json, trials.csv and Optuna's matplotlib plots."""

from __future__ import annotations

import csv
import json
import logging
import warnings
from pathlib import Path
from typing import Any

from genomes.atomic_io import write_json_atomic, write_path_atomic

log = logging.getLogger(__name__)

REPORTS = frozenset({"best.json", "trials.csv", "history.png", "importance.png"})


def check_report_dir(out_dir: Path) -> None:
    """`out_dir` may receive a study's reports: a new or empty folder, or one that holds only a study's own files
    (its reports, study.db, and hidden temporaries of atomic writes); a file, a path under a file, a run directory
    or a folder of the user's other files is a ConfigError, so that tuning never writes over them."""
    from evolve.config import ConfigError, check_folder_path

    check_folder_path(out_dir, "a folder for the study's reports")
    if out_dir.is_dir():
        others = sorted(p.name for p in out_dir.iterdir()
                        if p.name not in REPORTS and not p.name.startswith(("study.db", ".")))
        if others:
            raise ConfigError(f"{out_dir} holds {others[0]!r}, which is no study report; name a new folder (or the "
                              f"study's own) for --out")


def write_reports(study: Any, config: Any, out_dir: Path, storage: str) -> dict[str, Any]:
    """best.json (the best parameters and value, or the Pareto front), trials.csv, history.png and
    importance.png; returns the best.json document."""
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    summary: dict[str, Any] = {
        "schema": "evolve-tune", "version": 1, "study": study.study_name, "storage": _redacted(storage),
        "objective": config.tune.objective, "directions": config.directions(), "sampler": config.tune.sampler,
        "pruner": config.tune.pruner, "trials": len(trials),
        "states": {state: sum(t.state.name == state for t in trials) for state in ("COMPLETE", "PRUNED", "FAIL")},
    }
    if len(config.directions()) == 1 and complete:
        best = study.best_trial
        summary.update(best_value=best.value, best_params=best.params, best_trial=best.number,
                       best_attrs=best.user_attrs)
    elif complete:
        summary["pareto_front"] = [{"trial": t.number, "values": t.values, "params": t.params}
                                   for t in study.best_trials]
    write_json_atomic(out_dir / "best.json", summary)
    write_trials_csv(trials, out_dir / "trials.csv")
    write_plots(study, config, out_dir, len(complete))
    return summary


def write_trials_csv(trials: list[Any], path: Path) -> None:
    params = sorted({name for t in trials for name in t.params})
    attrs = sorted({name for t in trials for name in t.user_attrs})
    width = max((len(t.values) for t in trials if t.values), default=1)
    values = ["value"] if width == 1 else [f"value_{i}" for i in range(width)]

    def write(tmp: Path) -> None:  # a temporary file of its own: drivers sharing an output folder never collide
        with tmp.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["number", "state", *values, "duration_s", *params, *(f"attr_{a}" for a in attrs)])
            for t in trials:
                duration = t.duration.total_seconds() if t.duration else ""
                row_values = list(t.values) if t.values else [""] * width
                writer.writerow([t.number, t.state.name, *row_values, duration,
                                 *(t.params.get(p, "") for p in params),
                                 *(json.dumps(t.user_attrs[a]) if a in t.user_attrs else "" for a in attrs)])

    write_path_atomic(path, write)


def write_plots(study: Any, config: Any, out_dir: Path, complete: int) -> None:
    """Optimization history (or the Pareto front) and parameter importances, when there is enough to draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    multi = len(config.directions()) > 1
    jobs = [("history.png", lambda: plots.plot_pareto_front(study) if multi else plots.plot_optimization_history(study))]
    if complete >= 2 and not multi:
        jobs.append(("importance.png", lambda: plots.plot_param_importances(study)))
    for name, draw in jobs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks its matplotlib backend experimental
            try:
                axes = draw()
            except (ValueError, RuntimeError) as exc:  # e.g. importances of a single distinct value
                log.warning("no %s: %s", name, exc)
                continue
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        write_path_atomic(out_dir / name, lambda tmp: figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight"))
        plt.close(figure)


def _redacted(url: str) -> str:
    """The storage URL without a password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse is shown as given
        return url
