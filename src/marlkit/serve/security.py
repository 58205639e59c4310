"""The web app's two guards: the access token (off loopback) and the runs-folder path guard.

**Token.** Bound to 127.0.0.1 the app asks for no token (only local processes reach it, as with Jupyter's
default). Bound to any other address, ``marlkit serve`` makes a random token (:func:`new_token`:
``secrets.token_urlsafe(32)``, 256 bits) and prints the URL with ``?token=...``; :class:`TokenMiddleware` then
refuses (403) every request that carries neither the token as a query parameter, nor the cookie it sets, nor an
``Authorization: Bearer <token>`` / ``X-Marlkit-Token`` header. A page request with a valid ``?token=`` is
answered with a redirect to the same URL without it and an ``HttpOnly; SameSite=Strict`` cookie, so the token
does not stay in the address bar or in the history. Tokens are compared in constant time
(``secrets.compare_digest``).

**Paths.** Routes name runs by their path relative to the runs folder. :func:`inside` resolves such a path and
refuses (404) absolute paths, ``..`` parts, NUL bytes and backslashes, and (403) anything whose resolved path —
symlinks followed — is outside the runs folder. No route opens a file by a name it did not build from a path
:func:`inside` returned.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, urlencode

TOKEN_COOKIE = "marlkit_token"
TOKEN_PARAM = "token"
TOKEN_HEADER = "x-marlkit-token"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class PathRefusedError(Exception):
    """A runs-folder path a route must not open; ``status`` is 404 (malformed or missing) or 403 (outside)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def new_token() -> str:
    """A fresh random access token (``secrets.token_urlsafe(32)``: 256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def needs_token(host: str) -> bool:
    """Whether binding to ``host`` asks for a token: every address but the loopback ones."""
    return host not in LOOPBACK


def inside(root: Path, relative: str, *, must_exist: bool = True) -> Path:
    """The resolved path of ``relative`` under the runs folder ``root`` (itself resolved).

    Raises:
        PathRefusedError: 404 for an absolute path, a ``..`` part, a NUL byte, a backslash or (``must_exist``) a path
            that does not exist; 403 when the resolved path (symlinks followed) leaves ``root``.
    """
    if "\x00" in relative or "\\" in relative:
        raise PathRefusedError(404, "no such run")
    pure = PurePosixPath(relative)
    if pure.is_absolute() or any(part in ("..", "~") for part in pure.parts) or relative.startswith("~"):
        raise PathRefusedError(404, "no such run")
    target = (root / pure).resolve()
    if target != root and root not in target.parents:
        raise PathRefusedError(403, "that path is outside the runs folder")
    if must_exist and not target.exists():
        raise PathRefusedError(404, "no such run")
    return target


def relative_name(root: Path, path: Path) -> str:
    """``path`` (under ``root``) as the POSIX path routes take."""
    return path.relative_to(root).as_posix()


class TokenMiddleware:
    """ASGI middleware: every HTTP request must carry ``token`` (see the module docstring); ``None`` lets all in."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app, self.token = app, token

    def _valid(self, candidate: str | None) -> bool:
        if candidate is None or self.token is None:
            return False
        return secrets.compare_digest(candidate.encode("utf-8", "surrogateescape"), self.token.encode("utf-8"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.token is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        from_query = next((v for k, v in query if k == TOKEN_PARAM), None)
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no token
            cookie = SimpleCookie()
        from_cookie = cookie[TOKEN_COOKIE].value if TOKEN_COOKIE in cookie else None
        bearer = headers.get("authorization", "")
        from_header = headers.get(TOKEN_HEADER) or (bearer[7:] if bearer.lower().startswith("bearer ") else None)
        if self._valid(from_cookie) or self._valid(from_header):
            await self.app(scope, receive, send)
            return
        if self._valid(from_query):
            if scope["type"] == "http" and scope.get("method") == "GET":
                rest = urlencode([(k, v) for k, v in query if k != TOKEN_PARAM])
                location = scope.get("root_path", "") + scope["path"] + (f"?{rest}" if rest else "")
                await _redirect_with_cookie(send, location, self.token or "")
            else:
                await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await _forbidden(send, api=scope["path"].startswith("/api/"))


async def _redirect_with_cookie(send: Send, location: str, token: str) -> None:
    cookie = f"{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode("latin-1")),
                (b"set-cookie", cookie.encode("latin-1")),
                (b"cache-control", b"no-store"),
                (b"content-length", b"0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


FORBIDDEN_PAGE = (
    "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>marlkit: token required</title></head>"
    "<body style='font-family: system-ui, sans-serif; margin: 3rem'><h1>403: token required</h1>"
    "<p>This marlkit server listens beyond this computer, so every request needs its access token. Open the URL "
    "<code>marlkit serve</code> printed when it started (it ends in <code>?token=...</code>).</p></body></html>"
)


FORBIDDEN_JSON = json.dumps(
    {"error": "token required: send the access token that marlkit serve printed (X-Marlkit-Token header)"}
)


async def _forbidden(send: Send, *, api: bool) -> None:
    """403: a page for a browser, ``{"error": ...}`` for the JSON API (as every other API error)."""
    body = (FORBIDDEN_JSON if api else FORBIDDEN_PAGE).encode("utf-8")
    kind = b"application/json" if api else b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


__all__ = [
    "LOOPBACK",
    "TOKEN_COOKIE",
    "TOKEN_HEADER",
    "TOKEN_PARAM",
    "PathRefusedError",
    "TokenMiddleware",
    "inside",
    "needs_token",
    "new_token",
    "relative_name",
]
