"""Fit the population model from its spec, save and load it (``.npz`` + JSON, never pickle)."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel

from ingu import __version__
from ingu.model.context import FitContext
from ingu.model.network import Network, Variable

DEFAULT_SPEC = "korea"


class BlockSpec(BaseModel):
    id: str
    module: str
    variables: dict[str, list[str]]
    optional: bool = False


class ModelSpec(BaseModel):
    name: str
    version: int
    reference_year: int
    universe: str
    blocks: list[BlockSpec]


@dataclass
class FittedModel:
    """The fitted network plus everything the card needs."""

    spec: ModelSpec
    network: Network
    reports: dict[str, dict] = field(default_factory=dict)
    skipped_blocks: list[str] = field(default_factory=list)

    def save(self, directory: Path, key: str) -> None:
        """Write ``key.npz`` (CPTs) and ``key.json`` (labels, parents, provenance) atomically."""
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": "ingu.model/1",
            "ingu_version": __version__,
            "spec": self.spec.model_dump(),
            "skipped_blocks": self.skipped_blocks,
            "reports": self.reports,
            "variables": [
                {"name": v.name, "labels": list(v.labels), "parents": list(v.parents),
                 "fitted_to": list(v.fitted_to), "assumptions": list(v.assumptions)}
                for v in self.network.variables
            ],
        }
        for suffix, writer in ((".npz", self._write_npz), (".json", lambda f: f.write(
                json.dumps(meta, ensure_ascii=False, default=_jsonable).encode("utf-8")))):
            fd, tmp = tempfile.mkstemp(dir=directory, suffix=suffix + ".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    writer(fh)
                os.replace(tmp, directory / f"{key}{suffix}")
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def _write_npz(self, fh) -> None:
        np.savez(fh, **{v.name: v.cpt for v in self.network.variables})

    @classmethod
    def load(cls, directory: Path, key: str) -> FittedModel:
        meta = json.loads((directory / f"{key}.json").read_text("utf-8"))
        with np.load(directory / f"{key}.npz", allow_pickle=False) as arrays:
            variables = [
                Variable(v["name"], tuple(v["labels"]), tuple(v["parents"]), arrays[v["name"]],
                         tuple(v["fitted_to"]), tuple(v["assumptions"]))
                for v in meta["variables"]
            ]
        return cls(ModelSpec(**meta["spec"]), Network(variables), meta["reports"], meta["skipped_blocks"])


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value)}")


def load_spec(name_or_path: str | Path = DEFAULT_SPEC) -> ModelSpec:
    """Read a model spec: a shipped name (``korea``) or a YAML file path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        text = path.read_text("utf-8")
    else:
        text = resources.files("ingu.model").joinpath("specs", f"{name_or_path}.yaml").read_text("utf-8")
    return ModelSpec(**yaml.safe_load(text))


def fit_model(spec: ModelSpec, progress=None) -> FittedModel:
    """Fit every block in order and check it produced exactly the declared variables and parents."""
    ctx = FitContext()
    skipped = []
    for block in spec.blocks:
        try:
            module = importlib.import_module(block.module)
        except ModuleNotFoundError:
            if block.optional:
                skipped.append(block.id)
                continue
            raise
        before = len(ctx.variables)
        module.fit(ctx)
        produced = {v.name: list(v.parents) for v in ctx.variables[before:]}
        if produced != block.variables:
            raise ValueError(f"block {block.id!r} produced {produced}, spec declares {block.variables}")
        if progress:
            progress(block.id)
    return FittedModel(spec, ctx.network(), ctx.reports, skipped)


def model_key(spec: ModelSpec) -> str:
    """Content hash of everything a fit depends on: code version, spec and the tables' digests."""
    from ingu.reference import load_manifest
    from ingu.reference.tables import cache_dir

    h = hashlib.sha256()
    h.update(__version__.encode())
    h.update(spec.model_dump_json().encode())
    for entry in load_manifest():
        h.update(f"{entry.id}:{entry.sha256}".encode())
    cache = cache_dir()
    if cache.exists():
        for meta in sorted(cache.glob("*.json")):
            h.update(meta.read_bytes())
    for module in sorted({b.module for b in spec.blocks}):
        try:
            src = importlib.import_module(module).__file__
            h.update(Path(src).read_bytes())
        except ModuleNotFoundError:
            h.update(f"missing:{module}".encode())
    for module in ("ingu.model.ipf", "ingu.model.ages", "ingu.model.names", "ingu.model.context"):
        h.update(Path(importlib.import_module(module).__file__).read_bytes())
    return f"{spec.name}-{h.hexdigest()[:16]}"


def models_dir() -> Path:
    base = os.environ.get("INGU_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "ingu") / "models"


def load_model(spec: str | Path = DEFAULT_SPEC, *, refit: bool = False, progress=None) -> FittedModel:
    """The fitted model, from the user cache when its inputs are unchanged, else fitted and cached."""
    model_spec = load_spec(spec)
    key = model_key(model_spec)
    directory = models_dir()
    if not refit and (directory / f"{key}.npz").exists() and (directory / f"{key}.json").exists():
        return FittedModel.load(directory, key)
    model = fit_model(model_spec, progress=progress)
    try:
        model.save(directory, key)
    except OSError:
        pass  # a read-only home still gets a model; it is just refitted next time
    return model
