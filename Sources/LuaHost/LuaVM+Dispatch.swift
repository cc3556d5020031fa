import CLua
import CLuaBridge

/// A Swift function as the trampoline sees it: a class, so C can hold an unretained pointer to it,
/// with the closure in a concrete-typed stored property (no reabstraction thunk per call).
final class HostFunction {
    let body: LuaFunction
    init(_ body: @escaping LuaFunction) { self.body = body }
}

/// The C trampoline's way into Swift. Returns a code for the trampoline, which then returns,
/// raises or yields in C: nothing here may longjmp. Both pointers are unretained and guaranteed
/// alive for the call (the VM owns the state, the slot table owns the function).
func luaHostDispatch(_ host: UnsafeMutableRawPointer?, _ state: OpaquePointer?, _ function: UnsafeMutableRawPointer?) -> Int32 {
    Unmanaged<LuaVM>.fromOpaque(host!)._withUnsafeGuaranteedRef { vm in
        Unmanaged<HostFunction>.fromOpaque(function!)._withUnsafeGuaranteedRef { function in
            vm.dispatch(state!, function)
        }
    }
}

extension LuaVM {
    func dispatch(_ L: OpaquePointer, _ function: HostFunction) -> Int32 {
        let outer = state
        state = L
        defer { state = outer }
        let arguments = LuaCallArguments(vm: self, state: L, count: Int(lua_gettop(L)))
        do {
            let results = try function.body(arguments)
            switch pushAll(L, results) {
            case .pushed: return Int32(results.count)
            case .tooMany: pushString(L, "too many results (\(results.count)) from a host function")
            case .failed(let message): pushString(L, message)
            }
            return Int32(BLB_CALL_ERROR)
        } catch let yield as LuaYield {
            switch pushAll(L, yield.values) {
            case .pushed: return Int32(BLB_CALL_YIELD_BASE) - Int32(yield.values.count)
            case .tooMany: pushString(L, "too many values (\(yield.values.count)) to yield")
            case .failed(let message): pushString(L, message)
            }
            return Int32(BLB_CALL_ERROR)
        } catch let error as LuaError {
            if let value = error.value {
                do {
                    try push(L, value)
                    return Int32(BLB_CALL_ERROR_RAW)
                } catch {
                    // The error object cannot cross (say, nested too deeply): its message still can.
                }
            }
            pushString(L, error.message)
            // Errors from nested Lua already name their position; host errors get the caller's.
            return Int32(error.kind == .host ? BLB_CALL_ERROR : BLB_CALL_ERROR_RAW)
        } catch {
            pushString(L, String(describing: error))
            return Int32(BLB_CALL_ERROR)
        }
    }

    private enum PushOutcome {
        case pushed
        case tooMany
        case failed(String)
    }

    /// Pushes `values`, or pushes nothing and says why not (the trampoline raises it in Lua).
    private func pushAll(_ L: OpaquePointer, _ values: [LuaValue]) -> PushOutcome {
        if values.isEmpty { return .pushed }
        guard values.count < Int(Int32.max) - 8, lua_checkstack(L, Int32(values.count) + 2) != 0 else { return .tooMany }
        let top = lua_gettop(L)
        for value in values {
            do {
                try push(L, value)
            } catch {
                lua_settop(L, top)
                return .failed(error.message)
            }
        }
        return .pushed
    }
}
