"""What people type, through the running bot and the LINE emulator: an understood intent runs
its handler, small talk is answered, what is not understood is kept for the back office."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from test_points_support import make_member

from bot.commands.faq import faq as faq_command
from handlers import faq_texts
from models.line_user import LineUser
from models.timeutil import FixedClock
from models.unanswered import (
    UnansweredQuestion,
    prune_unanswered,
    record_unanswered,
    unanswered,
)
from tests.e2e import actions_of, texts_of
from tests.test_faq_chat import _Lazy, _Runtime


def link(db: Session, chat) -> None:  # type: ignore[no-untyped-def]
    member = make_member(db, "M4001")
    line_user = db.get(LineUser, chat.user_id) or LineUser(
        line_user_id=chat.user_id, first_seen_at=FixedClock().now()
    )
    line_user.member_pk = member.id
    db.add(line_user)
    db.commit()


def test_a_linked_member_asking_in_plain_words_gets_the_balance_card(chat, db) -> None:
    chat.follow()
    link(db, chat)
    answer = chat.say("残りのポイントが知りたい")
    assert answer[0]["type"] == "flex"
    assert "ポイント残高" in answer[0]["altText"]


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("ありがとうございました", "どういたしまして"),
        ("こんにちは", "公式アカウント"),
        ("ボットですか", "自動でお答え"),
    ],
)
def test_small_talk_is_answered_never_with_no_answer_found(chat, said: str, expected: str) -> None:
    answer = chat.say(said)
    assert expected in texts_of(answer)
    assert "見つかりませんでした" not in texts_of(answer)


def test_asking_for_a_person_in_other_words_opens_the_live_chat(chat) -> None:
    answer = chat.say("スタッフの方と直接話せますか")  # the `human` intent, not a keyword
    assert "担当者におつなぎします" in texts_of(answer)
    assert {
        "type": "postback",
        "label": "ボットに戻る",
        "data": "action=handoff_end",
        "displayText": "ボットに戻る",
    } in actions_of(answer)


def test_a_close_call_button_for_an_intent_runs_it(chat, dbview) -> None:
    answer = chat.say("家族")
    assert texts_of(answer).startswith("もしかして")
    tapped = chat.tap("action=intent&id=help")
    assert "使い方" in texts_of(tapped)
    # An unknown intent id is answered politely.
    assert texts_of(chat.tap("action=intent&id=nope")) == faq_texts.ENTRY_NOT_FOUND


def test_what_is_not_understood_is_kept_without_the_user(chat, dbview) -> None:
    chat.say("ほげほげ")
    chat.say("ほげほげ")
    chat.say("ありがとう")  # understood: not kept
    rows = dbview.scalars(select(UnansweredQuestion)).all()
    assert [(r.text, r.count, r.outcome, r.audience) for r in rows] == [
        ("ほげほげ", 2, "unknown", "guest")
    ]
    stored = json.dumps([vars(r) for r in rows], default=str)
    assert chat.user_id not in stored


def test_unanswered_questions_are_listed_most_frequent_first_and_pruned(
    db: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    lazy = _Lazy(_Runtime(session_factory))
    assert CliRunner().invoke(faq_command, ["unanswered"], obj=lazy).output.strip() == (
        "no unanswered questions"
    )
    record_unanswered(db, "a", "guest", "unknown", clock.now())
    for _ in range(3):
        record_unanswered(db, "b", "hr", "close_call", clock.now())
    record_unanswered(db, "a", "employee", "unknown", clock.now())  # another audience
    db.commit()
    result = CliRunner().invoke(faq_command, ["unanswered", "--json"], obj=lazy)
    rows = json.loads(result.output)
    assert [(r["text"], r["audience"], r["count"]) for r in rows] == [
        ("b", "hr", 3),
        ("a", "guest", 1),  # ties: the first recorded first
        ("a", "employee", 1),
    ]
    assert "b" in CliRunner().invoke(faq_command, ["unanswered"], obj=lazy).output
    clock.advance(days=31)
    record_unanswered(db, "b", "hr", "unknown", clock.now())  # asked again: kept
    assert prune_unanswered(db, clock.now(), 30) == 2
    assert [(s.text, s.count) for s in unanswered(db)] == [("b", 4)]
    assert clock.now() - unanswered(db)[0].first_seen == timedelta(days=31)


def test_workers_load_the_understanding_before_their_first_event(services) -> None:
    from chat.understanding.data import default_understanding

    services.stop_workers()
    default_understanding.cache_clear()
    services.start_workers(1)
    assert default_understanding.cache_info().currsize == 1
