import ArgumentParser

/// Every subcommand, one file each beside this one.
enum StrataSubcommands {
    static let all: [ParsableCommand.Type] = [BenchCommand.self]
}
