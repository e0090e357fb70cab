"""End-to-end harness: the bot on a real HTTP port talking to the LINE emulator."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import BaseWSGIServer, make_server

from emulator.client import EmulatorClient
from models.events import EventStatus, OutboxStatus, OutgoingMessage, WebhookEvent

WAIT_SECONDS = 10.0


class ServerThread:
    def __init__(self, app: Any) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> ServerThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_until(condition: Any, timeout: float = WAIT_SECONDS, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def event_settled(factory: sessionmaker[Session], webhook_event_id: str) -> bool:
    """Processed (or given up) and every message it queued sent (or given up)."""
    with factory() as session:
        event = session.scalar(
            select(WebhookEvent).where(WebhookEvent.webhook_event_id == webhook_event_id)
        )
        if event is None or event.status not in (EventStatus.DONE, EventStatus.FAILED):
            return False
        open_rows = session.scalars(
            select(OutgoingMessage.id).where(
                OutgoingMessage.dedupe_key.startswith(f"event:{webhook_event_id}"),
                OutgoingMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
            )
        ).all()
        return not open_rows


@dataclass
class Chat:
    """One simulated LINE user: `say` and `tap` return the messages the user received."""

    emulator: EmulatorClient
    factory: sessionmaker[Session]
    user_id: str
    seen: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)

    def _settle(self, result: dict[str, Any]) -> list[dict[str, Any]]:
        assert result["status"] == 200, result
        event_id = result["webhookEventId"]
        wait_until(lambda: event_settled(self.factory, event_id), what=f"event {event_id}")
        return self.new_messages()

    def new_messages(self) -> list[dict[str, Any]]:
        entries = self.emulator.inbox(self.user_id, after=self.seen)
        if entries:
            self.seen = entries[-1]["seq"]
        messages = [entry["message"] for entry in entries]
        self.received.extend(messages)
        return messages

    def say(self, text: str) -> list[dict[str, Any]]:
        return self._settle(self.emulator.send_text(self.user_id, text))

    def tap(self, data: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._settle(self.emulator.send_postback(self.user_id, data, params))

    def event(self, event_type: str, **fields: Any) -> list[dict[str, Any]]:
        return self._settle(self.emulator.send_event(self.user_id, event_type, **fields))

    def follow(self) -> list[dict[str, Any]]:
        return self.event("follow")


def texts_of(messages: list[dict[str, Any]]) -> str:
    """Every human-readable string in the messages, joined (for `in` assertions)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in {"text", "altText", "label", "title"} and isinstance(value, str):
                    out.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(messages)
    return "\n".join(out)


def actions_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every action (quick reply, template button, flex button) in the messages."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("action"), dict):
                found.append(node["action"])
            if node.get("type") in {"buttons", "confirm"}:
                found.extend(node.get("actions", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(messages)
    return found
