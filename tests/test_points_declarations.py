"""What the ledger declares agrees with what members and partners are shown: every entry kind
has a member-facing label, and every ledger operation offered to partners has its OpenAPI
entry, with the same arguments as the ledger's method."""

from __future__ import annotations

import pytest

from bot.partner_openapi import openapi_document
from bot.partner_operations import BY_NAME
from handlers.balance_texts import KIND_LABELS, KIND_UNKNOWN
from models.points import OPERATIONS, EntryKind, PointsLedger
from models.points.frame import operation
from models.points.tables import PointEntry


def test_every_entry_kind_has_a_member_facing_label_and_no_label_is_stale():
    assert set(KIND_LABELS) == {kind.value for kind in EntryKind}
    for kind in EntryKind:
        label = KIND_LABELS[kind]
        assert label.strip() and label != KIND_UNKNOWN, kind


def test_every_entry_kind_fits_its_column():
    width = PointEntry.__table__.c.kind.type.length
    assert max(len(kind.value) for kind in EntryKind) <= width


def _documented() -> dict[str, str]:
    """operationId → HTTP method, from the document the partner API serves."""
    return {
        operation_["operationId"]: method
        for item in openapi_document()["paths"].values()
        for method, operation_ in item.items()
    }


def test_every_partner_ledger_operation_has_an_openapi_entry_and_no_other_command_does():
    documented = _documented()
    offered = {name for name, spec in OPERATIONS.items() if spec.partner_api}
    assert offered == {name for name, method in documented.items() if method == "post"}
    internal = {name for name, spec in OPERATIONS.items() if not spec.partner_api}
    assert internal == {"forfeit"}  # Art. 11 follows membership, not a partner's request
    assert not internal & set(documented)


@pytest.mark.parametrize("name", sorted(n for n, s in OPERATIONS.items() if s.partner_api))
def test_a_partner_operation_takes_what_the_ledger_method_takes(name):
    """The path parameters and body fields (less `occurred_at`) are the method's arguments."""
    declared = BY_NAME[name]
    assert declared.body is not None
    given = {"member" if p == "member_id" else p for p in declared.path_parameters}
    given |= set(declared.body.model_fields) - {"occurred_at"}
    assert given == set(OPERATIONS[name].arguments)
    assert callable(getattr(PointsLedger, name))


def test_an_operation_declared_twice_or_converting_an_unknown_argument_is_refused():
    with pytest.raises(TypeError, match="declared twice"):

        @operation(locate=lambda ledger, args: 0)
        def earn(self, op, member): ...

    with pytest.raises(TypeError, match="no argument"):

        @operation(locate=lambda ledger, args: 0, pointz=int)
        def new_operation(self, op, points): ...

    assert "new_operation" not in OPERATIONS
