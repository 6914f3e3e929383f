"""Bundles from imported fixtures: import one source at a time, build in one step, then run
coverage, village status and gap lists end to end."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import make_fixtures as mf  # tests/data/importers (pytest pythonpath)
import pandas as pd
import pytest
from click.testing import CliRunner

from phusong.analysis.cli import phusong
from phusong.gis.errors import InputError, OutputExistsError
from phusong.layers.bundle import read_bundle
from phusong.layers.importers import (
    build_bundle,
    import_admin_into,
    import_dem_into,
    import_opencellid_into,
    import_osm_into,
    import_population_into,
    summary_frame,
)
from phusong.layers.settings import DEFAULT

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "importers"





@pytest.fixture(scope="module")
def hgt_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("srtm")
    mf.write_hgt(d, 22, 102)
    mf.write_hgt(d, 22, 103, void_block=True)
    return d


@pytest.fixture(scope="module")
def built(tmp_path_factory, hgt_dir):
    out = tmp_path_factory.mktemp("bundle") / "lai-chau"
    reports = build_bundle(out, admin=FIXTURES / "official_old", province="Lai Chau",
                           osm=FIXTURES / "lai_chau.osm",
                           opencellid=FIXTURES / "cells_452_noheader.csv.gz", dem=hgt_dir,
                           population=FIXTURES / "worldpop_fixture.tif")
    return out, reports


def test_build_bundle_from_every_source(built):
    out, reports = built
    table = summary_frame(reports)
    assert list(table["layer"]) == ["admin_units", "roads", "villages", "towers", "bts",
                                    "post_offices", "cells", "towers", "bts", "dem",
                                    "villages (population)"]
    rows = table[~table["layer"].isin(["dem", "villages (population)"])]
    assert (rows["in"] == rows["accepted"] + rows["rejected"]).all()
    bundle = read_bundle(out)
    # two OpenCelliD clusters are OSM masts seen again: their BTS join the OSM towers
    # 8 towers: the OSM mast without an operator tag is a tower of owner "unknown"
    assert bundle.counts() == {"admin_units": 7, "roads": 8, "villages": 5, "towers": 8,
                               "bts": 13, "post_offices": 3}
    bts = bundle["bts"].set_index("bts_id")
    assert bts.loc["OSM-N2001-viettel-4G", "tower_id"] == "OSM-N2001"
    assert "OCID-452-04-1200-10001" not in set(bundle["towers"]["tower_id"])
    assert bundle.meta["province"] == "Tỉnh Lai Châu" and bundle.meta["province_code"] == "12"
    assert bundle.metric_crs.to_epsg() == 9205
    assert not bundle.is_sample
    assert bundle.dem_path == out / "dem.tif" and bundle.population_path is not None
    v = bundle["villages"].set_index("village_id")
    assert (v["population"] > 0).all()  # tags kept, the rest filled from the raster
    assert v.loc["OSM-N1001", "population"] == 420
    assert set(v["commune_code"]) <= {"03124", "03125", "03226", "03227"}
    rejects = sorted(p.name for p in (out / "rejects").iterdir())
    assert rejects == ["rejects_bts_cells_452_noheader.csv",
                       "rejects_cells_cells_452_noheader.csv", "rejects_roads_lai_chau.csv",
                       "rejects_towers_cells_452_noheader.csv", "rejects_towers_lai_chau.csv",
                       "rejects_villages_lai_chau.csv"]
    same = pd.read_csv(out / "rejects" / "rejects_towers_cells_452_noheader.csv",
                       encoding="utf-8-sig")["reject_reason"]
    assert same.str.contains(r"same mast as tower OSM-N200[13] already in the bundle").all()
    cells = pd.read_csv(out / "rejects" / rejects[1], encoding="utf-8-sig")
    assert list(cells.columns[:3]) == ["source_row", "reject_field", "reject_reason"]
    assert len(cells) == 7


def test_coverage_status_and_gaps_end_to_end(built):
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.tables.gaps import gap_list

    out, _ = built
    bundle = read_bundle(out)
    settings = DEFAULT.replace(as_of="2025-06-01")
    coverage = compute_coverage(bundle, settings=settings)
    assert coverage.model == "terrain"  # the imported DEM is used
    status = village_status(bundle, coverage, settings=settings)
    assert list(status.index) == list(bundle["villages"]["village_id"])
    assert set(status["status_any"]) <= {"phu", "lom", "trang"}
    assert (status["status_any"] != "trang").sum() >= 3  # villages near imported towers
    for op in ("viettel", "vinaphone", "mobifone", "vietnamobile"):
        gaps = gap_list(bundle, status, op, settings=settings)
        uncovered = set(status.index[status[f"status_{op}"] != "phu"])
        assert set(gaps["village_id"]) == uncovered
    # Vietnamobile has one 2G site in the south-east: most villages are its gaps
    assert len(gap_list(bundle, status, "vietnamobile", settings=settings)) >= 3


def test_import_one_source_at_a_time(tmp_path, hgt_dir):
    b = tmp_path / "b"
    r = import_admin_into(b, FIXTURES / "gadm41_VNM_fixture.gpkg", province="Lai Châu")
    assert r[0].accepted == 7
    assert read_bundle(b).meta["metric_epsg"] == "9205"
    r = import_osm_into(b, FIXTURES / "lai_chau.osm", layers=["villages", "towers", "bts"])
    assert [x.layer for x in r] == ["villages", "towers", "bts"]
    r = import_opencellid_into(b, FIXTURES / "cells_452.csv")
    # 4 OSM masts (one of unknown owner) + 4 new clusters (2 clusters are OSM masts)
    assert read_bundle(b).counts()["towers"] == 4 + 4
    # appending the same cells again: every id is already there
    r = import_opencellid_into(b, FIXTURES / "cells_452.csv")
    towers = next(x for x in r if x.layer == "towers")
    assert towers.accepted == 0 and towers.rejected == 6
    assert "already in the bundle" in pd.read_csv(towers.rejects_file)["reject_reason"][0]
    # replacing the layer
    import_opencellid_into(b, FIXTURES / "cells_452.csv", mode="replace")
    assert read_bundle(b).counts()["towers"] == 6
    import_dem_into(b, hgt_dir)
    with pytest.raises(OutputExistsError, match="already has a DEM"):
        import_dem_into(b, hgt_dir)
    import_dem_into(b, hgt_dir, overwrite=True)
    r = import_population_into(b, FIXTURES / "worldpop_fixture.tif")
    assert r[0].accepted == 3  # villages without a (numeric) population tag
    assert (read_bundle(b)["villages"]["population"] > 0).all()


def test_errors(tmp_path, built):
    out, _ = built
    with pytest.raises(OutputExistsError, match="--overwrite"):
        build_bundle(out, admin=FIXTURES / "official_new")
    with pytest.raises(InputError, match="nothing to build"):
        build_bundle(tmp_path / "x", dem=FIXTURES / "dem_voids.tif")
    with pytest.raises(InputError, match="no area to clip the DEM"):
        import_dem_into(tmp_path / "y", FIXTURES / "dem_voids.tif")
    r = import_opencellid_into(tmp_path / "w", FIXTURES / "cells_452.csv",
                               bounds=(102.95, 22.25, 103.30, 22.45))
    assert r[0].rejected == 8  # the Điện Biên cell is outside the box
    with pytest.raises(InputError, match="no villages to fill"):
        import_population_into(tmp_path / "z", FIXTURES / "worldpop_fixture.tif")


def test_cli_import_and_build(tmp_path, hgt_dir):
    runner = CliRunner()
    b = tmp_path / "cli"
    res = runner.invoke(phusong, ["import", "admin", str(FIXTURES / "geoboundaries"),
                                  "--province", "Lai Chau", "--into", str(b), "-q"])
    assert res.exit_code == 0, res.output
    assert "admin_units" in res.output
    res = runner.invoke(phusong, ["import", "osm", str(FIXTURES / "lai_chau.osm"),
                                  "--into", str(b), "--layers", "villages", "-q"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(phusong, ["import", "opencellid",
                                  str(FIXTURES / "cells_452_noheader.csv.gz"), "--into", str(b),
                                  "--cluster-m", "150", "--out", str(tmp_path / "rej"), "-q"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "rej" / "rejects_cells_cells_452_noheader.csv").exists()
    res = runner.invoke(phusong, ["import", "dem", str(hgt_dir), "--into", str(b), "-q"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(phusong, ["import", "population", str(FIXTURES / "worldpop_fixture.tif"),
                                  "--into", str(b), "-q"])
    assert res.exit_code == 0, res.output
    assert read_bundle(b).counts() == {"admin_units": 7, "villages": 5, "towers": 6, "bts": 11}
    # a library error is one line, not a traceback
    res = runner.invoke(phusong, ["import", "opencellid", str(FIXTURES / "cells_empty.csv"),
                                  "--into", str(b)])
    assert res.exit_code == 1 and "empty file" in res.output and "Traceback" not in res.output

    out = tmp_path / "built"
    args = ["build", "--admin", str(FIXTURES / "official_new"), "--province", "Lai Châu",
            "--osm", str(FIXTURES / "lai_chau.osm"), "--opencellid",
            str(FIXTURES / "cells_452.csv"), "--dem", str(FIXTURES / "dem_voids.tif"),
            "--population", str(FIXTURES / "worldpop_fixture.tif"), "--out", str(out), "-q"]
    res = runner.invoke(phusong, args)
    assert res.exit_code == 0, res.output
    assert "villages" in res.output and (out / "bundle.gpkg").exists()
    assert set(read_bundle(out)["villages"]["commune_code"]) <= {"03130", "03230"}
    res = runner.invoke(phusong, args)
    assert res.exit_code == 1 and "--overwrite" in res.output
    assert runner.invoke(phusong, [*args, "--overwrite"]).exit_code == 0


def test_committed_fixtures_match_the_script(tmp_path):
    """The shipped text fixtures are what make_fixtures.py writes (provenance)."""
    mf.write_all(tmp_path)
    for name in ("lai_chau.osm", "truncated.osm", "cells_452.csv", "cells_empty.csv",
                 "cells_wrong_columns.csv"):
        assert (tmp_path / name).read_bytes() == (FIXTURES / name).read_bytes(), name
    assert gzip.decompress((tmp_path / "cells_452_noheader.csv.gz").read_bytes()) == \
        gzip.decompress((FIXTURES / "cells_452_noheader.csv.gz").read_bytes())
    shutil.rmtree(tmp_path)
