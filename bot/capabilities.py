"""Narrow, process-wide capabilities a handler may use without holding the LINE client.

Handlers never call LINE; but linking needs a link token before the reply can be written.
`bot.app.Services` registers the LINE client's method here at start-up:

    capabilities.set_link_token_issuer(self.line.issue_link_token)
"""

from __future__ import annotations

from collections.abc import Callable

LinkTokenIssuer = Callable[[str], str]


class CapabilityUnavailable(RuntimeError):
    """Nothing registered (e.g. a command-line process), or the call failed."""


_link_token_issuer: LinkTokenIssuer | None = None


def set_link_token_issuer(issuer: LinkTokenIssuer | None) -> None:
    global _link_token_issuer
    _link_token_issuer = issuer


def issue_link_token(line_user_id: str) -> str:
    """A LINE link token for the user (a LINE API call, retried by the client)."""
    if _link_token_issuer is None:
        raise CapabilityUnavailable("no link token issuer registered")
    try:
        return _link_token_issuer(line_user_id)
    except Exception as exc:  # the client's errors, whatever they are, mean "not now"
        raise CapabilityUnavailable(f"link token not issued: {exc}") from exc
