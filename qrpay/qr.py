"""QR symbols for payment payloads: a fast encoder, PNG/SVG files, vectors on a PDF canvas.

Symbols are QR Code model 2 (never Micro QR), error correction M or better (raised to Q
or H when that fits in the same version, as segno does), with a 4-module quiet zone.
ASCII payloads are split into numeric, alphanumeric and byte segments (:func:`segment`,
the fewest bits): an EMV payload's digit runs and an upper-cased bill URL cost 3.3 and
5.5 bits a character instead of 8, which keeps the version low and the modules big.

**Why our own encoder.**  ``segno.make`` spends about 8-14 ms per bill-sized symbol, most
of it applying each of the eight data masks module by module and scoring them in Python.
:func:`encode` produces *the same symbol* as ``segno.make(segments_for(payload),
error="m", micro=False, eci=True)`` (same segments, version, error level, mask and
modules; the tests check this; Shift_JIS-encodable text is the exception: we always write
UTF-8), in
well under a millisecond, because:

* everything that depends only on the version (function patterns, the codeword placement
  path, the eight mask patterns) is computed once per version and cached;
* the modules are laid out as one big integer, one bit per module, rows padded with four
  light bits, so applying a mask is one XOR and every ISO/IEC 18004 penalty rule (runs,
  2x2 blocks, finder-like 1:1:3:1:1 patterns, dark proportion) is a handful of shifts,
  ANDs and ``int.bit_count()`` calls over the whole symbol;
* Reed-Solomon remainders use a table of the generator polynomial multiplied by each
  byte, so each data byte costs one shift and one XOR.

The mask chosen is the one ISO/IEC 18004 (and segno) chooses, so the codes are exactly as
easy to scan as segno's best-mask symbols; ``bench/qr.py`` measures both.  Payloads that
are all digits or all QR-alphanumeric characters (never a payment URI or EMV payload with
a URL) go to segno unchanged.

The encoder builds on segno internals (function patterns, mask functions, format and
version information, capacity and block tables); they are reached only through
:mod:`qrpay.segno_internals`, and when a segno release lacks them every symbol comes from
``segno.make`` with the same error level (logged once).
"""

from __future__ import annotations

import functools
import io
import operator
import os
import re
from collections import namedtuple
from typing import IO, Any

import segno

from qrpay.errors import RenderError
from qrpay.segno_internals import Internals, internals

QUIET_ZONE = 4  # modules
DEFAULT_MODULE_MM = 0.4
_PAD = 4  # light bits after each row in the packed layout (>= 4 for the N3 rule)
# QR alphanumeric mode characters (ISO/IEC 18004 table 5), as bytes
_ALNUM = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
_Code = namedtuple("_Code", "matrix version error mask segments")
_Segment = namedtuple("_Segment", "mode")
_RUNS = re.compile(r"1+")
_UTF8_ECI = 26


# ---------------------------------------------------------------------------- GF(256)

def _gf_tables() -> tuple[list[int], list[int]]:
    exp = [0] * 512
    log = [0] * 256
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        x <<= 1
        if x & 0x100:
            x ^= 0x11D
    for i in range(255, 512):
        exp[i] = exp[i - 255]
    return exp, log


_EXP, _LOG = _gf_tables()


def _gf_mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


@functools.cache
def _rs_table(n: int) -> tuple[int, ...]:
    """For each byte f: the generator's low ``n`` coefficients times f, as one integer."""
    gen = [1]
    for i in range(n):
        nxt = [0] * (len(gen) + 1)
        for k, c in enumerate(gen):
            nxt[k] ^= c
            nxt[k + 1] ^= _gf_mul(c, _EXP[i])
        gen = nxt
    coeffs = gen[1:]
    return tuple(int.from_bytes(bytes(_gf_mul(c, f) for c in coeffs), "big")
                 for f in range(256))


def _rs_remainder(block: bytes, n: int) -> bytes:
    table = _rs_table(n)
    shift = 8 * (n - 1)
    mask = (1 << (8 * n)) - 1
    rem = 0
    for byte in block:
        rem = ((rem << 8) & mask) ^ table[(rem >> shift) ^ byte]
    return rem.to_bytes(n, "big")


# ---------------------------------------------------------------------------- per version

class _Layout:
    """Everything about one version that does not depend on the data."""

    def __init__(self, base: Internals, version: int) -> None:
        w = base.calc_matrix_size(version)
        s = w + _PAD
        self.width, self.stride, self.nbits = w, s, w * s
        template = base.make_matrix(w, w)
        base.add_finder_patterns(template, w, w)
        base.add_alignment_patterns(template, w, w)
        order = self._placement(template, w)
        self.capacity_bits = len(order)
        where = {pos: k for k, pos in enumerate(order)}
        zero, one = len(order), len(order) + 1
        gather = []
        for p in range(self.nbits - 1, -1, -1):  # most significant bit first
            i, j = divmod(p, s)
            if j >= w:
                gather.append(zero)
            elif template[i][j] == 0x2:
                gather.append(where[(i, j)])
            else:
                gather.append(one if template[i][j] == 0x1 else zero)
        self.gather = operator.itemgetter(*gather)
        self.masks = tuple(self._mask_bits(fn, template, w, s)
                           for fn in base.get_data_mask_functions(False))
        self._validity(w, s)

    @staticmethod
    def _placement(template: Any, w: int) -> list[tuple[int, int]]:
        """Module positions in codeword placement order (ISO/IEC 18004 7.7.3)."""
        order = []
        for right in range(w - 1, 0, -2):
            if right <= 6:
                right -= 1
            upwards = (right & 2) == 0
            for vertical in range(w):
                for j in (right, right - 1):
                    up = upwards ^ (j < 6)
                    i = w - 1 - vertical if up else vertical
                    if template[i][j] == 0x2:
                        order.append((i, j))
        return order

    @staticmethod
    def _mask_bits(fn: Any, template: Any, w: int, s: int) -> int:
        bits = 0
        for i in range(w):
            for j in range(w):
                if template[i][j] == 0x2 and fn(i, j):
                    bits |= 1 << (i * s + j)
        return bits

    def _validity(self, w: int, s: int) -> None:
        def select(cond: Any) -> int:
            bits = 0
            for i in range(w):
                for j in range(w):
                    if cond(i, j):
                        bits |= 1 << (i * s + j)
            return bits

        self.valid = select(lambda i, j: True)
        self.h_pair = select(lambda i, j: j < w - 1)
        self.v_pair = select(lambda i, j: i < w - 1)
        self.h_seven = select(lambda i, j: j <= w - 7)
        self.v_seven = select(lambda i, j: i <= w - 7)


@functools.cache
def _layout(base: Internals, version: int) -> _Layout:
    return _Layout(base, version)


# ---------------------------------------------------------------------------- penalty

def _runs_penalty(eq: int, step: int) -> int:
    """N1 from the "equal to the next module" bits ``eq`` along one direction."""
    five = eq & (eq >> step) & (eq >> 2 * step) & (eq >> 3 * step)
    if not five:
        return 0
    starts = five & ~(five << step)
    return five.bit_count() + 2 * starts.bit_count()


def _finder_like(x: int, light: int, step: int, valid: int) -> int:
    """N3 along one direction, counted exactly as segno counts it."""
    pattern = (x & (light >> step) & (x >> 2 * step) & (x >> 3 * step) & (x >> 4 * step)
               & (light >> 5 * step) & (x >> 6 * step) & valid)
    if not pattern:
        return 0
    dark_before = (x << step) | (x << 2 * step) | (x << 3 * step) | (x << 4 * step)
    dark_after = (x >> 7 * step) | (x >> 8 * step) | (x >> 9 * step) | (x >> 10 * step)
    counts = pattern & ~(dark_before & dark_after)
    # After a counted match the search resumes 7 modules on, so a counted match that
    # overlaps an earlier counted one (4 or 6 modules later) is not looked at.
    if not counts & ((counts << 4 * step) | (counts << 6 * step)):
        return 40 * counts.bit_count()
    counted: set[int] = set()
    while counts:
        low = counts & -counts
        p = low.bit_length() - 1
        counts ^= low
        if (p - 4 * step) not in counted and (p - 6 * step) not in counted:
            counted.add(p)
    return 40 * len(counted)


def _penalty(x: int, lay: _Layout) -> int:
    s = lay.stride
    diff_h = x ^ (x >> 1)
    diff_v = x ^ (x >> s)
    eq_h = ~diff_h & lay.h_pair
    eq_v = ~diff_v & lay.v_pair
    n1 = _runs_penalty(eq_h, 1) + _runs_penalty(eq_v, s)
    n2 = 3 * (eq_h & eq_v & (eq_h >> s)).bit_count()
    light = lay.valid ^ x
    n3 = (_finder_like(x, light, 1, lay.h_seven) + _finder_like(x, light, s, lay.v_seven))
    percent = float(x.bit_count()) / (lay.width ** 2)
    n4 = 10 * int(abs(percent * 100 - 50) / 5)
    return n1 + n2 + n3 + n4


# ---------------------------------------------------------------------------- encode

def _payload_bytes(payload: str) -> tuple[bytes, bool]:
    """The bytes to encode, and whether they need the UTF-8 ECI designator."""
    try:
        return payload.encode("iso-8859-1"), False
    except UnicodeError:
        return payload.encode("utf-8"), True


# QR modes (ISO/IEC 18004 7.4): indicator, character-count bits per version class (1-9,
# 10-26, 27-40), cost of one character in sixths of a bit (numeric 10 bits per 3 digits,
# alphanumeric 11 per 2 characters, byte 8).
_MODES = {"n": (0b0001, (10, 12, 14), 20), "a": (0b0010, (9, 11, 13), 33),
          "b": (0b0100, (8, 16, 16), 48)}
_CLASSES = ((1, 9), (10, 26), (27, 40))
_DIGITS = frozenset(b"0123456789")
_ALNUM_VALUE = {c: i for i, c in enumerate(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")}
Segments = list[tuple[str, bytes]]


def _cci(mode: str, version: int) -> int:
    return _MODES[mode][1][0 if version < 10 else 1 if version < 27 else 2]


# a translate table: each byte to its class (0 digit, 1 other alphanumeric, 2 byte)
_CLASS_OF = bytes(0 if b in _DIGITS else 1 if b in _ALNUM else 2 for b in range(256))
_CLASS_RUNS = re.compile(rb"\x00+|\x01+|\x02+")
_UNITS = (20, 33, 48)
_NAMES = "nab"


def _runs(data: bytes) -> list[tuple[int, int]]:
    """``data`` as runs of characters of one class (0 digit, 1 other alphanumeric, 2
    byte): (class, length)."""
    return [(m.group()[0], m.end() - m.start())
            for m in _CLASS_RUNS.finditer(data.translate(_CLASS_OF))]


def segment(data: bytes, version: int) -> Segments:
    """The split of ``data`` into numeric, alphanumeric and byte segments that needs the
    fewest bits in a symbol of ``version``'s class: a shortest path over (run of
    characters of one class, mode) where a new segment costs its mode indicator and
    character count (a segment boundary inside such a run never saves bits: the cost is
    linear along it).  An EMV payload is mostly digits and upper-case letters; a UPI URI's
    upper-cased bill URL is alphanumeric: those runs cost 3.3 or 5.5 bits a character
    instead of 8."""
    head = tuple(6 * (4 + _cci(m, version)) for m in _NAMES)
    big = 1 << 40
    runs = _runs(data)
    first, length = runs[0]
    cost = [head[m] + _UNITS[m] * length if m >= first else big for m in range(3)]
    back: list[tuple[int, int, int]] = []
    for low, length in runs[1:]:  # modes from ``low`` up can hold the run
        best = min(range(3), key=cost.__getitem__)
        came = [0, 0, 0]
        new = [big, big, big]
        for m in range(low, 3):
            stay, switch = cost[m], cost[best] + head[m]
            if stay <= switch:
                new[m], came[m] = stay + _UNITS[m] * length, m
            else:
                new[m], came[m] = switch + _UNITS[m] * length, best
        back.append((came[0], came[1], came[2]))
        cost = new
    modes = [min(range(3), key=cost.__getitem__)]
    for came3 in reversed(back):
        modes.append(came3[modes[-1]])
    modes.reverse()
    out: Segments = []
    pos = 0
    for (_, length), mode in zip(runs, modes, strict=True):
        if out and out[-1][0] == _NAMES[mode]:
            out[-1] = (out[-1][0], out[-1][1] + data[pos:pos + length])
        else:
            out.append((_NAMES[mode], data[pos:pos + length]))
        pos += length
    return out


def _segment_bits(mode: str, chunk: bytes) -> tuple[int, int]:
    """The data bits of one segment (without indicator and count) and their number."""
    if mode == "b":
        return int.from_bytes(chunk, "big"), 8 * len(chunk)
    value = bits = 0
    if mode == "n":
        for i in range(0, len(chunk), 3):
            group = chunk[i:i + 3]
            width = (4, 7, 10)[len(group) - 1]
            value, bits = value << width | int(group), bits + width
        return value, bits
    for i in range(0, len(chunk), 2):
        pair = chunk[i:i + 2]
        if len(pair) == 2:
            pair_value = 45 * _ALNUM_VALUE[pair[0]] + _ALNUM_VALUE[pair[1]]
            value, bits = value << 11 | pair_value, bits + 11
        else:
            value, bits = value << 6 | _ALNUM_VALUE[pair[0]], bits + 6
    return value, bits


def _bitstream(segs: Segments, version: int, eci: bool) -> tuple[int, int]:
    """The data bit stream (ECI designator, then each segment) as (value, length)."""
    value, bits = (0b0111 << 8 | _UTF8_ECI, 12) if eci else (0, 0)
    for mode, chunk in segs:
        body, nbody = _segment_bits(mode, chunk)
        cci = _cci(mode, version)
        value = (((value << 4 | _MODES[mode][0]) << cci | len(chunk)) << nbody) | body
        bits += 4 + cci + nbody
    return value, bits


def _plan(base: Internals, data: bytes, eci: bool) -> tuple[int, int, Segments]:
    """Smallest version at level M (segments chosen per version class), then the best
    level that fits that version.  UTF-8 text (behind an ECI) stays one byte segment."""
    for low, high in _CLASSES:
        segs = [("b", data)] if eci else segment(data, low)
        need = _bitstream(segs, low, eci)[1]
        for version in range(low, high + 1):
            if base.capacity[version][base.error_m] >= need:
                error = base.error_m
                for level in (base.error_q, base.error_h):
                    if base.capacity[version][level] < need:
                        break
                    error = level
                return version, error, segs
    raise RenderError(f"payload of {len(data)} bytes does not fit in a QR code",
                      code="payload_too_long")


def _data_codewords(base: Internals, segs: Segments, version: int, error: int,
                    eci: bool) -> bytes:
    capacity = base.capacity[version][error]
    value, bits = _bitstream(segs, version, eci)
    tail = min(capacity - bits, 4)  # terminator
    tail += 8 - ((bits + tail) % 8)  # to the codeword boundary (a whole byte if aligned)
    value <<= tail
    bits += tail
    words = value.to_bytes(bits // 8, "big")
    npad = capacity // 8 - bits // 8
    if npad > 0:
        words += (b"\xec\x11" * (npad // 2 + 1))[:npad]
    return words[:capacity // 8]


def segments_for(payload: str) -> list[tuple[str, int]]:
    """The segments :func:`encode` writes for ``payload``, as ``segno.make`` takes them
    (text, segno mode number): for tests that compare with segno."""
    data, eci = _payload_bytes(payload)
    base = internals()
    if base is None:
        return [(payload, 4)]
    segs = _plan(base, data, eci)[2]
    codec = "utf-8" if eci else "iso-8859-1"
    return [(chunk.decode(codec), _MODES[mode][0]) for mode, chunk in segs]


@functools.cache
def _interleave(base: Internals, version: int, error: int
                ) -> tuple[Any, Any, tuple[tuple[int, int], ...]]:
    """Getters that interleave the concatenated data and ECC blocks, and the blocks'
    (data length, ECC length)."""
    blocks = tuple((info.num_data, info.num_total - info.num_data)
                   for info in base.ecc[version][error] for _ in range(info.num_blocks))

    def order(lengths: list[int]) -> Any:
        starts = [sum(lengths[:k]) for k in range(len(lengths))]
        idx = [starts[b] + i for i in range(max(lengths))
               for b in range(len(lengths)) if i < lengths[b]]
        return operator.itemgetter(*idx)

    return (order([d for d, _ in blocks]), order([e for _, e in blocks]), blocks)


def _final_message(base: Internals, words: bytes, version: int, error: int) -> bytes:
    data_order, ecc_order, blocks = _interleave(base, version, error)
    ecc = bytearray()
    pos = 0
    for n_data, n_ecc in blocks:
        ecc += _rs_remainder(words[pos:pos + n_data], n_ecc)
        pos += n_data
    return bytes(data_order(words)) + bytes(ecc_order(ecc))


def _matrix(x: int, lay: _Layout) -> tuple[bytearray, ...]:
    w, s = lay.width, lay.stride
    text = format(x, f"0{lay.nbits}b")[::-1].encode("ascii")
    return tuple(bytearray(text[i * s:i * s + w].translate(_FROM_ASCII)) for i in range(w))


_FROM_ASCII = bytes.maketrans(b"01", b"\x00\x01")


def encode(payload: str) -> segno.QRCode:
    """The QR symbol for ``payload``: what ``segno.make(payload, error="m", micro=False,
    eci=True)`` gives, computed quickly.  Returns a :class:`segno.QRCode`.

    Text that ISO-8859-1 cannot hold (Bengali, Devanagari) is written as UTF-8 behind an
    ECI designator (26): without it zbar reads the bytes as Shift_JIS.
    """
    data, eci = _payload_bytes(payload)
    if data.isdigit() or (data and all(b in _ALNUM for b in data)):
        return segno.make(payload, error="m", micro=False)
    base = internals()
    if base is None:  # this segno lacks what the fast path needs: its own (slower) way
        return segno.make(payload, error="m", micro=False, eci=True)
    version, error, segs = _plan(base, data, eci)
    lay = _layout(base, version)
    message = _final_message(base, _data_codewords(base, segs, version, error, eci),
                             version, error)
    bits = format(int.from_bytes(message, "big"), f"0{8 * len(message)}b")
    bits += "0" * (lay.capacity_bits - len(bits)) + "01"
    x = int("".join(lay.gather(bits)), 2)
    best_mask, best_score = 0, -1
    for number, mask in enumerate(lay.masks):
        score = _penalty(x ^ mask, lay)
        if best_score < 0 or score < best_score:
            best_mask, best_score = number, score
    matrix = _matrix(x ^ lay.masks[best_mask], lay)
    base.add_format_info(matrix, version, error, best_mask)
    base.add_version_info(matrix, version)
    return base.qrcode(_Code(matrix, version, error, best_mask,
                             tuple(_Segment(_MODES[m][0]) for m, _ in segs)))


# ---------------------------------------------------------------------------- output

def make_symbol(payload: str) -> segno.QRCode:
    """The symbol for a payment payload (ECC M or better, no Micro QR)."""
    if not isinstance(payload, str) or not payload:
        raise RenderError("a QR payload must be non-empty text", code="empty_payload")
    return encode(payload)


def save_png(payload: str, out: str | os.PathLike[str] | IO[bytes], *, scale: int = 8,
             symbol: segno.QRCode | None = None) -> None:
    """Write a PNG (``scale`` pixels per module, 4-module quiet zone)."""
    (symbol or make_symbol(payload)).save(_target(out), kind="png", scale=scale,
                                          border=QUIET_ZONE)


def save_svg(payload: str, out: str | os.PathLike[str] | IO[bytes], *, scale: float = 1,
             unit: str | None = None, symbol: segno.QRCode | None = None) -> None:
    """Write an SVG (one path, 4-module quiet zone); ``unit="mm"`` with ``scale=0.4``
    gives a print-size drawing."""
    (symbol or make_symbol(payload)).save(_target(out), kind="svg", scale=scale, unit=unit,
                                          border=QUIET_ZONE)


def _target(out: str | os.PathLike[str] | IO[bytes]) -> str | IO[bytes]:
    return os.fspath(out) if isinstance(out, os.PathLike) else out


def png_bytes(payload: str, *, scale: int = 8) -> bytes:
    buf = io.BytesIO()
    save_png(payload, buf, scale=scale)
    return buf.getvalue()


def _rects(matrix: Any) -> str:
    """PDF ``re`` operators, in module units with y up, one per horizontal dark run."""
    ops = []
    w = len(matrix)
    table = _run_ops(w)
    for i, row in enumerate(matrix):
        line = bytes(row).translate(_TO_ASCII).decode("ascii")
        ops.append(" ".join([table[m.span()] for m in _RUNS.finditer(line)])
                   .replace("Y", str(w - 1 - i)))
    return "\n".join(ops)


@functools.cache
def _run_ops(w: int) -> dict[tuple[int, int], str]:
    """``re`` operator text for every run (start, end) of a row, ``Y`` for its row."""
    return {(a, b): f"{a} Y {b - a} 1 re" for a in range(w) for b in range(a + 1, w + 1)}


_TO_ASCII = bytes.maketrans(b"\x00\x01", b"01")
_MM = 72 / 25.4


def draw(canvas: Any, payload: str, x: float, y: float, *,
         module_mm: float = DEFAULT_MODULE_MM, symbol: segno.QRCode | None = None) -> float:
    """Draw the symbol as vectors on a reportlab canvas, its quiet zone's lower-left
    corner at (``x``, ``y``).  The quiet zone is painted white.  Returns the side in
    points, quiet zone included.  ``module_mm`` below 0.4 is refused (print guidance)."""
    if module_mm < DEFAULT_MODULE_MM:
        raise RenderError(f"module size {module_mm} mm is below 0.4 mm", code="module_too_small")
    sym = symbol or make_symbol(payload)
    matrix = sym.matrix
    module = module_mm * _MM
    side = (len(matrix) + 2 * QUIET_ZONE) * module
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, side, side, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.translate(x + QUIET_ZONE * module, y + QUIET_ZONE * module)
    canvas.scale(module, module)
    canvas.addLiteral(_rects(matrix) + "\nf")
    canvas.restoreState()
    return side


# ---------------------------------------------------------------------------- decode

ZXING_TARGET_SIDE = 1200  # a blurred image smaller than this is upscaled before sharpening


def decode_image(image: Any) -> list[str]:
    """Every QR payload in ``image`` (a path, a file or a PIL image): the one reader of
    the CLI (``qrpay qr decode|check``, PDF pages too) and the desk's photo upload.

    zxing-cpp first: it reads blurred, tilted and perspective-distorted phone photos that
    zbar misses (``bench/qr_camera.py``); a blurred image is tried again upscaled twice and
    sharpened.  Then pyzbar, which is weak at about 2 pixels per module: when nothing is
    found at the original size the image is tried again with a white margin and upscaled
    2, 3 and 4 times (nearest neighbour, which keeps module edges sharp).
    """
    from PIL import Image

    img = image if isinstance(image, Image.Image) else Image.open(image)
    gray = img.convert("L")
    return read_zxing(gray) or read_zbar(gray)


def read_zxing(gray: Any) -> list[str]:
    """The QR texts zxing-cpp finds in a greyscale image, then in a sharpened copy."""
    import zxingcpp

    for candidate in (gray, _sharpened(gray)):
        results = zxingcpp.read_barcodes(
            candidate, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
        found = [r.text for r in results if r.valid and r.text]
        if found:
            return found
    return []


def _sharpened(gray: Any) -> Any:
    """Upscaled twice (when small) and unsharp-masked: recovers modules of about 3 px
    under a 1.5 px blur."""
    from PIL import Image, ImageFilter

    if max(gray.size) > ZXING_TARGET_SIDE:  # already large: sharpen only
        return gray.filter(ImageFilter.UnsharpMask(4, 300, 0))
    big = gray.resize((gray.width * 2, gray.height * 2), Image.Resampling.BICUBIC)
    return big.filter(ImageFilter.UnsharpMask(4, 300, 0))


def read_zbar(gray: Any) -> list[str]:
    """The QR texts pyzbar finds, with the margin and upscaled retries."""
    from PIL import Image, ImageOps
    from pyzbar import pyzbar

    attempts = [gray, ImageOps.expand(gray, border=max(8, min(gray.size) // 10), fill=255)]
    for factor in (2, 3, 4):
        big = attempts[1]
        attempts.append(big.resize((big.width * factor, big.height * factor),
                                   Image.Resampling.NEAREST))
    for candidate in attempts:
        found = pyzbar.decode(candidate, symbols=[pyzbar.ZBarSymbol.QRCODE])
        if found:
            return [_text(f.data) for f in found]
    return []


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("iso-8859-1")
