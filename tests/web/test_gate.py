from __future__ import annotations

import threading
from pathlib import Path

from qrpay.store import open_store
from qrpay.web.gate import WriteGate


def test_sqlite_gate_excludes_another_process_holder(tmp_path: Path) -> None:
    # Two gates on one database stand for two server processes: each has its own
    # open file, so the flock between them behaves as between processes.
    store = open_store(f"sqlite:///{tmp_path / 'g.db'}")
    first, second = WriteGate(store), WriteGate(store)
    entered = threading.Event()

    def other_process() -> None:
        with second.held():
            entered.set()

    with first.held():
        t = threading.Thread(target=other_process)
        t.start()
        assert not entered.wait(0.3)
    t.join(timeout=10)
    assert entered.is_set()
    assert (tmp_path / "g.db.callbacks.lock").exists()
    store.dispose()

