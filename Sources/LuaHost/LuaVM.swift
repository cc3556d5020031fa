import CLua
import CLuaBridge

/// One Lua 5.4 state hosting sandboxed scripts, with a memory cap and an instruction budget.
///
/// Not `Sendable`: use each VM from one thread (or actor) at a time. Scripts loaded with
/// ``load(_:chunkName:)`` run in a fresh sandbox environment each; the host API is added with
/// ``setGlobalTable(_:functions:values:)`` and ``setGlobalFunction(_:_:)``.
///
/// Limits are counted across everything the VM runs until ``resetLimits()`` or
/// ``setInstructionBudget(_:)``: call one of them before each unit of work (say, each workflow run),
/// and ``setTimeLimit(_:)`` after it for a wall-clock limit.
/// Once a limit trips it stays tripped, so a script's `pcall` cannot swallow it.
public final class LuaVM {
    /// Per-VM resource limits.
    public struct Limits: Sendable {
        /// Bytes the Lua state may hold (default 64 MiB).
        public var memoryBytes: Int
        /// Instructions per unit of work (default 50 million); each function call counts as 10 and
        /// each step of the pattern functions (`string.find`, `match`, `gmatch`, `gsub`) as 1.
        public var instructions: Int

        public init(memoryBytes: Int = 64 << 20, instructions: Int = 50_000_000) {
            self.memoryBytes = memoryBytes
            self.instructions = instructions
        }
    }

    let bridge: OpaquePointer
    let mainState: OpaquePointer
    /// The thread Swift currently works on: the main thread, or the coroutine whose Lua code called
    /// the host function now running. Behind a pointer because every host call saves and restores
    /// it, and a stored property would pay for a dynamic exclusivity check each time.
    var state: OpaquePointer {
        get { currentState.pointee }
        set { currentState.pointee = newValue }
    }
    private let currentState: UnsafeMutablePointer<OpaquePointer>
    let owner = LuaRefOwner()
    let moduleSource: (String) -> (source: String, chunkName: String)?
    let printHandler: (String) -> Void

    /// Swift functions callable from Lua, by slot; a slot is freed when Lua collects its closure.
    var functions: [HostFunction?] = []
    var freeSlots: [Int32] = []
    /// Registry references of userdata metatables, by type name.
    var userdataMetatables: [String: Int32] = [:]
    /// Registry references of the sandbox's frozen globals and of the per-chunk environment metatable.
    var sandboxGlobals: Int32 = 0
    var environmentMetatable: Int32 = 0
    /// The first failure of a host API that cannot throw, thrown by the next entry into Lua.
    var deferredError: LuaError?

    /// Creates a VM with the sandbox installed.
    /// - Parameters:
    ///   - moduleSource: resolves `require(name)` to Lua source and a chunk name (`plugins/x.lua`).
    ///   - print: receives the text of each `print` call (arguments joined by tabs).
    public init(
        limits: Limits = .init(),
        moduleSource: @escaping (String) -> (source: String, chunkName: String)? = { _ in nil },
        print: @escaping (String) -> Void = { _ in }
    ) throws(LuaError) {
        guard
            let bridge = blb_open(
                limits.memoryBytes.clampedToSize, Int64(limits.instructions), luaHostDispatch
            )
        else { throw LuaError.host("cannot create a Lua state") }
        self.bridge = bridge
        self.mainState = blb_main_thread(bridge)
        self.currentState = .allocate(capacity: 1)
        self.currentState.initialize(to: mainState)
        self.moduleSource = moduleSource
        self.printHandler = print
        blb_set_host(bridge, Unmanaged.passUnretained(self).toOpaque())
        try installSandbox()
        blb_reset_limits(bridge)
    }

    deinit {
        blb_close_lua(bridge)  // finalizers queue the Swift objects held by userdata
        var released = [blb_released](repeating: blb_released(), count: 64)
        while blb_released_count(bridge) > 0 {
            let n = Int(blb_take_released(bridge, &released, 64))
            for item in released[0..<n] {
                if let object = item.object { Unmanaged<AnyObject>.fromOpaque(object).release() }
            }
        }
        blb_free(bridge)
        currentState.deallocate()
    }

    /// Bytes currently held by the Lua state.
    public var memoryInUse: Int { Int(blb_memory_in_use(bridge)) }

    /// Instructions charged since the last reset.
    public var instructionsExecuted: Int { Int(blb_instructions_executed(bridge)) }

    /// Clears the instruction counter, the time limit and every tripped flag. When the memory limit
    /// had tripped, also collects garbage so the next work starts below the cap.
    public func resetLimits() {
        let memoryTripped = blb_tripped(bridge) == Int32(BLB_TRIPPED_MEMORY)
        blb_reset_limits(bridge)
        if memoryTripped { clua_gc(mainState, LUA_GCCOLLECT) }
    }

    /// Sets the budget for the next work and restarts the counter (an instruction trip is cleared;
    /// a memory trip is not).
    public func setInstructionBudget(_ n: Int) {
        blb_set_instruction_budget(bridge, Int64(n))
    }

    /// Sets a wall-clock limit of `seconds` from now for the next work, or clears it with nil (or
    /// infinity); a time trip is cleared. The limit also stops time spent inside the pattern
    /// functions (`string.find`, `match`, `gmatch`, `gsub`), where no instruction is counted.
    /// Time spent in host functions is not interrupted: it is noticed when they return to Lua.
    /// ``resetLimits()`` clears it too.
    public func setTimeLimit(_ seconds: Double?) {
        guard let seconds, seconds < Self.maximumTimeLimit else {
            blb_set_deadline(bridge, 0)
            return
        }
        // 0 would clear the deadline in C: a limit of zero or less is already over.
        let nanoseconds = seconds > 0 ? Int64(seconds * 1e9) : 0
        blb_set_deadline(bridge, max(nanoseconds, 1))
    }

    /// About 30 years: beyond it, a time limit is no limit (and the nanoseconds would overflow).
    static let maximumTimeLimit: Double = 1e9

    /// Changes the memory cap; takes effect on the next allocation.
    public func setMemoryLimit(_ bytes: Int) {
        blb_set_memory_cap(bridge, bytes.clampedToSize)
    }
}

@available(*, unavailable, message: "a LuaVM is used from one thread at a time")
extension LuaVM: Sendable {}

extension Int {
    fileprivate var clampedToSize: Int { Swift.max(self, 0) }
}
