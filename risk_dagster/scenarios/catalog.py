"""The macro variable catalog: canonical ids, units, plausible ranges and column aliases.

The catalog is the union of every ``data_contracts/catalogs/variables_*.yaml`` (Fed, EBA,
NGFS ...). Readers map a column header to a :class:`Variable` with
:meth:`VariableCatalog.resolve_column`, which ignores case, whitespace, punctuation and a
``(Level)`` suffix, so spellings of Fed vintages we have never seen still resolve.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

import yaml

from risk_dagster.paths import contracts_dir

FED_TRANSFORMATIONS = ("level", "annualized_growth", "rate")
_REQUIRED_KEYS = ("id", "name", "source", "scope", "unit", "transformation", "range")
_LEVEL_SUFFIX = re.compile(r"\(\s*levels?\s*\)", re.IGNORECASE)
_PARENTHESISED = re.compile(r"\([^)]*\)")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise_header(text: str) -> str:
    """Reduce a column header to its matching key.

    Case, whitespace, punctuation and a ``(Level)`` suffix carry no meaning in the Fed's
    headers across vintages (``U.K.`` vs ``UK``, ``3-month`` vs ``3 month``), so they are
    dropped: ``"Market  Volatility Index (Level)"`` -> ``"marketvolatilityindex"``.

    Parameters
    ----------
    text
        Header as written.

    Returns
    -------
    str
        Lower-case alphanumeric key.
    """
    text = text.replace("\ufeff", "")
    text = _LEVEL_SUFFIX.sub(" ", text)
    return _NON_ALNUM.sub("", text.casefold())


def _strip_parenthesised(text: str) -> str:
    return normalise_header(_PARENTHESISED.sub(" ", text))


@dataclass(frozen=True)
class Variable:
    """One canonical macro variable.

    Attributes
    ----------
    id
        Canonical snake_case id (``unemployment_rate``).
    name
        Readable name.
    source
        Publisher whose catalog file defines it (``fed``, ``eba``, ``ngfs``).
    scope
        ``domestic``, ``international``, ``regional``, ``climate`` ...
    unit
        ``percent``, ``percent_annualized``, ``index``, ``usd_per_eur`` ...
    transformation
        ``level``, ``annualized_growth`` or ``rate`` (interest rate / yield, percent p.a.).
    minimum, maximum
        Plausible range, inclusive.
    aliases
        Column spellings as published.
    """

    id: str
    name: str
    source: str
    scope: str
    unit: str
    transformation: str
    minimum: float
    maximum: float
    aliases: tuple[str, ...] = ()

    def in_range(self, value: float) -> bool:
        """Whether ``value`` lies in the plausible range."""
        return self.minimum <= value <= self.maximum


class CatalogError(ValueError):
    """A catalog file that is malformed or contradicts another one."""


class VariableCatalog:
    """Lookup of :class:`Variable` by id and by column header.

    Parameters
    ----------
    variables
        Variables in catalog order.
    origins
        Optional file each variable came from, used in error messages.

    Raises
    ------
    CatalogError
        On a duplicate id, or an alias that normalises to the key of another variable of the
        same source.
    """

    def __init__(self, variables: Iterable[Variable], origins: dict[str, str] | None = None) -> None:
        origins = origins or {}
        self._by_id: dict[str, Variable] = {}
        # Aliases are unique within a source; different publishers legitimately reuse a
        # spelling ("Real GDP growth" is a Fed and an EBA column), so keys carry the source.
        self._by_key: dict[tuple[str, str], Variable] = {}
        self._stripped: dict[tuple[str, str], Variable | None] = {}
        for var in variables:
            if var.id in self._by_id:
                raise CatalogError(f"duplicate variable id {var.id!r} ({origins.get(var.id, '?')})")
            self._by_id[var.id] = var
            for spelling in (var.id, var.name, *var.aliases):
                key = normalise_header(spelling)
                if not key:
                    continue
                other = self._by_key.get((var.source, key))
                if other is not None and other.id != var.id:
                    raise CatalogError(
                        f"alias {spelling!r} of {var.id!r} is already an alias of {other.id!r} "
                        f"(source {var.source!r}, {origins.get(var.id, '?')})"
                    )
                self._by_key[(var.source, key)] = var
                # Fallback key without parenthesised parts; ambiguous ones resolve to nothing.
                skey = _strip_parenthesised(spelling)
                if skey:
                    prev = self._stripped.get((var.source, skey), var)
                    same = prev is not None and prev.id == var.id
                    self._stripped[(var.source, skey)] = var if same else None
        self._sources: tuple[str, ...] = tuple(dict.fromkeys(v.source for v in self._by_id.values()))
        self._lookups: dict[str, Mapping[str, Variable]] = {}

    # ----------------------------------------------------------------- lookups
    def get(self, variable_id: str) -> Variable:
        """The variable with this canonical id.

        Raises
        ------
        KeyError
            When the id is not in the catalog.
        """
        try:
            return self._by_id[variable_id]
        except KeyError:
            raise KeyError(f"unknown macro variable id {variable_id!r}") from None

    def __contains__(self, variable_id: object) -> bool:
        return variable_id in self._by_id

    def resolve_column(self, header: str, source: str | None = None) -> Variable | None:
        """The variable a column header names, or ``None``.

        Parameters
        ----------
        header
            Column header as written in a file.
        source
            Only look among variables of this source (``fed``) when given; otherwise the
            first source in catalog order that knows the spelling wins (the Fed first).

        Returns
        -------
        Variable or None
            The match on the normalised header, else on the header with parenthesised
            parts removed (``(USD per euro)`` spelt differently), else ``None``.
        """
        key = normalise_header(header)
        skey = _strip_parenthesised(header)
        sources = (source,) if source is not None else self._sources
        for src in sources:  # catalog order: the Fed first
            var = self._by_key.get((src, key))
            if var is None:
                var = self._by_key.get((src, skey)) or self._stripped.get((src, skey))
            if var is not None:
                return var
        return None

    def lookup(self, source: str) -> Mapping[str, Variable]:
        """Every spelling of one source's variables, by its :func:`normalise_header` key.

        The exact-match table the NGFS and EBA readers resolve IAMC variable names and sheet
        names with (``lookup("ngfs")[normalise_header("Price|Carbon")]`` is ``carbon_price``).
        Spellings are the id, the name and the aliases; only ``source``'s entries are in it,
        so a spelling another publisher also uses ("Unemployment rate") cannot collide.
        Built once per source, read-only.
        """
        table = self._lookups.get(source)
        if table is None:
            table = MappingProxyType({key: var for (src, key), var in self._by_key.items() if src == source})
            self._lookups[source] = table
        return table

    def ids(self, source: str | None = None, scope: str | None = None) -> list[str]:
        """Canonical ids in catalog order, optionally filtered by source and scope."""
        return [
            v.id
            for v in self._by_id.values()
            if (source is None or v.source == source) and (scope is None or v.scope == scope)
        ]

    def __iter__(self) -> Iterator[Variable]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)


def _parse_entry(entry: object, path: Path, index: int) -> Variable:
    if not isinstance(entry, dict):
        raise CatalogError(f"{path}: entry {index} is not a mapping")
    missing = [k for k in _REQUIRED_KEYS if k not in entry]
    if missing:
        raise CatalogError(f"{path}: entry {index} ({entry.get('id', '?')}) lacks {missing}")
    bounds = entry["range"]
    if not (isinstance(bounds, list) and len(bounds) == 2 and float(bounds[0]) < float(bounds[1])):
        raise CatalogError(f"{path}: {entry['id']}: range must be [min, max], got {bounds!r}")
    # Other sources add their own transformations (EBA's annual_growth), so only emptiness
    # is refused here; the Fed file's use of FED_TRANSFORMATIONS is checked by the tests.
    if not isinstance(entry["transformation"], str) or not entry["transformation"]:
        raise CatalogError(f"{path}: {entry['id']}: transformation must be a non-empty string")
    aliases = entry.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise CatalogError(f"{path}: {entry['id']}: aliases must be a list of strings")
    return Variable(
        id=str(entry["id"]),
        name=str(entry["name"]),
        source=str(entry["source"]),
        scope=str(entry["scope"]),
        unit=str(entry["unit"]),
        transformation=str(entry["transformation"]),
        minimum=float(bounds[0]),
        maximum=float(bounds[1]),
        aliases=tuple(aliases),
    )


def read_catalog_files(paths: Iterable[Path]) -> VariableCatalog:
    """Build a catalog from the given YAML files (top-level key ``variables``).

    Raises
    ------
    CatalogError
        On a malformed file, a duplicate id or a clashing alias.
    """
    variables: list[Variable] = []
    origins: dict[str, str] = {}
    for path in paths:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        entries = doc.get("variables") if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            raise CatalogError(f"{path}: top-level key 'variables' must be a list")
        for i, entry in enumerate(entries):
            var = _parse_entry(entry, Path(path), i)
            if var.id in origins:
                raise CatalogError(f"duplicate variable id {var.id!r} in {origins[var.id]} and {path}")
            origins[var.id] = str(path)
            variables.append(var)
    return VariableCatalog(variables, origins)


@cache
def load_variable_catalog() -> VariableCatalog:
    """The project's catalog: every ``data_contracts/catalogs/variables_*.yaml`` merged (cached).

    The Fed file comes first so Fed variables lead the catalog order.
    """
    folder = contracts_dir() / "catalogs"
    files = sorted(folder.glob("variables_*.yaml"), key=lambda p: (p.name != "variables_fed.yaml", p.name))
    if not files:
        raise CatalogError(f"no variables_*.yaml catalog in {folder}")
    return read_catalog_files(files)
