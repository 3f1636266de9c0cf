"""Bringing missing documents, on the real state machine: a receipt's QR code, the lookup's
answers, only the requested documents, no contact step, sealing as a complement; and every way
nothing is sealed (nothing asked, deadline passed, no answer, forged code, cancel)."""

from __future__ import annotations

import itertools
from datetime import date

from deposit.complements import Lookup, LookupFailure, LookupState, ReceiptCode
from deposit.ids import DepositId
from deposit.manifest import new_tracking_token
from kiosk.catalog import convocation_url, load_catalog
from kiosk.complement import Complement, LookedUp, LookUp, LookupFailed, LookupPhase
from kiosk.journey import (
    Action,
    CodeRead,
    DepositResult,
    Device,
    DeviceChanged,
    DocumentState,
    Event,
    Journey,
    JourneyState,
    Notice,
    Overlay,
    PageCaptured,
    PageRef,
    PrintReceipt,
    Seal,
    Sealed,
    Step,
    Tap,
    Tick,
    Timeouts,
    Wipe,
    WipeDone,
    WipeReason,
    progress_index,
)
from printer.receipt import status_link, tracking_url

CATALOG = load_catalog()
PUBLIC = "https://suivi.example.fr"
ORIGINAL = str(DepositId("K7QM", 4242))
TOKEN = new_tracking_token()
RECEIPT = status_link(tracking_url(PUBLIC, DepositId.parse(ORIGINAL), TOKEN), "en")
DEADLINE = date(2027, 1, 15)
#: listes-electorales has identity (required), address (required), form (optional): the staff
#: ask for the address and the form.
OPEN = Lookup(LookupState.OPEN, "rq_0123456789abcdef", "listes-electorales",
              ("form", "address"), DEADLINE, "Le justificatif doit dater de moins de 3 mois.")


class Driver:
    def __init__(self, receipt_base: str | None = PUBLIC) -> None:
        self.journey = Journey(CATALOG, timeouts=Timeouts(inactivity=120, warning=30),
                               receipt_base=receipt_base, languages=("fr", "en"))
        self.now = 1000.0
        self.state = self.journey.initial(self.now)
        self.commands: list[object] = []
        self.ids = itertools.count(1)

    def at(self) -> JourneyState:
        """The state now. (mypy keeps what an assert narrowed ``d.state.step`` to across
        d.send(), which replaces d.state; a call is not narrowed.)"""
        return self.state

    def send(self, event: Event) -> tuple[object, ...]:
        result = self.journey.handle(self.state, event, self.now)
        self.state = result.state
        self.commands += result.commands
        return result.commands

    def tap(self, action: Action, arg: object = None) -> tuple[object, ...]:
        return self.send(Tap(action, arg))

    def asked(self) -> float:
        """When the last lookup was asked (its answer carries it back)."""
        return [c for c in self.commands if isinstance(c, LookUp)][-1].asked_at

    def answer(self, answer: Lookup, deposit_id: str = ORIGINAL) -> tuple[object, ...]:
        self.now += 1.5
        return self.send(LookedUp(deposit_id, answer, self.asked()))

    def fail(self, failure: LookupFailure) -> tuple[object, ...]:
        self.now += 8
        return self.send(LookupFailed(ORIGINAL, failure, self.asked()))

    def page(self) -> None:
        self.send(PageCaptured(PageRef(f"p{next(self.ids)}")))

    def to_checklist(self) -> None:
        self.send(CodeRead(RECEIPT))
        self.answer(OPEN)

    def to_confirm(self) -> None:
        self.to_checklist()
        self.tap(Action.BEGIN)
        for _ in self.state.documents:
            self.page()
            self.tap(Action.NEXT)
        self.tap(Action.CONTINUE)


def seals(commands: list[object]) -> list[Seal]:
    return [c for c in commands if isinstance(c, Seal)]


# ----------------------------------------------------------------------------- the way through


def test_a_receipt_shown_at_the_welcome_screen_asks_the_back_office() -> None:
    d = Driver()
    commands = d.send(CodeRead(RECEIPT))
    assert d.at().step is Step.LOOKUP and d.at().lookup is LookupPhase.CHECKING
    assert commands == (LookUp(ReceiptCode(ORIGINAL, TOKEN), d.now),)
    assert d.state.complement == Complement(ORIGINAL, TOKEN)


def test_checking_puts_no_time_pressure_on_the_citizen() -> None:
    d = Driver()
    d.send(CodeRead(RECEIPT))
    d.now += 3600
    d.send(Tick())
    assert d.at().step is Step.LOOKUP and d.state.overlay is None
    assert d.journey.deadline(d.state) is None


def test_an_open_request_lists_only_the_requested_documents_all_required() -> None:
    d = Driver()
    d.to_checklist()
    assert d.at().step is Step.CHECKLIST and d.state.procedure == "listes-electorales"
    # in the request's order; "form", optional in a new deposit, is required when asked for
    assert d.state.documents == (DocumentState("form", True, 2),
                                 DocumentState("address", True, 2))
    assert d.state.is_complement and d.state.complement == Complement(
        ORIGINAL, TOKEN, "rq_0123456789abcdef", DEADLINE,
        "Le justificatif doit dater de moins de 3 mois.")
    # the timer restarts when the answer comes, not when the code was read
    assert d.journey.deadline(d.state) == d.now + 120


def test_a_complement_skips_the_contact_step_and_seals_naming_the_original() -> None:
    d = Driver()
    d.to_confirm()
    assert d.at().step is Step.CONFIRM
    d.tap(Action.SEND)
    (seal,) = seals(d.commands)
    assert seal.procedure == "listes-electorales" and seal.contact is None and not seal.consent
    assert seal.complement == d.state.complement and seal.complement is not None
    assert (seal.complement.of, seal.complement.token, seal.complement.request_id) == \
        (ORIGINAL, TOKEN, "rq_0123456789abcdef")
    assert [doc.code for doc in seal.documents] == ["form", "address"]
    result = DepositResult(str(DepositId("K7QM", 9999)), "https://suivi.example.fr/suivi/"
                           f"{ORIGINAL}?t={TOKEN}", complement_of=ORIGINAL)
    commands = d.send(Sealed(result))
    assert d.at().step is Step.RECEIPT
    assert commands == (PrintReceipt(result, "listes-electorales", "fr", seal.documents),)


def test_back_from_the_confirmation_of_a_complement_is_the_review() -> None:
    d = Driver()
    d.to_confirm()
    d.tap(Action.BACK)
    assert d.at().step is Step.REVIEW


def test_a_complement_cannot_go_on_without_every_requested_document() -> None:
    d = Driver()
    d.to_checklist()
    d.tap(Action.BEGIN)
    d.tap(Action.SKIP)             # "form" is optional in a new deposit, not here
    assert d.at().step is Step.CAPTURE and d.state.current == 0


def test_back_at_the_checklist_of_a_complement_starts_again_with_nothing_kept() -> None:
    d = Driver()
    d.to_checklist()
    d.tap(Action.BACK)
    assert d.at().step is Step.WELCOME
    assert (d.state.complement, d.state.procedure, d.state.documents) == (None, None, ())


def test_the_bring_documents_button_asks_for_the_receipt_then_reads_it() -> None:
    d = Driver()
    d.tap(Action.COMPLEMENT)
    assert d.at().step is Step.LOOKUP and d.at().lookup is LookupPhase.SHOW_RECEIPT
    assert progress_index(d.at().step) == 0
    d.send(CodeRead(convocation_url("x.fr", "listes-electorales", "EL-5")))
    assert d.state.notice is Notice.NOT_A_RECEIPT and d.at().step is Step.LOOKUP
    d.send(CodeRead(RECEIPT))
    assert d.at().lookup is LookupPhase.CHECKING and d.state.notice is None


def test_a_new_deposit_is_not_taken_for_a_complement() -> None:
    d = Driver()
    d.tap(Action.START)
    d.tap(Action.CHOOSE, "listes-electorales")
    assert not d.state.is_complement and d.state.complement is None
    d.tap(Action.BEGIN)
    for _ in d.state.documents:
        d.page()
        d.tap(Action.NEXT)
    d.tap(Action.CONTINUE)
    assert d.at().step is Step.CONTACT


# ----------------------------------------------------------------------------- refusals


def test_a_receipt_that_asks_for_nothing_says_so_and_seals_nothing() -> None:
    d = Driver()
    d.send(CodeRead(RECEIPT))
    d.answer(Lookup(LookupState.NONE))
    assert d.at().step is Step.LOOKUP and d.at().lookup is LookupPhase.NONE
    d.tap(Action.BEGIN)
    d.tap(Action.SEND)
    assert d.at().step is Step.LOOKUP and seals(d.commands) == []
    commands = d.tap(Action.FINISH)
    assert d.at().step is Step.WIPE and Wipe(WipeReason.COMPLETED) in commands


def test_a_request_past_its_deadline_gives_the_date() -> None:
    d = Driver()
    d.send(CodeRead(RECEIPT))
    d.answer(Lookup(LookupState.EXPIRED, deadline=date(2026, 11, 30)))
    assert d.at().lookup is LookupPhase.EXPIRED
    assert d.state.complement is not None and d.state.complement.deadline == date(2026, 11, 30)
    assert not d.state.is_complement


def test_no_answer_can_be_tried_again() -> None:
    d = Driver()
    d.send(CodeRead(RECEIPT))
    d.fail(LookupFailure.OFFLINE)
    assert d.at().lookup is LookupPhase.UNAVAILABLE
    commands = d.tap(Action.RETRY)
    assert d.at().lookup is LookupPhase.CHECKING
    assert commands == (LookUp(ReceiptCode(ORIGINAL, TOKEN), d.now),)
    d.answer(OPEN)
    assert d.at().step is Step.CHECKLIST


def test_each_failure_of_the_lookup_is_told_the_same_way() -> None:
    phases = set()
    for failure in LookupFailure:
        d = Driver()
        d.send(CodeRead(RECEIPT))
        d.fail(failure)
        phases.add(d.at().lookup)
    assert phases == {LookupPhase.UNAVAILABLE}


def test_a_procedure_or_document_this_kiosk_lacks_sends_the_citizen_to_an_agent() -> None:
    for answer in (Lookup(LookupState.OPEN, "rq_0123456789", "permis-de-voler", ("identity",),
                          DEADLINE),
                   Lookup(LookupState.OPEN, "rq_0123456789", "listes-electorales",
                          ("identity", "pilot-licence"), DEADLINE)):
        d = Driver()
        d.send(CodeRead(RECEIPT))
        d.answer(answer)
        assert d.at().step is Step.LOOKUP and d.at().lookup is LookupPhase.UNSUPPORTED


def test_a_forged_or_foreign_receipt_is_refused_without_asking() -> None:
    forged = RECEIPT.replace(ORIGINAL, ORIGINAL[:-1] + ("0" if ORIGINAL[-1] != "0" else "1"))
    foreign = RECEIPT.replace(PUBLIC, "https://suivi.other.example")
    for code in (forged, foreign):
        d = Driver()
        commands = d.send(CodeRead(code))
        assert d.at().step is Step.WELCOME and d.state.notice is Notice.NOT_A_RECEIPT
        assert commands == ()


def test_cancelling_while_checking_drops_the_late_answer() -> None:
    d = Driver()
    d.send(CodeRead(RECEIPT))
    d.tap(Action.CANCEL)
    assert d.state.overlay is Overlay.CANCEL
    d.tap(Action.CANCEL_CONFIRM)
    assert d.at().step is Step.WIPE
    wiped = d.state
    d.answer(OPEN)
    assert d.state == wiped
    d.send(WipeDone())
    assert d.state == d.journey.initial(d.now)


def test_a_late_answer_to_an_earlier_showing_of_the_same_receipt_is_ignored() -> None:
    d = Driver()
    d.send(CodeRead(RECEIPT))
    first = d.asked()
    d.tap(Action.BACK)                  # gave up waiting; shows the receipt again
    d.now += 2
    d.send(CodeRead(RECEIPT))
    d.send(LookupFailed(ORIGINAL, LookupFailure.OFFLINE, first))   # the first one timed out
    assert d.at().lookup is LookupPhase.CHECKING
    d.answer(OPEN)
    assert d.at().step is Step.CHECKLIST


def test_an_answer_about_another_dossier_is_ignored() -> None:
    d = Driver()
    d.send(CodeRead(RECEIPT))
    checking = d.state
    d.answer(OPEN, deposit_id=str(DepositId("K7QM", 1)))
    assert d.state == checking


def test_a_kiosk_that_takes_no_dossier_reads_no_receipt() -> None:
    d = Driver()
    d.send(DeviceChanged(Device.CAMERA, ok=False))
    assert d.send(CodeRead(RECEIPT)) == ()
    d.tap(Action.COMPLEMENT)
    assert d.at().step is Step.WELCOME


def test_without_a_back_office_address_receipts_are_not_read() -> None:
    d = Driver(receipt_base=None)
    d.tap(Action.COMPLEMENT)
    assert d.at().step is Step.WELCOME
    d.send(CodeRead(RECEIPT))
    assert d.state.notice is Notice.NOT_A_CONVOCATION


def test_the_wipe_after_a_complement_leaves_nothing_of_it() -> None:
    d = Driver()
    d.to_confirm()
    d.tap(Action.CANCEL)
    d.tap(Action.CANCEL_CONFIRM)
    d.send(WipeDone())
    assert d.state == d.journey.initial(d.now)


def test_the_receipts_token_stays_out_of_a_logged_state() -> None:
    d = Driver()
    d.to_confirm()
    assert ORIGINAL in repr(d.state) and TOKEN not in repr(d.state)
