"""``phusong serve``: what-if planning of BUNDLE in the browser (local web application)."""

from __future__ import annotations

import ipaddress
import logging
import secrets
from pathlib import Path

import click

from phusong.analysis.cli._options import RunOptions, bundle_argument, progress, shared_options

logger = logging.getLogger(__name__)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command(name="serve")
@bundle_argument
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="TCP port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but a loopback address needs --token.")
@click.option("--token", "token", default=None, metavar="TOKEN",
              help="Access token every request must present (the page gets it from the "
                   "printed address). Required off loopback; '-' generates one.")
@click.option("--scenarios", "scenarios", type=click.Path(path_type=Path), default=None,
              help="Folder of scenario files (default: BUNDLE/scenarios, beside the bundle's "
                   "files, which are never modified).")
@click.option("--cache-mb", "cache_mb", type=click.FloatRange(min=16), default=512.0,
              show_default=True, help="Memory for cached fields of added sites.")
@shared_options(out=False)
def cli(bundle: Path, port: int, host: str, token: str | None, scenarios: Path | None,
        cache_mb: float, opts: RunOptions) -> None:
    """Serve BUNDLE's planning map on http://HOST:PORT: add, move, remove or share sites,
    switch technologies off, and see village statuses and report lines change at once.
    Scenarios are saved as JSON diffs beside the bundle and read by ``phusong analyse
    --scenario``.
    """
    from phusong.gis.errors import InputError, MissingDependencyError

    if not _is_loopback(host) and not token:
        raise InputError(f"--host {host} is not a loopback address: pass --token TOKEN (or "
                         "--token - to generate one) so that only people with the token can "
                         "edit")
    if token == "-":
        token = secrets.token_urlsafe(24)
    if token is not None and len(token) < 16:
        raise InputError("--token: use at least 16 characters")
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("phusong serve needs uvicorn and FastAPI: "
                                     "pip install 'phusong[serve]'") from None

    from phusong.analysis.serve.app import create_app
    from phusong.analysis.serve.planner import Planner
    from phusong.layers.bundle import read_bundle

    settings = opts.settings
    model = opts.model
    b = read_bundle(bundle)
    folder = scenarios or (Path(bundle) if Path(bundle).is_dir() else Path(bundle).parent) \
        / "scenarios"
    click.echo(f"computing the coverage of {b.province or bundle} (once) ...")
    with progress(opts) as bar:
        task = bar.add_task("coverage", total=max(1, len(b.layer("bts"))))
        planner = Planner(b, settings=settings, model=model, cache_mb=cache_mb,
                          progress=lambda done, total: bar.update(task, completed=done))
    click.echo(f"ready in {planner.startup_s:.1f} s; " + "; ".join(planner.lines()[:1]))
    app = create_app(planner, scenarios_dir=folder, token=token,
                     allowed_hosts=None if _is_loopback(host) else ["*"])
    app.state.server.layers()  # boundaries, fibre and hillshade ready before the first page
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    click.echo(f"open {url}  (Ctrl+C stops; scenarios in {folder})")
    uvicorn.run(app, host=host, port=port, log_level="warning", limit_concurrency=64,
                timeout_keep_alive=5)
