"""Envelopes in S3-compatible object storage: ``s3://BUCKET/PREFIX?endpoint=…&spool=/DIR``.

A national back office runs several ingest processes (DESIGN.md, "Scale")
and keeps ciphertext where all of them, and the staff API, can reach it: an
S3 bucket (tested against SeaweedFS, see tests/backoffice/seaweed.py).

What goes where:

- A tus upload's partial object grows in the **spool**, a folder of the
  machine shared by all its ingest processes (the same
  :class:`~backoffice.store.objects.PartialSpool` as ``file:///``: fsync
  before an offset is acknowledged, an ``flock`` per upload), so a kiosk's
  resume may land on any process of the machine.
- :meth:`S3ObjectStore.publish` uploads the finished partial under
  ``PREFIX/KEY`` (multipart from ``multipart_threshold`` bytes, parts of
  ``part_size``), then checks the SHA-256 of **what S3 stored** against the
  digest the key names (``…/<sha256>.age``): from the SHA-256 checksum S3
  keeps for a single-part object (sent with the upload, verified by the
  server on receipt, returned by HEAD), else by reading the object back
  (a multipart object's checksum is a checksum of part checksums). Only
  then is the partial removed: a failure at any point leaves it in the
  spool, and publishing again is harmless (an object already stored with
  the right digest is not uploaded twice).

Credentials never come from the URL (it is logged and shown on the health
page): boto3's standard chain (``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``, ``AWS_SHARED_CREDENTIALS_FILE``, ``AWS_PROFILE``,
an instance role) or ``credentials=/ABS/FILE``, an INI file like
``~/.aws/credentials`` whose ``[default]`` section (or ``profile=NAME``)
holds ``aws_access_key_id`` and ``aws_secret_access_key``.

Every request has stated timeouts and retries (:data:`CONNECT_TIMEOUT`,
:data:`READ_TIMEOUT`, :data:`MAX_ATTEMPTS`, botocore's ``standard`` retry
mode); whatever botocore, boto3 or s3transfer raise is translated here into
:class:`~backoffice.errors.StoreError` naming the endpoint and the bucket,
never a secret, and nothing of theirs leaves this module. The ingest turns a
StoreError into 503 with Retry-After, and a later HEAD of the kiosk
completes the upload (backoffice/ingest.py), so an S3 outage delays a
deposit and neither loses nor doubles it.
"""

from __future__ import annotations

import base64
import binascii
import configparser
import contextlib
import hashlib
import io
import logging
import re
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NoReturn
from urllib.parse import parse_qsl, unquote, urlsplit

import boto3
import boto3.exceptions
import botocore.exceptions
import s3transfer.exceptions
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from backoffice.errors import StoreError, StoreURLError
from backoffice.store.objects import PartialSpool, SpooledPartials, check_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import HeadObjectOutputTypeDef

log = logging.getLogger(__name__)

MIB = 1024 * 1024
#: Seconds to open a connection to the endpoint, and to wait for each answer's bytes.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 20.0
#: Attempts per request (the first and two retries, botocore's ``standard`` mode: exponential
#: backoff with jitter, on connection errors, timeouts, 5xx and throttling).
MAX_ATTEMPTS = 3
#: Uploads from this size are multipart, in parts of PART_SIZE (S3's minimum part is 5 MiB).
MULTIPART_THRESHOLD = 8 * MIB
PART_SIZE = 8 * MIB
MIN_PART = 5 * MIB
#: Parts uploaded at once by one publish.
UPLOAD_THREADS = 4
#: Connections kept open to the endpoint: the ingest's request threads share one client.
POOL_CONNECTIONS = 64
#: Block size of read-backs and downloads.
BLOCK = 1 * MIB

#: The URL's options and what each is for (named in the error for an unknown one).
OPTIONS = {
    "endpoint": "the S3 endpoint, http(s)://HOST:PORT (default: AWS's for the region)",
    "region": "the region requests are signed for (default us-east-1)",
    "spool": "absolute folder of partial uploads, shared by the machine's ingest processes "
             "(required)",
    "credentials": "absolute path of an INI credentials file like ~/.aws/credentials "
                   "(default: boto3's chain, AWS_ACCESS_KEY_ID and the like)",
    "profile": "the section of that file, or the profile of boto3's chain",
    "ca_bundle": "absolute path of the CA certificates an https endpoint is checked with",
    "create_bucket": "yes: create the bucket when it does not exist (default no)",
    "multipart_threshold": f"bytes from which an upload is multipart (default "
                           f"{MULTIPART_THRESHOLD}, at least {MIN_PART})",
    "part_size": f"bytes of each part of a multipart upload (default {PART_SIZE}, "
                 f"at least {MIN_PART})",
}

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")
_DIGEST_KEY = re.compile(r"(?:^|/)([0-9a-f]{64})\.age$")
_YES = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}


class Verification(StrEnum):
    """How a stored object's SHA-256 was known (counted in :attr:`S3ObjectStore.verified`)."""

    CHECKSUM = "checksum"      # the full-object SHA-256 checksum S3 keeps (single-part upload)
    READ_BACK = "read_back"    # the object read back and hashed (multipart, or no checksum)


@dataclass(frozen=True)
class S3Location:
    """What an ``s3://`` URL says (see :data:`OPTIONS`)."""

    bucket: str
    prefix: str                   # "" or "a/b", without slashes at either end
    spool: Path
    endpoint: str | None = None
    region: str = "us-east-1"
    credentials: Path | None = None
    profile: str | None = None
    ca_bundle: Path | None = None
    create_bucket: bool = False
    multipart_threshold: int = MULTIPART_THRESHOLD
    part_size: int = PART_SIZE

    @property
    def where(self) -> str:
        """Endpoint and bucket, as errors and logs name them."""
        return f"{self.endpoint or 'AWS S3 ' + self.region}, bucket {self.bucket}"

    def object_name(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key


def parse_s3_url(url: str) -> S3Location:
    """The location an ``s3://BUCKET/PREFIX?OPTIONS`` URL names; :class:`StoreURLError` naming
    the problem (and the valid options) otherwise. Never echoes a password."""
    parts = urlsplit(url)
    shown = f"s3://{parts.hostname or ''}{parts.path}"
    if parts.scheme != "s3":
        raise StoreURLError(f"objects URL {shown!r}: not an s3:// URL")
    if parts.username is not None or parts.password is not None:
        raise StoreURLError(
            f"objects URL {shown!r}: credentials do not belong in the URL (it is logged and "
            f"shown): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the service's "
            f"environment, or name a file with credentials=/ABSOLUTE/FILE")
    bucket = parts.netloc
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise StoreURLError(f"objects URL {shown!r}: {bucket!r} is not an S3 bucket name "
                            f"(3 to 63 of a-z, 0-9, '.', '-'; s3://BUCKET/PREFIX?OPTIONS)")
    prefix = unquote(parts.path).strip("/")
    if prefix and (not _PREFIX.fullmatch(prefix) or ".." in prefix.split("/")):
        raise StoreURLError(f"objects URL {shown!r}: the prefix {prefix!r} may hold only "
                            f"A-Z a-z 0-9 . _ - and /")
    if parts.fragment:
        raise StoreURLError(f"objects URL {shown!r}: no #fragment is allowed")
    valid = ", ".join(f"{name} ({what})" for name, what in OPTIONS.items())
    options: dict[str, str] = {}
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise StoreURLError(f"objects URL {shown!r}: the options must be NAME=VALUE joined "
                            f"by '&'; valid: {valid}") from None
    for name, value in pairs:
        if name not in OPTIONS:
            raise StoreURLError(f"objects URL {shown!r}: unknown option {name!r}; valid: "
                                f"{valid}")
        if name in options:
            raise StoreURLError(f"objects URL {shown!r}: option {name!r} is given twice")
        if not value:
            raise StoreURLError(f"objects URL {shown!r}: option {name!r} has no value")
        options[name] = value

    def absolute(name: str) -> Path | None:
        if name not in options:
            return None
        path = Path(options[name])
        if not path.is_absolute():
            raise StoreURLError(f"objects URL {shown!r}: {name}={options[name]} must be an "
                                f"absolute path")
        return path

    def size(name: str, default: int) -> int:
        if name not in options:
            return default
        try:
            value = int(options[name])
        except ValueError:
            value = -1
        if value < MIN_PART:
            raise StoreURLError(f"objects URL {shown!r}: {name}={options[name]} must be a "
                                f"number of bytes, at least {MIN_PART}")
        return value

    spool = absolute("spool")
    if spool is None:
        raise StoreURLError(f"objects URL {shown!r}: spool=/ABSOLUTE/DIR is required: "
                            f"{OPTIONS['spool']}")
    endpoint = options.get("endpoint")
    if endpoint is not None:
        ep = urlsplit(endpoint)
        if ep.scheme not in ("http", "https") or not ep.hostname or ep.username \
                or ep.password or ep.query or ep.path not in ("", "/"):
            raise StoreURLError(f"objects URL {shown!r}: endpoint must be http(s)://HOST[:PORT] "
                                f"(no credentials, no path)")
    create = options.get("create_bucket", "no").lower()
    if create not in _YES:
        raise StoreURLError(f"objects URL {shown!r}: create_bucket must be yes or no")
    return S3Location(
        bucket=bucket, prefix=prefix, spool=spool, endpoint=endpoint,
        region=options.get("region", "us-east-1"), credentials=absolute("credentials"),
        profile=options.get("profile"), ca_bundle=absolute("ca_bundle"),
        create_bucket=_YES[create],
        multipart_threshold=size("multipart_threshold", MULTIPART_THRESHOLD),
        part_size=size("part_size", PART_SIZE))


def _key_digest(key: str) -> str | None:
    """The SHA-256 a content-addressed key names (``…/<sha256>.age``), if it names one."""
    found = _DIGEST_KEY.search(key)
    return found.group(1) if found else None


def _session(location: S3Location) -> boto3.session.Session:
    """A boto3 session with credentials from the file the URL names, or from boto3's chain."""
    try:
        if location.credentials is None:
            session = boto3.session.Session(profile_name=location.profile,
                                            region_name=location.region)
        else:
            key_id, secret, token = _read_credentials(location.credentials,
                                                      location.profile or "default")
            session = boto3.session.Session(
                aws_access_key_id=key_id, aws_secret_access_key=secret,
                aws_session_token=token, region_name=location.region)
        found = session.get_credentials()
    except botocore.exceptions.BotoCoreError as exc:   # ProfileNotFound, a malformed config
        raise StoreError(f"S3 credentials for {location.where}: {exc}") from None
    if found is None:
        raise StoreError(
            f"no S3 credentials for {location.where}: set AWS_ACCESS_KEY_ID and "
            f"AWS_SECRET_ACCESS_KEY (or AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE) in the "
            f"service's environment, or add credentials=/ABSOLUTE/FILE to the objects URL")
    return session


def _read_credentials(path: Path, section: str) -> tuple[str, str, str | None]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as f:
            parser.read_file(f)
    except OSError as exc:
        raise StoreError(f"the S3 credentials file {path} cannot be read "
                         f"({exc.strerror})") from None
    except (configparser.Error, UnicodeDecodeError):
        raise StoreError(f"the S3 credentials file {path} is not an INI file like "
                         f"~/.aws/credentials") from None
    if not parser.has_section(section):
        raise StoreError(f"the S3 credentials file {path} has no [{section}] section")
    got = parser[section]
    key_id = got.get("aws_access_key_id", "").strip()
    secret = got.get("aws_secret_access_key", "").strip()
    if not key_id or not secret:
        raise StoreError(f"the [{section}] section of {path} needs aws_access_key_id and "
                         f"aws_secret_access_key")
    if path.stat().st_mode & 0o077:
        log.warning("the S3 credentials file %s is readable by others than its owner: "
                    "chmod 600 it", path)
    return key_id, secret, got.get("aws_session_token", "").strip() or None


#: What boto3, botocore and s3transfer raise; translated by :meth:`S3ObjectStore._fail`.
_S3_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError,
              boto3.exceptions.Boto3Error, s3transfer.exceptions.RetriesExceededError,
              s3transfer.exceptions.S3UploadFailedError)


def _status(exc: botocore.exceptions.ClientError) -> tuple[int, str]:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status, exc.response.get("Error", {}).get("Code", "") or str(status)


class _Download(io.RawIOBase):
    """An S3 object's body, read as it streams in; errors become :class:`StoreError`."""

    def __init__(self, store: S3ObjectStore, key: str, body: io.RawIOBase) -> None:
        self._store = store
        self._key = key
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:   # type: ignore[override]
        try:
            data = self._body.read(len(buffer))
        except _S3_ERRORS as exc:
            self._store._fail(exc, f"reading {self._key}")
        assert data is not None
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        with contextlib.suppress(*_S3_ERRORS, OSError):
            self._body.close()
        super().close()


class S3ObjectStore(SpooledPartials):
    """Envelopes in an S3 bucket, partial uploads in a local spool (the module docstring)."""

    def __init__(self, location: S3Location, url: str) -> None:
        self.location = location
        self.url = url
        self.bucket = location.bucket
        self.spool = PartialSpool(location.spool)
        #: How each stored digest was known since this store was opened.
        self.verified: Counter[Verification] = Counter()
        session = _session(location)
        self.client: S3Client = session.client(
            "s3", endpoint_url=location.endpoint,
            verify=str(location.ca_bundle) if location.ca_bundle else None,
            config=Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                          retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
                          max_pool_connections=POOL_CONNECTIONS,
                          # An endpoint of our own is reached by its address, not by
                          # bucket.host names that no DNS knows.
                          s3={"addressing_style": "path" if location.endpoint else "auto"}))
        self.transfer = TransferConfig(multipart_threshold=location.multipart_threshold,
                                       multipart_chunksize=location.part_size,
                                       max_concurrency=UPLOAD_THREADS)

    # ------------------------------------------------------------------ errors
    def _fail(self, exc: Exception, doing: str) -> NoReturn:
        """Raise the :class:`StoreError` that says what ``exc`` means (never a secret)."""
        where = self.location.where
        if isinstance(exc, botocore.exceptions.ClientError):
            status, code = _status(exc)
            if status in (401, 403) or code in ("AccessDenied", "InvalidAccessKeyId",
                                                "SignatureDoesNotMatch"):
                reason = f"access refused ({code}): check the S3 credentials and their rights"
            elif code in ("NoSuchBucket",):
                reason = "the bucket does not exist"
            elif status >= 500:
                reason = f"the server failed ({status} {code}); try later"
            else:
                reason = f"{code}: {exc.response.get('Error', {}).get('Message', '')}"
        elif isinstance(exc, botocore.exceptions.NoCredentialsError):
            reason = "no credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or " \
                     "credentials=FILE)"
        elif isinstance(exc, botocore.exceptions.ConnectTimeoutError):
            reason = f"no connection within {CONNECT_TIMEOUT:g} s ({MAX_ATTEMPTS} attempts)"
        elif isinstance(exc, botocore.exceptions.EndpointConnectionError):
            reason = f"cannot connect ({MAX_ATTEMPTS} attempts)"
        elif isinstance(exc, botocore.exceptions.ReadTimeoutError):
            reason = f"no answer within {READ_TIMEOUT:g} s ({MAX_ATTEMPTS} attempts)"
        else:
            reason = f"{type(exc).__name__}: {exc}"
        raise StoreError(f"S3 {doing} failed at {where}: {reason}") from None

    # ------------------------------------------------------------------ the bucket
    def ping(self) -> None:
        """The bucket answers; :class:`StoreError` saying why not (or creates it, if asked)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except botocore.exceptions.ClientError as exc:
            status, _code = _status(exc)
            if status != 404:
                self._fail(exc, "checking the bucket")
        except _S3_ERRORS as exc:
            self._fail(exc, "checking the bucket")
        if not self.location.create_bucket:
            raise StoreError(f"the S3 bucket {self.bucket} does not exist at "
                             f"{self.location.endpoint or 'AWS'}: create it, or add "
                             f"create_bucket=yes to the objects URL")
        try:
            self.client.create_bucket(Bucket=self.bucket)
        except botocore.exceptions.ClientError as exc:
            if _status(exc)[1] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                self._fail(exc, "creating the bucket")
        except _S3_ERRORS as exc:
            self._fail(exc, "creating the bucket")
        log.info("created the S3 bucket %s at %s", self.bucket, self.location.where)

    # ------------------------------------------------------------------ partial objects (spool)
    def free_bytes(self) -> int:
        """The spool's free space: S3 itself tells no one how much room is left."""
        return self.spool.free_bytes()

    # ------------------------------------------------------------------ publishing
    def publish(self, upload_id: str, key: str) -> None:
        """Upload a complete partial under ``key`` and check what S3 stored; the partial is
        removed only then. Durable (as S3 is) when this returns.

        A key that names a digest (``…/<sha256>.age``) is checked against it;
        another key against the partial's own SHA-256. Publishing again (the
        partial still there, or already removed, after a crash) is harmless.
        Raises :class:`StoreError` (the partial kept) on any failure.
        """
        check_key(key)
        named = _key_digest(key)
        path = self.spool.path(upload_id)
        if not path.exists():
            stored = self._stored_sha256(key)
            if stored is not None and (named is None or stored == named):
                return            # published by an earlier attempt that died before bookkeeping
            if stored is not None:
                raise StoreError(f"S3 object {key} at {self.location.where} has SHA-256 "
                                 f"{stored}, not the {named} its name states, and partial "
                                 f"upload {upload_id} is gone")
            raise StoreError(f"partial upload {upload_id} is missing")
        self.spool.sync(upload_id)
        local = _file_sha256(path)
        if named is not None and local != named:
            raise StoreError(f"partial upload {upload_id} has SHA-256 {local}, not the "
                             f"{named} its key {key} names; not published")
        if self._stored_sha256(key) != local:
            try:
                self.client.upload_file(str(path), self.bucket, self.location.object_name(key),
                                        ExtraArgs={"ChecksumAlgorithm": "SHA256"},
                                        Config=self.transfer)
            except _S3_ERRORS as exc:
                self._fail(exc, f"uploading {key}")
            stored = self._stored_sha256(key)
            if stored != local:
                raise StoreError(f"S3 object {key} at {self.location.where} reads back with "
                                 f"SHA-256 {stored}, not {local}: not published, the partial "
                                 f"upload is kept")
        self.spool.delete(upload_id)
        log.debug("published %s to %s", key, self.location.where)

    def _head(self, key: str) -> HeadObjectOutputTypeDef | None:
        try:
            return self.client.head_object(Bucket=self.bucket,
                                           Key=self.location.object_name(key),
                                           ChecksumMode="ENABLED")
        except botocore.exceptions.ClientError as exc:
            if _status(exc)[0] == 404:
                return None
            self._fail(exc, f"looking up {key}")
        except _S3_ERRORS as exc:
            self._fail(exc, f"looking up {key}")

    def _stored_sha256(self, key: str) -> str | None:
        """The SHA-256 of what S3 holds under ``key`` (None when nothing): its full-object
        checksum where S3 keeps one, else the object read back."""
        head = self._head(key)
        if head is None:
            return None
        checksum = head.get("ChecksumSHA256")
        if checksum and head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT" \
                and "-" not in checksum:
            with contextlib.suppress(binascii.Error):
                digest = base64.b64decode(checksum, validate=True)
                if len(digest) == 32:
                    self.verified[Verification.CHECKSUM] += 1
                    return digest.hex()
        self.verified[Verification.READ_BACK] += 1
        return self._read_sha256(key)

    def _read_sha256(self, key: str) -> str:
        h = hashlib.sha256()
        with self.open(key) as f:
            for block in iter(lambda: f.read(BLOCK), b""):
                h.update(block)
        return h.hexdigest()

    # ------------------------------------------------------------------ published objects
    def exists(self, key: str) -> bool:
        check_key(key)
        return self._head(key) is not None

    def open(self, key: str) -> BinaryIO:
        """The object's bytes as they stream in; :class:`StoreError` if it is missing."""
        check_key(key)
        try:
            answer = self.client.get_object(Bucket=self.bucket,
                                            Key=self.location.object_name(key))
        except botocore.exceptions.ClientError as exc:
            if _status(exc)[0] == 404:
                raise StoreError(f"object {key} is missing from {self.url}") from None
            self._fail(exc, f"reading {key}")
        except _S3_ERRORS as exc:
            self._fail(exc, f"reading {key}")
        body: io.RawIOBase = answer["Body"]  # type: ignore[assignment]  # a StreamingBody
        return io.BufferedReader(_Download(self, key, body), buffer_size=BLOCK)

    def sha256(self, key: str) -> str:
        """The SHA-256 of the stored object, read back and hashed (whatever checksum S3 keeps:
        this is the audit of what is there); :class:`StoreError` if it is missing."""
        check_key(key)
        return self._read_sha256(key)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            h.update(block)
    return h.hexdigest()


def open_s3(url: str) -> S3ObjectStore:
    """The store an ``s3://`` URL names, its bucket checked (see :func:`parse_s3_url`)."""
    location = parse_s3_url(url)
    store = S3ObjectStore(location, url)
    store.ping()
    log.info("envelopes in S3 at %s, prefix %r; partial uploads in %s", location.where,
             location.prefix, location.spool)
    return store
