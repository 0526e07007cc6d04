"""Conversations as text: how ``qrpay chat`` prints them and how golden transcripts
(``tests/chat/golden/``, ``samples/chat/``) record them.

``> input`` lines are what the consumer sent; ``<`` lines what came back: for WhatsApp one
block per Graph API message (``[text]``, ``[buttons]``, ``[list: button]``, ``[document]``,
``[template]``) with its options as ``- id title (description)``; for USSD the gateway
answer as sent (``CON ...`` / ``END ...``).
"""

from __future__ import annotations

from typing import Any


def _body(tag: str, text: str) -> list[str]:
    lines = text.split("\n")
    return [f"< {tag} {lines[0]}".rstrip()] + [f"<   {line}".rstrip() for line in lines[1:]]


def whatsapp_lines(message: dict[str, Any]) -> list[str]:
    """One Graph API message (as sent to ``/messages``) as transcript lines."""
    kind = message.get("type")
    if kind == "text":
        return _body("[text]", message["text"]["body"])
    if kind == "document":
        doc = message["document"]
        return [f"< [document] {doc.get('filename', '')} {doc['link']}"]
    if kind == "template":
        t = message["template"]
        params = [p["text"] for c in t.get("components", []) for p in c.get("parameters", [])]
        return [f"< [template] {t['name']} ({t['language']['code']}) " + " | ".join(params)]
    inter = message["interactive"]
    if inter["type"] == "button":
        out = _body("[buttons]", inter["body"]["text"])
        out += [f"<   - {b['reply']['id']} {b['reply']['title']}"
                for b in inter["action"]["buttons"]]
        return out
    out = _body(f"[list: {inter['action']['button']}]", inter["body"]["text"])
    for section in inter["action"]["sections"]:
        for row in section["rows"]:
            extra = f" ({row['description']})" if row.get("description") else ""
            out.append(f"<   - {row['id']} {row['title']}{extra}")
    return out


def ussd_lines(answer: str) -> list[str]:
    lines = answer.split("\n")
    return [f"< {lines[0]}"] + [f"<   {line}" for line in lines[1:]]
