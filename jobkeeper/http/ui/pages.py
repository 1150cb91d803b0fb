"""The pages: sign-in, jobs (lists, a job, its log), submit, users and tokens, bulk actions.

Each page reads through the same use cases and views as the v1 API and answers HTML whatever
happens: bad input and domain errors become a readable message on the page, with its status.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, cast
from urllib.parse import urlencode

import falcon
from pydantic import BaseModel, ValidationError

from jobkeeper.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidJobError,
    InvalidUserError,
    JobNotFoundError,
    TransitionError,
    UserExistsError,
)
from jobkeeper.domain.lifecycle import COMMANDS, TERMINAL, Status, allowed_commands, phase
from jobkeeper.domain.tokens import CONFIGURED
from jobkeeper.domain.tokens import digest as token_digest
from jobkeeper.domain.tokens import parse as parse_token
from jobkeeper.http.auth import TOKEN
from jobkeeper.http.errors import STATUS_OF
from jobkeeper.http.port import Service
from jobkeeper.http.routing import API_V1
from jobkeeper.http.sessions import MAX_FORM, Session, Sessions, clear_cookie, forbidden, set_cookie
from jobkeeper.http.ui.render import error_page, page
from jobkeeper.http.v1.jobs import job_page
from jobkeeper.http.v1.models import JobListQuery
from jobkeeper.http.v1.representation import (
    JOB_FIELDS,
    history_entry,
    job_from_aggregate,
    job_from_stored,
)
from jobkeeper.http.v1.routes import V1_ROUTES

LIST_STREAM = any(route.path == f"{API_V1}/jobs/stream" for route in V1_ROUTES)
"""Whether the API streams the jobs list (else the list page polls its first page)."""
PAGE_SIZE = 50
LOG_TAIL = 200
HISTORY_PAGE = 50
BULK_LIMIT = 1000
TABS = {"all": "/jobs", "running": "/jobs/running", "finished": "/jobs/finished"}
STATUSES = [status.value for status in Status]
HANDLED = tuple(STATUS_OF)
"""The domain errors a page answers as a readable page, with the API's status and title."""


def viewer(req: falcon.Request) -> Session:
    """The signed-in viewer (the guard lets no signed-out visitor reach a page but sign-in)."""
    session = req.context.session
    if not isinstance(session, Session):
        raise falcon.HTTPSeeOther("/sign-in")
    return session


def form(req: falcon.Request) -> dict[str, Any]:
    """The request's url-encoded form (empty when it has none)."""
    if (req.content_type or "").split(";")[0].strip() != falcon.MEDIA_URLENCODED:
        return {}
    if (req.content_length or 0) > MAX_FORM:
        raise falcon.HTTPContentTooLarge(
            title="Form too large", description=f"a form may hold at most {MAX_FORM} bytes"
        )
    data = req.get_media(default_when_empty={})
    return data if isinstance(data, dict) else {}


def field(data: dict[str, Any], name: str) -> str:
    """One text field of a form ('' when missing; the first when repeated)."""
    value = data.get(name, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def fields(data: dict[str, Any], name: str) -> list[str]:
    """Every value of a repeated form field."""
    value = data.get(name, [])
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, str)]


def may_command(service: Service, user: str, owner: str) -> bool:
    """Whether `user` may stop, resume, cancel or restart a job of `owner`."""
    return user == owner or service.app.is_admin(user)


class Page:
    """A page resource: domain and HTTP errors become a readable page, never JSON or a 500."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def guarded(self, req: falcon.Request, resp: falcon.Response, run: Callable[[], None]) -> None:
        try:
            run()
        except falcon.HTTPStatus:
            raise
        except falcon.HTTPError as error:
            error_page(resp, str(error.status), error.title or "Error", error.description or "")
        except HANDLED as error:
            known = (STATUS_OF[c] for c in type(error).__mro__ if c in STATUS_OF)
            status, title = next(known)
            error_page(resp, status, title, str(error))


class Home:
    """GET /: the jobs page, or the sign-in page for a signed-out visitor."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise falcon.HTTPSeeOther("/jobs/running" if req.context.session else "/sign-in")


class SignIn:
    """GET /sign-in asks for a token; POST /sign-in checks it and opens a session."""

    def __init__(self, service: Service, sessions: Sessions) -> None:
        self.service, self.sessions = service, sessions

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.context.session is not None:
            raise falcon.HTTPSeeOther("/jobs/running")
        page(resp, "sign_in.html", None, error="", signed_out=req.get_param("signed_out") == "1")

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        origin = req.get_header("Origin")
        expected = f"{req.forwarded_scheme}://{req.forwarded_host}"
        if origin is not None and origin != expected:
            raise forbidden(f"the request comes from {origin}, not {expected}")
        token = field(form(req), "token").strip()
        user = self.service.app.authenticate(token) if TOKEN.fullmatch(token) else None
        if user is None:
            message = "That token is wrong or revoked. Paste a token of yours: the first " \
                "start printed the admin's (also in admin-token in the data folder)."
            page(resp, "sign_in.html", None, status=falcon.HTTP_401, error=message,
                 signed_out=False)  # fmt: skip
            return
        _, token_id = parse_token(token) or CONFIGURED
        value = self.sessions.open(user.name, token_id, token_digest(token))
        set_cookie(req, resp, value, int(self.sessions.lifetime))
        raise falcon.HTTPSeeOther("/jobs/running", headers=resp.headers)


class SignOut:
    """POST /sign-out: end the session in this browser."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        clear_cookie(req, resp)
        raise falcon.HTTPSeeOther("/sign-in?signed_out=1", headers=resp.headers)


def list_query(req: falcon.Request) -> tuple[dict[str, Any], JobListQuery]:
    """The filters of a jobs list from its URL (empty fields left out), and their model."""
    params: dict[str, Any] = {}
    statuses = [s for v in req.get_param_as_list("status") or [] for s in v.split(",") if s]
    if statuses:
        params["status"] = statuses
    for name in ("owner", "kind", "q", "cursor"):
        value = (req.get_param(name) or "").strip()
        if value:
            params[name] = value
    try:
        query = JobListQuery.model_validate({**params, "limit": PAGE_SIZE})
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'][:1])}: {item['msg']}" for item in error.errors()
        )
        raise falcon.HTTPBadRequest(title="Invalid filter", description=problems) from None
    return params, query


def filter_link(path: str, params: dict[str, Any], **changes: Any) -> str:
    """The URL of `path` with `params` (and `changes`; None removes one)."""
    merged = {**params, **changes}
    pairs = [(k, v) for k, values in merged.items() if values is not None
             for v in (values if isinstance(values, list) else [values])]  # fmt: skip
    return f"{path}?{urlencode(pairs)}" if pairs else path


class JobsPage(Page):
    """GET /jobs, /jobs/running, /jobs/finished: a filtered, paged, live list."""

    def __init__(self, service: Service, tab: str) -> None:
        super().__init__(service)
        self.tab = tab

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.guarded(req, resp, lambda: self._render(req, resp))

    def _render(self, req: falcon.Request, resp: falcon.Response) -> None:
        session = viewer(req)
        found = (req.get_param("id") or "").strip().lstrip("#")
        if found:
            if not found.isdigit() or not 0 < int(found) < 2**53:
                raise falcon.HTTPBadRequest(
                    title="No such job", description=f"{found!r} is not a job id (a number)"
                )
            self.service.app.check_job_exists(int(found))
            raise falcon.HTTPSeeOther(f"/jobs/{int(found)}")
        params, query = list_query(req)
        listing = job_page(self.service, query, phase=None if self.tab == "all" else self.tab)
        items = cast(list[dict[str, Any]], listing["items"])
        commandable = {
            item["id"]: may_command(self.service, session.user, item["owner"]) for item in items
        }
        base = {k: v for k, v in params.items() if k != "cursor"}
        next_cursor = listing["next_cursor"]
        page(
            resp,
            "jobs.html",
            session,
            tab=self.tab,
            tabs=TABS,
            path=TABS[self.tab],
            params=base,
            statuses=STATUSES,
            selected=set(params.get("status", [])),
            kinds=[kind.name for kind in list(self.service.kinds)],
            items=items,
            commandable=commandable,
            commands=COMMANDS,
            first_page=filter_link(TABS[self.tab], base) if "cursor" in params else None,
            next_page=filter_link(TABS[self.tab], base, cursor=next_cursor)
            if next_cursor
            else None,
            tab_link=lambda tab: filter_link(TABS[tab], base),
            here=filter_link(TABS[self.tab], params),
            list_stream=LIST_STREAM,
            is_admin=self.service.app.is_admin(session.user),
        )


def job_view(job: Any) -> dict[str, Any]:
    """A job for a page: its v1 representation."""
    return job_from_aggregate(job)


class JobPage(Page):
    """GET /jobs/{id}: the job now (live) or as it was after event `version`."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        self.guarded(req, resp, lambda: self._render(req, resp, job_id))

    def _render(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        session = viewer(req)
        app = self.service.app
        latest = app.get_job(job_id, to_change=False)
        version = req.get_param("version")
        job = latest
        if version:
            if not version.isdigit() or not 1 <= int(version) <= latest.version:
                raise falcon.HTTPNotFound(
                    title="No such event",
                    description=f"job {job_id} has events 1 to {latest.version}, not {version!r}",
                )
            if int(version) != latest.version:
                job = app.get_job(job_id, version=int(version), to_change=False)
        before = req.get_param("before")
        if before is not None and (not before.isdigit() or not 1 <= int(before) <= 2**53):
            raise falcon.HTTPBadRequest(
                title="Invalid page", description="before= takes an event number"
            )
        if before is None and job.version != latest.version:
            before = str(job.version + 1)  # the page that holds the chosen event
        history = app.history_page(
            job_id, after=None if before is None else int(before), limit=HISTORY_PAGE,
            descending=True,
        )  # fmt: skip
        lines = self.service.views.log_tail(job_id, LOG_TAIL)
        shown = job_view(job)
        page(
            resp,
            "job.html",
            session,
            job=shown,
            latest_version=latest.version,
            travelling=job.version != latest.version,
            may_command=may_command(self.service, session.user, latest.owner),
            commands=COMMANDS,
            allowed=set(allowed_commands(job.status)),
            history=[history_entry(entry) for entry in history.items],
            older=history.next_after,
            newest_page=before is None,
            travel_link=lambda version: f"/jobs/{job_id}?version={version}",
            lines=lines,
            log_count=latest.log_count,
            log_tail=LOG_TAIL,
            terminal=latest.status in TERMINAL,
            phase=phase(latest.status),
        )


class JobCommandForm(Page):
    """POST /jobs/{id}/command: a command from the job page without scripts (cancel asks first)."""

    def on_post(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        self.guarded(req, resp, lambda: self._command(req, resp, job_id))

    def _command(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        session = viewer(req)
        data = form(req)
        name = field(data, "command")
        if name not in COMMANDS:
            raise falcon.HTTPBadRequest(
                title="Unknown command", description=f"choose one of {', '.join(COMMANDS)}"
            )
        if name == "cancel" and field(data, "confirm") != "yes":
            job = self.service.app.get_job(job_id, to_change=False)
            page(resp, "confirm.html", session, job=job_view(job))
            return
        self.service.app.command(name, job_id, session.user)
        raise falcon.HTTPSeeOther(f"/jobs/{job_id}")


class JobLogText:
    """GET /jobs/{id}/log.txt: the whole log, as text to download."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        try:
            self.service.app.check_job_exists(job_id)
        except JobNotFoundError as error:
            error_page(resp, falcon.HTTP_404, "Job not found", str(error))
            return
        resp.content_type = "text/plain; charset=utf-8"
        resp.downloadable_as = f"job-{job_id}.log"
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.stream = self._lines(job_id)

    def _lines(self, job_id: int) -> Iterator[bytes]:
        after = 0
        while True:
            rows = self.service.views.logs(job_id=job_id, after=after, limit=1000)
            if not rows:
                return
            yield "".join(f"{row['at']} {row['text']}\n" for row in rows).encode()
            after = int(rows[-1]["id"])


class BulkAction(Page):
    """POST /jobs/bulk: one command on the chosen jobs (or all that match a filter)."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.guarded(req, resp, lambda: self._run(req, resp))

    def _run(self, req: falcon.Request, resp: falcon.Response) -> None:
        session = viewer(req)
        data = form(req)
        action = field(data, "action")
        if action not in COMMANDS:
            raise falcon.HTTPBadRequest(
                title="Choose an action", description=f"one of {', '.join(COMMANDS)}"
            )
        tab = field(data, "tab") if field(data, "tab") in TABS else "all"
        if field(data, "all") == "1":
            ids, capped = self._matching(data, tab)
        else:
            chosen = fields(data, "job")
            if not chosen:
                raise falcon.HTTPBadRequest(
                    title="No jobs chosen",
                    description="tick the jobs to act on, or 'all that match'",
                )
            if not all(value.isdigit() and 0 < int(value) < 2**53 for value in chosen):
                raise falcon.HTTPBadRequest(title="Invalid job id", description="ids are numbers")
            ids, capped = sorted({int(v) for v in chosen}, reverse=True)[:BULK_LIMIT], False
        results = [self._one(action, job_id, session.user) for job_id in ids]
        counts: dict[str, int] = {}
        for _, outcome, _ in results:
            counts[outcome] = counts.get(outcome, 0) + 1
        page(resp, "bulk.html", session, action=action, results=results, counts=counts,
             capped=capped, limit=BULK_LIMIT, back=field(data, "back") or "/jobs")  # fmt: skip

    def _matching(self, data: dict[str, Any], tab: str) -> tuple[list[int], bool]:
        params: dict[str, Any] = {}
        statuses = [s for v in fields(data, "status") for s in v.split(",") if s]
        if statuses:
            params["status"] = statuses
        for name in ("owner", "kind", "q"):
            if field(data, name).strip():
                params[name] = field(data, name).strip()
        try:
            query = JobListQuery.model_validate(params)
        except ValidationError:
            raise falcon.HTTPBadRequest(
                title="Invalid filter", description="check the filters"
            ) from None
        statuses_given = None if query.status is None else sorted({s.value for s in query.status})
        rows = self.service.views.stored_jobs(
            ("id",), status=statuses_given, owner=query.owner, kind=query.kind, text=query.q,
            phase=None if tab == "all" else tab, before=None, limit=BULK_LIMIT + 1,
        )  # fmt: skip
        ids = [int(row[0]) for row in rows]
        return ids[:BULK_LIMIT], len(ids) > BULK_LIMIT

    def _one(self, action: str, job_id: int, by: str) -> tuple[int, str, str]:
        try:
            outcome = self.service.app.command(action, job_id, by)
        except ForbiddenError as error:
            return job_id, "forbidden", str(error)
        except TransitionError as error:
            return job_id, "not allowed", str(error)
        except (JobNotFoundError, ConflictError) as error:
            return job_id, "failed", str(error)
        status = outcome.job.status.value
        return job_id, "done", f"now {status}" if outcome.changed else f"already {status}"


LIMITS = (("minimum", "min"), ("maximum", "max"), ("exclusiveMinimum", "min"),
          ("exclusiveMaximum", "max"))  # fmt: skip


def schema_fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The form fields of a params schema: name, input type, default, description and limits."""
    required = set(schema.get("required", []))
    out = []
    for name, spec in schema.get("properties", {}).items():
        kind = spec.get("type")
        if kind is None and "anyOf" in spec:
            kind = next((s.get("type") for s in spec["anyOf"] if s.get("type") != "null"), None)
        branches = [spec, *spec.get("anyOf", [])]
        choices = next((b["enum"] for b in branches if isinstance(b.get("enum"), list)), None)
        limits = {}
        for key, attribute in LIMITS:
            if key in spec:
                limits[attribute] = spec[key]
        if "minLength" in spec:
            limits["minlength"] = spec["minLength"]
        if "maxLength" in spec:
            limits["maxlength"] = spec["maxLength"]
        out.append({
            "name": name, "type": kind or "string", "title": spec.get("title", name),
            "description": spec.get("description", ""), "default": spec.get("default"),
            "required": name in required, "limits": limits,
            "limit_text": _limit_text(spec),
            "choices": [str(c) for c in choices] if choices else None,
        })  # fmt: skip
    return out


def variants(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The choices of a schema made of `oneOf` branches told apart by a discriminator (the
    `command` kind: one branch per allowed command): each one's value, title, description
    and branch schema. An empty list for a plain schema."""
    key = schema.get("discriminator", {}).get("propertyName")
    out = []
    for branch in schema.get("oneOf", []) if key else []:
        value = branch.get("properties", {}).get(key, {}).get("const")
        if isinstance(value, str):
            title, description = branch.get("title", value), branch.get("description", "")
            out.append(
                {"key": key, "value": value, "title": title, "description": description,
                 "schema": branch}
            )  # fmt: skip
    return out


def form_fields(
    schema: dict[str, Any], variant: str
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The fields of the form, and the chosen variant (None for a plain schema or when none
    is chosen yet): a variant's fields leave out its discriminator, which the form sends."""
    choices = variants(schema)
    if not choices:
        return schema_fields(schema), None
    chosen = next((c for c in choices if c["value"] == variant), None)
    if chosen is None:
        return [], None
    specs = [f for f in schema_fields(chosen["schema"]) if f["name"] != chosen["key"]]
    return specs, chosen


def _limit_text(spec: dict[str, Any]) -> str:
    parts = []
    if "exclusiveMinimum" in spec:
        parts.append(f"more than {spec['exclusiveMinimum']}")
    if "minimum" in spec:
        parts.append(f"at least {spec['minimum']}")
    if "maximum" in spec:
        parts.append(f"at most {spec['maximum']}")
    if "exclusiveMaximum" in spec:
        parts.append(f"less than {spec['exclusiveMaximum']}")
    return ", ".join(parts)


def convert(kind: str, raw: str) -> Any:
    """A form value as the schema's type wants it (the kind's model checks it)."""
    if kind == "integer":
        return int(raw)
    if kind == "number":
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value
    if kind == "boolean":
        return raw in ("on", "true", "1", "yes")
    return raw


class SubmitPage(Page):
    """GET /submit: the form of a kind (prefilled from a job with `from`); POST submits it."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.guarded(req, resp, lambda: self._form(req, resp))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.guarded(req, resp, lambda: self._submit(req, resp))

    def _kinds(self) -> list[Any]:
        return list(self.service.kinds)

    def _form(self, req: falcon.Request, resp: falcon.Response) -> None:
        session = viewer(req)
        values: dict[str, Any] = {}
        name = ""
        kind_name = (req.get_param("kind") or "").strip()
        source = (req.get_param("from") or "").strip()
        if source:
            if not source.isdigit() or not 0 < int(source) < 2**53:
                raise falcon.HTTPBadRequest(title="No such job", description="from= takes a job id")
            job = self.service.app.get_job(int(source), to_change=False)
            kind_name, values, name = job.kind, dict(job.params), job.name
        variant = (req.get_param("variant") or "").strip()
        chosen = next((k for k in self._kinds() if k.name == kind_name), None)
        choices = variants(chosen.schema()) if chosen else []
        if choices and variant:
            values[choices[0]["key"]] = variant
        self._render(resp, session, kind_name, values, name, {}, "")

    def _render(
        self,
        resp: falcon.Response,
        session: Session,
        kind_name: str,
        values: dict[str, Any],
        name: str,
        errors: dict[str, str],
        general: str,
        status: str = falcon.HTTP_200,
    ) -> None:
        kinds = self._kinds()
        chosen = next((k for k in kinds if k.name == kind_name), None)
        if kind_name and chosen is None:
            general = general or f"there is no kind {kind_name!r}; choose one of the list"
            status = falcon.HTTP_400
        schema = chosen.schema() if chosen else {}
        choices = variants(schema)
        picked = str(values.get(choices[0]["key"], "")) if choices else ""
        specs, variant = form_fields(schema, picked) if chosen else ([], None)
        if picked and variant is None:
            general = general or f"there is no choice {picked!r}; choose one of the list"
            status = falcon.HTTP_400
        for spec in specs:
            spec["value"] = values.get(spec["name"], spec["default"])
            spec["error"] = errors.get(spec["name"], "")
        page(resp, "submit.html", session, status=status, kinds=kinds, chosen=chosen,
             fields=specs, name=name, errors=errors, general=general, variants=choices,
             variant=variant)  # fmt: skip

    def _submit(self, req: falcon.Request, resp: falcon.Response) -> None:
        session = viewer(req)
        data = form(req)
        kind_name = field(data, "kind")
        name = field(data, "name").strip()
        kinds = {k.name: k for k in self._kinds()}
        chosen = kinds.get(kind_name)
        if chosen is None:
            self._render(resp, session, kind_name, {}, name, {}, "choose a kind", falcon.HTTP_400)
            return
        params: dict[str, Any] = {}
        raw_values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        choices = variants(chosen.schema())
        picked = field(data, "variant") if choices else ""
        specs, variant = form_fields(chosen.schema(), picked)
        if choices:
            if variant is None:
                message = "choose one of the list: " + ", ".join(c["value"] for c in choices)
                self._render(resp, session, kind_name, {}, name, {}, message, falcon.HTTP_400)
                return
            params[variant["key"]] = raw_values[variant["key"]] = variant["value"]
        for spec in specs:
            key = f"p.{spec['name']}"
            raw = field(data, key).strip()
            raw_values[spec["name"]] = raw
            if spec["type"] == "boolean":
                params[spec["name"]] = convert("boolean", raw)
                continue
            if raw == "":
                if spec["required"]:
                    errors[spec["name"]] = "this field is required"
                continue
            try:
                params[spec["name"]] = convert(spec["type"], raw)
            except ValueError:
                errors[spec["name"]] = f"must be {'a whole number' if spec['type'] == 'integer' else 'a number'}"  # noqa: E501
        if not errors and not choices:
            errors = model_errors(chosen.params, params)
        if len(name) > 200:
            errors["name"] = "at most 200 characters"
        if errors:
            self._render(resp, session, kind_name, raw_values, name, errors,
                         "the job was not submitted: fix the fields marked below",
                         falcon.HTTP_400)  # fmt: skip
            return
        try:
            outcome = self.service.app.submit(
                kind=kind_name, params=params, owner=session.user, by=session.user,
                name=name or None,
            )  # fmt: skip
        except InvalidJobError as error:  # what only the kind itself checks (a variant's schema)
            self._render(resp, session, kind_name, raw_values, name, {}, str(error),
                         falcon.HTTP_400)  # fmt: skip
            return
        raise falcon.HTTPSeeOther(f"/jobs/{outcome.job.number}")


def model_errors(model: type[BaseModel], params: dict[str, Any]) -> dict[str, str]:
    """What the kind's model finds wrong in `params`, by field."""
    try:
        model.model_validate(params)
    except ValidationError as error:
        found: dict[str, str] = {}
        for item in error.errors():
            where = str(item["loc"][0]) if item["loc"] else "params"
            found.setdefault(where, item["msg"])
        return found
    return {}


class UsersPage(Page):
    """GET /users lists users; POST /users creates one (admins), showing its first token once."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.guarded(req, resp, lambda: self._render(resp, viewer(req), {}, "", None))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.guarded(req, resp, lambda: self._create(req, resp))

    def _render(
        self,
        resp: falcon.Response,
        session: Session,
        values: dict[str, str],
        error: str,
        created: Any,
        status: str = falcon.HTTP_200,
    ) -> None:
        after = 0
        users: list[Any] = []
        while len(users) < 10_000:
            rows = self.service.views.users(after=after, limit=1000)
            users.extend(rows)
            if len(rows) < 1000:
                break
            after = int(rows[-1]["id"])
        page(resp, "users.html", session, status=status, users=users, values=values, error=error,
             created=created, is_admin=self.service.app.is_admin(session.user))  # fmt: skip

    def _create(self, req: falcon.Request, resp: falcon.Response) -> None:
        session = viewer(req)
        data = form(req)
        values = {key: field(data, key).strip() for key in ("name", "surname", "title", "role")}
        if not self.service.app.is_admin(session.user):
            self._render(resp, session, values, "only an admin may create users", None,
                         falcon.HTTP_403)  # fmt: skip
            return
        try:
            user = self.service.app.create_user(
                name=values["name"], surname=values["surname"][:200], title=values["title"][:200],
                role=values["role"] or "user", by=session.user,
            )  # fmt: skip
            issued = self.service.app.issue_token(user.name, by=session.user, label="first token")
        except (InvalidUserError, UserExistsError) as error:
            status = falcon.HTTP_409 if isinstance(error, UserExistsError) else falcon.HTTP_400
            self._render(resp, session, values, str(error), None, status)
            return
        self.service.views.wait(self.service.app.position())  # the list shows the new user
        self._render(resp, session, {}, "", {"name": user.name, "token": issued.token},
                     falcon.HTTP_201)  # fmt: skip


class UserPage(Page):
    """GET /users/{name}: the user, their last ten jobs, and their tokens (to them or admins)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        self.guarded(req, resp, lambda: self._render(req, resp, name, None))

    def _render(
        self, req: falcon.Request, resp: falcon.Response, name: str, issued: Any,
        status: str = falcon.HTTP_200,
    ) -> None:  # fmt: skip
        session = viewer(req)
        user = self.service.app.get_user(name)
        rows = self.service.views.stored_jobs(JOB_FIELDS, owner=name, limit=10)
        jobs = [job_from_stored(row) for row in rows]
        manages = session.user == name or self.service.app.is_admin(session.user)
        tokens = sorted(user.tokens.items(), key=lambda item: str(item[1]["issued_at"]))
        current = session.token_id if session.user == name else None
        page(resp, "user.html", session, status=status, user=user, jobs=jobs, manages=manages,
             tokens=tokens if manages else [], issued=issued, current_token=current)  # fmt: skip


class TokenIssue(UserPage):
    """POST /users/{name}/tokens: issue a token, shown once on the user's page."""

    def on_post(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        def run() -> None:
            session = viewer(req)
            label = field(form(req), "label").strip()[:200]
            issued = self.service.app.issue_token(name, by=session.user, label=label)
            self._render(req, resp, name, {"token": issued.token, "label": label}, falcon.HTTP_201)

        self.guarded(req, resp, run)


class TokenRevoke(Page):
    """POST /users/{name}/tokens/{token_id}/revoke: revoke one of the user's tokens."""

    def on_post(self, req: falcon.Request, resp: falcon.Response, name: str, token_id: str) -> None:
        def run() -> None:
            session = viewer(req)
            if not self.service.app.revoke_token(name, token_id, by=session.user):
                raise falcon.HTTPNotFound(
                    title="Token not found", description=f"{name} has no token {token_id!r}"
                )
            raise falcon.HTTPSeeOther(f"/users/{name}")

        self.guarded(req, resp, run)


class StaticFile:
    """GET /ui/{asset}: the app's own CSS and scripts, cached for a day."""

    TYPES: ClassVar[dict[str, str]] = {
        ".css": "text/css; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".svg": "image/svg+xml",
    }

    def __init__(self, folder: Any) -> None:
        self.files: dict[str, tuple[str, bytes]] = {}
        for path in folder.iterdir():
            if path.suffix in self.TYPES:
                self.files[path.name] = (self.TYPES[path.suffix], path.read_bytes())

    def on_get(self, req: falcon.Request, resp: falcon.Response, asset: str) -> None:
        found = self.files.get(asset)
        if found is None:
            error_page(resp, falcon.HTTP_404, "Not found", f"there is no file {asset!r}")
            return
        resp.content_type, resp.data = found
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.cache_control = ["public", "max-age=86400"]
