"""Free-text occupation → KSCO-7 crosswalk (ingu.audit.crosswalk)."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from ingu.audit.crosswalk import Crosswalk, CrosswalkResult, coverage, round_trip
from ingu.audit.crosswalk_rules import RULE_IDS, RULES_FILE, RulesError, clean, name_key, stem, strip_remarks

FIXTURE = Path(__file__).parent / "fixtures" / "npk_occupation_marginal.csv"


@pytest.fixture(scope="module")
def cw() -> Crosswalk:
    return Crosswalk()


@pytest.fixture(scope="module")
def npk() -> pl.DataFrame:
    return pl.read_csv(FIXTURE)


@pytest.fixture(scope="module")
def tree(cw: Crosswalk) -> dict[str, str]:
    """Official name → major group."""
    return dict(cw.vocab.select("name", "major_code").iter_rows())


# -- the two bars ---------------------------------------------------------------------------------


def test_npk_coverage_at_least_99_percent(cw: Crosswalk, npk: pl.DataFrame) -> None:
    rep = coverage(npk["occupation"], npk["count"], cw)
    assert rep.total == npk["count"].sum() == 1_000_000
    assert rep.mapped_share >= 0.99, rep.unmapped
    assert sum(rep.rows_by_rule.values()) == pytest.approx(rep.total)
    assert sum(rep.major_shares.values()) == pytest.approx(1.0)
    assert rep.major_shares["0"] == pytest.approx(0.367349)  # 무직 alone
    assert rep.rows_by_rule["R12"] == pytest.approx(rep.job_seeker_share * rep.total)
    assert rep.crosswalk_version == cw.version


def test_round_trip_every_official_title_maps_to_its_own_major(cw: Crosswalk) -> None:
    rep = round_trip(cw)
    assert rep.n_titles == 1899
    assert rep.failures == (), rep.failures
    assert rep.share == 1.0
    assert sum(rep.by_rule.values()) == rep.n_titles
    assert "unmapped" not in rep.by_rule


def test_round_trip_detailed_titles_get_their_own_code(cw: Crosswalk) -> None:
    detailed = cw.vocab.filter(pl.col("level") == "detailed")
    res = cw.map(detailed["name"])
    assert res.unit_code.tolist() == detailed["code"].to_list()


# -- rules checked against the tree ---------------------------------------------------------------


def _official(cw: Crosswalk) -> list[tuple[str, str]]:
    return [(strip_remarks(clean(n)), m) for n, m in cw.vocab.select("name", "major_code").iter_rows()]


def test_every_rule_clause_agrees_with_the_tree(cw: Crosswalk) -> None:
    """A clause may match official titles only of its own major, so rules never override the tree."""
    names = _official(cw)
    for rule in cw.rules:
        rule_ex = re.compile(rule.exclude) if rule.exclude else None
        for clause in rule.clauses:
            rx, ex = re.compile(clause.pattern), re.compile(clause.exclude) if clause.exclude else None
            wrong = [
                (n, m)
                for n, m in names
                if rx.search(n)
                and not (ex and ex.search(n))
                and not (rule_ex and rule_ex.search(n))
                and m != clause.major
            ]
            assert not wrong, (rule.id, clause.pattern, wrong[:5])
        for pattern in rule.job_seeker_patterns:
            assert not [n for n, _ in names if re.search(pattern, n)], pattern
        for entry in rule.entries:  # R14 labels that are official titles must keep their group
            official = {name_key(n): m for n, m in names}
            assert official.get(name_key(entry.label), entry.major) == entry.major, entry


def test_every_pattern_agrees_with_the_tree(cw: Crosswalk) -> None:
    names = _official(cw)
    for p in cw.patterns:
        rx, ex = re.compile(p.pattern), re.compile(p.exclude) if p.exclude else None
        wrong = [(n, m) for n, m in names if rx.search(n) and not (ex and ex.search(n)) and m != p.major]
        assert not wrong, (p.name, wrong[:5])


def test_no_official_title_is_not_employed(cw: Crosswalk) -> None:
    res = cw.map(cw.vocab["name"])
    assert not (res.rule == "not_employed").any()
    assert not res.job_seeker.any()


def test_rules_carry_descriptions_and_existing_codes(cw: Crosswalk) -> None:
    assert [r.id for r in cw.rules] == list(RULE_IDS)
    codes = set(cw.vocab["code"])
    for r in cw.rules:
        assert r.title and r.description and r.paper, r.id
        assert set(r.codes) <= codes, r.id
        assert r.patterns, r.id
    assert cw.rules[11].target_major == "base"  # R12 keeps X's group
    assert cw.rules[3].target_major == "5/3"  # R4: 텔레마케터 vs 전화상담원
    assert all(e.reason for e in cw.rules[13].entries)
    assert re.fullmatch(r"ksco7-crosswalk/1\+[0-9a-f]{8}", cw.version)


# -- NPK's high-mass labels -----------------------------------------------------------------------

EXPECTED = {
    "무직": "0",
    "건물 청소원": "9",
    "건물 경비원": "9",
    "아파트 경비원": "9",
    "시설 경비원": "4",  # 41231: the tree, not the paper's R1
    "경리 사무원": "3",
    "사무 보조원": "3",
    "전화 상담원": "3",
    "텔레마케터": "5",
    "일반 비서": "3",
    "하역 및 적재 관련 단순 종사원": "9",
    "한식 조리사": "4",
    "지게차 운전원": "8",
    "보육교사": "2",
    "유치원 교사": "2",
    "초등학교 교사": "2",
    "일반 간호사": "2",
    "간호사": "2",
    "간호조무사": "2",
    "요양 보호사": "4",
    "요양보호사": "4",
    "매장 판매원": "5",
    "택배원": "9",  # 92221: the tree, not the paper's R6
    "그 외 택배원": "9",
    "우편집배원": "9",  # 92210: the tree, not the paper's R5
    "육군 부사관": "A",
    "육군 장교": "A",
    "직업군인": "A",
    "산업 안전원": "2",
    "통신장비 기사": "2",
    "119 구조대원": "2",
    "데스크 안내원": "3",
    "가사 도우미": "9",
    "전직 건물 경비원, 현재 구직중": "9",
}


@pytest.mark.parametrize(("label", "major"), sorted(EXPECTED.items()))
def test_high_mass_labels(cw: Crosswalk, label: str, major: str) -> None:
    assert cw.map([label]).major[0] == major


def test_top_npk_labels_agree_with_the_tree(cw: Crosswalk, npk: pl.DataFrame, tree: dict[str, str]) -> None:
    """The 300 heaviest NPK labels: an official title (or R12's base) keeps the tree's major."""
    top = npk.sort("count", descending=True).head(300)
    uniq = cw.map_unique(top["occupation"])
    checked = 0
    for label, major, rule in uniq.select("label", "major", "rule").iter_rows():
        base = re.sub(r"^전직 (.+), 현재 구직중$", r"\1", label)
        if base in tree:
            assert major == tree[base], (label, major, rule)
            checked += 1
        else:
            assert major in {"0", "A"}, (label, major, rule)  # 무직 and the military ranks
    assert checked > 280


# -- the 14 rules ---------------------------------------------------------------------------------

FIRES = {
    "R1": [("건물 경비원", "9"), ("빌딩 경비원", "9"), ("경비원", "9"), ("아파트 경비", "9")],
    "R2": [("건물 청소원", "9"), ("병원 청소원", "9"), ("환경미화원", "9"), ("청소부", "9")],
    "R3": [("관광 안내원", "4"), ("문화관광해설사", "4"), ("숲해설사", "4"), ("산후 도우미", "4")],
    "R4": [("텔레마케터", "5"), ("전화 상담원", "3"), ("콜센터 상담원", "3"), ("전화 영업", "5")],
    "R5": [("우편집배원", "9"), ("집배원", "9"), ("우체부", "9")],
    "R6": [("지게차 운전원", "8"), ("택시 기사", "8"), ("버스 기사", "8"), ("택배원", "9"), ("배달 라이더", "9"), ("지하철 기관사", "8")],
    "R7": [("사출기 조작원", "8"), ("CNC 오퍼레이터", "8"), ("자동차 조립원", "8")],
    "R8": [("휴대폰 수리원", "7"), ("통신 기술자", "7"), ("인터넷 설치 기사", "7"), ("자동차 정비사", "7")],
    "R9": [("어업 시험원", "2"), ("수산 연구원", "2"), ("화학 연구원", "2")],
    "R10": [("토목 제도사", "2"), ("CAD 기사", "2"), ("웹 디자이너", "2")],
    "R11": [("건설 기술자", "2"), ("건축 기술자", "2"), ("건설 기능공", "7"), ("잠수 기능원", "7")],
    "R12": [("전직 경리 사무원, 현재 구직중", "3"), ("교사 (구직중)", "2"), ("구직중 (전직 간호사)", "2")],
    "R13": [("직업군인", "A"), ("현역 군인", "A"), ("육군 부사관", "A"), ("공군 대위", "A"), ("육군 병장", "A"), ("장교", "A")],
    "R14": [("회사원", "3"), ("공무원", "3"), ("헤어 디자이너", "4"), ("어린이집 교사", "2"), ("기관사", "8")],
}


@pytest.mark.parametrize("rid", RULE_IDS)
def test_each_rule_fires_with_its_target(cw: Crosswalk, rid: str) -> None:
    labels, majors = zip(*FIRES[rid], strict=True)
    res = cw.map(list(labels))
    assert res.rule.tolist() == [rid] * len(labels), list(zip(labels, res.rule, strict=True))
    assert res.major.tolist() == list(majors)
    rule = cw.rules[int(rid[1:]) - 1]
    if rule.kind == "regex":
        assert set(res.major.tolist()) <= set(rule.majors)


@pytest.mark.parametrize("rid", RULE_IDS)
def test_disabled_rule_no_longer_fires(rid: str) -> None:
    cw = Crosswalk(disabled_rules=[rid])
    assert cw.version.endswith(f"-{rid}")
    labels = [label for label, _ in FIRES[rid]]
    assert rid not in cw.map(labels).rule.tolist()
    assert rid not in cw.map([label for rule in FIRES.values() for label, _ in rule]).rule.tolist()


def test_disabling_rules_keeps_official_titles_on_the_tree() -> None:
    """The exact-name step backs the rules up: leave-one-out never moves an official title."""
    rep = round_trip(Crosswalk(disabled_rules=RULE_IDS))
    assert rep.failures == ()
    assert not any(r.startswith("R") for r in rep.by_rule)


def test_r12_disabled_sends_job_seekers_to_not_employed() -> None:
    """The paper's ablation: without R12 "전직 X, 현재 구직중" is 0_무직."""
    res = Crosswalk(disabled_rules=["R12"]).map(["전직 택배원, 현재 구직중", "전직 육군 장교, 현재 구직중"])
    assert res.major.tolist() == ["0", "0"]
    assert res.rule.tolist() == ["not_employed"] * 2
    assert not res.job_seeker.any()


def test_unknown_disabled_rule_is_an_error() -> None:
    with pytest.raises(ValueError, match="R15"):
        Crosswalk(disabled_rules=["R15"])


# -- rule 12 and the not-employed step -------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "major", "unit"),
    [
        ("전직 건물 경비원, 현재 구직중", "9", "94212"),
        ("전직 경리 사무원, 현재 구직중", "3", "31320"),
        ("전직 시설 경비원, 현재 구직중", "4", "41231"),
        ("전직 하역 및 적재 관련 단순 종사원, 현재 구직중", "9", "92101"),
        ("전직 육군 장교, 현재 구직중", "A", ""),
        ("전 경리 사무원, 현재 실직 상태", "3", "31320"),
        ("전직 교사, 구직 중", "2", ""),
        ("전직 군인", "A", ""),
    ],
)
def test_job_seeker_keeps_base_group(cw: Crosswalk, label: str, major: str, unit: str) -> None:
    res = cw.map([label])
    assert (res.major[0], res.unit_code[0], res.rule[0], bool(res.job_seeker[0])) == (major, unit, "R12", True)


def test_job_seeker_with_unknown_base_is_not_employed(cw: Crosswalk) -> None:
    res = cw.map(["전직 프리랜서, 현재 구직중", "구직중"])
    assert res.major.tolist() == ["0", "0"]
    assert res.rule.tolist() == ["not_employed"] * 2


NOT_EMPLOYED = ["무직", "실업자", "구직중", "구직자", "학생", "대학생", "대학원생", "주부", "전업주부", "퇴직자", "은퇴"]


@pytest.mark.parametrize("label", [*NOT_EMPLOYED, "취업준비생", "무직 (은퇴)"])
def test_not_employed(cw: Crosswalk, label: str) -> None:
    res = cw.map([label])
    assert (res.major[0], res.rule[0], bool(res.job_seeker[0])) == ("0", "not_employed", False)


@pytest.mark.parametrize(("label", "major"), [("사무직", "3"), ("단순노무직", "9"), ("실업 교사", "2"), ("청소년 지도사", "2")])
def test_not_employed_does_not_swallow_occupations(cw: Crosswalk, label: str, major: str) -> None:
    assert cw.map([label]).major[0] == major


# -- exact, normalised, pattern, unmapped ----------------------------------------------------------


def test_exact_uses_most_specific_code(cw: Crosswalk) -> None:
    res = cw.map(["초등학교 교사", "간호사", "자동차 운전원", "관리자"])
    assert res.unit_code.tolist() == ["25220", "2430", "", ""]  # detailed, unit, minor, major
    assert res.major.tolist() == ["2", "2", "8", "1"]


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("경리사무원", "31320"),
        ("사무보조원", "31423"),
        ("요양보호사", "42111"),
        ("경리 사무원 (중소기업)", "31320"),
        ("그 외 전기 전자기기 설치수리원", "76199"),
        ("기타 택배원", "92229"),
        ("보험설계사", "51032"),
    ],
)
def test_normalised_variants(cw: Crosswalk, label: str, code: str) -> None:
    res = cw.map([label])
    assert res.unit_code[0] == code
    assert res.major[0] == code[0]


def test_patterns(cw: Crosswalk) -> None:
    res = cw.map(["요리사", "농부", "의사", "프로그래머", "식당 종업원", "용접공", "행사 도우미"])
    assert res.major.tolist() == ["4", "6", "2", "2", "4", "7", "5"]
    assert all(r.startswith("pattern:") for r in res.rule)


def test_unmapped(cw: Crosswalk) -> None:
    res = cw.map(["프리랜서", "", None, "   ", "자영업자"])
    assert res.major.tolist() == [""] * 5
    assert res.unit_code.tolist() == [""] * 5
    assert res.rule.tolist() == ["unmapped"] * 5
    assert not res.job_seeker.any()
    rep = coverage(["프리랜서", "무직", None], [3, 1, 1], cw)
    assert rep.mapped_share == pytest.approx(0.2)
    assert rep.unmapped == (("프리랜서", 3.0), (None, 1.0))
    assert rep.major_shares[""] == pytest.approx(0.8)


def test_text_helpers() -> None:
    assert clean("  건물\u3000 청소원\u200b ") == "건물 청소원"
    assert clean("경·소형") == clean("경ㆍ소형") == "경·소형"
    assert strip_remarks("경리 사무원 (중소기업)") == "경리 사무원"
    assert name_key("전기·전자기기 설치 및 수리원") == name_key("전기 전자기기 설치수리원")
    assert name_key("기타 배달원") == name_key("그 외 배달원")
    assert stem(name_key("청소 종사자")) == stem(name_key("청소원")) == "청소"


# -- columns, types, speed ------------------------------------------------------------------------


def test_input_types_agree(cw: Crosswalk, npk: pl.DataFrame) -> None:
    labels = npk["occupation"].to_list()[:200] + [None, ""]
    ref = cw.map(labels)
    arr = pa.array(labels)
    inputs = [
        tuple(labels),
        np.array(labels, dtype=object),
        np.array([x or "" for x in labels]),  # fixed-width unicode: no None
        arr,
        arr.dictionary_encode(),
        pa.chunked_array([arr[:100].dictionary_encode(), arr[100:].dictionary_encode()]),
        pa.chunked_array([arr[:50], arr[50:]]),
        pl.Series(labels),
        pl.Series(labels).cast(pl.Categorical),
    ]
    for x in inputs:
        res = cw.map(x)
        assert isinstance(res, CrosswalkResult)
        assert len(res) == len(labels)
        assert res.major.tolist() == ref.major.tolist(), type(x)
        assert res.rule.tolist() == ref.rule.tolist(), type(x)
        assert res.unit_code.tolist() == ref.unit_code.tolist(), type(x)
    assert cw.map([]).major.shape == (0,)
    with pytest.raises(TypeError):
        cw.map("건물 청소원")


def test_map_unique(cw: Crosswalk) -> None:
    df = cw.map_unique(["건물 청소원", "무직", "건물 청소원", None, "전직 건물 청소원, 현재 구직중"])
    assert df.columns == ["label", "major", "unit_code", "rule", "job_seeker"]
    assert df["label"].to_list() == ["건물 청소원", "무직", "전직 건물 청소원, 현재 구직중", None]
    assert df["major"].to_list() == ["9", "0", "9", ""]
    assert df["job_seeker"].to_list() == [False, False, True, False]


def test_million_rows_match_unique_labels_fast(npk: pl.DataFrame) -> None:
    labels = np.repeat(npk["occupation"].to_numpy(), npk["count"].to_numpy())
    np.random.default_rng(7).shuffle(labels)
    assert len(labels) == 1_000_000
    cw = Crosswalk()  # cold cache: the timing includes mapping the 2,120 distinct labels
    t0 = time.perf_counter()
    res = cw.map(pl.Series(labels))
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, elapsed
    uniq = cw.map_unique(npk["occupation"])
    lookup = {row[0]: row[1:] for row in uniq.iter_rows()}
    idx = np.random.default_rng(8).choice(len(labels), 5000, replace=False)
    for i in idx.tolist():
        assert (res.major[i], res.unit_code[i], res.rule[i], bool(res.job_seeker[i])) == lookup[labels[i]]
    # Mass per major from the rows equals the marginal's mass through map_unique.
    row_counts = dict(zip(*np.unique(res.major, return_counts=True), strict=True))
    marg = npk.with_columns(major=uniq["major"]).group_by("major").agg(pl.col("count").sum())
    assert {m: int(c) for m, c in row_counts.items()} == dict(marg.iter_rows())


def test_to_polars(cw: Crosswalk) -> None:
    df = cw.map(["건물 청소원", None]).to_polars()
    assert df.columns == ["ksco_major", "ksco_unit", "ksco_rule", "job_seeker"]
    assert df["ksco_major"].to_list() == ["9", ""]


# -- the rules file -------------------------------------------------------------------------------


def test_edited_rules_file_changes_version_and_is_validated(tmp_path: Path) -> None:
    edited = tmp_path / "rules.yaml"
    shutil.copy(RULES_FILE, edited)
    edited.write_text(edited.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert Crosswalk(rules_file=edited).version != Crosswalk().version
    text = RULES_FILE.read_text(encoding="utf-8")
    bad_code = tmp_path / "bad_code.yaml"
    bad_code.write_text(text.replace("code: '9421'", "code: '9499'", 1), encoding="utf-8")
    with pytest.raises(RulesError, match="9499"):
        Crosswalk(rules_file=bad_code)
    wrong_major = tmp_path / "wrong_major.yaml"
    wrong_major.write_text(text.replace("code: '9421'", "code: '4123'", 1), encoding="utf-8")
    with pytest.raises(RulesError, match="4123"):
        Crosswalk(rules_file=wrong_major)
