import ArgumentParser
import Basics
import ContenoxCLI
import FoundationEssentials
import Glibc
import RPCServer

/// The executable: parses the command line with ContenoxCLI's commands and maps failures to exit codes.
@main
enum Main {
    /// Exit codes: 0 ok, 1 failure, 2 usage.
    static func main() async {
        CrashHandler.install(environment: ProcessInfo.processInfo.environment)
        let code: Int32
        do {
            var command = try Contenox.parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            code = 0
        } catch is Failure {
            code = 1
        } catch let exitCode as ExitCode {
            code = exitCode.rawValue
        } catch {
            let exitCode = Contenox.exitCode(for: error)
            if exitCode == .success {
                Contenox.exit(withError: error)
            }
            printError(Contenox.fullMessage(for: error))
            code = exitCode == .validationFailure ? 2 : exitCode.rawValue
        }
        // No thread may be inside libcurl or OpenSSL while exit() tears their libraries down.
        Services.settleBeforeExit()
        exit(code)
    }
}
