"""One village centre for every analysis: status, gap lists and rollout place a village at the
same point, to the millimetre, on the generated mini sample province."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import Point, box

from phusong.analysis.coverage.villages import (
    settled_areas,
    village_centres,
    village_points,
    village_sample_points,
)
from phusong.analysis.rollout.candidates import generate_candidates
from phusong.analysis.tables.gaps import gap_list
from phusong.layers.settings import DEFAULT

MM = 1e-3


def _status_table(bundle) -> pd.DataFrame:
    """Every village white for every operator: every village is in every gap list."""
    ids = bundle.layer("villages")["village_id"].astype(str).to_numpy()
    cols = {"name": bundle.layer("villages")["name"].to_numpy()}
    for op in ("viettel", "vinaphone", "mobifone", "vietnamobile"):
        cols[f"status_{op}"] = "trang"
        for t in ("2G", "3G", "4G", "5G"):
            cols[f"status_{op}_{t}"] = "trang"
    return pd.DataFrame(cols, index=pd.Index(ids, name="village_id"))


def test_status_gaps_and_rollout_centres_agree_to_the_millimetre(tiny_bundle):
    villages = tiny_bundle.layer("villages")
    crs = tiny_bundle.metric_crs
    assert len(villages) > 10
    # village status (rasterised on the DEM grid, same metric CRS) and the site × village
    # matrix take village_centres / the is_centre sample points
    sx, sy = village_centres(villages, crs)
    pts = village_sample_points(villages, crs)
    centre_rows = pts[pts["is_centre"]].sort_values("village")
    np.testing.assert_allclose(centre_rows["x"], sx, rtol=0, atol=MM)
    np.testing.assert_allclose(centre_rows["y"], sy, rtol=0, atol=MM)
    # gap lists
    vp = village_points(villages, crs)
    np.testing.assert_allclose(vp["x"], sx, rtol=0, atol=MM)
    np.testing.assert_allclose(vp["y"], sy, rtol=0, atol=MM)
    gaps = gap_list(tiny_bundle, _status_table(tiny_bundle), "viettel", model="radius",
                    settings=DEFAULT.replace(as_of="2025-01-01")).set_index("village_id")
    by_id = vp.set_index("village_id")
    # the gap list rounds to 0.1 m: within half of that of the same centre
    np.testing.assert_allclose(gaps["vn2000_y_east_m"], by_id.loc[gaps.index, "x"], atol=0.05)
    np.testing.assert_allclose(gaps["vn2000_x_north_m"], by_id.loc[gaps.index, "y"],
                               atol=0.05)
    # the gap list names the centre the villages layer gives, not a round trip of it
    given = villages.set_index(villages["village_id"].astype(str))
    assert given["centre_lon"].notna().all()
    np.testing.assert_array_equal(gaps["centre_lon"], given.loc[gaps.index, "centre_lon"].round(6))
    np.testing.assert_array_equal(gaps["centre_lat"], given.loc[gaps.index, "centre_lat"].round(6))
    # rollout: a village_centre candidate stands where the village's centre is
    cands = generate_candidates(villages, crs=crs, include_towers=False)
    v = cands[cands["kind"] == "village_centre"].set_index("village_id")
    ids = villages["village_id"].astype(str).to_numpy()
    np.testing.assert_allclose(v.loc[ids, "x"], sx, rtol=0, atol=MM)
    np.testing.assert_allclose(v.loc[ids, "y"], sy, rtol=0, atol=MM)


def test_centre_rule_given_centre_else_metric_representative_point():
    """Checked against pyproj and shapely directly (not through phusong's helpers)."""
    crs = CRS.from_epsg(9205)
    to_m = Transformer.from_crs(4326, crs, always_xy=True)
    # a thin L-shaped village: its representative point differs from its centroid
    x0, y0 = to_m.transform(103.45, 22.35)
    l_shape = shapely.union(box(x0, y0, x0 + 2000, y0 + 100), box(x0, y0, x0 + 100, y0 + 2000))
    to_ll = Transformer.from_crs(crs, 4326, always_xy=True)
    l_ll = shapely.transform(l_shape, lambda xy: np.column_stack(to_ll.transform(xy[:, 0],
                                                                                   xy[:, 1])))
    villages = gpd.GeoDataFrame(
        {"village_id": ["A", "B", "C"], "centre_lon": [103.5, np.nan, None],
         "centre_lat": [22.4, np.nan, 22.41]},
        geometry=[l_ll, l_ll, Point(103.6, 22.5)], crs=4326)
    x, y = village_centres(villages, crs)
    ax, ay = to_m.transform(103.5, 22.4)
    assert abs(x[0] - ax) < 0.01 and abs(y[0] - ay) < 0.01     # given centre (datum-shifted)
    rep = l_shape.representative_point()                       # in the metric CRS
    assert abs(x[1] - rep.x) < 0.01 and abs(y[1] - rep.y) < 0.01
    assert l_shape.contains(Point(x[1], y[1]))
    cx, cy = to_m.transform(103.6, 22.5)                         # half a centre: the point
    assert abs(x[2] - cx) < 0.01 and abs(y[2] - cy) < 0.01
    vp = village_points(villages, crs)
    assert vp.loc[0, "lon"] == 103.5 and vp.loc[0, "lat"] == 22.4  # given: kept as given
    assert list(vp["village_id"]) == ["A", "B", "C"]


def test_settled_area_is_the_polygon_or_a_disc_in_metres():
    crs = CRS.from_epsg(9205)
    villages = gpd.GeoDataFrame({"village_id": ["P", "Q"]},
                                geometry=[Point(103.6, 22.5),
                                          box(103.5, 22.4, 103.51, 22.41)], crs=4326)
    areas = settled_areas(villages, crs, settings=DEFAULT.replace(settlement_buffer_m=250))
    assert areas.iloc[0].area == pytest.approx(np.pi * 250**2, rel=0.01)
    # the polygon kept: ~1.03 km × 1.11 km at 22.4°N
    assert areas.iloc[1].area == pytest.approx(1.03e6 * 1.107, rel=0.02)
