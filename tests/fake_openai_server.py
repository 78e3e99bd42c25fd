"""A small OpenAI-compatible server for the narrator tests and benchmarks (stdlib asyncio only).

Serves ``POST /v1/chat/completions`` and ``POST /v1/completions`` with deterministic answers built from the
prompt: the person's name is read from the prompt (``이름: 홍길동`` / ``인물: 홍길동``), the fields from the
``response_format`` schema or the ``"field"`` names in the user message, and every narrative starts with
``<name> 씨는 …`` (60–300 characters, Hangul only, nothing about age, place, job or sex, so the validators
pass it); list fields are arrays of 3–5 strings. ``seed`` and ``temperature`` vary the wording.

Faults, by arrival order of completion requests (``script``; after it runs out, answers are normal):

``ok``            a normal answer
``429`` ``429:S`` HTTP 429 with ``Retry-After: S`` seconds (default ``retry_after``)
``429date:S``     HTTP 429 with ``Retry-After`` as an HTTP-date S seconds ahead
``500`` ``503``   a server error (503 without Retry-After)
``hang``          no answer for ``hang_seconds``, then a normal one (longer than the client's timeout)
``drop``          close the connection without answering
``malformed``     a 200 whose content is truncated JSON
``prose``         a 200 whose content is Korean prose without any JSON
``400``           a plain 400

Switches: ``reject_response_format`` (400 with ``reject_message`` when a request carries one),
``reject_seed`` (400 naming seed), ``api_key`` (401 without ``Authorization: Bearer <key>``),
``echo_auth`` (error bodies quote the Authorization header, like a careless server), ``latency`` (seconds
before every answer), ``usage`` (report token usage).

In-process: ``with FakeOpenAIServer(...) as server: server.url`` (its own event loop in a thread; ``log``
lists every request with arrival/answer wall-clock times). As a subprocess (so a test can kill it):
``python tests/fake_openai_server.py --port P [--latency S] [--script 429,500,...]`` prints
``READY <port>`` when listening; :func:`spawn` does that and waits. ``GET /stats`` answers counters.
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import hashlib
import json
import re
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIELDS = (
    "professional_persona", "sports_persona", "arts_persona", "travel_persona", "culinary_persona",
    "family_persona", "persona", "cultural_background", "skills_and_expertise", "skills_and_expertise_list",
    "hobbies_and_interests", "hobbies_and_interests_list", "career_goals_and_ambitions",
)
LIST_FIELDS = ("skills_and_expertise_list", "hobbies_and_interests_list")
NARRATIVES = FIELDS[:6]

_TOPIC = {
    "professional_persona": ("맡은 일을 차근차근 정리하며 하루를 시작하고", "함께 일하는 사람들의 이야기를 끝까지 들어 주는 편이며",
                             "작은 실수도 그냥 넘기지 않고 기록해 두며", "일의 순서를 미리 그려 보고 움직이며"),
    "sports_persona": ("저녁마다 동네 산책로를 빠른 걸음으로 걷고", "주말 아침이면 가볍게 스트레칭을 하며 몸을 풀고",
                       "계단을 오르내리며 틈틈이 체력을 챙기고", "무리하지 않는 선에서 꾸준히 몸을 움직이려 애쓰며"),
    "arts_persona": ("잔잔한 음악을 틀어 두고 책장을 넘기는 시간을 아끼고", "전시회 소식을 챙겨 보며 마음에 드는 그림을 오래 바라보고",
                     "오래된 영화를 다시 보며 장면마다 새로운 의미를 찾고", "손글씨로 짧은 글을 적어 두는 취미를 이어 가며"),
    "travel_persona": ("계획을 꼼꼼히 세우기보다 발길 닿는 대로 골목을 걷는 여행을 즐기고", "바다가 보이는 조용한 마을에서 하루를 보내는 것을 좋아하고",
                       "기차 창밖 풍경을 바라보며 생각을 정리하는 시간을 소중히 여기고", "여행지의 시장을 둘러보며 그곳의 음식을 맛보는 일을 즐기며"),
    "culinary_persona": ("제철 채소로 소박한 반찬을 만들어 먹는 것을 좋아하고", "된장찌개 하나라도 정성껏 끓여 식탁에 올리며",
                         "새로운 요리법을 따라 해 보며 맛을 조금씩 바꿔 보고", "가까운 사람들과 밥 한 끼를 나누는 시간을 가장 즐거워하며"),
    "family_persona": ("가족과 저녁을 함께하며 하루 있었던 일을 나누고", "집안일을 나누어 맡으며 서로의 수고를 알아주려 하고",
                       "명절이면 가족 모임을 손꼽아 기다리며", "가까운 사람들의 안부를 자주 묻고 작은 일도 함께 기뻐하며"),
}
_CLOSE = ("그런 시간이 쌓여 하루하루가 조금 더 단단해진다고 믿습니다.", "이런 습관 덕분에 마음의 여유를 잃지 않습니다.",
          "앞으로도 이 생활의 리듬을 천천히 지켜 나가고 싶어 합니다.", "작지만 꾸준한 즐거움이 삶을 채운다고 생각합니다.")
_PLAIN = {
    "persona": ("{n} 씨는 주어진 하루를 성실하게 채우며 주변을 세심하게 챙기는 따뜻한 성품을 지녔습니다.",
                "{n} 씨는 조용하지만 단단한 태도로 자신의 생활을 꾸려 가며 사람들에게 믿음을 줍니다."),
    "cultural_background": ("{n} 씨는 이웃끼리 음식을 나누고 안부를 묻던 정겨운 분위기 속에서 자랐습니다. 그 덕분에 공동체의 정을 소중히 여기며 예의와 배려를 생활의 기본으로 삼고 있습니다.",
                            "{n} 씨는 어른을 공경하고 명절을 함께 보내는 전통을 자연스럽게 익히며 성장했습니다. 세대가 달라도 서로의 이야기를 들어 주는 태도가 몸에 배어 있습니다."),
    "skills_and_expertise": ("{n} 씨는 복잡한 일을 단계별로 나누어 차근차근 처리하는 데 능숙합니다. 꼼꼼한 기록과 정리 습관 덕분에 실수가 적고 주변의 신뢰를 받습니다.",
                             "{n} 씨는 상대의 말을 주의 깊게 듣고 핵심을 짚어 내는 능력이 뛰어납니다. 갈등이 생겨도 차분하게 조율하며 해결책을 찾아냅니다."),
    "hobbies_and_interests": ("{n} 씨는 여가 시간에 산책과 독서를 즐기며 마음을 가다듬습니다. 최근에는 화분을 가꾸는 재미에 빠져 베란다에 작은 정원을 만들고 있습니다.",
                              "{n} 씨는 주말마다 요리와 음악 감상을 하며 한 주의 피로를 풉니다. 새로운 취미를 배우는 것에도 관심이 많아 틈틈이 강좌를 찾아봅니다."),
    "career_goals_and_ambitions": ("{n} 씨는 지금 하는 일을 더 깊이 익혀 주변에 도움이 되는 사람이 되고 싶어 합니다. 무리한 욕심보다는 꾸준히 성장하는 삶을 목표로 삼고 있습니다.",
                                   "{n} 씨는 앞으로 건강을 지키며 가족과 더 많은 시간을 보내는 것을 바랍니다. 배우고 싶은 것을 하나씩 익혀 나가며 안정된 생활을 꾸리는 것이 목표입니다."),
}
_LISTS = {
    "skills_and_expertise_list": ("꼼꼼한 일정 관리", "문서 정리와 기록", "차분한 의사소통", "문제 해결 능력", "시간 관리", "협업 조율"),
    "hobbies_and_interests_list": ("동네 산책", "독서 모임", "화분 가꾸기", "음악 감상", "요리하기", "사진 찍기"),
}
_OWN = {
    "skills_and_expertise_list": ("정리 요령", "일 처리 순서표", "메모 습관", "설명 방식"),
    "hobbies_and_interests_list": ("산책 코스", "주말 나들이", "계절 요리", "음악 목록"),
}
_NAME = (re.compile(r"이름:\s*([가-힣]{2,4})"), re.compile(r"인물:\s*([가-힣]{2,4})"), re.compile(r"([가-힣]{2,4}) 씨는"))
_QUOTED_FIELD = re.compile(r'"([a-z_]+)"')


def _pick(options: tuple[str, ...], *key: object) -> str:
    digest = hashlib.blake2b("\x1f".join(map(str, key)).encode(), digest_size=4).digest()
    return options[int.from_bytes(digest, "little") % len(options)]


def field_text(name: str, field_name: str, variant: object = 0) -> str | list[str]:
    """A plausible answer for one field (a list of strings for list fields)."""
    if field_name in LIST_FIELDS:
        items = list(_LISTS[field_name])
        start = int(hashlib.blake2b(f"{name}{variant}".encode(), digest_size=2).hexdigest(), 16) % len(items)
        count = 2 + start % 3
        own = _pick(_OWN[field_name], name, variant)
        return [items[(start + i) % len(items)] for i in range(count)] + [f"{name} 씨만의 {own}"]
    if field_name in _TOPIC:
        first = _pick(_TOPIC[field_name], name, field_name, variant)
        last = _pick(_CLOSE, name, field_name, variant, "close")
        return f"{name} 씨는 {first}, 그 시간을 통해 자신만의 속도로 생활을 가꾸어 갑니다. {last}"
    return _pick(_PLAIN.get(field_name, _PLAIN["persona"]), name, field_name, variant).format(n=name)


def _descriptions() -> dict[str, str]:
    """ingu's field descriptions (what the packaged completion prompt ends with), when ingu is importable."""
    try:
        from ingu.narrate.fields import FIELD_DESCRIPTIONS
    except ImportError:  # pragma: no cover - the server also runs without ingu
        return {}
    return dict(FIELD_DESCRIPTIONS)


def find_name(text: str) -> str:
    for pattern in _NAME:
        found = pattern.findall(text)
        if found:
            return found[-1]
    return "홍길동"


@dataclass
class Entry:
    """One request as the server saw it (wall-clock times)."""

    path: str
    action: str
    status: int
    arrived: float
    answered: float = 0.0
    resume_at: float | None = None  # for 429: when the client was told it may come back
    payload: dict[str, Any] = field(default_factory=dict)


class FakeOpenAIServer:
    """See the module docstring. ``start()``/``stop()`` or use as a context manager."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0,
                 script: list[str] | tuple[str, ...] = (), retry_after: float = 1.0, hang_seconds: float = 5.0,
                 reject_response_format: bool = False, reject_seed: bool = False, api_key: str | None = None,
                 echo_auth: bool = False, usage: bool = True, keep_log: bool = True,
                 reject_message: str = "'response_format' of type 'json_schema' is not supported") -> None:
        self.host = host
        self.port = port
        self.latency = latency
        self.script: deque[str] = deque(script)
        self.retry_after = retry_after
        self.hang_seconds = hang_seconds
        self.reject_response_format = reject_response_format
        self.reject_seed = reject_seed
        self.reject_message = reject_message
        self.api_key = api_key
        self.echo_auth = echo_auth
        self.usage = usage
        self.keep_log = keep_log
        self.log: list[Entry] = []
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # --- lifecycle ---------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._listen())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-openai", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
            if not self._thread.is_alive():
                loop.close()
        self._loop = None

    def __enter__(self) -> FakeOpenAIServer:  # noqa: PYI034
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._connection, self.host, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    def completions(self) -> list[Entry]:
        """Log entries of completion requests (chat or text)."""
        return [e for e in self.log if e.path.endswith("completions")]

    # --- HTTP --------------------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                answer = await self._dispatch(method, target, headers, body)
                if answer is None:  # drop
                    return
                status, extra, payload = answer
                data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
                out = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", "Content-Type: application/json",
                       f"Content-Length: {len(data)}"]
                out += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + data)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:  # stop(): end quietly (3.11's start_server callback chokes on cancelled)
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _dispatch(self, method: str, target: str, headers: dict[str, str],
                        body: bytes) -> tuple[int, dict[str, str], Any] | None:
        path = target.split("?", 1)[0]
        if method == "GET" and path == "/stats":
            return 200, {}, {"requests": self.requests, "max_in_flight": self.max_in_flight,
                             "in_flight": self.in_flight}
        if method == "GET" and path == "/v1/models":
            return 200, {}, {"object": "list", "data": [{"id": "fake", "object": "model"}]}
        if method != "POST" or path not in ("/v1/chat/completions", "/v1/completions"):
            return 404, {}, {"error": {"message": f"no route {method} {path}"}}
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        entry = Entry(path=path, action="ok", status=200, arrived=time.time())
        try:
            return await self._complete(path, headers, body, entry)
        finally:
            self.in_flight -= 1
            entry.answered = time.time()
            if self.keep_log:
                self.log.append(entry)

    async def _complete(self, path: str, headers: dict[str, str], body: bytes,
                        entry: Entry) -> tuple[int, dict[str, str], Any] | None:
        auth = headers.get("authorization", "")
        leak = f" (Authorization: {auth})" if self.echo_auth and auth else ""
        if self.api_key is not None and auth != f"Bearer {self.api_key}":
            entry.action, entry.status = "unauthorized", 401
            return 401, {}, {"error": {"message": f"Incorrect API key provided: {auth[7:]}", "type": "auth"}}
        try:
            payload = json.loads(body)
        except ValueError:
            entry.status = 400
            return 400, {}, {"error": {"message": "body is not JSON"}}
        entry.payload = payload
        action = self.script.popleft() if self.script else "ok"
        entry.action = action
        kind, _, arg = action.partition(":")
        if kind == "429":
            wait = float(arg or self.retry_after)
            entry.status, entry.resume_at = 429, time.time() + wait
            return 429, {"Retry-After": f"{wait:g}"}, {"error": {"message": "rate limited" + leak}}
        if kind == "429date":
            when = int(time.time() + float(arg or self.retry_after)) + 1  # HTTP-dates have whole seconds
            entry.status, entry.resume_at = 429, float(when)
            return 429, {"Retry-After": email.utils.formatdate(when, usegmt=True)}, {"error": {"message": "slow down"}}
        if kind in ("500", "503"):
            entry.status = int(kind)
            return int(kind), {}, {"error": {"message": "internal server error" + leak}}
        if kind == "400":
            entry.status = 400
            return 400, {}, {"error": {"message": "bad request" + leak}}
        if kind == "drop":
            entry.status = 0
            return None
        if kind == "hang":
            await asyncio.sleep(self.hang_seconds)
        if self.reject_response_format and "response_format" in payload:
            entry.action, entry.status = "reject_response_format", 400
            return 400, {}, {"error": {"message": self.reject_message + leak, "type": "invalid_request_error"}}
        if self.reject_seed and "seed" in payload:
            entry.action, entry.status = "reject_seed", 400
            return 400, {}, {"error": {"message": "Unrecognized request argument supplied: seed"}}
        if self.latency:
            await asyncio.sleep(self.latency)
        variant = (payload.get("seed"), payload.get("temperature"))
        if path.endswith("/chat/completions"):
            return 200, {}, self._chat(payload, kind, variant)
        return 200, {}, self._text(payload, kind, variant)

    def _chat(self, payload: dict[str, Any], kind: str, variant: object) -> dict[str, Any]:
        messages = payload.get("messages") or []
        user = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
        name = find_name(user)
        schema = ((payload.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
        fields = list(schema.get("properties") or ()) or [f for f in _QUOTED_FIELD.findall(user) if f in FIELDS]
        fields = list(dict.fromkeys(fields)) or list(FIELDS)
        answer = {f: field_text(name, f, variant) for f in fields}
        content = json.dumps(answer, ensure_ascii=False)
        if kind == "malformed":
            content = content[: len(content) // 2]
        elif kind == "prose":
            content = f"알겠습니다. {name} 씨에 대해 말씀드리면, 성실하고 따뜻한 분입니다. 더 필요한 내용이 있으면 말씀해 주세요."
        elif not payload.get("response_format") and variant[0] is not None and int(variant[0]) % 2:
            content = f"```json\n{content}\n```"  # chat models wrap JSON in fences now and then
        prompt_chars = sum(len(str(m.get("content", ""))) for m in messages)
        return {"id": "chatcmpl-fake", "object": "chat.completion", "model": payload.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": "stop"}],
                **({"usage": {"prompt_tokens": prompt_chars // 2, "completion_tokens": len(content) // 2,
                              "total_tokens": prompt_chars // 2 + len(content) // 2}} if self.usage else {})}

    def _text(self, payload: dict[str, Any], kind: str, variant: object) -> dict[str, Any]:
        prompt = str(payload.get("prompt", ""))
        name = find_name(prompt)
        tail = prompt[-400:]
        found = {f: tail.rfind(f) for f in FIELDS if f in tail}
        found.update({f: tail.rfind(d) for f, d in _descriptions().items() if d in tail})
        field_name = max(found, key=found.__getitem__) if found else "professional_persona"
        value = field_text(name, field_name, variant)
        if isinstance(value, list):
            seed = variant[0] if isinstance(variant, tuple) and variant[0] is not None else 0
            text = ", ".join(value) if int(seed) % 2 else json.dumps(value, ensure_ascii=False)
        else:
            text = value
        if kind in ("malformed", "prose"):
            text = "   "
        return {"id": "cmpl-fake", "object": "text_completion", "model": payload.get("model"),
                "choices": [{"index": 0, "text": " " + text, "finish_reason": "stop"}],
                **({"usage": {"prompt_tokens": len(prompt) // 2, "completion_tokens": len(text) // 2,
                              "total_tokens": (len(prompt) + len(text)) // 2}} if self.usage else {})}


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


# --- personas ---------------------------------------------------------------------------------------------

_SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
_FIRST = "민서지현수영준하도윤은예주진성"
_SECOND = "호연우아빈희훈경원석미철숙재혁"


def make_personas(n: int) -> list[dict[str, Any]]:
    """``n`` persona dicts with every key the prompts read (distinct names up to 4,500)."""
    out = []
    for i in range(n):
        name = (_SURNAMES[i % len(_SURNAMES)] + _FIRST[(i // len(_SURNAMES)) % len(_FIRST)]
                + _SECOND[(i // (len(_SURNAMES) * len(_FIRST))) % len(_SECOND)])
        female = i % 2 == 1
        age = 20 + (i * 7) % 60
        out.append({
            "uuid": f"{i:032x}", "name": name, "sex": "여자" if female else "남자", "female": female, "age": age,
            "birth_year": 2024 - age, "age_band": f"{age // 10 * 10}대", "age_group": "adult",
            "decade": f"{(2024 - age) // 10 * 10}년대", "province": "서울", "province_full": "서울특별시",
            "district": "종로구", "district_label": "서울-종로구", "neighbourhood": "청운효자동",
            "neighbourhoods": ("청운효자동",), "occupation": "무직", "occupation_code": None,
            "occupation_sub_major": None, "occupation_major": None, "employment_status": None, "employed": False,
            "occupation_group": "inactive_midlife", "education_level": "고등학교", "bachelors_field": "해당없음",
            "has_degree": False, "marital_status": "미혼", "family_type": "혼자 거주", "family_group": "alone",
            "housing_type": "아파트", "military_status": "비현역", "military_service": None,
        })
    return out


# --- subprocess mode ----------------------------------------------------------------------------------------


def spawn(port: int = 0, *args: str, timeout: float = 15.0) -> tuple[subprocess.Popen[str], str]:
    """Start the server as a subprocess (``args`` are CLI options); returns it and its base URL."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--port", str(port), *args],
                            stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("READY"):
            proc.stdout.close()  # nothing else comes; do not leak the pipe
            return proc, f"http://127.0.0.1:{int(line.split()[1])}/v1"
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"fake server did not start (exit {proc.poll()})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--script", default="", help="comma-separated fault actions")
    parser.add_argument("--retry-after", type=float, default=1.0)
    parser.add_argument("--hang-seconds", type=float, default=5.0)
    parser.add_argument("--reject-response-format", action="store_true")
    parser.add_argument("--reject-seed", action="store_true")
    parser.add_argument("--api-key-env", default=None, help="require the key held by this env variable")
    args = parser.parse_args(argv)
    import os

    server = FakeOpenAIServer(
        host=args.host, port=args.port, latency=args.latency,
        script=[s for s in args.script.split(",") if s], retry_after=args.retry_after,
        hang_seconds=args.hang_seconds, reject_response_format=args.reject_response_format,
        reject_seed=args.reject_seed, api_key=os.environ.get(args.api_key_env) if args.api_key_env else None,
        keep_log=False)

    async def serve() -> None:
        await server._listen()
        print(f"READY {server.port}", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
