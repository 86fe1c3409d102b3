"""The contract shared by every translator (satellite, transformer), by public name.

Each idea lives in a module of its own; this module keeps the names importable from one place:
:mod:`~risk_dagster.translate.training` (training data, :class:`TrainingSet`),
:mod:`~risk_dagster.translate.protocol` (the :class:`Translator` protocol),
:mod:`~risk_dagster.translate.consistency` (the supervisor's fixed paths and
:func:`apply_consistency`), :mod:`~risk_dagster.translate.coherence` (the
:class:`CoherenceModel` of open factors over the horizon) and
:mod:`~risk_dagster.translate.assembly` (:func:`assemble_shockset`, shared by every
``sample()``).
"""

from risk_dagster.translate.assembly import assemble_shockset, to_shockset
from risk_dagster.translate.coherence import COHERENCE_FORMAT, CoherenceModel
from risk_dagster.translate.consistency import (
    ANCHORED_FACTORS,
    SECTOR_FACTORS,
    TENOR_YEARS,
    apply_consistency,
    fixed_factor_paths,
    jump_off_frame,
    jump_off_levels,
    sector_aggregate,
    sector_weights,
)
from risk_dagster.translate.protocol import Translator
from risk_dagster.translate.training import TrainingSet, build_training_set

__all__ = [
    "ANCHORED_FACTORS",
    "COHERENCE_FORMAT",
    "CoherenceModel",
    "SECTOR_FACTORS",
    "TENOR_YEARS",
    "TrainingSet",
    "Translator",
    "apply_consistency",
    "assemble_shockset",
    "build_training_set",
    "fixed_factor_paths",
    "jump_off_frame",
    "jump_off_levels",
    "sector_aggregate",
    "sector_weights",
    "to_shockset",
]
