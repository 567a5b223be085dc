import ArgumentParser

@main
struct BNFile: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bnfile", subcommands: [Run.self, Inspect.self])
}
