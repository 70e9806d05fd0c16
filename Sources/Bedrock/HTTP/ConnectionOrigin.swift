import Glibc
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

    /// Where an open connection socket stands for the idle watch.
    private enum Watch {
        /// Opened by a transfer that has not finished: not yet a connection to watch.
        case opening
        /// Has carried a transfer: watched while idle.
        case watched
        /// Found readable while idle (and the warm-up sent again); not watched until the next transfer
        /// finishes, so one that stays readable (a connection libcurl found alive and reused) is not
        /// checked again and again.
        case found
    }

    private let sockets = LockedValue<[Int32: Watch]>([:])
    /// libcurl closed a connection that had input waiting: the peer had closed it (libcurl's own check
    /// before reuse got there before the idle watch), or a transfer was cut off mid-answer.
    private let lostConnection = LockedValue(false)

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

    func opened(_ socket: Int32) { sockets.withLock { $0[socket] = .opening } }

    func closed(_ socket: Int32) {
        sockets.withLock { $0[socket] = nil }
        var pending = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        if poll(&pending, 1, 0) == 1 { lostConnection.withLock { $0 = true } }
    }

    /// Whether a connection was lost (see `lostConnection`) since the last call.
    func takeLostConnection() -> Bool {
        lostConnection.withLock { lost in
            defer { lost = false }
            return lost
        }
    }

    /// Sockets to watch while idle (the caller leaves out those a running transfer uses).
    var watched: [Int32] { sockets.withLock { $0.filter { $0.value == .watched }.map(\.key) } }

    func markFound(_ socket: Int32) {
        sockets.withLock { if $0[socket] != nil { $0[socket] = .found } }
    }

    /// After a transfer to this origin: the connections it opened are watched from now on, and after a
    /// request (not a warm-up) so are those found readable before.
    func transferFinished(warmUp: Bool) {
        sockets.withLock { all in
            for (socket, watch) in all where watch == .opening || !warmUp { all[socket] = .watched }
        }
    }

    /// A connection socket's local and remote port ((0, 0) if unknown): matched against CURLINFO_LOCAL_PORT
    /// and CURLINFO_PRIMARY_PORT of the running transfers, to leave their connections out of the idle watch.
    /// (The local port alone may repeat: Linux reuses an ephemeral port towards another destination.)
    static func ports(_ socket: Int32) -> Ports {
        Ports(local: port(socket, getsockname), remote: port(socket, getpeername))
    }

    struct Ports: Hashable {
        var local: Int
        var remote: Int
    }

    private static func port(
        _ socket: Int32, _ name: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) -> Int {
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let found = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { name(socket, $0, &length) }
        }
        guard found == 0 else { return 0 }
        // sin_port and sin6_port lie at the same offset, in network byte order.
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }
}
