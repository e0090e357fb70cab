"""The chat kernel: what turns a user's message into a handler call (understanding, flows)."""
