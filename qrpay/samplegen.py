"""Synthetic bill files for demos, tests and benchmarks (deterministic for a seed).

``python -m qrpay.samplegen best 60 > samples/bills-best.csv`` wrote the shipped samples.
"""

from __future__ import annotations

import csv
import random
import sys
from collections.abc import Iterator
from typing import IO

from qrpay.digits import to_bengali
from qrpay.importer import COLUMNS, PRINT_COLUMNS
from qrpay.money import to_decimal_str

HI_GIVEN = ["राजेश", "सुनीता", "अमित", "प्रिया", "संजय", "कविता", "विक्रम", "श्रद्धा", "क्षितिज",
            "त्र्यंबक", "ज्ञानेश्वर", "पूजा", "अनिल", "स्मिता", "द्वारकानाथ", "उर्मिला"]
HI_FAMILY = ["शर्मा", "पाटील", "देशपांडे", "कुलकर्णी", "मिश्रा", "शुक्ल", "त्रिपाठी", "जोशी",
             "गुप्ता", "वर्मा", "चव्हाण", "श्रीवास्तव"]
HI_PLACES = ["दादर पश्चिम", "कुलाबा", "वडाला", "परेल", "सायन", "माहिम", "वरली", "भायखळा"]
BN_GIVEN = ["মোহাম্মদ", "রহিমা", "আব্দুল", "সুমাইয়া", "কৃষ্ণ", "শ্রাবন্তী", "জ্যোতির্ময়", "নাসরিন",
            "ক্ষিতীশ", "রফিকুল", "স্বপ্না", "আক্তারুজ্জামান", "দীপঙ্কর", "ফাতেমা"]
BN_FAMILY = ["হোসেন", "বেগম", "ইসলাম", "চৌধুরী", "রায়", "সরকার", "খাতুন", "ভট্টাচার্য", "মিয়া",
             "দাস"]
BN_PLACES = ["গল্লামারী", "নিরালা", "সোনাডাঙ্গা", "ধামরাই", "সাভার", "কেরানীগঞ্জ", "দৌলতপুর"]
CATEGORIES = ["domestic"] * 8 + ["commercial", "commercial", "small & medium", "agriculture",
                                 "public lamps", "public water works", "large & heavy"]


def _charges(total: int, rng: random.Random, country: str) -> str:
    if total <= 0:
        return ""
    fixed = min(total, rng.choice([5000, 7500, 10000]) if country == "IN" else 3000)
    duty = (total - fixed) * (16 if country == "IN" else 5) // 100
    energy = total - fixed - duty
    heads = [("energy", energy), ("fixed" if country == "IN" else "demand", fixed),
             ("duty" if country == "IN" else "vat", duty)]
    return ";".join(f"{h}={to_decimal_str(v)}" for h, v in heads)


def rows(profile: str, n: int, *, seed: int = 7, period: str = "2026-11",
         due: str = "2026-12-05", billers: tuple[str, ...] = ()) -> Iterator[dict[str, str]]:
    """Rows for ``profile`` (``best`` or ``breb``), with the awkward cases in the first ten."""
    rng = random.Random(seed)
    country = "IN" if profile == "best" else "BD"
    for i in range(n):
        if country == "IN":
            account = f"{1000000 + i // 20:07d}{i % 20:02d}"  # 20 consumers a book
            name = f"{rng.choice(HI_GIVEN)} {rng.choice(HI_FAMILY)}"
            address = f"{rng.randint(1, 400)}, {rng.choice(HI_PLACES)}, मुंबई"
            mobile = f"9{rng.randint(100000000, 999999999)}"
        else:
            for _ in range(4):  # draws the old random account digits took: rows stay as they were
                rng.randint(1, 9)
            account = _bd_account(i)
            name = f"{rng.choice(BN_GIVEN)} {rng.choice(BN_FAMILY)}"
            address = f"গ্রাম {rng.choice(BN_PLACES)}, বাড়ি {to_bengali(str(rng.randint(1, 300)))}"
            mobile = f"01{rng.choice('3456789')}{rng.randint(10000000, 99999999)}"
        history = [rng.randint(40, 600) for _ in range(12)]
        units = history[-1]
        amount = units * rng.choice([650, 780, 920]) + 5000 if country == "IN" else \
            units * rng.choice([542, 763, 870]) + 3000
        row = {
            "account_no": account, "name": name, "period": period,
            "amount": to_decimal_str(amount), "due_date": due,
            "bill_no": "", "biller": billers[i % len(billers)] if billers else "",
            "mobile": mobile, "category": rng.choice(CATEGORIES),
            "area": rng.choice(["urban", "urban", "rural"]) if country == "IN"
            else rng.choice(["rural", "rural", "urban", "agriculture"]),
            "units": str(units), "late_amount": "", "arrears": "0.00", "address": address,
            "language": "", "meter_no": "", "history": ";".join(map(str, history)),
            "charges": "", **dict.fromkeys(PRINT_COLUMNS, ""),
        }
        row["charges"] = _charges(amount, rng, country)
        if country == "BD":
            row["meter_no"] = f"0403{rng.randint(1, 6)}{rng.randint(0, 9999999):07d}"
        if i != 9:  # one bill without the optional print fields
            row.update(_print_fields(row, random.Random(f"{seed}-print-{i}"), country, period))
        _awkward(row, i, country)
        yield row


BD_BASES = (10423, 70141)  # circle, office, substation, feeder of two co-operatives' areas
BOOK_SIZE = 20


def _bd_account(i: int) -> str:
    """Consumers of the two co-operatives alternate; each co-operative's consumers fill
    billing books of BOOK_SIZE pages (book = digits 6-7, page = 8-9), as meter readers
    walk them.  The first is the source's own example, 104231245."""
    biller, j = i % 2, i // 2
    book = j // BOOK_SIZE
    base = BD_BASES[biller] + book // 88
    first_page = 45 if biller == 0 else 1
    return f"{base:05d}{12 + book % 88:02d}{first_page + j % BOOK_SIZE:02d}"


TARIFFS = {"IN": {"domestic": "LT I(B) Residential", "commercial": "LT II(A) Commercial",
                  "agriculture": "LT IV Agriculture", "large & heavy": "HT I Industrial",
                  "small & medium": "LT III Small industry"},
           "BD": {"domestic": "LT-A Residential", "commercial": "LT-E Commercial",
                  "agriculture": "LT-B Irrigation", "large & heavy": "MT-3 Industrial",
                  "small & medium": "LT-C1 Small industry"}}


def _print_fields(row: dict[str, str], rng: random.Random, country: str,
                  period: str) -> dict[str, str]:
    """Bill date, tariff, sanctioned load, meter readings and the last payment."""
    year, month = int(period[:4]), int(period[5:7])
    prev_year, prev_month = (year, month - 1) if month > 1 else (year - 1, 12)
    previous = rng.randint(1000, 40000)
    tariffs = TARIFFS[country]
    last = int(row["amount"].replace(".", "")) + rng.randint(-20000, 20000)
    return {
        "bill_date": f"{period}-20",
        "tariff": tariffs.get(row["category"], tariffs["commercial" if row["category"]
                                                       != "domestic" else "domestic"]),
        "sanctioned_load": rng.choice(["1", "2", "3.5", "5"] if country == "IN"
                                      else ["1", "2", "3"]),
        "previous_reading": str(previous),
        "previous_reading_date": f"{prev_year}-{prev_month:02d}-18",
        "present_reading": str(previous + int(row["units"])),
        "present_reading_date": f"{period}-18",
        "multiplier": "1",
        "last_payment": to_decimal_str(max(last, 10000)),
        "last_payment_date": f"{prev_year}-{prev_month:02d}-{rng.randint(1, 28):02d}",
    }


def _awkward(row: dict[str, str], i: int, country: str) -> None:
    if i == 1:  # nothing to pay this month: no consumption
        months = row["history"].split(";")[:-1] + ["0"]
        row.update(amount="0.00", charges="", history=";".join(months), units="0",
                   present_reading=row.get("previous_reading", ""))
    elif i == 2:  # credit balance carried forward
        row.update(amount="-125.50", charges="", arrears="-125.50")
    elif i == 3:  # a very long name
        row["name"] = (("श्री " if country == "IN" else "জনাব ") + " ".join([row["name"]] * 9))[:290]
    elif i == 4:  # English name, English bill
        row.update(name="Jonathan Fernandes-D'Souza" if country == "IN" else "Md. Abdur Rahman",
                   language="en")
    elif i == 5 and country == "BD":  # typed in Bengali digits
        row.update(account_no=to_bengali(row["account_no"]), amount=to_bengali(row["amount"]),
                   units=to_bengali(row["units"]), mobile=to_bengali(row["mobile"]))
    elif i == 5:  # Devanagari digits in the units and mobile
        from qrpay.digits import to_devanagari

        row.update(units=to_devanagari(row["units"]), mobile="+91 " + row["mobile"])
    elif i == 6:  # arrears included in the amount
        row["arrears"] = "1,250.00" if country == "IN" else "850.00"
        row["charges"] = ""
    elif i == 7:  # explicit late amount and Marathi for BEST
        row["late_amount"] = to_decimal_str(int(row["amount"].replace(".", "")) + 10000)
        if country == "IN":
            row["language"] = "mr"


def write_csv(out: IO[str], profile: str, n: int, **kw: object) -> None:
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows(profile, n, **kw):  # type: ignore[arg-type]
        writer.writerow(row)


if __name__ == "__main__":
    profile, count = sys.argv[1], int(sys.argv[2])
    billers = ("dhaka-pbs-1", "khulna-pbs") if profile == "breb" else ()
    write_csv(sys.stdout, profile, count, billers=billers)
