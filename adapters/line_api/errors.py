"""What a failed Messaging API call raises."""

from __future__ import annotations


class LineApiError(Exception):
    """A Messaging API call failed for good (after retries where retrying made sense)."""

    def __init__(
        self,
        endpoint: str,
        status: int | None,
        message: str,
        request_id: str | None = None,
        *,
        retryable: bool = False,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(f"{endpoint}: {status} {message}")
        self.endpoint = endpoint
        self.status = status
        self.message = message
        self.request_id = request_id
        self.retryable = retryable  # worth trying again later
        self.ambiguous = ambiguous  # LINE may have processed it (a timeout or a 5xx)


class InvalidReplyToken(LineApiError):
    """LINE refused the reply token (already used, or expired)."""


class AlreadyAccepted(Exception):
    """A 409 for a retry key LINE had already accepted (the send is done: not an error)."""

    def __init__(self, request_id: str | None) -> None:
        super().__init__(request_id)
        self.request_id = request_id
