"""User-facing strings of live chats written by the domain: statuses, business hours, who a
user is and who ended the chat (console), transcript lines for what is not text."""

# A live chat's status, by `HandoffStatus` value.
STATUS_LABELS = {
    "waiting": "要対応",
    "active": "対応中",
    "closed": "対応済み",
}

# Business hours: 「平日9時〜18時」, 「月・水・金曜9時〜18時」.
WEEKDAYS = "平日"
DAY_NAMES = "月火水木金土日"  # Monday first, as `date.weekday()`
DAY_SEPARATOR = "・"
DAYS = "{days}曜"
HOURS = "{days}{open}時〜{close}時"

# Who the user is, and who ended the chat: never a raw LINE id.
MEMBER = "会員 {member_id}"
UNLINKED_USER = "未連携のお客さま（チャット #{id}）"
CLOSED_BY_SYSTEM = "自動（やりとりがないため）"
CLOSED_BY_USER = "お客さま"

# Transcript lines for what is not text.
NON_TEXT_LABELS = {
    "sticker": "（スタンプ）",
    "image": "（画像）",
    "video": "（動画）",
    "audio": "（音声）",
    "file": "（ファイル）",
    "location": "（位置情報）",
}
CARD = "［{alt}］"  # a flex or template message, by its alternative text
OTHER_KIND = "（{kind}）"
OTHER_MESSAGE = "（メッセージ）"
POSTBACK = "（ボタン操作：{data}）"
