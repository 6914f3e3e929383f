"""Coordinate reference systems of Vietnam: VN-2000, its TM-3 zones, and detection.

Vietnam's national datum is VN-2000 (EPSG:4756). Provincial offices map in *TM-3* zones of
VN-2000 (transverse Mercator, 3° wide, scale 0.9999, false easting 500 000 m) whose central
meridian is fixed per province by Circular 973/2001/TT-TCĐC; pyproj knows them as
``"VN-2000 / TM-3 103-00"`` (EPSG:9205) … ``"VN-2000 / TM-3 108-30"`` (EPSG:9218) and
``"VN-2000 / TM-3 107-45"`` (EPSG:5899). The table :data:`TM3_ZONES` is built from pyproj's
own database, so it follows whatever PROJ version is installed.

VN-2000 → WGS84 is a 7-parameter Helmert shift (EPSG:6960, "VN-2000 to WGS 84 (2)"), about
200–230 m in the northern mountains. :func:`to_wgs84` and :func:`transformer` insist on that
shift: they refuse a "ballpark" (no-shift) operation, which would put towers in the wrong valley.

Detection (:func:`detect_crs`) reads the coordinates themselves: lon/lat degrees, swapped
lat/lon, VN-2000 TM-3 metres (and which zone, from the extent), swapped northing/easting
(Vietnamese surveyors write X for northing) and UTM 48N/49N.

Known limitation: VN-2000 *geographic* coordinates and WGS84 lon/lat differ by only ~0.002°,
so data in VN-2000 degrees labelled (or assumed) WGS84 cannot be told apart from the
coordinates alone; it ends up ~220 m off. Only a declared CRS (``.prj``, the ``crs=`` argument)
or a comparison with trusted points can catch it. Metric coordinates are matched against every TM-3
zone and VN-2000 UTM 48N/49N (EPSG:3405/3406) by where they land: with the province's bounds
the right zone is usually the only one that puts the whole extent inside. UTM on the WGS84
datum (EPSG:32648) differs from VN-2000 UTM only by the datum shift and cannot be told apart;
declare it.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.database import query_crs_info
from pyproj.transformer import TransformerGroup

from phusong.gis.errors import CRSMismatchError, InputError

logger = logging.getLogger(__name__)

__all__ = [
    "PROVINCE_BOUNDS",
    "PROVINCE_TM3_EPSG",
    "TM3_ZONES",
    "UTM_EPSG",
    "VIETNAM_BOUNDS",
    "VN2000_EPSG",
    "WGS84_EPSG",
    "CRSGuess",
    "detect_crs",
    "from_wgs84",
    "province_bounds",
    "province_tm3",
    "reproject",
    "swap_xy",
    "tm3_crs_for_lon",
    "to_wgs84",
    "transform_xy",
    "transformer",
]

WGS84_EPSG = 4326
VN2000_EPSG = 4756
#: VN-2000 / UTM zone 48N and 49N
UTM_EPSG = {48: 3405, 49: 3406}
#: Vietnam in lon/lat (min lon, min lat, max lon, max lat), with a small margin.
VIETNAM_BOUNDS: tuple[float, float, float, float] = (102.0, 8.0, 110.0, 23.6)

#: Provincial TM-3 zones of DESIGN §3 (Circular 973/2001/TT-TCĐC).
PROVINCE_TM3_EPSG: Mapping[str, int] = {
    "lai-chau": 9205, "dien-bien": 9205, "son-la": 9206, "lao-cai": 9208,
    "ha-giang": 9209, "cao-bang": 9210, "lang-son": 9215,
}
#: Approximate lon/lat boxes of the northern provinces (pre-2025 boundaries, ~0.05° margin).
#: Good enough to tell a valid point from a swapped or misplaced one, not for clipping.
PROVINCE_BOUNDS: Mapping[str, tuple[float, float, float, float]] = {
    "lai-chau": (102.27, 21.63, 104.04, 22.87),
    "dien-bien": (102.09, 20.85, 103.65, 22.60),
    "son-la": (103.13, 20.52, 105.08, 22.09),
    "lao-cai": (103.47, 21.80, 104.69, 22.90),
    "ha-giang": (104.28, 22.08, 105.60, 23.44),
    "cao-bang": (105.22, 22.31, 106.89, 23.17),
    "lang-son": (106.04, 21.27, 107.42, 22.52),
}

_TM3_NAME = re.compile(r"^VN-2000 / TM-3 (\d{3})-(\d{2})$")


@functools.cache
def _tm3_table() -> dict[int, float]:
    table: dict[int, float] = {}
    for info in query_crs_info(auth_name="EPSG"):
        m = _TM3_NAME.match(info.name)
        if m:
            table[int(info.code)] = int(m.group(1)) + int(m.group(2)) / 60.0
    if not table:  # an unusually old PROJ database; keep the documented codes working
        table = {9205: 103.0, 9206: 104.0, 9208: 104.75, 9209: 105.5, 9210: 105.75,
                 9215: 107.25}
    return dict(sorted(table.items(), key=lambda kv: kv[1]))


#: EPSG code → central meridian (degrees) of every provincial VN-2000 TM-3 zone pyproj knows.
TM3_ZONES: Mapping[int, float] = _tm3_table()


def _slug(name: str) -> str:
    s = unicodedata.normalize("NFD", str(name)).replace("đ", "d").replace("Đ", "D")
    s = s.encode("ascii", "ignore").decode().lower()
    s = re.sub(r"^(tinh|province of)\s+", "", s.strip())
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")


def tm3_crs_for_lon(lon: float) -> CRS:
    """The VN-2000 TM-3 zone whose central meridian is nearest to ``lon``.

    Candidates are the official provincial meridians of :data:`TM3_ZONES` (103°, 104°,
    104°45′, 105°30′, 105°45′, … 108°30′). Ties go to the western zone.
    """
    lon = float(lon)
    if not np.isfinite(lon):
        raise CRSMismatchError(f"longitude {lon} is not a number; cannot choose a TM-3 zone")
    epsg = min(TM3_ZONES, key=lambda code: (abs(TM3_ZONES[code] - lon), TM3_ZONES[code]))
    return CRS.from_epsg(epsg)


def province_tm3(name: str) -> CRS:
    """The TM-3 zone of a province by name (``"Lai Châu"``, ``"lai-chau"``, ``"Tỉnh Sơn La"``)."""
    key = _slug(name)
    if key not in PROVINCE_TM3_EPSG:
        raise CRSMismatchError(
            f"no TM-3 zone known for province {name!r}; known: "
            f"{', '.join(PROVINCE_TM3_EPSG)}; pass the EPSG code of its zone instead")
    return CRS.from_epsg(PROVINCE_TM3_EPSG[key])


def province_bounds(name: str) -> tuple[float, float, float, float]:
    """Approximate lon/lat box of a province (see :data:`PROVINCE_BOUNDS`)."""
    key = _slug(name)
    if key not in PROVINCE_BOUNDS:
        raise CRSMismatchError(f"no bounds known for province {name!r}; known: "
                               f"{', '.join(PROVINCE_BOUNDS)}")
    return PROVINCE_BOUNDS[key]


# -- transformations ----------------------------------------------------------------------------

def _as_crs(crs: Any) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except Exception as exc:  # pyproj.exceptions.CRSError
        raise CRSMismatchError(f"{crs!r} is not a CRS pyproj understands ({exc}); "
                               "pass an EPSG code such as 4326 or 9205") from None


def _is_vn2000(crs: CRS) -> bool:
    geod = crs.geodetic_crs
    return geod is not None and (geod.name == "VN-2000" or geod.to_epsg() == VN2000_EPSG)


@functools.lru_cache(maxsize=64)
def _transformer(src_wkt: str, dst_wkt: str) -> Transformer:
    src, dst = CRS.from_wkt(src_wkt), CRS.from_wkt(dst_wkt)
    # TransformerGroup lists the concrete operations, best first; Transformer.from_crs would
    # defer the choice to the first call and hide it
    group = TransformerGroup(src, dst, always_xy=True)
    if group.transformers:
        t = group.transformers[0]
    else:  # pragma: no cover - PROJ found no concrete operation
        t = Transformer.from_crs(src, dst, always_xy=True)
    if (_is_vn2000(src) != _is_vn2000(dst)) and "VN-2000 to WGS 84" not in t.description:
        raise CRSMismatchError(
            f"PROJ offers no VN-2000 datum shift from {src.name} to {dst.name} (got "
            f"{t.description!r}, ~220 m error); update PROJ's database (EPSG:6960)")
    return t


def transformer(src: Any, dst: Any) -> Transformer:
    """A lon/lat-ordered (``always_xy``) transformer that applies the VN-2000 datum shift.

    Between VN-2000 and WGS84 the operation is EPSG:6960 ("VN-2000 to WGS 84 (2)",
    7-parameter Helmert); a ballpark operation (no shift) is refused with
    :class:`CRSMismatchError`.
    """
    return _transformer(_as_crs(src).to_wkt(), _as_crs(dst).to_wkt())


def transform_xy(x: Any, y: Any, src: Any, dst: Any) -> tuple[np.ndarray, np.ndarray]:
    """Transform coordinate arrays from ``src`` to ``dst`` (x = easting/longitude).

    From WGS84 to VN-2000 the result is refined to be the exact inverse of the VN-2000 →
    WGS84 direction: PROJ's 2D Helmert drops the ellipsoidal height between the two
    directions, so a plain round trip drifts by ~1.3 mm; one fixed-point step brings it
    under a micrometre.
    """
    s, d = _as_crs(src), _as_crs(dst)
    fwd = transformer(s, d)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ox, oy = fwd.transform(x, y)
    ox, oy = np.asarray(ox, dtype=float), np.asarray(oy, dtype=float)
    if _is_vn2000(d) and not _is_vn2000(s):
        back = transformer(d, s)
        bx, by = back.transform(ox, oy)
        ox, oy = fwd.transform(2 * x - np.asarray(bx), 2 * y - np.asarray(by))
        ox, oy = np.asarray(ox, dtype=float), np.asarray(oy, dtype=float)
    return ox, oy


def _transform_geoms(geoms: Any, src: CRS, dst: CRS) -> Any:
    def fn(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(transform_xy(xy[:, 0], xy[:, 1], src, dst))

    return shapely.transform(np.asarray(geoms, dtype=object), fn)


def _reproject(gdf: Any, dst: CRS) -> Any:
    if gdf.crs is None:
        raise CRSMismatchError("the data has no CRS; detect it with detect_crs() or pass crs=")
    src = CRS.from_user_input(gdf.crs)
    if src.equals(dst):
        return gdf.copy()
    out = gdf.copy()
    out[gdf.geometry.name] = _transform_geoms(gdf.geometry.values, src, dst)
    out = out.set_crs(dst, allow_override=True)
    logger.info("projected %d features from %s to %s (%s)", len(gdf), src.to_string(),
                dst.to_string(), transformer(src, dst).description)
    return out


def to_wgs84(gdf: Any) -> Any:
    """Reproject a GeoDataFrame to WGS84 (EPSG:4326), applying the VN-2000 shift.

    The index and the other columns are kept. Raises :class:`CRSMismatchError` when the
    frame has no CRS.
    """
    return _reproject(gdf, CRS.from_epsg(WGS84_EPSG))


def from_wgs84(gdf: Any, crs: Any) -> Any:
    """Reproject a GeoDataFrame (any CRS) to ``crs``, e.g. a province's TM-3 zone."""
    return _reproject(gdf, _as_crs(crs))


def reproject(gdf: Any, crs: Any) -> Any:
    """``gdf`` in ``crs`` (the frame itself when already there), with the VN-2000 shift.

    Raises :class:`~gis.errors.InputError` when the frame has no CRS (bundle layers are
    EPSG:4326).
    """
    if gdf.crs is None:
        raise InputError("sites/villages have no CRS; set one (bundle layers are EPSG:4326)")
    dst = _as_crs(crs)
    if CRS.from_user_input(gdf.crs).equals(dst):
        return gdf
    return from_wgs84(gdf, dst)


def swap_xy(geoms: Any) -> Any:
    """Geometries with x and y exchanged (fixes lat/lon written in lon/lat order)."""
    return shapely.transform(np.asarray(geoms, dtype=object), lambda xy: xy[:, ::-1])


# -- detection ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class CRSGuess:
    """What :func:`detect_crs` concluded.

    Attributes
    ----------
    crs
        The CRS the coordinates are in, once ``swapped`` is undone; ``None`` when nothing fits.
    kind
        ``"geographic"``, ``"tm3"``, ``"utm"`` or ``"unknown"``.
    swapped
        True when the columns hold (lat, lon) or (northing, easting) and must be exchanged.
    declared_ok
        True when a declared CRS was given and the coordinates fit it.
    ambiguous
        True when several zones fit equally well and the first was taken.
    candidates
        EPSG codes that fit, best first.
    note
        One line in plain words, for warnings and logs.
    """

    crs: CRS | None
    kind: str
    swapped: bool = False
    declared_ok: bool | None = None
    ambiguous: bool = False
    candidates: tuple[int, ...] = ()
    note: str = ""

    @property
    def epsg(self) -> int | None:
        return None if self.crs is None else self.crs.to_epsg()


def _coords(data: Any) -> np.ndarray:
    """An (n, 2) array of x/y from coordinates, geometries, a GeoSeries or a GeoDataFrame."""
    if hasattr(data, "geometry") or hasattr(data, "geom_type"):
        geoms = np.asarray(getattr(data, "geometry", data).values, dtype=object)
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        if not ok.any():
            return np.empty((0, 2))
        # polygon vertices are as telling as centroids and cheaper than representative points
        pts = shapely.get_coordinates(geoms[ok])
        return pts[np.isfinite(pts).all(axis=1)]
    arr = np.asarray(data)
    if arr.dtype == object and arr.ndim == 1:  # an array of shapely geometries
        ok = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
        pts = shapely.get_coordinates(arr[ok]) if ok.any() else np.empty((0, 2))
        return pts[np.isfinite(pts).all(axis=1)]
    arr = arr.astype(float)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise CRSMismatchError("coordinates must be an (n, 2) array of x, y")
    arr = arr[:, :2]
    return arr[np.isfinite(arr).all(axis=1)]


def _share_inside(lon: np.ndarray, lat: np.ndarray, b: tuple[float, ...]) -> float:
    if len(lon) == 0:
        return 0.0
    inside = (lon >= b[0]) & (lon <= b[2]) & (lat >= b[1]) & (lat <= b[3])
    return float(inside.mean())


def _lonlat_of(xy: np.ndarray, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    return transform_xy(xy[:, 0], xy[:, 1], crs, CRS.from_epsg(WGS84_EPSG))


def _fit(xy: np.ndarray, crs: CRS, bounds: tuple[float, ...]) -> float:
    """Share of points that land inside ``bounds`` when read in ``crs``."""
    if crs.is_geographic:
        return _share_inside(xy[:, 0], xy[:, 1], bounds)
    lon, lat = _lonlat_of(xy, crs)
    ok = np.isfinite(lon) & np.isfinite(lat)
    return _share_inside(lon[ok], lat[ok], bounds) * ok.mean()


_UTM_MERIDIAN = {3405: 105.0, 3406: 111.0}


def _metric_candidates(xy: np.ndarray, bounds: tuple[float, ...] | None,
                       ) -> tuple[list[int], list[float]]:
    """TM-3 and UTM zones (best first) that place the points inside ``bounds``.

    Zones are ranked by the share of points that land inside. At equal share (a small
    extent fits several zones) the official zone of the box comes first (the TM-3 meridian
    nearest the box's centre), then UTM, then the other TM-3 zones by the distance of their
    meridian to the centre. Without bounds each zone is checked against its own area of use
    (pyproj's database) and, at equal share, the northern provinces' zones
    (:data:`PROVINCE_TM3_EPSG`) come first.
    """
    preferred = list(dict.fromkeys(PROVINCE_TM3_EPSG.values()))
    official = None
    if bounds is not None:
        official = tm3_crs_for_lon((bounds[0] + bounds[2]) / 2.0).to_epsg()
    scores: list[tuple[float, float, int]] = []
    sample = xy if len(xy) <= 2000 else xy[np.linspace(0, len(xy) - 1, 2000).astype(int)]
    zones = {**TM3_ZONES, **_UTM_MERIDIAN}
    for epsg, cm in zones.items():
        crs = CRS.from_epsg(epsg)
        box = bounds
        if box is None:
            aou = crs.area_of_use
            box = aou.bounds if aou is not None else VIETNAM_BOUNDS
        share = _fit(sample, crs, box)
        if share <= 0:
            continue
        if bounds is not None:
            centre = (bounds[0] + bounds[2]) / 2.0
            rank = (0.0 if epsg == official else 1.0 if epsg in _UTM_MERIDIAN
                    else 2.0 + abs(cm - centre))
        else:
            rank = float(preferred.index(epsg) if epsg in preferred
                         else len(preferred) + (cm if epsg in TM3_ZONES else 1000 + cm))
        scores.append((-round(share, 6), rank, epsg))
    scores.sort()
    return [s[2] for s in scores], [-s[0] for s in scores]


def detect_crs(data: Any, *, declared: Any = None,
               expected_bounds: tuple[float, float, float, float] | None = None,
               min_share: float = 0.5) -> CRSGuess:
    """Tell which CRS a set of coordinates is in, from the numbers themselves.

    Parameters
    ----------
    data
        An (n, 2) array of x/y, a GeoSeries or a GeoDataFrame (its CRS is taken as
        ``declared`` unless one is given).
    declared
        The CRS the data claims to be in (``.prj``, a GeoPackage's SRS, a ``crs=`` argument).
        When the coordinates fit it, it wins; when they do not, the guess says so
        (``declared_ok=False``) and names what does fit.
    expected_bounds
        Lon/lat box the data should fall in (the province); defaults to Vietnam. It is what
        tells TM-3 zones apart: every zone maps a metric extent somewhere in Vietnam, but only
        one puts it in the province.
    min_share
        Share of points that must land inside the box for a CRS to fit.

    Returns
    -------
    CRSGuess
        ``crs`` is ``None`` (kind ``"unknown"``) when nothing fits.

    Notes
    -----
    Degrees are read as WGS84: VN-2000 geographic coordinates are indistinguishable by
    value (see the module docstring). Without ``expected_bounds`` a TM-3 extent is
    ambiguous and the guess is flagged ``ambiguous``.
    """
    if declared is None and getattr(data, "crs", None) is not None:
        declared = data.crs
    declared_crs = None if declared is None else _as_crs(declared)
    xy = _coords(data)
    box = tuple(expected_bounds) if expected_bounds is not None else VIETNAM_BOUNDS
    if len(xy) == 0:
        return CRSGuess(declared_crs, "unknown" if declared_crs is None else _kind(declared_crs),
                        declared_ok=None, note="no coordinates to detect a CRS from")

    if declared_crs is not None:
        share = _fit(xy, declared_crs, box)
        if share >= min_share:
            return CRSGuess(declared_crs, _kind(declared_crs), declared_ok=True,
                            candidates=(declared_crs.to_epsg() or 0,),
                            note=f"coordinates fit the declared {_label(declared_crs)}")
    guess = _detect(xy, box, expected_bounds is not None, min_share)
    if declared_crs is None:
        return guess
    if guess.crs is None:
        return dataclasses.replace(guess, declared_ok=False, note=(
            f"coordinates fit neither the declared {_label(declared_crs)} nor any CRS of "
            "Vietnam (WGS84, VN-2000 TM-3, UTM)"))
    # a declared UTM / TM-3 zone that is merely off by a zone is still reported as wrong
    return dataclasses.replace(guess, declared_ok=False, note=(
        f"declared {_label(declared_crs)} but the coordinates fit {_label(guess.crs)}"
        + (" with x/y swapped" if guess.swapped else "")))


def _kind(crs: CRS) -> str:
    if crs.is_geographic:
        return "geographic"
    epsg = crs.to_epsg()
    if epsg in TM3_ZONES or "TM-3" in crs.name:
        return "tm3"
    if "UTM" in crs.name:
        return "utm"
    return "projected"


def _label(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def _detect(xy: np.ndarray, box: tuple[float, ...], have_bounds: bool,
            min_share: float) -> CRSGuess:
    x, y = xy[:, 0], xy[:, 1]
    degrees = bool((np.abs(x) <= 360).all() and (np.abs(y) <= 360).all())
    wgs = CRS.from_epsg(WGS84_EPSG)
    if degrees:
        straight = _share_inside(x, y, box)
        swapped = _share_inside(y, x, box)
        if straight >= min_share and straight >= swapped:
            return CRSGuess(wgs, "geographic", candidates=(WGS84_EPSG,),
                            note="coordinates are lon/lat degrees; read as WGS84 (EPSG:4326)")
        if swapped >= min_share:
            return CRSGuess(wgs, "geographic", swapped=True, candidates=(WGS84_EPSG,),
                            note="coordinates are lat/lon degrees written as x/y (swapped)")
        return CRSGuess(None, "unknown", note=_outside_note(xy, "degrees", box))
    for swapped, pts in ((False, xy), (True, xy[:, ::-1])):
        codes, shares = _metric_candidates(pts, box if have_bounds else None)
        if codes and shares[0] >= min_share:
            best = [c for c, s in zip(codes, shares, strict=True) if s == shares[0]]
            ambiguous = len(best) > 1
            crs = CRS.from_epsg(codes[0])
            note = f"coordinates are metres in {_label(crs)}"
            if swapped:
                note += " written as northing/easting (swapped)"
            if ambiguous:
                others = ", ".join(f"EPSG:{c}" for c in best[1:4])
                note += (f"; the zone is ambiguous ({others} fit too"
                         + ("" if have_bounds else ", no province bounds given")
                         + "): pass crs= with the EPSG code of the zone")
            return CRSGuess(crs, _kind(crs), swapped=swapped, ambiguous=ambiguous,
                            candidates=tuple(codes), note=note)
    return CRSGuess(None, "unknown", note=_outside_note(xy, "metres", box))


def _outside_note(xy: np.ndarray, unit: str, box: tuple[float, ...]) -> str:
    med = np.median(xy, axis=0)
    return (f"coordinates (median x={med[0]:.6g}, y={med[1]:.6g}, {unit}) fit no CRS that puts "
            f"them inside lon {box[0]}–{box[2]}, lat {box[1]}–{box[3]}")
