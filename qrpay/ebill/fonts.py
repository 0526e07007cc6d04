"""Fonts for bills: Noto Sans for Latin, Devanagari and Bengali, or the utility's own.

Lookup order for each font file: ``$QRPAY_FONTS``, the project's ``fonts/`` folder, then
Debian's ``fonts-noto-core`` (``/usr/share/fonts/truetype/noto``).  A ``fonts.toml`` in
the first two may map a role (``latin``, ``latin-bold``, ``deva``, ``deva-bold``,
``beng``, ``beng-bold``) to another TrueType file.  Font files are never committed.

Fonts load once per process (:func:`font`) and are shared by every bill it renders.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import uharfbuzz as hb

from qrpay.ebill.sfnt import TrueType
from qrpay.errors import RenderError

SYSTEM_DIR = Path("/usr/share/fonts/truetype/noto")
PROJECT_DIR = Path(__file__).resolve().parents[2] / "fonts"

DEFAULT_FILES = {
    "latin": "NotoSans-Regular.ttf",
    "latin-bold": "NotoSans-Bold.ttf",
    "deva": "NotoSansDevanagari-Regular.ttf",
    "deva-bold": "NotoSansDevanagari-Bold.ttf",
    "beng": "NotoSansBengali-Regular.ttf",
    "beng-bold": "NotoSansBengali-Bold.ttf",
}
# PDF resource names, fixed so a page's content never depends on which fonts a
# document happens to embed.
RESOURCE = {"latin": "FL", "latin-bold": "FLB", "deva": "FD", "deva-bold": "FDB",
            "beng": "FB", "beng-bold": "FBB"}


def search_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("QRPAY_FONTS"):
        dirs.append(Path(os.environ["QRPAY_FONTS"]))
    dirs += [PROJECT_DIR, SYSTEM_DIR]
    return dirs


def _overrides(directory: Path) -> dict[str, str]:
    path = directory / "fonts.toml"
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    return {str(k): str(v) for k, v in raw.get("fonts", raw).items()}


def font_path(role: str) -> Path:
    """The file for ``role``; RenderError ``font_missing`` when none is installed."""
    if role not in DEFAULT_FILES:
        raise RenderError(f"unknown font role {role!r}", code="font_missing")
    tried = []
    for directory in search_dirs():
        name = _overrides(directory).get(role, DEFAULT_FILES[role])
        path = directory / name
        tried.append(str(path))
        if path.is_file():
            return path
    raise RenderError(f"font for {role} not found (install Debian's fonts-noto-core or put "
                      f"the file in fonts/); tried {', '.join(tried)}", code="font_missing",
                      field=role)


@dataclass(eq=False)
class Font:
    """One loaded font: the file for embedding, and HarfBuzz objects for shaping."""

    role: str
    path: Path
    sfnt: TrueType
    hb_font: hb.Font
    to_unicode: dict[int, str]  # nominal glyph -> the character it draws

    @property
    def ps_name(self) -> str:
        return self.path.stem.replace(" ", "")

    def has(self, char: str) -> bool:
        return self.hb_font.get_nominal_glyph(ord(char)) is not None


def load_font(role: str, path: Path) -> Font:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RenderError(f"cannot read font {path}: {exc}", code="font_missing",
                          field=role) from exc
    sfnt = TrueType(data, name=str(path))
    face = hb.Face(hb.Blob(data))
    hb_font = hb.Font(face)
    reverse: dict[int, str] = {}
    for cp in sorted(face.unicodes):
        gid = hb_font.get_nominal_glyph(cp)
        if gid and gid not in reverse:
            reverse[gid] = chr(cp)
    return Font(role=role, path=path, sfnt=sfnt, hb_font=hb_font, to_unicode=reverse)


@cache
def font(role: str) -> Font:
    """The process-wide font for ``role``, loaded on first use."""
    return load_font(role, font_path(role))


SCRIPT_ROLE = {"deva": "deva", "beng": "beng", "latin": "latin"}


def role_for(script: str, bold: bool) -> str:
    base = SCRIPT_ROLE[script]
    return base + "-bold" if bold else base
