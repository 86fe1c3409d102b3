"""The pack's charts: SVG that is reproducible and cannot carry markup from a label."""

from __future__ import annotations

import re

import numpy as np
import pytest

from risk_dagster.report import charts

HOSTILE = '--> <script>alert(1)</script><img src="http://127.0.0.1:9/x">'


def test_svg_is_deterministic_and_inert() -> None:
    values = {HOSTILE: {"AI": 1.0, "traditional": 2.0}, "loans": {"AI": 3.0}}
    first = charts.bar_chart(values, ylabel="USD bn", title=HOSTILE)
    assert first == charts.bar_chart(values, ylabel="USD bn", title=HOSTILE)
    element = charts.svg_element(first)
    assert element.startswith("<svg") and element.rstrip().endswith("</svg>")
    # labels are outlines; matplotlib keeps the text only as an escaped comment
    assert "<script" not in element and "<img" not in element
    for comment in re.findall(r"<!--(.*?)-->", element, flags=re.S):
        assert "--" not in comment and "<" not in comment


def test_macro_paths_skip_absent_variables() -> None:
    quarters = [f"2026Q{q}" for q in range(1, 5)]
    paths = {"baseline": {"unemployment": [4.0, 4.1, 4.2, 4.3]},
             "severely adverse": {"unemployment": [4.0, 6.0, 8.0, 10.0], "vix": [20, 60, 40, 30]}}
    panels = [("unemployment", "Unemployment rate", "percent"), ("vix", "VIX", "index"), ("absent", "n/a", "")]
    svg = charts.macro_paths_chart(paths, quarters, panels).decode()
    assert svg.count('id="axes_') == 2  # the panel nobody has is not drawn


def test_png_stays_the_default() -> None:
    png = charts.loss_histogram_png({"AI": np.linspace(1e9, 5e9, 50)})
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="SVG"):
        charts.svg_element(png)
