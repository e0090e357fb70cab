"""Which scope each partner API operation needs (one table, read by the API and its OpenAPI
document), and the check of a presented key."""

from __future__ import annotations

import re

# (method, OpenAPI path under /api/v1) → scope the key must carry.
REQUIRED_SCOPE: dict[tuple[str, str], str] = {
    ("post", "/members/{member_id}/earnings"): "earn",
    ("post", "/earnings/{source_ref}/amend"): "earn",
    ("post", "/earnings/{source_ref}/cancel"): "earn",
    ("post", "/members/{member_id}/grants"): "grant",
    ("post", "/grants/{source_ref}/revoke"): "revoke",
    ("post", "/members/{member_id}/redemptions"): "redeem",
    ("post", "/redemptions/{purchase_ref}/cancel"): "redeem",
    ("post", "/redemptions/{purchase_ref}/reprice"): "redeem",
    ("post", "/members/{member_id}/exchanges"): "redeem",
    ("post", "/exchanges/{reward_ref}/cancel"): "redeem",
    ("get", "/members/{member_id}/balance"): "read",
    ("get", "/members/{member_id}/history"): "read",
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
