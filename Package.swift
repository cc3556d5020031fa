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
        // Both already come with Hummingbird; named here so Server can import them directly.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.0.0"),
    ],
    targets: [
        // System libraries: headers and link flags come from pkg-config; apt names the packages.
        .systemLibrary(name: "CLua", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // Everything that can longjmp (lua_error, lua_yield, a failing allocation) lives in C.
        .target(name: "CLuaBridge", dependencies: ["CLua"]),

        .target(name: "BlacklightCore"),
        .target(name: "LuaHost", dependencies: ["CLua", "CLuaBridge"]),
        .target(name: "PGStore", dependencies: ["CLibPQ"]),
        .target(
            name: "Engine",
            dependencies: [
                "BlacklightCore", "LuaHost", "PGStore",
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
            ]
        ),
        .executableTarget(
            name: "blacklight",
            dependencies: [
                "Engine", "PGStore", "BlacklightCore", "Server",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["PGStore"]),

        .testTarget(name: "BlacklightCoreTests", dependencies: ["BlacklightCore"]),
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
