"""The portrait as a PDF (WeasyPrint), the document a bank officer files.

WeasyPrint needs the system Pango library; `pdf_engine()` says whether it can be used
(the view answers 503 with a bilingual page when it cannot). Fonts: the page asks for
"Noto Sans CJK SC" (Debian `fonts-noto-cjk`), which WeasyPrint embeds as a subset.
"""

from __future__ import annotations

from typing import Any


def pdf_engine() -> tuple[Any | None, str]:
    """The `weasyprint` module, or None and the reason it cannot be loaded."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango (libpango-1.0-0) is missing
        return None, str(exc)
    return weasyprint, ""


def render_pdf(html: str, base_url: str | None = None) -> bytes:
    """A PDF of an HTML document; raises RuntimeError when WeasyPrint cannot be used."""
    weasyprint, problem = pdf_engine()
    if weasyprint is None:
        raise RuntimeError(problem)
    return weasyprint.HTML(string=html, base_url=base_url).write_pdf()
