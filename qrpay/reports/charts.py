"""Charts with matplotlib: collections per day by channel, share by channel, the digital
share against the target (a gauge), arrears by area.  PNG and PDF from the CLI, SVG for
the web pages (:func:`to_svg`).

Hindi and Bengali labels are shaped: matplotlib 3.11 lays text out with libraqm, which
shapes with HarfBuzz (conjuncts, reordered vowel signs, marks), in the Noto fonts the
bills use (:mod:`qrpay.ebill.fonts`), Latin, Devanagari and Bengali as one fallback
list.  :func:`check_shaping` refuses a matplotlib built without libraqm, which would
draw Indic text one code point at a time.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any

from qrpay.digits import localise
from qrpay.errors import RenderError
from qrpay.money import group_indian
from qrpay.reports.accounts import Group
from qrpay.reports.collections import CollectionReport
from qrpay.reports.labels import area_label, numerals_for, word

PALETTE = ("#1f5fa8", "#e07b00", "#2e9b4f", "#b8323c", "#7a4fb0", "#8c6d3f", "#d1499b",
           "#5b6770")
FAMILIES = ("Noto Sans", "Noto Sans Devanagari", "Noto Sans Bengali")


def check_shaping() -> None:
    from matplotlib import ft2font

    if not getattr(ft2font, "__libraqm_version__", None):
        raise RenderError("this matplotlib has no libraqm: Hindi and Bengali labels would "
                          "not be shaped (install matplotlib >= 3.11 wheels)",
                          code="no_text_shaping")


@cache
def _setup() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    from qrpay.ebill.fonts import font_path

    check_shaping()
    for role in ("latin", "latin-bold", "deva", "deva-bold", "beng", "beng-bold"):
        font_manager.fontManager.addfont(str(font_path(role)))
    plt.rcParams.update({"font.family": list(FAMILIES), "svg.fonttype": "path",
                         "pdf.fonttype": 42, "axes.spines.top": False,
                         "axes.spines.right": False, "figure.dpi": 100})
    return plt


def _money_axis(ax: Any, lang: str) -> None:
    from matplotlib.ticker import FuncFormatter

    numerals = numerals_for(lang)
    ax.yaxis.set_major_formatter(FuncFormatter(
        lambda v, _pos: localise(group_indian(int(v)), numerals)))


def channel_names(config: Any, lang: str) -> dict[str, str]:
    """Channel -> the name a chart shows (the profile's display name)."""
    names = {n: c.display_name or n for n, c in config.channels.items()}
    names["counter"] = word(lang, "counter")
    return names


def collections_chart(report: CollectionReport, kind: str, lang: str,
                      names: dict[str, str] | None = None) -> Any:
    """A matplotlib Figure: ``per_day``, ``share`` or ``digital_vs_target``."""
    plt = _setup()
    if kind == "share":
        return _share(plt, report, lang, names or {})
    if kind == "digital_vs_target":
        return _gauge(plt, report, lang)
    return _per_day(plt, report, lang, names or {})


def _per_day(plt: Any, report: CollectionReport, lang: str, names: dict[str, str]) -> Any:
    import datetime as dt

    from qrpay.reports.collections import month_days

    first, last = month_days(report.period)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    channels = [ln.key for ln in report.by_channel]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    bottom = [0.0] * len(days)
    index = {d: i for i, d in enumerate(days)}
    for n, ch in enumerate(channels):
        heights = [0.0] * len(days)
        for day, channel, fig_ in report.daily:
            if channel == ch and day in index:
                heights[index[day]] += fig_.amount / 100
        ax.bar([d.day for d in days], heights, bottom=bottom, color=PALETTE[n % len(PALETTE)],
               label=names.get(ch, ch), width=0.8)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    numerals = numerals_for(lang)
    ticks = [d.day for d in days if d.day == 1 or d.day % 5 == 0]
    ax.set_xticks(ticks, [localise(str(t), numerals) for t in ticks])
    ax.set_xlim(0.3, len(days) + 0.7)
    _money_axis(ax, lang)
    ax.set_title(f"{word(lang, 'per_day')} · {localise(report.period, numerals)}")
    ax.set_xlabel(word(lang, "day"))
    ax.set_ylabel(f"{word(lang, 'amount')} ({_symbol(report.currency)})")
    if channels:
        ax.legend(frameon=False, fontsize=9, ncols=min(len(channels), 4), loc="upper center",
                  bbox_to_anchor=(0.5, -0.16))
    fig.tight_layout()
    return fig


def _share(plt: Any, report: CollectionReport, lang: str, names: dict[str, str]) -> Any:
    from qrpay.reports.collections import percent

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    lines = [ln for ln in report.by_channel if ln.figure.amount > 0]
    total = sum(ln.figure.amount for ln in lines)
    numerals = numerals_for(lang)
    labels = [f"{names.get(ln.key, ln.key)} "
              f"{localise(str(percent(ln.figure.amount, total)), numerals)}%" for ln in lines]
    if lines:
        ax.pie([ln.figure.amount for ln in lines], labels=labels, startangle=90,
               counterclock=False, colors=PALETTE[:len(lines)],
               wedgeprops={"width": 0.42, "edgecolor": "white"})
    else:
        ax.text(0.5, 0.5, word(lang, "none"), ha="center", va="center")
    ax.set_title(f"{word(lang, 'share')} · {localise(report.period, numerals)}")
    ax.axis("equal")
    fig.tight_layout()
    return fig


def _gauge(plt: Any, report: CollectionReport, lang: str) -> Any:
    from matplotlib.patches import Wedge

    numerals = numerals_for(lang)
    share = float(report.digital_percent or 0)
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    ax.add_patch(Wedge((0, 0), 1, 0, 180, width=0.3, color="#e3e6ea"))
    ax.add_patch(Wedge((0, 0), 1, 180 - 1.8 * share, 180, width=0.3, color=PALETTE[2]))
    if report.target_percent is not None:
        import math

        angle = math.radians(180 - 1.8 * float(report.target_percent))
        ax.plot([0.62 * math.cos(angle), 1.06 * math.cos(angle)],
                [0.62 * math.sin(angle), 1.06 * math.sin(angle)], color=PALETTE[3], lw=2.5)
        ax.text(1.12 * math.cos(angle), 1.12 * math.sin(angle),
                f"{word(lang, 'target')} {localise(str(report.target_percent), numerals)}%",
                ha="center", va="bottom", fontsize=10, color=PALETTE[3])
    value = "-" if report.digital_percent is None else f"{report.digital_percent}%"
    ax.text(0, 0.12, localise(value, numerals), ha="center", va="center", fontsize=24,
            fontweight="bold")
    ax.set_xlim(-1.25, 1.25)
    ax.set_ylim(-0.15, 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"{word(lang, 'digital_vs_target')} · {localise(report.period, numerals)}")
    fig.tight_layout()
    return fig


def arrears_chart(groups: list[Group], lang: str, currency: str) -> Any:
    plt = _setup()
    by_area: dict[str, int] = {}
    for g in groups:
        by_area[g.keys[0]] = by_area.get(g.keys[0], 0) + g.amount
    areas = sorted(by_area, key=lambda a: by_area[a])
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.barh([area_label(a, lang) for a in areas], [by_area[a] / 100 for a in areas],
            color=PALETTE[3])
    from matplotlib.ticker import FuncFormatter

    numerals = numerals_for(lang)
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda v, _pos: localise(group_indian(int(v)), numerals)))
    ax.set_title(word(lang, "arrears_by_area"))
    ax.set_xlabel(f"{word(lang, 'amount')} ({_symbol(currency)})")
    fig.tight_layout()
    return fig


def _symbol(currency: str) -> str:
    return {"INR": "₹", "BDT": "৳"}.get(currency, currency)


def save(fig: Any, path: Path) -> None:
    """Write ``fig`` as PNG (150 dpi), SVG or PDF by the file's suffix."""
    plt = _setup()
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("png", "svg", "pdf"):
        raise RenderError(f"charts are .png, .svg or .pdf, not {path.suffix!r}",
                          code="bad_format")
    fig.savefig(path, format=kind, dpi=150 if kind == "png" else None)
    plt.close(fig)


def to_svg(fig: Any) -> str:
    """The chart as an inline SVG document (glyphs as paths: no fonts needed)."""
    plt = _setup()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def to_png(fig: Any, dpi: int = 150) -> bytes:
    plt = _setup()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()
