"""``bin/kiosk demo`` (``python -m devtools.demo``): the whole product on one machine.

A back office, a kiosk on simulated devices, and a deposit from the touchscreen to the
staff's decrypted dossier.

1. A local back office: ``backoffice init`` (HTTPS on 127.0.0.1, a free port,
   a temporary data folder), ``backoffice enroll`` of the demo kiosk,
   ``backoffice serve``.
2. The kiosk's real interface on the simulated camera, printer and code
   reader. Without a display it runs under Xvfb and plays a scripted deposit
   through real touches on real widgets (a convocation QR code, 3 documents,
   4 pages laid on the simulated tray, a phone number, the receipt); with a
   display it opens the window and lets a person play (``--script`` plays the
   script there too).
3. The dossier delivered to the back office, fetched and decrypted with the
   staff identity (``backoffice fetch`` and ``backoffice decrypt``, as staff
   do), and the citizen's status page read over HTTPS.

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
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.errors import KioskError

log = logging.getLogger("kiosk.demo")

KIOSK_ID = "DEMO-01"
#: The scripted deposit: a convocation for these documents, and the pages laid for each.
PROCEDURE = "impots-justificatifs"
REFERENCE = "SIP-2025-004217"
DOCUMENTS = {"tax-notice": ["tax-notice"], "income": ["payslip", "text"],
             "expenses": ["proof-of-address"]}
PHONE = "0612345678"


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


def say(message: str) -> None:
    print(f"demo: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def backoffice_cli(*args: str, timeout: float = 120) -> str:
    """Run ``python -m backoffice ARGS`` as staff would; its stdout, or KioskError with stderr."""
    command = [sys.executable, "-m", "backoffice", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        raise KioskError(f"backoffice {args[0]} did not finish within {timeout:g} s") from None
    if done.returncode != 0:
        raise KioskError(f"backoffice {args[0]} failed ({done.returncode}): "
                         f"{done.stderr.strip()[-600:]}")
    return done.stdout


@dataclass
class BackOffice:
    """The demo's own back office: a data folder, its staff identity and a serving process."""

    data: Path
    identity: Path
    bundle: Path
    url: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @classmethod
    def create(cls, work: Path, key_type: str) -> BackOffice:
        port = free_port()
        url = f"https://127.0.0.1:{port}"
        data, identity, bundle = work / "backoffice", work / "staff-identity.txt", work / "bundle"
        say(f"creating a back office in {data} ({key_type} staff key)")
        backoffice_cli("init", "--data", str(data), "--url", url, "--key-type", key_type,
                       "--staff-identity", str(identity))
        say(f"enrolling kiosk {KIOSK_ID}")
        backoffice_cli("enroll", "--data", str(data), KIOSK_ID, "--out", str(bundle))
        return cls(data, identity, bundle, url)

    def serve(self) -> None:
        self.log_path = self.data.parent / "backoffice.log"
        host_port = self.url.removeprefix("https://")
        say(f"starting the back office on {self.url} (log: {self.log_path})")
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "backoffice", "serve", "--data", str(self.data),
                 "--listen", host_port], stdout=out, stderr=subprocess.STDOUT)
        wait_for_health(self.url, self.bundle / "tls" / "ca.crt", self.process, self.log_path)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        say("back office stopped")


def wait_for_health(url: str, ca: Path, process: subprocess.Popen[bytes] | None,
                    log_path: Path | None, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-800:] if log_path else ""
            raise KioskError(f"the back office exited ({process.returncode}):\n{tail}")
        try:
            answer = httpx.get(f"{url}/health", verify=str(ca), timeout=2)
            if answer.status_code == 200:
                return
            last = f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise KioskError(f"the back office at {url} did not answer /health within {timeout:g} s "
                     f"({last})")


def read_status(url: str, ca: Path) -> tuple[str | None, str]:
    """What the citizen's status page says (the status line), fetched over HTTPS."""
    import httpx

    try:
        page = httpx.get(url, verify=str(ca), timeout=10, headers={"Accept-Language": "fr"})
    except httpx.HTTPError as exc:
        return None, f"status page unreachable: {exc}"
    if page.status_code != 200:
        return None, f"status page answered HTTP {page.status_code}"
    found = re.search(r'class="status[^"]*"[^>]*>(.*?)<', page.text, re.S)
    return (found.group(1).strip() if found else None), f"HTTP {page.status_code}"


def decode_qr(png: Path) -> list[str]:
    import zxingcpp
    from PIL import Image

    with Image.open(png) as picture:
        return [code.text for code in zxingcpp.read_barcodes(picture.convert("L"))]


@dataclass
class Result:
    """What the demo made, for the summary and ``--json``."""

    values: dict[str, Any] = field(default_factory=dict)

    def __setitem__(self, key: str, value: Any) -> None:
        self.values[key] = str(value) if isinstance(value, Path) else value


def play_deposit(kiosk: Any, result: Result) -> None:
    """The scripted citizen: a convocation, three documents (four pages), a phone number."""
    from devtools.kit import Citizen
    from kiosk.catalog import convocation_url
    from kiosk.journey import ReceiptPhase, Step

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
    from devtools.xvfb import Xvfb, need_virtual_display
    from kiosk.app import DeliveryLog, enrollment_from_bundle
    from kiosk.config import Config, DevicesSection, KioskSection, UiSection

    office: BackOffice | None = None
    if args.bundle is None:
        office = BackOffice.create(work, args.key_type)
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
    data = work / "kiosk"
    receipts = data / "receipts"
    config = Config(
        kiosk=KioskSection(id=kiosk_id, code=code, place="Démonstration", data_dir=data),
        devices=DevicesSection(camera=f"sim://?seed={args.seed}&placed=false",
                               printer=f"sim://?out={receipts}", code_reader="sim://"),
        ui=UiSection(fullscreen=False, width=1280, height=800, dpi=96.0))
    deliveries = DeliveryLog()
    enrollment = enrollment_from_bundle(config, bundle, log_to=deliveries)
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
        return play_by_hand(config, enrollment, deliveries, bundle, office, result)
    from devtools.kit import start_kiosk

    say(f"starting kiosk {kiosk_id} on the simulated camera, printer and code reader")
    kiosk = start_kiosk(config, enrollment)
    stack.callback(kiosk.close)
    play_deposit(kiosk, result)
    pngs = kiosk.runtime.printer.simulator.pngs
    result["receipt_png"] = pngs[-1] if pngs else None
    return finish(config, bundle, office, deliveries, result)


def play_by_hand(config: Any, enrollment: Any, deliveries: Any, bundle: Path,
                 office: BackOffice | None, result: Result) -> int:
    """A person plays in the window; the last deposit made is reported when it is closed."""
    from kiosk.app import build_runtime
    from kiosk.commands.run import run_app

    say("the kiosk window is open: make a deposit (QR codes: see docs/journey.md); close the "
        "window to finish")
    holder: dict[str, Any] = {}

    def build(cfg: Any, enr: Any) -> Any:
        runtime = build_runtime(cfg, enr)
        holder["runtime"] = runtime
        return runtime

    run_app(config, enrollment, width=1280, height=800, fullscreen=False, build=build)
    runtime = holder["runtime"]
    outbox_last = runtime.outbox.last_deposit_id() if runtime.outbox else None
    if outbox_last is None:
        say("no deposit was made")
        return 0
    result["deposit_id"] = outbox_last
    receipts = Path(config.kiosk.data_dir) / "receipts"
    pngs = sorted(receipts.glob("*.png"))
    result["receipt_png"] = pngs[-1] if pngs else None
    if pngs:
        codes = decode_qr(pngs[-1])
        result["status_url"] = codes[0] if codes else None
    return finish(config, bundle, office, deliveries, result)


def finish(config: Any, bundle: Path, office: BackOffice | None, deliveries: Any,
           result: Result) -> int:
    """Delivery, the staff's decryption and the status page, as far as each is possible."""
    from deposit.outbox import Outbox
    from kiosk.delivery import DeliveryError, deliver_now

    deposit_id = result.values.get("deposit_id")
    if not deposit_id:
        raise KioskError("no deposit was made")
    delivery = deliveries.outcomes.get(deposit_id, {"outcome": "queued"})
    if delivery.get("outcome") not in ("delivered", "conflict"):
        say("kiosk: the dossier is queued; one more delivery pass (as the uploader does)")
        try:
            report = deliver_now(config, bundle=bundle, attempts=2)
            mine = [d for d in report.deposits if d.deposit_id == deposit_id]
            if mine:
                delivery = mine[0].as_dict()
        except DeliveryError as exc:
            delivery = {"outcome": "queued", "reason": str(exc)}
    delivered = delivery.get("outcome") in ("delivered", "conflict")
    result["delivered"] = delivered
    result["queued"] = not delivered
    result["delivery"] = delivery
    say(f"kiosk: dossier {deposit_id} {delivery.get('outcome')}"
        f"{' (' + str(delivery.get('reason')) + ')' if delivery.get('reason') else ''}")
    with Outbox(Path(config.kiosk.data_dir) / "outbox") as outbox:
        entry = outbox.get(deposit_id)
        result["outbox_state"] = entry.state.value
        local = entry.envelope_path if entry.envelope_path.exists() else None
    result["envelope"] = local
    result["dossier_dir"] = None
    if office is not None and delivered:
        fetched = office.data.parent / "fetched"
        say("staff: fetches the envelope and its signed manifest from the back office")
        backoffice_cli("fetch", "--data", str(office.data), deposit_id, "-o", str(fetched))
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
        status, detail = read_status(url, bundle / "tls" / "ca.crt")
        result["status"] = status
        say(f"citizen's phone: the status page says {status!r} ({detail})")
    if office is None and not delivered:
        say("the back office of the bundle did not take the dossier: it stays queued on the "
            "kiosk, encrypted, for the uploader")
    return 0


if __name__ == "__main__":
    sys.exit(main())
