"""User-facing strings of small talk."""

SMALLTALK = {
    "greeting": "こんにちは。{service}の公式アカウントです。\nご用件をお気軽にお送りください。",
    "thanks": "どういたしまして。ほかにもご不明な点があれば、いつでもお送りください。",
    "ack": "承知しました。ほかにご用件があればお送りください。",
    "apology": "お気になさらないでください。ご用件があれば、あらためてお送りください。",
    "who": (
        "{service}の公式アカウントです。ポイント残高の確認、よくある質問へのご回答、"
        "事務局へのお問い合わせをこのトークで承ります。"
    ),
    "bot": (
        "はい、こちらは自動でお答えするアカウントです。"
        "担当者とお話しになりたいときは「担当者と話したい」とお送りください。"
    ),
    "bye": "ご利用ありがとうございました。またいつでもお声がけください。",
}
# Small talk whose answer offers the menu of what the account does.
WITH_MENU = frozenset({"greeting", "who", "bot"})
