"""Opening a dossier on the staff workstation: fetch, verify, decrypt, keep in memory only.

The envelope comes from the staff API into memory and is checked against the
manifest its kiosk signed (backoffice/staffclient.py). It is then decrypted
by the same code as ``backoffice decrypt`` (backoffice/staff.py: nothing is
released before the whole file authenticated, the archive unpacked by the
payload's safe unpacker) inside a private folder (mode 0700) of the
workspace's own temporary folder, read back into memory and removed at once:
no plaintext stays on disk after a dossier is open.

The pages are the images of ``dossier.pdf`` after its cover, taken out as they
were embedded (JPEG as is; a CCITT G4 page converted to PNG), so that the
browser shows exactly what the kiosk captured.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from backoffice import staff
from backoffice.errors import StaffToolError
from backoffice.staffclient import Fetched, StaffClient
from backoffice.workspace.twoddocview import CodeView, invalid_documents, page_codes

log = logging.getLogger(__name__)

#: Dossiers kept open in memory at once; the oldest is forgotten first (a batch of
#: 20 dossiers of a few MB each fits a workstation's memory many times over).
MAX_OPEN = 50
#: The most pages shown from one PDF (a dossier of the catalog holds a few dozen at most).
MAX_PAGES = 200


@dataclass(frozen=True)
class Page:
    number: int                 # 1-based, in the order of the PDF (the cover excluded)
    media_type: str             # image/jpeg or image/png
    data: bytes


@dataclass
class OpenDossier:
    deposit_id: str
    verified: str
    deposit: dict[str, Any]
    pdf: bytes
    pages: list[Page] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)    # pages that could not be shown
    #: Dossier page number -> the 2D-Docs the kiosk read on it (twoddocview.py).
    codes: dict[int, list[CodeView]] = field(default_factory=dict)
    #: Titles of the documents whose 2D-Doc is INVALID: flagged on the dossier.
    invalid: list[str] = field(default_factory=list)


def page_images(pdf: bytes) -> tuple[list[Page], list[str]]:
    """The images of every page after the cover, and what could not be shown, in words."""
    pages: list[Page] = []
    problems: list[str] = []
    try:
        reader = PdfReader(io.BytesIO(pdf))
        count = len(reader.pages)
    except (PyPdfError, ValueError, OSError) as exc:
        return [], [f"the dossier PDF cannot be read ({exc})"]
    for index in range(1, min(count, MAX_PAGES + 1)):
        try:
            images = reader.pages[index].images
            image = images[0] if len(images) else None
            if image is None:
                problems.append(f"page {index} holds no image")
                continue
            if image.name.lower().endswith((".jpg", ".jpeg")):
                pages.append(Page(index, "image/jpeg", image.data))
            else:
                if image.image is None:
                    raise ValueError("no decodable image")
                out = io.BytesIO()
                image.image.save(out, format="PNG")
                pages.append(Page(index, "image/png", out.getvalue()))
        except Exception as exc:
            problems.append(f"page {index} cannot be shown ({type(exc).__name__})")
    if count - 1 > MAX_PAGES:
        problems.append(f"only the first {MAX_PAGES} of {count - 1} pages are shown")
    return pages, problems


class DossierCache:
    """The dossiers open in this workspace, in memory, and the private folder they pass through."""

    def __init__(self, identity: Path, root: Path | None = None) -> None:
        self.identity = identity
        self.folder = Path(tempfile.mkdtemp(prefix="workspace-", dir=root))
        self.folder.chmod(0o700)
        self._open: OrderedDict[str, OpenDossier] = OrderedDict()

    def get(self, deposit_id: str) -> OpenDossier | None:
        dossier = self._open.get(deposit_id)
        if dossier is not None:
            self._open.move_to_end(deposit_id)
        return dossier

    def open(self, client: StaffClient, deposit_id: str,
             facts: dict[str, Any] | None = None) -> OpenDossier:
        """Fetch, verify and decrypt ``deposit_id`` (:class:`StaffToolError` says why not);
        ``facts``: its view from the staff API, when the caller has just read it."""
        cached = self.get(deposit_id)
        if cached is not None:
            return cached
        return self._keep(client.fetch_bytes(deposit_id, facts))

    def open_complement(self, client: StaffClient, deposit_id: str,
                        complement: dict[str, Any]) -> OpenDossier:
        """The same for a complement of ``deposit_id`` (one of its view's ``complements``):
        kept under the complement's own number, its pages served like a dossier's."""
        cached = self.get(complement["complement_id"])
        if cached is not None:
            return cached
        return self._keep(client.fetch_complement_bytes(deposit_id, complement))

    def _keep(self, fetched: Fetched) -> OpenDossier:
        assert fetched.envelope is not None
        work = Path(tempfile.mkdtemp(prefix="open-", dir=self.folder))
        name = fetched.deposit_id
        try:
            (work / f"{name}.age").write_bytes(fetched.envelope)
            (work / f"{name}.manifest.json").write_bytes(fetched.manifest)
            (work / f"{name}.kiosk-key.pem").write_bytes(fetched.kiosk_key_pem)
            result = staff.decrypt(self.identity, work / f"{name}.age", work / "plain")
            try:
                deposit = json.loads((result.folder / "deposit.json").read_text("utf-8"))
                pdf = (result.folder / "dossier.pdf").read_bytes()
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise StaffToolError(f"deposit {name}: the payload cannot be read ({exc})"
                                     ) from None
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if not isinstance(deposit, dict):
            raise StaffToolError(f"deposit {name}: deposit.json is not an object")
        pages, problems = page_images(pdf)
        dossier = OpenDossier(name, result.verified, deposit, pdf, pages, problems,
                              page_codes(deposit), invalid_documents(deposit))
        self._open[name] = dossier
        while len(self._open) > MAX_OPEN:
            self._open.popitem(last=False)
        log.info("opened %s (%d pages)", name, len(pages))
        return dossier

    def forget(self) -> None:
        """Drop every open dossier (sign-out, inactivity)."""
        self._open.clear()

    def close(self) -> None:
        self.forget()
        shutil.rmtree(self.folder, ignore_errors=True)
