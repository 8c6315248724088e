// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "replicate",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "replicate", targets: ["replicate"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
    .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
  ],
  targets: [
    // System libraries.
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),

    // Layers of the house (DESIGN.md): each imports only the ones above it.
    .target(name: "Engine", dependencies: ["CBLAS"]),
    .target(name: "NN", dependencies: ["Engine"]),
    .target(name: "Datasets", dependencies: ["Engine", "CZlib"]),
    .target(
      name: "Methods",
      dependencies: ["NN", "Datasets", .product(name: "Crypto", package: "swift-crypto")]),
    .target(
      name: "Harness",
      dependencies: [
        "Methods", "NN", "Datasets",
        .product(name: "Yams", package: "Yams"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Mustache", package: "swift-mustache"),
      ]),
    .executableTarget(
      name: "replicate",
      dependencies: ["Harness", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

    // Test support and tests.
    .target(name: "_ReplicateKernelPin", path: "Tests/_ReplicateKernelPin"),
    .target(
      name: "_ReplicateTestSupport", dependencies: ["Engine", "_ReplicateKernelPin"], path: "Tests/_ReplicateTestSupport"),
    .testTarget(name: "EngineTests", dependencies: ["Engine", "_ReplicateTestSupport"]),
    .testTarget(name: "NNTests", dependencies: ["NN", "_ReplicateTestSupport"]),
    .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "_ReplicateTestSupport"]),
    .testTarget(name: "MethodsTests", dependencies: ["Methods", "_ReplicateTestSupport"]),
    .testTarget(
      name: "HarnessTests", dependencies: ["Harness", "_ReplicateTestSupport"],
      resources: [.copy("Fixtures")]),
  ]
)
