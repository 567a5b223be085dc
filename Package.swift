// swift-tools-version:6.0
//
// bnfile: the layering is visible in the target graph.
//
//   CZlib            system zlib (deflate, inflate, crc32)
//   CFoldedCRC       CRC-32 by carry-less multiplication, where the processor has it
//   CMultiplyAdd     a*b + c, fused where the target can, never reassociated
//   CSystemCalls     what the libraries ask of the system (the processors online, early writeback)
//   CWorkerPool      the engine's worker threads, which spin between steps before they sleep
//   NumPyFormat      .npy/.npz reading and writing; knows nothing of batch norm
//   ExactBatchNorm   exact batch-norm forward/backward on buffers; knows nothing of files
//   ArrayComparison  element-wise comparison, tolerances, ulp and rounding verdicts
//   BatchNormFiles   the batch-norm file schema (keys, settings) and judging files against
//                    the exact result; the only library that sees the other three
//   bnfile           the command-line tool: thin glue (commands, batches, output placement)
import PackageDescription

// No target sets unsafe flags or reads the environment, so other packages can depend on
// the libraries. The engine's kernels are written to be right and to vectorize on any
// processor: their error bounds need no fused multiply-add. Tuning for a processor is
// the builder's choice, on the command line; the Makefile builds
// for x86-64 processors with AVX2 and FMA (Haswell, 2013, and later) with
//     swift build -c release -Xswiftc -target-cpu -Xswiftc haswell
// (README, "CPU tuning", gives what it buys). Results are identical either way.
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
        .target(name: "CMultiplyAdd"),
        .target(name: "CSystemCalls"),
        .target(name: "CWorkerPool"),
        .target(
            name: "NumPyFormat",
            dependencies: ["CZlib", "CFoldedCRC", "CSystemCalls"]
        ),
        .target(
            name: "ExactBatchNorm",
            dependencies: [
                "CMultiplyAdd", "CSystemCalls", "CWorkerPool",
                .product(name: "RealModule", package: "swift-numerics"),
                .product(name: "BigInt", package: "BigInt"),
            ]
        ),
        .target(
            name: "ArrayComparison"
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
            dependencies: ["ExactBatchNorm", "NumPyFormat", "TestSupport", .product(name: "BigInt", package: "BigInt")]
        ),
        .testTarget(name: "ArrayComparisonTests", dependencies: ["ArrayComparison", "TestSupport"]),
        .testTarget(
            name: "BatchNormFilesTests",
            dependencies: ["BatchNormFiles", "NumPyFormat", "ExactBatchNorm", "ArrayComparison", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["NumPyFormat", "TestSupport"]),
    ]
)
