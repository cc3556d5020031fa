// Values that tie Lua objects to Swift: function slots, Swift objects as userdata, read-only tables.
// Finalizers here never call Swift: a collection can run while Swift is mid-way through a Lua API
// call, so they only queue the release, and Swift drains the queue at its own safe points.
#include "bridge_internal.h"
#include <stdlib.h>

static char blb_function_metatable_key;
static char blb_readonly_target_key;
static char blb_readonly_name_key;

#define BLB_OBJECT_MAGIC 0x424C4B4F424A4543ULL  /* "BLKOBJEC" */

typedef struct {
    unsigned long long magic;
    void *object;
} blb_object;

static void blb_queue_release(blb_state *S, void *object, int slot) {
    if (S->released_count == S->released_capacity) {
        int capacity = S->released_capacity ? S->released_capacity * 2 : 64;
        blb_released *grown = realloc(S->released, (size_t)capacity * sizeof *grown);
        if (grown == NULL) return;  // leaking one object beats failing inside a finalizer
        S->released = grown;
        S->released_capacity = capacity;
    }
    S->released[S->released_count++] = (blb_released){ .object = object, .slot = slot };
}

int blb_take_released(blb_state *S, blb_released *out, int max) {
    int n = S->released_count < max ? S->released_count : max;
    for (int i = 0; i < n; i++) out[i] = S->released[S->released_count - n + i];
    S->released_count -= n;
    return n;
}

int blb_released_count(blb_state *S) { return S->released_count; }

// Each Swift function slot has exactly one closure, whose upvalue is this box.
static int blb_function_gc(lua_State *L) {
    blb_function_box *box = lua_touserdata(L, 1);
    if (box != NULL && box->slot >= 0) {
        blb_queue_release(blb_get(L), NULL, box->slot);
        box->slot = -1;
        box->function = NULL;
    }
    return 0;
}

static int blb_object_gc(lua_State *L) {
    blb_object *box = lua_touserdata(L, 1);
    // Cleared after queueing, so a resurrected or manually finalized userdata releases only once.
    if (box != NULL && lua_rawlen(L, 1) == sizeof *box && box->magic == BLB_OBJECT_MAGIC && box->object) {
        blb_queue_release(blb_get(L), box->object, -1);
        box->object = NULL;
    }
    return 0;
}

void blb_install_object_support(lua_State *L) {
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, blb_function_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &blb_function_metatable_key);
}

void blb_push_function(lua_State *L, int slot, void *function) {
    lua_checkstack(L, 2);
    blb_function_box *box = lua_newuserdatauv(L, sizeof *box, 0);
    box->slot = slot;
    box->function = function;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &blb_function_metatable_key);
    lua_setmetatable(L, -2);
    lua_pushcclosure(L, blb_trampoline, 1);
}

void blb_push_object(lua_State *L, void *object) {
    lua_checkstack(L, 2);
    blb_object *box = lua_newuserdatauv(L, sizeof *box, 0);
    box->magic = BLB_OBJECT_MAGIC;
    box->object = object;
    lua_rotate(L, -2, 1);      // userdata below its metatable
    lua_setmetatable(L, -2);
}

void *blb_to_object(lua_State *L, int index) {
    if (lua_type(L, index) != LUA_TUSERDATA || lua_rawlen(L, index) != sizeof(blb_object)) return NULL;
    blb_object *box = lua_touserdata(L, index);
    return box->magic == BLB_OBJECT_MAGIC ? box->object : NULL;
}

void blb_prepare_object_metatable(lua_State *L, const char *name) {
    lua_checkstack(L, 2);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__name");
    // Scripts see the type name instead of the metatable, so they cannot reach __gc or the methods.
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__metatable");
    lua_pushcfunction(L, blb_object_gc);
    lua_setfield(L, -2, "__gc");
}

// Read-only proxies: an empty table whose protected metatable forwards reads to the real table.
static int blb_readonly_newindex(lua_State *L) {
    const char *name = "?";
    if (lua_getmetatable(L, 1) && lua_rawgetp(L, -1, &blb_readonly_name_key) == LUA_TSTRING)
        name = lua_tostring(L, -1);
    return luaL_error(L, "attempt to modify read-only table '%s'", name);
}

static int blb_readonly_push_target(lua_State *L, int index) {
    if (!lua_getmetatable(L, index)) return 0;
    if (lua_rawgetp(L, -1, &blb_readonly_target_key) != LUA_TTABLE) {
        lua_pop(L, 2);
        return 0;
    }
    lua_remove(L, -2);
    return 1;
}

static int blb_readonly_next(lua_State *L) {
    lua_settop(L, 2);
    if (!blb_readonly_push_target(L, 1)) return luaL_error(L, "not a read-only table");
    lua_pushvalue(L, 2);
    if (lua_next(L, 3)) return 2;
    lua_pushnil(L);
    return 1;
}

// The iterator state is the proxy, never the real table, so pairs() cannot leak it.
static int blb_readonly_pairs(lua_State *L) {
    lua_pushcfunction(L, blb_readonly_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int blb_readonly_len(lua_State *L) {
    if (!blb_readonly_push_target(L, 1)) return luaL_error(L, "not a read-only table");
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
    return 1;
}

void blb_make_readonly(lua_State *L, const char *name) {
    lua_checkstack(L, 4);
    int target = lua_absindex(L, -1);
    lua_createtable(L, 0, 0);
    lua_createtable(L, 2, 5);
    lua_pushvalue(L, target);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, blb_readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, blb_readonly_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pushcfunction(L, blb_readonly_len);
    lua_setfield(L, -2, "__len");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pushvalue(L, target);
    lua_rawsetp(L, -2, &blb_readonly_target_key);
    lua_pushstring(L, name);
    lua_rawsetp(L, -2, &blb_readonly_name_key);
    lua_setmetatable(L, -2);
    lua_replace(L, target);
}

int blb_push_readonly_target(lua_State *L, int index) {
    lua_checkstack(L, 2);
    return blb_readonly_push_target(L, index);
}

// readonly(name, table) -> proxy
static int blb_l_readonly(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    blb_make_readonly(L, name);
    return 1;
}

// The sandbox's rawset: rawset on a proxy would shadow the real table's keys for every script.
static int blb_l_sandbox_rawset(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    if (lua_getmetatable(L, 1)) {
        if (lua_rawgetp(L, -1, &blb_readonly_name_key) == LUA_TSTRING)
            return luaL_error(L, "attempt to modify read-only table '%s'", lua_tostring(L, -1));
    }
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

// The sandbox's setmetatable: the base library's, minus finalizers. Finalizers run inside garbage
// collection with hooks off, where no limit could stop them. Written in C so its errors name the
// script's line even when called in tail position.
static int blb_l_sandbox_setmetatable(lua_State *L) {
    int type = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, type == LUA_TNIL || type == LUA_TTABLE, 2, "nil or table");
    if (type == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL) return luaL_error(L, "__gc metamethods are not allowed in scripts");
        lua_pop(L, 1);
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL) return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

// positioned(f) -> g: g(...) calls f(...); when f returns false, message, g raises message at the
// caller's line (a C function's caller is known even in a tail call, a Lua function's is not).
static int blb_positioned_call(lua_State *L) {
    int nargs = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, nargs, LUA_MULTRET);
    if (lua_type(L, 1) == LUA_TBOOLEAN && !lua_toboolean(L, 1)) {
        const char *message = lua_tostring(L, 2);
        return luaL_error(L, "%s", message ? message : "error");
    }
    return lua_gettop(L) > 0 ? lua_gettop(L) - 1 : 0;  // the values after the leading true
}

static int blb_l_positioned(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_pushcclosure(L, blb_positioned_call, 1);
    return 1;
}

void blb_push_sandbox_helpers(lua_State *L) {
    lua_checkstack(L, 2);
    lua_createtable(L, 0, 4);
    lua_pushcfunction(L, blb_l_readonly);
    lua_setfield(L, -2, "readonly");
    lua_pushcfunction(L, blb_l_sandbox_rawset);
    lua_setfield(L, -2, "rawset");
    lua_pushcfunction(L, blb_l_sandbox_setmetatable);
    lua_setfield(L, -2, "setmetatable");
    lua_pushcfunction(L, blb_l_positioned);
    lua_setfield(L, -2, "positioned");
}
