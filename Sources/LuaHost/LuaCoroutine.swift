import CLua
import CLuaBridge

/// A Lua coroutine driven from Swift: each ``resume(_:)`` runs until the body yields (through
/// `coroutine.yield` in Lua, or a host function throwing ``LuaYield``), returns or fails.
///
/// Does not keep its VM alive (host functions often capture coroutines, and the VM owns the host
/// functions): keep the VM yourself; resuming after it is gone throws. Use it from the VM's thread.
public final class LuaCoroutine {
    public enum Result {
        case yielded([LuaValue])
        case returned([LuaValue])
    }

    private weak var vm: LuaVM?
    private let owner: LuaRefOwner
    let thread: OpaquePointer?
    private let threadReference: Int32
    private var dead = false
    /// Set while this coroutine (or one it resumed) runs, so a host function inside it cannot
    /// resume it again.
    private var running = false
    /// Why the coroutine could not be made (a ref of another VM, no stack left): the first resume
    /// throws it. Kept instead of thrown because ``LuaVM/newCoroutine(_:)`` does not throw.
    private var creationError: LuaError?

    init(vm: LuaVM, function: LuaRef) {
        self.vm = vm
        self.owner = vm.owner
        let L = vm.state
        guard lua_checkstack(L, 2) != 0 else {
            thread = nil
            threadReference = clua_noref()
            creationError = LuaError.host("Lua stack overflow")
            return
        }
        let thread = lua_newthread(L)  // inherits the instruction hook and the extra space
        self.thread = thread
        threadReference = luaL_ref(L, clua_registryindex())
        do throws(LuaError) {
            guard let thread, lua_checkstack(thread, 1) != 0 else { throw LuaError.host("Lua stack overflow") }
            try vm.pushRef(thread, function)
        } catch {
            creationError = error
        }
    }

    deinit { if thread != nil { owner.release(threadReference) } }

    /// True once the body returned or failed; resuming then throws.
    public var isDead: Bool { dead }

    /// Resumes with `args` (the body's arguments on the first resume, the results of the pending
    /// yield afterwards). An error inside the coroutine throws with the coroutine's traceback.
    public func resume(_ args: [LuaValue]) throws(LuaError) -> Result {
        guard !dead else { throw LuaError.host("cannot resume dead coroutine") }
        guard !running else { throw LuaError.host("cannot resume non-suspended coroutine") }
        guard let vm else { throw LuaError.host("cannot resume a coroutine whose LuaVM is gone") }
        if let creationError {
            dead = true
            throw creationError
        }
        try vm.enter()
        guard let co = thread else { throw LuaError.host("cannot resume dead coroutine") }
        guard lua_checkstack(co, Int32(clamping: args.count + 2)) != 0 else {
            throw LuaError.host("too many arguments (\(args.count)) to resume")
        }
        let top = lua_gettop(co)
        do {
            for arg in args { try vm.push(co, arg) }
        } catch {
            lua_settop(co, top)
            throw error
        }
        var resultCount: Int32 = 0
        running = true
        let status = blb_resume(co, vm.state, Int32(args.count), &resultCount)
        running = false
        switch status {
        case LUA_OK, LUA_YIELD:
            if status == LUA_OK { dead = true }
            let values: [LuaValue]
            do {
                values = try vm.popValues(co, count: resultCount)
            } catch {
                throw LuaError.host(error.message)
            }
            if let limitError = vm.trippedLimitError() {
                dead = true
                throw limitError
            }
            return status == LUA_OK ? .returned(values) : .yielded(values)
        default:
            dead = true
            // The failed coroutine keeps its stack, so its traceback shows where the error happened.
            // Built on the resumer's stack: the coroutine's may be full (a stack overflow).
            let L = vm.state
            var traceback: String?
            if lua_checkstack(L, 4) != 0 {
                blb_push_thread_traceback(L, co)
                traceback = vm.readString(L, -1)
                clua_pop(L, 1)
            }
            defer { clua_pop(co, 1) }
            throw vm.makeError(co, -1, status: status, traceback: traceback)
        }
    }
}

extension LuaVM {
    /// A coroutine whose body is `function`.
    public func newCoroutine(_ function: LuaRef) -> LuaCoroutine {
        drainReleased()
        return LuaCoroutine(vm: self, function: function)
    }
}
