"""The chat kernel's pure rules: control words, dates, names, LINE's date picker limits."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from adapters.line_limits import MessageLimitError, check_messages
from chat.control import Control, recognize
from chat.dates import DateError, check_window, format_date, parse_date
from chat.names import name_problem

TODAY = date(2026, 4, 1)


@pytest.mark.parametrize(
    ("typed", "control"),
    [
        ("やめる", Control.CANCEL),
        ("キャンセル", Control.CANCEL),
        ("ｷｬﾝｾﾙ", Control.CANCEL),
        ("きゃんせる", Control.CANCEL),
        ("キャンセリ", Control.CANCEL),  # one slip
        ("中止してください", Control.CANCEL),
        ("やっぱりやめます", Control.CANCEL),
        ("すみません、やめます", Control.CANCEL),
        ("もういいです", Control.CANCEL),
        ("取り消し", Control.CANCEL),
        ("とりけし", Control.CANCEL),
        ("結構です。", Control.CANCEL),
        ("キャンセルでお願いします", Control.CANCEL),
        ("Cancel", Control.CANCEL),
        ("戻る", Control.BACK),
        ("もどって", Control.BACK),
        ("前に戻る", Control.BACK),
        ("一つ前", Control.BACK),
        ("ひとつまえ", Control.BACK),
        ("修正したい", Control.BACK),
        ("間違えました！", Control.BACK),
        ("ヘルプ", Control.HELP),
        ("使い方を教えて", Control.HELP),
        ("どうすればいいの？", Control.HELP),
        ("最初から", Control.RESTART),
        ("最初からやり直します", Control.RESTART),
        ("はじめからお願いします", Control.RESTART),
        ("やり直したい", Control.RESTART),
        ("?", Control.HELP),
        ("？？", Control.HELP),
        ("全部やりなおしで", Control.RESTART),
        ("もう一回最初からお願いします", Control.RESTART),
        ("やっぱりやめました", Control.CANCEL),
        ("いいです、また今度にしておきます", Control.CANCEL),
        ("一つ前の画面に戻してください", Control.BACK),
        ("何を書けばいいですか", Control.HELP),
        # what the control acts on may lead; several clauses that all say it
        ("この申請はやめておきます", Control.CANCEL),
        ("いったんやめます。また今度で", Control.CANCEL),
        ("もうええわ", Control.CANCEL),
        # conjugations of 戻る, and the shape of a question
        ("前の画面に戻ってください", Control.BACK),
        ("1個前に戻りたいです", Control.BACK),
        ("どんな形式で入力すればいいですか", Control.HELP),
        ("ここは何を書く欄？", Control.HELP),
        ("はじめの画面からお願いします", Control.RESTART),
        ("リセットしてください", Control.RESTART),
    ],
)
def test_control_words_however_typed(typed, control):
    assert recognize(typed) is control


@pytest.mark.parametrize(
    "typed",
    [
        "山田 太郎",
        "いいです",  # "fine": not a cancel
        "大丈夫です",
        "はい",
        "送信",
        "わからない",  # an answer of the member-ID step
        "最初の申請は先月出しました",  # 最初 alone is not 最初から
        "3月末にやめた佐藤さんです",
        "?について",
        "2027/1/31",
        "🙂",
        "前の質問に答える",
        "キャンセル料について教えてください。先月の旅行をキャンセルしたのですが返金されますか",
        "何も書くことはありません",  # 何も, not 何を
        "4月に職場に戻ります",  # 戻る to a place, not to a step
        "最初の申請は来月からです",
        "やめる理由は転職です",
    ],
)
def test_ordinary_answers_are_not_control_words(typed):
    assert recognize(typed) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2027/1/31", date(2027, 1, 31)),
        ("2027年1月31日", date(2027, 1, 31)),
        ("２０２７年１月３１日", date(2027, 1, 31)),
        ("2027-01-31", date(2027, 1, 31)),  # LINE's date picker
        ("20270131", date(2027, 1, 31)),
        ("1月31日", date(2027, 1, 31)),  # the next 31 January
        ("6/30", date(2026, 6, 30)),
        ("6月30日(火)", date(2026, 6, 30)),
        ("2026年6月30日でお願いします", date(2026, 6, 30)),
        ("来月末", date(2026, 5, 31)),
        ("今月末", date(2026, 4, 30)),
        ("再来月末", date(2026, 6, 30)),
        ("明日", date(2026, 4, 2)),
        ("4月1日", date(2026, 4, 1)),  # today is the next 1 April
        ("2月29日", date(2028, 2, 29)),  # the next leap day
    ],
)
def test_dates_as_people_type_them(typed, expected):
    assert parse_date(typed, TODAY) == expected


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("なるべく早く", "not_a_date"),
        ("3/31/2026", "not_a_date"),
        ("", "not_a_date"),
        ("2027年2月30日", "no_such_day"),
        ("13月1日", "no_such_day"),
        ("4月31日", "no_such_day"),
    ],
)
def test_what_is_not_a_date_says_why(typed, code):
    with pytest.raises(DateError) as caught:
        parse_date(typed, TODAY)
    assert caught.value.code == code


def test_month_end_across_the_year():
    assert parse_date("来月末", date(2026, 12, 15)) == date(2027, 1, 31)
    assert parse_date("来月末", date(2027, 1, 31)) == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("day", "code"),
    [(date(2026, 3, 31), "past"), (date(2026, 4, 1), "too_soon"), (date(2028, 4, 1), "too_far")],
)
def test_the_date_window(day, code):
    with pytest.raises(DateError) as caught:
        check_window(day, TODAY, min_days=1, max_days=730)
    assert caught.value.code == code
    check_window(date(2026, 4, 2), TODAY, min_days=1, max_days=730)  # tomorrow is fine


def test_dates_are_shown_with_the_weekday():
    assert format_date(date(2027, 1, 31)) == "2027年1月31日（日）"


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("山田 太郎", None),
        ("John Smith", None),
        ("やまだ", None),
        ("🙂", "no_letters"),
        ("👍👍", "no_letters"),
        ("1234", "no_letters"),
        ("！？", "no_letters"),
        ("   ", "empty"),
        ("あ" * 51, "too_long"),
        ("キャンセル", "control_word"),
        ("もういいです", "control_word"),
    ],
)
def test_names(typed, problem):
    assert name_problem(typed) == problem


def _picker(**fields):
    action = {"type": "datetimepicker", "label": "日付を選ぶ", "data": "a=1", "mode": "date"}
    action.update(fields)
    return [
        {
            "type": "text",
            "text": "x",
            "quickReply": {"items": [{"type": "action", "action": action}]},
        }
    ]


def test_a_date_picker_as_line_accepts_it():
    check_messages(_picker(initial="2026-04-02", min="2026-04-02", max="2028-03-31"))
    check_messages(_picker(mode="datetime", initial="2026-04-02T10:00"))
    check_messages(_picker(mode="time", min="09:00", max="18:00"))


@pytest.mark.parametrize(
    "fields",
    [
        {"mode": "day"},
        {"initial": "2026/04/02"},
        {"min": "2026-02-30"},
        {"max": "2101-01-01"},
        {"min": "2026-05-01", "max": "2026-04-01"},
        {"min": "2026-04-02", "initial": "2026-04-01"},
        {"mode": "time", "initial": "25:00"},
        {"data": "x" * 301},
    ],
)
def test_a_date_picker_line_would_refuse(fields):
    with pytest.raises(MessageLimitError, match="datetimepicker"):
        check_messages(_picker(**fields))


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)))
def test_every_written_out_date_reads_back(day):
    for typed in (
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        day.isoformat(),
        format_date(day),
    ):
        assert parse_date(typed, TODAY) == day, typed


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)), st.dates())
def test_a_month_and_day_is_the_next_such_day(today, day):
    assume((day.month, day.day) != (2, 29))  # leap days: the next one may be years away
    found = parse_date(f"{day.month}月{day.day}日", today)
    assert (found.month, found.day) == (day.month, day.day)
    assert today <= found < date(today.year + 1, today.month, 1) + timedelta(days=31)
