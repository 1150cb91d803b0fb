"""Web sessions: a signed cookie that names a token, and the CSRF guard of the page's writes.

A session is self-verifying: the cookie holds the user, the id of the token they signed in
with, when it expires and a random nonce, signed with HMAC-SHA256 under a key derived from that
token's recorded digest (and the configured session secret, when one is set). Every process
that reads the event store can check it, so API processes share nothing else (no session
table, no sticky routing), and each check reads the token's record: once the token is revoked
the record is gone and its sessions end at the next request, in every process.

Writes made with a session (not a bearer token) must come from the page: their `Origin` (or,
without one, `Referer`) is this service's, and they carry the session's CSRF token in the
`X-CSRF-Token` header or a `csrf` form field. A forged request fails before its resource runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import falcon

COOKIE = "jobkeeper_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_COOKIE = 600
MAX_FORM = 64 * 1024
"""The largest form the pages take (a job's params, a user, a bulk choice of 1,000 ids)."""

TokenDigest = Callable[[str, str], str | None]
"""The recorded digest of user `name`'s token `token_id`, or None when it is revoked or unknown."""


@dataclass(frozen=True)
class Session:
    """A verified session: who, through which token, until when, and its CSRF token."""

    user: str
    token_id: str
    expires: int
    csrf: str


class Sessions:
    """Opens, reads and checks sessions; `lifetime` in seconds."""

    def __init__(
        self,
        digest_of: TokenDigest,
        *,
        lifetime: float = 12 * 3600,
        secret: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.digest_of, self.lifetime, self.clock = digest_of, lifetime, clock
        self.secret = secret.encode()

    def open(self, user: str, token_id: str, digest: str) -> str:
        """A new session's cookie value, for a token just checked."""
        expires = int(self.clock() + self.lifetime)
        payload = f"{user}|{token_id}|{expires}|{secrets.token_urlsafe(12)}"
        return f"{_b64(payload.encode())}.{_b64(self._mac(digest, payload))}"

    def read(self, req: falcon.Request) -> Session | None:
        """The request's session, if its cookie is genuine, unexpired and its token not revoked."""
        values = req.get_cookie_values(COOKIE) or []
        for value in values[:2]:
            session = self.verify(value)
            if session is not None:
                return session
        return None

    def verify(self, value: str) -> Session | None:
        """The session a cookie value stands for, or None."""
        if len(value) > MAX_COOKIE or value.count(".") != 1:
            return None
        encoded, mac = value.split(".")
        try:
            payload = _unb64(encoded).decode()
            given = _unb64(mac)
        except (ValueError, UnicodeDecodeError):
            return None
        parts = payload.split("|")
        if len(parts) != 4 or not parts[2].isdigit():
            return None
        user, token_id, expires = parts[0], parts[1], int(parts[2])
        if expires <= self.clock():
            return None
        digest = self.digest_of(user, token_id)
        if digest is None or not hmac.compare_digest(self._mac(digest, payload), given):
            return None
        csrf = _b64(self._mac(digest, f"csrf|{payload}"))[:32]
        return Session(user, token_id, expires, csrf)

    def check_write(self, req: falcon.Request, session: Session, *, form: bool = False) -> None:
        """403 unless a state-changing request made with `session` comes from the page; the
        CSRF token may come in a form field when `form` (the app's own form posts: API
        resources read their bodies themselves)."""
        if req.method in SAFE_METHODS:
            return
        origin = req.get_header("Origin") or _origin_of(req.get_header("Referer") or "")
        expected = f"{req.forwarded_scheme}://{req.forwarded_host}"
        if origin != expected:
            where = origin or "an unknown origin"
            raise forbidden(f"the request comes from {where}, not {expected}")
        given = req.get_header(CSRF_HEADER) or (_form_field(req, CSRF_FIELD) if form else None)
        if not given or not hmac.compare_digest(given.encode(), session.csrf.encode()):
            raise forbidden(f"the CSRF token is missing or wrong: send the page's {CSRF_HEADER}")

    def _mac(self, digest: str, payload: str) -> bytes:
        key = hmac.new(self.secret, f"jobkeeper-session|{digest}".encode(), hashlib.sha256)
        return hmac.new(key.digest(), payload.encode(), hashlib.sha256).digest()


def set_cookie(req: falcon.Request, resp: falcon.Response, value: str, max_age: int) -> None:
    """Keep `value` as the session cookie: HttpOnly, SameSite=Strict, Secure over https."""
    resp.set_cookie(
        COOKIE,
        value,
        max_age=max_age,
        path="/",
        secure=req.forwarded_scheme == "https",
        http_only=True,
        same_site="Strict",
    )


def clear_cookie(req: falcon.Request, resp: falcon.Response) -> None:
    """End the session in this browser."""
    resp.unset_cookie(COOKIE, path="/", same_site="Strict")


def forbidden(reason: str) -> falcon.HTTPForbidden:
    """The 403 of a write that did not come from the page."""
    return falcon.HTTPForbidden(
        title="Forbidden", description=f"refused as a possible cross-site request: {reason}"
    )


def _form_field(req: falcon.Request, name: str) -> str | None:
    if (req.content_type or "").split(";")[0].strip() != falcon.MEDIA_URLENCODED:
        return None
    if (req.content_length or 0) > MAX_FORM:
        raise falcon.HTTPContentTooLarge(
            title="Form too large", description=f"a form may hold at most {MAX_FORM} bytes"
        )
    form = req.get_media(default_when_empty={})
    value = form.get(name) if isinstance(form, dict) else None
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
