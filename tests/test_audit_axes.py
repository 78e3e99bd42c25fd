"""The audit on our own output, and planted defects (issue 3 bars).

Our 1M-record output must pass all six axes. Then one joint at a time is broken by a seeded
shuffle — occupation across sexes, military service across ages, names across birth years,
occupation across majors — and exactly the matching axis must flag. Each shuffle permutes a
column *within* strata that hold every other audited joint fixed, so an axis that flags for the
wrong defect is a real cross-talk bug, not an artefact of the test.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from ingu.audit.axes.lfp import sex_x_age_x_lfp
from ingu.audit.axes.major import major_x_occupation
from ingu.audit.axes.marital import sex_x_marital
from ingu.audit.axes.military import sex_x_age_x_military
from ingu.audit.axes.names import birthyear_x_sex_x_name
from ingu.audit.axes.occupation import sex_x_occupation
from ingu.audit.crosswalk import Crosswalk
from ingu.audit.derive import derive
from ingu.audit.profiles import load_audit_data
from ingu.audit.thresholds import Thresholds
from ingu.cli import app

N = 1_000_000
SEED = 20241231
AXES = {
    "sex_x_occupation": sex_x_occupation,
    "sex_x_age_x_lfp": sex_x_age_x_lfp,
    "sex_x_age_x_military": sex_x_age_x_military,
    "birthyear_x_sex_x_name": birthyear_x_sex_x_name,
    "major_x_occupation": major_x_occupation,
    "sex_x_marital": sex_x_marital,
}


@pytest.fixture(scope="module")
def our_file(tmp_path_factory) -> str:
    from ingu.io.writers import write_records
    from ingu.model.build import load_model
    from ingu.sample.sampler import generate, plan

    path = tmp_path_factory.mktemp("audit") / "ours.parquet"
    write_records(path, generate(plan(load_model()), N, SEED))
    return str(path)


@pytest.fixture(scope="module")
def frame(our_file) -> pl.DataFrame:
    data = load_audit_data(our_file, profile="ingu")
    derived, _ = derive(data.frame, Crosswalk())
    return derived


def verdicts(frame: pl.DataFrame) -> dict[str, str]:
    thresholds = Thresholds()
    return {name: axis(frame, thresholds).verdict for name, axis in AXES.items()}


def shuffle_within(frame: pl.DataFrame, columns: list[str], strata: list[pl.Expr], where: pl.Expr, seed: int) -> pl.DataFrame:
    """Permute ``columns`` (jointly) among the rows selected by ``where``, within ``strata``."""
    keys = frame.select(where.fill_null(False).alias("in"), pl.struct(strata).hash(seed=0).alias("stratum"))
    rows = np.flatnonzero(keys["in"].to_numpy())
    stratum = keys["stratum"].to_numpy()[rows]
    rng = np.random.default_rng(seed)
    in_order = rows[np.lexsort((rows, stratum))]
    shuffled = rows[np.lexsort((rng.random(rows.size), stratum))]
    source = np.arange(frame.height)
    source[in_order] = shuffled  # each selected row takes the values of a random row of its stratum
    return frame.with_columns([pl.col(c).gather(source) for c in columns])


def age5() -> pl.Expr:
    return (pl.col("age") // 5).alias("age5")


def test_our_output_passes_every_axis(frame):
    thresholds = Thresholds()
    results = {name: axis(frame, thresholds) for name, axis in AXES.items()}
    assert {name: r.verdict for name, r in results.items()} == {name: "pass" for name in AXES}, {
        name: r.reason for name, r in results.items()}
    occupation = results["sex_x_occupation"].statistics
    assert 0.9 < occupation["rho"] < 1.1
    assert occupation["permutation_p_value"] < 0.01


def test_shuffling_occupation_across_sexes_flags_only_sex_x_occupation(frame):
    employed_civilian = pl.col("occ_major").is_in(list("123456789"))
    broken = shuffle_within(frame, ["occupation", "occ_major", "job_seeker"],
                            [age5(), pl.col("education_level"), pl.col("bachelors_field")], employed_civilian, seed=1)
    got = verdicts(broken)
    assert got["sex_x_occupation"] == "flag"
    assert {k: v for k, v in got.items() if k != "sex_x_occupation"} == {k: "pass" for k in AXES if k != "sex_x_occupation"}


def test_shuffling_military_service_across_ages_flags_only_the_military_axis(frame):
    broken = shuffle_within(frame, ["military_service", "military_status", "active_duty"], [pl.col("sex")],
                            pl.col("age") >= 19, seed=2)
    got = verdicts(broken)
    assert got["sex_x_age_x_military"] == "flag"
    assert {k: v for k, v in got.items() if k != "sex_x_age_x_military"} == {
        k: "pass" for k in AXES if k != "sex_x_age_x_military"}


def test_shuffling_names_across_birth_years_flags_only_the_name_axis(frame):
    broken = shuffle_within(frame, ["name", "surname", "given_name"], [pl.col("sex")], pl.col("age") >= 19, seed=3)
    got = verdicts(broken)
    assert got["birthyear_x_sex_x_name"] == "flag"
    assert {k: v for k, v in got.items() if k != "birthyear_x_sex_x_name"} == {
        k: "pass" for k in AXES if k != "birthyear_x_sex_x_name"}


def test_shuffling_occupation_across_majors_flags_only_major_x_occupation(frame):
    graduates = (pl.col("education_level") == "4년제 대학교") & (pl.col("bachelors_field") != "해당없음") & pl.col("employed")
    broken = shuffle_within(frame, ["occupation", "occ_major", "job_seeker"],
                            [pl.col("sex"), age5()], graduates, seed=4)
    got = verdicts(broken)
    assert got["major_x_occupation"] == "flag"
    assert {k: v for k, v in got.items() if k != "major_x_occupation"} == {
        k: "pass" for k in AXES if k != "major_x_occupation"}


def test_missing_fields_skip_axes_instead_of_crashing(frame):
    thin = frame.select("sex", "age", "province")
    got = verdicts(thin)
    assert got["sex_x_marital"] == "skip"
    assert got["sex_x_occupation"] == "skip"
    result = sex_x_occupation(thin, Thresholds())
    assert "occ_major" in result.reason


def test_cli_audit_writes_the_report_and_fails_on_flag(our_file, frame, tmp_path):
    runner = CliRunner()
    out = tmp_path / "report"
    result = runner.invoke(app, ["audit", our_file, "--profile", "ingu", "--out", str(out), "--fail-on", "flag"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text("utf-8"))
    assert [a["id"] for a in report["axes"]] == list(AXES)
    assert all({"id", "verdict", "reason"} <= set(a) for a in report["axes"])
    assert report["thresholds"]["rho_screen"] == 0.8
    assert report["crosswalk"]["version"]
    assert (out / "report.html").stat().st_size > 10_000 and (out / "report.md").exists()

    broken = shuffle_within(frame, ["occupation"], [age5(), pl.col("education_level"), pl.col("bachelors_field")],
                            pl.col("occ_major").is_in(list("123456789")), seed=5)
    bad_file = tmp_path / "broken.parquet"
    broken.select([c for c in broken.columns if c in ("sex", "age", "occupation", "province", "education_level")]) \
        .write_parquet(bad_file)
    result = runner.invoke(app, ["audit", str(bad_file), "--out", str(tmp_path / "bad"), "--fail-on", "flag",
                                 "--threshold", "permutation_replicates=20"])
    assert result.exit_code == 1, result.output
    bad = json.loads((tmp_path / "bad" / "report.json").read_text("utf-8"))
    verdict = {a["id"]: a["verdict"] for a in bad["axes"]}
    assert verdict["sex_x_occupation"] == "flag"
    assert verdict["sex_x_age_x_military"] == "skip"


def test_bad_threshold_is_a_clear_error(our_file, tmp_path):
    result = CliRunner().invoke(app, ["audit", our_file, "--out", str(tmp_path / "x"), "--threshold", "rho_screen=2"])
    assert result.exit_code == 2
    assert "rho_screen" in result.output
    result = CliRunner().invoke(app, ["audit", our_file, "--out", str(tmp_path / "x"), "--threshold", "nonsense=1"])
    assert result.exit_code == 2
    assert "nonsense" in result.output
