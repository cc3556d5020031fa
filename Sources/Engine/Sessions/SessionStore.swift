import BlacklightCore
import Foundation
import PGStore

/// Dashboard sessions, one row each in `blacklight.sessions` (0007_sessions.sql): shared by every `serve` process,
/// so a sign-in on one is honoured by the others and a sign-out ends it everywhere.
public struct SessionStore: Sendable {
    public init() {}

    /// Opens a session for whoever proved knowledge of the key with hash `keyHash`; returns the cookie's token.
    /// Expired sessions are deleted on the way (sign-ins are rare, the table stays small without a pruner).
    public func open(keyHash: String, lifetime: Double, conn: PGConnection) throws -> String {
        var rng = SystemRandomNumberGenerator()
        let token = (0..<4).map { _ in String(format: "%016llx", rng.next() as UInt64) }.joined()
        try conn.exec("""
            WITH gone AS (DELETE FROM blacklight.sessions WHERE expires_at <= now())
            INSERT INTO blacklight.sessions (token_hash, key_hash, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
            """, [.text(Self.hash(token)), .text(keyHash), .double(max(0, min(lifetime, 400 * 86400)))])
        return token
    }

    /// Whether `token` names a session that has not ended and was opened under the key with hash `keyHash`.
    public func isOpen(token: String, keyHash: String, conn: PGConnection) throws -> Bool {
        try conn.query("""
            SELECT 1 FROM blacklight.sessions WHERE token_hash = $1 AND key_hash = $2 AND expires_at > now()
            """, [.text(Self.hash(token)), .text(keyHash)]).rows.count == 1
    }

    public func close(token: String, conn: PGConnection) throws {
        try conn.exec("DELETE FROM blacklight.sessions WHERE token_hash = $1", [.text(Self.hash(token))])
    }

    static func hash(_ token: String) -> String { SHA256.hex("blacklight-session:" + token) }
}
