"""The multi-province sample of the northern-border cluster (seeds.multi)."""

from __future__ import annotations

import pytest

from phusong.gis.errors import OutputExistsError, SettingsError
from phusong.layers.bundle import read_bundle
from phusong.seeds.multi import CLUSTER, EXTRA, cluster_preset, generate_cluster, parse_provinces
from phusong.seeds.presets import PRESETS

# DESIGN §3 and seed 003 ("Sơn La, Lai Châu, Điện Biên, Lào Cai, Hà Giang, Cao Bằng, Lạng Sơn")
EXPECTED = {"son-la": ("Sơn La", 9206), "lai-chau": ("Lai Châu", 9205),
            "dien-bien": ("Điện Biên", 9205), "lao-cai": ("Lào Cai", 9208),
            "ha-giang": ("Hà Giang", 9209), "cao-bang": ("Cao Bằng", 9210),
            "lang-son": ("Lạng Sơn", 9215)}


def test_the_seven_provinces_of_the_cluster_in_their_zones():
    assert CLUSTER == tuple(EXPECTED)
    for key, (name, epsg) in EXPECTED.items():
        p = cluster_preset(key)
        assert (p.key, p.name, p.metric_epsg) == (key, name, epsg)
    assert cluster_preset("lai-chau") is PRESETS["lai-chau"]
    assert "yen-bai" in EXTRA and "yen-bai" not in CLUSTER


def test_derived_presets_keep_reported_figures_and_document_guesses():
    lao_cai = cluster_preset("lao-cai")
    assert lao_cai.villages == 1562 and lao_cai.villages_with_signal == 1542
    assert cluster_preset("ha-giang").bts == 2432
    assert cluster_preset("cao-bang").towers == 1037
    assert cluster_preset("son-la").white_villages == 216
    for key in ("son-la", "lao-cai", "ha-giang", "cao-bang", "yen-bai"):
        p = cluster_preset(key)
        assert p.guesses and "area ratio" in " ".join(p.guesses)
        assert len(p.district_names) == p.districts
        for op, techs in p.bts_by_operator_tech.items():
            assert all(n <= p.sites_by_operator[op] for n in techs.values()), (key, op)
        assert max(p.sites_by_operator.values()) <= p.towers <= sum(
            p.sites_by_operator.values())
    assert "003" in cluster_preset("lao-cai").sources["villages"]


def test_parse_provinces():
    assert parse_provinces("lai-chau, dien-bien,lai-chau") == ["lai-chau", "dien-bien"]
    assert parse_provinces("cluster") == list(CLUSTER)
    with pytest.raises(SettingsError, match="unknown sample province 'ha-noi'"):
        parse_provinces("lai-chau,ha-noi")
    with pytest.raises(SettingsError, match="no province given"):
        parse_provinces(" , ")


def test_generate_cluster_writes_labelled_bundles_and_reuses_them(tmp_path):
    (folder,) = generate_cluster(tmp_path, provinces=["son-la"], seed=3, scale=0.01)
    b = read_bundle(folder)
    assert folder == tmp_path / "son-la" and b.is_sample and b.dem_path is not None
    assert b.meta["preset"] == "son-la" and b.meta["seed"] == "3" and b.metric_crs.to_epsg() == 9206
    lon0, lat0, lon1, lat1 = b.total_bounds()
    assert lon0 < 103.95 < lon1 and lat0 < 21.2 < lat1
    mtime = (folder / "bundle.gpkg").stat().st_mtime_ns
    generate_cluster(tmp_path, provinces=["son-la"], seed=3, scale=0.01)  # reused
    assert (folder / "bundle.gpkg").stat().st_mtime_ns == mtime
    with pytest.raises(OutputExistsError, match="not the sample"):
        generate_cluster(tmp_path, provinces=["son-la"], seed=3, scale=0.02)
    with pytest.raises(SettingsError, match="scale=2"):
        generate_cluster(tmp_path, provinces=["son-la"], scale=2)
