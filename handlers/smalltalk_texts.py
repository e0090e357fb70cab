"""User-facing strings of small talk and of the "talk to a person" intent."""

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
        "担当者へのご相談は「問い合わせ」から承ります。"
    ),
    "bye": "ご利用ありがとうございました。またいつでもお声がけください。",
}
# Small talk whose answer offers the menu of what the account does.
WITH_MENU = frozenset({"greeting", "who", "bot"})

HUMAN = (
    "担当者へのご相談は、「問い合わせ」から内容をお送りください。\n"
    "事務局の担当者が確認し、このトークでご連絡します（平日9時〜17時）。"
)
