"""The Falcon app: media handlers, error handling and every route of the v1 API."""

from __future__ import annotations

import falcon
import orjson

from jobkeeper.http.commands import JobCommand, commands
from jobkeeper.http.errors import add_error_handling
from jobkeeper.http.health import Health
from jobkeeper.http.jobs import JobCollection, JobHistory, JobItem, JobPhaseCollection
from jobkeeper.http.kinds import KindCollection
from jobkeeper.http.logs import JobLogs, LogCollection
from jobkeeper.http.models import MAX_ID
from jobkeeper.http.representation import to_json
from jobkeeper.http.service import Service
from jobkeeper.http.stream import JobStream
from jobkeeper.http.users import UserCollection, UserItem, UserJobs

API = "/api/v1"
JOB = f"{API}/jobs/{{job_id:int(min=1, max={MAX_ID})}}"
"""Every route of one job uses this same converter (Falcon requires it), so ids stay in range."""
USER = f"{API}/users/{{name}}"


def create_app(
    service: Service, *, max_body: int = 1024 * 1024
) -> falcon.App[falcon.Request, falcon.Response]:
    """The WSGI app serving `service`; bodies over `max_body` bytes answer 413."""
    app = falcon.App(media_type=falcon.MEDIA_JSON)
    app.req_options.strip_url_path_trailing_slash = True
    handler = falcon.media.JSONHandler(dumps=to_json, loads=orjson.loads)
    app.req_options.media_handlers.update({falcon.MEDIA_JSON: handler})
    app.resp_options.media_handlers.update({falcon.MEDIA_JSON: handler})
    add_error_handling(app)
    add_routes(app, service, max_body)
    return app


def add_routes(
    app: falcon.App[falcon.Request, falcon.Response], service: Service, max_body: int
) -> None:
    """Mount every resource under /api/v1 (and /healthz at the root)."""
    app.add_route("/healthz", Health())
    app.add_route(f"{API}/jobs", JobCollection(service, max_body))
    app.add_route(f"{API}/jobs/running", JobPhaseCollection(service, "active"))
    app.add_route(f"{API}/jobs/finished", JobPhaseCollection(service, "finished"))
    app.add_route(JOB, JobItem(service))
    for name, command in commands(service).items():
        app.add_route(f"{JOB}/{name}", JobCommand(command))
    app.add_route(f"{JOB}/logs", JobLogs(service))
    app.add_route(f"{JOB}/history", JobHistory(service))
    app.add_route(f"{JOB}/stream", JobStream(service))
    app.add_route(f"{API}/logs", LogCollection(service))
    app.add_route(f"{API}/users", UserCollection(service, max_body))
    app.add_route(USER, UserItem(service))
    app.add_route(f"{USER}/jobs", UserJobs(service))
    app.add_route(f"{API}/kinds", KindCollection(service))
