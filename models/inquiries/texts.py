"""User-facing strings of tickets: the back office's vocabulary (console, e-mail, chat), the
status push to the requester and the back office's e-mail for a new ticket."""

from __future__ import annotations

from models.inquiries.kinds import InquiryStatus, InquiryType, RequesterKind

# The service's name in the status push (`change_status(service_name=…)` overrides it).
SERVICE_NAME = "ベネサポ"

# The back office's vocabulary (console, e-mail, chat).
TYPE_LABELS: dict[InquiryType, str] = {
    InquiryType.ADD_SEATS: "ID追加",
    InquiryType.RETIRE: "退職者の利用停止",
    InquiryType.CREDENTIALS: "企業コード・ID・パスワード再送",
    InquiryType.STOP_SERVICE: "サービスの停止",
    InquiryType.POINTS: "ポイントについて",
    InquiryType.OTHER: "その他のご質問",
}
STATUS_LABELS: dict[InquiryStatus, str] = {
    InquiryStatus.NEW: "受付済み",
    InquiryStatus.IN_PROGRESS: "対応中",
    InquiryStatus.WAITING: "お客さまの回答待ち",
    InquiryStatus.DONE: "完了",
    InquiryStatus.REJECTED: "お受けできませんでした",
}
REQUESTER_LABELS: dict[RequesterKind, str] = {
    RequesterKind.HR_CONTACT: "企業担当者",
    RequesterKind.EMPLOYEE: "従業員",
    RequesterKind.UNLINKED: "未連携のお客さま",
}
# Labels of the answers' keys (the form's fields), in display order.
ANSWER_LABELS: dict[str, str] = {
    "company_code": "企業コード",
    "seat_count": "追加するID数",
    "retiree_name": "退職者のお名前",
    "retiree_member_id": "退職者の会員ID",
    "credential_what": "再送を希望するもの",
    "target_member_id": "対象の会員ID",
    "name": "お名前",
    "member_id": "会員ID",
    "stop_date": "停止希望日",
    "points_when": "対象のご利用時期",
    "detail": "内容",
}

# The push the requester receives when the back office changes the status.
STATUS_PUSH = "【{service}】お問い合わせ {number}（{type}）の状況が「{status}」になりました。"
STATUS_PUSH_MESSAGE = "\n\n事務局より：\n{message}"

MAIL_SUBJECT = "[ベネサポ] 新しいお問い合わせ {number}（{type}）"
MAIL_BODY = """\
ベネサポ LINE から新しいお問い合わせが届きました。

受付番号：{number}
種別：{type}
受付日時：{created}
企業：{company}
お問い合わせ者：{requester}

--- フォームの回答 ---
{answers}

管理画面：{url}
"""


# How a ticket names its requester and its company to people.
REQUESTER_MEMBER = "{kind}（会員ID {member_id}）"
REQUESTER_LINE = "{kind}（LINE {line_user_id}）"
COMPANY = "{name}（{code}）"
COMPANY_TYPED = "企業コード {code}（入力値）"
# One answer of the form in the new-ticket e-mail: 「label：value」.
ANSWER_LINE = "{label}：{value}"
