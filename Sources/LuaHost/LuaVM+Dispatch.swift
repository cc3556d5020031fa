import CLua
import CLuaBridge

/// The C trampoline's way into Swift. Returns a code for the trampoline, which then returns,
/// raises or yields in C: nothing here may longjmp.
func luaHostDispatch(_ host: UnsafeMutableRawPointer?, _ state: OpaquePointer?, _ slot: Int32) -> Int32 {
    let vm = Unmanaged<LuaVM>.fromOpaque(host!).takeUnretainedValue()
    return vm.dispatch(state!, slot: Int(slot))
}

extension LuaVM {
    func dispatch(_ L: OpaquePointer, slot: Int) -> Int32 {
        guard slot >= 0, slot < functions.count, let function = functions[slot] else {
            pushString(L, "host function \(slot) is no longer registered")
            return Int32(BLB_CALL_ERROR)
        }
        let outer = state
        state = L
        defer { state = outer }
        let arguments = LuaCallArguments(vm: self, state: L, count: Int(lua_gettop(L)))
        do {
            let results = try function(arguments)
            guard pushAll(L, results) else {
                pushString(L, "too many results (\(results.count)) from a host function")
                return Int32(BLB_CALL_ERROR)
            }
            return Int32(results.count)
        } catch let yield as LuaYield {
            guard pushAll(L, yield.values) else {
                pushString(L, "too many values (\(yield.values.count)) to yield")
                return Int32(BLB_CALL_ERROR)
            }
            return Int32(BLB_CALL_YIELD_BASE) - Int32(yield.values.count)
        } catch let error as LuaError {
            if let value = error.value {
                push(L, value)
                return Int32(BLB_CALL_ERROR_RAW)
            }
            pushString(L, error.message)
            // Errors from nested Lua already name their position; host errors get the caller's.
            return Int32(error.kind == .host ? BLB_CALL_ERROR : BLB_CALL_ERROR_RAW)
        } catch {
            pushString(L, String(describing: error))
            return Int32(BLB_CALL_ERROR)
        }
    }

    private func pushAll(_ L: OpaquePointer, _ values: [LuaValue]) -> Bool {
        guard values.count < Int(Int32.max) - 8, lua_checkstack(L, Int32(values.count) + 2) != 0 else { return false }
        for value in values { push(L, value) }
        return true
    }
}
