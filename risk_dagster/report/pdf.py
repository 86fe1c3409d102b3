"""HTML to PDF with WeasyPrint, in its own process, fetching nothing outside the templates folder.

The pack's HTML is self-contained (styles and SVG charts inline), so a well-formed pack fetches
nothing at all. The fetcher is the guard for everything else: a URL that a scenario, file or
position name smuggled into the page is refused -- no network, no ``file:`` outside the templates
folder, no ``data:`` -- and the refusal is listed in the result so a test or a reader can see it.
WeasyPrint runs in a subprocess (``python -m risk_dagster.report.pdf``) so that a crash or a hang
in the layout engine cannot take the Dagster step with it, and its time is bounded.

Run as a module::

    python -m risk_dagster.report.pdf PACK.html PACK.pdf --allow DIR

prints one JSON line: ``{"pages": n, "refused": [urls...]}``.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from risk_dagster.paths import templates_dir


@dataclass(frozen=True)
class PdfResult:
    """What the renderer reports: the PDF's path, its page count and every URL it refused."""

    pdf: Path
    pages: int
    refused: tuple[str, ...]


class PdfRenderError(RuntimeError):
    """WeasyPrint failed or timed out; the message carries its last lines of output."""


def _fetcher(allowed: Path, refused: list[str]):
    """A WeasyPrint URL fetcher that serves ``file:`` URLs under ``allowed`` and refuses the rest."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    root = allowed.resolve()

    class TemplatesOnlyFetcher(URLFetcher):
        def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:  # noqa: ARG002
            parts = urlsplit(url)
            if parts.scheme == "file" and parts.netloc in ("", "localhost"):
                path = Path(unquote(parts.path)).resolve()
                if path.is_file() and path.is_relative_to(root):
                    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": kind})
            refused.append(url)
            raise ValueError(f"refused: {url} (only files under {root} are fetched)")

    return TemplatesOnlyFetcher()


def write_pdf_here(html_path: Path, pdf_path: Path, allowed: Path) -> PdfResult:
    """Render in this process (what the subprocess runs): the HTML file to ``pdf_path``."""
    import weasyprint

    refused: list[str] = []
    html = weasyprint.HTML(
        filename=str(html_path), base_url=str(allowed.resolve()) + os.sep, url_fetcher=_fetcher(allowed, refused)
    )
    document = html.render()
    tmp = pdf_path.with_name(pdf_path.name + ".tmp")
    document.write_pdf(str(tmp))
    tmp.replace(pdf_path)  # atomic: a failed render leaves the previous PDF
    return PdfResult(pdf=pdf_path, pages=len(document.pages), refused=tuple(refused))


def write_pdf(html_path: str | Path, pdf_path: str | Path, *, allowed: str | Path | None = None,
              timeout: float = 600.0) -> PdfResult:
    """Render ``html_path`` to ``pdf_path`` with WeasyPrint in a subprocess.

    Parameters
    ----------
    allowed
        The only folder files may be fetched from (default: the templates folder).
    timeout
        Seconds before the renderer is stopped (:class:`PdfRenderError`).
    """
    allowed = Path(allowed) if allowed is not None else templates_dir()
    cmd = [sys.executable, "-m", "risk_dagster.report.pdf", str(html_path), str(pdf_path), "--allow", str(allowed)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise PdfRenderError(f"WeasyPrint did not finish {html_path} within {timeout:.0f} s") from error
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-12:])
        exited = subprocess.CalledProcessError(done.returncode, cmd, done.stdout, done.stderr)  # killed: transient
        raise PdfRenderError(f"WeasyPrint failed on {html_path} (exit {done.returncode}):\n{tail}") from exited
    out = json.loads(lines[-1])
    return PdfResult(pdf=Path(pdf_path), pages=int(out["pages"]), refused=tuple(out["refused"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render a pack's HTML to PDF (WeasyPrint, templates-only fetcher).")
    parser.add_argument("html", type=Path)
    parser.add_argument("pdf", type=Path)
    parser.add_argument("--allow", type=Path, default=None, help="the only folder files may be fetched from")
    args = parser.parse_args(argv)
    result = write_pdf_here(args.html, args.pdf, args.allow or templates_dir())
    print(json.dumps({"pages": result.pages, "refused": list(result.refused)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["PdfRenderError", "PdfResult", "write_pdf", "write_pdf_here"]
