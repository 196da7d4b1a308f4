"""`evolve dashboard [RUNS_DIR]`: a read-only web page over a folder of runs and studies, live while runs go on.

Served by Starlette on uvicorn (a small, well-kept ASGI pair: routing, static files that refuse paths outside their
folder, no template engine or database to carry). The page (`dashboard_static/`) draws with uPlot, a 50 kB chart
library that keeps thousands of points per series smooth, vendored so the page works offline. It polls the JSON
endpoints every two seconds and appends new generations without a reload.

Endpoints, all GET, all read-only, all confined to RUNS_DIR:
  /api/entries                               runs and studies with their status
  /api/run/curves?path=P&after=G             a run's metrics lines after generation G
  /api/run/champion?path=P&generation=G      that generation's champion network as an interactive HTML page
  /api/run/file?path=P&name=N                a video of the run (.mp4, .gif)
  /api/study/trials?path=P                   a study's trials
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evolve import dashboard_data as data

STATIC = Path(__file__).with_name("dashboard_static")


def make_app(root: Path) -> Any:
    """The Starlette application serving `root`."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    root = Path(root).resolve()

    def folder(request: Request) -> Path:
        try:
            path = data.resolve(root, request.query_params.get("path", ""))
        except data.OutsideRoot:
            raise HTTPException(404, "no such run under the dashboard's folder") from None
        if not path.is_dir():
            raise HTTPException(404, "no such run under the dashboard's folder")
        return path

    def integer(request: Request, name: str, default: int) -> int:
        try:
            return int(request.query_params.get(name, default))
        except ValueError:
            raise HTTPException(400, f"{name} must be an integer") from None

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def entries(request: Request) -> Response:
        return JSONResponse({"root": str(root), "entries": data.list_entries(root)})

    async def curves(request: Request) -> Response:
        run = folder(request)
        return JSONResponse({"lines": data.run_curves(run, integer(request, "after", -1)), "videos": data.videos(run)})

    async def champion(request: Request) -> Response:
        run = folder(request)
        line = data.champion(run, integer(request, "generation", 0))
        if line is None:
            raise HTTPException(404, "no champion recorded for that generation")
        return HTMLResponse(_champion_page(line, run.name))

    async def run_file(request: Request) -> Response:
        run = folder(request)
        name = request.query_params.get("name", "")
        if name not in data.videos(run):
            raise HTTPException(404, "no such video in the run")
        return FileResponse(run / name)

    async def trials(request: Request) -> Response:
        return JSONResponse({"trials": data.read_trials(folder(request))})

    return Starlette(routes=[
        Route("/", index),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/api/entries", entries),
        Route("/api/run/curves", curves),
        Route("/api/run/champion", champion),
        Route("/api/run/file", run_file),
        Route("/api/study/trials", trials),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])


def _champion_page(line: dict[str, Any], run_name: str) -> str:
    from genomes.families import load_document

    try:
        genome = load_document(line["genome"])
        graph = genome.to_graph()
    except Exception as exc:  # noqa: BLE001 - a damaged line is shown, never a server error
        return f"<p>this champion cannot be drawn: {type(exc).__name__}</p>"
    from genomes.render import MAX_DRAWN_NODES, layout
    from genomes.render_html import html_document

    if graph.number_of_nodes() > MAX_DRAWN_NODES[".html"]:
        return f"<p>{graph.number_of_nodes():,} nodes are too many to draw</p>"
    title = f"{run_name}: champion of generation {line['generation']} (fitness {line['fitness']:.6g})"
    return html_document(graph, layout(graph), title)


def serve(root: Path, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve the dashboard until interrupted."""
    import socket

    import uvicorn

    from evolve.config import ConfigError

    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"{root} is not a folder of runs")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:  # bound here, so a port in use is one line of ours, before the page is announced
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    print(f"dashboard of {root.resolve()} at http://{host}:{listener.getsockname()[1]}/ (Ctrl-C stops it)", flush=True)
    server = uvicorn.Server(uvicorn.Config(make_app(root), log_level="warning"))
    server.run(sockets=[listener])
