"""The learned part of the plausibility filter: :class:`PathDiscriminator`.

A small torch MLP giving the probability that a path is a real history window rather than an
implausible shape. It sees only *scale-free* features (multiplying a whole path by a constant
leaves them unchanged), so it judges shape -- curve coherence, co-movement signs, smoothness --
never severity: a severely adverse scenario is by design more severe than most of history and
must not be rejected for it. Its negatives are corrupted copies of real windows (time-shuffled,
factor-mixed, sign-flipped, independent noise, jagged, incoherent curves), not the translators'
own samples: training against the generator would teach it to reject whatever the generator
does, good samples included. Its threshold is the 1st percentile of the real windows'
out-of-fold scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from risk_dagster.translate.plausibility.persistence import (
    from_json_state,
    to_json_state,
)
from risk_dagster.translate.plausibility.rules import (
    ASSET_CLASSES,
    BoolArray,
    asset_class_of,
    load_plausibility_rules,
)
from risk_dagster.translate.shockset import FloatArray, ShockSet


# =============================================================================== discriminator
def history_windows(
    changes: pd.DataFrame, length: int, *, min_factors: int = 20
) -> tuple[FloatArray, BoolArray, list[str]]:
    """Every window of ``length`` consecutive quarters of the history's one-quarter changes.

    A factor is kept in a window only when it is observed in all its quarters; the others are
    masked (their values set to 0 only as a placeholder; the mask says to ignore them).

    Returns
    -------
    tuple
        ``windows [n, length, factors]`` (shock units), ``mask [n, factors]`` and the windows'
        first quarters (strings).
    """
    values = changes.to_numpy(dtype=np.float64)
    quarters = [str(q) for q in changes.index]
    wins, masks, starts = [], [], []
    for t in range(0, values.shape[0] - length + 1):
        w = values[t : t + length]
        m = np.isfinite(w).all(axis=0)
        if m.sum() < min_factors:
            continue
        wins.append(np.where(m[None, :], w, 0.0))
        masks.append(m)
        starts.append(quarters[t])
    if not wins:
        return np.zeros((0, length, values.shape[1])), np.zeros((0, values.shape[1]), dtype=bool), []
    return np.stack(wins), np.stack(masks), starts


CORRUPTIONS: tuple[str, ...] = ("time_shuffle", "factor_mix", "sign_flip", "noise", "jagged", "curve_noise")
"""Kinds of implausible paths the discriminator learns to tell from history."""


def corrupt_windows(
    windows: FloatArray,
    mask: BoolArray,
    rng: np.random.Generator,
    *,
    kinds: Sequence[str] = CORRUPTIONS,
    factor_ids: Sequence[str] | None = None,
    scale: FloatArray | None = None,
) -> tuple[FloatArray, BoolArray, list[str]]:
    """Implausible paths made from real windows, one per window and kind.

    Kinds: ``time_shuffle`` (each factor's quarters permuted: serial shape lost),
    ``factor_mix`` (each factor from another window: co-movement lost), ``sign_flip`` (a third of
    the factors reversed: wrong-sign co-movements), ``noise`` (independent Gaussian increments at
    each factor's own scale), ``jagged`` (alternating-sign increments added), ``curve_noise``
    (Treasury tenors and other rates replaced by independent noise: incoherent curves).

    Parameters
    ----------
    windows, mask
        :func:`history_windows` output.
    rng
        Source of randomness.
    kinds
        Which corruptions.
    factor_ids
        Ids of the last axis (``curve_noise`` needs them to find the rates).
    scale
        ``[factors]`` typical one-quarter change per factor (``noise``); 1 by default.

    Returns
    -------
    tuple
        Corrupted windows, their masks, and the kind of each.
    """
    n, q, f = windows.shape
    sd = np.ones(f) if scale is None else np.asarray(scale, dtype=np.float64)
    rates = np.array([asset_class_of(x) == "rates" for x in factor_ids]) if factor_ids is not None else np.zeros(f, bool)
    out, masks, labels = [], [], []
    for kind in kinds:
        w = windows.copy()
        if kind == "time_shuffle":
            order = np.argsort(rng.random((n, q, f)), axis=1)
            w = np.take_along_axis(w, order, axis=1)
        elif kind == "factor_mix":
            for j in range(f):
                donors = np.flatnonzero(mask[:, j])
                if donors.size:
                    w[:, :, j] = windows[rng.choice(donors, size=n), :, j]
        elif kind == "sign_flip":
            flip = rng.random((n, f)) < 1 / 3
            w = np.where(flip[:, None, :], -w, w)
        elif kind == "noise":
            w = rng.standard_normal((n, q, f)) * sd[None, None, :] * rng.uniform(0.5, 3.0, (n, 1, 1))
        elif kind == "jagged":
            rms = np.sqrt((w**2).mean(axis=1, keepdims=True)) + 1e-12
            alt = (-1.0) ** np.arange(q)[None, :, None]
            w = w + rng.uniform(1.0, 2.0, (n, 1, 1)) * alt * rms
        elif kind == "curve_noise":
            rms = np.sqrt((w[:, :, rates] ** 2).mean(axis=(1, 2), keepdims=True)) + 1e-12
            w[:, :, rates] = rng.standard_normal((n, q, int(rates.sum()))) * rms * rng.uniform(1.0, 2.0, (n, 1, 1))
        else:
            raise ValueError(f"unknown corruption {kind!r}; expected one of {CORRUPTIONS}")
        out.append(np.where(mask[:, None, :], w, 0.0))
        masks.append(mask.copy())
        labels += [kind] * n
    return np.concatenate(out), np.concatenate(masks), labels


def roc_auc(positive: npt.ArrayLike, negative: npt.ArrayLike) -> float:
    """Area under the ROC curve: probability that a positive scores above a negative (ties 1/2)."""
    pos = np.asarray(positive, dtype=np.float64)
    neg = np.asarray(negative, dtype=np.float64)
    if not pos.size or not neg.size:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size))


@dataclass
class _Stats:
    """History statistics behind the features: per-factor scale and correlation."""

    scale: FloatArray  # [F] std of one-quarter changes
    corr: FloatArray  # [F, F] shrunk, positive definite

    @classmethod
    def fit(cls, changes: pd.DataFrame, shrinkage: float) -> _Stats:
        scale = changes.std(ddof=1).to_numpy(dtype=np.float64)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        corr = changes.corr(min_periods=20).to_numpy(dtype=np.float64)
        corr = np.where(np.isfinite(corr), corr, 0.0)
        np.fill_diagonal(corr, 1.0)
        corr = (1 - shrinkage) * corr + shrinkage * np.eye(len(corr))
        # Pairwise-complete correlations need not be PSD: clip the spectrum.
        vals, vecs = np.linalg.eigh(corr)
        corr = (vecs * np.maximum(vals, 1e-3)) @ vecs.T
        d = np.sqrt(np.diag(corr))
        return cls(scale=scale, corr=corr / np.outer(d, d))


FEATURE_NAMES: tuple[str, ...] = (
    "mahal_inc_mean",
    "mahal_inc_max",
    "mahal_cum_mean",
    "mahal_cum_last",
    "pc_share_inc",
    "pc_share_cum",
    "mahal_rates_inc",
    "mahal_rates_cum",
    *(f"autocorr_{c}" for c in ASSET_CLASSES),
    *(f"efficiency_{c}" for c in ASSET_CLASSES),
    "corr_alignment",
    "peakiness",
)
"""Scale-free shape features of a path (see :func:`_features`)."""


def _mahal_ratio(x: FloatArray, inv: FloatArray) -> FloatArray:
    """``log(x' C^-1 x / x'x)`` along the last axis: how far off history's correlation a vector is,
    whatever its size."""
    num = np.einsum("...i,ij,...j->...", x, inv, x)
    den = np.einsum("...i,...i->...", x, x)
    return np.log((num + 1e-9) / (den + 1e-9))


def _features(z: FloatArray, cls_idx: npt.NDArray[np.int64], corr: FloatArray, n_components: int) -> FloatArray:
    """Features of paths sharing one factor subset.

    Parameters
    ----------
    z
        ``[n, quarters, k]`` standardized one-quarter changes of the subset's factors.
    cls_idx
        ``[k]`` index in :data:`ASSET_CLASSES` of each factor.
    corr
        ``[k, k]`` historical correlation of the subset.
    n_components
        Principal components counted in the ``pc_share`` features.

    Returns
    -------
    numpy.ndarray
        ``[n, len(FEATURE_NAMES)]``.
    """
    n, q, k = z.shape
    inv = np.linalg.inv(corr)
    vals, vecs = np.linalg.eigh(corr)
    top = vecs[:, np.argsort(vals)[::-1][: min(n_components, k)]]
    cum = np.cumsum(z, axis=1)
    m_inc = _mahal_ratio(z, inv)
    m_cum = _mahal_ratio(cum, inv)

    def pc_share(x: FloatArray) -> FloatArray:
        return ((x @ top) ** 2).sum(-1) / ((x**2).sum(-1) + 1e-12)

    rates = cls_idx == ASSET_CLASSES.index("rates")
    if rates.sum() >= 2:
        inv_r = np.linalg.inv(corr[np.ix_(rates, rates)])
        m_r_inc = _mahal_ratio(z[:, :, rates], inv_r).mean(1)
        m_r_cum = _mahal_ratio(cum[:, :, rates], inv_r).mean(1)
    else:
        m_r_inc = m_r_cum = np.zeros(n)

    zc = z - z.mean(axis=1, keepdims=True)
    denom = (zc**2).sum(axis=1) + 1e-12
    ac = (zc[:, 1:, :] * zc[:, :-1, :]).sum(axis=1) / denom  # [n, k] lag-1 autocorrelation
    eff = np.abs(z.sum(axis=1)) / (np.abs(z).sum(axis=1) + 1e-12)  # [n, k] net / gross move
    ac_cls = np.zeros((n, len(ASSET_CLASSES)))
    eff_cls = np.zeros((n, len(ASSET_CLASSES)))
    for c in range(len(ASSET_CLASSES)):
        sel = cls_idx == c
        if sel.any():
            ac_cls[:, c] = ac[:, sel].mean(axis=1)
            eff_cls[:, c] = eff[:, sel].mean(axis=1)

    # The window's own correlation matrix vs history's (off-diagonal cosine similarity).
    zs = zc / np.sqrt(denom)[:, None, :]
    r = np.einsum("nqi,nqj->nij", zs, zs)
    off = ~np.eye(k, dtype=bool)
    hist = corr[off]
    win = r[:, off]
    align = (win @ hist) / (np.linalg.norm(win, axis=1) * np.linalg.norm(hist) + 1e-12)

    rms = np.sqrt((z**2).mean(axis=(1, 2))) + 1e-12
    peak = np.log(np.abs(z).max(axis=(1, 2)) / rms + 1e-12)
    return np.column_stack(
        [
            m_inc.mean(1),
            m_inc.max(1),
            m_cum.mean(1),
            m_cum[:, -1],
            pc_share(z).mean(1),
            pc_share(cum[:, -1, :]),
            m_r_inc,
            m_r_cum,
            ac_cls,
            eff_cls,
            align,
            peak,
        ]
    )


class _MLP(torch.nn.Module):
    def __init__(self, n_in: int, hidden: int) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(n_in, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, hidden), torch.nn.Tanh(),
            torch.nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class PathDiscriminator:
    """Probability that a ``[quarters, factors]`` path is a real history window.

    Parameters
    ----------
    quarters
        Path length it is trained for (the ShockSet's number of quarters).
    params
        The YAML's ``discriminator`` section.

    Attributes
    ----------
    threshold
        Scores below it are rejected: the ``reject_quantile`` quantile of the real windows'
        out-of-fold scores.
    metrics
        Out-of-fold AUC (real vs corrupted), per corruption kind, counts, threshold.
    """

    def __init__(self, quarters: int, params: Mapping[str, Any] | None = None) -> None:
        self.quarters = int(quarters)
        self.params = dict(params if params is not None else load_plausibility_rules()["discriminator"])
        self.factor_ids: list[str] = []
        self.threshold: float = 0.0
        self.metrics: dict[str, Any] = {}
        self._stats: _Stats | None = None
        self._model: _MLP | None = None
        self._mu: FloatArray | None = None
        self._sd: FloatArray | None = None

    # ---------------------------------------------------------------- features
    def _feature_matrix(self, windows: FloatArray, mask: BoolArray, stats: _Stats) -> FloatArray:
        """Features of raw-change windows, grouped by their factor subset."""
        cls_all = np.array([ASSET_CLASSES.index(c) if c in ASSET_CLASSES else 0 for c in map(asset_class_of, self.factor_ids)])
        z = windows / stats.scale[None, None, :]
        out = np.full((len(windows), len(FEATURE_NAMES)), np.nan)
        patterns, inverse = np.unique(mask, axis=0, return_inverse=True)
        for p, pattern in enumerate(patterns):
            rows = np.flatnonzero(inverse.ravel() == p)
            sel = np.flatnonzero(pattern)
            if sel.size < 2:
                continue
            out[rows] = _features(
                z[np.ix_(rows, np.arange(z.shape[1]), sel)], cls_all[sel], stats.corr[np.ix_(sel, sel)],
                int(self.params.get("n_components", 6)),
            )
        return out

    # ---------------------------------------------------------------- training
    def _train(self, x: FloatArray, y: FloatArray, seed: int) -> tuple[_MLP, FloatArray, FloatArray]:
        mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
        xt = torch.as_tensor((x - mu) / sd, dtype=torch.float32)
        yt = torch.as_tensor(y, dtype=torch.float32)
        # Balanced classes: real windows are outnumbered by their corruptions.
        pos_weight = torch.tensor(float((y == 0).sum()) / max(float((y == 1).sum()), 1.0))
        threads = torch.get_num_threads()
        # A tiny full-batch problem: one thread is ~30x faster than contended intra-op threads.
        torch.set_num_threads(1)
        try:
            model = self._train_loop(xt, yt, pos_weight, seed)
        finally:
            torch.set_num_threads(threads)
        model.eval()
        return model, mu, sd

    def _train_loop(self, xt: torch.Tensor, yt: torch.Tensor, pos_weight: torch.Tensor, seed: int) -> _MLP:
        with torch.random.fork_rng(devices=[]):  # seed locally, leave the caller's RNG alone
            torch.manual_seed(seed)
            model = _MLP(xt.shape[1], int(self.params.get("hidden", 32)))
            opt = torch.optim.Adam(
                model.parameters(),
                lr=float(self.params.get("learning_rate", 0.01)),
                weight_decay=float(self.params.get("weight_decay", 1e-3)),
            )
            loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
            for _ in range(int(self.params.get("epochs", 400))):  # full batch: deterministic
                opt.zero_grad()
                loss = loss_fn(model(xt), yt)
                loss.backward()
                opt.step()
        return model

    @staticmethod
    def _predict(model: _MLP, mu: FloatArray, sd: FloatArray, x: FloatArray) -> FloatArray:
        out = np.full(len(x), np.nan)
        ok = np.isfinite(x).all(axis=1)
        if ok.any():
            with torch.no_grad():
                logits = model(torch.as_tensor((x[ok] - mu) / sd, dtype=torch.float32))
            out[ok] = torch.sigmoid(logits).double().numpy()
        return out

    def _dataset(
        self, changes: pd.DataFrame, rng: np.random.Generator, stats: _Stats
    ) -> tuple[FloatArray, BoolArray, FloatArray, BoolArray, list[str], list[str], npt.NDArray[np.int64]]:
        real, mask, starts = history_windows(changes, self.quarters, min_factors=int(self.params.get("min_factors", 20)))
        reps = max(1, int(self.params.get("negatives_per_window", 6)) // len(CORRUPTIONS))
        fakes, fmask, kinds, src = [], [], [], []
        for _ in range(reps):
            f, m, k = corrupt_windows(real, mask, rng, factor_ids=self.factor_ids, scale=stats.scale)
            fakes.append(f)
            fmask.append(m)
            kinds += k
            src.append(np.tile(np.arange(len(real)), len(CORRUPTIONS)))
        return real, mask, np.concatenate(fakes), np.concatenate(fmask), starts, kinds, np.concatenate(src)

    def _deflate(self, real: FloatArray, mask: BoolArray, stats: _Stats, seed: int) -> FloatArray:
        """Real windows with a random share (0..1) of their common, top-principal-component
        movement removed: extra *real* examples.

        A translator's sample is conditional on a macro path: the common macro factor is given
        (in a baseline, nearly flat), so its co-movement is weaker than in an unconditional
        history window. Without these examples the discriminator would reject every calm
        conditional sample for lacking a crisis' common factor -- severity again, not shape.
        """
        k = int(self.params.get("deflate_components", 3))
        if k <= 0:
            return real[:0]
        rng = np.random.default_rng(seed)
        vals, vecs = np.linalg.eigh(stats.corr)
        top = vecs[:, np.argsort(vals)[::-1][:k]]
        z = real / stats.scale[None, None, :]
        common = (z @ top) @ top.T
        z = z - rng.uniform(0.0, 1.0, (len(real), 1, 1)) * common
        return np.where(mask[:, None, :], z * stats.scale[None, None, :], 0.0)

    def fit(self, changes: pd.DataFrame, *, seed: int = 0) -> Self:
        """Train on the history's one-quarter changes (quarter x factor id, shock units, NaN = missing).

        Out-of-fold scores come from ``folds`` blocked time folds; training windows overlapping
        the test block are purged, and the feature statistics (scales, correlation) and the
        network are refitted per fold. The final model uses every window.
        """
        self.factor_ids = [str(c) for c in changes.columns]
        shrink = float(self.params.get("shrinkage", 0.2))
        rng = np.random.default_rng(seed)
        stats = _Stats.fit(changes, shrink)
        real, mask, fake, fmask, starts, kinds, src = self._dataset(changes, rng, stats)
        n = len(real)
        if n < 10:
            raise ValueError(f"PathDiscriminator: only {n} history windows of {self.quarters} quarters")
        qidx = {str(q): i for i, q in enumerate(changes.index)}
        start_i = np.array([qidx[s] for s in starts])

        # Out-of-fold scores for calibration and honest AUC.
        n_folds = int(self.params.get("folds", 5))
        oof_real = np.full(n, np.nan)
        oof_fake = np.full(len(fake), np.nan)
        blocks = np.array_split(np.arange(n), n_folds)
        for k, test in enumerate(blocks):
            lo, hi = start_i[test].min(), start_i[test].max() + self.quarters - 1
            # Purge: a training window may not share a quarter with the test block.
            train = np.flatnonzero((start_i + self.quarters - 1 < lo) | (start_i > hi))
            if len(train) < 10:
                continue
            quarters_train = sorted({int(t) + j for t in start_i[train] for j in range(self.quarters)})
            fold_stats = _Stats.fit(changes.iloc[quarters_train], shrink)
            tr_fake = np.isin(src, train)
            te_fake = np.isin(src, test)
            deflated = self._deflate(real[train], mask[train], fold_stats, seed + 100 + k)
            x_tr = np.vstack(
                [self._feature_matrix(real[train], mask[train], fold_stats),
                 self._feature_matrix(deflated, mask[train][: len(deflated)], fold_stats),
                 self._feature_matrix(fake[tr_fake], fmask[tr_fake], fold_stats)]
            )
            y_tr = np.concatenate([np.ones(len(train) + len(deflated)), np.zeros(int(tr_fake.sum()))])
            ok = np.isfinite(x_tr).all(axis=1)
            model, mu, sd = self._train(x_tr[ok], y_tr[ok], seed + 1 + k)
            oof_real[test] = self._predict(model, mu, sd, self._feature_matrix(real[test], mask[test], fold_stats))
            oof_fake[te_fake] = self._predict(model, mu, sd, self._feature_matrix(fake[te_fake], fmask[te_fake], fold_stats))

        deflated = self._deflate(real, mask, stats, seed + 100)
        x = np.vstack(
            [self._feature_matrix(real, mask, stats), self._feature_matrix(deflated, mask[: len(deflated)], stats),
             self._feature_matrix(fake, fmask, stats)]
        )
        y = np.concatenate([np.ones(n + len(deflated)), np.zeros(len(fake))])
        ok = np.isfinite(x).all(axis=1)
        self._model, self._mu, self._sd = self._train(x[ok], y[ok], seed)
        self._stats = stats

        q = float(self.params.get("reject_quantile", 0.01))
        finite_real = oof_real[np.isfinite(oof_real)]
        if finite_real.size == 0:  # too little history for folds: fall back to in-sample scores
            finite_real = self._predict(self._model, self._mu, self._sd, x[:n][ok[:n]])
        self.threshold = float(np.quantile(finite_real, q))
        kinds_arr = np.array(kinds)
        fin_fake = np.isfinite(oof_fake)
        self.metrics = {
            "quarters": self.quarters,
            "n_real_windows": int(n),
            "n_corrupted": int(len(fake)),
            "first_window": starts[0],
            "last_window": starts[-1],
            "threshold": self.threshold,
            "reject_quantile": q,
            "oof_auc": roc_auc(finite_real, oof_fake[fin_fake]),
            "oof_auc_by_kind": {
                kd: roc_auc(finite_real, oof_fake[fin_fake & (kinds_arr == kd)]) for kd in CORRUPTIONS
            },
            "oof_real_score_quantiles": {
                str(p): float(np.quantile(finite_real, p)) for p in (0.01, 0.05, 0.5)
            },
            "seed": int(seed),
        }
        return self

    # ---------------------------------------------------------------- persistence
    def to_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """Exact state for saving (see :meth:`PlausibilityFilter.save`).

        Returns
        -------
        tuple
            ``(doc, tensors)``: ``doc`` (JSON-able) holds ``quarters``, ``params``,
            ``factor_ids``, ``threshold`` and ``metrics``; ``tensors`` holds the MLP's state
            dict (``mlp.<name>``, float32), the feature scalers ``mu``/``sd`` and the history
            statistics ``stats.scale``/``stats.corr`` (float64, bit-for-bit).

        Raises
        ------
        RuntimeError
            When the discriminator is not fitted.
        """
        if self._model is None or self._stats is None or self._mu is None or self._sd is None:
            raise RuntimeError("PathDiscriminator: fit first")
        doc = {
            "quarters": self.quarters,
            "params": self.params,
            "factor_ids": list(self.factor_ids),
            "threshold": self.threshold,
            "metrics": self.metrics,
        }
        tensors = {f"mlp.{k}": v.detach().contiguous().clone() for k, v in self._model.state_dict().items()}
        for name, arr in (("mu", self._mu), ("sd", self._sd), ("stats.scale", self._stats.scale),
                          ("stats.corr", self._stats.corr)):
            tensors[name] = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64).copy())
        return to_json_state(doc), tensors

    @classmethod
    def from_state(cls, doc: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]) -> PathDiscriminator:
        """Rebuild a fitted discriminator from :meth:`to_state` output (no training).

        Raises
        ------
        KeyError
            When a tensor or field is missing.
        ValueError
            When the shapes disagree with each other or with the factor ids.
        """
        d = from_json_state(doc)
        disc = cls(int(d["quarters"]), d["params"])
        disc.factor_ids = [str(f) for f in d["factor_ids"]]
        disc.threshold = float(d["threshold"])
        disc.metrics = dict(d["metrics"])
        first = tensors["mlp.net.0.weight"]
        model = _MLP(int(first.shape[1]), int(first.shape[0]))
        model.load_state_dict({k[len("mlp."):]: v for k, v in tensors.items() if k.startswith("mlp.")}, strict=True)
        model.eval()
        mu, sd = tensors["mu"].numpy(), tensors["sd"].numpy()
        scale, corr = tensors["stats.scale"].numpy(), tensors["stats.corr"].numpy()
        n_f, n_in = len(disc.factor_ids), len(FEATURE_NAMES)
        if first.shape[1] != n_in or mu.shape != (n_in,) or sd.shape != (n_in,):
            raise ValueError(f"discriminator for {disc.quarters} quarters: {len(mu)} feature scalers, "
                             f"{first.shape[1]} MLP inputs, expected {n_in}")
        if scale.shape != (n_f,) or corr.shape != (n_f, n_f):
            raise ValueError(f"discriminator for {disc.quarters} quarters: statistics of shape {scale.shape}/"
                             f"{corr.shape} for {n_f} factors")
        disc._model, disc._mu, disc._sd = model, mu, sd
        disc._stats = _Stats(scale=scale, corr=corr)
        return disc

    # ---------------------------------------------------------------- scoring
    def score_windows(self, windows: FloatArray, mask: BoolArray | None = None) -> FloatArray:
        """``[n]`` probability-of-real of raw one-quarter-change paths ``[n, quarters, factors]``
        on this discriminator's factors (``mask`` marks the observed ones)."""
        if self._model is None or self._stats is None or self._mu is None or self._sd is None:
            raise RuntimeError("PathDiscriminator: fit first")
        if len(windows) == 0:
            return np.zeros(0)
        if windows.shape[1] != self.quarters:
            raise ValueError(f"PathDiscriminator: trained on {self.quarters} quarters, got {windows.shape[1]}")
        m = np.isfinite(windows).all(axis=1) if mask is None else (mask & np.isfinite(windows).all(axis=1))
        x = self._feature_matrix(np.where(m[:, None, :], windows, 0.0), m, self._stats)
        return self._predict(self._model, self._mu, self._sd, x)

    def score(self, shockset: ShockSet, *, exclude: Sequence[str] = ()) -> FloatArray:
        """``[samples]`` probability-of-real of each sample's path.

        Factors the discriminator does not know are ignored; those it knows but the ShockSet
        lacks, or listed in ``exclude``, are masked (as missing history is in training).
        """
        skip = set(exclude)
        pos = {f: i for i, f in enumerate(shockset.factor_ids) if f not in skip}
        n, q = shockset.shocks.shape[:2]
        inc = np.diff(np.concatenate([np.zeros((n, 1, shockset.shocks.shape[2])), shockset.shocks], axis=1), axis=1)
        windows = np.zeros((n, q, len(self.factor_ids)))
        mask = np.zeros((n, len(self.factor_ids)), dtype=bool)
        for j, f in enumerate(self.factor_ids):
            if f in pos:
                windows[:, :, j] = inc[:, :, pos[f]]
                mask[:, j] = True
        return self.score_windows(windows, mask)
