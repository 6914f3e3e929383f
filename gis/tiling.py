"""Split a raster grid into tiles with a halo, read windows, and mosaic blocks back.

Pure grid arithmetic (no domain knowledge): a grid of ``shape = (rows, cols)`` cells is cut
into square *core* tiles of ``tile_cells`` cells; each tile's *window* is its core grown by
``halo_cells`` on every side (clipped to the grid). Work that reaches up to a distance ``R``
from a point inside the core is complete inside the window when
``halo_cells >= ceil(R / res) + margin``; the blocks it produces are merged back onto the
full grid with :func:`place_max` (an order-independent, NaN-ignoring maximum).

Windows are integer cell ranges of the parent grid, so a window read with
:func:`read_window` lines up exactly with the full raster: cell ``(r, c)`` of the window is
cell ``(row_off + r, col_off + c)`` of the grid, with no resampling.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from pathlib import Path

import affine
import numpy as np

from phusong.gis.dem import Dem
from phusong.gis.errors import DEMError, InputError

logger = logging.getLogger(__name__)

__all__ = ["GridWindow", "Tile", "assign_cells", "finite_bbox", "halo_cells_for",
           "place_max", "read_window", "tile_grid"]


@dataclasses.dataclass(frozen=True)
class GridWindow:
    """An integer window ``[row_off, row_off + height) × [col_off, col_off + width)``."""

    row_off: int
    col_off: int
    height: int
    width: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def size(self) -> int:
        return self.height * self.width

    @property
    def slices(self) -> tuple[slice, slice]:
        """Slices selecting the window from an array of the parent grid."""
        return (slice(self.row_off, self.row_off + self.height),
                slice(self.col_off, self.col_off + self.width))

    def transform(self, parent: affine.Affine) -> affine.Affine:
        """The window's affine transform given the parent grid's."""
        return parent * affine.Affine.translation(self.col_off, self.row_off)

    def bounds(self, parent: affine.Affine) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the window's outer edges (north-up parent)."""
        x0, y0 = parent * (self.col_off, self.row_off)
        x1, y1 = parent * (self.col_off + self.width, self.row_off + self.height)
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)

    def grow(self, cells: int, shape: tuple[int, int]) -> GridWindow:
        """This window grown by ``cells`` on every side, clipped to a grid of ``shape``."""
        r0 = max(0, self.row_off - cells)
        c0 = max(0, self.col_off - cells)
        r1 = min(shape[0], self.row_off + self.height + cells)
        c1 = min(shape[1], self.col_off + self.width + cells)
        return GridWindow(r0, c0, r1 - r0, c1 - c0)

    def contains(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Mask of the integer cells ``(rows, cols)`` that fall inside the window."""
        rows = np.asarray(rows)
        cols = np.asarray(cols)
        return ((rows >= self.row_off) & (rows < self.row_off + self.height)
                & (cols >= self.col_off) & (cols < self.col_off + self.width))


@dataclasses.dataclass(frozen=True)
class Tile:
    """One tile: its position in the tile grid, its core and its halo window."""

    index: int
    tile_row: int
    tile_col: int
    core: GridWindow
    window: GridWindow


def halo_cells_for(distance_m: float, res_m: float, *, margin_cells: int = 2) -> int:
    """Cells of halo needed to hold everything within ``distance_m`` of a core cell."""
    if not res_m > 0:
        raise InputError(f"res_m={res_m}: cell size must be > 0")
    if distance_m < 0:
        raise InputError(f"distance_m={distance_m}: must be >= 0")
    return math.ceil(distance_m / res_m) + int(margin_cells)


def tile_grid(shape: tuple[int, int], *, tile_cells: int, halo_cells: int) -> list[Tile]:
    """Cut a grid into square core tiles of ``tile_cells`` with halo windows.

    Parameters
    ----------
    shape
        ``(rows, cols)`` of the grid.
    tile_cells
        Side of a core tile in cells (the last row/column of tiles may be smaller).
    halo_cells
        Width of the halo added around each core (clipped at the grid's edges).

    Returns
    -------
    list of Tile
        Row-major order; ``index`` is the position in that list.
    """
    rows, cols = (int(shape[0]), int(shape[1]))
    if rows <= 0 or cols <= 0:
        raise InputError(f"grid shape {shape}: needs at least one row and one column")
    if tile_cells < 1:
        raise InputError(f"tile_cells={tile_cells}: must be >= 1")
    if halo_cells < 0:
        raise InputError(f"halo_cells={halo_cells}: must be >= 0")
    tiles = []
    n_tr = math.ceil(rows / tile_cells)
    n_tc = math.ceil(cols / tile_cells)
    for i in range(n_tr):
        for j in range(n_tc):
            r0, c0 = i * tile_cells, j * tile_cells
            core = GridWindow(r0, c0, min(tile_cells, rows - r0), min(tile_cells, cols - c0))
            tiles.append(Tile(len(tiles), i, j, core, core.grow(halo_cells, (rows, cols))))
    logger.info("cut a %d×%d grid into %d tiles of %d cells (halo %d cells)", rows, cols,
                len(tiles), tile_cells, halo_cells)
    return tiles


def assign_cells(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], *,
                 tile_cells: int) -> np.ndarray:
    """Index (in :func:`tile_grid` order) of the tile whose core holds each cell.

    Cells outside the grid are assigned to the nearest edge tile.
    """
    rows = np.clip(np.asarray(rows, dtype=np.int64), 0, shape[0] - 1)
    cols = np.clip(np.asarray(cols, dtype=np.int64), 0, shape[1] - 1)
    n_tc = math.ceil(shape[1] / tile_cells)
    return (rows // tile_cells) * n_tc + cols // tile_cells


def finite_bbox(array: np.ndarray) -> GridWindow | None:
    """The smallest window holding every finite value of ``array`` (None if there is none)."""
    finite = np.isfinite(array)
    rows = np.flatnonzero(finite.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(finite.any(axis=0))
    return GridWindow(int(rows[0]), int(cols[0]), int(rows[-1] - rows[0] + 1),
                      int(cols[-1] - cols[0] + 1))


def place_max(dest: np.ndarray, block: np.ndarray, window: GridWindow) -> None:
    """Merge ``block`` into ``dest[window]`` in place, keeping the larger value.

    NaN means "no value": ``max(NaN, x) = x``. The merge is order-independent, so blocks from
    overlapping windows may arrive in any order.
    """
    if block.shape != window.shape:
        raise InputError(f"block of shape {block.shape} does not fit window {window.shape}")
    view = dest[window.slices]
    np.fmax(view, block, out=view)


def read_window(path: str | os.PathLike, window: GridWindow) -> Dem:
    """Read an integer window of a single-band raster as a :class:`~gis.dem.Dem`.

    Nodata cells become NaN. The window must lie inside the raster.
    """
    import rasterio
    from pyproj import CRS
    from rasterio.windows import Window

    p = Path(path)
    if not p.exists():
        raise DEMError(f"{p}: raster not found")
    with rasterio.open(p) as src:
        if (window.row_off < 0 or window.col_off < 0
                or window.row_off + window.height > src.height
                or window.col_off + window.width > src.width):
            raise DEMError(f"{p}: window {window} is outside the {src.height}×{src.width} "
                           "raster; tile the raster's own grid")
        if src.crs is None:
            raise DEMError(f"{p}: raster has no CRS; assign one and retry")
        win = Window(window.col_off, window.row_off, window.width, window.height)
        data = src.read(1, window=win, masked=True)
        transform = src.window_transform(win)
        crs = CRS.from_user_input(src.crs.to_wkt())
    z = np.ma.filled(data.astype(np.float32), np.nan)
    return Dem(z, transform, crs)

