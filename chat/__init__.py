"""The chat kernel: what turns a user's message into a handler call — the understanding layer
(intents, FAQ, small talk, off-topic in one ranked index), declared flows and the words that
steer them (cancel, back, help, start over)."""
