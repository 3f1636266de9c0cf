"""``bin/kiosk demo`` (``python -m devtools.demo``): the whole product on one machine.

A back office, a kiosk on simulated devices, and a deposit from the touchscreen to the
staff's decrypted dossier.

1. A local back office: ``backoffice init`` (HTTPS on 127.0.0.1, free ports,
   a temporary data folder), ``backoffice enroll`` of the demo kiosk,
   ``backoffice staff add`` of the demo's staff account (its profile and
   passphrase stay in the demo's folder), ``backoffice serve``.
2. The kiosk's real interface on the simulated camera, printer and code
   reader. Without a display it runs under Xvfb and plays a scripted deposit
   through real touches on real widgets (a convocation QR code, 3 documents,
   4 pages laid on the simulated tray, a phone number, the receipt); with a
   display it opens the window and lets a person play (``--script`` plays the
   script there too).
   The kiosk's uploader runs beside it as its own process (``kiosk uploader``,
   as on a kiosk), nudged by the kiosk after the deposit.
3. The dossier delivered to the back office, fetched through the staff API
   with the staff account's profile (``backoffice fetch``) and decrypted with
   the staff identity (``backoffice decrypt``), as staff do, and the citizen's
   status page read over HTTPS.

Progress goes to stderr, one line a step; ``--json`` ends with one JSON object
on stdout. Everything the demo starts is stopped at the end, even on failure;
its files stay in the folder it names, for a look.

``--bundle BUNDLE_DIR`` skips step 1 and deposits into the back office the
bundle names (as a kiosk enrolled there would). When that back office refuses
or cannot be reached, the deposit stays queued in the kiosk's outbox and the
JSON says so; without the staff identity nothing is decrypted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deposit.outbox import Outbox
from deposit.status import OutboxState
from devtools import processes
from devtools.backoffice import BackOffice, backoffice_cli, decode_qr, read_status, say
from devtools.citizen import Citizen, printer_simulator
from devtools.xvfb import Xvfb, need_virtual_display
from kiosk.catalog import convocation_url
from kiosk.commands.run import run_app
from kiosk.config import Config, load_config
from kiosk.errors import KioskError
from kiosk.journey import ReceiptPhase, Step
from kiosk.runtime import Runtime, SealingKeys, build_runtime, sealing_keys

if TYPE_CHECKING:   # imports Kivy, which must be prepared first (kiosk.ui.boot)
    from devtools.kit import Kiosk

log = logging.getLogger("kiosk.demo")

KIOSK_ID = "DEMO-01"
#: The scripted deposit: a convocation for these documents, and the pages laid for each.
PROCEDURE = "impots-justificatifs"
REFERENCE = "SIP-2025-004217"
DOCUMENTS = {"tax-notice": ["tax-notice"], "income": ["payslip", "text"],
             "expenses": ["proof-of-address"]}
PHONE = "0612345678"
#: How long the demo waits for the uploader to deliver the dossier.
DELIVERY_WAIT_S = 90.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bin/kiosk demo",
        description="Start a local back office and the kiosk on simulated devices, and make a "
                    "deposit (scripted without a display, by you with one).")
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON object on stdout (what was made, where)")
    parser.add_argument("--key-type", choices=("mlkem768x25519", "x25519"),
                        default="mlkem768x25519",
                        help="the back office's staff key: post-quantum (default) or classical "
                             "X25519 (then `age -d -i IDENTITY` opens the envelope)")
    parser.add_argument("--bundle", type=Path, metavar="BUNDLE_DIR",
                        help="deposit into the running back office of this enrollment bundle "
                             "instead of starting one")
    parser.add_argument("--script", action="store_true",
                        help="play the scripted deposit even when there is a display")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where the demo keeps its files (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated tray")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(args)


@dataclass
class Result:
    """What the demo made, for the summary and ``--json``."""

    values: dict[str, Any] = field(default_factory=dict)

    def __setitem__(self, key: str, value: Any) -> None:
        self.values[key] = str(value) if isinstance(value, Path) else value


def play_deposit(kiosk: Kiosk, result: Result) -> None:
    """The scripted citizen: a convocation, three documents (four pages), a phone number."""
    person = Citizen(kiosk)
    driver = kiosk.driver
    say("citizen: shows the QR code of a convocation letter")
    person.show_code(convocation_url("rdv.impots.example.fr", PROCEDURE, REFERENCE,
                                     list(DOCUMENTS)))
    driver.wait_for_step(Step.CHECKLIST)
    person.tap("begin")
    driver.wait_for_step(Step.CAPTURE)
    for number, (document, pages) in enumerate(DOCUMENTS.items(), start=1):
        say(f"citizen: lays {document} on the tray ({len(pages)} page"
            f"{'s' if len(pages) > 1 else ''})")
        person.capture_document(pages, last=number == len(DOCUMENTS))
    driver.wait_for_step(Step.REVIEW)
    person.tap("continue")
    driver.wait_for_step(Step.CONTACT)
    say("citizen: types a phone number and agrees to be contacted")
    driver.tap(driver.app.root.current_screen.ids.phone_field)
    driver.type_text(PHONE)
    person.tap("consent")
    person.tap("continue")
    driver.wait_for_step(Step.CONFIRM)
    say("citizen: sends the dossier")
    person.tap("send")
    driver.wait_until(lambda: driver.state.receipt in (ReceiptPhase.PRINTED,
                                                       ReceiptPhase.ON_SCREEN),
                      120, "the receipt")
    state = driver.state
    assert state.deposit is not None
    result["deposit_id"] = state.deposit.deposit_id
    result["status_url"] = state.deposit.tracking_url
    result["printed"] = state.receipt is ReceiptPhase.PRINTED
    result["documents"] = [{"code": d.code, "pages": len(d.pages)} for d in state.documents]
    result["pages"] = state.page_count
    say(f"kiosk: deposit {state.deposit.deposit_id} sealed; receipt "
        f"{'printed' if state.receipt is ReceiptPhase.PRINTED else 'shown on screen'}")
    person.tap("finish")
    person.tap("rate", 3)
    driver.wait_for_step(Step.WELCOME)
    result["taps"] = driver.taps


def run(args: argparse.Namespace) -> int:
    logging.getLogger().setLevel(logging.WARNING if not args.verbose else logging.INFO)
    work = args.out or Path(tempfile.mkdtemp(prefix="kiosk-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    result = Result()
    result["work_dir"] = work
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        try:
            status = demo(args, work, result, stack)
        except KioskError as exc:
            say(f"failed: {exc}")
            result["error"] = str(exc)
            status = 1
        except Exception as exc:
            log.exception("demo failed")
            say(f"failed: {type(exc).__name__}: {exc}")
            result["error"] = f"{type(exc).__name__}: {exc}"
            status = 1
    result["seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps(result.values, indent=2, ensure_ascii=False))
    else:
        for key, value in result.values.items():
            print(f"{key}: {value}")
    say(f"done in {result.values['seconds']} s; files in {work}")
    return status


def demo(args: argparse.Namespace, work: Path, result: Result,
         stack: contextlib.ExitStack) -> int:
    office: BackOffice | None = None
    if args.bundle is None:
        office = BackOffice.create(work, args.key_type, KIOSK_ID)
        stack.callback(office.stop)
        office.serve()
        bundle = office.bundle
        result["back_office"] = office.url
        result["identity"] = office.identity
        result["key_type"] = args.key_type
    else:
        bundle = args.bundle.resolve()
        result["identity"] = None
    try:
        facts = json.loads((bundle / "bundle.json").read_text(encoding="utf-8"))
        kiosk_id, code = facts["kiosk_id"], facts["fleet_code"]
    except (OSError, ValueError, KeyError) as exc:
        raise KioskError(f"{bundle}: not an enrollment bundle ({exc})") from None
    result["bundle"] = bundle
    result.values.setdefault("back_office", facts.get("upload_url"))
    config_path = write_config(work, kiosk_id, code, bundle, args.seed)
    config = load_config(config_path)
    result["config"] = config_path
    keys = sealing_keys(config)
    say(f"starting the kiosk's uploader (log: {work / 'uploader.log'})")
    stack.callback(processes.stop, processes.start_uploader(config_path, work / "uploader.log"))
    headless = need_virtual_display()
    scripted = headless or args.script
    if headless:
        xvfb = Xvfb(1280, 800)
        say("no display: starting a virtual one (Xvfb)")
        xvfb.start()
        stack.callback(xvfb.stop)
    from kiosk.ui import boot

    boot.prepare(width=1280, height=800, fullscreen=False, kivy_home=work / "kivy",
                 console_log=bool(args.verbose))
    if not scripted:
        return play_by_hand(config, keys, bundle, office, result)
    from devtools.kit import start_kiosk

    say(f"starting kiosk {kiosk_id} on the simulated camera, printer and code reader")
    kiosk = start_kiosk(config, keys)
    stack.callback(kiosk.close)
    play_deposit(kiosk, result)
    pngs = printer_simulator(kiosk.runtime).pngs
    result["receipt_png"] = pngs[-1] if pngs else None
    return finish(config, bundle, office, result)


def write_config(work: Path, kiosk_id: str, code: str, bundle: Path, seed: int) -> Path:
    """The kiosk's configuration file, as a technician's would be (simulated devices)."""
    data = work / "kiosk"
    receipts = data / "receipts"
    path = work / "kiosk.toml"
    path.write_text(f"""# The demo kiosk (devtools/demo.py): simulated devices, files under {work}.
[kiosk]
id = "{kiosk_id}"
code = "{code}"
place = "Démonstration"
data_dir = {json.dumps(str(data))}

[devices]
camera = "sim://?seed={seed}&placed=false"
printer = {json.dumps(f"sim://?out={receipts}")}
code_reader = "sim://"

[ui]
fullscreen = false
width = 1280
height = 800
dpi = 96

[upload]
bundle = {json.dumps(str(bundle))}
poll_s = 5
max_backoff_s = 10
""", encoding="utf-8")
    return path


def play_by_hand(config: Config, keys: SealingKeys, bundle: Path, office: BackOffice | None,
                 result: Result) -> int:
    """A person plays in the window; the last deposit made is reported when it is closed."""
    say("the kiosk window is open: make a deposit (QR codes: see docs/journey.md); close the "
        "window to finish")
    holder: dict[str, Runtime] = {}

    def build(cfg: Config, k: SealingKeys | None) -> Runtime:
        runtime = build_runtime(cfg, k)
        holder["runtime"] = runtime
        return runtime

    run_app(config, keys, width=1280, height=800, fullscreen=False, build=build)
    with Outbox(config.kiosk.data_dir / "outbox") as outbox:
        last = outbox.last_deposit_id()
    if last is None:
        say("no deposit was made")
        return 0
    result["deposit_id"] = last
    receipts = config.kiosk.data_dir / "receipts"
    pngs = sorted(receipts.glob("*.png"))
    result["receipt_png"] = pngs[-1] if pngs else None
    if pngs:
        codes = decode_qr(pngs[-1])
        result["status_url"] = codes[0] if codes else None
    return finish(config, bundle, office, result)


def wait_for_delivery(config: Config, deposit_id: str, timeout: float) -> dict[str, Any]:
    """What the uploader did with the deposit, waiting up to ``timeout`` s for its delivery."""
    deadline = time.monotonic() + timeout
    with Outbox(config.kiosk.data_dir / "outbox") as outbox:
        while True:
            entry = outbox.get(deposit_id)
            done = entry.state in (OutboxState.ACKNOWLEDGED, OutboxState.PURGED,
                                   OutboxState.REFUSED)
            if done or time.monotonic() > deadline:
                return {"state": entry.state.value,
                        "outcome": entry.last_outcome.value if entry.last_outcome else None,
                        "reason": entry.last_error or "", "attempts": entry.attempts,
                        "envelope": str(entry.envelope_path)
                        if entry.envelope_path.exists() else None}
            time.sleep(0.3)


def finish(config: Config, bundle: Path, office: BackOffice | None, result: Result) -> int:
    """Delivery, the staff's decryption and the status page, as far as each is possible."""
    deposit_id = result.values.get("deposit_id")
    if not deposit_id:
        raise KioskError("no deposit was made")
    say("kiosk: the dossier is sealed and queued; waiting for the uploader to deliver it")
    delivery = wait_for_delivery(config, deposit_id,
                                 DELIVERY_WAIT_S if office is not None else 20.0)
    delivered = delivery["outcome"] in ("delivered", "conflict")
    result["delivered"] = delivered
    result["queued"] = not delivered
    result["delivery"] = delivery
    result["outbox_state"] = delivery["state"]
    say(f"kiosk: dossier {deposit_id} {delivery['outcome'] or 'waiting'}"
        + (f" ({delivery['reason']})" if delivery["reason"] else ""))
    result["envelope"] = delivery["envelope"]
    result["dossier_dir"] = None
    if office is not None and delivered:
        fetched = office.data.parent / "fetched"
        say("staff: fetches the envelope and its signed manifest from the back office")
        backoffice_cli("fetch", *office.staff_args(), deposit_id, "-o", str(fetched))
        result["envelope"] = fetched / f"{deposit_id}.age"
        dossier = office.data.parent / "dossier" / deposit_id
        say("staff: decrypts it with the staff identity")
        backoffice_cli("decrypt", "-i", str(office.identity), str(fetched / f"{deposit_id}.age"),
                       "-o", str(dossier))
        result["dossier_dir"] = dossier
        result["dossier_files"] = sorted(p.name for p in dossier.iterdir())
    png = result.values.get("receipt_png")
    if png:
        codes = decode_qr(Path(png))
        result["receipt_qr"] = codes[0] if codes else None
        result["receipt_qr_is_status_url"] = bool(codes) and \
            codes[0] == result.values.get("status_url")
    url = result.values.get("status_url")
    result["status"] = None
    if url and delivered:
        # The status page has its own chain: the local back office's placeholder, or a
        # publicly trusted one (the system's store) for a real back office.
        status, detail = read_status(
            url, office.data / "public" / "public.crt" if office is not None else None)
        result["status"] = status
        say(f"citizen's phone: the status page says {status!r} ({detail})")
    if office is None and not delivered:
        say("the back office of the bundle did not take the dossier yet: it stays queued on "
            "the kiosk, encrypted, for the uploader")
    return 0


if __name__ == "__main__":
    sys.exit(main())
