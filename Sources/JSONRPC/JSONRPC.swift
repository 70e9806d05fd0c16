// Module JSONRPC: filled in by its own change.
