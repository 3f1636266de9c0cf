"""The object stores' contract, on a folder and on S3 (a real SeaweedFS), and what only S3 has:
multipart uploads, the stored digest checked, outages, URLs and credentials.

The contract tests run on both stores (``store`` fixture); the S3 ones use the
session's SeaweedFS (tests/backoffice/seaweed.py), a bucket of their own each,
and boto3 directly to look at what the server holds.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backoffice.errors import StoreError, StoreURLError, UploadLocked
from backoffice.store.objects import ObjectStore, open_objects
from backoffice.store.s3 import MIN_PART, S3ObjectStore, Verification, parse_s3_url
from deposit import manifest
from tests.backoffice.harness import (
    FakeKiosk,
    RunningServer,
    enroll,
    free_port,
    init_backoffice,
)
from tests.backoffice.seaweed import SeaweedFS, find_weed
from tests.conftest import REPO

MIB = 1024 * 1024


def upload_id(n: int = 0) -> str:
    return f"{n:032x}"


def fill(store: ObjectStore, uid: str, data: bytes, chunk: int = 64 * 1024) -> None:
    """A partial object grown chunk by chunk as tus PATCHes grow it, each chunk committed."""
    store.create_partial(uid)
    offset = 0
    with store.lock(uid):
        while offset < len(data):
            writer = store.open_partial(uid, offset)
            writer.write(data[offset:offset + chunk])
            offset = writer.commit()
    assert offset == len(data)


def envelope_key(data: bytes, kind: str = "envelopes") -> str:
    sha = hashlib.sha256(data).hexdigest()
    return f"{kind}/{sha[:2]}/{sha}.age"


def s3_store(seaweed: SeaweedFS, tmp_path: Path, *, prefix: str = "", **options: object
             ) -> S3ObjectStore:
    bucket = seaweed.new_bucket()
    store = open_objects(seaweed.objects_url(bucket, tmp_path / "spool", prefix, **options))
    assert isinstance(store, S3ObjectStore)
    return store


@pytest.fixture
def running_seaweed(seaweed: SeaweedFS) -> Iterator[SeaweedFS]:
    """The session's SeaweedFS, started again after the test if the test stopped it."""
    yield seaweed
    if not seaweed.running:
        seaweed.start()


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "file":
        return open_objects((tmp_path / "objects").as_uri())
    seaweed: SeaweedFS = request.getfixturevalue("seaweed")
    return s3_store(seaweed, tmp_path, prefix="backoffice")


# ---------------------------------------------------------------------- the contract, both stores
def test_a_partial_object_grows_chunk_by_chunk_and_is_published_under_its_key(
        store: ObjectStore) -> None:
    data = os.urandom(300_000)
    fill(store, upload_id(1), data)
    assert store.partial_sha256(upload_id(1), 1000) == hashlib.sha256(data[:1000]).hexdigest()
    assert store.read_partial(upload_id(1), 10) == data[:10]
    key = envelope_key(data)
    assert not store.exists(key)

    store.publish(upload_id(1), key)

    assert store.exists(key)
    with store.open(key) as f:
        assert f.read() == data
    assert store.sha256(key) == hashlib.sha256(data).hexdigest()
    assert store.partial_sha256(upload_id(1), len(data)) is None      # the partial is gone


def test_bytes_written_but_not_committed_do_not_count(store: ObjectStore) -> None:
    store.create_partial(upload_id(2))
    writer = store.open_partial(upload_id(2), 0)
    writer.write(b"kept")
    assert writer.commit() == 4
    writer = store.open_partial(upload_id(2), 4)
    writer.write(b"lost in a crash")
    writer.abort()
    assert store.read_partial(upload_id(2), 100) == b"kept"
    # A request that died between write and commit: the next one starts at the acknowledged
    # offset and what lay beyond it is dropped.
    writer = store.open_partial(upload_id(2), 4)
    writer.write(b"!")
    assert writer.commit() == 5
    assert store.read_partial(upload_id(2), 100) == b"kept!"
    assert store.partial_sha256(upload_id(2), 6) is None      # fewer bytes than asked


def test_one_writer_at_a_time_holds_an_upload(store: ObjectStore) -> None:
    store.create_partial(upload_id(3))
    with store.lock(upload_id(3)), pytest.raises(UploadLocked), store.lock(upload_id(3)):
        pass
    with store.lock(upload_id(3)):      # released
        pass


def test_publishing_again_after_a_crash_before_the_bookkeeping_is_harmless(
        store: ObjectStore) -> None:
    data = os.urandom(50_000)
    fill(store, upload_id(4), data)
    key = envelope_key(data)
    store.publish(upload_id(4), key)

    store.publish(upload_id(4), key)

    assert store.sha256(key) == hashlib.sha256(data).hexdigest()


def test_a_missing_partial_or_object_is_a_store_error(store: ObjectStore) -> None:
    key = envelope_key(b"never sent")
    with pytest.raises(StoreError, match="missing"):
        store.publish(upload_id(5), key)
    with pytest.raises(StoreError, match="missing"):
        store.open(key)
    with pytest.raises(StoreError, match="missing"):
        store.sha256(key)
    assert not store.exists(key)
    with pytest.raises(StoreError, match="missing"):
        store.open_partial(upload_id(5), 0)


def test_a_conflict_is_kept_under_its_own_key_beside_the_first_envelope(
        store: ObjectStore) -> None:
    first, other = os.urandom(10_000), os.urandom(12_000)
    fill(store, upload_id(6), first)
    fill(store, upload_id(7), other)
    store.publish(upload_id(6), envelope_key(first))
    store.publish(upload_id(7), envelope_key(other, "conflicts"))
    assert store.sha256(envelope_key(first)) == hashlib.sha256(first).hexdigest()
    assert store.sha256(envelope_key(other, "conflicts")) == hashlib.sha256(other).hexdigest()


def test_unsafe_keys_and_malformed_upload_ids_are_refused(store: ObjectStore) -> None:
    for key in ("../escape.age", "/absolute.age", "envelopes/../../x.age"):
        with pytest.raises(StoreError, match="unsafe object key"):
            store.exists(key)
    with pytest.raises(StoreError, match="malformed upload id"):
        store.create_partial("../../etc/passwd")


def test_free_space_is_the_partial_folders(store: ObjectStore) -> None:
    assert store.free_bytes() > 0


# ---------------------------------------------------------------------- S3: what is stored
def test_objects_land_under_the_prefix_and_a_single_part_upload_is_checked_by_its_checksum(
        seaweed: SeaweedFS, tmp_path: Path) -> None:
    store = s3_store(seaweed, tmp_path, prefix="national/ingest")
    data = os.urandom(200_000)
    fill(store, upload_id(10), data)
    key = envelope_key(data)

    store.publish(upload_id(10), key)

    listed = seaweed.client().list_objects_v2(Bucket=store.bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"national/ingest/{key}"]
    # SeaweedFS keeps the SHA-256 sent with a single-part upload (checked on receipt) and
    # returns it on HEAD: nothing is read back.
    assert store.verified == {Verification.CHECKSUM: 1}
    head = seaweed.client().head_object(Bucket=store.bucket, Key=f"national/ingest/{key}",
                                        ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_an_envelope_above_the_threshold_goes_up_in_parts_and_is_read_back_to_be_checked(
        seaweed: SeaweedFS, tmp_path: Path) -> None:
    store = s3_store(seaweed, tmp_path, multipart_threshold=MIN_PART, part_size=MIN_PART)
    data = os.urandom(2 * MIN_PART + 123_456)
    fill(store, upload_id(11), data, chunk=MIB)
    key = envelope_key(data)

    store.publish(upload_id(11), key)

    head = seaweed.client().head_object(Bucket=store.bucket, Key=key)
    assert head["ETag"].endswith('-3"')            # three parts: 5 MiB, 5 MiB, the rest
    assert head["ContentLength"] == len(data)
    # A multipart object's checksum is a checksum of its parts' checksums: read back instead.
    assert store.verified == {Verification.READ_BACK: 1}
    assert store.sha256(key) == hashlib.sha256(data).hexdigest()


def test_different_bytes_under_the_key_are_detected_whether_s3_keeps_a_checksum_or_not(
        seaweed: SeaweedFS, tmp_path: Path) -> None:
    store = s3_store(seaweed, tmp_path)
    client = seaweed.client()
    for n, checksum in enumerate(({"ChecksumAlgorithm": "SHA256"}, {})):
        data = os.urandom(30_000)
        key = envelope_key(data)
        # Published by an attempt that died before its bookkeeping, the partial removed...
        fill(store, upload_id(20 + n), data)
        store.publish(upload_id(20 + n), key)
        # ... then other bytes put under the key behind the store's back.
        client.put_object(Bucket=store.bucket, Key=key, Body=b"not the envelope",
                          **checksum)  # type: ignore[arg-type]

        with pytest.raises(StoreError, match=r"not the .* its name states"):
            store.publish(upload_id(20 + n), key)

    assert store.verified[Verification.CHECKSUM] >= 1
    assert store.verified[Verification.READ_BACK] >= 1


def test_a_partial_that_does_not_match_its_key_is_not_published_and_is_kept(
        seaweed: SeaweedFS, tmp_path: Path) -> None:
    store = s3_store(seaweed, tmp_path)
    data = os.urandom(20_000)
    fill(store, upload_id(12), data)
    key = envelope_key(b"something else")

    with pytest.raises(StoreError, match=r"not the .* its key"):
        store.publish(upload_id(12), key)

    assert not store.exists(key)
    assert store.partial_sha256(upload_id(12), len(data)) == hashlib.sha256(data).hexdigest()


def test_an_object_already_stored_by_a_dead_attempt_is_accepted_and_the_partial_dropped(
        seaweed: SeaweedFS, tmp_path: Path) -> None:
    store = s3_store(seaweed, tmp_path)
    data = os.urandom(40_000)
    fill(store, upload_id(13), data)
    key = envelope_key(data)
    seaweed.client().put_object(Bucket=store.bucket, Key=key, Body=data,
                                ChecksumAlgorithm="SHA256")

    store.publish(upload_id(13), key)

    assert store.partial_sha256(upload_id(13), 1) is None
    assert store.sha256(key) == hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------- S3: outages
def test_s3_down_is_a_store_error_the_partial_survives_and_publish_works_after_restart(
        running_seaweed: SeaweedFS, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    seaweed = running_seaweed
    store = s3_store(seaweed, tmp_path)
    before = os.urandom(25_000)
    fill(store, upload_id(30), before)
    store.publish(upload_id(30), envelope_key(before))
    data = os.urandom(60_000)
    fill(store, upload_id(31), data)
    key = envelope_key(data)
    caplog.set_level(logging.DEBUG)

    seaweed.stop()
    for call in (lambda: store.publish(upload_id(31), key), lambda: store.exists(key),
                 lambda: store.open(key), lambda: store.sha256(envelope_key(before))):
        with pytest.raises(StoreError) as caught:
            call()
        assert type(caught.value) is StoreError        # nothing of botocore leaks out
        assert seaweed.endpoint in str(caught.value) and store.bucket in str(caught.value)
        assert "cannot connect" in str(caught.value)
        assert seaweed.secret_key not in str(caught.value)
    assert store.partial_sha256(upload_id(31), len(data)) == hashlib.sha256(data).hexdigest()
    seaweed.start()

    store.publish(upload_id(31), key)

    assert store.sha256(key) == hashlib.sha256(data).hexdigest()
    assert store.sha256(envelope_key(before)) == hashlib.sha256(before).hexdigest()  # survived
    assert seaweed.secret_key not in caplog.text


# ---------------------------------------------------------------------- S3: bucket, credentials
def test_a_missing_bucket_is_named_at_open_unless_asked_to_create_it(
        seaweed: SeaweedFS, tmp_path: Path) -> None:
    name = f"absent-{os.getpid()}-{os.urandom(3).hex()}"
    with pytest.raises(StoreError, match=rf"bucket {name} does not exist.*create_bucket=yes"):
        open_objects(seaweed.objects_url(name, tmp_path / "spool"))

    store = open_objects(seaweed.objects_url(name, tmp_path / "spool", create_bucket="yes"))

    assert not store.exists("envelopes/none.age")
    seaweed.client().head_bucket(Bucket=name)


def test_credentials_come_from_the_environment_when_no_file_is_named(
        seaweed: SeaweedFS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = seaweed.new_bucket()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    url = f"s3://{bucket}?endpoint={seaweed.endpoint}&spool={tmp_path / 'spool'}"
    store = open_objects(url)
    data = b"age-encryption.org/v1\n" + os.urandom(1000)
    fill(store, upload_id(40), data)
    store.publish(upload_id(40), envelope_key(data))
    assert store.exists(envelope_key(data))


def test_no_credentials_anywhere_says_where_to_put_them(
        seaweed: SeaweedFS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    url = f"s3://{seaweed.new_bucket()}?endpoint={seaweed.endpoint}&spool={tmp_path}"
    with pytest.raises(StoreError, match=r"no S3 credentials.*AWS_ACCESS_KEY_ID.*credentials="):
        open_objects(url)


def test_wrong_credentials_are_refused_without_showing_the_secret(
        seaweed: SeaweedFS, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = "wrong-" + os.urandom(8).hex()
    creds = tmp_path / "creds.ini"
    creds.write_text(f"[default]\naws_access_key_id = {seaweed.access_key}\n"
                     f"aws_secret_access_key = {secret}\n")
    creds.chmod(0o600)
    caplog.set_level(logging.DEBUG)
    url = seaweed.objects_url(seaweed.new_bucket(), tmp_path / "spool")
    url = url.replace(str(seaweed.credentials_file).replace("/", "%2F"), str(creds))
    with pytest.raises(StoreError, match="access refused") as caught:
        open_objects(url)
    assert secret not in str(caught.value) and secret not in caplog.text


def test_a_credentials_file_without_its_keys_is_named(tmp_path: Path) -> None:
    creds = tmp_path / "creds.ini"
    creds.write_text("[default]\naws_access_key_id = only-the-id\n")
    with pytest.raises(StoreError, match=f"{creds} needs aws_access_key_id and "
                                         f"aws_secret_access_key"):
        open_objects(f"s3://bucket?endpoint=http://127.0.0.1:1&spool={tmp_path}"
                     f"&credentials={creds}")
    with pytest.raises(StoreError, match="no \\[ops\\] section"):
        open_objects(f"s3://bucket?endpoint=http://127.0.0.1:1&spool={tmp_path}"
                     f"&credentials={creds}&profile=ops")


# ---------------------------------------------------------------------- S3: URLs
def test_a_password_in_the_url_is_refused_and_never_repeated() -> None:
    with pytest.raises(StoreURLError, match="credentials do not belong in the URL") as caught:
        parse_s3_url("s3://AKIDEXAMPLE:hunter2secret@bucket/prefix?spool=/var/spool/bo")
    assert "hunter2secret" not in str(caught.value) and "AKIDEXAMPLE" not in str(caught.value)


@pytest.mark.parametrize(("url", "message"), [
    ("s3://bucket?spool=/s&secret=x", "unknown option 'secret'; valid: endpoint .*region"),
    ("s3://bucket", "spool=/ABSOLUTE/DIR is required"),
    ("s3://bucket?spool=relative/dir", "spool=relative/dir must be an absolute path"),
    ("s3://Not_A_Bucket?spool=/s", "is not an S3 bucket name"),
    ("s3://bucket/../up?spool=/s", "prefix"),
    ("s3://bucket?spool=/s&spool=/t", "option 'spool' is given twice"),
    ("s3://bucket?spool=/s&region=", "option 'region' has no value"),
    ("s3://bucket?spool=/s&endpoint=ftp://host", "endpoint must be http"),
    ("s3://bucket?spool=/s&endpoint=http://host/path", "endpoint must be http"),
    ("s3://bucket?spool=/s&part_size=1024", "part_size=1024 must be a number of bytes, at least"),
    ("s3://bucket?spool=/s&multipart_threshold=big", "multipart_threshold=big must be"),
    ("s3://bucket?spool=/s&create_bucket=maybe", "create_bucket must be yes or no"),
    ("s3://bucket?spool=/s&credentials=creds.ini", "credentials=creds.ini must be an absolute"),
])
def test_malformed_s3_urls_are_refused_naming_the_problem(url: str, message: str) -> None:
    with pytest.raises(StoreURLError, match=message):
        open_objects(url)


def test_an_s3_url_names_every_option() -> None:
    location = parse_s3_url(
        "s3://envelopes.example/fleet/a?endpoint=https://s3.example:8333&region=eu-west-3"
        "&spool=/var/spool/backoffice&credentials=/etc/backoffice/s3.ini&profile=ingest"
        "&ca_bundle=/etc/ssl/s3-ca.pem&create_bucket=yes&multipart_threshold=16777216"
        "&part_size=6291456")
    assert (location.bucket, location.prefix) == ("envelopes.example", "fleet/a")
    assert location.endpoint == "https://s3.example:8333" and location.region == "eu-west-3"
    assert location.spool == Path("/var/spool/backoffice")
    assert location.credentials == Path("/etc/backoffice/s3.ini")
    assert location.profile == "ingest" and location.ca_bundle == Path("/etc/ssl/s3-ca.pem")
    assert location.create_bucket
    assert (location.multipart_threshold, location.part_size) == (16 * MIB, 6 * MIB)
    assert location.object_name("envelopes/ab/x.age") == "fleet/a/envelopes/ab/x.age"


def test_an_unknown_scheme_names_both_stores() -> None:
    with pytest.raises(StoreURLError, match="accepted: file, s3"):
        open_objects("gs://bucket")


# ---------------------------------------------------------------------- a back office on S3
@pytest.fixture
def s3_office(running_seaweed: SeaweedFS, tmp_path: Path
              ) -> Iterator[tuple[RunningServer, FakeKiosk, str]]:
    """A back office whose objects URL is ``s3://`` on the session's SeaweedFS (prefix
    ``backoffice``), running, with one enrolled kiosk; and the bucket's name."""
    bucket = running_seaweed.new_bucket()
    port = free_port()
    data = init_backoffice(tmp_path, port, objects=running_seaweed.objects_url(
        bucket, tmp_path / "spool", "backoffice"))
    running = RunningServer(data, port).start()
    kiosk = FakeKiosk(enroll(data, "MAIRIE-01", tmp_path / "bundle"), tmp_path / "kiosk")
    yield running, kiosk, bucket
    kiosk.close()
    running.stop()


@pytest.mark.slow
def test_a_deposit_end_to_end_lands_in_s3_with_its_manifests_digest_and_staff_fetch_it(
        s3_office: tuple[RunningServer, FakeKiosk, str], running_seaweed: SeaweedFS,
        tmp_path: Path) -> None:
    server, kiosk, bucket = s3_office
    assert server.bo.objects.url.startswith(f"s3://{bucket}/backoffice?")
    made = kiosk.make(size=3 * MIB)

    result = kiosk.deliver(made, kiosk.uploader(chunk_size=1 * MIB))

    assert result.outcome == "delivered", result.reason
    [record] = server.bo.metadata.deposits()
    signed, _signature = manifest.parse_unverified(made.manifest)
    # Read back from SeaweedFS by an outsider: the bytes the kiosk signed for.
    body = running_seaweed.client().get_object(Bucket=bucket,
                                               Key=f"backoffice/{record.object_key}")["Body"]
    assert hashlib.sha256(body.read()).hexdigest() == signed.envelope_sha256 == made.sha256
    assert not any((tmp_path / "spool").iterdir())       # nothing left in the spool
    with server.add_staff(tmp_path / "profiles", "ines") as ines:
        fetched = ines.fetch_bytes(made.deposit_id)
    assert fetched.envelope == made.envelope_path.read_bytes()


@pytest.mark.slow
def test_s3_down_at_completion_delays_the_deposit_and_it_is_stored_once_after_restart(
        s3_office: tuple[RunningServer, FakeKiosk, str], running_seaweed: SeaweedFS) -> None:
    server, kiosk, bucket = s3_office
    made = kiosk.make(size=2 * MIB)
    uploader = kiosk.uploader(chunk_size=1 * MIB)

    running_seaweed.stop()
    first = kiosk.deliver(made, uploader)
    assert first.outcome == "retry", first.reason           # 503 at completion
    assert made.upload_url is not None                       # every byte is in the spool
    assert server.bo.metadata.deposits() == []
    running_seaweed.start()
    second = kiosk.deliver(made, uploader)

    assert second.outcome == "delivered", second.reason
    assert second.bytes_sent == 0        # HEAD completed the upload from the spool
    [record] = server.bo.metadata.deposits()
    listed = running_seaweed.client().list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"backoffice/{record.object_key}"]
    assert server.bo.objects.sha256(record.object_key) == made.sha256


@pytest.mark.slow
def test_an_envelope_published_by_an_attempt_killed_before_recording_it_is_stored_once(
        s3_office: tuple[RunningServer, FakeKiosk, str], running_seaweed: SeaweedFS) -> None:
    server, kiosk, bucket = s3_office
    made = kiosk.make(size=MIB)
    uploader = kiosk.uploader(chunk_size=MIB)
    running_seaweed.stop()
    assert kiosk.deliver(made, uploader).outcome == "retry"    # every byte in, not settled
    running_seaweed.start()
    # What an ingest process killed between publication and bookkeeping leaves behind:
    # the envelope in S3, its partial object gone, the upload still open.
    assert made.upload_url is not None
    upload_id = made.upload_url.rsplit("/", 1)[1]
    server.bo.objects.publish(upload_id, envelope_key(made.envelope_path.read_bytes()))
    assert server.bo.objects.partial_sha256(upload_id, 1) is None

    result = kiosk.deliver(made, uploader)

    assert result.outcome == "delivered", result.reason
    [record] = server.bo.metadata.deposits()
    assert record.envelope_sha256 == made.sha256
    listed = running_seaweed.client().list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"backoffice/{record.object_key}"]


@pytest.mark.slow
def test_seaweedfs_stops_by_itself_when_the_test_process_dies(tmp_path: Path) -> None:
    script = (f"import os, pathlib\n"
              f"from tests.backoffice.seaweed import SeaweedFS, find_weed\n"
              f"server = SeaweedFS(find_weed(), pathlib.Path({str(tmp_path)!r}))\n"
              f"print(server.start().proc.pid, flush=True)\n"
              f"os._exit(0)\n")
    if find_weed() is None:
        pytest.skip("SeaweedFS's weed binary is not installed")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout)
    deadline = time.monotonic() + 10
    while weed_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not weed_alive(pid)


def weed_alive(pid: int) -> bool:
    try:
        return "weed" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:
        return False


@pytest.mark.slow
def test_the_administration_health_says_when_s3_does_not_answer(
        s3_office: tuple[RunningServer, FakeKiosk, str], running_seaweed: SeaweedFS) -> None:
    server, _kiosk, bucket = s3_office
    assert {c.name: c.ok for c in server.bo.checks()}["objects"] is True
    running_seaweed.stop()
    try:
        down = {c.name: c for c in server.bo.checks()}["objects"]
    finally:
        running_seaweed.start()
    assert not down.ok
    assert bucket in down.detail and running_seaweed.endpoint in down.detail
    assert running_seaweed.secret_key not in down.detail
    assert {c.name: c.ok for c in server.bo.checks()}["objects"] is True


def test_the_administration_health_says_when_the_envelope_folder_is_gone(
        tmp_path: Path) -> None:
    store = open_objects((tmp_path / "objects").as_uri())
    store.ping()
    (tmp_path / "objects" / "envelopes").rmdir()
    with pytest.raises(StoreError, match="envelope folder"):
        store.ping()
