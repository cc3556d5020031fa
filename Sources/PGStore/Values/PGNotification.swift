/// A NOTIFY received on a channel this connection LISTENs to.
public struct PGNotification: Sendable, Hashable {
    public let channel: String
    public let payload: String
    /// The server process that sent it (equal to our own `serverPID` for our own NOTIFYs).
    public let pid: Int32

    public init(channel: String, payload: String, pid: Int32) {
        self.channel = channel
        self.payload = payload
        self.pid = pid
    }
}
