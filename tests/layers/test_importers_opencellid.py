"""OpenCelliD / MLS CSV: MCC 452 filter, MNC → operator, radio → tech, clustering, rejects."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import box

from phusong.gis.errors import InputError, SchemaError
from phusong.layers.importers import read_opencellid
from phusong.layers.importers.opencellid import OPENCELLID_COLUMNS

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "importers"
PROVINCE = box(102.95, 22.25, 103.30, 22.45)
GEOD = Geod(ellps="WGS84")


def _read(name: str = "cells_452.csv", **kwargs):
    return read_opencellid(FIXTURES / name, area_lonlat=PROVINCE, **kwargs)


def test_rows_in_accepted_rejected_with_reasons():
    res = _read()
    cells = res["cells"]
    assert cells.n_in == 20 and cells.n_accepted == 12 and cells.n_rejected == 8
    rej = cells.rejected.set_index("source_row")["reject_reason"]
    assert "MCC 310 is not Vietnam" in rej[14]
    assert "unknown MNC 452-07" in rej[15]
    assert "lat/lon swapped" in rej[16]
    assert "not a number (lon=abc" in rej[17]
    assert "outside the province" in rej[18]
    assert "CDMA unknown" in rej[19]
    assert "duplicate cell GSM-452-4-1200-10001 (first at row 2)" in rej[20]
    assert "7 fields, expected 14 (truncated" in rej[21]
    assert list(cells.rejected.columns[:3]) == ["source_row", "reject_field", "reject_reason"]


def test_gzip_without_header_gives_the_same_towers():
    plain, gz = _read(), _read("cells_452_noheader.csv.gz")
    assert gz["cells"].n_in == 19  # no header line, no truncated line
    assert gz["cells"].n_accepted == plain["cells"].n_accepted
    assert list(gz["towers"].accepted["tower_id"]) == list(plain["towers"].accepted["tower_id"])
    assert list(gz["bts"].accepted["bts_id"]) == list(plain["bts"].accepted["bts_id"])


def test_towers_per_operator_and_bts_per_operator_and_tech():
    res = _read()
    towers = res["towers"].accepted.set_index("tower_id")
    assert len(towers) == 6
    assert towers["owner"].value_counts().to_dict() == {
        "viettel": 3, "vinaphone": 1, "mobifone": 1, "vietnamobile": 1}
    assert (towers["height_m"] == 30).all() and (towers["power_source"] == "grid").all()
    bts = res["bts"].accepted
    site = bts[bts["tower_id"] == "OCID-452-04-1201-10004"]
    assert sorted(site["tech"]) == ["2G", "3G", "4G"]
    assert dict(zip(bts["tech"], bts["band_mhz"], strict=False)) == {
        "2G": 900.0, "3G": 2100.0, "4G": 1800.0, "5G": 3500.0}
    # no power in the source: the radio fields stay empty (coverage takes RADIO_DEFAULTS)
    assert bts["eirp_dbm"].isna().all() and bts["tx_power_w"].isna().all()
    assert set(bts["tower_id"]) == set(towers.index)
    assert any("no heights, bands or powers" in w for w in res["towers"].warnings)
    # every accepted cell points at its tower
    cells = res["cells"].accepted
    assert set(cells["tower_id"]) == set(towers.index)


def test_tower_position_is_near_the_cells():
    res = _read()
    t = res["towers"].accepted.set_index("tower_id").loc["OCID-452-04-1200-10001"]
    _, _, d = GEOD.inv(t.geometry.x, t.geometry.y, 103.030, 22.390)
    assert d < 60  # three fixes scattered ~30 m around the site


def test_merging_operators_makes_shared_towers():
    res = _read(merge_operators=True)
    towers = res["towers"].accepted.set_index("tower_id")
    # the Viettel and Vinaphone sites are ~230 m apart, but their nearest fixes 132 m
    assert len(towers) == 5
    shared = towers.loc["OCID-452-02-1202-10007"]
    assert shared["owner"] == "viettel"  # 3 Viettel cells against 2 Vinaphone
    ops = set(res["bts"].accepted.query("tower_id == 'OCID-452-02-1202-10007'")["operator"])
    assert ops == {"viettel", "vinaphone"}


@pytest.mark.parametrize(("cluster_m", "n_towers"), [(1.0, 12), (150.0, 6), (60_000.0, 4)])
def test_cluster_distance(cluster_m, n_towers):
    assert len(_read(cluster_m=cluster_m)["towers"].accepted) == n_towers


def test_ids_are_stable():
    a, b = _read(), _read()
    assert list(a["bts"].accepted["bts_id"]) == list(b["bts"].accepted["bts_id"])
    assert all(t.startswith("OCID-452-") for t in a["towers"].accepted["tower_id"])


def test_without_area_only_vietnam_is_checked():
    res = read_opencellid(FIXTURES / "cells_452.csv")
    assert res["cells"].n_accepted == 13  # the Điện Biên cell is kept


def test_malformed_files():
    with pytest.raises(InputError, match="truncated or corrupt gzip"):
        _read("cells_truncated.csv.gz")
    with pytest.raises(InputError, match="empty file"):
        _read("cells_empty.csv")
    with pytest.raises(SchemaError, match="not an OpenCelliD CSV"):
        _read("cells_wrong_columns.csv")
    with pytest.raises(InputError, match="cluster_m"):
        _read(cluster_m=0)


def test_header_missing_columns(tmp_path):
    p = tmp_path / "cells.csv"
    p.write_text("radio,mcc,net,area,cell,unit,lon\nLTE,452,4,1,1,0,103.1\n")
    with pytest.raises(SchemaError, match="header lacks lat"):
        read_opencellid(p)


_row = st.fixed_dictionaries({
    "radio": st.sampled_from(["GSM", "UMTS", "LTE", "NR", "CDMA", ""]),
    "mcc": st.sampled_from(["452", "452", "310", "x"]),
    "net": st.sampled_from(["1", "2", "4", "5", "7", ""]),
    "area": st.integers(0, 5).map(str),
    "cell": st.integers(0, 30).map(str),
    "lon": st.one_of(st.floats(102.9, 103.4).map(lambda v: f"{v:.5f}"),
                     st.sampled_from(["", "abc", "22.3"])),
    "lat": st.one_of(st.floats(22.2, 22.5).map(lambda v: f"{v:.5f}"),
                     st.sampled_from(["", "103.1"])),
    "cut": st.integers(0, 20),
})


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_row, min_size=1, max_size=25))
def test_rows_in_equal_accepted_plus_rejected(rows, tmp_path):
    lines = [",".join(OPENCELLID_COLUMNS)]
    for r in rows:
        fields = [r["radio"], r["mcc"], r["net"], r["area"], r["cell"], "0", r["lon"],
                  r["lat"], "1000", "3", "1", "0", "0", "0"]
        if r["cut"] < 3:  # a truncated line
            fields = fields[: 5 + r["cut"]]
        lines.append(",".join(fields))
    p = tmp_path / "cells.csv.gz"
    p.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    res = read_opencellid(p, area_lonlat=PROVINCE)
    cells = res["cells"]
    assert cells.n_in == len(rows) == cells.n_accepted + cells.n_rejected
    acc = cells.accepted
    assert set(acc["mcc"]) <= {"452"}
    assert set(acc["operator"]) <= {"viettel", "vinaphone", "mobifone", "vietnamobile"}
    assert acc.geometry.within(PROVINCE).all()
    assert res["towers"].n_rejected == 0 and res["bts"].n_rejected == 0
    keys = acc["radio"] + acc["net"] + "-" + acc["area"] + "-" + acc["cell"]
    assert keys.is_unique
    if len(acc):
        assert np.isin(acc["tower_id"], res["towers"].accepted["tower_id"]).all()
