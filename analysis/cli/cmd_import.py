"""``phusong import``: bring one real source into a bundle.

::

    phusong import admin gadm41_VNM.gpkg --province "Lai Châu" --into bundles/lai-chau
    phusong import osm lai-chau.osm --into bundles/lai-chau
    phusong import osm "Lai Châu, Việt Nam" --into bundles/lai-chau      # online (Overpass)
    phusong import opencellid 452.csv.gz --into bundles/lai-chau --cluster-m 150
    phusong import dem srtm/ --into bundles/lai-chau
    phusong import population vnm_ppp_2020.tif --into bundles/lai-chau
    phusong import towers cot_viettel.xlsx --into bundles/lai-chau
    phusong import bts bts_viettel.xlsx --sheet "Viettel" --into bundles/lai-chau
    phusong import villages danh_sach_thon.xlsx --into bundles/lai-chau --mode replace
    phusong import post-offices buu_cuc.csv --columns cot.txt --into bundles/lai-chau
    phusong import fibre cap_quang.kmz --into bundles/lai-chau

``--into`` creates the bundle when missing. ``--mode add`` (default) adds rows to a layer
(rows whose id is already there are rejected), ``--mode replace`` replaces the layer; the
summary says how each layer changed.
Each import prints rows in / accepted / rejected per layer; rejected rows are written with
their reasons to ``BUNDLE/rejects/`` (or ``--out``).
"""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import verbosity_option

__all__ = ["cli", "print_reports"]

_into = click.option("--into", "into", required=True, type=click.Path(path_type=Path),
                     help="Bundle folder to import into (created when missing).")
_mode = click.option("--mode", type=click.Choice(["add", "replace", "append"]), default="add",
                     show_default=True, help="Add the rows to the layer (rows whose id is "
                     "already there are rejected) or replace the layer ('append' = 'add').")


def _mode_name(mode: str) -> str:
    """The library's name of a CLI mode (``add`` → ``append``)."""
    return "append" if mode in ("add", "append") else mode


_rejects = click.option("-o", "--out", "out", type=click.Path(path_type=Path), default=None,
                        help="Folder for the rejected rows (default: BUNDLE/rejects).")


def print_reports(reports, *, title: str) -> None:
    """Print import reports as a table, then their warnings."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=title)
    for name in ("layer", "source", "in", "accepted", "rejected", "warnings", "rejects"):
        table.add_column(name, justify="right" if name in ("in", "accepted", "rejected",
                                                          "warnings") else "left")
    for r in reports:
        table.add_row(r.layer, Path(r.source.split(",")[0]).name if r.layer != "dem" else
                      r.source, str(r.rows_in), str(r.accepted), str(r.rejected),
                      str(len(r.warnings)), "" if r.rejects_file is None else
                      f"{r.rejects_file.parent.name}/{r.rejects_file.name}")
    console.print(table)
    for r in reports:
        for line in r.warnings:
            console.print(f"[yellow]{r.layer}[/]: {line}", highlight=False, soft_wrap=True)
    for r in reports:
        if getattr(r, "change", ""):
            console.print(f"changed: {r.change}", highlight=False, soft_wrap=True)
        for f in getattr(r, "extra_files", ()):
            console.print(f"{r.layer}: match report {f}", highlight=False, soft_wrap=True)


@click.group(name="import")
def cli() -> None:
    """Import real data into a bundle: admin, osm, opencellid, dem, population, and the
    operators' and province's own lists: towers, bts, villages, post-offices, fibre."""


@cli.command(name="admin")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path,
                                                                   exists=True))
@_into
@click.option("--province", default=None,
              help='Province to keep, with or without diacritics ("Lai Châu", "lai chau").')
@click.option("--structure", type=click.Choice(["auto", "3-level", "2-level"]), default="auto",
              show_default=True, help="Province/district/commune (before 7/2025) or "
              "province/commune (after).")
@click.option("--crs", default=None, help="CRS of files without a .prj (e.g. 9205); detected "
              "from the coordinates when omitted.")
@click.option("--encoding", default=None, help="Text encoding of Shapefile attributes without "
              "a .cpg (utf-8, cp1258, tcvn3); detected when omitted.")
@click.option("--columns", "columns", type=click.Path(path_type=Path, exists=True),
              default=None, help="Column mapping file for a file of unknown layout "
              "(province_name = TINH, commune_code = MA_XA, commune_name = TEN_XA).")
@click.option("--clip", nargs=4, type=float, default=None, metavar="W S E N",
              help="Keep only the communes whose inside point lies in this lon/lat box.")
@_mode
@_rejects
@verbosity_option
def admin_cmd(sources: tuple[Path, ...], into: Path, province: str | None, structure: str,
              crs: str | None, encoding: str | None, columns: Path | None,
              clip: tuple[float, ...] | None, mode: str, out: Path | None) -> None:
    """Admin boundaries (GADM 4.1/2.x, post-2025, geoBoundaries, official files) from
    SOURCES; national files too (the province is picked by name)."""
    from phusong.layers.importers._common import read_column_map
    from phusong.layers.importers.build import import_admin_into

    reports = import_admin_into(into, list(sources), province=province, structure=structure,
                                crs=crs, encoding=encoding, mode=_mode_name(mode),
                                columns=None if columns is None else read_column_map(columns),
                                clip_lonlat=clip, rejects_dir=out)
    print_reports(reports, title=f"phusong import admin → {into}")


@cli.command(name="osm")
@click.argument("source")
@_into
@click.option("--layers", "layer_list", default="roads,villages,towers,bts,post_offices",
              show_default=True, help="Comma-separated layers to take from OSM.")
@click.option("--bbox", nargs=4, type=float, default=None, metavar="W S E N",
              help="Online: query this lon/lat box instead of a place name (SOURCE ignored).")
@_mode
@_rejects
@verbosity_option
def osm_cmd(source: str, into: Path, layer_list: str, bbox: tuple[float, ...] | None,
            mode: str, out: Path | None) -> None:
    """OpenStreetMap from SOURCE: an .osm file (offline) or a place name (online)."""
    from shapely.geometry import box

    from phusong.layers.importers.build import import_osm_into

    src: object = box(*bbox) if bbox else (Path(source) if Path(source).exists() else source)
    layers = [x.strip() for x in layer_list.split(",") if x.strip()]
    reports = import_osm_into(into, src, layers=layers, mode=_mode_name(mode), rejects_dir=out)
    print_reports(reports, title=f"phusong import osm → {into}")


@cli.command(name="opencellid")
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@_into
@click.option("--cluster-m", type=float, default=150.0, show_default=True,
              help="Cells closer than this are one tower.")
@click.option("--merge-operators", is_flag=True, default=False,
              help="Cluster cells of different operators together (shared towers).")
@click.option("--bounds", nargs=4, type=float, default=None, metavar="W S E N",
              help="Keep cells in this lon/lat box when the bundle has no admin boundaries.")
@_mode
@_rejects
@verbosity_option
def opencellid_cmd(path: Path, into: Path, cluster_m: float, merge_operators: bool,
                   bounds: tuple[float, ...] | None, mode: str, out: Path | None) -> None:
    """OpenCelliD / Mozilla Location Service CSV (plain or .gz) from PATH."""
    from phusong.layers.importers.build import import_opencellid_into

    reports = import_opencellid_into(into, path, cluster_m=cluster_m,
                                     merge_operators=merge_operators, bounds=bounds,
                                     mode=_mode_name(mode), rejects_dir=out)
    print_reports(reports, title=f"phusong import opencellid → {into}")


@cli.command(name="dem")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path,
                                                                   exists=True))
@_into
@click.option("--halo-m", type=float, default=2000.0, show_default=True,
              help="Margin kept around the province.")
@click.option("--res-m", type=float, default=None, help="Cell size (default: the sources').")
@click.option("--bounds", nargs=4, type=float, default=None, metavar="W S E N",
              help="Lon/lat box when the bundle has no admin boundaries.")
@click.option("--overwrite", is_flag=True, default=False, help="Replace an existing dem.tif.")
@verbosity_option
def dem_cmd(sources: tuple[Path, ...], into: Path, halo_m: float, res_m: float | None,
            bounds: tuple[float, ...] | None, overwrite: bool) -> None:
    """DEM from GeoTIFFs or SRTM .hgt tiles (files or folders) in SOURCES."""
    from phusong.layers.importers.build import import_dem_into

    reports = import_dem_into(into, list(sources), halo_m=halo_m, res_m=res_m, bounds=bounds,
                              overwrite=overwrite)
    print_reports(reports, title=f"phusong import dem → {into}")


def _list_options(func):
    """Options shared by the list importers (towers, bts, villages, post-offices, fibre)."""
    for option in reversed([
        click.argument("path", type=click.Path(path_type=Path, exists=True)),
        _into,
        click.option("--sheet", default=None, help="Excel: read this sheet (default: every "
                     "sheet holding a table of the layer)."),
        click.option("--columns", "columns", type=click.Path(path_type=Path, exists=True),
                     default=None, help="Column mapping file: one 'field = column' per line "
                     "(or JSON, or a field,column CSV) for headers the tool does not know."),
        click.option("--encoding", default=None, help="Text encoding of a CSV/DBF (utf-8, "
                     "cp1258, tcvn3, vni); detected when omitted."),
        click.option("--crs", default=None, help="CRS of the coordinates when the file does "
                     "not say (e.g. 4326, 9205); detected when omitted."),
        _mode, _rejects, verbosity_option]):
        func = option(func)
    return func


def _import_list(layer: str, path: Path, into: Path, *, sheet: str | None,
                 columns: Path | None, encoding: str | None, crs: str | None, mode: str,
                 out: Path | None, title: str, **extra) -> None:
    from phusong.layers.importers._common import read_column_map
    from phusong.layers.importers.build import import_list_into

    reports = import_list_into(into, layer, path, sheet=sheet,
                               columns=None if columns is None else read_column_map(columns),
                               encoding=encoding, crs=crs, mode=_mode_name(mode),
                               rejects_dir=out, **extra)
    print_reports(reports, title=f"phusong import {title} → {into}")


@cli.command(name="towers")
@_list_options
def towers_cmd(path: Path, into: Path, sheet: str | None, columns: Path | None,
               encoding: str | None, crs: str | None, mode: str, out: Path | None) -> None:
    """Towers (vị trí cột) from an operator's or the province's list in PATH: CSV, XLSX,
    GeoPackage, Shapefile, GeoJSON, KML/KMZ; Vietnamese or English headers."""
    _import_list("towers", path, into, sheet=sheet, columns=columns, encoding=encoding,
                 crs=crs, mode=mode, out=out, title="towers")


@cli.command(name="bts")
@_list_options
@click.option("--colocate-m", type=float, default=None,
              help="BTS without a tower id closer than this are one tower (default: the "
              "setting colocate_m, 20 m).")
def bts_cmd(path: Path, into: Path, sheet: str | None, columns: Path | None,
            encoding: str | None, crs: str | None, mode: str, out: Path | None,
            colocate_m: float | None) -> None:
    """BTS (thiết bị trạm) from an operator's list in PATH. Rows without coordinates are
    placed at their tower (by tower id); rows without a tower id are grouped into towers."""
    _import_list("bts", path, into, sheet=sheet, columns=columns, encoding=encoding,
                 crs=crs, mode=mode, out=out, title="bts", colocate_m=colocate_m)


@cli.command(name="villages")
@_list_options
@click.option("--places", default=None, help="OSM source whose places the village names are "
              "matched to (default: the bundle's OSM villages).")
@click.option("--population", "population", type=click.Path(path_type=Path, exists=True),
              default=None, help="Population raster: village points become their populated "
              "cells (else a disc), clipped to the commune.")
@click.option("--threshold", type=float, default=None,
              help="Lowest fuzzy name score (0–100) of a match (default 80).")
def villages_cmd(path: Path, into: Path, sheet: str | None, columns: Path | None,
                 encoding: str | None, crs: str | None, mode: str, out: Path | None,
                 places: str | None, population: Path | None, threshold: float | None
                 ) -> None:
    """Villages (thôn, bản) from the province's list in PATH: polygons, points, or names per
    commune matched to OSM places (match report in BUNDLE/rejects/matches_villages_*.csv)."""
    src = None if places is None else (Path(places) if Path(places).exists() else places)
    _import_list("villages", path, into, sheet=sheet, columns=columns, encoding=encoding,
                 crs=crs, mode=mode, out=out, title="villages", places=src,
                 population=population, threshold=threshold)


@cli.command(name="post-offices")
@_list_options
def post_offices_cmd(path: Path, into: Path, sheet: str | None, columns: Path | None,
                     encoding: str | None, crs: str | None, mode: str, out: Path | None
                     ) -> None:
    """Post offices (điểm phục vụ bưu chính) from a list in PATH."""
    _import_list("post_offices", path, into, sheet=sheet, columns=columns, encoding=encoding,
                 crs=crs, mode=mode, out=out, title="post-offices")


@cli.command(name="fibre")
@_list_options
def fibre_cmd(path: Path, into: Path, sheet: str | None, columns: Path | None,
              encoding: str | None, crs: str | None, mode: str, out: Path | None) -> None:
    """Fibre routes (tuyến cáp quang) from PATH: lines in a GeoPackage, Shapefile, GeoJSON,
    KML/KMZ, or a CSV/XLSX with a wkt column; kinds as Cáp ngầm/Cáp treo."""
    _import_list("fibre_routes", path, into, sheet=sheet, columns=columns, encoding=encoding,
                 crs=crs, mode=mode, out=out, title="fibre")


@cli.command(name="population")
@click.argument("raster", type=click.Path(path_type=Path, exists=True))
@_into
@click.option("--replace", is_flag=True, default=False,
              help="Overwrite every village's population, not only missing ones.")
@click.option("--copy/--no-copy", "copy_raster", default=True, show_default=True,
              help="Keep a clipped copy of the raster as BUNDLE/population.tif.")
@verbosity_option
def population_cmd(raster: Path, into: Path, replace: bool, copy_raster: bool) -> None:
    """Fill village population from a WorldPop-style RASTER."""
    from phusong.layers.importers.build import import_population_into

    reports = import_population_into(into, raster, replace=replace, copy_raster=copy_raster)
    print_reports(reports, title=f"phusong import population → {into}")
