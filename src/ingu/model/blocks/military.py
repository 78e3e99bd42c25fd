"""Block ``military``: military_service | sex, age.

Korean men are liable to conscription; women serve only as volunteers in the career force. NPK's
``military_status`` is flat across ages (about 1% of men at every age, audit paper §6.4); here the
status follows the institutional life course instead:

* **현역병** (enlisted conscripts) — a stock: the share of a male cohort that enlists
  (annual enlistments ÷ the size of the cohorts they came from) times the fraction of each year of
  age spent in uniform, given an *assumed* distribution of age at enlistment and the statutory
  service length (weighted over the services by their size).
* **직업군인** (officers, warrant officers, NCOs) — the standing force of the reference year minus
  the conscript stock, spread over ages 20–56 by an *assumed* headcount age profile shaped by the
  statutory retirement ages; women get the published female share of career soldiers.
* **사회복무요원 / 면제** — no count is shipped: the part of a cohort that never enlists as a
  conscript is split by an *assumed* ratio into a supplementary-service track (21 months, same
  start ages as conscripts) and exemption.
* **미필 / 병역필** — the rest of the liable men, before and after their service.

Every number is derived in :func:`military_rates` (a pure function of the reference tables and a
:class:`MilitaryAssumptions`), which also returns the derivation the card quotes. ``docs/model.md``
(§ military_service) walks through the arithmetic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from ingu.model.blocks.geography import POPULATION, adult_population
from ingu.model.context import AGES, REFERENCE_YEAR, FitContext
from ingu.model.network import Variable

CELLS = "military_cells"
LABELS = ("현역병", "직업군인", "사회복무요원", "병역필", "면제", "미필", "해당없음")
CONSCRIPT, CAREER, SOCIAL, SERVED, EXEMPT, NOT_YET, NOT_APPLICABLE = range(7)

# Statutory service length in months (law, not data): 병역법 제18조 sets the base terms and
# 제19조①3 lets the Minister shorten them; the 2018 reduction (국방부 「병 복무기간 단축 시행방안」,
# 2018-07-27, 국방개혁 2.0) applies in full to enlistees from mid-2020: 육군·해병대 18, 해군 20,
# 공군 22, 사회복무요원 21 (병역법 제30조 term, shortened likewise).
SERVICE_MONTHS = {"army": 18.0, "marine corps": 18.0, "navy": 20.0, "air force": 22.0}
SOCIAL_SERVICE_MONTHS = 21.0

# Unit strings of military_cells → persons.
_UNIT_FACTOR = {"만 명": 10_000.0, "persons": 1.0, "thousand": 1_000.0}


@dataclass(frozen=True)
class MilitaryAssumptions:
    """The choices the derivation rests on where no official table exists (all documented).

    Parameters
    ----------
    enlistment_years
        Years of ``military_cells`` 현역병 enlistments whose cohort enlistment share is applied to
        the reference year (the latest shipped years, both under the 18-month army term).
    enlistment_age_weights
        Distribution of completed age at enlistment, ``(age, weight)`` (normalised). ASSUMPTION: no
        official age distribution is shipped. 병역판정검사 is taken in the year one turns 19
        (병역법 제11조); most enlist one or two years later, university students postpone to their
        early twenties (병역법 제60조, age limits in 시행령 제124조), few after 25. Enlistment at 18
        is folded into 19.
    supplementary_age_weights
        The same for the start of 사회복무요원 service; ``None`` = same as enlistment (ASSUMPTION).
    force_years
        Two ``(year, universe, category)`` standing-force rows of ``military_cells``; the force of
        :data:`REFERENCE_YEAR` is linearly interpolated between them (ASSUMPTION: linear decline).
    career_age_profile
        Knots ``(age, relative headcount)`` of the career force's age profile, linearly
        interpolated over single years (ASSUMPTION: no age table of 간부 is shipped). Shape: the
        short-term intake of 단기 하사 and junior officers makes the twenties the densest; the rank
        pyramid thins the thirties and forties; statutory age limits (군인사법 제8조: 상사·중령 53,
        원사·준위 55, 대령 56) end it by 57. Generals (58+) are negligible and left out.
    female_share_year
        Year of the ``women`` share row of ``military_cells`` giving women's share of career
        soldiers (2020: 7.4%; 2016: 5.5% of 간부).
    supplementary_share_of_remainder
        Of the men who never enlist as conscripts, the share who fulfil the obligation otherwise:
        a supplementary/alternative service (labelled 사회복무요원 while serving, 21 months) or
        direct entry into the career force (the career soldiers of each age are taken out of this
        track, 병역필 and 미필). The rest are 면제. ASSUMPTION: the split of 4급 (보충역) versus
        5·6급 (면제) is not shipped.
    """

    enlistment_years: tuple[int, ...] = (2020, 2021)
    enlistment_age_weights: tuple[tuple[int, float], ...] = (
        (19, 0.15), (20, 0.40), (21, 0.20), (22, 0.10), (23, 0.06),
        (24, 0.04), (25, 0.025), (26, 0.015), (27, 0.007), (28, 0.003),
    )
    supplementary_age_weights: tuple[tuple[int, float], ...] | None = None
    force_years: tuple[tuple[int, str, str], tuple[int, str, str]] = (
        (2022, "active + reserve", "active"),
        (2025, "active military (news)", "total"),
    )
    career_age_profile: tuple[tuple[float, float], ...] = (
        (19, 0.0), (20, 0.5), (22, 1.0), (29, 1.0), (45, 0.3), (53, 0.3), (56, 0.1), (57, 0.0),
    )
    female_share_year: int = 2020
    supplementary_share_of_remainder: float = 0.8

    def describe(self) -> tuple[str, ...]:
        """The assumptions as card sentences (``Variable.assumptions``)."""
        ages = ", ".join(f"{a}: {w:g}" for a, w in self.enlistment_age_weights)
        knots = ", ".join(f"{a:g}: {w:g}" for a, w in self.career_age_profile)
        return (
            f"age at 현역병 enlistment (completed years) is assumed distributed as {{{ages}}}; "
            "start within the year of age uniform",
            "사회복무요원 start ages are assumed to follow "
            + ("the enlistment ages" if self.supplementary_age_weights is None else "their own weights"),
            "conscripts' branch mix is assumed equal to the branch mix of the standing force "
            "(2022 plan), giving the mean statutory service length",
            "the share of a male cohort enlisting as 현역병 in "
            f"{'/'.join(map(str, self.enlistment_years))} is assumed to hold for every cohort now "
            "of service age; cohort sizes at enlistment are taken from the 2024 registered "
            "population (mortality and migration between enlistment and 2024 ignored); "
            "early discharge is ignored",
            f"the {REFERENCE_YEAR} standing force is interpolated linearly between "
            f"{self.force_years[0][0]} and {self.force_years[1][0]}",
            "career soldiers = standing force − conscript stock, spread over ages by an assumed "
            f"headcount profile {{{knots}}} (same shape for women and men)",
            f"women's share of career soldiers is the {self.female_share_year} published share; "
            "women serve only as career soldiers",
            f"of men who never enlist as 현역병, {self.supplementary_share_of_remainder:.0%} are "
            "assumed to serve a supplementary service (labelled 사회복무요원 while serving, "
            f"{SOCIAL_SERVICE_MONTHS:g} months) and the rest are 면제, at the same rate in every "
            "cohort",
            "career soldiers are drawn, in proportion, from the men who would otherwise be "
            "사회복무요원, 병역필 or 미필 at their age",
        )


DEFAULT = MilitaryAssumptions()


# --------------------------------------------------------------------------------------------
# Reading the cells


def _persons(row: dict) -> float:
    unit = str(row["unit"])
    for key, factor in _UNIT_FACTOR.items():
        if unit.startswith(key):
            return float(row["value"]) * factor
    raise ValueError(f"{CELLS}: unknown unit {unit!r}")


def _one(rows: pl.DataFrame, what: str) -> dict:
    if rows.height != 1:
        raise ValueError(f"{CELLS}: expected one row for {what}, found {rows.height}")
    return rows.row(0, named=True)


def enlistments(cells: pl.DataFrame) -> dict[int, float]:
    """Annual 현역병 enlistments by year (persons)."""
    rows = cells.filter(
        (pl.col("topic") == "conscription") & (pl.col("category") == "enlisted")
        & (pl.col("branch") == "all") & (pl.col("measure") == "count")
    ).sort("year")
    return {int(r["year"]): _persons(r) for r in rows.iter_rows(named=True)}


def force_size(cells: pl.DataFrame, year: int, universe: str, category: str) -> float:
    """The standing force of one ``(year, universe, category)`` row, all services (persons)."""
    rows = cells.filter(
        (pl.col("topic") == "standing_forces") & (pl.col("year") == year)
        & (pl.col("branch") == "all") & (pl.col("universe") == universe)
        & (pl.col("category") == category)
    )
    return _persons(_one(rows, f"standing force {year} {universe!r}/{category!r}"))


def branch_mix(cells: pl.DataFrame, year: int = 2022) -> dict[str, float]:
    """Standing force by service (persons), each the latest row up to ``year``.

    The navy row includes the marine corps; marines are split out so that each service gets its
    own statutory term.
    """
    wanted = {
        "army": "army", "navy incl. marines": "navy_all",
        "marine corps (within navy)": "marine corps", "air force": "air force",
    }
    rows = cells.filter(
        (pl.col("topic") == "standing_forces") & (pl.col("year") <= year)
        & pl.col("branch").is_in(list(wanted))
        & pl.col("universe").str.starts_with("active-duty standing forces")
    ).sort("year")
    latest = {wanted[r["branch"]]: _persons(r) for r in rows.iter_rows(named=True)}
    missing = {"army", "navy_all", "marine corps", "air force"} - set(latest)
    if missing:
        raise ValueError(f"{CELLS}: no standing-force row for {sorted(missing)} up to {year}")
    navy_all = latest.pop("navy_all")
    latest["navy"] = navy_all - latest["marine corps"]
    return latest


def female_share(cells: pl.DataFrame, year: int) -> float:
    """Women's share of career soldiers (간부) in ``year``, as a fraction.

    2016 prints the share among all 간부 (5.5%) next to shares among officers and NCOs; 2020
    prints one share (7.4%) under the universe "service members". It is read as a share of 간부:
    women serve only as 간부, and 7.4% of the whole 2020 force (555,000) would be about 41,000
    women, four times the 10,263 counted in 2016.
    """
    rows = cells.filter(
        (pl.col("topic") == "women") & (pl.col("measure") == "share") & (pl.col("year") == year)
    )
    if rows.height > 1:
        rows = rows.filter(pl.col("category").str.contains("all 간부"))
    row = _one(rows, f"women's share {year}")
    return float(row["value"]) / 100.0


# --------------------------------------------------------------------------------------------
# Life-course arithmetic


def _triangular_cdf(t: np.ndarray) -> np.ndarray:
    """CDF of ``U1 − U2`` for independent uniforms on [0, 1) (a triangle on [−1, 1])."""
    t = np.clip(t, -1.0, 1.0)
    return np.where(t < 0, (t + 1) ** 2 / 2, 1 - (1 - t) ** 2 / 2)


def service_phases(
    start_weights: tuple[tuple[int, float], ...], years: float, ages: np.ndarray = AGES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For someone who will serve ``years`` starting at an age drawn from ``start_weights``:
    the probability of being before, in, and after service at each completed age.

    Exact start age is uniform within the completed year of age, and a person of completed age
    ``a`` is observed at an exact age uniform in ``[a, a+1)``; the difference of the two is
    triangular, so the three probabilities are closed-form. Returns ``(before, serving, after)``,
    each of shape ``(len(ages),)``, summing to 1; ``serving`` sums to ``years`` over ages.
    """
    start = np.array([a for a, _ in start_weights], dtype=float)
    weight = np.array([w for _, w in start_weights], dtype=float)
    if (weight < 0).any() or weight.sum() <= 0:
        raise ValueError("start-age weights must be non-negative and not all zero")
    weight = weight / weight.sum()
    lag = ages[:, None] - start[None, :]  # observed age − start age, in whole years
    before = _triangular_cdf(-lag) @ weight
    after = (1 - _triangular_cdf(years - lag)) @ weight
    serving = 1 - before - after
    return before, serving, after


def _profile(knots: tuple[tuple[float, float], ...], ages: np.ndarray = AGES) -> np.ndarray:
    x = np.array([a for a, _ in knots], dtype=float)
    y = np.array([w for _, w in knots], dtype=float)
    shape = np.interp(ages, x, y, left=0.0, right=0.0)
    if (shape < 0).any() or shape.sum() <= 0:
        raise ValueError("career age profile must be non-negative and not all zero")
    return shape / shape.sum()


def _at(pop: np.ndarray, age: int) -> float:
    i = age - int(AGES[0])
    return float(pop[i]) if 0 <= i < len(pop) else 0.0


def cohort_enlistment_share(
    enlisted: float, year: int, weights: tuple[tuple[int, float], ...], men: np.ndarray
) -> tuple[float, float]:
    """Share of a male cohort enlisting as 현역병, from one year's enlistments.

    The enlistees of ``year`` at completed age ``e`` were born about ``year − e``; at the end of
    :data:`REFERENCE_YEAR` they are aged ``e + s`` or ``e + s + 1`` (``s = REFERENCE_YEAR −
    year``), so the cohort they came from is sized as the mean of those two registered ages.
    Returns ``(share, effective cohort size)``.
    """
    s = REFERENCE_YEAR - year
    total = sum(w for _, w in weights)
    cohort = sum(w / total * (_at(men, e + s) + _at(men, e + s + 1)) / 2 for e, w in weights)
    return enlisted / cohort, cohort


BANDS = ((19, 19), (20, 22), (23, 26), (27, 29), (30, 34), (35, 44), (45, 56), (57, 104))


def _band_shares(cpt: np.ndarray, pop: np.ndarray) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for lo, hi in BANDS:
        sel = (AGES >= lo) & (AGES <= hi)
        w = pop[sel]
        shares = (cpt[sel] * w[:, None]).sum(axis=0) / w.sum()
        key = f"{lo}" if lo == hi else (f"{lo}+" if hi == AGES[-1] else f"{lo}-{hi}")
        out[key] = {label: round(float(v), 6) for label, v in zip(LABELS, shares) if v > 0}
    return out


def military_rates(
    ctx: FitContext, assumptions: MilitaryAssumptions = DEFAULT, population: np.ndarray | None = None
) -> dict:
    """Derive ``P(military_service | sex, age)`` from the reference tables.

    Parameters
    ----------
    ctx
        Gives the tables (``military_cells``, the 2024 population).
    assumptions
        The documented choices (see :class:`MilitaryAssumptions`).
    population
        Adults by sex × single age, shape ``(2, 86)`` (men first); default: the 2024 registered
        population summed over districts (:func:`~ingu.model.blocks.geography.adult_population`).

    Returns
    -------
    dict
        ``cpt``: float64 array ``(2, len(AGES), 7)`` over :data:`LABELS`; ``counts``: expected
        persons by sex × age × label; ``derivation``: the JSON-ready numbers behind it.
    """
    a = assumptions
    pop = adult_population(ctx).sum(axis=0) if population is None else np.asarray(population, float)
    if pop.shape != (2, len(AGES)):
        raise ValueError(f"population must have shape (2, {len(AGES)}), got {pop.shape}")
    men, women = pop
    cells = ctx.table(CELLS)

    # 1. Mean statutory term of conscripts, weighted by the services' size.
    mix = branch_mix(cells)
    mix_total = sum(mix.values())
    months = sum(SERVICE_MONTHS[b] * n for b, n in mix.items()) / mix_total
    term = months / 12.0

    # 2. Share of a male cohort that enlists as 현역병 (by year; the chosen years pooled).
    enlisted = enlistments(cells)
    missing = [y for y in a.enlistment_years if y not in enlisted]
    if missing:
        raise ValueError(f"{CELLS}: no enlistment count for {missing}")
    by_year = {
        y: cohort_enlistment_share(n, y, a.enlistment_age_weights, men) for y, n in enlisted.items()
    }
    chosen_enlisted = sum(enlisted[y] for y in a.enlistment_years)
    chosen_cohort = sum(by_year[y][1] for y in a.enlistment_years)
    q_conscript = chosen_enlisted / chosen_cohort
    if not 0 < q_conscript < 1:
        raise ValueError(f"cohort enlistment share {q_conscript:.3f} is outside (0, 1)")

    # 3. 현역병 at each age = share enlisting × probability of being in uniform at that age.
    before_c, serving_c, after_c = service_phases(a.enlistment_age_weights, term)
    conscript_rate = q_conscript * serving_c
    conscript_stock = float((men * conscript_rate).sum())

    # 4. Career soldiers = standing force (interpolated to the reference year) − conscripts.
    (y0, u0, c0), (y1, u1, c1) = a.force_years
    f0, f1 = force_size(cells, y0, u0, c0), force_size(cells, y1, u1, c1)
    force = f0 + (f1 - f0) * (REFERENCE_YEAR - y0) / (y1 - y0)
    career = force - conscript_stock
    if career <= 0:
        raise ValueError(f"conscript stock {conscript_stock:,.0f} exceeds the force {force:,.0f}")
    phi = female_share(cells, a.female_share_year)
    shape = _profile(a.career_age_profile)
    with np.errstate(divide="ignore", invalid="ignore"):
        career_rate_m = np.where(men > 0, (1 - phi) * career * shape / men, 0.0)
        career_rate_f = np.where(women > 0, phi * career * shape / women, 0.0)

    # 5. Men who never enlist: supplementary track (사회복무요원 while serving) or exempt.
    rest = 1 - q_conscript
    q_social = a.supplementary_share_of_remainder * rest
    q_exempt = rest - q_social
    before_s, serving_s, after_s = service_phases(
        a.supplementary_age_weights or a.enlistment_age_weights, SOCIAL_SERVICE_MONTHS / 12.0
    )

    # 6. Men's status by age. Career soldiers are not conscripts and not exempt: they come out
    # of 사회복무요원 (the track that holds direct entrants), 병역필 and 미필 in proportion.
    cpt = np.zeros((2, len(AGES), len(LABELS)))
    social = q_social * serving_s
    served = q_conscript * after_c + q_social * after_s
    not_yet = q_conscript * before_c + q_social * before_s
    pool = social + served + not_yet
    if (career_rate_m > pool + 1e-12).any():
        raise ValueError("career soldiers exceed the men available at some age")
    keep = np.where(pool > 0, 1 - career_rate_m / np.where(pool > 0, pool, 1), 0.0)
    cpt[0, :, CONSCRIPT] = conscript_rate
    cpt[0, :, CAREER] = career_rate_m
    cpt[0, :, SOCIAL] = social * keep
    cpt[0, :, SERVED] = served * keep
    cpt[0, :, EXEMPT] = q_exempt
    cpt[0, :, NOT_YET] = not_yet * keep
    cpt[1, :, CAREER] = career_rate_f
    cpt[1, :, NOT_APPLICABLE] = 1 - career_rate_f
    if (cpt < -1e-12).any() or not np.allclose(cpt.sum(axis=-1), 1.0):
        raise ValueError("military_service CPT is not a distribution")
    cpt = np.clip(cpt, 0.0, None)
    cpt /= cpt.sum(axis=-1, keepdims=True)

    counts = cpt * pop[..., None]
    adults = float(pop.sum())
    active = float(counts[..., [CONSCRIPT, CAREER]].sum())
    cohort19 = cells.filter(
        (pl.col("topic") == "conscription") & (pl.col("measure") == "count")
        & pl.col("universe").str.contains("병역판정검사")
    )
    derivation = {
        "reference_year": REFERENCE_YEAR,
        "assumptions": _jsonable(asdict(a)),
        "service_months_by_law": SERVICE_MONTHS | {"사회복무요원": SOCIAL_SERVICE_MONTHS},
        "branch_mix_persons": {k: round(v) for k, v in mix.items()},
        "mean_conscript_term_months": round(months, 3),
        "enlistments_by_year": {str(y): round(n) for y, n in enlisted.items()},
        "cohort_enlistment_share_by_year": {
            str(y): round(q, 4) for y, (q, _) in by_year.items()
        },
        "cohort_enlistment_share": round(q_conscript, 4),
        "naive_conscript_stock_enlistments_x_term": round(
            chosen_enlisted / len(a.enlistment_years) * term
        ),
        "conscript_stock": round(conscript_stock),
        "force_rows": {str(y0): round(f0), str(y1): round(f1)},
        "force_reference_year": round(force),
        "career_soldiers": round(career),
        "career_female_share": phi,
        "career_women": round(phi * career),
        "career_men": round((1 - phi) * career),
        "implied_career_2016_from_women": _career_2016(cells),
        "social_service_lifetime_share": round(q_social, 4),
        "exempt_share": round(q_exempt, 4),
        "social_service_stock": round(float(counts[0, :, SOCIAL].sum())),
        "adults": round(adults),
        "active_duty": round(active),
        "active_duty_share_of_adults": round(active / adults, 5),
        "men_19_registered_vs_exam_cohort": {
            "registered_men_age_19": round(float(men[0])),
            "exam_cohort_printed": [_persons(r) for r in cohort19.iter_rows(named=True)],
        },
        "men_by_band": _band_shares(cpt[0], men),
        "women_career_by_band": {
            k: v.get("직업군인", 0.0) for k, v in _band_shares(cpt[1], women).items()
        },
        "women_career_max_rate": round(float(career_rate_f.max()), 6),
    }
    return {"cpt": cpt, "counts": counts, "derivation": derivation}


def _career_2016(cells: pl.DataFrame) -> int | None:
    """Career force of 2016 implied by its women: count ÷ share of 간부 (a cross-check)."""
    women = cells.filter(
        (pl.col("topic") == "women") & (pl.col("year") == 2016) & (pl.col("branch") == "all")
        & (pl.col("category") == "total") & (pl.col("measure") == "count")
    )
    if women.height != 1:
        return None
    try:
        share = female_share(cells, 2016)
    except ValueError:
        return None
    return round(_persons(women.row(0, named=True)) / share)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


def fit(ctx: FitContext, assumptions: MilitaryAssumptions = DEFAULT) -> None:
    """Add ``military_service`` with parents ``(sex, age)``; ``sex`` and ``age`` must be fitted."""
    fitted = {v.name for v in ctx.variables}
    missing = [p for p in ("sex", "age") if p not in fitted]
    if missing:
        raise KeyError(f"military: fit the geography block first (missing {missing})")
    if tuple(ctx["sex"].labels) != ("남자", "여자"):
        raise ValueError(f"military: expected sex labels (남자, 여자), got {ctx['sex'].labels}")
    if tuple(ctx["age"].labels) != tuple(str(x) for x in AGES):
        raise ValueError("military: age labels differ from 19..104")
    vocab = ctx.labels("military_service")
    if vocab != LABELS:
        raise ValueError(f"military: vocab_military_service {vocab} != {LABELS}")
    rates = military_rates(ctx, assumptions)
    ctx.add(Variable(
        "military_service", LABELS, ("sex", "age"), rates["cpt"],
        fitted_to=(CELLS, POPULATION, "vocab_military_service"),
        assumptions=assumptions.describe(),
    ))
    ctx.record("military", "derivation", rates["derivation"])
