"""FAQ in the chat (through the router) and the `benesapo faq` commands."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.line_client import validate_messages
from bot.commands.faq import faq as faq_command
from bot.handlers_registry import build_router
from chat.router import Context, Input, Router
from common.config import Settings
from handlers import faq_texts
from handlers import texts as greeting_texts
from models.faq import FaqFeedback, default_index, feedback_stats, record_feedback
from models.line_user import LineUser
from models.timeutil import FixedClock

USER = "U" + "f" * 32
SETTINGS = Settings(channel_secret="secret", channel_access_token="token")


@pytest.fixture
def router() -> Router:
    return build_router()


@pytest.fixture
def ctx(db: Session, clock: FixedClock) -> Context:
    line_user = LineUser(line_user_id=USER, first_seen_at=clock.now())
    db.add(line_user)
    db.flush()
    return Context(
        line_user_id=USER,
        session=db,
        clock=clock,
        settings=SETTINGS,
        line_user=line_user,
        event={"type": "message"},
    )


def say(router: Router, ctx: Context, value: str) -> list[dict[str, Any]]:
    messages = router.dispatch(ctx, Input.from_text(value))
    validate_messages(messages)
    return messages


def tap(router: Router, ctx: Context, data: str) -> list[dict[str, Any]]:
    messages = router.dispatch(ctx, Input.from_postback(data))
    validate_messages(messages)
    return messages


def actions_of(node: Any) -> list[dict[str, Any]]:
    """Every action anywhere in a message (template, flex, quick reply)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") in {"postback", "message", "uri"} and "label" in node:
            found.append(node)
        for value in node.values():
            found.extend(actions_of(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(actions_of(value))
    return found


def postbacks(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [dict(parse_qsl(a["data"])) for a in actions_of(messages) if a["type"] == "postback"]


# -- free-text questions ------------------------------------------------------------------------
def test_a_question_gets_the_answer_and_the_feedback_buttons(router: Router, ctx: Context) -> None:
    messages = say(router, ctx, "ポイントって現金に換えられる？")
    assert messages[0] == {"type": "text", "text": default_index().by_id["points_cashout"].answer}
    feedback = messages[-1]
    assert feedback["template"]["type"] == "confirm"
    assert feedback["template"]["text"] == "役に立ちましたか？"
    labels = [a["label"] for a in feedback["template"]["actions"]]
    assert labels == ["はい", "いいえ"]
    assert postbacks([feedback]) == [
        {"action": "faq_feedback", "id": "points_cashout", "v": "yes"},
        {"action": "faq_feedback", "id": "points_cashout", "v": "no"},
    ]


def test_the_retiree_answer_offers_the_request_button(router: Router, ctx: Context) -> None:
    messages = say(router, ctx, "社員が辞めたときの手続きを教えてください")
    assert "退職した方のお名前" in messages[0]["text"]
    assert {"action": "inquiry", "type": "retire"} in postbacks(messages)
    assert messages[1]["template"]["type"] == "buttons"


def test_answers_fill_in_the_contact_address(router: Router, ctx: Context) -> None:
    messages = say(router, ctx, "事務局のメールアドレスを知りたい")
    assert SETTINGS.contact_email in messages[0]["text"]
    assert "{contact_email}" not in messages[0]["text"]


def test_a_close_call_offers_candidates(router: Router, ctx: Context) -> None:
    messages = say(router, ctx, "家族")
    assert len(messages) == 1
    assert messages[0]["text"].startswith("もしかして")
    items = messages[0]["quickReply"]["items"]
    data = [dict(parse_qsl(i["action"]["data"])) for i in items]
    candidates = [d for d in data if d["action"] in {"faq", "intent"}]
    assert 2 <= len(candidates) <= 3
    assert data[-1] == {"action": "faq_none"}
    entries = [d for d in candidates if d["action"] == "faq"]
    assert entries and all(d["id"] in default_index().by_id for d in entries)
    # Tapping a candidate answers it.
    answer = tap(router, ctx, f"action=faq&id={entries[0]['id']}")
    assert answer[0]["text"] == default_index().by_id[entries[0]["id"]].answer
    # "どれでもない" says so and offers the inquiry.
    none = tap(router, ctx, "action=faq_none")
    assert SETTINGS.contact_email in none[0]["text"]


def test_off_topic_questions_get_a_polite_redirect(router: Router, ctx: Context) -> None:
    messages = say(router, ctx, "年末調整の書類はいつまでに出せばいい？")
    assert len(messages) == 1
    assert "ご担当部署" in messages[0]["text"]
    assert not any(d.get("action") == "faq_feedback" for d in postbacks(messages))


def test_unknown_questions_say_so_and_offer_the_inquiry(router: Router, ctx: Context) -> None:
    messages = say(router, ctx, "ほげほげ")
    assert len(messages) == 1
    assert "見つかりませんでした" in messages[0]["text"]
    assert SETTINGS.contact_email in messages[0]["text"]
    quick = [i["action"] for i in messages[0]["quickReply"]["items"]]
    assert {"type": "message", "label": "お問い合わせ", "text": "問い合わせ"} in quick


def test_flow_words_are_never_answered_by_the_faq(ctx: Context) -> None:
    router = build_router(["handlers.greeting", "handlers.faq", "handlers.understand"])
    calls: list[str] = []

    @router.keyword("残高", "連携", "問い合わせ")
    def declining_flow(c: Context, i: Input) -> None:
        calls.append(i.text)  # a flow that declines: the FAQ must not take over

    for word in ["残高", "連携", "問い合わせ", "残高 "]:
        assert router.faq_handler is not None
        assert router.faq_handler(ctx, Input.from_text(word)) is None
        messages = say(router, ctx, word)
        assert messages[0]["text"] == greeting_texts.FALLBACK
    assert calls == ["残高", "連携", "問い合わせ", "残高 "]
    # A flow keyword of another module wins over the FAQ.
    assert say(router, ctx, "使い方")[0]["text"] == greeting_texts.HOW_TO


def test_text_with_nothing_to_match_goes_to_the_fallback(router: Router, ctx: Context) -> None:
    assert say(router, ctx, "？？？")[0]["text"] == greeting_texts.FALLBACK


# -- browsing -----------------------------------------------------------------------------------
@pytest.mark.parametrize("word", ["よくある質問", "FAQ", "ｆａｑ"])
def test_the_faq_keyword_shows_the_categories(router: Router, ctx: Context, word: str) -> None:
    messages = say(router, ctx, word)
    carousel = messages[-1]["contents"]
    assert carousel["type"] == "carousel"
    index = default_index()
    assert len(carousel["contents"]) == len(index.categories) <= 12
    shown = [d["c"] for d in postbacks(messages) if d["action"] == "faq_category"]
    assert shown == [c.id for c in index.categories]


def test_each_category_lists_its_questions_as_buttons(router: Router, ctx: Context) -> None:
    index = default_index()
    for category in index.categories:
        messages = tap(router, ctx, f"action=faq_category&c={category.id}")
        bubble = messages[0]["contents"]
        assert bubble["type"] == "bubble"
        ids = [d["id"] for d in postbacks(messages) if d["action"] == "faq"]
        assert ids == [e.id for e in index.in_category(category.id)]
        assert all(len(a["label"]) <= 20 for a in actions_of(messages))


def test_every_entry_can_be_shown_as_valid_messages(router: Router, ctx: Context) -> None:
    for entry in default_index().entries:
        messages = tap(router, ctx, f"action=faq&id={entry.id}")
        assert messages[0]["text"].startswith(entry.answer[:10].split("{")[0])
        assert len(messages) == (3 if entry.actions else 2)


def test_unknown_category_or_entry(router: Router, ctx: Context) -> None:
    assert tap(router, ctx, "action=faq_category&c=nope")[0]["text"] == faq_texts.CATEGORY_NOT_FOUND
    assert tap(router, ctx, "action=faq&id=nope")[0]["text"] == faq_texts.ENTRY_NOT_FOUND


# -- feedback -----------------------------------------------------------------------------------
def test_feedback_is_stored_per_entry(router: Router, ctx: Context, db: Session) -> None:
    yes = tap(router, ctx, "action=faq_feedback&id=points_expiry&v=yes")
    assert yes[0]["text"] == faq_texts.FEEDBACK_THANKS_YES
    no = tap(router, ctx, "action=faq_feedback&id=points_expiry&v=no")
    assert no[0]["text"].startswith("ご回答ありがとうございます")
    assert SETTINGS.contact_email in no[0]["text"]
    tap(router, ctx, "action=faq_feedback&id=hr_retire&v=yes")
    db.commit()
    stats = {s.entry_id: (s.helpful, s.not_helpful) for s in feedback_stats(db)}
    assert stats == {"hr_retire": (1, 0), "points_expiry": (1, 1)}
    row = db.scalars(select(FaqFeedback).where(FaqFeedback.entry_id == "hr_retire")).one()
    assert row.line_user_id == USER
    assert row.created_at == ctx.now


def test_bad_feedback_is_not_stored(router: Router, ctx: Context, db: Session) -> None:
    for data in ["action=faq_feedback&id=nope&v=yes", "action=faq_feedback&id=hr_retire&v=maybe"]:
        assert tap(router, ctx, data)[0]["text"] == faq_texts.ENTRY_NOT_FOUND
    assert db.scalar(select(func.count()).select_from(FaqFeedback)) == 0


# -- command line -------------------------------------------------------------------------------
@dataclass
class _Runtime:
    session_factory: sessionmaker[Session]


@dataclass
class _Lazy:
    runtime: _Runtime

    def get(self) -> _Runtime:
        return self.runtime


def test_faq_ask_prints_the_decision_as_json() -> None:
    result = CliRunner().invoke(faq_command, ["ask", "ポイントを換金したいです", "--json"])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    assert decision["outcome"] == "answer"
    assert decision["label"] == "faq:points_cashout"
    assert 0 < decision["score"] <= 1
    assert all(set(c) == {"label", "score"} for c in decision["candidates"])


def test_faq_ask_out_of_scope_has_no_answer() -> None:
    result = CliRunner().invoke(faq_command, ["ask", "有給休暇を取りたい", "--json"])
    assert json.loads(result.output) | {"score": 0} == {
        "outcome": "off_topic",
        "label": "offtopic:leave",
        "score": 0,
        "candidates": [],
    }
    human = CliRunner().invoke(faq_command, ["ask", "ポイントを換金したいです"])
    assert human.output.startswith("answer: faq:points_cashout")


def test_faq_stats_prints_feedback_per_entry(
    db: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    lazy = _Lazy(_Runtime(session_factory))
    empty = CliRunner().invoke(faq_command, ["stats"], obj=lazy)
    assert empty.output.strip() == "no feedback yet"
    for helpful in (True, True, False):
        record_feedback(db, "points_expiry", USER, helpful, clock.now())
    db.commit()
    result = CliRunner().invoke(faq_command, ["stats", "--json"], obj=lazy)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {
            "id": "points_expiry",
            "question": default_index().by_id["points_expiry"].question,
            "yes": 2,
            "no": 1,
            "total": 3,
        }
    ]
    table = CliRunner().invoke(faq_command, ["stats"], obj=lazy)
    assert "points_expiry" in table.output and "2" in table.output
