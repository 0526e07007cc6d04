""""How to pay" from a wallet, for the bill page and the e-bill: per channel in the
biller's ``[billers.biller_api] howto`` list (default: the channels it takes that speak
the biller API), the app path and, when the channel has a ``ussd`` code, the USSD path,
with the account number to type.  Wording: ``templates/channels/<lang>.toml [howto]``.
Bangladeshi billers only (the paths are the wallets' "Pay Bill → Palli Bidyut" menus).
"""

from __future__ import annotations

from dataclasses import dataclass

from qrpay.biller.policy import api_profile
from qrpay.biller.wording import has_wording, say
from qrpay.bills import Bill
from qrpay.config import Biller, Config
from qrpay.digits import localise


@dataclass(frozen=True)
class HowTo:
    title: str
    lines: tuple[str, ...]


def _channels(config: Config, biller: Biller) -> list[str]:
    profile = api_profile(config)
    wanted = profile.policy(biller.code).howto or tuple(
        c for c in biller.channels if profile.channel(c) is not None)
    return [c for c in wanted if c in biller.channels]


def howto(config: Config, biller: Biller, bill: Bill, lang: str) -> HowTo | None:
    """The steps in ``lang`` (English when there is no wording for it), or None."""
    if biller.country != "BD":
        return None
    names = _channels(config, biller)
    if not names:
        return None
    if not has_wording(lang):
        lang = "en"
    numerals = "beng" if lang == "bn" else "latn"
    biller_name = biller.name_local if lang != "en" and biller.name_local else biller.name
    profile = api_profile(config)
    lines: list[str] = []
    for name in names:
        spec = config.channels.get(name)
        shown = spec.display_name if spec and spec.display_name else name
        api = profile.channel(name)
        values = {"channel": shown, "biller": biller_name,
                  "account": localise(bill.account_no, numerals)}
        lines.append(say(lang, "howto", "app", **values))
        if api is not None and api.ussd:
            lines.append(say(lang, "howto", "ussd", ussd=api.ussd, **values))
    return HowTo(title=say(lang, "howto", "title"), lines=tuple(lines))
