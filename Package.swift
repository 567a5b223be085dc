// swift-tools-version:6.0
//
// bnfile: the layering is visible in the target graph.
//
//   CZlib            system zlib (deflate, inflate, crc32)
//   CFoldedCRC       CRC-32 by carry-less multiplication, where the processor has it
//   NumPyFormat      .npy/.npz reading and writing; knows nothing of batch norm
//   ExactBatchNorm   exact batch-norm forward/backward on buffers; knows nothing of files
//   ArrayComparison  element-wise comparison, tolerances, ulp and rounding verdicts
//   BatchNormFiles   the batch-norm file schema (keys, settings) and judging files against
//                    the exact result; the only library that sees the other three
//   bnfile           the command-line tool: thin glue (commands, batches, output placement)
import PackageDescription
import Foundation

// The exact engine's loops are written for SIMD lanes and fused multiply-adds. On
// x86-64 a release build targets Haswell-class processors (AVX2 and FMA, 2013 and
// later), which makes the engine about 1.5 times faster than baseline SSE2 code.
//
// That is an unsafe flag, which SwiftPM accepts only in a root package. Set
// BNFILE_PORTABLE=1 to build without it: for any x86-64 processor, or to depend on
// these libraries from another package. Results are identical either way.
let portable = ProcessInfo.processInfo.environment["BNFILE_PORTABLE"] != nil
#if arch(x86_64)
let targetCPU: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"], .when(configuration: .release))]
#else
let targetCPU: [SwiftSetting] = []
#endif
// Portable x86-64 code has no fused multiply-add instruction: each one becomes a call
// into libm, which the per-channel-bound kernel (built on them) cannot afford, so a
// portable build tells the engine to use its other kernel (ChannelBoundFormulas.swift).
let engineTuning: [SwiftSetting] = portable ? [.define("BNFILE_PORTABLE")] : targetCPU

let package = Package(
    name: "bnfile",
    products: [
        .executable(name: "bnfile", targets: ["bnfile"]),
        .library(name: "NumPyFormat", targets: ["NumPyFormat"]),
        .library(name: "ExactBatchNorm", targets: ["ExactBatchNorm"]),
        .library(name: "ArrayComparison", targets: ["ArrayComparison"]),
        .library(name: "BatchNormFiles", targets: ["BatchNormFiles"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(name: "CFoldedCRC"),
        .target(
            name: "NumPyFormat",
            dependencies: ["CZlib", "CFoldedCRC"]
        ),
        .target(
            name: "ExactBatchNorm",
            dependencies: [
                .product(name: "RealModule", package: "swift-numerics"),
                .product(name: "BigInt", package: "BigInt"),
            ],
            swiftSettings: engineTuning
        ),
        .target(
            name: "ArrayComparison",
            swiftSettings: engineTuning
        ),
        .target(
            name: "BatchNormFiles",
            dependencies: [
                "NumPyFormat", "ExactBatchNorm", "ArrayComparison",
                .product(name: "RealModule", package: "swift-numerics"),
            ]
        ),
        .executableTarget(
            name: "bnfile",
            dependencies: [
                "NumPyFormat", "ExactBatchNorm", "ArrayComparison", "BatchNormFiles",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Benchmarks of the engine for `make bench`; not part of the product.
        .executableTarget(
            name: "bnbench",
            dependencies: ["ExactBatchNorm", "NumPyFormat"]
        ),
        // What the test targets share: one process runner, one Python runner, one
        // scratch folder type. It imports none of the package's libraries.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "NumPyFormatTests", dependencies: ["NumPyFormat", "TestSupport"]),
        .testTarget(
            name: "ExactBatchNormTests",
            dependencies: ["ExactBatchNorm", "NumPyFormat", .product(name: "BigInt", package: "BigInt")]
        ),
        .testTarget(name: "ArrayComparisonTests", dependencies: ["ArrayComparison"]),
        .testTarget(
            name: "BatchNormFilesTests",
            dependencies: ["BatchNormFiles", "NumPyFormat", "ExactBatchNorm", "ArrayComparison", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["NumPyFormat", "TestSupport"]),
    ]
)
