"""User-facing strings of the FAQ (reviewable without touching logic)."""

CATEGORIES_ALT = "よくある質問：カテゴリをお選びください"
CATEGORIES_INTRO = (
    "よくある質問です。カテゴリをお選びください。\nご質問を文章で送っていただいても大丈夫です。"
)
CATEGORY_BUTTON = "質問を見る"
CATEGORY_COUNT = "{count}件の質問"
CATEGORY_ALT = "よくある質問：{label}"
CATEGORY_HEADER = "{label}"
CATEGORY_HINT = "知りたい質問を押してください。"
CATEGORY_NOT_FOUND = "申し訳ありません、そのカテゴリは見つかりませんでした。"
ENTRY_NOT_FOUND = "申し訳ありません、その質問は見つかりませんでした。"

ACTIONS_ALT = "関連するお手続き"
ACTIONS_BODY = "こちらからお手続き・ご確認いただけます。"

FEEDBACK_QUESTION = "役に立ちましたか？"
FEEDBACK_YES = "はい"
FEEDBACK_NO = "いいえ"
FEEDBACK_THANKS_YES = "ご回答ありがとうございます。お役に立てて何よりです。"
FEEDBACK_THANKS_NO = (
    "ご回答ありがとうございます。今後の改善に役立てます。\n"
    "解決しない場合は、「問い合わせ」から事務局へご相談ください（メール：{contact_email}）。"
)

CLOSE_CALL = "もしかして、次のご質問でしょうか？\n下のボタンからお選びください。"
NONE_OF_THESE = "どれでもない"

UNKNOWN = (
    "申し訳ありません、そのご質問にはお答えできる情報が見つかりませんでした。\n"
    "お手数ですが、「問い合わせ」から事務局へご相談いただくか、"
    "メール（{contact_email}）でお問い合わせください。"
)
UNKNOWN_ALT = "お答えできる情報が見つかりませんでした"

OFF_TOPIC = (
    "申し訳ありません、そのご質問は{service}ではお答えできません。\n"
    "給与・勤怠・休暇・税金・社会保険などは、お勤め先のご担当部署へお問い合わせください。\n"
    "{service}では、福利厚生サービスとポイントについてご案内しています。"
)

INQUIRY_LABEL = "お問い合わせ"
INQUIRY_TEXT = "問い合わせ"
FAQ_LABEL = "よくある質問"
