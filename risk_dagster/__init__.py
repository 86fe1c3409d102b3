"""risk_dagster: regulatory stress testing as Dagster assets.

Supervisory macro scenarios (Fed CCAR/DFAST, EBA, NGFS) are ingested, gated by data
contracts, translated into granular risk-factor shocks, revalued and projected into
capital. See ``DESIGN.md`` in the shared folder for the map.
"""

__version__ = "0.1.0"

import os as _os

# Offline by design: models are built from configs in code and loaded from local folders only.
_os.environ.setdefault("HF_HUB_OFFLINE", "1")
_os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
