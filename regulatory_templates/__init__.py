"""Jinja2 templates and print CSS of the documentation pack; installed as ``risk_dagster.regulatory_templates``."""
