"""Where envelopes (ciphertext only) are kept, chosen by URL.

The interface is what a tus server needs from storage: a partial object that
grows chunk by chunk and is made durable before its new offset is
acknowledged, then published under its final key once it is complete and
verified. Both stores keep partial objects the same way, in a folder of the
machine (:class:`PartialSpool`: fsync discipline, an ``flock`` per upload
shared by every ingest process of the machine); they differ in where a
published envelope goes: ``file:///DIR`` renames it into ``DIR``,
``s3://BUCKET/PREFIX`` uploads it to S3-compatible object storage and checks
what was stored (backoffice/store/s3.py).

Layout of ``file:///DIR``::

    DIR/partial/<upload id>              bytes received so far (not visible to staff)
    DIR/envelopes/<ab>/<sha256>.age      published envelopes, named by their SHA-256
    DIR/conflicts/<ab>/<sha256>.age      a different envelope under a known deposit id

(content-addressed: the metadata store maps deposit ids to keys; a deposit
number's check character may be ``*``, ``~``, ``$`` or ``=``, unwelcome in
file names).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import unquote, urlsplit

from backoffice.errors import StoreError, StoreFull, StoreURLError, UploadLocked

_SAFE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")


class PartialWriter(Protocol):
    """Bytes appended at an offset; nothing counts until :meth:`commit`."""

    def write(self, data: bytes) -> None: ...
    def commit(self) -> int:
        """Make every byte written durable; returns the new end offset."""
        ...

    def abort(self) -> None:
        """Forget every byte written since the writer was opened."""
        ...


class ObjectStore(Protocol):
    url: str

    def create_partial(self, upload_id: str) -> None: ...
    def lock(self, upload_id: str) -> contextlib.AbstractContextManager[None]: ...
    def open_partial(self, upload_id: str, offset: int) -> PartialWriter: ...
    def partial_sha256(self, upload_id: str, length: int) -> str | None: ...
    def publish(self, upload_id: str, key: str) -> None: ...
    def delete_partial(self, upload_id: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def open(self, key: str) -> BinaryIO: ...
    def sha256(self, key: str) -> str: ...
    def read_partial(self, upload_id: str, size: int) -> bytes:
        """The first ``size`` bytes (fewer if the partial object is shorter)."""
        ...

    def free_bytes(self) -> int:
        """Room left for new bytes; :class:`StoreError` when it cannot be known."""
        ...

    def ping(self) -> None:
        """The store answers and takes envelopes; :class:`StoreError` saying why not."""
        ...


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_FULL = (errno.ENOSPC, errno.EDQUOT)


class _FileWriter:
    """Appends to a partial file; on any failure the file goes back to where it started."""

    def __init__(self, path: Path, offset: int) -> None:
        self._f = path.open("r+b")
        self._start = offset
        self._pos = offset
        self._f.seek(offset)
        # Bytes past ``offset`` come from a request that never got its offset
        # acknowledged (a crash between write and commit): they do not count.
        self._f.truncate(offset)

    def write(self, data: bytes) -> None:
        try:
            self._f.write(data)
        except OSError as exc:
            self.abort()
            raise _store_error(exc, "writing an upload") from None
        self._pos += len(data)

    def commit(self) -> int:
        try:
            self._f.flush()
            os.fsync(self._f.fileno())
        except OSError as exc:
            # Bytes that could not be made durable are not kept: a later HEAD must not
            # count them, and a full disk must not keep what it could not hold.
            self.abort()
            raise _store_error(exc, "making an upload durable") from None
        self._f.close()
        return self._pos

    def abort(self) -> None:
        if self._f.closed:
            return
        with contextlib.suppress(OSError):
            # Drop Python's buffer first: closing would try to write it out again.
            self._f.seek(self._start)
            self._f.truncate(self._start)
        with contextlib.suppress(OSError):
            self._f.close()


def _store_error(exc: OSError, doing: str) -> StoreError:
    if exc.errno in _FULL:
        return StoreFull(f"the envelope store is full ({doing}; nothing of it was kept)")
    return StoreError(f"{doing}: {exc.strerror or exc}")


class PartialSpool:
    """Partial objects in a folder of this machine, shared by every process that serves uploads.

    What both stores keep locally while a tus upload grows: one file per upload
    (``DIR/<upload id>``), every step durable (the file and the folder
    fsynced), the per-upload lock an ``flock`` on that file, so that a kiosk's
    resume may land on any process of the machine. ``file:///DIR`` keeps its
    partials in ``DIR/partial`` and publishes them with a rename;
    ``s3://`` keeps them in its ``spool`` folder and publishes them with an
    upload (backoffice/store/s3.py).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, upload_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", upload_id):
            raise StoreError(f"malformed upload id {upload_id!r}")
        return self.folder / upload_id

    def create(self, upload_id: str) -> None:
        path = self.path(upload_id)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            _sync_dir(path.parent)
        except OSError as exc:
            with contextlib.suppress(OSError):
                path.unlink()
            raise _store_error(exc, "creating an upload") from None

    @contextlib.contextmanager
    def lock(self, upload_id: str) -> Iterator[None]:
        """Exclusive right to write this upload, across processes of this machine.

        Raises :class:`UploadLocked` at once when another request holds it.
        """
        path = self.path(upload_id)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            yield  # nothing to protect: the caller finds the upload gone
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise UploadLocked("another request is writing to this upload") from None
                raise
            yield
        finally:
            os.close(fd)

    def open(self, upload_id: str, offset: int) -> PartialWriter:
        try:
            return _FileWriter(self.path(upload_id), offset)
        except FileNotFoundError:
            raise StoreError(f"partial upload {upload_id} is missing") from None

    def sha256(self, upload_id: str, length: int) -> str | None:
        """SHA-256 of the first ``length`` bytes; None if fewer are there."""
        path = self.path(upload_id)
        try:
            f = path.open("rb")
        except FileNotFoundError:
            return None
        with f:
            h = hashlib.sha256()
            left = length
            while left:
                block = f.read(min(left, 1 << 20))
                if not block:
                    return None
                h.update(block)
                left -= len(block)
            return h.hexdigest()

    def sync(self, upload_id: str) -> Path:
        """fsync a complete partial before it is published; its path.

        :class:`StoreError` when it is missing.
        """
        path = self.path(upload_id)
        try:
            with path.open("rb+") as f:
                os.fsync(f.fileno())
        except FileNotFoundError:
            raise StoreError(f"partial upload {upload_id} is missing") from None
        except OSError as exc:
            raise _store_error(exc, "making an upload durable") from None
        return path

    def delete(self, upload_id: str) -> None:
        path = self.path(upload_id)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            _sync_dir(path.parent)

    def read(self, upload_id: str, size: int) -> bytes:
        try:
            with self.path(upload_id).open("rb") as f:
                return f.read(size)
        except FileNotFoundError:
            return b""

    def free_bytes(self) -> int:
        try:
            st = os.statvfs(self.folder)
        except OSError as exc:
            raise StoreError(f"the envelope store cannot be measured ({exc.strerror})") from None
        return st.f_bavail * st.f_frsize


def check_key(key: str) -> str:
    """``key`` if it is a safe object key (no ``..``, no leading ``/``); StoreError otherwise."""
    if not _SAFE_KEY.fullmatch(key) or ".." in key.split("/"):
        raise StoreError(f"unsafe object key {key!r}")
    return key


class SpooledPartials:
    """The partial-object half of :class:`ObjectStore`, kept in a :class:`PartialSpool`
    (``self.spool``) by both stores."""

    spool: PartialSpool

    def create_partial(self, upload_id: str) -> None:
        self.spool.create(upload_id)

    def lock(self, upload_id: str) -> contextlib.AbstractContextManager[None]:
        return self.spool.lock(upload_id)

    def open_partial(self, upload_id: str, offset: int) -> PartialWriter:
        return self.spool.open(upload_id, offset)

    def partial_sha256(self, upload_id: str, length: int) -> str | None:
        return self.spool.sha256(upload_id, length)

    def read_partial(self, upload_id: str, size: int) -> bytes:
        return self.spool.read(upload_id, size)

    def delete_partial(self, upload_id: str) -> None:
        self.spool.delete(upload_id)


class FileObjectStore(SpooledPartials):
    """Envelopes in a folder; every step durable (fsync of files and folders)."""

    def __init__(self, root: Path, url: str = "") -> None:
        self.root = root
        self.url = url or root.as_uri()
        self.spool = PartialSpool(root / "partial")
        for sub in ("envelopes", "conflicts"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def _key(self, key: str) -> Path:
        return self.root / check_key(key)

    def publish(self, upload_id: str, key: str) -> None:
        """Move a complete partial object under ``key``; durable when this returns.

        Publishing again under the same key (a retry after a crash between
        the move and the metadata commit) is harmless.
        """
        src = self.spool.path(upload_id)
        dst = self._key(key)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not src.exists() and dst.exists():
            return
        self.spool.sync(upload_id)
        src.replace(dst)
        _sync_dir(dst.parent)
        _sync_dir(src.parent)

    def exists(self, key: str) -> bool:
        return self._key(key).is_file()

    def free_bytes(self) -> int:
        return self.spool.free_bytes()

    def ping(self) -> None:
        folder = self.root / "envelopes"
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise StoreError(f"the envelope folder {folder} is missing or not writable")

    def open(self, key: str) -> BinaryIO:
        try:
            return self._key(key).open("rb")
        except FileNotFoundError:
            raise StoreError(f"object {key} is missing from {self.url}") from None

    def sha256(self, key: str) -> str:
        h = hashlib.sha256()
        with self.open(key) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()


def open_objects(url: str) -> ObjectStore:
    """The object store a URL names: ``file:///DIR`` or ``s3://BUCKET/PREFIX?OPTIONS``.

    :class:`StoreURLError` for an unknown scheme or a malformed URL;
    :class:`StoreError` when an S3 bucket cannot be reached or does not exist.
    """
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise StoreURLError(f"objects URL {url!r}: use file:///ABSOLUTE/DIR")
        return FileObjectStore(Path(unquote(parts.path)), url)
    if parts.scheme == "s3":
        from backoffice.store import s3  # boto3 is imported only by those who use S3

        return s3.open_s3(url)
    raise StoreURLError(f"objects URL {url!r}: unknown scheme {parts.scheme!r} "
                        f"(accepted: file, s3)")
