"""Render a pack: ``pack.html`` (self-contained), ``pack.json``, the CSV attachments and ``pack.pdf``.

Templates are ``regulatory_templates/pack/`` (a base layout, one template per section, a print
stylesheet), rendered by Jinja2 with autoescaping on and undefined names as errors: a scenario,
file or position name is text wherever it appears, whatever it contains. The stylesheet and the
SVG charts are inlined, so the HTML opens anywhere and the PDF renderer fetches nothing
(:mod:`risk_dagster.report.pdf` refuses anything outside the templates folder in any case).

Numbers are printed exactly as ``pack.json`` holds them (:func:`number_text`): the pack rounds
them once, when it builds its data, so a reader finds every number of the PDF in the JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from risk_dagster.paths import templates_dir
from risk_dagster.report.changes import compare_packs, load_previous
from risk_dagster.report.pack_data import Pack
from risk_dagster.report.pdf import PdfResult, write_pdf
from risk_dagster.storage import write_csv, write_json, write_text

PACK_FILES = ("pack.pdf", "pack.html", "pack.json")


@dataclass(frozen=True)
class RenderedPack:
    """Where a rendered pack's files are and what the PDF holds."""

    folder: Path
    pdf: Path
    html: Path
    json: Path
    pages: int
    attachments: tuple[Path, ...]
    refused_urls: tuple[str, ...]


def number_text(value: Any) -> str:
    """How a value prints: numbers as in the JSON (no exponent for ordinary sizes), None as a dash."""
    if value is None:
        return "\u2013"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "\u2013"
        text = repr(value)
        if "e" in text and 1e-4 <= abs(value) < 1e16:
            text = f"{value:f}".rstrip("0").rstrip(".")
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, (list, tuple)):
        return ", ".join(number_text(v) for v in value)
    return str(value)


def environment() -> jinja2.Environment:
    """The pack's Jinja2 environment: autoescaped, strict about undefined names."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["n"] = number_text
    return env


def render_html(pack: Pack) -> str:
    """The pack as one self-contained HTML document."""
    env = environment()
    css = (templates_dir() / "pack" / "pack.css").read_text(encoding="utf-8")
    sections = []
    number = 0
    for s in pack.sections:
        if s.in_toc:
            number += 1
        sections.append({"id": s.id, "title": s.title, "template": s.template, "in_toc": s.in_toc, "number": number})
    template = env.get_template("pack/base.html.j2")
    return template.render(pack=pack.data, charts=pack.charts, sections=sections, css=css)


def render_pack(pack: Pack, folder: str | Path, *, pdf: bool = True, timeout: float = 600.0) -> RenderedPack:
    """Write the pack's files into ``folder`` (the previous pack there is compared, then replaced).

    Each file is written atomically; if the PDF fails, :class:`~risk_dagster.report.pdf.PdfRenderError`
    is raised and the previous ``pack.pdf`` stays.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    previous = load_previous(out / "pack.json")
    pack.data["changes"] = compare_packs(previous, pack.data)
    attachments = []
    for name, frame in sorted(pack.attachments.items()):
        attachments.append(write_csv(out / "attachments" / f"{name}.csv", frame))
    pack.data["attachments"] = [f"attachments/{p.name}" for p in attachments]
    html = write_text(out / "pack.html", render_html(pack))
    result = PdfResult(pdf=out / "pack.pdf", pages=0, refused=())
    if pdf:
        result = write_pdf(html, out / "pack.pdf", timeout=timeout)
    pack.data["pages"] = result.pages
    json_path = write_json(out / "pack.json", pack.data)
    return RenderedPack(folder=out, pdf=result.pdf, html=html, json=json_path, pages=result.pages,
                        attachments=tuple(attachments), refused_urls=result.refused)  # fmt: skip


__all__ = ["PACK_FILES", "RenderedPack", "environment", "number_text", "render_html", "render_pack"]
