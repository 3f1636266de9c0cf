"""How work done elsewhere reaches the controller: ``post`` an event, and the clock type.

Worker threads (capture, sealing, printing, the code reader, device checks)
never touch the journey's state: they ``post`` an :data:`~kiosk.journey.Event`
and the controller dispatches it on one thread. The UI implements ``post``
with Kivy's ``Clock.schedule_once``; without a UI, :class:`EventQueue` holds
the events until :meth:`EventQueue.pump` dispatches them on the caller's thread.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from typing import Protocol

from kiosk.journey import Event

log = logging.getLogger(__name__)

#: Hands an event to the controller's thread (thread-safe).
Post = Callable[[Event], None]
#: Monotonic seconds (the journey's timers); tests pass their own.
Clock = Callable[[], float]


class Dispatcher(Protocol):
    """What :meth:`EventQueue.pump` feeds: the controller."""

    def dispatch(self, event: Event) -> None: ...


class EventQueue:
    """``post`` for running the controller without a UI (tests, tools, benchmarks): events
    wait in a queue until :meth:`pump` dispatches them on the caller's thread."""

    def __init__(self) -> None:
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()

    def __call__(self, event: Event) -> None:
        self.events.put(event)

    def pump(self, controller: Dispatcher, timeout: float = 0.0) -> int:
        """Dispatch what is queued (waiting up to ``timeout`` s for a first event); how many."""
        count = 0
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                event = self.events.get(timeout=max(remaining, 0)) if remaining > 0 and \
                    count == 0 else self.events.get_nowait()
            except queue.Empty:
                return count
            controller.dispatch(event)
            count += 1
