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
        .target(name: "LuaHost", dependencies: ["CLua", "CLuaBridge"]),
        .target(name: "PGStore", dependencies: ["CLibPQ"]),
        .target(
            name: "Engine",
            dependencies: [
                "BlacklightCore", "LuaHost", "PGStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            resources: [.copy("Migrations")]
        ),
        .target(
            name: "Matching",
            dependencies: [
                "Engine", "VectorScoring", "PGStore", "LuaHost", "BlacklightCore",
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
                "Engine", "PGStore", "BlacklightCore", "Server", "Matching", "VectorScoring",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["PGStore", "Engine", "BlacklightCore"]),

        .testTarget(name: "BlacklightCoreTests", dependencies: ["BlacklightCore"]),
        .testTarget(name: "VectorScoringTests", dependencies: ["VectorScoring"]),
        .testTarget(name: "MatchingTests", dependencies: ["Matching", "Engine", "PGStore", "LuaHost", "BlacklightCore", "VectorScoring", "TestSupport"]),
        .testTarget(name: "LuaHostTests", dependencies: ["LuaHost"]),
        .testTarget(name: "PGStoreTests", dependencies: ["PGStore", "TestSupport"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Engine", "PGStore", "BlacklightCore", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "PGStore", "LuaHost", "BlacklightCore", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
