"""Issue #13, "Decrypting hostile payloads": ``backoffice decrypt`` against hand-made archives.

The back office's recipients are public, so anyone can encrypt any tar to
them; age's authentication then proves nothing about what is inside. The
attack reported: an 11.9 KB envelope holding a GNU sparse member made
``backoffice decrypt`` write 2 GiB, and member names carrying ANSI escape
sequences were written and printed raw.

Each test here encrypts a hostile archive to a staff identity with the
project's own age code and runs the real decrypt path (the CLI, or
:func:`backoffice.staff.decrypt`). The sparse attack runs the CLI in a child
process whose file size is capped (``RLIMIT_FSIZE``), so a regression fails
the test instead of filling the shared disk, and measures what the child
wrote: its own ``wchar`` count (every byte passed to ``write``) and, polled
from outside while it runs, the disk usage and apparent size of everything in
the output folder's parent (the folder, its ``.part`` sibling and the
decrypted archive).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backoffice import cli, staff
from backoffice.errors import StaffToolError
from deposit import envelope, payload
from tests.security import hostile_tar as h

REPO = Path(__file__).resolve().parents[2]
TEN_MB = 10_000_000
FILE_SIZE_CAP = 32 * 1024**2      # RLIMIT_FSIZE of the child: a regression stops here
DEPOSIT_JSON = b'{"deposit_id": "D3M0-0000-0001", "version": 1}\n'
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40


@dataclass(frozen=True)
class Staff:
    identity_file: Path
    recipient: str


@pytest.fixture(scope="module")
def staff_key(tmp_path_factory: pytest.TempPathFactory) -> Staff:
    identity, recipient = envelope.generate_identity()
    path = tmp_path_factory.mktemp("staff") / "staff-identity.txt"
    path.write_text(envelope.format_identity_file(identity, datetime(2025, 11, 22, tzinfo=UTC)))
    return Staff(path, recipient)


def seal(tar: bytes, recipient: str, path: Path) -> Path:
    """``tar`` encrypted to ``recipient`` as an age envelope at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as dst:
        envelope.encrypt(io.BytesIO(tar), dst, [recipient])
    return path


def normal_archive() -> bytes:
    return h.archive(h.regular("deposit.json", DEPOSIT_JSON), h.regular("dossier.pdf", PDF))


def run_cli_in_process(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_printable_lines(text: str) -> None:
    """No control character at all (ESC, CSI, BEL, CR...) besides the ends of lines."""
    for line in text.splitlines():
        assert line.isprintable(), f"raw control character in {line!r}"


# ------------------------------------------------------------- measuring writes

@dataclass
class DiskPeak:
    """The most the watched folder held at once, polled while a child runs."""

    usage: int = 0        # st_blocks * 512 summed over every file below the folder
    apparent: int = 0     # st_size summed over the same files
    polls: int = 0


def folder_usage(folder: Path) -> tuple[int, int]:
    usage = apparent = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except FileNotFoundError:      # removed between the listing and the stat
                continue
            usage += st.st_blocks * 512
            apparent += st.st_size
    return usage, apparent


@dataclass(frozen=True)
class ChildRun:
    status: int
    stdout: str
    stderr: str
    wchar: int            # bytes the child passed to write(), from /proc/self/io
    peak: DiskPeak


CHILD = """
import resource, signal, sys
resource.setrlimit(resource.RLIMIT_FSIZE, ({cap}, {cap}))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # EFBIG instead of a kill
from backoffice import cli
try:
    status = cli.main(sys.argv[1:])
finally:
    counters = open("/proc/self/io").read()
    with open({report!r}, "w") as f:
        f.write(counters)
sys.exit(status)
"""


def decrypt_in_capped_child(argv: list[str], watched: Path, report: Path) -> ChildRun:
    """``backoffice decrypt ARGV`` in a child process with file sizes capped, measured."""
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")
    peak = DiskPeak()
    done = threading.Event()

    def poll_once() -> None:
        usage, apparent = folder_usage(watched)
        peak.usage, peak.apparent = max(peak.usage, usage), max(peak.apparent, apparent)
        peak.polls += 1

    def poll() -> None:
        while not done.is_set():
            poll_once()
            time.sleep(0.002)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        code = CHILD.format(cap=FILE_SIZE_CAP, report=str(report))
        result = subprocess.run([sys.executable, "-c", code, "decrypt", *argv], env=env,
                                cwd=REPO, capture_output=True, text=True, timeout=300,
                                check=False)
    finally:
        done.set()
        poller.join()
    poll_once()                      # what the child left behind counts too
    counters = dict(line.split(": ") for line in report.read_text().splitlines())
    return ChildRun(result.returncode, result.stdout, result.stderr, int(counters["wchar"]),
                    peak)


# ---------------------------------------------------------------- the sparse attack

@pytest.mark.parametrize("form", list(h.Sparse))
def test_sparse_tar_envelope_is_refused_with_less_than_10_mb_written(
        tmp_path: Path, staff_key: Staff, form: h.Sparse) -> None:
    tar = h.archive(h.regular("deposit.json", DEPOSIT_JSON), h.sparse(form))
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r|") as unchecked:
        declared = {m.name: (m.size, m.isreg()) for m in unchecked}
    assert declared["dossier.pdf"] == (h.HOLES_SIZE, True)   # tarfile alone would expand it
    sealed = seal(tar, staff_key.recipient, tmp_path / "in" / "D3M0-0000-0001.age")
    assert sealed.stat().st_size < 12_000                    # the report's 11.9 KB envelope
    staff_dir = tmp_path / "staff"
    staff_dir.mkdir()
    out = staff_dir / "opened"

    run = decrypt_in_capped_child(["-i", str(staff_key.identity_file), str(sealed),
                                   "-o", str(out)], staff_dir, tmp_path / "io.txt")

    assert run.status == 2, run.stderr
    assert "sparse" in run.stderr and "dossier.pdf" in run.stderr
    assert run.stdout == ""
    assert run.wchar < TEN_MB, f"the child wrote {run.wchar} bytes"
    assert run.peak.polls > 0
    assert run.peak.usage < TEN_MB and run.peak.apparent < TEN_MB
    assert list(staff_dir.iterdir()) == []           # no folder, no .part, no archive left


def test_the_measure_sees_a_decrypt_that_writes_its_files(tmp_path: Path,
                                                          staff_key: Staff) -> None:
    """The same measure on a normal envelope counts the files written (it is not blind)."""
    big_pdf = b"%PDF-1.7\n" + os.urandom(3 * 1024**2)
    sealed = seal(h.archive(h.regular("deposit.json", DEPOSIT_JSON),
                            h.regular("dossier.pdf", big_pdf)),
                  staff_key.recipient, tmp_path / "in" / "D3M0-0000-0002.age")
    staff_dir = tmp_path / "staff"
    staff_dir.mkdir()

    run = decrypt_in_capped_child(["-i", str(staff_key.identity_file), str(sealed),
                                   "-o", str(staff_dir / "opened")], staff_dir,
                                  tmp_path / "io.txt")

    assert run.status == 0, run.stderr
    assert run.wchar > 2 * len(big_pdf)              # the decrypted archive, then the file
    assert run.peak.apparent >= len(big_pdf)
    assert (staff_dir / "opened" / "dossier.pdf").read_bytes() == big_pdf


# ------------------------------------------------------------------- names

ESCAPE_NAMES = [
    "\x1b[2J\x1b[Hdossier.pdf",              # clear the screen, cursor home
    "deposit.json\x1b]0;owned\x07",          # OSC: set the terminal's title
    "\x1b[31mdossier.pdf\x1b[0m",            # colours
    "\u009b2Jdossier.pdf",                   # C1 CSI, as UTF-8
    "\udc9b2Jdossier.pdf",                   # C1 CSI as a raw byte (not UTF-8)
    "dossier.pdf\rdeposit.json",             # carriage return rewrites the line
    "dossier.pdf\n",
    "\u202edossier.pdf",                     # right-to-left override
    "dossier.pdf\x7f",
]


@pytest.mark.parametrize("name", ESCAPE_NAMES)
def test_member_names_with_control_characters_are_refused_and_printed_escaped(
        tmp_path: Path, staff_key: Staff, capsys: pytest.CaptureFixture[str],
        name: str) -> None:
    tar = h.archive(h.regular("deposit.json", DEPOSIT_JSON), h.regular(name, PDF))
    sealed = seal(tar, staff_key.recipient, tmp_path / "in" / "D3M0-0000-0003.age")
    staff_dir = tmp_path / "staff"

    status, out, err = run_cli_in_process(
        capsys, "decrypt", "-i", str(staff_key.identity_file), str(sealed),
        "-o", str(staff_dir / "opened"))

    assert status == 2 and out == ""
    assert "control or non-printable characters" in err
    assert len(err.splitlines()) == 1
    assert_printable_lines(err)
    assert payload.printable(repr(name)) in err      # the name, escaped, tells what it was
    assert list(staff_dir.iterdir()) == []


def test_paths_are_printed_escaped(tmp_path: Path, staff_key: Staff,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    sealed = seal(normal_archive(), staff_key.recipient, tmp_path / "in" / "D3M0-0000-0004.age")
    out_dir = tmp_path / "staff" / "opened\x1b[31m\x9b2J"

    status, out, err = run_cli_in_process(
        capsys, "decrypt", "-i", str(staff_key.identity_file), str(sealed), "-o", str(out_dir))

    assert status == 0, err
    assert_printable_lines(out)
    escaped = f"{tmp_path}/staff/opened\\x1b[31m\\x9b2J"
    assert out.splitlines() == [
        "verified: no manifest beside the envelope: integrity rests on age's authentication",
        f"file: {escaped}/deposit.json", f"file: {escaped}/dossier.pdf"]
    assert (out_dir / "dossier.pdf").read_bytes() == PDF


def test_errors_naming_a_hostile_path_are_printed_escaped(
        tmp_path: Path, staff_key: Staff, capsys: pytest.CaptureFixture[str]) -> None:
    sealed = seal(h.archive(h.regular("notes.txt", b"x")), staff_key.recipient,
                  tmp_path / "in" / "\x1b]0;owned\x07.age")

    status, _out, err = run_cli_in_process(
        capsys, "decrypt", "-i", str(staff_key.identity_file), str(sealed),
        "-o", str(tmp_path / "staff" / "opened"))

    assert status == 2
    assert_printable_lines(err)
    assert "\\x1b]0;owned\\x07.age" in err


def test_a_normal_envelope_decrypts_as_before(tmp_path: Path, staff_key: Staff,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    sealed = seal(normal_archive(), staff_key.recipient, tmp_path / "in" / "D3M0-0000-0005.age")
    out_dir = tmp_path / "staff" / "opened"

    status, out, err = run_cli_in_process(
        capsys, "decrypt", "-i", str(staff_key.identity_file), str(sealed), "-o", str(out_dir))

    assert (status, err) == (0, "")
    assert out.splitlines()[1:] == [f"file: {out_dir}/deposit.json",
                                    f"file: {out_dir}/dossier.pdf"]
    assert (out_dir / "deposit.json").read_bytes() == DEPOSIT_JSON
    assert (out_dir / "dossier.pdf").read_bytes() == PDF
    assert sorted(p.name for p in out_dir.parent.iterdir()) == ["opened"]


# --------------------------------------------------------- members of every kind

def link(name: str, kind: bytes, target: str) -> bytes:
    return h.regular(name, b"", kind=kind, linkname=target)


REFUSED: dict[str, tuple[bytes, str]] = {
    "an unexpected name": (h.archive(h.regular("deposit.json", DEPOSIT_JSON),
                                     h.regular("dossier.pdf", PDF), h.regular("notes.txt", b"x")),
                           "'notes.txt' is not expected"),
    "a name in another case": (h.archive(h.regular("Dossier.pdf", PDF)),
                               "'Dossier.pdf' is not expected"),
    "a name in a folder": (h.archive(h.regular("x/dossier.pdf", PDF)),
                           "'x/dossier.pdf' is not expected"),
    "a folder": (h.archive(h.regular("docs", b"", kind=tarfile.DIRTYPE)),
                 "not a regular file"),
    "a ./ name": (h.archive(h.regular("./dossier.pdf", PDF)), "not in normal form"),
    "an absolute name": (h.archive(h.regular("/etc/passwd", b"x")), "absolute path"),
    "a .. name": (h.archive(h.regular("../dossier.pdf", PDF)), "leaves the folder"),
    "a symbolic link": (h.archive(link("dossier.pdf", tarfile.SYMTYPE, "/etc/shadow")),
                        "not a regular file"),
    "a hard link": (h.archive(h.regular("deposit.json", DEPOSIT_JSON),
                              link("dossier.pdf", tarfile.LNKTYPE, "deposit.json")),
                    "not a regular file"),
    "a character device": (h.archive(h.regular("dossier.pdf", b"", kind=tarfile.CHRTYPE)),
                           "not a regular file"),
    "a block device": (h.archive(h.regular("dossier.pdf", b"", kind=tarfile.BLKTYPE)),
                       "not a regular file"),
    "a FIFO": (h.archive(h.regular("dossier.pdf", b"", kind=tarfile.FIFOTYPE)),
               "not a regular file"),
    "a contiguous file (tarfile's isreg() is true)": (
        h.archive(h.regular("dossier.pdf", PDF, kind=tarfile.CONTTYPE)), "not a regular file"),
    "a name twice": (h.archive(h.regular("deposit.json", DEPOSIT_JSON),
                               h.regular("deposit.json", DEPOSIT_JSON)), "appears twice"),
    "a missing member": (h.archive(h.regular("deposit.json", DEPOSIT_JSON)),
                         "lacks dossier.pdf"),
    "a sparse member of an unknown pax version": (
        h.archive(h.pax_member("dossier.pdf", {"GNU.sparse.major": "1", "GNU.sparse.minor": "1",
                                         "GNU.sparse.realsize": str(h.HOLES_SIZE)}, PDF)),
        "sparse"),
    "a pax header": (h.archive(h.pax_member("dossier.pdf", {"comment": "hello"}, PDF)),
                     "pax extended headers (comment)"),
    # Sizes are checked on the header: the archive does not even hold the bytes declared,
    # so writing first would end in "damaged", not "over the limit".
    "deposit.json over 1 MiB": (
        h.archive(h.regular("deposit.json", DEPOSIT_JSON, size=payload.MAX_JSON_BYTES + 1)),
        f"'deposit.json' is {payload.MAX_JSON_BYTES + 1} bytes, over the limit of "
        f"{payload.MAX_JSON_BYTES}"),
    "dossier.pdf over its cap": (
        h.archive(h.regular("dossier.pdf", PDF, size=payload.MAX_MEMBER_BYTES + 1)),
        f"'dossier.pdf' is {payload.MAX_MEMBER_BYTES + 1} bytes, over the limit of "
        f"{payload.MAX_MEMBER_BYTES}"),
    **{f"a sparse member ({form})": (h.archive(h.sparse(form, size=4096)), "sparse")
       for form in h.Sparse},
}


@pytest.fixture(params=list(REFUSED), ids=lambda key: key.replace(" ", "-"))
def refused(request: pytest.FixtureRequest) -> Iterator[tuple[bytes, str]]:
    yield REFUSED[request.param]


def test_every_archive_but_the_expected_two_members_is_refused_and_leaves_nothing(
        tmp_path: Path, staff_key: Staff, refused: tuple[bytes, str]) -> None:
    tar, reason = refused
    sealed = seal(tar, staff_key.recipient, tmp_path / "in" / "D3M0-0000-0006.age")
    staff_dir = tmp_path / "staff"

    with pytest.raises(StaffToolError, match="the payload is refused") as caught:
        staff.decrypt(staff_key.identity_file, sealed, staff_dir / "opened")

    assert reason in str(caught.value)
    assert list(staff_dir.iterdir()) == []
