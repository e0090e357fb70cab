"""The LINE adapter: the Messaging API client, LINE's limits, LINE Login, and the runtime
wiring (settings, database engine, clock) every entry point builds."""
