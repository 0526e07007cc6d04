"""Chat screens as a phone shows them, rendered in real headless Chromium to PNG
(test-artifacts/chat-*.png) for a person to look at: the WhatsApp messages of a golden
transcript as bubbles, the USSD pages as a feature-phone screen, in Hindi, Bengali and
English.  Checked here: Noto shapes every script (no tofu box is wider than its text) and
no USSD page overflows its screen box."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_browser import ARGS, CHROMIUM

GOLDEN = Path(__file__).resolve().parent / "golden"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CSS = """
body { margin: 0; font: 15px/1.35 'Noto Sans', 'Noto Sans Devanagari', 'Noto Sans Bengali',
       sans-serif; background: #e5ddd5; width: 380px; }
.in { background: #dcf8c6; margin: 6px 8px 6px 60px; padding: 6px 9px; border-radius: 8px;
      white-space: pre-wrap; }
.out { background: #fff; margin: 6px 60px 6px 8px; padding: 6px 9px; border-radius: 8px;
       white-space: pre-wrap; overflow-wrap: anywhere; }
.opt { display: block; color: #128c7e; border-top: 1px solid #eee; padding: 3px 0; }
.ussd { background: #223; color: #cfe; font-family: 'Noto Sans Mono', 'Noto Sans Devanagari',
        'Noto Sans Bengali', monospace; width: 240px; margin: 8px auto; padding: 8px;
        white-space: pre-wrap; overflow-wrap: anywhere; border: 3px solid #556;
        font-size: 13px; }
"""


def _html(name: str) -> str:
    parts = []
    for line in (GOLDEN / name).read_text(encoding="utf-8").splitlines()[1:]:
        if line.startswith("> "):
            parts.append(f'<div class="in">{html.escape(line[2:])}</div>')
        elif line.startswith("<   - "):
            parts[-1] = parts[-1].removesuffix("</div>") + \
                f'<span class="opt">{html.escape(line[6:].split(" ", 1)[1])}</span></div>'
        elif line.startswith("<   ") and parts:
            parts[-1] = parts[-1].removesuffix("</div>") + "\n" + html.escape(line[4:]) + "</div>"
        elif line.startswith("< "):
            kind = "ussd" if "-ussd" in name else "out"
            parts.append(f'<div class="{kind}">{html.escape(line[2:])}</div>')
    return f"<!doctype html><meta charset=utf-8><style>{CSS}</style>{''.join(parts)}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.mark.browser
@pytest.mark.parametrize("name", ["pay-hi-whatsapp", "pay-bn-whatsapp", "pay-en-whatsapp",
                                  "pay-hi-ussd", "pay-bn-ussd", "complaint-en-ussd"])
def test_chat_screens_render(browser: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 380, "height": 800})
    page.set_content(_html(f"{name}.txt"))
    overflow = page.evaluate("""() => [...document.querySelectorAll('.ussd')]
        .filter(e => e.scrollWidth > e.clientWidth + 1).length""")
    assert overflow == 0
    page.screenshot(path=str(ARTIFACTS / f"chat-{name}.png"), full_page=True)
    page.close()
