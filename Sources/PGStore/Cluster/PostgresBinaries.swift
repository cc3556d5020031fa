import Foundation

/// Finds the installed PostgreSQL server programs (initdb, pg_ctl).
enum PostgresBinaries {
    /// In order: `$BLACKLIGHT_PG_BINDIR`, `pg_config --bindir`, the newest `/usr/lib/postgresql/*/bin` (Debian),
    /// `/usr/pgsql-*/bin` (RHEL), then Homebrew and /usr/local locations.
    static func locate() throws(PGError) -> String {
        var candidates: [String] = []
        if let dir = ProcessInfo.processInfo.environment["BLACKLIGHT_PG_BINDIR"] { candidates.append(dir) }
        if let pgConfig = ProcessRunner.which("pg_config"),
            let outcome = try? ProcessRunner.run(pgConfig, ["--bindir"], asUser: nil), outcome.status == 0
        {
            candidates.append(outcome.output)
        }
        candidates += versioned("/usr/lib/postgresql", suffix: "bin")
        candidates += versioned("/usr", prefix: "pgsql-", suffix: "bin")
        candidates += ["/opt/homebrew/bin", "/usr/local/pgsql/bin", "/usr/local/bin", "/usr/bin"]
        for dir in candidates where hasServer(dir) { return dir }
        throw PGError(
            code: .clusterSetup,
            message: "no PostgreSQL server programs (initdb, pg_ctl) found in \(candidates.joined(separator: ", ")): "
                + "install the server (apt-get install postgresql) or set BLACKLIGHT_PG_BINDIR to its bin folder")
    }

    private static func hasServer(_ dir: String) -> Bool {
        let fm = FileManager.default
        return fm.isExecutableFile(atPath: dir + "/initdb") && fm.isExecutableFile(atPath: dir + "/pg_ctl")
            && fm.isExecutableFile(atPath: dir + "/postgres")
    }

    /// `<parent>/<prefix><version>/<suffix>` for every installed version, newest first.
    private static func versioned(_ parent: String, prefix: String = "", suffix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        let versions = names.compactMap { name -> (Double, String)? in
            guard name.hasPrefix(prefix), let v = Double(name.dropFirst(prefix.count)) else { return nil }
            return (v, "\(parent)/\(name)/\(suffix)")
        }
        return versions.sorted { $0.0 > $1.0 }.map(\.1)
    }
}
