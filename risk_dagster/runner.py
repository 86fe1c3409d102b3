"""Materialize the whole asset graph in process: what ``risk-dagster run`` does.

The unpartitioned history graph runs first, then the scenario job once per selected scenario
partition, all against one Dagster instance under ``OUTPUT/.dagster`` (unless ``DAGSTER_HOME``
is set), so the runs show up in ``dagster dev`` pointed at the same home. The run ends by
writing ``OUTPUT/run_summary.json``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from risk_dagster.assets.scenarios import SCENARIO_PARTITIONS
from risk_dagster.assets.eba import EBA_JOB
from risk_dagster.definitions import EBA_PACK_JOB, HISTORY_JOB, PACK_JOB, RUN_PACK_JOB, SCENARIO_JOB, build_definitions
from risk_dagster.resources import CapitalSettings, EngineSettings, TranslationSettings
from risk_dagster.scenarios.inbox import process
from risk_dagster.scenarios.registry import is_eba_scenario
from risk_dagster.step_progress import StepCallback, StepWatcher
from risk_dagster.storage import write_json

Progress = Callable[[str], None]

_QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


class RunFailed(RuntimeError):
    """A job of the run failed; the message names the step and the reason."""


@dataclass
class RunSummary:
    """What ``run_summary.json`` holds."""

    run_id: str
    output_dir: str
    dagster_home: str
    started_at: str
    finished_at: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)
    scenarios: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    run_pack: dict[str, Any] | None = None

    @property
    def all_checks_passed(self) -> bool:
        return all(c["passed"] for c in self.checks)

    def failed_checks(self, severity: str = "ERROR") -> list[dict[str, Any]]:
        """Failed checks of one severity (``ERROR``: the run's failures; ``WARN``: non-blocking findings)."""
        return [c for c in self.checks if not c["passed"] and c.get("severity", "ERROR") == severity]

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "output_dir": self.output_dir,
            "dagster_home": self.dagster_home,
            "dagster_runs": self.runs,
            "scenarios": self.scenarios,
            "checks": self.checks,
            "run_pack": self.run_pack,
        }


def run_pipeline(
    output_dir: str | Path = "risk_output",
    scenarios: Sequence[str] = (),
    scenario_files: Sequence[str | Path] = (),
    progress: Progress | None = None,
    as_of: str | None = None,
    seed: int | None = None,
    translation: TranslationSettings | None = None,
    on_step: StepCallback | None = None,
    engine: EngineSettings | None = None,
    capital: CapitalSettings | None = None,
) -> RunSummary:
    """Materialize every asset for the selected scenarios and write the run summary.

    Parameters
    ----------
    output_dir
        Where outputs, the summary and (unless ``DAGSTER_HOME`` is set) the Dagster instance go.
    scenarios
        Scenario partition ids to run; all shipped ones plus the user's files when empty.
    scenario_files
        A user's own scenario files, each scenario in them added as a partition for this run.
    progress
        Called with one line of text at each step.
    as_of
        ISO date for the contracts' freshness SLAs (``None`` skips them: reproducible runs).
    seed
        Seed of every random draw (default: the run settings' seed).
    translation
        Sizes of the translation step.
    on_step
        Called at each step's start and end of every job the run makes (a progress bar).
    engine, capital
        The books and balance sheets (a bank's own files: ``portfolio_path``, ``euro_portfolio_path``,
        ``balance_sheet_path``, ``euro_balance_sheet_path``, ``euro_stage_table_path``) and the engine's
        and capital projection's settings; the shipped banks' by default.
    """
    say = progress or (lambda _msg: None)
    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    home = Path(os.environ.get("DAGSTER_HOME") or out / ".dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    files = [str(Path(f).resolve()) for f in scenario_files]

    defs = build_definitions(
        extra_scenario_files=files, output_dir=str(out), as_of=as_of, seed=seed, translation=translation,
        engine=engine, capital=capital,
    )  # fmt: skip
    library = defs.resources["scenario_library"]
    known = library.partition_ids()
    own = library.run_scenario_ids()
    selected = list(scenarios) or (sorted(set(known)) if not files else own)
    if files and scenarios:
        selected = sorted(set(scenarios) | set(own))
    unknown = [s for s in selected if s not in known]
    if unknown:
        raise KeyError(f"unknown scenario(s) {unknown}; known: {known}")
    # an EBA scenario runs the euro-area bank under the EBA method (eba_job), the others the Fed's (scenario_job)
    jobs = {sid: scenario_jobs(library.load(sid)) for sid in selected}

    summary = RunSummary(
        run_id="",
        output_dir=str(out),
        dagster_home=str(home),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    with _instance(home) as instance:
        # the run's files go through the inbox's accepted folder, so their partitions stay readable
        # (in the UI, by later runs) after this run; every selected scenario is a partition
        for f in files:
            process(f, library.inbox_dir, copy=True)
        present = set(instance.get_dynamic_partitions(SCENARIO_PARTITIONS))
        missing = [s for s in selected if s not in present]
        if missing:
            instance.add_dynamic_partitions(SCENARIO_PARTITIONS, missing)
        say("history: market and macro history, data contracts, reliability weights, factor history")
        history = _execute(defs, HISTORY_JOB, instance, on_step, run_config=_QUIET_LOGS)
        _record(summary, history, None)
        summary.run_id = history.run_id
        say(_result_line("history", history))
        if not history.success:
            _finish(summary, out)
            raise RunFailed(_failure_reason(history))
        failures: list[str] = []
        for scenario_id in selected:
            say(f"scenario {scenario_id}")
            job, pack_job = jobs[scenario_id]
            result = _execute(defs, job, instance, on_step, partition_key=scenario_id, run_config=_QUIET_LOGS)
            _record(summary, result, scenario_id)
            draft = not result.success and _only_conservativeness_failed(result)
            say(_result_line(scenario_id, result, "DRAFT" if draft else None))
            if draft:
                # The AI set is not shown at least as conservative: a draft, not a broken run. Its
                # pack was skipped with the blocking checks: the pack job renders it, marked draft.
                summary.scenarios[scenario_id]["verdict"] = "draft"
                say(f"  {scenario_id}: {_conservativeness_line(summary.scenarios[scenario_id])}")
                packed = _execute(defs, pack_job, instance, on_step, partition_key=scenario_id, run_config=_QUIET_LOGS)
                summary.runs.append({"run_id": packed.run_id, "partition": scenario_id, "success": packed.success,
                                     "job": pack_job})  # fmt: skip
                _record_pack(summary.scenarios[scenario_id], packed)
                if not packed.success:
                    failures.append(f"scenario {scenario_id} pack: {_failure_reason(packed)}")
            elif not result.success:
                # One scenario's failure does not stop the others; the run still fails at the end.
                reason = _failure_reason(result)
                summary.scenarios[scenario_id]["error"] = reason
                failures.append(f"scenario {scenario_id}: {reason}")
            else:
                summary.scenarios[scenario_id]["verdict"] = "submission"
            if "pack" in summary.scenarios[scenario_id]:
                say(f"  {scenario_id}: pack {summary.scenarios[scenario_id]['pack']['pdf']} "
                    f"({summary.scenarios[scenario_id]['pack']['pages']} pages, {summary.scenarios[scenario_id]['pack']['verdict']})")
        packed_ids = [sid for sid in selected if "pack" in summary.scenarios.get(sid, {})]
        if packed_ids:
            say("run-level pack")
            run_level = _execute(defs, RUN_PACK_JOB, instance, on_step,
                                 run_config={**_QUIET_LOGS, "ops": {"run_pack": {"config": {"scenarios": packed_ids}}}})  # fmt: skip
            summary.runs.append({"run_id": run_level.run_id, "partition": None, "success": run_level.success,
                                 "job": RUN_PACK_JOB})  # fmt: skip
            entry: dict[str, Any] = {}
            _record_pack(entry, run_level)
            if "pack" in entry:
                summary.run_pack = entry["pack"]
                say(f"  run-level pack {entry['pack']['pdf']} ({entry['pack']['pages']} pages)")
            else:
                failures.append(f"run-level pack: {_failure_reason(run_level)}")
    if failures:
        _finish(summary, out)
        raise RunFailed("; ".join(failures))
    _finish(summary, out)
    return summary


def scenario_jobs(scenario: Any) -> tuple[str, str]:
    """The job that runs a scenario and the one that renders a draft's pack: the EBA's on the euro-area
    bank under the EBA method (``eba_job``, ``eba_pack_job``), any other on the U.S. bank under the Fed's."""
    return (EBA_JOB, EBA_PACK_JOB) if is_eba_scenario(scenario) else (SCENARIO_JOB, PACK_JOB)


RESULT_COLUMNS: tuple[str, ...] = (
    "scenario", "verdict", "CET1 min %", "depletion bp", "SCB %", "99% loss USD bn", "statistics", "pack",
)  # fmt: skip
"""The columns of the table ``risk-dagster run`` ends with (:func:`results_table`)."""


def results_table(summary: RunSummary) -> list[dict[str, str]]:
    """One row per scenario of the run: verdict, median CET1 minimum (percent of RWA, AI set), the
    depletion (start less that minimum, bp: the EBA's measure), SCB (Fed scenarios), 99% quantile of
    the nine-quarter loss (USD bn, Fed scenarios), conservativeness statistics passed, and the pack's
    PDF relative to the output folder; a dash where the run produced no value (a failed step, or a
    measure the scenario's method does not have)."""
    out = Path(summary.output_dir)

    def num(value: Any, digits: int = 2) -> str:
        return "-" if value is None else f"{float(value):.{digits}f}"

    rows = []
    for sid, e in summary.scenarios.items():
        c = e.get("conservativeness") or {}
        cet1 = e.get("cet1") or {}
        pdf = (e.get("pack") or {}).get("pdf")
        try:
            pack = str(Path(pdf).relative_to(out)) if pdf else "-"
        except ValueError:
            pack = str(pdf)
        rows.append({
            "scenario": sid, "verdict": e.get("verdict") or ("failed" if e.get("error") else "-"),
            "CET1 min %": num(cet1.get("trough")),
            "depletion bp": num(100 * (cet1["start"] - cet1["trough"]) if cet1.get("start") is not None and cet1.get("trough") is not None else None, 0),
            "SCB %": num(cet1.get("scb")),
            "99% loss USD bn": num((e.get("loss_distribution") or {}).get("var_99"), 1),
            "statistics": f"{c['passed']}/{c['total']}" if c else "-", "pack": pack,
        })  # fmt: skip
    return rows


def _instance(home: Path) -> dg.DagsterInstance:
    """A persistent local instance rooted at ``home`` (honours a ``dagster.yaml`` there).

    A new home gets a ``dagster.yaml`` turning telemetry off: the system runs offline.
    """
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return dg.DagsterInstance.local_temp(tempdir=str(home))


def _record(summary: RunSummary, result: dg.ExecuteInProcessResult, scenario_id: str | None) -> None:
    summary.runs.append({"run_id": result.run_id, "partition": scenario_id, "success": result.success})
    for evaluation in result.get_asset_check_evaluations():
        summary.checks.append(
            {
                "name": f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}",
                "asset": evaluation.asset_key.to_user_string(),
                "check": evaluation.check_name,
                "partition": scenario_id,
                "passed": bool(evaluation.passed),
                # WARN: a non-blocking check (a history source's contract): its failure lowers the
                # source's reliability weight and is reported, it does not fail the run
                "severity": evaluation.severity.value if evaluation.severity is not None else "ERROR",
                "description": evaluation.description,
            }
        )
    if scenario_id is not None:
        summary.scenarios[scenario_id] = _scenario_entry(result)


def _record_pack(entry: dict[str, Any], result: dg.ExecuteInProcessResult) -> None:
    """``entry["pack"] = {pdf, pages, verdict}`` from the run's pack materialization, if it made one."""
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key.to_user_string() in ("documentation_pack", "eba_documentation_pack", "run_pack"):
            meta = materialization.metadata
            entry["pack"] = {"pdf": _plain(meta["pdf"]), "pages": int(_plain(meta["pages"])),
                             "verdict": str(_plain(meta["verdict"]))}


def _scenario_entry(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """What one scenario run produced: the scenario, translators used, losses, output paths."""
    entry: dict[str, Any] = {"run_id": result.run_id, "success": result.success}
    outputs: dict[str, Any] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        name = materialization.asset_key.to_user_string()
        meta = materialization.metadata
        outputs[name] = _plain(meta.get("output_path") or meta.get("storage_path"))  # storage_path: the IO manager's
        if name == "macro_scenarios":
            entry["scenario"] = {
                key: _plain(meta[key])
                for key in ("kind", "source", "vintage", "jump_off", "first_quarter", "last_quarter", "n_quarters")
                if key in meta
            }
        elif name == "granular_shocks" and "translation" in meta:
            translation = meta["translation"].value
            entry["translators"] = translation["lanes"]
            entry["translator_used"] = translation["translator"] | {"lane": translation["chosen_lane"]}
            entry["plausibility_rejection_rate"] = translation["plausibility_rejection_rate"]
        elif name == "traditional_shocks":
            entry["traditional_rejection_rate"] = _plain(meta.get("rejection_rate"))
    stress = _node_output(result, "stress_results")
    if stress is not None:
        ai = stress.summary("ai")
        entry["losses"] = ai["losses"]
        entry["loss_rates"] = ai["loss_rates"]
        entry["loss_distribution"] = ai["loss_distribution"]
        entry["traditional"] = {k: v for k, v in stress.summary("traditional").items() if k != "units"}
        entry["loss_units"] = ai["units"]
        entry["engine"] = stress.engine
    capital = _node_output(result, "capital_projection")
    if capital is not None:
        for label, projection in capital.items():
            s = projection.summary()
            cet1 = {"start": s["cet1_start"], "trough": s["cet1_trough"], "trough_quarter": s["trough_quarter"],
                    "scb": s["scb"], "path": s["path"], "below_minimum_share": s["below_minimum_share"],
                    "units": "percent of RWA"}
            if label == "ai":
                entry["cet1"] = cet1
                entry["ppnr"] = s["ppnr"]
            else:
                entry.setdefault("traditional", {})["cet1"] = cet1
    eba = _node_output(result, "eba_capital_projection")
    if eba is not None:
        for label, projection in eba.items():
            s = projection.summary()
            cet1 = {"start": 100 * s["cet1_ratio_start"], "trough": 100 * s["cet1_ratio_min_median"],
                    "trough_p05": 100 * s["cet1_ratio_min_p05"], "end": 100 * s["cet1_ratio_end_median"],
                    "depletion_bp": s["cet1_depletion_bp_median"], "path": s["path_median_pct"], "years": s["years"],
                    "currency": s["currency"], "units": "percent of RWA (year ends)"}  # fmt: skip
            if label == "ai":
                entry["cet1"] = cet1
                entry["eba"] = {k: s[k] for k in ("impairments_bn", "market_risk_loss_bn_median", "fvoci_loss_bn_median",
                                                  "nii_bn_median", "eba_2025_published", "not_modelled")}  # fmt: skip
            else:
                entry.setdefault("traditional", {})["cet1"] = cet1
    statistics_folder = outputs.get("conservativeness") or outputs.get("eba_conservativeness")
    if statistics_folder:
        # from the file the asset wrote (its output is not handed on when a blocking check fails)
        from risk_dagster.conservativeness.saved import load_statistics

        doc = load_statistics(Path(statistics_folder))
        entry["conservativeness"] = {
            "passed": int(doc["passed"]),
            "total": int(doc["total"]),
            "verdict": doc["verdict"],
            "statistics": [{k: s[k] for k in ("id", "number", "name", "direction", "unit", "ai", "traditional",
                                              "difference", "bound", "tolerance", "passed")}
                           for s in doc["statistics"]],
            "chosen_lane": doc["chosen_lane"],
            "most_conservative_lane": doc["most_conservative_lane"],
            "overlay_multiplier": float(doc["overlay_multiplier"]),
            "overlay_status": doc["overlay_status"],
            "lanes": doc["lanes"],
        }  # fmt: skip
    entry["outputs"] = outputs
    _record_pack(entry, result)
    return entry


def _only_conservativeness_failed(result: dg.ExecuteInProcessResult) -> bool:
    """True when the one failed step is the conservativeness asset's and some of its checks failed
    (a blocking check fails its step): the statistics did not pass, nothing broke."""
    failed = [e.step_key for e in result.all_events if e.is_step_failure]
    for asset in ("conservativeness", "eba_conservativeness"):
        checks = [c for c in result.get_asset_check_evaluations() if c.asset_key == dg.AssetKey(asset)]
        if failed == [asset] and any(not c.passed for c in checks):
            return True
    return False


def _conservativeness_line(entry: dict[str, Any]) -> str:
    c = entry.get("conservativeness")
    if not c:
        return "conservativeness checks failed"
    failed = [s["id"] for s in c["statistics"] if not s["passed"]]
    return (f"{c['passed']}/{c['total']} statistics pass (failed: {', '.join(failed) or 'none'}); overlay "
            f"{c['overlay_status']}, multiplier {c['overlay_multiplier']:.2f}")


def _node_output(result: dg.ExecuteInProcessResult, node: str) -> Any:
    try:
        return result.output_for_node(node)
    except Exception:  # noqa: BLE001 - the node is absent in graphs without a book
        return None


def _finish(summary: RunSummary, out: Path) -> None:
    summary.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    write_json(out / "run_summary.json", summary.to_json())


def _execute(defs: dg.Definitions, job_name: str, instance: dg.DagsterInstance, on_step: StepCallback | None,
             *, partition_key: str | None = None, run_config: dict[str, Any]) -> dg.ExecuteInProcessResult:  # fmt: skip
    """Execute one job in process, its steps reported to ``on_step`` as they start and end."""
    job = defs.resolve_job_def(job_name)
    kwargs = {"instance": instance, "partition_key": partition_key, "run_config": run_config, "raise_on_error": False}
    if on_step is None:
        return job.execute_in_process(**kwargs)
    run_id = str(uuid.uuid4())
    with StepWatcher(instance, run_id, job, partition_key, on_step):
        return job.execute_in_process(run_id=run_id, **kwargs)


def _result_line(label: str, result: dg.ExecuteInProcessResult, status: str | None = None) -> str:
    materialized = len(result.get_asset_materialization_events())
    checks = result.get_asset_check_evaluations()
    passed = sum(1 for c in checks if c.passed)
    status = status or ("ok" if result.success else "FAILED")
    return f"  {label}: {status} — {materialized} assets materialized, {passed}/{len(checks)} checks passed"


def _failure_reason(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            error = data.user_failure_data.description if data.user_failure_data else None
            if not error and data.error is not None:
                # The innermost cause is the user's error (e.g. an InputFileError naming the file).
                err = data.error
                while err.cause is not None:
                    err = err.cause
                error = err.message.strip().splitlines()[-1] if err.message else err.cls_name
            return f"step {event.step_key} failed: {error}"
    return "run failed"


def _plain(value: Any) -> Any:
    inner = getattr(value, "value", value)
    if hasattr(inner, "path"):
        return str(inner.path)
    return inner if isinstance(inner, (int, float, str, bool)) or inner is None else str(inner)
