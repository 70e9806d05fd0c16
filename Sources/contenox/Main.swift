import ArgumentParser
import Basics
import ContenoxCLI
import FoundationEssentials
import Glibc

/// The executable: parses the command line with ContenoxCLI's commands and maps failures to exit codes.
@main
enum Main {
    /// Exit codes: 0 ok, 1 failure, 2 usage.
    static func main() async {
        CrashHandler.install(environment: ProcessInfo.processInfo.environment)
        do {
            var command = try Contenox.parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch is Failure {
            exit(1)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            let code = Contenox.exitCode(for: error)
            if code == .success {
                Contenox.exit(withError: error)
            }
            printError(Contenox.fullMessage(for: error))
            exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}
