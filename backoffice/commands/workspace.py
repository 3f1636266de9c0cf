"""``backoffice workspace``: the staff workspace, on this workstation, for this browser only.

Starts the workspace on 127.0.0.1 and prints the link that opens it (a secret
is in it: whoever has the link reaches the sign-in page; the passphrase is
still needed). ``--open`` hands the browser a file of mode 0600 that leads to
the link instead of putting the secret in a command line. Ctrl-C (or SIGTERM)
stops it and removes its temporary folder; no decrypted page stays on disk.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
import webbrowser
from pathlib import Path
from typing import Any

import uvicorn

from backoffice.errors import SetupError
from backoffice.settings import is_loopback
from backoffice.staffclient import PROFILE_VARIABLE, load_profile
from backoffice.workspace.web import IDLE_LOCK, Workspace
from deposit import envelope
from deposit.errors import DepositError

log = logging.getLogger(__name__)

#: Seconds between two looks at the session's idle time (the lock is late by this at most).
IDLE_CHECK_S = 5.0


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("workspace", parents=parents,
                            help="the staff workspace in the local browser (staff workstation)",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help=f"your staff profile (default: ${PROFILE_VARIABLE})")
    parser.add_argument("-i", "--identity", type=Path, required=True, metavar="IDENTITY",
                        help="the staff identity (age key) that opens the dossiers")
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0,
                        help="port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--open", action="store_true", help="open it in the default browser")
    parser.add_argument("--idle-lock", type=float, default=IDLE_LOCK, metavar="SECONDS",
                        help="forget the key and the open dossiers after this long idle "
                             "(default: %(default)g)")
    parser.set_defaults(func=run)


def _temp_root() -> Path | None:
    """The user's own runtime folder (a tmpfs of mode 0700 under systemd), if there is one."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir() and os.access(runtime, os.W_OK):
        return Path(runtime)
    return None


def run(args: argparse.Namespace) -> int:
    if not is_loopback(args.host) or args.host == "localhost":
        raise SetupError("the workspace listens on a loopback address only")
    folder = args.profile or (Path(os.environ[PROFILE_VARIABLE])
                              if os.environ.get(PROFILE_VARIABLE) else None)
    if folder is None:
        raise SetupError(f"--profile DIR is needed (or ${PROFILE_VARIABLE})")
    profile = load_profile(folder)
    try:
        envelope.load_identities(args.identity)
    except DepositError as exc:
        raise SetupError(f"{args.identity}: not a staff identity ({exc})") from None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sock.close()
        raise SetupError(f"cannot listen on {args.host}:{args.port} ({exc.strerror})") from None
    workspace = Workspace(profile, args.identity.resolve(), temp_root=_temp_root(),
                          idle_lock=args.idle_lock)
    workspace.port = sock.getsockname()[1]
    root = logging.getLogger()
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    server = uvicorn.Server(uvicorn.Config(
        workspace.app(), log_config=None, access_log=False, server_header=False,
        lifespan="off", ws="none", proxy_headers=False))
    try:
        print(f"workspace: {workspace.launch_url}", flush=True)
        print(f"profile: {profile.name} on {profile.server}", flush=True)
        if args.open:
            launcher = workspace.cache.folder / "open.html"
            fd = os.open(launcher, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(f'<!doctype html><meta http-equiv="refresh" '
                        f'content="0;url={workspace.launch_url}">')
            webbrowser.open(launcher.as_uri())

        async def lock_when_idle() -> None:
            while True:
                await asyncio.sleep(min(IDLE_CHECK_S, args.idle_lock / 2))
                workspace.expire_idle()

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
            watcher = asyncio.create_task(lock_when_idle())
            try:
                await server.serve(sockets=[sock])
            finally:
                watcher.cancel()

        asyncio.run(main())
    finally:
        workspace.close()
        sock.close()
        print("workspace: stopped; its temporary folder is removed", file=sys.stderr)
    return 0
