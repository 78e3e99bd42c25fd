"""The 13 text fields a narrator writes, NPK's names and shapes, and the bounds every narrative must meet."""

from __future__ import annotations

from ingu.io.schema import ATTRIBUTE_COLUMNS, NARRATIVE_COLUMNS, TEXT_COLUMNS

#: All 13 fields, in NPK's column order.
FIELDS: tuple[str, ...] = TEXT_COLUMNS
#: The 7 narratives: NPK opens each with the person's name (``○○○ 씨는 …``).
NARRATIVE_FIELDS: tuple[str, ...] = NARRATIVE_COLUMNS
ATTRIBUTE_FIELDS: tuple[str, ...] = ATTRIBUTE_COLUMNS
#: Fields holding a Python-list repr string (``"['a', 'b']"``), as NPK publishes them.
LIST_FIELDS: tuple[str, ...] = ("skills_and_expertise_list", "hobbies_and_interests_list")
#: Fields whose text must contain the person's name.
NAMED_FIELDS: tuple[str, ...] = NARRATIVE_FIELDS

#: Median length (characters) of each field in NPK's three published sample rows
#: (``tests/fixtures/npk_sample_rows.jsonl``; NPK revision 0381f03a, CC BY 4.0). Three rows are all
#: the NPK text available offline, so these are a style reference, not a distribution.
NPK_MEDIAN_LENGTH: dict[str, int] = {
    "professional_persona": 178, "sports_persona": 149, "arts_persona": 140, "travel_persona": 144,
    "culinary_persona": 164, "family_persona": 147, "persona": 77, "cultural_background": 142,
    "skills_and_expertise": 120, "skills_and_expertise_list": 93, "hobbies_and_interests": 157,
    "hobbies_and_interests_list": 79, "career_goals_and_ambitions": 129,
}

#: Accepted length range (characters) per field: half of NPK's shortest sample to about 2.5× its
#: longest, wide enough for any reasonable narrator, narrow enough to catch truncation and run-ons.
LENGTH_BOUNDS: dict[str, tuple[int, int]] = {
    field: ((30, 240) if field == "persona" else (25, 300) if field in LIST_FIELDS else (60, 500))
    for field in FIELDS
}

#: One-line Korean description of each field, used in prompts.
FIELD_DESCRIPTIONS: dict[str, str] = {
    "professional_persona": "직업 생활: 하는 일, 일하는 방식, 동료와의 관계 (이름으로 시작, 2문장)",
    "sports_persona": "운동과 몸 관리 습관 (이름으로 시작, 2문장)",
    "arts_persona": "문화·예술 취향 (이름으로 시작, 2문장)",
    "travel_persona": "여행 방식과 좋아하는 여행지 (이름으로 시작, 2문장)",
    "culinary_persona": "식생활과 좋아하는 음식 (이름으로 시작, 2문장)",
    "family_persona": "가족 관계와 집에서의 모습 (이름으로 시작, 2문장)",
    "persona": "이 사람을 요약하는 한 문장 (이름으로 시작)",
    "cultural_background": "자란 환경, 세대, 지역에서 형성된 배경 (2문장)",
    "skills_and_expertise": "잘하는 일과 전문성 (2문장)",
    "skills_and_expertise_list": "기술·역량 3~5개의 목록",
    "hobbies_and_interests": "취미와 관심사 (2문장)",
    "hobbies_and_interests_list": "취미 3~5개의 목록",
    "career_goals_and_ambitions": "앞으로의 목표와 바람 (2문장)",
}


def encode_list(items: list[str]) -> str:
    """NPK's string form of a list: ``"['a', 'b']"`` (Python repr with single quotes)."""
    return "[" + ", ".join("'" + item.replace("\\", "\\\\").replace("'", "\\'") + "'" for item in items) + "]"
