"""KOSIS OpenAPI client: refresh one statistical table into the user cache.

``ingu reference fetch`` calls :func:`fetch_command`; library code calls :func:`fetch_table`. Both ask the
KOSIS "통계자료" service (``Param/statisticsParameterData.do?method=getList``) for one table, turn the
records into a tidy long table and write two files into :func:`cache_dir`:

* ``<id>.csv`` -- columns ``period, item_id, item, unit, c1_code, c1, …, cN_code, cN, value``;
* ``<id>.json`` -- the manifest entry (provenance, sha256 of the CSV, the query without the key).

``ingu.reference.tables.load_table`` prefers these files over the shipped ``data/`` folder.

What KOSIS does that this module absorbs:

* every answer is HTTP 200; failure is a JSON *object* ``{"err": "20", "errMsg": "…"}``, success a JSON
  *array* of records;
* without ``jsonVD=Y`` the body is a JavaScript literal with bare keys -- we always send ``jsonVD=Y`` and
  still parse bare keys if they come back;
* one request may not declare more than 40,000 cells (err 31) -- the request is split, first by period
  range, then by any explicit code list (``itmId``, ``objL1`` …), and the halves are fetched in turn;
* a table needs exactly as many ``objL`` levels as it has classifications: too few gives err 20 "(objL)",
  which we answer by adding the next level as ``ALL``.

The API key travels only in the query string of the request. It is never written to the CSV, the JSON,
a log record or an exception message: URLs are rendered with ``apiKey=***``, and while a fetch runs a
filter on the ``httpx`` logger masks it in httpx's own request log lines.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlencode

import httpx

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "CELL_LIMIT",
    "ERROR_MESSAGES",
    "KNOWN_TABLES",
    "KOSIS_BASE",
    "KnownTable",
    "KosisError",
    "cache_dir",
    "fetch_command",
    "fetch_table",
    "tidy_records",
]

logger = logging.getLogger(__name__)

KOSIS_BASE = "https://kosis.kr/openapi/Param/statisticsParameterData.do"
BASE_URL_ENV = "INGU_KOSIS_BASE_URL"
API_KEY_ENV = "KOSIS_API_KEY"
CACHE_DIR_ENV = "INGU_CACHE_DIR"

CELL_LIMIT = 40_000
AGENCY = "통계청 (KOSIS OpenAPI)"
LICENCE = "KOGL type 1"

# Codes documented in the KOSIS OpenAPI developer guide; 10/11/20/21/30/31 are also widely observed.
ERROR_MESSAGES: dict[str, tuple[str, str]] = {
    "10": ("인증키 누락", "API key missing: pass --api-key or set KOSIS_API_KEY"),
    "11": ("인증키 기간만료", "API key invalid or expired: renew it at https://kosis.kr/openapi/"),
    "20": ("필수요청변수 누락", "a required request parameter is missing (itmId, objL1…, prdSe, a period)"),
    "21": (
        "잘못된 요청변수",
        "invalid request parameter: an unknown item/classification code, too many objL levels, "
        "or a table id that does not exist",
    ),
    "30": (
        "조회결과 없음",
        "no data: the period is outside the table's coverage, the table does not publish this prdSe, "
        "or the code combination is empty",
    ),
    "31": (
        "조회결과 초과",
        f"result too large: one request may declare at most {CELL_LIMIT:,} cells "
        "(items × codes per level × periods); list fewer codes instead of ALL",
    ),
    "40": ("호출가능건수 제한", "request quota exceeded for this key; try again later"),
    "41": ("호출가능 데이터건수 제한", "data-volume quota exceeded for this key; try again later"),
    "42": ("사용자별 이용 제한", "this key is restricted; see your KOSIS OpenAPI account"),
    "50": ("서버오류", "KOSIS server error"),
}

# Parameters a caller may set; method/format/jsonVD/apiKey/orgId/tblId are set by the client itself, and
# outputFields is not offered because the tidy conversion needs every field of the default layout.
_OBJ_LEVELS = tuple(f"objL{i}" for i in range(1, 9))
_USER_PARAMS = frozenset(
    {"itmId", *_OBJ_LEVELS, "prdSe", "startPrdDe", "endPrdDe", "newEstPrdCnt", "prdInterval"}
)
_CLIENT_PARAMS = frozenset({"method", "format", "jsonVD", "apiKey", "orgId", "tblId"})
_CODE_LIST_PARAMS = ("itmId", *_OBJ_LEVELS)

_TABLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TBL_ID = re.compile(r"^[A-Za-z0-9_]+$")
_ORG_ID = re.compile(r"^[0-9]+$")

_PERIOD_WIDTH = {"Y": 4, "H": 6, "Q": 6, "M": 6, "D": 8}
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_RETRY_KOSIS = frozenset({"50"})
_MAX_BACKOFF_S = 30.0
_MAX_REQUESTS = 256  # bounds the err-31 splitting, which could otherwise fan out without limit
_NULL_SYMBOLS = frozenset({"", "-", "…", "...", "..", "x", "X", "nan", "NaN"})


class KosisError(RuntimeError):
    """A fetch that KOSIS refused or that could not be read.

    Attributes
    ----------
    code : str or None
        The KOSIS error code (``"20"``, ``"30"`` …) when KOSIS sent one, else ``None``.
    tbl_id : str or None
        The KOSIS table the request was for.
    """

    def __init__(self, message: str, *, code: str | None = None, tbl_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.tbl_id = tbl_id


class _CellLimit(Exception):
    """err 31 from KOSIS: the request declared too many cells and must be split."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class KnownTable:
    """A KOSIS table the model uses, with the query that fetches it and the cache id it is stored under.

    ``params`` are starting points: ``verified=False`` means the classification codes have not been checked
    against the table's KOSIS metadata, and ``--param`` overrides any of them.
    """

    alias: str
    tbl_id: str
    title: str
    universe: str
    params: Mapping[str, str]
    org_id: str = "101"
    verified: bool = False
    notes: str = ""


KNOWN_TABLES: dict[str, KnownTable] = {
    t.alias: t
    for t in (
        KnownTable(
            alias="kosis_resident_pop_sex_age5",
            tbl_id="DT_1B04005N",
            title="행정구역(읍면동)별/5세별 주민등록인구(2011년~)",
            universe="resident-registration population (Korean nationals), year end",
            params={"itmId": "T2 T3 T4", "objL1": "00", "objL2": "ALL", "prdSe": "Y"},
            verified=True,
            notes=(
                "itmId T2/T3/T4 = total/male/female; objL1 00 = 전국. For provinces or districts pass "
                "objL1 codes explicitly (ALL over 읍면동 exceeds the 40,000-cell limit). Also published monthly "
                "(prdSe=M)."
            ),
        ),
        KnownTable(
            alias="kosis_census2020_sex_age_marital_education",
            tbl_id="DT_1PM2003",
            title="성, 연령, 혼인상태 및 교육정도별 인구(15세 이상, 내국인)-시군구",
            universe="census 2020 register-based, Korean nationals aged 15+",
            params={"itmId": "ALL", "objL1": "00", "objL2": "ALL", "prdSe": "F"},
            notes="5-yearly census table (prdSe=F); the number of objL levels is discovered at fetch time.",
        ),
        KnownTable(
            alias="kosis_lfs_age_activity",
            tbl_id="DT_1DA7002S",
            title="연령별 경제활동인구 총괄",
            universe="Economically Active Population Survey, population aged 15+",
            params={"itmId": "ALL", "objL1": "ALL", "prdSe": "Y"},
            notes="Items include T20 경제활동인구, T30 취업자, T80 실업률, T90 고용률. Also monthly (prdSe=M).",
        ),
        KnownTable(
            alias="kosis_lfs_sex_occupation",
            tbl_id="DT_1DA7E27S",
            title="성/직업별 취업자",
            universe="Economically Active Population Survey, employed persons",
            params={"itmId": "ALL", "objL1": "ALL", "objL2": "ALL", "prdSe": "Y"},
            notes="KSCO major groups; KOSIS also lists a successor table DT_1DA7E27S_NEW.",
        ),
        KnownTable(
            alias="kosis_register_marital_age",
            tbl_id="DT_1MR2060",
            title="성/연령/혼인상태별 인구 (등록센서스, 내국인 18세 이상)",
            universe="register-based population, Korean nationals aged 18+, 2022~",
            params={"itmId": "ALL", "objL1": "00", "objL2": "ALL", "prdSe": "Y"},
            verified=True,
            notes="objL1 uses census region codes (00 전국, 11 서울, 21 부산 … 39 제주); items are sex × marital.",
        ),
    )
}


# -- cache -------------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Return the user cache folder for reference tables (``$INGU_CACHE_DIR`` or ``~/.cache/ingu/reference``).

    Defers to ``ingu.reference.tables.cache_dir`` when that module provides one, so there is one definition.
    """
    try:
        from ingu.reference.tables import cache_dir as shared  # lazy: tables may not exist yet
    except ImportError:
        return _default_cache_dir()
    return Path(shared() if callable(shared) else shared)


def _default_cache_dir() -> Path:
    configured = os.environ.get(CACHE_DIR_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "ingu" / "reference"


# -- public API --------------------------------------------------------------------------------------------


def fetch_table(
    tbl_id: str,
    api_key: str,
    *,
    org_id: str = "101",
    params: Mapping[str, Any] | None = None,
    table_id_alias: str | None = None,
    base_url: str | None = None,
    client: httpx.Client | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    title: str | None = None,
    universe: str | None = None,
    notes: str | None = None,
) -> Path:
    """Fetch one KOSIS table and write it to the user cache.

    Parameters
    ----------
    tbl_id : str
        KOSIS table id (``tblId``), e.g. ``"DT_1B04005N"``.
    api_key : str
        KOSIS OpenAPI key. Used in the request only; never written or logged. A URL-encoded key is decoded.
    org_id : str, default "101"
        KOSIS organisation id (``orgId``; 101 = 통계청).
    params : mapping, optional
        KOSIS query parameters: ``itmId``, ``objL1`` … ``objL8``, ``prdSe``, ``startPrdDe``, ``endPrdDe``,
        ``newEstPrdCnt``, ``prdInterval``. A list value, or a string of codes separated by
        spaces, ``+`` or commas, is a code list. Defaults: ``itmId=ALL``, ``objL1=ALL``, the latest period
        (``newEstPrdCnt=1``); ``prdSe`` is ``Y`` when a 4-digit period is given and required otherwise.
    table_id_alias : str, optional
        The id the table is cached under (``<id>.csv``). Default ``kosis_<org_id>_<tbl_id lower-cased>``.
    base_url : str, optional
        Endpoint; default ``$INGU_KOSIS_BASE_URL`` or :data:`KOSIS_BASE`.
    client : httpx.Client, optional
        Client to send requests with (not closed); by default one is created for this call.
    timeout : float, default 30
        Seconds per request (the client's own timeout applies when ``client`` is given).
    retries : int, default 3
        Extra attempts after a timeout, a network error, HTTP 429/5xx or KOSIS err 50.
    backoff : float, default 1.0
        First wait in seconds between attempts; doubles each time, capped at 30 s.
    title, universe, notes : str, optional
        Manifest fields; ``title`` defaults to KOSIS's ``TBL_NM``.

    Returns
    -------
    pathlib.Path
        The cached CSV, ``cache_dir() / f"{id}.csv"``; its manifest entry is alongside as ``<id>.json``.

    Raises
    ------
    ValueError
        An argument is malformed, or the id would shadow a shipped table.
    KosisError
        KOSIS refused the request (``.code`` holds its error code), the response could not be read, or the
        server kept failing after ``retries``. Nothing is written to the cache in that case.
    """
    return _fetch(
        tbl_id,
        api_key,
        org_id=org_id,
        params=params,
        table_id_alias=table_id_alias,
        base_url=base_url,
        client=client,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        title=title,
        universe=universe,
        notes=notes,
    ).csv_path


def fetch_command(
    table: str,
    api_key: str | None = None,
    period: str | None = None,
    params: Sequence[str] = (),
    *,
    base_url: str | None = None,
    echo: Callable[[str], Any] | None = print,
) -> Path:
    """Run ``ingu reference fetch TABLE``: resolve the table, build the query, fetch and report.

    Parameters
    ----------
    table : str
        An alias from :data:`KNOWN_TABLES` (``kosis_resident_pop_sex_age5``), a KOSIS table id
        (``DT_1B04005N``; a known one brings its default query and alias), or ``ORG/TBL`` (``101/DT_1B04005N``).
    api_key : str, optional
        KOSIS key; defaults to ``$KOSIS_API_KEY``.
    period : str, optional
        ``2024``, ``2020-2024`` (also ``2020:2024``, ``2020..2024``), ``202401-202412``, or ``latest`` /
        ``latest:N`` for the N most recent periods.
    params : sequence of str
        ``KEY=VALUE`` overrides, e.g. ``["objL1=11 26", "prdSe=M"]``; ``orgId=…`` picks the organisation.
    base_url : str, optional
        Endpoint override (else ``$INGU_KOSIS_BASE_URL``, else :data:`KOSIS_BASE`).
    echo : callable, optional
        Receives the one-line success message; ``None`` to stay quiet.

    Returns
    -------
    pathlib.Path
        The cached CSV.
    """
    key = api_key or os.environ.get(API_KEY_ENV)
    if not key:
        raise KosisError(_kosis_message("10", "", None, None), code="10")
    overrides = _parse_param_args(params)
    org_override = overrides.pop("orgId", None)
    known, org_id, tbl_id = _resolve_table(table)
    if org_override:
        org_id = org_override
    query: dict[str, Any] = dict(known.params) if known else {}
    if period is not None:
        query.pop("newEstPrdCnt", None)
        query.pop("startPrdDe", None)
        query.pop("endPrdDe", None)
        query.update(_period_params(period))
    query.update(overrides)
    result = _fetch(
        tbl_id,
        key,
        org_id=org_id,
        params=query,
        table_id_alias=known.alias if known else None,
        base_url=base_url,
        universe=known.universe if known else None,
        notes=known.notes if known else None,
    )
    if echo is not None:
        entry = result.entry
        echo(
            f"Fetched {entry['rows']:,} rows of {org_id}/{tbl_id} ({entry['title']}) as '{entry['id']}' "
            f"-> {result.csv_path}"
        )
    return result.csv_path


def tidy_records(records: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Turn KOSIS records into tidy rows.

    Parameters
    ----------
    records : sequence of mapping
        Records as KOSIS returns them (``PRD_DE``, ``ITM_ID``, ``ITM_NM``, ``UNIT_NM``, ``C1``, ``C1_NM`` …,
        ``DT``).

    Returns
    -------
    columns : list of str
        ``period, item_id, item, unit, c1_code, c1, …, value`` -- one ``cK_code, cK`` pair per classification
        level present in any record.
    rows : list of dict
        One per record; names are stripped, ``value`` is a float or ``None`` (KOSIS ``-``, ``…``, ``x``, blank).
    """
    levels = sorted({k for rec in records for k in range(1, 9) if rec.get(f"C{k}") not in (None, "")})
    columns = ["period", "item_id", "item", "unit"]
    for k in levels:
        columns += [f"c{k}_code", f"c{k}"]
    columns.append("value")
    rows = []
    for rec in records:
        row: dict[str, Any] = {
            "period": _text(rec.get("PRD_DE")),
            "item_id": _text(rec.get("ITM_ID")),
            "item": _text(rec.get("ITM_NM")),
            "unit": _text(rec.get("UNIT_NM")),
        }
        for k in levels:
            row[f"c{k}_code"] = _text(rec.get(f"C{k}"))
            row[f"c{k}"] = _text(rec.get(f"C{k}_NM"))
        row["value"] = _parse_value(rec.get("DT"))
        rows.append(row)
    return columns, rows


# -- the fetch -----------------------------------------------------------------------------------------------


@dataclass
class _Result:
    csv_path: Path
    json_path: Path
    entry: dict[str, Any]


def _fetch(
    tbl_id: str,
    api_key: str,
    *,
    org_id: str = "101",
    params: Mapping[str, Any] | None = None,
    table_id_alias: str | None = None,
    base_url: str | None = None,
    client: httpx.Client | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    title: str | None = None,
    universe: str | None = None,
    notes: str | None = None,
) -> _Result:
    tbl_id, org_id = str(tbl_id).strip(), str(org_id).strip()
    if not _TBL_ID.match(tbl_id):
        raise ValueError(f"tbl_id must be a KOSIS table id such as 'DT_1B04005N', got {tbl_id!r}")
    if not _ORG_ID.match(org_id):
        raise ValueError(f"org_id must be digits such as '101', got {org_id!r}")
    if not api_key or not str(api_key).strip():
        raise KosisError(_kosis_message("10", "", tbl_id, None), code="10", tbl_id=tbl_id)
    key = str(api_key).strip()
    if "%" in key:  # keys copied from a KOSIS sample URL arrive URL-encoded
        key = unquote(key)
    if retries < 0 or backoff < 0 or timeout <= 0:
        raise ValueError("retries and backoff must be >= 0 and timeout > 0")
    table_id = table_id_alias or f"kosis_{org_id}_{tbl_id.lower()}"
    if not _TABLE_ID.match(table_id):
        raise ValueError(f"table id must be letters, digits, '_', '-' or '.', got {table_id!r}")
    _refuse_shipped_id(table_id)
    query = _build_query(tbl_id, org_id, params or {})
    url = (base_url or os.environ.get(BASE_URL_ENV) or KOSIS_BASE).strip()

    with _key_redacted_in_logs(key), _http_client(client, timeout) as http:
        session = _Session(http, url, key, tbl_id, retries=retries, backoff=backoff)
        records = session.fetch(query)
    if not records:
        raise KosisError(_kosis_message("30", "", tbl_id, _redacted_url(url, session.final_query)), code="30",
                         tbl_id=tbl_id)

    columns, rows = tidy_records(records)
    csv_bytes = _csv_bytes(columns, rows)
    entry = _manifest_entry(
        table_id=table_id,
        tbl_id=tbl_id,
        org_id=org_id,
        url=url,
        query=session.final_query,
        records=records,
        columns=columns,
        rows=rows,
        csv_bytes=csv_bytes,
        title=title,
        universe=universe,
        notes=[notes or "", *session.notes],
    )
    json_bytes = (json.dumps(entry, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    written = csv_bytes.decode("utf-8") + json_bytes.decode("utf-8")
    if len(key) >= 8 and any(form in written for form in _key_forms(key)):
        raise KosisError(f"KOSIS table {tbl_id}: refusing to cache a response that echoes the API key",
                         tbl_id=tbl_id)

    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = folder / f"{table_id}.csv", folder / f"{table_id}.json"
    # The manifest goes last: a reader that sees <id>.json can trust <id>.csv is complete.
    _replace_atomically([(csv_path, csv_bytes), (json_path, json_bytes)])
    logger.info("cached KOSIS %s/%s as %s (%d rows)", org_id, tbl_id, csv_path, len(rows))
    return _Result(csv_path, json_path, entry)


class _Session:
    """Sends the requests of one fetch: retries, err-31 splitting and objL discovery."""

    def __init__(self, http: httpx.Client, url: str, key: str, tbl_id: str, *, retries: int, backoff: float):
        self.http, self.url, self.key, self.tbl_id = http, url, key, tbl_id
        self.retries, self.backoff = retries, backoff
        self.requests = 0
        self.splits = 0
        self.notes: list[str] = []
        self.final_query: dict[str, str] = {}

    def fetch(self, query: dict[str, str]) -> list[dict[str, Any]]:
        query = dict(query)
        while True:
            try:
                records = self._fetch_split(query)
            except _MissingObjLevel:
                level = _next_obj_level(query)
                if level is None:
                    raise KosisError(
                        _kosis_message("20", "(objL)", self.tbl_id, self._shown(query))
                        + " All 8 objL levels are already set.",
                        code="20",
                        tbl_id=self.tbl_id,
                    ) from None
                query[level] = "ALL"
                self.notes.append(f"KOSIS asked for more classification levels; {level}=ALL was added.")
                continue
            self.final_query = query
            if self.splits:
                self.notes.append(
                    f"KOSIS's {CELL_LIMIT:,}-cell limit split the query into {self.splits + 1} requests."
                )
            return records

    def _fetch_split(self, query: dict[str, str]) -> list[dict[str, Any]]:
        try:
            return self._get(query)
        except _CellLimit as exc:
            halves = _split_query(query)
            if halves is None:
                raise KosisError(
                    _kosis_message("31", exc.message, self.tbl_id, self._shown(query))
                    + " The query cannot be split further: give explicit code lists instead of ALL "
                    "(e.g. --param 'objL1=11 26 27'), or fewer items.",
                    code="31",
                    tbl_id=self.tbl_id,
                ) from None
            self.splits += 1
            logger.info("KOSIS err 31 for %s; splitting into %s and %s", self.tbl_id,
                        _describe_part(halves[0]), _describe_part(halves[1]))
            return [rec for half in halves for rec in self._fetch_part(half)]

    def _fetch_part(self, query: dict[str, str]) -> list[dict[str, Any]]:
        # A range wider than the table's coverage is split into parts KOSIS may hold nothing for (err 30);
        # that is an empty part, not a failure. A wholly empty result is still reported by the caller.
        try:
            return self._fetch_split(query)
        except KosisError as exc:
            if exc.code != "30":
                raise
            self.notes.append(f"KOSIS holds no data for {_describe_part(query)}.")
            return []

    def _get(self, query: dict[str, str]) -> list[dict[str, Any]]:
        last_problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(self.backoff * 2 ** (attempt - 1), _MAX_BACKOFF_S))
            self.requests += 1
            if self.requests > _MAX_REQUESTS:
                raise KosisError(
                    f"KOSIS table {self.tbl_id}: gave up after {_MAX_REQUESTS} requests; narrow the query.",
                    tbl_id=self.tbl_id,
                )
            try:
                response = self.http.get(self.url, params={**query, "apiKey": self.key})
            except httpx.TimeoutException:
                last_problem = "the request timed out"
                continue
            except httpx.TransportError as exc:
                last_problem = f"network error ({type(exc).__name__}: {self._redact(str(exc))})"
                continue
            if response.status_code in _RETRY_STATUS:
                last_problem = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                raise KosisError(
                    f"KOSIS table {self.tbl_id}: HTTP {response.status_code} from {self._shown(query)}"
                    + (" (an HTML error page: check the endpoint URL)" if b"<html" in response.content[:500].lower()
                       else ""),
                    tbl_id=self.tbl_id,
                )
            try:
                payload = _parse_body(response.content, self.tbl_id, self._shown(query))
            except KosisError as exc:
                raise KosisError(self._redact(str(exc)), tbl_id=self.tbl_id) from None
            if isinstance(payload, list):
                return payload
            code, message = payload[0], self._redact(payload[1])
            if code in _RETRY_KOSIS:
                last_problem = f"KOSIS err {code} ({message})"
                continue
            if code == "31":
                raise _CellLimit(message)
            if code == "20" and "objl" in message.lower():
                raise _MissingObjLevel(message)
            raise KosisError(_kosis_message(code, message, self.tbl_id, self._shown(query)), code=code,
                             tbl_id=self.tbl_id)
        raise KosisError(
            f"KOSIS table {self.tbl_id}: no usable answer after {self.retries + 1} attempts; last problem: "
            f"{last_problem}. Request: {self._shown(query)}",
            code="50" if last_problem.startswith("KOSIS err 50") else None,
            tbl_id=self.tbl_id,
        )

    def _shown(self, query: Mapping[str, str]) -> str:
        return _redacted_url(self.url, query)

    def _redact(self, text: str) -> str:
        return _redact(text, self.key)


class _MissingObjLevel(Exception):
    """err 20 "(objL)": the table has more classification levels than the query declares."""


# -- query building and splitting ----------------------------------------------------------------------------


def _build_query(tbl_id: str, org_id: str, params: Mapping[str, Any]) -> dict[str, str]:
    clashing = sorted(set(params) & _CLIENT_PARAMS)
    if clashing:
        raise ValueError(
            f"{', '.join(clashing)} are set by the client (the key is the api_key argument; orgId/tblId are "
            "org_id/tbl_id); remove them from params"
        )
    unknown = sorted(set(params) - _USER_PARAMS)
    if unknown:
        raise ValueError(f"unknown KOSIS parameter(s) {', '.join(unknown)}; expected some of "
                         f"{', '.join(sorted(_USER_PARAMS))}")
    query: dict[str, str] = {"method": "getList", "format": "json", "jsonVD": "Y", "orgId": org_id,
                             "tblId": tbl_id}
    for name in ("itmId", *_OBJ_LEVELS):
        if name in params and params[name] not in (None, ""):
            query[name] = _encode_codes(params[name])
    query.setdefault("itmId", "ALL")
    query.setdefault("objL1", "ALL")
    levels = [lvl for lvl in _OBJ_LEVELS if lvl in query]
    if levels != list(_OBJ_LEVELS[: len(levels)]):
        raise ValueError(f"objL levels must be consecutive from objL1, got {', '.join(levels)}")
    for name in ("prdSe", "startPrdDe", "endPrdDe", "newEstPrdCnt", "prdInterval"):
        if name in params and params[name] not in (None, ""):
            query[name] = str(params[name]).strip()
    if "endPrdDe" in query and "startPrdDe" not in query:
        raise ValueError("endPrdDe needs startPrdDe")
    if "startPrdDe" in query:
        query.setdefault("endPrdDe", query["startPrdDe"])
        query.pop("newEstPrdCnt", None)
        if not query["startPrdDe"].isdigit() or not query["endPrdDe"].isdigit():
            raise ValueError(f"periods must be digits (2024, 202412), got {query['startPrdDe']!r}/"
                             f"{query['endPrdDe']!r}")
        if len(query["startPrdDe"]) != len(query["endPrdDe"]) or query["startPrdDe"] > query["endPrdDe"]:
            raise ValueError(f"startPrdDe {query['startPrdDe']} must not come after endPrdDe {query['endPrdDe']}")
    else:
        query.setdefault("newEstPrdCnt", "1")
    if "prdSe" not in query:
        if len(query.get("startPrdDe", "")) == 4:
            query["prdSe"] = "Y"
        else:
            raise ValueError("prdSe is required (Y yearly, H half-year, Q quarterly, M monthly, F multi-year…)")
    width = _PERIOD_WIDTH.get(query["prdSe"])
    if width and "startPrdDe" in query and len(query["startPrdDe"]) != width:
        raise ValueError(
            f"prdSe={query['prdSe']} takes {width}-digit periods, got {query['startPrdDe']!r}; "
            "set prdSe to match (e.g. --param prdSe=M for 202412)"
        )
    return query


def _encode_codes(value: Any) -> str:
    """A code list as KOSIS's own URL builder writes it: codes joined by '+', with a trailing '+'."""
    codes = _split_codes(value)
    if not codes:
        raise ValueError(f"empty code list {value!r}")
    if codes == ["ALL"]:
        return "ALL"
    return " ".join(codes) + " "  # httpx encodes ' ' as '+'


def _split_codes(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        parts = [str(v) for v in value]
    else:
        parts = [str(value)]
    return [code for part in parts for code in re.split(r"[\s+,]+", part) if code]


def _split_query(query: dict[str, str]) -> tuple[dict[str, str], dict[str, str]] | None:
    """Two queries that together ask for what ``query`` asks for, or ``None`` when it cannot be halved."""
    periods = _period_span(query)
    if periods is not None and len(periods) > 1:
        mid = len(periods) // 2
        return (
            {**query, "startPrdDe": periods[0], "endPrdDe": periods[mid - 1]},
            {**query, "startPrdDe": periods[mid], "endPrdDe": periods[-1]},
        )
    lists = {name: _split_codes(query[name]) for name in _CODE_LIST_PARAMS if name in query}
    lists = {name: codes for name, codes in lists.items() if len(codes) > 1 and "ALL" not in codes}
    if not lists:
        return None
    name = max(lists, key=lambda n: len(lists[n]))
    codes = lists[name]
    mid = len(codes) // 2
    return {**query, name: _encode_codes(codes[:mid])}, {**query, name: _encode_codes(codes[mid:])}


def _period_span(query: Mapping[str, str]) -> list[str] | None:
    """Every period code from startPrdDe to endPrdDe, or ``None`` when the cycle is not enumerable."""
    start, end, cycle = query.get("startPrdDe"), query.get("endPrdDe"), query.get("prdSe", "")
    if not start or not end:
        return None
    per_year = {"Y": 1, "H": 2, "Q": 4, "M": 12}.get(cycle)
    width = 4 if cycle == "Y" else 6
    if per_year is None or len(start) != width or len(end) != width or not (start + end).isdigit():
        return None

    def index(code: str) -> int | None:
        year, sub = int(code[:4]), int(code[4:] or 1)
        return year * per_year + sub - 1 if 1 <= sub <= per_year else None

    first, last = index(start), index(end)
    if first is None or last is None or last < first or last - first > 10_000:
        return None
    if cycle == "Y":
        return [str(i) for i in range(first, last + 1)]
    return [f"{i // per_year:04d}{i % per_year + 1:02d}" for i in range(first, last + 1)]


def _next_obj_level(query: Mapping[str, str]) -> str | None:
    return next((lvl for lvl in _OBJ_LEVELS if lvl not in query), None)


def _describe_part(query: Mapping[str, str]) -> str:
    if "startPrdDe" in query:
        return f"{query['startPrdDe']}-{query['endPrdDe']}"
    return "a code subset"


# -- response parsing ----------------------------------------------------------------------------------------


def _parse_body(raw: bytes, tbl_id: str, shown_url: str) -> list[dict[str, Any]] | tuple[str, str]:
    """Records (a list), or ``(code, message)`` for a KOSIS error envelope; raise on anything else."""

    def unreadable(why: str, text: str = "") -> KosisError:
        excerpt = f" Body starts: {text[:120]!r}" if text else ""
        return KosisError(
            f"KOSIS table {tbl_id}: 응답을 해석할 수 없습니다 / unreadable response ({why}).{excerpt} "
            f"Request: {shown_url}",
            tbl_id=tbl_id,
        )

    text = _decode(raw)
    if text is None:
        raise unreadable("not UTF-8 text")
    body = text.strip()
    if not body:
        raise unreadable("empty body; KOSIS answers an empty body when 'method' is missing")
    if body.startswith("<"):
        match = re.search(r"<err>\s*(\d+)\s*</err>", body)
        if match:
            msg = re.search(r"<errMsg>(.*?)</errMsg>", body, re.S)
            return match.group(1), (msg.group(1).strip() if msg else "")
        raise unreadable("HTML or XML instead of JSON", _redact_excerpt(body))
    try:
        payload = json.loads(body)
    except json.JSONDecodeError:
        try:  # jsonVD missing or ignored: a JavaScript literal with bare keys
            payload = json.loads(_quote_bare_keys(body))
        except json.JSONDecodeError:
            raise unreadable("not valid JSON; truncated or garbled", _redact_excerpt(body)) from None
    if isinstance(payload, dict):
        if "err" in payload:
            return str(payload["err"]).strip(), str(payload.get("errMsg") or "").strip()
        raise unreadable("a JSON object without 'err' where an array of records was expected")
    if not isinstance(payload, list):
        raise unreadable(f"a JSON {type(payload).__name__} where an array of records was expected")
    bad = next((i for i, rec in enumerate(payload) if not isinstance(rec, dict) or "DT" not in rec
                or "PRD_DE" not in rec), None)
    if bad is not None:
        raise unreadable(f"record {bad} lacks the DT/PRD_DE fields of a KOSIS data record")
    return payload


def _decode(raw: bytes) -> str | None:
    for encoding in ("utf-8-sig", "cp949"):  # KOSIS sends UTF-8; cp949 covers old mirrors and proxies
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _quote_bare_keys(text: str) -> str:
    """Quote the bare object keys of a JavaScript literal (``{ORG_ID:"101"}``), leaving strings intact."""
    out: list[str] = []
    i, n = 0, len(text)
    expect_key = False
    while i < n:
        ch = text[i]
        if ch in "\"'":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            literal = text[i : j + 1]
            if ch == "'":  # single-quoted JS string -> JSON string
                literal = json.dumps(literal[1:-1].replace("\\'", "'"), ensure_ascii=False)
            out.append(literal)
            i = j + 1
            expect_key = False
            continue
        if ch in "{,":
            expect_key = True
            out.append(ch)
            i += 1
            continue
        if expect_key and (ch.isalpha() or ch in "_$"):
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_$"):
                j += 1
            k = j
            while k < n and text[k].isspace():
                k += 1
            if k < n and text[k] == ":":
                out.append(f'"{text[i:j]}"')
                i = j
                expect_key = False
                continue
        if not ch.isspace():
            expect_key = False
        out.append(ch)
        i += 1
    return "".join(out)


def _parse_value(raw: Any) -> float | None:
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw)
    text = str(raw).strip().replace(",", "")
    if text in _NULL_SYMBOLS:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# -- outputs -------------------------------------------------------------------------------------------------


def _csv_bytes(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    import polars as pl  # heavy import kept lazy

    schema = {name: (pl.Float64 if name == "value" else pl.String) for name in columns}
    frame = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    return frame.write_csv().encode("utf-8")


def _manifest_entry(
    *,
    table_id: str,
    tbl_id: str,
    org_id: str,
    url: str,
    query: Mapping[str, str],
    records: Sequence[Mapping[str, Any]],
    columns: list[str],
    rows: list[dict[str, Any]],
    csv_bytes: bytes,
    title: str | None,
    universe: str | None,
    notes: list[str],
) -> dict[str, Any]:
    kosis_title = next((t for rec in records if (t := _text(rec.get("TBL_NM")))), None)
    title = title or kosis_title or tbl_id
    periods = sorted({row["period"] for row in rows if row["period"]})
    years = sorted({int(p[:4]) for p in periods if p[:4].isdigit()})
    year: int | str = years[0] if len(years) == 1 else f"{years[0]}–{years[-1]}" if years else ""
    units = sorted({row["unit"] for row in rows if row["unit"]})
    span = periods[0] if len(periods) == 1 else f"{periods[0]}–{periods[-1]}" if periods else "?"
    dims = []
    for k in range(1, 9):
        name = next((n for rec in records if (n := _text(rec.get(f"C{k}_OBJ_NM")))), None)
        if name and f"c{k}" in columns:
            dims.append(f"c{k} = {name}")
    symbols = Counter(_text(rec.get("DT")) or "" for rec in records if _parse_value(rec.get("DT")) is None)
    changed = max((d for rec in records if (d := _text(rec.get("LST_CHN_DE")))), default=None)
    lines = [n for n in notes if n]
    lines.append(f"Periods fetched: {', '.join(periods) if len(periods) <= 12 else span}.")
    if dims:
        lines.append("Classifications: " + "; ".join(dims) + ".")
    if symbols:
        shown = ", ".join(f"{count} as {sym!r}" for sym, count in symbols.most_common())
        lines.append(f"Cells KOSIS published without a number are null ({shown}).")
    if changed:
        lines.append(f"KOSIS last changed the data on {changed}.")
    public_query = {k: v.strip() if isinstance(v, str) else v for k, v in query.items()}
    return {
        "id": table_id,
        "title": title,
        "agency": AGENCY,
        "table_id": tbl_id,
        "org_id": org_id,
        "year": year,
        "universe": universe or f"as defined by KOSIS table {org_id}/{tbl_id} ({title})",
        "unit": units[0] if len(units) == 1 else "; ".join(units) + " (see the unit column)" if units else "",
        "licence": LICENCE,
        "attribution": (
            f"출처: KOSIS 국가통계포털, 「{title}」 (orgId {org_id}, {tbl_id}), {span}. "
            "공공누리 제1유형(출처표시) / Source: Statistics Korea, KOSIS, KOGL Type 1."
        ),
        "upstream_path": _redacted_url(url, query, with_key=False),
        "notes": " ".join(lines),
        "fetched_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "sha256": hashlib.sha256(csv_bytes).hexdigest(),
        "rows": len(rows),
        "columns": columns,
        "query": public_query,
        "file": f"{table_id}.csv",
        # Codes such as "00" or "0" are labels, not numbers: the loader must keep them as text.
        "string_columns": [c for c in columns if c != "value"],
        "builder": "ingu.reference.kosis",
    }


def _replace_atomically(files: Sequence[tuple[Path, bytes]]) -> None:
    """Stage every file as a temp file in its folder, then ``os.replace`` them in order."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, data in files:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for tmp, path in staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def _refuse_shipped_id(table_id: str) -> None:
    """A raw KOSIS table must not shadow a curated shipped table of another shape."""
    try:
        from ingu.reference.manifest import load_manifest  # lazy: keeps this module importable on its own

        ids = {entry.id for entry in load_manifest()}
    except (ImportError, OSError, ValueError):  # no manifest yet, or an unreadable one: nothing to shadow
        return
    if table_id in ids:
        raise ValueError(
            f"'{table_id}' is a shipped reference table; a KOSIS fetch would shadow it with a table of another "
            "shape. Pick another alias."
        )


# -- CLI helpers ---------------------------------------------------------------------------------------------


def _resolve_table(table: str) -> tuple[KnownTable | None, str, str]:
    name = table.strip()
    if name in KNOWN_TABLES:
        known = KNOWN_TABLES[name]
        return known, known.org_id, known.tbl_id
    org_id = "101"
    match = re.match(r"^(\d+)[/:](\w+)$", name)
    if match:
        org_id, name = match.groups()
    if not _TBL_ID.match(name):
        raise ValueError(
            f"unknown table {table!r}: give a KOSIS table id (DT_1B04005N), ORG/TBL (101/DT_1B04005N) or one "
            f"of {', '.join(sorted(KNOWN_TABLES))}"
        )
    matches = [t for t in KNOWN_TABLES.values() if t.tbl_id == name and t.org_id == org_id]
    return (matches[0] if len(matches) == 1 else None), org_id, name


def _parse_param_args(params: Sequence[str]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for item in params or ():
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--param takes KEY=VALUE (e.g. 'objL1=11 26'), got {item!r}")
        parsed[key] = value.strip()
    return parsed


def _period_params(period: str) -> dict[str, str]:
    text = period.strip().lower()
    match = re.match(r"^(?:latest|recent)(?::(\d+))?$", text)
    if match:
        return {"newEstPrdCnt": match.group(1) or "1"}
    match = re.match(r"^(\d{4,8})(?:\s*(?:-|:|\.\.|~)\s*(\d{4,8}))?$", text)
    if not match:
        raise ValueError(f"period must look like 2024, 2020-2024, 202401-202412 or latest:3, got {period!r}")
    start, end = match.group(1), match.group(2) or match.group(1)
    return {"startPrdDe": start, "endPrdDe": end}


# -- key hygiene ---------------------------------------------------------------------------------------------


def _key_forms(key: str) -> set[str]:
    return {form for form in (key, quote_plus(key), quote(key, safe="")) if form}


def _redact(text: str, key: str) -> str:
    for form in sorted(_key_forms(key), key=len, reverse=True):
        text = text.replace(form, "***")
    return text


def _redacted_url(url: str, query: Mapping[str, str], *, with_key: bool = True) -> str:
    shown = dict(query)
    if with_key:
        shown["apiKey"] = "***"
    return f"{url}?{urlencode(shown, safe='*')}" if shown else url


def _redact_excerpt(body: str) -> str:
    return re.sub(r"(apiKey=)[^&\s\"']+", r"\1***", body[:200])


class _KeyFilter(logging.Filter):
    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _redact(message, self.key)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


@contextlib.contextmanager
def _key_redacted_in_logs(key: str) -> Iterator[None]:
    """Mask the key in httpx's request log lines (they carry the full URL) while a fetch runs."""
    key_filter = _KeyFilter(key)
    loggers = [logging.getLogger(name) for name in ("httpx", __name__)]
    for each in loggers:
        each.addFilter(key_filter)
    try:
        yield
    finally:
        for each in loggers:
            each.removeFilter(key_filter)


@contextlib.contextmanager
def _http_client(client: httpx.Client | None, timeout: float) -> Iterator[httpx.Client]:
    if client is not None:
        yield client
        return
    from ingu import __version__

    with httpx.Client(timeout=timeout, follow_redirects=True,
                      headers={"User-Agent": f"ingu/{__version__} (+KOSIS OpenAPI)"}) as owned:
        yield owned


def _kosis_message(code: str, message: str, tbl_id: str | None, shown_url: str | None) -> str:
    korean, english = ERROR_MESSAGES.get(code, ("알 수 없는 오류", "unknown KOSIS error code"))
    where = f"KOSIS table {tbl_id}: " if tbl_id else "KOSIS: "
    said = f" KOSIS said: {message}" if message else ""
    request = f" Request: {shown_url}" if shown_url else ""
    return f"{where}err {code} {korean} / {english}.{said}{request}"
