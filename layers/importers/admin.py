"""Admin boundaries from GADM, geoBoundaries or official shapefiles → ``admin_units``.

National and multi-province files are the rule: the province is picked by name first — at
whichever level of the file it sits — and the CRS is detected on the selection only, so a
national file needs no clipping by hand. Layouts are recognised from their columns
(:class:`Layout`); a file of any other layout gets one line naming the column that holds the
province's name, and a column mapping (``columns=``, ``--columns``) reads it:

* **GADM 4.1**, full or simplified (below);
* **GADM 2.x** (``ID_0, ISO, NAME_0, ID_k, NAME_k``; files that start at regions keep the
  province in ``NAME_2``): codes are the id path (``VNM.34.2``);
* **post-2025** two-level files (``province_code, province, ward_code, name``): communes
  whose parent is the province;

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

import dataclasses
import difflib
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from phusong.gis.cells import is_text_dtype
from phusong.gis.crs import detect_crs, province_bounds, swap_xy, to_wgs84
from phusong.gis.errors import CRSMismatchError, InputError, SchemaError
from phusong.layers.importers._common import ImportResult, finish, name_key, nfc

logger = logging.getLogger(__name__)

__all__ = ["ADMIN_MAPPING_KEYS", "LEVELS", "Layout", "name_columns_holding",
           "province_geometry", "read_admin"]

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


@dataclasses.dataclass(frozen=True)
class Layout:
    """The admin levels a boundary file holds, top-down.

    Attributes
    ----------
    name
        ``"GADM 4.1"``, ``"GADM 2.x"``, ``"post-2025"``, ``"official"`` or ``"mapping"``.
    levels
        ``(code column or None, name column)`` per level, from the file's top level down (the
        top may be above the province: GADM 2.x files that start at regions).
    single_below
        What a single level below the province is: ``"commune"`` or ``"district"``; ``""``
        when the file does not say (then district, unless ``structure="2-level"``).
    """

    name: str
    levels: tuple[tuple[str | None, str], ...]
    single_below: str = ""


#: keys of a column mapping for admin boundaries (``--columns``)
ADMIN_MAPPING_KEYS = ("province_code", "province_name", "district_code", "district_name",
                      "commune_code", "commune_name")


def _layout(gdf: gpd.GeoDataFrame, columns: Mapping[str, str] | None = None
            ) -> Layout | None:
    """The layout of a boundary frame, or None when its columns match none."""
    cols = list(gdf.columns)
    if columns:
        unknown = [k for k in columns if k not in ADMIN_MAPPING_KEYS]
        if unknown:
            raise SchemaError(f"column mapping: unknown keys {', '.join(unknown)}; use "
                              f"{', '.join(ADMIN_MAPPING_KEYS)}")
        absent = [v for v in columns.values() if v not in cols]
        if absent:
            raise SchemaError(f"column mapping names columns {', '.join(absent)} that the file "
                              f"does not have (columns: {', '.join(map(str, cols))})")
        levels = tuple((columns.get(f"{lv}_code"), columns[f"{lv}_name"])
                       for lv in LEVELS if f"{lv}_name" in columns)
        if not levels:
            raise SchemaError("column mapping: give at least one of province_name, "
                              "district_name, commune_name")
        below = "commune" if "commune_name" in columns else "district"
        return Layout("mapping", levels, below)
    gid = sorted(int(c[4:]) for c in cols if re.fullmatch(r"GID_[1-9]", c))
    if gid:
        levels = tuple((f"GID_{k}", f"NAME_{k}") for k in gid if f"NAME_{k}" in cols)
        if levels:
            below = "commune" if _is_commune_type(gdf.get(f"ENGTYPE_{gid[-1]}")) else ""
            return Layout("GADM 4.1", levels, below)
    ids = sorted(int(c[3:]) for c in cols if re.fullmatch(r"ID_[1-9]", c))
    if ids and ("ISO" in cols or "ID_0" in cols):
        levels = tuple((f"ID_{k}", f"NAME_{k}") for k in ids if f"NAME_{k}" in cols)
        if levels:
            return Layout("GADM 2.x", levels, "district")
    low = {c.lower(): c for c in cols}
    ward = low.get("ward_code") or low.get("commune_code")
    if "province" in low and ward and "name" in low:
        return Layout("post-2025", ((low.get("province_code"), low["province"]),
                                    (ward, low["name"])), "commune")
    normed = {_norm_col(c) for c in cols}
    if set(_OFFICIAL["province_code"]) & normed or set(_OFFICIAL["commune_code"]) & normed:
        found = _official_columns(gdf)
        missing = [k for k in ("province_code", "province_name", "commune_code",
                               "commune_name") if k not in found]
        if missing:  # some official-looking columns only: an unknown layout
            return None
        levels = [(found["province_code"], found["province_name"])]
        if "district_code" in found:
            levels.append((found["district_code"], found.get("district_name",
                                                               found["district_code"])))
        levels.append((found["commune_code"], found["commune_name"]))
        return Layout("official", tuple(levels), "commune")
    return None


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


def _province_level(gdf: gpd.GeoDataFrame, layout: Layout, key: str) -> int | None:
    """The shallowest level of ``layout`` whose name matches the province key."""
    for k, (_code, name_col) in enumerate(layout.levels):
        if (gdf[name_col].map(name_key) == key).any():
            return k
    return None


def _level_names(layout: Layout, n_below: int, structure: str, label: str) -> list[str]:
    if n_below > 2:
        raise SchemaError(f"{label}: {n_below} levels below the province; the deepest level "
                          "must be communes (use a file of provinces, districts or communes)")
    if n_below == 0:
        return ["province"]
    if n_below == 2:
        return ["province", "district", "commune"]
    below = layout.single_below or "district"
    if structure == "2-level":
        below = "commune"
    elif structure == "3-level" and layout.name in ("GADM 4.1", "GADM 2.x"):
        below = "district"
    return ["province", below]


def _rows_layout(label: str, gdf: gpd.GeoDataFrame, layout: Layout, p: int,
                 structure: str) -> pd.DataFrame:
    """Rows of the deepest level with their ancestors' codes and names (for dissolving)."""
    levels = list(layout.levels[p:])
    if structure == "2-level" and len(levels) == 3:
        levels = [levels[0], levels[2]]  # an old file read as province → commune
    names = _level_names(layout, len(levels) - 1, structure, label)
    codes: list[pd.Series] = []
    for j, ((code_col, name_col), level) in enumerate(zip(levels, names, strict=True)):
        if layout.name == "GADM 2.x":  # numeric ids: codes are the id path, as GADM 4 GIDs
            own = gdf[code_col].map(lambda v: _pad(v, "province").lstrip("0") or "0")
            code = ("VNM." + own) if j == 0 else (codes[-1] + "." + own)
        elif code_col is None:
            code = gdf[name_col].map(lambda v: name_key(v, strip_prefix=False))
            if j:
                code = codes[-1] + "." + code
        elif layout.name in ("official", "post-2025", "mapping"):
            code = gdf[code_col].map(lambda v, lv=level: _pad(v, lv))
        else:
            code = gdf[code_col].map(nfc)
        codes.append(code.astype(str))
    out = pd.DataFrame({
        "code": codes[-1].values, "name": gdf[levels[-1][1]].map(nfc).values,
        "level": names[-1], "parent_code": codes[-2].values if len(codes) > 1 else "",
        "province_code": codes[0].values, "province_name": gdf[levels[0][1]].map(nfc).values,
        "geometry": gdf.geometry.values, "source": label,
        "row": gdf["_row"].values if "_row" in gdf else range(1, len(gdf) + 1)})
    if len(levels) == 3:
        out["district_code"] = codes[1].values
        out["district_name"] = gdf[levels[1][1]].map(nfc).values
    return out


def _is_commune_type(types: pd.Series | None) -> bool:
    if types is None:
        return False
    keys = {name_key(t, strip_prefix=False) for t in types.dropna()}
    return bool(keys) and keys <= {"commune", "ward", "township", "xa", "phuong", "thitran"}


def name_columns_holding(gdf: pd.DataFrame, key: str) -> list[str]:
    """Text columns where some value's :func:`name_key` is ``key`` (where a name sits)."""
    found = []
    for c in gdf.columns:
        if c == getattr(gdf, "_geometry_column_name", None):
            continue
        col = gdf[c]
        if is_text_dtype(col.dtype):
            if (col.dropna().astype(str).map(name_key) == key).any():
                found.append(str(c))
    return found


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
               crs: object = None, encoding: str | None = None,
               columns: Mapping[str, str] | None = None,
               clip_lonlat: Sequence[float] | None = None) -> ImportResult:
    """Read admin boundaries into the ``admin_units`` layer.

    Parameters
    ----------
    sources
        Files (Shapefile, GeoPackage — every layer is read —, GeoJSON, zipped shapefile) or
        folders holding them, in one of the known layouts: GADM 4.1 (full or simplified),
        GADM 2.x (``ID_k``/``NAME_k``, the province at any level), post-2025 two-level files
        (``province_code, province, ward_code, name``), official ``MaTinh/TenTinh/…`` files,
        geoBoundaries — national or multi-province files included.
    province
        Keep this province and its units (name with or without diacritics or the "Tỉnh"
        prefix). Required when the sources hold several provinces. The province is picked
        by name first (at whichever level of the file it sits); the CRS is then detected on
        the selection.
    structure
        ``"auto"``, ``"3-level"`` (province/district/commune) or ``"2-level"``
        (province/commune, after 1/7/2025).
    crs
        CRS to assume for files without one (otherwise detected from the coordinates).
    encoding
        Text encoding of Shapefile attributes without a ``.cpg`` (``utf-8``, ``cp1258``,
        ``tcvn3``); detected when omitted.
    columns
        For a file of unknown layout: which columns hold the codes and names
        (:data:`ADMIN_MAPPING_KEYS` → column), e.g. ``{"province_name": "TINH",
        "commune_name": "TEN_XA", "commune_code": "MA_XA"}``.
    clip_lonlat
        ``(west, south, east, north)``: keep only the units of the deepest level whose
        representative point lies in this box (a study area: the part of a province a DEM
        tile covers); the province outline is then dissolved from them.

    Returns
    -------
    ImportResult
        ``accepted`` holds ``code``, ``name``, ``level``, ``parent_code`` and geometry in
        EPSG:4326; units of other provinces (or outside ``clip_lonlat``) are not counted as
        input rows; units dissolved from their children count as rows with ``source_row`` 0.

    Raises
    ------
    InputError
        A file is empty or unreadable; the province is not in the data.
    SchemaError
        The columns match no known layout (the message names the columns holding the
        province's name, for a ``columns`` mapping).
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
    key = name_key(province) if province else None
    parts: list[pd.DataFrame] = []
    gb_parts: list[pd.DataFrame] = []
    top_names: set[str] = set()
    for label, gdf in frames:
        if "shapeName" in gdf.columns and not columns:
            if "shapeType" in gdf and set(gdf["shapeType"].astype(str).str.upper()) == {"ADM0"}:
                logger.info("skipping %s: the country outline (ADM0)", label)
                continue
            if len(gdf) == 0:
                warnings.append(f"{label}: no features")
                continue
            gdf = _to_wgs84(label, gdf, province=None, crs=crs, warnings=warnings)
            gb_parts.append(_rows_geoboundaries(label, gdf))
            continue
        layout = _layout(gdf, columns)
        if layout is None and "GID_0" in gdf.columns and not any(
                re.fullmatch(r"GID_[1-9]", c) for c in gdf.columns):
            logger.info("skipping %s: the country outline (GADM level 0)", label)
            continue
        if layout is None:
            where = name_columns_holding(gdf, key) if key else []
            hint = (f"the province's name {province!r} is in column "
                    f"{', '.join(where)}; " if where else "")
            raise SchemaError(
                f"{label}: columns {', '.join(map(str, gdf.columns))} match no known admin "
                f"boundary format; {hint}expected GADM (GID_1, NAME_1, …), GADM 2.x (ID_1, "
                "NAME_1, …), post-2025 (province_code, province, ward_code, name), "
                "geoBoundaries (shapeName, shapeID, shapeType) or official (MaTinh, TenTinh, "
                "MaHuyen, TenHuyen, MaXa, TenXa), or map the columns with --columns "
                "(province_name=…, commune_code=…, commune_name=…)")
        if len(gdf) == 0:
            warnings.append(f"{label}: no features")
            continue
        gdf = gdf.assign(_row=np.arange(1, len(gdf) + 1))
        top_names.update(gdf[layout.levels[0][1]].dropna().map(nfc))
        if key is not None:
            p = _province_level(gdf, layout, key)
            if p is None:
                continue
            gdf = gdf[gdf[layout.levels[p][1]].map(name_key) == key]
        else:
            p = 0
        gdf = _to_wgs84(label, gdf, province=province, crs=crs, warnings=warnings)
        parts.append(_rows_layout(label, gdf, layout, p, structure))
    if parts and gb_parts:
        raise SchemaError("mixing geoBoundaries with GADM/official files is not supported; "
                          "import one flavour")
    if key is not None and not parts and not gb_parts:
        names = sorted(n for n in top_names if n)
        _raise_not_found(province, names)
    if gb_parts:
        rows = _assemble_geoboundaries(gb_parts, structure)
    else:
        rows = _assemble_coded(parts, clip_lonlat=clip_lonlat, warnings=warnings)
    rows = _select_province(rows, province).reset_index(drop=True)
    source_rows = rows["row"].fillna(0).astype(int).to_numpy()
    rows = rows.drop(columns=["row"])
    return finish("admin_units", rows, source=source, source_rows=source_rows,
                  warnings=warnings)


def _raise_not_found(province: str, names: list[str]) -> None:
    key = name_key(province)
    keys = [name_key(n) for n in names]
    close = difflib.get_close_matches(key, keys, n=1)
    hint = f" (did you mean {names[keys.index(close[0])]!r}?)" if close else ""
    shown = ", ".join(names[:70]) + (" …" if len(names) > 70 else "")
    raise InputError(f"province {province!r} is not in the boundaries{hint}; "
                     f"provinces found: {shown or 'none'}")


def _assemble_coded(parts: list[pd.DataFrame], *, clip_lonlat: Sequence[float] | None = None,
                    warnings: list[str] | None = None) -> gpd.GeoDataFrame:
    rows = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                            crs="EPSG:4326")
    if clip_lonlat is not None:
        rows = _clip_units(rows, clip_lonlat, warnings)
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


def _clip_units(rows: gpd.GeoDataFrame, box: Sequence[float],
                warnings: list[str] | None) -> gpd.GeoDataFrame:
    """Keep the deepest-level units whose representative point is in the lon/lat box, and
    their ancestors (which are then dissolved from them, not read)."""
    if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
        raise InputError(f"clip box {tuple(box)}: give west, south, east, north with "
                         "west < east and south < north")
    rank = rows["level"].map({lv: i for i, lv in enumerate(LEVELS)})
    deepest = rows[rank == rank.max()]
    pts = shapely.point_on_surface(shapely.make_valid(deepest.geometry.values))
    inside = shapely.contains_xy(shapely.box(*box), shapely.get_x(pts), shapely.get_y(pts))
    kept = deepest[inside]
    if kept.empty:
        raise InputError(f"no {deepest['level'].iloc[0] if len(deepest) else 'unit'} of the "
                         f"selection lies in the box {tuple(box)}")
    if warnings is not None:
        warnings.append(f"clipped to lon {box[0]}–{box[2]}, lat {box[1]}–{box[3]}: kept "
                        f"{len(kept)} of {len(deepest)} {kept['level'].iloc[0]} units; the "
                        "levels above are dissolved from them")
    return kept


def province_geometry(admin_units: gpd.GeoDataFrame):
    """The province polygon (union of ``level == "province"`` units, else of all units)."""
    if admin_units is None or len(admin_units) == 0:
        raise InputError("no admin units: import admin boundaries first (phusong import admin)")
    prov = admin_units[admin_units["level"] == "province"]
    src = prov if len(prov) else admin_units
    return shapely.union_all(shapely.make_valid(src.to_crs("EPSG:4326").geometry.values))
