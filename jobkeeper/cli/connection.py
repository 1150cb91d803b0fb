"""Where the server is and which token to send: flags, then the environment, then the profile
that `jobkeeper login` wrote, then a local `jobkeeper serve` with its defaults."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from jobkeeper.cli.exits import USAGE, CliError

DEFAULT_PROFILE = "default"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class Connection:
    """The server's URL and the token for it; `local_admin`: the token is the local admin's."""

    url: str
    token: str
    local_admin: bool = False


def config_path() -> Path:
    """The config file: JOBKEEPER_CONFIG, else config.json in the user's config folder."""
    chosen = os.environ.get("JOBKEEPER_CONFIG")
    if chosen:
        return Path(chosen)
    import click

    return Path(click.get_app_dir("jobkeeper")) / "config.json"


def read_profiles() -> dict[str, dict[str, str]]:
    """The profiles in the config file (none if there is no file)."""
    path = config_path()
    try:
        text = path.read_text()
        document = json.loads(text) if text.strip() else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise CliError(f"cannot read the config file {path}: {error}", USAGE) from None
    profiles = document.get("profiles") if isinstance(document, dict) else None
    return profiles if isinstance(profiles, dict) else {}


def save_profile(name: str, url: str, token: str) -> Path:
    """Keep `url` and `token` under profile `name`, in a file readable by its owner only."""
    profiles = read_profiles()
    profiles[name] = {"url": url, "token": token}
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"profiles": profiles}, file, indent=2)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path


def resolve(url: str | None, token: str | None, profile: str | None) -> Connection:
    """The connection the flags, environment, profile and local defaults give."""
    chosen = profile or os.environ.get("JOBKEEPER_PROFILE")
    profiles = read_profiles()
    if chosen and chosen not in profiles:
        known = ", ".join(sorted(profiles)) or "none yet"
        raise CliError(
            f"no profile {chosen!r} (known: {known}); run: jobkeeper --profile {chosen} login URL",
            USAGE,
        )
    saved = profiles.get(chosen or DEFAULT_PROFILE, {})
    url = url or os.environ.get("JOBKEEPER_URL") or saved.get("url") or local_url()
    url = normal_url(url)
    token = token or os.environ.get("JOBKEEPER_TOKEN")
    if token:
        return Connection(url, token)
    if saved.get("token") and normal_url(saved.get("url", "")) == url:
        return Connection(url, saved["token"])
    local = local_token() if is_local(url) else None
    return Connection(url, local or "", local_admin=bool(local))


def normal_url(url: str) -> str:
    """`url` with a scheme and without a trailing slash; usage error if it is no http URL."""
    if "://" not in url:
        url = f"http://{url}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(f"{url!r} is not a server URL; use http://host:port", USAGE)
    return url.rstrip("/")


def local_url() -> str:
    """Where a local `jobkeeper serve` listens with JOBKEEPER_HOST and JOBKEEPER_PORT."""
    host = os.environ.get("JOBKEEPER_HOST") or "127.0.0.1"
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    port = os.environ.get("JOBKEEPER_PORT") or "8000"
    return f"http://{host}:{port}"


def is_local(url: str) -> bool:
    return urlsplit(url).hostname in LOCAL_HOSTS


def local_token() -> str | None:
    """The local admin's token: JOBKEEPER_ADMIN_TOKEN, else the data folder's admin-token."""
    from jobkeeper.settings import ADMIN_TOKEN_FILE, Settings

    chosen = os.environ.get("JOBKEEPER_ADMIN_TOKEN")
    if chosen:
        return chosen
    data = Path(os.environ.get("JOBKEEPER_DATA") or Settings.data)
    try:
        lines = (data / ADMIN_TOKEN_FILE).read_text().split()
    except OSError:
        return None
    return lines[0] if lines else None
