"""The demo's own back office, started as staff would start one, and what a citizen's phone
does with the receipt's QR code (development tooling: never installed on a kiosk).

:class:`BackOffice` runs ``backoffice init``, ``enroll``, ``staff add`` and
``serve`` (HTTPS on 127.0.0.1, four free ports: kiosks, status page,
administration, staff API) in a folder; the demo's staff account signs in with
the profile ``staff add`` wrote, as a staff member's workstation does (the
staff commands never read the server's files). :func:`read_status` reads the
status page a receipt's QR code leads to.
"""

from __future__ import annotations

import re
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from backoffice.pki import write_private
from kiosk.errors import KioskError


def say(message: str) -> None:
    print(f"demo: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int, *, besides: tuple[int, ...] = ()) -> list[int]:
    """``count`` different free ports, none of ``besides``: the probes stay bound until all
    are chosen (one probe at a time may be given the same port twice)."""
    probes: list[socket.socket] = []
    try:
        while len(probes) < count:
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            if probe.getsockname()[1] in besides:
                probe.close()
                continue
            probes.append(probe)
        return [int(p.getsockname()[1]) for p in probes]
    finally:
        for probe in probes:
            probe.close()


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


#: The demo's staff account (an instructor: it fetches and decides).
STAFF_NAME = "demo.agent"


@dataclass
class BackOffice:
    """The demo's own back office: a data folder, its staff identity, the profile of one staff
    account with its passphrase in a file, and a serving process."""

    data: Path
    identity: Path
    bundle: Path
    url: str
    admin_url: str
    profile: Path
    passphrase_file: Path
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @classmethod
    def create(cls, work: Path, key_type: str, kiosk_id: str = "DEMO-01") -> BackOffice:
        port, public, admin, staff = free_ports(4)
        url = f"https://127.0.0.1:{port}"
        data, identity, bundle = work / "backoffice", work / "staff-identity.txt", work / "bundle"
        say(f"creating a back office in {data} ({key_type} staff key)")
        backoffice_cli("init", "--data", str(data), "--url", url, "--key-type", key_type,
                       "--public-listen", f"127.0.0.1:{public}",
                       "--admin-listen", f"127.0.0.1:{admin}",
                       "--staff-listen", f"127.0.0.1:{staff}",
                       "--staff-identity", str(identity))
        say(f"enrolling kiosk {kiosk_id}")
        backoffice_cli("enroll", "--data", str(data), kiosk_id, "--out", str(bundle))
        profile, passphrase_file = work / "staff-profile", work / "staff-passphrase.txt"
        say(f"adding the staff account {STAFF_NAME} (profile: {profile})")
        write_private(passphrase_file, (secrets.token_urlsafe(24) + "\n").encode())
        backoffice_cli("staff", "add", STAFF_NAME, "--role", "instructor",
                       "--full-name", "Agent de démonstration", "--data", str(data),
                       "--out", str(profile), "--passphrase-file", str(passphrase_file))
        return cls(data, identity, bundle, url, f"http://127.0.0.1:{admin}", profile,
                   passphrase_file)

    def staff_args(self) -> list[str]:
        """What a staff command (inbox, fetch, status) needs to sign in as the demo's agent."""
        return ["--profile", str(self.profile), "--passphrase-file", str(self.passphrase_file)]

    def serve(self) -> None:
        self.log_path = self.data.parent / "backoffice.log"
        host_port = self.url.removeprefix("https://")
        say(f"starting the back office on {self.url} (log: {self.log_path})")
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "backoffice", "serve", "--data", str(self.data),
                 "--listen", host_port], stdout=out, stderr=subprocess.STDOUT)
        wait_for_health(self.admin_url, self.process, self.log_path)

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


def wait_for_health(url: str, process: subprocess.Popen[bytes] | None,
                    log_path: Path | None, timeout: float = 60) -> None:
    """Wait until the administration listener at ``url`` says every check passes."""
    import httpx

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-800:] if log_path else ""
            raise KioskError(f"the back office exited ({process.returncode}):\n{tail}")
        try:
            answer = httpx.get(f"{url}/health", timeout=2)
            if answer.status_code == 200:
                return
            last = f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise KioskError(f"the back office at {url} did not answer /health within {timeout:g} s "
                     f"({last})")


def read_status(url: str, ca: Path | None) -> tuple[str | None, str]:
    """What the citizen's status page says (the status line), fetched over HTTPS.

    ``ca``: the chain to trust, or None for the system's store (as a phone does).
    """
    import httpx

    try:
        page = httpx.get(url, verify=str(ca) if ca else True, timeout=10,
                         headers={"Accept-Language": "fr"})
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
