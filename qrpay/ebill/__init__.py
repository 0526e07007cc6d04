"""E-bills: bilingual PDF bills with the payment QR, and the billing-cycle batch.

* :func:`render_bill` - one bill as a one-page PDF (A4, or A5).
* :func:`render_book` - a print book: cover sheet, then the bills in book/page order.
* :mod:`qrpay.ebill.batch` - ``qrpay render --period``: parallel, resumable, verified.

Modules: ``fonts`` (font files), ``sfnt`` (subsetting), ``shaping`` (HarfBuzz),
``pdf`` (the writer), ``view`` (what a page shows), ``layout`` (block functions),
``render`` (pages to PDF), ``verify`` (QR read-back), ``batch`` (the cycle).
"""

from qrpay.ebill.render import Rendered, png_preview, render_bill, render_book

__all__ = ["Rendered", "png_preview", "render_bill", "render_book"]
