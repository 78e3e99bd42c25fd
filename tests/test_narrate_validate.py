"""Validators: real NPK narratives pass; planted contradictions (age, region, sex, occupation, military,
marriage) and malformed text are caught and attributed to the right field."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from ingu.narrate.fields import FIELDS
from ingu.narrate.persona import build_personas
from ingu.narrate.validate import CONTRADICTIONS, Validator

FIXTURE = Path(__file__).parent / "fixtures" / "npk_sample_rows.jsonl"


@pytest.fixture(scope="module")
def npk() -> tuple[list[dict], list[dict]]:
    rows = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    return rows, build_personas(pa.Table.from_pylist(rows), source=str(FIXTURE))


def _texts(row: dict) -> dict[str, str]:
    return {f: row[f] for f in FIELDS}


def test_real_npk_narratives_pass(npk) -> None:
    rows, personas = npk
    validator = Validator()
    for row, persona in zip(rows, personas):
        assert validator.check(persona, _texts(row)) == [], persona["name"]


def test_names_are_read_from_npk_narratives(npk) -> None:
    _, personas = npk
    assert [p["name"] for p in personas] == ["선애경", "라지훈", "최경진"]


# 라지훈: 33-year-old man in 서울-강남구, 산업 안전원, married, 비현역
PLANTED = {
    "wrong age": ("persona", "라지훈 씨는 올해 42세가 된 산업 안전원으로, 불안정한 계약직 생활 속에서도 정규직 전환을 꿈꾸며 하루하루를 버팁니다.",
                  "age_mismatch"),
    "wrong decade": ("persona", "라지훈 씨는 불안정한 계약직 생활 속에서도 정규직 전환을 꿈꾸며 하루하루를 버티는 50대 산업 안전원입니다.",
                     "age_mismatch"),
    "wrong birth year": ("cultural_background", "1975년생으로 강남의 아파트 단지에서 자라며 빠르게 변하는 도시의 모습을 지켜보았고, 지금도 그 동네의 "
                         "골목 구석구석을 기억합니다. 학창 시절 친구들과 여전히 연락합니다.", "age_mismatch"),
    "wrong region": ("family_persona", "라지훈 씨는 부산 해운대구에서 아내와 함께 살며 주말마다 바닷가를 산책하는 소박한 생활을 이어가고 있습니다. "
                     "집안일은 아내와 나누어 맡습니다.", "region_mismatch"),
    "wrong region (토박이)": ("cultural_background", "대구 토박이로 자라 서문시장의 활기 속에서 성장했고, 지금도 사투리를 고치지 않은 채 "
                            "동네 사람들과 어울리며 지냅니다. 고향 음식을 무척 좋아합니다.", "region_mismatch"),
    "wrong sex (self)": ("family_persona", "라지훈 씨는 두 아이를 키우는 엄마로서 바쁜 하루를 보내며, 주말이면 아이들과 강남의 공원을 산책하며 "
                         "가족의 시간을 소중히 챙깁니다. 집안의 대소사도 챙깁니다.", "sex_mismatch"),
    "wrong sex (spouse)": ("family_persona", "라지훈 씨는 남편과 함께 강남의 아파트에서 살며 서로의 처지를 이해하고 의지하면서 불안한 계약직 생활을 "
                           "버텨내고 있습니다. 주말에는 함께 장을 봅니다.", "sex_mismatch"),
    "wrong occupation": ("professional_persona", "라지훈 씨는 강남의 대학병원에서 간호사로 일하며 환자들의 상태를 꼼꼼히 살피고 동료들과 "
                         "교대 근무 일정을 조율합니다. 야간 근무가 잦아 늘 피곤합니다.", "occupation_mismatch"),
    "wrong occupation (summary)": ("persona", "라지훈 씨는 불안정한 계약직 생활 속에서도 정규직 전환을 꿈꾸며 하루하루를 버티는 30대 지게차 운전원입니다.",
                                   "occupation_mismatch"),
    "wrong military": ("sports_persona", "라지훈 씨는 군 복무 중이라 부대 안 체력단련실에서 매일 아침 구보와 팔굽혀펴기를 하며 체력을 다지고, "
                       "주말에는 동료들과 축구를 합니다.", "military_mismatch"),
}


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_planted_contradiction_is_caught_in_its_field(npk, case: str) -> None:
    rows, personas = npk
    field, text, code = PLANTED[case]
    texts = _texts(rows[1]) | {field: text}
    findings = Validator().check(personas[1], texts)
    assert [(f.field, f.code) for f in findings if f.code in CONTRADICTIONS] == [(field, code)], findings


def test_relatives_ages_and_past_decades_are_not_contradictions(npk) -> None:
    rows, personas = npk
    text = ("라지훈 씨는 5세 딸과 주말마다 강남의 공원을 걷고, 20대 시절부터 이어온 수영을 지금도 즐기며 60세 어머니를 모시고 병원에 갑니다. "
            "퇴근 후에는 운동을 합니다.")
    findings = Validator().check(personas[1], _texts(rows[1]) | {"sports_persona": text})
    assert findings == []


def test_a_woman_is_not_flagged_for_her_husband(npk) -> None:
    rows, personas = npk
    findings = Validator().check(personas[0], _texts(rows[0]))  # 선애경, married woman, mentions 남편 throughout
    assert findings == []


def test_never_married_person_with_a_spouse_is_flagged(npk) -> None:
    rows, personas = npk  # 최경진: 26, 미혼, woman
    text = ("최경진 씨는 남편과 함께 강남의 다세대 주택에서 지내며 퇴근 후 저녁을 차려 먹고, 주말이면 대학로 소극장을 함께 찾아 연극을 봅니다. "
            "집안일은 나누어 합니다.")
    codes = [f.code for f in Validator().check(personas[2], _texts(rows[2]) | {"family_persona": text})]
    assert codes == ["marital_mismatch"]


def test_form_checks(npk) -> None:
    rows, personas = npk
    validator = Validator()
    base = _texts(rows[1])
    cases = {
        "empty": {"arts_persona": ""},
        "too_short": {"arts_persona": "라지훈 씨는 그림을 좋아합니다."},
        "too_long": {"arts_persona": "라지훈 씨는 " + "박물관을 천천히 걷습니다. " * 60},
        "name_missing": {"arts_persona": base["arts_persona"].replace("라지훈", "김철수")},
        "low_hangul": {"arts_persona": "라지훈 씨는 " + "He likes quiet museums and old ceramics very much. " * 3},
        "pii": {"arts_persona": base["arts_persona"] + " 연락처는 010-1234-5678입니다."},
        "bad_list": {"skills_and_expertise_list": "산업안전보건법, 위험성 평가, 안전 교육 커리큘럼 설계와 운영 실무 경험"},
    }
    for code, change in cases.items():
        findings = validator.check(personas[1], base | change, remember=False)
        assert code in {f.code for f in findings}, (code, findings)
        assert all(f.field in change for f in findings), (code, findings)


def test_pii_is_never_echoed(npk) -> None:
    rows, personas = npk
    text = rows[1]["arts_persona"] + " 연락처는 010-1234-5678입니다."
    findings = Validator().check(personas[1], _texts(rows[1]) | {"arts_persona": text})
    assert findings and all("5678" not in str(f) for f in findings)


def test_duplicates_are_caught_across_rows_and_after_remember(npk) -> None:
    rows, personas = npk
    validator = Validator()
    assert validator.check(personas[1], _texts(rows[1])) == []
    again = validator.check(personas[1], _texts(rows[1]))
    assert {f.code for f in again} == {"duplicate"} and len(again) == len(FIELDS)
    fresh = Validator()
    fresh.remember("arts_persona", rows[1]["arts_persona"])
    assert [f.code for f in fresh.check(personas[1], _texts(rows[1]))] == ["duplicate"]
