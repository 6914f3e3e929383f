"""Tiles, halos, windows and the NaN-ignoring mosaic of gis.tiling."""

from __future__ import annotations

import warnings

import affine
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phusong.gis.dem import write_raster
from phusong.gis.errors import DEMError, InputError
from phusong.gis.tiling import (
    GridWindow,
    assign_cells,
    finite_bbox,
    halo_cells_for,
    place_max,
    read_window,
    tile_grid,
)


@given(rows=st.integers(1, 40), cols=st.integers(1, 40), tile=st.integers(1, 15),
       halo=st.integers(0, 6))
@settings(max_examples=60, deadline=None)
def test_cores_partition_the_grid_and_windows_hold_the_halo(rows, cols, tile, halo):
    tiles = tile_grid((rows, cols), tile_cells=tile, halo_cells=halo)
    count = np.zeros((rows, cols), dtype=int)
    for t in tiles:
        count[t.core.slices] += 1
        w = t.window
        assert w.row_off == max(0, t.core.row_off - halo)
        assert w.col_off == max(0, t.core.col_off - halo)
        assert w.row_off + w.height == min(rows, t.core.row_off + t.core.height + halo)
        assert w.col_off + w.width == min(cols, t.core.col_off + t.core.width + halo)
    assert (count == 1).all()
    rr, cc = np.mgrid[0:rows, 0:cols]
    owner = assign_cells(rr.ravel(), cc.ravel(), (rows, cols), tile_cells=tile)
    for t in tiles:
        inside = t.core.contains(rr.ravel(), cc.ravel())
        assert (owner[inside] == t.index).all()


def test_assign_cells_clips_points_outside_the_grid():
    owner = assign_cells(np.array([-5, 99]), np.array([-5, 99]), (10, 10), tile_cells=5)
    assert owner.tolist() == [0, 3]


def test_halo_cells_for():
    assert halo_cells_for(15_000, 30.0) == 502
    assert halo_cells_for(100, 30.0, margin_cells=0) == 4
    with pytest.raises(InputError, match="res_m=0"):
        halo_cells_for(100, 0.0)
    with pytest.raises(InputError, match="tile_cells=0"):
        tile_grid((5, 5), tile_cells=0, halo_cells=1)


@given(st.permutations(range(4)))
@settings(max_examples=24, deadline=None)
def test_place_max_ignores_nan_and_order(order):
    rng = np.random.default_rng(3)
    blocks = []
    for k in range(4):
        w = GridWindow(k, 2 * k, 5, 6)
        b = rng.normal(size=w.shape).astype(np.float32)
        b[rng.random(w.shape) < 0.3] = np.nan
        blocks.append((w, b))
    ref = np.full((12, 16), np.nan, dtype=np.float32)
    stack = np.full((4, 12, 16), np.nan, dtype=np.float32)
    for k, (w, b) in enumerate(blocks):
        stack[k][w.slices] = b
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices
        ref = np.nanmax(stack, axis=0)
    dest = np.full((12, 16), np.nan, dtype=np.float32)
    for k in order:
        place_max(dest, blocks[k][1], blocks[k][0])
    np.testing.assert_array_equal(dest, ref)
    with pytest.raises(InputError, match="does not fit"):
        place_max(dest, np.zeros((2, 2), np.float32), GridWindow(0, 0, 3, 3))


def test_finite_bbox():
    a = np.full((6, 7), np.nan)
    assert finite_bbox(a) is None
    a[2, 3] = 1.0
    a[4, 1] = 2.0
    assert finite_bbox(a) == GridWindow(2, 1, 3, 3)


def test_read_window_matches_the_full_raster(tmp_path):
    z = np.arange(20 * 30, dtype=np.float32).reshape(20, 30)
    z[3, 4] = np.nan
    t = affine.Affine(30.0, 0, 500_000.0, 0, -30.0, 2_400_000.0)
    path = write_raster(tmp_path / "z.tif", z, t, "EPSG:9205")
    w = GridWindow(2, 3, 10, 12)
    dem = read_window(path, w)
    np.testing.assert_array_equal(dem.elevation_m, z[w.slices])
    assert dem.transform == w.transform(t)
    assert dem.crs.to_epsg() == 9205
    assert w.bounds(t) == (500_090.0, 2_399_640.0, 500_450.0, 2_399_940.0)
    with pytest.raises(DEMError, match="outside the 20×30 raster"):
        read_window(path, GridWindow(15, 0, 10, 5))
