"""Serve a GGUF model over OpenAI-compatible HTTP on 127.0.0.1 with llama.cpp (through ``xllamacpp``).

For the ``openai`` narrator (and its tests) against a real local model, without a separate llama.cpp build::

    from ingu.narrate.llama_server import serve_gguf

    with serve_gguf() as base_url:          # e.g. "http://127.0.0.1:41234/v1"
        ...  # POST {base_url}/completions, {base_url}/chat/completions; GET {base_url}/models

or, as a process a test can kill and restart (it prints the base URL on its first stdout line once the server
answers, and stops cleanly on SIGTERM / SIGINT)::

    python -m ingu.narrate.llama_server --port 8089 [--model-path FILE.gguf] [--threads N] [--parallel N]

The endpoints are llama.cpp's server: ``/v1/models``, ``/v1/completions``, ``/v1/chat/completions`` (with the
GGUF's chat template), ``/health``; ``response_format`` / ``json_schema`` constrain output to a JSON schema.
The default model is Gemma 3 270M from ``ingu[llm]`` (see ``LICENSE-GEMMA.md``); it is served under the
model id ``gemma-3-270m`` unless ``alias`` says otherwise.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingu.narrate.base import NarratorError
from ingu.narrate.local_backend import server_params, start_server
from ingu.narrate.model_files import GEMMA_SHA256, resolve_model_path

DEFAULT_ALIAS = "gemma-3-270m"
LOOPBACK = "127.0.0.1"


@contextmanager
def serve_gguf(model_path: Path | str | None = None, *, port: int = 0, n_threads: int | None = None,
               parallel: int = 4, n_ctx: int = 4096, alias: str | None = None, api_key: str | None = None,
               timeout: float = 120.0) -> Iterator[str]:
    """Serve ``model_path`` (default: Gemma 3 270M) on ``http://127.0.0.1:PORT`` and yield ``…/v1``.

    Parameters
    ----------
    model_path : Path, optional
        A GGUF file; default: the ``ingu[llm]`` Gemma 3 270M.
    port : int
        TCP port on 127.0.0.1; 0 picks a free one.
    n_threads : int, optional
        CPU threads; default: the cores this process may use.
    parallel : int
        Requests decoded together (llama.cpp slots, continuous batching).
    n_ctx : int
        Context tokens per slot.
    alias : str, optional
        The model id ``/v1/models`` lists (requests may name any model; there is only one).
        Default: ``gemma-3-270m`` for the packaged model, else the file's stem.
    api_key : str, optional
        Require ``Authorization: Bearer <api_key>`` (``/health`` stays open).
    timeout : float
        Seconds to wait for the server to answer before giving up.

    Raises
    ------
    NarratorError
        No xllamacpp / model, the model does not load, the port is taken, or the server never answers.
    """
    model = resolve_model_path(model_path)
    if alias is None:
        alias = DEFAULT_ALIAS if model.sha256 == GEMMA_SHA256 else model.path.stem
    if not 0 <= port <= 65535:
        raise NarratorError(f"port must be 0–65535, got {port}")
    if port:
        _check_port_free(port)
    params = server_params(model, n_threads=n_threads, parallel=parallel, slot_ctx=n_ctx, alias=alias, port=port,
                           api_key=api_key)
    server = start_server(params)
    try:
        root = server.listening_address.rstrip("/")
        if not root:
            raise NarratorError(f"llama.cpp did not start listening on {LOOPBACK}:{port} (is the port taken?)")
        wait_until_ready(root, timeout=timeout)
        yield root + "/v1"
    finally:
        del server
        gc.collect()


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as llama.cpp's HTTP server does
        try:
            sock.bind((LOOPBACK, port))
        except OSError as exc:
            raise NarratorError(f"cannot serve on {LOOPBACK}:{port}: {exc.strerror or exc}") from None


#: urllib without the environment's proxies: 127.0.0.1 is always reached directly
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait_until_ready(root: str, *, timeout: float = 120.0) -> None:
    """Poll ``root/health`` until it says ok (the model is loaded); :class:`NarratorError` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            with _DIRECT.open(root + "/health", timeout=5) as response:
                if response.status == 200 and json.loads(response.read() or b"{}").get("status") == "ok":
                    return
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = exc
        time.sleep(0.05)
    raise NarratorError(f"llama.cpp server at {root} did not answer within {timeout:.0f} s ({last})")


def main(argv: list[str] | None = None) -> int:
    """``python -m ingu.narrate.llama_server``: serve until SIGTERM / SIGINT; first stdout line is the URL."""
    parser = argparse.ArgumentParser(prog="python -m ingu.narrate.llama_server",
                                     description="Serve a GGUF model (default: Gemma 3 270M) over OpenAI-compatible "
                                                 "HTTP on 127.0.0.1 with llama.cpp.")
    parser.add_argument("--model-path", type=Path, default=None, help="a GGUF file (default: Gemma 3 270M)")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all usable cores)")
    parser.add_argument("--parallel", type=int, default=4, help="requests decoded together (default 4)")
    parser.add_argument("--ctx", type=int, default=4096, help="context tokens per request slot (default 4096)")
    parser.add_argument("--alias", default=None, help="model id listed by /v1/models")
    parser.add_argument("--api-key-env", default=None,
                        help="environment variable holding an API key to require (default: none)")
    args = parser.parse_args(argv)
    api_key = os.environ.get(args.api_key_env) if args.api_key_env else None
    if args.api_key_env and not api_key:
        print(f"error: ${args.api_key_env} is not set", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        with serve_gguf(args.model_path, port=args.port, n_threads=args.threads, parallel=args.parallel,
                        n_ctx=args.ctx, alias=args.alias, api_key=api_key) as base_url:
            print(base_url, flush=True)
            while not stop.wait(0.5):
                pass
    except NarratorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
