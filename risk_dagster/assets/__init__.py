"""Thin Dagster wrappers around the domain modules, one module per asset group."""
