import ArgumentParser

/// Every subcommand, one file each beside this one, in the order a user meets them.
enum StrataSubcommands {
    static let all: [ParsableCommand.Type] = [
        InfoCommand.self,
        SynthCommand.self,
        TrainCommand.self,
        PredictCommand.self,
        EvaluateCommand.self,
        DemoCommand.self,
        ImportCommand.self,
        ExportCommand.self,
        BenchCommand.self,
    ]
}
