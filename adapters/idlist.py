"""The 初期ID・パスワード一覧 workbook an HR contact receives (openpyxl).

Sheet 1 「初期ID・パスワード一覧」: 企業コード, 会員ID, 初期パスワード, 氏名 (empty, for HR
to fill), 備考 — one row per employee ID. Sheet 2 「企業コード・担当者」: the company, its
code, and the HR contacts' IDs and passwords. Every cell is text, so Excel never rewrites an ID
and never evaluates a value from user data (a company name starting with `=` is a name, not a
formula: openpyxl would otherwise store any string starting with `=` as one). The sheet
names, headers and labels are in `adapters.idlist_texts`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import IO

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.worksheet import Worksheet

from adapters.idlist_texts import (
    COMPANY_LABEL,
    COMPANY_NAME_LABEL,
    COMPANY_SHEET,
    HR_CONTACT_KIND,
    HR_HEADERS,
    ISSUED_ON_LABEL,
    MEMBER_HEADERS,
    MEMBERS_SHEET,
)
from models.companies import IssuedIds

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def _text(sheet: Worksheet, row: int, column: int, value: str) -> Cell:
    """A text cell: stored as a string whatever it starts with, and formatted as text."""
    cell = sheet.cell(row=row, column=column)
    cell.value = value
    cell.data_type = "s"  # after the value: openpyxl types a leading "=" as a formula
    cell.number_format = "@"
    return cell


def _header(sheet: Worksheet, row: int, headers: list[str]) -> None:
    for column, title in enumerate(headers, start=1):
        cell = _text(sheet, row, column, title)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center")


def _text_row(sheet: Worksheet, row: int, values: list[str]) -> None:
    for column, value in enumerate(values, start=1):
        _text(sheet, row, column, value).border = _BORDER


def _widths(sheet: Worksheet, widths: list[int]) -> None:
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width


def build_workbook(issued: IssuedIds, issued_on: date, note: str = "") -> Workbook:
    book = Workbook()
    members = book.active
    assert members is not None
    members.title = MEMBERS_SHEET
    _header(members, 1, MEMBER_HEADERS)
    for row, credential in enumerate(issued.members, start=2):
        _text_row(
            members, row, [issued.company_code, credential.member_id, credential.password, "", note]
        )
    members.freeze_panes = "A2"
    _widths(members, [14, 16, 18, 24, 30])

    company = book.create_sheet(COMPANY_SHEET)
    for row, (label, value) in enumerate(
        [
            (COMPANY_NAME_LABEL, issued.company_name),
            (COMPANY_LABEL, issued.company_code),
            (ISSUED_ON_LABEL, issued_on.isoformat()),
        ],
        start=1,
    ):
        _text(company, row, 1, label).font = Font(bold=True)
        _text(company, row, 2, value)
    _header(company, 5, HR_HEADERS)
    for row, credential in enumerate(issued.hr_contacts, start=6):
        _text_row(
            company, row, [HR_CONTACT_KIND, credential.member_id, credential.password, "", ""]
        )
    _widths(company, [14, 16, 18, 24, 30])
    return book


def write_id_list(
    target: str | Path | IO[bytes], issued: IssuedIds, issued_on: date, note: str = ""
) -> None:
    """Write the workbook to a path or a binary stream."""
    build_workbook(issued, issued_on, note).save(target)
