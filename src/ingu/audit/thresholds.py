"""Every threshold the audit's verdicts use, in one validated object recorded in the report.

Defaults follow the audit paper where it fixes one (ρ screen 0.8, the 4/5 parity band, seed 42);
the others are ours and documented in ``docs/audit.md``. ``ingu audit --threshold NAME=VALUE``
overrides any of them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Thresholds(BaseModel):
    """Verdict thresholds and resampling settings of one audit run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rho_screen: float = Field(0.8, gt=0, le=1, description="flag when V_data/V_ref < this (or > 1/this)")
    parity_low: float = Field(0.8, gt=0, lt=1, description="4/5 rule: F/M ratio below this is out of parity")
    female_share_max_gap_pp: float = Field(10.0, gt=0, description="flag when any major's female share is further than this from the reference")
    min_cell: int = Field(30, ge=1, description="cells with fewer records are reported but not judged")
    lfp_max_gap_pp: float = Field(5.0, gt=0, description="flag when a sex × band participation rate is further than this")
    conscript_ratio_low: float = Field(0.5, gt=0, description="flag when men 19–25 on active duty fall below this × the rule-implied rate")
    conscript_ratio_high: float = Field(1.5, gt=0, description="… or above this × the rule-implied rate")
    military_concentration_min: float = Field(3.0, gt=0, description="men 19–25 active rate must be at least this × the rate at 31–40")
    women_active_max_per_1000: float = Field(3.0, gt=0, description="flag when women's active-duty rate exceeds this (any band)")
    force_share_tolerance: float = Field(0.25, ge=0, description="adult active-duty share may lie this fraction outside the force-size range")
    name_contrast_min_pp: float = Field(4.0, gt=0, description="per sex, vintage-name drop + modern-name rise from ≤1959 to ≥1990 births must reach this")
    name_min_records: int = Field(1000, ge=1, description="fewer usable names than this → skip")
    surname_max_gap_pp: float = Field(2.0, gt=0, description="flag when a top-10 surname share is further than this from 2015 census")
    major_max_gap_pp: float = Field(10.0, gt=0, description="flag when a field → occupation cell is further than this from KEIS GOMS")
    major_age_low: int = Field(25, ge=19)
    major_age_high: int = Field(34, ge=19)
    marital_max_gap_pp: float = Field(5.0, gt=0, description="flag when a sex × marital share is further than this from KOSIS")
    k_anonymity: int = Field(5, ge=2)
    bootstrap_replicates: int = Field(200, ge=10)
    permutation_replicates: int = Field(200, ge=10)
    noise_replicates: int = Field(20, ge=1)
    seed: int = 42

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any] | None = None) -> "Thresholds":
        """Defaults with ``overrides`` applied; an unknown name or a bad value raises a clear error."""
        return cls(**(overrides or {}))
