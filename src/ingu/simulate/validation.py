"""Validation of simulated answers against real survey results, group by group.

For every question with a ``reference`` link and every group both sides have (sex, age band, …), the
simulated weighted shares ``q`` are compared with the real shares ``p`` by:

``jsd``          Jensen–Shannon divergence, base 2 (0 … 1)
``tv``           total variation distance, ½ Σ|p − q| (0 … 1)
``wasserstein``  ordinal earth mover's distance on the likert scale, in scale steps divided by (points − 1)
                 (0 … 1; off-scale choices such as 모르겠다 left out and the rest renormalised)
``entropy_ratio`` H(q) / H(p): below 1, the simulation is more uniform-minded (homogenised) than people

each next to

* the **noise floor**: the metric between ``p`` and a multinomial resample of ``p`` with the real group's
  ``n`` (mean of ``replicates`` draws) — what a perfect simulator would still score against this survey;
* the **baselines**: ``uniform`` (every answer equally likely) and ``marginal`` (the real national
  distribution for every group: knows the country's answer, nothing about groups); and for a ``model``
  backend fitted to another year, ``fit_marginal`` (that year's national distribution for every group:
  the same information the model had, without the group effects).

Per group variable with three or more groups, ``rank_agreement`` is Spearman's ρ between the real and the
simulated group scores (mean scale point for likert; the share of the nationally most common answer
otherwise). A margin is *held out* unless the backend was fitted to this very table (same table, survey,
year, question) by this group variable; the verdict says plainly whether the backend beat the marginal
baseline on held-out margins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from ingu.simulate.questionnaire import ModelLink, Question
from ingu.simulate.survey_results import GroupShares, reference_shares

METRICS: tuple[str, ...] = ("jsd", "tv", "wasserstein")
REPLICATES = 1000
#: Simulated groups smaller than this get a caution in the verdict (their own sampling noise dominates).
SMALL_GROUP = 100


def jsd(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen–Shannon divergence of two distributions, base 2."""
    p, q = _norm(p), _norm(q)
    m = (p + q) / 2
    return float(max(0.0, (_kl(p, m) + _kl(q, m)) / 2))


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.abs(_norm(p) - _norm(q)).sum() / 2)


def ordinal_wasserstein(p: np.ndarray, q: np.ndarray) -> float:
    """W1 between two distributions on points 0 … k−1, divided by k − 1."""
    p, q = _norm(p), _norm(q)
    return float(np.abs(np.cumsum(p - q))[:-1].sum() / max(len(p) - 1, 1))


def entropy(p: np.ndarray) -> float:
    p = _norm(p)
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())


def metric_values(question: Question, p: np.ndarray, q: np.ndarray) -> dict[str, float | None]:
    """All metrics of ``q`` against ``p`` (Wasserstein only for likert questions)."""
    out: dict[str, float | None] = {"jsd": jsd(p, q), "tv": total_variation(p, q), "wasserstein": None}
    scale = question.scale
    if scale:
        out["wasserstein"] = ordinal_wasserstein(p[scale], q[scale])
    return out


def noise_floor(question: Question, p: np.ndarray, n: int | None, *, seed: int = 0,
                replicates: int = REPLICATES) -> dict[str, float | None]:
    """Mean metric between ``p`` and multinomial resamples of size ``n`` (None without ``n``)."""
    if not n:
        return {m: None for m in METRICS}
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, _norm(p), size=replicates) / n
    values = [metric_values(question, p, d) for d in draws]
    return {m: (float(np.mean([v[m] for v in values])) if values[0][m] is not None else None) for m in METRICS}


def simulated_shares(estimates: pl.DataFrame, question: Question) -> dict[str, dict[str, np.ndarray]]:
    """``{group_var: {group_value: shares over choices}}`` from :func:`ingu.simulate.estimate.estimate` rows."""
    rows = estimates.filter(pl.col("question_id") == question.id)
    position = {c: j for j, c in enumerate(question.choices)}
    out: dict[str, dict[str, np.ndarray]] = {}
    for (var, value), part in rows.group_by(["group_var", "group_value"], maintain_order=True):
        shares = np.zeros(len(question.choices))
        for answer, estimate in zip(part["answer"].to_list(), part["estimate"].to_list()):
            if answer in position and estimate is not None and np.isfinite(estimate):
                shares[position[answer]] = estimate
        if shares.sum() > 0:
            out.setdefault(var, {})[value] = shares
    return out


def simulated_respondents(estimates: pl.DataFrame, question: Question) -> dict[tuple[str, str], int]:
    """Respondents who answered, by (group variable, group)."""
    rows = estimates.filter(pl.col("question_id") == question.id)
    return {(v, g): int(r) for v, g, r in zip(rows["group_var"], rows["group_value"], rows["respondents"])}


def validate_question(question: Question, estimates: pl.DataFrame, *, fitted: ModelLink | None = None,
                      seed: int = 0) -> dict[str, Any] | None:
    """The comparison of one question's estimates with its reference (None without a reference link)."""
    if question.reference is None or question.type not in ("single", "likert"):
        return None
    link = question.reference
    real = reference_shares(link, question)
    simulated = simulated_shares(estimates, question)
    respondents = simulated_respondents(estimates, question)
    total = real.get("total", {}).get("전체")
    marginal = total.shares if total is not None and total.complete else None
    fit_marginal = None
    if fitted is not None and _same_table(fitted, link) is False:
        fit_total = reference_shares(fitted, question, group_vars=["total"]).get("total", {}).get("전체")
        fit_marginal = fit_total.shares if fit_total is not None and fit_total.complete else None
    k = len(question.choices)
    uniform = np.full(k, 1.0 / k)
    groups: list[dict[str, Any]] = []
    for var, real_groups in real.items():
        held_out = not (fitted is not None and _same_table(fitted, link) and (var in fitted.groups or var == "total"))
        for value, shares in real_groups.items():
            q = simulated.get(var, {}).get(value)
            if q is None or not shares.complete:
                continue
            entry: dict[str, Any] = {
                "group_var": var, "group_value": value, "n": shares.n, "held_out": held_out,
                "simulated_respondents": respondents.get((var, value), 0),
                "real": _round(shares.shares), "simulated": _round(q / q.sum()), "dropped_real_share": shares.dropped,
                "backend": metric_values(question, shares.shares, q),
                "noise_floor": noise_floor(question, shares.shares, shares.n, seed=seed),
                "uniform": metric_values(question, shares.shares, uniform),
                "entropy_ratio": entropy(q) / entropy(shares.shares) if entropy(shares.shares) > 0 else None,
            }
            if marginal is not None and var != "total":
                entry["marginal"] = metric_values(question, shares.shares, marginal)
            if fit_marginal is not None:
                entry["fit_marginal"] = metric_values(question, shares.shares, fit_marginal)
            groups.append(entry)
    result = {"question_id": question.id, "reference": link.model_dump(exclude_none=True),
              "fitted_to": fitted.model_dump(exclude_none=True) if fitted is not None else None,
              "groups": groups, "rank_agreement": _rank_agreement(question, real, simulated, marginal),
              "summary": _summary(groups)}
    result["verdict"] = _verdict(question.id, result["summary"])
    small = [f"{g['group_var']}={g['group_value']}" for g in groups if g["simulated_respondents"] < SMALL_GROUP]
    if small:  # the simulated side has its own sampling noise, which the noise floor does not include
        result["verdict"]["text"] += (f" Caution: {len(small)} group(s) have fewer than {SMALL_GROUP} simulated "
                                      f"respondents ({', '.join(small[:4])}{' …' if len(small) > 4 else ''}).")
    return result


def _same_table(a: ModelLink, b) -> bool:
    return (a.table == b.table and str(a.year) == str(b.year) and a.question_id == b.question_id
            and (a.survey is None or b.survey is None or a.survey == b.survey))


def _summary(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean of each metric over held-out group margins (the total excluded), per comparator."""
    held = [g for g in groups if g["held_out"] and g["group_var"] != "total"]
    out: dict[str, Any] = {"held_out_groups": len(held)}
    for who in ("backend", "noise_floor", "uniform", "marginal", "fit_marginal"):
        values = {}
        for m in METRICS:
            xs = [g[who][m] for g in held if who in g and g[who][m] is not None]
            values[m] = float(np.mean(xs)) if xs else None
        out[who] = values
    ratios = [g["entropy_ratio"] for g in held if g["entropy_ratio"] is not None]
    out["entropy_ratio"] = float(np.mean(ratios)) if ratios else None
    return out


def _verdict(question_id: str, summary: Mapping[str, Any]) -> dict[str, Any]:
    backend = summary["backend"]["jsd"]
    if backend is None:
        return {"beats_uniform": None, "beats_marginal": None,
                "text": f"{question_id}: no held-out group margins to validate on."}
    beats_uniform = summary["uniform"]["jsd"] is not None and backend < summary["uniform"]["jsd"]
    marginal = summary["marginal"]["jsd"]
    beats_marginal = None if marginal is None else backend < marginal
    floor = summary["noise_floor"]["jsd"]
    parts = [f"{question_id}: on {summary['held_out_groups']} held-out group margins, mean JSD {backend:.4f}",
             f"uniform {summary['uniform']['jsd']:.4f} ({'beaten' if beats_uniform else 'NOT beaten'})"]
    if marginal is not None:
        parts.append(f"national marginal {marginal:.4f} ({'beaten' if beats_marginal else 'NOT beaten'})")
    if summary["fit_marginal"]["jsd"] is not None:
        fm = summary["fit_marginal"]["jsd"]
        parts.append(f"fit-year marginal {fm:.4f} ({'beaten' if backend < fm else 'NOT beaten'})")
    if floor is not None:
        parts.append(f"noise floor {floor:.4f}")
    return {"beats_uniform": beats_uniform, "beats_marginal": beats_marginal,
            "beats_fit_marginal": (None if summary["fit_marginal"]["jsd"] is None
                                   else backend < summary["fit_marginal"]["jsd"]),
            "text": "; ".join(parts) + "."}


def _rank_agreement(question: Question, real: Mapping[str, Mapping[str, GroupShares]],
                    simulated: Mapping[str, Mapping[str, np.ndarray]], marginal: np.ndarray | None) -> dict[str, Any]:
    out = {}
    scale = question.scale
    modal = int(np.argmax(marginal)) if marginal is not None else None
    for var, groups in real.items():
        common = [v for v, s in groups.items() if s.complete and v in simulated.get(var, {})]
        if len(common) < 3:
            continue

        def score(shares: np.ndarray) -> float:
            if scale:
                on = _norm(shares[scale])
                return float((on * np.arange(len(scale))).sum())
            return float(_norm(shares)[modal if modal is not None else 0])

        a = [score(groups[v].shares) for v in common]
        b = [score(simulated[var][v]) for v in common]
        rho = stats.spearmanr(a, b).statistic if np.std(a) > 0 and np.std(b) > 0 else float("nan")
        out[var] = {"groups": len(common), "spearman": None if np.isnan(rho) else float(rho),
                    "score": "mean scale point" if scale else "share of the national modal answer"}
    return out


def _norm(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    s = p.sum()
    return p / s if s > 0 else p


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    mask = p > 0
    return float((p[mask] * np.log2(p[mask] / q[mask])).sum())


def _round(x: np.ndarray) -> list[float]:
    return [round(float(v), 5) for v in x]
