"""Real public data end to end: the part of Tuyên Quang inside the SRTM tile N21E105.

Built from the files in ``../shared/realdata`` (read in place, never copied): the post-2025
commune boundaries of seven provinces, Geofabrik's 2018 OSM shapefiles of all Vietnam and the
SRTM tile N21E105. ``phusong build`` picks the province by name from the multi-province file,
keeps the communes whose inside point lies in the tile, reads villages, masts and post offices
from the national OSM shapefiles, clips the DEM; ``phusong analyse``, ``rollout`` and ``map``
run on the bundle. Counts are checked against the input files read independently here with
geopandas (not through the importers).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from phusong.analysis.cli import phusong
from phusong.layers.bundle import read_bundle

ROOT = Path(__file__).resolve().parents[2]


def _realdata() -> Path | None:
    env = os.environ.get("PHUSONG_REALDATA")
    for p in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "realdata",
                                              ROOT.parent.parent / "shared" / "realdata"]:
        if (p / "dem" / "N21E105.hgt").exists():
            return p
    return None


REAL = _realdata()
pytestmark = [pytest.mark.skipif(
    REAL is None, reason="real public data folder ../shared/realdata is absent (set "
                         "PHUSONG_REALDATA to its path to run this test)")]
TILE = (105.0, 21.0, 106.0, 22.0)
MARGIN = 0.1  # layers.importers.osm.AREA_MARGIN_DEG, restated: the box the inputs are read in


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tq")
    bundle, results = out / "bundle", out / "outputs"
    runner = CliRunner()
    timings = {}
    t0 = time.perf_counter()
    r = runner.invoke(phusong, [
        "build", "--admin", str(REAL / "boundaries_post2025" /
                                "post2025_communes_7provinces.geojson"),
        "--province", "tuyen quang", "--clip", *map(str, TILE),
        "--osm", str(REAL / "osm_geofabrik_vietnam_2018-01-03"),
        "--dem", str(REAL / "dem" / "N21E105.hgt"), "-o", str(bundle), "-q"])
    timings["build"] = time.perf_counter() - t0
    assert r.exit_code == 0, r.output
    for name, args in (("analyse", ["analyse", str(bundle), "-o", str(results), "-q"]),
                       ("rollout", ["rollout", str(bundle), "-o", str(results), "-q",
                                    "--overwrite"]),
                       ("map", ["map", str(bundle), "-o", str(results), "-q", "--overwrite"])):
        t0 = time.perf_counter()
        r = runner.invoke(phusong, args)
        timings[name] = time.perf_counter() - t0
        assert r.exit_code == 0, (name, r.output)
    print("real-data timings (s):", {k: round(v, 1) for k, v in timings.items()})
    return bundle, results, timings


def _communes() -> gpd.GeoDataFrame:
    c = gpd.read_file(REAL / "boundaries_post2025" / "post2025_communes_7provinces.geojson")
    tq = c[c["province"] == "Tuyên Quang"]
    pts = tq.geometry.representative_point()
    return tq[pts.within(shapely.box(*TILE))]


def test_communes_are_the_ones_whose_inside_point_is_in_the_tile(run):
    bundle = read_bundle(run[0])
    au = bundle["admin_units"]
    communes = _communes()
    assert len(communes) == 26  # of Tuyên Quang's 124 (counted in the file by hand-check)
    assert set(au.loc[au["level"] == "commune", "code"]) == set(communes["ward_code"])
    assert (au["level"] == "province").sum() == 1
    assert bundle.meta["province"] == "Tuyên Quang"
    prov = au[au["level"] == "province"].geometry.iloc[0]
    assert prov.area == pytest.approx(shapely.union_all(communes.geometry.values).area,
                                      rel=1e-6)


def test_villages_counted_against_the_osm_shapefile(run):
    bundle_dir = run[0]
    communes = _communes()
    area = shapely.union_all(communes.geometry.values)
    w, s, e, n = area.bounds
    box = (w - MARGIN, s - MARGIN, e + MARGIN, n + MARGIN)
    osm = REAL / "osm_geofabrik_vietnam_2018-01-03"
    places = pd.concat([gpd.read_file(osm / f"gis.osm_{lyr}_free_1.shp", bbox=box)
                        for lyr in ("places", "places_a")])
    places = places[places["fclass"].isin(["village", "hamlet", "isolated_dwelling",
                                           "dwelling", "farm"])]
    places = places[places.intersects(shapely.box(*box))]
    inside = places.geometry.representative_point().within(area)
    named = places["name"].fillna("").str.strip() != ""
    bundle = read_bundle(bundle_dir)
    v = bundle["villages"]
    assert len(v) == int((inside & named).sum()) > 30
    rejects = pd.read_csv(next((bundle_dir / "rejects").glob("rejects_villages_*.csv")))
    assert len(v) + len(rejects) == len(places)
    assert rejects["reject_reason"].str.contains("outside the province").sum() == int(
        (~inside).sum())
    # OSM knows nothing of grid power or population here: unknown, not False or 0
    assert v["has_grid_power"].isna().all() and v["population"].isna().all()
    assert set(v["commune_code"]) <= set(communes["ward_code"])


def test_masts_and_post_offices_outside_are_rejected_with_that_reason(run):
    bundle_dir = run[0]
    area = shapely.union_all(_communes().geometry.values)
    w, s, e, n = area.bounds
    pois = gpd.read_file(REAL / "osm_geofabrik_vietnam_2018-01-03" / "gis.osm_pois_free_1.shp",
                         bbox=(w - MARGIN, s - MARGIN, e + MARGIN, n + MARGIN))
    masts = pois[pois["fclass"] == "comms_tower"]
    posts = pois[pois["fclass"] == "post_office"]
    bundle = read_bundle(bundle_dir)
    assert len(bundle["towers"]) == int(masts.within(area).sum())
    assert len(bundle["post_offices"]) == int(posts.within(area).sum())
    outside = int((~posts.within(area)).sum())
    assert outside >= 1
    rej = pd.read_csv(next((bundle_dir / "rejects").glob("rejects_post_offices_*.csv")))
    assert len(rej) == outside
    assert rej["reject_reason"].str.contains("outside the province").all()


def test_dem_covers_the_area(run):
    import rasterio

    with rasterio.open(run[0] / "dem.tif") as ds:
        assert ds.crs.to_epsg() == 9209  # VN-2000 TM-3 105°30′, the zone of the area
        assert 80 < abs(ds.res[0]) < 95  # SRTM-3 at 21.5°N


def test_analyses_give_one_gap_row_per_uncovered_village(run):
    bundle_dir, results, _ = run
    v = read_bundle(bundle_dir)["villages"]
    gaps = pd.read_csv(results / "gaps_viettel.csv")
    # no operator mast in the area (OSM 2018): every village is white for every operator
    assert len(gaps) == len(v)
    assert set(gaps["Mã thôn"].astype(str)) == set(v["village_id"])
    assert gaps["Có điện lưới"].isna().all()  # unknown stays unknown (an empty cell)
    # grid power unknown: the action says to check it, never "wait for the grid"
    text = gaps.to_csv()
    assert "Chờ điện lưới" not in text and "Xác minh điện lưới" in text


def test_map_draws_the_boundaries_with_names(run):
    _, results, _ = run
    page = (results / "map.html").read_text(encoding="utf-8")
    for label in ("Ranh giới tỉnh", "Ranh giới xã, phường", "Tên xã, huyện"):
        assert json.dumps(label)[1:-1] in page or label in page
    names = list(_communes()["name"])
    shown = [n for n in names if json.dumps(n)[1:-1] in page or n in page]
    assert len(shown) == len(names)
