"""Text to positioned glyphs with HarfBuzz (uharfbuzz).

A string is cut into runs by script (Devanagari, Bengali, everything else in Latin);
spaces, digits and punctuation stay in the run they sit in when its font has them.
Each run is shaped by HarfBuzz, so conjuncts, reordered vowel signs and marks come out
as the font's own glyphs, not one glyph per code point.  Results are cached per
process: bill labels are shaped once, not once per bill.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import uharfbuzz as hb

from qrpay.ebill.fonts import Font, font, role_for
from qrpay.errors import RenderError

_JOINERS = {"\u200c", "\u200d", "\u25cc"}


@dataclass(frozen=True)
class Run:
    role: str
    gids: tuple[int, ...]
    advances: tuple[int, ...]  # 1/1000 em
    offsets: tuple[tuple[int, int], ...]  # (dx, dy) per glyph, 1/1000 em
    texts: tuple[str, ...]  # what each glyph stands for (ToUnicode), no text twice
    source: str = ""  # the text this run draws (ActualText when ``texts`` can't say it)

    @property
    def needs_actual_text(self) -> bool:
        """True when the glyphs, read in drawing order, do not spell the source text
        (conjuncts, reordered vowel signs) or marks are placed apart from the pen (which
        text extractors read as word breaks): extraction then needs ``/ActualText``."""
        return "".join(self.texts) != self.source or any(dx or dy for dx, dy in self.offsets)

    @property
    def width(self) -> int:
        return sum(self.advances)


@dataclass(frozen=True)
class Shaped:
    text: str
    runs: tuple[Run, ...]
    width: int  # 1/1000 em

    def width_at(self, size: float) -> float:
        return self.width * size / 1000.0


def script_of(ch: str) -> str | None:
    cp = ord(ch)
    if 0x0900 <= cp <= 0x097F or 0xA8E0 <= cp <= 0xA8FF or 0x1CD0 <= cp <= 0x1CFF:
        return "deva"
    if 0x0980 <= cp <= 0x09FF:
        return "beng"
    if ch.isalpha() and cp > 0x024F and not 0x1E00 <= cp <= 0x1EFF:
        return "other"
    return None


def itemise(text: str) -> list[tuple[str, str]]:
    """Split ``text`` into ``(script, chunk)`` runs: latin, deva or beng."""
    runs: list[tuple[str, list[str]]] = []
    for ch in text:
        script = script_of(ch)
        current = runs[-1][0] if runs else None
        if script == "other":
            raise RenderError(f"no font for {ch!r} (U+{ord(ch):04X}) in {text!r}",
                              code="missing_glyph", field="text")
        if script is None or ch in _JOINERS:
            if current and current != "latin" and font(current).has(ch):
                script = current
            else:
                script = "latin"
        elif script == "deva" and current == "beng" and font("beng").has(ch):
            script = "beng"  # danda in Bengali text
        if current == script:
            runs[-1][1].append(ch)
        else:
            runs.append((script, [ch]))
    return [(script, "".join(chars)) for script, chars in runs]


def _cluster_texts(chars: list[int], clusters: list[int]) -> dict[int, str]:
    starts = sorted(set(clusters))
    out = {}
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(chars)
        out[start] = "".join(map(chr, chars[start:end]))
    return out


def _rest(cluster: str, claimed: str) -> str:
    """The part of a cluster's text not drawn by its nominal (cmap) glyphs."""
    for ch in claimed:
        cluster = cluster.replace(ch, "", 1)
    return cluster


def shape_run(f: Font, chunk: str) -> Run:
    buf = hb.Buffer()
    codepoints = [ord(c) for c in chunk]
    buf.add_codepoints(codepoints)
    buf.guess_segment_properties()
    hb.shape(f.hb_font, buf, {"kern": True, "liga": True})
    infos, positions = buf.glyph_infos, buf.glyph_positions
    scale = 1000.0 / f.sfnt.upem
    clusters = [info.cluster for info in infos]
    cluster_text = _cluster_texts(codepoints, clusters)
    nominal: dict[int, str] = {}
    for info in infos:
        if info.codepoint == 0:
            ch = chunk[info.cluster]
            raise RenderError(f"font {f.path.name} has no glyph for {ch!r} (U+{ord(ch):04X}) "
                              f"in {chunk!r}", code="missing_glyph", field="text")
        nominal[info.cluster] = nominal.get(info.cluster, "") + f.to_unicode.get(
            info.codepoint, "")
    gids, advances, offsets = [], [], []
    for info, pos in zip(infos, positions, strict=True):
        gids.append(info.codepoint)
        advances.append(round(pos.x_advance * scale))
        offsets.append((round(pos.x_offset * scale), round(pos.y_offset * scale)))
    texts = _glyph_texts(f, [info.codepoint for info in infos], clusters, cluster_text,
                         nominal)
    return Run(role=f.role, gids=tuple(gids), advances=tuple(advances),
               offsets=tuple(offsets), texts=tuple(texts), source=chunk)


_PRE_BASE = frozenset("\u093f\u09bf\u09c7\u09c8")  # vowel signs drawn before the base


def _glyph_texts(f: Font, gids: list[int], clusters: list[int],
                 cluster_text: dict[int, str], nominal: dict[int, str]) -> list[str]:
    """What each glyph stands for, each character of a cluster given to one glyph only.

    A glyph with a cmap entry stands for its character.  The rest of a cluster (a
    conjunct, a vowel-sign variant) goes to its other glyphs: a pre-base vowel sign to
    a leading glyph, everything else to the first remaining glyph, nothing to the others.
    """
    rest = {c: _rest(t, nominal.get(c, "")) for c, t in cluster_text.items()}
    texts = []
    for i, (gid, cluster) in enumerate(zip(gids, clusters, strict=True)):
        own = f.to_unicode.get(gid)
        if own:
            texts.append(own)
            continue
        left = rest.get(cluster, "")
        leading = i + 1 < len(gids) and clusters[i + 1] == cluster and (
            i == 0 or clusters[i - 1] != cluster)
        matra = next((ch for ch in left if ch in _PRE_BASE), "") if leading else ""
        if matra and len(left) > 1:
            texts.append(matra)
            rest[cluster] = left.replace(matra, "", 1)
        else:
            texts.append(left)
            rest[cluster] = ""
    return texts


@lru_cache(maxsize=65536)
def shape(text: str, bold: bool = False) -> Shaped:
    """Shape ``text`` (any mix of Latin, Devanagari and Bengali) in the bill fonts."""
    runs = tuple(shape_run(font(role_for(script, bold)), chunk)
                 for script, chunk in itemise(text))
    return Shaped(text=text, runs=runs, width=sum(r.width for r in runs))
