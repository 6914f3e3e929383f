"""Radius-model coverage for the sample province's summary (``phusong demo``).

This is the DESIGN §4 radius model reduced to villages: a village is covered by an operator
when its centre lies within ``settings.radius_m(tech)`` of one of the operator's BTS of a
technology in service. The analysis package has the full model; this copy keeps ``seeds``
free of a dependency on ``analysis``. (Calibration itself uses a line-of-sight proxy of the
terrain model, see :mod:`seeds.sample`.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from phusong.layers.settings import DEFAULT, TECHNOLOGIES, Settings, in_service_techs

__all__ = ["OPS", "covered_by_operator", "radius_ratios", "techs_in_service"]

OPS = ("viettel", "vinaphone", "mobifone", "vietnamobile")


def techs_in_service(as_of: dt.date | None, settings: Settings = DEFAULT) -> tuple[str, ...]:
    """Technologies that count on ``as_of`` (None: all, as in the reports of 2021–2023).

    A date is decided by :func:`layers.settings.in_service_techs`.
    """
    return TECHNOLOGIES if as_of is None else in_service_techs(settings, on=as_of)


def covered_by_operator(village_xy: np.ndarray, site_xy: np.ndarray,
                        site_operator: Iterable[str], site_tech: Iterable[str], *,
                        techs: Iterable[str] = ("2G", "3G", "4G", "5G"),
                        settings: Settings = DEFAULT) -> dict[str, np.ndarray]:
    """Boolean coverage per operator under the radius model (metric coordinates)."""
    site_xy = np.asarray(site_xy, float).reshape(-1, 2)
    ops = np.asarray(list(site_operator), dtype=object)
    tech = np.asarray(list(site_tech), dtype=object)
    techs = tuple(techs)
    out: dict[str, np.ndarray] = {}
    for op in OPS:
        cov = np.zeros(len(village_xy), bool)
        for t in techs:
            m = (ops == op) & (tech == t)
            if not m.any() or not len(village_xy):
                continue
            d, _ = cKDTree(site_xy[m]).query(village_xy)
            cov |= d <= settings.radius_m(t)
        out[op] = cov
    return out


def radius_ratios(village_xy: np.ndarray, site_xy: np.ndarray, site_operator: Iterable[str],
                  site_tech: Iterable[str], *, techs: Iterable[str] = ("2G", "3G", "4G", "5G"),
                  settings: Settings = DEFAULT) -> pd.Series:
    """Covered village counts and ratios per operator and for any operator."""
    cov: Mapping[str, np.ndarray] = covered_by_operator(
        village_xy, site_xy, site_operator, site_tech, techs=techs, settings=settings)
    n = max(len(village_xy), 1)
    any_cov = np.zeros(len(village_xy), bool)
    rows = {}
    for op, c in cov.items():
        rows[f"villages_covered_{op}"] = int(c.sum())
        rows[f"coverage_ratio_{op}"] = c.sum() / n
        any_cov |= c
    rows["villages_with_signal"] = int(any_cov.sum())
    rows["villages_total"] = len(village_xy)
    return pd.Series(rows)
