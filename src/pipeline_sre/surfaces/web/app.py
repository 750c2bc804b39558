"""The approval console: a server-rendered Starlette app (Jinja2, autoescaped; htmx from a vendored file).

Pages: incidents (filter by environment, state, severity), an incident (triage, diagnosis with redacted
evidence, the plan with the exact call, risk, rollback and verify steps, the policy decision, the
timeline), actions awaiting approval, an action (approve / deny with a comment), the audit log with the
result of `audit verify`, the postmortem, and the dashboard (operating statistics as charts).
`POST /slack/actions` takes Slack's button presses, `POST /github/webhook` GitHub's pull-request reviews.

Every decision goes through `GovernanceService.approve` / `deny` as the signed-in user: the form never
names the approver, so four-eyes, digest binding and expiry are enforced on the server. Every POST needs
the session's CSRF token and a same-origin Origin/Referer; every refusal is audited.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import anyio
import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline_sre.app import github_reviews, operations
from pipeline_sre.app.operating_stats import DEFAULT_WINDOW_DAYS, operating_stats
from pipeline_sre.errors import ConfigError, InvalidInput, NotFound, PipelineSreError
from pipeline_sre.governance.actions import is_action_id
from pipeline_sre.governance.audit import AuditEvent, AuditValue
from pipeline_sre.governance.github_reviews import reviewed_repositories
from pipeline_sre.governance.identity import Principal
from pipeline_sre.governance.policy import PolicyRefusal
from pipeline_sre.governance.service import ALL_STATES, GovernanceService
from pipeline_sre.lifecycle.plans import plan_of
from pipeline_sre.lifecycle.postmortem import build_timeline, write_postmortem
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.console import ConsoleConfig
from pipeline_sre.store import incidents as incidents_mod
from pipeline_sre.store.users import LoginThrottle, SessionInfo, UserStore
from pipeline_sre.surfaces.github.webhook import GitHubWebhook
from pipeline_sre.surfaces.slack.actions import SlackActions, SlackPoster
from pipeline_sre.surfaces.web.auth import (
    SECURE_SESSION_COOKIE,
    SESSION_COOKIE,
    CookieSigner,
    client_address,
    csrf_ok,
    is_loopback_peer,
    is_trusted_proxy,
    sso_user,
)
from pipeline_sre.surfaces.web.dashboard import WINDOWS, dashboard_context
from pipeline_sre.surfaces.web.views import action_context, audit_context, pretty, redact_tree, show

log = logging.getLogger("pipeline_sre.console")
T = TypeVar("T")
HERE = Path(__file__).parent
LOGIN_COOKIE = "psre_login"
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
MAX_COMMENT = 1000
# Postmortems as HTML: raw HTML in the Markdown is escaped, never passed through (html=False).
MARKDOWN = MarkdownIt("commonmark", {"html": False})
TIMELINE_TIMEOUT_S = 8.0
AUDIT_PAGE = 100
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    """Adds CSP and friends to every response; pages are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass
class Ctx:
    """One request as the console sees it."""

    request: Request
    session: SessionInfo | None
    client: str
    cookies: list[tuple[str, str, int]] = field(default_factory=list)  # (name, value, max_age); max_age 0 deletes


class Refused(Exception):
    """A console-level refusal (CSRF, origin, role, login): shown to the user and audited."""

    def __init__(self, rule: str, message: str, status: int = 403, retry_after: int = 0) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.status = status
        self.retry_after = retry_after


class Console:
    def __init__(self, runtime: Runtime, *, insecure_local: bool = False) -> None:
        self.rt = runtime
        self.cfg: ConsoleConfig = runtime.settings.console
        self.insecure_local = insecure_local
        secret = os.environ.get(self.cfg.session_secret_env, "")
        if not secret:
            if not insecure_local:
                raise ConfigError(
                    f"the console needs a session key: set {self.cfg.session_secret_env} "
                    "(console.session_secret_env) to 32+ random characters, or bind to loopback with --insecure-local"
                )
            secret = secrets.token_urlsafe(48)  # this process only: sessions end when it stops
        elif len(secret) < 32:
            raise ConfigError(
                f"the console session key in {self.cfg.session_secret_env} is too short: use 32+ characters"
            )
        if not self.cfg.secure_cookies and not insecure_local:
            raise ConfigError(
                "console.secure_cookies is false: that is allowed only for a loopback console started with "
                "--insecure-local"
            )
        self.signer = CookieSigner(secret)
        self.throttle = LoginThrottle(
            runtime.governance.db, self.cfg.login_max_failures, self.cfg.login_window_minutes * 60.0
        )
        self.ttl = timedelta(minutes=self.cfg.session_ttl_minutes)
        self.cookie_name = SECURE_SESSION_COOKIE if self.cfg.secure_cookies else SESSION_COOKIE
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,  # every template, whatever its extension
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["pretty"] = pretty
        self.env.filters["show"] = show
        self.env.filters["urlq"] = lambda v: quote(str(v), safe="")
        self._gov_lock = threading.Lock()
        self.slack = SlackActions(runtime, self.cfg.slack, console_url=self.cfg.public_url)
        self.poster = SlackPoster(runtime, self.cfg.slack, console_url=self.cfg.public_url)
        self.github = GitHubWebhook(runtime)

    # -- plumbing -----------------------------------------------------------------------------------

    @property
    def gov(self) -> GovernanceService:
        with self._gov_lock:  # the runtime opens the store on first use; do that once
            return self.rt.governance

    @property
    def users(self) -> UserStore:
        return UserStore(self.gov.db)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))

    def audit(
        self, event: str, actor: str, result: str, ctx: Ctx | None, action_id: str | None = None, **detail: AuditValue
    ) -> None:
        extra: dict[str, AuditValue] = {"channel": "web"}
        if ctx is not None:
            extra.update(client=ctx.client, path=ctx.request.url.path[:200], method=ctx.request.method)
        extra.update(detail)
        self.gov.audit.append(
            AuditEvent(
                event,
                actor[:255],
                "web",
                result=result,
                action_id=action_id if action_id and is_action_id(action_id) else None,
                detail=extra,
            )
        )

    def base(self, request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    def render(self, ctx: Ctx, template: str, status: int = 200, **values: Any) -> Response:
        request = ctx.request
        session = ctx.session
        html = self.env.get_template(template).render(
            base=self.base(request),
            user=session,
            csrf=session.csrf_token if session else "",
            mode=self.rt.settings.governance.mode,
            **values,
        )
        return self.finish(ctx, HTMLResponse(html, status))

    def finish(self, ctx: Ctx, response: Response) -> Response:
        for name, value, max_age in ctx.cookies:
            if max_age <= 0:
                response.delete_cookie(name, path="/", secure=self.cfg.secure_cookies, httponly=True, samesite="strict")
            else:
                response.set_cookie(
                    name,
                    value,
                    max_age=max_age,
                    path="/",
                    secure=self.cfg.secure_cookies,
                    httponly=True,
                    samesite="strict",
                )
        return response

    def refusal_page(self, ctx: Ctx, refused: Refused) -> Response:
        if ctx.request.headers.get("hx-request"):
            html = self.env.get_template("_message.html").render(kind="error", message=refused.message)
            return self.finish(
                ctx, HTMLResponse(html, 200, headers={"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"})
            )
        return self.render(
            ctx, "error.html", refused.status, title="Refused", message=refused.message, rule=refused.rule
        )

    # -- identity -----------------------------------------------------------------------------------

    async def identify(self, request: Request) -> Ctx:
        peer = request.client.host if request.client else None
        client = client_address(self.cfg, peer, request.headers.get("x-forwarded-for"))
        ctx = Ctx(request, None, client)
        if not self.cfg.secure_cookies and not is_loopback_peer(peer):
            raise Refused(
                "console.insecure_remote", "this console runs without secure cookies and serves loopback clients only"
            )
        session: SessionInfo | None = None
        token: str | None = None
        raw = request.cookies.get(self.cookie_name)
        if raw:
            token = self.signer.unsign(raw, int(self.ttl.total_seconds()))
            session = await self.run(self.users.session, token) if token else None
        header = self.cfg.trusted_header
        value = request.headers.get(header) if header else None
        if header and value is not None:
            name = sso_user(self.cfg, peer, value)
            if name is None:
                why = "from an untrusted address" if not is_trusted_proxy(self.cfg, peer) else "malformed"
                await self.run(
                    lambda: self.audit(
                        "console.refused", "web:" + client, "sso.untrusted_header", ctx, header=header, why=why
                    )
                )
            elif session is None or session.user != name or session.source != "sso":
                local = await self.run(self.users.get, name)
                role = local.role if local is not None and not local.disabled else self.cfg.sso_default_role
                new_token, _csrf = await self.run(self.users.open_session, name, role, "sso", client, self.ttl)
                session = await self.run(self.users.session, new_token)
                ctx.cookies.append((self.cookie_name, self.signer.sign(new_token), int(self.ttl.total_seconds())))
                await self.run(lambda: self.audit("console.login", name, "ok", ctx, source="sso", role=role))
        ctx.session = session
        return ctx

    def check_origin(self, request: Request) -> None:
        """POSTs must come from the console's own pages (CSRF defence in depth, next to the token)."""
        peer = request.client.host if request.client else None
        if self.cfg.public_url:
            expected = self.cfg.public_url
        else:
            scheme = request.url.scheme
            forwarded = request.headers.get("x-forwarded-proto")
            if forwarded and is_trusted_proxy(self.cfg, peer):
                scheme = forwarded.split(",")[0].strip()
            expected = f"{scheme}://{request.headers.get('host', '')}"
        site = request.headers.get("sec-fetch-site")
        if site and site not in ("same-origin", "none"):
            raise Refused("csrf.cross_site", f"cross-site request refused (Sec-Fetch-Site: {site[:20]})")
        origin = request.headers.get("origin")
        if origin and origin != "null":
            if origin.rstrip("/") != expected:
                raise Refused("csrf.cross_site", "cross-site request refused: the Origin is not this console")
            return
        referer = request.headers.get("referer")
        if referer:
            parts = urlsplit(referer)
            if f"{parts.scheme}://{parts.netloc}" != expected:
                raise Refused("csrf.cross_site", "cross-site request refused: the Referer is not this console")
            return
        raise Refused("csrf.no_origin", "request refused: it carries neither Origin nor Referer")

    async def form_of(self, request: Request) -> FormData:
        try:
            return await request.form(max_files=0, max_fields=20)
        except Exception:
            raise Refused("request.bad_form", "the form could not be read", 400) from None

    async def checked_post(self, ctx: Ctx, *, role: str | None = None) -> FormData:
        """Origin + CSRF token of the session (+ role): the gate of every state-changing request."""
        session = ctx.session
        assert session is not None
        self.check_origin(ctx.request)
        form = await self.form_of(ctx.request)
        given = ctx.request.headers.get("x-csrf-token") or _str(form.get("csrf_token"))
        if not csrf_ok(session.csrf_token, given):
            raise Refused(
                "csrf.invalid", "the form's security token is stale or missing: reload the page and try again"
            )
        if role == "approver" and not session.can_decide:
            raise Refused("console.role", f"{session.user} is a {session.role}: only approvers can approve or deny")
        return form

    def page(
        self, handler: Callable[[Console, Ctx], Awaitable[Response]], *, post: bool = False, role: str | None = None
    ) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler: signed-in user required (else to the login page); POSTs are CSRF-checked."""

        async def endpoint(request: Request) -> Response:
            ctx = Ctx(request, None, request.client.host if request.client else "unknown")
            try:
                ctx = await self.identify(request)
                if ctx.session is None:
                    if post or request.headers.get("hx-request"):
                        raise Refused("auth.required", "your session ended: sign in again", 401)
                    target = request.url.path[len(self.base(request)) :] or "/"
                    if request.url.query:
                        target += "?" + request.url.query
                    return RedirectResponse(f"{self.base(request)}/login?next={quote(target, safe='')}", 303)
                if post:
                    await self.checked_post(ctx, role=role)
                return await handler(self, ctx)
            except Refused as refused:
                actor = ctx.session.user if ctx.session else "web:" + ctx.client
                action_id = request.path_params.get("action_id")
                await self.run(
                    self.audit, "console.refused", actor, refused.rule, ctx, action_id, message=refused.message
                )
                return self.refusal_page(ctx, refused)

        return endpoint

    # -- login --------------------------------------------------------------------------------------

    async def login_page(self, request: Request, message: str | None = None, status: int = 200) -> Response:
        ctx = Ctx(request, None, request.client.host if request.client else "unknown")
        nonce = secrets.token_urlsafe(16)
        ctx.cookies.append((LOGIN_COOKIE, nonce, 1800))
        next_url = _safe_next(request.query_params.get("next") or "/")
        return self.render(
            ctx,
            "login.html",
            status,
            title="Sign in",
            message=message,
            login_token=self.signer.login_token(nonce),
            next_url=next_url,
            sso=bool(self.cfg.trusted_header),
        )

    async def login_get(self, request: Request) -> Response:
        try:
            ctx = await self.identify(request)
        except Refused as refused:
            return self.refusal_page(Ctx(request, None, "unknown"), refused)
        if ctx.session is not None:
            return self.finish(ctx, RedirectResponse(f"{self.base(request)}/incidents", 303))
        return await self.login_page(request)

    async def login_post(self, request: Request) -> Response:
        peer = request.client.host if request.client else None
        client = client_address(self.cfg, peer, request.headers.get("x-forwarded-for"))
        ctx = Ctx(request, None, client)
        name = ""
        try:
            if not self.cfg.secure_cookies and not is_loopback_peer(peer):
                raise Refused("console.insecure_remote", "this console serves loopback clients only")
            self.check_origin(request)
            form = await self.form_of(request)
            name = _str(form.get("username")).strip()[:64]
            password = _str(form.get("password"))
            if not self.signer.check_login_token(_str(form.get("csrf_token")), request.cookies.get(LOGIN_COOKIE)):
                raise Refused(
                    "csrf.invalid", "the sign-in form expired or was not sent by this console: reload it", 403
                )
            wait = await self.run(self.throttle.retry_after, client, name)
            if wait:
                raise Refused("login.rate_limited", f"too many failed sign-ins: try again in {wait} seconds", 429, wait)
            user = await self.run(self.users.authenticate, name, password) if name and password else None
            if user is None:
                await self.run(self.throttle.failed, client, name)
                raise Refused("login.failed", "wrong user name or password", 401)
        except Refused as refused:
            actor = name or ("web:" + client)
            await self.run(self.audit, "console.login", actor, refused.rule, ctx, message=refused.message)
            if refused.rule == "console.insecure_remote":
                return self.refusal_page(ctx, refused)
            response = await self.login_page(request, refused.message, refused.status)
            if refused.retry_after:
                response.headers["Retry-After"] = str(refused.retry_after)
            return response
        await self.run(self.throttle.succeeded, client, user.name)
        token, _csrf = await self.run(self.users.open_session, user.name, user.role, "password", client, self.ttl)
        await self.run(lambda: self.audit("console.login", user.name, "ok", ctx, source="password", role=user.role))
        ctx.cookies.append((self.cookie_name, self.signer.sign(token), int(self.ttl.total_seconds())))
        ctx.cookies.append((LOGIN_COOKIE, "", 0))
        target = _safe_next(_str(form.get("next")) or "/")
        return self.finish(ctx, RedirectResponse(self.base(request) + target, 303))

    async def logout(self, ctx: Ctx) -> Response:
        raw = ctx.request.cookies.get(self.cookie_name)
        token = self.signer.unsign(raw, int(self.ttl.total_seconds())) if raw else None
        if token:
            await self.run(self.users.close_session, token)
        assert ctx.session is not None
        user = ctx.session.user
        await self.run(lambda: self.audit("console.logout", user, "ok", ctx))
        ctx.cookies.append((self.cookie_name, "", 0))
        return self.finish(ctx, RedirectResponse(f"{self.base(ctx.request)}/login", 303))

    # -- pages --------------------------------------------------------------------------------------

    async def incidents(self, ctx: Ctx) -> Response:
        q = ctx.request.query_params
        env = q.get("environment") or None
        state = q.get("state") or None
        severity = q.get("severity") or None
        problems = []
        if env is not None and env not in self.rt.settings.environments:
            problems.append(f"unknown environment {env!r}")
            env = None
        if state is not None and state not in incidents_mod.STATES:
            problems.append(f"unknown state {state!r}")
            state = None
        if severity is not None and severity not in SEVERITIES:
            problems.append(f"unknown severity {severity!r}")
            severity = None
        found = await self.run(lambda: self.rt.incidents.list(state=state, environment=env, limit=200))
        rows = [redact_tree(i.summary(), self.rt.redact) for i in found if severity is None or i.severity == severity]
        pending = await self.run(self.gov.list_pending, None, ("awaiting_approval", "proposed"))
        now = datetime.now(UTC)
        replicas = [
            {"id": r.instance_id, "role": r.role, "age_s": round(r.age_seconds(now)), "cycles": r.cycles}
            for r in await self.run(operations.replicas, self.rt)
        ]
        return self.render(
            ctx,
            "incidents.html",
            title="Incidents",
            incidents=rows,
            problems=problems,
            environments=list(self.rt.settings.environments),
            states=incidents_mod.STATES,
            severities=SEVERITIES,
            selected={"environment": env or "", "state": state or "", "severity": severity or ""},
            pending=[action_context(r, self.rt.redact) for r in pending],
            replicas=replicas,
        )

    async def dashboard(self, ctx: Ctx) -> Response:
        q = ctx.request.query_params
        env = q.get("environment") or None
        days = q.get("days") or str(DEFAULT_WINDOW_DAYS)
        problems = []
        if env is not None and env not in self.rt.settings.environments:
            problems.append(f"unknown environment {env!r}")
            env = None
        if days not in {str(d) for d in WINDOWS}:
            problems.append(f"window {days!r}: choose {', '.join(str(d) for d in WINDOWS)} days")
            days = str(DEFAULT_WINDOW_DAYS)
        stats = await self.run(operating_stats, self.rt, int(days), env)
        return self.render(
            ctx,
            "dashboard.html",
            title="Dashboard",
            problems=problems,
            environments=list(self.rt.settings.environments),
            windows=WINDOWS,
            selected={"environment": env or "", "days": int(days)},
            **dashboard_context(redact_tree(stats.to_dict(), self.rt.redact)),
        )

    async def incident(self, ctx: Ctx, message: str | None = None, kind: str = "", status: int = 200) -> Response:
        incident_id = ctx.request.path_params["incident_id"]
        try:
            inc = await self.run(self.rt.incidents.get, incident_id)
        except NotFound:
            return self.render(ctx, "error.html", 404, title="Not found", message=f"no incident {incident_id}", rule="")
        data = redact_tree(inc.to_dict(), self.rt.redact)
        action = None
        audit: list[dict[str, Any]] = []
        if inc.action_id:
            try:
                record = await self.run(self.gov.get_action, inc.action_id)
                action = action_context(record, self.rt.redact)
                audit = await self.run(self._action_audit, inc.action_id)
            except NotFound:
                action = None
        plan = (action or {}).get("plan") or await self.run(self._runbook_plan, inc)
        decision = (data.get("facts", {}).get("plan") or {}).get("decision") or {}
        timeline = await self._timeline(inc)
        seen = await self.run(operations.seen_before, self.rt, inc)
        return self.render(
            ctx,
            "incident.html",
            status,
            title=f"Incident {inc.id}",
            inc=data,
            action=action,
            plan=plan,
            decision=decision if not action else {},
            timeline=timeline,
            seen=redact_tree(seen, self.rt.redact) if seen else None,
            audit=audit,
            message=message,
            message_kind=kind,
        )

    def _runbook_plan(self, inc: incidents_mod.Incident) -> dict[str, Any]:
        """The runbook's plan for an incident with no action (escalate-only, or refused): what a human does."""
        if not inc.runbook_id:
            return {}
        try:
            return dict(redact_tree(plan_of(self.rt.runbooks.get(inc.runbook_id)), self.rt.redact))
        except PipelineSreError:
            return {}

    async def _timeline(self, inc: incidents_mod.Incident) -> dict[str, Any]:
        """The postmortem timeline (Airflow + audit); only incident steps and the audit if Airflow is slow."""
        note = None
        events: list[dict[str, Any]] = []
        try:
            with anyio.fail_after(TIMELINE_TIMEOUT_S):
                timeline = await build_timeline(self.rt, inc.id)
            events = timeline["events"]
        except (TimeoutError, PipelineSreError) as err:
            note = "Airflow did not answer in time: showing the incident's steps and its audit records only"
            if isinstance(err, PipelineSreError):
                note = (
                    f"Airflow could not be read ({err.code}): showing the incident's steps and its audit records only"
                )
            events = [
                {"at": at, "what": f"incident {state}", "source": "incident"}
                for state, at in inc.steps.items()
                if state != "failed"
            ]
            if inc.action_id:
                for rec in await self.run(self._action_audit, inc.action_id):
                    events.append({"at": rec["ts"], "what": rec["event"], "source": "audit", "actor": rec["actor"]})
            events.sort(key=lambda e: str(e.get("at") or ""))
        return {"events": redact_tree(events, self.rt.redact), "note": note}

    def _action_audit(self, action_id: str) -> list[dict[str, Any]]:
        return [audit_context(r, self.rt.redact) for r in self.gov.audit.records(action_id=action_id)]

    async def actions(self, ctx: Ctx) -> Response:
        q = ctx.request.query_params
        state = q.get("state") or None
        states: tuple[str, ...] = (state,) if state in ALL_STATES else ("proposed", "awaiting_approval", "approved")
        records = await self.run(self.gov.list_pending, None, states)
        return self.render(
            ctx,
            "actions.html",
            title="Actions",
            actions=[action_context(r, self.rt.redact) for r in records],
            states=ALL_STATES,
            selected=state or "",
        )

    async def action_page(self, ctx: Ctx, message: str | None = None, kind: str = "", status: int = 200) -> Response:
        action_id = ctx.request.path_params["action_id"]
        if not is_action_id(action_id):
            return self.render(ctx, "error.html", 404, title="Not found", message="not an action id", rule="")
        try:
            record = await self.run(self.gov.get_action, action_id)
        except NotFound:
            return self.render(ctx, "error.html", 404, title="Not found", message=f"no action {action_id}", rule="")
        incident = await self.run(self.rt.incidents.by_action, action_id)
        audit = await self.run(self._action_audit, action_id)
        return self.render(
            ctx,
            "action.html",
            status,
            title=f"Action {action_id}",
            action=action_context(record, self.rt.redact, reviewed_repositories(self.rt.settings.github)),
            audit=audit,
            incident=redact_tree(incident.summary(), self.rt.redact) if incident else None,
            message=message,
            message_kind=kind,
        )

    async def decide(self, ctx: Ctx, verb: str) -> Response:
        session = ctx.session
        assert session is not None
        action_id = ctx.request.path_params["action_id"]
        form = await self.form_of(ctx.request)  # cached by Starlette: read once in checked_post
        comment = _str(form.get("comment")).strip()[:MAX_COMMENT] or None
        # The approver is the signed-in user, always: nothing in the form can name someone else.
        who = Principal("web", session.user)
        try:
            record = await self.run(
                lambda: operations.decide(self.rt, who, action_id, approve=verb == "approve", comment=comment)
            )
        except PolicyRefusal as err:  # audited by the governance service
            hint = f" To allow: {err.allow_hint}." if err.allow_hint else ""
            status = 200 if ctx.request.headers.get("hx-request") else 409
            return await self.action_page(ctx, f"Refused ({err.rule}): {err.message}.{hint}", "error", status)
        except PipelineSreError as err:
            status = 200 if ctx.request.headers.get("hx-request") else 400
            return await self.action_page(ctx, f"Refused: {err.message}", "error", status)
        done = "Approved" if verb == "approve" else "Denied"
        return await self.action_page(ctx, f"{done} by {session.user}: the action is now {record.state}.", "ok")

    async def approve(self, ctx: Ctx) -> Response:
        return await self.decide(ctx, "approve")

    async def deny(self, ctx: Ctx) -> Response:
        return await self.decide(ctx, "deny")

    async def sync_reviews(self, ctx: Ctx) -> Response:
        """Read the pull request's reviews now (for a console that GitHub's webhook cannot reach)."""
        session = ctx.session
        assert session is not None
        action_id = ctx.request.path_params["action_id"]
        if not is_action_id(action_id):
            return self.render(ctx, "error.html", 404, title="Not found", message="not an action id", rule="")
        try:
            synced = await github_reviews.sync_reviews(self.rt, Principal("web", session.user), action_id)
        except PipelineSreError as err:
            return await self.action_page(ctx, f"Reviews not synced: {err.message}", "error", 200)
        decided = [f"{d['login']}: {d['outcome']} ({d['why']})" for d in synced["decisions"]]
        problems = synced.get("errors") or []
        text = "; ".join([*decided, *problems]) or "No new reviews."
        return await self.action_page(ctx, f"GitHub reviews synced. {text}", "error" if problems else "ok")

    async def audit_page(self, ctx: Ctx) -> Response:
        action_id = ctx.request.query_params.get("action_id") or None
        if action_id is not None and not is_action_id(action_id):
            action_id = None

        def load() -> tuple[dict[str, Any], list[dict[str, Any]]]:
            report = self.gov.audit.verify()
            if action_id:
                recs = list(self.gov.audit.records(action_id=action_id))[-AUDIT_PAGE:]
            else:
                head = self.gov.audit.head().seq
                recs = list(self.gov.audit.records(after_seq=max(0, head - AUDIT_PAGE)))
            return report.to_dict(), [audit_context(r, self.rt.redact) for r in reversed(recs)]

        report, records = await self.run(load)
        return self.render(
            ctx, "audit.html", title="Audit log", report=report, records=records, action_id=action_id or ""
        )

    def _postmortem_text(self, inc: incidents_mod.Incident) -> str | None:
        if not inc.postmortem_path:
            return None
        folder = (self.rt.settings.resolved_data_dir() / "postmortems").resolve()
        path = Path(inc.postmortem_path).resolve()
        if folder not in path.parents or not path.is_file():
            return None
        return self.rt.new_redactor().redact(path.read_text(encoding="utf-8", errors="replace")[:200_000])

    async def postmortem(self, ctx: Ctx, message: str | None = None, kind: str = "") -> Response:
        incident_id = ctx.request.path_params["incident_id"]
        try:
            inc = await self.run(self.rt.incidents.get, incident_id)
        except NotFound:
            return self.render(ctx, "error.html", 404, title="Not found", message=f"no incident {incident_id}", rule="")
        text = await self.run(self._postmortem_text, inc)
        return self.render(
            ctx,
            "postmortem.html",
            title=f"Postmortem {inc.id}",
            inc=redact_tree(inc.summary(), self.rt.redact),
            text=text,
            html=Markup(MARKDOWN.render(text)) if text else None,
            message=message,
            message_kind=kind,
        )

    async def postmortem_write(self, ctx: Ctx) -> Response:
        incident_id = ctx.request.path_params["incident_id"]
        try:
            written = await write_postmortem(self.rt, incident_id)
        except PipelineSreError as err:
            return await self.postmortem(ctx, f"Could not write the postmortem: {err.message}", "error")
        return await self.postmortem(ctx, f"Written ({written['bytes']} bytes).", "ok")

    async def close_incident(self, ctx: Ctx) -> Response:
        session = ctx.session
        assert session is not None
        form = await self.form_of(ctx.request)
        reason = _str(form.get("reason")).strip()[:MAX_COMMENT]
        try:
            await operations.close(
                self.rt, Principal("web", session.user), ctx.request.path_params["incident_id"], reason
            )
        except PipelineSreError as err:
            return await self.incident(ctx, f"Not closed: {err.message}", "error", 400)
        return await self.incident(ctx, f"Closed by {session.user}.", "ok")

    async def home(self, ctx: Ctx) -> Response:
        return self.finish(ctx, RedirectResponse(f"{self.base(ctx.request)}/incidents", 303))

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def slack_actions(self, request: Request) -> Response:
        return await self.slack(request)

    async def github_webhook(self, request: Request) -> Response:
        return await self.github(request)

    # -- assembly -----------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        p = self.page
        return [
            Route("/", p(Console.home)),
            Route("/login", self.login_get, methods=["GET"]),
            Route("/login", self.login_post, methods=["POST"]),
            Route("/logout", p(Console.logout, post=True), methods=["POST"]),
            Route("/incidents", p(Console.incidents)),
            Route("/dashboard", p(Console.dashboard)),
            Route("/incidents/{incident_id}", p(Console.incident)),
            Route("/incidents/{incident_id}/postmortem", p(Console.postmortem), methods=["GET"]),
            Route(
                "/incidents/{incident_id}/postmortem",
                p(Console.postmortem_write, post=True, role="approver"),
                methods=["POST"],
            ),
            Route(
                "/incidents/{incident_id}/close",
                p(Console.close_incident, post=True, role="approver"),
                methods=["POST"],
            ),
            Route("/actions", p(Console.actions)),
            Route("/actions/{action_id}", p(Console.action_page)),
            Route("/actions/{action_id}/approve", p(Console.approve, post=True, role="approver"), methods=["POST"]),
            Route("/actions/{action_id}/deny", p(Console.deny, post=True, role="approver"), methods=["POST"]),
            Route("/actions/{action_id}/sync-reviews", p(Console.sync_reviews, post=True), methods=["POST"]),
            Route("/audit", p(Console.audit_page)),
            Route("/healthz", self.healthz),
            Route("/slack/actions", self.slack_actions, methods=["POST"]),
            Route("/github/webhook", self.github_webhook, methods=["POST"]),
            Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
        ]

    @asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        await self.run(lambda: self.gov)  # open the store (and run migrations) before the first request
        async with anyio.create_task_group() as tg:
            if self.poster.enabled:
                tg.start_soon(self.poster.run_forever)
            yield
            tg.cancel_scope.cancel()


def console_app(runtime: Runtime, *, insecure_local: bool = False) -> Starlette:
    """The console as a Starlette app (mount it anywhere; links follow the mount's root path)."""
    console = Console(runtime, insecure_local=insecure_local)
    app = Starlette(routes=console.routes(), lifespan=console.lifespan)
    app.add_middleware(SecurityHeaders)
    app.state.console = console
    return app


class _WithConsole:
    """Serves `/console/...` from the console and everything else from the wrapped app (the MCP endpoint,
    with its own bearer auth). The console's lifespan runs around the wrapped app's."""

    def __init__(self, inner: ASGIApp, console: Starlette, prefix: str) -> None:
        self.inner = inner
        self.console = console
        self.prefix = prefix
        self.mounted = Starlette(routes=[Mount(prefix, app=console)])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            async with self.console.router.lifespan_context(self.console):
                await self.inner(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and (path == self.prefix or path.startswith(self.prefix + "/")):
            await self.mounted(scope, receive, send)
            return
        await self.inner(scope, receive, send)


def mount_console(app: ASGIApp, runtime: Runtime, *, insecure_local: bool = False, prefix: str = "/console") -> ASGIApp:
    """`app` plus the console under `prefix` (e.g. the MCP streamable-HTTP app, after its BearerAuth)."""
    if not prefix.startswith("/") or prefix.endswith("/"):
        raise InvalidInput("the console prefix must start with '/' and not end with one, e.g. /console")
    return _WithConsole(app, console_app(runtime, insecure_local=insecure_local), prefix)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _safe_next(target: str) -> str:
    """Only a path inside the console: no scheme, no host, no `//` (open redirects)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or any(c < " " for c in target):
        return "/incidents"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.startswith("/login"):
        return "/incidents"
    return target
