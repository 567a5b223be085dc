import BatchNormFiles
import ExactBatchNorm
import Foundation
import NumPyFormat
import TestSupport
import Testing

/// Settings travel with the files: what numpy writes is read, what bnfile writes numpy
/// reads, and the order flags > input file > result file > framework holds.
@Suite struct SettingsTests {
    let scratch: ScratchFolder

    init() throws {
        scratch = try ScratchFolder(prefix: "bnfiles")
    }

    func path(_ name: String) -> String { scratch.path(name) }

    /// Runs numpy (imported as np) in the scratch folder and returns what it printed.
    func numpy(_ script: String) throws -> String {
        try scratch.python(script)
    }

    @Test func numpyWrittenSettingsAreRead() throws {
        _ = try numpy(
            """
            np.savez('s.npz', x=np.zeros((2, 3), np.float32), eps=np.float64(1e-3), momentum=0.99,
                     momentum_convention='keras', running_var_convention='biased', training=False, layout='nhwc')
            """)
        let stated = try StatedSettings(reading: NPZArchive(path: path("s.npz")), path: "s.npz")
        #expect(
            stated
                == StatedSettings(
                    eps: 1e-3, momentum: 0.99, momentumConvention: .keras,
                    runningVariance: .biased, training: false, layout: .channelsLast))
    }

    @Test func writtenSettingsReadBackInNumpy() throws {
        let settings = ResolvedSettings(
            eps: 2e-5, momentum: 0.25, momentumConvention: .keras,
            runningVariance: .biased, training: false, layout: .channelsLast)
        let writer = try NPZWriter(path: path("w.npz"))
        try settings.write(to: writer)
        try writer.finish()
        let printed = try numpy(
            """
            f = np.load('w.npz')
            print(float(f['eps']), float(f['momentum']), str(f['momentum_convention']),
                  str(f['running_var_convention']), bool(f['training']), str(f['layout']), f['layout'].shape)
            """)
        #expect(printed == "2e-05 0.25 keras biased False nhwc ()\n")
        let back = try StatedSettings(reading: NPZArchive(path: path("w.npz")), path: "w.npz")
        #expect(back.resolved(framework: .torch) == settings)
    }

    @Test func flagsOverFileOverFallbackOverFramework() {
        let flags = StatedSettings(eps: 1e-4)
        let file = StatedSettings(eps: 1e-2, momentum: 0.3)
        let result = StatedSettings(momentum: 0.5, layout: .channelsLast)
        let resolved = flags.over(file).over(result).resolved(framework: .keras)
        #expect(resolved.eps == 1e-4)
        #expect(resolved.momentum == 0.3)
        #expect(resolved.layout == .channelsLast)
        #expect(resolved.momentumConvention == .keras)
        #expect(resolved.runningVariance == .biased)
    }

    @Test func frameworkDefaultsFollowTheirLayers() {
        #expect(Framework.torch.defaults.eps == 1e-5 && Framework.torch.defaults.momentum == 0.1)
        #expect(Framework.keras.defaults.eps == 1e-3 && Framework.keras.defaults.layout == .channelsLast)
        #expect(Framework.flax.defaults.eps == 1e-5 && Framework.flax.defaults.momentumConvention == .keras)
    }

    @Test func conflictsNameEverySettingThatDiffers() {
        let a = StatedSettings(eps: 1e-5, layout: .channelsFirst)
        let b = StatedSettings(eps: 1e-3, momentum: 0.1, layout: .channelsFirst)
        #expect(a.conflicts(with: b) == ["eps 1e-05 vs 0.001"])
    }

    @Test func aWrongSettingTypeIsRefusedWithItsName() throws {
        _ = try numpy("np.savez('bad.npz', x=np.zeros((2, 3)), layout='sideways')")
        #expect(throws: BatchNormFileError.self) {
            _ = try StatedSettings(reading: NPZArchive(path: path("bad.npz")), path: "bad.npz")
        }
        do {
            _ = try StatedSettings(reading: NPZArchive(path: path("bad.npz")), path: "bad.npz")
        } catch let error as BatchNormFileError {
            #expect(error.description.contains("layout must be one of nchw, nhwc"))
        }
    }
}

/// The float dispatch of inputs: exactly float16, bfloat16 (declared), float32 and
/// float64, in either byte order; every other dtype has no format, so it cannot be read as another one.
@Suite struct StoredFloatTests {
    @Test func onlyTheThreeFloatsHaveAFormat() throws {
        #expect(StoredFloat(NPYDType.native(Float16.self)) == .float16)
        #expect(StoredFloat(NPYDType.native(Float.self)) == .float32)
        #expect(StoredFloat(try NPYDType(kind: .float, itemSize: 8, byteOrder: .big)) == .float64)
        #expect(StoredFloat(try NPYDType(kind: .bfloat16, itemSize: 2, byteOrder: .little)) == .bfloat16)
        #expect(StoredFloat(try NPYDType(kind: .void, itemSize: 2, byteOrder: .little)) == nil, "undeclared <V2")
        #expect(StoredFloat(NPYDType.native(Int32.self)) == nil)
        #expect(StoredFloat(NPYDType.native(Int16.self)) == nil, "a 2-byte integer is not float16")
        #expect(StoredFloat(try NPYDType(kind: .complex, itemSize: 8, byteOrder: .little)) == nil)
    }
}
