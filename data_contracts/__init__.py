"""Data contracts (Open Data Contract Standard YAML) and catalogs; installed as ``risk_dagster.data_contracts``."""
