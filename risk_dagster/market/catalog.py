"""The granular risk-factor catalog (``data_contracts/catalogs/risk_factors.yaml``).

A :class:`RiskFactor` says what a factor is (class, unit), how it is shocked (``absolute_bp``,
``log_return``, ``vol_points``, ``absolute``), where its history comes from (source, dataset,
column, aggregation to quarters, further sources blended in) and whether a Fed supervisory
scenario fixes it. :func:`load_risk_factor_catalog` validates the YAML and caches the result.

A factor with ``source: derived`` has no history of its own: it is computed from other factors
of a ShockSet by the module its ``derived_from`` names (the spreads by rating bucket,
:mod:`risk_dagster.translate.rating_spreads`). It has no dataset, series or aggregation, the
factor history leaves it out (:meth:`RiskFactorCatalog.with_history`), and no translator is
trained on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

import yaml

from risk_dagster.errors import InputFileError
from risk_dagster.paths import contracts_dir

__all__ = [
    "AGGREGATIONS",
    "ASSET_CLASSES",
    "DATASET_SOURCES",
    "DERIVED_SOURCE",
    "SHOCK_TYPES",
    "SOURCES",
    "RiskFactor",
    "RiskFactorCatalog",
    "SeriesRef",
    "load_risk_factor_catalog",
    "market_variables",
]

ASSET_CLASSES: tuple[str, ...] = (
    "rates", "credit", "equity", "fx", "volatility", "commodity", "real_estate", "conditions",
)  # fmt: skip
SHOCK_TYPES: tuple[str, ...] = ("absolute_bp", "log_return", "vol_points", "absolute")
SOURCES: tuple[str, ...] = (
    "fed", "treasury", "fred_md", "fred_qd", "french", "h10", "eia", "chicago_fed", "nber",
    "oecd", "ecb", "yahoo", "yfinance", "euribor_it",
)  # fmt: skip
AGGREGATIONS: tuple[str, ...] = ("last", "mean", "max", "compound")
DERIVED_SOURCE = "derived"
"""``source`` of a factor computed from other factors (no history); ``derived_from`` names the rule."""

DATASET_SOURCES: dict[str, str] = {
    "fed_history": "fed",
    "treasury_par_curve": "treasury",
    "fred_md": "fred_md",
    "fred_qd": "fred_qd",
    "french_industry_12": "french",
    "h10_usdeur": "h10",
    "h10_broad_dollar": "h10",
    "eia_wti": "eia",
    "chicago_nfci": "chicago_fed",
    "nber_usrec": "nber",
    "oecd_long_term_rates": "oecd",
    "ecb_aaa_10y": "ecb",
    "stoxx50e_1986": "yahoo",
    "stoxx50e_2007": "yfinance",
    "euribor": "euribor_it",
    "eurirs": "euribor_it",
}
"""Dataset id -> publishing source id; ``fed_history`` is the Fed historic table (wide frame)."""

# Shock types a class may use: rates and spreads move in bp, prices in log returns ...
_CLASS_SHOCKS: dict[str, frozenset[str]] = {
    "rates": frozenset({"absolute_bp"}),
    "credit": frozenset({"absolute_bp"}),
    "equity": frozenset({"log_return"}),
    "fx": frozenset({"log_return"}),
    "volatility": frozenset({"vol_points"}),
    "commodity": frozenset({"log_return"}),
    "real_estate": frozenset({"log_return"}),
    "conditions": frozenset({"absolute"}),
}
_ID = re.compile(r"^[a-z]+(\.[a-z0-9_]+)+$")
_FED_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_REQUIRED = ("id", "asset_class", "shock_type", "unit", "source", "dataset", "series", "aggregation", "description")
_KNOWN_KEYS = frozenset({*_REQUIRED, "minus", "blend", "fixed_by_fed", "fixed_by_market"})
_DERIVED_REQUIRED = ("id", "asset_class", "shock_type", "unit", "source", "derived_from", "description")
_DERIVED_KEYS = frozenset({*_DERIVED_REQUIRED, "fixed_by_fed", "fixed_by_market"})


@lru_cache(maxsize=1)
def market_variables() -> dict[str, dict[str, Any]]:
    """Canonical market variables a non-Fed scenario can give (``market_variables.yaml``): id -> entry."""
    path = contracts_dir() / "catalogs" / "market_variables.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(v["id"]): dict(v) for v in doc.get("variables") or []}
_MODULE = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+$")


@dataclass(frozen=True)
class SeriesRef:
    """One source column of a factor's history.

    Attributes
    ----------
    source
        Publishing source id (``treasury``, ``fred_md`` ...).
    dataset
        Dataset id of the frame holding the column (``treasury_par_curve``, ``fed_history``).
    series
        Column name, verbatim.
    aggregation
        Rule to quarters: ``last``, ``mean``, ``max`` or ``compound``.
    minus
        Optional column of the same frame subtracted from ``series`` (spreads).
    """

    source: str
    dataset: str
    series: str
    aggregation: str
    minus: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column this reference reads."""
        return (self.series,) if self.minus is None else (self.series, self.minus)


@dataclass(frozen=True)
class RiskFactor:
    """One granular market risk factor.

    Attributes
    ----------
    id
        Dotted id, e.g. ``rates.ust.10y``, ``equity.sector.hlth``.
    asset_class
        One of :data:`ASSET_CLASSES`.
    shock_type
        One of :data:`SHOCK_TYPES`: ``absolute_bp`` (level in percent, shock in bp),
        ``log_return``, ``vol_points`` or ``absolute``.
    unit
        Unit of the level (``percent``, ``index``, ``usd_per_eur`` ...).
    primary
        The main history source; ``None`` for a derived factor.
    blend
        Further sources of the same quantity, blended with the primary per quarter.
    fixed_by_fed
        Fed scenario variable id fixing the factor (``treasury_10y``), an ``a - b``
        difference of two ids, or ``None``. Every Fed scenario fixes such a factor.
    fixed_by_market
        Canonical market variable (``data_contracts/catalogs/market_variables.yaml``, e.g.
        ``eur_swap_10y``) that fixes the factor when a scenario gives it (the EBA's swap curves
        and long-term rates), or ``None``. No Fed scenario gives one, so for the Fed the factor is
        open (and in the backtests' open set).
    description
        Words.
    derived_from
        For a derived factor (``source: derived``, no history), the dotted module that computes
        it from other factors of a ShockSet; ``None`` otherwise.
    """

    id: str
    asset_class: str
    shock_type: str
    unit: str
    primary: SeriesRef | None
    description: str
    blend: tuple[SeriesRef, ...] = field(default_factory=tuple)
    fixed_by_fed: str | None = None
    derived_from: str | None = None
    fixed_by_market: str | None = None

    # -- shortcuts to the primary source, as the catalog YAML writes them
    @property
    def is_derived(self) -> bool:
        """Computed from other factors (``source: derived``): no dataset, no history."""
        return self.primary is None

    @property
    def source(self) -> str:
        return DERIVED_SOURCE if self.primary is None else self.primary.source

    @property
    def dataset(self) -> str | None:
        return None if self.primary is None else self.primary.dataset

    @property
    def series(self) -> str | None:
        return None if self.primary is None else self.primary.series

    @property
    def aggregation(self) -> str | None:
        return None if self.primary is None else self.primary.aggregation

    @property
    def refs(self) -> tuple[SeriesRef, ...]:
        """Primary then blended sources (none for a derived factor)."""
        return () if self.primary is None else (self.primary, *self.blend)

    @property
    def sources(self) -> tuple[str, ...]:
        """Source ids of every reference, primary first."""
        return tuple(ref.source for ref in self.refs)

    @property
    def is_fixed_by_fed(self) -> bool:
        return self.fixed_by_fed is not None

    @property
    def fixed_by_fed_variables(self) -> tuple[str, ...]:
        """Fed variable ids the factor is fixed by (two for a difference such as a spread)."""
        if self.fixed_by_fed is None:
            return ()
        return tuple(part.strip() for part in self.fixed_by_fed.split(" - "))

    @property
    def is_fixable(self) -> bool:
        """A scenario can fix it: by a Fed variable, or by a market variable when one is given."""
        return self.fixed_by_fed is not None or self.fixed_by_market is not None

    @property
    def fixing_variables(self) -> tuple[str, ...]:
        """Canonical variables that fix the factor when a scenario gives them all (Fed or market)."""
        return self.fixed_by_fed_variables if self.fixed_by_fed is not None else (
            (self.fixed_by_market,) if self.fixed_by_market is not None else ())

    def as_dict(self) -> dict[str, Any]:
        """Plain-JSON form for metadata and reports."""
        return {
            "id": self.id,
            "asset_class": self.asset_class,
            "shock_type": self.shock_type,
            "unit": self.unit,
            "source": self.source,
            "dataset": self.dataset,
            "series": self.series,
            "minus": None if self.primary is None else self.primary.minus,
            "aggregation": self.aggregation,
            "blend": [
                {"source": r.source, "dataset": r.dataset, "series": r.series, "aggregation": r.aggregation}
                for r in self.blend
            ],
            "fixed_by_fed": self.fixed_by_fed,
            "fixed_by_market": self.fixed_by_market,
            "derived_from": self.derived_from,
            "description": self.description,
        }


class RiskFactorCatalog(Sequence[RiskFactor]):
    """Ordered, read-only collection of :class:`RiskFactor`, addressable by position or id."""

    def __init__(self, factors: Sequence[RiskFactor], path: Path | None = None) -> None:
        self._factors = tuple(factors)
        self._by_id = {f.id: f for f in self._factors}
        if len(self._by_id) != len(self._factors):
            raise ValueError("duplicate risk-factor ids")
        self.path = path

    def __len__(self) -> int:
        return len(self._factors)

    def __iter__(self) -> Iterator[RiskFactor]:
        return iter(self._factors)

    @overload
    def __getitem__(self, key: int) -> RiskFactor: ...
    @overload
    def __getitem__(self, key: slice) -> tuple[RiskFactor, ...]: ...
    @overload
    def __getitem__(self, key: str) -> RiskFactor: ...
    def __getitem__(self, key: int | slice | str) -> RiskFactor | tuple[RiskFactor, ...]:
        if isinstance(key, str):
            return self.get(key)
        return self._factors[key]

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return item in self._by_id
        return item in self._factors

    def __repr__(self) -> str:
        return f"RiskFactorCatalog({len(self)} factors from {self.path})"

    @property
    def ids(self) -> list[str]:
        """Factor ids in catalog order."""
        return [f.id for f in self._factors]

    def get(self, factor_id: str) -> RiskFactor:
        """The factor with this id; ``KeyError`` naming close matches otherwise."""
        try:
            return self._by_id[factor_id]
        except KeyError:
            prefix = factor_id.split(".")[0]
            near = [i for i in self._by_id if i.startswith(prefix)][:8]
            raise KeyError(f"unknown risk factor {factor_id!r}; known ids starting {prefix!r}: {near}") from None

    def by_class(self) -> dict[str, list[RiskFactor]]:
        """Factors grouped by asset class, classes in :data:`ASSET_CLASSES` order."""
        out: dict[str, list[RiskFactor]] = {c: [] for c in ASSET_CLASSES}
        for f in self._factors:
            out[f.asset_class].append(f)
        return {c: fs for c, fs in out.items() if fs}

    def fixed_by_fed(self) -> dict[str, str]:
        """Factor id -> Fed variable (or difference) for the factors a Fed scenario fixes."""
        return {f.id: f.fixed_by_fed for f in self._factors if f.fixed_by_fed is not None}

    def subset(self, ids: Sequence[str]) -> RiskFactorCatalog:
        """A catalog of these factors, in this order."""
        return RiskFactorCatalog([self.get(i) for i in ids], self.path)

    def with_history(self) -> RiskFactorCatalog:
        """The factors with a history source (every one but the derived), in catalog order."""
        return RiskFactorCatalog([f for f in self._factors if not f.is_derived], self.path)

    @property
    def derived_ids(self) -> list[str]:
        """Ids of the derived factors (``source: derived``), in catalog order."""
        return [f.id for f in self._factors if f.is_derived]


# --------------------------------------------------------------------------- loading
def _entry_lines(text: str) -> list[int]:
    """1-based line of each ``factors`` entry, for error messages."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "factors" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _ref(path: Path, raw: dict[str, Any], where: str, line: int | None) -> SeriesRef:
    def fail(rule: str, msg: str, col: str | None = None) -> InputFileError:
        return InputFileError(path, rule, f"{where}: {msg}", row=line, column=col)

    for key in ("source", "dataset", "series", "aggregation"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise fail("missing_field", f"'{key}' must be a non-empty string", key)
    source, dataset = raw["source"], raw["dataset"]
    if source not in SOURCES:
        raise fail("unknown_source", f"source {source!r} is not one of {list(SOURCES)}", "source")
    if dataset not in DATASET_SOURCES:
        raise fail("unknown_dataset", f"dataset {dataset!r} is not one of {list(DATASET_SOURCES)}", "dataset")
    if DATASET_SOURCES[dataset] != source:
        raise fail(
            "source_mismatch", f"dataset {dataset!r} is published by {DATASET_SOURCES[dataset]!r}, not {source!r}",
            "source",
        )  # fmt: skip
    if raw["aggregation"] not in AGGREGATIONS:
        raise fail("unknown_aggregation", f"aggregation {raw['aggregation']!r} is not one of {list(AGGREGATIONS)}")
    minus = raw.get("minus")
    if minus is not None and not isinstance(minus, str):
        raise fail("bad_field", "'minus' must be a column name", "minus")
    return SeriesRef(source, dataset, raw["series"], raw["aggregation"], minus)


def _factor(path: Path, raw: Any, index: int, line: int | None) -> RiskFactor:
    where = f"factor #{index + 1}"
    if not isinstance(raw, dict):
        raise InputFileError(path, "bad_entry", f"{where} is not a mapping", row=line)
    if isinstance(raw.get("id"), str):
        where = f"factor {raw['id']!r}"

    def fail(rule: str, msg: str, col: str | None = None) -> InputFileError:
        return InputFileError(path, rule, f"{where}: {msg}", row=line, column=col)

    derived = raw.get("source") == DERIVED_SOURCE
    required, known = (_DERIVED_REQUIRED, _DERIVED_KEYS) if derived else (_REQUIRED, _KNOWN_KEYS)
    missing = [k for k in required if k not in raw or raw[k] in (None, "")]
    if missing:
        raise fail("missing_field", f"missing {missing}", missing[0])
    unknown = sorted(set(raw) - known)
    if unknown:
        why = " (a derived factor has no dataset, series, aggregation or blend)" if derived else ""
        raise fail("unknown_field", f"unknown key(s) {unknown}{why}", unknown[0])
    fid = raw["id"]
    if not isinstance(fid, str) or not _ID.match(fid):
        raise fail("bad_id", f"id {fid!r} must be dotted lower-case, e.g. rates.ust.10y", "id")
    cls, shock = raw["asset_class"], raw["shock_type"]
    if cls not in ASSET_CLASSES:
        raise fail("unknown_asset_class", f"asset_class {cls!r} is not one of {list(ASSET_CLASSES)}", "asset_class")
    if shock not in SHOCK_TYPES:
        raise fail("unknown_shock_type", f"shock_type {shock!r} is not one of {list(SHOCK_TYPES)}", "shock_type")
    if shock not in _CLASS_SHOCKS[cls]:
        raise fail("shock_type_mismatch", f"{cls} factors use {sorted(_CLASS_SHOCKS[cls])}, not {shock!r}", "shock_type")
    if shock == "absolute_bp" and raw["unit"] != "percent":
        raise fail("bad_unit", "absolute_bp factors must have levels in percent", "unit")
    if derived:
        module = raw["derived_from"]
        if not isinstance(module, str) or not _MODULE.match(module):
            raise fail("bad_derived_from", f"derived_from {module!r} must be a dotted module path", "derived_from")
        if raw.get("fixed_by_fed") is not None:
            raise fail("bad_fixed_by_fed", "a derived factor cannot be fixed by the Fed", "fixed_by_fed")
        return RiskFactor(
            id=fid,
            asset_class=cls,
            shock_type=shock,
            unit=str(raw["unit"]),
            primary=None,
            description=" ".join(str(raw["description"]).split()),
            derived_from=module,
            fixed_by_market=_market_fixing(raw, fail),
        )
    primary = _ref(path, raw, where, line)
    blend_raw = raw.get("blend") or []
    if not isinstance(blend_raw, list):
        raise fail("bad_field", "'blend' must be a list of {source, dataset, series, aggregation}", "blend")
    blend = tuple(_ref(path, b if isinstance(b, dict) else {}, f"{where} blend #{i + 1}", line) for i, b in enumerate(blend_raw))
    sources = [primary.source, *(b.source for b in blend)]
    if len(set(sources)) != len(sources):
        raise fail("duplicate_blend_source", f"a source appears twice among {sources}", "blend")
    if primary.aggregation == "compound" and blend:
        raise fail("bad_field", "a compounded-return factor cannot be blended", "blend")
    fixed = raw.get("fixed_by_fed")
    if fixed is not None:
        parts = [p.strip() for p in str(fixed).split(" - ")]
        if not 1 <= len(parts) <= 2 or not all(_FED_ID.match(p) for p in parts):
            raise fail("bad_fixed_by_fed", f"{fixed!r} must be a Fed variable id or 'a - b'", "fixed_by_fed")
    return RiskFactor(
        id=fid,
        asset_class=cls,
        shock_type=shock,
        unit=str(raw["unit"]),
        primary=primary,
        description=" ".join(str(raw["description"]).split()),
        blend=blend,
        fixed_by_fed=fixed,
        fixed_by_market=_market_fixing(raw, fail),
    )


def _market_fixing(raw: dict[str, Any], fail: Any) -> str | None:
    """The entry's ``fixed_by_market``, checked against the market-variable catalog."""
    market = raw.get("fixed_by_market")
    if market is None:
        return None
    if raw.get("fixed_by_fed") is not None:
        raise fail("bad_fixed_by_market", "a factor is fixed by a Fed variable or a market variable, not both",
                   "fixed_by_market")
    if str(market) not in market_variables():
        raise fail("bad_fixed_by_market", f"{market!r} is not in market_variables.yaml", "fixed_by_market")
    return str(market)


def parse_risk_factor_catalog(path: str | Path) -> RiskFactorCatalog:
    """Read and validate a catalog file (uncached).

    Raises
    ------
    risk_dagster.errors.InputFileError
        Naming the file, the entry's line, the field and the rule broken (unknown class,
        shock type, source or dataset; duplicate id; missing field ...).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "missing_file", "risk-factor catalog not found")
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputFileError(path, "bad_yaml", str(exc), row=mark.line + 1 if mark else None) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("factors"), list) or not doc["factors"]:
        raise InputFileError(path, "bad_catalog", "expected a mapping with a non-empty 'factors' list")
    lines = _entry_lines(text)
    factors: list[RiskFactor] = []
    seen: dict[str, int | None] = {}
    for i, raw in enumerate(doc["factors"]):
        line = lines[i] if i < len(lines) else None
        factor = _factor(path, raw, i, line)
        if factor.id in seen:
            raise InputFileError(
                path, "duplicate_id", f"factor {factor.id!r} is defined twice (first at line {seen[factor.id]})",
                row=line, column="id",
            )  # fmt: skip
        seen[factor.id] = line
        factors.append(factor)
    return RiskFactorCatalog(factors, path)


@lru_cache(maxsize=8)
def _cached(path: str) -> RiskFactorCatalog:
    return parse_risk_factor_catalog(path)


def load_risk_factor_catalog(path: str | Path | None = None) -> RiskFactorCatalog:
    """The risk-factor catalog, validated once and cached.

    Parameters
    ----------
    path
        Catalog YAML; defaults to ``data_contracts/catalogs/risk_factors.yaml``.
    """
    resolved = Path(path) if path is not None else contracts_dir() / "catalogs" / "risk_factors.yaml"
    return _cached(str(resolved.resolve()))
