"""What the HR contact reads in the 初期ID・パスワード一覧 workbook (`adapters.idlist`)."""

MEMBERS_SHEET = "初期ID・パスワード一覧"
COMPANY_SHEET = "企業コード・担当者"
MEMBER_HEADERS = ["企業コード", "会員ID", "初期パスワード", "氏名", "備考"]
HR_HEADERS = ["区分", "会員ID", "初期パスワード", "氏名", "備考"]
COMPANY_NAME_LABEL = "企業名"
COMPANY_LABEL = "企業コード"
ISSUED_ON_LABEL = "発行日"
HR_CONTACT_KIND = "企業担当者"
