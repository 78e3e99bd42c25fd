"""The crosswalk's rules as data (``data/ksco_rules.yaml``) and the label normalisation it relies on.

This module only reads and validates the YAML and normalises text; :mod:`ingu.audit.crosswalk` compiles
the rules against the KSCO-7 tree and maps labels.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

RULES_FILE = Path(__file__).parent / "data" / "ksco_rules.yaml"
SCHEMA = 1

# Majors a rule may assign: the ten KSCO-7 groups (A = armed forces) plus "0", the audit's
# not-in-employment bucket, which is not a KSCO-7 group.
MAJORS = frozenset("0123456789A")
RULE_IDS = tuple(f"R{i}" for i in range(1, 15))


@dataclass(frozen=True)
class RuleClause:
    """One regex of a rule and the KSCO-7 group it assigns."""

    pattern: str
    major: str
    code: str  # KSCO-7 code cited (any level, '' when only the major is determined)
    exclude: str = ""


@dataclass(frozen=True)
class BoundaryEntry:
    """One row of the R14 boundary table: an explicit decision with its reason."""

    label: str
    major: str
    code: str
    reason: str


@dataclass(frozen=True)
class RuleInfo:
    """A consistency rule (the paper's Table 4) as loaded from the YAML.

    ``kind`` is ``"regex"`` (clauses), ``"job_seeker"`` (R12: ``patterns`` with a ``base`` group) or
    ``"table"`` (R14: ``entries``).
    """

    id: str
    title: str
    description: str
    kind: str
    paper: str  # the target as published in Table 4
    deviation: str  # why this rule differs from the paper ('' when it does not)
    clauses: tuple[RuleClause, ...] = ()
    entries: tuple[BoundaryEntry, ...] = ()
    job_seeker_patterns: tuple[str, ...] = ()
    exclude: str = ""  # rule-wide exclusion regex

    @property
    def majors(self) -> tuple[str, ...]:
        """Distinct majors the rule can assign, in clause order (empty for R12: the base's group)."""
        found = [c.major for c in self.clauses] + [e.major for e in self.entries]
        return tuple(dict.fromkeys(found))

    @property
    def target_major(self) -> str:
        """The target as one string: ``'9'``, ``'5/3'`` (several clauses), or ``'base'`` for R12."""
        return "/".join(self.majors) if self.majors else "base"

    @property
    def codes(self) -> tuple[str, ...]:
        """KSCO-7 codes the rule cites (non-empty ones, de-duplicated)."""
        found = [c.code for c in self.clauses] + [e.code for e in self.entries]
        return tuple(dict.fromkeys(c for c in found if c))

    @property
    def patterns(self) -> tuple[str, ...]:
        """Regexes (R1–R13) or, for R14, the table's labels."""
        if self.kind == "table":
            return tuple(e.label for e in self.entries)
        if self.kind == "job_seeker":
            return self.job_seeker_patterns
        return tuple(c.pattern for c in self.clauses)


@dataclass(frozen=True)
class PatternInfo:
    """A step-(e) heuristic: suffix or keyword regex → major."""

    name: str
    pattern: str
    major: str
    code: str
    exclude: str = ""


@dataclass(frozen=True)
class RuleSet:
    """Everything in ``ksco_rules.yaml``, validated; ``sha256`` is over the file's bytes."""

    sha256: str
    not_employed_labels: tuple[str, ...]
    not_employed_phrases: tuple[str, ...]
    rules: tuple[RuleInfo, ...]
    patterns: tuple[PatternInfo, ...]


# ---------------------------------------------------------------------------------------------------
# Text normalisation

# Middle-dot look-alikes seen in Korean text; KSCO-7 names use U+00B7.  Replaced before NFKC because
# NFKC turns U+318D (ㆍ, hangul araea, a common "dot" in Korean typing) into a conjoining jamo.
_DOTS = str.maketrans({c: "·" for c in "ㆍ•‧∙⋅・･\u2027"})
_ZERO_WIDTH = re.compile("[\u200b-\u200d\ufeff]")
_SPACES = re.compile(r"\s+")
_REMARKS = re.compile(r"\s*[(\[{][^()\[\]{}]*[)\]}]")
_CONNECTIVES = frozenset({"및", "와", "과", "또는", "그리고", "and", "&"})
_TOKEN_SPLIT = re.compile(r"[\s·,/;:\-–—_.]+")
_NON_WORD = re.compile(r"[^\w]+")
# Suffix variants that do not change the occupation: 청소 종사자 = 청소 종사원 = 청소원.
_STEM_SUFFIX = re.compile(r"(?:종사자|종사원|원|사)$")


def clean(label: str) -> str:
    """NFKC, unified middle dots, no zero-width characters, single spaces, trimmed."""
    text = _ZERO_WIDTH.sub("", label.translate(_DOTS))
    text = unicodedata.normalize("NFKC", text).translate(_DOTS)
    return _SPACES.sub(" ", text).strip()


def strip_remarks(text: str) -> str:
    """Drop parenthetical remarks: ``경리 사무원 (중소기업)`` → ``경리 사무원``; keep text that is all remark."""
    stripped = text
    while True:  # nested brackets: innermost first
        new = _REMARKS.sub("", stripped)
        if new == stripped:
            break
        stripped = new
    stripped = stripped.strip()
    return stripped or text


def name_key(text: str) -> str:
    """Comparison key: no remarks, connectives (및/와/과), spaces or punctuation; 기타 ≡ 그 외.

    ``전기·전자기기 설치 및 수리원`` and ``전기 전자기기 설치수리원`` share a key.
    """
    tokens = [t for t in _TOKEN_SPLIT.split(strip_remarks(text).lower()) if t and t not in _CONNECTIVES]
    key = _NON_WORD.sub("", "".join(tokens))
    # KSCO-7 names residual units "기타 X" and residual detailed titles "그 외 X"; users mix them.
    if key.startswith("기타"):
        key = "그외" + key[2:]
    return key


def stem(key: str) -> str:
    """Remove one 종사자/종사원/원/사 suffix from a :func:`name_key`; keys stay at least two characters."""
    stemmed = _STEM_SUFFIX.sub("", key)
    return stemmed if len(stemmed) >= 2 else key


# ---------------------------------------------------------------------------------------------------
# Loading


class RulesError(ValueError):
    """The rules file is malformed (unknown field values, bad regex, a code outside its major)."""


def _major(value: Any, where: str) -> str:
    major = str(value)
    if major not in MAJORS:
        raise RulesError(f"{where}: major {major!r} is not one of {sorted(MAJORS)}")
    return major


def _regex(value: Any, where: str) -> str:
    pattern = str(value or "")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise RulesError(f"{where}: bad regex {pattern!r}: {exc}") from exc
    return pattern


def _code(value: Any, major: str, where: str) -> str:
    code = str(value or "")
    if code and (major == "0" or code[0] != major):
        raise RulesError(f"{where}: KSCO-7 code {code!r} is not in major {major!r}")
    return code


def _rule(raw: dict[str, Any]) -> RuleInfo:
    rid = str(raw["id"])
    kind = str(raw.get("kind", "regex"))
    clauses: list[RuleClause] = []
    entries: list[BoundaryEntry] = []
    seeker: list[str] = []
    if kind == "regex":
        for i, c in enumerate(raw.get("clauses") or []):
            where = f"{rid} clause {i + 1}"
            major = _major(c["major"], where)
            clauses.append(
                RuleClause(
                    pattern=_regex(c["pattern"], where),
                    major=major,
                    code=_code(c.get("code"), major, where),
                    exclude=_regex(c.get("exclude"), where),
                )
            )
        if not clauses:
            raise RulesError(f"{rid}: a regex rule needs clauses")
    elif kind == "table":
        for i, e in enumerate(raw.get("entries") or []):
            where = f"{rid} entry {i + 1}"
            major = _major(e["major"], where)
            entries.append(BoundaryEntry(str(e["label"]), major, _code(e.get("code"), major, where), str(e["reason"])))
    elif kind == "job_seeker":
        for i, p in enumerate(raw.get("patterns") or []):
            pattern = _regex(p, f"{rid} pattern {i + 1}")
            if "(?P<base>" not in pattern:
                raise RulesError(f"{rid} pattern {i + 1}: needs a named group 'base'")
            seeker.append(pattern)
    else:
        raise RulesError(f"{rid}: unknown kind {kind!r}")
    return RuleInfo(
        id=rid,
        title=str(raw.get("title", "")),
        description=" ".join(str(raw.get("description", "")).split()),
        kind=kind,
        paper=str(raw.get("paper", "")),
        deviation=" ".join(str(raw.get("deviation", "")).split()),
        clauses=tuple(clauses),
        entries=tuple(entries),
        job_seeker_patterns=tuple(seeker),
        exclude=_regex(raw.get("exclude"), rid),
    )


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Read and validate a rules file (default: the shipped ``ksco_rules.yaml``).

    Raises
    ------
    RulesError
        On a wrong schema, an unknown or missing rule id, a bad regex, or a cited code outside its major.
    """
    data_bytes = Path(path or RULES_FILE).read_bytes()
    raw = yaml.safe_load(data_bytes)
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise RulesError(f"rules file must be a mapping with schema: {SCHEMA}")
    rules = tuple(_rule(r) for r in raw.get("rules") or [])
    ids = [r.id for r in rules]
    if sorted(ids, key=lambda s: int(s[1:])) != list(RULE_IDS) or len(set(ids)) != len(ids):
        raise RulesError(f"rules must be exactly {', '.join(RULE_IDS)}; got {', '.join(ids)}")
    patterns = []
    for i, p in enumerate(raw.get("patterns") or []):
        where = f"pattern {p.get('name', i + 1)}"
        major = _major(p["major"], where)
        patterns.append(
            PatternInfo(
                name=str(p["name"]),
                pattern=_regex(p["pattern"], where),
                major=major,
                code=_code(p.get("code"), major, where),
                exclude=_regex(p.get("exclude"), where),
            )
        )
    ne = raw.get("not_employed") or {}
    return RuleSet(
        sha256=hashlib.sha256(data_bytes).hexdigest(),
        not_employed_labels=tuple(str(x) for x in ne.get("labels") or []),
        not_employed_phrases=tuple(_regex(p, "not_employed phrase") for p in ne.get("phrases") or []),
        rules=rules,
        patterns=tuple(patterns),
    )
