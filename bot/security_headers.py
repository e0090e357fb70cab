"""Security headers of the HTML pages (console, login page, its LIFF landing), in one place."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response


@dataclass(frozen=True)
class PagePolicy:
    content_security_policy: str
    referrer_policy: str


# The console: its own stylesheet and forms only.
CONSOLE = PagePolicy(
    content_security_policy=(
        "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    referrer_policy="same-origin",
)
# The login page: inline style only; no referrer (its URL carries the link request key).
LOGIN_PAGE = PagePolicy(
    content_security_policy="default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    referrer_policy="no-referrer",
)

# The LIFF SDK talks to LINE from the landing page (`bot.linking_liff`).
LINE_CONNECT_SOURCES = "https://*.line.me https://*.line-scdn.net"


def liff_landing(sdk_origin: str) -> PagePolicy:
    """The login page's LIFF landing: our script and the SDK's origin; the SDK may talk to
    LINE."""
    return PagePolicy(
        content_security_policy=(
            f"default-src 'none'; script-src 'self' {sdk_origin}; connect-src 'self' "
            f"{sdk_origin} {LINE_CONNECT_SOURCES}; style-src 'unsafe-inline'; base-uri 'none'; "
            "frame-ancestors 'none'"
        ),
        referrer_policy=LOGIN_PAGE.referrer_policy,
    )


def secure(response: Response, policy: PagePolicy) -> Response:
    """Not cached, not framed, no type sniffing, the policy's CSP and referrer policy."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = policy.referrer_policy
    response.headers["Content-Security-Policy"] = policy.content_security_policy
    return response
