import ArgumentParser
import Basics
import Bedrock
import FoundationEssentials
import Glibc

struct Login: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Sign in for the AWS profile in use: runs `aws sso login` or `aws login` when the profile needs it.",
        discussion: "ACP clients run this in a terminal for their sign-in (contenox acp advertises it).")

    @Option(help: "The AWS profile (default: AWS_PROFILE, else default).") var profile: String?

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let command = AWSSignIn.command(environment: environment, profile: profile) else {
            let name = AWSSignIn.profileName(environment: environment, profile: profile)
            print(
                "profile \(name) signs in with keys, a role or a process: nothing to do (check with `contenox backend check`)"
            )
            return
        }
        printError("running: \(command.joined(separator: " "))")
        // The AWS CLI takes over this process (its prompts and browser hand-off need the terminal).
        var arguments = command.map { strdup($0) } + [nil]
        execvp(command[0], &arguments)
        let reason = String(cString: strerror(errno))
        printError("error: could not run \(command[0]): \(reason)")
        printError("hint: install the AWS CLI v2 (2.32 or later for `aws login`), or run the command above yourself")
        throw Failure()
    }
}
