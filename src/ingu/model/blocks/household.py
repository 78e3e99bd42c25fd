"""Block ``household``: family_type | sex, age, marital; housing_type | district, family_type.

Official household statistics count *households*; the model is a population of *adults*. Each table is
converted to persons deliberately (see ``docs/model_household.md``):

* a one-person household is exactly one adult living alone, of the householder's sex and age — so the
  2023 census distribution of one-person households by sex × age of householder, scaled to the 2024
  count, gives the persons living alone by sex × age band (``press_cells``);
* a couple-only household (부부 가구) holds two adults, both of type ``배우자와 거주``;
* a district's general households by size (1 … 5, 6+) and by dwelling type give, once their
  size × dwelling interior is estimated, the household members by dwelling type; the district's minors
  are taken out of the members of households of three or more (see :func:`adults_by_dwelling`).

``family_type`` starts from NPK's own marital × family-type joint (``npk_prior_*``: NVIDIA's typology,
not an official statistic), with structural zeros from each type's meaning (:data:`RULES`), and is
raked so that the official cells hold. ``housing_type`` is raked to the adults by dwelling type of each
district, with family types seeded by the household sizes they imply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from ingu.model.context import AGES, MAX_AGE, MIN_AGE, FitContext, conditional
from ingu.model.ipf import FitReport, Margin, fit as ipf_fit
from ingu.model.network import Variable

PRIOR_JOINT = "npk_prior_marital_family_type"
PRIOR_TYPES = "npk_prior_family_type"
PRIOR_OTHER = "기타"  # the aggregator's column for the types outside NPK's 12 most frequent
PRESS = "press_cells"
DWELLING = "census_households_by_dwelling_type"
SIZE = "census_households_by_size"
COMPOSITION = "census_household_composition"
POPULATION = "pop_mois_2024_district_sex_age5"

NEVER, MARRIED, WIDOWED, DIVORCED = "미혼", "배우자있음", "사별", "이혼"
ANY = frozenset({NEVER, MARRIED, WIDOWED, DIVORCED})
NO_SPOUSE = frozenset({NEVER, WIDOWED, DIVORCED})  # types that name no spouse and have their own 별거 twin
FORMERLY = frozenset({WIDOWED, DIVORCED})  # a parent without a spouse: widowed or divorced
SPOUSE = frozenset({MARRIED})

# Plausibility bounds, not statistics: at least GENERATION years between a parent and a child.
GENERATION = 15
PARENT_ALIVE = MAX_AGE - GENERATION  # oldest age at which one can live with a parent
GRANDPARENT_ALIVE = MAX_AGE - 2 * GENERATION  # … with a grandparent
GRANDCHILD = 2 * GENERATION  # youngest age at which one can live with a grandchild


@dataclass(frozen=True)
class FamilyRule:
    """What a family type's meaning allows: marital statuses, ages and the household's size.

    ``min_size`` is the smallest household the type can describe (the person plus the co-residents
    the label names); ``exact`` marks a type whose household size is fixed (alone: 1; couple only: 2).
    """

    marital: frozenset[str]
    min_size: int
    exact: bool = False
    min_age: int = MIN_AGE
    max_age: int = MAX_AGE


def _rule(marital: frozenset[str], size: int, *, exact: bool = False, lo: int = MIN_AGE,
          hi: int = MAX_AGE) -> FamilyRule:
    return FamilyRule(marital, size, exact, lo, hi)


# Every NPK family type, with the reason for its exclusions (docs/model_household.md repeats them):
# - a type naming a spouse (배우자…, incl. the two "(배우자 별거)" types) needs a living, married spouse:
#   배우자있음 only — never 미혼, 사별 or 이혼;
# - NPK gives married people living alone or with children without their spouse their own
#   "(배우자 별거)" types, so 혼자 거주, 자녀와 거주 (한부모) and the other spouse-less types exclude
#   배우자있음;
# - a parent without a spouse (한부모, 자녀·어머니/아버지, 손자녀와 거주) is widowed or divorced: NPK
#   has no never-married parent and no official table counts them (미혼 parents are a known small gap);
# - living with a parent needs a parent at least GENERATION years older (age ≤ PARENT_ALIVE), with a
#   grandparent two generations older (age ≤ GRANDPARENT_ALIVE); living with a grandchild needs two
#   generations below (age ≥ GRANDCHILD);
# - generic types (기타1/2/3세대, 4세대이상, 친인척, 비친족, 가구주+기타친인척) allow every status and age.
RULES: dict[str, FamilyRule] = {
    "배우자·자녀와 거주": _rule(SPOUSE, 3),
    "배우자와 거주": _rule(SPOUSE, 2, exact=True),
    "혼자 거주": _rule(NO_SPOUSE, 1, exact=True),
    "부모와 동거": _rule(NO_SPOUSE, 3, hi=PARENT_ALIVE),
    "기타2세대": _rule(ANY, 2),
    "어머니와 동거": _rule(NO_SPOUSE, 2, hi=PARENT_ALIVE),
    "자녀와 거주 (한부모)": _rule(FORMERLY, 2),
    "기타3세대": _rule(ANY, 3),
    "혼자 거주 (배우자 별거)": _rule(SPOUSE, 1, exact=True),
    "자녀와 거주 (배우자 별거)": _rule(SPOUSE, 2),
    "배우자·자녀·어머니와 거주": _rule(SPOUSE, 4, hi=PARENT_ALIVE),
    "친인척과 거주": _rule(ANY, 2),
    "비친족 동거": _rule(ANY, 2),
    "아버지와 동거": _rule(NO_SPOUSE, 2, hi=PARENT_ALIVE),
    "형제자매와 동거 (가구주)": _rule(NO_SPOUSE, 2),
    "배우자·자녀·부모와 거주": _rule(SPOUSE, 5, hi=PARENT_ALIVE),
    "배우자·편부모와 거주": _rule(SPOUSE, 3, hi=PARENT_ALIVE),
    "기타1세대": _rule(ANY, 2),
    "부모·조모와 동거": _rule(NO_SPOUSE, 4, hi=GRANDPARENT_ALIVE),
    "가구주+기타친인척": _rule(ANY, 2),
    "자녀·어머니와 거주": _rule(FORMERLY, 3, hi=PARENT_ALIVE),
    "배우자·자녀·아버지와 거주": _rule(SPOUSE, 4, hi=PARENT_ALIVE),
    "배우자·손자녀와 거주": _rule(SPOUSE, 3, lo=GRANDCHILD),
    "손자녀와 거주": _rule(FORMERLY, 2, lo=GRANDCHILD),
    "배우자·부모와 거주": _rule(SPOUSE, 4, hi=PARENT_ALIVE),
    "배우자·친인척과 거주": _rule(SPOUSE, 3),
    "조부 또는 조모와 동거": _rule(NO_SPOUSE, 2, hi=GRANDPARENT_ALIVE),
    "배우자·자녀·형제자매와 거주": _rule(SPOUSE, 4),
    "4세대이상": _rule(ANY, 4),
    "부모·형제자매와 동거": _rule(NO_SPOUSE, 4, hi=PARENT_ALIVE),
    "부 또는 모와 거주": _rule(NO_SPOUSE, 2, hi=PARENT_ALIVE),
    "자녀·아버지와 거주": _rule(FORMERLY, 3, hi=PARENT_ALIVE),
    "부모·조부모와 동거": _rule(NO_SPOUSE, 5, hi=GRANDPARENT_ALIVE),
    "배우자·미혼 형제자매와 거주": _rule(SPOUSE, 3),
    "부모·조부와 동거": _rule(NO_SPOUSE, 4, hi=GRANDPARENT_ALIVE),
    "부모·친인척과 동거": _rule(NO_SPOUSE, 4, hi=PARENT_ALIVE),
    "조부모와 동거": _rule(NO_SPOUSE, 3, hi=GRANDPARENT_ALIVE),
    "형제 부부 가구에 동거": _rule(NO_SPOUSE, 3),
    "배우자·형제자매와 거주": _rule(SPOUSE, 3),
}
COUPLE_ONLY = "배우자와 거주"
SINGLE_PARENT = ("자녀와 거주 (한부모)", "자녀와 거주 (배우자 별거)")
COUPLE_WITH_CHILDREN = "배우자·자녀와 거주"

# Dwelling classes pooled to estimate household size by dwelling type across districts: KOSTAT itself
# reports 연립·다세대 together, and the two smallest classes (연립 2 %, 비주거용 1.4 % of households) are
# not identified on their own (alone they come out at 0 % and 100 % one-person households).
DWELLING_GROUPS = {"apartment": 0, "detached": 1, "nonresidential": 1, "rowhouse": 2, "multiplex": 2,
                   "other": 3}


# ---------------------------------------------------------------------------------------------- rules


def structural_masks(family_labels: tuple[str, ...], marital_labels: tuple[str, ...]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Allowed cells: ``(marital, family_type)`` and ``(age, family_type)`` boolean masks."""
    unknown = [f for f in family_labels if f not in RULES]
    if unknown:
        raise ValueError(f"family types without a structural rule (vocabulary changed?): {unknown}")
    if set(marital_labels) != ANY:
        raise ValueError(f"marital labels {marital_labels} are not {sorted(ANY)}")
    by_marital = np.array([[m in RULES[f].marital for f in family_labels] for m in marital_labels])
    by_age = np.array([[RULES[f].min_age <= a <= RULES[f].max_age for f in family_labels] for a in AGES])
    return by_marital, by_age


def living_alone(family_labels: tuple[str, ...]) -> np.ndarray:
    """Boolean per family type: a one-person household."""
    return np.array([RULES[f].exact and RULES[f].min_size == 1 for f in family_labels])


# ---------------------------------------------------------------------------- official person counts


@dataclass
class AloneTargets:
    """Persons living alone by sex × age band (the official cells converted to persons).

    ``edges`` are the bands' left edges over the model's ages; ``persons`` and ``population`` have
    shape ``(2, len(edges))`` (sex M/F); ``share = persons / population``.
    """

    edges: list[int]
    persons: np.ndarray
    population: np.ndarray
    female_share: float
    total: float
    notes: list[str] = field(default_factory=list)

    @property
    def share(self) -> np.ndarray:
        return self.persons / self.population

    def band_of_age(self) -> np.ndarray:
        return np.searchsorted(np.asarray(self.edges), AGES, side="right") - 1


def _bounds(band: str) -> tuple[int, int]:
    """``'20-29'`` → (20, 29); ``'<20'`` → (0, 19); ``'<=29'`` → (0, 29); ``'80+'`` → (80, 999)."""
    if m := re.fullmatch(r"(\d+)-(\d+)", band):
        return int(m[1]), int(m[2])
    if m := re.fullmatch(r"<(=?)(\d+)", band):
        return 0, int(m[2]) - (0 if m[1] else 1)
    if m := re.fullmatch(r"(\d+)\+", band):
        return int(m[1]), 999
    raise ValueError(f"unreadable age band {band!r}")


def _cell(press: pl.DataFrame, **match: str) -> float:
    rows = press.filter(*[pl.col(k) == v for k, v in match.items()])
    if rows.height != 1:
        raise ValueError(f"{PRESS}: expected one cell for {match}, found {rows.height}")
    return float(rows["value"][0])


def _household_press(ctx: FitContext) -> pl.DataFrame:
    return ctx.table(PRESS).filter(pl.col("topic") == "household").with_columns(pl.col("year").cast(pl.Utf8))


def general_households_2024(ctx: FitContext) -> tuple[float, float]:
    """(one-person households, all general households) in 2024 from the published count and share."""
    press = _household_press(ctx)
    ones = _cell(press, year="2024", category="1인 가구", measure="count") * 1e3
    share = _cell(press, year="2024", category="1인 가구", measure="share") / 100
    return ones, ones / share


def alone_targets(ctx: FitContext) -> AloneTargets:
    """Persons living alone by sex × age band, from one-person households.

    The 2023 census distributions of one-person households by the householder's age, one per sex
    (여성가족부 「통계로 보는 남녀의 삶」 2024), are applied to the 2024 count of one-person households.
    The sex split of that count is not printed; it is solved from the both-sexes distribution printed
    for the same year (bands ≤29, 30–39, 60–69, 70+): ``T_b = w·F_b + (1 − w)·M_b`` in least squares.
    A one-person household is one person whose age and sex are the householder's, so counts of
    households are counts of persons. The official band ``<20`` holds ages the model lacks (under 19);
    it is merged into 20–29 (→ the model's 19–29), which bounds the error by its size (0.6–0.7 % of
    one-person households). Denominators: the 2024 registered adults (the model's population).
    """
    from ingu.model.blocks.geography import adult_population

    press = _household_press(ctx).filter(pl.col("category") == "1인 가구 (age of householder)",
                                         pl.col("year") == "2023")
    by_sex: dict[str, list[tuple[tuple[int, int], float]]] = {}
    for sex, measure in (("M", "share_of_male_1p"), ("F", "share_of_female_1p"), ("T", "share_of_1p_households")):
        rows = press.filter(pl.col("sex") == sex, pl.col("measure") == measure)
        by_sex[sex] = sorted((_bounds(r["age_band"]), r["value"]) for r in rows.iter_rows(named=True))
        if not by_sex[sex]:
            raise ValueError(f"{PRESS}: no 2023 one-person households by age for sex {sex}")
    if [b for b, _ in by_sex["M"]] != [b for b, _ in by_sex["F"]]:
        raise ValueError(f"{PRESS}: male and female one-person bands differ")

    def within(sex: str, lo: int, hi: int) -> float:
        return sum(v for (a, b), v in by_sex[sex] if a >= lo and b <= hi)

    t = np.array([v for _, v in by_sex["T"]])
    f = np.array([within("F", lo, hi) for (lo, hi), _ in by_sex["T"]])
    m = np.array([within("M", lo, hi) for (lo, hi), _ in by_sex["T"]])
    w = float(((f - m) * (t - m)).sum() / ((f - m) ** 2).sum())
    ones, _ = general_households_2024(ctx)

    # Official bands → model bands: a band reaching below the model's youngest age joins the next one.
    bands = [b for b, _ in by_sex["M"]]
    edges: list[int] = []
    model_band: list[int] = []
    for i, (lo, _) in enumerate(bands):
        model_band.append(len(edges))
        if not (lo < MIN_AGE and i + 1 < len(bands)):
            edges.append(lo)
    edges[0] = MIN_AGE
    persons = np.zeros((2, len(edges)))
    for s, sex in enumerate("MF"):
        shares = np.array([v for _, v in by_sex[sex]])
        shares = shares / shares.sum()  # printed shares are rounded to 0.1 and sum to 99.9–100.0
        np.add.at(persons[s], model_band, ones * (w if sex == "F" else 1 - w) * shares)
    pop = adult_population(ctx).sum(axis=0)  # sex, age
    band = np.searchsorted(np.asarray(edges), AGES, side="right") - 1
    population = np.stack([np.bincount(band, weights=pop[s], minlength=len(edges)) for s in range(2)])
    return AloneTargets(edges, persons, population, w, ones, notes=[
        f"female share of one-person households solved from the 2023 both-sexes bands: {w:.4f}",
        f"one-person households 2024: {ones:,.0f} (general households)",
    ])


def couple_only_share(ctx: FitContext, adults: float) -> float:
    """Share of adults living as a couple only: 2 × 부부 가구 (share of households, 2022) × households 2024."""
    press = _household_press(ctx)
    share = _cell(press, year="2022", category="부부 가구", measure="share") / 100
    _, households = general_households_2024(ctx)
    return 2 * share * households / adults


def _checks_2017(ctx: FitContext, adults: float) -> dict[str, float]:
    """Person shares implied by the 2017 household projection base (too old to fit; reported)."""
    press = _household_press(ctx)
    _, households = general_households_2024(ctx)
    single = _cell(press, year="2017", category="부(모)+자녀 가구", measure="share") / 100
    with_children = _cell(press, year="2017", category="부부+자녀 가구", measure="share") / 100
    return {
        "single_parent": single * households / adults,  # one parent per household
        "couple_with_children": 2 * with_children * households / adults,  # the couple only
    }


# ------------------------------------------------------------------------------------- family_type


def family_prior(ctx: FitContext, marital_labels: tuple[str, ...], family_labels: tuple[str, ...],
                 allowed: np.ndarray) -> tuple[np.ndarray, FitReport]:
    """NPK's marital × family-type counts over all 39 types, shape ``(n_marital, n_family)``.

    The aggregator published the 12 most frequent types and a ``기타`` column; each status's ``기타``
    count is spread over the 27 other types by IPF to NPK's own marginal of those types, within the
    structurally allowed cells (the maximum-entropy completion of the published table).
    """
    joint = ctx.table(PRIOR_JOINT)
    types = dict(zip(ctx.table(PRIOR_TYPES)["family_type"], ctx.table(PRIOR_TYPES)["count"]))
    m_idx = {m: i for i, m in enumerate(marital_labels)}
    f_idx = {f: i for i, f in enumerate(family_labels)}
    prior = np.zeros((len(marital_labels), len(family_labels)))
    other = np.zeros(len(marital_labels))
    for r in joint.iter_rows(named=True):
        if r["family_type"] == PRIOR_OTHER:
            other[m_idx[r["marital"]]] += r["count"]
        else:
            prior[m_idx[r["marital"]], f_idx[r["family_type"]]] = r["count"]
    named = set(joint["family_type"]) - {PRIOR_OTHER}
    rare = np.array([f not in named for f in family_labels])
    if not rare.any() or other.sum() == 0:  # a complete table (e.g. an official one in the cache)
        return prior, FitReport(True, 0, [], [])
    totals = np.array([float(types[f]) for f in np.array(family_labels)[rare]])
    block, report = ipf_fit(
        allowed[:, rare].astype(float), ("marital", "family_type"),
        [Margin(f"{PRIOR_JOINT}: 기타 by marital", ("marital",), other),
         Margin(f"{PRIOR_TYPES}: the {int(rare.sum())} rarer types", ("family_type",), totals)],
        tol=1e-10, max_sweeps=2000,
    )
    prior[:, rare] = block * other.sum() / block.sum()  # IPF keeps the seed's total, not the counts
    return prior, report


def fit_family_type(ctx: FitContext) -> None:
    """Add ``family_type`` with parents (sex, age, marital)."""
    family_labels = ctx.labels("family_type")
    marital_labels = ctx["marital"].labels
    allowed_m, allowed_a = structural_masks(family_labels, marital_labels)
    prior, prior_report = family_prior(ctx, marital_labels, family_labels, allowed_m)
    outside = float((prior * ~allowed_m).sum() / prior.sum())  # prior mass the rules forbid
    prior = prior * allowed_m
    ctx.record("household", "family_type_prior_completion", prior_report)

    parent = ctx.marginal(["sex", "age", "marital"])  # shares
    alone = alone_targets(ctx)
    adults = float(alone.population.sum())
    # P(type | marital) within each age's structural window, for every (sex, age, marital) cell.
    fallback = conditional(conditional(prior)[None, None] * allowed_a[None, :, None, :])
    seed = parent[..., None] * fallback

    is_alone = living_alone(family_labels)
    band = alone.band_of_age()
    couple = couple_only_share(ctx, adults)
    dims = ("sex", "age", "marital", "family_type")
    margins = [
        Margin(f"{PRESS}: persons living alone | sex, age band (1인 가구 2023 by sex × age, 2024 count)",
               ("sex", "age", "family_type"),
               np.stack([alone.share, 1 - alone.share], axis=-1),
               groups={"age": band, "family_type": np.where(is_alone, 0, 1)}, given=("sex", "age")),
        Margin(f"{PRESS}: adults in couple-only households (2 × 부부 가구 2022 share × 2024 households)",
               ("family_type",), np.array([couple, 1 - couple]),
               groups={"family_type": np.array([0 if f == COUPLE_ONLY else 1 for f in family_labels])}),
        Margin("parent: sex × age × marital (model)", ("sex", "age", "marital"), parent),
    ]
    joint, report = ipf_fit(seed, dims, margins, tol=1e-10, max_sweeps=1000)
    ctx.record("household", "family_type", report)

    cpt = conditional(joint)
    empty = cpt.sum(axis=-1) == 0
    cpt[empty] = np.broadcast_to(fallback, cpt.shape)[empty]  # unreachable parents: the allowed prior

    fitted = joint / joint.sum()
    by_type = fitted.sum(axis=(0, 1, 2))
    f_idx = {f: i for i, f in enumerate(family_labels)}
    checks = _checks_2017(ctx, adults)
    ctx.record("household", "family_type_checks", {
        "prior_mass_outside_structural_rules": outside,
        "alone_share_adults": {"model": float(by_type[is_alone].sum()),
                               "official": float(alone.persons.sum() / adults)},
        "couple_only_share_adults": {"model": float(by_type[f_idx[COUPLE_ONLY]]), "official": couple},
        "single_parent_share_adults_2017_base": {
            "model": float(sum(by_type[f_idx[f]] for f in SINGLE_PARENT)),
            "official_2017_share_on_2024_households": checks["single_parent"]},
        "couple_with_children_share_adults_2017_base": {
            "model": float(by_type[f_idx[COUPLE_WITH_CHILDREN]]),
            "official_2017_share_on_2024_households": checks["couple_with_children"]},
        "notes": alone.notes,
    })
    ctx.add(Variable(
        "family_type", family_labels, ("sex", "age", "marital"), cpt,
        (PRESS, PRIOR_JOINT, PRIOR_TYPES, POPULATION),
        assumptions=(
            "starting distribution (prior) of family_type | marital is NPK's own aggregate "
            f"({PRIOR_JOINT}, {PRIOR_TYPES}): NPK aggregate, CC BY 4.0, NVIDIA — not an official "
            "statistic; its 기타 column is spread over the 27 rarer types by maximum entropy",
            "structural zeros from each type's meaning: spouse types need 배우자있음; spouse-less types "
            "exclude it (NPK's '(배우자 별거)' types hold married people living apart); single parents "
            "are 사별/이혼 (never-married parents are not modelled); living with a parent needs age ≤ "
            f"{PARENT_ALIVE}, with a grandparent ≤ {GRANDPARENT_ALIVE}, with a grandchild ≥ {GRANDCHILD}",
            "persons living alone by sex × age band = one-person households (2023 distribution by "
            "householder sex × age, 2024 count; sex split solved from the both-sexes bands); the "
            "official <20 band is merged into the model's 19–29",
            "adults in couple-only households = 2 × 부부 가구 (2022 share of households, projection base) "
            "× 2024 general households",
            "no official table relates the other family types to age: within marital status and the "
            "structural age windows, their mix does not vary with age beyond what the living-alone and "
            "couple-only cells force (e.g. couple-only vs couple-with-children among the married)",
            "persons in collective households (institutions, dormitories) are given a family type as if "
            "they lived in general households",
        ),
    ))


# ------------------------------------------------------------------------------------ housing_type


@dataclass
class DwellingConversion:
    """District households by size × dwelling type and the adults they hold.

    Arrays are indexed ``(district, size, dwelling)``; sizes are 1 … 5 and 6+ (``sizes[d, 5]`` is the
    district's mean size of its 6+ households), dwellings follow ``vocab_housing_type``.
    """

    households: np.ndarray
    sizes: np.ndarray
    adults: np.ndarray
    members_by_dwelling: np.ndarray
    size_given_group: np.ndarray
    report: FitReport
    notes: list[str]

    @property
    def adults_by_dwelling(self) -> np.ndarray:
        return self.adults.sum(axis=1)


def _district_grid(df: pl.DataFrame, key: str, keys: list[str], value: str, n_d: int) -> np.ndarray:
    grid = np.zeros((n_d, len(keys)))
    rows = df.filter(pl.col(key).is_in(keys))
    grid[rows["district_code"].to_numpy(), rows[key].replace_strict({k: i for i, k in enumerate(keys)}).to_numpy()] = (
        rows[value].to_numpy())
    return grid


def _size_given_group(size_share: np.ndarray, group_share: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Ecological estimate of P(size | dwelling group), assumed equal in every district.

    Each district's size distribution is the mix of the groups' size distributions weighted by its
    dwelling mix: ``size_share[d] ≈ group_share[d] @ Q``. ``Q`` (rows on the simplex, softmax
    parametrisation) minimises the household-weighted squared error over the districts.
    """
    from scipy.optimize import minimize

    n_g, n_k = group_share.shape[1], size_share.shape[1]

    def unpack(x: np.ndarray) -> np.ndarray:
        z = x.reshape(n_g, n_k)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def loss(x: np.ndarray) -> float:
        r = size_share - group_share @ unpack(x)
        return float((weight[:, None] * r**2).sum() * 1e4)

    result = minimize(loss, np.zeros(n_g * n_k), method="L-BFGS-B", options={"maxiter": 5000})
    return unpack(result.x)


def adults_by_dwelling(ctx: FitContext) -> DwellingConversion:
    """Convert the census households by dwelling type per district into adults by dwelling type.

    1. General households by size (1 … 5, 6+) and by dwelling type per district, each scaled to the
       district's general-household total (their suppressed small cells are spread proportionally);
       the mean size of 6+ households is what the district's members total leaves for them.
    2. The size × dwelling interior is not published per district: P(size | dwelling group) is estimated
       across the 252 districts (:func:`_size_given_group`) and raked, district by district, to both
       margins — so every district keeps its own size and dwelling totals exactly.
    3. Members by dwelling = Σ size × households. Minors (the district's registered share under 19,
       applied to its members) are taken from the members beyond the first two of households of three
       or more, evenly; adults = members − minors.
    """
    from ingu.model.blocks.geography import adult_population

    housing = ctx.table("vocab_housing_type").sort("code")
    classes = housing["census_class"].to_list()
    n_d = ctx.table("vocab_district").height
    n_t = len(classes)
    by_type = _district_grid(ctx.table(DWELLING), "dwelling_type", classes, "households", n_d)
    sizes_df = ctx.table(SIZE).filter(pl.col("size_lo").is_not_null()).sort("size_lo")
    size_keys = sizes_df["household_size"].unique(maintain_order=True).to_list()
    by_size = _district_grid(ctx.table(SIZE), "household_size", size_keys, "households", n_d)
    size_lo = np.array(sorted(set(sizes_df["size_lo"].to_list())), dtype=float)
    if len(size_lo) != len(size_keys) or not np.array_equal(size_lo, np.arange(1, len(size_lo) + 1)):
        raise ValueError(f"{SIZE}: expected sizes 1, 2, …, open top class; got {size_keys}")
    comp = ctx.table(COMPOSITION).filter(pl.col("household_kind") == "general")
    total = _district_grid(comp, "measure", ["households", "members"], "value", n_d)
    households, members = total[:, 0], total[:, 1]
    if (households <= 0).any():
        raise ValueError(f"{COMPOSITION}: a district without general households")
    by_type *= (households / by_type.sum(axis=1))[:, None]
    by_size *= (households / by_size.sum(axis=1))[:, None]
    n_k = by_size.shape[1]
    closed = (by_size[:, :-1] * size_lo[:-1]).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        top = np.where(by_size[:, -1] > 0, (members - closed) / by_size[:, -1], size_lo[-1])
    sizes = np.tile(size_lo, (n_d, 1))
    sizes[:, -1] = np.maximum(top, size_lo[-1])

    groups = np.array([DWELLING_GROUPS[c] for c in classes])
    n_g = groups.max() + 1
    group_share = np.stack([by_type[:, groups == g].sum(axis=1) for g in range(n_g)], axis=1) / households[:, None]
    q = _size_given_group(by_size / households[:, None], group_share, households / households.sum())
    seed = np.broadcast_to(q[groups].T[None], (n_d, n_k, n_t)).copy()  # district, size, dwelling
    interior, report = ipf_fit(
        seed, ("district", "size", "dwelling"),
        [Margin(f"{SIZE}: households by size | district", ("district", "size"), by_size, given=("district",)),
         Margin(f"{DWELLING}: households by dwelling | district", ("district", "dwelling"), by_type)],
        tol=1e-9, max_sweeps=2000,
    )
    # IPF returns shares of the whole; back to household counts per district.
    interior *= (households / interior.sum(axis=(1, 2)))[:, None, None]
    persons = interior * sizes[:, :, None]

    pop_all = ctx.table(POPULATION)
    registered = np.bincount(pop_all["district_code"].to_numpy(), weights=pop_all["population"].to_numpy(),
                             minlength=n_d)
    adults_registered = adult_population(ctx).sum(axis=(1, 2))
    minors = (1 - adults_registered / registered) * members
    beyond_two = np.clip(sizes - 2, 0, None)[:, :, None] * interior
    room = beyond_two.sum(axis=(1, 2))
    take = np.minimum(minors / room, 1.0)
    adults = persons - take[:, None, None] * beyond_two
    national = lambda a: a.sum(axis=tuple(range(a.ndim - 1))) / a.sum()  # noqa: E731
    notes = [
        "national shares by dwelling (households / members / adults): " + "; ".join(
            f"{c} {100 * h:.1f} / {100 * m:.1f} / {100 * a:.1f}"
            for c, h, m, a in zip(classes, national(by_type), national(persons.sum(axis=1)),
                                  national(adults.sum(axis=1)))),
        "P(size | group) estimated across districts (groups apartment; detached+nonresidential; "
        "rowhouse+multiplex; other): " + "; ".join(
            f"g{g}: " + ",".join(f"{v:.3f}" for v in q[g]) for g in range(n_g)),
        f"minors exceeding the room in households of 3+: {int((minors > room).sum())} districts",
    ]
    return DwellingConversion(interior, sizes, adults, persons.sum(axis=1), q, report, notes)


def size_membership(family_labels: tuple[str, ...], n_sizes: int) -> np.ndarray:
    """``member[f, k]``: a person of type ``f`` can live in a household of size class ``k`` (1 … n+)."""
    member = np.zeros((len(family_labels), n_sizes), dtype=bool)
    for i, f in enumerate(family_labels):
        lo = min(RULES[f].min_size, n_sizes)
        if RULES[f].exact:
            member[i, lo - 1] = True
        else:
            member[i, lo - 1:] = True
    return member


def fit_housing_type(ctx: FitContext) -> None:
    """Add ``housing_type`` with parents (district, family_type)."""
    labels = ctx.labels("housing_type")
    family_labels = ctx["family_type"].labels
    conv = adults_by_dwelling(ctx)
    ctx.record("household", "households_size_x_dwelling", conv.report)
    member = size_membership(family_labels, conv.adults.shape[1]).astype(float)
    # A family type's dwelling mix in a district starts as that of the adults in households of the
    # sizes it allows (alone: one-person households; couple only: two-person households; …).
    by_size_class = np.einsum("fk,dkt->dft", member, conv.adults)
    seed_mix = conditional(by_size_class)
    parent = ctx.marginal(["district", "family_type"])
    seed = seed_mix * parent[..., None]
    target = conv.adults_by_dwelling
    dims = ("district", "family_type", "housing_type")
    margins = [
        Margin(f"{DWELLING}: adults by dwelling type | district (converted from households)",
               ("district", "housing_type"), target, given=("district",)),
        Margin("parent: district × family_type (model)", ("district", "family_type"), parent),
    ]
    before = (seed.sum(axis=1) / seed.sum(axis=(1, 2))[:, None])
    joint, report = ipf_fit(seed, dims, margins, tol=1e-10, max_sweeps=1000)
    ctx.record("household", "housing_type", report)
    target_share = target / target.sum(axis=1, keepdims=True)
    weight = parent.sum(axis=1)
    ctx.record("household", "housing_type_checks", {
        "seed_vs_target_tv_mean": float((0.5 * np.abs(before - target_share).sum(axis=1) * weight).sum()),
        "notes": conv.notes,
    })
    cpt = conditional(joint)
    empty = cpt.sum(axis=-1) == 0
    if empty.any():
        cpt[empty] = seed_mix[empty]
    ctx.add(Variable(
        "housing_type", labels, ("district", "family_type"), cpt, (DWELLING, SIZE, COMPOSITION, POPULATION),
        assumptions=(
            "census households by dwelling type (2025 label, general households) converted to adults: "
            "household size × dwelling type per district estimated (P(size | dwelling group) equal in "
            "every district, fitted across districts — an ecological estimate), minors removed from the "
            "members beyond the first two of households of 3+",
            "a family type's dwelling mix starts as that of households of the sizes it allows (alone → "
            "one-person, couple only → two-person, …), then is raked to the district's adults by dwelling",
            "no official table relates age to dwelling type: housing depends on age only through "
            "district and family type",
            "persons in collective households (institutions, dormitories) are housed as if in general "
            "households",
        ),
    ))


def fit(ctx: FitContext) -> None:
    """Add ``family_type`` (needs sex, age, marital) and ``housing_type`` (needs district)."""
    for name in ("sex", "age", "marital", "district"):
        try:
            ctx[name]
        except KeyError:
            raise ValueError(f"the household block needs {name!r} fitted first") from None
    fit_family_type(ctx)
    fit_housing_type(ctx)
