"""A local stand-in for the LINE platform, for tests and `make run`.

The bot's real `linebot.v3` client talks to it over HTTP (point LINE_API_BASE_URL at it), and it
delivers signed webhooks to the bot. Pieces:

- `emulator.server.EmulatorServer(secret, token, webhook_url=None, port=0)` - run it in a thread.
- `emulator.client.EmulatorClient(url)` - drive it: users, messages, inbox, faults, calls.
- `python -m emulator --port 8001` - run it in the foreground; the chat page is at `/`.
"""
