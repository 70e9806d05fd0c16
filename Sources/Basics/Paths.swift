import Glibc

/// `HOME` from `environment`, else the user's home directory from the password database (where
/// Foundation's NSHomeDirectory() looked when HOME was unset), else "/".
public func homeDirectory(environment: [String: String]) -> String {
    if let home = environment["HOME"] { return home }
    var entry = passwd()
    var found: UnsafeMutablePointer<passwd>?
    var buffer = [CChar](repeating: 0, count: 16 * 1024)
    if getpwuid_r(geteuid(), &entry, &buffer, buffer.count, &found) == 0, found != nil, let directory = entry.pw_dir {
        return String(cString: directory)
    }
    return "/"
}

/// The path without its last component, as NSString's deletingLastPathComponent: "/a/b/c.db" gives "/a/b",
/// "/a/b/" gives "/a", "/c.db" gives "/", and "c.db" gives "" (not "." as dirname(3) would).
public func deletingLastPathComponent(_ path: String) -> String {
    var path = Substring(path)
    while path.count > 1, path.hasSuffix("/") { path.removeLast() }
    guard let slash = path.lastIndex(of: "/") else { return "" }
    var directory = path[..<slash]
    while directory.count > 1, directory.hasSuffix("/") { directory.removeLast() }
    return directory.isEmpty ? "/" : String(directory)
}
