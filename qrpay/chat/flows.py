"""Flows as data: ``templates/chat/flows/*.toml`` (menus and steps) and
``templates/chat/text/<lang>.toml`` (wording), loaded and validated once at start-up.

Every problem is a :class:`FlowError` (a ``ConfigError``) whose message names the file,
the node and the field: ``flows/pay_bill.toml: node 'bill' field 'options[0].next':
unknown node 'pay_inn'``.  What is checked here: the schema version, the node fields and
their types, that every ``next`` names a node, every action and condition exists and every
outcome of an action leads somewhere, and that every text key (and each placeholder in
it) exists in each language asked for.  That every screen fits its channel once rendered
is checked by :func:`qrpay.chat.screens.check_fit`, which needs the channel renderers.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from qrpay.errors import ConfigError
from qrpay.templating import templates_dir

SCHEMA_VERSION = 1
NODE_TYPES = ("menu", "ask", "say")
INPUTS = ("consumer_no", "mobile", "ticket", "text")
CONDITIONS = ("ask_area", "has_phone", "country_in", "country_bd")
OPTION_SOURCES = ("accounts", "past_bills", "languages")
START = "main"

#: Every action and the outcomes it may return: the contract between the flow files
#: and :mod:`qrpay.chat.actions` (a test checks the two agree).
ACTION_OUTCOMES: dict[str, frozenset[str]] = {
    "lookup_consumer": frozenset({"found", "paid", "not_found"}),
    "lookup_own_mobile": frozenset({"found", "paid", "several", "not_found"}),
    "lookup_mobile": frozenset({"found", "paid", "several", "not_found"}),
    "choose_account": frozenset({"found", "paid"}),
    "pay": frozenset({"in", "bd"}),
    "past_of_account": frozenset({"found"}),
    "send_past_bill": frozenset({"sent"}),
    "file_complaint": frozenset({"done"}),
    "complaint_status": frozenset({"found", "not_found"}),
    "callback_request": frozenset({"done"}),
    "set_language": frozenset({"done"}),
    "resume": frozenset({"done"}),
}

#: Placeholders the wording may use (values come from :mod:`qrpay.chat.engine`).
PLACEHOLDERS = frozenset({
    "biller_name", "helpline", "account_no", "bill_no", "period", "amount", "due_date",
    "status", "receipt", "upi_link", "bill_link", "wallets", "ticket", "ticket_status",
    "category", "vpa", "wallet", "note",
})

#: Text keys the engine itself uses, beside those the nodes name.
UI_KEYS = ("language.self", "ui.choose", "ui.nav", "ui.more", "ui.not_understood",
           "ui.old_menu", "ui.helpline", "ui.media", "ui.invalid_number", "ui.invalid_mobile",
           "past.row", "past.row_detail", "wallets.line", "complaint.update",
           "complaint.note",
           "confirm.paid",
           "status.unpaid", "status.part_paid", "status.paid", "status.credit",
           "status.nothing_due", "ticket_status.open", "ticket_status.assigned",
           "ticket_status.resolved", "category.callback")
CHANNELS = ("whatsapp", "ussd")

_NODE_FIELDS = {"type", "text", "options", "options_from", "select", "input", "action", "next",
                "when", "else"}
_OPTION_FIELDS = {"key", "label", "next", "action", "set", "when"}


class FlowError(ConfigError):
    code = "bad_flow"


@dataclass(frozen=True)
class Step:
    """Where a choice or an input leads: run ``action`` (if any), then go to ``next``,
    or to ``outcomes[result]`` when the action returns a result."""

    next: str | None = None
    action: str | None = None
    outcomes: dict[str, str] = field(default_factory=dict)
    set: dict[str, str] = field(default_factory=dict)

    def target(self, outcome: str | None) -> str:
        if outcome is not None and self.outcomes:
            return self.outcomes[outcome]
        assert self.next is not None
        return self.next


@dataclass(frozen=True)
class OptionDef:
    key: str
    label: str  # text key
    step: Step
    when: str | None = None


@dataclass(frozen=True)
class Node:
    name: str
    file: str
    type: str
    text: str
    options: tuple[OptionDef, ...] = ()
    options_from: str | None = None
    select: Step | None = None
    input: str | None = None
    step: Step | None = None  # an ask node's
    when: str | None = None
    otherwise: str | None = None


@dataclass(frozen=True)
class Flows:
    version: int
    nodes: dict[str, Node]
    texts: dict[str, dict[str, Any]]  # language -> nested tables
    root: Path

    def node(self, name: str) -> Node:
        return self.nodes[name]

    def text(self, lang: str, key: str, channel: str | None = None) -> str:
        """The wording of ``key`` in ``lang``; ``<key>_<channel>`` wins when present."""
        table = self.texts[lang]
        if channel:
            found = _lookup(table, f"{key}_{channel}")
            if isinstance(found, str):
                return found
        found = _lookup(table, key)
        if not isinstance(found, str):
            raise FlowError(f"text/{lang}.toml: no text {key!r}", code="missing_text",
                            field=key)
        return found

    def has_text(self, lang: str, key: str) -> bool:
        return isinstance(_lookup(self.texts.get(lang, {}), key), str)

    def greetings(self, lang: str) -> frozenset[str]:
        words = self.texts.get(lang, {}).get("greetings", [])
        return frozenset(str(w).casefold() for w in words)


def _lookup(table: dict[str, Any], key: str) -> Any:
    value: Any = table
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


class _Where:
    """File / node / field, for error messages."""

    def __init__(self, file: str, node: str = "") -> None:
        self.file, self.node = file, node

    def error(self, fld: str, message: str, code: str = "bad_flow") -> FlowError:
        where = f"{self.file}: node {self.node!r} field {fld!r}" if self.node else \
            f"{self.file}: field {fld!r}"
        return FlowError(f"{where}: {message}", code=code, field=fld, file=self.file,
                         node=self.node)


def _str(raw: dict[str, Any], key: str, where: _Where, fld: str,
         required: bool = False) -> str | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise where.error(fld, "is missing", "missing_field")
        return None
    if not isinstance(value, str) or not value:
        raise where.error(fld, f"must be a non-empty string, not {value!r}")
    return value


def _step(raw: dict[str, Any], where: _Where, fld: str) -> Step:
    action = _str(raw, "action", where, f"{fld}.action")
    nxt = raw.get("next")
    if isinstance(nxt, dict):
        outcomes = {str(k): str(v) for k, v in nxt.items()}
        if action is None:
            raise where.error(f"{fld}.next", "a table of outcomes needs an action")
        return Step(action=action, outcomes=outcomes, set=_set(raw, where, fld))
    if not isinstance(nxt, str) or not nxt:
        raise where.error(f"{fld}.next", "is missing (a node name, or a table of outcomes)",
                          "missing_field")
    if action is not None:
        raise where.error(f"{fld}.next", f"action {action!r} needs a table of outcomes")
    return Step(next=nxt, set=_set(raw, where, fld))


def _set(raw: dict[str, Any], where: _Where, fld: str) -> dict[str, str]:
    value = raw.get("set", {})
    if not isinstance(value, dict):
        raise where.error(f"{fld}.set", "must be a table")
    return {str(k): str(v) for k, v in value.items()}


def _option(raw: Any, where: _Where, fld: str) -> OptionDef:
    if not isinstance(raw, dict):
        raise where.error(fld, "must be a table")
    unknown = set(raw) - _OPTION_FIELDS
    if unknown:
        raise where.error(f"{fld}.{sorted(unknown)[0]}", "unknown field")
    key = _str(raw, "key", where, f"{fld}.key", required=True)
    label = _str(raw, "label", where, f"{fld}.label", required=True)
    assert key is not None and label is not None
    return OptionDef(key=key, label=label, step=_step(raw, where, fld),
                     when=_str(raw, "when", where, f"{fld}.when"))


def _node(name: str, raw: Any, file: str) -> Node:
    where = _Where(file, name)
    if not isinstance(raw, dict):
        raise where.error("", "must be a table")
    unknown = set(raw) - _NODE_FIELDS
    if unknown:
        raise where.error(sorted(unknown)[0], "unknown field")
    kind = _str(raw, "type", where, "type", required=True)
    if kind not in NODE_TYPES:
        raise where.error("type", f"must be one of {', '.join(NODE_TYPES)}, not {kind!r}")
    text = _str(raw, "text", where, "text", required=True)
    assert text is not None
    options_raw = raw.get("options", [])
    if not isinstance(options_raw, list):
        raise where.error("options", "must be a list")
    options = tuple(_option(o, where, f"options[{i}]") for i, o in enumerate(options_raw))
    node = Node(name=name, file=file, type=kind, text=text, options=options,
                options_from=_str(raw, "options_from", where, "options_from"),
                select=_step(raw["select"], where, "select") if "select" in raw else None,
                input=_str(raw, "input", where, "input"),
                step=_step(raw, where, "next") if kind == "ask" else None,
                when=_str(raw, "when", where, "when"), otherwise=_str(raw, "else", where, "else"))
    _check_shape(node, where)
    return node


def _check_shape(node: Node, where: _Where) -> None:
    if node.type == "menu" and not node.options and not node.options_from:
        raise where.error("options", "a menu needs options or options_from", "missing_field")
    if node.options_from is not None:
        if node.options_from not in OPTION_SOURCES:
            raise where.error("options_from", f"must be one of {', '.join(OPTION_SOURCES)}")
        if node.select is None:
            raise where.error("select", "options_from needs select", "missing_field")
    if node.type == "ask" and node.input not in INPUTS:
        raise where.error("input", f"must be one of {', '.join(INPUTS)}, not {node.input!r}")
    if node.type == "say" and node.options:
        raise where.error("options", "a say node has no options")
    if (node.when is None) != (node.otherwise is None):
        raise where.error("else" if node.when else "when", "when and else go together")


def _read_toml(path: Path, label: str) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise FlowError(f"{label}: {exc}", code="bad_toml", file=label) from exc


def _load_file(path: Path) -> dict[str, Node]:
    label = f"flows/{path.name}"
    raw = _read_toml(path, label)
    where = _Where(label)
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        raise where.error("schema_version", f"must be {SCHEMA_VERSION}, not {version!r}",
                          "bad_schema_version")
    nodes = raw.get("nodes")
    if not isinstance(nodes, dict) or not nodes:
        raise where.error("nodes", "no [nodes.<name>] tables", "missing_field")
    return {name: _node(name, value, label) for name, value in nodes.items()}


def _steps(node: Node) -> list[tuple[str, Step]]:
    out = [(f"options[{i}]", o.step) for i, o in enumerate(node.options)]
    if node.select:
        out.append(("select", node.select))
    if node.step:
        out.append(("next", node.step))
    return out


def _check_links(nodes: dict[str, Node]) -> None:
    if START not in nodes:
        raise FlowError(f"no node {START!r} (the main menu) in any flow file",
                        code="missing_node", field=START)
    for node in nodes.values():
        where = _Where(node.file, node.name)
        if node.otherwise and node.otherwise not in nodes:
            raise where.error("else", f"unknown node {node.otherwise!r}", "unknown_node")
        for cond, fld in [(node.when, "when")] + [(o.when, f"options[{i}].when")
                                                 for i, o in enumerate(node.options)]:
            if cond is not None and cond not in CONDITIONS:
                raise where.error(fld, f"unknown condition {cond!r}; known: "
                                  + ", ".join(CONDITIONS), "unknown_condition")
        for fld, step in _steps(node):
            _check_step(step, nodes, where, fld)


def _check_step(step: Step, nodes: dict[str, Node], where: _Where, fld: str) -> None:
    if step.action is not None:
        outcomes = ACTION_OUTCOMES.get(step.action)
        if outcomes is None:
            raise where.error(f"{fld}.action", f"unknown action {step.action!r}",
                              "unknown_action")
        missing = outcomes - set(step.outcomes)
        if missing:
            raise where.error(f"{fld}.next", f"action {step.action!r} may return "
                              f"{sorted(missing)[0]!r}: say where it leads", "missing_outcome")
    for target in [step.next, *step.outcomes.values()]:
        if target is not None and target not in nodes:
            raise where.error(f"{fld}.next", f"unknown node {target!r}", "unknown_node")


def _text_keys(node: Node) -> list[tuple[str, str]]:
    return [("text", node.text)] + [(f"options[{i}].label", o.label)
                                    for i, o in enumerate(node.options)]


def _check_texts(flows: Flows, languages: tuple[str, ...]) -> None:
    for lang in languages:
        if lang not in flows.texts:
            raise FlowError(f"text/{lang}.toml is missing: the biller lists {lang!r}",
                            code="missing_language", field=lang, file=f"text/{lang}.toml")
        for node in flows.nodes.values():
            for fld, key in _text_keys(node):
                _check_key(flows, lang, key, _Where(node.file, node.name), fld)
        for key in UI_KEYS:
            _check_key(flows, lang, key, _Where(f"text/{lang}.toml"), key)


def _check_key(flows: Flows, lang: str, key: str, where: _Where, fld: str) -> None:
    if not flows.has_text(lang, key):
        raise where.error(fld, f"no text {key!r} in text/{lang}.toml", "missing_text")
    for channel in ("", *CHANNELS):
        name = f"{key}_{channel}" if channel else key
        if flows.has_text(lang, name):
            for _, placeholder, _, _ in string.Formatter().parse(flows.text(lang, name)):
                if placeholder is not None and placeholder not in PLACEHOLDERS:
                    raise where.error(fld, f"text/{lang}.toml {name!r}: unknown placeholder "
                                      f"{{{placeholder}}}", "unknown_placeholder")


def chat_root() -> Path:
    return templates_dir() / "chat"


def load_flows(root: Path | None = None, languages: tuple[str, ...] = ("en",)) -> Flows:
    """Read and check every flow file and the wording for ``languages``."""
    root = root or chat_root()
    files = sorted((root / "flows").glob("*.toml"))
    if not files:
        raise FlowError(f"no flow files in {root / 'flows'}", code="missing_flows")
    nodes: dict[str, Node] = {}
    for path in files:
        for name, node in _load_file(path).items():
            if name in nodes:
                raise _Where(node.file, name).error(
                    "", f"node {name!r} is also defined in {nodes[name].file}", "duplicate_node")
            nodes[name] = node
    _check_links(nodes)
    texts = {p.stem: _read_toml(p, f"text/{p.name}")
             for p in sorted((root / "text").glob("*.toml"))}
    flows = Flows(version=SCHEMA_VERSION, nodes=nodes, texts=texts, root=root)
    _check_texts(flows, languages)
    return flows


@cache
def default_flows(languages: tuple[str, ...]) -> Flows:
    """The flows under ``templates/chat`` checked for ``languages``, loaded once."""
    return load_flows(None, languages)
