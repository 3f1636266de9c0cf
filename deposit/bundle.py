"""The enrollment bundle: what ``backoffice enroll`` writes for one kiosk, and TLS from it.

Read by the kiosk (recipients and signing key for sealing, the public URL for
tracking links) and by ``kiosk uploader`` (certificates, the acknowledgement
key, the upload URL). Written by backoffice/fleet.py.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deposit import ack as ackmod
from deposit import envelope
from deposit import manifest as manifestmod
from deposit.errors import AckError, BundleError, DepositError


@dataclass(frozen=True)
class Enrollment:
    """What a kiosk needs to deliver: written by ``backoffice enroll``, read by the uploader.

    Layout of the bundle folder (``bundle.json`` names the rest)::

        bundle.json      {"version": 1, "kiosk_id", "fleet_code", "upload_url", "public_url"}
        tls/kiosk.key    the kiosk's TLS key (0600)      tls/kiosk.crt  its certificate
        tls/ca.crt       the fleet CA (verifies the back office)
        signing.key      the kiosk's Ed25519 manifest-signing key (0600)
        recipients.txt   the back office's age recipients, one per line
        ack.pub          the back office's Ed25519 acknowledgement key (PEM)
        notifier.txt     the back office notifier's age recipient (optional: bundles made
                         before notifications have none, and such a kiosk sends no contact)
        kiosk.toml       a configuration fragment for this kiosk
    """

    folder: Path
    kiosk_id: str
    fleet_code: str
    upload_url: str        # the tus creation URL (…/files/)
    public_url: str        # base of the status page (receipts' QR codes)

    BUNDLE = "bundle.json"
    CLIENT_KEY = "tls/kiosk.key"
    CLIENT_CERT = "tls/kiosk.crt"
    CA_CERT = "tls/ca.crt"
    SIGNING_KEY = "signing.key"
    RECIPIENTS = "recipients.txt"
    ACK_KEY = "ack.pub"
    NOTIFIER = "notifier.txt"
    CONFIG = "kiosk.toml"
    FILES = (CLIENT_KEY, CLIENT_CERT, CA_CERT, SIGNING_KEY, RECIPIENTS, ACK_KEY)

    @classmethod
    def load(cls, folder: Path) -> Enrollment:
        """Read and check a bundle; :class:`BundleError` saying what is wrong."""
        path = folder / cls.BUNDLE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BundleError(f"{folder}: no enrollment bundle (run `backoffice enroll` for this "
                              f"kiosk and copy its output here)") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleError(f"{path}: cannot be read ({exc})") from None
        keys = ("kiosk_id", "fleet_code", "upload_url", "public_url")
        if not isinstance(data, dict) or data.get("version") != 1 or \
                not all(isinstance(data.get(k), str) and data.get(k) for k in keys):
            raise BundleError(f"{path}: not a version 1 bundle with {', '.join(keys)}")
        missing = [name for name in cls.FILES if not (folder / name).is_file()]
        if missing:
            raise BundleError(f"{folder}: the bundle lacks {', '.join(missing)}")
        return cls(folder=folder, **{k: data[k] for k in keys})

    def to_json(self) -> str:
        return json.dumps({"version": 1, "kiosk_id": self.kiosk_id,
                           "fleet_code": self.fleet_code, "upload_url": self.upload_url,
                           "public_url": self.public_url}, indent=2) + "\n"

    def file(self, name: str) -> Path:
        return self.folder / name

    def recipients(self) -> list[str]:
        text = self.file(self.RECIPIENTS).read_text(encoding="utf-8")
        return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]

    def notifier_recipient(self) -> str | None:
        """The recipient the citizen's contact is sealed to (deposit/contact.py); None when
        the bundle predates notifications. :class:`BundleError` if present but unusable."""
        path = self.file(self.NOTIFIER)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise BundleError(f"{path}: cannot be read ({exc})") from None
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        if len(lines) != 1:
            raise BundleError(f"{path}: must hold exactly one age recipient")
        try:
            envelope.parse_recipients(lines)
        except DepositError as exc:
            raise BundleError(f"{path}: {exc}") from None
        return lines[0]

    def ack_key(self) -> Ed25519PublicKey:
        try:
            return ackmod.load_public_key(self.file(self.ACK_KEY).read_bytes())
        except (OSError, AckError) as exc:
            raise BundleError(f"{self.file(self.ACK_KEY)}: {exc}") from None

    def signing_key(self) -> Ed25519PrivateKey:
        return manifestmod.load_signing_key(self.file(self.SIGNING_KEY))

    def tracking_url(self, deposit_id: str, token: str) -> str:
        """The address printed as the receipt's QR code."""
        return f"{self.public_url.rstrip('/')}/suivi/{deposit_id}?t={token}"

    def ssl_context(self) -> ssl.SSLContext:
        """TLS to the back office: its certificate must chain to the fleet CA; ours is sent."""
        try:
            ctx = ssl.create_default_context(cafile=str(self.file(self.CA_CERT)))
            ctx.load_cert_chain(self.file(self.CLIENT_CERT), self.file(self.CLIENT_KEY))
        except (OSError, ssl.SSLError) as exc:
            raise BundleError(f"{self.folder}: the TLS files cannot be used ({exc})") from None
        return ctx

    def certificate_expiry(self) -> datetime:
        """When this kiosk's TLS certificate expires (UTC); BundleError if unreadable."""
        path = self.file(self.CLIENT_CERT)
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise BundleError(f"{path}: not a readable certificate ({exc})") from None
        return cert.not_valid_after_utc.astimezone(UTC)

    def certificate_expired(self, now: datetime) -> bool:
        return now >= self.certificate_expiry()

    def http_client(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(verify=self.ssl_context(), timeout=timeout,
                            headers={"User-Agent": f"deposit-kiosk/{self.kiosk_id}"})
