"""Hand-made tar archives of the kinds an attacker encrypts to the back office.

``tarfile`` writes no sparse member, so the GNU forms are built here from raw
headers: the old GNU type ``S`` (sparse map in the header) and the three pax
forms GNU tar writes (``--sparse-version`` 0.0, 0.1, 1.0). Each declares a
:data:`HOLES_SIZE` file made of one 512-byte block of data and holes, so the
archive is a few KiB while a reader that expands it writes 2 GiB of zeros.
The archives are valid: :mod:`tarfile` reads each as a *regular* member of
2 GiB (``isreg()`` is true), which is why the unpacker must look further.
"""

from __future__ import annotations

import io
import tarfile
from enum import StrEnum

BLOCK = 512
HOLES_SIZE = 2 * 1024**3          # what the sparse member declares: the attack's 2 GiB
DATA = b"%PDF-1.7\n".ljust(BLOCK, b"\x00")   # the only block the sparse member stores
END = bytes(2 * BLOCK)


class Sparse(StrEnum):
    """The sparse forms GNU tar writes, as ``tar --sparse-version`` names them."""

    GNU_OLD = "gnu-old"    # typeflag 'S', sparse map in the header (tar --format=gnu)
    PAX_0_0 = "pax-0.0"    # GNU.sparse.size / numblocks / offset / numbytes records
    PAX_0_1 = "pax-0.1"    # GNU.sparse.map=offset,size,...
    PAX_1_0 = "pax-1.0"    # GNU.sparse.major/minor, the map at the start of the data


def _number(value: int, width: int) -> bytes:
    return b"%0*o\x00" % (width - 1, value)


def _seal_checksum(header: bytearray) -> bytes:
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\x00 " % sum(header)
    return bytes(header)


def regular(name: str, data: bytes, *, kind: bytes = tarfile.REGTYPE, size: int | None = None,
            linkname: str = "") -> bytes:
    """One ustar member (header, data, padding); ``size`` may lie about ``data``.

    The name is encoded with ``surrogateescape``, so ``"\\udc9b"`` is the raw byte 0x9b.
    """
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if size is None else size
    info.mode = 0o600
    info.linkname = linkname
    header = info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")
    return header + data + bytes(-len(data) % BLOCK)


def archive(*members: bytes) -> bytes:
    """Members then the two zero blocks that end a tar archive."""
    return b"".join(members) + END


def pax_member(name: str, records: dict[str, str], data: bytes,
               header_name: str | None = None) -> bytes:
    """One member with a pax extended header holding ``records``, as ``tarfile`` writes it."""
    info = tarfile.TarInfo(header_name or name)
    info.size = len(data)
    info.mode = 0o600
    info.pax_headers = records
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(data))
        member = out.getvalue()          # before close() appends the end blocks
    return member


def sparse(form: Sparse, name: str = "dossier.pdf", size: int = HOLES_SIZE) -> bytes:
    """One sparse member of ``size`` bytes: :data:`DATA` at offset 0, then holes."""
    if form is Sparse.GNU_OLD:
        info = tarfile.TarInfo(name)
        info.type = tarfile.GNUTYPE_SPARSE
        info.size = len(DATA)                  # what the archive stores
        info.mode = 0o600
        header = bytearray(info.tobuf(tarfile.GNU_FORMAT, "utf-8", "strict"))
        header[386:410] = _number(0, 12) + _number(len(DATA), 12)   # sparse map: one extent
        header[482] = 0                                              # no extension blocks
        header[483:495] = _number(size, 12)                          # the real size
        return _seal_checksum(header) + DATA
    if form is Sparse.PAX_0_0:
        return pax_member(name, {"GNU.sparse.size": str(size), "GNU.sparse.numblocks": "1",
                           "GNU.sparse.offset": "0", "GNU.sparse.numbytes": str(len(DATA))},
                    DATA)
    if form is Sparse.PAX_0_1:
        return pax_member(name, {"GNU.sparse.size": str(size), "GNU.sparse.numblocks": "1",
                           "GNU.sparse.map": f"0,{len(DATA)}"}, DATA)
    sparse_map = f"1\n0\n{len(DATA)}\n".encode().ljust(BLOCK, b"\x00")
    return pax_member(name, {"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                       "GNU.sparse.name": name, "GNU.sparse.realsize": str(size)},
                sparse_map + DATA, header_name=f"./GNUSparseFile.0/{name}")
