// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "blacklight",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "blacklight", targets: ["blacklight"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        // These three already come with Hummingbird; named here so Server can import them directly.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        // Counters kept as work happens (swift-metrics, already a Hummingbird dependency), exported as
        // Prometheus text by /metrics: a scrape then costs the same whatever the tables hold.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        // One target, no dependencies: property tests in FuzzTests at the cost of a few seconds of build.
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
        // Already built for Hummingbird (swift-nio-extras, swift-certificates): the Inngest protocol's SHA-1 step ids
        // and HMAC-SHA256 signatures come from it rather than from code of our own.
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"6.0.0"),
    ],
    targets: [
        // System libraries: headers and link flags come from pkg-config; apt names the packages.
        .systemLibrary(name: "CLua", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // Everything that can longjmp (lua_error, lua_yield, a failing allocation) lives in C.
        .target(name: "CLuaBridge", dependencies: ["CLua"]),

        .target(name: "BlacklightCore"),
        // C kernels with runtime CPU dispatch (AVX-512/AVX2 paths, portable fallback) for the scans.
        .target(name: "CVectorKernels"),
        .target(name: "VectorScoring", dependencies: ["CVectorKernels"]),
        // The sentence encoder's C kernels (matrix product, attention, layer norm; AVX-512F/AVX2/generic chosen at run
        // time). -O2 in every configuration: at -O0 the intrinsics keep every register in memory and the model runs
        // about 20× slower, which would turn the tests that embed real texts into minutes.
        .target(name: "CTransformerKernels", cSettings: [.unsafeFlags(["-O2"])]),
        // Native sentence embeddings (all-MiniLM-L6-v2): tokenizer, BERT encoder, pooling; reads the model files only.
        .target(name: "SentenceEmbedding", dependencies: ["CTransformerKernels"]),
        .target(name: "LuaHost", dependencies: ["CLua", "CLuaBridge"]),
        .target(name: "PGStore", dependencies: ["CLibPQ"]),
        .target(
            name: "Engine",
            dependencies: [
                "BlacklightCore", "LuaHost", "PGStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Migrations")]
        ),
        .target(
            name: "Matching",
            dependencies: [
                "Engine", "VectorScoring", "SentenceEmbedding", "PGStore", "LuaHost", "BlacklightCore",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Migrations")]
        ),
        .target(
            name: "Server",
            dependencies: [
                "Engine", "PGStore", "BlacklightCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "blacklight",
            dependencies: [
                "Engine", "PGStore", "BlacklightCore", "Server", "Matching", "VectorScoring", "SentenceEmbedding",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["PGStore", "Engine", "BlacklightCore"]),

        .testTarget(name: "BlacklightCoreTests", dependencies: ["BlacklightCore"]),
        .testTarget(name: "VectorScoringTests", dependencies: ["VectorScoring"]),
        // Reference/ holds the numpy reference the tests run through python3.
        .testTarget(name: "SentenceEmbeddingTests", dependencies: ["SentenceEmbedding", "CTransformerKernels"],
                    exclude: ["Reference"]),
        .testTarget(name: "MatchingTests", dependencies: ["Matching", "Engine", "PGStore", "LuaHost", "BlacklightCore", "VectorScoring",
                                                         "SentenceEmbedding", "TestSupport"]),
        .testTarget(name: "LuaHostTests", dependencies: ["LuaHost"]),
        .testTarget(name: "PGStoreTests", dependencies: ["PGStore", "TestSupport"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Engine", "PGStore", "BlacklightCore", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The Flask app (Python) the Inngest SDK tests start.
            exclude: ["InngestApp"]
        ),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "PGStore", "LuaHost", "BlacklightCore", "TestSupport"]),
        // The fuzz targets' checks (Checks/) replayed over the committed corpus (Corpus/), plus property tests.
        .testTarget(
            name: "FuzzTests",
            dependencies: [
                "BlacklightCore", "LuaHost", "Engine", "PGStore", "Server",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["Driver", "Corpus", "Dictionaries"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// MARK: Fuzzing (bin/fuzz)
//
// `bin/fuzz` builds with BLACKLIGHT_FUZZ=1 into its own scratch path (.build/fuzz), so nothing below
// touches the normal build: there the libFuzzer driver does not exist and no target is instrumented.
// The driver compiles the same Checks/ sources as FuzzTests, so the fuzzer and the corpus replay in
// the test command check one and the same thing; as SwiftPM refuses two targets sharing sources, the
// test target steps aside in this mode.
if Context.environment["BLACKLIGHT_FUZZ"] == "1" {
    // Coverage instrumentation for the code under test only: instrumenting NIO and Hummingbird too
    // would make libFuzzer scan their counters after every input for no gain. -enable-testing lets
    // the checks reach internal entry points (EventPayload, TimestampText, MemoCodec) as tests do.
    let instrumented: Set<String> = ["BlacklightCore", "LuaHost", "PGStore", "Engine", "Server"]
    for target in package.targets where instrumented.contains(target.name) {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-sanitize=fuzzer", "-enable-testing"])]
    }
    for target in package.targets where target.name == "CLuaBridge" {
        target.cSettings = (target.cSettings ?? []) + [.unsafeFlags(["-fsanitize=fuzzer-no-link"])]
    }
    package.targets.removeAll { $0.name == "FuzzTests" }
    package.targets.append(
        .executableTarget(
            name: "blacklight-fuzz",
            dependencies: ["BlacklightCore", "LuaHost", "Engine", "PGStore", "Server"],
            path: "Tests/FuzzTests",
            exclude: ["Corpus", "Properties", "Dictionaries"],
            sources: ["Checks", "Driver"],
            swiftSettings: [.unsafeFlags(["-sanitize=fuzzer", "-parse-as-library"])],
            // libFuzzer without its main(): SwiftPM aliases main to the module's entry point when it
            // links an executable, which clashes with the main that `-sanitize=fuzzer` links in. The
            // driver's @main calls LLVMFuzzerRunDriver instead; bin/fuzz finds the archive with clang.
            linkerSettings: [.unsafeFlags([
                "-Xlinker", "--whole-archive", "-Xlinker", Context.environment["BLACKLIGHT_FUZZ_RUNTIME"] ?? "",
                "-Xlinker", "--no-whole-archive", "-lstdc++",
            ])]
        ))
    package.products.append(.executable(name: "blacklight-fuzz", targets: ["blacklight-fuzz"]))
}
