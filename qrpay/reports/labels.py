"""Wording of the reports and charts in English, Hindi and Bengali, and the digits each
report is written in (Bengali reports in Bengali digits, the others in ASCII digits as
KESCO and BEST publish theirs)."""

from __future__ import annotations

LANGS = ("en", "hi", "bn")

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "collections": "Collections", "mode": "Mode", "number": "Number",
        "amount": "Amount", "total": "Total", "digital_share": "Digital share",
        "target": "Target", "mom": "Month on month", "yoy": "Year on year",
        "settled": "Settled by the channels", "unsettled": "Not yet settled",
        "channel": "Channel", "day": "Day", "biller": "Biller", "category": "Category",
        "area": "Area", "counter": "Counter", "cashier": "Cashier",
        "per_day": "Collections per day by channel", "share": "Share by channel",
        "digital_vs_target": "Digital share against target",
        "arrears_by_area": "Arrears by area", "consumers": "Consumers",
        "arrears": "Arrears", "book": "Billing book", "bills": "Bills",
        "previous": "Previous month", "last_year": "Same month last year",
        "payments": "payments", "exceptions": "Open exceptions", "today": "Today",
        "month": "This month", "render_cycles": "Recent render cycles",
        "report_title": "Monthly collection report", "none": "(none)",
        "refunds_due": "Refunds due", "outcome": "Outcome", "payment": "Payment",
        "closed": "Closed", "file_line": "File: line", "txn": "Transaction",
    },
    "hi": {
        "collections": "संग्रह", "mode": "भुगतान का तरीका", "number": "संख्या",
        "amount": "राशि", "total": "कुल", "digital_share": "डिजिटल हिस्सा",
        "target": "लक्ष्य", "mom": "पिछले महीने से", "yoy": "पिछले साल से",
        "settled": "चैनलों से निपटान हुआ", "unsettled": "निपटान बाकी",
        "channel": "चैनल", "day": "दिन", "biller": "बिलर", "category": "श्रेणी",
        "area": "क्षेत्र", "counter": "काउंटर", "cashier": "कैशियर",
        "per_day": "चैनल के अनुसार प्रतिदिन संग्रह", "share": "चैनल के अनुसार हिस्सा",
        "digital_vs_target": "डिजिटल हिस्सा बनाम लक्ष्य",
        "arrears_by_area": "क्षेत्र के अनुसार बकाया", "consumers": "उपभोक्ता",
        "arrears": "बकाया", "book": "बिलिंग बुक", "bills": "बिल",
        "previous": "पिछला महीना", "last_year": "पिछले साल का यही महीना",
        "payments": "भुगतान", "exceptions": "खुले अपवाद", "today": "आज",
        "month": "इस महीने", "render_cycles": "हाल के बिल चक्र",
        "report_title": "मासिक संग्रह रिपोर्ट", "none": "(कुछ नहीं)",
        "refunds_due": "वापसी बाकी", "outcome": "परिणाम", "payment": "भुगतान",
        "closed": "बंद", "file_line": "फ़ाइल: पंक्ति", "txn": "लेन-देन",
    },
    "bn": {
        "collections": "আদায়", "mode": "পরিশোধের মাধ্যম", "number": "সংখ্যা",
        "amount": "টাকার পরিমাণ", "total": "মোট", "digital_share": "ডিজিটাল অংশ",
        "target": "লক্ষ্য", "mom": "আগের মাসের তুলনায়", "yoy": "আগের বছরের তুলনায়",
        "settled": "চ্যানেল থেকে নিষ্পত্তি হয়েছে", "unsettled": "নিষ্পত্তি বাকি",
        "channel": "চ্যানেল", "day": "দিন", "biller": "বিলার", "category": "শ্রেণি",
        "area": "এলাকা", "counter": "কাউন্টার", "cashier": "ক্যাশিয়ার",
        "per_day": "চ্যানেল অনুযায়ী দৈনিক আদায়", "share": "চ্যানেল অনুযায়ী অংশ",
        "digital_vs_target": "ডিজিটাল অংশ বনাম লক্ষ্য",
        "arrears_by_area": "এলাকা অনুযায়ী বকেয়া", "consumers": "গ্রাহক",
        "arrears": "বকেয়া", "book": "বিলিং বই", "bills": "বিল",
        "previous": "আগের মাস", "last_year": "আগের বছরের একই মাস",
        "payments": "পরিশোধ", "exceptions": "খোলা ব্যতিক্রম", "today": "আজ",
        "month": "এই মাসে", "render_cycles": "সাম্প্রতিক বিল চক্র",
        "report_title": "মাসিক আদায় প্রতিবেদন", "none": "(কিছু নেই)",
        "refunds_due": "ফেরত বাকি", "outcome": "ফলাফল", "payment": "পরিশোধ",
        "closed": "বন্ধ", "file_line": "ফাইল: লাইন", "txn": "লেনদেন",
    },
}

# Payment modes as KESCO reports them; en, hi, bn.
MODES: dict[str, tuple[str, str, str]] = {
    "card": ("Credit/debit card", "क्रेडिट/डेबिट कार्ड", "ক্রেডিট/ডেবিট কার্ড"),
    "netbanking": ("Net banking", "नेट बैंकिंग", "নেট ব্যাংকিং"),
    "wallet": ("E-wallet", "ई वॉलेट आदि", "ই-ওয়ালেট"),
    "upi": ("UPI", "यूपीआई", "ইউপিআই"),
    "mfs": ("Mobile financial service", "मोबाइल वॉलेट", "মোবাইল ব্যাংকিং"),
    "cash": ("Cash (counter)", "नकद (काउंटर)", "নগদ (কাউন্টার)"),
    "cheque": ("Cheque / DD (counter)", "चेक / डीडी (काउंटर)", "চেক / ডিডি (কাউন্টার)"),
    "other": ("Other", "अन्य", "অন্যান্য"),
}
MODE_ALIASES = {
    "card": "card", "credit_card": "card", "debit_card": "card", "credit": "card",
    "debit": "card", "emi": "card", "netbanking": "netbanking", "net_banking": "netbanking",
    "nb": "netbanking", "wallet": "wallet", "paylater": "wallet", "app": "wallet",
    "upi": "upi", "cash": "cash", "cheque": "cheque", "dd": "cheque", "mfs": "mfs",
}
MFS_CHANNELS = {"bkash", "rocket", "nagad", "upay", "gpay", "surecash", "mycash"}

CATEGORIES: dict[str, tuple[str, str, str]] = {
    "domestic": ("Domestic", "घरेलू", "আবাসিক"),
    "commercial": ("Commercial", "वाणिज्यिक", "বাণিজ্যিক"),
    "public lamps": ("Public lamps", "सार्वजनिक प्रकाश", "রাস্তার বাতি"),
    "small & medium": ("Small & medium", "लघु एवं मध्यम", "ক্ষুদ্র ও মাঝারি"),
    "public water works": ("Public water works", "सार्वजनिक जल कार्य", "পানি সরবরাহ"),
    "large & heavy": ("Large & heavy", "बड़े एवं भारी", "বৃহৎ ও ভারী"),
    "agriculture": ("Agriculture", "कृषि", "কৃষি"),
    "industrial": ("Industrial", "औद्योगिक", "শিল্প"),
    "institutional": ("Institutional", "संस्थागत", "প্রাতিষ্ঠানিক"),
    "": ("Not given", "अज्ञात", "অজানা"),
}
AREAS: dict[str, tuple[str, str, str]] = {
    "rural": ("Rural", "ग्रामीण", "গ্রামীণ"), "urban": ("Urban", "शहरी", "শহর"),
    "agriculture": ("Agriculture", "कृषि", "কৃষি"), "": ("Not given", "अज्ञात", "অজানা"),
}


def word(lang: str, key: str) -> str:
    return WORDS.get(lang, WORDS["en"]).get(key) or WORDS["en"][key]


def _pick(table: dict[str, tuple[str, str, str]], key: str, lang: str) -> str:
    names = table.get(key)
    if names is None:
        return key
    return names[LANGS.index(lang)] if lang in LANGS else names[0]


def mode_key(mode: str, channel: str) -> str:
    """The reporting mode of a payment: the channel's method when it says one, counter
    payments by their mode, Bangladeshi wallets as mobile financial services."""
    key = MODE_ALIASES.get((mode or "").strip().lower())
    if key:
        return key
    if channel in MFS_CHANNELS:
        return "mfs"
    return "other"


def mode_label(key: str, lang: str) -> str:
    return _pick(MODES, key, lang)


def category_label(key: str, lang: str) -> str:
    return _pick(CATEGORIES, key, lang)


def area_label(key: str, lang: str) -> str:
    return _pick(AREAS, key, lang)


def numerals_for(lang: str) -> str:
    return "beng" if lang == "bn" else "latn"
