"""Helpers (no tests) for the inquiry and console tests: companies, linked users, checked chat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from adapters.line_client import validate_messages
from models.companies import IssuedIds, create_company
from models.company import Member
from models.line_user import LineUser
from models.timeutil import Clock
from tests.e2e import Chat, actions_of, texts_of


def make_company(
    db: Session,
    clock: Clock,
    *,
    name: str = "テスト商事",
    seats: int = 3,
    seat_limit: int = 5,
    hr_contacts: int = 1,
) -> IssuedIds:
    issued = create_company(
        db,
        clock,
        name=name,
        seats=seats,
        seat_limit=seat_limit,
        contact_email="hr@example.co.jp",
        hr_contacts=hr_contacts,
    )
    db.commit()
    return issued


def link(db: Session, clock: Clock, line_user_id: str, member_id: str) -> Member:
    """Link a LINE user to a member directly (no login flow), and commit."""
    member = db.query(Member).filter(Member.member_id == member_id).one()
    user = db.get(LineUser, line_user_id)
    if user is None:
        user = LineUser(line_user_id=line_user_id, first_seen_at=clock.now(), blocked=False)
        db.add(user)
    user.member_pk = member.id
    user.linked_at = clock.now()
    db.commit()
    return member


@dataclass
class Turn:
    messages: list[dict[str, Any]]

    @property
    def body(self) -> str:
        return texts_of(self.messages)

    @property
    def labels(self) -> list[str]:
        return [a.get("label", "") for a in actions_of(self.messages)]

    @property
    def actions(self) -> list[dict[str, Any]]:
        return actions_of(self.messages)


class CheckedChat:
    """A Chat whose every received message is validated against LINE's limits."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.user_id = chat.user_id

    def _check(self, messages: list[dict[str, Any]]) -> Turn:
        assert messages, "the bot answered nothing"
        validate_messages(messages)
        return Turn(messages)

    def say(self, text: str) -> Turn:
        return self._check(self.chat.say(text))

    def tap(self, data: str) -> Turn:
        return self._check(self.chat.tap(data))
