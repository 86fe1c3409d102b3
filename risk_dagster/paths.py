"""Where the project's shipped resources live, for a source checkout and an installed copy alike.

``data_contracts/`` and ``regulatory_templates/`` sit at the top of the repository and are
installed as the sub-packages ``risk_dagster.data_contracts`` and
``risk_dagster.regulatory_templates`` (see ``pyproject.toml``), so both resolve through
:mod:`importlib.resources`; shipped data lives in ``risk_dagster/data``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _package_path(package: str) -> Path:
    path = Path(str(resources.files(package)))
    if not path.is_dir():  # pragma: no cover - zipped installs are not supported
        raise FileNotFoundError(f"resource package {package!r} is not a directory: {path}")
    return path


def data_dir() -> Path:
    """Folder of the shipped public data (``risk_dagster/data``), with ``PROVENANCE.md``."""
    return Path(__file__).resolve().parent / "data"


def contracts_dir() -> Path:
    """Folder of the YAML data contracts and catalogs (``data_contracts/``)."""
    return _package_path("risk_dagster.data_contracts")


def templates_dir() -> Path:
    """Folder of the Jinja2 templates and print CSS (``regulatory_templates/``)."""
    return _package_path("risk_dagster.regulatory_templates")


def fed_scenarios_dir() -> Path:
    """Folder of the shipped Federal Reserve scenario CSVs, one sub-folder per vintage."""
    return data_dir() / "fed_scenarios"
