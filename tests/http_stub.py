"""One loopback HTTP stub for tests that speak to a real HTTP client (stripe, GitHub REST, sinks).

`serve(Handler)` runs a ThreadingHTTPServer on 127.0.0.1 with an ephemeral port in a daemon
thread and yields its base URL; `reply_json` writes a JSON answer with its length.
"""
from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that does not write an access log line per request to stderr."""

    def log_message(self, *args: Any) -> None:
        pass

    def reply_json(self, status: int, data: Any) -> None:
        reply_json(self, status, data)


def reply_json(handler: BaseHTTPRequestHandler, status: int, data: Any) -> None:
    body = json.dumps(data).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@contextlib.contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
