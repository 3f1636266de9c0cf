"""``backoffice serve --workers N``: N stateless ingest processes behind nginx, one supervisor.

A national fleet's uploads outgrow one process (one event loop, one core). Here
the kiosks' listener is nginx's (it terminates TLS and checks the fleet
certificate, :mod:`backoffice.proxyhop`; its configuration comes from
``backoffice proxy-config``, :mod:`backoffice.proxyconf`), and behind it N
**ingest processes**, each serving tus on its own Unix socket
``SOCKET_DIR/ingest-K.sock``. They keep nothing of an upload in memory between
requests: its state is a row of the metadata store, its bytes a partial object
of the object store (a spool every process of the machine reaches, locked per
upload), so a kiosk whose connection dies with a process resumes on another
(HEAD, then PATCH from the stored offset).

The **supervisor** (the process ``serve`` started, the one systemd watches) serves
the three other listeners itself (status page, administration, staff API) and
runs the periodic work once for the machine (expiry sweep, gauges,
notifications, alert rounds). It starts the N processes, waits until each
answers on its socket before telling systemd READY, starts again one that
ends (after :data:`RESTART_DELAY` seconds, doubled while it keeps ending
within :data:`STEADY_SECONDS`, up to :data:`RESTART_DELAY_MAX`), and on SIGTERM
stops them (SIGTERM, then SIGKILL after the graceful delay). A process whose
supervisor is gone stops by itself (it watches its parent, :data:`ORPHAN_CHECK`).

Metrics of the ingest (counters of bytes and deposits) are kept by each
process and not summed on the supervisor's ``/metrics``: the gauges, read
from the stores, are whole.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from backoffice.app import Backoffice, Listener
from backoffice.errors import SetupError
from backoffice.proxyhop import SOCKET_MODE
from backoffice.server import Service, bind, check_tls_files, run_in_loop, sd_notify
from backoffice.settings import Settings, parse_listen

log = logging.getLogger(__name__)

#: First wait before starting again an ingest process that ended, seconds.
RESTART_DELAY = 1.0
#: Longest such wait: a process that keeps failing (store unreachable) is retried twice a minute.
RESTART_DELAY_MAX = 30.0
#: A process that ran this long before ending is started again after the first delay.
STEADY_SECONDS = 60.0
#: How long the supervisor waits for a new process to answer on its socket, seconds (start-up
#: imports and the schema check take 1-3 s on a Raspberry-Pi-class machine).
READY_TIMEOUT = 60.0
#: How often an ingest process checks that its supervisor is still there, seconds.
ORPHAN_CHECK = 1.0
#: Most ingest processes one supervisor starts: more than the cores of any one machine.
MAX_WORKERS = 64
#: What systemd gives the unit's main process and no child should use.
_SYSTEMD_VARIABLES = frozenset({"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS",
                                "LISTEN_PID", "LISTEN_FDNAMES"})


def socket_path(socket_dir: Path, index: int) -> Path:
    return socket_dir / f"ingest-{index}.sock"


def bind_unix(path: Path) -> socket.socket:
    """A listening Unix socket at ``path`` (a stale one from a crash replaced), mode 0660."""
    # The folder too: nginx's group may enter it, nobody else (a socket's own mode is checked
    # only on connect, and it is 0777 minus the umask between bind and chmod).
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o750)        # explicitly: the service's UMask=0077 would make it 0700
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        path.chmod(SOCKET_MODE)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def answers(path: Path) -> bool:
    """True when something accepts connections on the Unix socket ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


# ---------------------------------------------------------------------- one ingest process
def serve_ingest(settings: Settings, path: Path) -> int:
    """Run one ingest process on the Unix socket ``path`` until SIGTERM or its parent ends."""
    bo = Backoffice.open(settings)
    sock = bind_unix(path)
    service = Service(bo, {Listener.INGEST: sock}, chores=False, behind_proxy=True)
    parent = os.getppid()

    def orphaned() -> None:
        while not service.stopping:
            if os.getppid() != parent:
                log.warning("ingest %s: the supervisor is gone; stopping", path.name)
                service.stop()
                return
            time.sleep(ORPHAN_CHECK)

    threading.Thread(target=orphaned, name="orphan-check", daemon=True).start()
    try:
        run_in_loop(service, lambda: log.info("ingest process on %s", service.url(
            Listener.INGEST)), signals=True)
    finally:
        bo.close()
        sock.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return 0 if service.started else 1


# ---------------------------------------------------------------------- the supervisor
@dataclass
class Worker:
    index: int
    path: Path
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    delay: float = RESTART_DELAY
    restarts: int = 0
    due: float = 0.0           # when to start it again (monotonic), once it ended


class Supervisor:
    """Starts N ingest processes, keeps them running, stops them."""

    def __init__(self, data_dir: Path, socket_dir: Path, count: int,
                 graceful_seconds: float = 10.0) -> None:
        self.data_dir = data_dir
        self.workers = [Worker(i, socket_path(socket_dir, i)) for i in range(count)]
        self.graceful_seconds = graceful_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _spawn(self, worker: Worker) -> None:
        argv = [sys.executable, "-m", "backoffice", "serve", "--data", str(self.data_dir),
                "--ingest-socket", str(worker.path)]
        # systemd's variables stay the supervisor's: only it speaks for the unit.
        env = {k: v for k, v in os.environ.items() if k not in _SYSTEMD_VARIABLES}
        worker.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, env=env)
        worker.started = time.monotonic()
        log.info("ingest process %d started (pid %d) on %s", worker.index, worker.proc.pid,
                 worker.path)

    def start(self) -> None:
        """Start every process and wait until each answers; :class:`SetupError` if one cannot."""
        for worker in self.workers:
            self._spawn(worker)
        deadline = time.monotonic() + READY_TIMEOUT
        for worker in self.workers:
            while not answers(worker.path):
                assert worker.proc is not None
                status = worker.proc.poll()
                if status is not None:
                    self.stop()
                    raise SetupError(f"ingest process {worker.index} ended at start-up "
                                     f"(status {status}); its log says why")
                if time.monotonic() > deadline:
                    self.stop()
                    raise SetupError(f"ingest process {worker.index} did not answer on "
                                     f"{worker.path} within {READY_TIMEOUT:.0f} s")
                time.sleep(0.05)
        self._thread = threading.Thread(target=self._watch, name="ingest-supervisor",
                                        daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            now = time.monotonic()
            for worker in self.workers:
                proc = worker.proc
                if proc is not None:
                    status = proc.poll()
                    if status is None:
                        continue
                    ran = now - worker.started
                    # Doubled only for a process started again that ended again soon.
                    worker.delay = (RESTART_DELAY if ran >= STEADY_SECONDS or not worker.restarts
                                    else min(RESTART_DELAY_MAX, worker.delay * 2))
                    worker.due = now + worker.delay
                    worker.proc = None
                    how = (f"killed by signal {-status}" if status < 0
                           else f"exit status {status}")
                    log.error("ingest process %d (pid %d) ended after %.0f s (%s); starting "
                              "it again in %.0f s", worker.index, proc.pid, ran, how,
                              worker.delay)
                elif now >= worker.due and not self._stop.is_set():
                    worker.restarts += 1
                    self._spawn(worker)

    def stop(self) -> None:
        """SIGTERM to every process, SIGKILL to those still there after the graceful delay."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        running = [w.proc for w in self.workers if w.proc is not None and w.proc.poll() is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.graceful_seconds + 5
        for proc in running:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("ingest process pid %d did not stop; killed", proc.pid)
                proc.kill()
                proc.wait(5)


def serve_workers(settings: Settings, count: int, socket_dir: Path) -> int:
    """The supervisor: ``count`` ingest processes behind nginx, the other listeners here."""
    if not 1 <= count <= MAX_WORKERS:
        raise SetupError(f"--workers {count}: between 1 and {MAX_WORKERS}")
    check_tls_files(settings)
    bo = Backoffice.open(settings)         # migrates the schema once, before the processes
    sockets = {listener: bind(*parse_listen(address)) for listener, address in (
        (Listener.PUBLIC, settings.public_listen), (Listener.ADMIN, settings.admin_listen),
        (Listener.STAFF, settings.staff_listen))}
    supervisor = Supervisor(settings.data_dir, socket_dir, count)
    service = Service(bo, sockets)
    try:
        supervisor.start()

        def ready() -> None:
            for listener in sockets:
                log.info("%s listener on %s", listener.value, service.url(listener))
            log.info("%d ingest processes on %s behind nginx (kiosks connect to nginx on "
                     "%s; backoffice proxy-config prints its configuration)", count,
                     socket_dir, settings.listen)
            sd_notify("READY=1")

        run_in_loop(service, ready, signals=True)
    finally:
        sd_notify("STOPPING=1")
        supervisor.stop()
        bo.close()
        for sock in sockets.values():
            sock.close()
    log.info("stopped")
    return 0 if service.started else 1


def default_socket_dir(settings: Settings) -> Path:
    """Where the ingest sockets go: systemd's RuntimeDirectory when set, else DATA/run."""
    runtime = os.environ.get("RUNTIME_DIRECTORY")
    return Path(runtime.split(":")[0]) if runtime else settings.data_dir / "run"

