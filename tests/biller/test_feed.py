"""The on-demand queue thread shared by the biller writer and journal: every item put
is served, also after the thread ended for want of work and while it is ending."""

from __future__ import annotations

import queue
import threading
import time

from qrpay.biller.feed import Feed


def test_items_are_served_before_and_after_the_thread_ends_when_idle() -> None:
    served: list[int] = []
    ended = threading.Event()

    def take() -> list[int]:
        return [feed.queue.get(timeout=0.05)]

    def loop() -> None:
        for batch in feed.batches(take):
            served.extend(batch)
        ended.set()

    feed: Feed[int] = Feed("test-feed", loop)
    for i in range(3):
        feed.put(i)
    assert ended.wait(5)  # idle: the thread ends
    assert served == [0, 1, 2]
    ended.clear()
    feed.put(3)  # a new thread serves it
    assert ended.wait(5)
    assert served == [0, 1, 2, 3]


def test_an_item_put_while_the_thread_decides_to_end_is_served() -> None:
    served: list[int] = []
    first_empty = threading.Event()
    go_on = threading.Event()

    def take() -> list[int]:
        try:
            return [feed.queue.get(timeout=0.01)]
        except queue.Empty:
            if not first_empty.is_set():
                first_empty.set()
                go_on.wait(5)  # an item arrives between the empty take and the check
            raise

    def loop() -> None:
        for batch in feed.batches(take):
            served.extend(batch)

    feed: Feed[int] = Feed("test-feed", loop)
    feed.put(1)
    assert first_empty.wait(5)
    feed.put(2)
    go_on.set()
    deadline = time.monotonic() + 5
    while served != [1, 2] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert served == [1, 2]
