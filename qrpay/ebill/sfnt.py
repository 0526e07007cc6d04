"""Just enough TrueType to embed a font subset in a PDF, fast.

The subset keeps every glyph id where it was ("retain gids"): glyphs a document does not
use become empty, so content streams written with the font's own glyph ids (as HarfBuzz
shapes them) stay valid whatever the subset.  Only the tables a PDF viewer needs to draw
a CIDFontType2 are kept: head, hhea, maxp, hmtx, loca, glyf (plus cvt/fpgm/prep).
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from qrpay.errors import RenderError

_ARG_WORDS, _HAVE_SCALE, _MORE, _XY_SCALE, _TWO_BY_TWO = 0x1, 0x8, 0x20, 0x40, 0x80


@dataclass(frozen=True)
class Metrics:
    upem: int
    ascent: int
    descent: int
    bbox: tuple[int, int, int, int]
    cap_height: int


class TrueType:
    """A parsed TrueType (glyf-outline) font file."""

    def __init__(self, data: bytes, name: str = "font") -> None:
        self.data = data
        self.name = name
        if data[:4] not in (b"\x00\x01\x00\x00", b"true"):
            raise RenderError(f"{name}: not a TrueType-outline font (CFF fonts are not "
                              "supported)", code="font_unsupported")
        (num_tables,) = struct.unpack_from(">H", data, 4)
        self.tables: dict[bytes, tuple[int, int]] = {}
        for i in range(num_tables):
            tag, _check, off, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
            self.tables[tag] = (off, length)
        for tag in (b"head", b"hhea", b"maxp", b"hmtx", b"loca", b"glyf"):
            if tag not in self.tables:
                raise RenderError(f"{name}: no {tag.decode()} table", code="font_unsupported")
        head = self.table(b"head")
        self.upem = struct.unpack_from(">H", head, 18)[0]
        bbox = struct.unpack_from(">hhhh", head, 36)
        self.loca_long = struct.unpack_from(">h", head, 50)[0] == 1
        self.num_glyphs = struct.unpack_from(">H", self.table(b"maxp"), 4)[0]
        hhea = self.table(b"hhea")
        ascent, descent = struct.unpack_from(">hh", hhea, 4)
        self.num_hmetrics = struct.unpack_from(">H", hhea, 34)[0]
        self.metrics = Metrics(self.upem, ascent, descent, bbox, _cap_height(self, ascent))
        self.loca = self._read_loca()
        self.advances = self._read_advances()

    def table(self, tag: bytes) -> bytes:
        off, length = self.tables[tag]
        return self.data[off:off + length]

    def _read_loca(self) -> array:
        raw = self.table(b"loca")
        loca = array("I" if self.loca_long else "H", raw[:(self.num_glyphs + 1) *
                                                         (4 if self.loca_long else 2)])
        loca.byteswap()
        if not self.loca_long:
            loca = array("I", (2 * v for v in loca))
        return loca

    def _read_advances(self) -> array:
        raw = self.table(b"hmtx")
        n = self.num_hmetrics
        pairs = array("H", raw[:4 * n])
        pairs.byteswap()
        adv = array("H", pairs[0::2])
        adv.extend([adv[-1]] * (self.num_glyphs - n))
        lsb = array("H", pairs[1::2])
        rest = array("H", raw[4 * n:4 * n + 2 * (self.num_glyphs - n)])
        rest.byteswap()
        lsb.extend(rest)
        self.lsbs = lsb
        return adv

    def width1000(self, gid: int) -> int:
        """Advance width of ``gid`` in PDF glyph space (1/1000 em)."""
        return round(self.advances[gid] * 1000 / self.upem)

    def glyph_closure(self, gids: Iterable[int]) -> set[int]:
        """``gids`` plus the components of composite glyphs, and glyph 0."""
        glyf_off = self.tables[b"glyf"][0]
        data, loca = self.data, self.loca
        todo = [g for g in gids if 0 <= g < self.num_glyphs]
        seen: set[int] = {0}
        while todo:
            gid = todo.pop()
            if gid in seen:
                continue
            seen.add(gid)
            start, end = loca[gid], loca[gid + 1]
            if end - start < 10 or struct.unpack_from(">h", data, glyf_off + start)[0] >= 0:
                continue
            pos = glyf_off + start + 10
            while True:
                flags, comp = struct.unpack_from(">HH", data, pos)
                todo.append(comp)
                pos += 4 + (4 if flags & _ARG_WORDS else 2)
                if flags & _HAVE_SCALE:
                    pos += 2
                elif flags & _XY_SCALE:
                    pos += 4
                elif flags & _TWO_BY_TWO:
                    pos += 8
                if not flags & _MORE:
                    break
        return seen

    def subset(self, gids: Iterable[int]) -> bytes:
        """A font file where only ``gids`` (and their components) have outlines."""
        keep = sorted(self.glyph_closure(gids))
        count = keep[-1] + 1
        glyf_off = self.tables[b"glyf"][0]
        loca, data = self.loca, self.data
        glyf = bytearray()
        new_loca = array("I", bytes(4 * (count + 1)))
        prev = 0
        for gid in keep:
            if gid > prev:  # glyphs prev..gid-1 stay empty
                new_loca[prev + 1:gid + 1] = array("I", [len(glyf)]) * (gid - prev)
            glyf += data[glyf_off + loca[gid]:glyf_off + loca[gid + 1]]
            glyf += bytes(-len(glyf) % 4)
            prev = gid + 1
            new_loca[prev] = len(glyf)
        new_loca.byteswap()
        metrics = array("H", bytes(4 * count))
        metrics[0::2] = self.advances[:count]
        metrics[1::2] = self.lsbs[:count]
        metrics.byteswap()
        head = bytearray(self.table(b"head"))
        struct.pack_into(">I", head, 8, 0)  # checksumAdjustment: not checked by viewers
        struct.pack_into(">h", head, 50, 1)  # long loca
        hhea = bytearray(self.table(b"hhea"))
        struct.pack_into(">H", hhea, 34, count)
        maxp = bytearray(self.table(b"maxp"))
        struct.pack_into(">H", maxp, 4, count)
        return _assemble({b"head": bytes(head), b"hhea": bytes(hhea), b"maxp": bytes(maxp),
                          b"hmtx": metrics.tobytes(), b"loca": new_loca.tobytes(),
                          b"glyf": bytes(glyf)})


def _cap_height(font: TrueType, ascent: int) -> int:
    if b"OS/2" in font.tables:
        os2 = font.table(b"OS/2")
        if len(os2) >= 90 and struct.unpack_from(">H", os2, 0)[0] >= 2:
            return int(struct.unpack_from(">h", os2, 88)[0])
    return int(ascent * 0.7)


def _checksum(data: bytes) -> int:
    padded = data + bytes(-len(data) % 4)
    words = array("I", padded)
    words.byteswap()
    return sum(words) & 0xFFFFFFFF


def _assemble(tables: dict[bytes, bytes]) -> bytes:
    tags = sorted(tables)
    n = len(tags)
    entry_selector = max(i for i in range(16) if 2 ** i <= n)
    search_range = 16 * 2 ** entry_selector
    out = bytearray(struct.pack(">IHHHH", 0x00010000, n, search_range, entry_selector,
                                n * 16 - search_range))
    offset = 12 + 16 * n
    body = bytearray()
    for tag in tags:
        data = tables[tag]
        out += struct.pack(">4sIII", tag, _checksum(data), offset + len(body), len(data))
        body += data + bytes(-len(data) % 4)
    return bytes(out + body)
