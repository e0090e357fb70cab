"""FAQ data: faithful to the seeds, well formed, no web jargon (matching: test_understanding)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import models.faq as faq_module
from adapters.line_limits import text_length
from models.faq import (
    FAQ_PATH,
    FaqDataError,
    FaqIndex,
    default_index,
)

EVAL_PATH = Path(__file__).with_name("faq_eval.yaml")


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    return default_index()


@pytest.fixture(scope="module")
def raw_data() -> dict[str, Any]:
    with FAQ_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def eval_set() -> dict[str, Any]:
    with EVAL_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


# -- the data -----------------------------------------------------------------------------------
def test_yaml_is_found_next_to_the_module_whatever_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Path(faq_module.__file__).with_name("faq.yaml") == FAQ_PATH
    monkeypatch.chdir(tmp_path)
    assert len(FaqIndex.from_yaml().entries) >= 25


def test_entries_are_well_formed(index: FaqIndex) -> None:
    categories = {c.id for c in index.categories}
    for entry in index.entries:
        assert entry.category in categories
        assert 0 < text_length(entry.short) <= 20, entry.id
        assert len(entry.phrasings) >= 3, entry.id
        assert text_length(entry.answer) <= 300, f"{entry.id}: too long for a phone screen"
        assert entry.answer.endswith(("。", "）")), entry.id
        for action in entry.actions:
            assert text_length(action.label) <= 20
            assert (action.postback is None) != (action.text is None)
    assert all(index.in_category(c) for c in categories)


def test_every_seed_question_has_an_entry(index: FaqIndex) -> None:
    required = {
        # HR contact guide: service start steps and every question of its FAQ
        "start_steps", "start_documents", "start_assign_ids", "start_distribute",
        "hr_add_seats", "hr_retire", "hr_gold_card", "hr_lost_credentials", "hr_part_time",
        "hr_family_app",
        # points terms, article by article
        "points_earn", "points_when", "points_expiry", "points_transfer", "points_cashout",
        "points_family", "points_refund_cancel", "points_return_earned", "points_price_change",
        "points_exchange_stock", "points_retire", "points_dispute", "points_revoked",
        "points_shared_id",
    }  # fmt: skip
    assert required <= set(index.by_id)


@pytest.mark.parametrize(
    ("entry_id", "facts"),
    [
        ("start_documents", ["1〜2週間", "初期ID・パスワード一覧"]),
        ("start_assign_ids", ["大切に保管"]),
        ("company_code_what", ["英数字8桁"]),
        ("hr_add_seats", ["増えた従業員数", "料金プラン", "利用人数の追加を依頼"]),
        ("hr_retire", ["お名前", "JOYO Club Off 専用ID", "利用を停止"]),
        ("hr_gold_card", ["支店", "アルバイトやパートタイマーの方はお申し込みいただけません"]),
        ("hr_lost_credentials", ["1〜2週間", "再送を依頼する", "担当者さまのメールアドレス"]),
        ("employee_lost_credentials", ["企業担当者さま", "ID・PW再送", "このトークではお送りせず"]),
        ("hr_part_time", ["ご利用いただけます", "限り"]),
        ("hr_family_app", ["ご本人のみ"]),
        ("points_when", ["一定の期間", "変更後の購入額"]),
        ("points_expiry", ["付与された月から3年後", "末日", "自動的に消滅"]),
        ("points_transfer", ["譲渡", "共有", "できません"]),
        ("points_cashout", ["換金できません"]),
        ("points_family", ["配偶者", "2親等以内"]),
        ("points_refund_cancel", ["返還", "現金での返還はありません"]),
        ("points_exchange_stock", ["品切れ", "返還"]),
        ("points_retire", ["すべて失効"]),
        ("points_dispute", ["ご連絡ください", "ご説明"]),
        ("points_revoked", ["不正", "事前の通知なく"]),
        ("points_shared_id", ["複数人", "対象外"]),
    ],
)
def test_answers_state_the_rule_of_the_seed(
    index: FaqIndex, entry_id: str, facts: list[str]
) -> None:
    answer = index.by_id[entry_id].answer
    for fact in facts:
        assert fact in answer, f"{entry_id}: {fact!r} missing"


def test_answers_say_what_to_tap_here_not_web_jargon(index: FaqIndex) -> None:
    for entry in index.entries:
        for word in ("フォーム", "クリック", "URL"):  # a chat has buttons to tap, not forms
            assert word not in entry.answer, f"{entry.id}: {word}"


def test_retiree_question_offers_the_retire_request_button(index: FaqIndex) -> None:
    actions = index.by_id["hr_retire"].actions
    assert any(a.postback == "action=inquiry&type=retire" for a in actions)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["entries"][0].pop("answer"), "missing answer"),
        (lambda d: d["entries"][0].update(category="nope"), "unknown category"),
        (lambda d: d["entries"][0].update(actions=[{"label": "x"}]), "postback or a text"),
        (lambda d: d["entries"].append(dict(d["entries"][0])), "duplicate"),
    ],
)
def test_malformed_data_is_refused(raw_data: dict[str, Any], change, message: str) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(yaml.safe_dump(raw_data, allow_unicode=True))
    change(data)
    with pytest.raises(FaqDataError, match=message):
        FaqIndex.from_data(data)
