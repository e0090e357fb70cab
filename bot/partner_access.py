"""Which scope each partner API operation needs (from `bot.partner_operations`, read by the
API and its OpenAPI document), and the check of a presented key."""

from __future__ import annotations

import re

from bot.partner_operations import OPERATIONS

# (method, OpenAPI path under /api/v1) → scope the key must carry, from the declarations.
REQUIRED_SCOPE: dict[tuple[str, str], str] = {
    (op.method, op.path): op.scope for op in OPERATIONS if op.scope is not None
}

_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def openapi_path(rule: str, prefix: str) -> str:
    """Flask's "/api/v1/members/<member_id>/balance" → "/members/{member_id}/balance"."""
    return _PARAM.sub(r"{\1}", rule.removeprefix(prefix))


def missing_scope(method: str, path: str, scopes: frozenset[str]) -> str | None:
    """The scope this operation needs and the key lacks, or None. An operation missing from
    the table needs a scope no key has: a new endpoint is closed until it is listed."""
    needed = REQUIRED_SCOPE.get((method.lower(), path), "unlisted")
    return None if needed in scopes else needed
