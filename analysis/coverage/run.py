"""The whole coverage run of one province: rasters, village status, ratios, model comparison.

:func:`run_coverage` is what ``phusong coverage`` calls: :func:`analysis.coverage.engine.
compute_coverage`, :func:`analysis.coverage.status.village_status` and
:func:`analysis.coverage.ratios.coverage_ratios`, written under one folder; with ``compare``
the other model runs on the same grid and :func:`compare_models` /
:func:`comparison_figure` put the two side by side.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from phusong.analysis.coverage.engine import (
    CoverageResult,
    compute_coverage,
    link_budget_lines,
    load_dem,
)
from phusong.analysis.coverage.models import TERRAIN_MODELS
from phusong.analysis.coverage.ratios import LEVELS, coverage_lines, coverage_ratios
from phusong.analysis.coverage.status import village_status
from phusong.analysis.coverage.villages import village_centres
from phusong.analysis.export import write_table
from phusong.gis.dem import Dem
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.operators import OPERATORS
from phusong.layers.settings import DEFAULT, Settings, in_service_techs

logger = logging.getLogger(__name__)

__all__ = ["CoverageRun", "compare_models", "comparison_figure", "run_coverage"]


@dataclasses.dataclass
class CoverageRun:
    """Everything :func:`run_coverage` computed and wrote."""

    coverage: CoverageResult
    status: pd.DataFrame
    ratios: dict[str, pd.DataFrame]
    lines: list[str]
    paths: list[Path]
    comparison: pd.DataFrame | None = None
    comparison_summary: pd.DataFrame | None = None


def compare_models(bundle: ProvinceBundle, status_terrain: pd.DataFrame,
                   status_radius: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Village status under the terrain and the radius model, side by side.

    Returns
    -------
    tuple of pandas.DataFrame
        Per village (index ``village_id``): ``name``, ``commune_code``, ``population`` and,
        per operator and for any operator, ``radius_<op>``, ``terrain_<op>`` and
        ``dead_spot_<op>`` (True where the radius model says ``phu`` but the terrain model
        says ``lom`` or ``trang`` — the dead spots the radius model misses). Then a summary
        per operator: villages with signal under each model, white and lõm villages under
        each, and the count of such dead spots.
    """
    ops = [o.value for o in OPERATORS] + ["any"]
    per = status_terrain[["name", "commune_code", "population"]].copy()
    rows = []
    for op in ops:
        r = status_radius[f"status_{op}"]
        t = status_terrain[f"status_{op}"]
        per[f"radius_{op}"] = r
        per[f"terrain_{op}"] = t
        dead = (r == "phu") & (t != "phu")
        per[f"dead_spot_{op}"] = dead
        rows.append({"operator": op,
                     "villages": len(t),
                     "signal_radius": int((r != "trang").sum()),
                     "signal_terrain": int((t != "trang").sum()),
                     "trang_radius": int((r == "trang").sum()),
                     "trang_terrain": int((t == "trang").sum()),
                     "lom_radius": int((r == "lom").sum()),
                     "lom_terrain": int((t == "lom").sum()),
                     "dead_spots_missed_by_radius": int(dead.sum()),
                     "covered_by_terrain_only": int(((r == "trang") & (t != "trang")).sum())})
    summary = pd.DataFrame(rows).set_index("operator")
    return per, summary


def comparison_figure(bundle: ProvinceBundle, terrain: CoverageResult, radius: CoverageResult,
                      status_terrain: pd.DataFrame, status_radius: pd.DataFrame,
                      path: str | os.PathLike, *, operator: str = "viettel",
                      dem: Dem | None = None, settings: Settings = DEFAULT,
                      overwrite: bool = False) -> Path:
    """PNG: the operator's coverage under the radius and the terrain model, side by side.

    Coverage of the operator's technologies in service is drawn over a hillshade of the DEM;
    village centres are coloured by status (red trắng, orange lõm, green phủ).
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    from phusong.gis.atomic import atomic_path
    from phusong.gis.dem import hillshade

    techs = in_service_techs(settings)
    grid = terrain.grid
    stride = max(1, math.ceil(max(grid.shape) / 1400))
    rows, cols = grid.shape
    x0, y1 = grid.transform * (0, 0)
    x1, y0 = grid.transform * (cols, rows)
    extent = (x0 / 1000, x1 / 1000, y0 / 1000, y1 / 1000)
    cx, cy = village_centres(bundle.layer("villages"), grid.crs)
    colours = {"trang": "#d7191c", "lom": "#fdae61", "phu": "#1a9641"}
    fig = Figure(figsize=(14, 6.5), dpi=110)
    for k, (name, cov, st) in enumerate((("radius", radius, status_radius),
                                         ("terrain", terrain, status_terrain))):
        ax = fig.add_subplot(1, 2, k + 1)
        if dem is not None:
            ax.imshow(hillshade(dem)[::stride, ::stride], cmap="gray", extent=extent,
                      interpolation="nearest")
        mask = cov.covered_any([operator], techs)[::stride, ::stride]
        ax.imshow(np.where(mask, 1.0, np.nan), cmap=ListedColormap(["#2b83ba"]), alpha=0.45,
                  extent=extent, interpolation="nearest", vmin=0, vmax=1)
        col = st[f"status_{operator}"].map(colours).to_numpy()
        ax.scatter(cx / 1000, cy / 1000, c=col, s=16, edgecolors="black", linewidths=0.3)
        n_sig = int((st[f"status_{operator}"] != "trang").sum())
        ax.set_title(f"{operator} — {name} model: {n_sig}/{len(st)} villages with signal",
                     fontsize=10)
        ax.set_xlabel("x (km)")
        ax.set_ylabel("y (km)")
    label = "SAMPLE DATA — " if terrain.sample else ""
    fig.suptitle(f"{label}{bundle.province}: coverage as of {settings.as_of_date()} "
                 "(blue: covered; villages red trắng / orange lõm / green phủ)", fontsize=11)
    fig.tight_layout()
    with atomic_path(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp)
    logger.info("wrote comparison figure %s", path)
    return Path(path)


def run_coverage(bundle: ProvinceBundle, *, out: str | os.PathLike, dem: Dem | str | os.PathLike | None = None,
                 model: str | None = None, settings: Settings = DEFAULT,
                 operators: Iterable[str] | None = None, overwrite: bool = False,
                 compare: bool = False, write_rasters: bool = True, clutter: Any = None,
                 progress: Callable[[int, int], None] | None = None,
                 calibration: Any = None) -> CoverageRun:
    """Compute coverage, village status and ratios, and write them under ``out``.

    Writes ``coverage_<operator>_<tech>.tif``, ``village_status.csv``,
    ``coverage_ratios_<level>.csv`` (province, district, commune), ``link_budget.csv`` (one
    row per BTS: the values used, which came from the table, the limits) and, with ``compare``,
    ``model_comparison.csv`` and ``model_comparison_summary.csv`` (the other model is run
    on the same grid). CSVs are UTF-8 with BOM, machine column names, sample-labelled.
    ``calibration`` (an :class:`analysis.coverage.calibrate.Calibration`, e.g. read from the
    file of ``phusong calibrate``) has its corrections added to the fields before village
    status is derived.
    """
    out = Path(out)
    settings = settings.resolved()  # one analysis date for the run and its comparison
    dem = load_dem(bundle, dem)
    cov = compute_coverage(bundle, model=model, dem=dem, settings=settings,
                           operators=operators, clutter=clutter, progress=progress)
    if calibration is not None:
        calibration.apply(cov, bundle, settings=settings)
    status = village_status(bundle, cov, settings=settings)
    ratios = {lv: coverage_ratios(bundle, status, level=lv, settings=settings) for lv in LEVELS}
    lines = coverage_lines(ratios["province"], settings=settings)
    lines += link_budget_lines(cov, settings=settings)
    paths: list[Path] = []
    if write_rasters:
        paths += cov.write_rasters(out, overwrite=overwrite)
    sample = cov.sample
    if cov.budget is not None and len(cov.budget):
        paths.append(write_table(cov.budget.reset_index(drop=True), out / "link_budget.csv",
                                 headers="raw", overwrite=overwrite, sample=sample))
    paths.append(write_table(status.reset_index(), out / "village_status.csv", headers="raw",
                             overwrite=overwrite, sample=sample))
    for lv, df in ratios.items():
        paths.append(write_table(df.reset_index(), out / f"coverage_ratios_{lv}.csv",
                                 headers="raw", overwrite=overwrite, sample=sample))
    run = CoverageRun(coverage=cov, status=status, ratios=ratios, lines=lines, paths=paths)
    if compare:
        other = "radius" if cov.model in TERRAIN_MODELS else "terrain"
        cov2 = compute_coverage(bundle, model=other, dem=dem, settings=settings,
                                operators=operators)
        st2 = village_status(bundle, cov2, settings=settings)
        terrain_st, radius_st = (status, st2) if cov.model in TERRAIN_MODELS else (st2, status)
        per, summary = compare_models(bundle, terrain_st, radius_st)
        run.comparison, run.comparison_summary = per, summary
        paths.append(write_table(per.reset_index(), out / "model_comparison.csv",
                                 headers="raw", overwrite=overwrite, sample=sample))
        paths.append(write_table(summary.reset_index(), out / "model_comparison_summary.csv",
                                 headers="raw", overwrite=overwrite, sample=sample))
        t_cov, r_cov = (cov, cov2) if cov.model in TERRAIN_MODELS else (cov2, cov)
        op = next((o for o in ("viettel", "vinaphone", "mobifone", "vietnamobile")
                   if any(k[0] == o for k in t_cov.best_dbm)), None)
        if op is not None:
            paths.append(comparison_figure(bundle, t_cov, r_cov, terrain_st, radius_st,
                                           out / f"model_comparison_{op}.png", operator=op,
                                           dem=dem, settings=settings, overwrite=overwrite))
    logger.info("coverage run (%s) wrote %d files to %s", cov.model, len(paths), out)
    return run
