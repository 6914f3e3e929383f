"""The switch-off timeline: villages with signal, with broadband and white, date by date.

From one village status table (any analysis date: it holds every technology's status per
operator) the timeline counts, at each date from the end of the report's year to the end of
``settings.timeline_end_year`` (2030) and on the switch-off dates themselves:

* villages **with signal**: some technology still on air at that date
  (:func:`analysis.coverage.status.in_service_techs`, the one home of the 2G/3G switch-off
  rule: 2G off ``settings.date_2g_off``, 3G off ``settings.date_3g_off``) gives usable signal
  at the village centre (status lõm or phủ), for any operator and per operator;
* villages **with broadband**: a broadband technology on air
  (:data:`analysis.coverage.status.BROADBAND_TECHS`) at the centre, or fibre within the
  access distance (``fibre_near`` of the status table), the reports' "thôn có internet";
* **white** villages: no signal at all;

with the population of each. The network is the one in the bundle: the timeline shows what
the switch-offs alone do to it.
"""

from __future__ import annotations

import datetime as dt
import io
import logging

import numpy as np
import pandas as pd

from phusong.analysis.coverage.status import BROADBAND_TECHS, served_by
from phusong.layers.operators import OPERATORS
from phusong.layers.settings import DEFAULT, Settings, in_service_techs

logger = logging.getLogger(__name__)

__all__ = ["TIMELINE_LABELS", "switch_off_timeline", "timeline_chart"]

#: column → (vi, en) headers of the timeline table
TIMELINE_LABELS = {
    "date": ("Thời điểm", "Date"),
    "event": ("Sự kiện", "Event"),
    "techs_on": ("Công nghệ còn hoạt động", "Technologies on air"),
    "villages_total": ("Số thôn, bản", "Villages"),
    "villages_signal": ("Thôn, bản có sóng", "Villages with signal"),
    "villages_broadband": ("Thôn, bản có băng rộng (internet)", "Villages with broadband"),
    "villages_white": ("Thôn, bản trắng sóng", "White villages"),
    "population_signal": ("Dân số có sóng", "Population with signal"),
    "population_broadband": ("Dân số có băng rộng", "Population with broadband"),
    "population_white": ("Dân số trắng sóng", "Population without signal"),
    **{f"villages_signal_{o.value}": (f"Thôn, bản có sóng {o.label}",
                                      f"Villages with {o.label} signal") for o in OPERATORS},
}

_EVENTS = {"date_2g_off": ("Tắt sóng 2G", "2G switch-off"),
           "date_3g_off": ("Tắt sóng 3G", "3G switch-off")}



def switch_off_timeline(status: pd.DataFrame, *, settings: Settings = DEFAULT,
                        start_year: int | None = None) -> pd.DataFrame:
    """Villages with signal, with broadband and white at each date (module docstring).

    Parameters
    ----------
    status
        :func:`analysis.coverage.status.village_status` output (``status_<op>_<tech>``,
        ``population``, ``fibre_near``).
    settings
        Switch-off dates and ``timeline_end_year``.
    start_year
        The report's year (default: the year of ``settings.as_of_date()``).

    Returns
    -------
    pandas.DataFrame
        One row per date, in order: ``date`` (ISO), ``event`` (``"year_end"``,
        ``"date_2g_off"`` or ``"date_3g_off"``), ``techs_on``, ``villages_total``,
        ``villages_signal``, ``villages_broadband``, ``villages_white``, the population of
        each, and ``villages_signal_<op>`` per operator.
    """
    start = int(start_year) if start_year is not None else settings.as_of_date().year
    end = int(settings.timeline_end_year)
    if end < start:
        end = start
    dates: dict[dt.date, str] = {dt.date(y, 12, 31): "year_end" for y in range(start, end + 1)}
    for key in _EVENTS:
        d = dt.date.fromisoformat(getattr(settings, key))
        if dt.date(start, 1, 1) <= d <= dt.date(end, 12, 31):
            dates[d] = key
    ops = [o.value for o in OPERATORS]
    ops += sorted({c.split("_")[1] for c in status.columns
                   if c.startswith("status_") and c.count("_") == 2
                   and not c.startswith("status_any")} - set(ops))
    ops = [o for o in ops if any(c.startswith(f"status_{o}_") for c in status.columns)]
    pop = pd.to_numeric(status.get("population", pd.Series(0, index=status.index)),
                        errors="coerce").fillna(0).to_numpy()
    fibre = status["fibre_near"].astype(bool).to_numpy() if "fibre_near" in status \
        else np.zeros(len(status), bool)
    rows = []
    for day in sorted(dates):
        techs = in_service_techs(settings.replace(as_of=day.isoformat()))
        signal = served_by(status, ops, techs)
        bb = served_by(status, ops, tuple(t for t in techs if t in BROADBAND_TECHS)) | fibre
        row = {"date": day.isoformat(), "event": dates[day], "techs_on": ", ".join(techs),
               "villages_total": len(status), "villages_signal": int(signal.sum()),
               "villages_broadband": int(bb.sum()), "villages_white": int((~signal).sum()),
               "population_signal": round(float(pop[signal].sum())),
               "population_broadband": round(float(pop[bb].sum())),
               "population_white": round(float(pop[~signal].sum()))}
        for op in ops:
            row[f"villages_signal_{op}"] = int(served_by(status, [op], techs).sum())
        rows.append(row)
    out = pd.DataFrame(rows)
    logger.info("switch-off timeline %d–%d: villages with signal %d → %d, broadband %d → %d",
                start, end, out["villages_signal"].iloc[0], out["villages_signal"].iloc[-1],
                out["villages_broadband"].iloc[0], out["villages_broadband"].iloc[-1])
    return out


def event_label(event: str, language: str = "vi") -> str:
    """Label of a timeline event (``""`` for a plain year end)."""
    pair = _EVENTS.get(event)
    return "" if pair is None else pair[0 if language == "vi" else 1]


def timeline_chart(timeline: pd.DataFrame, *, language: str = "vi", is_sample: bool = False,
                   title: str | None = None) -> bytes:
    """The timeline as a PNG step chart (villages with signal, broadband, white), with the
    switch-off dates marked."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    vi = language == "vi"
    x = pd.to_datetime(timeline["date"])
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    for col, colour in (("villages_signal", "#1a9641"), ("villages_broadband", "#2b8cbe"),
                        ("villages_white", "#d7191c")):
        ax.step(x, timeline[col], where="post", color=colour, lw=1.8,
                label=TIMELINE_LABELS[col][0 if vi else 1])
        ax.plot(x, timeline[col], "o", color=colour, ms=3)
    for r in timeline[timeline["event"] != "year_end"].itertuples():
        d = pd.Timestamp(r.date)
        ax.axvline(d, color="#555", ls="--", lw=0.8)
        ax.text(d, ax.get_ylim()[1] * 0.98, " " + event_label(r.event, language), rotation=90,
                va="top", ha="left", fontsize=7, color="#333")
    ax.set_ylim(0, max(1, int(timeline["villages_total"].max())) * 1.05)
    ax.set_ylabel("Số thôn, bản" if vi else "Villages")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.set_title(title or ("Lộ trình tắt sóng 2G/3G: thôn, bản có sóng và băng rộng" if vi
                           else "2G/3G switch-off: villages with signal and broadband"),
                 fontsize=10)
    ax.legend(loc="lower left", fontsize=7)
    if is_sample:
        ax.text(0.99, 0.02, "DỮ LIỆU MẪU – SAMPLE DATA", transform=ax.transAxes,
                color="#b00020", fontsize=7, ha="right", va="bottom")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
