"""Scenario reader tests (a package, so basenames like test_catalog.py may repeat across folders)."""
