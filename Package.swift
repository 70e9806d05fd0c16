// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "contenox",
    products: [
        .executable(name: "contenox", targets: ["contenox"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        .systemLibrary(name: "CJansson", pkgConfig: "jansson", providers: [.apt(["libjansson-dev"])]),
        // A C target, not a system library: libcurl is loaded with dlopen on first use (CCurl.c), so it must
        // not be linked; only its headers are used (libcurl4-openssl-dev).
        .target(name: "CCurl"),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // Linux calls Swift cannot make (GNU extensions, variadic prctl) and the crash handler, in C.
        .target(name: "CLinux"),

        // What the production targets took from Foundation beyond FoundationEssentials (threads, child
        // processes, whole reads and writes, trimming, number and date text), so that the binary does not
        // link Foundation and ICU.
        .target(name: "Basics", dependencies: ["CLinux"]),
        .target(name: "JSON", dependencies: ["CJansson"]),
        .target(name: "Locking"),
        // The JSON-RPC layer: messages, typed method descriptions, error codes, framing. Its directory is
        // Sources/Protocol; the module keeps the name JSONRPC (`Protocol` is also the metatype keyword).
        .target(name: "JSONRPC", dependencies: ["Basics", "JSON"], path: "Sources/Protocol"),
        .target(name: "Bedrock", dependencies: ["Basics", "JSON", "Locking", "CCurl", "CCrypto"]),
        .target(name: "RPCServer", dependencies: ["Basics", "JSON", "JSONRPC", "Bedrock", "Locking", "CSQLite"]),
        // The CLI's commands (a library, so tests can parse every command a hint names); the executable is a
        // thin @main over it.
        .target(
            name: "ContenoxCLI",
            dependencies: [
                "RPCServer", "Basics", "JSON", "Bedrock", "Locking",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "contenox",
            dependencies: [
                "ContenoxCLI", "RPCServer", "Basics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // libFuzzer target for the byte parsers (scripts/fuzz.sh builds it with -DFUZZING and
        // -sanitize=fuzzer); in a normal build it replays corpus files through the same entry point.
        .executableTarget(
            name: "FuzzParsers", dependencies: ["JSON", "JSONRPC", "Bedrock"], path: "Fuzz/FuzzParsers",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),

        .target(name: "TestSupport", dependencies: ["JSON", "JSONRPC", "Locking"], path: "Tests/TestSupport"),
        .testTarget(name: "BasicsTests", dependencies: ["Basics", "TestSupport"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "TestSupport"]),
        .testTarget(name: "JSONRPCTests", dependencies: ["JSONRPC", "JSON", "TestSupport"]),
        .testTarget(
            name: "BedrockTests", dependencies: ["Bedrock", "JSON", "Locking", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "RPCServerTests",
            dependencies: ["RPCServer", "ContenoxCLI", "JSONRPC", "JSON", "Bedrock", "Locking", "TestSupport"]),
        .testTarget(name: "RobustnessTests", dependencies: ["RPCServer", "JSONRPC", "JSON", "Bedrock", "TestSupport"]),
    ]
)
