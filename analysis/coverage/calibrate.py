"""Calibration of a coverage model to drive-test and crowdsourced measurements.

Reading (:func:`read_measurements`)
    CSV (any encoding :func:`layers._encoding.decode_text` detects, ``,``/``;``/tab) or XLSX
    (first sheet). Columns are recognised by name, case, accents and punctuation ignored:

    * position: ``lat``/``latitude``/``gps_lat``/``vĩ độ`` and ``lon``/``lng``/``longitude``/
      ``kinh độ`` (WGS 84 degrees);
    * operator: ``operator``/``network``/``carrier``/``nhà mạng`` (names, aliases or
      ``452-04``), or ``mcc`` with ``mnc``/``net`` (OpenCelliD);
    * technology: ``tech``/``technology``/``radio``/``rat``/``network_type``/``công nghệ``
      (GSM/EDGE → 2G, UMTS/WCDMA/HSPA → 3G, LTE → 4G, NR → 5G);
    * level: ``rsrp`` (4G/5G), ``rscp`` (3G), ``rxlev`` (2G; RxLev 0–63 is turned into
      ``RxLev − 110`` dBm) or a generic ``signal``/``dbm``/``level``/``rssi`` column taken as
      the technology's own quantity (OpenCelliD ``signal``; RSSI only for 2G);
    * optional: ``cell_id``/``cid``/``cellid``/``eci``, ``time``/``timestamp``/``measured``,
      ``band``/``band_mhz``, ``clutter`` (a class name per row).

    A row without a usable position, operator, technology or level is rejected with its reason
    (rows in = accepted + rejected); a level outside −150…−20 dBm is rejected as not a
    received power. Positions outside the coverage grid or beyond the model's reach are
    rejected when predictions are made.

Model of the correction (per technology, and band when the file gives one)
    ``measured − predicted = offset + slope · log10(d / 1 km) + clutter[class] + ε``, with
    ``d`` the distance to the nearest BTS of the operator and technology (the best server is
    not known per grid cell), and clutter classes from a clutter raster (``clutter=``, class
    codes such as ESA WorldCover), or the file's ``clutter`` column, or else ``settled``
    (inside a village's settled area) / ``open``. Class offsets are relative to the weighted
    mean (the offset); classes with fewer than ``min_class`` rows are pooled as ``other``.
    Fitted by least squares; evaluated by k-fold cross-validation over 1 km spatial blocks
    (neighbouring measurements are not independent), so the "after" figures are out-of-fold.

Errors are ``model − measured``: mean error (bias) and RMSE before and after, per group.

Applying (:func:`apply_calibration`) adds the correction to every finite cell of the matching
best-server fields, with ``d`` from the cell to the nearest BTS of the field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import math
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from phusong.gis.errors import InputError, SchemaError
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = ["Calibration", "CalibrationRun", "GroupFit", "Measurements", "apply_calibration",
           "calibrate", "fit_correction", "read_calibration", "read_measurements"]

FORMAT = "phusong-calibration"
#: received-power range accepted as a measurement (dBm)
LEVEL_RANGE = (-150.0, -20.0)

_ALIASES: dict[str, tuple[str, ...]] = {
    "lat": ("lat", "latitude", "gpslat", "gpslatitude", "vido", "y"),
    "lon": ("lon", "lng", "long", "longitude", "gpslon", "gpslng", "gpslongitude", "kinhdo",
            "x"),
    "operator": ("operator", "operatorname", "network", "networkname", "carrier", "nhamang",
                 "provider", "plmnname"),
    "mcc": ("mcc",),
    "mnc": ("mnc", "net"),
    "tech": ("tech", "technology", "radio", "rat", "networktype", "nettype", "congnghe",
             "networktech", "celltype"),
    "rsrp": ("rsrp", "rsrpdbm", "ltersrp", "nrrsrp", "ssrsrp"),
    "rscp": ("rscp", "rscpdbm"),
    "rxlev": ("rxlev", "rxlevel"),
    "signal": ("signal", "dbm", "level", "signaldbm", "signalstrength", "mucthu", "cuongdo"),
    "rssi": ("rssi", "rssidbm"),
    "cell_id": ("cellid", "cid", "cell", "eci", "nci", "ci", "matram"),
    "time": ("time", "timestamp", "datetime", "date", "measured", "created", "thoigian"),
    "band_mhz": ("band", "bandmhz", "freqmhz", "frequencymhz", "bangtan"),
    "clutter": ("clutter", "landcover", "clutterclass"),
}


def _key(name: object) -> str:
    s = unicodedata.normalize("NFD", str(name)).replace("đ", "d").replace("Đ", "D")
    s = s.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]", "", s)


def _tech_of(value: object) -> str:
    from phusong.layers.validate import parse_tech

    text = str(value).strip()
    key = _key(text)
    for prefix, tech in (("nr", "5G"), ("5g", "5G"), ("lte", "4G"), ("4g", "4G"),
                         ("wcdma", "3G"), ("umts", "3G"), ("hspa", "3G"), ("hsdpa", "3G"),
                         ("hsupa", "3G"), ("3g", "3G"), ("gsm", "2G"), ("edge", "2G"),
                         ("gprs", "2G"), ("2g", "2G")):
        if key.startswith(prefix):
            return tech
    return parse_tech(text)


@dataclasses.dataclass
class Measurements:
    """Accepted measurements and rejected rows (rows in = accepted + rejected).

    ``accepted`` columns: ``source_row``, ``lon``, ``lat``, ``operator``, ``tech``,
    ``level_dbm``, ``quantity`` (RSRP/RSCP/RxLev/signal), and when given ``band_mhz``,
    ``cell_id``, ``time``, ``clutter``. ``rejected``: ``source_row``, ``reject_field``,
    ``reject_reason`` and the row as read.
    """

    accepted: pd.DataFrame
    rejected: pd.DataFrame
    source: str
    rows_in: int


def _read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputError(f"{path}: no such measurement file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes)")
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        try:
            return pd.read_excel(path, dtype=object, engine="openpyxl")
        except Exception as exc:
            raise InputError(f"{path}: not a readable XLSX workbook ({exc})") from None
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise InputError(f"{path}: named .xlsx but not an Excel workbook")
    import csv
    import io

    from phusong.layers._encoding import decode_text

    text, _enc = decode_text(data, source=str(path))
    if not text.strip():
        raise InputError(f"{path}: no rows (only blank lines)")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                         skip_blank_lines=True, on_bad_lines="error", engine="python")
    except Exception as exc:
        raise InputError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    return df


def _num(value: object) -> float:
    if value is None:
        return math.nan
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    text = str(value).strip().replace("\u2212", "-")
    if not text:
        return math.nan
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return math.nan


def read_measurements(path: str | os.PathLike) -> Measurements:
    """Read a measurement file (module docstring); unusable rows are rejected with reasons.

    Raises
    ------
    InputError
        Unreadable or empty file, or no position / level / operator / technology column.
    """
    from phusong.layers.operators import operator_from_mnc, parse_operator

    p = Path(path)
    raw = _read_table(p)
    raw = raw.dropna(how="all")
    cols: dict[str, str] = {}
    for c in raw.columns:
        k = _key(c)
        for field, names in _ALIASES.items():
            if k in names and field not in cols:
                cols[field] = c
                break
    missing = [f for f in ("lat", "lon") if f not in cols]
    if missing:
        raise InputError(f"{p}: no {' / '.join(missing)} column (expected e.g. latitude, "
                         f"longitude); columns are {list(map(str, raw.columns))}")
    if not any(f in cols for f in ("rsrp", "rscp", "rxlev", "signal", "rssi")):
        raise InputError(f"{p}: no signal column (RSRP, RSCP, RxLev, signal or dBm)")
    if "operator" not in cols and "mnc" not in cols:
        raise InputError(f"{p}: no operator column (operator/network, or MCC and MNC)")
    if "tech" not in cols and not any(f in cols for f in ("rsrp", "rscp", "rxlev")):
        raise InputError(f"{p}: no technology column (technology/radio/network type)")
    acc: list[dict[str, Any]] = []
    rej: list[dict[str, Any]] = []
    for i, row in enumerate(raw.to_dict("records")):
        src = i + 2  # 1-based, after the header
        rec: dict[str, Any] = {"source_row": src}

        def reject(field: str, reason: str, row=row, src=src) -> None:
            rej.append({"source_row": src, "reject_field": field, "reject_reason": reason,
                        **{str(k): v for k, v in row.items()}})

        lat = _num(row.get(cols["lat"]))
        lon = _num(row.get(cols["lon"]))
        if not (math.isfinite(lat) and math.isfinite(lon)):
            reject("lat/lon", "position missing or not a number")
            continue
        if lat == 0.0 and lon == 0.0:
            reject("lat/lon", "position 0, 0 (no GPS fix)")
            continue
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            reject("lat/lon", f"position {lat}, {lon} is not in degrees")
            continue
        rec["lat"], rec["lon"] = lat, lon
        try:
            if "operator" in cols and str(row.get(cols["operator"]) or "").strip():
                rec["operator"] = parse_operator(row.get(cols["operator"])).value
            elif "mnc" in cols:
                mcc = row.get(cols["mcc"]) if "mcc" in cols else 452
                mnc = _num(row.get(cols["mnc"]))
                if not math.isfinite(mnc):
                    raise SchemaError("MNC missing")
                rec["operator"] = operator_from_mnc(int(mnc), int(_num(mcc)))
                rec["operator"] = rec["operator"].value
            else:
                raise SchemaError("operator missing")
        except (SchemaError, ValueError) as exc:
            reject("operator", str(exc))
            continue
        tech = None
        if "tech" in cols and str(row.get(cols["tech"]) or "").strip():
            try:
                tech = _tech_of(row.get(cols["tech"]))
            except SchemaError as exc:
                reject("tech", str(exc))
                continue
        levels = {f: _num(row.get(cols[f])) for f in ("rsrp", "rscp", "rxlev", "signal", "rssi")
                  if f in cols}
        if tech is None:
            for f, t in (("rsrp", "4G"), ("rscp", "3G"), ("rxlev", "2G")):
                if math.isfinite(levels.get(f, math.nan)):
                    tech = t
                    break
        if tech is None:
            reject("tech", "technology missing")
            continue
        own = {"2G": "rxlev", "3G": "rscp", "4G": "rsrp", "5G": "rsrp"}[tech]
        quantity, level = own, levels.get(own, math.nan)
        if not math.isfinite(level):
            quantity, level = "signal", levels.get("signal", math.nan)
        if not math.isfinite(level) and tech == "2G":
            quantity, level = "rssi", levels.get("rssi", math.nan)
        if not math.isfinite(level):
            what = {"rxlev": "RxLev", "rscp": "RSCP", "rsrp": "RSRP"}[own]
            reason = f"no {what} for a {tech} measurement"
            if tech != "2G" and math.isfinite(levels.get("rssi", math.nan)):
                reason += " (RSSI is not RSCP/RSRP)"
            reject(own, reason)
            continue
        if quantity == "rxlev" and 0 <= level <= 63:
            level = level - 110.0
        if not LEVEL_RANGE[0] <= level <= LEVEL_RANGE[1]:
            reject(quantity, f"{level:g} dBm is outside {LEVEL_RANGE[0]:g}…{LEVEL_RANGE[1]:g} "
                   "dBm (not a received power; ASU or a positive number?)")
            continue
        rec.update(tech=tech, level_dbm=float(level), quantity=quantity.upper()
                   if quantity != "signal" else "signal")
        if "band_mhz" in cols:
            b = _num(row.get(cols["band_mhz"]))
            rec["band_mhz"] = b if math.isfinite(b) and b >= 300 else math.nan
        for f in ("cell_id", "time", "clutter"):
            if f in cols:
                v = row.get(cols[f])
                rec[f] = None if v is None or str(v).strip() == "" else str(v).strip()
        acc.append(rec)
    accepted = pd.DataFrame(acc, columns=["source_row", "lat", "lon", "operator", "tech",
                                          "level_dbm", "quantity",
                                          *[f for f in ("band_mhz", "cell_id", "time",
                                                        "clutter") if f in cols]])
    rejected = pd.DataFrame(rej)
    if len(rejected) == 0:
        rejected = pd.DataFrame(columns=["source_row", "reject_field", "reject_reason"])
    logger.info("%s: %d measurements accepted, %d rejected", p, len(accepted), len(rejected))
    return Measurements(accepted=accepted, rejected=rejected, source=str(p), rows_in=len(raw))


# ------------------------------------------------------------------------------------------
# the fit


@dataclasses.dataclass
class GroupFit:
    """Correction of one group (technology, or technology@band) and its evaluation."""

    offset_db: float
    slope_db_per_decade: float
    clutter_offsets_db: dict[str, float]
    n: int
    mean_error_before_db: float
    rmse_before_db: float
    mean_error_after_db: float
    rmse_after_db: float
    folds: int

    def correction(self, log_d: np.ndarray, clutter: np.ndarray) -> np.ndarray:
        """Correction (dB) to add to predictions at ``log10(d/km)`` in clutter classes."""
        c = np.array([self.clutter_offsets_db.get(str(k), self.clutter_offsets_db.get(
            "other", 0.0)) for k in np.asarray(clutter, dtype=object)], dtype=float)
        return self.offset_db + self.slope_db_per_decade * np.asarray(log_d, float) + c


def _design(log_d: np.ndarray, classes: np.ndarray, names: list[str],
            use_slope: bool) -> np.ndarray:
    cols = [(classes == k).astype(float) for k in names]
    if use_slope:
        cols.append(np.asarray(log_d, float))
    return np.column_stack(cols)


def _fit_once(resid: np.ndarray, log_d: np.ndarray, classes: np.ndarray, names: list[str],
              use_slope: bool) -> tuple[float, float, dict[str, float]]:
    x = _design(log_d, classes, names, use_slope)
    coef, *_ = np.linalg.lstsq(x, resid, rcond=None)
    inter = coef[:len(names)]
    slope = float(coef[-1]) if use_slope else 0.0
    w = np.array([(classes == k).sum() for k in names], dtype=float)
    offset = float((inter * w).sum() / w.sum())
    return offset, slope, {str(k): float(v - offset) for k, v in zip(names, inter, strict=True)}


def fit_correction(resid: np.ndarray, log_d: np.ndarray, clutter: np.ndarray | None = None, *,
                   x_m: np.ndarray | None = None, y_m: np.ndarray | None = None,
                   folds: int = 5, block_m: float = 1000.0, min_class: int = 30,
                   seed: int = 0) -> GroupFit:
    """Least-squares ``offset + slope · log10(d) + clutter`` of residuals, k-fold evaluated.

    Parameters
    ----------
    resid
        ``measured − predicted`` (dB).
    log_d
        ``log10(distance / 1 km)`` of each measurement.
    clutter
        Class of each measurement (None: one class).
    x_m, y_m
        Metric positions for spatial cross-validation blocks (None: random folds).
    folds
        k of the k-fold cross-validation (≥ 2; fewer when there are fewer blocks).
    block_m
        Side of the square blocks assigned whole to a fold.
    min_class
        Classes with fewer rows are pooled as ``other``.
    """
    resid = np.asarray(resid, float)
    log_d = np.asarray(log_d, float)
    n = len(resid)
    if n < 3:
        raise InputError(f"only {n} usable measurements in a group; at least 3 are needed")
    cls = np.asarray(clutter if clutter is not None else np.full(n, "all"), dtype=object)
    cls = cls.astype(str)
    names, counts = np.unique(cls, return_counts=True)
    small = set(names[counts < min_class])
    if small and len(small) < len(names):
        cls = np.where(np.isin(cls, list(small)), "other", cls)
    elif small:
        cls = np.full(n, "all", dtype=object).astype(str)
    names = sorted(set(cls))
    use_slope = bool(np.std(log_d) > 0.05)
    offset, slope, class_off = _fit_once(resid, log_d, cls, names, use_slope)
    rng = np.random.default_rng(seed)
    if x_m is not None and y_m is not None:
        bid = (np.floor(np.asarray(x_m) / block_m).astype(np.int64) * 1_000_003
               + np.floor(np.asarray(y_m) / block_m).astype(np.int64))
    else:
        bid = np.arange(n)
    blocks = np.unique(bid)
    k = int(max(2, min(folds, len(blocks))))
    fold_of_block = dict(zip(blocks, rng.permutation(len(blocks)) % k, strict=True))
    fold = np.array([fold_of_block[b] for b in bid])
    oof = np.full(n, np.nan)
    for f in range(k):
        test = fold == f
        train = ~test
        if train.sum() < 3 or test.sum() == 0:
            continue
        tr_names = sorted(set(cls[train]))
        o, s, co = _fit_once(resid[train], log_d[train], cls[train], tr_names,
                             use_slope and bool(np.std(log_d[train]) > 0.05))
        oof[test] = o + s * log_d[test] + np.array([co.get(c, 0.0) for c in cls[test]])
    ok = np.isfinite(oof)
    err_before = -resid
    err_after = (oof - resid)[ok]
    return GroupFit(offset_db=offset, slope_db_per_decade=slope, clutter_offsets_db=class_off,
                    n=n, mean_error_before_db=float(err_before.mean()),
                    rmse_before_db=float(np.sqrt((err_before ** 2).mean())),
                    mean_error_after_db=float(err_after.mean()) if ok.any() else math.nan,
                    rmse_after_db=float(np.sqrt((err_after ** 2).mean())) if ok.any()
                    else math.nan, folds=k)


# ------------------------------------------------------------------------------------------
# calibration file


@dataclasses.dataclass
class Calibration:
    """Corrections per group, the model they were fitted for and how clutter was classed."""

    model: str
    province: str
    groups: dict[str, GroupFit]
    clutter_source: str
    measurements: str = ""
    created: str = ""

    def group_for(self, tech: str, band_mhz: float | None = None) -> GroupFit | None:
        """The fit of ``tech@band`` if there is one, else of ``tech``."""
        if band_mhz is not None and np.isfinite(band_mhz):
            g = self.groups.get(f"{tech}@{int(band_mhz)}")
            if g is not None:
                return g
        return self.groups.get(tech)

    def table(self) -> pd.DataFrame:
        """One row per group: n, offset, slope, mean error and RMSE before/after."""
        rows = []
        for key, g in sorted(self.groups.items()):
            rows.append({"group": key, "n": g.n, "offset_db": round(g.offset_db, 2),
                         "slope_db_per_decade": round(g.slope_db_per_decade, 2),
                         "clutter_offsets_db": "; ".join(
                             f"{k} {v:+.1f}" for k, v in sorted(g.clutter_offsets_db.items())),
                         "mean_error_before_db": round(g.mean_error_before_db, 2),
                         "rmse_before_db": round(g.rmse_before_db, 2),
                         "mean_error_after_db": round(g.mean_error_after_db, 2),
                         "rmse_after_db": round(g.rmse_after_db, 2), "folds": g.folds})
        return pd.DataFrame(rows)

    def apply(self, coverage, bundle, *, settings: Settings = DEFAULT,
              clutter: str | os.PathLike | None = None):
        """:func:`apply_calibration` of this calibration."""
        return apply_calibration(coverage, bundle, self, settings=settings, clutter=clutter)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": 1, "model": self.model, "province": self.province,
                "clutter_source": self.clutter_source, "measurements": self.measurements,
                "created": self.created,
                "groups": {k: dataclasses.asdict(g) for k, g in self.groups.items()}}

    def write(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        from phusong.gis.atomic import atomic_write_text

        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2)
        return Path(atomic_write_text(path, text + "\n", overwrite=overwrite))


def read_calibration(path: str | os.PathLike) -> Calibration:
    """Read a calibration file written by :meth:`Calibration.write`."""
    p = Path(path)
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{p}: no such calibration file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: not a calibration file (invalid JSON: {exc})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise InputError(f"{p}: not a phusong calibration file (format {FORMAT!r} expected)")
    try:
        groups = {k: GroupFit(**v) for k, v in d["groups"].items()}
        return Calibration(model=str(d["model"]), province=str(d.get("province", "")),
                           groups=groups, clutter_source=str(d.get("clutter_source", "")),
                           measurements=str(d.get("measurements", "")),
                           created=str(d.get("created", "")))
    except (KeyError, TypeError) as exc:
        raise InputError(f"{p}: calibration file is missing a field ({exc})") from None


# ------------------------------------------------------------------------------------------
# predictions, distances, clutter


def _nearest_site_log_d(bundle, crs, operator: str, tech: str, x: np.ndarray,
                        y: np.ndarray) -> np.ndarray:
    from scipy.spatial import cKDTree

    from phusong.gis.crs import from_wgs84

    bts = bundle.layer("bts")
    sel = bts[(bts["operator"].astype(str) == operator) & (bts["tech"].astype(str) == tech)]
    if len(sel) == 0:
        return np.full(len(x), np.nan)
    sm = from_wgs84(sel, crs) if sel.crs is not None and not sel.crs.equals(crs) else sel
    tree = cKDTree(np.column_stack([sm.geometry.x.to_numpy(), sm.geometry.y.to_numpy()]))
    d, _ = tree.query(np.column_stack([x, y]))
    return np.log10(np.maximum(d, 30.0) / 1000.0)


def _clutter_at(bundle, grid, x: np.ndarray, y: np.ndarray, clutter: Any,
                settings: Settings) -> tuple[np.ndarray, str]:
    """Clutter class names at points and the description of the source."""
    if clutter is not None:
        import rasterio
        from rasterio.warp import transform as warp_transform

        with rasterio.open(clutter) as src:
            xs, ys = warp_transform(grid.crs.to_wkt(), src.crs, list(x), list(y))
            vals = np.array([v[0] for v in src.sample(list(zip(xs, ys, strict=True)))])
        return np.array([f"class_{int(v)}" for v in vals], dtype=object), f"raster:{clutter}"
    import shapely

    from phusong.analysis.coverage.villages import settled_areas

    areas = settled_areas(bundle.layer("villages"), grid.crs, settings=settings)
    tree = shapely.STRtree(areas.to_numpy())
    pts = shapely.points(x, y)
    hit = np.zeros(len(x), dtype=bool)
    if len(areas):
        idx = tree.query(pts, predicate="within")
        hit[np.unique(idx[0])] = True
    return np.where(hit, "settled", "open").astype(object), "settled_areas"


@dataclasses.dataclass
class CalibrationRun:
    """What :func:`calibrate` computed: the calibration, the per-row table and the rejects."""

    calibration: Calibration
    points: pd.DataFrame
    rejected: pd.DataFrame
    rows_in: int


def calibrate(bundle, measurements: Measurements | str | os.PathLike, *,
              model: str | None = None, dem=None, settings: Settings = DEFAULT,
              clutter: str | os.PathLike | None = None, folds: int = 5,
              min_rows: int = 30, coverage=None, seed: int = 0) -> CalibrationRun:
    """Fit per-technology (and band) corrections of the coverage model to measurements.

    Parameters
    ----------
    bundle
        The province bundle (its BTS are the predicted transmitters).
    measurements
        :class:`Measurements` or a path for :func:`read_measurements`.
    model, dem, settings
        As :func:`analysis.coverage.engine.compute_coverage`.
    clutter
        Optional clutter raster (integer classes); default classes are settled / open.
    folds
        k of the cross-validation.
    min_rows
        Groups with fewer usable rows are not fitted (their rows are rejected with a reason).
    coverage
        A :class:`~analysis.coverage.engine.CoverageResult` to use instead of computing one.
    """
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.gis.crs import transformer

    m = measurements if isinstance(measurements, Measurements) else \
        read_measurements(measurements)
    acc = m.accepted.copy()
    rejected = [m.rejected]
    if len(acc) == 0:
        raise InputError(f"{m.source}: no usable measurement (all {m.rows_in} rows rejected)")
    if coverage is None:
        coverage = compute_coverage(bundle, model=model, dem=dem, settings=settings,
                                    operators=sorted(set(acc["operator"])),
                                    techs=sorted(set(acc["tech"])))
    grid = coverage.grid
    t = transformer("EPSG:4326", grid.crs)
    x, y = t.transform(acc["lon"].to_numpy(float), acc["lat"].to_numpy(float))
    acc["x"], acc["y"] = np.asarray(x), np.asarray(y)
    rr, cc, inside = grid.rowcol(acc["x"].to_numpy(), acc["y"].to_numpy())
    pred = np.full(len(acc), np.nan)
    for key, arr in coverage.best_dbm.items():
        sel = (acc["operator"].to_numpy() == key[0]) & (acc["tech"].to_numpy() == key[1]) \
            & inside
        pred[sel] = arr[rr[sel], cc[sel]]
    acc["predicted_dbm"] = pred
    reason = np.where(~inside, "outside the coverage grid",
                      np.where(~np.isfinite(pred), "no prediction (no BTS of this operator and "
                               "technology within reach)", ""))
    if coverage.model == "radius":
        reason = np.where(reason == "", "the radius model has no received power to calibrate",
                          reason)
    bad = reason != ""
    if bad.any():
        r = acc[bad].drop(columns=["x", "y", "predicted_dbm"]).copy()
        r.insert(1, "reject_field", "lat/lon")
        r.insert(2, "reject_reason", reason[bad])
        rejected.append(r)
    acc = acc[~bad].copy()
    acc["log_d"] = np.nan
    for (op, tech), idx in acc.groupby(["operator", "tech"]).groups.items():
        sub = acc.loc[idx]
        acc.loc[idx, "log_d"] = _nearest_site_log_d(bundle, grid.crs, op, tech,
                                                    sub["x"].to_numpy(), sub["y"].to_numpy())
    if "clutter" in acc and acc["clutter"].notna().all() and clutter is None:
        classes, source = acc["clutter"].astype(str).to_numpy(dtype=object), "file"
    else:
        classes, source = _clutter_at(bundle, grid, acc["x"].to_numpy(), acc["y"].to_numpy(),
                                      clutter, settings)
    acc["clutter_class"] = classes
    acc["residual_db"] = acc["level_dbm"] - acc["predicted_dbm"]
    band = acc["band_mhz"] if "band_mhz" in acc else pd.Series(np.nan, index=acc.index)
    acc["group"] = [f"{t_}@{int(b)}" if np.isfinite(b) else t_
                    for t_, b in zip(acc["tech"], band.to_numpy(float), strict=True)]
    groups: dict[str, GroupFit] = {}
    for key, sub in acc.groupby("group"):
        if len(sub) < min_rows:
            r = sub.drop(columns=[c for c in ("x", "y", "predicted_dbm", "log_d",
                                              "clutter_class", "residual_db", "group")
                                  if c in sub]).copy()
            r.insert(1, "reject_field", "tech")
            r.insert(2, "reject_reason",
                     f"group {key}: only {len(sub)} usable rows, {min_rows} needed for a fit")
            rejected.append(r)
            continue
        groups[str(key)] = fit_correction(
            sub["residual_db"].to_numpy(), sub["log_d"].to_numpy(),
            sub["clutter_class"].to_numpy(), x_m=sub["x"].to_numpy(), y_m=sub["y"].to_numpy(),
            folds=folds, seed=seed)
    if not groups:
        raise InputError(f"{m.source}: no technology has {min_rows} usable measurements to "
                         "fit")
    acc = acc[acc["group"].isin(list(groups))]
    cal = Calibration(model=coverage.model, province=str(getattr(bundle, "province", "") or ""),
                      groups=groups, clutter_source=source, measurements=Path(m.source).name,
                      created=dt.datetime.now().replace(microsecond=0).isoformat())
    rej = pd.concat([r for r in rejected if len(r)], ignore_index=True) \
        if any(len(r) for r in rejected) else m.rejected
    logger.info("calibrated %s on %d measurements in %d groups (%d rows rejected)",
                coverage.model, len(acc), len(groups), len(rej))
    return CalibrationRun(calibration=cal, points=acc.reset_index(drop=True), rejected=rej,
                          rows_in=m.rows_in)


def apply_calibration(coverage, bundle, calibration: Calibration, *,
                      settings: Settings = DEFAULT, clutter: str | os.PathLike | None = None):
    """Add the calibration's corrections to the coverage fields (in place) and return it.

    Each ``(operator, tech)`` field takes the group of its technology (band groups apply to a
    field whose BTS all share that band); ``d`` is the distance from each cell to the nearest
    BTS of the field. The calibration's table is kept as ``coverage.calibration``.

    Raises
    ------
    InputError
        The calibration was fitted for another coverage model.
    """
    if calibration.model != coverage.model:
        raise InputError(f"the calibration was fitted for the {calibration.model!r} model, "
                         f"not {coverage.model!r}; run with --model {calibration.model}")
    grid = coverage.grid
    bts = bundle.layer("bts")
    for (op, tech), arr in coverage.best_dbm.items():
        sel = bts[(bts["operator"].astype(str) == op) & (bts["tech"].astype(str) == tech)]
        bands = pd.to_numeric(sel.get("band_mhz"), errors="coerce").dropna().unique() \
            if "band_mhz" in sel else []
        g = calibration.group_for(tech, float(bands[0]) if len(bands) == 1 else None)
        if g is None:
            continue
        rows, cols = np.nonzero(np.isfinite(arr))
        if len(rows) == 0:
            continue
        x, y = grid.transform * (cols + 0.5, rows + 0.5)
        x, y = np.asarray(x), np.asarray(y)
        log_d = _nearest_site_log_d(bundle, grid.crs, op, tech, x, y)
        if calibration.clutter_source.startswith("raster:") or clutter is not None:
            src = clutter or calibration.clutter_source.split(":", 1)[1]
            classes, _ = _clutter_at(bundle, grid, x, y, src, settings)
        elif calibration.clutter_source == "settled_areas":
            classes, _ = _clutter_at(bundle, grid, x, y, None, settings)
        else:
            classes = np.full(len(x), "other", dtype=object)
        arr[rows, cols] = (arr[rows, cols] + g.correction(log_d, classes)).astype(arr.dtype)
    coverage.calibration = calibration.table()
    logger.info("applied calibration (%d groups) to %d fields", len(calibration.groups),
                len(coverage.best_dbm))
    return coverage
