"""User-facing strings of expiry reminders and the notification settings."""

TITLE_FIRST = "ポイント有効期限のお知らせ"
TITLE_LAST_CALL = "【最終のお知らせ】ポイント有効期限"
BODY = "{points}ポイントが{date}に失効します。"
NOTE_FIRST = "お早めにご利用ください。"
NOTE_LAST_CALL = "有効期限まであとわずかです。失効したポイントは戻りません。"
BUTTON_BALANCE = "残高を見る"
BUTTON_HOW_TO_USE = "ポイントの使い方"
HOW_TO_USE_QUESTION = "ポイントの使い方"
ALT = "{points}ポイントが{date}に失効します"

SETTINGS_ON = (
    "ポイント失効前のお知らせ：受け取る（現在の設定）\n"
    "受け取りを停止する場合は「停止する」を押してください。"
)
SETTINGS_OFF = (
    "ポイント失効前のお知らせ：停止中（現在の設定）\n再開する場合は「受け取る」を押してください。"
)
TURNED_ON = "ポイント失効前のお知らせを受け取る設定にしました。"
TURNED_OFF = "ポイント失効前のお知らせを停止しました。いつでも「通知設定」から再開できます。"
BUTTON_ON = "受け取る"
BUTTON_OFF = "停止する"
SETTINGS_KEPT = "通知設定は変更していません。"
# Typed answers to the settings question (the buttons say 受け取る / 停止する).
ON_WORDS = (
    "受け取る",
    "受け取ります",
    "オン",
    "on",
    "再開",
    "再開する",
    "通知する",
    "受け取りたい",
)
OFF_WORDS = ("停止する", "停止", "オフ", "off", "受け取らない", "通知しない", "停止したい")
