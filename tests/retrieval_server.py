"""A local HTTP server for retrieval tests: serves a folder, plus fault paths.

- ``/429once/{n}/{path}``: answers 429 (Retry-After: 0) to the first ``n`` requests, then serves ``path``;
- ``/429always/{path}``: always 429;
- every request is counted in ``server.hits[path]``.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections import Counter


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):  # quiet
        pass

    def _route(self) -> bool:
        srv = self.server
        srv.hits[self.path] += 1
        parts = self.path.lstrip("/").split("/")
        if parts[0] == "429always":
            self._too_many()
            return True
        if parts[0] == "429once":
            n, rest = int(parts[1]), "/".join(parts[2:])
            key = ("429once", rest)
            if srv.hits[key] < n:
                srv.hits[key] += 1
                self._too_many()
                return True
            self.path = "/" + rest
        return False

    def _too_many(self):
        self.send_response(429, "Too Many Requests")
        self.send_header("Retry-After", "0")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        if not self._route():
            super().do_GET()

    def do_HEAD(self):
        if not self._route():
            super().do_HEAD()


class Server:
    def __init__(self, directory: str):
        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=directory))
        self.httpd.hits = Counter()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def hits(self) -> Counter:
        return self.httpd.hits

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
