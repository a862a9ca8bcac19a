"""Real local receivers for notification tests: an SMTP server and an HTTP/JSON endpoint.

Both listen on 127.0.0.1 on a free port, keep what they receive, and can be switched "down"
(SMTP answers 451, HTTP answers 500) to exercise retries and fallback.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ReceivedMail:
    """One accepted email: envelope and parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["subject"])

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain", "html")).get_content()


@dataclass
class SmtpReceiver:
    """aiosmtpd handler that collects messages; `down=True` makes it refuse them with 451."""

    host: str = "127.0.0.1"
    port: int = 0
    down: bool = False
    messages: list[ReceivedMail] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.down:
            return "451 4.3.0 receiver is down"
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


@dataclass
class ReceivedPost:
    """One HTTP request the receiver accepted."""

    path: str
    headers: dict[str, str]
    payload: dict[str, Any]


class HttpReceiver:
    """A threaded HTTP server collecting JSON POSTs; `down=True` makes it answer 500.

    `fail_after(n)` accepts n more requests and then goes down, to break a message midway.
    `on_request` (if set) is called with the request before it is answered.
    """

    def __init__(self) -> None:
        self.posts: list[ReceivedPost] = []
        self.requests = 0
        self.down = False
        self._budget: int | None = None
        self.on_request: Callable[[ReceivedPost], None] | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str = "/sms", scheme: str = "json") -> str:
        """An Apprise URL pointing at this receiver."""
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def fail_after(self, accepted: int) -> None:
        self._budget = accepted

    def start(self) -> HttpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _accepts(self) -> bool:
        if self.down:
            return False
        if self._budget is not None:
            if self._budget == 0:
                return False
            self._budget -= 1
        return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.requests += 1
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                if not receiver._accepts():
                    self.send_response(500)
                    self.end_headers()
                    return
                content_type = self.headers.get("Content-Type", "")
                payload = json.loads(raw) if "json" in content_type else {"raw": raw.decode()}
                post = ReceivedPost(self.path, dict(self.headers), payload)
                if receiver.on_request is not None:
                    receiver.on_request(post)
                receiver.posts.append(post)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def smtp_server() -> Iterator[SmtpReceiver]:
    """A real SMTP server on 127.0.0.1 that collects messages."""
    receiver = SmtpReceiver(port=free_port())
    controller = Controller(receiver, hostname=receiver.host, port=receiver.port)
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    """A real HTTP server on 127.0.0.1 that collects JSON POSTs."""
    receiver = HttpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
