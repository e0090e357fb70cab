"""The chat kernel: declared flows and the words that steer them (cancel, back, help,
start over)."""
