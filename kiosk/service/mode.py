"""The technician's service mode: entered with a badge and a PIN, only from the welcome screen.

No Kivy here (kiosk/ui/service.py draws :meth:`ServiceMode.view`). The mode
has three phases:

``CLOSED``  the citizens' kiosk; a badge shown to the code reader at the welcome
            screen (:meth:`ServiceMode.badge_shown`, called by the controller, never
            during a citizen's session) opens ``PIN``, a refused badge says why;
``PIN``     the PIN typed on the panel's keypad, checked by the gate
            (kiosk/service/access.py: signature, expiry, revocation from the fleet
            state, wrong PINs counted and locked out across restarts);
``OPEN``    the service pages: devices, printer, camera, code reader, outbox,
            network, storage, logs, version, out-of-order switch. Entering and
            leaving are logged with the badge holder's name and the time spent.

What each page shows comes from :class:`Pages` (kiosk/service/pages.py builds
it from the checks, the printer's test receipt, the camera gauges): a page's
rows are computed on the mode's worker thread, so a slow check (the network)
never freezes the touchscreen, and :meth:`ServiceMode.view` returns at once
with what is known so far. The mode leaves by itself after ``idle_s`` without
a touch (a technician called away must not leave the kiosk open).

The out-of-order switch (``status/service.json``) outlives the service mode
and a restart: while it is on, the citizens see a notice instead of the
welcome screen, and the heartbeat carries it to the back office.

The panel speaks French, the technicians' language; it is not translated.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from kiosk.service.model import (
    PAGE_TITLES,
    Act,
    Action,
    Button,
    Level,
    Page,
    Pages,
    Phase,
    Row,
    View,
)
from kiosk.service.switch import Switch, load, save
from kiosk.service.texts import (
    OUT_OF_ORDER_LABELS,
    OUT_OF_ORDER_REASONS,
    OutOfOrderReason,
    refusal_text,
)

log = logging.getLogger(__name__)

#: A service mode nobody touches for this long closes (seconds): long enough to fetch paper
#: from a cupboard, short enough that a kiosk left open is not left open for the next citizen.
IDLE_S = 600.0
#: The badge and PIN panel closes after this long without a touch (seconds).
PIN_IDLE_S = 90.0
#: PINs are 6 to 8 digits (deposit/badge.py).
PIN_MAX = 8


class Badge(Protocol):
    @property
    def badge_id(self) -> str: ...
    @property
    def holder(self) -> str: ...


class Gate(Protocol):
    """kiosk/service/access.py's ServiceGate, as the mode uses it."""

    def read_badge(self, text: str) -> Any: ...
    def check_pin(self, badge: Any, pin: str) -> None: ...
    def locked_until(self) -> float | None: ...



class ServiceMode:
    """The service mode's state and its worker (see the module docstring).

    ``changed`` is called (from any thread) when the view changed: the UI schedules a
    redraw. ``wall_clock`` dates the out-of-order switch; ``clock`` times idleness.
    """

    def __init__(self, gate: Gate | None, pages: Pages, status_dir: Path, *,
                 changed: Callable[[], None] = lambda: None,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 idle_s: float = IDLE_S,
                 is_badge: Callable[[str], bool] = lambda text: False) -> None:
        self.gate = gate
        #: Whether a code's text is a technician's badge (deposit/badge.py's prefix).
        self.is_badge = is_badge
        #: Whether the citizens' side allows entering now (the composition root sets it: the
        #: welcome screen, no dialog open).
        self.can_enter: Callable[[], bool] = lambda: True
        self.pages = pages
        self.status_dir = status_dir
        self.changed = changed
        self._clock = clock
        self._wall = wall_clock
        self.idle_s = idle_s
        self._lock = threading.RLock()
        self._jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="service")
        self._switch_state = load(status_dir)
        self._view = View(Phase.CLOSED, out_of_order=self._switch_state.reason)
        self._badge: Any = None
        self._pin = ""
        self._entered_at = 0.0
        self._touched = 0.0
        self._rows: dict[Page, tuple[Row, ...]] = {}
        self._results: dict[Page, tuple[Row, ...]] = {}
        self._refreshed: dict[Page, float] = {}
        self._pending: set[Page] = set()      # a refresh of the page's rows is queued
        self._running: set[Page] = set()      # a test of the page is running
        self._log_filter = "all"
        self._last_code: Row | None = None
        self._closed = False
        self._checking = False
        self._refused: str | None = None

    # ------------------------------------------------------------------ state

    @property
    def phase(self) -> Phase:
        return self._view.phase

    @property
    def active(self) -> bool:
        """The panel covers the citizens' screens (a badge is being checked, or service)."""
        return self._view.phase is not Phase.CLOSED

    @property
    def out_of_order(self) -> OutOfOrderReason | None:
        return self._view.out_of_order

    def view(self) -> View:
        """The panel's contents now (rows as known; pages due a refresh get one queued)."""
        with self._lock:
            view = self._view
            if view.phase is not Phase.OPEN:
                return replace(view, pin_length=len(self._pin))
            page = view.page
            self._refresh_if_due(page)
            rows: tuple[Row, ...]
            if page is Page.CODES:
                rows = (self._last_code or Row("Dernier code lu", "aucun : présentez un code "
                                               "au lecteur"),)
            elif page is Page.OUT_OF_ORDER:
                rows = self._switch_rows()
            else:
                rows = self._rows.get(page, ())
            rows = rows + self._results.get(page, ())
            return replace(view, title=PAGE_TITLES[page], rows=rows,
                           buttons=self._buttons(page), busy=page in self._running)

    def _buttons(self, page: Page) -> tuple[Button, ...]:
        if page is Page.HOME:
            return tuple(Button(Act.PAGE, PAGE_TITLES[p], p.value) for p in Page
                         if p is not Page.HOME)
        buttons = [Button(Act.RUN, a.label, a.name, primary=True)
                   for a in self.pages.actions.get(page, ())]
        if page is Page.LOGS:
            buttons += [Button(Act.FILTER, label, name) for name, label in
                        (("all", "Tout"), ("warning", "Avertissements"), ("error", "Erreurs"))]
        if page is Page.OUT_OF_ORDER:
            buttons += [Button(Act.OUT_OF_ORDER, OUT_OF_ORDER_LABELS[r], r.value,
                               primary=self._view.out_of_order is r)
                        for r in OutOfOrderReason]
            buttons.append(Button(Act.OUT_OF_ORDER, "Remettre en service", "",
                                  primary=self._view.out_of_order is None))
        if page in self.pages.rows or page is Page.LOGS:
            buttons.append(Button(Act.REFRESH, "Actualiser"))
        return tuple(buttons)

    # ------------------------------------------------------------------ entering

    def badge_shown(self, text: str) -> None:
        """A badge's code was read at the welcome screen (the controller checked the step)."""
        with self._lock:
            if self._view.phase is Phase.OPEN:
                return
            self._touched = self._clock()
            self._pin = ""
            if self.gate is None:
                self._badge = None
                self._view = View(Phase.PIN, notice="Ce kiosque n'est pas enrôlé : aucun badge "
                                  "ne peut être vérifié.", notice_level=Level.FAIL,
                                  out_of_order=self._view.out_of_order)
                log.warning("badge shown, but the kiosk is not enrolled: refused")
            else:
                try:
                    badge = self.gate.read_badge(text)
                except Exception as exc:  # the gate's refusals: said on the panel and logged
                    self._badge = None
                    self._refused = text          # the camera sees it again: said once
                    self._view = View(Phase.PIN,
                                      notice=f"Badge refusé : {refusal_text(exc, capital=False)}",
                                      notice_level=Level.FAIL,
                                      out_of_order=self._view.out_of_order,
                                      scanning=self._view.scanning)
                    log.warning("service badge refused: %s", exc)
                else:
                    self._stop_scan()
                    self._badge = badge
                    self._view = View(Phase.PIN, holder=badge.holder,
                                      notice=self._lock_notice() or "Tapez votre code PIN.",
                                      out_of_order=self._view.out_of_order)
                    log.info("service badge %s of %s read: PIN asked", badge.badge_id,
                             badge.holder)
        self.changed()

    def camera_entry(self) -> None:
        """The fallback when the code reader itself is broken (a long press on the welcome
        screen's corner: kiosk/ui/service.py): the badge is read by the document camera."""
        with self._lock:
            if self._view.phase is not Phase.CLOSED or not self.can_enter() or \
                    self.pages.badge_scan is None:
                return
            self._touched = self._clock()
            self._view = View(Phase.PIN, notice="Présentez votre badge à plat sous la caméra.",
                              out_of_order=self._view.out_of_order, scanning=True)
            start = self.pages.badge_scan[0]

            def seen(text: str) -> None:
                if self.is_badge(text) and self._view.phase is Phase.PIN and \
                        not self._view.holder and text != self._refused:
                    self.badge_shown(text)
            self._submit(Page.HOME, lambda: start(seen))
        log.info("service: badge asked from the camera (code reader fallback)")
        self.changed()

    def _lock_notice(self) -> str:
        until = self.gate.locked_until() if self.gate is not None else None
        if until is None or until <= self._wall():
            return ""
        return (f"Trop de codes faux : réessayez après "
                f"{datetime.fromtimestamp(until).astimezone().strftime('%H:%M')}.")

    def _pin_press(self, act: Act, arg: str) -> None:
        if act is Act.DIGIT and arg.isdigit() and len(arg) == 1 and len(self._pin) < PIN_MAX:
            self._pin += arg
        elif act is Act.ERASE:
            self._pin = self._pin[:-1]
        elif act is Act.CLOSE:
            self._close_pin()
        elif act is Act.VALIDATE and self._badge is not None and self.gate is not None and \
                not self._checking:
            # One scrypt (about 0.2 s on a Pi 4: deposit/badge.py) runs on the worker, not on
            # the touchscreen's thread; the panel says it is checking meanwhile.
            pin, self._pin, badge, gate = self._pin, "", self._badge, self.gate
            self._checking = True
            self._view = replace(self._view, notice="Vérification…", notice_level=Level.INFO)
            self._submit(Page.HOME, lambda: self._check(gate, badge, pin))

    def _check(self, gate: Gate, badge: Any, pin: str) -> None:
        try:
            gate.check_pin(badge, pin)
        except Exception as exc:  # wrong PIN, locked out: said, logged by the gate
            with self._lock:
                self._checking = False
                if self._badge is badge:
                    self._view = replace(self._view, notice=refusal_text(exc),
                                         notice_level=Level.FAIL)
        else:
            with self._lock:
                self._checking = False
                if self._badge is badge and self._view.phase is Phase.PIN:
                    self._enter()

    def _close_pin(self) -> None:
        self._stop_scan()
        self._refused = None
        self._badge = None
        self._pin = ""
        self._view = View(Phase.CLOSED, out_of_order=self._view.out_of_order)

    def _enter(self) -> None:
        self._entered_at = self._clock()
        holder = self._badge.holder
        log.warning("SERVICE MODE ENTERED by %s (badge %s)", holder, self._badge.badge_id)
        self._rows.clear()
        self._results.clear()
        self._refreshed.clear()
        self._view = View(Phase.OPEN, Page.HOME, holder=holder,
                          notice=f"Bonjour {holder}. Mode maintenance ouvert.",
                          out_of_order=self._view.out_of_order)

    def leave(self, reason: str = "left") -> None:
        """Close the service mode (the technician left, or it sat idle)."""
        with self._lock:
            if self._view.phase is Phase.CLOSED:
                return
            if self._view.phase is Phase.OPEN:
                self._hide(self._view.page)
                minutes = (self._clock() - self._entered_at) / 60
                log.warning("SERVICE MODE LEFT by %s (%s, after %.1f min)",
                            self._view.holder, reason, minutes)
            self._close_pin()
            self._last_code = None
        self.changed()

    # ------------------------------------------------------------------ the panel's buttons

    def press(self, act: Act, arg: str = "") -> None:
        with self._lock:
            self._touched = self._clock()
            phase = self._view.phase
            if phase is Phase.PIN:
                self._pin_press(act, arg)
            elif phase is Phase.OPEN:
                self._open_press(act, arg)
        self.changed()

    def _open_press(self, act: Act, arg: str) -> None:
        if act is Act.LEAVE:
            self.leave()
        elif act is Act.PAGE:
            self._show(Page(arg))
        elif act is Act.REFRESH:
            self._refreshed.pop(self._view.page, None)
            self._results.pop(self._view.page, None)
        elif act is Act.FILTER:
            self._log_filter = arg
            self._refreshed.pop(Page.LOGS, None)
        elif act is Act.RUN:
            page = self._view.page
            action = next((a for a in self.pages.actions.get(page, ()) if a.name == arg), None)
            if action is not None:
                self._submit(page, lambda: self._run_action(page, action))
        elif act is Act.OUT_OF_ORDER:
            self._switch(OutOfOrderReason(arg) if arg else None)

    def _show(self, page: Page) -> None:
        old = self._view.page
        if old is not page:
            self._hide(old)
            self._view = replace(self._view, page=page, notice="")
            self._refreshed.pop(page, None)
            start = self.pages.on_show.get(page)
            if start is not None:
                self._submit(page, start)

    def _stop_scan(self) -> None:
        if self.pages.badge_scan is not None:
            self._jobs.submit(self._quietly, self.pages.badge_scan[1])

    def _hide(self, page: Page) -> None:
        stop = self.pages.on_hide.get(page)
        if stop is not None:
            self._jobs.submit(self._quietly, stop)

    # ------------------------------------------------------------------ rows, on the worker

    def _refresh_if_due(self, page: Page) -> None:
        compute: Callable[[], list[Row]] | None
        if page is Page.LOGS and self.pages.logs is not None:
            logs, wanted = self.pages.logs, self._log_filter
            compute = lambda: logs(wanted)  # noqa: E731 - bound now, run on the worker
        else:
            compute = self.pages.rows.get(page)
        if compute is None or page in self._pending:
            return
        every = self.pages.live.get(page)
        last = self._refreshed.get(page)
        now = self._clock()
        if last is not None and (every is None or now - last < every):
            return
        self._refreshed[page] = now
        self._submit(page, lambda: self._compute(page, compute), refresh=True)

    def _submit(self, page: Page, job: Callable[[], None], *, refresh: bool = False) -> None:
        """Run ``job`` on the worker. A page's test (``refresh`` False) shows the page busy
        until it is done; a refresh only keeps a second one of the same page from queueing."""
        if self._closed:
            return
        marks = self._pending if refresh else self._running
        marks.add(page)

        def run() -> None:
            try:
                job()
            finally:
                with self._lock:
                    marks.discard(page)
                self.changed()
        self._jobs.submit(run)

    def _compute(self, page: Page, compute: Callable[[], list[Row]]) -> None:
        try:
            rows = tuple(compute())
        except Exception as exc:  # a page that cannot be computed says so on the panel
            log.exception("service page %s failed", page.value)
            rows = (Row("Erreur", f"{type(exc).__name__}: {exc}", Level.FAIL),)
        with self._lock:
            self._rows[page] = rows

    def _run_action(self, page: Page, action: Action) -> None:
        try:
            row = action.run()
        except Exception as exc:  # a failed test is a result, not a crash
            log.warning("service test %s failed: %s", action.name, exc)
            row = Row(action.label, f"échec : {exc}", Level.FAIL)
        else:
            log.info("service test %s: %s %s", action.name, row.value, row.level.value)
        with self._lock:
            self._results[page] = (row,)
            self._refreshed.pop(page, None)

    @staticmethod
    def _quietly(job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:  # stopping a preview must not stop the mode
            log.exception("service page cleanup failed")

    # ------------------------------------------------------------------ codes, time

    def code_read(self, text: str, fmt: str = "") -> bool:
        """A code read while the panel is up: the code reader's live test. True: taken here
        (the citizens' journey never sees it)."""
        with self._lock:
            if self._view.phase is not Phase.OPEN:
                return self._view.phase is Phase.PIN
            self._touched = self._clock()
            at = datetime.fromtimestamp(self._wall()).astimezone().strftime("%H:%M:%S")
            shown = text if len(text) <= 60 else text[:57] + "…"
            self._last_code = Row(f"Lu à {at}" + (f" ({fmt})" if fmt else ""), shown, Level.OK)
        log.info("service: code reader test read %d characters", len(text))
        self.changed()
        return True

    def tick(self) -> None:
        """Once a second from the UI: the idle timeout."""
        with self._lock:
            limit = self.idle_s if self._view.phase is Phase.OPEN else PIN_IDLE_S
            idle = self._view.phase is not Phase.CLOSED and \
                self._clock() - self._touched > limit
        if idle:
            self.leave("idle")

    def close(self) -> None:
        self.leave("kiosk stopping")
        self._closed = True
        self._jobs.shutdown(wait=True)      # its last jobs stop the camera: let them run

    # ------------------------------------------------------------------ out of order

    def _switch(self, reason: OutOfOrderReason | None) -> None:
        switch = Switch(reason, datetime.fromtimestamp(self._wall(), UTC), self._view.holder)
        try:
            save(self.status_dir, switch)
        except OSError as exc:
            self._view = replace(self._view, notice=f"Le réglage n'a pas pu être enregistré : "
                                 f"{exc}", notice_level=Level.FAIL)
            log.error("cannot save the out-of-order switch: %s", exc)
            return
        self._switch_state = switch
        self._view = replace(self._view, out_of_order=reason,
                             notice="Borne hors service pour les usagers." if reason else
                             "Borne remise en service.",
                             notice_level=Level.WARN if reason else Level.OK)
        if reason is None:
            log.warning("kiosk put back in service by %s", self._view.holder)
        else:
            log.warning("kiosk OUT OF ORDER (%s), set by %s", reason.value, self._view.holder)

    def _switch_rows(self) -> tuple[Row, ...]:
        reason, since = self._switch_state.reason, self._switch_state.since
        if reason is None:
            return (Row("État", "en service : les usagers peuvent déposer", Level.OK),)
        when = since.astimezone().strftime("%d/%m/%Y %H:%M") if since else "?"
        who = f" par {self._switch_state.by}" if self._switch_state.by else ""
        return (Row("État", f"HORS SERVICE ({OUT_OF_ORDER_LABELS[reason]}) depuis {when}{who}",
                    Level.WARN),
                Row("Message aux usagers", OUT_OF_ORDER_REASONS[reason]["fr"]))
