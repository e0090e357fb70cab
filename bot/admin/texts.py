"""Strings of the console (Japanese, polite and short)."""

CONSOLE_TITLE = "ベネサポ 事務局コンソール"
ERROR_TITLE = "エラー"
CSRF_FAILED = (
    "フォームの有効期限が切れたか、不正な送信です。ページを再読み込みしてからやり直してください。"
)
LOGIN_FAILED = "ログインできませんでした。メールアドレスとパスワードをご確認ください。"
LOGIN_LOCKED = "ログインの失敗が続いたため、{until} まで一時的にロックしています。"
BAD_NEXT = (
    "ログイン後の移動先のアドレスが正しくありません。リンクを確認してからやり直してください。"
)
UNASSIGNED = "未割り当て"
SAVED = "保存しました。"
BAD_STATUS = "ステータスを選択してください。"
STATUS_ERRORS = {
    "message_too_long": "お客さまへのメッセージは1000文字以内で入力してください。",
    "nothing_to_do": "ステータスが同じです。変更するか、メッセージを入力してください。",
}
IDLIST_NOTE = "事務局コンソールで追加発行"

# One-click actions.
ACTION_RETIRE = "退職者の利用停止を実行"
ACTION_ADD_SEATS = "IDを追加発行"
ACTION_RESET = "初期パスワードを再発行"
ERR_ALREADY_DONE = "この操作はこのチケットで実行済みです。"
ERR_NO_MEMBER = "対象の会員IDがフォームの回答にありません。"
ERR_MEMBER_OTHER_COMPANY = "対象の会員はこのチケットの企業に所属していません。"
ERR_NO_COMPANY = "このチケットの企業が特定できません。"
ERR_BAD_COUNT = "追加するID数が正しくありません。"
ERR_WRONG_TYPE = "このチケットの種別ではこの操作はできません。"
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
