"""A queue served by one thread of its own, started on demand, that ends when idle.

The biller API's group-commit writer (:mod:`qrpay.biller.writer`) and its request
journal (:mod:`qrpay.biller.journal`) each take batches off such a queue.  ``put``
starts the thread when none runs; :meth:`Feed.batches`, the thread's loop, yields
what ``take`` gathers until ``take`` finds nothing (``queue.Empty``) and the queue is
still empty under the lock, when the thread ends.  An item put while the thread is
deciding to end is never stranded: ``put`` queues it before it looks for the thread,
and the thread looks at the queue again under the same lock.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Feed(Generic[T]):
    def __init__(self, name: str, target: Callable[[], None]) -> None:
        self.name = name
        self.queue: queue.Queue[T] = queue.Queue()
        self._target = target
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def put(self, item: T) -> None:
        self.queue.put(item)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._target, name=self.name,
                                                daemon=True)
                self._thread.start()

    def batches(self, take: Callable[[], list[T]]) -> Iterator[list[T]]:
        """``take()`` again and again, until it raises ``queue.Empty`` on an empty
        queue: then the thread is marked gone and the loop ends."""
        while True:
            try:
                batch = take()
            except queue.Empty:
                with self._lock:
                    if self.queue.empty():
                        self._thread = None
                        return
                continue
            yield batch
