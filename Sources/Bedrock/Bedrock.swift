// Module Bedrock: filled in by its own change.
