internal import CSQLite

/// A failed SQLite call, with SQLite's own message.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var code: Int32

    public var description: String { "database error: \(message)" }
}

/// Owns one `sqlite3*` connection and closes it in `deinit`, with the statements it has prepared. Not
/// thread-safe on its own: `Store` serialises every use behind a mutex.
final class SQLiteConnection {
    private let handle: OpaquePointer
    /// Prepared statements not in use, by their SQL, kept for the connection's life: the store's SQL is a
    /// fixed set of literals, and parsing it again for every call was a tenth of a small request's time.
    private var idle: [String: OpaquePointer] = [:]

    init(path: String) throws(StoreError) {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &db, flags, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open \(path)"
            if let db { sqlite3_close(db) }
            throw StoreError(message: "\(message) (\(path))", code: status)
        }
        handle = db
        sqlite3_busy_timeout(handle, 5000)
    }

    deinit {
        for statement in idle.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// Runs statements that return no rows.
    func execute(_ sql: String) throws(StoreError) {
        var error: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &error)
        if status != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? lastError
            sqlite3_free(error)
            throw StoreError(message: message, code: status)
        }
    }

    /// The statement for `sql`: a kept one when it is idle, else a new one (kept when it is done with).
    func prepare(_ sql: String) throws(StoreError) -> SQLiteStatement {
        if let kept = idle.removeValue(forKey: sql) { return SQLiteStatement(kept, sql: sql, connection: self) }
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else { throw StoreError(message: lastError, code: status) }
        return SQLiteStatement(statement, sql: sql, connection: self)
    }

    /// Takes back a statement whose wrapper is gone. It is reset first, which also ends the read it may
    /// still hold (a statement stepped to a row and left there would keep its WAL snapshot open). If one
    /// for the same SQL is already kept (the two were in use at once), this one is finalised.
    fileprivate func recycle(_ statement: OpaquePointer, sql: String) {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        if idle[sql] == nil {
            idle[sql] = statement
        } else {
            sqlite3_finalize(statement)
        }
    }

    /// Runs `body` inside `BEGIN IMMEDIATE ... COMMIT`: the write lock is taken up front, so two
    /// processes writing at once wait on the busy timeout instead of failing half-way.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    var changes: Int { Int(sqlite3_changes(handle)) }
    var lastError: String { String(cString: sqlite3_errmsg(handle)) }
}

/// Uses one prepared statement and hands it back to its connection in `deinit` (which resets it for the
/// next use). Values bound are copied by SQLite.
final class SQLiteStatement {
    private let handle: OpaquePointer
    private let sql: String
    private let connection: SQLiteConnection  // keeps the connection open while the statement lives

    fileprivate init(_ handle: OpaquePointer, sql: String, connection: SQLiteConnection) {
        self.handle = handle
        self.sql = sql
        self.connection = connection
    }

    deinit {
        connection.recycle(handle, sql: sql)
    }

    enum Value {
        case null
        case integer(Int64)
        case text(String)
    }

    @discardableResult
    func bind(_ values: [Value]) throws(StoreError) -> SQLiteStatement {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .null: status = sqlite3_bind_null(handle, index)
            case .integer(let i): status = sqlite3_bind_int64(handle, index, i)
            case .text(let s): status = CSQLite_bind_text(handle, index, s, -1)
            }
            guard status == SQLITE_OK else { throw StoreError(message: connection.lastError, code: status) }
        }
        return self
    }

    /// Steps once: true when a row is available.
    func step() throws(StoreError) -> Bool {
        let status = sqlite3_step(handle)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw StoreError(message: connection.lastError, code: status)
        }
    }

    /// Runs a statement that returns no rows.
    func run(_ values: [Value] = []) throws(StoreError) {
        try bind(values)
        while try step() {}
    }

    /// Every row, each read by `row`.
    func rows<T>(_ values: [Value] = [], _ row: (SQLiteStatement) -> T) throws(StoreError) -> [T] {
        try bind(values)
        var result: [T] = []
        while try step() { result.append(row(self)) }
        return result
    }

    func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: pointer)
    }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
}
