"""Block ``names``: surname, and given name | sex, birth cohort (see :mod:`ingu.model.names`)."""

from __future__ import annotations

import numpy as np

from ingu.model.context import AGES, REFERENCE_YEAR, FitContext
from ingu.model.names import fit_name_model_from_reference, surname_distribution
from ingu.model.network import Variable


def fit(ctx: FitContext) -> None:
    """Add surname, name_cohort (internal) and given_name."""
    vocab, probs = surname_distribution(ctx.table("surnames_2015"))
    ctx.add(Variable("surname", tuple(vocab), (), np.asarray(probs, dtype=np.float64), ("surnames_2015",),
                     ("surname independent of sex, age and region (2015 national shares)",)))
    model = fit_name_model_from_reference()
    cohort = model.cohort_of_birth_year(REFERENCE_YEAR - AGES)
    labels = tuple(f"{a}-{b}" for a, b in model.cohorts)
    cpt = np.zeros((len(AGES), len(labels)))
    cpt[np.arange(len(AGES)), cohort] = 1.0
    ctx.add(Variable("name_cohort", labels, ("age",), cpt, (), ("birth cohort = 2024 − age",)))
    ctx.record("names", "provenance", model.provenance)
    ctx.add(Variable(
        "given_name", tuple(model.vocabulary), ("sex", "name_cohort"), model.probs,
        ("given_names_by_cohort", "census2010_pop_national_sex_age5"),
        ("given names by sex × birth cohort from the published top-name lists plus a cohort-aware "
         "syllable model for the long tail (docs/names.md)",),
    ))
