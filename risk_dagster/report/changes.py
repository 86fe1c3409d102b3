"""What moved since the previous pack in the same output folder: inputs, models and numbers.

The previous ``pack.json`` is read before the new one replaces it. Inputs and models are compared
by the hashes in the lineage (``lineage.inputs`` and ``lineage.models``: name -> ``sha256:``);
numbers by every numeric leaf of the two packs at the same place (``executive.headline[1].ai``).
A number moved when ``|new - old| > 1e-9``; the change is shown absolute and relative.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

_SKIPPED = ("lineage", "changes", "checks", "running", "cover")  # not results, or compared by hash


def numeric_leaves(obj: Any, prefix: str = "") -> Iterator[tuple[str, float]]:
    """``(path, value)`` of every number in a JSON tree (booleans are not numbers here)."""
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            if prefix == "" and key in _SKIPPED:
                continue
            yield from numeric_leaves(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from numeric_leaves(value, f"{prefix}[{i}]")
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield prefix, float(obj)


def load_previous(path: str | Path) -> dict[str, Any] | None:
    """The previous ``pack.json``, or ``None`` when there is none or it cannot be read."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None
    except (OSError, ValueError):
        return None


def compare_packs(previous: Mapping[str, Any] | None, current: Mapping[str, Any], *, limit: int = 60) -> dict[str, Any]:
    """The changes section's content (JSON-able).

    Returns ``previous`` (its run id and time, or ``None``), ``inputs`` and ``models`` (rows of name,
    before, after, for each hash that differs, was added or removed), ``numbers`` (the ``limit``
    largest relative moves: path, before, after, change, relative change in percent) and
    ``numbers_moved`` / ``numbers_compared``.
    """
    if previous is None:
        return {"previous": None, "inputs": [], "models": [], "numbers": [], "numbers_moved": 0, "numbers_compared": 0}
    lineage_old, lineage_new = previous.get("lineage") or {}, current.get("lineage") or {}
    sections = {}
    for key in ("inputs", "models"):
        old, new = lineage_old.get(key) or {}, lineage_new.get(key) or {}
        sections[key] = [
            {"name": name, "before": _short(old.get(name)), "after": _short(new.get(name))}
            for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)
        ]  # fmt: skip
    before = dict(numeric_leaves(previous))
    after = dict(numeric_leaves(current))
    common = sorted(set(before) & set(after))
    moved = []
    for path in common:
        change = after[path] - before[path]
        if abs(change) > 1e-9:
            rel = 100.0 * change / abs(before[path]) if before[path] else None
            moved.append({"number": path, "before": before[path], "after": after[path], "change": round(change, 6),
                          "relative_pct": None if rel is None else round(rel, 2)})  # fmt: skip
    moved.sort(key=lambda m: -(abs(m["relative_pct"]) if m["relative_pct"] is not None else float("inf")))
    run = previous.get("running") or {}
    return {
        "previous": {"run_id": run.get("run_id"), "generated_at": run.get("generated_at")},
        "inputs": sections["inputs"],
        "models": sections["models"],
        "numbers": moved[:limit],
        "numbers_moved": len(moved),
        "numbers_compared": len(common),
        "only_before": len(set(before) - set(after)),
        "only_after": len(set(after) - set(before)),
    }


def _short(digest: Any) -> str:
    return "absent" if digest is None else str(digest)[:19]


__all__ = ["compare_packs", "load_previous", "numeric_leaves"]
