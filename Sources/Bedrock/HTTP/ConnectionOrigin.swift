import Locking

/// One scheme://host[:port] (with the CA bundle that verifies it) that transfers go to. libcurl tells it of
/// every connection socket opened and closed for it (CurlTransfer sets the callbacks), so the loop can watch
/// the idle ones of an origin it keeps warm.
///
/// Origins are never freed (`CurlEventLoop` keeps one per key): libcurl may close a socket long after the
/// transfer that opened it is gone, and its callback still needs this object.
final class ConnectionOrigin: Sendable {
    /// How long after its last use an origin's connections are kept open and reopened when the peer closes
    /// them. After that the loop stops watching, and libcurl closes a connection idle that long instead of
    /// reusing it: an editor left idle causes no traffic.
    static let keepWarmSeconds: Double = 300

    let key: String
    /// Open connection sockets, each with whether it was already found readable while idle since the last
    /// transfer (so that one which stays readable, say a connection libcurl reuses anyway, is not checked
    /// again and again).
    private let sockets = LockedValue<[Int32: Bool]>([:])

    init(key: String) {
        self.key = key
    }

    /// The origin of `request`: its URL up to the path, and its CA bundle.
    static func key(for request: HTTPRequest) -> String {
        let url = request.url
        var end = url.endIndex
        if let scheme = url.firstRange(of: "://"),
            let slash = url[scheme.upperBound...].firstIndex(where: { $0 == "/" || $0 == "?" })
        {
            end = slash
        }
        return url[..<end].lowercased() + " " + (request.caBundle ?? "")
    }

    var hasConnection: Bool { sockets.withLock { !$0.isEmpty } }

    func opened(_ socket: Int32) { sockets.withLock { $0[socket] = false } }

    func closed(_ socket: Int32) { sockets.withLock { $0[socket] = nil } }

    /// Open sockets not yet found readable since the last transfer.
    var unchecked: [Int32] { sockets.withLock { $0.filter { !$0.value }.map(\.key) } }

    func markChecked(_ socket: Int32) {
        sockets.withLock { if $0[socket] != nil { $0[socket] = true } }
    }

    /// After a transfer: every open connection is worth watching again.
    func resetChecks() {
        sockets.withLock { all in for socket in all.keys { all[socket] = false } }
    }
}
