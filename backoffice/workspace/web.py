"""The workspace's web application, for the staff member's own browser only.

Other people on the same workstation must not reach it, nor web pages the
staff member visits. So:

- it listens on 127.0.0.1 only (``backoffice workspace`` refuses anything else);
- nothing is served without the session cookie, and the session begins only
  at ``/open?token=…`` with the launch secret printed at start (or in a file
  of mode 0600 that ``--open`` hands the browser: a secret in a command line
  would show in ``ps`` to every user);
- the Host header must name 127.0.0.1 or localhost and our port (DNS rebinding);
- every form carries the session's CSRF token, and requests a browser marks as
  coming from another site (``Sec-Fetch-Site``: pages on another port of the
  same machine are "same-site") are refused;
- answers are ``no-store``, framed by no one, under a Content-Security-Policy
  that allows no script at all (the pages have none);
- the staff key is opened with the passphrase at sign-in and dropped, with
  every decrypted page, at sign-out or after :data:`IDLE_LOCK` seconds idle.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from backoffice.errors import StaffToolError
from backoffice.staffclient import Profile, StaffAPIError, StaffClient
from backoffice.status import DossierStatus
from backoffice.workspace import fleetpage
from backoffice.workspace.dossiers import DossierCache, OpenDossier
from backoffice.workspace.texts import (
    ROLE_LABELS,
    STATUS_LABELS,
    in_french,
    status_label,
    when,
    when_day,
)
from deposit import ids

log = logging.getLogger(__name__)

#: Seconds without a request after which the key and the open dossiers are forgotten
#: (ANSSI's recommendations for sensitive sessions: lock after 15 minutes at most).
IDLE_LOCK = 15 * 60
#: Failed sign-ins before a pause, and the pause (seconds): the key file is needed too,
#: so this only slows someone trying passphrases at an unlocked workstation.
MAX_FAILURES = 5
PAUSE = 30
MAX_FORM = 64 * 1024
COOKIE = "workspace"
#: Seconds the inbox filters' values (procedures, kiosks, staff seen) are kept before asking again.
FACETS_TTL = 60.0
#: The most dossiers one batch opens.
MAX_BATCH = 50

INBOX_PARAMS = ("procedure", "status", "kiosk", "assignee", "due_before", "due_after", "sort",
                "order", "page", "per_page")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Resource-Policy": "same-origin",
}


@dataclass
class Session:
    sid: str
    csrf: str
    client: StaffClient | None = None
    me: dict[str, Any] | None = None
    last: float = field(default_factory=time.monotonic)
    failures: int = 0
    paused_until: float = 0.0
    flashes: list[tuple[str, str]] = field(default_factory=list)
    facets: dict[str, Any] | None = None      # the inbox filters' values, and when read
    facets_at: float = 0.0

    def sign_out(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client = None
        self.me = None
        self.facets = None


class Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


class Workspace:
    """One staff member's workspace: their profile, the identity, one browser session."""

    def __init__(self, profile: Profile, identity: Path, *, temp_root: Path | None = None,
                 idle_lock: float = IDLE_LOCK,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.profile = profile
        self.identity = identity
        self.launch_token = secrets.token_urlsafe(32)
        self.port = 0                       # set once bound (backoffice/commands/workspace.py)
        self.session: Session | None = None
        self.cache = DossierCache(identity, temp_root)
        self.idle_lock = idle_lock
        self.clock = clock
        here = Path(__file__).parent
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(here / "templates"), autoescape=True,
            undefined=jinja2.StrictUndefined)
        self.templates.filters["status_label"] = status_label
        self.templates.filters["when"] = when
        self.templates.filters["day"] = when_day
        self.templates.filters["role_label"] = lambda r: ROLE_LABELS.get(r, r)
        self.css = (here / "templates" / "workspace.css").read_bytes()

    @property
    def launch_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/open?token={self.launch_token}"

    def close(self) -> None:
        if self.session is not None:
            self.session.sign_out()
        self.cache.close()

    # ------------------------------------------------------------------ guards
    def _check_host(self, request: Request) -> None:
        host = request.headers.get("host", "")
        if host not in (f"127.0.0.1:{self.port}", f"localhost:{self.port}"):
            raise Refused(Response("wrong host\n", status_code=421, media_type="text/plain"))

    def _session(self, request: Request) -> Session:
        """The session this request belongs to, or :class:`Refused` (host, site, cookie)."""
        self._check_host(request)
        site = request.headers.get("sec-fetch-site")
        if site not in (None, "same-origin", "none"):
            raise Refused(Response("refused: this request came from another site\n",
                                   status_code=403, media_type="text/plain"))
        session = self.session
        cookie = request.cookies.get(COOKIE, "")
        if session is None or not secrets.compare_digest(cookie, session.sid):
            raise Refused(self.page("closed.html", status=403))
        return session

    def expire_idle(self) -> bool:
        """Forget the key and the open dossiers if the session has been idle too long; whether
        it did. Called on every request and, by ``backoffice workspace``, every few seconds, so
        that an unattended workstation does not keep them until someone clicks."""
        session = self.session
        if session is None or session.client is None:
            return False
        idle = self.clock() - session.last
        if idle <= self.idle_lock:
            return False
        session.sign_out()
        self.cache.forget()
        session.flashes.append(("info", "Session verrouillée après inactivité : "
                                        "saisissez de nouveau votre phrase de passe."))
        log.info("workspace locked after %d s idle", int(idle))
        return True

    def _signed_in(self, request: Request) -> tuple[Session, StaffClient]:
        """The session and its signed-in client, or :class:`Refused` (to sign-in when locked)."""
        session = self._session(request)
        self.expire_idle()
        session.last = self.clock()
        if session.client is None:
            raise Refused(RedirectResponse("/signin", status_code=303))
        return session, session.client

    async def _form(self, request: Request, session: Session) -> dict[str, list[str]]:
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_FORM:
                raise Refused(Response("form too large\n", status_code=413))
        form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        token = (form.get("csrf") or [""])[0]
        if not secrets.compare_digest(token, session.csrf):
            raise Refused(Response("refused: the form's token is not this session's; reload "
                                   "the page\n", status_code=403, media_type="text/plain"))
        return form

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        session = self.session
        flashes = list(session.flashes) if session else []
        if session:
            session.flashes.clear()
        body = self.templates.get_template(template).render(
            session=session, me=session.me if session else None, flashes=flashes,
            csrf=session.csrf if session else "", labels=STATUS_LABELS, **context)
        return HTMLResponse(body, status_code=status)

    # ------------------------------------------------------------------ routes
    def app(self) -> Any:
        def wrap(handler: Callable[[Request], Awaitable[Response]]) -> Callable[..., Any]:
            async def endpoint(request: Request) -> Response:
                try:
                    response = await handler(request)
                except Refused as refused:
                    response = refused.response
                for k, v in SECURITY_HEADERS.items():
                    response.headers.setdefault(k, v)
                return response
            return endpoint

        routes = [
            Route("/open", wrap(self.open), methods=["GET"]),
            Route("/", wrap(self.home), methods=["GET"]),
            Route("/workspace.css", wrap(self.stylesheet), methods=["GET"]),
            Route("/signin", wrap(self.signin), methods=["GET", "POST"]),
            Route("/signout", wrap(self.signout), methods=["POST"]),
            Route("/inbox", wrap(self.inbox), methods=["GET"]),
            Route("/fleet", wrap(functools.partial(fleetpage.show, self)), methods=["GET"]),
            Route("/inbox.csv", wrap(self.export), methods=["GET"]),
            Route("/batch", wrap(self.batch), methods=["POST"]),
            Route("/dossiers/{deposit_id}", wrap(self.dossier), methods=["GET"]),
            Route("/dossiers/{deposit_id}/pages/{number:int}", wrap(self.page_image),
                  methods=["GET"]),
            Route("/dossiers/{deposit_id}/dossier.pdf", wrap(self.pdf), methods=["GET"]),
            Route("/dossiers/{deposit_id}/request", wrap(self.request_documents),
                  methods=["POST"]),
            Route("/dossiers/{deposit_id}/requests/{request_id}/withdraw",
                  wrap(self.withdraw_request), methods=["POST"]),
            Route("/dossiers/{deposit_id}/accuse-de-reception.pdf", wrap(self.acknowledgement),
                  methods=["GET"]),
            Route("/dossiers/{deposit_id}/{action}", wrap(self.act), methods=["POST"]),
        ]
        app = Starlette(routes=routes)
        app.router.redirect_slashes = False
        return app

    async def open(self, request: Request) -> Response:
        self._check_host(request)
        token = request.query_params.get("token", "")
        if not secrets.compare_digest(token, self.launch_token):
            return self.page("closed.html", status=403)
        if self.session is not None:
            self.session.sign_out()
            self.cache.forget()
        self.session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        response = RedirectResponse("/signin", status_code=303)
        response.set_cookie(COOKIE, self.session.sid, httponly=True, samesite="strict",
                            path="/")
        return response

    async def stylesheet(self, request: Request) -> Response:
        self._session(request)
        return Response(self.css, media_type="text/css")

    async def home(self, request: Request) -> Response:
        session = self._session(request)
        return RedirectResponse("/inbox" if session.client else "/signin", status_code=303)

    async def signin(self, request: Request) -> Response:
        session = self._session(request)
        if request.method == "GET":
            return self.page("signin.html", profile=self.profile)
        form = await self._form(request, session)
        now = self.clock()
        if now < session.paused_until:
            return self.page("signin.html", status=429, profile=self.profile,
                             error=f"Trop d'essais : réessayez dans "
                                   f"{int(session.paused_until - now) + 1} secondes.")
        passphrase = (form.get("passphrase") or [""])[0].encode()
        try:
            client = StaffClient(self.profile, passphrase)
        except StaffToolError:
            session.failures += 1
            if session.failures >= MAX_FAILURES:
                session.failures = 0
                session.paused_until = now + PAUSE
            log.warning("workspace: a wrong passphrase for %s", self.profile.name)
            return self.page("signin.html", status=401, profile=self.profile,
                             error="Cette phrase de passe n'ouvre pas votre clé.")
        try:
            me = await run_in_threadpool(client.me)
        except StaffAPIError as exc:
            client.close()
            return self.page("signin.html", status=403, profile=self.profile,
                             error=f"Le service refuse la connexion. {in_french(exc)}")
        except StaffToolError as exc:
            client.close()
            return self.page("signin.html", status=502, profile=self.profile,
                             error=f"Le service ne répond pas : {exc}")
        session.failures = 0
        session.client, session.me, session.last = client, me, now
        log.info("workspace: %s signed in", me.get("name"))
        return RedirectResponse("/inbox", status_code=303)

    async def signout(self, request: Request) -> Response:
        session = self._session(request)
        await self._form(request, session)
        session.sign_out()
        self.cache.forget()
        session.flashes.append(("info", "Vous êtes déconnecté·e ; les dossiers ouverts ont été "
                                        "effacés de la mémoire."))
        return RedirectResponse("/signin", status_code=303)

    async def inbox(self, request: Request) -> Response:
        session, client = self._signed_in(request)
        params = {k: request.query_params.get(k, "") for k in INBOX_PARAMS}
        try:
            data = await run_in_threadpool(lambda: client.inbox(**params))
            facets = await run_in_threadpool(self._facets, session, client)
        except StaffAPIError as exc:
            return self.page("inbox.html", status=exc.status, params=params, data=None,
                             facets=None, error=in_french(exc), links={})
        links = {"prev": None, "next": None,
                 "csv": "/inbox.csv?" + urlencode({k: v for k, v in params.items()
                                                   if v and k not in ("page", "per_page")})}
        page = data["page"]
        for name, number in (("prev", page - 1), ("next", page + 1)):
            if 1 <= number <= data["pages"]:
                links[name] = "/inbox?" + urlencode({**{k: v for k, v in params.items() if v},
                                                     "page": number})
        return self.page("inbox.html", params=params, data=data, facets=facets, error=None,
                         links=links)

    def _facets(self, session: Session, client: StaffClient) -> dict[str, Any]:
        """The filters' values, asked again at most every FACETS_TTL seconds: each inbox view
        would otherwise scan the procedures of every dossier for a list that rarely moves."""
        now = self.clock()
        if session.facets is None or now - session.facets_at > FACETS_TTL:
            session.facets, session.facets_at = client.get("/facets"), now
        return session.facets

    async def export(self, request: Request) -> Response:
        _session, client = self._signed_in(request)
        params = {k: request.query_params.get(k, "") for k in INBOX_PARAMS}
        data = await run_in_threadpool(lambda: client.export_csv(**params))
        return Response(data, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="dossiers.csv"'})

    async def batch(self, request: Request) -> Response:
        session, client = self._signed_in(request)
        form = await self._form(request, session)
        ids = form.get("deposit_id", [])[:MAX_BATCH]
        opened, failed = 0, []
        for deposit_id in ids:
            try:
                await run_in_threadpool(self.cache.open, client, deposit_id)
                opened += 1
            except StaffToolError as exc:
                failed.append(f"{deposit_id} : {exc}")
        session.flashes.append(("info", f"{opened} dossier(s) ouvert(s) sur ce poste."))
        session.flashes.extend(("error", f) for f in failed)
        back = (form.get("back") or ["/inbox"])[0]
        return RedirectResponse(back if back.startswith("/inbox") else "/inbox",
                                status_code=303)

    async def dossier(self, request: Request, *, error: str | None = None,
                      form: dict[str, str] | None = None, status: int = 200) -> Response:
        session, client = self._signed_in(request)
        deposit_id = request.path_params["deposit_id"]
        try:
            facts = await run_in_threadpool(client.dossier, deposit_id)
        except StaffAPIError as exc:
            return self.page("error.html", status=exc.status, error=in_french(exc))
        opened, open_error = None, None
        brought: list[tuple[dict[str, Any], OpenDossier | None, str | None]] = []
        if "fetch" in (session.me or {}).get("permissions", []):
            try:
                opened = await run_in_threadpool(self.cache.open, client, facts["deposit_id"],
                                                 facts)
            except StaffToolError as exc:
                open_error = str(exc)
            for complement in facts.get("complements", []):   # documents brought later
                try:
                    brought.append((complement, await run_in_threadpool(
                        self.cache.open_complement, client, facts["deposit_id"], complement),
                        None))
                except StaffToolError as exc:
                    brought.append((complement, None, str(exc)))
        return self.page("dossier.html", status=status, facts=facts, opened=opened,
                         open_error=open_error, brought=brought, error=error,
                         form=form or {})

    async def page_image(self, request: Request) -> Response:
        self._signed_in(request)
        dossier = self.cache.get(request.path_params["deposit_id"])
        number = request.path_params["number"]
        page = next((p for p in dossier.pages if p.number == number), None) if dossier else None
        if page is None:
            return Response("no such page\n", status_code=404, media_type="text/plain")
        return Response(page.data, media_type=page.media_type)

    async def pdf(self, request: Request) -> Response:
        self._signed_in(request)
        dossier = self.cache.get(request.path_params["deposit_id"])
        if dossier is None:
            return Response("this dossier is not open\n", status_code=404)
        return Response(dossier.pdf, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{dossier.deposit_id}.pdf"'})

    async def acknowledgement(self, request: Request) -> Response:
        """The accusé de réception, from the staff API (the server renders it: no decryption)."""
        _session, client = self._signed_in(request)
        deposit_id = ids.canonical(request.path_params["deposit_id"])
        if deposit_id is None:
            return Response("not a deposit number\n", status_code=404, media_type="text/plain")
        try:
            pdf = await run_in_threadpool(client.acknowledgement_pdf, deposit_id)
        except StaffAPIError as exc:
            return self.page("error.html", status=exc.status, error=in_french(exc))
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="accuse-reception-{deposit_id}.pdf"',
            "Cache-Control": "no-store"})

    async def act(self, request: Request) -> Response:
        session, client = self._signed_in(request)
        form = {k: v[0] for k, v in (await self._form(request, session)).items()}
        deposit_id = request.path_params["deposit_id"]
        action = request.path_params["action"]
        try:
            if action == "assign":
                assignee = form.get("assignee", "")
                if assignee == "@me":
                    assignee = (session.me or {}).get("name", "")
                await run_in_threadpool(client.assign, deposit_id, assignee or None)
                done = "Attribution enregistrée."
            elif action == "annotate":
                await run_in_threadpool(client.annotate, deposit_id, form.get("text", ""))
                done = "Annotation enregistrée."
            elif action == "decide":
                result = await run_in_threadpool(
                    client.set_status, deposit_id, form.get("status", ""),
                    form.get("message", ""), form.get("expected") or None)
                label = STATUS_LABELS[DossierStatus(result["status"])]
                done = f"Le dossier est maintenant {label}."
            else:
                return Response("no such action\n", status_code=404)
        except StaffAPIError as exc:
            # What was typed is shown again with the reason: nothing is lost.
            return await self.dossier(request, error=in_french(exc),
                                      form=form | {"action": action}, status=exc.status)
        session.flashes.append(("info", done))
        return RedirectResponse(f"/dossiers/{deposit_id}", status_code=303)

    async def request_documents(self, request: Request) -> Response:
        """The dossier page's request for missing documents: the ticked documents, a
        deadline, a note; refused with the reason in French, what was typed kept."""
        session, client = self._signed_in(request)
        form = await self._form(request, session)
        deposit_id = request.path_params["deposit_id"]
        documents = form.get("documents", [])
        fields = {k: v[0] for k, v in form.items() if k != "documents"}
        try:
            result = await run_in_threadpool(
                client.request_documents, deposit_id, documents, fields.get("deadline", ""),
                fields.get("note", ""), fields.get("expected") or None)
        except StaffAPIError as exc:
            return await self.dossier(request, error=in_french(exc), form=fields | {
                "action": "request", "documents": ",".join(documents)}, status=exc.status)
        session.flashes.append(("info", f"Pièces demandées ({len(result['documents'])}), "
                                        f"à apporter au plus tard le "
                                        f"{when_day(result['deadline'])}."))
        return RedirectResponse(f"/dossiers/{deposit_id}", status_code=303)

    async def withdraw_request(self, request: Request) -> Response:
        session, client = self._signed_in(request)
        await self._form(request, session)
        deposit_id = request.path_params["deposit_id"]
        try:
            await run_in_threadpool(client.withdraw_request, deposit_id,
                                    request.path_params["request_id"])
        except StaffAPIError as exc:
            return await self.dossier(request, error=in_french(exc), status=exc.status)
        session.flashes.append(("info", "Demande de pièces retirée : le dossier est de nouveau "
                                        "en cours d'instruction."))
        return RedirectResponse(f"/dossiers/{deposit_id}", status_code=303)
