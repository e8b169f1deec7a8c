"""What both emulators share: an HTTP(S) server, routing, the request log and fault injection.

Control endpoints, on every emulator:
- `GET /_emulator/requests`: the requests served, in order: method, path, query, status, whether an
  Authorization header was sent, and whether an injected fault answered (`fault`). `DELETE` clears the log.
- `POST /_emulator/faults`: inject faults (one object or a list) for requests matching `method` (or `*`) and
  the regular expression `path` (searched in the raw, still-encoded path), `times` times (default 1, -1 for
  ever), after letting `skip` matching requests through. A fault is one of:
  `{"status", "headers", "body"}` answered instead of the real response; `{"delay": seconds}` before the
  real response (combinable with a status); `{"action": "drop"}` closes the connection unanswered;
  `{"action": "drop_after"}` does the work, then closes unanswered (a lost response); `{"action":
  "truncate"}` sends the headers and half the body, then closes; `{"action": "html"}` answers 200 with an
  HTML error page. `DELETE /_emulator/faults` removes them all.
- `PUT /_emulator/seed?base=DIR`: replace the emulator's world with the JSON seed in the body (file paths
  relative to DIR). `GET /_emulator/health`: 200 when serving.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qs, urlsplit

CONTROL_PREFIX = "/_emulator/"
HTML_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>Error - Zoom</title></head><body>"
    b"<p>Only the host can download this recording. Please sign in.</p></body></html>"
)


@dataclass
class Request:
    method: str
    raw_path: str  # still percent-encoded, as sent: double encoding must stay visible
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str  # scheme://host:port the client used

    @property
    def bearer(self) -> str:
        """The token of an `Authorization: Bearer` header (the scheme in any case), else ""."""
        header = self.headers.get("authorization", "")
        return header[7:] if header.lower().startswith("bearer ") else ""

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """The body as JSON; None when it is not JSON, or holds a string that is not Unicode text (a lone
        surrogate escape such as `\\udcc3`: RFC 8259 leaves its meaning unpredictable, a service may refuse it or
        store U+FFFD; the emulators refuse it, so that a client sending one finds out)."""
        try:
            value = json.loads(self.body or b"null")
            json.dumps(value, ensure_ascii=False).encode()
        except ValueError:  # UnicodeEncodeError is one
            return None
        return value


@dataclass
class Response:
    status: int
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None  # for a streamed body

    @classmethod
    def json(cls, status: int, value: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(value).encode(), {"Content-Type": "application/json", **(headers or {})})


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    times: int = 1
    skip: int = 0
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    action: str = ""

    @classmethod
    def parse(cls, spec: dict[str, Any]) -> Fault:
        action = str(spec.get("action", ""))
        if int(spec.get("times", 1)) == 0 or int(spec.get("times", 1)) < -1:
            raise ValueError("times must be a positive count, or -1 for ever")
        if action not in ("", "drop", "drop_after", "truncate", "html"):
            raise ValueError(f"unknown fault action {action!r}")
        return cls(
            method=str(spec.get("method", "*")).upper(),
            path=re.compile(str(spec.get("path", ".*"))),
            times=int(spec.get("times", 1)),
            skip=int(spec.get("skip", 0)),
            status=int(spec["status"]) if spec.get("status") is not None else None,
            headers={str(k): str(v) for k, v in (spec.get("headers") or {}).items()},
            body=spec.get("body"),
            delay=float(spec.get("delay", 0)),
            action=action,
        )

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and bool(self.path.search(path))


Handler = Callable[..., Response]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]  # matched against the whole raw path; its groups are the handler's arguments
    handler: Handler
    category: str = ""  # the rate-limit category the service counts the route in (Zoom's), or none


def route(method: str, pattern: str, *, category: str = "") -> Callable[[H], H]:
    """Declare, next to its handler, that it answers `method` on the paths `pattern` matches whole.

    One handler may carry several routes; an `Emulator` subclass collects the routes of every method it has,
    its mixins' included (`Emulator.routes`).
    """

    def declare(handler: H) -> H:
        handler.__dict__.setdefault(ROUTES_ATTRIBUTE, []).append((method, pattern, category))
        return handler

    return declare


ROUTES_ATTRIBUTE = "_emulator_routes"


class Emulator:
    """Base class: subclasses declare their handlers with `@route` and implement `load` (the seed)."""

    name = "emulator"
    routes: ClassVar[tuple[Route, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.routes = tuple(
            Route(method, re.compile(pattern), handler, category)
            for klass in reversed(cls.__mro__)
            for handler in vars(klass).values()
            for method, pattern, category in getattr(handler, ROUTES_ATTRIBUTE, ())
        )

    def __init__(self, seed: dict[str, Any], base_dir: Path):
        self.lock = threading.RLock()
        self.log: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.load(seed, base_dir)

    # --- to be provided by each emulator ------------------------------------------------------------

    tokens: dict[str, float]  # access token -> when it expires (time.time()); `load` empties it

    def load(self, seed: dict[str, Any], base_dir: Path) -> None:
        raise NotImplementedError

    # --- access tokens ------------------------------------------------------------------------------

    def issue_token(self, ttl: float) -> str:
        """A new opaque access token, valid for `ttl` seconds."""
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = time.time() + ttl
        return token

    def bearer_valid(self, request: Request) -> bool:
        """Whether the request's bearer token is one this emulator issued and it has not expired."""
        with self.lock:
            expiry = self.tokens.get(request.bearer)
        return expiry is not None and expiry >= time.time()

    # --- dispatch -----------------------------------------------------------------------------------

    def route(self, request: Request) -> tuple[Route, tuple[str, ...]] | None:
        """The first route the request matches, with the path's captured arguments."""
        path = urlsplit(request.raw_path).path
        for declared in self.routes:
            if declared.method == request.method and (match := declared.pattern.fullmatch(path)):
                return declared, match.groups()
        return None

    def dispatch(self, request: Request) -> Response:
        found = self.route(request)
        if found is None:
            return self.not_found(request)
        declared, args = found
        return declared.handler(self, request, *args)

    def not_found(self, request: Request) -> Response:
        return Response.json(404, {"error": f"no such endpoint: {request.method} {urlsplit(request.raw_path).path}"})

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    if fault.times > 0:
                        fault.times -= 1
                        if fault.times == 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def record(self, request: Request, status: int, fault: bool = False) -> None:
        with self.lock:
            self.log.append(
                {
                    "method": request.method,
                    "path": urlsplit(request.raw_path).path,
                    "query": urlsplit(request.raw_path).query,
                    "status": status,
                    "authorization": "authorization" in request.headers,
                    "fault": fault,
                    "time": time.time(),
                }
            )

    def control(self, request: Request, base_dir: Path) -> Response:
        action = request.raw_path[len(CONTROL_PREFIX) :].split("?")[0]
        if action == "health":
            return Response.json(200, {"status": "ok", "emulator": self.name})
        if action == "requests" and request.method == "GET":
            with self.lock:
                return Response.json(200, list(self.log))
        if action == "requests" and request.method == "DELETE":
            with self.lock:
                self.log.clear()
            return Response(204)
        if action == "faults" and request.method == "POST":
            specs = request.json()
            try:
                faults = [Fault.parse(s) for s in (specs if isinstance(specs, list) else [specs])]
            except (ValueError, KeyError, TypeError, re.error) as error:
                return Response.json(400, {"error": str(error)})
            with self.lock:
                self.faults.extend(faults)
            return Response.json(201, {"faults": len(self.faults)})
        if action == "faults" and request.method == "DELETE":
            with self.lock:
                self.faults.clear()
            return Response(204)
        if action == "seed" and request.method == "PUT":
            seed = request.json()
            if not isinstance(seed, dict):
                return Response.json(400, {"error": "the seed must be a JSON object"})
            with self.lock:
                self.load(seed, Path(request.arg("base")) if request.arg("base") else base_dir)
                self.log.clear()
                self.faults.clear()
            return Response(204)
        return Response.json(404, {"error": f"no such control endpoint: {action}"})


def _handler_class(emulator: Emulator, base_dir: Path, scheme: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart (delayed ACK)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request log is the emulator's record; no noise on stderr

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
            request = Request(
                method=self.command,
                raw_path=self.path,
                query=parse_qs(urlsplit(self.path).query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                base_url=f"{scheme}://{host}",
            )
            if self.path.startswith(CONTROL_PREFIX):
                self._send(emulator.control(request, base_dir))
                return
            fault = emulator.take_fault(request.method, urlsplit(self.path).path)
            if fault and fault.delay:
                time.sleep(fault.delay)
            injected = bool(fault and (fault.action or fault.status is not None))
            if fault and fault.action == "drop":
                emulator.record(request, 0, injected)
                self.close_connection = True
                return
            if fault and fault.action == "html":
                response = Response(200, HTML_ERROR_PAGE, {"Content-Type": "text/html; charset=utf-8"})
            elif fault and fault.status is not None:
                body = fault.body if isinstance(fault.body, (str, bytes)) else json.dumps(fault.body or {})
                data = body.encode() if isinstance(body, str) else body
                headers = {"Content-Type": "application/json", **fault.headers}
                response = Response(fault.status, data, headers)
            else:
                try:
                    response = emulator.dispatch(request)
                except Exception as error:  # an emulator bug must show as a 500, not a hung client
                    response = Response.json(500, {"error": f"emulator error: {error!r}"})
            emulator.record(request, 0 if fault and fault.action == "drop_after" else response.status, injected)
            if fault and fault.action == "drop_after":
                _drain(response)
                self.close_connection = True
                return
            self._send(response, truncate=bool(fault and fault.action == "truncate"))

        def _send(self, response: Response, truncate: bool = False) -> None:
            chunks = [response.body] if isinstance(response.body, bytes) else response.body
            length = len(response.body) if isinstance(response.body, bytes) else response.length
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(length or 0))
            self.end_headers()
            if self.command == "HEAD":
                return
            limit = (length or 0) // 2 if truncate else None
            sent = 0
            try:
                for chunk in chunks:
                    if limit is not None and sent + len(chunk) > limit:
                        self.wfile.write(chunk[: limit - sent])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    return Handler


def _drain(response: Response) -> None:
    if not isinstance(response.body, bytes):
        for _ in response.body:
            pass


def tls_context(cert_dir: Path) -> ssl.SSLContext:
    """A server context whose certificate is issued by the CA in `cert_dir` (created there if absent).

    The CA certificate is `cert_dir/ca.pem`: clients trust it (the archiver's TLS_CA_FILE setting). Several
    emulators pointed at one directory share one CA.
    """
    import trustme

    cert_dir.mkdir(parents=True, exist_ok=True)
    ca_file, key_file = cert_dir / "ca.pem", cert_dir / "ca.key"
    lock = cert_dir / ".lock"
    with open(lock, "w") as handle:
        import fcntl

        fcntl.flock(handle, fcntl.LOCK_EX)
        if ca_file.exists() and key_file.exists():
            ca = trustme.CA.from_pem(ca_file.read_bytes(), key_file.read_bytes())
        else:
            ca = trustme.CA()
            key_file.write_bytes(ca.private_key_pem.bytes())
            ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1", "::1").configure_cert(context)
    return context


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer (killed, or timed out) is the client's business, as for a real
        service; anything else is printed."""
        if isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError):
            return
        super().handle_error(request, client_address)


def serve(emulator: Emulator, port: int, base_dir: Path, cert_dir: Path | None = None) -> Server:
    """Start serving in a background thread; returns the server (call `shutdown()` to stop)."""
    scheme = "https" if cert_dir else "http"
    server = Server(("127.0.0.1", port), _handler_class(emulator, base_dir, scheme))
    if cert_dir:
        server.socket = tls_context(cert_dir).wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, name=f"{emulator.name}-server", daemon=True).start()
    return server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main(
    factory: Callable[[dict[str, Any], Path, argparse.Namespace], Emulator],
    argv: list[str] | None = None,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> None:
    """The command line both emulators share: --port, --seed, --cert-dir."""
    parser = argparse.ArgumentParser(description=sys.modules[factory.__module__].__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=Path, required=True, help="JSON seed file in the service's wire shapes")
    parser.add_argument("--cert-dir", type=Path, help="serve TLS with a certificate from the CA in this folder")
    if extra:
        extra(parser)
    args = parser.parse_args(argv)
    seed = json.loads(args.seed.read_text())
    emulator = factory(seed, args.seed.parent, args)
    server = serve(emulator, args.port, args.seed.parent, args.cert_dir)
    scheme = "https" if args.cert_dir else "http"
    print(f"{emulator.name} emulator listening on {scheme}://127.0.0.1:{args.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()
