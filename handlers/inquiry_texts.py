"""User-facing strings of the inquiry forms (polite, short)."""

# Words the user types or taps.
ENTRY_WORDS = ("問い合わせ", "お問い合わせ", "申請", "問い合わせする", "事務局に問い合わせ")
STATUS_WORDS = ("問い合わせ状況", "お問い合わせ状況", "申請状況", "受付状況")
SUBMIT = "送信"
EDIT = "修正"
SKIP_UNKNOWN = "わからない"
MYSELF = "自分のID"

# Quick-reply labels of the types (≤ 20 characters).
TYPE_MENU_LABELS = {
    "add_seats": "ID追加の申請",
    "retire": "退職者の利用停止",
    "credentials": "コード・ID・PW再送",
    "stop_service": "サービス停止の申請",
    "points": "ポイントについて",
    "other": "その他の質問",
}
STATUS_LABEL = "問い合わせ状況"

MENU_HR = "企業担当者さま向けのご依頼・ご質問です。ご用件をお選びください。"
MENU_HR_REQUESTS = "各種申請を承ります。申請の種類をお選びください。"
MENU_EMPLOYEE = "事務局へのお問い合わせです。ご用件をお選びください。"
MENU_UNLINKED = (
    "事務局へのお問い合わせです。ご用件をお選びください。\n"
    "（アカウント連携がお済みでない方は、ご質問を承ります。ID・パスワードをお忘れの場合は、"
    "貴社のご担当者さまへお問い合わせください）"
)
MENU_INACTIVE = (
    "ご所属企業のご利用が停止されているため、会員向けのご依頼は承れません。ご質問を承ります。"
)
TYPE_NOT_ALLOWED = (
    "申し訳ありません。このご依頼は企業担当者さまのみ承っております。ほかのご用件をお選びください。"
)
CREDENTIALS_NOT_ALLOWED = (
    "申し訳ありません。ID・パスワードの再送は、アカウント連携がお済みの企業担当者さま、"
    "またはご本人さま（ご自身のID）からのみ承っております。"
    "ID・パスワードをお忘れの場合は、貴社のご担当者さまへお問い合わせください。"
)
CREDENTIALS_DELIVERY = (
    "\nID・パスワードなどは、ご登録の企業担当者さまのメールアドレス宛にお送りします"
    "（LINEではお送りしません）。"
)

# Prompts, one per step.
ASK_COMPANY_CODE = "企業コード（英数字8桁）を入力してください。"
ASK_SEAT_COUNT = (
    "追加するIDの数を半角または全角の数字で入力してください。\n"
    "現在 {used}件 ご利用中で、ご契約プランの上限は {limit}件 です"
    "（あと {remaining}件 まで追加できます）。"
)
ASK_RETIREE_NAME = "退職された方のお名前（氏名）を入力してください。"
ASK_RETIREE_ID = "退職された方の会員ID（JOYO Club Off 専用ID）を入力してください。"
ASK_CREDENTIAL_WHAT = "再送をご希望のものをお選びください。"
ASK_TARGET_MEMBER_ID = (
    "再送の対象となる方の会員IDを入力してください。ご自身のIDの場合は「自分のID」を押してください。"
)
ASK_NAME = "お名前（氏名）を入力してください。"
ASK_MEMBER_ID = (
    "会員IDがおわかりでしたら入力してください。わからない場合は「わからない」を押してください。"
)
ASK_STOP_DATE = (
    "サービスの停止をご希望の日を入力するか、下の「日付を選ぶ」からお選びください"
    "（例：2026年6月30日、6/30、来月末）。"
)
ASK_POINTS_WHEN = (
    "ポイント数に疑問のあるご利用の時期（例：2026年3月ごろ）を入力してください。"
    "（ポイント利用規約第3条に基づき、事務局より内容をご説明します）"
)
ASK_DETAIL = "ご用件の内容を入力してください（{max}文字まで）。"
ASK_DETAIL_STOP = "停止をご希望の理由やご連絡事項を入力してください（{max}文字まで）。"
ASK_DETAIL_POINTS = (
    "ご利用のサービス名・金額・付与されたポイント数など、お気づきの点を入力してください"
    "（{max}文字まで）。"
)

CREDENTIAL_CHOICES = {
    "company_code": "企業コード",
    "id_password": "ID・パスワード",
    "all": "すべて",
}

# Input errors.
ERR_TOO_LONG = "{max}文字以内で入力してください。"
ERR_EMPTY = "入力が空のようです。もう一度入力してください。"
ERR_COMPANY_CODE_CHARS = (
    "企業コードは半角英数字8桁です（かな・漢字・記号は含まれません）。"
    "お手元の資料をご確認のうえ、もう一度入力してください。"
)
ERR_COMPANY_CODE_LENGTH = (
    "企業コードは英数字8桁です（入力は{count}桁でした）。"
    "お手元の資料をご確認のうえ、もう一度入力してください。"
)
ERR_COMPANY_CODE_ALPHABET = (
    "企業コードに 0（ゼロ）・1（イチ）・I・L・O は使われていません。"
    "似た文字（O→Q/D、1→7 など）をご確認のうえ、もう一度入力してください。"
)
ERR_COMPANY_CODE_UNKNOWN = (
    "この企業コードは見つかりませんでした。"
    "お手元の資料の企業コードをご確認のうえ、もう一度入力してください。"
)
ERR_SEAT_NUMBER = "追加するIDの数は、1以上の整数で入力してください（例：5）。"
ERR_SEAT_LIMIT = (
    "ご契約プランの上限を超えています。追加できるのはあと {remaining}件 までです"
    "（上限 {limit}件、ご利用中 {used}件）。"
)
ERR_NO_SEATS_LEFT = (
    "ご契約プランの上限（{limit}件）までIDを発行済みのため、ID追加の申請はできません。"
    "プランの変更は「その他の質問」からご相談ください。"
)
ERR_MEMBER_ID_CHARS = (
    "会員IDの形式が正しくありません。会員IDは半角英数字10桁です（かな・漢字・記号は含まれません）。"
)
ERR_MEMBER_ID_LENGTH = "会員IDは英数字10桁です（入力は{count}桁でした）。もう一度入力してください。"
ERR_MEMBER_ID_ALPHABET = (
    "会員IDに 0（ゼロ）・1（イチ）・I・L・O は使われていません。"
    "お手元の「初期ID・パスワード一覧」をご確認のうえ、もう一度入力してください。"
)
ERR_MEMBER_NOT_IN_COMPANY = (
    "この会員IDは貴社の会員として見つかりませんでした。お手元の「初期ID・パスワード一覧」を"
    "ご確認のうえ、もう一度入力してください。"
)
ERR_MEMBER_ALREADY_RETIRED = "この会員IDはすでに利用停止済みです。別の会員IDを入力してください。"
ERR_MEMBER_IS_HR = (
    "企業担当者さまのIDは退職者として申請できません。従業員さまの会員IDを入力してください。"
)
ERR_CHOICE = "下のボタンからお選びください。"
ERR_PERIOD = "時期がわかるように入力してください（例：2026年3月ごろ）。"
DATE_ERRORS = {
    "not_a_date": (
        "日付がわかるように入力してください（例：2026年6月30日、6/30、来月末）。"
        "下の「日付を選ぶ」からも選べます。"
    ),
    "no_such_day": (
        "その日付はカレンダーにありません。日付をご確認のうえ、もう一度入力してください。"
    ),
    "past": "過去の日付は指定できません。{first}以降の日付を入力してください。",
    "too_soon": "本日の停止はお受けできません。{first}以降の日付を入力してください。",
    "too_far": "停止希望日は{last}までの日付で入力してください。",
}
DATE_UNDERSTOOD = "停止希望日を {date} として承りました。"
PICK_DATE = "日付を選ぶ"
NAME_ERRORS = {
    "empty": "入力が空のようです。お名前を入力してください。",
    "too_long": "お名前は{max}文字以内で入力してください。",
    "no_letters": "お名前を文字で入力してください（絵文字・記号・数字だけではお受けできません）。",
    "control_word": "お名前を入力してください。中止する場合は「やめる」を押してください。",
}
PREVIOUS_ANSWER = "前回のご回答：{value}"
ERR_NOT_ALLOWED_ANY_MORE = (
    "ご登録の状況が変わったため、このお申し込みは送信できませんでした。"
    "お手数ですが「問い合わせ」からもう一度お願いいたします。"
)

# Summary and results.
SUMMARY_HEAD = "以下の内容で送信します。よろしければ「送信」を押してください。\n\n【{type}】"
SUMMARY_FOOT = "内容を直す場合は「修正」、中止する場合は「やめる」を押してください。"
ASK_EDIT_WHICH = "どの項目を修正しますか？"
SUBMITTED = (
    "お問い合わせを受け付けました。\n受付番号：{number}\n"
    "事務局より、このトークでご連絡いたします。"
    "状況は「問い合わせ状況」でご確認いただけます。"
)
CANCELLED = "お問い合わせを中止しました。またいつでもどうぞ。"

STATUS_NONE = "現在、対応中のお問い合わせはありません。"
STATUS_HEAD_HR = "貴社のお問い合わせ・ご依頼（対応中のもの）です。"
STATUS_HEAD = "対応中のお問い合わせです。"
STATUS_LINE = "・{number} {type}：{status}（{date} 受付）"
HELP = (
    "いまは「{type}」の入力中です。下の質問にお答えください。\n"
    "「戻る」で前の質問へ、「最初から」で入力のやり直し、「やめる」で中止できます。"
)
