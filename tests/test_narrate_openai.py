"""The ``openai`` narrator against a fake OpenAI-compatible server: faults, retries, limits, cache, secrets.

Every fault test asserts that the batch completes and that each request ends either narrated or with its
error set (never an exception for one row).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import threading
import time

import pytest
from fake_openai_server import (
    FIELDS,
    LIST_FIELDS,
    FakeOpenAIServer,
    make_personas,
    spawn,
)

from ingu.narrate.base import Draft, Narrator, NarratorError, Request
from ingu.narrate.cache import NarrationCache, cache_key
from ingu.narrate.concurrency import AdaptiveLimiter, retry_after_seconds
from ingu.narrate.openai_backend import OpenAINarrator
from ingu.narrate.prompts import PromptSet

KEY = "sk-test-DO-NOT-LEAK-4f9a2c"
FAST = {"backoff_base": 0.02, "backoff_cap": 0.2}  # retries in milliseconds, not seconds


def requests_for(n: int, fields: tuple[str, ...] = FIELDS) -> list[Request]:
    return [Request(p, fields) for p in make_personas(n)]


def assert_complete(drafts: list[Draft], requests: list[Request], *, failed: int = 0) -> None:
    """One draft per request; each either has all its fields (no error) or an error."""
    assert len(drafts) == len(requests)
    bad = [d for d in drafts if d.error is not None]
    assert len(bad) == failed, [d.error for d in bad][:3]
    for draft, request in zip(drafts, requests):
        if draft.error is None:
            assert set(draft.texts) == set(request.fields)
            for field in request.fields:
                text = draft.texts[field]
                if field in LIST_FIELDS:
                    assert text.startswith("['") and text.endswith("']")
                elif field in FIELDS[:7]:
                    assert request.persona["name"] in text


@pytest.fixture
def server():
    with FakeOpenAIServer(latency=0.005) as srv:
        yield srv


def narrator(url: str, **kw) -> OpenAINarrator:
    kw = {"concurrency": 8, "max_concurrency": 16, "timeout": 5.0, **FAST, **kw}
    return OpenAINarrator(url, "fake-model", api_key_env="INGU_TEST_OPENAI_KEY", **kw)


# --- the happy path ---------------------------------------------------------------------------------------


def test_chat_narrates_every_field_with_usage_and_progress(server):
    progress: list[tuple[int, int]] = []
    requests = requests_for(40)
    with narrator(server.url, on_progress=lambda r, t: progress.append((r, t))) as n:
        assert isinstance(n, Narrator)
        drafts = n.draft(requests)
        stats = n.stats
    assert_complete(drafts, requests)
    assert stats["requests"] == stats["successes"] == stats["rows"] == 40
    assert all(d.requests == 1 and d.prompt_tokens > 0 and d.completion_tokens > 0 for d in drafts)
    assert stats["completion_tokens"] == sum(d.completion_tokens for d in drafts)
    assert sum(r for r, _ in progress) == 40
    assert sum(t for _, t in progress) == stats["completion_tokens"]
    # every request asked for the 13 fields with a strict schema and a seed
    first = server.completions()[0].payload
    assert first["response_format"]["json_schema"]["strict"] is True
    assert set(first["response_format"]["json_schema"]["schema"]["required"]) == set(FIELDS)
    assert isinstance(first["seed"], int)


def test_retry_attempt_changes_seed_and_temperature(server):
    persona = make_personas(1)[0]
    with narrator(server.url, temperature=0.7) as n:
        n.draft([Request(persona, FIELDS)])
        retry = Request(persona, ("persona", "arts_persona"), attempt=1, feedback=("arts_persona: too_short",))
        drafts = n.draft([retry])
    assert_complete(drafts, [Request(persona, ("persona", "arts_persona"))])
    first, retry = (e.payload for e in server.completions())
    assert first["seed"] != retry["seed"]
    assert first["temperature"] == 0.7 and retry["temperature"] > 0.7
    assert set(retry["response_format"]["json_schema"]["schema"]["required"]) == {"persona", "arts_persona"}
    assert "too_short" in retry["messages"][-1]["content"]


def test_completions_mode_one_request_per_field(server, tmp_path):
    (tmp_path / "completion.j2").write_text("이름: {{ p.name }}\n항목 {{ field }}:", encoding="utf-8")
    requests = requests_for(6)
    with narrator(server.url, api="completions", prompts=PromptSet(tmp_path)) as n:
        drafts = n.draft(requests)
        stats = n.stats
    assert_complete(drafts, requests)
    assert stats["requests"] == 6 * len(FIELDS)
    payload = server.completions()[0].payload
    assert payload["stop"] == ["\n"] and "prompt" in payload and "response_format" not in payload


# --- faults -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["429:1", "429date:1"])
def test_429_retry_after_pauses_everyone_and_halves_the_limit(fault):
    with FakeOpenAIServer(latency=0.01, script=[fault] * 3) as srv:
        requests = requests_for(40)
        with narrator(srv.url, concurrency=8, max_concurrency=8, increase_every=10_000) as n:
            drafts = n.draft(requests)
            stats = n.stats
        log = sorted(srv.completions(), key=lambda e: e.arrived)
    assert_complete(drafts, requests)
    assert stats["http_429"] == 3
    assert stats["concurrency_decreases"] == 1 and stats["concurrency"] == 4  # one halving per burst
    limited = [e for e in log if e.status == 429]
    for entry in limited:
        assert entry.resume_at is not None
        # requests already under way when the 429 went out may still arrive; nothing sent after it may
        # arrive before the Retry-After has elapsed
        early = [e for e in log if entry.answered + 0.1 < e.arrived < entry.resume_at - 0.01]
        assert not early, f"{len(early)} requests sent during the Retry-After pause"
    assert max(e.arrived for e in log) >= max(e.resume_at for e in limited) - 0.01


def test_5xx_retried_until_success():
    with FakeOpenAIServer(script=["500", "503", "500"]) as srv:
        requests = requests_for(10)
        with narrator(srv.url) as n:
            drafts = n.draft(requests)
            stats = n.stats
    assert_complete(drafts, requests)
    assert stats["http_5xx"] == 3 and stats["retries"] == 3 and stats["requests"] == 13
    assert sum(d.retries for d in drafts) == 3


def test_5xx_past_max_retries_fails_only_that_row():
    with FakeOpenAIServer(script=["500"] * 3) as srv:
        requests = requests_for(4)
        with narrator(srv.url, max_retries=2) as n:
            drafts = n.draft(requests[:1]) + n.draft(requests[1:])
    assert_complete(drafts, requests, failed=1)
    assert drafts[0].error is not None and "HTTP 500" in drafts[0].error and "2 retries" in drafts[0].error
    assert drafts[0].requests == 3 and drafts[0].retries == 2 and drafts[0].texts == {}


def test_hang_times_out_and_is_retried():
    with FakeOpenAIServer(script=["hang"], hang_seconds=3.0) as srv:
        requests = requests_for(12)
        with narrator(srv.url, concurrency=4, timeout=0.4, increase_every=10_000) as n:
            start = time.monotonic()
            drafts = n.draft(requests)
            elapsed = time.monotonic() - start
            stats = n.stats
    assert_complete(drafts, requests)
    assert stats["timeouts"] == 1 and stats["retries"] == 1
    assert stats["concurrency"] == 2  # a timeout halves the limit
    assert elapsed < 2.5  # did not wait for the hung answer


def test_malformed_and_prose_answers_are_reasked():
    with FakeOpenAIServer(script=["malformed", "prose"]) as srv:
        requests = requests_for(3)
        with narrator(srv.url) as n:
            drafts = n.draft(requests[:1]) + n.draft(requests[1:])
            stats = n.stats
        asks = [e.payload for e in srv.completions()[:3]]
    assert_complete(drafts, requests)
    assert stats["malformed"] == 2 and stats["reasks"] == 2 and drafts[0].requests == 3
    assert len({a["seed"] for a in asks}) == 3  # each re-ask is another sample
    assert asks[0]["temperature"] < asks[1]["temperature"] < asks[2]["temperature"]


def test_malformed_past_max_reasks_sets_the_error():
    with FakeOpenAIServer(script=["prose"] * 3) as srv:
        requests = requests_for(2)
        with narrator(srv.url, max_reasks=2) as n:
            drafts = n.draft(requests[:1]) + n.draft(requests[1:])
    assert_complete(drafts, requests, failed=1)
    assert drafts[0].error.startswith("malformed answer after 3 asks")


@pytest.mark.parametrize("message", ["'response_format' of type 'json_schema' is not supported", "Bad Request"])
def test_response_format_rejected_falls_back_to_parsing(message):
    with FakeOpenAIServer(reject_response_format=True, reject_message=message) as srv:
        requests = requests_for(20)
        with narrator(srv.url) as n:
            drafts = n.draft(requests)
            stats = n.stats
            assert not n.structured_active
            more = n.draft(requests_for(3))
        accepted = [e for e in srv.completions() if e.status == 200]
    assert_complete(drafts, requests)
    assert_complete(more, requests_for(3))
    assert stats["structured_fallbacks"] == 1
    assert all("response_format" not in e.payload for e in accepted)
    assert n.stats["requests"] == len(srv.completions())


def test_response_format_required_but_rejected_is_fatal():
    with (FakeOpenAIServer(reject_response_format=True) as srv, narrator(srv.url, structured="json_schema") as n,
          pytest.raises(NarratorError, match="structured")):
        n.draft(requests_for(4))


def test_seed_rejected_is_dropped():
    with FakeOpenAIServer(reject_seed=True) as srv:
        requests = requests_for(6)
        with narrator(srv.url) as n:
            drafts = n.draft(requests)
            stats = n.stats
    assert_complete(drafts, requests)
    assert stats["seed_fallbacks"] == 1


def test_plain_400_fails_only_that_row():
    with FakeOpenAIServer(script=["400"]) as srv:
        requests = requests_for(5)
        with narrator(srv.url, structured="off") as n:
            drafts = n.draft(requests[:1]) + n.draft(requests[1:])
    assert_complete(drafts, requests, failed=1)
    assert drafts[0].error == "HTTP 400: bad request"


def test_stray_400_with_schema_is_asked_again_without_but_keeps_the_schema():
    with FakeOpenAIServer(script=["400"]) as srv:
        requests = requests_for(5)
        with narrator(srv.url) as n:
            drafts = n.draft(requests[:1]) + n.draft(requests[1:])
            assert n.structured_active and n.stats["structured_fallbacks"] == 0
        probe = srv.completions()[1].payload
    assert_complete(drafts, requests)
    assert drafts[0].requests == 2 and "response_format" not in probe


def test_dropped_connection_is_retried():
    with FakeOpenAIServer(script=["drop", "drop"]) as srv:
        requests = requests_for(6)
        with narrator(srv.url) as n:
            drafts = n.draft(requests)
            stats = n.stats
    assert_complete(drafts, requests)
    assert stats["connection_errors"] == 2


def test_server_killed_mid_batch_and_restarted(tmp_path):
    proc, url = spawn(0, "--latency", "0.02")
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    requests = requests_for(300)
    n = narrator(url, concurrency=8, max_concurrency=8)
    killed = threading.Event()
    restarted: list = []

    def saboteur() -> None:
        give_up = time.monotonic() + 20
        while n.stats["rows"] < 60 and time.monotonic() < give_up:
            time.sleep(0.005)
        proc.kill()
        proc.wait()
        killed.set()
        time.sleep(1.0)
        restarted.append(spawn(port, "--latency", "0.02")[0])

    thread = threading.Thread(target=saboteur)
    thread.start()
    try:
        drafts = n.draft(requests)
        stats = n.stats
    finally:
        thread.join(20)
        n.close()
        for p in [proc, *restarted]:
            p.kill()
            p.wait()
    assert killed.is_set() and restarted
    assert_complete(drafts, requests)
    assert stats["connection_errors"] >= 1
    assert 60 <= stats["rows"] == 300


def test_unreachable_server_raises_after_the_deadline():
    # port 9 (discard): nothing listens
    with narrator("http://127.0.0.1:9/v1", deadline=0.5) as n, pytest.raises(NarratorError, match="cannot reach"):
        n.draft(requests_for(3))


# --- limits -----------------------------------------------------------------------------------------------


def test_concurrency_grows_on_success_and_never_exceeds_max():
    with FakeOpenAIServer(latency=0.01) as srv:
        requests = requests_for(200)
        with narrator(srv.url, concurrency=2, max_concurrency=6, increase_every=2) as n:
            drafts = n.draft(requests)
            stats = n.stats
        peak_seen_by_server = srv.max_in_flight
    assert_complete(drafts, requests)
    assert stats["concurrency"] == stats["peak_concurrency"] == 6
    assert stats["peak_in_flight"] <= 6 and peak_seen_by_server <= 6
    assert peak_seen_by_server >= 5  # it did use the room it grew


def test_limiter_halves_once_per_epoch_and_pause_blocks_acquire():
    async def scenario() -> tuple[float, int, int]:
        limiter = AdaptiveLimiter(8, 16, increase_every=2)
        epochs = [await limiter.acquire() for _ in range(8)]
        for epoch in epochs:  # a burst of 429s from one window: one halving
            limiter.release()
            limiter.overload(epoch)
        halved = limiter.limit
        limiter.pause(0.3)
        start = asyncio.get_running_loop().time()
        await limiter.acquire()
        waited = asyncio.get_running_loop().time() - start
        limiter.release()
        for _ in range(4):
            limiter.success()
        return waited, halved, limiter.limit

    waited, halved, grown = asyncio.run(scenario())
    assert halved == 4 and grown == 6
    assert waited >= 0.29


def test_retry_after_parsing():
    now = time.time()
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after": "1.5"}) == 1.5
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28.5 < retry_after_seconds({"retry-after": date}, now=now) <= 30.0
    assert retry_after_seconds({"retry-after": email.utils.formatdate(now - 60, usegmt=True)}) == 0.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


# --- cache ------------------------------------------------------------------------------------------------


def test_second_identical_run_makes_no_request(tmp_path):
    path = tmp_path / "answers.sqlite"
    requests = requests_for(20)
    with FakeOpenAIServer(script=["malformed"]) as srv:
        with narrator(srv.url, cache=path) as n:
            first = n.draft(requests)
        sent = srv.requests
        with narrator(srv.url, cache=path) as n:
            second = n.draft(requests)
            stats = n.stats
        resent = srv.requests - sent
    assert_complete(first, requests)
    assert_complete(second, requests)
    assert sent == 21
    # the malformed answer was not stored: its row is asked once more; every other row comes from the cache
    assert resent == 1 and stats["cache_hits"] == stats["rows_cached"] == 19 and stats["requests"] == 1
    reasked = [i for i, d in enumerate(first) if d.requests == 2]
    assert len(reasked) == 1 and second[reasked[0]].requests == 1
    assert all(a.texts == b.texts for i, (a, b) in enumerate(zip(first, second)) if i not in reasked)
    with narrator("http://127.0.0.1:9/v1", cache=path) as n:  # no server at all: the cache is enough
        third = n.draft(requests)
        assert n.stats["requests"] == 0
    assert [d.texts for d in third] == [d.texts for d in second] and all(d.cached for d in third)


def test_rerun_after_structured_fallback_makes_no_request(tmp_path):
    path = tmp_path / "answers.sqlite"
    requests = requests_for(8)
    with FakeOpenAIServer(reject_response_format=True) as srv:
        with narrator(srv.url, cache=path) as n:
            first = n.draft(requests)
        sent = srv.requests
        with narrator(srv.url, cache=path) as n:
            second = n.draft(requests)
            assert n.stats["requests"] == 0 and n.structured_active
    assert_complete(second, requests)
    assert sent > 8 and [d.texts for d in first] == [d.texts for d in second]


def test_cache_store_roundtrip_and_key(tmp_path):
    with NarrationCache(tmp_path / "c.sqlite") as cache:
        key = cache_key("chat", "m", {"messages": [{"role": "user", "content": "가"}], "seed": 1})
        assert key != cache_key("chat", "m", {"messages": [{"role": "user", "content": "가"}], "seed": 2})
        assert cache.get(key) is None
        cache.put(key, "{}", {"prompt_tokens": 3, "completion_tokens": 4})
        hit = cache.get(key)
        assert hit is not None and (hit.text, hit.prompt_tokens, hit.completion_tokens) == ("{}", 3, 4)
        assert cache.stats == {"hits": 1, "misses": 1, "puts": 1, "entries": 1}


# --- secrets ----------------------------------------------------------------------------------------------


def test_api_key_never_leaks(tmp_path, monkeypatch):
    monkeypatch.setenv("INGU_TEST_OPENAI_KEY", KEY)
    path = tmp_path / "answers.sqlite"
    with FakeOpenAIServer(api_key=KEY, echo_auth=True, script=["500", "500", "400"]) as srv:
        requests = requests_for(6)
        with narrator(srv.url, cache=path, max_retries=1, structured="off") as n:
            drafts = n.draft(requests[:1]) + n.draft(requests[1:2]) + n.draft(requests[2:])
            described, shown = json.dumps(n.describe()), repr(n)
        assert srv.completions()[-1].status == 200  # the key was sent and accepted
    assert_complete(drafts, requests, failed=2)
    errors = " ".join(d.error or "" for d in drafts)
    assert "HTTP 500" in errors and "HTTP 400" in errors
    assert "***" in errors and KEY not in errors  # the server echoed it; the narrator scrubbed it
    assert KEY not in described and KEY not in shown and '"api_key_set": true' in described
    for file in tmp_path.iterdir():
        assert KEY.encode() not in file.read_bytes(), file.name

    monkeypatch.setenv("INGU_TEST_OPENAI_KEY", KEY + "-wrong")
    with (FakeOpenAIServer(api_key=KEY) as srv, narrator(srv.url) as n,
          pytest.raises(NarratorError, match="HTTP 401") as caught):
        n.draft(requests_for(2))
    assert KEY not in str(caught.value)


# --- lifecycle --------------------------------------------------------------------------------------------


def test_failing_progress_callback_cancels_the_batch_cleanly(server):
    def explode(rows: int, tokens: int) -> None:
        raise RuntimeError("progress bar gone")

    with narrator(server.url, on_progress=explode) as n:
        with pytest.raises(RuntimeError, match="progress bar gone"):
            n.draft(requests_for(200))
        n.on_progress = None
        requests = requests_for(5)
        drafts = n.draft(requests)
        assert_complete(drafts, requests)
        deadline = time.monotonic() + 5
        while n.stats["in_flight"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert n.stats["in_flight"] == 0  # cancelled requests gave their slots back


def test_close_is_idempotent_and_final(server):
    n = narrator(server.url)
    assert n.draft([]) == []
    n.draft(requests_for(2))
    n.close()
    n.close()
    with pytest.raises(NarratorError, match="closed"):
        n.draft(requests_for(1))


def test_bad_settings_are_refused():
    with pytest.raises(NarratorError):
        OpenAINarrator("127.0.0.1:8080", "m")
    with pytest.raises(NarratorError):
        OpenAINarrator("http://x/v1", "m", api="embeddings")
    with pytest.raises(NarratorError):
        OpenAINarrator("http://x/v1", "m", structured="maybe")


def test_base_url_credentials_are_hidden():
    n = OpenAINarrator("http://user:hunter2@127.0.0.1:8000/v1", "m")
    assert "hunter2" not in repr(n) and "hunter2" not in json.dumps(n.describe())
    n.close()



def test_cache_is_shared_by_concurrent_writers(tmp_path):
    path = tmp_path / "shared.sqlite"
    caches = [NarrationCache(path) for _ in range(3)]  # three connections, as three processes would have

    def write(cache: NarrationCache, start: int) -> None:
        for i in range(start, start + 200):
            cache.put(f"k{i}", f"answer {i}", {"completion_tokens": i})

    threads = [threading.Thread(target=write, args=(c, 200 * j)) for j, c in enumerate(caches)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(caches[0]) == 600
    hit = caches[2].get("k5")
    assert hit is not None and hit.text == "answer 5" and hit.completion_tokens == 5
    for c in caches:
        c.close()
    with NarrationCache(path) as again:
        assert len(again) == 600
