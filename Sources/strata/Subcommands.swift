import ArgumentParser

/// Every subcommand, one file each beside this one, in the order a user meets them.
enum StrataSubcommands {
    static let all: [ParsableCommand.Type] = [
        InfoCommand.self,
        SynthCommand.self,
        EvaluateCommand.self,
        ImportCommand.self,
        ExportCommand.self,
        TrainCommand.self,
        PredictCommand.self,
        DemoCommand.self,
        BenchCommand.self,
    ]
}
