// TEMPORARY until the C-level time limit lands.
extension LuaVM {
    public func setTimeLimit(_ seconds: Double?) {}
}
