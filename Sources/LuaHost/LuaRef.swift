import Synchronization

/// A Lua function or userdata kept alive in the registry of the VM it came from.
///
/// Two refs are equal when they name the same Lua object of the same VM. When the last copy goes
/// away the registry entry is released the next time its VM runs (deinit may happen on any
/// thread, the VM is used on one).
public final class LuaRef: @unchecked Sendable, Hashable {
    // @unchecked: every stored property is immutable; `owner` is Sendable.
    let owner: LuaRefOwner
    let reference: Int32
    /// The Lua object's address (lua_topointer), stable while this ref keeps the object alive.
    let identity: UInt
    /// Set on a ref that names no Lua object because making it failed (an API that cannot throw
    /// made it): pushing it throws this message as a `.host` error.
    let problem: String?

    init(owner: LuaRefOwner, reference: Int32, identity: UInt) {
        self.owner = owner
        self.reference = reference
        self.identity = identity
        self.problem = nil
    }

    init(owner: LuaRefOwner, problem: String) {
        self.owner = owner
        self.reference = -1  // LUA_NOREF
        self.identity = 0
        self.problem = problem
    }

    deinit { if problem == nil { owner.release(reference) } }

    public static func == (lhs: LuaRef, rhs: LuaRef) -> Bool {
        // A failed ref names no object, so it equals only itself.
        lhs === rhs || (lhs.owner === rhs.owner && lhs.identity == rhs.identity && lhs.problem == nil && rhs.problem == nil)
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(identity) }
}

/// Identifies one VM and collects registry references dropped on any thread.
final class LuaRefOwner: Sendable {
    private let pending = Mutex<[Int32]>([])
    /// Lets the VM skip the lock on its hot path when nothing is pending.
    private let pendingCount = Atomic<Int>(0)

    func release(_ reference: Int32) {
        pending.withLock { $0.append(reference) }
        pendingCount.add(1, ordering: .releasing)
    }

    var hasPending: Bool { pendingCount.load(ordering: .acquiring) > 0 }

    func takePending() -> [Int32] {
        let taken = pending.withLock { list -> [Int32] in
            defer { list.removeAll(keepingCapacity: true) }
            return list
        }
        pendingCount.subtract(taken.count, ordering: .releasing)
        return taken
    }
}
