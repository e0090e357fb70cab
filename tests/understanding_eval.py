"""The understanding evaluation set (issue 14, part 6): loader and the label vocabulary.

Two halves live in tests/data: `dev` (tune on it) and `test` (measure only, never tune on it).
Each item is {q, label, audience}, plus `context: form` for in-form control words and
`near_miss: true` for out-of-scope questions that sound like the domain.
"""

from pathlib import Path

import yaml

DATA_DIR = Path(__file__).parent / "data"
FAQ_FILE = Path(__file__).parent.parent / "models" / "faq.yaml"

HALVES = ("dev", "test")
AUDIENCES = frozenset({"guest", "employee", "hr"})
INTENTS = (
    "balance",
    "history",
    "expiry",
    "link",
    "unlink",
    "link_status",
    "notifications",
    "inquiry_menu",
    "inquiry_status",
    "help",
    "faq_menu",
    "company_info",
    "human",
)
SMALLTALK = ("greeting", "thanks", "ack", "apology", "who", "bot", "bye")
CONTROLS = ("cancel", "back", "help", "restart", "none")
OOS = "oos"


def path(half: str) -> Path:
    """The file of one half; ValueError for anything but 'dev' or 'test'."""
    if half not in HALVES:
        raise ValueError(f"unknown half {half!r}: expected one of {HALVES}")
    return DATA_DIR / f"understanding_{half}.yaml"


def load(half: str) -> list[dict]:
    """All items of one half, in file order."""
    with path(half).open(encoding="utf-8") as f:
        items = yaml.safe_load(f)
    if not isinstance(items, list):
        raise ValueError(f"{path(half).name}: expected a list of items")
    return items


# The FAQ entries when the set was written; entries added since have no items yet (they are
# measured once someone who did not write them writes some).
WRITTEN_FAQ_IDS = (
    "start_steps",
    "start_documents",
    "start_assign_ids",
    "start_distribute",
    "app_required",
    "company_code_what",
    "clubof_id_what",
    "hr_add_seats",
    "hr_retire",
    "hr_gold_card",
    "hr_lost_credentials",
    "hr_part_time",
    "hr_family_app",
    "contact_office",
    "points_earn",
    "points_when",
    "points_expiry",
    "points_balance",
    "points_dispute",
    "points_revoked",
    "points_shared_id",
    "points_retire",
    "points_payment",
    "points_transfer",
    "points_cashout",
    "points_family",
    "points_misuse",
    "points_refund_cancel",
    "points_return_earned",
    "points_price_change",
    "points_exchange_stock",
)
# Labels whose answer moved after the set was written: the "where do I see my balance" entry
# became the balance intent (it shows the balance instead of telling the user to ask for it).
ALIASES = {"faq:points_balance": "intent:balance"}


def faq_ids() -> list[str]:
    """The ids of models/faq.yaml's entries when the set was written (the `faq:<id>` labels)."""
    return list(WRITTEN_FAQ_IDS)


def current_faq_ids() -> list[str]:
    """The ids of models/faq.yaml's entries today."""
    with FAQ_FILE.open(encoding="utf-8") as f:
        return [entry["id"] for entry in yaml.safe_load(f)["entries"]]


def faq_labels(half: str) -> list[str]:
    """The `faq:<id>` labels an item of `half` may carry: the dev half was first written against
    the entries of its time (WRITTEN_FAQ_IDS, plus the ALIASES of entries that moved since) and
    holds retired test halves written against today's models/faq.yaml; the test half is written
    against today's entries."""
    if half == "dev":  # the retired test halves were written against today's entries
        ids = dict.fromkeys([*faq_ids(), *current_faq_ids()])
        return [f"faq:{entry_id}" for entry_id in ids] + list(ALIASES)
    path(half)  # refuses an unknown half
    return [f"faq:{entry_id}" for entry_id in current_faq_ids()]


def allowed_labels(half: str = "dev") -> frozenset[str]:
    """Every label an item of `half` may carry."""
    return frozenset(
        [f"intent:{name}" for name in INTENTS]
        + faq_labels(half)
        + [f"smalltalk:{kind}" for kind in SMALLTALK]
        + [f"control:{word}" for word in CONTROLS]
        + [OOS]
    )


def group(label: str) -> str:
    """'intent', 'faq', 'smalltalk', 'control' or 'oos'."""
    return label.split(":", 1)[0]
