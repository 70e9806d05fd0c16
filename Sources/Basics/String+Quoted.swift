extension StringProtocol {
    /// The string in single quotes for an error message, cut to its first `limit` characters (then marked
    /// with "…" and the full length): a message quotes what a client sent, and a client may send 50 MB.
    public func quoted(limit: Int = 64) -> String {
        guard count > limit else { return "'\(self)'" }
        return "'\(prefix(limit))…' (\(utf8.count) bytes)"
    }
}
