"""User-facing strings the companies service writes (a push, a ledger entry's reason)."""

# The push a member receives when retired (polite and short).
RETIREMENT_NOTICE = (
    "ご所属企業からのご連絡により、会員資格が終了しました。\n"
    "LINEアカウントとの連携を解除し、保有ポイントはポイント利用規約第11条により失効しました。\n"
    "これまでご利用いただき、ありがとうございました。"
)

# The reason of the forfeit entry in the member's points history (Art. 11); `why` is
# `retired` or `company_terminated`.
FORFEIT_REASON = "会員資格の喪失（{why}）"
