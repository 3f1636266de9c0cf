"""Deemed-decision dates (backoffice/deadlines.py) against cases computed by hand.

Each case says how it was computed, from a calendar, not from the module: a delay in
months ends on the day with the same number as the day of receipt, or on the last day of
the month when it has none; a delay in days ends that many days after the day of receipt;
the day of receipt itself never counts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice.deadlines import (
    DocumentsReceived,
    DocumentsRequested,
    Event,
    State,
    TimelineError,
    deemed_decision,
    receipt_date,
)
from deposit.legal import Delay, DelayFormatError, DelayUnit, Silence, add

D = date
MONTH, TWO_MONTHS = Delay(1, DelayUnit.MONTHS), Delay(2, DelayUnit.MONTHS)
ACCEPT, REJECT = Silence.ACCEPTANCE, Silence.REJECTION
LATER = D(2030, 1, 1)   # a "today" after every case, where the day does not matter


# ---------------------------------------------------------------- add(): months

@pytest.mark.parametrize(("start", "months", "end"), [
    # An ordinary day: 15 January + 1 month = 15 February.
    (D(2024, 1, 15), 1, D(2024, 2, 15)),
    # 31 January, no 31 February, and 2023 is not a leap year: last day, 28 February.
    (D(2023, 1, 31), 1, D(2023, 2, 28)),
    # The same in 2024, a leap year: 29 February.
    (D(2024, 1, 31), 1, D(2024, 2, 29)),
    # 31 March: April has 30 days, so 30 April.
    (D(2024, 3, 31), 1, D(2024, 4, 30)),
    # 31 May: June has 30 days, so 30 June.
    (D(2024, 5, 31), 1, D(2024, 6, 30)),
    # 31 July: August has 31 days, so 31 August (two 31-day months in a row).
    (D(2024, 7, 31), 1, D(2024, 8, 31)),
    # 31 August: September has 30 days, so 30 September.
    (D(2024, 8, 31), 1, D(2024, 9, 30)),
    # 30 November + 3 months: February 2024 (leap) has no 30th, last day 29 February.
    (D(2023, 11, 30), 3, D(2024, 2, 29)),
    # 30 November 2022 + 3 months: February 2023 has 28 days.
    (D(2022, 11, 30), 3, D(2023, 2, 28)),
    # 31 January + 2 months is counted from 31 January, not from 29 February: 31 March.
    (D(2024, 1, 31), 2, D(2024, 3, 31)),
    # 29 February + 1 month: March has a 29th, so 29 March (not the end of March).
    (D(2024, 2, 29), 1, D(2024, 3, 29)),
    # 28 February 2023 + 1 month: the 28th exists in March, so 28 March, not 31 March.
    (D(2023, 2, 28), 1, D(2023, 3, 28)),
    # 29 February 2024 + 12 months: 2025 has no 29 February, last day 28 February.
    (D(2024, 2, 29), 12, D(2025, 2, 28)),
    # 29 February 2024 + 48 months: 2028 is a leap year, 29 February.
    (D(2024, 2, 29), 48, D(2028, 2, 29)),
    # Year boundary: 15 November + 2 months = 15 January of the next year.
    (D(2024, 11, 15), 2, D(2025, 1, 15)),
    # Year boundary and a short month: 31 December + 2 months, no 31 February 2025: 28th.
    (D(2024, 12, 31), 2, D(2025, 2, 28)),
    # 31 October + 2 months = 31 December (December has 31 days).
    (D(2024, 10, 31), 2, D(2024, 12, 31)),
    # 1900 and 2100 are not leap years (divisible by 100, not by 400): 28 February.
    (D(2100, 1, 31), 1, D(2100, 2, 28)),
    # 2000 is (divisible by 400): 29 February.
    (D(2000, 1, 31), 1, D(2000, 2, 29)),
    # service-public.fr F32388: complete on 1 March 2022, accepted on 1 May 2022, which is
    # a Sunday and a public holiday: no move to the next working day.
    (D(2022, 3, 1), 2, D(2022, 5, 1)),
])
def test_a_delay_in_months_ends_on_the_same_day_number_or_the_months_last_day(
        start: date, months: int, end: date) -> None:
    assert add(start, Delay(months, DelayUnit.MONTHS)) == end


# ---------------------------------------------------------------- add(): days

@pytest.mark.parametrize(("start", "days", "end"), [
    # 1 March + 15 days: the days are 2..16 March, so 16 March.
    (D(2024, 3, 1), 15, D(2024, 3, 16)),
    # 20 February 2024 (leap): 21..29 February is 9 days, 1..6 March 6 more: 6 March.
    (D(2024, 2, 20), 15, D(2024, 3, 6)),
    # 20 February 2023: 21..28 February is 8 days, 1..7 March 7 more: 7 March.
    (D(2023, 2, 20), 15, D(2023, 3, 7)),
    # 25 December + 10 days: 26..31 December is 6, 1..4 January 4 more: 4 January.
    (D(2024, 12, 25), 10, D(2025, 1, 4)),
    # 31 January 2024 + 30 days: 29 days of February, then 1 March (1 month would be 29 Feb).
    (D(2024, 1, 31), 30, D(2024, 3, 1)),
])
def test_a_delay_in_days_ends_that_many_days_after_the_day_of_receipt(
        start: date, days: int, end: date) -> None:
    assert add(start, Delay(days, DelayUnit.DAYS)) == end


# ---------------------------------------------------------------- the day of receipt

def test_a_deposit_late_in_the_evening_utc_is_received_the_next_day_in_paris() -> None:
    # 31 March 2024, 23:30 UTC: summer time began that night (UTC+2): 1 April, 01:30.
    assert receipt_date(datetime(2024, 3, 31, 23, 30, tzinfo=UTC)) == D(2024, 4, 1)
    # 31 December 2024, 23:30 UTC, winter time (UTC+1): 1 January 2025, 00:30.
    assert receipt_date(datetime(2024, 12, 31, 23, 30, tzinfo=UTC)) == D(2025, 1, 1)
    # 31 December 2024, 22:59 UTC: 23:59 in Paris, still the 31st.
    assert receipt_date(datetime(2024, 12, 31, 22, 59, tzinfo=UTC)) == D(2024, 12, 31)


def test_a_service_overseas_counts_in_its_own_calendar() -> None:
    # 1 March 2024, 21:00 UTC is 2 March, 01:00 in La Réunion (UTC+4), 22:00 in Paris.
    at = datetime(2024, 3, 1, 21, 0, tzinfo=UTC)
    assert receipt_date(at, ZoneInfo("Indian/Reunion")) == D(2024, 3, 2)
    assert receipt_date(at) == D(2024, 3, 1)


def test_a_time_of_receipt_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        receipt_date(datetime(2024, 3, 1, 12, 0))


# ---------------------------------------------------------------- Delay

@pytest.mark.parametrize(("text", "delay"), [
    ("2 months", Delay(2, DelayUnit.MONTHS)), ("15 days", Delay(15, DelayUnit.DAYS)),
    ("1 month", Delay(1, DelayUnit.MONTHS)), ("1 day", Delay(1, DelayUnit.DAYS)),
    ("24 months", Delay(24, DelayUnit.MONTHS)), ("365 days", Delay(365, DelayUnit.DAYS)),
])
def test_a_delay_is_read_as_the_catalog_writes_it(text: str, delay: Delay) -> None:
    assert Delay.parse(text) == delay


@pytest.mark.parametrize("text", ["", "2", "months", "2.5 months", "2 weeks", "-1 days",
                                  "deux mois", "2 mois", "2 months 3 days", "2  months",
                                  " 2 months", "0 days", "25 months", "366 days"])
def test_anything_else_is_not_a_delay_and_says_what_is(text: str) -> None:
    with pytest.raises(DelayFormatError, match=r"not a delay|longer than") as raised:
        Delay.parse(text)
    assert isinstance(raised.value, ValueError)


def test_a_delay_of_nothing_cannot_be_built_or_read() -> None:
    with pytest.raises(DelayFormatError, match="at least 1"):
        Delay(0, DelayUnit.DAYS)


# ---------------------------------------------------------------- no request for documents

def test_the_decision_is_born_at_the_end_of_the_deemed_day() -> None:
    # Received 31 January 2024, 2 months: 31 March. That day the delay still runs (the
    # administration can still decide); from 1 April the decision exists.
    on_the_day = deemed_decision(D(2024, 1, 31), TWO_MONTHS, ACCEPT, today=D(2024, 3, 31))
    assert (on_the_day.state, on_the_day.deemed_on) == (State.RUNNING, D(2024, 3, 31))
    next_day = deemed_decision(D(2024, 1, 31), TWO_MONTHS, ACCEPT, today=D(2024, 4, 1))
    assert (next_day.state, next_day.deemed_on) == (State.DEEMED, D(2024, 3, 31))
    assert next_day.in_force_from == D(2024, 4, 1)


# ---------------------------------------------------------------- one request, answered

REQUEST = DocumentsRequested(asked_on=D(2024, 1, 20), deadline=D(2024, 2, 20))
ANSWER = DocumentsReceived(D(2024, 2, 5))


@pytest.mark.parametrize("silence", [ACCEPT, REJECT])
def test_before_the_request_the_date_is_the_plain_delay(silence: Silence) -> None:
    # Received 10 January 2024 + 2 months = 10 March.
    now = deemed_decision(D(2024, 1, 10), TWO_MONTHS, silence, [], today=D(2024, 1, 15))
    assert (now.state, now.deemed_on, now.open_request) == (State.RUNNING, D(2024, 3, 10), None)


@pytest.mark.parametrize("silence", [ACCEPT, REJECT])
def test_while_documents_are_awaited_there_is_no_date(silence: Silence) -> None:
    now = deemed_decision(D(2024, 1, 10), TWO_MONTHS, silence, [REQUEST], today=D(2024, 1, 25))
    assert (now.state, now.deemed_on, now.open_request) == (State.SUSPENDED, None, REQUEST)
    # Still suspended on the deadline itself (the deadline is included).
    now = deemed_decision(D(2024, 1, 10), TWO_MONTHS, silence, [REQUEST], today=D(2024, 2, 20))
    assert now.state is State.SUSPENDED


def test_silence_meaning_acceptance_restarts_the_whole_delay_from_the_documents() -> None:
    # L114-5: the delay runs only from the documents' arrival, 5 February: 5 April.
    now = deemed_decision(D(2024, 1, 10), TWO_MONTHS, ACCEPT, [REQUEST, ANSWER],
                          today=D(2024, 2, 6))
    assert (now.state, now.deemed_on, now.open_request) == (State.RUNNING, D(2024, 4, 5), None)


def test_silence_meaning_rejection_only_suspends_the_delay() -> None:
    # L114-5: suspended from 20 January to 5 February, 16 days; 10 March + 16 = 26 March.
    now = deemed_decision(D(2024, 1, 10), TWO_MONTHS, REJECT, [REQUEST, ANSWER],
                          today=D(2024, 2, 6))
    assert (now.state, now.deemed_on) == (State.RUNNING, D(2024, 3, 26))


@pytest.mark.parametrize(("silence", "end"), [
    # Acceptance: the 2 months run from the documents, 1 March 2023: 1 May.
    (ACCEPT, D(2023, 5, 1)),
    # Rejection: 31 January + 2 months = 31 March; suspended 31 January to 1 March, 29 days
    # (28 of February and 1 of March): 31 March + 29 days = 29 April.
    (REJECT, D(2023, 4, 29)),
])
def test_a_request_on_the_day_of_receipt(silence: Silence, end: date) -> None:
    events: list[Event] = [DocumentsRequested(D(2023, 1, 31), D(2023, 3, 15)),
                           DocumentsReceived(D(2023, 3, 1))]
    assert deemed_decision(D(2023, 1, 31), TWO_MONTHS, silence, events,
                           today=LATER).deemed_on == end


def test_a_delay_in_days_is_suspended_by_days() -> None:
    # Received 20 February 2024, 15 days: 6 March. Suspended 25 February to 1 March
    # (leap year: 26, 27, 28, 29 February, 1 March), 5 days: 11 March.
    events: list[Event] = [DocumentsRequested(D(2024, 2, 25), D(2024, 3, 10)),
                           DocumentsReceived(D(2024, 3, 1))]
    assert deemed_decision(D(2024, 2, 20), Delay(15, DelayUnit.DAYS), REJECT, events,
                           today=LATER).deemed_on == D(2024, 3, 11)


def test_documents_arriving_on_the_31st_restart_across_the_year() -> None:
    # Acceptance, documents received 31 December 2024: 2 months, no 31 February: 28 Feb 2025.
    events: list[Event] = [DocumentsRequested(D(2024, 11, 5), D(2025, 1, 5)),
                           DocumentsReceived(D(2024, 12, 31))]
    assert deemed_decision(D(2024, 10, 31), TWO_MONTHS, ACCEPT, events,
                           today=LATER).deemed_on == D(2025, 2, 28)


# ---------------------------------------------------------------- two successive requests

TWO_ROUNDS: list[Event] = [
    DocumentsRequested(D(2024, 3, 5), D(2024, 3, 20)), DocumentsReceived(D(2024, 3, 15)),
    DocumentsRequested(D(2024, 4, 2), D(2024, 4, 30)), DocumentsReceived(D(2024, 4, 10))]


def test_two_successive_requests_under_acceptance_restart_twice() -> None:
    # Received 1 March 2024: 1 May. Documents on 15 March: 15 May. The second request on
    # 2 April comes before 15 May; its documents on 10 April: 10 June.
    assert deemed_decision(D(2024, 3, 1), TWO_MONTHS, ACCEPT, TWO_ROUNDS[:2],
                           today=D(2024, 3, 16)).deemed_on == D(2024, 5, 15)
    assert deemed_decision(D(2024, 3, 1), TWO_MONTHS, ACCEPT, TWO_ROUNDS,
                           today=D(2024, 4, 11)).deemed_on == D(2024, 6, 10)


def test_two_successive_requests_under_rejection_add_their_suspensions() -> None:
    # 1 May, + 10 days (5 to 15 March) = 11 May, + 8 days (2 to 10 April) = 19 May.
    assert deemed_decision(D(2024, 3, 1), TWO_MONTHS, REJECT, TWO_ROUNDS,
                           today=D(2024, 4, 11)).deemed_on == D(2024, 5, 19)


def test_a_second_request_before_the_first_is_answered_is_refused() -> None:
    events: list[Event] = [DocumentsRequested(D(2024, 3, 5), D(2024, 3, 20)),
              DocumentsRequested(D(2024, 3, 6), D(2024, 3, 20))]
    with pytest.raises(TimelineError, match="while the one of 2024-03-05 waits"):
        deemed_decision(D(2024, 3, 1), TWO_MONTHS, ACCEPT, events, today=LATER)


# ---------------------------------------------------------------- the deadline passes

def test_under_acceptance_an_unanswered_deadline_leaves_no_date() -> None:
    # Deadline 20 February passed on 1 March without documents: the delay does not run.
    now = deemed_decision(D(2024, 1, 10), TWO_MONTHS, ACCEPT, [REQUEST], today=D(2024, 3, 1))
    assert (now.state, now.deemed_on, now.open_request) == \
        (State.DOCUMENTS_OVERDUE, None, REQUEST)


def test_under_acceptance_documents_after_the_deadline_restart_the_delay() -> None:
    # The text makes the delay run from the documents' arrival, late or not: 4 March: 4 May.
    late = DocumentsReceived(D(2024, 3, 4))
    now = deemed_decision(D(2024, 1, 10), TWO_MONTHS, ACCEPT, [REQUEST, late],
                          today=D(2024, 3, 5))
    assert (now.state, now.deemed_on) == (State.RUNNING, D(2024, 5, 4))


def test_under_rejection_the_suspension_ends_at_the_deadline() -> None:
    # Suspended 20 January to the deadline 20 February: 31 days (11 + 20); 10 March + 31
    # days = 10 April. On 1 March, no documents: the delay runs again, the request is
    # still reported as unanswered.
    now = deemed_decision(D(2024, 1, 10), TWO_MONTHS, REJECT, [REQUEST], today=D(2024, 3, 1))
    assert (now.state, now.deemed_on, now.open_request) == (State.RUNNING, D(2024, 4, 10), REQUEST)
    # Documents on 4 March, after the deadline, change nothing.
    now = deemed_decision(D(2024, 1, 10), TWO_MONTHS, REJECT,
                          [REQUEST, DocumentsReceived(D(2024, 3, 4))], today=D(2024, 3, 5))
    assert (now.state, now.deemed_on, now.open_request) == (State.RUNNING, D(2024, 4, 10), None)


def test_under_rejection_documents_after_the_decision_is_born_change_nothing() -> None:
    # Suspended 20 to 25 January (deadline), 5 days: 10 March + 5 = 15 March, born at its
    # end. Documents on 20 March come too late and are reported as such.
    late = DocumentsReceived(D(2024, 3, 20))
    events: list[Event] = [DocumentsRequested(D(2024, 1, 20), D(2024, 1, 25)), late]
    now = deemed_decision(D(2024, 1, 10), TWO_MONTHS, REJECT, events, today=D(2024, 3, 21))
    assert (now.state, now.deemed_on, now.after_decision) == (State.DEEMED, D(2024, 3, 15), (late,))


# ---------------------------------------------------------------- once born

def test_a_request_after_the_deemed_day_does_not_revive_the_delay() -> None:
    # 10 January + 2 months = 10 March, born at its end; a request on 11 March is too late.
    late = DocumentsRequested(D(2024, 3, 11), D(2024, 4, 11))
    now = deemed_decision(D(2024, 1, 10), TWO_MONTHS, ACCEPT, [late], today=D(2024, 3, 12))
    assert (now.state, now.deemed_on, now.after_decision) == (State.DEEMED, D(2024, 3, 10), (late,))


def test_a_request_on_the_deemed_day_still_suspends() -> None:
    # On 10 March the decision is not born yet (it is at midnight that night).
    request = DocumentsRequested(D(2024, 3, 10), D(2024, 4, 10))
    now = deemed_decision(D(2024, 1, 10), TWO_MONTHS, ACCEPT, [request], today=D(2024, 3, 10))
    assert now.state is State.SUSPENDED


# ---------------------------------------------------------------- impossible histories

@pytest.mark.parametrize(("events", "today", "says"), [
    ([DocumentsReceived(D(2024, 2, 1))], LATER, "answer no request"),
    ([REQUEST, ANSWER, DocumentsReceived(D(2024, 2, 6))], LATER, "answer no request"),
    ([DocumentsRequested(D(2024, 1, 5), D(2024, 2, 5))], LATER, "before the day of receipt"),
    ([DocumentsRequested(D(2024, 1, 20), D(2024, 1, 19))], LATER, "deadline before it"),
    ([REQUEST, DocumentsReceived(D(2024, 1, 19))], LATER, "in the order they happened"),
    ([REQUEST], D(2024, 1, 15), "has not happened yet"),
    ([], D(2024, 1, 9), "before the day of receipt"),
])
def test_an_impossible_history_is_refused_and_says_why(events, today, says) -> None:
    with pytest.raises(TimelineError, match=says):
        deemed_decision(D(2024, 1, 10), TWO_MONTHS, ACCEPT, events, today=today)


# ---------------------------------------------------------------- properties

dates = st.dates(min_value=D(1900, 1, 1), max_value=D(2200, 12, 31))
delays = st.builds(Delay, st.integers(1, 120), st.sampled_from(DelayUnit))


@given(dates, delays)
def test_the_end_of_a_delay_is_always_after_its_start(start: date, delay: Delay) -> None:
    assert add(start, delay) > start


@given(dates, st.integers(1, 120))
def test_months_from_the_first_of_a_month_end_on_a_first(start: date, months: int) -> None:
    assert add(start.replace(day=1), Delay(months, DelayUnit.MONTHS)).day == 1


@given(dates, st.integers(1, 120))
def test_months_from_a_day_every_month_has_keep_that_day(start: date, months: int) -> None:
    start = start.replace(day=min(start.day, 28))
    assert add(start, Delay(months, DelayUnit.MONTHS)).day == start.day


@given(dates, dates, delays)
def test_a_later_start_never_ends_earlier(a: date, b: date, delay: Delay) -> None:
    first, second = sorted((a, b))
    assert add(first, delay) <= add(second, delay)


@given(delays)
def test_a_delay_reads_back_what_it_writes(delay: Delay) -> None:
    if delay.count <= (24 if delay.unit is DelayUnit.MONTHS else 365):
        assert Delay.parse(str(delay)) == delay


@given(dates, delays, st.integers(0, 400), st.integers(0, 400), st.sampled_from([ACCEPT, REJECT]))
def test_an_answered_request_never_brings_the_date_earlier(
        received: date, delay: Delay, wait: int, answer: int, silence: Silence) -> None:
    asked = received + timedelta(days=wait)
    answered = asked + timedelta(days=answer)
    plain = add(received, delay)
    events: list[Event] = [DocumentsRequested(asked, answered), DocumentsReceived(answered)]
    now = deemed_decision(received, delay, silence, events, today=D(2300, 1, 1))
    assert now.deemed_on is not None and now.deemed_on >= plain
    if asked > plain:           # asked once the decision was born: nothing moves
        assert (now.deemed_on, now.after_decision) == (plain, tuple(events))
    elif silence is ACCEPT:     # the whole delay from the documents
        assert now.deemed_on == add(answered, delay)
    else:                       # the plain date, later by the days it waited
        assert now.deemed_on == plain + timedelta(days=answer)
