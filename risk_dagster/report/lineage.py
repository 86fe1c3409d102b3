"""The lineage appendix: code version, package versions and data hashes, without Dagster.

The orchestrator adds what only it knows (the run id, asset versions and materializations); this
module gives what any process can tell: the package's version and git commit, the versions of the
libraries that shape the numbers, and ``sha256`` digests of the inputs and model files.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from risk_dagster import __version__
from risk_dagster.report.pack_data import file_sha256

PACKAGES: tuple[str, ...] = (
    "dagster", "torch", "transformers", "safetensors", "numpy", "pandas", "scipy", "statsmodels",
    "great_expectations", "QuantLib", "jinja2", "weasyprint", "matplotlib", "dask",
)  # fmt: skip
"""The libraries whose versions the appendix lists (those that compute, check or render)."""


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Installed version of each library (``not installed`` when absent)."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def code_version() -> dict[str, str]:
    """The package version and, from a git checkout, the commit and whether the tree was clean."""
    root = Path(__file__).resolve().parents[2]
    out = {"package": __version__, "git_commit": "not a git checkout", "git_dirty": "unknown"}
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if commit.returncode == 0:
            out["git_commit"] = commit.stdout.strip()
            status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, timeout=10)  # fmt: skip
            out["git_dirty"] = "yes" if status.stdout.strip() else "no"
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def hashes(paths: Mapping[str, str | Path]) -> dict[str, str]:
    """``name -> sha256:`` of each existing file or folder (missing ones are left out)."""
    return {name: file_sha256(Path(p)) for name, p in paths.items() if Path(p).exists()}


def base_lineage(*, inputs: Mapping[str, str | Path], models: Mapping[str, str | Path], **extra: Any) -> dict[str, Any]:
    """The lineage dict the pack shows and :mod:`~risk_dagster.report.changes` compares."""
    return {
        "code": code_version(),
        "packages": package_versions(),
        "platform": f"{platform.system()} {platform.machine()}, {sys.implementation.name} {platform.python_version()}",
        "inputs": hashes(inputs),
        "models": hashes(models),
        **extra,
    }


__all__ = ["PACKAGES", "base_lineage", "code_version", "hashes", "package_versions"]
