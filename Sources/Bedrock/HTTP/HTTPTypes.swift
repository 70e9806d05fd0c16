/// Response header fields in arrival order, looked up without regard to case.
struct HTTPHeaders: Sendable, Equatable {
    var fields: [(name: String, value: String)] = []

    init(_ fields: [(String, String)] = []) {
        self.fields = fields.map { (name: $0.0, value: $0.1) }
    }

    /// The first field named `name` (case-insensitive).
    subscript(name: String) -> String? {
        fields.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    mutating func append(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
    }

    static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

/// One HTTP request as the transport sends it. The body is in memory (Bedrock requests are small).
struct HTTPRequest: Sendable {
    var method: String
    /// scheme://host[:port]/path?query, already percent-encoded.
    var url: String
    var headers: [(String, String)]
    var body: [UInt8]
    /// Seconds to establish the connection (TCP + TLS).
    var connectTimeout: Double = 10
    /// Seconds without a single byte arriving (before or after the headers) before giving up with Timeout.
    var idleTimeout: Double = 60
    /// AWS_CA_BUNDLE: a PEM file of trusted roots, instead of the system's.
    var caBundle: String?

    init(
        method: String, url: String, headers: [(String, String)] = [], body: [UInt8] = [],
        connectTimeout: Double = 10, idleTimeout: Double = 60, caBundle: String? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.caBundle = caBundle
    }
}

/// A whole response, body buffered.
struct HTTPResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    var requestID: String? { headers["x-amzn-requestid"] }
}

/// Receives one transfer's response as it arrives. All calls happen on the transport's loop thread, in order:
/// `receive(status:headers:)` once, then `receive(body:)` any number of times, then `complete` exactly once
/// (`complete` may come without the others when the transfer fails early).
protocol HTTPResponseConsumer: AnyObject {
    func receive(status: Int, headers: HTTPHeaders)
    /// What became of the bytes: consumed, left for later (`pause`: the transfer stops reading until
    /// `HTTPTransport.resume`, then offers the same bytes again), or `abort` (the consumer then learns the
    /// outcome from `complete`).
    func receive(body: UnsafeRawBufferPointer) -> BodyDisposition
    /// nil when the body ended normally.
    func complete(_ error: BedrockError?)
}

/// A consumer's answer to a chunk of the body.
enum BodyDisposition {
    case consumed
    /// Not taken: stop reading from the connection until resumed (back-pressure), then offer it again.
    case pause
    case abort
}
