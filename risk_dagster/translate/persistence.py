"""Saving and loading translators as safetensors + JSON, never pickles.

A saved translator is a folder holding only ``.safetensors`` and ``.json`` files:

* the satellite (:class:`~risk_dagster.translate.satellite.SatelliteTranslator`) writes its
  numeric state (:meth:`~risk_dagster.translate.satellite.SatelliteTranslator.to_dict`'s
  ``arrays``) to ``model.safetensors`` and everything else (format tag, ``model_id``,
  version, config, factor ids, quarters, training summary) to ``translator.json``;
* the transformer (``risk_dagster.translate.transformer.TransformerTranslator``) writes its
  own files with its ``save(directory)``; when it leaves no ``translator.json`` a small one
  naming its ``model_id`` and version is added, so :func:`load_translator` can dispatch.

:func:`load_translator` reads ``translator.json``'s ``model_id`` and hands the folder to the
right class. Loading reads JSON and safetensors only (``safetensors`` stores raw tensors, no
code), so a tampered model folder cannot execute anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from risk_dagster.storage import atomic_write, write_json

__all__ = [
    "ALLOWED_SUFFIXES",
    "ARRAYS_FILE",
    "TRANSLATOR_FILE",
    "ModelFileError",
    "check_model_files",
    "load_satellite",
    "load_translator",
    "read_translator_json",
    "save_satellite",
    "save_translator",
]

ARRAYS_FILE = "model.safetensors"
"""Numeric state of the satellite."""

TRANSLATOR_FILE = "translator.json"
"""Config + provenance of any saved translator; its ``model_id`` picks the loader."""

ALLOWED_SUFFIXES: tuple[str, ...] = (".safetensors", ".json")
"""The only file types a saved model folder may hold (no pickles, no ``.bin``/``.pt``)."""

_STUB_FORMAT = "risk_dagster.translate.persistence/1"


class ModelFileError(ValueError):
    """A saved model folder that is missing, corrupted or holds a forbidden file type."""


def check_model_files(directory: str | Path) -> list[Path]:
    """The files of a saved model folder, refusing anything but safetensors and JSON.

    Parameters
    ----------
    directory
        The model folder (sub-folders are checked too).

    Returns
    -------
    list of Path
        Every file, sorted.

    Raises
    ------
    ModelFileError
        When the folder is missing or holds a file of another type (named in the message).
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise ModelFileError(f"model folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    bad = [p for p in files if p.suffix not in ALLOWED_SUFFIXES]
    if bad:
        raise ModelFileError(
            f"model folder {folder} holds files other than {'/'.join(ALLOWED_SUFFIXES)}: "
            f"{', '.join(str(p) for p in bad)} (models are never unpickled)"
        )
    return files


def read_translator_json(directory: str | Path) -> dict[str, Any]:
    """``translator.json`` of a saved model folder.

    Raises
    ------
    ModelFileError
        When the file is missing, not valid JSON, or has no ``model_id``.
    """
    path = Path(directory) / TRANSLATOR_FILE
    if not path.is_file():
        raise ModelFileError(f"missing {path}: not a saved translator")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"corrupted {path}: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("model_id"), str):
        raise ModelFileError(f"corrupted {path}: no 'model_id' string")
    return doc


# =============================================================================== satellite
def save_satellite(model: Any, directory: str | Path) -> Path:
    """Write a fitted satellite to ``directory`` as ``model.safetensors`` + ``translator.json``.

    Parameters
    ----------
    model
        A fitted :class:`~risk_dagster.translate.satellite.SatelliteTranslator`.
    directory
        Target folder (created); each file is written atomically.

    Returns
    -------
    Path
        The folder.
    """
    from safetensors.numpy import save_file

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    state = dict(model.to_dict())
    arrays = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in state.pop("arrays").items()}
    state["arrays"] = sorted(arrays)  # the tensor names, so a missing one is reported by name
    atomic_write(folder / ARRAYS_FILE, lambda tmp: save_file(arrays, str(tmp)))
    write_json(folder / TRANSLATOR_FILE, state)
    return folder


def load_satellite(directory: str | Path) -> Any:
    """Rebuild a satellite saved by :func:`save_satellite` (bit-for-bit arrays).

    Raises
    ------
    ModelFileError
        On a missing or corrupted file (named in the message).
    """
    from safetensors.numpy import load_file

    from risk_dagster.translate.satellite import SatelliteTranslator

    folder = Path(directory)
    check_model_files(folder)
    state = read_translator_json(folder)
    path = folder / ARRAYS_FILE
    if not path.is_file():
        raise ModelFileError(f"missing {path}")
    try:
        arrays = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for a truncated header
        raise ModelFileError(f"corrupted {path}: {exc}") from exc
    missing = sorted(set(state.get("arrays", [])) - set(arrays))
    if missing:
        raise ModelFileError(f"{path} lacks tensors {missing}")
    state["arrays"] = arrays
    try:
        return SatelliteTranslator.from_dict(state)
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelFileError(f"cannot rebuild the satellite from {folder}: {exc!r}") from exc


# =============================================================================== dispatch
def save_translator(model: Any, directory: str | Path) -> Path:
    """Save any translator to ``directory`` (safetensors + JSON only).

    The satellite goes through :func:`save_satellite`; any other model must offer
    ``save(directory)`` (the transformer). A ``translator.json`` naming ``model_id`` and
    ``version`` is added when the model's own ``save`` wrote none.

    Raises
    ------
    TypeError
        For a model that is neither a satellite nor has ``save``.
    ModelFileError
        When the model wrote a file other than safetensors/JSON.
    """
    from risk_dagster.translate.satellite import SatelliteTranslator

    folder = Path(directory)
    if isinstance(model, SatelliteTranslator):
        save_satellite(model, folder)
    elif callable(getattr(model, "save", None)):
        folder.mkdir(parents=True, exist_ok=True)
        model.save(folder)
        if not (folder / TRANSLATOR_FILE).is_file():
            write_json(
                folder / TRANSLATOR_FILE,
                {"format": _STUB_FORMAT, "model_id": str(model.model_id), "version": str(model.version)},
            )
    else:
        raise TypeError(f"save_translator: {type(model).__name__} is not a satellite and has no save(directory)")
    check_model_files(folder)
    return folder


def load_translator(directory: str | Path) -> Any:
    """Load a translator saved by :func:`save_translator`, dispatching on ``model_id``.

    ``satellite`` -> :func:`load_satellite`; ``transformer`` ->
    ``risk_dagster.translate.transformer.TransformerTranslator.load(directory)`` (imported
    only then, so the satellite needs no torch/transformers).

    Raises
    ------
    ModelFileError
        On a missing/corrupted ``translator.json``, a forbidden file type, or an unknown
        ``model_id``.
    """
    folder = Path(directory)
    check_model_files(folder)
    model_id = read_translator_json(folder)["model_id"]
    if model_id == "satellite":
        return load_satellite(folder)
    if model_id == "transformer":
        from risk_dagster.translate.transformer import TransformerTranslator

        return TransformerTranslator.load(folder)
    raise ModelFileError(f"{folder / TRANSLATOR_FILE}: unknown model_id {model_id!r} (satellite or transformer)")
