"""Coherence over the horizon: the :class:`CoherenceModel` fitted with every translator.

Models draw *one-quarter* changes; summing them over a 13-quarter path turns quantities that are
stationary in reality (the spread of an open tenor to the Fed's curve -- beyond 10y and below 3m
to its adjacent tenor, 30y over 20y over 10y, 1m over 3m --, credit spreads, fed funds to the
3m bill) into random walks, lets short rates fall far below zero when the Fed's 3m sits at the
zero lower bound, and compounds a stress-scaled residual into cumulative moves no history shows.
The coherence step, shared by both translators, makes those spreads mean-revert (AR(1),
persistence estimated from history), bounds short rates by a soft zero lower bound, and keeps
every other open factor's cumulative path within the historical envelope of h-quarter moves
(times a margin below the plausibility filter's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.translate.consistency import TENOR_YEARS, maturity_weights
from risk_dagster.translate.relations import Relation, fit_relations
from risk_dagster.translate.shockset import FloatArray
from risk_dagster.translate.training import TrainingSet

# =============================================================================== coherence
COHERENCE_FORMAT = "risk_dagster.translate.base.coherence/1"

FED_CURVE_NODES: tuple[str, ...] = ("rates.ust.3m", "rates.ust.5y", "rates.ust.10y")
"""Treasury tenors a Fed scenario fixes; the open tenors' spreads are measured against the
curve interpolated between them (flat beyond 3m and 10y, as in :func:`apply_consistency`)."""

FED_FUNDS = "rates.fedfunds"
CP_RATE = "rates.cp3m"
CP_SPREAD = "credit.spread.cp3m_fedfunds"

SHORT_RATE_ANCHORS: dict[str, str] = {FED_FUNDS: "rates.ust.3m"}
"""Open money-market rate -> the fixed rate its spread is measured against."""

CREDIT_YIELD_SPREADS: dict[str, tuple[str, str]] = {
    "credit.baa": ("rates.ust.10y", "credit.spread.baa_10y"),
    "credit.aaa": ("rates.ust.10y", "credit.spread.aaa_10y"),
}
"""Credit yield -> (Treasury anchor, its spread factor): ``yield = anchor + spread`` in changes
(in history ``BAA = GS10 + (BAA - GS10)`` up to the Treasury blend's basis, <= 19 bp)."""

OTHER_RATE_PREFIXES: tuple[str, ...] = ("rates.gov.", "rates.swap.", "rates.eur.")
"""Rates other than the Treasury curve, fed funds and CP (other sovereigns' 10y yields, the EUR
swap curve, the ECB AAA yield): floored softly at ``min(zlb_floor, their lowest training level)``
in step 5 -- a shadow rate that may go as low as its own history did (Swiss 10y -0.9 %, Euribor
-0.6 %), no lower; the Treasury's -0.25 % floor would cut through years of negative euro rates."""

LEVEL_FLOOR_FACTORS: tuple[str, ...] = ("vol.vxo", "vol.vix", "conditions.epu")
"""Open vol and uncertainty indices floored at their historical minimum (step 5): a vol index
or the news-based EPU index near or below zero has never been seen (VXO 10.5, EPU 63 at their
quarter-end lows since 1976 / 1985)."""

_UNIT_FLOORS = {"absolute_bp": 25.0, "log_return": 0.025}
"""Smallest envelope per shock unit (other units: 2.5 points): the plausibility filter's own
``move_multiple`` floors, so a flat history never forbids every move."""


def _ar1_phi(spread: pd.Series) -> tuple[float, int, float, float]:
    """OLS AR(1) coefficient of a quarterly series around its mean, from the pairs of
    *consecutive* observed quarters (a gap never links two distant quarters).

    Returns
    -------
    tuple
        ``(phi, n_pairs, mean, minimum)``; ``phi`` NaN with fewer than 20 pairs.
    """
    s = spread.dropna()
    if s.empty:
        return float("nan"), 0, float("nan"), float("nan")
    lo = float(s.min())
    idx = pd.PeriodIndex(s.index, freq="Q-DEC")
    s = pd.Series(s.to_numpy(dtype=np.float64), index=idx)
    prev = s.reindex(idx - 1)
    ok = prev.notna().to_numpy()
    n = int(ok.sum())
    mu = float(s.mean())
    if n < 20:
        return float("nan"), n, mu, lo
    x, y = prev.to_numpy()[ok] - mu, s.to_numpy()[ok] - mu
    return float((x * y).sum() / (x * x).sum()), n, mu, lo


def _diff_sd(spread: pd.Series) -> float:
    """Standard deviation of a quarterly series' first differences over *consecutive* observed
    quarters (the spread's historical one-quarter change); NaN with fewer than 20 pairs."""
    s = spread.dropna()
    idx = pd.PeriodIndex(s.index, freq="Q-DEC")
    s = pd.Series(s.to_numpy(dtype=np.float64), index=idx)
    d = (s - s.reindex(idx - 1).to_numpy()).dropna()
    return float(d.std(ddof=1)) if len(d) >= 20 else float("nan")


def _outer_tenor_chain(tenors: Sequence[str], nodes: Sequence[str]) -> dict[str, str]:
    """Open tenor -> its adjacent tenor toward the fixed nodes, for the tenors outside them
    (shorter than the first node, longer than the last): ``20y -> 10y``, ``30y -> 20y``,
    ``1m -> 3m``. Tenors between two nodes are interpolated and not chained."""
    ordered = sorted((f for f in tenors if f in TENOR_YEARS), key=TENOR_YEARS.__getitem__)
    if not nodes or any(n not in ordered for n in nodes):
        return {}
    first, last = ordered.index(nodes[0]), ordered.index(nodes[-1])
    chain = {ordered[k]: ordered[k - 1] for k in range(last + 1, len(ordered))}
    chain.update({ordered[k]: ordered[k + 1] for k in range(first - 1, -1, -1)})
    return chain


def _ar_path(increments: FloatArray, phi: float) -> FloatArray:
    """Cumulative deviation of an AR(1) driven by ``increments`` (``[..., quarters]``).

    ``dev_t = phi dev_{t-1} + kappa eps_t`` with ``kappa = sqrt((1 + phi) / 2)``: the drawn
    one-quarter change of a spread has the variance of a historical *first difference*, which
    for an AR(1) is ``2 sigma^2 / (1 + phi)`` with ``sigma^2`` the innovation variance, so
    ``kappa`` turns it back into an innovation and the stationary variance of ``dev`` is the
    spread's historical variance. ``phi = 1`` gives the plain cumulative sum.
    """
    kappa = float(np.sqrt((1.0 + phi) / 2.0))
    out = np.empty_like(increments)
    dev = np.zeros(increments.shape[:-1])
    for t in range(increments.shape[-1]):
        dev = phi * dev + kappa * increments[..., t]
        out[..., t] = dev
    return out


def _cap_rms(innovations: FloatArray, ceiling: float) -> FloatArray:
    """``innovations`` scaled by ``min(1, ceiling / rms)``, ``rms`` over all samples and quarters
    (timing and relative size survive); unchanged when ``ceiling`` is NaN."""
    if not np.isfinite(ceiling) or not np.isfinite(innovations).any():
        return innovations  # nothing drawn to scale (a factor without history at an early origin)
    with np.errstate(invalid="ignore"):
        rms = float(np.sqrt(np.nanmean(innovations**2)))
    return innovations * (ceiling / rms) if np.isfinite(rms) and rms > ceiling else innovations


def _soft_floor(level: FloatArray, floor: float, width: float) -> FloatArray:
    """``floor + width * softplus((level - floor) / width)``: the identity well above the floor
    (within 0.01 bp from ``floor + 0.7``pp at width 0.1), never below it (a shadow-rate map)."""
    x = (level - floor) / width
    return floor + width * (np.logaddexp(0.0, x))


@dataclass
class CoherenceModel:
    """How a translator's summed one-quarter draws are made coherent over a whole path.

    Fitted from the training history (:meth:`fit`) alongside each translator and stored with it
    (:meth:`to_dict`: arrays for safetensors, the rest JSON). Applied by
    :func:`apply_consistency` (``coherence=``) to the drawn cumulative shocks:

    0. **Relations to fixed siblings** (:attr:`relations`, :mod:`risk_dagster.translate.relations`):
       the Baa-10y and Aaa-10y spreads follow the fixed BBB-10y spread, the 20y the fixed
       10y-5y / 10y-3m slopes over the 10y, the 30y the 10y-5y slope over the coherent 20y,
       the VXO the fixed VIX, each through a regression fitted on history with an AR(1)
       residual driven by the drawn innovations. These replace steps 1-2 for their factors and are not enveloped (step 3):
       they carry the scenario's own severity. Open factors whose jump-off level is stale
       (``stale``) start their spread at its mean rather than at the stale value.
    1. **Open tenors and fed funds: the Fed's curve plus a mean-reverting spread.** Each open
       Treasury tenor is the curve the scenario fixes (:data:`FED_CURVE_NODES`) interpolated at
       its maturity plus a spread ``s``; fed funds is the fixed 3m plus a spread. The spread
       follows an AR(1) around its historical mean ``mu`` from its jump-off value ``s_0``:
       ``s_t - mu = phi (s_{t-1} - mu) + kappa e_t``, ``e_t`` the drawn one-quarter change of the
       spread (open factor minus its drawn interpolated anchor: the joint residual dependence
       survives) *less the model's mean change of it*. The mean drift is dropped because the
       fixed curve is the better conditional mean: the regressions see the 3m and 10y changes
       but not the Fed's 5y, and their quarter-end changes run ahead of the Fed's quarterly
       averages in the fastest quarters (2025 severely adverse, first quarter: about -70 bp on
       the 2y beyond the interpolated curve, more than the spread's largest historical move).
       ``kappa = sqrt((1 + phi) / 2)`` turns a first difference into an AR innovation
       (:func:`_ar_path`). The innovations' root mean square is capped at the historical sd of
       the spread's one-quarter change (:attr:`spread_diff_sd`, as for the chained tenors
       below; ``scripts/relations_report.py`` prints them): in history a tenor between two
       fixed nodes moves against the supervisor's curve by a few tens of bp a quarter at most,
       while the translators' joint draws, uncapped, spread it much wider in the fastest Fed
       paths. ``s_0 - mu`` is also why: the jump-off spread mixes the Fed's
       quarterly-average nodes with quarter-end tenors (and sometimes a stale as-of date), so
       reverting to it would carry basis noise through the whole path.

       **Outside the fixed nodes the curve is chained** (:attr:`chain`): 20y is a spread over the
       10y, 30y a spread over the (coherent) 20y, 1m a spread over the 3m, each AR(1) with the
       persistence ``phi``, mean and jump-off value of THAT adjacent spread, and each the
       historical standard deviation of the adjacent spread's one-quarter change
       (:attr:`spread_diff_sd`) as the ceiling of its innovations: the drawn innovations ``e``
       are multiplied by ``min(1, spread_diff_sd / rms(e))``, ``rms`` over all samples and
       quarters of the draw (so the model's timing of stress and each sample's relative size
       survive, and a model already as tight as history is untouched). Why: with one separate
       spread to the 10y each, the 20y and the 30y carry two deviations whose difference
       wanders, while in history 30y-20y is the tightest spread of the curve (first-difference
       sd 7 bp, range -41..44 bp). The transformer's joint draws (low-rank correlation, own
       Student-t mixing per factor) put the 20y-30y change correlation at 0.89 (history 0.99),
       so its drawn 30y-20y change has 5x history's sd; the satellite's stress-scaled residual
       vectors about 2x. Its envelope (step 3) shrinks only the chained spread's deviation,
       around the already-shrunk inner tenor. Tenors between the nodes (6m ... 7y) are as above.
    2. **Credit spreads** (``credit.spread.*`` the scenario leaves open, CP-fed funds included):
       their cumulative change is ``dev_t = phi dev_{t-1} + kappa eps_t`` with ``eps_t`` the full
       drawn one-quarter change (the macro-driven widening is the scenario's credit stress and is
       kept), i.e. mean reversion toward the jump-off level instead of a random walk.
    3. **Envelope.** Every open factor's cumulative path (but those set by an identity in
       step 4) is kept within ``margin`` times its largest historical h-quarter move (:attr:`envelope`, training quarters, h =
       1..``horizon``; longer horizons scale with ``sqrt(h)``): the path's deviation from the
       model's conditional-mean path is shrunk by the single factor ``lambda in [0, 1]`` that
       just fits every h-quarter move (a path inside is untouched; a shrunk one keeps its shape).
       Why here rather than by capping the stress scale: the one-quarter distribution (what the
       backtest scores) stays as fitted; the stress-scaled residuals only break history when
       *summed* over a long severe path. ``margin`` = 1.5 is below the filter's 2.0x (whose
       envelope, from the whole history, is at least as wide), so the filter still polices.
    4. **Identities.** ``cp3m = fed funds + (CP - fed funds)`` (exact in FRED-MD) and the Aaa and
       Baa yields = 10y Treasury + their spread (:data:`CREDIT_YIELD_SPREADS`), so yields and
       spread factors agree sample by sample.
    5. **Floors.** Open Treasury tenors, fed funds and CP: a soft zero lower bound on the level
       ``zlb_floor + zlb_width * softplus((r - zlb_floor) / zlb_width)`` (:func:`_soft_floor`),
       the identity above about ``zlb_floor + 0.7`` pp and never below ``zlb_floor`` = -0.25 %
       (quarter-end history's minimum is 0.0 %, daily bills touched about -0.1 %: a shadow rate
       with a little room, no hard wall). Credit spreads other than CP-fed funds: the same map
       at their historical minimum (training quarters) with width ``spread_floor_width``: no
       generated spread goes below the lowest level of its history. CP-fed funds is recomputed from the floored rates.
       Open vol and uncertainty indices (:data:`LEVEL_FLOOR_FACTORS`): the same map at their
       historical minimum (:attr:`level_min`), width :attr:`index_floor_width` points.

    Attributes
    ----------
    phi
        Spread id -> AR(1) coefficient used (tenors and fed funds by their factor id: their
        spread to the interpolated fixed curve / the 3m; credit spreads by their id).
    phi_raw, phi_pairs, spread_mean, spread_min
        Unclipped OLS estimate, number of consecutive-quarter pairs behind it, mean and minimum
        of the spread in the training quarters (quarter-end levels).
    nodes
        Curve nodes the tenor spreads were measured against.
    chain, spread_diff_sd
        Open tenor outside the nodes -> the adjacent tenor its spread is measured against
        (its ``phi``/``spread_mean``/``spread_min`` are then those of that adjacent spread),
        and the standard deviation of that spread's historical one-quarter change (bp). Empty
        for a model saved before the chain (it keeps its spreads to the interpolated curve).
    envelope_ids, envelope
        Factors with an envelope and ``[factors, horizon]`` their largest ``|h-quarter change|``
        in training (shock units), non-decreasing in h, floored like the filter's.
    relations
        Open factor -> fitted :class:`~risk_dagster.translate.relations.Relation` (step 0);
        empty for a model saved before the relations.
    level_min
        Open index factor -> its lowest training level (step 5).
    rate_min
        Open rate of :data:`OTHER_RATE_PREFIXES` -> its lowest training level, percent (step 5);
        empty for a model saved before it.
    margin, zlb_floor, zlb_width, spread_floor_width, phi_max, index_floor_width
        The parameters above (``phi`` is clipped to ``[0, phi_max]``; ``phi = 1`` -- the old
        random walk -- where a spread has under 20 quarter pairs of history).
    """

    phi: dict[str, float]
    phi_raw: dict[str, float]
    phi_pairs: dict[str, int]
    spread_mean: dict[str, float]
    spread_min: dict[str, float]
    nodes: list[str]
    envelope_ids: list[str]
    envelope: FloatArray
    chain: dict[str, str] = field(default_factory=dict)
    spread_diff_sd: dict[str, float] = field(default_factory=dict)
    relations: dict[str, Relation] = field(default_factory=dict)
    level_min: dict[str, float] = field(default_factory=dict)
    rate_min: dict[str, float] = field(default_factory=dict)
    margin: float = 1.5
    zlb_floor: float = -0.25
    zlb_width: float = 0.10
    spread_floor_width: float = 0.05
    phi_max: float = 0.98
    index_floor_width: float = 1.0

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(
        cls,
        training: TrainingSet,
        *,
        horizon: int = 40,
        margin: float = 1.5,
        zlb_floor: float = -0.25,
        zlb_width: float = 0.10,
        spread_floor_width: float = 0.05,
        phi_max: float = 0.98,
    ) -> CoherenceModel:
        """Estimate the spreads' persistence and the move envelope from the training quarters.

        Only quarter-end levels of the training window (the quarter before the first training
        quarter to the last) are used, excluded quarters (leave-crisis-out) masked.

        Parameters
        ----------
        training
            :func:`build_training_set` output.
        horizon
            Longest horizon of the envelope.
        margin, zlb_floor, zlb_width, spread_floor_width, phi_max
            See the class docstring.
        """
        ids = list(training.factor_ids)
        levels = training.levels.reindex(columns=ids).copy()
        levels.index = pd.PeriodIndex(levels.index, freq="Q-DEC")
        levels = levels.reindex(pd.period_range(training.start - 1, training.end, freq="Q-DEC"))
        levels.loc[levels.index.isin(training.excluded)] = np.nan

        spreads: dict[str, pd.Series] = {}
        nodes = [f for f in FED_CURVE_NODES if f in levels.columns]
        chain: dict[str, str] = {}
        if len(nodes) == len(FED_CURVE_NODES):
            chain = _outer_tenor_chain(list(levels.columns), nodes)
            node_years = np.array([TENOR_YEARS[f] for f in nodes])
            for f in TENOR_YEARS:
                if f in chain:
                    spreads[f] = levels[f] - levels[chain[f]]
                elif f not in nodes and f in levels.columns:
                    w = maturity_weights(np.array([TENOR_YEARS[f]]), node_years)[0]
                    spreads[f] = levels[f] - levels[nodes].to_numpy(dtype=np.float64) @ w
        else:
            nodes = []
        for f, anchor_id in SHORT_RATE_ANCHORS.items():
            if f in levels.columns and anchor_id in levels.columns:
                spreads[f] = levels[f] - levels[anchor_id]
        for f in ids:
            if f.startswith("credit.spread."):
                spreads[f] = levels[f]
        est = {f: _ar1_phi(sp) for f, sp in spreads.items()}

        # Envelope of h-quarter moves: rolling sums over consecutive observed quarters only.
        Y = training.Y.copy()
        Y.index = pd.PeriodIndex(Y.index, freq="Q-DEC")
        Y = Y.reindex(pd.period_range(training.start, training.end, freq="Q-DEC"))
        env = np.full((len(ids), horizon), np.nan)
        for j, f in enumerate(ids):
            col = Y[f]
            if col.notna().sum() < 20:
                continue
            for h in range(1, horizon + 1):
                m = col.rolling(h, min_periods=h).sum().abs().max()
                env[j, h - 1] = float(m) if np.isfinite(m) else (env[j, h - 2] if h > 1 else np.nan)
            floor = _UNIT_FLOORS.get(training.shock_types[j], 2.5)
            env[j] = np.maximum.accumulate(np.maximum(np.nan_to_num(env[j], nan=floor), floor))
        has = np.isfinite(env).all(axis=1)
        return cls(
            phi={f: (float(np.clip(e[0], 0.0, phi_max)) if np.isfinite(e[0]) else 1.0) for f, e in est.items()},
            phi_raw={f: e[0] for f, e in est.items()},
            phi_pairs={f: e[1] for f, e in est.items()},
            spread_mean={f: e[2] for f, e in est.items()},
            spread_min={f: e[3] for f, e in est.items()},
            nodes=nodes,
            envelope_ids=[f for f, k in zip(ids, has, strict=True) if k],
            envelope=env[has],
            chain=chain,
            # bp; every rate spread (tenors to the curve or chain, fed funds to the 3m), not credit
            spread_diff_sd={f: _diff_sd(sp) * 100.0 for f, sp in spreads.items() if not f.startswith("credit.")},
            relations=fit_relations(levels, phi_max=phi_max),
            level_min={f: float(levels[f].min()) for f in LEVEL_FLOOR_FACTORS if f in levels and levels[f].notna().any()},
            rate_min={f: float(levels[f].min()) for f in ids
                      if f.startswith(OTHER_RATE_PREFIXES) and f in levels and levels[f].notna().any()},  # fmt: skip
            margin=float(margin),
            zlb_floor=float(zlb_floor),
            zlb_width=float(zlb_width),
            spread_floor_width=float(spread_floor_width),
            phi_max=float(phi_max),
        )

    # ------------------------------------------------------------------ limits
    def move_limit(self, factor_id: str, horizon: int) -> float:
        """Allowed ``|h-quarter move|`` of an open factor's path (``inf`` without an envelope)."""
        if factor_id not in self.envelope_ids:
            return float("inf")
        env = self.envelope[self.envelope_ids.index(factor_id)]
        if horizon <= env.size:
            return self.margin * float(env[horizon - 1])
        return self.margin * float(env[-1]) * float(np.sqrt(horizon / env.size))

    # ------------------------------------------------------------------ apply
    def transform(
        self,
        shocks: FloatArray,
        factor_ids: Sequence[str],
        fixed: Mapping[str, FloatArray],
        *,
        jump_off: FloatArray | None = None,
        center: FloatArray | None = None,
        curve: bool = True,
        stale: Sequence[str] = (),
    ) -> tuple[FloatArray, set[str]]:
        """Steps 1-5 of the class docstring on cumulative shocks.

        Parameters
        ----------
        shocks
            ``[samples, quarters, factors]`` drawn cumulative shocks (not modified).
        factor_ids
            Ids of the last axis.
        fixed
            Factor id -> ``[quarters]`` fixed cumulative shock.
        jump_off
            ``[factors]`` jump-off levels (the ShockSet's). Without them the tenor spreads
            revert to their jump-off value and no floor applies.
        center
            ``[quarters, factors]`` (or ``[samples, quarters, factors]``) the model's
            conditional-mean cumulative path; the per-quarter median of the samples when
            ``None``.
        curve
            Rebuild the open tenors on the fixed curve (step 1 for tenors).
        stale
            Open factors whose jump-off level is older than the jump-off quarter (the market
            history ends earlier). Their jump-off spread says nothing of today's: it does not
            decay from that value but starts at its mean (the relation's, or the historical
            one), the catch-up from the stale level falling in the first quarter's shock.

        Returns
        -------
        tuple
            The transformed copy, and the ids it determined (open tenors, fed funds, CP,
            credit yields), which the caller must not correct again.
        """
        out = np.array(shocks, dtype=np.float64, copy=True)
        n_q = out.shape[1]
        pos = {f: i for i, f in enumerate(factor_ids)}
        j0 = np.asarray(jump_off, dtype=np.float64) if jump_off is not None else np.full(len(pos), np.nan)
        owned: set[str] = set()
        if center is None:
            base = np.nanmedian(out, axis=0)[None]
        else:
            c = np.asarray(center, dtype=np.float64)
            base = np.array(c[None] if c.ndim == 2 else c, copy=True)
        steps = np.arange(1, n_q + 1)
        stale_ids = set(stale)

        def persistence(f: str, phi: float) -> FloatArray:
            """How much of the jump-off gap to the mean is left after each quarter."""
            return np.zeros(n_q) if f in stale_ids else phi**steps

        def inc(x: FloatArray) -> FloatArray:
            return np.diff(x, axis=1, prepend=0.0)

        raw, base_raw = out.copy(), base.copy()  # the drawn paths, before any step

        def spread_to(f: str, anchor_w: Mapping[str, float], diff_sd: float = np.nan) -> None:
            """Step 1 for one open rate: ``anchor`` (weights on fixed factors, or one open tenor
            already made coherent) + AR spread, its innovations capped at ``diff_sd`` (bp)."""
            drawn = {k: sum(w * x[:, :, pos[a]] for a, w in anchor_w.items()) for k, x in (("s", raw), ("c", base_raw))}
            e = (inc(raw[:, :, pos[f]]) - inc(drawn["s"])) - (inc(base_raw[:, :, pos[f]]) - inc(drawn["c"]))
            e = _cap_rms(e, diff_sd)
            s0 = j0[pos[f]] - sum(w * j0[pos[a]] for a, w in anchor_w.items())
            gap = s0 - self.spread_mean.get(f, np.nan)
            decay = (persistence(f, self.phi[f]) - 1.0) * (gap if np.isfinite(gap) else 0.0) * 100.0  # bp
            if all(a in fixed for a in anchor_w):
                level_part = sum(w * fixed[a] for a, w in anchor_w.items()) + decay  # [Q]
                out[:, :, pos[f]] = level_part[None, :] + _ar_path(e, self.phi[f])
                base[:, :, pos[f]] = level_part[None, :]
            else:  # chained to an open tenor: its coherent path, sample by sample
                def anchor(x: FloatArray) -> FloatArray:
                    return sum(w * (fixed[a][None, :] if a in fixed else x[:, :, pos[a]]) for a, w in anchor_w.items())

                out[:, :, pos[f]] = anchor(out) + decay[None, :] + _ar_path(e, self.phi[f])
                base[:, :, pos[f]] = anchor(base) + decay[None, :]
            owned.add(f)

        related: set[str] = set()

        def relate(f: str) -> bool:
            """Step 0 for one open factor with a fitted relation to fixed (or already coherent)
            factors (:mod:`risk_dagster.translate.relations`); False when it cannot apply."""
            rel = self.relations.get(f)
            if rel is None:
                return False
            spec = rel.spec
            inputs = spec.inputs
            if any(a not in pos for a in inputs) or any(a not in fixed and a not in owned for a in inputs):
                return False
            if not np.isfinite(j0[[pos[a] for a in (f, *inputs)]]).all():
                return False

            def shock_of(a: str, x: FloatArray) -> FloatArray:
                return fixed[a][None, :] if a in fixed else x[:, :, pos[a]]

            def y_shock(x: FloatArray) -> FloatArray:
                return x[:, :, pos[f]] - (x[:, :, pos[spec.base]] if spec.base else 0.0)

            m0 = float(rel.mean(rel.regressor_levels({a: j0[pos[a]] for a in inputs})))
            y0 = j0[pos[f]] - (j0[pos[spec.base]] if spec.base else 0.0)
            unit = spec.unit  # shock units per level unit (bp per percent, or points)
            decay = (persistence(f, rel.phi) - 1.0) * (y0 - m0) * unit  # the jump-off residual decays
            e = inc(y_shock(raw)) - inc(y_shock(base_raw))  # drawn innovations less the model's mean
            e = _cap_rms(e, rel.diff_sd)
            for x, noise in ((out, _ar_path(e, rel.phi)), (base, 0.0)):
                levels_x = {a: j0[pos[a]] + shock_of(a, x) / unit for a in inputs}
                mean_shock = (rel.mean(rel.regressor_levels(levels_x)) - m0) * unit
                over = shock_of(spec.base, x) if spec.base else 0.0
                x[:, :, pos[f]] = over + mean_shock + decay[None, :] + noise
            owned.add(f)
            related.add(f)
            return True

        # 1. Open tenors on the fixed curve (outside the nodes: chained to the adjacent tenor, or
        # related to the fixed slopes), fed funds on the fixed 3m.
        chained: dict[str, str] = {}  # open tenor -> the OPEN tenor it is chained to
        open_nodes = [f for f in self.nodes if f in pos and f not in fixed]
        fixed_nodes = [f for f in self.nodes if f in fixed]
        if curve and open_nodes and fixed_nodes and all(f in pos for f in self.nodes):
            # A scenario fixing only some nodes (an EBA scenario: the 10y): the open nodes keep
            # their drawn paths moved by the fixed nodes' correction interpolated in maturity
            # (the plain curve rule of apply_consistency) and anchor the other tenors as fixed
            # nodes do, sample by sample.
            w_nodes = maturity_weights(
                np.array([TENOR_YEARS[f] for f in open_nodes]), np.array([TENOR_YEARS[f] for f in fixed_nodes])
            )
            for x_now, x_raw in ((out, raw), (base, base_raw)):
                corr = np.stack([fixed[f][None, :] - x_raw[:, :, pos[f]] for f in fixed_nodes], axis=-1)
                shift = corr @ w_nodes.T
                for k, f in enumerate(open_nodes):
                    x_now[:, :, pos[f]] = x_raw[:, :, pos[f]] + shift[:, :, k]
            owned.update(open_nodes)
        if curve and self.nodes and all(f in fixed or f in owned for f in self.nodes):
            node_years = np.array([TENOR_YEARS[f] for f in self.nodes])
            for f in TENOR_YEARS:  # in maturity order: an inner tenor before the one chained to it
                if f in pos and f not in fixed and f in self.phi:
                    if relate(f):
                        continue
                    parent = self.chain.get(f)
                    if parent is not None and parent in pos and (parent in fixed or parent in owned):
                        spread_to(f, {parent: 1.0}, self.spread_diff_sd.get(f, np.nan))
                        if parent not in fixed:
                            chained[f] = parent
                        continue
                    w = maturity_weights(np.array([TENOR_YEARS[f]]), node_years)[0]
                    anchor_w = {a: float(v) for a, v in zip(self.nodes, w, strict=True) if v != 0.0}
                    spread_to(f, anchor_w, self.spread_diff_sd.get(f, np.nan))
        for f, anchor in SHORT_RATE_ANCHORS.items():
            if f in pos and f not in fixed and anchor in fixed and f in self.phi:
                spread_to(f, {anchor: 1.0}, self.spread_diff_sd.get(f, np.nan))

        # 2. Credit spreads: related to the fixed BBB spread where a relation is fitted, else the
        # cumulative change mean-reverting toward the jump-off level.
        for f in factor_ids:
            if f.startswith("credit.spread.") and f not in fixed and f in self.phi:
                if relate(f):
                    continue
                for x in (out, base):
                    x[:, :, pos[f]] = _ar_path(inc(x[:, :, pos[f]]), self.phi[f])

        # 2b. Other relations (the VXO on the fixed VIX): whatever fitted relation is left.
        for f in self.relations:
            if f in pos and f not in fixed and f not in related and not f.startswith(("rates.", "credit.")):
                relate(f)

        # 3. Envelope (deviation from the center shrunk) of every open factor not set by an
        # identity: open tenors and fed funds included (their center is the fixed curve plus
        # the decaying jump-off spread, so only the spread noise is shrunk).
        # A tenor chained to an open one keeps its spread to it: only the spread's deviation is
        # shrunk, around the inner tenor's already-shrunk path.
        identities = {CP_RATE, *CREDIT_YIELD_SPREADS}
        chain_spread = {f: (out[:, :, pos[f]] - out[:, :, pos[p]], base[:, :, pos[f]] - base[:, :, pos[p]])
                        for f, p in chained.items()}  # fmt: skip
        for f in factor_ids:
            if f in fixed or f in identities or f not in self.envelope_ids or f in chained or f in related:
                continue  # a related factor follows its fixed sibling: the scenario's severity
            if f in TENOR_YEARS and f not in owned:
                continue  # left to apply_consistency's plain curve step
            i = pos[f]
            out[:, :, i] = self._shrink(out[:, :, i], np.broadcast_to(base[:, :, i], out.shape[:2]), f)
        for f, p in chained.items():  # inner tenors first (maturity order)
            sp_out, sp_base = chain_spread[f]
            out[:, :, pos[f]] = out[:, :, pos[p]] + sp_out
            if f in self.envelope_ids:
                center_f = np.broadcast_to(out[:, :, pos[p]] + sp_base, out.shape[:2])
                out[:, :, pos[f]] = self._shrink(out[:, :, pos[f]], center_f, f)

        # 4. Identities.
        cp_tied = CP_RATE in pos and CP_RATE not in fixed and FED_FUNDS in pos and CP_SPREAD in pos
        cp_tied = cp_tied and CP_SPREAD not in fixed
        if cp_tied:
            for x in (out, base):
                x[:, :, pos[CP_RATE]] = x[:, :, pos[FED_FUNDS]] + x[:, :, pos[CP_SPREAD]]
            owned.add(CP_RATE)

        # 5. Floors on levels (a jump-off level is needed).
        def floor_level(i: int, floor: float, width: float, unit: float = 100.0) -> None:
            if np.isfinite(j0[i]):
                for x in (out, base):
                    level = j0[i] + x[:, :, i] / unit  # absolute_bp: percent level (unit 100 bp)
                    x[:, :, i] = (_soft_floor(level, floor, width) - j0[i]) * unit

        for f in factor_ids:
            if f.startswith("credit.spread.") and f != CP_SPREAD and f not in fixed and f in self.spread_min:
                # Never below the lowest level of its history (a spread at 0 is no credit spread).
                floor = self.spread_min[f] if np.isfinite(self.spread_min[f]) else 0.0
                floor_level(pos[f], floor, self.spread_floor_width)
        for f in (*TENOR_YEARS, FED_FUNDS, CP_RATE):
            if f in pos and f not in fixed:
                floor_level(pos[f], self.zlb_floor, self.zlb_width)
        for f, lowest in self.rate_min.items():
            if f in pos and f not in fixed and np.isfinite(lowest):
                floor_level(pos[f], min(self.zlb_floor, lowest), self.zlb_width)
        for f, lowest in self.level_min.items():
            if f in pos and f not in fixed and np.isfinite(lowest):
                floor_level(pos[f], lowest, self.index_floor_width, unit=1.0)  # points, shock = change
        if cp_tied:
            for x in (out, base):  # keep CP = fed funds + spread after both were floored
                x[:, :, pos[CP_SPREAD]] = x[:, :, pos[CP_RATE]] - x[:, :, pos[FED_FUNDS]]
        for f, (anchor, spread) in CREDIT_YIELD_SPREADS.items():
            if f in pos and f not in fixed and anchor in fixed and spread in pos:
                for x in (out, base):
                    x[:, :, pos[f]] = fixed[anchor][None, :] + x[:, :, pos[spread]]
                owned.add(f)

        return out, owned

    def _shrink(self, path: FloatArray, center: FloatArray, factor_id: str) -> FloatArray:
        """``center + lambda (path - center)`` per sample, ``lambda`` the largest value in
        ``[0, 1]`` keeping every h-quarter move within the envelope (constraints the center
        itself already breaks are left to the filter: the scenario's severity is not ours)."""
        n = path.shape[0]
        p = np.concatenate([np.zeros((n, 1)), path], axis=1)
        c = np.concatenate([np.zeros((n, 1)), center], axis=1)
        d = p - c
        lam = np.ones(n)
        with np.errstate(divide="ignore", invalid="ignore"):
            for h in range(1, path.shape[1] + 1):
                limit = self.move_limit(factor_id, h)
                cm = c[:, h:] - c[:, :-h]
                dm = d[:, h:] - d[:, :-h]
                room = limit - np.sign(dm) * cm  # |cm + lam dm| <= limit for lam in [0, bound]
                ok = (np.abs(cm) <= limit) & (np.abs(dm) > 0) & np.isfinite(dm)
                lam = np.minimum(lam, np.where(ok, room / np.abs(dm), np.inf).min(axis=1))
        lam = np.clip(np.nan_to_num(lam, nan=1.0), 0.0, 1.0)
        return center + lam[:, None] * (path - center)

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """Plain state: ``arrays`` (float64, for safetensors) and JSON-able fields."""
        spreads = sorted(self.phi)

        def column(values: Mapping[str, float]) -> FloatArray:
            return np.array([values.get(k, np.nan) for k in spreads], dtype=np.float64)

        return {
            "format": COHERENCE_FORMAT,
            "spreads": spreads,
            "phi_pairs": {k: int(v) for k, v in self.phi_pairs.items()},
            "nodes": list(self.nodes),
            "envelope_ids": list(self.envelope_ids),
            "margin": self.margin,
            "zlb_floor": self.zlb_floor,
            "zlb_width": self.zlb_width,
            "spread_floor_width": self.spread_floor_width,
            "phi_max": self.phi_max,
            "chain": dict(self.chain),
            "relations": {k: r.to_json() for k, r in self.relations.items()},
            "level_min": dict(self.level_min),
            "rate_min": dict(self.rate_min),
            "index_floor_width": self.index_floor_width,
            "arrays": {
                "coherence_phi": column(self.phi),
                "coherence_phi_raw": column(self.phi_raw),
                "coherence_spread_mean": column(self.spread_mean),
                "coherence_spread_min": column(self.spread_min),
                "coherence_envelope": np.ascontiguousarray(self.envelope, dtype=np.float64),
                "coherence_spread_diff_sd": column(self.spread_diff_sd),
            },
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any], arrays: Mapping[str, Any] | None = None) -> CoherenceModel:
        """Rebuild from :meth:`to_dict` output (``arrays`` may be passed separately, e.g. read
        back from a safetensors file)."""
        if state.get("format") != COHERENCE_FORMAT:
            raise ValueError(f"CoherenceModel.from_dict: format {state.get('format')!r}, expected {COHERENCE_FORMAT!r}")
        a = {k: np.asarray(v, dtype=np.float64) for k, v in (arrays if arrays is not None else state["arrays"]).items()}
        spreads = list(state["spreads"])

        def mapping(key: str) -> dict[str, float]:
            return dict(zip(spreads, map(float, a[key]), strict=True))

        return cls(
            phi=mapping("coherence_phi"),
            phi_raw=mapping("coherence_phi_raw"),
            phi_pairs={k: int(v) for k, v in state.get("phi_pairs", {}).items()},
            spread_mean=mapping("coherence_spread_mean"),
            spread_min=mapping("coherence_spread_min"),
            nodes=list(state["nodes"]),
            envelope_ids=list(state["envelope_ids"]),
            envelope=a["coherence_envelope"].reshape(len(state["envelope_ids"]), -1),
            margin=float(state["margin"]),
            zlb_floor=float(state["zlb_floor"]),
            zlb_width=float(state["zlb_width"]),
            spread_floor_width=float(state.get("spread_floor_width", 0.05)),
            phi_max=float(state.get("phi_max", 0.98)),
            # Saved before the chained outer tenors: none (spreads to the interpolated curve).
            chain={k: str(v) for k, v in state.get("chain", {}).items()},
            spread_diff_sd={
                k: v
                for k, v in (mapping("coherence_spread_diff_sd") if "coherence_spread_diff_sd" in a else {}).items()
                if np.isfinite(v)
            },
            # Saved before the relations: none (the AR(1) spreads and chain apply).
            relations={str(k): Relation.from_json(v) for k, v in state.get("relations", {}).items()},
            # Saved before the index floors: none.
            level_min={str(k): float(v) for k, v in state.get("level_min", {}).items()},
            # Saved before the floors of other rates: none.
            rate_min={str(k): float(v) for k, v in state.get("rate_min", {}).items()},
            index_floor_width=float(state.get("index_floor_width", 1.0)),
        )

    def summary(self) -> dict[str, Any]:
        """Plain-JSON documentation of the parameters (metadata)."""

        def rounded(values: Mapping[str, float]) -> dict[str, float | None]:
            return {k: (round(float(v), 4) if np.isfinite(v) else None) for k, v in sorted(values.items())}

        return {
            "phi": rounded(self.phi),
            "phi_raw": rounded(self.phi_raw),
            "phi_pairs": dict(sorted(self.phi_pairs.items())),
            "spread_mean": rounded(self.spread_mean),
            "nodes": list(self.nodes),
            "chain": dict(sorted(self.chain.items())),
            "spread_diff_sd_bp": rounded(self.spread_diff_sd),
            "relations": {
                k: {
                    "over": r.spec.base,
                    "intercept": round(r.intercept, 4),
                    "coef": {n: round(b, 4) for n, b in r.coef.items()},
                    "phi": round(r.phi, 4),
                    "r2": round(r.r2, 3),
                    "quarters": f"{r.first}-{r.last} ({r.n_quarters})",
                }
                for k, r in sorted(self.relations.items())
            },
            "envelope_margin": self.margin,
            "zlb_floor": self.zlb_floor,
            "zlb_width": self.zlb_width,
            "spread_floor_width": self.spread_floor_width,
            "level_min": rounded(self.level_min),
            "rate_min": rounded(self.rate_min),
            "index_floor_width": self.index_floor_width,
            "phi_max": self.phi_max,
        }
