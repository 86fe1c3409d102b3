"""How a plausibility filter is stored: JSON state with tagged non-finite floats, the file names
of a saved filter, and the folder swap that never half-overwrites a good one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

_FLOAT_TAG = "$float"


def to_json_state(obj: Any) -> Any:
    """``obj`` as strict JSON: numpy scalars/arrays become Python ones, tuples lists, and a
    non-finite float ``{"$float": "nan" | "inf" | "-inf"}`` (JSON has no NaN).

    Raises
    ------
    TypeError
        On a non-string mapping key or a value JSON cannot hold (it would not load back equal).
    """
    if obj is None or isinstance(obj, (bool, np.bool_, str)):
        return bool(obj) if isinstance(obj, np.bool_) else obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if np.isfinite(x) else {_FLOAT_TAG: "nan" if np.isnan(x) else ("inf" if x > 0 else "-inf")}
    if isinstance(obj, np.ndarray):
        return to_json_state(obj.tolist())
    if isinstance(obj, Mapping):
        bad = [k for k in obj if not isinstance(k, str)]
        if bad:
            raise TypeError(f"non-string keys {bad!r} cannot be saved as JSON")
        return {k: to_json_state(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json_state(v) for v in obj]
    raise TypeError(f"{type(obj).__name__} value {obj!r} cannot be saved as JSON")


def from_json_state(obj: Any) -> Any:
    """Inverse of :func:`to_json_state` (tagged non-finite floats back to ``float``)."""
    if isinstance(obj, dict):
        if set(obj) == {_FLOAT_TAG}:
            return float(obj[_FLOAT_TAG])
        return {k: from_json_state(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_json_state(v) for v in obj]
    return obj



FILTER_FILE = "filter.json"
"""A saved filter's parameters, seed, hard-rule limits, history layout and discriminator metadata."""

FILTER_ARRAYS_FILE = "filter.safetensors"
"""A saved filter's arrays: hard-rule move limits (``max_moves.<factor id>``) and the history's
one-quarter changes (``history.changes``, kept so an unsaved path length can still be trained)."""

FILTER_FORMAT = "risk_dagster.translate.plausibility/1"
_DISCRIMINATOR_FILE = re.compile(r"discriminator_[0-9]+\.safetensors")


def discriminator_file(quarters: int) -> str:
    """File name of the saved discriminator for ``quarters``-quarter paths."""
    return f"discriminator_{int(quarters)}.safetensors"


def is_filter_file(name: str) -> bool:
    return name in (FILTER_FILE, FILTER_ARRAYS_FILE) or _DISCRIMINATOR_FILE.fullmatch(name) is not None


