import Foundation

/// The OS user PostgreSQL runs as, and whether it can reach the cluster directory.
struct ClusterUser {
    let name: String
    let uid: uid_t
    let gid: gid_t
    /// True when this is another user than the one running us, so commands go through `runuser`.
    let switches: Bool

    /// `requested`, else the current user unless that is root, else "postgres", else a "blacklight" system user
    /// (created on first use). initdb and postgres refuse to run as root.
    static func resolve(requested: String?) throws(PGError) -> ClusterUser {
        let current = getuid()
        if let requested {
            guard let user = lookup(requested) else {
                throw PGError(code: .clusterSetup, message: "OS user '\(requested)' does not exist")
            }
            if user.uid == 0 {
                throw PGError(
                    code: .clusterSetup, message: "PostgreSQL refuses to run as root; choose an unprivileged OS user")
            }
            if user.uid != current && current != 0 {
                throw PGError(
                    code: .clusterSetup,
                    message: "cannot run PostgreSQL as '\(requested)': switching users needs root; leave osUser nil "
                        + "to run it as the current user")
            }
            return user
        }
        if current != 0 {
            guard let me = getpwuid(current) else {
                throw PGError(code: .clusterSetup, message: "the current user (uid \(current)) has no passwd entry")
            }
            return ClusterUser(name: String(cString: me.pointee.pw_name), uid: current, gid: me.pointee.pw_gid,
                               switches: false)
        }
        if let postgres = lookup("postgres") { return postgres }
        if let existing = lookup("blacklight") { return existing }
        try create("blacklight")
        guard let created = lookup("blacklight") else {
            throw PGError(code: .clusterSetup, message: "created OS user 'blacklight' but cannot look it up")
        }
        return created
    }

    private static func lookup(_ name: String) -> ClusterUser? {
        guard let pw = getpwnam(name) else { return nil }
        return ClusterUser(name: name, uid: pw.pointee.pw_uid, gid: pw.pointee.pw_gid, switches: pw.pointee.pw_uid != getuid())
    }

    private static func create(_ name: String) throws(PGError) {
        guard let useradd = ["/usr/sbin/useradd", "/sbin/useradd"].first(where: FileManager.default.isExecutableFile)
        else {
            throw PGError(
                code: .clusterSetup,
                message: "running as root, no 'postgres' user, and no useradd to create '\(name)': create an "
                    + "unprivileged user and pass it as osUser")
        }
        let outcome = try ProcessRunner.run(
            useradd, ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            asUser: nil)
        guard outcome.status == 0 || lookup(name) != nil else {
            throw PGError(code: .clusterSetup, message: "could not create OS user '\(name)': \(outcome.output)")
        }
    }

    /// Fails with a message naming the first ancestor of `directory` this user cannot enter, and what to do.
    func checkCanReach(_ directory: URL) throws(PGError) {
        guard switches else { return }
        let groups = memberships()
        var path = directory.standardizedFileURL.deletingLastPathComponent()
        var ancestors: [URL] = []
        while path.path != "/" {
            ancestors.append(path)
            path = path.deletingLastPathComponent()
        }
        ancestors.append(URL(fileURLWithPath: "/"))
        for folder in ancestors.reversed() {
            var st = stat()
            guard stat(folder.path, &st) == 0 else { continue }
            let mode = st.st_mode
            let canEnter: Bool
            if st.st_uid == uid {
                canEnter = mode & S_IXUSR != 0
            } else if groups.contains(st.st_gid) {
                canEnter = mode & S_IXGRP != 0
            } else {
                canEnter = mode & S_IXOTH != 0
            }
            if !canEnter {
                let owner = getpwuid(st.st_uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(st.st_uid)"
                throw PGError(
                    code: .clusterSetup,
                    message: "PostgreSQL runs as the unprivileged OS user '\(name)', which cannot enter \(folder.path) "
                        + "(owner \(owner), mode 0\(String(mode & 0o7777, radix: 8))), so it cannot reach "
                        + "\(directory.path). Put the cluster directory where '\(name)' can reach it (for example "
                        + "under /tmp or /var/lib/blacklight), or allow it with: chmod o+x \(folder.path)")
            }
        }
    }

    private func memberships() -> Set<gid_t> {
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        #if canImport(Darwin)
        var list = [Int32](repeating: 0, count: Int(count))
        if getgrouplist(name, Int32(gid), &list, &count) < 0 { return [gid] }
        groups = list.prefix(Int(count)).map { gid_t($0) }
        #else
        if getgrouplist(name, gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            if getgrouplist(name, gid, &groups, &count) < 0 { return [gid] }
        }
        groups = Array(groups.prefix(Int(count)))
        #endif
        return Set(groups).union([gid])
    }
}
