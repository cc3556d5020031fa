import Hummingbird
import NIOCore

/// The request context of the server: Hummingbird's basic one plus the peer's address, which the sign-in rate
/// limit counts by.
public struct ServerRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
