"""How an asset's value is kept on disk between steps: a typed file per value, written atomically.

The format follows the value, so each file can be opened without this package where a standard
format exists:

==========================  ==============================================================
value                       file
==========================  ==============================================================
``pandas.DataFrame``        ``<base>.parquet`` (lossless: Period columns and indexes kept)
``ShockSet``                ``<base>.npz`` (:meth:`ShockSet.save_npz`, no pickled objects)
mapping of ``ShockSet``     ``<base>/`` holding ``<key>.npz`` each and ``keys.json`` (order)
JSON value                  ``<base>.json`` (str, numbers, bools, None, lists and str-keyed dicts)
anything else               ``<base>.pkl`` (the domain objects that have no file format of their
                            own: a scenario, the factor history, stress and capital results)
==========================  ==============================================================

Writing one format removes the base's files of the other formats, so a reader never finds two.
"""

from __future__ import annotations

import json
import math
import pickle
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from risk_dagster.storage import atomic_write, replace_folder, write_text

SUFFIXES = (".parquet", ".npz", ".json", ".pkl")
"""File suffixes a stored value can have (a folder has none)."""
KEYS_FILE = "keys.json"


def _shockset_type() -> type:
    from risk_dagster.translate.shockset import ShockSet

    return ShockSet


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return isinstance(value, list) and all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


def format_of(value: Any) -> str:
    """``parquet``, ``npz``, ``npz-folder``, ``json`` or ``pickle``: how ``value`` is stored."""
    shockset = _shockset_type()
    if isinstance(value, pd.DataFrame):
        return "parquet"
    if isinstance(value, shockset):
        return "npz"
    if isinstance(value, Mapping) and value and all(isinstance(v, shockset) for v in value.values()) \
            and all(isinstance(k, str) and k and "/" not in k for k in value):  # fmt: skip
        return "npz-folder"
    if _is_json(value):
        return "json"
    return "pickle"


def save_value(base: str | Path, value: Any) -> Path:
    """Write ``value`` beside ``base`` in its format (the table in the module docstring).

    Parameters
    ----------
    base
        Path without suffix (``store/granular_shocks/fed-2026-baseline``), or with the suffix of
        the value's format (``shocks/fed-2026-baseline/ai.npz``).

    Returns
    -------
    Path
        The file (or folder) written.
    """
    fmt = format_of(value)
    base = _strip(Path(base))
    if fmt == "parquet":
        path = atomic_write(base.with_name(base.name + ".parquet"), lambda tmp: value.to_parquet(tmp))
    elif fmt == "npz":
        path = value.save_npz(base.with_name(base.name + ".npz"))
    elif fmt == "npz-folder":
        base.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{base.name}.", dir=base.parent))
        try:
            for key, shockset in value.items():
                shockset.save_npz(tmp / f"{key}.npz")
            write_text(tmp / KEYS_FILE, json.dumps(list(value)))
            path = replace_folder(tmp, base)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    elif fmt == "json":
        path = write_text(base.with_name(base.name + ".json"), json.dumps(value, indent=1) + "\n")
    else:
        path = atomic_write(base.with_name(base.name + ".pkl"), lambda tmp: tmp.write_bytes(pickle.dumps(value, protocol=5)))
    for other in _candidates(base):
        if other != path and other.exists():
            shutil.rmtree(other) if other.is_dir() else other.unlink()
    return path


def load_value(base: str | Path) -> Any:
    """Read the value stored at ``base`` by :func:`save_value` (whichever format it has).

    Raises
    ------
    FileNotFoundError
        When nothing is stored there (the asset was never materialized into this folder).
    """
    base = _strip(Path(base))
    found = [p for p in _candidates(base) if p.exists()]
    if not found:
        raise FileNotFoundError(f"{base}: no stored value (.parquet, .npz, .json, .pkl or folder); materialize it first")
    path = found[0]
    if path.is_dir():
        keys = json.loads((path / KEYS_FILE).read_text(encoding="utf-8"))
        return {key: _shockset_type().load_npz(path / f"{key}.npz") for key in keys}
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".npz":
        return _shockset_type().load_npz(path)
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    with path.open("rb") as handle:
        return pickle.load(handle)  # noqa: S301 - our own store, written by save_value


def _strip(base: Path) -> Path:
    return base.with_suffix("") if base.suffix in SUFFIXES else base


def _candidates(base: Path) -> list[Path]:
    return [base.with_name(base.name + s) for s in SUFFIXES] + [base]
