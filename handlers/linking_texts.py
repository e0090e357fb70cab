"""User-facing strings of account linking, link info, company info and the member guard."""

ASK_CODE = (
    "アカウント連携を始めます。\n"
    "ご所属企業の「企業コード」（英数字8桁）を入力してください。\n"
    "※パスワードはトークに入力しないでください。次の画面で入力していただきます。"
)
CANCEL_LABEL = "やめる"
CANCELLED = "アカウント連携を中止しました。"
CODE_FORMAT = (
    "企業コードは英数字8桁です（例：AB23CD45）。\n"
    "お手元の「企業コードのご案内」をご確認のうえ、もう一度入力してください。"
)
CODE_UNKNOWN = (
    "入力された企業コードが見つかりませんでした。\n"
    "お手数ですが、企業コードをご確認のうえ、もう一度入力してください。"
)
CODE_GIVE_UP = (
    "企業コードを確認できなかったため、いったん終了しました。\n"
    "企業コードがご不明な場合は、ご所属企業の福利厚生ご担当者さまにお問い合わせください。"
)
COMPANY_INACTIVE = (
    "申し訳ありません。ご所属企業のサービスは現在ご利用いただけない状態です。\n"
    "詳しくはご所属企業の福利厚生ご担当者さまにお問い合わせください。"
)
LOGIN_BUTTON_ALT = "ログイン画面からアカウント連携を行ってください"
LOGIN_BUTTON_BODY = (
    "{company}さまの企業コードを確認しました。\n"
    "下のボタンからログイン画面を開き、会員IDとパスワードを入力してください（10分間有効）。"
)
LOGIN_BUTTON_LABEL = "ログイン画面を開く"
LINKING_UNAVAILABLE = (
    "申し訳ありません。ただいまアカウント連携をご利用いただけません。\n"
    "しばらくしてから、もう一度お試しください。"
)
ALREADY_LINKED = (
    "すでに会員ID {member_id} と連携済みです。\n"
    "別の会員IDに切り替える場合は、「連携解除」のあとにもう一度連携してください。"
)

LINKED = "アカウント連携が完了しました。\n{company}さま・会員ID {member_id} でご利用いただけます。"
LINKED_MEMBER_HINT = "「残高」とお送りいただくと、ポイント残高をご確認いただけます。"
LINKED_HR_HINT = (
    "企業担当者さま向けの機能をご利用いただけます。「企業情報」で利用状況をご確認いただけます。"
)
LINK_FAILED = (
    "アカウント連携を完了できませんでした。\n"
    "お手数ですが、「連携」とお送りいただき、はじめからやり直してください。"
)
LINK_MEMBER_ELSEWHERE = (
    "この会員IDはすでに別のLINEアカウントと連携されているため、連携できませんでした。\n"
    "お心当たりがない場合は、事務局までお問い合わせください。"
)
LINK_INACTIVE = (
    "この会員IDは現在ご利用いただけないため、連携できませんでした。\n"
    "詳しくはご所属企業の福利厚生ご担当者さまにお問い合わせください。"
)
LINK_SELF_ELSEWHERE = (
    "このLINEアカウントはすでに別の会員IDと連携されています。\n"
    "切り替える場合は、「連携解除」のあとにもう一度連携してください。"
)

UNLINK_CONFIRM = (
    "会員ID {member_id} との連携を解除しますか？\n"
    "解除すると、ポイント残高などをこのトークで確認できなくなります。"
)
UNLINK_CONFIRM_ALT = "連携解除の確認"
UNLINK_YES = "解除する"
UNLINK_NO = "キャンセル"
UNLINKED = "連携を解除しました。再度ご利用になる場合は「連携」とお送りください。"
UNLINK_KEPT = "連携解除を取りやめました。引き続きご利用いただけます。"
NOT_LINKED = (
    "まだ会員アカウントと連携されていません。\n"
    "「連携」とお送りいただくと、アカウント連携を始められます。"
)
LINK_LABEL = "連携する"

LINK_INFO = (
    "【連携情報】\n企業名：{company}\n会員ID：{member_id}\n種別：{kind}\n連携日時：{linked_at}"
)
KIND_EMPLOYEE = "従業員"
KIND_HR = "企業担当者"

COMPANY_INFO = (
    "【企業情報】\n{company}（企業コード {code}）\n"
    "ご利用状況：{status}\n"
    "発行済みID：{used} / プラン上限 {limit}\n"
    "LINE連携済みの会員：{linked}名"
)
COMPANY_INFO_LINKED_IDS = "連携済みの会員ID：\n{ids}"
COMPANY_INFO_MORE = "ほか{count}名"
COMPANY_STATUS = {"active": "ご利用中", "suspended": "一時停止中", "terminated": "ご契約終了"}
HR_ONLY = "この機能は企業担当者さま専用です。"

SUSPENDED = (
    "申し訳ありません。ご所属企業のサービスは現在一時停止中のため、この機能はご利用いただけません。\n"
    "詳しくはご所属企業の福利厚生ご担当者さまにお問い合わせください。"
)
TERMINATED = (
    "申し訳ありません。ご所属企業のサービスのご契約が終了しているため、この機能はご利用いただけません。\n"
    "ご不明な点は事務局までお問い合わせください。"
)

# -- the login page (bot.linking_page) -----------------------------------------------------
PAGE_TITLE = "ベネサポ アカウント連携"
PAGE_LEAD = "企業コード・会員ID・パスワードを入力して、LINEアカウントと連携してください。"
PAGE_COMPANY_CODE = "企業コード（英数字8桁）"
PAGE_MEMBER_ID = "会員ID"
PAGE_PASSWORD = "パスワード"
PAGE_SUBMIT = "ログインして連携する"
PAGE_NOTE = "初期ID・パスワードは、ご所属企業の福利厚生ご担当者さまからお受け取りください。"
PAGE_EXPIRED_TITLE = "このリンクは有効期限が切れています"
PAGE_EXPIRED = (
    "お手数ですが、LINEのトーク画面で「連携」とお送りいただき、はじめからやり直してください。"
)
PAGE_UNAVAILABLE_TITLE = "ただいま連携の準備ができませんでした"
PAGE_UNAVAILABLE = (
    "申し訳ありません。LINEとの通信がうまくいきませんでした。"
    "しばらくしてから、このページを開き直してください。"
)
PAGE_LINE_ACCOUNT = (
    "LINEアカウント「{name}」と連携します。お心当たりがない場合は、この画面を閉じてください。"
)
PAGE_LIFF_CHECKING = "LINEアカウントを確認しています…"
PAGE_LIFF_FAILED = (
    "LINEアカウントを確認できませんでした。"
    "お手数ですが、LINEのトーク画面のボタンから、もう一度開いてください。"
)
PAGE_LIFF_REFUSED_TITLE = "LINEアカウントを確認できませんでした"
PAGE_LIFF_REFUSED = (
    "お手数ですが、LINEのトーク画面で「連携」とお送りいただき、"
    "表示されたボタンから開き直してください。"
)
PAGE_CSRF = "画面の有効期限が切れました。お手数ですが、もう一度入力してください。"
PAGE_ERRORS = {
    "invalid": "企業コード・会員ID・パスワードのいずれかが正しくありません。",
    "locked": (
        "ログインの失敗が続いたため、一時的にログインできません。"
        "15分ほどしてから、もう一度お試しください。"
    ),
    "company_inactive": "ご所属企業のサービスは現在ご利用いただけません。",
    "member_retired": "この会員IDは現在ご利用いただけません。",
    "member_linked_elsewhere": (
        "この会員IDはすでに別のLINEアカウントと連携されています。"
        "お心当たりがない場合は、事務局までお問い合わせください。"
    ),
    "line_user_linked_elsewhere": (
        "このLINEアカウントはすでに別の会員IDと連携されています。"
        "トーク画面で「連携解除」のあとにもう一度お試しください。"
    ),
}
