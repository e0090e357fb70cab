"""The one normalisation of Japanese input: NFKC, case, long vowels, kana folding, variants."""

from __future__ import annotations

import pytest

from common.textnorm import fold_kana, normalize, normalize_code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３", "abc123"),  # full-width → half-width, lower case
        ("ﾎﾟｲﾝﾄ", "ぽいんと"),  # half-width katakana → hiragana
        ("ポイント", "ぽいんと"),
        ("パスワ-ド", "ぱすわーど"),  # ASCII hyphen after kana is a long vowel
        ("パスワ－ド", "ぱすわーど"),  # full-width hyphen-minus
        ("パスワ―ド", "ぱすわーど"),  # horizontal bar
        ("ゴ〜ルド", "ご~るど"),  # wave dash is not a long vowel
        ("  残高  を \u3000確認 ", "残高 を 確認"),  # spaces collapsed and trimmed
        ("INQ‐000123", "inq-000123"),  # a dash between letters and digits stays a dash
        ("1～2週間", "1~2週間"),
        ("お問合せ", "お問い合わせ"),  # spelling variants
        ("問い合せ", "問い合わせ"),
        ("申し込みたい", "申込みたい"),
        ("分からない", "わからない"),
        ("PW忘れた", "ぱすわーど忘れた"),  # ASCII abbreviation as a whole word
        ("ＰＷ", "ぱすわーど"),
        ("100pt", "100ぽいんと"),
        ("ptsd", "ptsd"),  # not a whole word: untouched
        ("Eメール", "eめーる"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize("word", ["残高", "連携", "問い合わせ", "使い方", "よくある質問", "ヘルプ"])
def test_flow_keywords_are_stable(word: str) -> None:
    # Keywords and user text both go through normalize: applying it twice changes nothing.
    assert normalize(normalize(word)) == normalize(word)
    assert normalize(f" {word} ") == normalize(word)


def test_katakana_and_hiragana_spellings_meet() -> None:
    assert normalize("ゴールドカード") == normalize("ごーるどかーど") == normalize("ｺﾞｰﾙﾄﾞｶｰﾄﾞ")
    assert normalize("メニュー") == "めにゅー"
    assert normalize("ヘルプ") == normalize("へるぷ")


def test_fold_kana_keeps_everything_else() -> None:
    assert fold_kana("ヴァイオリン、漢字、ABC、ー") == "ゔぁいおりん、漢字、ABC、ー"


def test_normalize_is_idempotent_on_mixed_text() -> None:
    sample = "ﾎﾟｲﾝﾄの有効期限は？ＰＷを忘れた場合、お問合せ先は? パスワ-ド"
    once = normalize(sample)
    assert normalize(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ab12-cd34", "AB12CD34"),
        ("ＡＢ１２ ＣＤ３４", "AB12CD34"),
        ("ab12‐cd34", "AB12CD34"),
        ("ab12ーcd34", "AB12CD34"),
        ("ab_12 〜cd34", "AB12CD34"),
    ],
)
def test_normalize_code(raw: str, expected: str) -> None:
    assert normalize_code(raw) == expected
