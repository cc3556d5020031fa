import CLuaBridge

extension LuaVM {
    /// The limit that tripped since the last reset, if any (it stays tripped until ``resetLimits()``).
    public var trippedLimit: LuaError.Kind? {
        switch blb_tripped(bridge) {
        case Int32(BLB_TRIPPED_MEMORY): return .memoryLimit
        case Int32(BLB_TRIPPED_INSTRUCTIONS): return .instructionLimit
        case Int32(BLB_TRIPPED_TIME): return .timeLimit
        default: return nil
        }
    }
}
