"""``phusong import``: bring one real source into a bundle.

::

    phusong import admin gadm41_VNM.gpkg --province "Lai Châu" --into bundles/lai-chau
    phusong import osm lai-chau.osm --into bundles/lai-chau
    phusong import osm "Lai Châu, Việt Nam" --into bundles/lai-chau      # online (Overpass)
    phusong import opencellid 452.csv.gz --into bundles/lai-chau --cluster-m 150
    phusong import dem srtm/ --into bundles/lai-chau
    phusong import population vnm_ppp_2020.tif --into bundles/lai-chau

``--into`` creates the bundle when missing. ``--mode append`` (default) adds rows to a
layer (rows whose id is already there are rejected), ``--mode replace`` replaces the layer.
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


@click.group(name="import")
def cli() -> None:
    """Import real data into a bundle: osm, opencellid, dem, admin, population."""


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
