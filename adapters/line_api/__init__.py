"""The Messaging API client's parts: the call loop (retries, rate limits, logging), request
checks, message sends, rich menu calls and errors. `adapters.line_client` assembles them into
`LineClient`; this package and that module are the only importers of linebot.v3.messaging."""
