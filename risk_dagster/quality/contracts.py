"""Data contracts (ODCS v3 YAML) compiled to Great Expectations 1.x suites and run on frames.

A contract in ``data_contracts/datasets/<dataset_id>.yaml`` is parsed with the Open Data
Contract Standard's own Pydantic model (and checked against its JSON schema), then compiled
into a :class:`great_expectations.ExpectationSuite` following the mapping in
``data_contracts/README.md``. :func:`validate_frame` runs the suite on a pandas frame with one
ephemeral GX context per process and adds the contract's freshness SLA.

Dagster asset checks call :func:`validate_frame` directly (dagster-ge does not support GX 1.x)
and attach :meth:`ContractValidation.to_metadata`; a failure of a ``blocking`` contract stops
everything downstream.
"""

from __future__ import annotations

import functools
import json
import math
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from open_data_contract_standard.model import DataQuality, OpenDataContractStandard, SchemaProperty

from risk_dagster.errors import InputFileError
from risk_dagster.paths import contracts_dir
from risk_dagster.quality.reliability import load_source_policy

# GX is imported lazily: importing it costs seconds, and loading contracts should not.

_TYPE_LISTS: dict[str, list[str]] = {
    # numpy dtypes, pandas nullable dtypes (by class name: GX instantiates them), and native
    # Python types for object columns, whose values GX checks one by one.
    "number": [
        "float64", "float32", "float16", "int64", "int32", "int16", "int8",
        "uint64", "uint32", "uint16", "uint8",
        "Float64Dtype", "Float32Dtype", "Int64Dtype", "Int32Dtype", "Int16Dtype", "Int8Dtype",
        "float", "int",
    ],
    "integer": [
        "int64", "int32", "int16", "int8", "uint64", "uint32", "uint16", "uint8",
        "Int64Dtype", "Int32Dtype", "Int16Dtype", "Int8Dtype", "int",
    ],
    "string": ["str"],
    "boolean": ["bool", "BooleanDtype"],
    "date": [
        "datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]",
        "Timestamp", "Period", "date",
    ],
}
_TYPE_LISTS["timestamp"] = _TYPE_LISTS["date"]

_DAYS_PER_UNIT = {"d": 1, "day": 1, "days": 1, "w": 7, "week": 7, "weeks": 7, "m": 30, "month": 30,
                  "months": 30, "y": 365, "yr": 365, "year": 365, "years": 365}
_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*Q([1-4])\s*$", re.IGNORECASE)
_SAMPLE = 5  # unexpected values and row indexes kept per failed expectation


# --------------------------------------------------------------------------------- contracts
@dataclass(frozen=True, eq=False)  # identity: contracts are cached per file version
class DataContract:
    """A parsed, checked data contract.

    Attributes
    ----------
    id
        Dataset id (the file's stem, e.g. ``fed_scenario_domestic``).
    name, version
        From the contract.
    source
        Publishing source id in ``sources.yaml``.
    source_class
        ``official``, ``exchange``, ``vendor`` or ``alternative``.
    reliability_weight
        The source's prior weight (must match ``sources.yaml``).
    blocking
        Whether a failure must stop everything downstream.
    frequency
        ``daily``, ``weekly``, ``monthly``, ``quarterly`` or ``annual`` (``None`` if unset).
    columns
        Property names of the (first) schema object, in order.
    path
        The YAML file.
    odcs
        The parsed :class:`OpenDataContractStandard` model.
    """

    id: str
    name: str
    version: str
    source: str
    source_class: str
    reliability_weight: float
    blocking: bool
    frequency: str | None
    columns: list[str]
    path: Path
    odcs: OpenDataContractStandard = field(repr=False, compare=False)

    @property
    def properties(self) -> list[SchemaProperty]:
        """Schema properties of the dataset (first schema object)."""
        schema = self.odcs.schema_ or []
        return list(schema[0].properties or []) if schema else []


def _custom(props: list[Any] | None) -> dict[str, Any]:
    return {p.property: p.value for p in props or [] if p.property is not None}


@functools.lru_cache(maxsize=1)
def _odcs_validator() -> Any:
    import jsonschema

    schema = json.loads(OpenDataContractStandard.json_schema())
    return jsonschema.Draft201909Validator(schema)


def _bad(path: Path, rule: str, message: str) -> InputFileError:
    return InputFileError(path, rule, message)


@functools.lru_cache(maxsize=256)
def _load_path(path: Path, mtime_ns: int) -> DataContract:  # mtime in the key: edits are seen
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _bad(path, "invalid_yaml", f"not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise _bad(path, "invalid_contract", "expected a mapping at the top level")
    errors = sorted(_odcs_validator().iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise _bad(path, "invalid_contract", f"not a valid ODCS v3 contract at {where}: {first.message}{more}")
    try:
        odcs = OpenDataContractStandard(**raw)
    except Exception as exc:  # pydantic.ValidationError; keep the message, name the file
        raise _bad(path, "invalid_contract", f"not a valid ODCS v3 contract: {exc}") from exc

    if odcs.id != path.stem:
        raise _bad(path, "id_mismatch", f"contract id {odcs.id!r} differs from the file name {path.stem!r}")
    if not odcs.schema_ or not odcs.schema_[0].properties:
        raise _bad(path, "invalid_contract", "no schema object with properties")
    custom = _custom(odcs.customProperties)
    for key in ("source", "sourceClass", "reliabilityWeight"):
        if key not in custom:
            raise _bad(path, "missing_custom_property", f"customProperties lacks {key!r}")
    policy = load_source_policy()
    source = str(custom["source"])
    if source not in policy.sources:
        raise _bad(path, "unknown_source", f"source {source!r} is not in {policy.path} (known: {', '.join(policy.sources)})")
    info = policy.sources[source]
    if custom["sourceClass"] != info.source_class:
        raise _bad(
            path,
            "class_mismatch",
            f"sourceClass {custom['sourceClass']!r} differs from {source!r}'s class {info.source_class!r} in sources.yaml",
        )
    try:
        weight = float(custom["reliabilityWeight"])
    except (TypeError, ValueError):
        raise _bad(path, "weight_mismatch", f"reliabilityWeight {custom['reliabilityWeight']!r} is not a number") from None
    if not math.isclose(weight, info.prior, abs_tol=1e-9):
        raise _bad(
            path,
            "weight_mismatch",
            f"reliabilityWeight {weight} disagrees with source {source!r} (class {info.source_class}, prior {info.prior})"
            " in sources.yaml",
        )
    blocking = custom.get("blocking", False)
    if not isinstance(blocking, bool):
        raise _bad(path, "invalid_contract", f"blocking must be true or false, got {blocking!r}")
    columns = [p.name for p in odcs.schema_[0].properties if p.name]
    return DataContract(
        id=str(odcs.id),
        name=str(odcs.name or odcs.id),
        version=str(odcs.version),
        source=source,
        source_class=info.source_class,
        reliability_weight=weight,
        blocking=blocking,
        frequency=str(custom["frequency"]) if "frequency" in custom else None,
        columns=columns,
        path=path,
        odcs=odcs,
    )


def load_contract_file(path: str | Path) -> DataContract:
    """Load and check one contract file (any location; cached until the file changes).

    Raises
    ------
    InputFileError
        Naming the file, with rule ``invalid_yaml``, ``invalid_contract``, ``id_mismatch``,
        ``missing_custom_property``, ``unknown_source``, ``class_mismatch`` or
        ``weight_mismatch``.
    """
    resolved = Path(path).resolve()
    if not resolved.is_file():
        raise FileNotFoundError(f"no data contract at {resolved}")
    return _load_path(resolved, resolved.stat().st_mtime_ns)


def _datasets_dir() -> Path:
    return contracts_dir() / "datasets"


def load_contract(dataset_id: str) -> DataContract:
    """Load ``data_contracts/datasets/<dataset_id>.yaml`` (see :func:`load_contract_file`)."""
    path = _datasets_dir() / f"{dataset_id}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in _datasets_dir().glob("*.yaml")))
        raise FileNotFoundError(f"no data contract for dataset {dataset_id!r} in {_datasets_dir()} (known: {known})")
    return load_contract_file(path)


def list_contracts() -> list[DataContract]:
    """Every contract in ``data_contracts/datasets/``, sorted by id; a bad one raises."""
    return [load_contract_file(p) for p in sorted(_datasets_dir().glob("*.yaml"))]


# --------------------------------------------------------------------------------- suites
def _expectation(type_: str, kwargs: dict[str, Any], meta: dict[str, Any]) -> Any:
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    return ExpectationConfiguration(type=type_, kwargs=kwargs, meta=meta).to_domain_obj()


def _percent_to_mostly(q: DataQuality) -> float | None:
    """``mustBeLessOrEqualTo: p`` (percent, or rows as a share when unit is not percent)."""
    limit = q.mustBeLessOrEqualTo if q.mustBeLessOrEqualTo is not None else q.mustBeLessThan
    if limit is None:
        if q.mustBe is not None:
            limit = q.mustBe
        else:
            return None
    limit = float(limit)
    if (q.unit or "").lower() in ("percent", "%"):
        return max(0.0, 1.0 - limit / 100.0)
    return 1.0 if limit == 0 else None


def _row_count_kwargs(q: DataQuality) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if q.mustBeBetween:
        kw["min_value"], kw["max_value"] = q.mustBeBetween
    if q.mustBeGreaterOrEqualTo is not None:
        kw["min_value"] = q.mustBeGreaterOrEqualTo
    if q.mustBeGreaterThan is not None:
        kw["min_value"] = math.floor(q.mustBeGreaterThan) + 1
    if q.mustBeLessOrEqualTo is not None:
        kw["max_value"] = q.mustBeLessOrEqualTo
    if q.mustBeLessThan is not None:
        kw["max_value"] = math.ceil(q.mustBeLessThan) - 1
    if q.mustBe is not None:
        kw["min_value"] = kw["max_value"] = q.mustBe
    return kw


def _custom_gx(q: DataQuality, column: str | None, contract: DataContract) -> Any | None:
    if (q.type or "").lower() != "custom" or not q.engine:
        return None
    if q.engine.replace("-", "").replace("_", "").lower() not in ("greatexpectations", "gx"):
        return None
    impl = q.implementation
    if isinstance(impl, str):
        impl = yaml.safe_load(impl)
    if not isinstance(impl, dict) or "type" not in impl:
        raise _bad(contract.path, "invalid_contract", f"custom GX quality needs implementation.type, got {impl!r}")
    kwargs = dict(impl.get("kwargs") or {})
    if column is not None:
        kwargs.setdefault("column", column)
    try:
        return _expectation(str(impl["type"]), kwargs, {"contract": contract.id, "rule": "custom"})
    except Exception as exc:
        raise _bad(contract.path, "invalid_contract", f"custom GX expectation {impl['type']!r}: {exc}") from exc


def build_expectation_suite(contract: DataContract) -> Any:
    """Compile a contract into a GX 1.x expectation suite (``data_contracts/README.md``).

    Parameters
    ----------
    contract
        A loaded contract.

    Returns
    -------
    great_expectations.ExpectationSuite
        Named ``<id>@<version>``; every expectation's ``meta`` carries the contract id and the
        contract field it came from (``rule``).
    """
    import great_expectations as gx

    _GX.get()  # GX 1.x: ExpectationSuite.add_expectation needs an active data context
    suite = gx.ExpectationSuite(name=f"{contract.id}@{contract.version}")
    add = suite.add_expectation

    def meta(rule: str) -> dict[str, Any]:
        return {"contract": contract.id, "rule": rule}

    schema = contract.odcs.schema_[0]  # type: ignore[index]
    for q in schema.quality or []:
        metric = (q.metric or q.rule or "").strip()
        if metric == "rowCount":
            add(_expectation("expect_table_row_count_to_be_between", _row_count_kwargs(q), meta("rowCount")))
        elif (custom := _custom_gx(q, None, contract)) is not None:
            add(custom)

    keys = [p.name for p in sorted(
        (p for p in schema.properties or [] if p.primaryKey and p.name),
        key=lambda p: (p.primaryKeyPosition if p.primaryKeyPosition is not None else 1_000_000),
    )]
    for prop in schema.properties or []:
        col = prop.name
        if not col:
            continue
        add(_expectation("expect_column_to_exist", {"column": col}, meta("property")))
        logical = (prop.logicalType or "").lower()
        if logical in _TYPE_LISTS:
            add(_expectation(
                "expect_column_values_to_be_in_type_list",
                {"column": col, "type_list": _TYPE_LISTS[logical]},
                meta(f"logicalType: {logical}"),
            ))
        mostly_from_quality = None
        for q in prop.quality or []:
            if (q.metric or q.rule) in ("nullValues", "missingValues"):
                mostly_from_quality = _percent_to_mostly(q)
        if prop.required:
            add(_expectation("expect_column_values_to_not_be_null", {"column": col}, meta("required")))
        elif mostly_from_quality is not None:
            kw: dict[str, Any] = {"column": col}
            if mostly_from_quality < 1.0:
                kw["mostly"] = mostly_from_quality
            add(_expectation("expect_column_values_to_not_be_null", kw, meta("nullValues")))
        if prop.unique or (prop.primaryKey and len(keys) == 1):
            add(_expectation("expect_column_values_to_be_unique", {"column": col}, meta("unique")))
        opts = prop.logicalTypeOptions or {}
        lo = opts.get("minimum", opts.get("exclusiveMinimum"))
        hi = opts.get("maximum", opts.get("exclusiveMaximum"))
        if logical in ("number", "integer") and (lo is not None or hi is not None):
            add(_expectation(
                "expect_column_values_to_be_between",
                {
                    "column": col,
                    "min_value": lo,
                    "max_value": hi,
                    "strict_min": "exclusiveMinimum" in opts and "minimum" not in opts,
                    "strict_max": "exclusiveMaximum" in opts and "maximum" not in opts,
                },
                meta("logicalTypeOptions: minimum/maximum"),
            ))
        if logical == "string" and opts.get("pattern"):
            add(_expectation(
                "expect_column_values_to_match_regex", {"column": col, "regex": opts["pattern"]}, meta("pattern")
            ))
        if prop.enum:
            add(_expectation(
                "expect_column_values_to_be_in_set",
                {"column": col, "value_set": [e.value for e in prop.enum]},
                meta("enum"),
            ))
        for q in prop.quality or []:
            metric = q.metric or q.rule
            if metric == "invalidValues" and (q.arguments or {}).get("validValues") is not None:
                kw = {"column": col, "value_set": list(q.arguments["validValues"])}  # type: ignore[index]
                mostly = _percent_to_mostly(q)
                if mostly is not None and mostly < 1.0:
                    kw["mostly"] = mostly
                add(_expectation("expect_column_values_to_be_in_set", kw, meta("invalidValues")))
            elif metric == "duplicateValues":
                add(_expectation("expect_column_values_to_be_unique", {"column": col}, meta("duplicateValues")))
            elif (custom := _custom_gx(q, col, contract)) is not None:
                add(custom)
    if len(keys) > 1:
        add(_expectation("expect_compound_columns_to_be_unique", {"column_list": keys}, meta("primaryKey")))
    return suite


@functools.lru_cache(maxsize=64)
def _cached_suite(contract: DataContract) -> Any:
    # compiling goes through the context's store for every expectation (slow for wide
    # contracts); a contract is frozen, so its suite can be reused
    return build_expectation_suite(contract)


# --------------------------------------------------------------------------------- validation
@dataclass
class ContractValidation:
    """Outcome of one frame against one contract.

    Attributes
    ----------
    dataset_id
        Contract id.
    success
        Every expectation passed and the freshness SLA (when checked) held.
    n_rows
        Rows of the frame.
    n_expectations, n_failed
        Expectations run and failed (freshness not included).
    failures
        One dict per failed expectation: ``expectation``, ``column``, ``rule``, ``kwargs``,
        ``unexpected_count``, ``unexpected_percent``, ``sample_values``, ``sample_rows``
        (index labels), ``observed_value``, ``exception``.
    freshness
        ``{"column", "newest", "as_of", "age_days", "limit_days", "ok"}`` when the contract has
        a freshness SLA and an as-of date was given; else ``None``.
    blocking
        From the contract.
    results
        Every expectation with its outcome (for :meth:`to_markdown`).
    contract_version
        The contract's version.
    """

    dataset_id: str
    success: bool
    n_rows: int
    n_expectations: int
    n_failed: int
    failures: list[dict[str, Any]]
    freshness: dict[str, Any] | None
    blocking: bool
    results: list[dict[str, Any]] = field(default_factory=list)
    contract_version: str = ""

    def to_metadata(self) -> dict[str, Any]:
        """Plain JSON-able values for Dagster metadata (failures capped at 20)."""
        return _jsonable({
            "dataset_id": self.dataset_id,
            "contract_version": self.contract_version,
            "success": self.success,
            "blocking": self.blocking,
            "n_rows": self.n_rows,
            "n_expectations": self.n_expectations,
            "n_failed": self.n_failed,
            "failures": self.failures[:20],
            "freshness": self.freshness,
        })

    def to_markdown(self) -> str:
        """A Markdown table of the expectations and their results, then freshness."""
        head = (
            f"**{self.dataset_id}** {self.contract_version}: {'passed' if self.success else 'FAILED'}"
            f" ({self.n_expectations - self.n_failed}/{self.n_expectations} expectations, {self.n_rows} rows"
            f"{', blocking' if self.blocking else ''})\n\n"
        )
        lines = ["| expectation | column | rule | result | unexpected | sample |", "|---|---|---|---|---|---|"]
        for r in self.results:
            unexpected = "" if r.get("unexpected_count") is None else (
                f"{r['unexpected_count']} ({(r.get('unexpected_percent') or 0.0):.1f}%)"
            )
            sample = ", ".join(str(v) for v in r.get("sample_values") or [])
            if not sample and r.get("exception"):
                sample = str(r["exception"])[:80]
            cells = [
                r["expectation"], str(r.get("column") or ""), str(r.get("rule") or ""),
                "pass" if r["success"] else "**fail**", unexpected, sample,
            ]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        text = head + "\n".join(lines) + "\n"
        if self.freshness is not None:
            f = self.freshness
            text += (
                f"\nFreshness: newest {f.get('column')} = {f.get('newest')}, {f.get('age_days')} days before"
                f" {f.get('as_of')} (limit {f.get('limit_days')}): {'ok' if f.get('ok') else '**stale**'}\n"
            )
        return text


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    return str(value)


class _GX:
    """One ephemeral GX context per process (creating one costs seconds), behind a lock."""

    lock = threading.Lock()
    batch_definition: Any = None

    @classmethod
    def get(cls) -> Any:
        if cls.batch_definition is None:
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            # no tqdm bars in Dagster logs and test output
            context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
            asset = context.data_sources.add_pandas("risk_dagster").add_dataframe_asset("frames")
            cls.batch_definition = asset.add_batch_definition_whole_dataframe("whole_frame")
        return cls.batch_definition


def _gx_view(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as GX should see it: string column labels, string columns as ``object``.

    GX 1.24 does not recognise pandas 3's default ``str`` dtype in type checks (it compares
    the dtype with numpy's ``<U``), so string-dtype columns are handed over as ``object``, where
    GX checks each value's Python type instead. Values and the index are unchanged.
    """
    view = frame.copy(deep=False)
    view.columns = [str(c) for c in view.columns]
    for c in view.columns:
        if isinstance(view[c].dtype, pd.StringDtype):
            view[c] = view[c].astype(object).where(view[c].notna(), None)
    return view


def _newest_date(values: pd.Series) -> date | None:
    s = values.dropna()
    if s.empty:
        return None
    if isinstance(s.dtype, pd.PeriodDtype):
        return s.max().end_time.date()
    if pd.api.types.is_datetime64_any_dtype(s):
        return pd.Timestamp(s.max()).date()
    if pd.api.types.is_integer_dtype(s):  # a year
        return date(int(s.max()), 12, 31)
    dates = []
    for v in s:
        if isinstance(v, pd.Period):
            dates.append(v.end_time.date())
        elif isinstance(v, (datetime, pd.Timestamp)):
            dates.append(pd.Timestamp(v).date())
        elif isinstance(v, date):
            dates.append(v)
        elif isinstance(v, (int, np.integer)):
            dates.append(date(int(v), 12, 31))
        else:
            text = str(v)
            m = _QUARTER.match(text)
            if m:
                dates.append(pd.Period(year=int(m.group(1)), quarter=int(m.group(2)), freq="Q").end_time.date())
            else:
                dates.append(pd.Timestamp(text).date())
    return max(dates)


def _freshness(contract: DataContract, frame: pd.DataFrame, as_of: date) -> dict[str, Any] | None:
    odcs = contract.odcs
    for sla in odcs.slaProperties or []:
        if (sla.property or "").lower() not in ("freshness", "latency"):
            continue
        element = sla.element or odcs.slaDefaultElement or ""
        column = element.split(",")[0].strip().split(".")[-1]
        unit = (sla.unit or "d").lower()
        limit_days = float(sla.value) * _DAYS_PER_UNIT.get(unit, 1)  # type: ignore[arg-type]
        out: dict[str, Any] = {"column": column, "as_of": as_of.isoformat(), "limit_days": limit_days}
        if column not in [str(c) for c in frame.columns]:
            return {**out, "newest": None, "age_days": None, "ok": False, "error": f"column {column!r} missing"}
        try:
            newest = _newest_date(frame[[c for c in frame.columns if str(c) == column][0]])
        except (ValueError, TypeError) as exc:
            return {**out, "newest": None, "age_days": None, "ok": False, "error": f"unreadable dates: {exc}"}
        if newest is None:
            return {**out, "newest": None, "age_days": None, "ok": False, "error": "no values"}
        age = (as_of - newest).days
        return {**out, "newest": newest.isoformat(), "age_days": age, "ok": age <= limit_days}
    return None


def _summarise(result: Any) -> dict[str, Any]:
    cfg = result.expectation_config
    kwargs = {k: v for k, v in dict(cfg.kwargs).items() if k != "batch_id"}
    res = dict(result.result or {})
    exc = result.exception_info or {}
    if "raised_exception" not in exc and exc:  # GX nests it per metric id
        exc = next(iter(exc.values()), {}) if isinstance(next(iter(exc.values()), None), dict) else exc
    message = exc.get("exception_message") if exc.get("raised_exception") else None
    column = kwargs.get("column") or (", ".join(kwargs["column_list"]) if "column_list" in kwargs else None)
    return _jsonable({
        "expectation": cfg.type,
        "column": column,
        "rule": (cfg.meta or {}).get("rule"),
        "success": bool(result.success),
        "kwargs": kwargs,
        "unexpected_count": res.get("unexpected_count"),
        "unexpected_percent": res.get("unexpected_percent"),
        "sample_values": list(res.get("partial_unexpected_list") or [])[:_SAMPLE],
        "sample_rows": list(res.get("partial_unexpected_index_list") or [])[:_SAMPLE],
        "observed_value": res.get("observed_value"),
        "exception": message,
    })


def validate_frame(
    contract: DataContract | str,
    frame: pd.DataFrame,
    *,
    as_of: date | None = None,
) -> ContractValidation:
    """Validate a frame against a contract: its GX suite, then its freshness SLA.

    Parameters
    ----------
    contract
        A :class:`DataContract` or a dataset id.
    frame
        The data, columns named as the contract's properties. Its index labels are reported
        as ``sample_rows`` of failures.
    as_of
        The run's as-of date for the freshness SLA; ``None`` skips freshness (runs stay
        deterministic: nothing reads the clock).

    Returns
    -------
    ContractValidation
    """
    if isinstance(contract, str):
        contract = load_contract(contract)
    suite = _cached_suite(contract)
    view = _gx_view(frame)
    with _GX.lock:
        batch = _GX.get().get_batch(batch_parameters={"dataframe": view})
        outcome = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": _SAMPLE})
    results = [_summarise(r) for r in outcome.results]
    failures = [r for r in results if not r["success"]]
    fresh = _freshness(contract, frame, as_of) if as_of is not None else None
    success = bool(outcome.success) and (fresh is None or bool(fresh["ok"]))
    return ContractValidation(
        dataset_id=contract.id,
        success=success,
        n_rows=int(len(frame)),
        n_expectations=len(results),
        n_failed=len(failures),
        failures=failures,
        freshness=_jsonable(fresh) if fresh is not None else None,
        blocking=contract.blocking,
        results=results,
        contract_version=contract.version,
    )
