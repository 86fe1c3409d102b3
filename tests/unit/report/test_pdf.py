"""The PDF renderer fetches nothing outside the templates folder: a hostile name is text, no connection is made."""

from __future__ import annotations

import shutil
import subprocess


from risk_dagster.report.pdf import write_pdf
from risk_dagster.report.render import environment


def test_hostile_markup_is_text_and_nothing_is_fetched(tmp_path, listener) -> None:
    port, seen = listener
    name = f'<img src="http://127.0.0.1:{port}/name.png"><script>alert(1)</script>'
    escaped = environment().from_string("<p>Scenario {{ name }}</p>").render(name=name)
    # and what a template could never write, a raw reference out of the folder and to the network
    raw = (f'<link rel="stylesheet" href="http://127.0.0.1:{port}/x.css"><img src="http://127.0.0.1:{port}/y.png">'
           f'<img src="file:///etc/hostname">')  # fmt: skip
    html = tmp_path / "pack.html"
    html.write_text(f"<!DOCTYPE html><html><body>{escaped}{raw}</body></html>", encoding="utf-8")
    result = write_pdf(html, tmp_path / "pack.pdf", allowed=tmp_path / "templates", timeout=120)
    assert result.pages == 1
    assert not seen, "the renderer connected to the network"
    assert any(u.startswith(f"http://127.0.0.1:{port}/x.css") for u in result.refused)
    assert any(u.startswith("file:///etc/hostname") for u in result.refused)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(result.pdf), "-"], capture_output=True, text=True, check=True).stdout
        flat = "".join(text.split())  # the line may wrap anywhere
        assert "".join(name.split()) in flat
