"""User-facing strings of the points balance and history (reviewable without touching logic)."""

BALANCE_WORDS = ("ポイント", "残高", "ポイント残高", "残高確認", "ポイント確認")
HISTORY_WORDS = ("履歴", "ポイント履歴", "利用履歴")

LINK_LABEL = "アカウント連携"
LINK_TEXT = "連携"
NOT_LINKED = (
    "ポイント残高をご確認いただくには、はじめに会員アカウントとの連携をお願いいたします。\n"
    "下の「アカウント連携」ボタンからお手続きいただけます。"
)
RETIRED = (
    "恐れ入りますが、会員資格が終了しているため、ポイント残高をご確認いただけません。\n"
    "ご不明な点は「問い合わせ」とお送りください。"
)
COMPANY_INACTIVE = (
    "恐れ入りますが、ご所属企業のご契約が現在ご利用いただけない状態のため、"
    "ポイント残高をご確認いただけません。\n"
    "詳しくはご所属企業のご担当者さまにお問い合わせください。"
)

ALT = "ポイント残高：{available}pt"
TITLE = "ポイント残高"
AVAILABLE_LABEL = "ご利用いただけるポイント"
POINTS = "{points}pt"
PENDING_LABEL = "確定待ちのポイント"
PENDING_LINE = "{date}に確定予定"
PENDING_MORE = "ほか{count}件"
NO_PENDING = "ありません"
NEXT_EXPIRY_LABEL = "次回の有効期限"
NEXT_EXPIRY = "{date}まで {points}pt"
NO_EXPIRY = "ありません"
DEBT_LABEL = "お支払いが必要な金額"
DEBT = "{yen}円"
DEBT_NOTE = "ポイント取消により、ご利用済みのポイント分のお支払いが必要です（規約第8条）。"
AS_OF = "{date}時点"
HISTORY_BUTTON = "ポイント履歴"
FAQ_BUTTON = "よくある質問"

HISTORY_TITLE = "【ポイント履歴（最新{count}件）】"
HISTORY_EMPTY = "ポイントのお取引はまだありません。"
HISTORY_LINE = "{date} {label} {amount}"
HISTORY_REASON = "（{reason}）"
HISTORY_FOOTER = "※確定待ちのポイントはご利用から{days}日後に確定します。"

# Ledger entry kinds, as members read them.
KIND_LABELS = {
    "earn": "ご利用によるポイント（確定待ち）",
    "earn_amend": "確定待ちポイントの変更",
    "earn_cancel": "ご利用取消による確定待ちポイントの取消",
    "confirm": "ポイント確定",
    "grant": "ポイント付与",
    "redeem": "お支払いにご利用",
    "redeem_cancel": "お支払いの取消",
    "return": "ポイントのご返還",
    "lapse": "有効期限切れのため返還分が失効",
    "cash_refund": "ご利用ポイント分を現金で返金",
    "reprice": "ご請求金額の変更",
    "auto_apply": "お支払いへ自動充当",
    "exchange": "特典との交換",
    "exchange_cancel": "特典交換の取消",
    "revoke": "ポイントの取消",
    "debt": "取消によるお支払いが必要な金額",
    "debt_cleared": "お支払いが必要な金額の解消",
    "forfeit": "会員資格喪失によるポイント失効",
    "expire": "有効期限切れによる失効",
}
KIND_UNKNOWN = "ポイントのお取引"
# Kinds whose reason the member sees (an operator's reason for a grant or a revocation).
KINDS_WITH_REASON = ("grant", "revoke")
