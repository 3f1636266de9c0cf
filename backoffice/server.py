"""Running the back office: four listeners on uvicorn, one event loop, one process.

Each listener has its own address, TLS and rules (DESIGN.md, "three listeners",
the administration side split in two: monitoring and the staff API):

- **ingest** (``listen``): kiosks only. TLS with the fleet CA's server
  certificate, and a client certificate *required* at the handshake
  (``CERT_REQUIRED``): a connection without a fleet certificate never reaches
  the application.
- **public** (``public_listen``): citizens' browsers. Its own certificate
  chain (``public_cert``), no client certificate ever asked (a browser asked
  for one without a CA list may show a picker or fail), HSTS; plain HTTP only on
  a loopback address behind a reverse proxy (settings refuse anything else).
- **admin** (``admin_listen``): metrics and detailed health, plain HTTP on a
  loopback address (settings refuse anything else).
- **staff** (``staff_listen``): the staff API. The server certificate, and a
  personal client certificate of the *staff* CA required at the handshake;
  each request is then tied to an account (backoffice/staffapi.py).

**Connections are bounded**, and the client certificate read, by
:mod:`backoffice.guarded` (uvicorn's h11 protocol with a header deadline and a
connection cap); ``--workers`` puts nginx in front instead (:mod:`backoffice.workers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import uvicorn
from starlette.concurrency import run_in_threadpool

from backoffice import notifykeys
from backoffice.alerting import AlertRound
from backoffice.app import Backoffice, Listener, create_apps
from backoffice.errors import SetupError
from backoffice.guarded import guarded_protocol
from backoffice.notify import Notifier
from backoffice.proxyhop import FromProxy
from backoffice.settings import Limits, Settings, parse_listen

log = logging.getLogger(__name__)

#: How often the cached gauges (/metrics) and the public health are refreshed, seconds.
#: A scrape every 15 s is Prometheus's usual interval; counting more often buys nothing.
GAUGE_INTERVAL = 15.0
#: How long an ingest process behind nginx keeps an idle connection from it, seconds: longer
#: than nginx's upstream ``keepalive_timeout`` (60 s, its default), so that nginx, not the
#: process, closes an idle one and never sends a request on a connection being closed.
PROXY_KEEPALIVE_SECONDS = 75


class ServiceError(SetupError):
    """A listener could not start or stopped on an error (the message says which and why)."""


def describe(failure: BaseException) -> str:
    """One line for an operator: a missing certificate file says which file."""
    if isinstance(failure, FileNotFoundError) and failure.filename:
        return f"{failure.strerror}: {failure.filename}"
    if isinstance(failure, ssl.SSLError):
        return f"TLS set-up failed ({failure.reason or failure}); check the certificate and key"
    return f"{type(failure).__name__}: {failure}"


def sd_notify(message: str) -> None:
    """Tell systemd (Type=notify) something, if it is listening; a no-op otherwise."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode())


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose
    # protocol says TCP. With 0, every small answer waited for Nagle and the peer's delayed
    # ACK, about 40 ms (measured: GET /staff/v1/me 44 ms, 1.6 ms with it; benchmarks/bench_staff).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def bind_all(settings: Settings) -> dict[Listener, socket.socket]:
    """The listening sockets of ``settings``; each closed again if one fails."""
    out: dict[Listener, socket.socket] = {}
    try:
        for listener, address in ((Listener.INGEST, settings.listen),
                                  (Listener.PUBLIC, settings.public_listen),
                                  (Listener.ADMIN, settings.admin_listen),
                                  (Listener.STAFF, settings.staff_listen)):
            out[listener] = bind(*parse_listen(address))
    except BaseException:
        for sock in out.values():
            sock.close()
        raise
    return out


def check_tls_files(settings: Settings) -> None:
    """:class:`ServiceError` naming the first certificate or key file a listener cannot read."""
    files = [("the kiosks' listener's certificate", settings.server_cert),
             ("the kiosks' listener's key", settings.server_key),
             ("the fleet CA certificate", settings.ca_cert),
             ("the staff CA certificate (backoffice staff add makes it)",
              settings.staff_ca_cert)]
    if settings.public_tls:
        files += [("the status page's certificate chain (public_cert)",
                   settings.public_cert_path),
                  ("the status page's key (public_key)", settings.public_key_path)]
    for what, path in files:
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            raise ServiceError(f"{what} {path} cannot be read ({exc.strerror}); "
                               f"docs/backoffice.md, \"Listeners\"") from None


class BoundedHandshakeLoop(asyncio.SelectorEventLoop):
    """The event loop of the service: TLS servers it creates get a handshake deadline.

    ``create_server``'s ``ssl_handshake_timeout`` is public asyncio API; uvicorn
    calls ``create_server`` without it, so the loop supplies it.
    """

    handshake_timeout: float = Limits.header_timeout

    async def create_server(self, *args: Any, **kwargs: Any) -> asyncio.Server:
        if kwargs.get("ssl") is not None:
            kwargs.setdefault("ssl_handshake_timeout", self.handshake_timeout)
        return await super().create_server(*args, **kwargs)


def run_in_loop(service: Service, on_ready: Callable[[], None] = lambda: None, *,
                signals: bool = False) -> None:
    """Run ``service`` to its end on a :class:`BoundedHandshakeLoop` of its own.

    ``signals``: SIGTERM and SIGINT stop it (only from the main thread).
    """
    timeout = service.bo.settings.limits.header_timeout

    def make_loop() -> asyncio.AbstractEventLoop:
        loop = BoundedHandshakeLoop()
        loop.handshake_timeout = timeout
        return loop

    async def main() -> None:
        if signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, service.stop)
        await service.run(on_ready)

    with asyncio.Runner(loop_factory=make_loop) as runner:
        runner.run(main())


class _Server(uvicorn.Server):
    """One listener's uvicorn server; signals are the :class:`Service`'s, not each server's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Service:
    """The four listeners of one back office, and its periodic work, on one event loop.

    :meth:`run` serves until :meth:`stop` (thread-safe); ``on_ready`` is called
    once all four listen. The expiry sweep, the gauges' refresh, the notifier
    (backoffice/notify.py, when ``[notify]`` is set) and the fleet's alert rounds
    (backoffice/alerting.py) run beside, on worker threads.
    """

    def __init__(self, bo: Backoffice, sockets: Mapping[Listener, socket.socket], *,
                 graceful_seconds: float = 10.0, chores: bool = True,
                 behind_proxy: bool = False) -> None:
        """Serve the listeners of ``sockets`` (all four, or a part of them).

        ``chores``: run the periodic work here (one process of a machine does).
        ``behind_proxy``: the ingest socket is a Unix socket behind nginx, which
        terminates TLS and verifies the kiosk's certificate (:mod:`backoffice.proxyhop`):
        plain HTTP on uvicorn's own h11 protocol, nginx bounding slow and idle clients.
        """
        self.bo = bo
        self.sockets = dict(sockets)
        settings = bo.settings
        if not behind_proxy or set(self.sockets) != {Listener.INGEST}:
            check_tls_files(settings)
        apps = create_apps(bo)
        if behind_proxy:
            apps[Listener.INGEST] = FromProxy(apps[Listener.INGEST])
        protocol = guarded_protocol(settings.limits)
        common: dict[str, Any] = {
            "http": protocol, "ws": "none", "lifespan": "off", "log_config": None,
            "access_log": False, "server_header": False, "proxy_headers": False,
            "timeout_keep_alive": int(max(1, settings.limits.header_timeout)),
            "timeout_graceful_shutdown": graceful_seconds,
        }
        tls: dict[Listener, dict[str, Any]] = {
            # TLS >= 1.2 (Python's default for servers); no fleet certificate, no connection.
            Listener.INGEST: {"ssl_certfile": str(settings.server_cert),
                              "ssl_keyfile": str(settings.server_key),
                              "ssl_ca_certs": str(settings.ca_cert),
                              "ssl_cert_reqs": ssl.CERT_REQUIRED},
            # CERT_NONE: the server never sends a CertificateRequest.
            Listener.PUBLIC: {"ssl_certfile": str(settings.public_cert_path),
                              "ssl_keyfile": str(settings.public_key_path),
                              "ssl_cert_reqs": ssl.CERT_NONE} if settings.public_tls else {},
            Listener.ADMIN: {},
            # The staff API: a personal certificate from the staff CA, or no connection. The
            # account behind it is checked on every request (disabled: refused).
            Listener.STAFF: {"ssl_certfile": str(settings.server_cert),
                             "ssl_keyfile": str(settings.server_key),
                             "ssl_ca_certs": str(settings.staff_ca_cert),
                             "ssl_cert_reqs": ssl.CERT_REQUIRED},
        }
        if behind_proxy:
            # nginx keeps its connections to the processes open (upstream keepalive) and
            # sends whole headers at once: uvicorn's own protocol, no deadline of ours.
            tls[Listener.INGEST] = {"http": "h11",
                                    "timeout_keep_alive": PROXY_KEEPALIVE_SECONDS}
        self.servers = {listener: _Server(uvicorn.Config(apps[listener],
                                                         **{**common, **tls[listener]}))
                        for listener in self.sockets}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self.chores = chores
        self.notifier: Notifier | None = None
        self.alerts: AlertRound | None = None
        if not chores:
            return
        # A data folder made before notifications gets the notifier's key now (logged).
        if notifykeys.ensure(settings, bo.clock()):
            log.warning("this data folder had no notifier key (made before notifications): "
                        "made one; kiosks enrolled before now send no contact until "
                        "enrolled again (backoffice enroll)")
        self.notifier = Notifier.from_settings(settings, bo.metadata, bo.clock)
        self.alerts = AlertRound.from_settings(settings, bo.metadata, bo.clock)

    def address(self, listener: Listener) -> tuple[str, int]:
        host, port = self.sockets[listener].getsockname()[:2]
        return host, port

    def url(self, listener: Listener) -> str:
        if self.sockets[listener].family == socket.AF_UNIX:
            return f"unix:{self.sockets[listener].getsockname()}"
        host, port = self.address(listener)
        shown = f"[{host}]" if ":" in host else host
        scheme = "http" if listener is Listener.ADMIN or (
            listener is Listener.PUBLIC and not self.bo.settings.public_tls) else "https"
        return f"{scheme}://{shown}:{port}"

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def started(self) -> bool:
        return all(server.started for server in self.servers.values())

    async def run(self, on_ready: Callable[[], None] = lambda: None) -> None:
        self._loop = asyncio.get_running_loop()
        serving = [asyncio.create_task(server.serve(sockets=[self.sockets[listener]]))
                   for listener, server in self.servers.items()]
        chores = [asyncio.create_task(self._every(self.bo.sweep_interval, self._sweep)),
                  asyncio.create_task(self._every(GAUGE_INTERVAL, self._refresh))
                  ] if self.chores else []
        if self.notifier is not None:
            chores.append(asyncio.create_task(
                self._every(self.bo.settings.notify.interval_seconds, self._notify)))
        if self.chores and self.bo.settings.fleet.interval_seconds > 0:  # 0: run elsewhere
            chores.append(asyncio.create_task(
                self._every(self.bo.settings.fleet.interval_seconds, self._fleet_alerts)))
        try:
            while not self.started:
                if any(task.done() for task in serving) or self._stopping:
                    break
                await asyncio.sleep(0.02)
            else:
                on_ready()
            # One server ending (a failure at start-up) ends them all.
            await asyncio.wait(serving, return_when=asyncio.FIRST_COMPLETED)
            self._stop_servers()
            outcomes = await asyncio.gather(*serving, return_exceptions=True)
            failures = [(listener, outcome) for listener, outcome
                        in zip(self.servers, outcomes, strict=True)
                        if isinstance(outcome, BaseException)]
            for listener, failure in failures:
                log.error("the %s listener failed: %s", listener.value, describe(failure))
            if failures:
                raise ServiceError("; ".join(f"the {listener.value} listener failed: "
                                             f"{describe(failure)}"
                                             for listener, failure in failures))
        finally:
            for task in chores:
                task.cancel()
            for task in chores:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _every(self, seconds: float, chore: Callable[[], None]) -> None:
        while True:
            try:
                await run_in_threadpool(chore)
            except Exception:  # a chore must survive a store hiccup
                log.exception("periodic %s failed", getattr(chore, "__name__", "chore"))
            await asyncio.sleep(seconds)

    def _sweep(self) -> None:
        self.bo.ingest.sweep_expired()

    def _refresh(self) -> None:
        self.bo.refresh_gauges()

    def _notify(self) -> None:
        if self.notifier is not None:
            self.notifier.run_once()

    def _fleet_alerts(self) -> None:
        if self.alerts is not None:
            self.alerts.run_once()

    def _stop_servers(self) -> None:
        for server in self.servers.values():
            server.should_exit = True

    def stop(self, *, abort_connections: bool = False) -> None:
        """End :meth:`run` (from any thread); ``abort_connections`` drops every connection
        at once, as a crash would, instead of letting requests finish."""
        self._stopping = True
        loop = self._loop
        if loop is None:
            self._stop_servers()
            return

        def now() -> None:
            if abort_connections:
                for server in self.servers.values():
                    for conn in list(server.server_state.connections):
                        transport = getattr(conn, "transport", None)
                        if transport is not None:
                            transport.abort()
            self._stop_servers()

        loop.call_soon_threadsafe(now)


def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT; returns the exit status."""
    check_tls_files(settings)
    bo = Backoffice.open(settings)
    sockets = bind_all(settings)
    service = Service(bo, sockets)

    def ready() -> None:
        for listener in Listener:
            log.info("%s listener on %s", listener.value, service.url(listener))
        log.info("listening on %s (metadata %s, objects %s)", service.url(Listener.INGEST),
                 bo.metadata.describe(), bo.objects.url)
        sd_notify("READY=1")

    try:
        run_in_loop(service, ready, signals=True)
    finally:
        sd_notify("STOPPING=1")
        bo.close()
        for sock in sockets.values():
            sock.close()
    log.info("stopped")
    return 0 if service.started else 1
