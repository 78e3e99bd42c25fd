"""Dataset profiles: which column holds which audit field, and its values in canonical labels.

``ingu audit DATA --profile npk|ingu|auto --map column=field`` reads any persona dataset through a
profile:

- ``ingu`` — our schema: NPK's 26 columns and ingu's extensions, by exact name;
- ``npk`` — NVIDIA Nemotron-Personas-Korea's 26 columns, by exact name;
- ``generic`` — column names matched case-insensitively to field names and common aliases
  (``gender`` → ``sex``, ``region`` / ``sido`` → ``province``, ``job`` → ``occupation``…);
- ``auto`` — ``ingu`` if NPK's 12 demographic columns and an ingu extension column are present,
  ``npk`` if the 12 are, ``generic`` otherwise.

A user mapping ``{"column": "field"}`` is applied on top (``"-"`` as the field drops a column).
:func:`load_audit_data` then reads only the structured columns and normalises their values to the
labels the reference tables use (NPK's: ``남자``, ``서울``, ``서울-강남구``, ``배우자있음``…),
mapping each distinct value once — never row by row in Python.

Closed vocabularies come back as ``pl.Enum`` in vocabulary code order (a group-by on 1M rows is
~3× faster than on ``pl.Utf8`` and ``to_physical()`` gives the vocabulary code); free text
(``occupation``, names, codes, ``uuid``, ``country``) stays ``pl.Utf8`` so string functions (the
occupation crosswalk) work on it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from ingu.io.readers import (
    DatasetReadError,
    coerce_int64,
    dataset_columns,
    dataset_format,
    line_of_row,
    read_columns,
)
from ingu.io.schema import (
    DEMOGRAPHIC_COLUMNS,
    EMPLOYMENT_STATUS_LABELS,
    EXTENSION_COLUMNS,
    MILITARY_SERVICE_LABELS,
    MILITARY_STATUS_LABELS,
    NPK_COLUMNS,
    OCCUPATION_MAJOR_LABELS,
    SEX_LABELS,
    TEXT_COLUMNS,
)

#: Structured fields the audit knows, in report order. Text fields are :data:`TEXT_FIELDS`.
AUDIT_FIELDS: tuple[str, ...] = (
    "uuid",
    "sex",
    "age",
    "marital_status",
    "military_status",
    "military_service",
    "family_type",
    "housing_type",
    "education_level",
    "bachelors_field",
    "occupation",
    "occupation_code",
    "occupation_major",
    "employment_status",
    "district",
    "province",
    "country",
    "name",
    "surname",
    "given_name",
    "birth_year",
)
#: NPK's 13 free-text columns; never loaded into the frame, streamed by the text checks.
TEXT_FIELDS: tuple[str, ...] = TEXT_COLUMNS
#: ``--map column=-`` drops ``column``.
IGNORE = "-"
#: Profile names :func:`load_audit_data` accepts.
PROFILE_NAMES: tuple[str, ...] = ("auto", "ingu", "npk", "generic")

# Extension columns that mark ingu's own output (``name`` alone is too common to decide).
_INGU_MARKERS = frozenset(EXTENSION_COLUMNS) - {"name"}
_INTEGER_FIELDS = frozenset({"age", "birth_year"})
_TEXT_VALUE_FIELDS = frozenset(
    {"uuid", "occupation", "occupation_code", "name", "surname", "given_name", "country"}
)
#: Plausible ranges; values outside are reported as bad rows like unknown categories.
_RANGES = {"age": (0, 150), "birth_year": (1800, 2100)}


class DatasetFieldError(DatasetReadError):
    """A field holds values the audit cannot use: an unknown category or a value of the wrong type.

    Adds ``field`` (the canonical field) and ``bad_rows`` (how many rows are bad; ``None`` if only
    the first is known) to :class:`~ingu.io.readers.DatasetReadError`'s ``path``, ``row``, ``line``,
    ``column`` (the source column) and ``value``.
    """

    def __init__(
        self, reason: str, *, field: str, bad_rows: int | None = None, **where: Any
    ) -> None:
        super().__init__(reason, **where)
        self.field = field
        self.bad_rows = bad_rows


class ProfileError(DatasetReadError):
    """A profile, mapping or field list that does not fit the dataset (e.g. ``--map`` names a column
    the dataset lacks); the message lists what there is."""


# -- profiles --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """How a dataset's columns are found.

    Attributes
    ----------
    name : str
        ``"ingu"``, ``"npk"`` or ``"generic"``.
    fields : tuple of str
        The fields (structured and text) the profile reads.
    aliases : bool
        Match columns case-insensitively and through :data:`ALIASES`; otherwise by exact name.
    """

    name: str
    fields: tuple[str, ...]
    aliases: bool = False

    def match(self, columns: Sequence[str]) -> tuple[dict[str, str], list[str]]:
        """``({field: column}, notes)`` for ``columns``; fields without a column are left out."""
        if not self.aliases:
            present = set(columns)
            return {f: f for f in self.fields if f in present}, []
        return _match_generic(columns, self.fields)


INGU = Profile("ingu", AUDIT_FIELDS + TEXT_FIELDS)
NPK = Profile("npk", NPK_COLUMNS)
GENERIC = Profile("generic", AUDIT_FIELDS + TEXT_FIELDS, aliases=True)
PROFILES: dict[str, Profile] = {p.name: p for p in (INGU, NPK, GENERIC)}

#: Column-name aliases (compared after lower-casing and turning spaces, ``-`` and ``.`` into ``_``).
ALIASES: dict[str, str] = {
    **dict.fromkeys(("id", "uid", "pid", "person_id", "persona_id", "record_id"), "uuid"),
    **dict.fromkeys(("gender", "성별"), "sex"),
    **dict.fromkeys(("나이", "연령", "만나이", "age_years"), "age"),
    **dict.fromkeys(("marital", "marriage", "marital_state", "혼인상태", "혼인"), "marital_status"),
    **dict.fromkeys(("active_duty", "현역여부"), "military_status"),
    **dict.fromkeys(("병역", "병역사항", "military_service_status"), "military_service"),
    **dict.fromkeys(("household_type", "family", "가구유형", "가족유형"), "family_type"),
    **dict.fromkeys(
        ("housing", "dwelling", "dwelling_type", "house_type", "주택유형", "거처유형", "주거형태"),
        "housing_type",
    ),
    **dict.fromkeys(
        ("education", "edu", "educ", "education_attainment", "학력", "교육정도"), "education_level"
    ),
    **dict.fromkeys(
        ("major", "field_of_study", "bachelor_field", "전공", "전공계열"), "bachelors_field"
    ),
    **dict.fromkeys(("job", "job_title", "profession", "occupation_name", "직업"), "occupation"),
    **dict.fromkeys(("ksco", "ksco_code", "job_code", "직업코드"), "occupation_code"),
    **dict.fromkeys(("ksco_major", "occupation_group", "직업대분류"), "occupation_major"),
    **dict.fromkeys(
        (
            "employment",
            "labor_force_status",
            "labour_force_status",
            "economic_activity",
            "경제활동상태",
            "취업여부",
        ),
        "employment_status",
    ),
    **dict.fromkeys(("sigungu", "sgg", "시군구", "county", "city_district"), "district"),
    **dict.fromkeys(("region", "sido", "시도", "state", "province_name", "광역시도"), "province"),
    **dict.fromkeys(("nation", "국가"), "country"),
    **dict.fromkeys(("full_name", "person_name", "이름", "성명"), "name"),
    **dict.fromkeys(("family_name", "last_name", "성씨"), "surname"),
    **dict.fromkeys(("first_name",), "given_name"),
    **dict.fromkeys(("year_of_birth", "birthyear", "yob", "출생연도", "출생년도"), "birth_year"),
}


def _column_key(column: str) -> str:
    return re.sub(r"[\s\-.]+", "_", column.strip().lower())


def _match_generic(
    columns: Sequence[str], fields: Sequence[str]
) -> tuple[dict[str, str], list[str]]:
    """Exact names (case-insensitive) first, then aliases; the first column in file order wins."""
    wanted = set(fields)
    found: dict[str, str] = {}
    notes: list[str] = []
    for by_alias in (False, True):
        for column in columns:
            key = _column_key(column)
            target = ALIASES.get(key) if by_alias else (key if key in wanted else None)
            if target is None or target not in wanted or column in found.values():
                continue
            if target in found:
                notes.append(f"column {column!r} also looks like {target}; using {found[target]!r}")
                continue
            found[target] = column
    return found, notes


def detect_profile(columns: Sequence[str]) -> Profile:
    """The profile ``auto`` resolves to for these column names (see the module docstring)."""
    present = set(columns)
    if set(DEMOGRAPHIC_COLUMNS) <= present:
        return INGU if present & _INGU_MARKERS else NPK
    return GENERIC


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """``["gender=sex", "시도=province"]`` (the ``--map`` options) → ``{"gender": "sex", …}``."""
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.rpartition("=")
        if not sep or not column.strip() or not target.strip():
            raise ValueError(f"--map expects column=field, got {item!r}")
        mapping[column.strip()] = target.strip()
    return mapping


@dataclass(frozen=True)
class Resolution:
    """Where each field comes from, before any data is read."""

    profile: str
    source_columns: dict[str, str]
    text_columns: dict[str, str]
    notes: list[str]


def resolve_columns(
    columns: Sequence[str],
    profile: str | Profile = "auto",
    mapping: Mapping[str, str] | None = None,
    *,
    path: str | os.PathLike[str] = "",
) -> Resolution:
    """Match ``columns`` to fields through ``profile``, then apply ``mapping`` on top.

    Raises :class:`ProfileError` for an unknown profile, a mapping column that is not in ``columns``
    (listing those that are) or a mapping target that is not a field (listing the fields).
    """
    notes: list[str] = []
    if isinstance(profile, str):
        if profile == "auto":
            chosen = detect_profile(columns)
            notes.append(f"profile auto → {chosen.name}")
        elif profile in PROFILES:
            chosen = PROFILES[profile]
        else:
            raise ProfileError(
                f"unknown profile {profile!r} (expected one of {', '.join(PROFILE_NAMES)})",
                path=path,
            )
    else:
        chosen = profile
    found, match_notes = chosen.match(columns)
    notes.extend(match_notes)
    for column, target in (mapping or {}).items():
        if column not in columns:
            raise ProfileError(
                f"--map names column {column!r}, which the dataset does not have "
                f"(its columns: {', '.join(columns) or 'none'})",
                path=path,
                column=column,
            )
        if target != IGNORE and target not in AUDIT_FIELDS + TEXT_FIELDS:
            raise ProfileError(
                f"--map {column}={target}: {target!r} is not a field (fields: "
                f"{', '.join(AUDIT_FIELDS + TEXT_FIELDS)}; or {IGNORE!r} to drop the column)",
                path=path,
                column=column,
            )
        for f, c in list(found.items()):
            if c == column:
                del found[f]
        if target == IGNORE:
            notes.append(f"column {column!r} dropped (--map)")
            continue
        if target in found:
            notes.append(f"{target}: column {column!r} replaces {found[target]!r} (--map)")
        found[target] = column
    structured = {f: found[f] for f in AUDIT_FIELDS if f in found}
    text = {f: found[f] for f in TEXT_FIELDS if f in found}
    return Resolution(chosen.name, structured, text, notes)


# -- loading ---------------------------------------------------------------------------------------


@dataclass
class AuditData:
    """A dataset's structured fields under canonical names and labels, ready for the audit.

    Attributes
    ----------
    frame : polars.DataFrame
        One column per present structured field (named as in :data:`AUDIT_FIELDS`, in that order),
        rows in file order. Text columns are not loaded: stream them with
        :func:`ingu.io.readers.iter_batches` (``path``, ``text_columns.values()``).
    path : pathlib.Path
    profile : str
        The resolved profile: ``"ingu"``, ``"npk"`` or ``"generic"``.
    rows : int
    source_columns : dict
        ``{field: source column}`` for the fields in ``frame``.
    missing : list of str
        Requested fields the dataset lacks (the audit skips axes that need them).
    text_columns : dict
        ``{text field: source column}`` for the text columns present.
    notes : list of str
        What was decided on the way (profile detection, aliases, nulls, dropped columns).
    """

    frame: pl.DataFrame
    path: Path
    profile: str
    rows: int
    source_columns: dict[str, str]
    missing: list[str]
    text_columns: dict[str, str]
    notes: list[str] = field(default_factory=list)


def load_audit_data(
    path: str | os.PathLike[str],
    profile: str | Profile = "auto",
    mapping: Mapping[str, str] | None = None,
    fields: Iterable[str] | None = None,
) -> AuditData:
    """Read a dataset's structured fields through a profile and normalise them to canonical labels.

    Parameters
    ----------
    path
        A Parquet file or directory of shards, a JSONL (``.jsonl``/``.ndjson``, optionally
        ``.gz``) or a CSV file.
    profile
        ``"auto"``, ``"ingu"``, ``"npk"``, ``"generic"`` or a :class:`Profile`.
    mapping
        ``{column: field}`` overrides (``--map column=field``); field ``"-"`` drops the column.
    fields
        Structured fields to load (default: all of :data:`AUDIT_FIELDS`); fewer fields read less.

    Raises
    ------
    DatasetReadError
        The file cannot be read (see :func:`ingu.io.readers.read_columns`).
    ProfileError
        Unknown profile or field, a mapping that does not fit, or no structured field found at all.
    DatasetFieldError
        A field holds an unknown category or a value of the wrong type: names the file, the
        source column, the first bad row (0-based, file order; JSONL also the line) and value, and
        the count.
    """
    path = Path(path)
    columns = dataset_columns(path)
    resolution = resolve_columns(columns, profile, mapping, path=path)
    wanted = _wanted_fields(fields, path)
    source = {f: c for f, c in resolution.source_columns.items() if f in wanted}
    missing = [f for f in AUDIT_FIELDS if f in wanted and f not in source]
    notes = list(resolution.notes)
    if not source:
        raise ProfileError(
            f"no audit field found among the columns ({', '.join(columns) or 'none'}); "
            f"name them with --map column=field (fields: {', '.join(AUDIT_FIELDS)})",
            path=path,
        )
    try:
        table = read_columns(path, list(source.values()))
    except DatasetFieldError:
        raise
    except DatasetReadError as exc:
        # A bad value in a column: report it as a field error, like the checks below.
        fields_of = {c: f for f, c in source.items()}
        if exc.column in fields_of and exc.row is not None:
            raise DatasetFieldError(
                f"{exc.reason} (field {fields_of[exc.column]})",
                field=fields_of[exc.column],
                path=exc.path,
                row=exc.row,
                line=exc.line,
                column=exc.column,
                value=exc.value,
            ) from exc
        raise
    raw = pl.from_arrow(table, rechunk=False)
    assert isinstance(raw, pl.DataFrame)
    frame = _normalise(raw, source, path, notes)
    return AuditData(
        frame=frame,
        path=path,
        profile=resolution.profile,
        rows=frame.height,
        source_columns=source,
        missing=missing,
        text_columns=dict(resolution.text_columns),
        notes=notes,
    )


def _wanted_fields(fields: Iterable[str] | None, path: Path) -> set[str]:
    if fields is None:
        return set(AUDIT_FIELDS)
    wanted = set(fields) - set(TEXT_FIELDS)  # text is never loaded; asking for it is harmless
    unknown = sorted(wanted - set(AUDIT_FIELDS))
    if unknown:
        raise ProfileError(
            f"unknown field(s) {', '.join(unknown)} (fields: {', '.join(AUDIT_FIELDS)})", path=path
        )
    return wanted


# -- normalisation ---------------------------------------------------------------------------------


@dataclass
class _BadValuesError(Exception):
    """Raised by a normaliser; turned into a DatasetFieldError naming the file and column."""

    first: int
    count: int
    reason: str


def _normalise(
    raw: pl.DataFrame, source: dict[str, str], path: Path, notes: list[str]
) -> pl.DataFrame:
    out: dict[str, pl.Series] = {}
    # Province first: district uses it to place a bare district name ("강남구").
    order = sorted(source, key=lambda f: (f != "province", AUDIT_FIELDS.index(f)))
    for name in order:
        column = source[name]
        series = raw[column]
        try:
            result = _normalise_field(name, series, out.get("province"))
        except _BadValuesError as bad:
            value = series[bad.first]
            line = None
            if dataset_format(path) == "jsonl":
                line = line_of_row(path, bad.first)
            plural = "s" if bad.count != 1 else ""
            raise DatasetFieldError(
                f"{bad.count:,} row{plural} of {series.len():,} hold{'' if plural else 's'} "
                f"{bad.reason} (field {name}); the first is {value!r}",
                field=name,
                bad_rows=bad.count,
                path=path,
                row=bad.first,
                line=line,
                column=column,
                value=value,
            ) from None
        nulls = result.null_count()
        if nulls and name not in ("occupation_code", "occupation_major"):
            notes.append(f"{name}: {nulls:,} of {result.len():,} rows have no value")
        out[name] = result.alias(name)
    return pl.DataFrame([out[f] for f in AUDIT_FIELDS if f in out])


def _normalise_field(name: str, series: pl.Series, province: pl.Series | None) -> pl.Series:
    if name in _INTEGER_FIELDS:
        return _integers(series, *_RANGES[name], what="an integer" if name != "age" else "an age")
    if name == "military_status" and series.dtype == pl.Boolean:
        series = series.replace_strict({True: "현역", False: "비현역"}, return_dtype=pl.Utf8)
    text = _as_text(series)
    if name in _TEXT_VALUE_FIELDS:
        text = _stripped(text)
        return _country(text) if name == "country" else text
    vocab = _vocabularies()[name]
    if name == "district":
        return _districts(text, province)
    return _map_labels(text, vocab.canon, vocab.dtype, vocab.what)


def _as_text(series: pl.Series) -> pl.Series:
    """``series`` as ``pl.Utf8``; integers are accepted as their digits (codes such as ``1``)."""
    dtype = series.dtype
    if isinstance(dtype, (pl.Categorical, pl.Enum)) or dtype.is_integer() or dtype == pl.Null:
        return series.cast(pl.Utf8)
    if dtype != pl.Utf8:
        raise _wrong_type(series, "text")
    return series


def _stripped(text: pl.Series) -> pl.Series:
    """Free text without surrounding whitespace; blank → null."""
    value = pl.col(text.name).str.strip_chars()
    return text.to_frame().select(pl.when(value.str.len_bytes() > 0).then(value)).to_series()


def _blanks(uniques: Sequence[str]) -> list[str]:
    """Distinct values that are empty or whitespace: missing values, not unknown categories."""
    return [u for u in uniques if not u.strip()]


def _wrong_type(series: pl.Series, expected: str) -> _BadValuesError:
    first = int(series.is_not_null().arg_max() or 0)
    count = series.len() - series.null_count()
    return _BadValuesError(first, count, f"{series.dtype} values, not {expected}")


def _integers(series: pl.Series, low: int, high: int, what: str) -> pl.Series:
    try:
        values, unparsable = coerce_int64(series.to_arrow())
    except TypeError:
        raise _wrong_type(series, "integers") from None
    out = pl.from_arrow(values)
    assert isinstance(out, pl.Series)
    bad = ((out < low) | (out > high)).fill_null(False)
    if unparsable is not None:
        bad = bad | pl.from_arrow(unparsable)
    count = int(bad.sum())
    if count:
        raise _BadValuesError(
            int(bad.arg_max() or 0), count, f"values that are not {what} in {low}–{high}"
        )
    return out.alias(series.name)


def _map_labels(
    text: pl.Series, canon: Callable[[str], str | None], dtype: pl.DataType, what: str
) -> pl.Series:
    """Map each distinct value once through ``canon`` (which ignores spacing, so no per-row strip);
    blanks become null; unknown values raise :class:`_BadValuesError`."""
    uniques = text.drop_nulls().unique().to_list()
    known = {u: c for u in uniques if (c := canon(u)) is not None}
    out = text.replace_strict(list(known), list(known.values()), default=None, return_dtype=dtype)
    _raise_unknown(text, out, what, _blanks(uniques))
    return out


def _raise_unknown(text: pl.Series, out: pl.Series, what: str, blanks: list[str]) -> None:
    bad = text.is_not_null() & out.is_null()
    if blanks:
        bad = bad & ~text.is_in(blanks)
    count = int(bad.sum())
    if count:
        raise _BadValuesError(int(bad.arg_max() or 0), count, f"values that are not {what}")


def _districts(text: pl.Series, province: pl.Series | None) -> pl.Series:
    vocab = _vocabularies()["district"]
    uniques = text.drop_nulls().unique().to_list()
    known = {u: c for u in uniques if (c := _district_label(u)) is not None}
    direct = text.replace_strict(
        list(known), list(known.values()), default=None, return_dtype=pl.Utf8
    )
    unresolved = [u for u in uniques if u not in known]
    if unresolved and province is not None:
        # A bare name ("강남구") is placed by the row's province: map each distinct pair once.
        pairs = (
            pl.DataFrame({"p": province.cast(pl.Utf8), "d": text})
            .filter(pl.col("d").is_in(unresolved) & pl.col("p").is_not_null())
            .unique()
        )
        mapped = {
            f"{p}\x1f{d}": c for p, d in pairs.iter_rows() if (c := _district_in(p, d)) is not None
        }
        if mapped:
            key = pl.concat_str([province.cast(pl.Utf8), text], separator="\x1f")
            hinted = key.replace_strict(
                list(mapped), list(mapped.values()), default=None, return_dtype=pl.Utf8
            )
            direct = direct.fill_null(hinted)
    out = direct.cast(vocab.dtype)
    _raise_unknown(text, out, vocab.what, _blanks(uniques))
    return out


# -- vocabularies ----------------------------------------------------------------------------------

_PUNCT = re.compile(r"[\s·・.,/()\[\]~\-_+:;'\"]+")


def _loose(value: str) -> str:
    """Comparison key: lower-case, without spaces or punctuation.

    ``"배우자 · 자녀와 거주"`` and ``"배우자·자녀와 거주"`` compare equal.
    """
    return _PUNCT.sub("", value.lower())


@dataclass(frozen=True)
class _Vocabulary:
    """Labels in code order, a loose-key lookup of labels and aliases, and English keys."""

    labels: tuple[str, ...]
    lookup: dict[str, str]
    what: str
    english: Mapping[str, str] = field(default_factory=dict)

    @property
    def dtype(self) -> pl.DataType:
        return pl.Enum(list(self.labels))

    def canon(self, value: str) -> str | None:
        found = self.lookup.get(_loose(value))
        if found is None and self.english and (key := _english_key(value)):
            found = self.english.get(key)
        return found


def _vocab(
    labels: Sequence[str],
    aliases: Mapping[str, str],
    what: str,
    english: Mapping[str, str] | None = None,
) -> _Vocabulary:
    lookup: dict[str, str] = {}
    for key, label in [(lab, lab) for lab in labels] + list(aliases.items()):
        if label not in labels:
            raise ValueError(f"alias {key!r} points at {label!r}, not a label of {what}")
        loose = _loose(key)
        if lookup.get(loose, label) != label:
            raise ValueError(f"{what}: {key!r} is ambiguous ({lookup[loose]!r} or {label!r})")
        lookup[loose] = label
    shown = (
        ", ".join(labels)
        if len(labels) <= 12
        else ", ".join(labels[:8]) + f", … ({len(labels)} labels)"
    )
    return _Vocabulary(tuple(labels), lookup, f"{what} ({shown})", dict(english or {}))


_SEX_ALIASES = {
    **dict.fromkeys(("남", "남성", "m", "male", "man"), "남자"),
    **dict.fromkeys(("여", "여성", "f", "female", "woman"), "여자"),
}
_MARITAL_ALIASES = {
    **dict.fromkeys(("single", "never married", "unmarried"), "미혼"),
    **dict.fromkeys(("유배우", "기혼", "married"), "배우자있음"),
    **dict.fromkeys(("widowed",), "사별"),
    **dict.fromkeys(("divorced",), "이혼"),
}
_EDUCATION_ALIASES = {
    **dict.fromkeys(("안받았음", "받지않았음", "none", "no schooling"), "무학"),
    **dict.fromkeys(("초졸", "초등학교 졸업", "elementary", "primary"), "초등학교"),
    **dict.fromkeys(("중졸", "중학교 졸업", "middle school", "lower secondary"), "중학교"),
    **dict.fromkeys(("고졸", "고등학교 졸업", "high school", "upper secondary"), "고등학교"),
    **dict.fromkeys(
        ("전문대", "전문대학", "전문대졸", "대학(4년제 미만)", "junior college", "associate"),
        "2~3년제 전문대학",
    ),
    **dict.fromkeys(
        (
            "대학교",
            "대졸",
            "대학교(4년제 이상)",
            "4년제 대학",
            "bachelor",
            "bachelors",
            "university",
        ),
        "4년제 대학교",
    ),
    **dict.fromkeys(
        (
            "대학원졸",
            "석사",
            "박사",
            "석사과정",
            "박사과정",
            "graduate",
            "master",
            "masters",
            "doctorate",
            "phd",
        ),
        "대학원",
    ),
}
_HOUSING_ALIASES = {
    "아파트": "아파트",
    "apartment": "아파트",
    "단독": "단독주택",
    "detached house": "단독주택",
    "연립": "연립주택",
    "다세대": "다세대주택",
    "오피스텔": "주택 이외의 거처",  # the census counts officetels as non-housing dwellings
}
_MILITARY_SERVICE_ALIASES = {
    "군필": "병역필",
    "공익": "사회복무요원",
    "공익근무요원": "사회복무요원",
}
_MILITARY_STATUS_ALIASES = {
    **dict.fromkeys(("active", "active duty"), "현역"),
    **dict.fromkeys(("inactive", "not active", "not active duty", "civilian"), "비현역"),
}
_EMPLOYMENT_ALIASES = {
    **dict.fromkeys(("취업", "employed"), "취업자"),
    **dict.fromkeys(("실업", "unemployed"), "실업자"),
    **dict.fromkeys(
        ("비경제활동", "비경활", "not in labour force", "not in labor force", "nilf", "inactive"),
        "비경제활동인구",
    ),
}
_BACHELORS_ALIASES = {"없음": "해당없음", "not applicable": "해당없음"}
_COUNTRY_ALIASES = {
    **dict.fromkeys(
        ("한국", "남한", "korea", "south korea", "republic of korea", "kr", "kor"), "대한민국"
    ),
}

#: Korean province spellings besides the official name and NPK's label.
_PROVINCE_ALIASES = {
    "서울": ("서울시",),
    "부산": ("부산시",),
    "대구": ("대구시",),
    "인천": ("인천시",),
    "광주": ("광주시",),
    "대전": ("대전시",),
    "울산": ("울산시",),
    "세종": ("세종시",),
    "경기": ("경기도",),
    "강원": ("강원도",),
    "충청북": ("충북", "충청북도"),
    "충청남": ("충남", "충청남도"),
    "전북": ("전라북도", "전라북", "전북도"),
    "전라남": ("전남", "전라남도"),
    "경상북": ("경북", "경상북도"),
    "경상남": ("경남", "경상남도"),
    "제주": ("제주도",),
}
#: English spellings (after :func:`_english_key`) besides the vocabulary's ``name_en``.
_PROVINCE_ENGLISH = {
    "pusan": "부산",
    "taegu": "대구",
    "inchon": "인천",
    "kwangju": "광주",
    "taejon": "대전",
    "northchungcheong": "충청북",
    "chungbuk": "충청북",
    "southchungcheong": "충청남",
    "chungnam": "충청남",
    "northjeolla": "전북",
    "jeollabuk": "전북",
    "southjeolla": "전라남",
    "jeonnam": "전라남",
    "northgyeongsang": "경상북",
    "gyeongbuk": "경상북",
    "southgyeongsang": "경상남",
    "gyeongnam": "경상남",
    "cheju": "제주",
}
_ENGLISH_NOISE = frozenset(
    {
        "do",
        "si",
        "province",
        "state",
        "metropolitan",
        "special",
        "city",
        "self",
        "governing",
        "autonomous",
    }
)


def _english_key(value: str) -> str:
    """An English province name without its noise words (Korean text gives ``""``).

    ``"Jeollabuk-do"`` → ``jeollabuk``, ``"Seoul Metropolitan City"`` → ``seoul``.
    """
    return "".join(t for t in re.findall(r"[a-z]+", value.lower()) if t not in _ENGLISH_NOISE)


@cache
def _vocabularies() -> dict[str, _Vocabulary]:
    from ingu.reference.vocab import districts, provinces, vocabulary

    province_aliases: dict[str, str] = {}
    for p in provinces():
        province_aliases[p.name] = p.npk_label
        for alias in _PROVINCE_ALIASES.get(p.npk_label, ()):
            province_aliases[alias] = p.npk_label
    labels = [d.npk_label for d in districts()]
    return {
        "sex": _vocab(SEX_LABELS, _SEX_ALIASES, "a sex"),
        "marital_status": _vocab(vocabulary("marital"), _MARITAL_ALIASES, "a marital status"),
        "military_status": _vocab(
            MILITARY_STATUS_LABELS, _MILITARY_STATUS_ALIASES, "a military status"
        ),
        "military_service": _vocab(
            MILITARY_SERVICE_LABELS, _MILITARY_SERVICE_ALIASES, "a military service status"
        ),
        "family_type": _vocab(vocabulary("family_type"), {}, "a family type"),
        "housing_type": _vocab(vocabulary("housing_type"), _HOUSING_ALIASES, "a housing type"),
        "education_level": _vocab(
            vocabulary("education"), _EDUCATION_ALIASES, "an education level"
        ),
        "bachelors_field": _vocab(
            vocabulary("bachelors_field"), _BACHELORS_ALIASES, "a field of study"
        ),
        "employment_status": _vocab(
            EMPLOYMENT_STATUS_LABELS, _EMPLOYMENT_ALIASES, "an employment status"
        ),
        "occupation_major": _vocab(OCCUPATION_MAJOR_LABELS, {}, "a KSCO major group"),
        "province": _vocab(
            [p.npk_label for p in provinces()],
            province_aliases,
            "a province",
            {_english_key(p.name_en): p.npk_label for p in provinces()} | _PROVINCE_ENGLISH,
        ),
        "district": _vocab(labels, {}, "a district (e.g. 서울-강남구, 서울특별시 강남구)"),
    }


@cache
def _district_index() -> dict[tuple[str, str], str]:
    """``(province label, loose district name)`` → district label; 세종 under both its names."""
    from ingu.reference.vocab import districts, provinces

    labels = {p.code: p.npk_label for p in provinces()}
    index = {(labels[d.province_code], _loose(d.name)): d.npk_label for d in districts()}
    for d in districts():
        if d.npk_label.startswith("세종-"):
            for alias in ("세종시", "세종특별자치시", d.npk_label.split("-", 1)[1]):
                index[("세종", _loose(alias))] = d.npk_label
    return index


def _district_label(value: str) -> str | None:
    """NPK's label of a district written with its province.

    ``서울-강남구``, ``서울 강남구``, ``서울특별시 강남구``, ``경기도 수원시 장안구`` are
    all accepted.
    """
    vocab = _vocabularies()["district"]
    found = vocab.canon(value)  # NPK's own label (spacing/punctuation-insensitive)
    if found is not None:
        return found
    parts = re.split(r"[\s\-]+", value.strip(), maxsplit=1)
    if len(parts) == 2:
        province = _vocabularies()["province"].canon(parts[0])
        if province is not None:
            return _district_index().get((province, _loose(parts[1])))
    # 세종 has one district and is often written with the province name alone.
    if _vocabularies()["province"].canon(value) == "세종":
        return _district_index().get(("세종", _loose("세종시")))
    return None


def _district_in(province: str, value: str) -> str | None:
    """A bare district name (``강남구``) in a known province (NPK label)."""
    return _district_index().get((province, _loose(value)))


_COUNTRY_KEYS = frozenset(_loose(k) for k in _COUNTRY_ALIASES)


def _country(text: pl.Series) -> pl.Series:
    """Spellings of 대한민국 (한국, Korea, KR…) unified; other countries are kept as given."""
    spellings = [u for u in text.drop_nulls().unique().to_list() if _loose(u) in _COUNTRY_KEYS]
    return text.replace(spellings, "대한민국") if spellings else text
