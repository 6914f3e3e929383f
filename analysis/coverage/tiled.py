"""Coverage beyond one province: DEM tiles with a halo, run on dask.distributed (DESIGN §8).

The work is split twice:

* **by province** — every bundle is its own task graph on its own grid and CRS (each province
  keeps its VN-2000 TM-3 zone);
* **by DEM tile** — a province's grid is cut into square core tiles of ``tile_km``
  (:func:`gis.tiling.tile_grid`). Each BTS belongs to the tile whose core holds it; the tile's
  task reads only its *window* of the DEM — the core plus a halo of the maximum reach (the
  terrain model's ``settings.max_radius_km``, or the largest radius of the radius model) plus
  two cells — and computes the best-server field of its own BTS with
  :func:`analysis.coverage.compute_coverage`.

Why this equals the single run: a BTS's field is computed by rays that never leave the disc
of the maximum reach around it, and the disc lies inside its tile's window, so each BTS's
field is the same whichever window it is computed in (the window lines up with the grid cell
for cell, no resampling). The best server is the maximum over BTS, and a maximum can be taken
in any grouping: the client merges the tiles' blocks with a NaN-ignoring maximum
(:func:`gis.tiling.place_max`) into the province's full grid, then computes village status
(:func:`analysis.status.village_status`) and ratios (:func:`analysis.ratios.coverage_ratios`)
on the merged fields, so villages that straddle tile edges are handled like any other.
No BTS is computed twice (splitting by site rather than by output cell avoids recomputing the
halo's transmitters in every neighbouring tile).

Before tiling, a DEM that is not already in the province's metric CRS, or that has voids, is
read once exactly as the single run reads it (reprojected, voids filled) and written to a
work folder; tiles read windows of that copy, and void cells are blanked after the merge as
the single run blanks them. A bundle without a DEM (radius model on a grid derived from the
layers) runs as one province-level task.

Scheduling is dask.distributed's: a :class:`~distributed.LocalCluster` by default (worker
processes, one thread each) or an existing scheduler by address (:func:`open_client`); with
a remote cluster the workers must see the bundles' and the output folder's paths (a shared
file system), since tasks read the DEM by path.
Tasks receive a file path, a window and their (small) BTS table, never the DEM array; they
return only the finite part of each field. A province's merged fields live on the client
until its outputs are written (about 12 fields × 4 bytes × its DEM cells: ~0.5 GB for a
10⁷-cell province), then are freed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from phusong.analysis.coverage.models import DEFAULT_MODEL_WITH_DEM, MODELS, TERRAIN_MODELS
from phusong.gis.crs import reproject
from phusong.gis.errors import DEMError, InputError, MissingDependencyError
from phusong.gis.tiling import (
    GridWindow,
    Tile,
    assign_cells,
    finite_bbox,
    halo_cells_for,
    place_max,
    read_window,
    tile_grid,
)
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.checks import check_bundle
from phusong.layers.settings import DEFAULT, TECHNOLOGIES, Settings

logger = logging.getLogger(__name__)

__all__ = ["ProvincePlan", "RunSummary", "TileOutput", "TileTask", "coverage_tiled",
           "merge_tiles", "open_client", "plan_province", "reach_m", "run_provinces",
           "run_tile"]


# ------------------------------------------------------------------------------------------
# plan


def reach_m(model: str, *, settings: Settings = DEFAULT) -> float:
    """The farthest a BTS's field reaches under ``model`` (metres): the tiles' halo."""
    if model in TERRAIN_MODELS:  # terrain and itm sweep out to the cap
        return float(settings.max_radius_km) * 1000.0
    radii = [*settings.radius_km.values(), *settings.radius_km_by_band.values()]
    return float(max(radii)) * 1000.0


@dataclasses.dataclass
class TileTask:
    """Everything one tile's worker needs; small and picklable (no DEM array)."""

    province: str
    tile: Tile
    dem_path: str
    bts: gpd.GeoDataFrame
    meta: dict[str, str]
    model: str
    settings: dict
    numba_threads: int | None = None


@dataclasses.dataclass
class TileOutput:
    """What a tile's worker returns: finite blocks placed on the province grid, and costs.

    Attributes
    ----------
    blocks
        ``(operator, tech)`` → ``(window, float32 block)``, window in full-grid cells.
    site_counts
        BTS per ``(operator, tech)`` computed in this tile.
    n_sites, window_cells
        BTS computed and DEM cells read.
    cells_evaluated
        Sum over the tile's BTS of the grid cells within the reach (the kernel's work; a
        lattice estimate).
    seconds
        Wall time of the task on the worker.
    worker, peak_rss_bytes
        ``host:pid`` of the worker process and its peak resident memory so far
        (``getrusage`` max RSS; with a threaded cluster this is the whole process's).
    """

    province: str
    tile_index: int
    blocks: dict[tuple[str, str], tuple[GridWindow, np.ndarray]]
    site_counts: dict[tuple[str, str], int]
    n_sites: int
    window_cells: int
    cells_evaluated: int
    seconds: float
    worker: str
    peak_rss_bytes: int


@dataclasses.dataclass
class ProvincePlan:
    """One province cut into tile tasks.

    Attributes
    ----------
    key
        Output name of the province (the bundle folder's name).
    bundle
        The province bundle (read once on the client).
    grid
        The full coverage grid (the DEM's).
    model
        ``"terrain"`` or ``"radius"``.
    dem_path
        The DEM the tiles read (the bundle's, or a prepared metric, void-filled copy).
    void_mask
        Cells that are voids in the bundle's DEM (blanked after the merge), or None.
    tiles, tasks
        All tiles of the grid and the tasks of the tiles that hold BTS.
    tile_cells, halo_cells
        Core tile side and halo width in cells.
    """

    key: str
    bundle: ProvinceBundle
    grid: object
    model: str
    dem_path: Path | None
    void_mask: np.ndarray | None
    tiles: list[Tile]
    tasks: list[TileTask]
    tile_cells: int
    halo_cells: int

    @property
    def n_cells(self) -> int:
        rows, cols = self.grid.shape
        return int(rows) * int(cols)


def _bts_filtered(bundle: ProvinceBundle, operators, techs) -> gpd.GeoDataFrame:
    bts = bundle.layer("bts")
    if operators is not None:
        bts = bts[bts["operator"].astype(str).isin({str(o) for o in operators})]
    if techs is not None:
        bts = bts[bts["tech"].astype(str).isin(set(techs))]
    return bts


def _prepare_dem(bundle: ProvinceBundle, dem_path: Path, work_dir: Path | None,
                 key: str) -> tuple[Path, object, np.ndarray | None]:
    """The DEM tiles read, the grid, and the void mask (see the module docstring)."""
    import rasterio

    from phusong.analysis.coverage.engine import CoverageGrid
    from phusong.gis.dem import fill_voids, read_dem, write_raster

    metric = bundle.metric_crs
    with rasterio.open(dem_path) as src:
        same_crs = src.crs is not None and CRS.from_user_input(src.crs.to_wkt()).equals(metric)
    dem = read_dem(dem_path, crs=metric)
    void = ~np.isfinite(dem.elevation_m)
    grid = CoverageGrid(dem.transform, dem.crs, dem.shape)
    if same_crs and not void.any():
        return dem_path, grid, None
    if work_dir is None:
        raise InputError(f"{dem_path}: the DEM is not in {metric.to_string()} or has voids; "
                         "tiling needs a prepared copy: pass work_dir= (the CLI uses --out)")
    work_dir.mkdir(parents=True, exist_ok=True)
    prepared = write_raster(work_dir / f"{key}_dem_metric.tif", fill_voids(dem.elevation_m),
                            dem.transform, dem.crs, overwrite=True)
    logger.info("prepared %s for tiling: %s, %d void cells filled", dem_path.name,
                metric.to_string(), int(void.sum()))
    return prepared, grid, (void if void.any() else None)


def plan_province(bundle: ProvinceBundle, *, tile_km: float = 50.0,
                  settings: Settings = DEFAULT, model: str | None = None,
                  operators: Iterable[str] | None = None, techs: Iterable[str] | None = None,
                  work_dir: str | os.PathLike | None = None, key: str | None = None,
                  numba_threads: int | None = None) -> ProvincePlan:
    """Cut a province into tile tasks.

    Parameters
    ----------
    bundle
        A bundle with a DEM (``bundle.dem_path``).
    tile_km
        Side of a core tile.
    model
        ``"terrain"`` (default) or ``"radius"`` on the DEM grid.
    operators, techs
        Restrict to these operators / technologies.
    work_dir
        Where a prepared DEM is written when the bundle's DEM needs reprojecting or has voids.
    key
        Output name (default: the bundle folder's name, else the province name).
    numba_threads
        Threads the compiled kernel may use inside each task (None: numba's default).

    Returns
    -------
    ProvincePlan
    """
    if not tile_km > 0:
        raise InputError(f"tile_km={tile_km}: must be > 0")
    key = key or (bundle.folder.name if bundle.folder is not None else bundle.province)
    if bundle.dem_path is None:
        raise DEMError(f"province {key!r}: no DEM in the bundle; tiling splits the DEM grid "
                       "(run it as one province-level task instead)")
    model = model or DEFAULT_MODEL_WITH_DEM
    if model not in MODELS:
        raise InputError(f"model={model!r}: use one of {MODELS}")
    dem_path, grid, void = _prepare_dem(bundle, bundle.dem_path,
                                        Path(work_dir) if work_dir else None, key)
    res = min(grid.res_xy)
    tile_cells = max(1, round(tile_km * 1000.0 / res))
    halo = halo_cells_for(reach_m(model, settings=settings), res)
    tiles = tile_grid(grid.shape, tile_cells=tile_cells, halo_cells=halo)
    bts = _bts_filtered(bundle, operators, techs)
    tasks: list[TileTask] = []
    if len(bts):
        bm = reproject(bts, grid.crs)
        rr, cc, _inside = grid.rowcol(bm.geometry.x.to_numpy(), bm.geometry.y.to_numpy())
        owner = assign_cells(rr, cc, grid.shape, tile_cells=tile_cells)
        meta = {**bundle.meta, "metric_epsg": str(grid.crs.to_epsg() or
                                                  bundle.meta.get("metric_epsg", ""))}
        for t in tiles:
            sel = np.flatnonzero(owner == t.index)
            if sel.size == 0:
                continue
            tasks.append(TileTask(province=key, tile=t, dem_path=str(dem_path),
                                  bts=bts.iloc[sel].copy(), meta=meta, model=model,
                                  settings=settings.to_dict(), numba_threads=numba_threads))
    logger.info("planned %s: %d×%d cells, %d tiles of %.0f km (halo %d cells), %d with BTS",
                key, grid.shape[0], grid.shape[1], len(tiles), tile_km, halo, len(tasks))
    return ProvincePlan(key=key, bundle=bundle, grid=grid, model=model, dem_path=dem_path,
                        void_mask=void, tiles=tiles, tasks=tasks, tile_cells=tile_cells,
                        halo_cells=halo)


# ------------------------------------------------------------------------------------------
# the task


def _peak_rss_bytes() -> int:
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux: KiB
    except Exception:  # pragma: no cover - non-POSIX
        import psutil

        return int(psutil.Process().memory_info().rss)


def _cells_within(col: np.ndarray, row: np.ndarray, shape: tuple[int, int],
                  radius_cells: float) -> int:
    """Σ over points of the grid cells within ``radius_cells`` (lattice estimate)."""
    k = max(1, int(radius_cells // 48))
    n = int(radius_cells // k)
    dr, dc = np.mgrid[-n:n + 1, -n:n + 1]
    keep = np.hypot(dr, dc) * k <= radius_cells
    dr, dc = dr[keep] * k, dc[keep] * k
    total = 0
    for r, c in zip(np.floor(row).astype(np.int64), np.floor(col).astype(np.int64),
                    strict=True):
        rr, cc = r + dr, c + dc
        total += int(((rr >= 0) & (rr < shape[0]) & (cc >= 0) & (cc < shape[1])).sum())
    return total * k * k


def run_tile(task: TileTask) -> TileOutput:
    """Compute one tile's BTS on its DEM window (runs on a worker).

    Returns the finite bounding block of each (operator, tech) field, placed in full-grid
    cells.
    """
    import socket

    from phusong.analysis.coverage.engine import compute_coverage

    t0 = time.perf_counter()
    if task.numba_threads:
        import numba

        numba.set_num_threads(max(1, min(int(task.numba_threads),
                                         numba.config.NUMBA_NUM_THREADS)))
    settings = Settings.from_mapping(task.settings)
    window = task.tile.window
    dem = read_window(task.dem_path, window)
    sub = ProvinceBundle(layers={"bts": task.bts}, meta=dict(task.meta), folder=None)
    cov = compute_coverage(sub, model=task.model, dem=dem, settings=settings)
    bm = reproject(task.bts, dem.crs)
    col, row = dem.xy_to_colrow_f(bm.geometry.x.to_numpy(), bm.geometry.y.to_numpy())
    evaluated = _cells_within(col, row, dem.shape,
                              reach_m(task.model, settings=settings) / min(dem.res_xy))
    blocks = {}
    for key, arr in cov.best_dbm.items():
        box = finite_bbox(arr)
        if box is None:
            continue
        placed = GridWindow(window.row_off + box.row_off, window.col_off + box.col_off,
                            box.height, box.width)
        blocks[key] = (placed, np.ascontiguousarray(arr[box.slices]))
    return TileOutput(province=task.province, tile_index=task.tile.index, blocks=blocks,
                      site_counts=dict(cov.site_counts), n_sites=len(task.bts),
                      window_cells=window.size, cells_evaluated=evaluated,
                      seconds=time.perf_counter() - t0,
                      worker=f"{socket.gethostname()}:{os.getpid()}",
                      peak_rss_bytes=_peak_rss_bytes())


def _run_whole(bundle_path: str, model: str | None, settings: dict, operators, techs):
    """A province without a DEM, as one task (radius model on the layers' grid)."""
    from phusong.analysis.coverage.engine import compute_coverage

    bundle = check_bundle(bundle_path).bundle
    t0 = time.perf_counter()
    cov = compute_coverage(bundle, model=model, settings=Settings.from_mapping(settings),
                           operators=operators, techs=techs)
    return cov, time.perf_counter() - t0, _peak_rss_bytes()


# ------------------------------------------------------------------------------------------
# merge


def merge_tiles(plan: ProvincePlan, outputs: Iterable[TileOutput], *,
                settings: Settings = DEFAULT):
    """Merge tile outputs into one :class:`~analysis.coverage.CoverageResult` on the full grid.

    Blocks are combined with a NaN-ignoring maximum (best server), in any order.
    """
    acc = _Accumulator(plan, settings=settings)
    for out in outputs:
        acc.add(out)
    return acc.result()


class _Accumulator:
    """Client-side merge of one province's tiles."""

    def __init__(self, plan: ProvincePlan, *, settings: Settings) -> None:
        self.plan = plan
        self.settings = settings
        self.fields: dict[tuple[str, str], np.ndarray] = {}
        self.site_counts: dict[tuple[str, str], int] = {}
        self.outputs: list[TileOutput] = []
        self.received = 0

    @property
    def done(self) -> bool:
        return self.received >= len(self.plan.tasks)

    def add(self, out: TileOutput) -> None:
        for key, (window, block) in out.blocks.items():
            dest = self.fields.get(key)
            if dest is None:
                dest = self.fields[key] = np.full(self.plan.grid.shape, np.nan,
                                                  dtype=np.float32)
            place_max(dest, block, window)
        for key, n in out.site_counts.items():
            self.site_counts[key] = self.site_counts.get(key, 0) + int(n)
        for key in out.site_counts:  # a field with no finite cell still exists (all NaN)
            if key not in self.fields:
                self.fields[key] = np.full(self.plan.grid.shape, np.nan, dtype=np.float32)
        out.blocks = {}  # keep the costs, drop the arrays
        self.outputs.append(out)
        self.received += 1

    def result(self):
        from phusong.analysis.coverage.engine import CoverageResult

        if self.plan.void_mask is not None:
            for arr in self.fields.values():
                arr[self.plan.void_mask] = np.nan
        thresholds = {t: float(self.settings.threshold_dbm[t]) for t in TECHNOLOGIES}
        res = CoverageResult(model=self.plan.model, grid=self.plan.grid,
                             best_dbm=dict(sorted(self.fields.items())),
                             thresholds_dbm=thresholds,
                             sample=bool(self.plan.bundle.is_sample),
                             site_counts=dict(sorted(self.site_counts.items())))
        logger.info("merged %d tiles of %s into %d fields on %d×%d cells", self.received,
                    self.plan.key, len(res.best_dbm), *self.plan.grid.shape)
        return res


# ------------------------------------------------------------------------------------------
# client


def _numba_threads_for(client) -> int:
    """Kernel threads per task: each host's cores shared among its worker threads."""
    try:
        info = client.scheduler_info()["workers"]
        cores = client.run(os.cpu_count)
    except Exception:  # pragma: no cover - scheduler without info
        return 1
    threads: dict[str, int] = {}
    host_cores: dict[str, int] = {}
    for addr, w in info.items():
        host = str(w.get("host", ""))
        threads[host] = threads.get(host, 0) + int(w.get("nthreads", 1))
        host_cores[host] = int(cores.get(addr) or 1)
    if not threads:
        return 1
    return max(1, min(host_cores[h] // n for h, n in threads.items()))


@contextlib.contextmanager
def open_client(scheduler: str | None = None, *, n_workers: int | None = None,
                memory_limit: str | int = "auto", processes: bool = True,
                dashboard: bool = False) -> Iterator:
    """A dask.distributed client: a new LocalCluster, or an existing scheduler.

    Parameters
    ----------
    scheduler
        Address of a running scheduler (``tcp://host:8786``); None starts a LocalCluster.
    n_workers
        LocalCluster workers (default: the machine's cores), one thread each.
    memory_limit
        LocalCluster memory limit per worker (dask's syntax: ``"4GiB"``, ``"auto"``).
    processes
        LocalCluster workers as processes (default) or threads of this process.
    dashboard
        Log the address of the LocalCluster's dashboard. dask's scheduler always serves
        HTTP; it goes on a free port, never a fixed 8787 that another run may hold.

    Yields
    ------
    distributed.Client
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask is a dependency
        raise MissingDependencyError("dask.distributed is missing: pip install "
                                     "'dask[distributed]'") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise InputError(f"cannot reach the dask scheduler at {scheduler} ({exc}); "
                             "start one with `dask scheduler` or omit --scheduler") from None
        logger.info("connected to dask scheduler %s (%d workers)", scheduler,
                    len(client.scheduler_info()["workers"]))
        try:
            yield client
        finally:
            client.close()
        return
    n = int(n_workers or os.cpu_count() or 1)
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=processes,
                      memory_limit=memory_limit, silence_logs=logging.ERROR,
                      dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        logger.info("started a dask LocalCluster: %d workers (%s), memory limit %s", n,
                    "processes" if processes else "threads", memory_limit)
        if dashboard:
            logger.info("dask dashboard: %s", client.dashboard_link)
        yield client


def coverage_tiled(bundle: ProvinceBundle, *, client, tile_km: float = 50.0,
                   settings: Settings = DEFAULT, model: str | None = None,
                   operators: Iterable[str] | None = None, techs: Iterable[str] | None = None,
                   work_dir: str | os.PathLike | None = None):
    """:func:`~analysis.coverage.compute_coverage` of one province, tiled on a dask cluster.

    Same result as the single run (see the module docstring), computed tile by tile on
    ``client``'s workers.

    Returns
    -------
    analysis.coverage.CoverageResult
    """
    from distributed import as_completed

    plan = plan_province(bundle, tile_km=tile_km, settings=settings, model=model,
                         operators=operators, techs=techs, work_dir=work_dir,
                         numba_threads=_numba_threads_for(client))
    acc = _Accumulator(plan, settings=settings)
    futures = client.map(run_tile, plan.tasks, pure=False)
    for fut in as_completed(futures):
        acc.add(fut.result())
        fut.release()
    return acc.result()


# ------------------------------------------------------------------------------------------
# many provinces


@dataclasses.dataclass
class RunSummary:
    """What :func:`run_provinces` did.

    Attributes
    ----------
    provinces
        One row per province: ``province``, ``name``, ``villages``, ``bts``, ``dem_cells``,
        ``tiles``, ``tile_tasks``, ``task_seconds`` (sum over its tasks), ``wall_s`` (from
        submission to outputs written), ``sample``.
    tiles
        One row per task: ``province``, ``tile``, ``sites``, ``window_cells``,
        ``cells_evaluated``, ``seconds``, ``worker``, ``peak_rss_mb``.
    status
        Merged village status of every province (``province`` column first).
    ratios
        Merged province-level ratios.
    files
        Every file written.
    wall_s
        Wall time of the whole run.
    """

    provinces: pd.DataFrame
    tiles: pd.DataFrame
    status: pd.DataFrame
    ratios: pd.DataFrame
    files: list[Path]
    wall_s: float

    def peak_rss_mb_per_worker(self) -> pd.Series:
        """Peak resident memory of each worker process seen by the tasks (MiB)."""
        if self.tiles.empty:
            return pd.Series(dtype=float)
        return self.tiles.groupby("worker")["peak_rss_mb"].max()


def _province_outputs(key: str, bundle: ProvinceBundle, cov, *, out: Path,
                      settings: Settings, overwrite: bool,
                      write_rasters: bool) -> tuple[pd.DataFrame, pd.DataFrame, list[Path]]:
    from phusong.analysis.coverage.ratios import coverage_ratios
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.export import write_table

    folder = out / key
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    if write_rasters:
        files += cov.write_rasters(folder / "coverage", overwrite=overwrite)
    status = village_status(bundle, cov, settings=settings)
    ratios = coverage_ratios(bundle, status, level="province", settings=settings)
    headers = settings.language
    sample = bundle.is_sample
    files.append(write_table(status.reset_index(), folder / "village_status.csv",
                             headers=headers, overwrite=overwrite, sample=sample))
    files.append(write_table(ratios.reset_index(), folder / "ratios.csv", headers=headers,
                             overwrite=overwrite, sample=sample))
    return status, ratios, files


def _key_of(path: Path, bundle: ProvinceBundle) -> str:
    return path.name if path.suffix.lower() != ".gpkg" else path.stem


def run_provinces(bundle_paths: Sequence[str | os.PathLike], *, out: str | os.PathLike,
                  client, tile_km: float = 50.0, settings: Settings = DEFAULT,
                  model: str | None = None, overwrite: bool = False,
                  write_rasters: bool = True,
                  progress: Callable[[int, int], None] | None = None) -> RunSummary:
    """Coverage, village status and ratios of several provinces on a dask cluster.

    Every province is planned (:func:`plan_province`) and all tile tasks are submitted at
    once; as a province's last tile arrives its fields are merged, its outputs written under
    ``out/<province>/`` (``coverage/coverage_<op>_<tech>.tif``, ``village_status.csv``,
    ``ratios.csv``) and its fields freed. Finally ``out/village_status_all.csv``,
    ``out/ratios_all.csv`` and ``out/run_summary.csv`` gather every province.

    Parameters
    ----------
    bundle_paths
        Bundle folders (or ``.gpkg`` files); their names are the provinces' output names.
    out
        Output folder.
    client
        A ``distributed.Client`` (:func:`open_client`).
    tile_km
        Side of a core tile.
    model
        ``"terrain"`` (default with a DEM) or ``"radius"``.
    overwrite
        Replace existing outputs.
    write_rasters
        Write the per-operator coverage GeoTIFFs.
    progress
        Called as ``progress(done, total)`` after each task.

    Returns
    -------
    RunSummary
    """

    from phusong.gis.atomic import check_writable

    t_start = time.perf_counter()
    out = Path(out)
    paths = [Path(p) for p in bundle_paths]
    if not paths:
        raise InputError("no province to run: give bundle folders or --provinces")
    for name in ("village_status_all.csv", "ratios_all.csv", "run_summary.csv"):
        check_writable(out / name, overwrite=overwrite)
    bundles = [check_bundle(p).bundle for p in paths]  # accepted rows only (cached)
    keys = [_key_of(p, b) for p, b in zip(paths, bundles, strict=True)]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise InputError(f"two bundles share the output name {dupes}; give each province "
                         "its own folder name")
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="_tiles_", dir=out))
    try:
        return _run(keys, bundles, paths, out=out, work=work, client=client, tile_km=tile_km,
                    settings=settings, model=model, overwrite=overwrite,
                    write_rasters=write_rasters, progress=progress, t_start=t_start)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(keys: list[str], bundles: list[ProvinceBundle], paths: list[Path], *, out: Path, work: Path, client,
         tile_km: float, settings: Settings, model: str | None, overwrite: bool,
         write_rasters: bool, progress, t_start: float) -> RunSummary:
    from distributed import as_completed

    from phusong.analysis.export import write_table

    threads = _numba_threads_for(client)
    settings_d = settings.to_dict()
    accs: dict[str, _Accumulator] = {}
    whole: dict = {}
    submitted_at: dict[str, float] = {}
    futures = []
    for key, bundle, path in zip(keys, bundles, paths, strict=True):
        submitted_at[key] = time.perf_counter()
        if bundle.dem_path is None:
            fut = client.submit(_run_whole, str(path), model, settings_d, None, None,
                                pure=False)
            whole[fut.key] = key
            futures.append(fut)
            continue
        plan = plan_province(bundle, tile_km=tile_km, settings=settings, model=model,
                             work_dir=work, key=key, numba_threads=threads)
        accs[key] = _Accumulator(plan, settings=settings)
        futures += client.map(run_tile, plan.tasks, pure=False)
    total = len(futures)
    rows: list[dict] = []
    statuses: list[pd.DataFrame] = []
    ratios: list[pd.DataFrame] = []
    files: list[Path] = []
    tile_rows: list[dict] = []
    by_key = dict(zip(keys, bundles, strict=True))

    def finish(key: str, cov, tasks: int, task_s: float, tiles: int) -> None:
        bundle = by_key[key]
        status, ratio, written = _province_outputs(key, bundle, cov, out=out,
                                                   settings=settings, overwrite=overwrite,
                                                   write_rasters=write_rasters)
        statuses.append(status.reset_index().assign(province=key))
        ratios.append(ratio.reset_index().assign(province=key))
        files.extend(written)
        rows.append({"province": key, "name": bundle.province,
                     "villages": len(bundle.layer("villages")), "bts": len(bundle.layer("bts")),
                     "dem_cells": int(cov.grid.shape[0]) * int(cov.grid.shape[1]),
                     "tiles": tiles, "tile_tasks": tasks, "task_seconds": round(task_s, 3),
                     "wall_s": round(time.perf_counter() - submitted_at[key], 3),
                     "sample": bundle.is_sample})

    # province with no BTS at all: nothing to submit, finish now
    for key, acc in accs.items():
        if not acc.plan.tasks:
            finish(key, acc.result(), 0, 0.0, len(acc.plan.tiles))
    done = 0
    for fut in as_completed(futures):
        res = fut.result()
        if fut.key in whole:
            key = whole[fut.key]
            cov, secs, rss = res
            tile_rows.append({"province": key, "tile": -1, "sites": len(by_key[key]["bts"]),
                              "window_cells": int(np.prod(cov.grid.shape)),
                              "cells_evaluated": 0, "seconds": secs, "worker": "", "peak_rss_mb": rss / 2**20})
            finish(key, cov, 1, secs, 1)
        else:
            acc = accs[res.province]
            tile_rows.append({"province": res.province, "tile": res.tile_index,
                              "sites": res.n_sites, "window_cells": res.window_cells,
                              "cells_evaluated": res.cells_evaluated,
                              "seconds": res.seconds, "worker": res.worker,
                              "peak_rss_mb": res.peak_rss_bytes / 2**20})
            acc.add(res)
            if acc.done:
                finish(res.province, acc.result(), len(acc.plan.tasks),
                       sum(o.seconds for o in acc.outputs), len(acc.plan.tiles))
                del accs[res.province]
        fut.release()
        done += 1
        if progress is not None:
            progress(done, total)
    order = {k: i for i, k in enumerate(keys)}
    prov = pd.DataFrame(rows).sort_values("province", key=lambda s: s.map(order))
    prov = prov.reset_index(drop=True)

    def merged(frames: list[pd.DataFrame]) -> pd.DataFrame:
        if not frames:
            return pd.DataFrame({"province": []})
        frames = sorted(frames, key=lambda f: order[f["province"].iloc[0]] if len(f) else 0)
        df = pd.concat(frames, ignore_index=True)
        return df[["province", *[c for c in df.columns if c != "province"]]]

    status_all = merged(statuses)
    ratios_all = merged(ratios)
    sample = any(b.is_sample for b in bundles)
    headers = settings.language
    files.append(write_table(status_all, out / "village_status_all.csv", headers=headers,
                             overwrite=overwrite, sample=sample))
    files.append(write_table(ratios_all, out / "ratios_all.csv", headers=headers,
                             overwrite=overwrite, sample=sample))
    files.append(write_table(prov, out / "run_summary.csv", headers="raw",
                             overwrite=overwrite, sample=sample))
    wall = time.perf_counter() - t_start
    logger.info("ran %d provinces (%d villages, %d tasks) in %.1f s", len(prov),
                int(prov["villages"].sum()) if len(prov) else 0, total, wall)
    return RunSummary(provinces=prov, tiles=pd.DataFrame(tile_rows), status=status_all,
                      ratios=ratios_all, files=files, wall_s=wall)
