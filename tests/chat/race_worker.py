"""A separate worker process for the duplicate-delivery race (run as a script):
``python race_worker.py DB_URL BODY_FILE SIGNATURE GO_FILE``.  It builds its own chat
service on the same database, waits until GO_FILE exists, handles the webhook body once
and prints how many messages it answered."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from qrpay.chat.service import ChatService  # noqa: E402
from qrpay.chat.whatsapp import handle_webhook  # noqa: E402
from qrpay.config import load_config  # noqa: E402
from qrpay.store import open_store  # noqa: E402


def main() -> None:
    url, body_file, header, go = sys.argv[1:5]
    config = dataclasses.replace(load_config(ROOT / "samples" / "best.toml"), database_url=url)
    store = open_store(url, upgrade=False)
    service = ChatService(config, store)
    body = Path(body_file).read_bytes()
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.001)
    result = handle_webhook(service, body, header, os.environ["QRPAY_WHATSAPP_APP_SECRET"])
    print(result.answered, flush=True)
    store.dispose()


if __name__ == "__main__":
    main()
