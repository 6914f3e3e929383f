"""Infrastructure sharing: gap villages each operator could clear by co-locating on other
operators' towers.

For every operator O the candidate towers and their village codes come from
:func:`analysis.gaps.share_candidates` (computed once per operator with O's own radio
parameters at each tower's height; a tower clears a village when alone it gives ``phu``).
Three tables:

* **summary** — per operator: white villages N and the n of them clearable by sharing
  ("n/N", the form of Sơn La 2022's "123/216"), the same for dead-spot (lõm) villages, the
  population gained, and how many towers are needed (a greedy set cover: repeatedly take the
  tower that clears the most remaining villages, ties by ``tower_id``);
* **by donor** — the same per (operator, donor operator owning the towers);
* **towers** — per (operator, tower): the gap villages that tower clears.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from phusong.analysis.tables.fibre import format_ratio
from phusong.analysis.tables.gaps import ShareCandidates, share_candidates
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.operators import OPERATORS, parse_operator
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = ["greedy_cover", "sharing_tables"]


def greedy_cover(clears: np.ndarray, tower_ids: np.ndarray) -> list[int]:
    """Rows of a boolean tower × village matrix chosen greedily to cover every coverable column.

    Each step takes the tower clearing the most still-uncovered villages (ties: smallest
    ``tower_id``). Returns the row indices in the order chosen.
    """
    remaining = clears.any(axis=0).copy()
    chosen: list[int] = []
    order = np.argsort(tower_ids.astype(str), kind="mergesort")
    while remaining.any():
        gains = (clears[order] & remaining).sum(axis=1)
        k = int(np.argmax(gains))
        if gains[k] == 0:
            break
        row = int(order[k])
        chosen.append(row)
        remaining &= ~clears[row]
    return chosen


def _row(op: str, donor: str, cand: ShareCandidates, mask_t: np.ndarray, status: pd.Series,
         pop: pd.Series) -> dict[str, Any]:
    ids = cand.village_ids
    clears = cand.clears()[mask_t] if len(cand.tower_ids) else np.zeros((0, len(ids)), bool)
    cleared = clears.any(axis=0) if len(clears) else np.zeros(len(ids), bool)
    st = status.reindex(ids).to_numpy()
    white_all = int((status == "trang").sum())
    lom_all = int((status == "lom").sum())
    w = int((cleared & (st == "trang")).sum())
    lo = int((cleared & (st == "lom")).sum())
    towers = greedy_cover(clears, cand.tower_ids[mask_t]) if len(clears) else []
    return {
        "operator": op, "donor": donor, "white_villages": white_all, "white_clearable": w,
        "white_ratio": format_ratio(w, white_all), "lom_villages": lom_all,
        "lom_clearable": lo, "lom_ratio": format_ratio(lo, lom_all),
        "population_clearable": int(pop.reindex(ids[cleared]).sum()),
        "towers_used": len(towers),
    }


def sharing_tables(bundle: ProvinceBundle, status: pd.DataFrame, *, operators: Iterable[Any] | None = None,
                   dem: Any = None, settings: Settings = DEFAULT, model: str | None = None,
                   candidates: Mapping[str, ShareCandidates] | None = None,
                   matrix_fn: Callable[..., Any] | None = None
                   ) -> dict[str, pd.DataFrame]:
    """The sharing tables (see the module docstring).

    Parameters
    ----------
    bundle
        The province bundle.
    status
        Village status table indexed by ``village_id``.
    operators
        Operators to evaluate (default: all four).
    dem, model, matrix_fn
        Passed to :func:`analysis.gaps.share_candidates` for operators missing from
        ``candidates``.
    settings
        Analysis settings.
    candidates
        Precomputed share candidates per operator (as used for the gap lists).

    Returns
    -------
    dict
        ``{"summary": ..., "by_donor": ..., "towers": ...}``.
    """
    ops = [parse_operator(o).value for o in (operators or OPERATORS)]
    pop = pd.Series(pd.to_numeric(status["population"]).to_numpy(),
                    index=status.index.astype(str))
    summary, by_donor, towers = [], [], []
    for op in ops:
        cand = (candidates or {}).get(op) or share_candidates(
            bundle, status, op, dem=dem, settings=settings, model=model, matrix_fn=matrix_fn)
        st = pd.Series(status[f"status_{op}"].to_numpy(), index=status.index.astype(str))
        all_t = np.ones(len(cand.tower_ids), dtype=bool)
        summary.append(_row(op, "all", cand, all_t, st, pop))
        for donor in (o.value for o in OPERATORS):
            if donor == op:
                continue
            by_donor.append(_row(op, donor, cand, cand.owners == donor, st, pop))
        clears = cand.clears()
        for k in np.argsort(cand.tower_ids.astype(str), kind="mergesort"):
            vids = cand.village_ids[clears[k]]
            if len(vids) == 0:
                continue
            towers.append({"operator": op, "tower_id": cand.tower_ids[k],
                           "owner": cand.owners[k], "villages_cleared": len(vids),
                           "population_clearable": int(pop.reindex(vids).sum()),
                           "village_ids": ", ".join(sorted(map(str, vids)))})
        s = summary[-1]
        logger.info("sharing %s: white %s, dead spots %s clearable on other operators' towers",
                    op, s["white_ratio"], s["lom_ratio"])
    cols = ["operator", "tower_id", "owner", "villages_cleared", "population_clearable",
            "village_ids"]
    return {"summary": pd.DataFrame(summary), "by_donor": pd.DataFrame(by_donor),
            "towers": pd.DataFrame(towers, columns=cols)}
