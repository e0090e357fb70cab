"""Strings of the console (Japanese, polite and short)."""

CONSOLE_TITLE = "ベネサポ 事務局コンソール"
ERROR_TITLE = "エラー"
CSRF_FAILED = (
    "フォームの有効期限が切れたか、不正な送信です。ページを再読み込みしてからやり直してください。"
)
LOGIN_FAILED = "ログインできませんでした。メールアドレスとパスワードをご確認ください。"
LOGIN_LOCKED = "ログインの失敗が続いたため、{until} まで一時的にロックしています。"
FORBIDDEN = "このページを表示する権限がありません。管理者にお問い合わせください。"
BAD_NEXT = (
    "ログイン後の移動先のアドレスが正しくありません。リンクを確認してからやり直してください。"
)
UNASSIGNED = "未割り当て"
SAVED = "保存しました。"
BAD_STATUS = "ステータスを選択してください。"
STATUS_ERRORS = {
    "message_too_long": "お客さまへのメッセージは1000文字以内で入力してください。",
    "nothing_to_do": "ステータスが同じです。変更するか、メッセージを入力してください。",
    "message_has_password": (
        "メッセージにパスワードのような文字列が含まれています。ID・パスワードはLINEでは送れません。"
        "企業のご登録担当者アドレスへのメール、または初期ID・パスワード一覧でお送りください。"
    ),
}
IDLIST_NOTE = "事務局コンソールで追加発行"

# One-click actions.
ACTION_RETIRE = "退職者の利用停止を実行"
ACTION_ADD_SEATS = "IDを追加発行"
ACTION_RESET = "初期パスワードを再発行"
ACTION_STOP_SERVICE = "サービスを停止（解約）"
ERR_ALREADY_DONE = (
    "この操作はこのチケットですでに実行されています（同時に押された場合も実行は1回だけです）。"
    "結果はチケットの履歴でご確認ください。"
)
ERR_NO_MEMBER = "対象の会員IDがフォームの回答にありません。"
ERR_MEMBER_OTHER_COMPANY = "対象の会員はこのチケットの企業に所属していません。"
ERR_NO_COMPANY = "このチケットの企業が特定できません。"
ERR_BAD_COUNT = "追加するID数が正しくありません。"
ERR_WRONG_TYPE = "このチケットの種別ではこの操作はできません。"
ERR_CREDENTIALS_REQUESTER = (
    "このご依頼は、連携済みの企業担当者さま（またはご本人さまのID）からのものではないため、"
    "パスワードを再発行できません。企業のご登録担当者さまへご確認ください。"
)

# Credentials go to the company's registered HR contact address only (never into a chat).
CREDENTIALS_MAIL_SUBJECT = "[ベネサポ] 初期パスワード再発行のお知らせ（{number}）"
CREDENTIALS_MAIL_BODY = """\
{company} ご担当者さま

ベネサポ事務局です。お問い合わせ {number} のご依頼により、次の会員の初期パスワードを
再発行しました。

企業コード：{code}
会員ID：{member_id}
新しい初期パスワード：{password}

これまでのパスワードは使えなくなりました。ご本人さまへお伝えください。
このメールは、ご登録の企業担当者さまのアドレスにのみお送りしています。
お心当たりのない場合は、事務局（{backoffice}）までご連絡ください。
"""
COMPANY_ERRORS = {
    "seat_limit": (
        "ご契約プランの上限を超えるため実行できません（上限 {limit}件、利用中 {used}件）。"
    ),
    "already_retired": "この会員はすでに利用停止済みです。",
    "company_terminated": "この企業は解約済みのため実行できません。",
    "unknown_member": "会員が見つかりません。",
    "unknown_company": "企業が見つかりません。",
    "invalid_request": "依頼内容が正しくありません。",
}

# Operators (admins only).
OPERATORS_TITLE = "オペレーター管理"
ROLE_LABELS = {"admin": "管理者", "operator": "オペレーター"}
OPERATOR_DEACTIVATED = "{email} を無効にしました。ログイン中のセッションも終了しました。"
OPERATOR_ACTIVATED = "{email} を有効にしました。"
OPERATOR_NOT_SELF = "ご自身のアカウントは無効にできません。"

# Live chats (bot/admin/handoff_views.py).
HANDOFF_NOTICES = {
    "sent": "返信を送信しました。",
    "note": "メモを保存しました。",
    "closed": "対応済みにしました。お客さまにはボットに戻ったことをお知らせしました。",
}
HANDOFF_ERRORS = {
    "duplicate": "この返信はすでに送信されています（同時に押された場合も送信は1回だけです）。",
    "closed": "このチャットはすでに対応済みです。",
    "empty": "返信の本文を入力するか、定型文を選んでください。",
    "too_long": "返信は1000文字以内で入力してください。",
    "bad_key": "フォームが正しくありません。ページを再読み込みしてからやり直してください。",
    "note_too_long": "メモは2000文字以内で入力してください。",
}

# Ticket threads (bot/admin/thread_views.py).
THREAD_ERRORS = {
    "duplicate": (
        "このメッセージはすでに送信されています（同時に押された場合も送信は1回だけです）。"
    ),
    "closed": "このチケットは完了しているため、メッセージを送れません。",
    "empty": "メッセージの本文を入力してください。",
    "too_long": "メッセージは1000文字以内で入力してください。",
    "has_password": (
        "メッセージにパスワードのような文字列が含まれています。ID・パスワードはLINEでは送れません。"
    ),
    "bad_key": "フォームが正しくありません。ページを再読み込みしてからやり直してください。",
}
