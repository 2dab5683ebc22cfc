"""A tiny threaded HTTP server on 127.0.0.1 for the offline demo and the tests.

Routes map a path (with query) to a `Reply` or to a function of the request that returns one. A route may also
be keyed "/<host><path>" to answer only requests whose Host header names that host.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0           # wait before answering
    drip_s: float | None = None    # send the body one byte per drip_s seconds


Route = Reply | Callable[["RequestInfo"], Reply]


@dataclass
class RequestInfo:
    path: str
    headers: dict[str, str]
    count: int  # how many times this path was requested, this one included
    method: str = "GET"
    body: bytes = b""


class LocalServer:
    """Serve `routes` on 127.0.0.1:<free port> in a thread. Use as a context manager."""

    def __init__(self, routes: dict[str, Route] | None = None, port: int = 0):
        """`port`: the port to listen on if it is free, else any free one (0: any)."""
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[RequestInfo] = []
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self._body = self.rfile.read(length) if length else b""
                self.do_GET()

            def do_GET(self):
                with server._lock:
                    server._counts[self.path] = server._counts.get(self.path, 0) + 1
                    info = RequestInfo(self.path, {k.lower(): v for k, v in self.headers.items()}, server._counts[self.path],
                                       self.command, getattr(self, "_body", b""))
                    server.requests.append(info)
                host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
                # "/<host>/<path>" routes let one server play many outlets (names resolved to 127.0.0.1)
                route = server.routes.get(self.path) or server.routes.get(f"/{host}{self.path}")
                reply = route(info) if callable(route) else route
                if reply is None:
                    reply = Reply(404, b"not found", {"Content-Type": "text/plain"})
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Length": str(len(reply.body)), **reply.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    if reply.drip_s:
                        for i in range(len(reply.body)):
                            self.wfile.write(reply.body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(reply.drip_s)
                    else:
                        self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):  # a client that hung up on purpose (size caps, timeouts)
                pass

        try:
            self._httpd = Server(("127.0.0.1", port), Handler)
        except OSError:  # taken: any free port
            self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        # a short poll interval: shutdown() waits for the next poll, and tests start and stop many servers
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> int:
        return self._counts.get(path, 0)

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
