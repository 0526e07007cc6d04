"""A small, fast PDF writer for bills: vector drawing and HarfBuzz-shaped text.

Why not reportlab's canvas: a bill page is one static frame (per biller, language and
paper size) plus a few dozen values, and the cycle batch renders millions of them.  Here
the static frame is drawn once per process into a compressed content stream that every
page reuses (one object shared by all pages of a print book), fonts are embedded as
subsets that keep the font's own glyph ids (so content never depends on the subset, and a
subset is cached by its glyph set), and text goes out as the glyphs HarfBuzz chose.

Fonts are Type0/CIDFontType2 with Identity-H encoding and a ToUnicode map, so text can
be searched and extracted.  A per-glyph map cannot say a conjunct or a vowel sign drawn
before its consonant, so a run whose glyphs do not spell its text in drawing order is
wrapped in a marked-content span whose ``/ActualText`` is the original string (what
pdfium, poppler and Acrobat extract); the ToUnicode map gives each character of a
cluster to one glyph only, so readers that ignore ActualText never see text twice.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache

from qrpay.ebill.fonts import RESOURCE, font
from qrpay.ebill.shaping import Shaped, shape

ROLES = tuple(RESOURCE)  # fixed order: fixed object numbers per font
FONT_BASE = 4  # objects 1..3: catalog, pages, info; then five objects per font role
FIRST_FREE = FONT_BASE + 5 * len(ROLES)
COMPRESS_LEVEL = 1  # content streams: ~3% bigger than level 6, twice as fast
_DARK = re.compile(b"[^\x00]+")


def _n(v: float) -> str:
    """A PDF number with two decimals."""
    return f"{v:.2f}"


@lru_cache(maxsize=256)
def _fill_op(colour: str) -> str:
    r, g, b = rgb(colour)
    return f"{r:.3f} {g:.3f} {b:.3f} rg"


@lru_cache(maxsize=256)
def _stroke_op(colour: str, width: float) -> str:
    r, g, b = rgb(colour)
    return f"{r:.3f} {g:.3f} {b:.3f} RG {_n(width)} w"


def rgb(hex_colour: str) -> tuple[float, float, float]:
    h = hex_colour.lstrip("#")
    return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255)


@dataclass(frozen=True)
class PdfImage:
    """A raster image as a PDF image XObject: 8-bit RGB, compressed, with an optional
    8-bit alpha (soft mask).  Made once per file (:func:`image_from_file`) and shared."""

    name: str  # resource name, "Im" + a digest of the pixels
    width: int
    height: int
    rgb: bytes  # zlib-compressed
    alpha: bytes | None = None  # zlib-compressed, or None when opaque


@lru_cache(maxsize=64)
def image_from_file(path: str, _mtime_ns: int = 0) -> PdfImage:
    """``path`` (PNG, JPEG...: anything Pillow opens) as a :class:`PdfImage`."""
    from PIL import Image

    with Image.open(path) as img:
        rgba = img.convert("RGBA")
    rgb, alpha = rgba.convert("RGB").tobytes(), rgba.getchannel("A").tobytes()
    opaque = alpha.count(b"\xff") == len(alpha)
    digest = hashlib.sha1(rgb + alpha).hexdigest()[:10]
    return PdfImage(f"Im{digest}", rgba.width, rgba.height, zlib.compress(rgb, 6),
                    None if opaque else zlib.compress(alpha, 6))


@dataclass
class Layer:
    """A content stream being drawn, and the glyphs it uses (per font role)."""

    ops: list[str] = field(default_factory=list)
    glyphs: dict[str, dict[int, str]] = field(default_factory=dict)
    images: dict[str, PdfImage] = field(default_factory=dict)

    def image(self, img: PdfImage, x: float, y: float, w: float, h: float) -> None:
        """Draw ``img`` into the box with lower-left corner ``(x, y)``."""
        self.images[img.name] = img
        self.ops.append(f"q {_n(w)} 0 0 {_n(h)} {_n(x)} {_n(y)} cm /{img.name} Do Q")

    # -- graphics ---------------------------------------------------------------------
    def fill(self, colour: str) -> None:
        self.ops.append(_fill_op(colour))

    def stroke(self, colour: str, width: float = 0.5) -> None:
        self.ops.append(_stroke_op(colour, width))

    def rect(self, x: float, y: float, w: float, h: float, *, fill: bool = True,
             stroke: bool = False) -> None:
        op = "B" if fill and stroke else ("f" if fill else "S")
        self.ops.append(f"{_n(x)} {_n(y)} {_n(w)} {_n(h)} re {op}")

    def round_rect(self, x: float, y: float, w: float, h: float, r: float, *,
                   fill: bool = True, stroke: bool = False) -> None:
        k = r * 0.4477  # (1 - 0.5523) for a quarter circle from Bezier control points
        pts = [f"{_n(x + r)} {_n(y)} m", f"{_n(x + w - r)} {_n(y)} l",
               f"{_n(x + w - k)} {_n(y)} {_n(x + w)} {_n(y + k)} {_n(x + w)} {_n(y + r)} c",
               f"{_n(x + w)} {_n(y + h - r)} l",
               f"{_n(x + w)} {_n(y + h - k)} {_n(x + w - k)} {_n(y + h)} {_n(x + w - r)} "
               f"{_n(y + h)} c",
               f"{_n(x + r)} {_n(y + h)} l",
               f"{_n(x + k)} {_n(y + h)} {_n(x)} {_n(y + h - k)} {_n(x)} {_n(y + h - r)} c",
               f"{_n(x)} {_n(y + r)} l",
               f"{_n(x)} {_n(y + k)} {_n(x + k)} {_n(y)} {_n(x + r)} {_n(y)} c"]
        op = "B" if fill and stroke else ("f" if fill else "S")
        self.ops.append(" ".join(pts) + " h " + op)

    def line(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self.ops.append(f"{_n(x1)} {_n(y1)} m {_n(x2)} {_n(y2)} l S")

    def raw(self, op: str) -> None:
        self.ops.append(op)

    def modules(self, matrix: Sequence[Sequence[int]], x: float, y: float,
                 module: float) -> None:
        """Dark QR modules as one filled path, top row first, drawn in module units:
        one ``re`` per horizontal run of dark modules within each 8-module chunk
        (chunk patterns are cached, so a symbol costs a few hundred dict look-ups)."""
        n = len(matrix)
        parts = [f"q {module:.4f} 0 0 {module:.4f} {x:.3f} {y:.3f} cm"]
        cache = _CHUNKS
        if len(cache) > 200_000:
            cache.clear()
        for r, row in enumerate(matrix):
            raw = bytes(row)
            pieces = []
            for k in range(0, n, 8):
                key = (k, raw[k:k + 8])
                ops = cache.get(key)
                if ops is None:
                    ops = cache[key] = _chunk_ops(key)
                if ops:
                    pieces.append(ops)
            if pieces:
                parts.append(" ".join(pieces).replace("Y", str(n - 1 - r)))
        parts.append("f Q")
        self.ops.append("\n".join(parts))

    # -- text ------------------------------------------------------------------------
    def text(self, x: float, y: float, text: str | Shaped, size: float, *, bold: bool = False,
             colour: str | None = None, align: str = "left") -> float:
        """Draw ``text`` with its baseline at ``y``; returns the width in points."""
        shaped = shape(text, bold) if isinstance(text, str) else text
        width = shaped.width * size / 1000.0
        if align == "right":
            x -= width
        elif align == "center":
            x -= width / 2
        ops = self.ops
        if colour:
            ops.append(_fill_op(colour))
        ops.append("BT")
        for font_op, pieces, used, end in _compiled(shaped.text, bold, size):
            ops.append(font_op)
            for dx, dy, show in pieces:
                ops.append(f"1 0 0 1 {x + dx:.2f} {y + dy:.2f} Tm {show}")
            if end:
                ops.append(end)
            for role, glyphs in used:
                target = self.glyphs.get(role)
                if target is None:
                    self.glyphs[role] = dict(glyphs)
                else:
                    for gid, txt in glyphs:
                        target.setdefault(gid, txt)
        ops.append("ET")
        return width

    def content(self) -> bytes:
        return "\n".join(self.ops).encode("ascii")


_CHUNKS: dict[tuple[int, bytes], str] = {}


def _chunk_ops(key: tuple[int, bytes]) -> str:
    k, chunk = key  # "Y" stands for the row, filled in per row
    return " ".join(f"{k + m.start()} Y {m.end() - m.start()} 1 re"
                    for m in _DARK.finditer(chunk))


Piece = tuple[float, float, str]  # dx, dy from the text origin, show operator
Used = tuple[tuple[str, tuple[tuple[int, str], ...]], ...]
Compiled = tuple[str, tuple[Piece, ...], Used, str]  # font op, pieces, glyphs used, end op


def actual_text_open(text: str) -> str:
    """Begin a marked-content span whose extracted text is ``text``."""
    return f"/Span <</ActualText <FEFF{_utf16_hex(text)}>>> BDC"


@lru_cache(maxsize=32768)
def _compiled(text: str, bold: bool, size: float) -> tuple[Compiled, ...]:
    """Shaped text at ``size`` as position-independent show operators (cached)."""
    shaped = shape(text, bold)
    out = []
    pen = 0.0
    k = size / 1000.0
    for run in shaped.runs:
        sfnt = font(run.role).sfnt
        pieces: list[Piece] = []
        seg: list[str] = []
        seg_x = pen
        for gid, adv, (dx, dy) in zip(run.gids, run.advances, run.offsets, strict=True):
            if dx or dy:
                if seg:
                    pieces.append((seg_x, 0.0, f"[{''.join(seg)}] TJ"))
                    seg = []
                pieces.append((pen + dx * k, dy * k, f"<{gid:04X}> Tj"))
                pen += adv * k
                seg_x = pen
                continue
            if not seg:
                seg_x = pen
            seg.append(f"<{gid:04X}>")
            kern = sfnt.width1000(gid) - adv
            if kern:
                seg.append(str(kern))
            pen += adv * k
        if seg:
            pieces.append((seg_x, 0.0, f"[{''.join(seg)}] TJ"))
        used = ((run.role, tuple(dict(zip(run.gids, run.texts, strict=True)).items())),)
        font_op = f"/{RESOURCE[run.role]} {size:.2f} Tf"
        if run.needs_actual_text:
            out.append((f"{actual_text_open(run.source)} {font_op}", tuple(pieces), used, "EMC"))
        else:
            out.append((font_op, tuple(pieces), used, ""))
    return tuple(out)


@dataclass(frozen=True)
class Stream:
    """A finished content stream: compressed bytes and the glyphs it uses."""

    data: bytes
    glyphs: tuple[tuple[str, tuple[tuple[int, str], ...]], ...]
    static: bool = False  # a frame shared by many pages: its glyphs are always embedded
    images: tuple[PdfImage, ...] = ()

    @classmethod
    def of(cls, layer: Layer, *, prefix: str = "", suffix: str = "",
           static: bool = False) -> Stream:
        raw = layer.content()
        if prefix or suffix:
            raw = prefix.encode() + raw + suffix.encode()
        glyphs = tuple((role, tuple(sorted(g.items()))) for role, g in
                       sorted(layer.glyphs.items()))
        images = tuple(img for _, img in sorted(layer.images.items()))
        return cls(zlib.compress(raw, COMPRESS_LEVEL), glyphs, static, images)


@dataclass(frozen=True)
class Page:
    width: float
    height: float
    contents: tuple[Stream, ...]


def _obj(num: int, body: bytes) -> bytes:
    return b"%d 0 obj\n" % num + body + b"\nendobj\n"


def _stream(num: int, data: bytes, extra: str = "") -> bytes:
    head = f"<< /Length {len(data)} /Filter /FlateDecode{extra} >>\nstream\n".encode()
    return _obj(num, head + data + b"\nendstream")


def _utf16_hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def _tounicode(mapping: tuple[tuple[int, str], ...]) -> bytes:
    lines = ["/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
             "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
             "/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
             "1 begincodespacerange <0000> <FFFF> endcodespacerange"]
    items = [(g, t) for g, t in mapping if t]
    for i in range(0, len(items), 100):
        chunk = items[i:i + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines += [f"<{g:04X}> <{_utf16_hex(t)}>" for g, t in chunk]
        lines.append("endbfchar")
    lines.append("endcmap CMapName currentdict /CMap defineresource pop end end")
    return "\n".join(lines).encode("ascii")


BUCKET = 8
_BASE_TEXT = "".join(map(chr, range(0x20, 0x7F))) + "₹৳…·–—" + "০১২৩৪৫৬৭৮৯" + "०१२३४५६७८९"


@cache
def _nominal(role: str) -> frozenset[int]:
    """ASCII and digits: every subset of ``role`` that has them carries them."""
    hb_font = font(role).hb_font
    gids = {hb_font.get_nominal_glyph(ord(ch)) for ch in _BASE_TEXT}
    return frozenset(g for g in gids if g)


def subset_glyphs(role: str, used: Iterable[int], frame: Iterable[int] = ()) -> tuple[int, ...]:
    """The glyphs to embed: those of the static frame and ASCII/digits, plus whole
    buckets of ``BUCKET`` glyph ids around anything else a bill uses (names, addresses).
    It depends only on what the page uses, so output is reproducible, and bills with
    similar names share one cached subset."""
    base = set(frame)
    nominal = _nominal(role)
    if role.startswith("latin") or base:
        base |= nominal
    count = font(role).sfnt.num_glyphs
    for b in {g // BUCKET for g in used if g not in base}:
        base.update(range(b * BUCKET, min((b + 1) * BUCKET, count)))
    return tuple(sorted(base))


@lru_cache(maxsize=1024)
def font_program(role: str, gids: tuple[int, ...]
                 ) -> tuple[bytes, tuple[tuple[int, int], ...]]:
    """The first four PDF objects of an embedded font subset (fixed object numbers):
    Type0 font, CIDFont with widths, descriptor, font file.  The ToUnicode map is
    the fifth (:func:`tounicode_object`)."""
    f = font(role)
    sfnt = f.sfnt
    tag = "".join(chr(65 + b % 26) for b in hashlib.sha1(repr(gids).encode()).digest()[:6])
    base = FONT_BASE + 5 * ROLES.index(role)
    name = f"{tag}+{f.ps_name}"
    widths = " ".join(f"{g} [{sfnt.width1000(g)}]" for g in gids)
    m = sfnt.metrics
    s = 1000.0 / m.upem
    program = sfnt.subset(gids)
    out = [
        _obj(base, (f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
                    f"/DescendantFonts [{base + 1} 0 R] /ToUnicode {base + 4} 0 R >>").encode()),
        _obj(base + 1, (f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} "
                        "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) "
                        f"/Supplement 0 >> /FontDescriptor {base + 2} 0 R "
                        f"/DW {sfnt.width1000(0)} /W [{widths}] /CIDToGIDMap /Identity >>"
                        ).encode()),
        _obj(base + 2, (f"<< /Type /FontDescriptor /FontName /{name} /Flags 32 "
                        f"/FontBBox [{' '.join(str(round(v * s)) for v in m.bbox)}] "
                        f"/ItalicAngle 0 /Ascent {round(m.ascent * s)} "
                        f"/Descent {round(m.descent * s)} /CapHeight {round(m.cap_height * s)} "
                        f"/StemV 80 /FontFile2 {base + 3} 0 R >>").encode()),
        _stream(base + 3, zlib.compress(program, 3), f" /Length1 {len(program)}"),
    ]
    offsets, pos = [], 0
    for i, blob in enumerate(out):
        offsets.append((base + i, pos))
        pos += len(blob)
    return b"".join(out), tuple(offsets)


@lru_cache(maxsize=4096)
def tounicode_object(role: str, mapping: tuple[tuple[int, str], ...]) -> bytes:
    num = FONT_BASE + 5 * ROLES.index(role) + 4
    return _stream(num, zlib.compress(_tounicode(mapping), COMPRESS_LEVEL))


def font_objects(role: str, mapping: tuple[tuple[int, str], ...], frame: frozenset[int]
                 ) -> tuple[bytes, tuple[tuple[int, int], ...]]:
    """The five PDF objects of one embedded font for a document using ``mapping``."""
    blob, offsets = font_program(role, subset_glyphs(role, (g for g, _ in mapping), frame))
    num = FONT_BASE + 5 * ROLES.index(role) + 4
    return blob + tounicode_object(role, mapping), offsets + ((num, len(blob)),)


def _merge_glyphs(streams: Iterable[Stream]) -> dict[str, tuple[tuple[int, str], ...]]:
    merged: dict[str, dict[int, str]] = {}
    for st in streams:
        for role, items in st.glyphs:
            target = merged.setdefault(role, {})
            for gid, txt in items:
                target.setdefault(gid, txt)
    return {role: tuple(sorted(g.items())) for role, g in merged.items()}


def _pdf_string(text: str) -> str:
    return "<FEFF" + _utf16_hex(text) + ">"


def _image_objects(objects: dict[int, bytes], num: int, img: PdfImage) -> int:
    """Write ``img`` (and its soft mask first) from object ``num``; the next free number."""
    smask = ""
    if img.alpha is not None:
        objects[num] = _stream(num, img.alpha, f" /Type /XObject /Subtype /Image "
                               f"/Width {img.width} /Height {img.height} "
                               "/ColorSpace /DeviceGray /BitsPerComponent 8")
        smask = f" /SMask {num} 0 R"
        num += 1
    objects[num] = _stream(num, img.rgb, f" /Type /XObject /Subtype /Image /Width {img.width} "
                           f"/Height {img.height} /ColorSpace /DeviceRGB "
                           f"/BitsPerComponent 8{smask}")
    return num + 1


def build(pages: Sequence[Page], *, title: str = "", subject: str = "") -> bytes:
    """Assemble a complete PDF file.  The same pages always give the same bytes."""
    fonts = _merge_glyphs(st for p in pages for st in p.contents)
    objects: dict[int, bytes] = {}
    font_res = " ".join(f"/{RESOURCE[role]} {FONT_BASE + 5 * ROLES.index(role)} 0 R"
                        for role in ROLES if role in fonts)
    num = FIRST_FREE
    images = {img.name: img for p in pages for st in p.contents for img in st.images}
    xobjects = []
    for name in sorted(images):
        num = _image_objects(objects, num, images[name])
        xobjects.append(f"/{name} {num - 1} 0 R")  # the RGB image is written last
    xobject_res = f" /XObject << {' '.join(xobjects)} >>" if xobjects else ""
    resources = f"<< /Font << {font_res} >>{xobject_res} >>"
    stream_nums: dict[int, int] = {}
    page_nums = []
    for page in pages:
        refs = []
        for st in page.contents:
            key = id(st)
            if key not in stream_nums:
                stream_nums[key] = num
                objects[num] = _stream(num, st.data)
                num += 1
            refs.append(f"{stream_nums[key]} 0 R")
        objects[num] = _obj(num, (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 "
                                  f"{_n(page.width)} {_n(page.height)}] /Resources {resources} "
                                  f"/Contents [{' '.join(refs)}] >>").encode())
        page_nums.append(num)
        num += 1
    kids = " ".join(f"{n} 0 R" for n in page_nums)
    objects[1] = _obj(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    objects[2] = _obj(2, f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects[3] = _obj(3, (f"<< /Producer (qrpay) /Title {_pdf_string(title)} "
                          f"/Subject {_pdf_string(subject)} >>").encode())
    frame: dict[str, set[int]] = {}
    for st in {id(st): st for p in pages for st in p.contents if st.static}.values():
        for role, items in st.glyphs:
            frame.setdefault(role, set()).update(g for g, _ in items)
    font_blobs = [font_objects(role, fonts[role], frozenset(frame.get(role, ())))
                  for role in ROLES if role in fonts]
    return _serialise(objects, font_blobs, num)


def _serialise(objects: dict[int, bytes],
               font_blobs: list[tuple[bytes, tuple[tuple[int, int], ...]]],
               size: int) -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for n in (1, 2, 3):
        offsets[n] = len(out)
        out += objects[n]
    for blob, rel in font_blobs:
        for n, pos in rel:
            offsets[n] = len(out) + pos
        out += blob
    for n in range(FIRST_FREE, size):
        offsets[n] = len(out)
        out += objects[n]
    xref = len(out)
    rows = ["0000000000 65535 f "]
    for n in range(1, size):
        rows.append(f"{offsets[n]:010d} 00000 n " if n in offsets else "0000000000 00000 f ")
    out += f"xref\n0 {size}\n".encode() + "\n".join(rows).encode() + b"\n"
    out += f"trailer\n<< /Size {size} /Root 1 0 R /Info 3 0 R >>\nstartxref\n{xref}\n%%EOF\n"\
        .encode()
    return bytes(out)
