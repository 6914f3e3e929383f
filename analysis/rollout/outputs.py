"""Write a rollout plan: ranked sites, villages per site, classes, spend curve (table + PNG).

Files written by :func:`write_rollout` into one folder:

``rollout_sites.xlsx``
    sheets: ranked sites; villages per site; cumulative spend vs population; white villages
    by ministry class (counts, then the list); the solver report ("About" sheet: budget,
    solver status, objective, bound, gap, greedy objective and gap, weights, unit costs);
``rollout_sites.csv`` / ``rollout_sites.geojson``
    the ranked sites (GeoJSON points in WGS84, machine column names);
``rollout_villages.csv``
    one row per (site, covered village) with the site's rank;
``rollout_classes.csv``
    every white (or lõm) village with its ministry class;
``rollout_curve.csv`` / ``rollout_curve.png``
    cumulative covered population vs cumulative spend along the *greedy order* of the chosen
    sites (labelled so: it is not a frontier);
``rollout_frontier.csv`` / ``rollout_frontier.png`` (when the plan has a frontier)
    the exact spend frontier: budget, sites, people and villages covered, marginal people per
    billion VND, each budget's solver status; the sites tables then give the frontier budget
    at which each site enters.

Tables go through :func:`analysis.export.write_table` (neutralised cells, Vietnamese headers
by default, sample-data label); the PNG is written atomically.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from phusong.analysis.export import SAMPLE_LABEL, write_table, write_tables
from phusong.analysis.labels import value_label
from phusong.analysis.rollout.classes import target_label
from phusong.analysis.rollout.plan import RolloutPlan
from phusong.gis.atomic import atomic_path, check_writable
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = ["ROLLOUT_LABELS", "plot_curve", "plot_frontier", "report_lines", "rollout_lines", "write_rollout"]

#: column → (Vietnamese, English) headers of the rollout tables
ROLLOUT_LABELS: dict[str, tuple[str, str]] = {
    "rank": ("Thứ tự ưu tiên", "Rank"),
    "site_id": ("Mã vị trí đề xuất", "Site id"),
    "kind": ("Loại ứng viên", "Candidate kind"),
    "site_type": ("Hình thức (mới/dùng chung)", "Type (new/shared)"),
    "tower_id": ("Mã cột dùng chung", "Shared tower id"),
    "lon": ("Kinh độ", "Longitude"),
    "lat": ("Vĩ độ", "Latitude"),
    "x_vn2000": ("X VN-2000 (m)", "VN-2000 x (m)"),
    "y_vn2000": ("Y VN-2000 (m)", "VN-2000 y (m)"),
    "ground_m": ("Cao độ nền (m)", "Ground elevation (m)"),
    "antenna_height_m": ("Độ cao anten (m)", "Antenna height (m)"),
    "villages_covered": ("Số thôn được phủ thêm", "Villages added"),
    "population_covered": ("Dân số được phủ thêm", "Population added"),
    "villages_in_range": ("Số thôn trong vùng phủ", "Villages in range"),
    "cost_vnd": ("Tổng chi phí (đồng)", "Total cost (VND)"),
    "cost_per_person_vnd": ("Chi phí/người (đồng)", "Cost per person (VND)"),
    "cost_tower_vnd": ("Cột/thuê cột (đồng)", "Tower/colocation (VND)"),
    "cost_equipment_vnd": ("Thiết bị (đồng)", "Equipment (VND)"),
    "cost_power_vnd": ("Nguồn điện (đồng)", "Power (VND)"),
    "power": ("Nguồn điện", "Power"),
    "cost_backhaul_vnd": ("Truyền dẫn (đồng)", "Backhaul (VND)"),
    "backhaul": ("Truyền dẫn", "Backhaul"),
    "fibre_km": ("Kéo cáp quang (km)", "Fibre extension (km)"),
    "microwave_tower_id": ("Cột đầu viba", "Microwave far-end tower"),
    "opex_vnd": ("Vận hành (đồng)", "Operation (VND)"),
    "cumulative_cost_vnd": ("Chi phí lũy kế (đồng)", "Cumulative cost (VND)"),
    "cumulative_population": ("Dân số lũy kế", "Cumulative population"),
    "cumulative_villages": ("Số thôn lũy kế", "Cumulative villages"),
    "population_added": ("Dân số phủ thêm", "Population added"),
    "village_ids": ("Mã thôn được phủ", "Village ids"),
    "village_names": ("Thôn được phủ", "Villages"),
    "village_id": ("Mã thôn", "Village id"),
    "name": ("Tên thôn, bản", "Village"),
    "commune_code": ("Mã xã", "Commune code"),
    "population": ("Dân số", "Population"),
    "households": ("Số hộ", "Households"),
    "credited": ("Tính cho trạm này", "Credited to this site"),
    "weight": ("Trọng số", "Weight"),
    "covered": ("Được phủ", "Covered"),
    "covered_by_rank": ("Phủ bởi trạm thứ", "Covered by rank"),
    "status_any": ("Hiện trạng sóng", "Signal status"),
    "has_grid_power": ("Có điện lưới", "Grid power"),
    "border_area": ("Khu vực biên giới", "Border area"),
    "extremely_difficult": ("Đặc biệt khó khăn", "Extremely difficult"),
    "rollout_class": ("Mã nhóm", "Class id"),
    "rollout_class_label": ("Nhóm", "Class"),
    "label": ("Nhóm", "Class"),
    "villages": ("Số thôn", "Villages"),
    "status_target": ("Hiện trạng sóng theo mục tiêu", "Status for the target"),
    "class_rule": ("Mã quy tắc phân nhóm", "Class rule id"),
    "class_rule_label": ("Quy tắc phân nhóm", "Class rule"),
    "frontier_budget_vnd": ("Vào kế hoạch từ ngân sách (đồng)",
                            "Enters the plan at budget (VND)"),
    "step": ("Bước", "Step"),
    "budget_vnd": ("Ngân sách (đồng)", "Budget (VND)"),
    "sites": ("Số trạm", "Sites"),
    "people_covered": ("Dân số được phủ", "People covered"),
    "villages_covered_total": ("Số thôn được phủ", "Villages covered"),
    "weight_covered": ("Trọng số được phủ", "Weight covered"),
    "marginal_people_per_bn_vnd": ("Dân số phủ thêm / 1 tỷ đồng",
                                   "Marginal people per billion VND"),
    "status": ("Trạng thái bộ giải", "Solver status"),
    "gap": ("Khoảng cách tối ưu", "Optimality gap"),
}

_SHEETS = {
    "sites": ("Trạm đề xuất", "Ranked sites"),
    "site_villages": ("Thôn theo trạm", "Villages per site"),
    "curve": ("Lũy kế (thứ tự tham lam)", "Spend curve (greedy order)"),
    "frontier": ("Đường biên chi phí (tối ưu)", "Spend frontier (exact)"),
    "counts": ("Phân nhóm thôn", "Class counts"),
    "classes": ("Danh sách thôn", "Village classes"),
}

_KIND_LABELS = {"village_centre": ("Trung tâm thôn", "Village centre"),
                "high_point": ("Điểm cao địa hình", "DEM high point"),
                "tower": ("Cột hiện có", "Existing tower"),
                "new": ("Xây mới", "New"), "shared": ("Dùng chung", "Shared"),
                "existing": ("Dùng chung hiện có", "Existing (shared)"),
                "grid": ("Điện lưới", "Grid"), "solar": ("Điện mặt trời", "Solar"),
                "fibre": ("Cáp quang", "Fibre"), "microwave": ("Viba", "Microwave"),
                "relay": ("Viba qua trạm chuyển tiếp", "Microwave via relay")}


def _lang(settings: Settings) -> int:
    return 0 if settings.language == "vi" else 1


def _t(vi: str, en: str, settings: Settings) -> str:
    return vi if settings.language == "vi" else en


def _fmt_vnd(v: float) -> str:
    return f"{v / 1e9:,.2f}".replace(",", " ")


def rollout_lines(plan: RolloutPlan, *, settings: Settings = DEFAULT) -> list[str]:
    """Human-readable summary lines of a plan (solver report included).

    One of the ``<subject>_lines(result, *, settings)`` family: :func:`analysis.coverage.
    ratios.coverage_lines`, :func:`analysis.tables.gaps.gap_lines`,
    :func:`analysis.analyses.analyses_lines`.
    """
    r = plan.report
    t = lambda vi, en: _t(vi, en, settings)  # noqa: E731
    lines = []
    if plan.is_sample:
        lines.append(SAMPLE_LABEL)
    counts = plan.class_counts
    target = r.get("rollout_target", "no-signal")
    lines.append(t(f"Thôn mục tiêu ({target}, ngày {r.get('as_of', '')}): "
                   f"{target_label(target, 'vi')}",
                   f"Target villages ({target}, as of {r.get('as_of', '')}): "
                   f"{target_label(target, 'en')}"))
    lines.append(t("Quy tắc phân nhóm: có điện lưới + vùng đặc biệt khó khăn → Quỹ VTCI"
                   + ("; biên giới cũng tính (border_counts_as_difficult)"
                      if r.get("border_counts_as_difficult") else "")
                   + "; có điện lưới, nơi khác → doanh nghiệp; chưa có điện → chờ điện; "
                   "không rõ điện lưới → nhóm riêng (quy tắc của từng thôn: rollout_classes.csv)",
                   "Class rules: grid power + extremely difficult area → fund"
                   + ("; border areas count too (border_counts_as_difficult)"
                      if r.get("border_counts_as_difficult") else "")
                   + "; grid power elsewhere → operator's plan; no grid → wait for the grid; "
                   "grid unknown → own class (each village's rule: rollout_classes.csv)"))
    lines.append(t("Thôn mục tiêu theo nhóm:", "Target villages by class:"))
    for _cid, row in counts.iterrows():
        lines.append(f"  {row['label']}: {int(row['villages'])} "
                     f"({t('dân số', 'population')} {int(row['population'])})")
    lines.append(t(f"Ngân sách: {_fmt_vnd(r['budget_vnd'])} tỷ đồng",
                   f"Budget: {_fmt_vnd(r['budget_vnd'])} billion VND")
                 + (f"; {t('tối đa', 'at most')} {r['max_sites']} {t('trạm', 'sites')}"
                    if r["max_sites"] is not None else ""))
    lines.append(t(f"Ứng viên: {r['candidates']} ({r['candidates_by_kind']}); thôn mục tiêu "
                   f"{r['target_villages']}, phủ được {r['coverable_villages']}",
                   f"Candidates: {r['candidates']} ({r['candidates_by_kind']}); target "
                   f"villages {r['target_villages']}, coverable {r['coverable_villages']}"))
    lines.append(t(f"Chọn {r['sites_chosen']} trạm, chi phí {_fmt_vnd(r['cost_vnd'])} tỷ đồng; "
                   f"phủ {r['villages_covered']}/{r['target_villages']} thôn, "
                   f"{r['population_covered']} người",
                   f"Chose {r['sites_chosen']} sites costing {_fmt_vnd(r['cost_vnd'])} billion "
                   f"VND; covering {r['villages_covered']}/{r['target_villages']} villages, "
                   f"{r['population_covered']} people"))
    lines.append(t("Bộ giải", "Solver") + f": HiGHS {r['status']} ({r['method']}), "
                 + t("thứ tự từ điển: phủ nhiều nhất, rồi chi phí thấp nhất, rồi ít trạm nhất",
                     "lexicographic: most coverage, then least cost, then fewest sites")
                 + f"; objective {r['objective']:.6g}, bound {r['bound']:.6g}; "
                 f"{t('chi phí', 'cost')} ≥ {_fmt_vnd(r.get('cost_bound_vnd', 0.0))} "
                 f"{t('tỷ đồng', 'bn VND')}; gap {100 * r['gap']:.4g}% "
                 + t("(toàn bộ mục tiêu)", "(whole objective)")
                 + f", {r['solve_s']:.2f} s; greedy "
                 f"{r['greedy_objective']:.6g} (gap {100 * r['greedy_gap']:.3g}%)")
    fr = plan.frontier
    if fr is not None:
        lines.append(t("Đường biên chi phí (giải chính xác tại từng mức ngân sách):",
                       "Spend frontier (exact solve at each budget):")
                     + (t(" mọi bước tối ưu đã chứng minh", " every step proven optimal")
                        if fr.all_optimal else t(" CÓ bước chưa chứng minh tối ưu",
                                                 " SOME steps not proven optimal"))
                     + f", {fr.total_s:.1f} s")
        for row in fr.table.itertuples():
            lines.append(f"  {_fmt_vnd(row.budget_vnd):>8} {t('tỷ', 'bn')}: "
                         f"{row.sites} {t('trạm', 'sites')}, {row.people_covered} "
                         f"{t('người', 'people')}, {row.villages_covered} "
                         f"{t('thôn', 'villages')}, +{row.marginal_people_per_bn_vnd:g} "
                         f"{t('người/tỷ', 'people/bn')} ({row.status})")
    return lines


#: former name of :func:`rollout_lines`
report_lines = rollout_lines


def plot_curve(plan: RolloutPlan, path: str | os.PathLike, *, settings: Settings = DEFAULT,
               overwrite: bool = False) -> Path:
    """PNG of cumulative covered population vs cumulative spend (billion VND)."""
    from matplotlib.figure import Figure  # no pyplot: no global backend state

    p = check_writable(path, overwrite=overwrite)
    curve = plan.curve
    t = lambda vi, en: _t(vi, en, settings)  # noqa: E731
    fig = Figure(figsize=(7.5, 4.5), dpi=120)
    ax = fig.add_subplot(1, 1, 1)
    x = curve["cumulative_cost_vnd"].to_numpy(float) / 1e9
    y = curve["cumulative_population"].to_numpy(float)
    ax.step(x, y, where="post", color="#1f6fb2", lw=2)
    ax.plot(x[1:], y[1:], "o", color="#1f6fb2", ms=4)
    for rank, xi, yi in zip(curve["rank"].iloc[1:], x[1:], y[1:], strict=True):
        if rank <= 15:
            ax.annotate(str(rank), (xi, yi), textcoords="offset points", xytext=(3, -10),
                        fontsize=7, color="#333333")
    budget = plan.report["budget_vnd"] / 1e9
    ax.axvline(budget, color="#c0392b", ls="--", lw=1)
    ax.text(budget, 0, " " + t("ngân sách", "budget"), color="#c0392b", fontsize=8,
            va="bottom", rotation=90)
    total = plan.report.get("target_population", 0)
    if total:
        ax.axhline(total, color="#7f8c8d", ls=":", lw=1)
        ax.text(0, total, t("dân số thôn mục tiêu", "target population"), fontsize=8,
                color="#7f8c8d", va="bottom")
    ax.set_xlabel(t("Chi phí lũy kế (tỷ đồng)", "Cumulative cost (billion VND)"))
    ax.set_ylabel(t("Dân số được phủ sóng lũy kế", "Cumulative covered population"))
    title = t("Trạm viễn thông công ích: dân số được phủ theo chi phí (thứ tự tham lam)",
              "Public-utility stations: covered population vs spend (greedy order)")
    if plan.province:
        title += " — " + plan.province.replace("$", r"\$")  # text, not mathtext
    ax.set_title(title, fontsize=10)
    ax.set_xlim(left=0, right=max(budget, float(x.max(initial=0))) * 1.05 or 1)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    if plan.is_sample:
        fig.text(0.99, 0.01, SAMPLE_LABEL, ha="right", va="bottom", fontsize=8, color="#c0392b")
    fig.tight_layout()
    with atomic_path(p, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": "phusong"})
    logger.info("wrote %s (%d sites)", p, len(curve) - 1)
    return p


def _about(plan: RolloutPlan, settings: Settings) -> list[tuple[str, Any]]:
    r = plan.report
    t = lambda vi, en: _t(vi, en, settings)  # noqa: E731
    target = r.get("rollout_target", "no-signal")
    rows: list[tuple[str, Any]] = [
        (t("Thôn mục tiêu", "Target definition"),
         f"{target}: {target_label(target, settings.language)}"),
        (t("Ngày phân tích", "Analysis date"), r.get("as_of", "")),
        (t("Biên giới tính như đặc biệt khó khăn", "Border counts as difficult"),
         bool(r.get("border_counts_as_difficult", False))),
        (t("Hàm mục tiêu", "Objective"),
         t("thứ tự từ điển: dân số (có trọng số) được phủ nhiều nhất, rồi chi phí thấp nhất, "
           "rồi ít trạm nhất", "lexicographic: most (weighted) population covered, then "
           "least cost, then fewest sites")),
        (t("Ngân sách (đồng)", "Budget (VND)"), r["budget_vnd"]),
        (t("Số trạm tối đa", "Max sites"), r["max_sites"] if r["max_sites"] is not None
         else "—"),
        (t("Mô hình phủ sóng", "Coverage model"), r["coverage_model"]),
        (t("Thôn mục tiêu", "Target villages"), r["target_villages"]),
        (t("Ứng viên", "Candidates"), r["candidates"]),
        (t("Trạng thái bộ giải (HiGHS)", "Solver status (HiGHS)"), r["status"]),
        (t("Phương pháp", "Method"), r["method"]),
        (t("Giá trị mục tiêu", "Objective"), r["objective"]),
        (t("Cận trên", "Upper bound"), r["bound"]),
        (t("Khoảng cách tối ưu (toàn bộ mục tiêu)", "Optimality gap (whole objective)"),
         r["gap"]),
        (t("Khoảng cách: độ phủ", "Gap: coverage"), r.get("coverage_gap")),
        (t("Cận dưới chi phí (đồng)", "Cost lower bound (VND)"), r.get("cost_bound_vnd")),
        (t("Khoảng cách: chi phí", "Gap: cost"), r.get("cost_gap")),
        (t("Khoảng cách: số trạm", "Gap: sites"), r.get("sites_gap")),
        (t("Trạng thái từng bước", "Stage status"),
         " / ".join(r.get("stage_status", []))),
        (t("Giá trị mục tiêu (tham lam)", "Greedy objective"), r["greedy_objective"]),
        (t("Khoảng cách của tham lam", "Greedy gap"), r["greedy_gap"]),
        # no solve time here: the same inputs must give the same workbook bytes (the time is
        # in rollout_lines)
        (t("Trọng số thôn", "Village weight"),
         t(f"dân số × {settings.weight_border} (biên giới) × {settings.weight_difficult} "
           "(đặc biệt khó khăn)",
           f"population × {settings.weight_border} (border) × {settings.weight_difficult} "
           "(extremely difficult)")),
    ]
    for key in ("cost_tower_vnd", "cost_equipment_vnd", "cost_colocation_vnd",
                "cost_grid_connection_vnd", "cost_solar_power_vnd", "cost_fibre_per_km_vnd",
                "cost_microwave_hop_vnd", "opex_per_year_vnd", "opex_years", "mast_height_m",
                "microwave_max_km"):
        rows.append((key, getattr(settings, key)))
    if plan.frontier is not None:
        rows.append((t("Đường biên chi phí: mọi bước tối ưu", "Frontier: all steps optimal"),
                     plan.frontier.all_optimal))
    return rows


def _frontier_table(plan: RolloutPlan) -> pd.DataFrame:
    """The frontier as written (no solve times: same inputs, same bytes)."""
    return plan.frontier.table.drop(columns=["solve_s"]).rename(
        columns={"villages_covered": "villages_covered_total"})


def plot_frontier(plan: RolloutPlan, path: str | os.PathLike, *,
                  settings: Settings = DEFAULT, overwrite: bool = False) -> Path:
    """PNG of the exact spend frontier: people covered at each budget (billion VND)."""
    from matplotlib.figure import Figure

    if plan.frontier is None:
        raise ValueError("the plan has no frontier: plan_rollout(..., frontier=True)")
    p = check_writable(path, overwrite=overwrite)
    tab = plan.frontier.table
    t = lambda vi, en: _t(vi, en, settings)  # noqa: E731
    fig = Figure(figsize=(7.5, 4.5), dpi=120)
    ax = fig.add_subplot(1, 1, 1)
    x = tab["budget_vnd"].to_numpy(float) / 1e9
    y = tab["people_covered"].to_numpy(float)
    ax.step(np.r_[0.0, x], np.r_[0.0, y], where="post", color="#1f6fb2", lw=2)
    proven = (tab["status"] == "Optimal").to_numpy()
    ax.plot(x[proven], y[proven], "o", color="#1f6fb2", ms=5,
            label=t("tối ưu đã chứng minh", "proven optimal"))
    if (~proven).any():
        ax.plot(x[~proven], y[~proven], "x", color="#c0392b", ms=7,
                label=t("chưa chứng minh", "not proven"))
    for xi, yi, n in zip(x, y, tab["sites"], strict=True):
        ax.annotate(str(n), (xi, yi), textcoords="offset points", xytext=(3, 4), fontsize=7,
                    color="#333333")
    budget = plan.report["budget_vnd"] / 1e9
    ax.axvline(budget, color="#c0392b", ls="--", lw=1)
    ax.text(budget, 0, " " + t("ngân sách", "budget"), color="#c0392b", fontsize=8,
            va="bottom", rotation=90)
    ax.set_xlabel(t("Ngân sách (tỷ đồng)", "Budget (billion VND)"))
    ax.set_ylabel(t("Dân số được phủ (tối ưu)", "People covered (optimal plan)"))
    title = t("Đường biên chi phí chính xác (số trạm ghi cạnh điểm)",
              "Exact spend frontier (sites next to each point)")
    if plan.province:
        title += " — " + plan.province.replace("$", r"\$")
    ax.set_title(title, fontsize=10)
    ax.set_xlim(left=0, right=max(budget, float(x.max(initial=0))) * 1.05 or 1)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if plan.is_sample:
        fig.text(0.99, 0.01, SAMPLE_LABEL, ha="right", va="bottom", fontsize=8, color="#c0392b")
    fig.tight_layout()
    with atomic_path(p, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": "phusong"})
    logger.info("wrote %s (%d budgets)", p, len(tab))
    return p


def _localise(df: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    out = df.copy()
    i = _lang(settings)
    for col in ("kind", "site_type", "power", "backhaul"):
        if col in out:
            out[col] = out[col].map(lambda v: _KIND_LABELS.get(v, (v, v))[i])
    for col in ("status_any", "status_target"):
        if col in out:
            out[col] = out[col].map(lambda v: value_label(v, settings.language))
    return out


def write_rollout(plan: RolloutPlan, out: str | os.PathLike, *, bundle: ProvinceBundle | None = None,
                  settings: Settings = DEFAULT, overwrite: bool = False) -> dict[str, Path]:
    """Write every rollout output into the folder ``out``.

    Parameters
    ----------
    plan
        From :func:`analysis.rollout.plan.plan_rollout`.
    out
        Folder (created if missing).
    bundle
        The bundle (only its sample flag is used, in addition to the plan's).
    settings
        ``language`` for headers and labels.
    overwrite
        Replace existing files.

    Returns
    -------
    dict
        Output key → path.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    names = {"xlsx": "rollout_sites.xlsx", "csv": "rollout_sites.csv",
             "geojson": "rollout_sites.geojson", "villages": "rollout_villages.csv",
             "classes": "rollout_classes.csv", "curve_csv": "rollout_curve.csv",
             "curve_png": "rollout_curve.png"}
    if plan.frontier is not None:
        names.update(frontier_csv="rollout_frontier.csv", frontier_png="rollout_frontier.png")
    for n in names.values():  # refuse before writing anything
        check_writable(folder / n, overwrite=overwrite)
    sample = plan.is_sample or bool(getattr(bundle, "is_sample", False))
    lang = settings.language
    i = _lang(settings)
    sites_table = _localise(pd.DataFrame(plan.sites.drop(columns="geometry")), settings)
    classes = _localise(plan.classes.reset_index(drop=True), settings)
    counts = plan.class_counts.reset_index()
    title = _t("Đề xuất trạm viễn thông công ích", "Public-utility telecom station plan",
               settings) + (f" — {plan.province}" if plan.province else "")
    files: dict[str, Path] = {}
    sheets = {_SHEETS["sites"][i]: sites_table, _SHEETS["site_villages"][i]: plan.site_villages,
              _SHEETS["curve"][i]: plan.curve, _SHEETS["counts"][i]: counts,
              _SHEETS["classes"][i]: classes}
    if plan.frontier is not None:
        sheets[_SHEETS["frontier"][i]] = _frontier_table(plan)
    files["xlsx"] = write_tables(
        sheets,
        folder / names["xlsx"], headers=lang, labels=ROLLOUT_LABELS, overwrite=overwrite,
        title=title, sample=sample, about=_about(plan, settings))
    files["csv"] = write_table(sites_table, folder / names["csv"], headers=lang,
                               labels=ROLLOUT_LABELS, overwrite=overwrite, sample=sample)
    files["geojson"] = write_table(plan.sites, folder / names["geojson"], overwrite=overwrite,
                                   sample=sample)
    files["villages"] = write_table(plan.site_villages, folder / names["villages"],
                                    headers=lang, labels=ROLLOUT_LABELS, overwrite=overwrite,
                                    sample=sample)
    files["classes"] = write_table(classes, folder / names["classes"], headers=lang,
                                   labels=ROLLOUT_LABELS, overwrite=overwrite, sample=sample)
    files["curve_csv"] = write_table(plan.curve, folder / names["curve_csv"], headers=lang,
                                     labels=ROLLOUT_LABELS, overwrite=overwrite, sample=sample)
    files["curve_png"] = plot_curve(plan, folder / names["curve_png"], settings=settings,
                                    overwrite=overwrite)
    if plan.frontier is not None:
        files["frontier_csv"] = write_table(_frontier_table(plan), folder / names["frontier_csv"],
                                            headers=lang, labels=ROLLOUT_LABELS,
                                            overwrite=overwrite, sample=sample)
        files["frontier_png"] = plot_frontier(plan, folder / names["frontier_png"],
                                              settings=settings, overwrite=overwrite)
    logger.info("wrote rollout outputs to %s (%d files, %d sites)", folder, len(files),
                len(plan.sites))
    return files
