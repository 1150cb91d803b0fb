"""Every request gets an id (the client's X-Request-Id when it is usable), a log context,
one access line (method, route template, status, duration, user) and its count and time in
the metrics. Never a raw path, a query string or a header, so no token can reach the log."""

from __future__ import annotations

import logging
import re
import time
import uuid

import falcon

from jobkeeper.observability import logs
from jobkeeper.observability.metrics import HTTP_REQUESTS, HTTP_SECONDS

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
CONVERTER = re.compile(r"\{(\w+):[^{}]*\}")
access = logging.getLogger(logs.ACCESS_LOGGER)


class RequestLog:
    """Falcon middleware; first in the list, so it also sees requests the guard turns away."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Take or make the request id, say it in the answer, and open the log context."""
        given = req.get_header(REQUEST_ID_HEADER)
        request_id = given if given and REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        req.context.request_id = request_id
        req.context.log_started = time.perf_counter()
        resp.set_header(REQUEST_ID_HEADER, request_id)
        fields = {"request_id": request_id, "method": req.method}
        req.context.log_token = logs.context_var.set(fields)

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: object, params: object
    ) -> None:
        """The route is known once the router matched it."""
        logs.bind(route=route_of(req))

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        """Write the access line and close the log context."""
        started = req.context.get("log_started")
        if started is None:  # process_request did not run (the app failed before it)
            return
        status = int(str(resp.status).split(" ", 1)[0])
        duration = round((time.perf_counter() - started) * 1000, 2)
        route = route_of(req)
        user = req.context.get("user")
        logs.bind(status=status, duration_ms=duration, user=user, route=route)
        access.info("%s %s %d %.1f ms", req.method, route, status, duration)
        HTTP_REQUESTS.labels(route, req.method, str(status)).inc()
        HTTP_SECONDS.labels(route, req.method).observe(duration / 1000)
        token = req.context.get("log_token")
        if token is not None:
            logs.context_var.reset(token)


def route_of(req: falcon.Request) -> str:
    """The route the request matched, as the OpenAPI document writes it ("/jobs/{job_id}")."""
    template = req.uri_template
    return CONVERTER.sub(r"{\1}", template) if template else "(no route)"
