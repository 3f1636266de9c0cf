"""Receipt codes read strictly, and the complement lookup against a simulated back office.

The client is the real one; the other side of the wire is devtools.lookupsim on
127.0.0.1 (plain HTTP for the contract and its faults; once over mutual TLS
with an enrolled kiosk's bundle, as the real kiosk listener asks).
"""

from __future__ import annotations

import socket
import ssl
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from deposit.complements import (
    ComplementClient,
    ComplementLookupError,
    Lookup,
    LookupFailure,
    LookupState,
    ReceiptCode,
    ReceiptCodeError,
    looks_like_receipt,
    parse_receipt_code,
)
from deposit.ids import DepositId
from deposit.manifest import new_tracking_token
from devtools.lookupsim import Fault, LookupSimulator
from printer.receipt import status_link, tracking_url

PUBLIC = "https://suivi.example.fr"
NUMBER = str(DepositId("K7QM", 12345))
TOKEN = new_tracking_token()


def receipt_url(number: str = NUMBER, token: str = TOKEN, language: str = "fr",
                public: str = PUBLIC) -> str:
    """What a receipt's QR code holds, as the printer writes it."""
    return status_link(tracking_url(public, DepositId.parse(number), token), language)


# ----------------------------------------------------------------------------- receipt codes


@pytest.mark.parametrize("language", ["fr", "en", "ar", "fr-falc"])
def test_a_printed_receipts_code_gives_its_number_and_token(language: str) -> None:
    assert parse_receipt_code(receipt_url(language=language), PUBLIC) == \
        ReceiptCode(NUMBER, TOKEN)


def test_a_public_address_with_a_path_prefix_is_kept() -> None:
    public = "https://services.example.fr/depot/"
    assert parse_receipt_code(receipt_url(public=public), public).deposit_id == NUMBER


@pytest.mark.parametrize(("text", "why"), [
    ("https://suivi.evil.example/suivi/{n}?t={t}", "another host"),
    ("http://suivi.example.fr/suivi/{n}?t={t}", "another scheme"),
    ("https://suivi.example.fr:8443/suivi/{n}?t={t}", "another port"),
    ("https://suivi.example.fr/status/{n}?t={t}", "another path"),
    ("https://suivi.example.fr/suivi/{n}/x?t={t}", "a longer path"),
    ("https://suivi.example.fr/suivi/K7QM-0003-0XX0?t={t}", "a number that does not check out"),
    ("https://suivi.example.fr/suivi/{lower}?t={t}", "a number not written as receipts do"),
    ("https://suivi.example.fr/suivi/{n}", "no token"),
    ("https://suivi.example.fr/suivi/{n}?t=", "an empty token"),
    ("https://suivi.example.fr/suivi/{n}?t=short", "a token too short"),
    ("https://suivi.example.fr/suivi/{n}?t={t}%20x", "a token with a space"),
    ("https://suivi.example.fr/suivi/{n}?t={t}&t={t}", "two tokens"),
    ("https://suivi.example.fr/suivi/{n}?t={t}&next=https://evil", "an extra parameter"),
    ("https://suivi.example.fr/suivi/{n}?t={t}&lang=../x", "a language that is not one"),
    ("https://suivi.example.fr/suivi/{n}?t={t}#frag", "a fragment"),
    ("https://user@suivi.example.fr/suivi/{n}?t={t}", "a user name"),
    ("{n}", "a bare number"),
    ("https://suivi.example.fr/suivi/{n}?t={t}" + "&" * 600, "a code far too long"),
])
def test_a_code_that_is_not_exactly_one_of_our_receipts_is_refused(text: str, why: str) -> None:
    code = text.format(n=NUMBER, t=TOKEN, lower=NUMBER.lower())
    with pytest.raises(ReceiptCodeError):
        parse_receipt_code(code, PUBLIC)


def test_status_page_addresses_are_told_from_other_codes() -> None:
    assert looks_like_receipt(receipt_url())
    assert looks_like_receipt("https://suivi.evil.example/suivi/ABC?t=x")
    assert not looks_like_receipt("https://rdv.example.fr/convocation?p=carte-grise")
    assert not looks_like_receipt("DC04FR000001...")
    assert not looks_like_receipt("suivi/" + NUMBER)


def test_the_token_never_shows_in_a_codes_repr() -> None:
    assert TOKEN not in repr(ReceiptCode(NUMBER, TOKEN))


# ----------------------------------------------------------------------------- the answers


@pytest.fixture
def sim():
    with LookupSimulator() as running:
        yield running


def client_for(base_url: str, timeout: float = 2.0) -> ComplementClient:
    return ComplementClient(lambda: httpx.Client(timeout=timeout), base_url)


def test_an_open_request_names_its_documents_deadline_and_note(sim: LookupSimulator) -> None:
    sim.request_documents(NUMBER, TOKEN, ["address", "identity"], procedure="listes-electorales",
                          deadline=date(2027, 1, 15), note="Le justificatif doit dater de "
                          "moins de 3 mois.")
    answer = client_for(sim.base_url).lookup(ReceiptCode(NUMBER, TOKEN))
    assert answer == Lookup(LookupState.OPEN, "rq_0123456789abcdef", "listes-electorales",
                            ("address", "identity"), date(2027, 1, 15),
                            "Le justificatif doit dater de moins de 3 mois.")
    assert sim.requests == [{"deposit_id": NUMBER, "token": TOKEN}]


def test_a_wrong_token_an_unknown_number_and_nothing_requested_answer_alike(
        sim: LookupSimulator) -> None:
    sim.request_documents(NUMBER, TOKEN, ["address"], procedure="listes-electorales",
                          deadline=date(2027, 1, 15))
    client = client_for(sim.base_url)
    other = str(DepositId("K7QM", 999))
    answers = {client.lookup(ReceiptCode(NUMBER, new_tracking_token())),
               client.lookup(ReceiptCode(other, TOKEN))}
    assert answers == {Lookup(LookupState.NONE)}


def test_an_expired_request_gives_its_deadline(sim: LookupSimulator) -> None:
    sim.expire(NUMBER, TOKEN, date(2026, 11, 30))
    assert client_for(sim.base_url).lookup(ReceiptCode(NUMBER, TOKEN)) == \
        Lookup(LookupState.EXPIRED, deadline=date(2026, 11, 30))


@pytest.mark.parametrize(("fault", "failure"), [
    (Fault.BUSY, LookupFailure.OFFLINE),
    (Fault.FORBIDDEN, LookupFailure.REFUSED),
    (Fault.NOT_JSON, LookupFailure.MALFORMED),
    (Fault.WRONG_SHAPE, LookupFailure.MALFORMED),
])
def test_each_way_a_back_office_fails_is_one_named_failure(sim: LookupSimulator, fault: Fault,
                                                           failure: LookupFailure) -> None:
    sim.fault = fault
    with pytest.raises(ComplementLookupError) as caught:
        client_for(sim.base_url).lookup(ReceiptCode(NUMBER, TOKEN))
    assert caught.value.failure is failure


def test_a_back_office_that_never_answers_is_offline_within_the_timeout(
        sim: LookupSimulator) -> None:
    sim.fault = Fault.HANG
    start = time.monotonic()
    with pytest.raises(ComplementLookupError) as caught:
        client_for(sim.base_url, timeout=0.5).lookup(ReceiptCode(NUMBER, TOKEN))
    assert caught.value.failure is LookupFailure.OFFLINE
    assert time.monotonic() - start < 3.0


def test_no_back_office_listening_is_offline() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ComplementLookupError) as caught:
        client_for(f"http://127.0.0.1:{port}/files/").lookup(ReceiptCode(NUMBER, TOKEN))
    assert caught.value.failure is LookupFailure.OFFLINE


@pytest.mark.parametrize("answer", [
    [],
    {"state": "maybe"},
    {"state": "expired"},
    {"state": "expired", "deadline": "2026-02-30"},
    {"state": "open", "request_id": "rq_0123456789", "procedure": "p", "documents": [],
     "deadline": "2027-01-15"},
    {"state": "open", "request_id": "rq_0123456789", "procedure": "p", "documents": ["a", "a"],
     "deadline": "2027-01-15"},
    {"state": "open", "request_id": "rq", "procedure": "p", "documents": ["a"],
     "deadline": "2027-01-15"},
    {"state": "open", "request_id": "rq_0123456789", "procedure": "../p", "documents": ["a"],
     "deadline": "2027-01-15"},
    {"state": "open", "request_id": "rq_0123456789", "procedure": "p", "documents": ["a"],
     "deadline": "2027-01-15", "note": "x" * 1001},
])
def test_an_answer_outside_the_contract_is_malformed(answer: object) -> None:
    with pytest.raises(ComplementLookupError) as caught:
        Lookup.from_json(answer)
    assert caught.value.failure is LookupFailure.MALFORMED


# ----------------------------------------------------------------------------- mutual TLS


def test_the_enrollment_bundles_client_asks_over_mutual_tls(tmp_path: Path) -> None:
    """The kiosk's lookup as runtime.sealing_keys wires it: the bundle's certificate, its
    fleet CA, its upload URL. A server that requires the fleet's client certificate answers;
    a client without one is refused."""
    from backoffice.settings import load_settings
    from kiosk.config import load_config
    from kiosk.runtime import sealing_keys
    from tests.e2e.fleet import enrolled, kiosk_config, point_bundle_at

    office = enrolled(tmp_path, "MAIRIE-40")
    settings = load_settings(office.data)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.server_cert, settings.server_key)
    context.load_verify_locations(settings.ca_cert)
    context.verify_mode = ssl.CERT_REQUIRED
    with LookupSimulator(context=context) as sim:
        point_bundle_at(office.bundle, sim.port)
        keys = sealing_keys(load_config(kiosk_config(tmp_path / "kiosk", office.bundle)))
        assert keys.complements is not None
        sim.request_documents(NUMBER, TOKEN, ["address"], procedure="listes-electorales",
                              deadline=date(2027, 1, 15))
        answer = keys.complements.lookup(ReceiptCode(NUMBER, TOKEN))
        assert answer.state is LookupState.OPEN and answer.documents == ("address",)
        anonymous = ComplementClient(lambda: httpx.Client(verify=False, timeout=2.0),
                                     sim.base_url)
        with pytest.raises(ComplementLookupError) as caught:
            anonymous.lookup(ReceiptCode(NUMBER, TOKEN))
        assert caught.value.failure is LookupFailure.REFUSED
        assert len(sim.requests) == 1
