"""Where the project's shipped resources live, for a source checkout and an installed copy alike.

``data_contracts/`` and ``regulatory_templates/`` sit at the top of the repository, beside the
``risk_dagster/`` package. A non-editable install copies them *into* the package
(``site-packages/risk_dagster/data_contracts``, see ``pyproject.toml``); in a checkout, and in
an editable install (which imports the checkout), they are siblings of the package folder.
Both are found from this file's own location, never by importing them as modules: a process
started in the repository root imports the checkout's ``risk_dagster/`` (the current directory
comes first on ``sys.path``) even when a non-editable copy is installed, and the checkout's
package folder holds no ``data_contracts`` sub-package. Shipped data lives in
``risk_dagster/data`` in both layouts.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
"""The ``risk_dagster`` package folder this module was imported from."""


def resource_dir(name: str, *, marker: str) -> Path:
    """The folder ``name`` shipped with the package: inside it (installed) or beside it (checkout).

    Parameters
    ----------
    name
        Folder name at the top of the repository (``data_contracts``, ``regulatory_templates``).
    marker
        A path inside the folder that must exist, so that an unrelated folder of the same name
        is never taken for it.

    Raises
    ------
    FileNotFoundError
        Naming every place looked at, when neither layout holds the folder.
    """
    candidates = (PACKAGE_DIR / name, PACKAGE_DIR.parent / name)
    for candidate in candidates:
        if (candidate / marker).exists():
            return candidate
    looked = ", ".join(str(c / marker) for c in candidates)
    raise FileNotFoundError(
        f"risk_dagster: the {name}/ folder was not found (looked for {looked}); reinstall the package "
        "(pip install .) or run from a complete checkout"
    )


def data_dir() -> Path:
    """Folder of the shipped public data (``risk_dagster/data``), with ``PROVENANCE.md``."""
    return PACKAGE_DIR / "data"


def contracts_dir() -> Path:
    """Folder of the YAML data contracts and catalogs (``data_contracts/``)."""
    return resource_dir("data_contracts", marker="sources.yaml")


def templates_dir() -> Path:
    """Folder of the Jinja2 templates and print CSS (``regulatory_templates/``)."""
    return resource_dir("regulatory_templates", marker="print.css")


def fed_scenarios_dir() -> Path:
    """Folder of the shipped Federal Reserve scenario CSVs, one sub-folder per vintage."""
    return data_dir() / "fed_scenarios"
