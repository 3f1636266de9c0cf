"""``backoffice keygen``: create the back office's age identity; print its recipient.

The identity file is written as ``age-keygen`` writes one (``# created``,
``# public key``, the secret key line), mode 0600, and never over an existing
file. The recipient printed on standard output is what kiosks are enrolled
with (``age1pq1…`` for the default post-quantum type). Any age tool opens the
dossiers with that file (``age -d -i FILE`` for X25519; age >= 1.3 for the
post-quantum type).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from backoffice.errors import BackofficeError
from deposit import envelope
from deposit.age_keys import KINDS
from deposit.fsutil import PRIVATE, write_new_file


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("keygen", parents=parents,
                            help="create the age identity that opens the dossiers",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--type", choices=KINDS, default=envelope.DEFAULT_KIND,
                        help="key type: mlkem768x25519 (post-quantum hybrid, the default) or "
                             "x25519 (classical, for deployments that ask for it)")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="IDENTITY_FILE",
                        help="where to write the identity (secret key); must not exist")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    identity, recipient = envelope.generate_identity(args.type)
    text = envelope.format_identity_file(identity, datetime.now().astimezone())
    try:
        write_new_file(args.output, text.encode("ascii"), PRIVATE)
    except FileExistsError:
        raise BackofficeError(f"{args.output} already exists; an identity is never "
                              "overwritten (move it away first if you really mean it)") from None
    except OSError as exc:
        raise BackofficeError(f"{args.output}: cannot write the identity ({exc.strerror})"
                              ) from None
    print(f"identity written to {args.output} (mode 0600); keep it secret and backed up",
          file=sys.stderr)
    print(recipient)
    return 0
