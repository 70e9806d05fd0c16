import Foundation
import JSON
import RPCServer
import TestSupport
import Testing

/// Runs a Python snippet (the stdlib sqlite3 module as an independent reader of the database) and
/// returns its stdout, trimmed.
func python(_ code: String, _ arguments: [String] = []) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", code] + arguments
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

func permissions(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
}

@Suite struct StoreTests {
    @Test func createsDirectoryAndFilesPrivateWithWALAndSchemaVersion() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let path = home.store + "/nested/contenox.db"
        let store = try Store(path: path)
        _ = try store.addBackend(
            BackendRecord(name: "b", type: "bedrock", url: "us-east-1", region: "us-east-1", apiKeyEnv: nil),
            replace: false)
        #expect(try permissions(home.store + "/nested") == 0o700)
        #expect(try permissions(path) == 0o600)
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        #expect(try permissions(path + "-wal") == 0o600)
        #expect(try permissions(path + "-shm") == 0o600)
        let facts = try python(
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
                + "print(c.execute('pragma journal_mode').fetchone()[0], "
                + "c.execute('pragma user_version').fetchone()[0])",
            [path])
        #expect(facts == "wal \(Store.schemaVersion)")
        #expect(try store.integrityCheck() == "ok")
    }

    @Test func reopeningKeepsDataAndDoesNotRerunMigrations() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let path = home.path + "/contenox.db"
        do {
            let store = try Store(path: path)
            try store.setSetting("default-model", "m1")
        }
        let reopened = try Store(path: path)
        #expect(try reopened.setting("default-model") == "m1")
        let version = try python(
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('pragma user_version').fetchone()[0])",
            [path])
        #expect(version == "\(Store.schemaVersion)")
    }

    @Test func migratesAnEmptyVersionZeroDatabase() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let path = home.path + "/contenox.db"
        _ = try python(
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table x(a)'); c.commit()", [path])
        let store = try Store(path: path)
        try store.setSetting("default-provider", "p")
        #expect(try store.setting("default-provider") == "p")
        let tables = try python(
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
                + "print(','.join(r[0] for r in "
                + "c.execute(\"select name from sqlite_master where type='table' order by name\")))",
            [path])
        #expect(tables == "backends,messages,sessions,settings,x")
    }

    @Test func twoConnectionsWritingAtOnceNeverFailBusy() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let path = home.path + "/contenox.db"
        let first = try Store(path: path)
        let second = try Store(path: path)
        let perWriter = 150
        let failures = await withTaskGroup(of: [String].self) { group in
            for (index, store) in [first, second].enumerated() {
                group.addTask {
                    // A thread of its own per writer, so the two really contend for the file lock.
                    await withCheckedContinuation { continuation in
                        Thread {
                            var failures: [String] = []
                            for n in 0..<perWriter {
                                do {
                                    _ = try store.addBackend(
                                        BackendRecord(
                                            name: "w\(index)-\(n)", type: "bedrock", url: "us-east-1",
                                            region: "us-east-1", apiKeyEnv: nil), replace: false)
                                    try store.setSetting("default-model", "m\(index)-\(n)")
                                } catch {
                                    failures.append("\(error)")
                                }
                            }
                            continuation.resume(returning: failures)
                        }.start()
                    }
                }
            }
            var all: [String] = []
            for await failures in group { all += failures }
            return all
        }
        #expect(failures.isEmpty)
        #expect(try first.backends().count == 2 * perWriter)
        #expect(try first.integrityCheck() == "ok")
    }

    /// Statements stay prepared between calls, yet every read sees what another connection wrote just
    /// before, and a reader that is done holds no snapshot: another process can checkpoint the whole WAL.
    @Test func keptStatementsSeeNewWritesAndHoldNoRead() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let path = home.path + "/contenox.db"
        let reader = try Store(path: path)
        let writer = try Store(path: path)
        try writer.createSession(id: "s", title: "t", model: nil, backend: nil)
        for n in 0..<50 {
            try writer.setSetting("default-model", "m\(n)")
            _ = try writer.appendMessage(
                sessionID: "s", role: "user", content: .string("turn \(n)"), status: "complete")
            #expect(try reader.setting("default-model") == "m\(n)")
            #expect(try reader.messages(sessionID: "s").count == n + 1)
            #expect(try reader.session(id: "s")?.messageCount == n + 1)
        }
        // TRUNCATE must wait for every reader; with one still holding a snapshot it gives up, busy = 1.
        let busy = try python(
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=1); "
                + "print(c.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchone()[0])", [path])
        #expect(busy == "0")
        #expect(try reader.integrityCheck() == "ok")
    }

    @Test func sessionsAndMessagesRoundTripAndCascade() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let path = home.path + "/contenox.db"
        let store = try Store(path: path)
        let id = UUID().uuidString
        try store.createSession(id: id, title: "hello", model: "m", backend: "b")
        let user = try store.appendMessage(
            sessionID: id, role: "user", content: [["text": "hi"]], status: "complete")
        let assistant = try store.appendMessage(
            sessionID: id, role: "assistant", content: [["text": "par"]], status: "incomplete")
        #expect(assistant > user)
        try store.updateMessage(rowID: assistant, content: [["text": "partial answer"]], status: "complete")
        try store.addUsage(sessionID: id, input: 10, output: 5, total: 15)
        try store.addUsage(sessionID: id, input: 1, output: 1, total: 2)

        let session = try #require(try store.session(id: id))
        #expect(session.title == "hello")
        #expect(session.messageCount == 2)
        #expect(session.inputTokens == 11 && session.outputTokens == 6 && session.totalTokens == 17)
        let messages = try store.messages(sessionID: id)
        #expect(messages.map(\.role) == ["user", "assistant"])
        #expect(messages[1].content == [["text": "partial answer"]])
        #expect(messages[1].status == "complete")
        #expect(try store.sessions().map(\.id) == [id])

        #expect(try store.deleteSession(id: id))
        #expect(try store.session(id: id) == nil)
        #expect(try store.messages(sessionID: id).isEmpty)
        #expect(try !store.deleteSession(id: id))
        let orphans = try python(
            "import sqlite3,sys; "
                + "print(sqlite3.connect(sys.argv[1]).execute('select count(*) from messages').fetchone()[0])",
            [path])
        #expect(orphans == "0")
    }

    @Test(arguments: [
        (["CONTENOX_HOME": "/h", "XDG_CONFIG_HOME": "/x", "HOME": "/u"], "/h/contenox.db"),
        (["XDG_CONFIG_HOME": "/x", "HOME": "/u"], "/x/contenox/contenox.db"),
        (["HOME": "/u"], "/u/.config/contenox/contenox.db"),
        (["CONTENOX_HOME": "", "HOME": "/u"], "/u/.config/contenox/contenox.db"),
    ])
    func defaultPath(environment: [String: String], expected: String) {
        #expect(Store.defaultPath(environment: environment) == expected)
    }
}
