"""The plausibility filter: hard rules plus a learned discriminator on generated ShockSets.

Every translator (satellite, transformer) can draw paths no market would produce: a negative
Baa spread, a VIX at zero, a 30y yield 5 points above the 10y, a 10-sigma equity quarter, a
zig-zag path. :class:`PlausibilityFilter` rejects them and reports how many, by what.

Hard rules (parameters in ``data_contracts/catalogs/plausibility_rules.yaml``; statistical
limits derived from the :class:`~risk_dagster.market.history.FactorHistory` in
:meth:`PlausibilityFilter.fit`):

* ``finite``: no NaN / inf shock;
* level floors: ``credit_spread_floor`` (spreads >= 0, lowered to history's minimum minus a
  tolerance where history itself went below: Aaa-10y touched -0.01), ``rate_floor`` (rates and
  yields >= -1 %), ``vol_floor`` (vols > 5 points), ``index_floor`` (EPU >= 0);
* ``price_positive``: prices, indices and FX (``log_return`` factors) finite and > 0;
* ``curve_coherence``: adjacent and key Treasury tenor spreads within the historical range
  widened by a margin;
* ``move_multiple``: every h-quarter move within the path at most a multiple of the factor's
  largest historical h-quarter move.

Each is vectorised over samples: :func:`hard_rule_violations` returns ``rule -> bool[samples]``.

Discriminator (:class:`PathDiscriminator`): a small torch MLP giving the probability that a
path is a real history window rather than an implausible shape. It sees only *scale-free*
features (multiplying a whole path by a constant leaves them unchanged), so it judges shape --
curve coherence, co-movement signs, smoothness -- never severity: a severely adverse scenario is
by design more severe than most of history and must not be rejected for it. Its negatives are
corrupted copies of real windows (time-shuffled, factor-mixed, sign-flipped, independent
noise, jagged, incoherent curves), not the translators' own samples: training against the
generator would teach it to reject whatever the generator does, good samples included. Its
threshold is the 1st percentile of the real windows' out-of-fold scores.

The filter is split by concept: :mod:`.rules` (hard rules), :mod:`.discriminator` (the learned
shape test), :mod:`.filter` (the filter and its report) and :mod:`.persistence` (storage
format); this package keeps every public name importable from here.
"""

from risk_dagster.translate.plausibility.discriminator import (
    CORRUPTIONS,
    FEATURE_NAMES,
    PathDiscriminator,
    corrupt_windows,
    history_windows,
    roc_auc,
)
from risk_dagster.translate.plausibility.filter import (
    PlausibilityFilter,
    PlausibilityReport,
)
from risk_dagster.translate.plausibility.persistence import (
    FILTER_ARRAYS_FILE,
    FILTER_FILE,
    discriminator_file,
)
from risk_dagster.translate.plausibility.rules import (
    ASSET_CLASSES,
    HARD_RULES,
    BoolArray,
    HardRules,
    PlausibilityError,
    derive_hard_rules,
    hard_rule_counts,
    hard_rule_violations,
    load_plausibility_rules,
    scale_of,
    severity_scale,
    unchecked_level_rules,
)

__all__ = [
    "ASSET_CLASSES",
    "BoolArray",
    "CORRUPTIONS",
    "FEATURE_NAMES",
    "FILTER_ARRAYS_FILE",
    "FILTER_FILE",
    "HARD_RULES",
    "HardRules",
    "PathDiscriminator",
    "PlausibilityError",
    "PlausibilityFilter",
    "PlausibilityReport",
    "corrupt_windows",
    "derive_hard_rules",
    "discriminator_file",
    "hard_rule_counts",
    "hard_rule_violations",
    "history_windows",
    "load_plausibility_rules",
    "roc_auc",
    "scale_of",
    "severity_scale",
    "unchecked_level_rules",
]
