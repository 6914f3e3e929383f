"""What-if scenarios: an ordered list of edits to a bundle's towers and BTS, kept as a JSON file.

A scenario is a *diff against the bundle*: the bundle on disk is never changed; folding the
edits over the bundle's ``towers`` and ``bts`` layers gives the scenario's layers
(:func:`apply_scenario`). The same fold serves the planning server (``phusong serve``) and the
commands that read a scenario (``phusong analyse|rollout|report BUNDLE --scenario FILE``), so
both compute from the same BTS.

Edits (``op`` and its fields):

``add_site``
    A new tower of ``operator`` at ``lon``/``lat`` with ``height_m`` and one BTS per entry of
    ``bts`` (``tech``, optional ``band_mhz`` and ``eirp_dbm``), optional ``azimuths`` (degrees,
    empty = omni) and ``tilt_deg`` (kept in the BTS layer as ``mech_tilt_deg``). ``site_id``
    names the tower (``tower_id``); its BTS are ``<site_id>-<tech>``.
``move``
    Tower ``tower_id`` (of the bundle or added) and all its BTS to ``lon``/``lat``.
``remove`` / ``disable`` / ``enable``
    A tower (``tower_id``: all its BTS) or one BTS (``bts_id``). Removed equipment leaves the
    scenario; disabled equipment stays listed but radiates nothing until enabled again.
``share``
    Equipment of ``operator`` (``bts`` entries as for ``add_site``) on tower ``tower_id`` of
    another owner, at the tower's position and ``height_m`` (default: the tower's height).
``sunset``
    Technology ``tech`` switched off from ``date`` (for ``operator``, or every operator when
    ``operator`` is null). From that date the technology's BTS no longer count.
``as_of``
    The date statuses are evaluated at (``date``; null = the settings' date, i.e. today).

Defaults of an added BTS: band and EIRP per technology are the coverage engine's own
(:func:`radio_defaults`), the antenna height is ``settings.mast_height_m``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point

from phusong.gis.errors import InputError
from phusong.layers.operators import OPERATORS
from phusong.layers.settings import DEFAULT, TECHNOLOGIES, Settings

logger = logging.getLogger(__name__)

__all__ = [
    "EDIT_OPS",
    "LIMITS",
    "ScenarioError",
    "ScenarioLayers",
    "apply_scenario",
    "bundle_fingerprint",
    "fold_edits",
    "province_area",
    "radio_defaults",
    "read_bundle_scenario",
    "read_scenario",
    "scenario_document",
    "validate_edit",
    "with_scenario",
    "write_scenario",
]

FORMAT = "phusong-scenario"
VERSION = 1
EDIT_OPS = ("add_site", "move", "remove", "disable", "enable", "share", "sunset", "as_of")
#: accepted ranges of the numeric fields of an edit (the bundle schema's own bounds)
LIMITS: Mapping[str, tuple[float, float]] = {
    "height_m": (1.0, 300.0), "band_mhz": (400.0, 6000.0), "eirp_dbm": (0.0, 90.0),
    "tilt_deg": (-20.0, 30.0)}
MAX_EDITS = 2000
_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_NAME_RE = re.compile(r"^[\w .-]{1,64}$", re.UNICODE)


class ScenarioError(InputError):
    """An edit or a scenario file that cannot be applied (one line naming the field)."""


def _msg(vi: str, en: str) -> str:
    return f"{vi} / {en}"


def radio_defaults(settings: Settings = DEFAULT) -> dict[str, dict[str, float]]:
    """Band (MHz) and total EIRP (dBm) a BTS gets when it gives none, per technology — the
    one radio table's values (:data:`layers.settings.RADIO_DEFAULTS`,
    :func:`layers.settings.default_eirp_dbm`), so an added site's prefilled values are the
    engine's own. The EIRP is the total one (power + gain − feeder loss); the link budget
    takes the reference-signal share and the margins off it, as for any bundle BTS."""
    from phusong.layers.settings import RADIO_DEFAULTS, default_eirp_dbm

    return {t: {"band_mhz": float(RADIO_DEFAULTS[t]["band_mhz"]),
                "eirp_dbm": float(default_eirp_dbm(t))} for t in TECHNOLOGIES}


# -------------------------------------------------------------------------------- validation


def province_area(bundle) -> shapely.Geometry | None:
    """The province's area in lon/lat: its ``province`` unit, else the union of admin units."""
    admin = bundle.layer("admin_units")
    if len(admin) == 0:
        return None
    prov = admin[admin["level"].astype(str) == "province"] if "level" in admin else admin
    geoms = (prov if len(prov) else admin).geometry.to_numpy()
    area = shapely.union_all(geoms)
    shapely.prepare(area)
    return area


def _number(edit: Mapping[str, Any], key: str, where: str, *, default: float | None = None,
            required: bool = False) -> float | None:
    value = edit.get(key)
    if value is None or value == "":
        if required:
            raise ScenarioError(_msg(f"{where}: thiếu trường {key}", f"{where}: {key} missing"))
        return default
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ScenarioError(_msg(f"{where}: {key}={value!r} không phải số",
                                 f"{where}: {key}={value!r} is not a number")) from None
    if not math.isfinite(x):
        raise ScenarioError(_msg(f"{where}: {key} không hữu hạn", f"{where}: {key} not finite"))
    lo_hi = LIMITS.get(key)
    if lo_hi is not None and not lo_hi[0] <= x <= lo_hi[1]:
        raise ScenarioError(_msg(
            f"{where}: {key}={x:g} ngoài khoảng cho phép {lo_hi[0]:g}–{lo_hi[1]:g}",
            f"{where}: {key}={x:g} outside the allowed range {lo_hi[0]:g}–{lo_hi[1]:g}"))
    return x


def _operator(value: Any, where: str, *, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise ScenarioError(_msg(f"{where}: thiếu doanh nghiệp", f"{where}: operator missing"))
        return None
    op = str(value).strip().lower()
    known = [o.value for o in OPERATORS]
    if op not in known:
        raise ScenarioError(_msg(
            f"{where}: doanh nghiệp {value!r} không có (chọn {', '.join(known)})",
            f"{where}: unknown operator {value!r} (use {', '.join(known)})"))
    return op


def _tech(value: Any, where: str) -> str:
    t = str(value).strip().upper()
    if t not in TECHNOLOGIES:
        raise ScenarioError(_msg(f"{where}: công nghệ {value!r} không có",
                                 f"{where}: unknown technology {value!r} "
                                 f"(use {', '.join(TECHNOLOGIES)})"))
    return t


def _date(value: Any, where: str, *, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise ScenarioError(_msg(f"{where}: thiếu ngày", f"{where}: date missing"))
        return None
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ScenarioError(_msg(f"{where}: ngày {value!r} không đúng dạng YYYY-MM-DD",
                                 f"{where}: date {value!r} is not YYYY-MM-DD")) from None


def _ident(value: Any, key: str, where: str) -> str:
    text = str(value or "").strip()
    if not _ID_RE.match(text):
        raise ScenarioError(_msg(f"{where}: {key} {value!r} không hợp lệ",
                                 f"{where}: invalid {key} {value!r} (letters, digits, _.:-)"))
    return text


def _azimuths(value: Any, where: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    parts = value if isinstance(value, list | tuple) else \
        str(value).replace(";", ",").split(",")
    out = []
    for p in parts:
        if str(p).strip() == "":
            continue
        try:
            a = float(p)
        except (TypeError, ValueError):
            raise ScenarioError(_msg(f"{where}: hướng anten {value!r} không hợp lệ",
                                     f"{where}: azimuths {value!r} are not degrees")) from None
        if not (math.isfinite(a) and 0.0 <= a <= 360.0):
            raise ScenarioError(_msg(f"{where}: hướng anten {a:g} ngoài 0–360",
                                     f"{where}: azimuth {a:g} outside 0–360"))
        out.append(f"{a:g}")
    if len(out) > 6:
        raise ScenarioError(_msg(f"{where}: tối đa 6 hướng anten",
                                 f"{where}: at most 6 azimuths"))
    return ";".join(out) or None


def _position(edit: Mapping[str, Any], where: str, area) -> tuple[float, float]:
    lon = _number(edit, "lon", where, required=True)
    lat = _number(edit, "lat", where, required=True)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ScenarioError(_msg(f"{where}: toạ độ {lon:g}, {lat:g} không hợp lệ",
                                 f"{where}: coordinates {lon:g}, {lat:g} are not lon/lat"))
    if area is not None and not shapely.contains_xy(area, lon, lat):
        raise ScenarioError(_msg(f"{where}: điểm {lon:.5f}, {lat:.5f} nằm ngoài tỉnh",
                                 f"{where}: point {lon:.5f}, {lat:.5f} is outside the province"))
    return float(lon), float(lat)


def _bts_entries(value: Any, where: str, settings: Settings) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple) or not value:
        raise ScenarioError(_msg(f"{where}: cần ít nhất một công nghệ (bts)",
                                 f"{where}: at least one technology (bts) is needed"))
    out, seen = [], set()
    defaults = radio_defaults(settings)
    for i, e in enumerate(value):
        w = f"{where} bts[{i}]"
        if not isinstance(e, Mapping):
            raise ScenarioError(_msg(f"{w}: không phải đối tượng", f"{w}: not an object"))
        tech = _tech(e.get("tech"), w)
        if tech in seen:
            raise ScenarioError(_msg(f"{w}: công nghệ {tech} lặp lại", f"{w}: {tech} twice"))
        seen.add(tech)
        d = defaults[tech]
        out.append({"tech": tech,
                    "band_mhz": _number(e, "band_mhz", w, default=d["band_mhz"]),
                    "eirp_dbm": _number(e, "eirp_dbm", w, default=d["eirp_dbm"])})
    return out


def validate_edit(edit: Any, *, area=None, settings: Settings = DEFAULT,
                  where: str = "edit") -> dict[str, Any]:
    """A normalised copy of one edit, or :class:`ScenarioError` naming the bad field.

    ``area`` (lon/lat polygon, :func:`province_area`) bounds every position.
    """
    if not isinstance(edit, Mapping):
        raise ScenarioError(_msg(f"{where}: không phải đối tượng JSON", f"{where}: not an object"))
    op = str(edit.get("op", ""))
    if op not in EDIT_OPS:
        raise ScenarioError(_msg(f"{where}: thao tác {op!r} không có",
                                 f"{where}: unknown op {op!r} (use {', '.join(EDIT_OPS)})"))
    out: dict[str, Any] = {"op": op}
    if op == "add_site":
        out["site_id"] = _ident(edit.get("site_id"), "site_id", where)
        out["operator"] = _operator(edit.get("operator"), where)
        out["lon"], out["lat"] = _position(edit, where, area)
        out["height_m"] = _number(edit, "height_m", where, default=settings.mast_height_m)
        out["bts"] = _bts_entries(edit.get("bts"), where, settings)
        out["azimuths"] = _azimuths(edit.get("azimuths"), where)
        out["tilt_deg"] = _number(edit, "tilt_deg", where, default=None)
    elif op == "move":
        out["tower_id"] = _ident(edit.get("tower_id"), "tower_id", where)
        out["lon"], out["lat"] = _position(edit, where, area)
    elif op in ("remove", "disable", "enable"):
        has_t, has_b = edit.get("tower_id") not in (None, ""), edit.get("bts_id") not in (None, "")
        if has_t == has_b:
            raise ScenarioError(_msg(f"{where}: cần đúng một trong tower_id, bts_id",
                                     f"{where}: give exactly one of tower_id, bts_id"))
        key = "tower_id" if has_t else "bts_id"
        out[key] = _ident(edit.get(key), key, where)
    elif op == "share":
        out["tower_id"] = _ident(edit.get("tower_id"), "tower_id", where)
        out["operator"] = _operator(edit.get("operator"), where)
        out["bts"] = _bts_entries(edit.get("bts"), where, settings)
        out["height_m"] = _number(edit, "height_m", where, default=None)
        out["azimuths"] = _azimuths(edit.get("azimuths"), where)
        out["tilt_deg"] = _number(edit, "tilt_deg", where, default=None)
    elif op == "sunset":
        out["tech"] = _tech(edit.get("tech"), where)
        out["operator"] = _operator(edit.get("operator"), where, required=False)
        out["date"] = _date(edit.get("date"), where)
    elif op == "as_of":
        out["date"] = _date(edit.get("date"), where, required=False)
    return out


# -------------------------------------------------------------------------------------- fold


@dataclasses.dataclass
class ScenarioLayers:
    """The bundle's towers and BTS after a scenario's edits.

    Attributes
    ----------
    towers, bts
        The layers (EPSG:4326). ``bts`` has a boolean ``enabled`` column (False: disabled,
        radiates nothing) and ``origin`` (``bundle``, ``moved`` or ``added``).
    sunsets
        ``(tech, operator or None, date)`` of every switch-off.
    as_of
        The evaluation date, or None for the settings' own.
    """

    towers: gpd.GeoDataFrame
    bts: gpd.GeoDataFrame
    sunsets: list[tuple[str, str | None, str]]
    as_of: str | None

    def settings(self, settings: Settings = DEFAULT) -> Settings:
        """``settings`` with the scenario's evaluation date."""
        return settings.replace(as_of=self.as_of) if self.as_of else settings

    def switched_off(self, settings: Settings = DEFAULT) -> set[tuple[str, str]]:
        """(operator, technology) pairs switched off at the evaluation date."""
        day = self.settings(settings).as_of_date()
        ops = [o.value for o in OPERATORS]
        out: set[tuple[str, str]] = set()
        for tech, op, date in self.sunsets:
            if dt.date.fromisoformat(date) <= day:
                out |= {(o, tech) for o in ([op] if op else ops)}
        return out

    def radiating(self, settings: Settings = DEFAULT) -> gpd.GeoDataFrame:
        """BTS that radiate at the evaluation date: enabled and not switched off."""
        off = self.switched_off(settings)
        b = self.bts
        keep = b["enabled"].to_numpy(dtype=bool, copy=True)
        if off:
            pairs = list(zip(b["operator"].astype(str), b["tech"].astype(str), strict=True))
            keep &= np.array([p not in off for p in pairs], dtype=bool)
        return b[keep]


def _bts_rows(site_id: str, operator: str, lon: float, lat: float, height: float,
              entries: Sequence[Mapping[str, Any]], azimuths: str | None,
              tilt: float | None, existing: set[str]) -> list[dict[str, Any]]:
    rows = []
    for e in entries:
        bid = f"{site_id}-{operator}-{e['tech']}"
        if bid in existing:
            raise ScenarioError(_msg(f"BTS {bid} đã có", f"BTS {bid} already exists"))
        rows.append({"bts_id": bid, "tower_id": site_id, "operator": operator,
                     "tech": e["tech"], "band_mhz": float(e["band_mhz"]),
                     "antenna_height_m": float(height), "eirp_dbm": float(e["eirp_dbm"]),
                     "azimuths": azimuths, "mech_tilt_deg": tilt, "enabled": True,
                     "origin": "added", "geometry": Point(lon, lat)})
    return rows


def fold_edits(bundle, edits: Iterable[Mapping[str, Any]], *,
               settings: Settings = DEFAULT) -> ScenarioLayers:
    """Apply validated edits in order to the bundle's towers and BTS (copies; the bundle's
    layers are not touched). Raises :class:`ScenarioError` for a reference to a tower or BTS
    the scenario does not have at that point."""
    towers = bundle.layer("towers").copy()
    bts = bundle.layer("bts").copy()
    bts["enabled"] = True
    bts["origin"] = "bundle"
    if "mech_tilt_deg" not in bts:
        bts["mech_tilt_deg"] = np.nan
    tower_rows = {str(t): i for i, t in enumerate(towers["tower_id"].astype(str))}
    t_records = towers.to_dict("records")
    b_records = bts.to_dict("records")
    sunsets: list[tuple[str, str | None, str]] = []
    as_of: str | None = None
    for n, edit in enumerate(edits):
        where = f"edit {n + 1} ({edit.get('op')})"
        op = edit["op"]
        if op == "add_site":
            sid = edit["site_id"]
            if sid in tower_rows:
                raise ScenarioError(_msg(f"{where}: cột {sid} đã có",
                                         f"{where}: tower {sid} already exists"))
            t_records.append({"tower_id": sid, "height_m": edit["height_m"],
                              "owner": edit["operator"], "power_source": None,
                              "geometry": Point(edit["lon"], edit["lat"])})
            tower_rows[sid] = len(t_records) - 1
            b_records += _bts_rows(sid, edit["operator"], edit["lon"], edit["lat"],
                                   edit["height_m"], edit["bts"], edit["azimuths"],
                                   edit["tilt_deg"], {r["bts_id"] for r in b_records})
        elif op == "move":
            tid = edit["tower_id"]
            if tid not in tower_rows:
                raise ScenarioError(_msg(f"{where}: không có cột {tid}",
                                         f"{where}: no tower {tid}"))
            pt = Point(edit["lon"], edit["lat"])
            t_records[tower_rows[tid]]["geometry"] = pt
            for r in b_records:
                if str(r["tower_id"]) == tid:
                    r["geometry"] = pt
                    if r["origin"] == "bundle":
                        r["origin"] = "moved"
        elif op in ("remove", "disable", "enable"):
            if "tower_id" in edit:
                tid = edit["tower_id"]
                if tid not in tower_rows:
                    raise ScenarioError(_msg(f"{where}: không có cột {tid}",
                                             f"{where}: no tower {tid}"))
                hit = [r for r in b_records if str(r["tower_id"]) == tid]
                if op == "remove":
                    t_records[tower_rows[tid]] = None
                    del tower_rows[tid]
            else:
                hit = [r for r in b_records if str(r["bts_id"]) == edit["bts_id"]]
                if not hit:
                    raise ScenarioError(_msg(f"{where}: không có BTS {edit['bts_id']}",
                                             f"{where}: no BTS {edit['bts_id']}"))
            if op == "remove":
                ids = {id(r) for r in hit}
                b_records = [r for r in b_records if id(r) not in ids]
            else:
                for r in hit:
                    r["enabled"] = op == "enable"
        elif op == "share":
            tid = edit["tower_id"]
            if tid not in tower_rows:
                raise ScenarioError(_msg(f"{where}: không có cột {tid}",
                                         f"{where}: no tower {tid}"))
            t = t_records[tower_rows[tid]]
            height = edit["height_m"]
            if height is None:
                h = pd.to_numeric(pd.Series([t.get("height_m")]), errors="coerce").iloc[0]
                height = float(h) if np.isfinite(h) else settings.mast_height_m
            g = t["geometry"]
            b_records += _bts_rows(tid, edit["operator"], g.x, g.y, height, edit["bts"],
                                   edit["azimuths"], edit["tilt_deg"],
                                   {r["bts_id"] for r in b_records})
        elif op == "sunset":
            sunsets.append((edit["tech"], edit["operator"], edit["date"]))
        elif op == "as_of":
            as_of = edit["date"]
    crs = bundle.layer("bts").crs or "EPSG:4326"
    t_out = gpd.GeoDataFrame([r for r in t_records if r is not None], columns=towers.columns,
                             geometry="geometry", crs=towers.crs or crs)
    b_out = gpd.GeoDataFrame(b_records, columns=bts.columns, geometry="geometry", crs=crs)
    b_out["enabled"] = b_out["enabled"].astype(bool)
    return ScenarioLayers(towers=t_out.reset_index(drop=True),
                          bts=b_out.reset_index(drop=True), sunsets=sunsets, as_of=as_of)


def apply_scenario(bundle, scenario: Mapping[str, Any] | Sequence[Mapping[str, Any]], *,
                   settings: Settings = DEFAULT):
    """The bundle as the scenario has it, and the settings at its evaluation date.

    The returned bundle shares every layer with ``bundle`` except ``towers`` and ``bts``; its
    ``bts`` layer holds the BTS that radiate (disabled and switched-off ones left out), in the
    bundle's schema. Nothing is written.

    Returns
    -------
    tuple
        ``(bundle, settings, layers)`` with the :class:`ScenarioLayers`.
    """
    edits = scenario.get("edits", []) if isinstance(scenario, Mapping) else scenario
    area = province_area(bundle)
    clean = [validate_edit(e, area=area, settings=settings, where=f"edit {i + 1}")
             for i, e in enumerate(edits)]
    layers = fold_edits(bundle, clean, settings=settings)
    s = layers.settings(settings)
    bts = layers.radiating(s)
    keep = [c for c in bundle.layer("bts").columns]
    if bts["mech_tilt_deg"].notna().any() and "mech_tilt_deg" not in keep:
        keep.insert(len(keep) - 1, "mech_tilt_deg")
    out = dataclasses.replace(bundle, layers={**bundle.layers, "towers": layers.towers,
                                              "bts": bts[keep].reset_index(drop=True)})
    return out, s, layers


# ------------------------------------------------------------------------------------ files


def bundle_fingerprint(bundle) -> str:
    """SHA-256 of the bundle's GeoPackage (first 16 hex digits), or ``""`` in memory."""
    folder = getattr(bundle, "folder", None)
    if folder is None:
        return ""
    path = Path(folder) / "bundle.gpkg"
    if not path.exists():
        return ""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def scenario_document(name: str, edits: Sequence[Mapping[str, Any]], *, bundle=None,
                      fingerprint: str | None = None) -> dict[str, Any]:
    """The JSON document of a scenario."""
    if not _NAME_RE.match(name or ""):
        raise ScenarioError(_msg(f"tên kịch bản {name!r} không hợp lệ",
                                 f"invalid scenario name {name!r} (letters, digits, space, _.-)"))
    return {"format": FORMAT, "version": VERSION, "name": name,
            "province": getattr(bundle, "province", "") if bundle is not None else "",
            "bundle_sha256": fingerprint if fingerprint is not None
            else (bundle_fingerprint(bundle) if bundle is not None else ""),
            "sample": bool(getattr(bundle, "is_sample", False)),
            "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "edits": [dict(e) for e in edits]}


def write_scenario(doc: Mapping[str, Any], path: str | os.PathLike, *,
                   overwrite: bool = True) -> Path:
    """Write a scenario document atomically (UTF-8 JSON)."""
    from phusong.gis.atomic import atomic_write_text

    text = json.dumps(doc, ensure_ascii=False, indent=1)
    return atomic_write_text(path, text + "\n", overwrite=overwrite)


def read_scenario(path: str | os.PathLike, *, bundle=None) -> dict[str, Any]:
    """Read a scenario file; its edits are checked when applied (:func:`apply_scenario`).

    A scenario made on another bundle (different ``bundle_sha256``) is read with a warning.
    """
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{p}: no such scenario file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{p}: not a scenario JSON file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ScenarioError(f"{p}: not a phusong scenario (format must be {FORMAT!r})")
    if int(doc.get("version", 0)) > VERSION:
        raise ScenarioError(f"{p}: scenario version {doc.get('version')} is newer than this "
                            f"phusong reads ({VERSION})")
    edits = doc.get("edits")
    if not isinstance(edits, list) or len(edits) > MAX_EDITS:
        raise ScenarioError(f"{p}: edits must be a list of at most {MAX_EDITS} edits")
    if bundle is not None:
        fp = bundle_fingerprint(bundle)
        if fp and doc.get("bundle_sha256") and doc["bundle_sha256"] != fp:
            logger.warning("%s was made on another bundle (%s, this one is %s)", p,
                           doc["bundle_sha256"], fp)
    return doc


def read_bundle_scenario(path: str | os.PathLike, scenario: str | os.PathLike | None, *,
                         settings: Settings = DEFAULT):
    """Read a bundle, and apply a scenario file to it when one is given (what the commands'
    ``--scenario`` does). Returns ``(bundle, settings)``; the scenario's evaluation date, when
    it sets one, replaces the settings' date."""
    from phusong.layers.bundle import read_bundle

    bundle = read_bundle(path)
    if scenario is None:
        return bundle, settings
    doc = read_scenario(scenario, bundle=bundle)
    out, s, _layers = apply_scenario(bundle, doc, settings=settings)
    logger.info("scenario %s: %d edits applied (%d BTS radiate)", scenario, len(doc["edits"]),
                len(out.layer("bts")))
    return out, s


def with_scenario(bundle, scenario: str | os.PathLike | None, *,
                  settings: Settings = DEFAULT):
    """A bundle already read (and checked) as a scenario file has it: what the commands'
    ``--scenario`` does after their input checks. Returns ``(bundle, settings)``."""
    if scenario is None:
        return bundle, settings
    doc = read_scenario(scenario, bundle=bundle)
    out, s, _layers = apply_scenario(bundle, doc, settings=settings)
    logger.info("scenario %s: %d edits applied (%d BTS radiate)", scenario, len(doc["edits"]),
                len(out.layer("bts")))
    return out, s
