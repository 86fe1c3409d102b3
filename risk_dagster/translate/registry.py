"""The model registry: versioned translators in three lanes, stable / current / experimental.

Layout on disk (``root`` is any folder, e.g. ``<output>/registry``)::

    root/
      lanes.json                  {"stable": {"model_id": "satellite", "version": "v0002"} | null,
                                   "current": ..., "experimental": ...}      (atomic writes)
      history.jsonl               one JSON event per line: register / promote / bootstrap,
                                  with UTC timestamps, the lane's previous occupant
      .lock                       advisory lock held while lanes/history change
      satellite/
        v0001/
          model.safetensors       numeric state   (safetensors only: never unpickled)
          translator.json         config, ids     (dispatch key: model_id)
          metadata.json           provenance: model_id, version, training data hash, code
                                  version, metrics, created (UTC ISO), seed, config, and the
                                  sha256 of every model file (corruption is caught on load)
        v0002/ ...
      transformer/
        v0001/ ...                whatever TransformerTranslator.save writes (safetensors +
                                  JSON) + metadata.json

Versions are ``v0001``, ``v0002`` ... per model id, monotone: a new version folder is staged
under a temporary name and renamed into place, so a crash never leaves a half-written
version and two writers never get the same number.

Lanes. A new version enters ``experimental`` (:meth:`ModelRegistry.register`); it reaches
``current`` and then ``stable`` only by :meth:`ModelRegistry.promote`, which requires the
version to sit in the lane directly below (experimental -> current -> stable; skipping is
refused). Every change is appended to ``history.jsonl``.

Fresh machines. :func:`bootstrap` seeds an empty registry from the registry shipped in the
package (``risk_dagster/data/registry/``, same layout), so the lanes are never empty where
the package ships trained versions; a lane that already has a version is never overwritten.

Which lane's shocks are used. :func:`most_conservative` picks, among the lanes' ShockSets for
one scenario, the most severe: by a ``severity`` callable (the portfolio's 99% loss once the
engine exists), by :func:`factor_severity` until then.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.storage import write_json, write_text
from risk_dagster.translate.promotion import GateResult, promotion_gates
from risk_dagster.translate.persistence import (
    ModelFileError,
    check_model_files,
    load_translator,
    save_translator,
)
from risk_dagster.translate.shockset import ShockSet

__all__ = [
    "DESCRIBE_COLUMNS",
    "LANES",
    "METADATA_FILE",
    "SEVERITY_FACTORS",
    "ModelRegistry",
    "ModelVersion",
    "RegistryError",
    "bootstrap",
    "code_version",
    "describe_command",
    "factor_severity",
    "most_conservative",
    "promote_command",
    "shipped_registry_dir",
    "training_data_hash",
]

LANES: tuple[str, ...] = ("experimental", "current", "stable")
"""Lanes from least to most trusted; promotion moves one step up this order."""

METADATA_FILE = "metadata.json"
LANES_FILE = "lanes.json"
HISTORY_FILE = "history.jsonl"
_LOCK_FILE = ".lock"
_VERSION_PREFIX = "v"
_VERSION_DIGITS = 4

DESCRIBE_COLUMNS: tuple[str, ...] = ("lane", "model_id", "version", "created", "metrics", "training_data_hash")
"""Columns of :meth:`ModelRegistry.describe` and :func:`describe_command` rows."""


class RegistryError(ValueError):
    """A registry operation refused (unknown lane or version, promotion out of order, corrupted
    file); the message names what and where."""


# =============================================================================== provenance
def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _canonical_float_bytes(values: Any) -> bytes:
    """Little-endian float64 bytes with one NaN pattern and no negative zero, so equal data
    always hashes equal whatever produced it."""
    a = np.ascontiguousarray(np.asarray(values, dtype="<f8"))
    a = np.where(np.isnan(a), np.nan, a + 0.0)  # + 0.0 turns -0.0 into 0.0
    return np.ascontiguousarray(a, dtype="<f8").tobytes()


def training_data_hash(training: Any) -> str:
    """sha256 of a training set: ``X``, ``Y``, the sample and factor weights, the quarters and
    the factor/feature ids.

    Each part is framed by its name and length, so moving a value from one part to another
    changes the hash; values are canonicalised (float64 little-endian, one NaN pattern).

    Parameters
    ----------
    training
        A :class:`~risk_dagster.translate.base.TrainingSet`.

    Returns
    -------
    str
        ``sha256:<64 hex digits>``.
    """
    digest = hashlib.sha256()

    def part(name: str, payload: bytes) -> None:
        digest.update(f"{name}:{len(payload)}:".encode())
        digest.update(payload)

    def text(values: Sequence[Any]) -> bytes:
        return json.dumps([str(v) for v in values]).encode()

    X: pd.DataFrame = training.X
    Y: pd.DataFrame = training.Y
    part("quarters", text(list(X.index)))
    part("features", text(list(X.columns)))
    part("X", _canonical_float_bytes(X.to_numpy(dtype=np.float64)))
    part("factor_ids", text(list(training.factor_ids)))
    part("Y_columns", text(list(Y.columns)))
    part("Y", _canonical_float_bytes(Y.to_numpy(dtype=np.float64)))
    part("sample_weight", _canonical_float_bytes(training.sample_weight.reindex(X.index).to_numpy(dtype=np.float64)))
    fw = training.factor_weights.reindex(list(training.factor_ids))
    part("factor_weights", _canonical_float_bytes(fw.to_numpy(dtype=np.float64)))
    return f"sha256:{digest.hexdigest()}"


@cache
def _git_commit() -> str:
    """The commit of the source checkout the package runs from, or ``unknown`` (an installed
    copy, no git, or git failing): provenance must never break a run."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else "unknown"


def settings_key(training_hash: str, settings: Mapping[str, Any]) -> str:
    """The cache key of a result computed from a training set: the data's hash and every setting
    that changes the result (models and their configurations, samples, seeds, code version)."""
    payload = json.dumps({"training": training_hash, **settings}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def code_version() -> dict[str, str]:
    """``{"package": risk_dagster.__version__, "git_commit": <sha or "unknown">}``."""
    from risk_dagster import __version__

    return {"package": str(__version__), "git_commit": _git_commit()}


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _jsonable(obj: Any) -> Any:
    """Round-trip through JSON (numpy scalars -> numbers), so metadata is plain JSON."""
    return json.loads(json.dumps(obj, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


# =============================================================================== versions
@dataclass(frozen=True)
class ModelVersion:
    """One registered version.

    Attributes
    ----------
    model_id, version
        ``satellite`` / ``v0003``.
    path
        Its folder ``root/<model_id>/<version>``.
    metadata
        ``metadata.json``'s content.
    """

    model_id: str
    version: str
    path: Path
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def ref(self) -> str:
        """``model_id/version``, accepted by :meth:`ModelRegistry.load`."""
        return f"{self.model_id}/{self.version}"

    @property
    def created(self) -> str | None:
        return self.metadata.get("created")

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.metadata.get("metrics") or {})

    @property
    def training_data_hash(self) -> str | None:
        return self.metadata.get("training_data_hash")

    def summary(self) -> dict[str, Any]:
        """Plain-JSON summary for metadata and ``run_summary.json``."""
        return {
            "model_id": self.model_id,
            "version": self.version,
            "created": self.created,
            "training_data_hash": self.training_data_hash,
            "code_version": self.metadata.get("code_version"),
            "metrics": self.metrics,
        }


def content_hash(files: Mapping[str, str]) -> str:
    """``sha256:`` of a version's model files (relative path and sha256 of each, sorted): two
    versions with the same content hash are the same model, byte for byte."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{files[name]}\n".encode())
    return f"sha256:{digest.hexdigest()}"


def _content_hash_of(version: ModelVersion) -> str | None:
    recorded = version.metadata.get("content_hash")
    if recorded:
        return str(recorded)
    files = version.metadata.get("files")  # a version registered before content hashes
    return content_hash(files) if isinstance(files, Mapping) and files else None


def _parse_version_number(name: str) -> int | None:
    if name.startswith(_VERSION_PREFIX) and name[len(_VERSION_PREFIX) :].isdigit():
        return int(name[len(_VERSION_PREFIX) :])
    return None


def _format_version(number: int) -> str:
    return f"{_VERSION_PREFIX}{number:0{_VERSION_DIGITS}d}"


# =============================================================================== the registry
class ModelRegistry:
    """Versioned translators with stable / current / experimental lanes under ``root``.

    Parameters
    ----------
    root
        Registry folder; created on the first write. See the module docstring for the layout.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # ----------------------------------------------------------------- lanes file
    @property
    def lanes_path(self) -> Path:
        return self.root / LANES_FILE

    @property
    def history_path(self) -> Path:
        return self.root / HISTORY_FILE

    def _read_lanes(self) -> dict[str, dict[str, str] | None]:
        empty: dict[str, dict[str, str] | None] = {lane: None for lane in LANES}
        path = self.lanes_path
        if not path.exists():
            return empty
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RegistryError(f"corrupted lanes file {path}: {exc}") from exc
        if not isinstance(doc, dict):
            raise RegistryError(f"corrupted lanes file {path}: expected an object of lanes")
        for lane in LANES:
            entry = doc.get(lane)
            if entry is None:
                continue
            if not (isinstance(entry, dict) and isinstance(entry.get("model_id"), str) and isinstance(entry.get("version"), str)):
                raise RegistryError(f"corrupted lanes file {path}: lane {lane!r} is {entry!r}")
            empty[lane] = {"model_id": entry["model_id"], "version": entry["version"]}
        return empty

    def _write_lanes(self, lanes: Mapping[str, dict[str, str] | None]) -> None:
        write_json(self.lanes_path, {lane: lanes.get(lane) for lane in LANES})

    def _append_history(self, event: Mapping[str, Any]) -> None:
        # Rewrite-and-rename rather than append: the file is small, and an interrupted write
        # then never leaves a truncated last line.
        old = self.history_path.read_text(encoding="utf-8") if self.history_path.exists() else ""
        if old and not old.endswith("\n"):
            old += "\n"
        write_text(self.history_path, old + json.dumps(_jsonable(dict(event)), sort_keys=True) + "\n")

    def history(self) -> list[dict[str, Any]]:
        """Every event of ``history.jsonl`` (register / promote / bootstrap), oldest first."""
        path = self.history_path
        if not path.exists():
            return []
        events = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RegistryError(f"corrupted history {path} line {number}: {exc}") from exc
        return events

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Advisory lock around read-modify-write of lanes/history (several runs may share a
        registry folder); a no-op where ``fcntl`` is missing."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - non-POSIX
            yield
            return
        with (self.root / _LOCK_FILE).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ----------------------------------------------------------------- versions
    def _version_dir(self, model_id: str, version: str) -> Path:
        return self.root / model_id / version

    def _read_metadata(self, folder: Path) -> dict[str, Any]:
        path = folder / METADATA_FILE
        if not path.is_file():
            raise RegistryError(f"missing {path}: not a registered version")
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RegistryError(f"corrupted {path}: {exc}") from exc
        if not isinstance(doc, dict):
            raise RegistryError(f"corrupted {path}: expected an object")
        return doc

    def version(self, model_id: str, version: str) -> ModelVersion:
        """The registered version ``model_id/version``.

        Raises
        ------
        RegistryError
            When its folder or ``metadata.json`` is missing or unreadable.
        """
        folder = self._version_dir(model_id, version)
        if not folder.is_dir():
            raise RegistryError(f"no version {model_id}/{version} in the registry {self.root} (missing {folder})")
        return ModelVersion(model_id, version, folder, self._read_metadata(folder))

    def list_versions(self, model_id: str | None = None) -> list[ModelVersion]:
        """Every registered version (of one model id when given), by model id then number."""
        if not self.root.is_dir():
            return []
        out: list[ModelVersion] = []
        for model_dir in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if model_id is not None and model_dir.name != model_id:
                continue
            numbered = [(n, p) for p in model_dir.iterdir() if p.is_dir() and (n := _parse_version_number(p.name)) is not None]
            for _, folder in sorted(numbered):
                out.append(self.version(model_dir.name, folder.name))
        return out

    def _next_number(self, model_id: str) -> int:
        folder = self.root / model_id
        numbers = [n for p in folder.iterdir() if (n := _parse_version_number(p.name)) is not None] if folder.is_dir() else []
        return max(numbers, default=0) + 1

    def register(
        self,
        model: Any,
        *,
        lane: str | None = "experimental",
        metrics: Mapping[str, Any] | None = None,
        training: Any = None,
        seed: int | None = None,
        config: Mapping[str, Any] | None = None,
        notes: str | None = None,
    ) -> ModelVersion:
        """Save a fitted translator as the next version of its ``model_id``.

        Parameters
        ----------
        model
            A fitted translator (satellite, transformer); saved by
            :func:`~risk_dagster.translate.persistence.save_translator`.
        lane
            ``experimental`` (default) puts the new version there; ``None`` registers it
            without a lane. Higher lanes are reached only by :meth:`promote`.
        metrics
            JSON-able scores (backtest energy score, coverage ...).
        training
            The :class:`~risk_dagster.translate.base.TrainingSet` it was fitted on (its
            :func:`training_data_hash` and summary are recorded), or an already computed hash.
        seed
            Training seed, when the fit is random.
        config
            Extra JSON-able configuration; the model's own config is in ``translator.json``.
        notes
            Free text.

        Returns
        -------
        ModelVersion
            The new version.

        Raises
        ------
        RegistryError
            For ``lane`` other than ``experimental``/``None``, or a model that writes files
            other than safetensors/JSON.
        """
        if lane not in ("experimental", None):
            raise RegistryError(
                f"register: a new version enters lane 'experimental' (or none), not {lane!r}; "
                "use promote() to move it up experimental -> current -> stable"
            )
        model_id = str(model.model_id)
        if not model_id or "/" in model_id or model_id.startswith("."):
            raise RegistryError(f"register: unusable model_id {model_id!r}")
        if training is None:
            data_hash, training_summary = None, None
        elif isinstance(training, str):
            data_hash, training_summary = training, None
        else:
            data_hash = training_data_hash(training)
            training_summary = training.summary() if callable(getattr(training, "summary", None)) else None

        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / model_id).mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".staging-{model_id}-", dir=self.root))
        try:
            try:
                save_translator(model, staging)
            except ModelFileError as exc:
                raise RegistryError(f"register: {model_id} wrote forbidden files: {exc}") from exc
            files = {p.relative_to(staging).as_posix(): _file_sha256(p) for p in check_model_files(staging)}
            content = content_hash(files)
            same = next((v for v in self.list_versions(model_id) if _content_hash_of(v) == content), None)
            if same is not None:
                # An identical retrain (same files, byte for byte) is the version that exists.
                return self._register_duplicate(same, lane=lane, data_hash=data_hash)
            meta: dict[str, Any] = {
                "model_id": model_id,
                "version": None,  # filled once the number is claimed
                "model_version": str(getattr(model, "version", "")),
                "training_data_hash": data_hash,
                "training": training_summary,
                "code_version": code_version(),
                "metrics": dict(metrics or {}),
                "created": _utc_now(),
                "seed": seed,
                "config": dict(config or {}),
                "notes": notes,
                "files": files,
                "content_hash": content,
            }
            with self._locked():
                number = self._next_number(model_id)
                while True:
                    version = _format_version(number)
                    meta["version"] = version
                    write_json(staging / METADATA_FILE, _jsonable(meta))
                    target = self._version_dir(model_id, version)
                    try:
                        os.rename(staging, target)  # atomic; fails if the number was taken
                        break
                    except OSError:
                        if not target.exists():
                            raise
                        number += 1
                lanes = self._read_lanes()
                previous = lanes.get(lane) if lane else None
                if lane:
                    lanes[lane] = {"model_id": model_id, "version": version}
                    self._write_lanes(lanes)
                elif not self.lanes_path.exists():
                    self._write_lanes(lanes)
                self._append_history(
                    {
                        "event": "register",
                        "timestamp": meta["created"],
                        "model_id": model_id,
                        "version": version,
                        "to_lane": lane,
                        "replaced": previous,
                        "training_data_hash": data_hash,
                    }
                )
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return self.version(model_id, version)

    def _register_duplicate(self, existing: ModelVersion, *, lane: str | None, data_hash: str | None) -> ModelVersion:
        """Record that a registration produced the files of ``existing``; the lane points at it."""
        with self._locked():
            lanes = self._read_lanes()
            previous = lanes.get(lane) if lane else None
            entry = {"model_id": existing.model_id, "version": existing.version}
            if lane and previous != entry:
                lanes[lane] = entry
                self._write_lanes(lanes)
            self._append_history(
                {
                    "event": "register_identical",
                    "timestamp": _utc_now(),
                    "model_id": existing.model_id,
                    "version": existing.version,
                    "to_lane": lane,
                    "replaced": previous if previous != entry else None,
                    "training_data_hash": data_hash,
                    "note": "identical to an existing version (content hash): no new version",
                }
            )
        return existing

    # ----------------------------------------------------------------- lanes
    def lane(self, name: str) -> ModelVersion | None:
        """The version in lane ``name``, or ``None`` when the lane is empty.

        Raises
        ------
        RegistryError
            For an unknown lane, or a lane pointing at a version whose folder is gone.
        """
        if name not in LANES:
            raise RegistryError(f"unknown lane {name!r}; lanes are {', '.join(LANES)}")
        entry = self._read_lanes()[name]
        if entry is None:
            return None
        return self.version(entry["model_id"], entry["version"])

    def lanes(self) -> dict[str, ModelVersion | None]:
        """Every lane's version (``None`` where empty), from most to least trusted."""
        return {name: self.lane(name) for name in reversed(LANES)}

    def resolve(self, ref: str | ModelVersion) -> ModelVersion:
        """A lane name (``stable``), ``model_id/version`` or a :class:`ModelVersion` -> version.

        Raises
        ------
        RegistryError
            For an empty lane or an unknown reference.
        """
        if isinstance(ref, ModelVersion):
            return self.version(ref.model_id, ref.version)
        if ref in LANES:
            found = self.lane(ref)
            if found is None:
                raise RegistryError(f"lane {ref!r} of the registry {self.root} is empty")
            return found
        if ref.count("/") == 1:
            model_id, version = ref.split("/")
            return self.version(model_id, version)
        raise RegistryError(f"{ref!r} is neither a lane ({', '.join(LANES)}) nor 'model_id/version'")

    def verify(self, ref: str | ModelVersion) -> ModelVersion:
        """Check a version's files: only safetensors/JSON, each present with the sha256
        recorded at registration.

        Raises
        ------
        RegistryError
            Naming the missing, changed or forbidden file.
        """
        mv = self.resolve(ref)
        try:
            check_model_files(mv.path)
        except ModelFileError as exc:
            raise RegistryError(str(exc)) from exc
        recorded = mv.metadata.get("files")
        if not isinstance(recorded, dict):
            raise RegistryError(f"corrupted {mv.path / METADATA_FILE}: no file checksums")
        for name, expected in recorded.items():
            path = mv.path / name
            if not path.is_file():
                raise RegistryError(f"missing model file {path}")
            if _file_sha256(path) != expected:
                raise RegistryError(f"corrupted model file {path}: sha256 differs from the one registered")
        return mv

    def load(self, ref: str | ModelVersion) -> Any:
        """Load the translator of a lane (``stable``/``current``/``experimental``) or of
        ``model_id/version``, after :meth:`verify` (safetensors + JSON only, never unpickled).

        Raises
        ------
        RegistryError
            On an empty lane, unknown version, or a missing/corrupted file (named).
        """
        mv = self.verify(ref)
        try:
            model = load_translator(mv.path)
        except ModelFileError as exc:
            raise RegistryError(str(exc)) from exc
        return model

    def record_backtest(self, ref: str | ModelVersion, scores: Mapping[str, Any]) -> ModelVersion:
        """Record a version's backtest scores (``metrics["backtest"]``: at least ``energy_score``
        and ``coverage_90``), which the promotion gates read (:mod:`risk_dagster.translate.promotion`)."""
        missing = [k for k in ("energy_score", "coverage_90") if k not in scores]
        if missing:
            raise RegistryError(f"record_backtest: scores lack {missing}")
        mv = self.resolve(ref)
        with self._locked():
            meta = self._read_metadata(mv.path)
            meta.setdefault("metrics", {})["backtest"] = _jsonable(dict(scores))
            write_json(mv.path / METADATA_FILE, meta)
            self._append_history(
                {"event": "record_backtest", "timestamp": _utc_now(), "model_id": mv.model_id, "version": mv.version,
                 "scores": {k: scores[k] for k in ("energy_score", "coverage_90")}}
            )  # fmt: skip
        return self.version(mv.model_id, mv.version)

    def promotion_gates(self, model_id: str, version: str, to_lane: str) -> GateResult:
        """The backtest gates of promoting ``model_id/version`` into ``to_lane`` (not applied)."""
        candidate = self.version(model_id, version)
        incumbent = self.lane(to_lane) if to_lane in LANES else None
        if incumbent is not None and incumbent == candidate:
            incumbent = None
        return promotion_gates(
            candidate.metrics,
            incumbent.metrics if incumbent is not None else None,
            incumbent_ref=incumbent.ref if incumbent is not None else None,
        )

    def promote(
        self, model_id: str, version: str, to_lane: str, *, note: str | None = None, force: bool = False
    ) -> ModelVersion:
        """Move ``model_id/version`` one lane up: experimental -> current -> stable.

        The version must sit in the lane directly below ``to_lane`` (skipping a lane, or
        promoting a version that is not there, is refused), and pass the backtest gates against
        the occupant of ``to_lane`` (:meth:`promotion_gates`), unless ``force`` with a ``note``.
        The lane below keeps it; the replaced occupant of ``to_lane``, the gates' outcome and any
        forcing are recorded in ``history.jsonl`` with a UTC timestamp.

        Returns
        -------
        ModelVersion
            The promoted version.

        Raises
        ------
        RegistryError
            For an unknown lane or version, promotion into ``experimental``, or out of order.
        """
        if to_lane not in LANES:
            raise RegistryError(f"unknown lane {to_lane!r}; lanes are {', '.join(LANES)}")
        rank = LANES.index(to_lane)
        if rank == 0:
            raise RegistryError("nothing is promoted into 'experimental': register() puts new versions there")
        from_lane = LANES[rank - 1]
        mv = self.verify(f"{model_id}/{version}")  # never promote a broken version
        with self._locked():
            lanes = self._read_lanes()
            below = lanes[from_lane]
            if lanes[to_lane] == {"model_id": model_id, "version": version}:
                raise RegistryError(f"{model_id}/{version} is already in lane {to_lane!r}; nothing to promote")
            if below != {"model_id": model_id, "version": version}:
                where = [name for name, e in lanes.items() if e == {"model_id": model_id, "version": version}]
                raise RegistryError(
                    f"cannot promote {model_id}/{version} to {to_lane!r}: promotion goes "
                    f"{' -> '.join(LANES)} one lane at a time, and {to_lane!r} takes only the version in "
                    f"{from_lane!r} (now {_ref(below)}); {model_id}/{version} is in "
                    f"{', '.join(repr(w) for w in where) if where else 'no lane'}"
                )
            gates = self.promotion_gates(model_id, version, to_lane)
            if force and not (note and note.strip()):
                raise RegistryError("a forced promotion needs a note saying why the gates are overridden")
            if not gates.passed and not force:
                raise RegistryError(
                    f"{model_id}/{version} does not pass the promotion gates into {to_lane!r}: "
                    + "; ".join(gates.failed())
                    + " (record its backtest with ModelRegistry.record_backtest, or force with a note)"
                )
            previous = lanes[to_lane]
            lanes[to_lane] = {"model_id": model_id, "version": version}
            self._write_lanes(lanes)
            self._append_history(
                {
                    "event": "promote",
                    "timestamp": _utc_now(),
                    "model_id": model_id,
                    "version": version,
                    "from_lane": from_lane,
                    "to_lane": to_lane,
                    "replaced": previous,
                    "note": note,
                    "gates": gates.checks,
                    "forced": bool(force and not gates.passed),
                }
            )
        return mv

    # ----------------------------------------------------------------- reports
    def describe(self) -> list[dict[str, Any]]:
        """One row per lane (most trusted first) for Dagster metadata and the CLI.

        Returns
        -------
        list of dict
            Keys :data:`DESCRIBE_COLUMNS`; ``None`` values for an empty lane.
        """
        rows = []
        for name, mv in self.lanes().items():
            rows.append(
                {
                    "lane": name,
                    "model_id": mv.model_id if mv else None,
                    "version": mv.version if mv else None,
                    "created": mv.created if mv else None,
                    "metrics": mv.metrics if mv else {},
                    "training_data_hash": mv.training_data_hash if mv else None,
                }
            )
        return rows


def _ref(entry: Mapping[str, str] | None) -> str:
    return "empty" if entry is None else f"{entry['model_id']}/{entry['version']}"


# =============================================================================== bootstrap
def shipped_registry_dir() -> Path:
    """The registry shipped in the package, ``risk_dagster/data/registry`` (may not exist)."""
    from risk_dagster.paths import data_dir

    return data_dir() / "registry"


def _same_files(a: Path, b: Path) -> bool:
    files_a = {p.relative_to(a).as_posix(): _file_sha256(p) for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b).as_posix(): _file_sha256(p) for p in b.rglob("*") if p.is_file()}
    return files_a == files_b


def bootstrap(root: str | Path, shipped: str | Path | None = None) -> ModelRegistry:
    """Open the registry at ``root``, seeding its empty lanes from a shipped registry.

    A fresh machine has no registry; the package ships one (``risk_dagster/data/registry``,
    the same layout, trained versions in their lanes). For every lane that is empty at
    ``root`` and filled in the shipped registry, the shipped version folder is copied
    (checked first: safetensors/JSON only, checksums as registered) and the lane set; a
    ``bootstrap`` event is recorded. Lanes that already hold a version are never touched, so
    calling this on every start is safe. Without a shipped registry the registry is simply
    opened (lanes stay empty until something is registered).

    A shipped version whose ``model_id/version`` already exists at ``root`` with different
    files is not copied (a warning says so) and its lane stays empty: numbering is per
    registry, and a local version is never overwritten.

    Parameters
    ----------
    root
        The working registry folder.
    shipped
        The registry to seed from; :func:`shipped_registry_dir` by default.

    Returns
    -------
    ModelRegistry
        The registry at ``root``.
    """
    registry = ModelRegistry(root)
    source_dir = Path(shipped) if shipped is not None else shipped_registry_dir()
    if not (source_dir / LANES_FILE).is_file():
        return registry
    source = ModelRegistry(source_dir)
    with registry._locked():
        lanes = registry._read_lanes()
        shipped_lanes = source._read_lanes()
        seeded: dict[str, dict[str, str]] = {}
        for name in LANES:
            entry = shipped_lanes[name]
            if lanes[name] is not None or entry is None:
                continue
            mv = source.verify(f"{entry['model_id']}/{entry['version']}")
            target = registry._version_dir(mv.model_id, mv.version)
            if target.exists():
                if not _same_files(mv.path, target):
                    warnings.warn(
                        f"bootstrap: {target} exists with other files than the shipped {mv.path}; "
                        f"lane {name!r} is left empty",
                        stacklevel=2,
                    )
                    continue
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = Path(tempfile.mkdtemp(prefix=f".staging-{mv.model_id}-", dir=registry.root))
                try:
                    shutil.copytree(mv.path, tmp, dirs_exist_ok=True)
                    os.rename(tmp, target)
                finally:
                    if tmp.exists():
                        shutil.rmtree(tmp, ignore_errors=True)
            lanes[name] = dict(entry)
            seeded[name] = dict(entry)
        if seeded or not registry.lanes_path.exists():
            registry._write_lanes(lanes)
        if seeded:
            registry._append_history(
                {"event": "bootstrap", "timestamp": _utc_now(), "source": str(source_dir), "lanes": seeded}
            )
    return registry


# =============================================================================== conservativeness
SEVERITY_FACTORS: dict[str, tuple[float, float]] = {
    "equity.total_market": (-1.0, 0.08),
    "credit.spread.bbb_10y": (1.0, 40.0),
    "credit.spread.baa_10y": (1.0, 40.0),
    "vol.vix": (1.0, 11.0),
    "realestate.house": (-1.0, 0.017),
    "realestate.cre": (-1.0, 0.035),
    "rates.ust.10y": (0.0, 48.0),
}
"""Key factor -> (adverse direction, scale) of :func:`factor_severity`.

Direction ``-1``: a fall is adverse (equity drawdown, house and CRE price decline, log
returns); ``+1``: a rise is adverse (BBB and Baa spread widening in bp, VIX peak in points);
``0``: either way is adverse (the 10y Treasury: falling rates hurt income, rising rates hurt
bond values), measured by the absolute move. The scale is roughly the standard deviation of
the factor's one-quarter change over 1990-2025 in shock units (equity 0.083, BBB-10y 41bp,
Baa-10y 39bp, VIX 11.1 points, house 0.017, CRE 0.036, 10y 48bp), so a standardized move of 3
is a three-standard-deviation quarter's worth of cumulative stress."""


def factor_severity(
    shockset: ShockSet,
    *,
    quantile: float = 0.99,
    factors: Mapping[str, tuple[float, float]] | None = None,
) -> float:
    """Severity index of a ShockSet before the pricing engine exists (larger = more severe).

    For each key factor of :data:`SEVERITY_FACTORS` present in the set, each sample's peak
    adverse cumulative shock over the horizon (max over quarters of ``direction x shock``, or
    of ``|shock|`` for direction 0) is divided by the factor's scale; the index is the mean
    over those factors of the ``quantile`` (99%) across samples. Fixed factors (equity, VIX,
    10y, house, CRE under a Fed scenario) carry the scenario's own severity; open ones (the
    credit spreads) the model's tail.

    Parameters
    ----------
    shockset
        The samples.
    quantile
        Tail level across samples.
    factors
        Factor -> (direction, scale); :data:`SEVERITY_FACTORS` by default.

    Returns
    -------
    float
        The index; comparable between ShockSets over the same key factors.

    Raises
    ------
    ValueError
        When the set has none of the key factors or no samples.
    """
    table = SEVERITY_FACTORS if factors is None else factors
    present = [f for f in table if f in shockset.factor_ids]
    if not present:
        raise ValueError(f"factor_severity: ShockSet {shockset.scenario_id} has none of the key factors {sorted(table)}")
    if shockset.n_samples == 0:
        raise ValueError(f"factor_severity: ShockSet {shockset.scenario_id} has no samples")
    per_factor = []
    for fid in present:
        direction, scale = table[fid]
        shocks = shockset.factor(fid)  # [samples, quarters]
        adverse = np.abs(shocks) if direction == 0 else direction * shocks
        peak = np.nanmax(np.where(np.isfinite(adverse), adverse, -np.inf), axis=1)
        peak = peak[np.isfinite(peak)]
        if peak.size:
            per_factor.append(float(np.quantile(peak / scale, quantile)))
    if not per_factor:
        raise ValueError(f"factor_severity: ShockSet {shockset.scenario_id} has no finite key-factor shocks")
    return float(np.mean(per_factor))


def most_conservative(
    shocksets_by_lane: Mapping[str, ShockSet],
    *,
    severity: Callable[[ShockSet], float] = factor_severity,
) -> tuple[str, ShockSet]:
    """The lane whose ShockSet is the most severe, and that set.

    Parameters
    ----------
    shocksets_by_lane
        Lane (or any label) -> the ShockSet its translator drew for one scenario.
    severity
        ShockSet -> float, larger = more conservative: :func:`factor_severity` until the
        engine exists, then e.g. the 99% portfolio loss.

    Returns
    -------
    tuple
        ``(lane, shockset)``; the set is a shallow copy whose metadata adds ``lane``,
        ``severity`` and ``severity_by_lane``. Ties go to the more trusted lane
        (stable, then current, then experimental, then others in the given order).

    Raises
    ------
    ValueError
        When no set is given or a severity is not finite.
    """
    if not shocksets_by_lane:
        raise ValueError("most_conservative: no ShockSet given")
    scores: dict[str, float] = {}
    for lane, shockset in shocksets_by_lane.items():
        value = float(severity(shockset))
        if not np.isfinite(value):
            raise ValueError(f"most_conservative: severity of lane {lane!r} is {value}")
        scores[lane] = value
    trust = {name: i for i, name in enumerate(reversed(LANES))}
    order = sorted(scores, key=lambda lane: (-scores[lane], trust.get(lane, len(trust))))
    best = order[0]
    chosen = shocksets_by_lane[best]
    metadata = {**chosen.metadata, "lane": best, "severity": scores[best], "severity_by_lane": scores}
    return best, dataclasses.replace(chosen, metadata=metadata)


# =============================================================================== CLI helpers
def promote_command(
    registry_root: str | Path, model_id: str, version: str, to_lane: str, *, force: bool = False, note: str | None = None
) -> str:
    """``risk-dagster registry promote``: promote and return a one-line message.

    Raises
    ------
    RegistryError
        As :meth:`ModelRegistry.promote` (the CLI prints its message and exits non-zero).
    """
    registry = ModelRegistry(registry_root)
    previous = registry.lane(to_lane) if to_lane in LANES else None
    gates = registry.promotion_gates(model_id, version, to_lane) if to_lane in LANES else None
    mv = registry.promote(model_id, version, to_lane, force=force, note=note)
    replaced = f" (replacing {previous.ref})" if previous is not None and previous != mv else ""
    forced = " -- FORCED past failed gates: " + (note or "") if gates is not None and not gates.passed else ""
    lines = [f"promoted {mv.ref} from {LANES[LANES.index(to_lane) - 1]} to {to_lane}{replaced}{forced}"]
    return "\n".join(lines + (gates.lines() if gates is not None else []))


def describe_command(root: str | Path) -> list[dict[str, str]]:
    """``risk-dagster registry describe``: :meth:`ModelRegistry.describe` rows as strings.

    Returns
    -------
    list of dict
        One row per lane, keys :data:`DESCRIBE_COLUMNS`, every value a string (``-`` for an
        empty lane; metrics as compact ``k=v`` pairs; the data hash shortened to 12 digits).
    """
    rows = []
    for row in ModelRegistry(root).describe():
        metrics = ", ".join(_metric_text(k, v) for k, v in sorted(row["metrics"].items())) or "-"
        data_hash = row["training_data_hash"]
        rows.append(
            {
                "lane": row["lane"],
                "model_id": row["model_id"] or "-",
                "version": row["version"] or "-",
                "created": row["created"] or "-",
                "metrics": metrics,
                "training_data_hash": data_hash.removeprefix("sha256:")[:12] if data_hash else "-",
            }
        )
    return rows


def _metric_text(key: str, value: Any) -> str:
    if key == "backtest" and isinstance(value, Mapping):  # the gates' scores, compactly
        return f"backtest ES={_short(value.get('energy_score'))} cov90={_short(value.get('coverage_90'))}"
    return f"{key}={_short(value)}"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
