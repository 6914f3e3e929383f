"""Admin boundaries from GADM, geoBoundaries or official shapefiles → ``admin_units``.

Three flavours are recognised from their columns:

* **GADM** (``gadm41_VNM.gpkg`` layers ``ADM_ADM_1..3`` or ``gadm41_VNM_1..3.shp``):
  ``GID_k``/``NAME_k`` columns; a layer's level is its highest ``k``; the parent of a level-k
  unit is ``GID_{k-1}``. Codes are the GIDs (``VNM.27_1``).
* **geoBoundaries** (``geoBoundaries-VNM-ADM1.geojson`` …): ``shapeName``, ``shapeID``,
  ``shapeType`` (``ADM1``…); files carry no parent code, so parents are found spatially (the
  unit of the level above that holds the unit's representative point).
* **Official** provincial shapefiles: one row per commune with province/district/commune
  code and name columns — ``MaTinh``/``TenTinh``, ``MaHuyen``/``TenHuyen``, ``MaXa``/``TenXa``
  (any case, with or without underscores). Province and district polygons are dissolved
  from the communes. Often in VN-2000 TM-3 metres without a ``.prj``: the CRS is detected
  from the coordinates (:func:`gis.crs.detect_crs`), and the zone from the extent.
  Numeric codes lost their leading zeros in DBF files: they are padded back to the GSO
  widths (province 2, district 3, commune 5 digits).

Structures: the old three levels (province → district → commune, before 1 July 2025) and
the new two levels (province → commune, districts abolished: a commune's ``parent_code`` is
the province code). ``structure="auto"`` reads the levels the data has; a file with
province and commune codes but no district is two-level.

A province is chosen by name with or without diacritics, spaces or the "Tỉnh" prefix
(``"Lai Chau"``, ``"Lai Châu"``, GADM's ``"LaiChâu"`` all match).
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from phusong.gis.crs import detect_crs, province_bounds, swap_xy, to_wgs84
from phusong.gis.errors import CRSMismatchError, InputError, SchemaError
from phusong.layers.importers._common import ImportResult, finish, name_key, nfc

logger = logging.getLogger(__name__)

__all__ = ["LEVELS", "province_geometry", "read_admin"]

LEVELS = ("province", "district", "commune")
_VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".zip", ".fgb", ".kml")
_CODE_WIDTH = {"province": 2, "district": 3, "commune": 5}
#: official column aliases (keys compared lower-case without "_" or spaces)
_OFFICIAL = {
    "province_code": ("matinh", "mtinh", "provcode", "maprov"),
    "province_name": ("tentinh", "tinh", "provname"),
    "district_code": ("mahuyen", "mhuyen", "distcode"),
    "district_name": ("tenhuyen", "huyen", "distname"),
    "commune_code": ("maxa", "mxa", "communecode", "commcode"),
    "commune_name": ("tenxa", "xa", "communename", "commname"),
}


def _frames(sources: str | os.PathLike | Iterable[str | os.PathLike], *,
            encoding: str | None = None, warnings: list[str] | None = None
            ) -> list[tuple[str, gpd.GeoDataFrame]]:
    """(label, frame) for every vector layer of the sources.

    Shapefiles go through :func:`layers.io.read_shapefile`, which decodes DBF text without a
    ``.cpg`` as UTF-8, Windows-1258 or TCVN3 (detected, or ``encoding``).
    """
    if isinstance(sources, str | os.PathLike):
        sources = [sources]
    paths: list[Path] = []
    for p in map(Path, sources):
        if p.is_dir():
            inside = sorted(q for q in p.iterdir() if q.suffix.lower() in _VECTOR_SUFFIXES)
            if not inside:
                raise InputError(f"{p}: folder holds no boundary files "
                                 f"({', '.join(_VECTOR_SUFFIXES)})")
            paths += inside
        elif p.exists():
            paths.append(p)
        else:
            raise InputError(f"{p}: no such admin boundary file or folder")
    out = []
    for p in paths:
        if p.stat().st_size == 0:
            raise InputError(f"{p}: empty file; re-download or re-export it")
        if p.suffix.lower() == ".shp":
            from phusong.layers.io import read_shapefile

            gdf, _enc, warns = read_shapefile(p, encoding=encoding)
            if warnings is not None:
                warnings.extend(warns)
            out.append((str(p), gdf))
            continue
        try:
            layers = [name for name, _ in pyogrio.list_layers(p)]
        except Exception as exc:
            raise InputError(f"{p}: cannot be read as a vector file ({exc})") from None
        for layer in layers:
            try:
                gdf = pyogrio.read_dataframe(p, layer=layer)
            except Exception as exc:
                raise InputError(f"{p}: layer {layer} cannot be read ({exc})") from None
            if not isinstance(gdf, gpd.GeoDataFrame):
                continue  # a non-spatial table in a GeoPackage
            label = str(p) if len(layers) == 1 else f"{p}:{layer}"
            out.append((label, gdf))
    return out


def _norm_col(c: str) -> str:
    return re.sub(r"[\s_]", "", c.lower())


def _flavour(gdf: gpd.GeoDataFrame) -> str:
    cols = set(gdf.columns)
    if any(re.fullmatch(r"GID_[1-9]", c) for c in cols):
        return "gadm"
    if "shapeName" in cols:
        return "geoboundaries"
    normed = {_norm_col(c) for c in cols}
    if set(_OFFICIAL["province_code"]) & normed or set(_OFFICIAL["commune_code"]) & normed:
        return "official"
    return ""


def _official_columns(gdf: gpd.GeoDataFrame) -> dict[str, str]:
    by_norm = {_norm_col(c): c for c in gdf.columns}
    found = {}
    for key, aliases in _OFFICIAL.items():
        for a in aliases:
            if a in by_norm:
                found[key] = by_norm[a]
                break
    return found


def _pad(code: object, level: str) -> str:
    s = nfc(code)
    if s.endswith(".0") and s[:-2].isdigit():
        s = s[:-2]
    return s.zfill(_CODE_WIDTH[level]) if s.isdigit() else s


def _to_wgs84(label: str, gdf: gpd.GeoDataFrame, *, province: str | None,
              crs: object, warnings: list[str]) -> gpd.GeoDataFrame:
    """Detect/confirm the CRS from the coordinates and reproject to EPSG:4326."""
    bounds = None
    if province:
        try:
            bounds = province_bounds(province)
        except Exception:  # unknown province: Vietnam's box
            bounds = None
    ok = gdf[~gdf.geometry.isna() & ~gdf.geometry.is_empty]
    pts = ok.geometry.representative_point() if len(ok) else ok.geometry
    guess = detect_crs(pts, declared=crs if crs is not None else gdf.crs,
                       expected_bounds=bounds)
    if guess.crs is None:
        raise CRSMismatchError(f"{label}: the CRS cannot be told from the coordinates "
                               f"({guess.note}); pass crs=/--crs (e.g. EPSG:9205 for "
                               "VN-2000 TM-3 103°) or ship the .prj file")
    if gdf.crs is None and crs is None:
        warnings.append(f"{label}: no CRS declared (.prj missing); detected "
                        f"{guess.crs.name} from the coordinates")
    elif guess.declared_ok is False:
        warnings.append(f"{label}: {guess.note}; using {guess.crs.name}")
    if guess.ambiguous:
        warnings.append(f"{label}: several CRSs fit the coordinates, took {guess.crs.name}; "
                        "pass province= or crs= to be sure")
    gdf = gdf.copy()
    if guess.swapped:
        gdf[gdf.geometry.name] = swap_xy(gdf.geometry.values)
        warnings.append(f"{label}: x/y were swapped; exchanged them")
    gdf = gdf.set_crs(guess.crs, allow_override=True)
    return to_wgs84(gdf)


def _rows_gadm(label: str, gdf: gpd.GeoDataFrame, structure: str) -> pd.DataFrame:
    k = max(int(c[4:]) for c in gdf.columns if re.fullmatch(r"GID_[1-9]", c))
    if k > 3:
        raise SchemaError(f"{label}: GADM level {k} is below communes; use levels 1–3")
    two_level = structure == "2-level" or (
        structure == "auto" and k == 2 and _is_commune_type(gdf.get("ENGTYPE_2")))
    level = {1: "province", 2: "commune" if two_level else "district", 3: "commune"}[k]
    return pd.DataFrame({
        "code": gdf[f"GID_{k}"].map(nfc), "name": gdf.get(f"NAME_{k}", "").map(nfc),
        "level": level, "parent_code": gdf[f"GID_{k - 1}"].map(nfc) if k > 1 else "",
        "province_code": gdf["GID_1"].map(nfc), "province_name": gdf["NAME_1"].map(nfc),
        "geometry": gdf.geometry.values, "source": label, "row": range(1, len(gdf) + 1)})


def _is_commune_type(types: pd.Series | None) -> bool:
    if types is None:
        return False
    keys = {name_key(t, strip_prefix=False) for t in types.dropna()}
    return bool(keys) and keys <= {"commune", "ward", "township", "xa", "phuong", "thitran"}


def _rows_official(label: str, gdf: gpd.GeoDataFrame, structure: str) -> pd.DataFrame:
    cols = _official_columns(gdf)
    missing = [k for k in ("province_code", "province_name", "commune_code", "commune_name")
               if k not in cols]
    if missing:
        raise SchemaError(f"{label}: official boundary file lacks {', '.join(missing)} "
                          f"(columns found: {', '.join(map(str, gdf.columns))}); expected "
                          "MaTinh, TenTinh, [MaHuyen, TenHuyen,] MaXa, TenXa")
    has_district = "district_code" in cols and structure != "2-level"
    pcode = gdf[cols["province_code"]].map(lambda v: _pad(v, "province"))
    ccode = gdf[cols["commune_code"]].map(lambda v: _pad(v, "commune"))
    parent = (gdf[cols["district_code"]].map(lambda v: _pad(v, "district"))
              if has_district else pcode)
    rows = pd.DataFrame({
        "code": ccode, "name": gdf[cols["commune_name"]].map(nfc), "level": "commune",
        "parent_code": parent, "province_code": pcode,
        "province_name": gdf[cols["province_name"]].map(nfc),
        "geometry": gdf.geometry.values, "source": label, "row": range(1, len(gdf) + 1)})
    if has_district:
        rows["district_code"] = parent
        rows["district_name"] = (gdf[cols["district_name"]].map(nfc)
                                 if "district_name" in cols else parent)
    return rows


def _rows_geoboundaries(label: str, gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    if "shapeType" in gdf:
        types = gdf["shapeType"].astype(str).str.upper().unique()
    else:
        m = re.search(r"ADM(\d)", Path(label).name.upper())
        types = [f"ADM{m.group(1)}"] if m else []
    if len(types) != 1 or not re.fullmatch(r"ADM[1-3]", str(types[0])):
        raise SchemaError(f"{label}: geoBoundaries file must hold one ADM level (ADM1–ADM3); "
                          f"found shapeType {list(types)}")
    k = int(str(types[0])[3])
    code = gdf["shapeID"].map(nfc) if "shapeID" in gdf else pd.Series(
        [f"{types[0]}-{i}" for i in range(len(gdf))])
    return pd.DataFrame({
        "code": code.values, "name": gdf["shapeName"].map(nfc).values, "adm": k,
        "geometry": gdf.geometry.values, "source": label, "row": range(1, len(gdf) + 1)})


def _spatial_parents(child: gpd.GeoDataFrame, parent: gpd.GeoDataFrame) -> pd.Series:
    """Code of the parent unit holding each child's representative point ('' if none)."""
    ok = ~child.geometry.isna() & ~child.geometry.is_empty
    pts = gpd.GeoDataFrame({"i": child.index[ok]}, geometry=shapely.point_on_surface(
        shapely.make_valid(child.geometry[ok].values)), crs=child.crs)
    par = parent[["code", "geometry"]].copy()
    par["geometry"] = shapely.make_valid(par.geometry.values)
    joined = gpd.sjoin(pts, par, how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    out = pd.Series("", index=child.index, dtype=object)
    out.loc[joined["i"].values] = joined["code"].fillna("").values
    return out


def _dissolve(rows: gpd.GeoDataFrame, code_col: str, name_col: str, level: str,
              parent_col: str | None) -> gpd.GeoDataFrame:
    """Units of a higher level dissolved from lower-level rows."""
    groups = []
    for code, g in rows.groupby(code_col, sort=True):
        geom = shapely.union_all(shapely.make_valid(g.geometry.values))
        groups.append({"code": code, "name": g[name_col].iloc[0], "level": level,
                       "parent_code": g[parent_col].iloc[0] if parent_col else "",
                       "province_code": g["province_code"].iloc[0],
                       "province_name": g["province_name"].iloc[0],
                       "geometry": geom, "source": g["source"].iloc[0] + " (dissolved)",
                       "row": None})
    return gpd.GeoDataFrame(groups, geometry="geometry", crs=rows.crs)


def read_admin(sources: str | os.PathLike | Iterable[str | os.PathLike], *,
               province: str | None = None, structure: str = "auto",
               crs: object = None, encoding: str | None = None) -> ImportResult:
    """Read admin boundaries into the ``admin_units`` layer.

    Parameters
    ----------
    sources
        Files (Shapefile, GeoPackage — every layer is read —, GeoJSON, zipped shapefile) or
        folders holding them, of one flavour: GADM, geoBoundaries or official.
    province
        Keep this province and its units (name with or without diacritics). Required when
        the sources hold several provinces; optional with one.
    structure
        ``"auto"``, ``"3-level"`` (province/district/commune) or ``"2-level"``
        (province/commune, after 1/7/2025).
    crs
        CRS to assume for files without one (otherwise detected from the coordinates).
    encoding
        Text encoding of Shapefile attributes without a ``.cpg`` (``utf-8``, ``cp1258``,
        ``tcvn3``); detected when omitted.

    Returns
    -------
    ImportResult
        ``accepted`` holds ``code``, ``name``, ``level``, ``parent_code`` and geometry in
        EPSG:4326; units of other provinces are not counted as input rows; units dissolved
        from their children (province and districts of an official file) count as rows
        with ``source_row`` 0.

    Raises
    ------
    InputError
        A file is empty or unreadable; the province is not in the data.
    SchemaError
        The columns match no known flavour.
    CRSMismatchError
        A file has no CRS and its coordinates fit none of Vietnam's.
    """
    if structure not in ("auto", "3-level", "2-level"):
        raise InputError(f"structure={structure!r}: use 'auto', '3-level' or '2-level'")
    warnings: list[str] = []
    frames = _frames(sources, encoding=encoding, warnings=warnings)
    if not frames:
        raise InputError("no admin boundary layers found in the sources")
    source = ", ".join(sorted({lbl.split(":")[0] for lbl, _ in frames}))
    parts: list[pd.DataFrame] = []
    gb_parts: list[pd.DataFrame] = []
    for label, gdf in frames:
        flavour = _flavour(gdf)
        if not flavour and "GID_0" in gdf.columns:
            logger.info("skipping %s: the country outline (GADM level 0)", label)
            continue
        if flavour == "geoboundaries" and "shapeType" in gdf and set(
                gdf["shapeType"].astype(str).str.upper()) == {"ADM0"}:
            logger.info("skipping %s: the country outline (ADM0)", label)
            continue
        if not flavour:
            raise SchemaError(
                f"{label}: columns {', '.join(map(str, gdf.columns))} match no known admin "
                "boundary format; expected GADM (GID_1, NAME_1, …), geoBoundaries "
                "(shapeName, shapeID, shapeType) or official (MaTinh, TenTinh, MaHuyen, "
                "TenHuyen, MaXa, TenXa)")
        if len(gdf) == 0:
            warnings.append(f"{label}: no features")
            continue
        gdf = _to_wgs84(label, gdf, province=province, crs=crs, warnings=warnings)
        if flavour == "gadm":
            parts.append(_rows_gadm(label, gdf, structure))
        elif flavour == "official":
            parts.append(_rows_official(label, gdf, structure))
        else:
            gb_parts.append(_rows_geoboundaries(label, gdf))
    if parts and gb_parts:
        raise SchemaError("mixing geoBoundaries with GADM/official files is not supported; "
                          "import one flavour")
    if gb_parts:
        rows = _assemble_geoboundaries(gb_parts, structure)
    else:
        rows = _assemble_coded(parts)
    rows = _select_province(rows, province).reset_index(drop=True)
    source_rows = rows["row"].fillna(0).astype(int).to_numpy()
    rows = rows.drop(columns=["row"])
    return finish("admin_units", rows, source=source, source_rows=source_rows,
                  warnings=warnings)


def _assemble_coded(parts: list[pd.DataFrame]) -> gpd.GeoDataFrame:
    rows = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                            crs="EPSG:4326")
    have = set(rows["level"])
    extra = []
    communes = rows[rows["level"] == "commune"]
    if "district" not in have and "district_code" in rows and communes["district_code"].notna(
            ).any():
        extra.append(_dissolve(communes, "district_code", "district_name", "district",
                               "province_code"))
    if "province" not in have:
        src = communes if len(communes) else rows[rows["level"] == "district"]
        extra.append(_dissolve(src, "province_code", "province_name", "province", None))
    if extra:
        rows = gpd.GeoDataFrame(pd.concat([rows, *extra], ignore_index=True),
                                geometry="geometry", crs="EPSG:4326")
    rows["level_rank"] = rows["level"].map({lv: i for i, lv in enumerate(LEVELS)})
    rows = rows.sort_values(["level_rank", "code"], kind="stable").drop(columns="level_rank")
    return rows.drop(columns=["district_code", "district_name"], errors="ignore")


def _assemble_geoboundaries(parts: list[pd.DataFrame], structure: str) -> gpd.GeoDataFrame:
    rows = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                            crs="EPSG:4326")
    adms = sorted(set(rows["adm"]))
    two_level = structure == "2-level" or (
        structure == "auto" and 3 not in adms and 2 in adms
        and _names_are_communes(rows.loc[rows["adm"] == 2, "name"]))
    level_of = {1: "province", 2: "commune" if two_level else "district", 3: "commune"}
    rows["level"] = rows["adm"].map(level_of)
    rows["parent_code"] = ""
    for k in adms:
        if k == 1:
            continue
        above = [a for a in adms if a < k]
        if not above:
            continue
        child = rows[rows["adm"] == k]
        rows.loc[child.index, "parent_code"] = _spatial_parents(
            child, rows[rows["adm"] == max(above)]).values
    if 1 in adms:
        prov = rows[rows["adm"] == 1]
        rows["province_code"] = _spatial_parents(rows, prov).values
        rows.loc[prov.index, "province_code"] = prov["code"].values
        names = dict(zip(prov["code"], prov["name"], strict=True))
        rows["province_name"] = rows["province_code"].map(names).fillna("")
    else:
        rows["province_code"] = ""
        rows["province_name"] = ""
    return rows.drop(columns="adm")


def _names_are_communes(names: pd.Series) -> bool:
    keys = [name_key(n, strip_prefix=False) for n in names]
    return bool(keys) and all(k.startswith(("xa", "phuong", "thitran")) for k in keys)


def _select_province(rows: gpd.GeoDataFrame, province: str | None) -> gpd.GeoDataFrame:
    provinces = rows.loc[rows["level"] == "province", ["code", "name"]]
    if province is None:
        codes = set(rows["province_code"]) - {""}
        if len(codes) > 1:
            names = sorted(rows.loc[rows["level"] == "province", "name"])
            raise InputError(f"the boundaries hold {len(codes)} provinces "
                             f"({', '.join(names)}); choose one with province=/--province")
        return rows.drop(columns=["province_code", "province_name"])
    key = name_key(province)
    match = provinces[provinces["name"].map(name_key) == key]
    if match.empty:
        names = list(provinces["name"])
        close = difflib.get_close_matches(key, [name_key(n) for n in names], n=1)
        hint = ""
        if close:
            hint = f" (did you mean {names[[name_key(n) for n in names].index(close[0])]!r}?)"
        raise InputError(f"province {province!r} is not in the boundaries{hint}; "
                         f"provinces found: {', '.join(names) or 'none'}")
    code = match["code"].iloc[0]
    keep = rows["province_code"] == code
    logger.info("selected province %s (%s): %d units", match["name"].iloc[0], code,
                int(keep.sum()))
    return rows[keep].drop(columns=["province_code", "province_name"])


def province_geometry(admin_units: gpd.GeoDataFrame):
    """The province polygon (union of ``level == "province"`` units, else of all units)."""
    if admin_units is None or len(admin_units) == 0:
        raise InputError("no admin units: import admin boundaries first (phusong import admin)")
    prov = admin_units[admin_units["level"] == "province"]
    src = prov if len(prov) else admin_units
    return shapely.union_all(shapely.make_valid(src.to_crs("EPSG:4326").geometry.values))
