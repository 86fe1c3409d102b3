"""The plausibility filter (:class:`PlausibilityFilter`): hard rules plus the discriminator applied
to a ShockSet, the :class:`PlausibilityReport` of what was rejected and why, and the filter's
safetensors + JSON persistence."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import torch

from risk_dagster.market.history import FactorHistory
from risk_dagster.storage import replace_folder
from risk_dagster.translate.persistence import ModelFileError, check_model_files
from risk_dagster.translate.plausibility.discriminator import PathDiscriminator
from risk_dagster.translate.plausibility.persistence import (
    FILTER_ARRAYS_FILE,
    FILTER_FILE,
    FILTER_FORMAT,
    discriminator_file,
    from_json_state,
    is_filter_file,
    to_json_state,
)
from risk_dagster.translate.plausibility.rules import (
    BoolArray,
    HardRules,
    PlausibilityError,
    derive_hard_rules,
    hard_rule_counts,
    hard_rule_violations,
    load_plausibility_rules,
    rule_checks,
    severity_scale,
    unchecked_level_rules,
)
from risk_dagster.translate.shockset import FloatArray, ShockSet


# =============================================================================== the filter
def _json_float(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


@dataclass
class PlausibilityReport:
    """What :meth:`PlausibilityFilter.apply` found.

    Attributes
    ----------
    accepted
        The samples that pass every rule (possibly empty).
    n_samples, n_accepted
        Samples in / out.
    rejections
        Rule -> samples breaking it (hard rules and ``discriminator``); a sample breaking
        several rules counts in each, so these may add up to more than the rejected total.
    only_rule
        Rule -> samples rejected by that rule alone.
    breaches
        Rule -> factor (or curve pair) -> samples where it breaks the rule (top entries).
    scores
        Discriminator score distribution: threshold, quantiles, histogram (edges and counts).
    parameters
        Rule parameters and derived limits in force.
    unchecked
        Level rule -> factors it could not check for want of a jump-off level
        (:func:`~risk_dagster.translate.plausibility.rules.unchecked_level_rules`).
    """

    accepted: ShockSet
    n_samples: int
    n_accepted: int
    rejections: dict[str, int]
    only_rule: dict[str, int]
    breaches: dict[str, dict[str, int]]
    scores: dict[str, Any]
    parameters: dict[str, Any]
    scenario_id: str = ""
    unchecked: dict[str, list[str]] = field(default_factory=dict)

    @property
    def n_rejected(self) -> int:
        return self.n_samples - self.n_accepted

    @property
    def acceptance_rate(self) -> float:
        return self.n_accepted / self.n_samples if self.n_samples else 0.0

    def to_metadata(self) -> dict[str, Any]:
        """Plain-JSON summary (Dagster metadata)."""
        return {
            "scenario_id": self.scenario_id,
            "n_samples": self.n_samples,
            "n_accepted": self.n_accepted,
            "n_rejected": self.n_rejected,
            "acceptance_rate": round(self.acceptance_rate, 6),
            "rejections": dict(self.rejections),
            "only_rule": dict(self.only_rule),
            "breaches": {r: dict(v) for r, v in self.breaches.items()},
            "scores": dict(self.scores),
            "unchecked": {r: list(v) for r, v in self.unchecked.items()},
        }

    def to_markdown(self) -> str:
        """A short Markdown table of the rejections and the score distribution."""
        lines = [
            f"### Plausibility filter: {self.scenario_id}",
            "",
            f"{self.n_accepted} of {self.n_samples} samples accepted ({100 * self.acceptance_rate:.1f}%), "
            f"{self.n_rejected} rejected.",
            "",
            "| rule | rejected | rejected by this rule only | most frequent breaches |",
            "|---|---:|---:|---|",
        ]
        for rule, count in self.rejections.items():
            top = sorted(self.breaches.get(rule, {}).items(), key=lambda kv: -kv[1])[:3]
            lines.append(
                f"| {rule} | {count} | {self.only_rule.get(rule, 0)} | "
                + (", ".join(f"{k} ({v})" for k, v in top) or "-")
                + " |"
            )
        for rule, factors in self.unchecked.items():
            lines.append(f"| {rule}: not checked (no jump-off level) | - | - | {', '.join(factors)} |")
        s = self.scores
        if s.get("quantiles"):
            q = s["quantiles"]
            lines += [
                "",
                f"Discriminator (probability of real): threshold {s['threshold']:.3f}; "
                + ", ".join(f"q{k} {v:.3f}" for k, v in q.items() if v is not None),
            ]
        return "\n".join(lines) + "\n"




class PlausibilityFilter:
    """Hard rules + discriminator, fitted on the factor history.

    Parameters
    ----------
    params
        :func:`load_plausibility_rules` output; the shipped file by default.

    Notes
    -----
    A fitted filter is persisted with :meth:`save` and rebuilt with :meth:`load` (safetensors +
    JSON, never pickles): a Dagster asset fits it once, the per-scenario assets load it.

    Examples
    --------
    >>> filt = PlausibilityFilter().fit(factor_history, seed=0, quarters=(13,))  # doctest: +SKIP
    >>> report = filt.apply(shockset)                                            # doctest: +SKIP
    >>> report.accepted, report.to_metadata()                                    # doctest: +SKIP
    >>> filt.save(folder); PlausibilityFilter.load(folder).apply(shockset)       # doctest: +SKIP
    """

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params = dict(params) if params is not None else load_plausibility_rules()
        self.rules: HardRules | None = None
        self.seed = 0
        self._changes: pd.DataFrame | None = None
        self._discriminators: dict[int, PathDiscriminator] = {}

    @property
    def uses_discriminator(self) -> bool:
        return bool((self.params.get("discriminator") or {}).get("enabled", True))

    def fit(self, factor_history: FactorHistory, *, seed: int = 0, quarters: Sequence[int] = ()) -> Self:
        """Derive the hard-rule limits and train the discriminators asked for.

        Parameters
        ----------
        factor_history
            Levels (floors, curve ranges) and one-quarter changes (move limits, discriminator).
        seed
            Seed of every discriminator's training.
        quarters
            Path lengths whose discriminators are trained now (about 14 s each), so that
            :meth:`save` writes them; other lengths are trained, with the same seed, the first
            time a ShockSet of that length is seen (:meth:`discriminator`).

        Returns
        -------
        PlausibilityFilter
            ``self``.
        """
        self.rules = derive_hard_rules(factor_history, self.params)
        self.seed = int(seed)
        self._changes = factor_history.changes.copy()
        self._discriminators = {}
        for q in quarters:
            self.discriminator(int(q))
        return self

    def discriminator(self, quarters: int) -> PathDiscriminator:
        """The discriminator for paths of ``quarters`` quarters (trained on first use).

        A filter rebuilt by :meth:`load` has the saved discriminators ready; for a length that
        was not saved it trains one on demand exactly as the original filter would have (same
        history changes, same seed, so the same model: :meth:`save` keeps the history for this),
        which costs the training time (~14 s) in that process. Fit with ``quarters=`` to avoid it.
        """
        if self._changes is None:
            raise RuntimeError("PlausibilityFilter: fit first")
        if quarters not in self._discriminators:
            disc = PathDiscriminator(quarters, self.params.get("discriminator"))
            self._discriminators[quarters] = disc.fit(self._changes, seed=self.seed)
        return self._discriminators[quarters]

    def violations(self, shockset: ShockSet) -> dict[str, BoolArray]:
        """Hard-rule violations (:func:`hard_rule_violations` with the fitted limits)."""
        if self.rules is None:
            raise RuntimeError("PlausibilityFilter: fit first")
        return hard_rule_violations(shockset, self.rules)

    def score(self, shockset: ShockSet) -> FloatArray:
        """``[samples]`` discriminator probability-of-real.

        The factors the scenario fixes (``metadata["fixed_factors"]``) are masked when
        ``mask_fixed_factors``: they are the supervisor's smooth conditional-mean path, the same
        in every sample and unlike any realised history window, and not the generator's to
        answer for (the hard rules still check them and their coherence with the rest).
        """
        if shockset.n_samples == 0:
            return np.zeros(0)
        params = self.params.get("discriminator") or {}
        exclude = shockset.metadata.get("fixed_factors", []) if params.get("mask_fixed_factors", True) else []
        return self.discriminator(len(shockset.quarters)).score(shockset, exclude=exclude)

    def apply(self, shockset: ShockSet) -> PlausibilityReport:
        """Filter a ShockSet.

        Returns
        -------
        PlausibilityReport
            ``accepted`` holds the samples that break no hard rule and score at or above the
            discriminator's threshold (possibly none: the caller decides what to do then).
            ``accepted.metadata["plausibility"]`` records the counts.
        """
        if self.rules is None:
            raise RuntimeError("PlausibilityFilter: fit first")
        n = shockset.n_samples
        scale = severity_scale(shockset, self.rules)
        checks = rule_checks(shockset, self.rules, scale)
        bad = {rule: v for rule, (v, _) in checks.items()}
        breaches = {rule: dict(sorted(c.items(), key=lambda kv: -kv[1])[:10]) for rule, (_, c) in checks.items()}

        scores_info: dict[str, Any] = {}
        if self.uses_discriminator and n:
            disc = self.discriminator(len(shockset.quarters))
            scores = self.score(shockset)
            # A sample whose features cannot be computed (all factors NaN) is not plausible.
            bad["discriminator"] = ~(np.nan_to_num(scores, nan=-1.0) >= disc.threshold)
            fin = scores[np.isfinite(scores)]
            bins = int(self.params["discriminator"].get("histogram_bins", 20))
            counts, edges = np.histogram(fin, bins=bins, range=(0.0, 1.0))
            scores_info = {
                "threshold": disc.threshold,
                "reject_quantile": disc.metrics.get("reject_quantile"),
                "mean": _json_float(float(fin.mean())) if fin.size else None,
                "quantiles": {str(p): (float(np.quantile(fin, p)) if fin.size else None) for p in (0.01, 0.05, 0.25, 0.5, 0.75, 0.95)},
                "histogram": {"edges": [round(float(e), 4) for e in edges], "counts": [int(c) for c in counts]},
                "oof_auc": _json_float(disc.metrics.get("oof_auc", float("nan"))),
            }

        stack = np.stack(list(bad.values())) if bad else np.zeros((0, n), dtype=bool)
        rejected = stack.any(axis=0) if len(stack) else np.zeros(n, dtype=bool)
        accepted = shockset.select(~rejected)
        # The guarantee: no accepted sample breaks a hard rule (raised, not asserted: it holds
        # under ``python -O`` too).
        broken = {r: c for r, c in hard_rule_counts(accepted, self.rules, class_scale=scale).items() if c}
        if broken:
            raise PlausibilityError(f"plausibility filter accepted samples that break hard rules: {broken}")

        n_rules = stack.sum(axis=0) if len(stack) else np.zeros(n, dtype=int)
        report = PlausibilityReport(
            accepted=accepted,
            n_samples=n,
            n_accepted=int((~rejected).sum()),
            rejections={r: int(v.sum()) for r, v in bad.items()},
            only_rule={r: int((v & (n_rules == 1)).sum()) for r, v in bad.items()},
            breaches=breaches,
            scores=scores_info,
            parameters={**self.summary(), "severity_scale": {k: round(v, 4) for k, v in scale.items()}},
            scenario_id=shockset.scenario_id,
            unchecked=unchecked_level_rules(shockset, self.rules),
        )
        accepted.metadata["plausibility"] = {
            "n_samples": n,
            "n_accepted": report.n_accepted,
            "acceptance_rate": round(report.acceptance_rate, 6),
            "rejections": dict(report.rejections),
        }
        return report

    # ---------------------------------------------------------------- persistence
    def save(self, directory: str | Path) -> Path:
        """Write the fitted filter to ``directory`` as JSON + safetensors (never a pickle).

        Files written (and nothing else):

        * ``filter.json``: format tag, rule parameters, seed, the hard-rule limits (exact, see
          :meth:`HardRules.to_state`), the history's quarters and factor ids, and per trained
          discriminator its path length, parameters, factor ids, threshold, metrics and file;
        * ``filter.safetensors``: the move limits ``max_moves.<factor id>`` and the history's
          one-quarter changes ``history.changes`` (float64);
        * ``discriminator_<quarters>.safetensors``: per trained discriminator the MLP state dict
          (``mlp.*``), feature scalers (``mu``, ``sd``) and statistics (``stats.scale``,
          ``stats.corr``).

        The folder is written in full under a temporary name beside ``directory`` and then
        renamed onto it: readers see the previous complete filter or the new one, never a mix.

        Parameters
        ----------
        directory
            Target folder: absent, empty, or a previously saved filter (replaced as a whole).

        Returns
        -------
        Path
            The folder.

        Raises
        ------
        RuntimeError
            When the filter is not fitted.
        ModelFileError
            When ``directory`` is a file or holds anything but a saved filter's files (it would
            be deleted by the replacement).
        """
        from safetensors.numpy import save_file as save_numpy
        from safetensors.torch import save_file as save_torch

        if self.rules is None or self._changes is None:
            raise RuntimeError("PlausibilityFilter: fit first")
        target = Path(directory)
        if target.exists():
            if not target.is_dir():
                raise ModelFileError(f"cannot save the plausibility filter to {target}: not a folder")
            foreign = sorted(p.name for p in target.iterdir() if not is_filter_file(p.name))
            if foreign:
                raise ModelFileError(
                    f"refusing to replace {target}: it holds {foreign}, not only a saved plausibility filter's files"
                )
        rules_doc, arrays = self.rules.to_state()
        changes = self._changes
        arrays["history.changes"] = np.ascontiguousarray(changes.to_numpy(dtype=np.float64))
        index = changes.index
        history = {
            "index": [str(q) for q in index],
            "index_name": None if index.name is None else str(index.name),
            "freq": index.freqstr if isinstance(index, pd.PeriodIndex) else None,
            "columns": [str(c) for c in changes.columns],
            "columns_name": None if changes.columns.name is None else str(changes.columns.name),
        }
        discriminators: dict[str, Any] = {}
        tensors: dict[str, dict[str, torch.Tensor]] = {}
        for q, disc in sorted(self._discriminators.items()):
            ddoc, tens = disc.to_state()
            name = discriminator_file(q)
            discriminators[str(q)] = {**ddoc, "file": name}
            tensors[name] = tens
        doc = {
            "format": FILTER_FORMAT,
            "params": to_json_state(self.params),
            "seed": int(self.seed),
            "hard_rules": rules_doc,
            "history": history,
            "arrays_file": FILTER_ARRAYS_FILE,
            "discriminators": discriminators,
        }
        text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
        meta = {"format": FILTER_FORMAT}

        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        try:
            os.chmod(tmp, 0o755)  # mkdtemp's 0o700 would hide the filter from other users
            (tmp / FILTER_FILE).write_text(text, encoding="utf-8")
            save_numpy(arrays, str(tmp / FILTER_ARRAYS_FILE), metadata=meta)
            for name, tens in tensors.items():
                save_torch(tens, str(tmp / name), metadata={**meta, "quarters": name[len("discriminator_"):-len(".safetensors")]})
            check_model_files(tmp)
            replace_folder(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return target

    @classmethod
    def load(cls, directory: str | Path) -> PlausibilityFilter:
        """Rebuild a filter written by :meth:`save`, exactly and without training.

        Reads JSON (``json``) and safetensors (``safetensors.numpy`` / ``safetensors.torch``)
        only: no pickle, no code from disk. The rebuilt filter gives the same hard-rule limits,
        discriminator scores (bit for bit) and :meth:`apply` results as the saved one; a path
        length without a saved discriminator is trained on demand (see :meth:`discriminator`).

        Parameters
        ----------
        directory
            A folder written by :meth:`save`.

        Returns
        -------
        PlausibilityFilter

        Raises
        ------
        ModelFileError
            When the folder is missing, holds a file that is not JSON/safetensors (a ``.pkl``,
            ...) or one ``filter.json`` does not list, lacks a listed file, or a file is
            corrupted; the message names the path.
        """
        from safetensors.numpy import load_file as load_numpy
        from safetensors.torch import load_file as load_torch

        folder = Path(directory)
        check_model_files(folder)
        path = folder / FILTER_FILE
        if not path.is_file():
            raise ModelFileError(f"missing {path}: {folder} is not a saved plausibility filter")
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelFileError(f"corrupted {path}: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("format") != FILTER_FORMAT:
            found = doc.get("format") if isinstance(doc, dict) else None
            raise ModelFileError(f"{path}: not a saved plausibility filter (format {found!r}, expected {FILTER_FORMAT!r})")
        discs = doc.get("discriminators")
        if not isinstance(discs, dict) or not all(isinstance(d, dict) and "file" in d for d in discs.values()):
            raise ModelFileError(f"corrupted {path}: no valid 'discriminators' table")
        listed = {FILTER_FILE, FILTER_ARRAYS_FILE, *(str(d["file"]) for d in discs.values())}
        unlisted = sorted(p.name for p in folder.iterdir() if p.name not in listed)
        if unlisted:
            raise ModelFileError(f"{folder} holds {unlisted}, which {path} does not list: refusing to load it")
        for name in sorted(listed):
            if not (folder / name).is_file():
                raise ModelFileError(f"missing {folder / name} (listed in {path})")

        def read(name: str, loader: Any) -> dict[str, Any]:
            try:
                return dict(loader(str(folder / name)))
            except Exception as exc:  # safetensors raises its own error types on a bad header
                raise ModelFileError(f"corrupted {folder / name}: {exc}") from exc

        arrays = read(FILTER_ARRAYS_FILE, load_numpy)
        try:
            filt = cls(from_json_state(doc["params"]))
            filt.rules = HardRules.from_state(doc["hard_rules"], arrays)
            filt.seed = int(doc["seed"])
            hist = doc["history"]
            index = (
                pd.PeriodIndex(hist["index"], freq=hist["freq"], name=hist["index_name"])
                if hist["freq"] is not None
                else pd.Index(hist["index"], name=hist["index_name"])
            )
            filt._changes = pd.DataFrame(
                arrays["history.changes"], index=index, columns=pd.Index(hist["columns"], name=hist["columns_name"])
            )
            for q, ddoc in discs.items():
                disc = PathDiscriminator.from_state(ddoc, read(str(ddoc["file"]), load_torch))
                if disc.quarters != int(q):
                    raise ValueError(f"{ddoc['file']} is for {disc.quarters} quarters, listed under {q}")
                filt._discriminators[int(q)] = disc
        except ModelFileError:
            raise
        except (KeyError, ValueError, TypeError, RuntimeError) as exc:
            raise ModelFileError(f"cannot rebuild the plausibility filter from {folder}: {exc!r}") from exc
        return filt

    def summary(self) -> dict[str, Any]:
        """Plain-JSON rule limits and discriminator metrics."""
        return {
            "hard_rules": self.rules.to_dict() if self.rules is not None else {},
            "discriminators": {str(q): dict(d.metrics) for q, d in self._discriminators.items()},
            "seed": self.seed,
        }
