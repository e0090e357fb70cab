"""Strings of the console's confirmation and result pages, company and member pages (Japanese,
polite and short)."""

CONFIRM_TITLE = "実行前の確認"
CONFIRM_LEAD = "次の処理を実行します。内容をご確認ください。"
CONFIRM_IRREVERSIBLE = "この処理は元に戻せません。"
CONFIRM_BUTTON = "確認して実行する"
CONFIRM_CANCEL = "実行せずに戻る"
CANNOT_RUN = "この処理は実行できません。"

# What a retirement does (the confirmation page).
RETIRE_WHO = "会員 {member_id}（{name}さま）の利用を停止します。"
RETIRE_POINTS_AND_LINK = "{points:,}pt が失効し、LINE連携が解除されます。"
RETIRE_POINTS_ONLY = "{points:,}pt が失効します（LINE連携はしていません）。"
RETIRE_PENDING = "付与予定の {points:,}pt も取り消されます。"
RETIRE_NOTICE = "ご本人のLINEに利用停止のお知らせが届き、メニューはすぐに切り替わります。"
RETIRE_BLOCKED = "ご本人はLINEでブロック中のため、お知らせは届きません。"

# What adding IDs does.
SEATS_WHAT = "{company}（{code}）にIDを {count}件 追加発行します。"
SEATS_FIGURES = "利用中 {used}件 → {after}件（プランの上限 {limit}件）"
SEATS_OVER = "プランの上限を超えるため実行できません（上限 {limit}件、利用中 {used}件）。"
SEATS_DELIVERY = (
    "初期パスワードは次の画面に一度だけ表示されます。初期ID・パスワード一覧（Excel）にして、"
    "企業のご登録担当者アドレス {email} 宛にお送りください。LINEのトークには書かないでください。"
)

# What a password reset does.
RESET_WHAT = (
    "会員 {member_id} の初期パスワードを再発行します。これまでのパスワードは使えなくなります。"
)
RESET_DELIVERY = (
    "新しい初期パスワードは、企業のご登録担当者アドレス {email} 宛にメールでお送りします"
    "（画面には表示しません）。"
)

# What stopping the service does (ticket action and company page).
STOP_WHAT = "{company}（{code}）のサービスを停止（解約）します。"
STOP_DATE = "ご希望の停止日：{date}（実行するとすぐに停止します）"
STOP_POINTS = "会員 {members}名の保有ポイントがすべて失効し、ログインも連携もできなくなります。"
STOP_LINKED = "LINE連携中の {linked}名は、メニューがすぐに未連携のものに切り替わります。"
SUSPEND_WHAT = "{company}（{code}）の利用を一時停止します。"
SUSPEND_EFFECT = (
    "会員 {members}名はログインも連携もできなくなります（ポイントは失効しません）。"
    "LINE連携中の {linked}名のメニューはすぐに切り替わります。"
)
RESUME_WHAT = "{company}（{code}）の利用を再開します。"
RESUME_EFFECT = "会員はまたログイン・連携できるようになります。"

# Result pages.
DONE = "実行しました。"
RESULT_RETIRED = "会員 {member_id} の利用を停止しました。"
RESULT_POINTS = "失効したポイント：{points:,}pt"
RESULT_PENDING = "取り消した付与予定のポイント：{points:,}pt"
RESULT_NO_POINTS = "ポイントはすでに失効済みでした。"
RESULT_UNLINKED = "LINE連携を解除しました（メニューは未連携のものに切り替えました）。"
RESULT_NOT_LINKED = "LINE連携はしていませんでした。"
RESULT_NOTIFIED = "ご本人のLINEへ利用停止のお知らせを送りました。"
RESULT_STOPPED = "{code} のサービスを停止しました（会員 {members}名、LINE連携中 {linked}名）。"
RESULT_TAKEN_UP = "このチケットを「対応中」にし、担当を {email} にしました。"
RESULT_NEXT = "お客さまへ結果をお知らせして、チケットを完了にしてください。"
DONE_BUTTON = "完了にしてお客さまに通知する"
DONE_MESSAGES = {
    "retire": "退職者の利用停止の手続きが完了しました。",
    "add_seats": (
        "追加のIDを発行しました。初期ID・パスワード一覧をご登録の担当者さまのメールアドレスへ"
        "お送りします。"
    ),
    "reset_password": (
        "初期パスワードを再発行しました。ご登録の担当者さまのメールアドレスへお送りします。"
    ),
    "stop_service": "サービスの停止手続きが完了しました。これまでのご利用ありがとうございました。",
}
CREDENTIALS_ONCE = (
    "初期パスワードはこの画面でのみ表示されます（保存されていないため、再表示はできません）。"
    "画面を閉じる前に、下のボタンで初期ID・パスワード一覧（Excel）をダウンロードしてください。"
)

# Company and member pages.
COMPANIES_TITLE = "企業"
MEMBERS_TITLE = "会員"
SEARCH_HINT = "企業コード・企業名・会員IDで検索"
SEARCH_TOO_SHORT = "2文字以上で検索してください。"
COMPANY_ADMIN_ONLY = "利用停止・再開・サービス停止は管理者のみ実行できます。"
COMPANY_OP_LABELS = {
    "suspend": "利用を一時停止",
    "resume": "利用を再開",
    "terminate": "サービスを停止（解約）",
}
COMPANY_OP_REFUSED = {
    "suspend": "この企業は利用中ではないため、一時停止できません（すでに実行済みかもしれません）。",
    "resume": "この企業は一時停止中ではないため、再開できません（すでに実行済みかもしれません）。",
    "terminate": "この企業はすでにサービスを停止しています。",
}
COMPANY_OP_DONE = {
    "suspend": "{code} の利用を一時停止しました。",
    "resume": "{code} の利用を再開しました。",
    "terminate": "{code} のサービスを停止しました。",
}
