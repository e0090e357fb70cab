"""The points ledger (ポイント利用規約), one module per group of articles.

- `tables`: the SQLAlchemy models and the kinds of their rows (`EntryKind`, `LotStatus`…);
- `rules`: pure rules: the policy, expiry dates, errors, argument checks;
- `frame`: `@operation`, the idempotency bookkeeping every operation shares;
- `core`: the ledger's state, lookups, locks and entry writing;
- `earning` (Art. 2), `grants` (Art. 2.1), `redemption` (Art. 6, auto-apply 6.6),
  `allocations` (which lots paid, giving points back), `exchange` (Art. 7),
  `revocation` (Art. 5, 8, 11);
- `jobs`: confirm and expire, set-based, and settling one member;
- `queries`: balance and history;
- `check`: the ledger's invariants on the live database (`benesapo points check`).

`PointsLedger` puts the operations together; callers use it and the names below.
"""

from models.points.earning import Earning
from models.points.exchange import Exchanges
from models.points.frame import OPERATIONS, Receipt, run_in_transaction
from models.points.grants import Grants
from models.points.jobs import MemberRange
from models.points.queries import Balance, DatedPoints, HistoryItem, Queries
from models.points.revocation import Revocation
from models.points.rules import Actor, PointsError, PointsPolicy
from models.points.tables import EntryKind


class PointsLedger(Earning, Grants, Exchanges, Revocation, Queries):
    """The points service over one Session: every operation of the terms, the jobs and the
    reads. Methods flush; the caller commits."""


__all__ = [
    "OPERATIONS",
    "Actor",
    "Balance",
    "DatedPoints",
    "EntryKind",
    "HistoryItem",
    "MemberRange",
    "PointsError",
    "PointsLedger",
    "PointsPolicy",
    "Receipt",
    "run_in_transaction",
]
