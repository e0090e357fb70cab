"""User-facing strings of ticket threads written by the domain (pushes and e-mails)."""

# After a status change: what happens next (one short line under the status push).
STATUS_NEXT = {
    "new": "順番に確認いたします。しばらくお待ちください。",
    "in_progress": "事務局で対応しています。進みがありましたら、このトークでお知らせします。",
    "waiting": (
        "事務局からの確認事項にご回答ください。このトークにそのまま入力するか、"
        "「この件に返信する」を押してください。"
    ),
    "done": "対応が完了しました。ほかのご用件は「問い合わせ」からどうぞ。",
    "rejected": "ご不明な点がございましたら「問い合わせ」からお知らせください。",
}
REPLY_BUTTON = "この件に返信する"

# An operator's message in a ticket's thread, as the requester sees it.
OPERATOR_MESSAGE = "【事務局より {number}】\n{text}"

# The mail to the assigned operator (or the back office) when the requester writes.
MAIL_SUBJECT = "[ベネサポ] {number}（{type}）にお客さまからメッセージが届きました"
MAIL_BODY = """\
お問い合わせ {number} に、お客さまから LINE でメッセージが届きました。
{reopened}
受付番号：{number}
種別：{type}
受信日時：{at}
お問い合わせ者：{requester}

--- メッセージ ---
{text}

管理画面：{url}
"""
MAIL_REOPENED = "ステータスを「お客さまの回答待ち」から「対応中」に戻しました。\n"
