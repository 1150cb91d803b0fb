"""The ceiling: a bare Falcon "hello" resource on exactly the gunicorn settings of `jobkeeper serve`.

It reuses jobkeeper's own gunicorn application class (one gthread worker, JOBKEEPER_THREADS
threads, the same timeouts and keep-alive) and only replaces what the worker loads: no runtime,
no store, just one resource. Whatever jobkeeper does per request is measured against this.

    python bench/hello.py --port 8001
"""

from __future__ import annotations

import argparse
from typing import Any

import falcon

from jobkeeper.server import EmbeddedServer
from jobkeeper.settings import Settings


class Hello:
    """GET /hello, and /healthz so the bench knows it is up."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"hello": "world"}


def create_app() -> falcon.App[falcon.Request, falcon.Response]:
    app = falcon.App()
    app.add_route("/hello", Hello())
    app.add_route("/healthz", Hello())
    return app


class CeilingServer(EmbeddedServer):  # type: ignore[misc]
    """jobkeeper's gunicorn configuration (load_config is inherited) serving the hello app."""

    def load(self) -> Any:
        return create_app()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = Settings.from_env(port=args.port)
    CeilingServer(settings).run()


if __name__ == "__main__":
    main()
