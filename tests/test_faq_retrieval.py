"""FAQ data and retrieval: faithful entries, robust matching, the three outcomes, evaluation."""

from __future__ import annotations

import importlib.util
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

import models.faq as faq_module
from bot.line_limits import text_length
from bot.textnorm import normalize
from models.faq import (
    FAQ_PATH,
    FaqDataError,
    FaqIndex,
    Outcome,
    Thresholds,
    default_index,
    evaluate,
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
        ("hr_add_seats", ["増加した従業員数", "料金プラン"]),
        ("hr_retire", ["お名前", "JOYO Club Off 専用ID", "利用を停止"]),
        ("hr_gold_card", ["支店", "アルバイトやパートタイマーの方はお申し込みいただけません"]),
        ("hr_lost_credentials", ["1〜2週間", "お問い合わせフォーム"]),
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


# -- retrieval ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("variants", "entry_id"),
    [
        (
            [
                "ポイントの有効期限",
                "ぽいんとの有効期限",
                "ﾎﾟｲﾝﾄの有効期限",
                "ポイントのゆうこうきげん",
            ],
            "points_expiry",
        ),
        (
            ["ゴールドカードを作りたい", "ごーるどかーどを作りたい", "ｺﾞｰﾙﾄﾞｶｰﾄﾞを作りたい"],
            "hr_gold_card",
        ),
        (["ＰＷを忘れた", "パスワ-ドを忘れた", "ぱすわーどわすれた"], "hr_lost_credentials"),
        (["退職者の手続き", "たいしょくしゃの手続き", "退社した社員の手続き"], "hr_retire"),
    ],
)
def test_spelling_variants_find_the_same_entry(
    index: FaqIndex, variants: list[str], entry_id: str
) -> None:
    for variant in variants:
        assert index.rank(variant, limit=1)[0].id == entry_id, variant


def test_a_typo_still_finds_the_entry(index: FaqIndex) -> None:
    for question, entry_id in [
        ("ポイントの有効機嫌", "points_expiry"),  # IME picked the wrong kanji
        ("アルバイトも利用でっきますか", "hr_part_time"),
        ("ゴールドカートを作りたい", "hr_gold_card"),
        ("パスワードをわすれまＳた", "hr_lost_credentials"),
    ]:
        decision = index.decide(question)
        assert decision.outcome is Outcome.ANSWER, question
        assert decision.entry is not None and decision.entry.id == entry_id, question
    # Two wrong kanji out of four: still ranked first, but not answered with confidence.
    assert index.rank("ポイントの優康期限", limit=1)[0].id == "points_expiry"
    assert index.decide("ポイントの優康期限").outcome is not Outcome.ANSWER


def test_ranking_is_deterministic(index: FaqIndex) -> None:
    other = FaqIndex.from_yaml()
    for question in ["ポイント使える？", "家族", "退職", "いつ"]:
        first = index.rank(question)
        assert first == index.rank(question) == other.rank(question)
        scores = [c.score for c in first]
        assert scores == sorted(scores, reverse=True)


def test_confident_answer(index: FaqIndex) -> None:
    decision = index.decide("ポイントを換金したいです")
    assert decision.outcome is Outcome.ANSWER
    assert decision.entry is not None and decision.entry.id == "points_cashout"
    as_dict = decision.to_dict()
    assert as_dict["id"] == "points_cashout"
    assert as_dict["question"] == decision.entry.question
    assert all(a["id"] != "points_cashout" for a in as_dict["alternatives"])
    assert set(as_dict) >= {"id", "question", "score", "alternatives"}


def test_close_call_offers_two_or_three_candidates(index: FaqIndex) -> None:
    decision = index.decide("ポイント使える？")
    assert decision.outcome is Outcome.CLOSE_CALL
    assert 2 <= len(decision.candidates) <= 3
    assert decision.to_dict()["id"] is None
    assert len(decision.to_dict()["alternatives"]) == len(decision.candidates)


@pytest.mark.parametrize(
    ("question", "subject"),
    [("給与明細を見たい", "payroll"), ("有給はあと何日？", "leave"), ("年末調整のやり方", "tax")],
)
def test_known_off_topic_subjects(index: FaqIndex, question: str, subject: str) -> None:
    decision = index.decide(question)
    assert decision.outcome is Outcome.OFF_TOPIC
    assert decision.off_topic == subject
    assert decision.to_dict()["id"] is None


def test_unknown_when_nothing_matches(index: FaqIndex) -> None:
    decision = index.decide("今日の天気はどうですか")
    assert decision.outcome is Outcome.UNKNOWN
    assert decision.to_dict() | {"score": 0} == {
        "id": None,
        "question": None,
        "score": 0,
        "outcome": "unknown",
        "off_topic": None,
        "alternatives": [],
    }


def test_thresholds_come_from_the_data(raw_data: dict[str, Any], index: FaqIndex) -> None:
    assert index.thresholds == Thresholds(**raw_data["thresholds"])
    strict = FaqIndex.from_data(raw_data, Thresholds(answer=0.99, close=0.98, off_topic=0.99))
    assert strict.decide("ポイントを換金したいです").outcome is Outcome.UNKNOWN


# -- evaluation ---------------------------------------------------------------------------------
def test_eval_set_is_large_and_balanced(eval_set: dict[str, Any], index: FaqIndex) -> None:
    in_scope, out_of_scope = eval_set["in_scope"], eval_set["out_of_scope"]
    assert len(in_scope) >= 120
    assert len(out_of_scope) >= 40
    assert sum(bool(q["near"]) for q in out_of_scope) >= len(out_of_scope) // 2
    per_entry = Counter(q["id"] for q in in_scope)
    assert set(per_entry) == set(index.by_id)
    assert min(per_entry.values()) >= 4


def test_eval_questions_are_not_indexed_phrasings(
    eval_set: dict[str, Any], index: FaqIndex
) -> None:
    indexed = {normalize(p) for e in index.entries for p in e.all_phrasings}
    indexed |= {normalize(p) for ps in index.off_topic.values() for p in ps}
    assert len(indexed) > 150
    for item in [*eval_set["in_scope"], *eval_set["out_of_scope"]]:
        assert normalize(item["q"]) not in indexed, item["q"]


def test_eval_figures_meet_the_targets(eval_set: dict[str, Any], index: FaqIndex) -> None:
    report = evaluate(
        index,
        [(q["q"], q["id"]) for q in eval_set["in_scope"]],
        [q["q"] for q in eval_set["out_of_scope"]],
    )
    summary = "\n".join(report.misses)
    assert report.top1 >= 0.90, summary
    assert report.top3 >= 0.97, summary
    assert report.oos_recall >= 0.80, summary
    assert report.wrong_rate <= 0.05, summary


def test_decisions_are_fast(eval_set: dict[str, Any], index: FaqIndex) -> None:
    questions = [q["q"] for q in eval_set["in_scope"] + eval_set["out_of_scope"]]
    start = time.perf_counter()
    for question in questions:
        index.decide(question)
    per_question = (time.perf_counter() - start) / len(questions)
    assert per_question < 0.02  # 20 ms per question, with a wide margin (it is ~0.3 ms)


# -- bench --------------------------------------------------------------------------------------
def _bench_module():  # type: ignore[no-untyped-def]
    path = Path(__file__).resolve().parent.parent / "bench" / "faq.py"
    spec = importlib.util.spec_from_file_location("bench_faq", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_prints_the_figures_and_latency(capsys: pytest.CaptureFixture[str]) -> None:
    assert _bench_module().main([]) == 0
    out = capsys.readouterr().out
    for label in ["top-1 accuracy", "top-3 accuracy", "out-of-scope recall", "wrong answers"]:
        assert label in out
    assert "p50" in out and "p99" in out


def test_shipped_thresholds_are_the_leave_one_out_tuning(
    raw_data: dict[str, Any], index: FaqIndex
) -> None:
    # The thresholds come from the phrasings and dev questions, never from the eval set.
    tuned = _bench_module().tune(raw_data)
    assert tuned == index.thresholds
