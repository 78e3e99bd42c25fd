"""Persona contexts: one plain dict per record, the single input every narrator, prompt and validator reads.

A record file holds codes and labels; narration needs words — the district's real 읍면동, the KSCO group of
the occupation, a cohort, a family situation. :func:`build_personas` decodes the columns once (Arrow →
Python lists, column by column) and derives those keys, so per-row work is dictionary lookups only.

Keys of a persona (all present; ``None`` where the record does not say):

``uuid name sex female age birth_year age_band age_group decade``
``province province_full district district_label neighbourhood neighbourhoods``
``occupation occupation_code occupation_sub_major occupation_major employment_status occupation_group employed``
``education_level bachelors_field has_degree marital_status family_type family_group housing_type``
``military_status military_service``
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingu.narrate.fields import NAMED_FIELDS

#: Columns a record file must have for narration (NPK's demographic columns).
REQUIRED_COLUMNS: tuple[str, ...] = (
    "sex", "age", "marital_status", "military_status", "family_type", "housing_type", "education_level",
    "bachelors_field", "occupation", "district", "province",
)
#: ingu's extension columns, used when present.
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "uuid", "name", "birth_year", "employment_status", "occupation_code", "occupation_major", "military_service",
)
#: Record year ages refer to (the model's reference date is the end of 2024).
REFERENCE_YEAR = 2024
#: Phrase-bank keys of occupation groups that are not KSCO sub-majors.
NON_WORKING_GROUPS: tuple[str, ...] = ("conscript", "job_seeker", "inactive_young", "inactive_midlife", "retired")
AGE_GROUPS: tuple[str, ...] = ("young", "adult", "middle", "senior")
FAMILY_GROUPS: tuple[str, ...] = (
    "alone", "spouse", "spouse_children", "single_parent", "parents", "parent_one", "multi_generation",
    "grandchildren", "relatives", "nonkin", "siblings",
)

_NAME_IN_TEXT = re.compile(r"^\s*([가-힣]{2,4}) 씨")


class PersonaError(ValueError):
    """A record table cannot be narrated (a required column is missing or has the wrong type)."""


def age_group(age: int) -> str:
    """Phrase-bank age group: ``young`` 19–29, ``adult`` 30–44, ``middle`` 45–64, ``senior`` 65+."""
    return "young" if age < 30 else "adult" if age < 45 else "middle" if age < 65 else "senior"


def family_group(family_type: str) -> str:
    """Collapse NPK's 39 family types into the 11 situations the phrase banks describe."""
    return _family_groups().get(family_type) or _guess_family_group(family_type)


@lru_cache(maxsize=1)
def _family_groups() -> dict[str, str]:
    groups = {
        "배우자·자녀와 거주": "spouse_children", "배우자와 거주": "spouse", "혼자 거주": "alone",
        "부모와 동거": "parents", "기타2세대": "relatives", "어머니와 동거": "parent_one",
        "자녀와 거주 (한부모)": "single_parent", "기타3세대": "multi_generation", "혼자 거주 (배우자 별거)": "alone",
        "자녀와 거주 (배우자 별거)": "single_parent", "배우자·자녀·어머니와 거주": "multi_generation",
        "친인척과 거주": "relatives", "비친족 동거": "nonkin", "아버지와 동거": "parent_one",
        "형제자매와 동거 (가구주)": "siblings", "배우자·자녀·부모와 거주": "multi_generation",
        "배우자·편부모와 거주": "multi_generation", "기타1세대": "relatives", "부모·조모와 동거": "multi_generation",
        "가구주+기타친인척": "relatives", "자녀·어머니와 거주": "multi_generation",
        "배우자·자녀·아버지와 거주": "multi_generation", "배우자·손자녀와 거주": "grandchildren",
        "손자녀와 거주": "grandchildren", "배우자·부모와 거주": "multi_generation", "배우자·친인척과 거주": "spouse",
        "조부 또는 조모와 동거": "multi_generation", "배우자·자녀·형제자매와 거주": "spouse_children",
        "4세대이상": "multi_generation", "부모·형제자매와 동거": "parents", "부 또는 모와 거주": "parent_one",
        "자녀·아버지와 거주": "multi_generation", "부모·조부모와 동거": "multi_generation",
        "배우자·미혼 형제자매와 거주": "spouse", "부모·조부와 동거": "multi_generation",
        "부모·친인척과 동거": "parents", "조부모와 동거": "multi_generation", "형제 부부 가구에 동거": "siblings",
        "배우자·형제자매와 거주": "spouse",
    }
    return groups


def _guess_family_group(label: str) -> str:
    # a label from another dataset: read the household members off the words
    if "혼자" in label:
        return "alone"
    if "손자" in label:
        return "grandchildren"
    if "배우자" in label and "자녀" in label:
        return "spouse_children"
    if "배우자" in label:
        return "spouse"
    if "자녀" in label:
        return "single_parent"
    if "부모" in label or "어머니" in label or "아버지" in label:
        return "parents"
    if "형제" in label:
        return "siblings"
    if "비친족" in label:
        return "nonkin"
    return "relatives"


@lru_cache(maxsize=1)
def _geography() -> tuple[dict[str, tuple[str, str, tuple[str, ...]]], dict[str, str]]:
    """NPK district label → (district name, province label, 읍면동 names); province label → full name."""
    from ingu.reference.vocab import districts, neighbourhoods_by_district, provinces

    province_rows = provinces()
    province_full = {p.npk_label: p.name for p in province_rows}
    by_code = {p.code: p.npk_label for p in province_rows}
    hoods = neighbourhoods_by_district()
    geo = {
        d.npk_label: (d.npk_label.split("-", 1)[1], by_code[d.province_code], hoods.get(d.code, ()))
        for d in districts()
    }
    return geo, province_full


@lru_cache(maxsize=1)
def _ksco_titles() -> dict[str, tuple[str, str]]:
    """Official KSCO-7 unit title → (unit code, sub-major code), for files without ``occupation_code``."""
    from ingu.reference.tables import load_table

    table = load_table("vocab_ksco7")
    out: dict[str, tuple[str, str]] = {}
    for code, name, level in zip(table["code"].to_list(), table["name"].to_list(), table["level"].to_list()):
        if level == "unit":
            out.setdefault(name, (str(code), str(code)[:2]))
    return out


def _strings(table: pa.Table, name: str) -> list[Any]:
    column = table.column(name)
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    return column.to_pylist()


def _occupation_group(employed: bool, status: str | None, sub_major: str | None, service: str | None,
                      age: int) -> str:
    if service == "현역병":
        return "conscript"
    if employed and sub_major:
        return sub_major
    if status == "실업자":
        return "job_seeker"
    if employed:  # employed under a title the vocabulary does not know: the generic worker bank
        return "worker"
    return "inactive_young" if age < 30 else "inactive_midlife" if age < 60 else "retired"


def build_personas(table: pa.Table, *, source: str = "records") -> list[dict[str, Any]]:
    """One persona dict per row of ``table`` (an ingu or NPK-shaped record table).

    Parameters
    ----------
    table : pyarrow.Table
        Must hold :data:`REQUIRED_COLUMNS`; :data:`OPTIONAL_COLUMNS` are used when present. Without a
        ``name`` column the name is read from an existing narrative (``○○○ 씨는 …``).
    source : str
        File name used in error messages.

    Raises
    ------
    PersonaError
        A required column is missing, ``age`` is not an integer, or a row has no name anywhere.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in table.column_names]
    if missing:
        raise PersonaError(f"{source}: cannot narrate without column(s) {', '.join(missing)}; "
                           f"it has {', '.join(table.column_names)}")
    if not pa.types.is_integer(table.schema.field("age").type):
        raise PersonaError(f"{source}: column 'age' must be integer, got {table.schema.field('age').type}")
    n = table.num_rows
    cols = {c: _strings(table, c) for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if c in table.column_names}
    names = cols.get("name") or _names_from_text(table, source)
    geo, province_full = _geography()
    titles = _ksco_titles()
    uuids = cols.get("uuid") or [f"row{i}" for i in range(n)]
    none = [None] * n
    birth_years = cols.get("birth_year") or none
    statuses = cols.get("employment_status") or none
    codes = cols.get("occupation_code") or none
    majors = cols.get("occupation_major") or none
    services = cols.get("military_service") or none
    personas = []
    for i in range(n):
        age = cols["age"][i]
        if age is None:
            raise PersonaError(f"{source}: row {i}: 'age' is null")
        district_label = cols["district"][i]
        district, province, hoods = geo.get(district_label) or (district_label.split("-")[-1], cols["province"][i], ())
        occupation = cols["occupation"][i]
        code = codes[i]
        status = statuses[i]
        if code is None and occupation in titles:
            code = titles[occupation][0]
        sub_major = code[:2] if code else None
        major = majors[i] or (code[0] if code else None)
        employed = status == "취업자" if status is not None else occupation not in ("무직", "", None)
        birth_year = birth_years[i] or REFERENCE_YEAR - age
        service = services[i]
        uuid = uuids[i]
        personas.append({
            "uuid": uuid,
            "name": names[i],
            "sex": cols["sex"][i],
            "female": cols["sex"][i] == "여자",
            "age": age,
            "birth_year": birth_year,
            "age_band": f"{age // 10 * 10}대",
            "age_group": age_group(age),
            "decade": f"{birth_year // 10 * 10}년대",
            "province": province,
            "province_full": province_full.get(province, province),
            "district": district,
            "district_label": district_label,
            "neighbourhood": hoods[_stable_index(uuid, len(hoods))] if hoods else district,
            "neighbourhoods": hoods,
            "occupation": occupation,
            "occupation_code": code,
            "occupation_sub_major": sub_major,
            "occupation_major": major,
            "employment_status": status,
            "employed": employed,
            "occupation_group": _occupation_group(employed, status, sub_major, service, age),
            "education_level": cols["education_level"][i],
            "bachelors_field": cols["bachelors_field"][i],
            "has_degree": cols["bachelors_field"][i] not in ("해당없음", None, ""),
            "marital_status": cols["marital_status"][i],
            "family_type": cols["family_type"][i],
            "family_group": family_group(cols["family_type"][i]),
            "housing_type": cols["housing_type"][i],
            "military_status": cols["military_status"][i],
            "military_service": service,
        })
    return personas


def _stable_index(key: str, n: int) -> int:
    """An index in ``range(n)`` fixed by ``key`` (the row's uuid), the same in every run and process."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % n


def _names_from_text(table: pa.Table, source: str) -> list[str]:
    """Names from NPK-style narratives (``○○○ 씨는 …``), the only place NPK records a name."""
    candidates = [c for c in NAMED_FIELDS if c in table.column_names]
    if not candidates:
        raise PersonaError(f"{source}: no 'name' column and no narrative to read names from; "
                           "add a name column (or map one with --map name=COLUMN)")
    texts = [_strings(table, c) for c in candidates]
    names = []
    for i in range(table.num_rows):
        for column in texts:
            match = _NAME_IN_TEXT.match(column[i] or "")
            if match:
                names.append(match.group(1))
                break
        else:
            raise PersonaError(f"{source}: row {i}: no 'name' column and no '○○○ 씨' in its narratives "
                               f"({', '.join(candidates)}); add a name column")
    return names


def persona_key(persona: Mapping[str, Any]) -> str:
    """The persona's facts as a stable string (cache keys and seeds hash it; the uuid alone is not enough)."""
    keys = ("uuid", "name", "sex", "age", "district_label", "occupation", "education_level", "bachelors_field",
            "marital_status", "family_type", "housing_type", "military_status", "military_service")
    return "\x1f".join(str(persona.get(k)) for k in keys)
