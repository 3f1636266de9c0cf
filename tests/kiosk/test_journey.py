"""The citizen journey, step by step, with an injected clock and no device.

Each test drives :class:`kiosk.journey.Journey` with events and checks the
state the screens would render and the commands the application would run.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.catalog import convocation_url, load_catalog
from kiosk.journey import (
    PROGRESS,
    Action,
    Activity,
    CallAgent,
    CaptureFailed,
    CaptureNow,
    CapturePhase,
    CaptureStarted,
    CodeRead,
    Contact,
    DepositResult,
    Device,
    DeviceChanged,
    DeviceHealth,
    DiscardPages,
    Event,
    Journey,
    JourneyState,
    Notice,
    Overlay,
    PageCaptured,
    PageRef,
    Printed,
    PrintFailed,
    PrintReceipt,
    ReceiptPhase,
    RecordSatisfaction,
    Refusal,
    Seal,
    Sealed,
    SealFailed,
    StartCamera,
    Step,
    StopCamera,
    Tap,
    Tick,
    Timeouts,
    Wipe,
    WipeDone,
    WipeReason,
    normalise_phone,
    progress_index,
    valid_email,
)
from kiosk.reasons import OutboxProblem, PrintProblem, SealFailure

CATALOG = load_catalog()
TIMEOUTS = Timeouts(inactivity=120, capture=240, satisfaction=45, warning=30)
# listes-electorales: identity (required, 2 pages max), address (required), form (optional)
PROCEDURE = "listes-electorales"


# mypy keeps what an assert narrowed a field of d.state to across d.tap(), d.send() and
# d.wait(), which replace d.state: it takes a later check of that field for always false
# and what follows for unreachable. The ignores [comparison-overlap] and [unreachable] in
# the tests below are for that, not for code that cannot run.
class Driver:
    """A journey with a clock: each event is handled at the clock's time."""

    def __init__(self, **kwargs: object) -> None:
        self.journey = Journey(CATALOG, timeouts=TIMEOUTS, **kwargs)  # type: ignore[arg-type]
        self.now = 1000.0
        self.state = self.journey.initial(self.now)
        self.commands: list[object] = []
        self.ids = itertools.count(1)

    def send(self, event: Event) -> tuple[object, ...]:
        result = self.journey.handle(self.state, event, self.now)
        self.state = result.state
        self.commands += result.commands
        return result.commands

    def tap(self, action: Action, arg: object = None) -> tuple[object, ...]:
        return self.send(Tap(action, arg))

    def wait(self, seconds: float) -> tuple[object, ...]:
        self.now += seconds
        return self.send(Tick())

    def page(self, ok: bool = True) -> PageRef:
        ref = PageRef(f"p{next(self.ids)}", ok)
        self.send(PageCaptured(ref))
        return ref

    def to_capture(self, procedure: str = PROCEDURE) -> None:
        self.tap(Action.START)
        self.tap(Action.CHOOSE, procedure)
        self.tap(Action.BEGIN)

    def to_review(self) -> None:
        self.to_capture()
        self.page()
        self.tap(Action.ADD_PAGE)
        self.page()
        self.tap(Action.NEXT)
        self.page()
        self.tap(Action.NEXT)
        self.page()
        self.tap(Action.NEXT)

    def to_confirm(self) -> None:
        self.to_review()
        self.tap(Action.CONTINUE)
        self.tap(Action.CONTINUE, Contact())

    def to_receipt(self, offline: bool = False) -> DepositResult:
        self.to_confirm()
        self.tap(Action.SEND)
        result = DepositResult("D3M0-0000-001X", "https://suivi.example/suivi/D3M0?t=abc",
                               queued_offline=offline)
        self.send(Sealed(result))
        return result


def fresh(driver: Driver) -> JourneyState:
    return driver.journey.initial(driver.now, driver.state.devices)


# ----------------------------------------------------------------------------- the happy path


def test_a_deposit_from_welcome_to_wipe_asks_for_the_right_work_at_each_step() -> None:
    d = Driver()
    assert d.state.step is Step.WELCOME and d.state.accepting
    d.tap(Action.START)
    assert d.state.step is Step.PROCEDURE  # type: ignore[comparison-overlap]
    d.tap(Action.CHOOSE, PROCEDURE)  # type: ignore[unreachable]
    assert d.state.step is Step.CHECKLIST
    assert [doc.code for doc in d.state.documents] == ["identity", "address", "form"]
    assert d.tap(Action.BEGIN) == (StartCamera("identity", 1),)
    assert d.state.step is Step.CAPTURE and d.state.capture is CapturePhase.AIMING
    d.send(CaptureStarted())
    assert d.state.capture is CapturePhase.PROCESSING
    first = PageRef("a")
    assert d.send(PageCaptured(first)) == (StopCamera(),)
    assert d.state.capture is CapturePhase.TAKEN and d.state.documents[0].pages == (first,)
    assert d.tap(Action.ADD_PAGE) == (StartCamera("identity", 2),)
    d.send(PageCaptured(PageRef("b")))
    assert d.tap(Action.NEXT) == (StopCamera(), StartCamera("address", 1))
    d.send(PageCaptured(PageRef("c")))
    assert d.tap(Action.NEXT) == (StopCamera(), StartCamera("form", 1))
    d.send(PageCaptured(PageRef("d")))
    assert d.tap(Action.NEXT) == (StopCamera(),)
    assert d.state.step is Step.REVIEW and d.state.page_count == 4
    d.tap(Action.CONTINUE)
    assert d.state.step is Step.CONTACT
    d.tap(Action.CONTINUE, Contact())
    assert d.state.step is Step.CONFIRM
    (seal,) = d.tap(Action.SEND)
    assert isinstance(seal, Seal)
    assert seal.procedure == PROCEDURE and seal.contact is None and not seal.consent
    assert [(p.code, p.page_ids) for p in seal.documents] == [
        ("identity", ("a", "b")), ("address", ("c",)), ("form", ("d",))]
    assert d.state.step is Step.SEALING
    result = DepositResult("D3M0-0000-001X", "https://x/suivi/D3M0-0000-001X?t=t")
    (job,) = d.send(Sealed(result))
    assert isinstance(job, PrintReceipt) and job.deposit == result and job.language == "fr"
    assert d.state.step is Step.RECEIPT and d.state.receipt is ReceiptPhase.PRINTING
    d.send(Printed())
    assert d.state.receipt is ReceiptPhase.PRINTED
    d.tap(Action.FINISH)
    assert d.state.step is Step.SATISFACTION
    assert d.tap(Action.RATE, 3) == (RecordSatisfaction(3, PROCEDURE),
                                     Wipe(WipeReason.COMPLETED))
    assert d.state.step is Step.WIPE and d.state.wipe_reason is WipeReason.COMPLETED
    d.send(WipeDone())
    assert d.state == fresh(d)


def test_the_optional_satisfaction_can_be_left_without_a_rating() -> None:
    d = Driver()
    d.to_receipt()
    d.send(Printed())
    d.tap(Action.FINISH)
    assert d.tap(Action.FINISH) == (Wipe(WipeReason.COMPLETED),)


def test_taps_of_a_deposit_without_and_with_a_convocation() -> None:
    """The tap budget of the issue: 3 documents (4 pages) in 12 taps, 9 with a convocation."""
    plain = Driver()
    taps = 0

    def count(driver: Driver, action: Action, arg: object = None) -> None:
        nonlocal taps
        taps += 1
        driver.tap(action, arg)

    count(plain, Action.START)
    count(plain, Action.CHOOSE, PROCEDURE)
    count(plain, Action.BEGIN)
    for action in (Action.ADD_PAGE, Action.NEXT, Action.NEXT, Action.NEXT):
        plain.page()
        count(plain, action)
    for action in (Action.CONTINUE, Action.CONTINUE, Action.SEND):
        count(plain, action)
    plain.send(Sealed(DepositResult("X", "https://x")))
    plain.send(Printed())
    count(plain, Action.FINISH)
    count(plain, Action.RATE, 2)
    assert plain.state.step is Step.WIPE
    assert taps == 12

    taps = 0
    quick = Driver()
    quick.send(CodeRead(convocation_url("rdv.example.fr", PROCEDURE, "EL-2025-17")))
    assert quick.state.step is Step.CHECKLIST and quick.state.case_reference == "EL-2025-17"
    count(quick, Action.BEGIN)
    for action in (Action.ADD_PAGE, Action.NEXT, Action.NEXT, Action.NEXT):
        quick.page()
        count(quick, action)
    for action in (Action.CONTINUE, Action.CONTINUE, Action.SEND):
        count(quick, action)
    quick.send(Sealed(DepositResult("X", "https://x")))
    quick.send(Printed())
    count(quick, Action.FINISH)
    assert taps == 9
    quick.wait(TIMEOUTS.satisfaction)
    assert quick.state.step is Step.WIPE  # type: ignore[comparison-overlap]


# ----------------------------------------------------------------------------- welcome


def test_disk_budget_short_refuses_new_deposits_at_welcome_with_the_reason() -> None:
    d = Driver()
    d.send(DeviceChanged(Device.OUTBOX, ok=False, problem=OutboxProblem.DISK_FULL))
    assert d.state.refusals == (Refusal.DISK_FULL,) and not d.state.accepting
    d.tap(Action.START)
    assert d.state.step is Step.WELCOME
    d.send(CodeRead(convocation_url("x.fr", PROCEDURE, "R1")))
    assert d.state.step is Step.WELCOME
    d.send(DeviceChanged(Device.OUTBOX, ok=True))
    d.tap(Action.START)
    assert d.state.step is Step.PROCEDURE  # type: ignore[comparison-overlap]


def test_a_lost_camera_refuses_deposits_and_a_broken_outbox_says_so() -> None:
    d = Driver()
    d.send(DeviceChanged(Device.CAMERA, ok=False))
    d.send(DeviceChanged(Device.OUTBOX, ok=False, problem=OutboxProblem.ERROR))
    assert d.state.refusals == (Refusal.OUTBOX_BROKEN, Refusal.CAMERA_LOST)


def test_a_printer_without_paper_does_not_refuse_deposits() -> None:
    d = Driver()
    d.send(DeviceChanged(Device.PRINTER, ok=False, problem=PrintProblem.PAPER_OUT))
    assert d.state.accepting and d.state.devices.printer_problem is PrintProblem.PAPER_OUT
    d.send(DeviceChanged(Device.PRINTER, ok=True))
    assert d.state.devices == DeviceHealth()


def test_the_same_device_status_twice_changes_nothing() -> None:
    d = Driver()
    before = d.state
    d.send(DeviceChanged(Device.NETWORK, ok=True))
    assert d.state is before
    d.send(DeviceChanged(Device.NETWORK, ok=False))
    assert not d.state.devices.online


# ----------------------------------------------------------------------------- convocation


def test_a_convocation_skips_the_choice_and_keeps_only_the_documents_still_expected() -> None:
    d = Driver()
    d.send(CodeRead(convocation_url("rdv.caf.fr", "caf-aide-logement", "AL-2025/0042",
                                    ["lease", "rib"])))
    assert d.state.step is Step.CHECKLIST
    assert d.state.procedure == "caf-aide-logement"
    assert d.state.case_reference == "AL-2025/0042" and d.state.from_convocation
    assert [doc.code for doc in d.state.documents] == ["lease", "rib"]


def test_a_convocation_also_works_on_the_procedure_screen() -> None:
    d = Driver()
    d.tap(Action.START)
    d.send(CodeRead(convocation_url("x.fr", "rsa", "R-1")))
    assert d.state.step is Step.CHECKLIST and d.state.procedure == "rsa"


@pytest.mark.parametrize("text", [
    "", "hello", "https://www.service-public.fr/", "\x00\x01garbage\xff",
    "https://x.fr/convocation?v=2&p=rsa&r=R1",
    "https://x.fr/convocation?v=1&p=rsa", "https://x.fr/convocation?v=1&p=RSA!&r=R1",
    "https://x.fr/convocation?v=1&p=rsa&r=R1&d=identity,nothing",
    "http://x.fr/convocation?v=1&p=rsa&r=R1", "DC04FR000001...2D-Doc",
    "https://x.fr/convocation?v=1&v=1&p=rsa&r=R1", "https://x.fr/convocation?%%%",
    "https://x.fr/convocation?v=1&p=rsa&r=" + "A" * 600,
])
def test_a_garbled_or_foreign_code_says_not_a_convocation_and_nothing_else(text: str) -> None:
    d = Driver()
    before = d.state
    assert d.send(CodeRead(text)) == ()
    assert d.state == replace(before, notice=Notice.NOT_A_CONVOCATION)
    d.tap(Action.START)
    assert d.state.notice is None


def test_a_convocation_for_a_procedure_not_offered_here_says_so() -> None:
    d = Driver()
    d.send(CodeRead(convocation_url("x.fr", "permis-de-conduire", "P-1")))
    assert d.state.step is Step.WELCOME and d.state.notice is Notice.UNKNOWN_PROCEDURE


def test_codes_read_during_the_capture_are_ignored() -> None:
    d = Driver()
    d.to_capture()
    before = d.state
    d.send(CodeRead(convocation_url("x.fr", "rsa", "R-1")))
    assert d.state.procedure == PROCEDURE and d.state.documents == before.documents


def test_back_from_a_convocation_checklist_forgets_the_convocation() -> None:
    d = Driver()
    d.send(CodeRead(convocation_url("x.fr", "rsa", "R-1")))
    d.tap(Action.BACK)
    assert d.state.step is Step.PROCEDURE
    assert d.state.procedure is None and d.state.case_reference is None and not d.state.documents


# ----------------------------------------------------------------------------- capture


def test_retake_throws_the_last_page_away_and_aims_again() -> None:
    d = Driver()
    d.to_capture()
    ref = d.page()
    assert d.tap(Action.RETAKE) == (DiscardPages((ref.id,)),
                                    StartCamera("identity", 1, retake=True))
    assert d.state.documents[0].pages == () and d.state.capture is CapturePhase.AIMING


def test_a_document_cannot_have_more_pages_than_its_maximum() -> None:
    d = Driver()
    d.to_capture()
    d.page()
    d.tap(Action.ADD_PAGE)
    d.page()
    assert d.tap(Action.ADD_PAGE) == ()        # an identity document has two sides
    assert d.state.notice is Notice.PAGE_LIMIT and d.state.capture is CapturePhase.TAKEN


def test_the_kiosk_wide_page_limit_applies_too() -> None:
    d = Driver(max_pages=1)
    d.to_capture()
    d.page()
    d.tap(Action.ADD_PAGE)
    assert d.state.notice is Notice.PAGE_LIMIT


def test_an_optional_document_can_be_skipped_a_required_one_cannot() -> None:
    d = Driver()
    d.to_capture()
    d.tap(Action.SKIP)
    assert d.state.current == 0 and d.state.step is Step.CAPTURE
    d.page()
    d.tap(Action.NEXT)
    d.page()
    d.tap(Action.NEXT)
    assert d.state.document is not None and not d.state.document.required
    assert d.tap(Action.SKIP) == (StopCamera(),)
    assert d.state.step is Step.REVIEW and d.state.documents[2].skipped  # type: ignore[comparison-overlap, unreachable]


def test_aiming_at_an_extra_page_can_be_abandoned_with_next() -> None:
    d = Driver()
    d.to_capture()
    d.page()
    d.tap(Action.ADD_PAGE)
    assert d.tap(Action.NEXT) == (StopCamera(), StartCamera("address", 1))


def test_capture_now_takes_the_photo_without_waiting() -> None:
    d = Driver()
    d.to_capture()
    assert d.tap(Action.CAPTURE_NOW) == (CaptureNow(),)
    assert d.state.capture is CapturePhase.PROCESSING
    assert not d.state.can_go_back
    assert d.tap(Action.CAPTURE_NOW) == ()


def test_a_failed_capture_aims_again_and_says_why() -> None:
    d = Driver()
    d.to_capture()
    d.send(CaptureStarted())
    assert d.send(CaptureFailed("blurred")) == (StartCamera("identity", 1),)
    assert d.state.capture is CapturePhase.AIMING and d.state.capture_problem == "blurred"
    d.page()
    assert d.state.capture_problem == ""


def test_a_page_arriving_when_nobody_waits_for_it_is_discarded() -> None:
    d = Driver()
    d.to_capture()
    d.page()
    late = PageRef("late")
    assert d.send(PageCaptured(late)) == (DiscardPages(("late",)),)
    d.tap(Action.CANCEL)
    d.tap(Action.CANCEL_CONFIRM)
    assert d.send(PageCaptured(PageRef("later"))) == (DiscardPages(("later",)),)
    assert d.send(CaptureFailed("blurred")) == ()


def test_a_page_with_reasons_is_kept_with_them() -> None:
    d = Driver()
    d.to_capture()
    ref = PageRef("x", ok=False, reasons=("glare",))
    d.send(PageCaptured(ref))
    assert d.state.documents[0].pages == (ref,)


def test_camera_lost_during_capture_is_out_of_order_and_loses_nothing() -> None:
    d = Driver()
    d.to_capture()
    kept = d.page()
    d.tap(Action.ADD_PAGE)
    d.send(CaptureStarted())
    assert d.send(DeviceChanged(Device.CAMERA, ok=False)) == ()
    assert d.state.out_of_order and d.state.capture is CapturePhase.AIMING
    assert d.tap(Action.CAPTURE_NOW) == () and d.tap(Action.NEXT) == ()
    assert d.send(CaptureFailed("blurred")) == ()
    assert d.tap(Action.CALL_AGENT) == (CallAgent(Step.CAPTURE),)
    assert d.state.documents[0].pages == (kept,)
    assert d.send(DeviceChanged(Device.CAMERA, ok=True)) == (StartCamera("identity", 2),)
    assert not d.state.out_of_order


def test_a_page_taken_just_before_the_camera_was_lost_is_kept() -> None:
    d = Driver()
    d.to_capture()
    d.send(CaptureStarted())
    d.send(DeviceChanged(Device.CAMERA, ok=False))
    ref = d.page()
    assert d.state.documents[0].pages == (ref,) and d.state.capture is CapturePhase.TAKEN
    assert d.state.out_of_order


def test_camera_back_while_a_page_is_shown_does_not_restart_the_preview() -> None:
    d = Driver()
    d.to_capture()
    d.page()
    d.send(DeviceChanged(Device.CAMERA, ok=False))
    assert d.send(DeviceChanged(Device.CAMERA, ok=True)) == ()
    assert d.state.capture is CapturePhase.TAKEN


# ----------------------------------------------------------------------------- review


def test_redo_a_document_from_the_review_comes_back_to_the_review() -> None:
    d = Driver()
    d.to_review()
    address = d.state.documents[1].pages
    assert d.tap(Action.REDO, 1) == (DiscardPages(tuple(p.id for p in address)),
                                     StartCamera("address", 1, retake=True))
    assert d.state.step is Step.CAPTURE and d.state.current == 1 and d.state.return_to_review
    d.page()
    d.tap(Action.NEXT)
    assert d.state.step is Step.REVIEW and not d.state.return_to_review  # type: ignore[comparison-overlap, unreachable]


def test_redo_of_a_skipped_document_and_back_returns_to_the_review() -> None:
    d = Driver()
    d.to_capture()
    d.page()
    d.tap(Action.NEXT)
    d.page()
    d.tap(Action.NEXT)
    d.tap(Action.SKIP)
    assert d.tap(Action.REDO, 2) == (StartCamera("form", 1, retake=True),)
    assert d.tap(Action.BACK) == (StopCamera(),)
    assert d.state.step is Step.REVIEW


@pytest.mark.parametrize("arg", [-1, 3, "1", None])
def test_redo_of_no_such_document_does_nothing(arg: object) -> None:
    d = Driver()
    d.to_review()
    before = d.state
    assert d.tap(Action.REDO, arg) == ()
    assert d.state == replace(before, last_activity=d.now)


def test_the_review_refuses_to_continue_while_a_required_document_has_no_page() -> None:
    d = Driver()
    d.to_review()
    docs = list(d.state.documents)
    docs[0] = replace(docs[0], pages=())
    d.state = replace(d.state, documents=tuple(docs))
    d.tap(Action.CONTINUE)
    assert d.state.step is Step.REVIEW


# ----------------------------------------------------------------------------- contact


@pytest.mark.parametrize(("typed", "notice"), [
    (Contact(email="not an address"), Notice.CONTACT_INVALID_EMAIL),
    (Contact(email="a@b"), Notice.CONTACT_INVALID_EMAIL),
    (Contact(phone="12"), Notice.CONTACT_INVALID_PHONE),
    (Contact(phone="06 12 34 56"), Notice.CONTACT_INVALID_PHONE),
    (Contact(email="jeanne@example.fr"), Notice.CONTACT_NEEDS_CONSENT),
])
def test_contact_errors_keep_the_citizen_on_the_contact_screen(typed: Contact,
                                                                notice: Notice) -> None:
    d = Driver()
    d.to_review()
    d.tap(Action.CONTINUE)
    d.tap(Action.CONTINUE, typed)
    assert d.state.step is Step.CONTACT and d.state.notice is notice
    assert d.state.contact.email == typed.email.strip()


def test_a_contact_with_consent_travels_to_the_seal_command_normalised() -> None:
    d = Driver()
    d.to_review()
    d.tap(Action.CONTINUE)
    d.tap(Action.CONSENT, True)
    d.tap(Action.CONTINUE, Contact(email=" jeanne@example.fr ", phone="06 12 34 56 78"))
    assert d.state.step is Step.CONFIRM
    (seal,) = d.tap(Action.SEND)
    assert isinstance(seal, Seal)
    assert seal.contact == Contact("jeanne@example.fr", "+33612345678") and seal.consent


def test_consent_without_a_contact_is_not_recorded_as_consent() -> None:
    d = Driver()
    d.to_review()
    d.tap(Action.CONTINUE)
    d.tap(Action.CONSENT, True)
    d.tap(Action.CONTINUE, Contact())
    (seal,) = d.tap(Action.SEND)
    assert isinstance(seal, Seal) and seal.contact is None and not seal.consent


@pytest.mark.parametrize(("typed", "expected"), [
    ("06 12 34 56 78", "+33612345678"), ("06.12.34.56.78", "+33612345678"),
    ("+33 6 12 34 56 78", "+33612345678"), ("0033612345678", "+33612345678"),
    ("+44 20 7946 0958", "+442079460958"), ("0612", None), ("00 12", None),
    ("+33 6 12 34 56 78 9", None), ("phone", None), ("0012345678", None),
])
def test_phone_numbers_are_read_as_people_write_them(typed: str, expected: str | None) -> None:
    assert normalise_phone(typed) == expected


def test_email_addresses() -> None:
    assert valid_email("marie.dupont+caf@orange.fr")
    assert not valid_email("marie@orange") and not valid_email("a b@c.fr")


# ----------------------------------------------------------------------------- sealing


def test_sealing_failure_offers_a_retry_and_times_out_like_any_screen() -> None:
    d = Driver()
    d.to_confirm()
    d.tap(Action.SEND)
    assert d.journey.timeout_for(d.state) is None       # the machine is working, not the citizen
    d.send(SealFailed(SealFailure.DISK_FULL))
    assert d.state.step is Step.SEALING and d.state.seal_error is SealFailure.DISK_FULL
    (seal,) = d.tap(Action.RETRY)
    assert isinstance(seal, Seal) and d.state.seal_error is None
    d.send(SealFailed(SealFailure.ERROR))  # type: ignore[unreachable]
    d.wait(TIMEOUTS.inactivity)
    assert d.state.step is Step.WIPE and d.state.wipe_reason is WipeReason.TIMEOUT


def test_retry_without_a_failure_does_nothing_and_cancel_is_refused_while_sealing() -> None:
    d = Driver()
    d.to_confirm()
    d.tap(Action.SEND)
    assert d.tap(Action.RETRY) == ()
    d.tap(Action.CANCEL)
    assert d.state.overlay is None
    d.tap(Action.HELP)
    assert d.state.overlay is None
    d.send(SealFailed(SealFailure.ERROR))
    d.tap(Action.CANCEL)                      # failed: giving up is allowed
    assert d.state.overlay is Overlay.CANCEL
    assert d.tap(Action.CANCEL_CONFIRM) == (Wipe(WipeReason.CANCELLED),)  # type: ignore[unreachable]


def test_a_seal_result_arriving_late_is_ignored() -> None:
    d = Driver()
    before = d.state
    d.send(Sealed(DepositResult("X", "https://x")))
    d.send(SealFailed(SealFailure.ERROR))
    d.send(Printed())
    d.send(PrintFailed(PrintProblem.PAPER_OUT))
    assert d.state == before


def test_offline_deposit_is_queued_and_the_receipt_says_so() -> None:
    d = Driver()
    result = d.to_receipt(offline=True)
    assert d.state.deposit == result and d.state.deposit.queued_offline


# ----------------------------------------------------------------------------- receipt


def test_paper_out_during_print_shows_receipt_on_screen_and_offers_a_reprint() -> None:
    d = Driver()
    result = d.to_receipt()
    assert d.tap(Action.FINISH) == ()          # still printing
    d.send(PrintFailed(PrintProblem.PAPER_OUT))
    assert d.state.receipt is ReceiptPhase.ON_SCREEN
    assert d.state.print_problem is PrintProblem.PAPER_OUT
    (job,) = d.tap(Action.PRINT_AGAIN)
    assert isinstance(job, PrintReceipt) and job.deposit == result
    assert d.state.receipt is ReceiptPhase.PRINTING  # type: ignore[comparison-overlap]
    d.send(Printed())  # type: ignore[unreachable]
    assert d.state.receipt is ReceiptPhase.PRINTED and d.state.print_problem is None
    assert d.tap(Action.PRINT_AGAIN) == ()


def test_the_receipt_screen_can_be_left_while_the_receipt_is_on_screen() -> None:
    d = Driver()
    d.to_receipt()
    d.send(PrintFailed(PrintProblem.COVER_OPEN))
    d.tap(Action.FINISH)
    assert d.state.step is Step.SATISFACTION


# ----------------------------------------------------------------------------- cancel, help


@pytest.mark.parametrize("where", ["procedure", "checklist", "capture", "review", "contact",
                                   "confirm"])
def test_cancel_asks_first_then_wipes_everything(where: str) -> None:
    d = Driver()
    d.tap(Action.LANGUAGE, "en")
    d.tap(Action.START)
    if where != "procedure":
        d.tap(Action.CHOOSE, PROCEDURE)
    if where in ("capture", "review", "contact", "confirm"):
        d.tap(Action.BEGIN)
        d.page()
    if where in ("review", "contact", "confirm"):
        for _ in range(3):
            d.tap(Action.NEXT)
            if d.state.step is Step.CAPTURE:
                d.page()
    if where in ("contact", "confirm"):
        d.tap(Action.CONTINUE)
    if where == "confirm":
        d.tap(Action.CONTINUE, Contact())
    assert d.state.step.value == where
    d.tap(Action.CANCEL)
    assert d.state.overlay is Overlay.CANCEL
    d.tap(Action.CANCEL_ABORT)
    assert d.state.overlay is None and d.state.step.value == where  # type: ignore[unreachable]
    d.tap(Action.CANCEL)  # type: ignore[unreachable]
    d.tap(Action.NEXT)                       # the dialog takes the taps
    assert d.state.overlay is Overlay.CANCEL
    commands = d.tap(Action.CANCEL_CONFIRM)
    assert commands[-1] == Wipe(WipeReason.CANCELLED)
    assert (StopCamera() in commands) == (where == "capture")
    d.send(WipeDone())
    assert d.state == fresh(d) and d.state.language == "fr"


def test_cancel_is_not_offered_where_there_is_nothing_to_cancel() -> None:
    d = Driver()
    d.tap(Action.CANCEL)
    assert d.state.overlay is None
    d.to_receipt()
    d.tap(Action.CANCEL)
    assert d.state.overlay is None


def test_help_opens_over_any_screen_and_closes() -> None:
    d = Driver()
    d.to_capture()
    d.tap(Action.HELP)
    assert d.state.overlay is Overlay.HELP
    assert d.tap(Action.CAPTURE_NOW) == ()
    d.tap(Action.CLOSE)
    assert d.state.overlay is None
    d.tap(Action.HELP)  # type: ignore[unreachable]
    d.tap(Action.HELP)
    assert d.state.overlay is None


def test_the_language_changes_everywhere_even_under_a_dialog() -> None:
    d = Driver()
    d.to_capture()
    d.tap(Action.HELP)
    d.tap(Action.LANGUAGE, "en")
    assert d.state.language == "en" and d.state.overlay is Overlay.HELP
    d.tap(Action.LANGUAGE, "de")
    assert d.state.language == "en"


def test_call_an_agent_from_any_screen_signals_and_stays_visible() -> None:
    d = Driver()
    assert d.tap(Action.CALL_AGENT) == (CallAgent(Step.WELCOME),)
    assert d.state.agent_called
    d.tap(Action.START)
    assert d.state.agent_called
    d.tap(Action.CANCEL)
    d.tap(Action.CANCEL_CONFIRM)
    assert d.tap(Action.CALL_AGENT) == ()     # wiping
    d.send(WipeDone())
    assert not d.state.agent_called


# ----------------------------------------------------------------------------- back


def test_back_goes_one_step_back_and_keeps_what_was_done() -> None:
    d = Driver()
    d.to_review()
    pages = d.state.page_count
    d.tap(Action.CONTINUE)
    d.tap(Action.CONTINUE, Contact())
    d.tap(Action.BACK)
    assert d.state.step is Step.CONTACT
    d.tap(Action.BACK)
    assert d.state.step is Step.REVIEW  # type: ignore[comparison-overlap]
    d.tap(Action.BACK)  # type: ignore[unreachable]
    assert d.state.step is Step.CAPTURE and d.state.current == 2
    assert d.state.capture is CapturePhase.TAKEN
    d.tap(Action.BACK)
    assert d.state.current == 1 and d.state.capture is CapturePhase.TAKEN
    d.tap(Action.BACK)
    d.tap(Action.BACK)
    assert d.state.step is Step.CHECKLIST and d.state.page_count == pages
    d.tap(Action.BACK)
    assert d.state.step is Step.PROCEDURE and d.state.documents == ()
    d.tap(Action.BACK)
    assert d.state.step is Step.WELCOME
    d.tap(Action.BACK)
    assert d.state.step is Step.WELCOME


def test_back_to_a_skipped_document_aims_at_it_again() -> None:
    d = Driver()
    d.to_capture()
    d.page()
    d.tap(Action.NEXT)
    d.page()
    d.tap(Action.NEXT)
    d.tap(Action.SKIP)
    assert d.tap(Action.BACK) == (StartCamera("form", 1),)
    assert not d.state.documents[2].skipped
    d.tap(Action.SKIP)
    d.tap(Action.REDO, 1)
    d.tap(Action.BACK)
    assert d.state.step is Step.REVIEW
    d.state = replace(d.state, step=Step.CAPTURE, current=2, capture=CapturePhase.AIMING)
    docs = list(d.state.documents)
    docs[1] = replace(docs[1], skipped=True, pages=())
    d.state = replace(d.state, documents=tuple(docs))
    assert d.tap(Action.BACK) == (StopCamera(), StartCamera("address", 1))


# ----------------------------------------------------------------------------- inactivity


def test_inactivity_warns_thirty_seconds_before_the_wipe_and_more_time_extends() -> None:
    d = Driver()
    d.to_capture()
    d.tap(Action.BACK)                      # checklist: the ordinary timeout
    start = d.now
    d.wait(TIMEOUTS.inactivity - TIMEOUTS.warning - 1)
    assert d.state.overlay is None
    d.wait(1)
    assert d.state.overlay is Overlay.TIMEOUT
    assert d.state.warning_deadline == start + TIMEOUTS.inactivity  # type: ignore[unreachable]
    d.tap(Action.MORE_TIME)
    assert d.state.overlay is None and d.state.last_activity == d.now
    d.wait(TIMEOUTS.inactivity - 1)
    assert d.state.overlay is Overlay.TIMEOUT and d.state.step is Step.CHECKLIST
    commands = d.wait(1)
    assert commands == (Wipe(WipeReason.TIMEOUT),)
    d.send(WipeDone())
    assert d.state == fresh(d)


def test_the_capture_has_a_longer_timeout_and_stops_the_camera_on_the_wipe() -> None:
    d = Driver()
    d.to_capture()
    d.wait(TIMEOUTS.inactivity)
    assert d.state.step is Step.CAPTURE
    assert d.wait(TIMEOUTS.capture - TIMEOUTS.inactivity) == (StopCamera(),
                                                              Wipe(WipeReason.TIMEOUT))


def test_moving_a_page_counts_as_activity_but_does_not_answer_the_warning() -> None:
    d = Driver()
    d.to_capture()
    d.wait(200)
    d.send(Activity())
    assert d.state.last_activity == d.now
    d.wait(TIMEOUTS.capture - TIMEOUTS.warning)
    assert d.state.overlay is Overlay.TIMEOUT
    d.send(Activity())
    assert d.state.overlay is Overlay.TIMEOUT
    d.wait(TIMEOUTS.warning)
    assert d.state.step is Step.WIPE


def test_any_tap_answers_the_warning() -> None:
    d = Driver()
    d.tap(Action.START)
    d.wait(TIMEOUTS.inactivity - TIMEOUTS.warning)
    d.tap(Action.HELP)
    assert d.state.overlay is Overlay.HELP and d.state.warning_deadline is None


def test_the_welcome_screen_has_no_timer_until_someone_changes_the_language() -> None:
    d = Driver()
    d.wait(10_000)
    assert d.state == replace(fresh(d), last_activity=d.state.last_activity,
                              screen_since=d.state.screen_since)
    d.tap(Action.LANGUAGE, "en")
    d.wait(TIMEOUTS.inactivity)
    assert d.state.step is Step.WIPE
    d.send(WipeDone())
    assert d.state.language == "fr"


def test_satisfaction_ends_by_itself_warning_only_in_its_last_third() -> None:
    d = Driver()
    d.to_receipt()
    d.send(Printed())
    d.tap(Action.FINISH)
    third = TIMEOUTS.satisfaction / 3       # 15 s of 45: less than the 30 s warning
    d.wait(TIMEOUTS.satisfaction - third - 1)
    assert d.state.overlay is None
    d.wait(1)
    assert d.state.overlay is Overlay.TIMEOUT
    assert d.wait(third) == (Wipe(WipeReason.COMPLETED),)  # type: ignore[unreachable]


def test_a_receipt_left_on_screen_is_wiped_after_the_timeout() -> None:
    d = Driver()
    d.to_receipt()
    d.send(PrintFailed(PrintProblem.PAPER_OUT))
    assert d.wait(TIMEOUTS.inactivity) == (Wipe(WipeReason.COMPLETED),)
    assert d.state.step is Step.WIPE and d.state.deposit is None


def test_nothing_times_out_during_the_wipe_and_wipe_done_elsewhere_is_ignored() -> None:
    d = Driver()
    d.tap(Action.START)
    d.tap(Action.CANCEL)
    d.tap(Action.CANCEL_CONFIRM)
    assert d.wait(10_000) == ()
    d.send(WipeDone())
    before = d.state
    d.send(WipeDone())
    assert d.state == before


def test_a_warning_longer_than_the_timeout_comes_only_in_its_last_third() -> None:
    d = Driver()
    d.journey.timeouts = Timeouts(inactivity=30, warning=60)
    d.tap(Action.START)
    d.wait(19)
    assert d.state.overlay is None
    d.wait(1)
    assert d.state.overlay is Overlay.TIMEOUT
    d.wait(10)  # type: ignore[unreachable]
    assert d.state.step is Step.WIPE


# ----------------------------------------------------------------------------- odds and ends


def test_the_progress_indicator_covers_every_step_of_the_deposit() -> None:
    covered = {step for _label, steps in PROGRESS for step in steps}
    assert covered == set(Step) - {Step.WELCOME, Step.WIPE}
    assert progress_index(Step.CAPTURE) == 1 and progress_index(Step.WELCOME) is None


def test_choosing_an_unknown_procedure_does_nothing() -> None:
    d = Driver()
    d.tap(Action.START)
    d.tap(Action.CHOOSE, "nope")
    d.tap(Action.CHOOSE, 3)
    assert d.state.step is Step.PROCEDURE


def test_a_default_language_outside_the_languages_is_refused() -> None:
    with pytest.raises(ValueError, match="default language"):
        Journey(CATALOG, languages=("fr",), default_language="en")


def test_something_that_is_not_an_event_is_refused() -> None:
    d = Driver()
    with pytest.raises(TypeError):
        d.journey.handle(d.state, "tap", 0)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- any sequence

ACTION_ARGS: dict[Action, list[object]] = {
    Action.CHOOSE: [PROCEDURE, "rsa", "nope"], Action.REDO: [0, 1, 5],
    Action.CONTINUE: [None, Contact(), Contact(email="a@b.fr"), Contact(phone="x")],
    Action.CONSENT: [True, False], Action.RATE: [1, 3, 7], Action.LANGUAGE: ["en", "fr", "xx"],
}


def events() -> st.SearchStrategy[Event]:
    def tap(action: Action) -> st.SearchStrategy[Event]:
        return st.sampled_from(ACTION_ARGS.get(action, [None])).map(lambda a: Tap(action, a))

    return st.one_of(
        st.sampled_from(list(Action)).flatmap(tap),
        st.just(Tick()), st.just(Activity()), st.just(CaptureStarted()),
        st.just(CaptureFailed("blurred")), st.just(WipeDone()), st.just(Printed()),
        st.just(PrintFailed(PrintProblem.PAPER_OUT)), st.just(SealFailed(SealFailure.ERROR)),
        st.just(Sealed(DepositResult("X", "https://x"))),
        st.sampled_from([CodeRead("garbage"), CodeRead(convocation_url("x.fr", "rsa", "R"))]),
        st.builds(DeviceChanged, st.sampled_from(list(Device)), st.booleans(),
                  st.sampled_from([None, OutboxProblem.DISK_FULL, PrintProblem.PAPER_OUT])),
        st.just(PageCaptured(PageRef("new"))),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(events(), st.floats(0, 100)), max_size=80))
def test_any_sequence_of_events_keeps_pages_accounted_for_and_wipes_to_the_start(
        sequence: list[tuple[Event, float]]) -> None:
    d = Driver()
    live: set[str] = set()          # pages the session holds (captured, not discarded or wiped)
    counter = itertools.count()
    for event, dt in sequence:
        d.now += dt
        if isinstance(event, PageCaptured):
            event = PageCaptured(PageRef(f"p{next(counter)}"))
            live.add(event.page.id)
        for command in d.send(event):
            if isinstance(command, DiscardPages):
                assert set(command.page_ids) <= live
                live -= set(command.page_ids)
            elif isinstance(command, Wipe):
                live.clear()
        in_state = {p.id for doc in d.state.documents for p in doc.pages}
        assert in_state <= live
        assert len(in_state) == d.state.page_count       # no page twice
        if d.state.step is Step.WIPE:
            assert d.state.documents == () and d.state.contact == Contact()
    if d.state.step is not Step.WIPE:
        d.state = replace(d.state, overlay=None)
        d.tap(Action.CANCEL)
        if d.state.overlay is Overlay.CANCEL:
            d.tap(Action.CANCEL_CONFIRM)
        else:
            d.now += 10_000
            d.send(Tick())
    if d.state.step is Step.WIPE:
        d.send(WipeDone())
        assert d.state == fresh(d)
