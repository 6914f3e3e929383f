"""Tests for the sample-province generator (seeds.sample)."""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

from phusong.gis.errors import OutputExistsError
from phusong.layers.schema import LAYERS
from phusong.seeds.presets import PRESETS
from phusong.seeds.sample import build_sample, generate_sample, sample_ratios, sample_summary

ALL_LAYERS = ("admin_units", "villages", "towers", "bts", "fibre_routes", "post_offices",
              "roads")


@pytest.fixture(scope="module")
def small_lc(tmp_path_factory):
    """Lai Châu at 5 % of its area and counts."""
    return generate_sample("lai-chau", seed=2, out=tmp_path_factory.mktemp("lc") / "b",
                           scale=0.05)


def _counts_match(bundle, preset):
    c = bundle.counts()
    assert c["villages"] == preset.villages
    assert c["towers"] == preset.towers
    assert c["bts"] == preset.bts
    assert c["post_offices"] == sum(preset.post_offices.values())
    adm = bundle["admin_units"]
    assert (adm.level == "province").sum() == 1
    assert (adm.level == "district").sum() == preset.districts
    assert (adm.level == "commune").sum() == preset.communes
    bts = bundle["bts"]
    for op, techs in preset.bts_by_operator_tech.items():
        for tech, n in techs.items():
            assert ((bts.operator == op) & (bts.tech == tech)).sum() == n, (op, tech)


def test_counts_match_preset_mini(tiny_bundle):
    _counts_match(tiny_bundle, PRESETS["mini"])


def test_counts_match_preset_scaled_lai_chau(small_lc):
    _counts_match(small_lc, PRESETS["lai-chau"].scaled(0.05))
    assert small_lc.meta["scale"] == "0.05"


def test_meta_marks_sample(tiny_bundle, tiny_bundle_dir):
    m = tiny_bundle.meta
    assert tiny_bundle.is_sample and m["sample"] == "true"
    assert m["preset"] == "mini" and m["seed"] == "1"
    assert m["metric_epsg"] == "9205" and tiny_bundle.metric_crs.to_epsg() == 9205
    assert m["dem"] == "dem.tif" and tiny_bundle.dem_path == tiny_bundle_dir / "dem.tif"
    assert m["created_by"] == "phusong sample generator"
    assert m["province"] == PRESETS["mini"].name


def test_dem(tiny_bundle_dir):
    with rasterio.open(tiny_bundle_dir / "dem.tif") as src:
        assert src.crs.to_epsg() == 9205
        assert src.dtypes[0] == "float32"
        assert src.res == (30.0, 30.0)
        assert 200 <= src.width <= 1000 and 200 <= src.height <= 1000
        z = src.read(1)
        assert src.tags()["SAMPLE"] == "true"
    lo, hi = PRESETS["mini"].elevation_m
    assert z.min() == pytest.approx(lo, abs=1) and z.max() == pytest.approx(hi, abs=1)
    assert np.isfinite(z).all()
    # mountains: steep slopes exist, valleys are lower than ridges
    gy, gx = np.gradient(z, 30.0)
    assert np.percentile(np.hypot(gx, gy), 90) > 0.3


def test_population_raster(tiny_bundle, tiny_bundle_dir):
    assert tiny_bundle.population_path == tiny_bundle_dir / "population.tif"
    with rasterio.open(tiny_bundle_dir / "population.tif") as src:
        assert src.res == (90.0, 90.0) and src.crs.to_epsg() == 9205
        pop = src.read(1)
    assert pop.sum() == pytest.approx(tiny_bundle["villages"].population.sum(), rel=1e-5)
    assert (pop >= 0).all()


def test_layers_follow_schema(tiny_bundle, small_lc):
    for bundle in (tiny_bundle, small_lc):
        for name in ALL_LAYERS:
            gdf = bundle[name]
            schema = LAYERS[name]
            assert len(gdf), name
            assert set(schema.required) <= set(gdf.columns), name
            assert gdf.crs.to_epsg() == 4326
            assert set(gdf.geom_type) <= set(schema.geometry), name
            assert gdf.geometry.is_valid.all(), name
            if schema.id_field:
                assert gdf[schema.id_field].is_unique, name
            for f in schema.fields:
                if f.choices and f.name in gdf:
                    assert set(gdf[f.name].dropna()) <= set(f.choices), (name, f.name)
                if f.kind == "operator" and f.name in gdf:
                    assert set(gdf[f.name]) <= {"viettel", "vinaphone", "mobifone",
                                                "vietnamobile"}


def test_bundle_passes_the_project_validation(tiny_bundle, small_lc):
    from phusong.layers.validate import validate_bundle

    for bundle in (tiny_bundle, small_lc):
        for name, res in validate_bundle(bundle).items():
            assert len(res.rejected) == 0, (name, res.rejected.head())
            assert len(res.accepted) == len(bundle[name])
            assert not res.warnings, (name, res.warnings[:3])


def test_villages_inside_their_communes(small_lc):
    adm = small_lc["admin_units"].to_crs(small_lc.metric_crs)
    vil = small_lc["villages"].to_crs(small_lc.metric_crs)
    communes = adm[adm.level == "commune"].set_index("code")
    assert set(vil.commune_code) <= set(communes.index)
    parents = set(adm.loc[adm.level == "district", "code"])
    assert set(communes.parent_code) == parents
    geoms = communes.geometry.loc[vil.commune_code].to_numpy()
    assert shapely.covers(shapely.buffer(geoms, 1.0), vil.geometry.to_numpy()).all()
    centre = pd.Series(shapely.points(vil[["centre_lon", "centre_lat"]].to_numpy()))
    centre_m = small_lc["villages"].set_geometry(centre.to_numpy(), crs=4326).to_crs(
        small_lc.metric_crs).geometry
    assert shapely.covers(shapely.buffer(vil.geometry.to_numpy(), 1.0),
                          centre_m.to_numpy()).all()
    province = adm.loc[adm.level == "province"].geometry.iloc[0]
    assert shapely.covers(province.buffer(1.0), communes.geometry.to_numpy()).all()


def test_villages_attributes(small_lc):
    vil = small_lc["villages"]
    assert vil.village_id.str.fullmatch(r"LC-V\d{4}").all()
    assert vil.name.map(lambda s: unicodedata.is_normalized("NFC", s)).all()
    assert vil.name.map(lambda s: s != s.encode("ascii", "ignore").decode()).mean() > 0.5
    assert not vil.duplicated(["commune_code", "name"]).any()
    assert vil.population.sum() == PRESETS["lai-chau"].scaled(0.05).population
    assert (vil.population > 0).all() and (vil.households > 0).all()
    assert (vil.population / vil.households).between(2, 8).all()
    areas = small_lc.to_metric("villages").area / 1e6
    assert areas.median() == pytest.approx(0.3, abs=0.25)
    assert 0.8 < vil.has_grid_power.mean() < 1.0
    assert 0.25 < vil.extremely_difficult.mean() < 0.55
    assert vil.border_area.any() and not vil.border_area.all()


def test_towers_near_villages_and_above_them(small_lc):
    tw = small_lc.to_metric("towers")
    vil = small_lc.to_metric("villages")
    d = vil.geometry.centroid.to_numpy()
    dist = shapely.distance(tw.geometry.to_numpy()[:, None], d[None, :]).min(axis=1)
    assert np.median(dist) < 3000
    assert tw.height_m.between(20, 45).all()
    bts = small_lc["bts"]
    assert set(bts.tower_id) <= set(tw.tower_id)
    assert (bts.merge(tw[["tower_id", "height_m"]], on="tower_id")
            .eval("antenna_height_m < height_m").all())
    # spur sites: most towers stand well above their nearest village
    with rasterio.open(small_lc.dem_path) as src:
        zt = np.array([v[0] for v in src.sample(zip(tw.geometry.x, tw.geometry.y, strict=True))])
        cen = vil.geometry.centroid
        zv = np.array([v[0] for v in src.sample(zip(cen.x, cen.y, strict=True))])
    nearest = shapely.distance(tw.geometry.to_numpy()[:, None], d[None, :]).argmin(axis=1)
    assert np.median(zt - zv[nearest]) > 80
    # some towers carry a second operator (co-location)
    ops_per_tower = bts.groupby("tower_id").operator.nunique()
    assert (ops_per_tower > 1).any()


def test_roads_connected(tiny_bundle, small_lc):
    for bundle in (tiny_bundle, small_lc):
        roads = bundle.to_metric("roads")
        assert set(roads.highway) <= {"trunk", "primary", "secondary", "tertiary", "track"}
        G = nx.Graph()
        for line in roads.geometry:
            xy = shapely.get_coordinates(line)
            G.add_edge(tuple(np.round(xy[0], 1)), tuple(np.round(xy[-1], 1)))
        assert nx.number_connected_components(G) == 1


def test_fibre_and_post(small_lc):
    p = PRESETS["lai-chau"].scaled(0.05)
    fib = small_lc.to_metric("fibre_routes")
    km = fib.length / 1000
    assert km.sum() == pytest.approx(p.cable_km, rel=0.1)
    assert km[fib.kind == "underground"].sum() / km.sum() == pytest.approx(
        p.underground_ratio, abs=0.05)
    po = small_lc["post_offices"]
    assert po.name.map(lambda s: unicodedata.is_normalized("NFC", s)).all()
    assert po.groupby("kind").size().to_dict() == {k: v for k, v in p.post_offices.items() if v}


def test_reproducible_same_seed(tmp_path):
    a = build_sample("mini", seed=7).layers()
    b = build_sample("mini", seed=7).layers()
    for name in ALL_LAYERS:
        pd.testing.assert_frame_equal(pd.DataFrame(a[name].drop(columns="geometry")),
                                      pd.DataFrame(b[name].drop(columns="geometry")))
        assert a[name].geometry.geom_equals_exact(b[name].geometry, 0).all(), name
    b1 = generate_sample("mini", seed=7, out=tmp_path / "one")
    b2 = generate_sample("mini", seed=7, out=tmp_path / "two")
    digest = [hashlib.sha256(Path(x.folder, "dem.tif").read_bytes()).hexdigest()
              for x in (b1, b2)]
    assert digest[0] == digest[1]
    for name in ALL_LAYERS:
        pd.testing.assert_frame_equal(b1[name].to_wkt(), b2[name].to_wkt())


def test_different_seed_differs():
    a = build_sample("mini", seed=1)
    b = build_sample("mini", seed=2)
    assert not np.array_equal(a.world.dem, b.world.dem)
    va, vb = a.layers()["villages"], b.layers()["villages"]
    assert list(va.name) != list(vb.name)


def test_refuses_to_overwrite(tiny_bundle_dir, tmp_path):
    with pytest.raises(OutputExistsError, match=r"bundle\.gpkg: exists; pass --overwrite"):
        generate_sample("mini", seed=1, out=tiny_bundle_dir)
    generate_sample("mini", seed=1, out=tmp_path, scale=0.5)
    again = generate_sample("mini", seed=2, out=tmp_path, overwrite=True, scale=0.5)
    assert again.meta["seed"] == "2"


def test_calibration_scaled_lai_chau(small_lc):
    """The calibration model's coverage comes near the reported ratios; whites stay white."""
    p = PRESETS["lai-chau"].scaled(0.05)
    got = dict(kv.split("=") for kv in small_lc.meta["calibration_villages"].split(";"))
    got = {k: int(v) / p.villages for k, v in got.items()}
    # 47 villages and a handful of sites per operator: near, not exact (full size: the slow
    # test below). At 5 % the operators have 12 + 8 + 3 + 1 3G sites: under the default
    # model (Deygout with P.452-14's correction, on ITM's median behind ridges) they reach
    # 21–29 of the 36 villages with internet the report has; the full province reaches 722.
    for op in ("viettel", "vinaphone", "mobifone"):
        assert got[op] == pytest.approx(p.coverage_target[op], abs=0.2), op
    assert got["viettel"] >= got["vinaphone"] > got["mobifone"] > got["vietnamobile"]
    assert 0.4 <= got["internet"] <= p.internet_ratio + 0.1
    assert "terrain model" in small_lc.meta["calibration_model"]
    allt = sample_ratios(small_lc)
    assert allt["villages_with_signal"] <= p.villages - p.white_villages
    assert allt["villages_with_signal"] >= allt["villages_covered_viettel"]


@pytest.mark.slow
def test_calibration_full_lai_chau():
    """The default province meets the reported figures under the calibration model."""
    res = build_sample("lai-chau", seed=0)
    got = res.world.calibration["achieved"]
    p = PRESETS["lai-chau"]
    for op, ratio in p.coverage_target.items():
        # vietnamobile: its 20 town sites reach ~10 % of the villages at the least
        tol = 0.03 if op == "vietnamobile" else 0.015
        assert got[op] / p.villages == pytest.approx(ratio, abs=tol), op
    # 941 reported; 935 under the default model (a few villages in deep valleys are out of
    # reach of every candidate position 0.6–2.2 km away)
    assert got["any"] == pytest.approx(941, abs=8)
    assert got["internet"] == pytest.approx(722, abs=10)
    layers = res.layers()
    assert len(layers["towers"]) == 855 and len(layers["bts"]) == 1842
    km = layers["fibre_routes"].length.sum() / 1000
    assert km == pytest.approx(8828, rel=0.03)


def test_the_default_terrain_model_reproduces_the_calibration(small_lc):
    """No proxy: the coverage the project computes on the generated bundle (raster sweep,
    village status) gives the villages the generator placed its towers for (point kernel at
    the village centres), as of the reported year. The raster takes each cell's nearest ray
    sample from the cell's centre, the generator the exact profile: a few marginal villages
    differ (full province: within 5 of 948 per operator)."""
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.layers.settings import DEFAULT

    settings = DEFAULT.replace(as_of="2022-12-31")
    st = village_status(small_lc, compute_coverage(small_lc, settings=settings),
                        settings=settings)
    got = dict(kv.split("=") for kv in small_lc.meta["calibration_villages"].split(";"))
    n = len(st)
    for op in ("viettel", "vinaphone", "mobifone", "vietnamobile", "any"):
        model = int((st[f"status_{op}"] != "trang").sum())
        assert abs(model - int(got[op])) <= max(3, round(0.07 * n)), op
    assert "no proxy" in small_lc.meta["calibration_tuned"]


def test_summary_table(tiny_bundle):
    df = sample_summary(tiny_bundle)
    assert {"indicator", "label_vi", "label_en", "sample", "reported"} <= set(df.columns)
    row = df.set_index("indicator").loc["villages_total"]
    assert row["sample"] == row["target"] == 40
