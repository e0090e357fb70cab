"""The points ledger's words people read: reasons it writes into entries itself (shown in the
history on the console and to the member)."""

# A cash refund's entry: the yen refunded.
CASH_REFUND_REASON = "{yen}円"
# The reason `forfeit` records unless given one (Art. 11).
FORFEIT_REASON = "会員資格の喪失"
