import ArgumentParser
import Foundation
import StrataCore
import StrataIO

/// The `strata` command: image time stacks in, predictions out.
struct Strata: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Turn stacks of images over time into predictions.",
        discussion: """
            Exit codes: 0 success, 2 bad input or usage, 1 anything else. See docs/cli.md.
            """,
        version: "0.1.0",
        subcommands: StrataSubcommands.all
    )
}

@main
enum Main {
    static func main() {
        do {
            var command = try Strata.parseAsRoot()
            // Every command runs kernels or may hand work to code that does: a bad STRATA_ISA is refused up front
            // (after parsing, so --help and --version still answer), not ignored by some commands.
            if String(describing: type(of: command)) != "HelpCommand" {
                try KernelISA.validateEnvironment(ProcessInfo.processInfo.environment)
            }
            // Ctrl-C or a job scheduler's SIGTERM leaves no hidden partial output behind.
            AtomicOutput.removeTemporariesOnInterrupt()
            try command.run()
        } catch let error as StrataError {
            FileHandle.standardError.write(Data("strata: error: \(error.description)\n".utf8))
            exit(error.exitCode)
        } catch {
            // ArgumentParser's own errors: help and version exit 0, usage errors exit 2 (not its default 64).
            let code = Strata.exitCode(for: error)
            if code == .success {
                let message = Strata.fullMessage(for: error)
                if !message.isEmpty { print(message) }
                exit(0)
            }
            // One line, in the form of every other error (cli.md); the usage block would bury it. A bare exit code
            // (train interrupted: exit 1 after its summary) has nothing to add.
            let message = Strata.message(for: error).split(separator: "\n").joined(separator: " ")
            if !message.isEmpty {
                FileHandle.standardError.write(Data("strata: error: \(message) (see 'strata help')\n".utf8))
            }
            exit(code == .validationFailure ? 2 : code.rawValue == 2 ? 2 : 1)
        }
    }
}
