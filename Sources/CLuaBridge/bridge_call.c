// Crossing between Lua and Swift: the trampoline, protected entry points and the message handler.
#include "bridge_internal.h"

// The handler wraps the error object and its traceback in a marked table so blb_pcall can hand
// both back; a registry slot would go stale across nested calls and memory errors (which skip it).
static char blb_wrapped_error_key;

int blb_message_handler(lua_State *L) {
    blb_state *S = blb_get(L);
    S->grace++;  // a traceback must be possible even after the memory limit tripped
    lua_createtable(L, 2, 1);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    luaL_traceback(L, L, NULL, 1);
    lua_rawseti(L, -2, 2);
    lua_pushboolean(L, 1);
    lua_rawsetp(L, -2, &blb_wrapped_error_key);
    S->grace--;
    return 1;
}

int blb_pcall(lua_State *L, int nargs, int nresults) {
    blb_state *S = blb_get(L);
    int handler = lua_gettop(L) - nargs;
    lua_pushcfunction(L, blb_message_handler);
    lua_insert(L, handler);
    int saved_mode = S->protected_mode, saved_grace = S->grace;
    S->protected_mode = 1;
    int status = lua_pcall(L, nargs, nresults, handler);
    S->protected_mode = saved_mode;
    S->grace = saved_grace;  // a longjmp out of an error message builder skips its decrement
    lua_remove(L, handler);
    if (status == LUA_OK) return status;
    lua_checkstack(L, 3);
    // Leave exactly two values: the error object and its traceback (nil when none was taken).
    if (lua_type(L, -1) == LUA_TTABLE && lua_rawgetp(L, -1, &blb_wrapped_error_key) == LUA_TBOOLEAN) {
        lua_pop(L, 1);
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        lua_remove(L, -3);
    } else {
        if (lua_type(L, -1) == LUA_TTABLE) lua_pop(L, 1);  // the rawgetp result
        lua_pushnil(L);
    }
    return status;
}

int blb_resume(lua_State *co, lua_State *from, int nargs, int *nresults) {
    blb_state *S = blb_get(co);
    int saved_mode = S->protected_mode, saved_grace = S->grace;
    S->protected_mode = 1;
    int status = lua_resume(co, from, nargs, nresults);
    S->protected_mode = saved_mode;
    S->grace = saved_grace;
    return status;
}

int blb_load(lua_State *L, const char *source, size_t length, const char *chunkname, const char *mode) {
    blb_state *S = blb_get(L);
    int saved_mode = S->protected_mode;
    S->protected_mode = 1;  // lua_load catches its own errors, memory errors included
    int status = luaL_loadbufferx(L, source, length, chunkname, mode);
    S->protected_mode = saved_mode;
    return status;
}

void blb_push_thread_traceback(lua_State *L, lua_State *co) {
    luaL_traceback(L, co, NULL, 0);
}

int blb_trampoline(lua_State *L) {
    blb_state *S = blb_get(L);
    const blb_function_box *box = lua_touserdata(L, lua_upvalueindex(1));
    if (S->host == NULL || box->function == NULL)
        return luaL_error(L, "the Lua VM that owns this host function is closed");
    int saved_mode = S->protected_mode;
    S->protected_mode = 0;  // Swift is on the stack: the allocator must not fail
    int code = S->dispatch(S->host, L, box->function);
    S->protected_mode = saved_mode;
    // Swift may have over-committed (say, by returning a huge table): raise now that it returned.
    if (S->used > S->cap) blb_trip_memory(S);
    if (S->tripped != BLB_TRIPPED_NONE) return blb_raise_limit(L, S, 1);
    if (code >= 0) return code;
    if (code == BLB_CALL_ERROR) {
        lua_checkstack(L, 2);
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
        return lua_error(L);
    }
    if (code == BLB_CALL_ERROR_RAW) return lua_error(L);
    return lua_yield(L, BLB_CALL_YIELD_BASE - code);
}
