"""The data-quality report: every contract's latest result and every source's reliability weight.

Rendered to HTML from ``regulatory_templates/quality_report.html.j2`` (autoescaped) so the same
page can be bound into the submission pack later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jinja2
import pandas as pd

from risk_dagster import __version__
from risk_dagster.paths import templates_dir
from risk_dagster.quality.reliability import SourceAssessment, reliability_table

TEMPLATE = "quality_report.html.j2"


@dataclass
class QualityReport:
    """Contract results per gated asset and the source reliability table."""

    contracts: list[dict[str, Any]]
    reliability: pd.DataFrame
    excused: dict[str, list[str]] = field(default_factory=dict)
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))

    @classmethod
    def build(
        cls,
        contract_results: Sequence[Mapping[str, Any]],
        assessments: Iterable[SourceAssessment],
    ) -> QualityReport:
        items = list(assessments)
        table = reliability_table(items).drop(columns=["notes"])
        table["prior"] = table["prior"].round(3)
        table["weight"] = table["weight"].round(3)
        table.insert(4, "change", [f"{(a.weight / a.prior_weight - 1) * 100:+.0f}%" for a in items])
        table["excused findings"] = [len(a.notes) for a in items]
        return cls(
            contracts=[dict(r) for r in contract_results],
            reliability=table,
            excused={a.source: list(a.notes) for a in items if a.notes},
        )

    @property
    def check_rows(self) -> list[dict[str, Any]]:
        rows = []
        for entry in self.contracts:
            for check in entry["checks"]:
                rows.append(
                    {
                        "asset": entry["asset"],
                        "check": check["check"],
                        "status": _status(check["passed"]),
                        "expectations": check["metadata"].get("expectations", ""),
                        "failed": check["metadata"].get("failed", ""),
                        "rows": check["metadata"].get("rows", ""),
                        "description": check.get("description") or "",
                    }
                )
        return rows

    @property
    def n_checks_passed(self) -> int:
        return sum(1 for r in self.check_rows if r["status"] == "passed")

    @property
    def n_checks_failed(self) -> int:
        return sum(1 for r in self.check_rows if r["status"] == "FAILED")

    def to_markdown(self) -> str:
        checks = pd.DataFrame(self.check_rows)
        parts = ["## Contract checks", "", checks.to_markdown(index=False) if not checks.empty else "(none)", ""]
        parts += ["## Source reliability weights", "", self.reliability.to_markdown(index=False), ""]
        return "\n".join(parts)


def render_quality_report(report: QualityReport) -> str:
    """HTML of the report, rendered with autoescaping from the package's templates."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    template = env.get_template(TEMPLATE)
    return template.render(
        report=report,
        checks=report.check_rows,
        weights=report.reliability.to_dict(orient="records"),
        excused=report.excused,
        weight_columns=list(report.reliability.columns),
        version=__version__,
    )


def _status(passed: bool | None) -> str:
    if passed is None:
        return "not run"
    return "passed" if passed else "FAILED"
