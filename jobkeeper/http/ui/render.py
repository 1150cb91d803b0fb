"""Rendering pages: Jinja2 templates shipped with the package, every value escaped, and the
security headers every page carries."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import falcon
import jinja2

from jobkeeper.http.sessions import Session

HERE = Path(__file__).parent
STATIC = HERE / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _pretty(value: Any) -> str:
    """A JSON value as indented text (shown escaped, inside <pre>)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _percent(progress: Any) -> str:
    try:
        return f"{float(progress) * 100:.0f}%"
    except (TypeError, ValueError):
        return "0%"


def _utc(moment: Any) -> str:
    """An ISO time as readable UTC text."""
    if not moment:
        return ""
    try:
        parsed = datetime.fromisoformat(str(moment))
    except ValueError:
        return str(moment)
    return parsed.strftime("%Y-%m-%d %H:%M:%S UTC")


ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(pretty=_pretty, percent=_percent, utc=_utc)
ENV.globals["asset_version"] = "1"


def page(
    resp: falcon.Response,
    template: str,
    session: Session | None,
    *,
    status: str = falcon.HTTP_200,
    **context: Any,
) -> None:
    """Answer with the rendered `template`; `session` is the viewer's (None: signed out)."""
    resp.status = status
    resp.content_type = falcon.MEDIA_HTML
    resp.set_headers(SECURITY_HEADERS)
    resp.cache_control = ["no-store"]
    user = session.user if session is not None else None
    csrf = session.csrf if session is not None else ""
    resp.text = ENV.get_template(template).render(viewer=user, csrf=csrf, **context)


def error_page(resp: falcon.Response, status: str, title: str, description: str) -> None:
    """A readable page for an error, never JSON."""
    page(resp, "error.html", None, status=status, title=title, description=description)


class SecurityHeaders:
    """Falcon middleware: nosniff on every answer, and the pages' policy on every page (the
    API docs page keeps its own, as Swagger UI starts from an inline script)."""

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, succeeded: bool
    ) -> None:
        resp.set_header("X-Content-Type-Options", "nosniff")
        if not req.path.startswith("/docs"):
            resp.set_header("Content-Security-Policy", CSP)
            resp.set_header("X-Frame-Options", "DENY")


def wants_page(req: falcon.Request) -> bool:
    """Whether an error answers a page (HTML) rather than the API (JSON): a browser asking for
    HTML anywhere but the API's own paths."""
    if req.path.startswith(("/api/", "/healthz", "/openapi.json", "/docs")):
        return False
    return "text/html" in (req.get_header("Accept") or "")
