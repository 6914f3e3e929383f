"""``phusong build``: assemble a bundle from real sources in one step.

::

    phusong build --admin gadm41_VNM.gpkg --province "Lai Châu" --osm lai-chau.osm \\
        --opencellid 452.csv.gz --dem srtm/ --population vnm_ppp_2020.tif \\
        --out bundles/lai-chau
"""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import progress, verbosity_option

__all__ = ["cli"]


@click.command(name="build")
@click.option("--admin", "admin", multiple=True, type=click.Path(path_type=Path, exists=True),
              help="Admin boundary file or folder (GADM, geoBoundaries, official); repeatable.")
@click.option("--province", default=None,
              help='Province to keep ("Lai Châu" or "Lai Chau").')
@click.option("--structure", type=click.Choice(["auto", "3-level", "2-level"]), default="auto",
              show_default=True, help="Admin structure.")
@click.option("--admin-crs", default=None, help="CRS of admin files without a .prj.")
@click.option("--admin-columns", type=click.Path(path_type=Path, exists=True), default=None,
              help="Column mapping file for admin files of unknown layout "
              "(province_name = TINH, commune_code = MA_XA, …).")
@click.option("--clip", nargs=4, type=float, default=None, metavar="W S E N",
              help="Keep only the communes whose inside point lies in this lon/lat box "
              "(part of a province, e.g. the area a DEM tile covers).")
@click.option("--osm", default=None, help="An .osm file, or a place name (online).")
@click.option("--opencellid", type=click.Path(path_type=Path, exists=True), default=None,
              help="OpenCelliD / MLS CSV (plain or .gz).")
@click.option("--cluster-m", type=float, default=150.0, show_default=True,
              help="OpenCelliD cells closer than this are one tower.")
@click.option("--dem", "dem", multiple=True, type=click.Path(path_type=Path, exists=True),
              help="GeoTIFF, .hgt tile or folder of them; repeatable.")
@click.option("--halo-m", type=float, default=2000.0, show_default=True,
              help="DEM margin around the province.")
@click.option("--dem-res-m", type=float, default=None, help="DEM cell size in metres.")
@click.option("--population", type=click.Path(path_type=Path, exists=True), default=None,
              help="Population raster (WorldPop style).")
@click.option("--towers", "towers", multiple=True, type=click.Path(path_type=Path, exists=True),
              help="Towers list (CSV, XLSX, GeoPackage, Shapefile, GeoJSON, KML/KMZ); "
              "repeatable.")
@click.option("--bts", "bts", multiple=True, type=click.Path(path_type=Path, exists=True),
              help="BTS list; repeatable.")
@click.option("--villages", "villages", multiple=True,
              type=click.Path(path_type=Path, exists=True),
              help="Village list (polygons, points, or names per commune matched to the OSM "
              "villages; replaces the OSM villages); repeatable.")
@click.option("--post-offices", "post_offices", multiple=True,
              type=click.Path(path_type=Path, exists=True), help="Post office list.")
@click.option("--fibre", "fibre", multiple=True, type=click.Path(path_type=Path, exists=True),
              help="Fibre routes.")
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Bundle folder to write.")
@click.option("--overwrite", is_flag=True, default=False, help="Rebuild an existing bundle.")
@verbosity_option
def cli(admin: tuple[Path, ...], province: str | None, structure: str, admin_crs: str | None,
        admin_columns: Path | None, clip: tuple[float, ...] | None, osm: str | None, opencellid: Path | None, cluster_m: float, dem: tuple[Path, ...],
        halo_m: float, dem_res_m: float | None, population: Path | None,
        towers: tuple[Path, ...], bts: tuple[Path, ...], villages: tuple[Path, ...],
        post_offices: tuple[Path, ...], fibre: tuple[Path, ...], out: Path,
        overwrite: bool) -> None:
    """Build a bundle in OUT from admin boundaries, OSM, OpenCelliD, a DEM and a population
    raster, in that order, and print what each source gave."""
    from phusong.analysis.cli.cmd_import import print_reports
    from phusong.layers.importers._common import read_column_map
    from phusong.layers.importers.build import build_bundle

    osm_src = None if osm is None else (Path(osm) if Path(osm).exists() else osm)
    sources = [("towers", p, {}) for p in towers] + [("bts", p, {}) for p in bts] + [
        ("villages", p, {"mode": "replace" if i == 0 else "append"})
        for i, p in enumerate(villages)] + [("post_offices", p, {}) for p in post_offices] \
        + [("fibre_routes", p, {}) for p in fibre]
    steps = ["admin"] * bool(admin) + ["osm"] * bool(osm) + ["opencellid"] * bool(opencellid) \
        + list(dict.fromkeys(s[0] for s in sources)) \
        + ["dem"] * bool(dem) + ["population"] * bool(population) + ["write"]
    with progress() as bar:
        task = bar.add_task("build", total=len(steps))

        def tick(name: str) -> None:
            bar.update(task, description=name, completed=steps.index(name))

        reports = build_bundle(out, admin=list(admin) or None, province=province,
                               structure=structure, admin_crs=admin_crs, osm=osm_src,
                               opencellid=opencellid, cluster_m=cluster_m,
                               dem=list(dem) or None, halo_m=halo_m, dem_res_m=dem_res_m,
                               population=population, overwrite=overwrite, progress=tick,
                               admin_columns=None if admin_columns is None else
                               read_column_map(admin_columns), clip_lonlat=clip,
                               sources=sources)
        bar.update(task, completed=len(steps))
    print_reports(reports, title=f"phusong build → {out}")
