// Module RPCServer: filled in by its own change.
