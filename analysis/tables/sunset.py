"""2G/3G sunset: villages that lose all mobile service when 2G and then 3G are switched off.

Dates (settings, DESIGN §5): 2G-only handsets cut ``date_2g_handsets_cut`` (2024-10-15), 2G
network off ``date_2g_off`` (2026-09-15), 3G off ``date_3g_off`` (2028-09-15).

A village has *service* from a set of technologies when at least one of them gives usable
signal at its centre (status ``lom`` or ``phu`` in ``status_{op}_{tech}``). For each event the
technologies in service just before and just after are compared:

* ``2g_off``: before {2G, 3G, 4G, 5G}, after {3G, 4G, 5G};
* ``3g_off``: before {3G, 4G, 5G}, after {4G, 5G} (2G is already gone).

A village *loses all service* at an event when it has service before and none after; the
tables give these villages and their population per operator and for "any operator" (service
from any operator before, from none after). ``in_force`` says whether the event date is on or
before the analysis date (``settings.as_of_date()``): the figures of an event in force
describe what has already been lost.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd

from phusong.analysis.coverage.status import served_by
from phusong.layers.operators import OPERATORS
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = ["EVENTS", "event_label", "sunset_tables"]

#: event → (settings date key, technologies before, technologies after)
EVENTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "2g_off": ("date_2g_off", ("2G", "3G", "4G", "5G"), ("3G", "4G", "5G")),
    "3g_off": ("date_3g_off", ("3G", "4G", "5G"), ("4G", "5G")),
}
EVENT_LABELS = {"2g_off": ("Tắt sóng 2G", "2G switch-off"),
                "3g_off": ("Tắt sóng 3G", "3G switch-off")}



def sunset_tables(status: pd.DataFrame, *, settings: Settings = DEFAULT,
                  households: pd.Series | None = None) -> dict[str, pd.DataFrame]:
    """Villages losing all service at the 2G and 3G switch-offs.

    Parameters
    ----------
    status
        Village status table indexed by ``village_id`` (needs ``status_{op}_{tech}``,
        ``population``; ``households``, ``name``, ``commune_code`` when present).
    settings
        Dates and the analysis date.
    households
        Households per village id when the status table has none.

    Returns
    -------
    dict
        ``{"summary": ..., "villages": ...}``. Summary rows per event × operator (and
        ``any``): ``event``, ``event_date``, ``in_force``, ``operator``,
        ``villages_served_now`` (before the event), ``villages_lose_service``,
        ``population_affected``, ``households_affected``. Villages: one row per event ×
        operator × village that loses service, with ``techs_now``.
    """
    as_of = settings.as_of_date()
    ops = [o.value for o in OPERATORS]
    pop = pd.to_numeric(status["population"]).fillna(0).to_numpy()
    if "households" in status:
        hh = pd.to_numeric(status["households"]).fillna(0).to_numpy()
    elif households is not None:
        hh = households.reindex(status.index).fillna(0).to_numpy()
    else:
        hh = np.zeros(len(status))
    summary, villages = [], []
    for event, (key, before, after) in EVENTS.items():
        date = dt.date.fromisoformat(getattr(settings, key))
        for op in [*ops, "any"]:
            group = ops if op == "any" else [op]
            was = served_by(status, group, before)
            now = served_by(status, group, after)
            lose = was & ~now
            summary.append({"event": event, "event_date": date.isoformat(),
                            "in_force": date <= as_of, "operator": op,
                            "villages_served_now": int(was.sum()),
                            "villages_lose_service": int(lose.sum()),
                            "population_affected": int(pop[lose].sum()),
                            "households_affected": int(hh[lose].sum())})
            for i in np.flatnonzero(lose):
                techs = [t for t in before if served_by(status.iloc[[i]], group, (t,))[0]]
                villages.append({
                    "event": event, "event_date": date.isoformat(), "operator": op,
                    "village_id": str(status.index[i]),
                    "name": status["name"].iloc[i] if "name" in status else None,
                    "commune_code": status["commune_code"].iloc[i]
                    if "commune_code" in status else None,
                    "population": int(pop[i]), "techs_now": ", ".join(techs)})
        s = summary[-1]
        logger.info("sunset %s (%s): %d villages, %d people lose all service (any operator)",
                    event, date, s["villages_lose_service"], s["population_affected"])
    cols = ["event", "event_date", "operator", "village_id", "name", "commune_code",
            "population", "techs_now"]
    return {"summary": pd.DataFrame(summary), "villages": pd.DataFrame(villages, columns=cols)}


def event_label(event: str, language: str = "vi") -> str:
    """Display label of an event id."""
    pair = EVENT_LABELS.get(event)
    return event if pair is None else pair[0 if language == "vi" else 1]
