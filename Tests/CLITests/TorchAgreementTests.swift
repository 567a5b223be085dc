import Foundation
import Testing

/// bnfile and torch agree within torch's own `assert_close` tolerances wherever the
/// inputs are well-conditioned: the plain comparison of `bnfile diff`, with bnfile's
/// exact results as A and torch's as the reference B.
@Suite struct TorchAgreementTests {
    /// float16 throughout: torch's float16 `out` and `dx` miss assert_close's float16
    /// tolerance against the truth (59 and 239 ulp) while staying within rounding
    /// (DiffTruthTests): the tolerance, not torch, is too tight there.
    static let outsideAssertClose: Set<String> = ["small_f16_4d"]

    @Test(arguments: FixtureCase.withTorch.filter(\.wellConditioned))
    func exactAndTorchAgreeWithinAssertClose(_ fixture: FixtureCase) throws {
        let result = try BNFileBinary.run(["diff", fixture.path("exact"), fixture.path("torch"), "--quiet"])
        if Self.outsideAssertClose.contains(fixture.name) {
            #expect(result.status == 1, "\(fixture.name): expected to stay outside assert_close: \(result.stdout)")
        } else {
            #expect(result.status == 0, "\(fixture.name): \(result.stdout) \(result.stderr)")
        }
    }
}
