import Foundation
import Testing

/// Every subcommand's --help has a description and an example of itself. The list of
/// subcommands is read from `bnfile --help`, so a new subcommand is covered as well.
@Suite struct HelpTests {
    static func subcommands() throws -> [String] {
        let help = try BNFileBinary.run(["--help"]).stdout
        let section = help.components(separatedBy: "SUBCOMMANDS:").last ?? ""
        return section.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let word = line.split(separator: " ").first else {
                return nil
            }
            return word == "See" ? nil : String(word)
        }
    }

    @Test func topLevelHelpHasOverviewAndExample() throws {
        let result = try BNFileBinary.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("OVERVIEW: "))
        #expect(result.stdout.contains("\nExample:\n  bnfile run "), "\(result.stdout)")
        #expect(try Self.subcommands().contains("run") && Self.subcommands().contains("inspect"))
    }

    @Test func everySubcommandHasADescriptionAndAnExample() throws {
        for name in try Self.subcommands() {
            let result = try BNFileBinary.run([name, "--help"])
            #expect(result.status == 0, "\(name)")
            let overview = result.stdout.components(separatedBy: "USAGE:").first ?? ""
            // The one-line abstract, then a paragraph of at least a few lines.
            #expect(overview.split(separator: "\n").count >= 5, "\(name) --help has no description")
            #expect(overview.contains("\nExample:\n  bnfile \(name) "), "\(name) --help has no example")
        }
    }

    /// `bnfile --version` prints a semantic version alone and exits 0, before and after a
    /// subcommand alike.
    @Test func versionIsPrinted() throws {
        let result = try BNFileBinary.run(["--version"])
        #expect(result.status == 0, "\(result.stderr)")
        let version = result.stdout.trimmingCharacters(in: .newlines)
        let parts = version.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 3 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }, "\(result.stdout)")
        #expect(result.stdout == version + "\n")
        let fromSubcommand = try BNFileBinary.run(["run", "--version"])
        #expect(fromSubcommand.status == 0 && fromSubcommand.stdout == result.stdout, "\(fromSubcommand.stderr)")
    }
}
