import Foundation
import TestSupport
import Testing

@testable import NumPyFormat

#if canImport(Glibc)
import Glibc
#endif

/// Where an atomic output goes and what its temporary file is called.
@Suite struct OutputPlacementTests {
    @Test func devicesFifosAndDescriptorLinksAreWrittenInPlace() throws {
        #expect(OutputPlacement.resolve("/dev/null") == .inPlace("/dev/null"))
        #expect(OutputPlacement.resolve("/dev/stdout") == .inPlace("/dev/stdout"))
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        #expect(mkfifo(directory.path("fifo"), 0o644) == 0)
        #expect(OutputPlacement.resolve(directory.path("fifo")) == .inPlace(directory.path("fifo")))
    }

    /// Links are followed (relative ones from the link's folder) to the file renamed over.
    @Test func symlinksResolveToTheirTarget() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        _ = try directory.write([1], to: "real.npz")
        #expect(symlink("real.npz", directory.path("a")) == 0)
        #expect(symlink(directory.path("a"), directory.path("b")) == 0)
        #expect(OutputPlacement.resolve(directory.path("b")) == .replace(directory.path("real.npz")))
        #expect(OutputPlacement.resolve(directory.path("new.npz")) == .replace(directory.path("new.npz")))
        #expect(FileIdentity(path: directory.path("b")) == FileIdentity(path: directory.path("real.npz")))
        #expect(FileIdentity(path: directory.path("missing")) == nil)
    }

    /// Temporary names never exceed NAME_MAX, keep whole characters, and say whose they are.
    @Test(arguments: [1, 200, 246, 255])
    func temporaryNamesFitAndRecordTheirOwner(length: Int) {
        let base = String(repeating: "é", count: length / 2) + String(repeating: "r", count: length % 2)
        let name = TemporaryFile.name(folder: "dir/", base: base, pid: 4242, suffix: "abcdefABCDEF")
        let file = String(name.dropFirst(4))
        #expect(name.hasPrefix("dir/."))
        #expect(file.utf8.count <= TemporaryFile.maxNameBytes)
        #expect(String(validating: Array(file.utf8), as: UTF8.self) != nil)
        #expect(TemporaryFile.owner(ofName: file) == 4242)
        #expect(TemporaryFile.owner(ofName: ".x.npz.tmp-abc") == nil)
        #expect(TemporaryFile.owner(ofName: "x.npz.tmp-12-abcdefABCDEF") == nil)
    }
}
