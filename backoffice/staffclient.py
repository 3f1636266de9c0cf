"""The staff side of the staff API: a profile folder, and a client that signs in with it.

A **profile** is what ``backoffice staff add`` hands a staff member, a folder::

    profile.toml     the account name and the staff API's URL
    staff.crt        the personal client certificate (staff CA)
    staff.key        its private key, encrypted with the staff member's passphrase
    server-ca.crt    the CA that issued the server's certificate (what to trust)

The key opens only with the passphrase, and the passphrase is worth nothing
without the file: a stolen password alone signs no one in. The server checks
the account behind the certificate on every request, so disabling the
account ends its access at once.

The commands ``inbox``, ``fetch`` and ``status``, and the workspace, use
:class:`StaffClient`; none needs the server's files. The passphrase comes from
``--passphrase-file``, the ``BACKOFFICE_STAFF_PASSPHRASE`` variable, or a prompt.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import ssl
import sys
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from backoffice.errors import Refusal, StaffToolError
from deposit import manifest as manifestmod
from deposit.errors import DepositError

PROFILE_FILE = "profile.toml"
PASSPHRASE_VARIABLE = "BACKOFFICE_STAFF_PASSPHRASE"  # noqa: S105 - a variable's name
#: Seconds to connect and between bytes; an envelope of hundreds of MB streams for longer.
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: The largest envelope fetched into memory (the workspace); the CLI streams to a file.
MAX_IN_MEMORY = 512 * 1024 * 1024


@dataclass(frozen=True)
class Profile:
    folder: Path
    name: str
    server: str

    @property
    def cert(self) -> Path:
        return self.folder / "staff.crt"

    @property
    def key(self) -> Path:
        return self.folder / "staff.key"

    @property
    def server_ca(self) -> Path:
        return self.folder / "server-ca.crt"


def write_profile(folder: Path, name: str, server: str, cert_pem: bytes, key_pem: bytes,
                  server_ca_pem: bytes) -> Profile:
    """Write a new profile folder (private: 0700, files 0600)."""
    from backoffice.pki import write_private

    if folder.exists() and any(folder.iterdir()):
        raise StaffToolError(f"{folder} is not empty; a profile is written into a new folder")
    parts = urlsplit(server)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment \
            or not server.isprintable():
        raise StaffToolError(f"{server!r} is not the staff API's URL (https://HOST:PORT)")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    profile = Profile(folder.resolve(), name, server)
    write_private(profile.cert, cert_pem)
    write_private(profile.key, key_pem)
    write_private(profile.server_ca, server_ca_pem)
    write_private(folder / PROFILE_FILE, (
        "# A staff member's profile for the deposit back office (backoffice staff add).\n"
        "# staff.key opens only with its passphrase; keep this folder to yourself.\n"
        f"name = {json.dumps(name)}\nserver = {json.dumps(server.rstrip('/'))}\n").encode())
    return profile


def load_profile(folder: Path) -> Profile:
    path = folder / PROFILE_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        profile = Profile(folder.resolve(), str(data["name"]), str(data["server"]).rstrip("/"))
    except FileNotFoundError:
        raise StaffToolError(f"{folder} is not a staff profile (no {PROFILE_FILE}; "
                             f"`backoffice staff add` writes one)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError) as exc:
        raise StaffToolError(f"{path}: cannot be read ({exc})") from None
    for needed in (profile.cert, profile.key, profile.server_ca):
        if not needed.is_file():
            raise StaffToolError(f"the profile {folder} lacks {needed.name}")
    return profile


def read_passphrase(passphrase_file: Path | None, env: Mapping[str, str] = os.environ) -> bytes:
    """The passphrase of the key: from a file, the environment, or asked on the terminal."""
    if passphrase_file is not None:
        try:
            return passphrase_file.read_text(encoding="utf-8").rstrip("\r\n").encode()
        except (OSError, UnicodeDecodeError) as exc:
            raise StaffToolError(f"{passphrase_file}: cannot be read ({exc})") from None
    if env.get(PASSPHRASE_VARIABLE):
        return env[PASSPHRASE_VARIABLE].encode()
    if sys.stdin.isatty():
        return getpass.getpass("passphrase of your staff key: ").encode()
    raise StaffToolError(f"the staff key needs its passphrase: --passphrase-file FILE, "
                         f"{PASSPHRASE_VARIABLE}, or run from a terminal")


class StaffAPIError(StaffToolError):
    """The staff API answered with an error; ``status`` is its HTTP status, ``code`` the
    :class:`~backoffice.errors.Refusal` when the API gave one, ``details`` its details."""

    def __init__(self, status: int, message: str, code: Refusal | None = None,
                 details: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details or {}


@dataclass(frozen=True)
class Fetched:
    deposit_id: str
    envelope: bytes | None          # in memory (fetch_bytes)
    envelope_path: Path | None      # on disk (fetch_to)
    manifest: bytes
    kiosk_key_pem: bytes
    verified: str


class StaffClient:
    """One staff member's signed-in connection to the staff API."""

    def __init__(self, profile: Profile, passphrase: bytes,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.profile = profile
        context = ssl.create_default_context(cafile=str(profile.server_ca))
        try:
            context.load_cert_chain(str(profile.cert), str(profile.key), password=passphrase)
        except ssl.SSLError:
            raise StaffToolError("the passphrase does not open the staff key "
                                 f"({profile.key})") from None
        except OSError as exc:
            raise StaffToolError(f"the profile's key cannot be read ({exc})") from None
        self.http = httpx.Client(base_url=profile.server + "/staff/v1", verify=context,
                                 timeout=TIMEOUT, transport=transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> StaffClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing
    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise StaffToolError(f"cannot reach the staff API at {self.profile.server} "
                                 f"({type(exc).__name__}: {exc})") from None
        if response.status_code >= 400:
            raise _api_error(response)
        return response

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._call("GET", path, params=_clean(params)).json()

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._call("POST", path, json=dict(body)).json()

    # ------------------------------------------------------------------ calls
    def me(self) -> dict[str, Any]:
        data: dict[str, Any] = self.get("/me")
        return data

    def inbox(self, **params: Any) -> dict[str, Any]:
        data: dict[str, Any] = self.get("/dossiers", params)
        return data

    def export_csv(self, **params: Any) -> bytes:
        return self._call("GET", "/dossiers.csv", params=_clean(params)).content

    def dossier(self, deposit_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self.get(f"/dossiers/{deposit_id}")
        return data

    def set_status(self, deposit_id: str, status: str, message: str = "",
                   expected: str | None = None) -> dict[str, Any]:
        body = {"status": status, "message": message}
        if expected:
            body["expected"] = expected
        data: dict[str, Any] = self.post(f"/dossiers/{deposit_id}/status", body)
        return data

    def assign(self, deposit_id: str, assignee: str | None) -> dict[str, Any]:
        data: dict[str, Any] = self.post(f"/dossiers/{deposit_id}/assign",
                                         {"assignee": assignee})
        return data

    def annotate(self, deposit_id: str, text: str) -> dict[str, Any]:
        data: dict[str, Any] = self.post(f"/dossiers/{deposit_id}/annotations", {"text": text})
        return data

    def request_documents(self, deposit_id: str, documents: list[str], deadline: str,
                          note: str = "", expected: str | None = None) -> dict[str, Any]:
        """Ask the citizen for missing documents (codes of the procedure) by ``deadline``
        (YYYY-MM-DD, the last day included); the request as the API stored it."""
        body: dict[str, Any] = {"documents": list(documents), "deadline": deadline,
                                "note": note}
        if expected:
            body["expected"] = expected
        data: dict[str, Any] = self.post(f"/dossiers/{deposit_id}/requests", body)
        return data

    def withdraw_request(self, deposit_id: str, request_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self.post(
            f"/dossiers/{deposit_id}/requests/{request_id}/withdraw", {})
        return data

    def acknowledgement_pdf(self, deposit_id: str) -> bytes:
        """The dossier's accusé de réception (PDF), as the citizen got it."""
        return self._call("GET", f"/dossiers/{deposit_id}/acknowledgement.pdf").content

    def conflicts(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.get("/conflicts")["conflicts"]
        return data

    def _verified_manifest(self, deposit_id: str, facts: dict[str, Any] | None = None
                           ) -> tuple[dict[str, Any], bytes, bytes]:
        facts = facts if facts is not None else self.dossier(deposit_id)
        blob = self._call("GET", f"/dossiers/{deposit_id}/manifest").content
        key_pem = (facts.get("kiosk_signing_key") or "").encode()
        try:
            key = manifestmod.load_public_key(key_pem)
            manifestmod.verify(blob, key, kiosk_id=facts["kiosk_id"])
        except (DepositError, KeyError) as exc:
            raise StaffToolError(f"deposit {deposit_id}: the manifest fails verification "
                                 f"({exc}); nothing fetched") from None
        return facts, blob, key_pem

    def fetch_bytes(self, deposit_id: str, facts: dict[str, Any] | None = None) -> Fetched:
        """The envelope in memory, checked against the kiosk-signed manifest; ``facts``, the
        dossier's view when the caller has it already (it is not asked for again)."""
        facts, blob, key_pem = self._verified_manifest(deposit_id, facts)
        manifest, _sig = manifestmod.parse_unverified(blob)
        if manifest.envelope_size > MAX_IN_MEMORY:
            raise StaffToolError(f"deposit {deposit_id}: {manifest.envelope_size} bytes is "
                                 f"too large to open here; use `backoffice fetch`")
        data = self._call("GET", f"/dossiers/{deposit_id}/envelope").content
        if len(data) != manifest.envelope_size or \
                hashlib.sha256(data).hexdigest() != manifest.envelope_sha256:
            raise StaffToolError(f"deposit {deposit_id}: the envelope received does not match "
                                 f"its signed manifest (size or SHA-256)")
        return Fetched(facts["deposit_id"], data, None, blob, key_pem,
                       "manifest signature, size and SHA-256 verified")

    def _complement_manifest(self, deposit_id: str, complement: dict[str, Any]
                             ) -> tuple[manifestmod.Manifest, bytes, bytes]:
        """A complement's signed manifest, verified with its own kiosk's key, naming this
        dossier; StaffToolError otherwise."""
        cid = complement["complement_id"]
        blob = self._call("GET", f"/dossiers/{deposit_id}/complements/{cid}/manifest").content
        key_pem = (complement.get("kiosk_signing_key") or "").encode()
        try:
            manifest = manifestmod.verify(blob, manifestmod.load_public_key(key_pem),
                                          kiosk_id=complement["kiosk_id"])
        except (DepositError, KeyError) as exc:
            raise StaffToolError(f"complement {cid}: the manifest fails verification ({exc}); "
                                 f"nothing fetched") from None
        if manifest.complement_of != deposit_id or manifest.deposit_id != cid:
            raise StaffToolError(f"complement {cid}: its manifest names dossier "
                                 f"{manifest.complement_of}, not {deposit_id}")
        return manifest, blob, key_pem

    def fetch_complement_bytes(self, deposit_id: str, complement: dict[str, Any]) -> Fetched:
        """A complement of the dossier (one of its view's ``complements``) in memory, checked
        against its own kiosk-signed manifest, which must name this dossier."""
        cid = complement["complement_id"]
        manifest, blob, key_pem = self._complement_manifest(deposit_id, complement)
        if manifest.envelope_size > MAX_IN_MEMORY:
            raise StaffToolError(f"complement {cid}: {manifest.envelope_size} bytes is too "
                                 f"large to open here; use `backoffice fetch`")
        data = self._call("GET", f"/dossiers/{deposit_id}/complements/{cid}/envelope").content
        if len(data) != manifest.envelope_size or \
                hashlib.sha256(data).hexdigest() != manifest.envelope_sha256:
            raise StaffToolError(f"complement {cid}: the envelope received does not match its "
                                 f"signed manifest (size or SHA-256)")
        return Fetched(cid, data, None, blob, key_pem,
                       "manifest signature, size and SHA-256 verified")

    def fetch_to(self, deposit_id: str, out: Path) -> list[Fetched]:
        """DEPOSIT.age, DEPOSIT.manifest.json and DEPOSIT.kiosk-key.pem into ``out``, then the
        same for each complement of the dossier (documents brought later); each envelope
        streamed to a temporary file, renamed once its digest matched."""
        facts, blob, key_pem = self._verified_manifest(deposit_id)
        deposit_id = facts["deposit_id"]
        fetched = [self._stream_to(f"/dossiers/{deposit_id}/envelope", deposit_id, blob,
                                   key_pem, out)]
        for complement in facts.get("complements", []):
            cid = complement["complement_id"]
            _manifest, cblob, ckey = self._complement_manifest(deposit_id, complement)
            fetched.append(self._stream_to(f"/dossiers/{deposit_id}/complements/{cid}/envelope",
                                           cid, cblob, ckey, out))
        return fetched

    def _stream_to(self, path: str, name: str, blob: bytes, key_pem: bytes, out: Path
                   ) -> Fetched:
        out.mkdir(parents=True, exist_ok=True)
        env_path = out / f"{name}.age"
        man_path = out / f"{name}.manifest.json"
        key_path = out / f"{name}.kiosk-key.pem"
        for p in (env_path, man_path):
            if p.exists():
                raise StaffToolError(f"{p} exists; fetch never overwrites")
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", dir=out)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as dst:
                try:
                    with self.http.stream("GET", path) as resp:
                        if resp.status_code >= 400:
                            resp.read()
                            raise _api_error(resp)
                        for chunk in resp.iter_bytes(1 << 20):
                            dst.write(chunk)
                except httpx.HTTPError as exc:
                    raise StaffToolError(f"deposit {name}: the download failed "
                                         f"({type(exc).__name__}: {exc})") from None
                dst.flush()
                os.fsync(dst.fileno())
            try:
                manifestmod.verify(blob, manifestmod.load_public_key(key_pem), envelope=tmp)
            except DepositError as exc:
                raise StaffToolError(f"deposit {name}: the envelope does not match its "
                                     f"manifest ({exc}); it was not kept") from None
            tmp.replace(env_path)
        finally:
            tmp.unlink(missing_ok=True)
        man_path.write_bytes(blob)
        key_path.write_bytes(key_pem)
        return Fetched(name, None, env_path, blob, key_pem,
                       "manifest signature, size and SHA-256 verified")

def _clean(params: Mapping[str, Any] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (params or {}).items() if v not in (None, "")}


def _api_error(response: httpx.Response) -> StaffAPIError:
    message = f"the staff API answered {response.status_code}"
    code: Refusal | None = None
    details: dict[str, list[str]] = {}
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        if isinstance(data.get("error"), str):
            message = data["error"]
        try:
            code = Refusal(data["code"]) if "code" in data else None
        except ValueError:
            code = None            # a newer server's code: the English message still says it
        raw = data.get("details")
        if isinstance(raw, dict):
            details = {str(k): [str(v) for v in vs] for k, vs in raw.items()
                       if isinstance(vs, list)}
    return StaffAPIError(response.status_code, message, code, details)


PROFILE_VARIABLE = "BACKOFFICE_PROFILE"


def add_arguments(parser: Any) -> None:
    """``--profile`` and ``--passphrase-file``, for every command that talks to the staff API."""
    # SUPPRESS: given before a subcommand (``agents --profile P ack``), the value is not
    # overwritten by the subcommand's default.
    parser.add_argument("--profile", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                        help=f"your staff profile (backoffice staff add; default: "
                             f"${PROFILE_VARIABLE})")
    parser.add_argument("--passphrase-file", type=Path, default=argparse.SUPPRESS,
                        metavar="FILE", help=f"the passphrase of your staff key (default: "
                             f"${PASSPHRASE_VARIABLE}, else asked)")


def open_client(args: Any, env: Mapping[str, str] = os.environ) -> StaffClient:
    folder = getattr(args, "profile", None) or (
        Path(env[PROFILE_VARIABLE]) if env.get(PROFILE_VARIABLE) else None)
    if folder is None:
        raise StaffToolError(f"--profile DIR is needed (or ${PROFILE_VARIABLE}): the staff "
                             f"profile `backoffice staff add` wrote for you")
    profile = load_profile(folder)
    return StaffClient(profile, read_passphrase(getattr(args, "passphrase_file", None), env))
