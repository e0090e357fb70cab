"""What the demo data (`models.demo`, `make run`) shows in the chat and the console."""

DEMO_COMPANY_NAME = "デモ株式会社"
DEMO_GRANT_REASON = "デモ用ポイント"
