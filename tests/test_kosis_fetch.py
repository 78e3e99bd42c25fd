"""ingu.reference.kosis against a local replay of the KOSIS OpenAPI (no internet).

A real HTTP server on 127.0.0.1 serves the KOSIS-format fixtures in ``tests/kosis_replay/``; each test sets a
responder that decides, from the query string, what KOSIS would have answered.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ingu.reference import kosis
from ingu.reference.kosis import KosisError, fetch_command, fetch_table

REPLAY = Path(__file__).parent / "kosis_replay"
API_KEY = "ZmFrZS1rb3Npcy1rZXktZm9yLXRlc3Rz/+ingu=="  # base64-like, with characters that URL-encode
ENDPOINT = "/openapi/Param/statisticsParameterData.do"

Reply = tuple[int, bytes]


def fixture(name: str) -> bytes:
    return (REPLAY / name).read_bytes()


def ok(name: str) -> Reply:
    return 200, fixture(name)


@dataclass
class ReplayServer:
    url: str
    requests: list[dict[str, str]] = field(default_factory=list)
    responder: Callable[[dict[str, str]], Reply] = lambda q: ok("err_30.json")
    delay_first: float = 0.0


@pytest.fixture
def kosis_server() -> Iterator[ReplayServer]:
    state = ReplayServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            state.requests.append(query)
            if len(state.requests) == 1 and state.delay_first:
                time.sleep(state.delay_first)
            status, body = (404, b"<html>not found</html>") if parts.path != ENDPOINT else state.responder(query)
            self.send_response(status)
            self.send_header("Content-Type", "text/html;charset=UTF-8")  # what KOSIS sends, even for JSON
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client that timed out closes the socket under a sleeping handler

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}{ENDPOINT}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("INGU_CACHE_DIR", str(folder))
    monkeypatch.delenv("KOSIS_API_KEY", raising=False)
    monkeypatch.delenv("INGU_KOSIS_BASE_URL", raising=False)
    return folder


def by_year(query: dict[str, str]) -> Reply:
    if query.get("startPrdDe") != query.get("endPrdDe"):
        return ok("err_31.json")
    name = f"DT_1B04005N_{query.get('startPrdDe')}.json"
    return ok(name) if (REPLAY / name).exists() else ok("err_30.json")


def fetch_2024(server: ReplayServer, **kwargs: object) -> Path:
    params = {"itmId": "T2 T3 T4", "objL1": "00", "objL2": "ALL", "prdSe": "Y", "startPrdDe": "2024"}
    return fetch_table("DT_1B04005N", API_KEY, params=kwargs.pop("params", params),
                       table_id_alias=kwargs.pop("table_id_alias", "kosis_test_pop"), base_url=server.url,
                       backoff=0, **kwargs)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# -- success -------------------------------------------------------------------------------------------------


def test_fetch_writes_tidy_csv_and_manifest(kosis_server: ReplayServer, cache: Path) -> None:
    kosis_server.responder = lambda q: ok("DT_1B04005N_2024.json")

    path = fetch_2024(kosis_server)

    assert path == cache / "kosis_test_pop.csv"
    rows = read_csv(path)
    assert list(rows[0]) == ["period", "item_id", "item", "unit", "c1_code", "c1", "c2_code", "c2", "value"]
    assert len(rows) == 12
    first = rows[0]
    assert first == {"period": "2024", "item_id": "T2", "item": "총인구수", "unit": "명", "c1_code": "00",
                     "c1": "전국", "c2_code": "0", "c2": "계", "value": "51200000.0"}
    male_100 = next(r for r in rows if r["item_id"] == "T3" and r["c2_code"] == "105")
    assert male_100["value"] == ""  # KOSIS '-' becomes null

    entry = json.loads((cache / "kosis_test_pop.json").read_text("utf-8"))
    assert entry["id"] == "kosis_test_pop"
    assert entry["title"] == "행정구역(읍면동)별/5세별 주민등록인구(2011년~)"
    assert entry["agency"] == "통계청 (KOSIS OpenAPI)"
    assert entry["table_id"] == "DT_1B04005N"
    assert entry["org_id"] == "101"
    assert entry["year"] == 2024
    assert entry["unit"] == "명"
    assert entry["licence"] == "KOGL type 1"
    assert "KOSIS" in entry["attribution"]
    assert entry["rows"] == 12
    assert entry["columns"] == list(rows[0])
    assert entry["file"] == "kosis_test_pop.csv"
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert entry["query"] == {"method": "getList", "format": "json", "jsonVD": "Y", "orgId": "101",
                              "tblId": "DT_1B04005N", "itmId": "T2 T3 T4", "objL1": "00", "objL2": "ALL",
                              "prdSe": "Y", "startPrdDe": "2024", "endPrdDe": "2024"}
    assert entry["upstream_path"].startswith(kosis_server.url + "?")
    assert "apiKey" not in entry["upstream_path"]
    assert "itmId=T2+T3+T4+" in entry["upstream_path"]
    assert "1 as '-'" in entry["notes"] and "2025-01-14" in entry["notes"]
    assert entry["fetched_at"].endswith("Z")

    (sent,) = kosis_server.requests
    assert sent["apiKey"] == API_KEY
    assert sent["method"] == "getList" and sent["format"] == "json" and sent["jsonVD"] == "Y"
    assert sent["itmId"] == "T2 T3 T4 "  # KOSIS's own URLs end code lists with '+'
    assert not list(cache.glob("*.tmp")) and not list(cache.glob(".*"))


def test_api_key_is_never_written_or_logged(kosis_server: ReplayServer, cache: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    kosis_server.responder = lambda q: ok("DT_1B04005N_2024.json")
    caplog.set_level(logging.DEBUG)

    fetch_2024(kosis_server)

    forms = {API_KEY, "ZmFrZS1rb3Npcy1rZXktZm9yLXRlc3Rz%2F%2Bingu%3D%3D", "ZmFrZS1rb3Npcy1rZXktZm9yLXRlc3Rz"}
    for written in cache.iterdir():
        text = written.read_text("utf-8")
        assert not any(form in text for form in forms), written.name
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx did log the request…
    assert not any(form in caplog.text for form in forms)  # …with the key masked
    assert "apiKey=***" in caplog.text


def test_non_strict_json_is_parsed(kosis_server: ReplayServer, cache: Path) -> None:
    kosis_server.responder = lambda q: ok("DT_1PM2003_2020_nonstrict.txt")

    path = fetch_table("DT_1PM2003", API_KEY, params={"prdSe": "F", "startPrdDe": "2020", "objL1": "00",
                                                      "objL2": "ALL"},
                       base_url=kosis_server.url, backoff=0)

    assert path.name == "kosis_101_dt_1pm2003.csv"
    rows = read_csv(path)
    assert [r["value"] for r in rows] == ["1234567.0", ""]  # thousands separator; suppressed 'X' is null
    assert rows[0]["item"] == "미혼: 대학교(4년제 이상)"
    entry = json.loads(path.with_suffix(".json").read_text("utf-8"))
    assert entry["title"].startswith("성, 연령, 혼인상태")
    assert "1 as 'X'" in entry["notes"]


def test_base_url_from_environment(kosis_server: ReplayServer, cache: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    kosis_server.responder = lambda q: ok("DT_1B04005N_2024.json")
    monkeypatch.setenv("INGU_KOSIS_BASE_URL", kosis_server.url)

    fetch_table("DT_1B04005N", API_KEY, params={"prdSe": "Y", "startPrdDe": "2024"}, table_id_alias="env_pop",
                backoff=0)

    assert len(kosis_server.requests) == 1
    assert (cache / "env_pop.json").is_file()


# -- KOSIS errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture_name", "code", "korean", "english"),
    [
        ("err_20.json", "20", "필수요청변수 누락", "required request parameter is missing"),
        ("err_30.json", "30", "조회결과 없음", "no data"),
        ("err_30_nonstrict.txt", "30", "조회결과 없음", "no data"),
    ],
)
def test_kosis_errors_are_clear(kosis_server: ReplayServer, cache: Path, fixture_name: str, code: str,
                                korean: str, english: str) -> None:
    kosis_server.responder = lambda q: ok(fixture_name)

    with pytest.raises(KosisError) as caught:
        fetch_2024(kosis_server)

    error = caught.value
    message = str(error)
    assert error.code == code and error.tbl_id == "DT_1B04005N"
    assert f"err {code}" in message and korean in message and english in message
    assert "DT_1B04005N" in message
    assert "apiKey=***" in message and API_KEY not in message and "ZmFrZS1rb3Npcy1r" not in message
    assert len(kosis_server.requests) == 1  # not retried
    assert not cache.exists() or not any(cache.iterdir())


def test_missing_objl_level_is_added(kosis_server: ReplayServer, cache: Path) -> None:
    kosis_server.responder = lambda q: ok("DT_1B04005N_2024.json") if "objL2" in q else ok("err_20_objl.json")

    path = fetch_table("DT_1B04005N", API_KEY, params={"prdSe": "Y", "startPrdDe": "2024", "objL1": "00"},
                       table_id_alias="objl_pop", base_url=kosis_server.url, backoff=0)

    assert [("objL2" in q) for q in kosis_server.requests] == [False, True]
    assert kosis_server.requests[1]["objL2"] == "ALL"
    entry = json.loads(path.with_suffix(".json").read_text("utf-8"))
    assert entry["query"]["objL2"] == "ALL"
    assert "objL2=ALL was added" in entry["notes"]


# -- retries -----------------------------------------------------------------------------------------------------


def test_http_500_then_success_is_retried(kosis_server: ReplayServer, cache: Path) -> None:
    replies = iter([(500, fixture("server_error.html")), ok("DT_1B04005N_2024.json")])
    kosis_server.responder = lambda q: next(replies)

    path = fetch_2024(kosis_server)

    assert len(kosis_server.requests) == 2
    assert len(read_csv(path)) == 12


def test_kosis_err_50_is_retried(kosis_server: ReplayServer, cache: Path) -> None:
    replies = iter([ok("err_50.json"), ok("DT_1B04005N_2024.json")])
    kosis_server.responder = lambda q: next(replies)

    fetch_2024(kosis_server)

    assert len(kosis_server.requests) == 2


def test_timeout_is_retried(kosis_server: ReplayServer, cache: Path) -> None:
    kosis_server.delay_first = 1.0
    kosis_server.responder = lambda q: ok("DT_1B04005N_2024.json")

    fetch_2024(kosis_server, timeout=0.25)

    assert len(kosis_server.requests) == 2


def test_retries_are_bounded(kosis_server: ReplayServer, cache: Path) -> None:
    kosis_server.responder = lambda q: (503, b"unavailable")

    with pytest.raises(KosisError, match=r"after 3 attempts; last problem: HTTP 503") as caught:
        fetch_2024(kosis_server, retries=2)

    assert len(kosis_server.requests) == 3
    assert API_KEY not in str(caught.value)


# -- the 40,000-cell limit -------------------------------------------------------------------------------------


def test_err_31_splits_the_period_range(kosis_server: ReplayServer, cache: Path) -> None:
    kosis_server.responder = by_year

    path = fetch_2024(kosis_server, params={"itmId": "T2 T3 T4", "objL1": "00", "objL2": "ALL", "prdSe": "Y",
                                            "startPrdDe": "2023", "endPrdDe": "2024"})

    spans = [(q["startPrdDe"], q["endPrdDe"]) for q in kosis_server.requests]
    assert spans == [("2023", "2024"), ("2023", "2023"), ("2024", "2024")]
    rows = read_csv(path)
    assert sorted({r["period"] for r in rows}) == ["2023", "2024"]
    assert len(rows) == 24
    entry = json.loads(path.with_suffix(".json").read_text("utf-8"))
    assert entry["year"] == "2023–2024"
    assert entry["query"]["startPrdDe"] == "2023" and entry["query"]["endPrdDe"] == "2024"
    assert "split the query into 2 requests" in entry["notes"]


def test_err_31_split_tolerates_parts_without_data(kosis_server: ReplayServer, cache: Path) -> None:
    kosis_server.responder = by_year  # there is no 2022 fixture: KOSIS answers err 30 for it

    path = fetch_2024(kosis_server, params={"itmId": "T2 T3 T4", "objL1": "00", "objL2": "ALL", "prdSe": "Y",
                                            "startPrdDe": "2022", "endPrdDe": "2024"})

    assert sorted({r["period"] for r in read_csv(path)}) == ["2023", "2024"]
    assert "no data for 2022-2022" in json.loads(path.with_suffix(".json").read_text("utf-8"))["notes"]


def test_err_31_splits_an_explicit_code_list(kosis_server: ReplayServer, cache: Path) -> None:
    records = json.loads(fixture("DT_1B04005N_2024.json"))

    def one_item_at_a_time(query: dict[str, str]) -> Reply:
        items = query["itmId"].split()
        if len(items) > 1:
            return ok("err_31.json")
        body = [r for r in records if r["ITM_ID"] == items[0]]
        return 200, json.dumps(body, ensure_ascii=False).encode("utf-8")

    kosis_server.responder = one_item_at_a_time

    path = fetch_2024(kosis_server)

    assert [q["itmId"].strip() for q in kosis_server.requests] == ["T2 T3 T4", "T2", "T3 T4", "T3", "T4"]
    assert [r["item_id"] for r in read_csv(path)] == ["T2"] * 4 + ["T3"] * 4 + ["T4"] * 4


def test_err_31_that_cannot_be_split_is_explained(kosis_server: ReplayServer, cache: Path) -> None:
    kosis_server.responder = lambda q: ok("err_31.json")

    with pytest.raises(KosisError, match="cannot be split further") as caught:
        fetch_2024(kosis_server, params={"itmId": "ALL", "objL1": "ALL", "objL2": "ALL", "prdSe": "Y",
                                         "startPrdDe": "2024"})

    assert caught.value.code == "31"
    assert "40,000" in str(caught.value) and "조회결과 초과" in str(caught.value)


# -- unreadable answers leave the cache alone --------------------------------------------------------------------


@pytest.mark.parametrize("body", [fixture("truncated.json"), b"", b"\xff\xfe\x00garbage\x81",
                                  b'{"unexpected": "object"}'])
def test_unreadable_body_is_a_clear_error_and_writes_nothing(kosis_server: ReplayServer, cache: Path,
                                                             body: bytes) -> None:
    kosis_server.responder = lambda q: (200, body)

    with pytest.raises(KosisError, match="unreadable response") as caught:
        fetch_2024(kosis_server)

    assert "DT_1B04005N" in str(caught.value) and API_KEY not in str(caught.value)
    assert not cache.exists() or not any(cache.iterdir())


def test_failed_refresh_keeps_the_previous_cache(kosis_server: ReplayServer, cache: Path) -> None:
    kosis_server.responder = lambda q: ok("DT_1B04005N_2024.json")
    path = fetch_2024(kosis_server)
    before = {p.name: p.read_bytes() for p in cache.iterdir()}

    kosis_server.responder = lambda q: ok("truncated.json")
    with pytest.raises(KosisError):
        fetch_2024(kosis_server)

    assert {p.name: p.read_bytes() for p in cache.iterdir()} == before
    assert path.exists()


# -- the CLI entry point -------------------------------------------------------------------------------------


def test_fetch_command_uses_known_defaults_and_env(kosis_server: ReplayServer, cache: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    kosis_server.responder = lambda q: ok("DT_1B04005N_2024.json")
    monkeypatch.setenv("KOSIS_API_KEY", API_KEY)
    monkeypatch.setenv("INGU_KOSIS_BASE_URL", kosis_server.url)
    said: list[str] = []

    path = fetch_command("DT_1B04005N", None, "2024", ["objL1=00 11"], echo=said.append)

    assert path == cache / "kosis_resident_pop_sex_age5.csv"
    (sent,) = kosis_server.requests
    assert sent["apiKey"] == API_KEY
    assert (sent["itmId"], sent["objL1"], sent["objL2"]) == ("T2 T3 T4 ", "00 11 ", "ALL")
    assert (sent["prdSe"], sent["startPrdDe"], sent["endPrdDe"]) == ("Y", "2024", "2024")
    assert "newEstPrdCnt" not in sent
    (message,) = said
    assert "12 rows" in message and str(path) in message and API_KEY not in message


def test_fetch_command_latest_period(kosis_server: ReplayServer, cache: Path) -> None:
    kosis_server.responder = lambda q: ok("DT_1B04005N_2024.json")

    fetch_command("101/DT_1B04005N", API_KEY, "latest:2", [], base_url=kosis_server.url, echo=None)

    (sent,) = kosis_server.requests
    assert sent["newEstPrdCnt"] == "2" and "startPrdDe" not in sent


def test_fetch_command_without_a_key(cache: Path) -> None:
    with pytest.raises(KosisError, match="KOSIS_API_KEY") as caught:
        fetch_command("kosis_resident_pop_sex_age5", None, "2024", [])
    assert caught.value.code == "10"


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"apiKey": "x", "prdSe": "Y"}, "set by the client"),
        ({"itmid": "T2", "prdSe": "Y"}, "unknown KOSIS parameter"),
        ({"objL2": "ALL", "prdSe": "Y", "startPrdDe": "2024"}, None),  # objL1 defaults to ALL: fine
        ({"objL1": "ALL", "objL3": "ALL", "prdSe": "Y"}, "consecutive"),
        ({"startPrdDe": "202401"}, "prdSe is required"),
        ({"prdSe": "Y", "startPrdDe": "202401"}, "4-digit periods"),
        ({"prdSe": "Y", "startPrdDe": "2025", "endPrdDe": "2024"}, "must not come after"),
    ],
)
def test_bad_params_are_rejected_before_any_request(params: dict[str, str], match: str | None) -> None:
    if match is None:
        query = kosis._build_query("DT_X", "101", params)
        assert query["objL1"] == "ALL" and query["objL2"] == "ALL"
        return
    with pytest.raises(ValueError, match=match):
        fetch_table("DT_X", API_KEY, params=params, base_url="http://127.0.0.1:9/unused")


# -- pieces --------------------------------------------------------------------------------------------------------


def test_period_span_and_split() -> None:
    assert kosis._period_span({"prdSe": "Q", "startPrdDe": "202303", "endPrdDe": "202402"}) == [
        "202303", "202304", "202401", "202402"]
    assert kosis._period_span({"prdSe": "M", "startPrdDe": "202311", "endPrdDe": "202402"}) == [
        "202311", "202312", "202401", "202402"]
    assert kosis._period_span({"prdSe": "F", "startPrdDe": "2015", "endPrdDe": "2020"}) is None
    first, second = kosis._split_query({"prdSe": "Y", "startPrdDe": "2016", "endPrdDe": "2020", "itmId": "ALL"})
    assert (first["startPrdDe"], first["endPrdDe"], second["startPrdDe"], second["endPrdDe"]) == (
        "2016", "2017", "2018", "2020")


def test_bare_keys_are_quoted_outside_strings_only() -> None:
    text = '[{ORG_ID:"101",TBL_NM:"성, 연령: {x, y:1}",DT:"1,234"},{ err : \'30\' }]'
    assert json.loads(kosis._quote_bare_keys(text)) == [
        {"ORG_ID": "101", "TBL_NM": "성, 연령: {x, y:1}", "DT": "1,234"}, {"err": "30"}]


@pytest.mark.parametrize(("raw", "value"), [("12.5", 12.5), (" 1,234 ", 1234.0), ("-", None), ("", None),
                                            ("…", None), ("x", None), (None, None), ("-3", -3.0), (7, 7.0)])
def test_values(raw: object, value: float | None) -> None:
    assert kosis._parse_value(raw) == value


def test_known_tables_are_well_formed() -> None:
    for alias, table in kosis.KNOWN_TABLES.items():
        assert alias == table.alias and alias.startswith("kosis_")
        query = kosis._build_query(table.tbl_id, table.org_id, table.params)
        assert query["prdSe"]


def test_shipped_table_ids_are_not_shadowed(cache: Path) -> None:
    manifest = pytest.importorskip("ingu.reference.manifest")
    try:
        shipped = manifest.load_manifest()
    except FileNotFoundError:
        pytest.skip("no shipped manifest yet")
    if not shipped:
        pytest.skip("no shipped tables yet")
    with pytest.raises(ValueError, match="shipped reference table"):
        fetch_table("DT_X", API_KEY, params={"prdSe": "Y"}, table_id_alias=shipped[0].id,
                    base_url="http://127.0.0.1:9/unused")


# -- the loader sees the refreshed table ---------------------------------------------------------------------


def test_load_table_returns_the_cached_table(kosis_server: ReplayServer, cache: Path) -> None:
    reference = pytest.importorskip("ingu.reference")
    load_table = getattr(reference, "load_table", None)
    if load_table is None:
        pytest.skip("ingu.reference.load_table is not available")
    kosis_server.responder = lambda q: ok("DT_1B04005N_2024.json")

    fetch_2024(kosis_server)
    frame = load_table("kosis_test_pop")

    assert frame.columns == ["period", "item_id", "item", "unit", "c1_code", "c1", "c2_code", "c2", "value"]
    assert frame.height == 12
    assert frame["c1_code"][0] == "00"  # codes stay text
    assert frame["value"].null_count() == 1
    entry = reference.table_entry("kosis_test_pop")
    assert entry.table_id == "DT_1B04005N" and entry.licence == "KOGL type 1"
