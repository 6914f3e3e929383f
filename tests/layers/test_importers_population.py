"""Population raster (WorldPop style) summed into villages."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import make_fixtures as mf  # tests/data/importers (pytest pythonpath)
import pytest
from shapely.geometry import Point, box

from phusong.gis.errors import CRSMismatchError, InputError
from phusong.layers.importers import fill_population, zonal_sum
from phusong.layers.settings import DEFAULT
from phusong.layers.villages import settled_areas

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "importers"
RASTER = FIXTURES / "worldpop_fixture.tif"



def _villages() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"village_id": ["V1", "V2", "V3", "V4"], "name": ["Bản A", "Bản B", "Bản C", "Bản D"],
         "commune_code": "03124", "population": [420, 0, None, 0],
         "households": [90, 0, None, 7], "has_grid_power": True, "border_area": False,
         "extremely_difficult": False},
        geometry=[Point(103.02, 22.40), Point(103.05, 22.30),
                  box(103.145, 22.325, 103.158, 22.337), Point(104.5, 21.0)],
        crs="EPSG:4326", index=[10, 11, 12, 13])


# The raster holds a Gaussian of 3 people per 3″ cell at each fixture village, σ = 150 m:
# a 300 m disc holds 3 / cell_area · 2πσ² · (1 − e^{−2}) ≈ 46 people.
@pytest.mark.parametrize("method", ["exactextract", "rasterstats"])
def test_fill_missing_population(method):
    res = fill_population(_villages(), RASTER, method=method)
    v = res.accepted
    assert list(v.index) == [10, 11, 12, 13]  # the input's index is kept
    assert v.loc[10, "population"] == 420 and v.loc[10, "households"] == 90  # known: kept
    assert v.loc[11, "population"] == pytest.approx(46, abs=2)
    assert v.loc[11, "households"] == round(v.loc[11, "population"] / 4.5)
    assert v.loc[12, "population"] > 0  # the polygon is summed as it is
    assert v.loc[13, "population"] == 0 and v.loc[13, "households"] == 7  # outside
    assert res.stats == {"filled": 2, "people": int(v.loc[[11, 12], "population"].sum()),
                         "kept": 1, "outside": 1}
    assert any("1 villages lie outside the raster" in w for w in res.warnings)
    assert v["population"].dtype.kind == "i"


def test_replace_overwrites_known_population():
    v = fill_population(_villages(), RASTER, replace=True).accepted
    assert v.loc[10, "population"] == pytest.approx(46, abs=2)
    assert v.loc[10, "households"] == round(v.loc[10, "population"] / 4.5)


def test_wider_settlement_buffer_holds_more_people():
    narrow = fill_population(_villages(), RASTER).accepted.loc[11, "population"]
    wide = fill_population(_villages(), RASTER,
                           settings=DEFAULT.replace(settlement_buffer_m=600)).accepted
    assert wide.loc[11, "population"] > narrow


def test_settled_areas():
    areas = settled_areas(_villages(), 9205)
    assert areas.loc[11].area == pytest.approx(math.pi * 300**2, rel=0.01)
    assert areas.loc[12].geom_type == "Polygon"
    assert list(areas.index) == [10, 11, 12, 13]


def test_raster_without_crs(tmp_path):
    p = mf.write_worldpop(tmp_path / "pop.tif", crs=None)
    with pytest.raises(CRSMismatchError, match="no CRS"):
        fill_population(_villages(), p)


def test_bad_rasters(tmp_path):
    with pytest.raises(InputError, match="cannot be read as a raster"):
        zonal_sum(FIXTURES / "dem_not_a_raster.tif", _villages().geometry)
    with pytest.raises(InputError, match="no such population raster"):
        zonal_sum(tmp_path / "missing.tif", _villages().geometry)
    with pytest.raises(InputError, match="method="):
        zonal_sum(RASTER, _villages().geometry, method="guess")
