"""The adapters to the outside world: the LINE adapter (the Messaging API client, LINE's
limits, LINE Login), the mail sender (SMTP or the console, `mail.py`), the ID list workbook
writer (openpyxl, `idlist.py`), and the runtime wiring (settings, database engine, clock)
every entry point builds."""
