import Basics
import FoundationEssentials
import Glibc
import JSON
import Locking

/// A backend as stored: its name, type and URL, the region it resolved to (nil: taken from the
/// environment at use), and the *name* of the variable holding its keys — never the keys.
public struct BackendRecord: Sendable, Equatable {
    public var name: String
    public var type: String
    public var url: String
    public var region: String?
    public var apiKeyEnv: String?
    /// Request fields every chat on this backend sends (a guardrail, latency, service tier, request
    /// metadata), as Converse names them; a chat's own fields take precedence.
    public var requestDefaults: JSONObject

    public init(
        name: String, type: String, url: String, region: String?, apiKeyEnv: String?,
        requestDefaults: JSONObject = [:]
    ) {
        self.name = name
        self.type = type
        self.url = url
        self.region = region
        self.apiKeyEnv = apiKeyEnv
        self.requestDefaults = requestDefaults
    }

    public var json: JSONValue {
        var object: JSONObject = [
            "name": .string(name), "type": .string(type), "url": .string(url),
            "region": region.map(JSONValue.string) ?? .null,
        ]
        if let apiKeyEnv { object["apiKeyEnv"] = .string(apiKeyEnv) }
        if !requestDefaults.isEmpty { object["requestDefaults"] = .object(requestDefaults) }
        return .object(object)
    }
}

public struct SessionRecord: Sendable, Equatable {
    public var id: String
    public var title: String
    public var model: String?
    public var backend: String?
    public var toolConfig: JSONValue?
    public var createdAt: String
    public var updatedAt: String
    public var inputTokens: Int64
    public var outputTokens: Int64
    public var totalTokens: Int64
    public var messageCount: Int
    /// Input tokens read from, and written to, Bedrock's prompt cache, summed over the session's turns.
    public var cacheReadTokens: Int64 = 0
    public var cacheWriteTokens: Int64 = 0
    /// The directory an ACP session works in; nil for sessions made elsewhere.
    public var cwd: String? = nil
}

/// One stored turn. `status` is `complete`, or `incomplete` for an answer that was cancelled or failed
/// part-way (its text is kept), or `error` for a turn that never got an answer.
public struct StoredMessage: Sendable, Equatable {
    public var rowID: Int64
    public var role: String
    public var content: JSONValue
    public var status: String
    public var createdAt: String
}

/// The persistent state shared by every `contenox` process of a user: backends, settings, chat sessions.
///
/// SQLite in WAL mode, so readers never block the writer; every write takes the lock up front
/// (`BEGIN IMMEDIATE`) and waits up to 5 s for another process's write. Within a process one connection
/// is shared behind a mutex: each call is a few short statements, so holding it briefly from a
/// Swift task is cheaper than a dedicated thread hop.
public final class Store: Sendable {
    public static var schemaVersion: Int64 { Int64(migrations.count) }
    public let path: String
    /// Used only while `lock` is held (see `withConnection`), which is what makes sharing it safe.
    nonisolated(unsafe) private let connection: SQLiteConnection
    private let lock = LockedValue(())

    /// The database path: `$CONTENOX_HOME/contenox.db`, else `$XDG_CONFIG_HOME/contenox/contenox.db`,
    /// else `~/.config/contenox/contenox.db`.
    public static func defaultPath(environment: [String: String]) -> String {
        if let home = environment["CONTENOX_HOME"], !home.isEmpty { return home + "/contenox.db" }
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty { return xdg + "/contenox/contenox.db" }
        let home = homeDirectory(environment: environment)
        return home + "/.config/contenox/contenox.db"
    }

    /// Opens (creating when needed, directory 0700 and files 0600) and migrates the database.
    public init(path: String) throws(StoreError) {
        self.path = path
        let directory = deletingLastPathComponent(path)
        let previous = umask(0o077)
        defer { umask(previous) }
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError(message: "cannot create \(directory): \(Self.reason(error))", code: 0)
        }
        let db = try SQLiteConnection(path: path)
        try db.execute("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL")
        try Self.migrate(db)
        // Files created before umask applied (or by an older version) are tightened too.
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            chmod(path + suffix, 0o600)
        }
        connection = db
    }

    /// Ordered migrations; `PRAGMA user_version` records how many have run.
    private static let migrations: [String] = [
        """
        CREATE TABLE backends (
            name TEXT PRIMARY KEY, type TEXT NOT NULL, url TEXT NOT NULL, region TEXT, api_key_env TEXT,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY, title TEXT NOT NULL, model TEXT, backend TEXT, tool_config TEXT,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
            total_tokens INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL, role TEXT NOT NULL, content_json TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'complete', created_at TEXT NOT NULL, UNIQUE(session_id, seq));
        CREATE INDEX sessions_by_update ON sessions(updated_at);
        """,
        // A backend's request defaults (guardrail, latency, service tier, request metadata), as JSON.
        "ALTER TABLE backends ADD COLUMN request_defaults TEXT;",
        // Prompt-cache usage per session.
        """
        ALTER TABLE sessions ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sessions ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
        """,
        // The working directory an ACP session was opened in (session/list and session/load report it).
        "ALTER TABLE sessions ADD COLUMN cwd TEXT;",
    ]

    private static func migrate(_ db: SQLiteConnection) throws(StoreError) {
        try db.transaction { () throws(StoreError) in
            let version = try db.prepare("PRAGMA user_version").rows { $0.int(0) }.first ?? 0
            guard version < Int64(migrations.count) else { return }
            for index in Int(version)..<migrations.count { try db.execute(migrations[index]) }
            try db.execute("PRAGMA user_version = \(migrations.count)")
        }
    }

    /// Why FileManager failed: the errno under its CocoaError (whose localizedDescription needs Foundation
    /// proper, with ICU).
    private static func reason(_ error: any Error) -> String {
        guard let posix = (error as? CocoaError)?.underlying as? POSIXError else { return "\(error)" }
        return String(cString: strerror(posix.code.rawValue))
    }

    static func now() -> String {
        Date().iso8601WithMilliseconds
    }

    private func withConnection<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        try lock.withLock { _ throws(StoreError) in try body(connection) }
    }

    // MARK: Backends

    /// Adds a backend; with `replace` an existing one of that name is overwritten, else it is an error.
    /// Returns false when the name exists and `replace` is false.
    public func addBackend(_ backend: BackendRecord, replace: Bool) throws(StoreError) -> Bool {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Bool in
                let exists = try !db.prepare("SELECT 1 FROM backends WHERE name = ?").rows([.text(backend.name)]) { _ in
                    1
                }
                .isEmpty
                if exists && !replace { return false }
                let now = Self.now()
                try db.prepare(
                    """
                    INSERT INTO backends (name, type, url, region, api_key_env, request_defaults, created_at,
                        updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(name) DO UPDATE SET type = excluded.type, url = excluded.url,
                        region = excluded.region, api_key_env = excluded.api_key_env,
                        request_defaults = excluded.request_defaults, updated_at = excluded.updated_at
                    """
                ).run([
                    .text(backend.name), .text(backend.type), .text(backend.url),
                    backend.region.map { .text($0) } ?? .null,
                    backend.apiKeyEnv.map { .text($0) } ?? .null,
                    backend.requestDefaults.isEmpty
                        ? .null : .text(JSONValue.object(backend.requestDefaults).jsonString),
                    .text(now), .text(now),
                ])
                return true
            }
        }
    }

    public func backends() throws(StoreError) -> [BackendRecord] {
        try withConnection { db throws(StoreError) in
            try db.prepare(
                "SELECT name, type, url, region, api_key_env, request_defaults FROM backends ORDER BY name"
            ).rows {
                BackendRecord(
                    name: $0.text(0) ?? "", type: $0.text(1) ?? "", url: $0.text(2) ?? "",
                    region: $0.text(3), apiKeyEnv: $0.text(4),
                    requestDefaults: $0.text(5).flatMap { try? JSONValue.parse($0) }?.objectValue ?? [:])
            }
        }
    }

    public func backend(named name: String) throws(StoreError) -> BackendRecord? {
        try backends().first { $0.name == name }
    }

    public func removeBackend(named name: String) throws(StoreError) -> Bool {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Bool in
                try db.prepare("DELETE FROM backends WHERE name = ?").run([.text(name)])
                return db.changes > 0
            }
        }
    }

    // MARK: Settings

    public func settings() throws(StoreError) -> [(key: String, value: String)] {
        try withConnection { db throws(StoreError) in
            try db.prepare("SELECT key, value FROM settings ORDER BY key").rows { ($0.text(0) ?? "", $0.text(1) ?? "") }
        }
    }

    public func setting(_ key: String) throws(StoreError) -> String? {
        try settings().first { $0.key == key }?.value
    }

    /// Sets a value, or removes the key when `value` is nil.
    public func setSetting(_ key: String, _ value: String?) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                if let value {
                    try db.prepare(
                        "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) "
                            + "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
                    ).run([.text(key), .text(value), .text(Self.now())])
                } else {
                    try db.prepare("DELETE FROM settings WHERE key = ?").run([.text(key)])
                }
            }
        }
    }

    // MARK: Sessions

    private static let sessionColumns = """
        s.id, s.title, s.model, s.backend, s.tool_config, s.created_at, s.updated_at, s.input_tokens,
        s.output_tokens, s.total_tokens, (SELECT COUNT(*) FROM messages m WHERE m.session_id = s.id),
        s.cache_read_tokens, s.cache_write_tokens, s.cwd
        """

    private static func sessionRow(_ row: SQLiteStatement) -> SessionRecord {
        SessionRecord(
            id: row.text(0) ?? "", title: row.text(1) ?? "", model: row.text(2), backend: row.text(3),
            toolConfig: row.text(4).flatMap { try? JSONValue.parse($0) }, createdAt: row.text(5) ?? "",
            updatedAt: row.text(6) ?? "", inputTokens: row.int(7), outputTokens: row.int(8), totalTokens: row.int(9),
            messageCount: Int(row.int(10)), cacheReadTokens: row.int(11), cacheWriteTokens: row.int(12),
            cwd: row.text(13))
    }

    public func createSession(
        id: String, title: String, model: String?, backend: String?, cwd: String? = nil
    ) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                let now = Self.now()
                try db.prepare(
                    "INSERT INTO sessions (id, title, model, backend, created_at, updated_at, cwd) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?)"
                ).run([
                    .text(id), .text(title), model.map { .text($0) } ?? .null, backend.map { .text($0) } ?? .null,
                    .text(now), .text(now), cwd.map { .text($0) } ?? .null,
                ])
            }
        }
    }

    public func sessions() throws(StoreError) -> [SessionRecord] {
        try withConnection { db throws(StoreError) in
            try db.prepare("SELECT \(Self.sessionColumns) FROM sessions s ORDER BY s.updated_at DESC").rows {
                Self.sessionRow($0)
            }
        }
    }

    public func session(id: String) throws(StoreError) -> SessionRecord? {
        try withConnection { db throws(StoreError) in
            try db.prepare("SELECT \(Self.sessionColumns) FROM sessions s WHERE s.id = ?").rows(
                [.text(id)], Self.sessionRow
            )
            .first
        }
    }

    /// Records the model, backend and tool configuration a session last used.
    public func updateSession(id: String, model: String, backend: String, toolConfig: JSONValue?) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.prepare(
                    "UPDATE sessions SET model = ?, backend = ?, tool_config = COALESCE(?, tool_config), updated_at = ? "
                        + "WHERE id = ?"
                ).run([
                    .text(model), .text(backend), toolConfig.map { .text($0.jsonString) } ?? .null,
                    .text(Self.now()), .text(id),
                ])
            }
        }
    }

    /// Sets a session's title (an ACP session gets one from its first prompt) or its working directory.
    public func setSession(id: String, title: String? = nil, cwd: String? = nil) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.prepare("UPDATE sessions SET title = COALESCE(?, title), cwd = COALESCE(?, cwd) WHERE id = ?")
                    .run([
                        title.map { .text($0) } ?? .null, cwd.map { .text($0) } ?? .null, .text(id),
                    ])
            }
        }
    }

    public func deleteSession(id: String) throws(StoreError) -> Bool {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Bool in
                try db.prepare("DELETE FROM sessions WHERE id = ?").run([.text(id)])
                return db.changes > 0
            }
        }
    }

    public func addUsage(
        sessionID: String, input: Int64, output: Int64, total: Int64, cacheRead: Int64 = 0, cacheWrite: Int64 = 0
    ) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.prepare(
                    "UPDATE sessions SET input_tokens = input_tokens + ?, output_tokens = output_tokens + ?, "
                        + "total_tokens = total_tokens + ?, cache_read_tokens = cache_read_tokens + ?, "
                        + "cache_write_tokens = cache_write_tokens + ?, updated_at = ? WHERE id = ?"
                ).run([
                    .integer(input), .integer(output), .integer(total), .integer(cacheRead), .integer(cacheWrite),
                    .text(Self.now()), .text(sessionID),
                ])
            }
        }
    }

    /// Appends a turn at the end of a session and returns its row id.
    public func appendMessage(sessionID: String, role: String, content: JSONValue, status: String) throws(StoreError)
        -> Int64
    {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Int64 in
                let now = Self.now()
                try db.prepare(
                    """
                    INSERT INTO messages (session_id, seq, role, content_json, status, created_at)
                    VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE session_id = ?), ?, ?, ?, ?)
                    """
                ).run([
                    .text(sessionID), .text(sessionID), .text(role), .text(content.jsonString), .text(status),
                    .text(now),
                ])
                let rowID = db.lastInsertRowID
                try db.prepare("UPDATE sessions SET updated_at = ? WHERE id = ?").run([.text(now), .text(sessionID)])
                return rowID
            }
        }
    }

    public func updateMessage(rowID: Int64, content: JSONValue, status: String) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.prepare("UPDATE messages SET content_json = ?, status = ? WHERE id = ?")
                    .run([.text(content.jsonString), .text(status), .integer(rowID)])
            }
        }
    }

    public func messages(sessionID: String) throws(StoreError) -> [StoredMessage] {
        try withConnection { db throws(StoreError) in
            try db.prepare(
                "SELECT id, role, content_json, status, created_at FROM messages WHERE session_id = ? ORDER BY seq"
            ).rows([.text(sessionID)]) {
                StoredMessage(
                    rowID: $0.int(0), role: $0.text(1) ?? "",
                    content: (try? JSONValue.parse($0.text(2) ?? "[]")) ?? .array([]),
                    status: $0.text(3) ?? "complete", createdAt: $0.text(4) ?? "")
            }
        }
    }

    /// `PRAGMA integrity_check`: "ok" for a sound database.
    public func integrityCheck() throws(StoreError) -> String {
        try withConnection { db throws(StoreError) in
            try db.prepare("PRAGMA integrity_check").rows { $0.text(0) ?? "" }.joined(separator: "; ")
        }
    }
}
