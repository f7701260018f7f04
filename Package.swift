// swift-tools-version:6.0
// Strata: image time stacks in, ConvLSTM predictions out.
//
// Layers (dependencies point one way, see docs/architecture.md):
//   strata (CLI) -> StrataPipeline -> StrataModel, StrataIO -> StrataCore -> StrataKernels (C)
//   strata (CLI) -> StrataBench -> StrataPipeline, StrataModel ; StrataIO -> CGDAL, CHDF5, CZlib
// The model never imports GDAL or HDF5; I/O never imports the model.
import PackageDescription

let package = Package(
    name: "Strata",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "strata", targets: ["strata"]),
        .library(name: "StrataCore", targets: ["StrataCore"]),
        .library(name: "StrataIO", targets: ["StrataIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // YAML job files for `strata train --config` (StrataPipeline/Training/TrainingConfig).
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // System libraries: a module map and a tiny shim header each, nothing else.
        .systemLibrary(name: "CGDAL", pkgConfig: "gdal", providers: [.apt(["libgdal-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Hot loops in C with runtime CPU dispatch (no compiler flags needed).
        .target(
            name: "StrataKernels",
            linkerSettings: [.linkedLibrary("pthread"), .linkedLibrary("m")]
        ),
        .target(name: "StrataCore", dependencies: ["StrataKernels"]),
        .target(name: "StrataIO", dependencies: ["StrataCore", "CGDAL", "CHDF5", "CZlib"]),
        .target(
            name: "StrataPipeline",
            dependencies: ["StrataCore", "StrataIO", "StrataModel", .product(name: "Yams", package: "Yams")]
        ),
        // `bench predict` writes a checkpoint and a raster stack, then times `strata predict` on them.
        .target(name: "StrataBench", dependencies: ["StrataCore", "StrataKernels", "StrataModel", "StrataIO",
                                                    "StrataPipeline"]),
        // Parameters, losses, optimizers, schedules, loss scaling: no I/O, no GDAL/HDF5.
        .target(name: "StrataModel", dependencies: ["StrataCore", "StrataKernels"]),
        .executableTarget(
            name: "strata",
            dependencies: [
                "StrataCore", "StrataIO", "StrataPipeline", "StrataBench", "StrataModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Test-only helpers every test target shares: temporary folders, independent tools, ../shared/data.
        .target(name: "StrataTestSupport", path: "Tests/StrataTestSupport"),
        .testTarget(name: "StrataKernelsTests", dependencies: ["StrataKernels", "StrataCore"]),
        .testTarget(name: "StrataCoreTests", dependencies: ["StrataCore", "StrataTestSupport"]),
        .testTarget(name: "StrataIOTests", dependencies: ["StrataIO", "StrataCore", "CGDAL", "StrataTestSupport"]),
        .testTarget(
            name: "StrataPipelineTests",
            dependencies: ["StrataPipeline", "StrataCore", "StrataIO", "StrataTestSupport"]
        ),
        .testTarget(name: "StrataCLITests", dependencies: ["strata", "StrataIO", "StrataTestSupport"]),
        // Losses/optimizers, and PyTorch reference fixtures (scripts/reference/) with a naive float64 ConvLSTM;
        // checkpoints and importers (StrataPipeline) are held to the same fixtures and reference.
        .testTarget(
            name: "StrataModelTests",
            dependencies: ["StrataModel", "StrataCore", "StrataIO", "StrataPipeline", "StrataTestSupport"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
