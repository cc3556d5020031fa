// Bulk reading for the Swift side of value conversion: every Lua API call crossing into the shared
// library costs a few ns, and converting a table used to take five per entry.
#include "bridge_internal.h"

void blb_read(lua_State *L, int index, blb_scalar *out) {
    int type = lua_type(L, index);
    out->type = type;
    switch (type) {
    case LUA_TBOOLEAN:
        out->boolean = lua_toboolean(L, index);
        break;
    case LUA_TNUMBER:
        out->is_integer = lua_isinteger(L, index);
        if (out->is_integer) out->integer = lua_tointegerx(L, index, NULL);
        else out->number = lua_tonumberx(L, index, NULL);
        break;
    case LUA_TSTRING:
        out->string = lua_tolstring(L, index, &out->length);
        break;
    default:
        break;
    }
}

int blb_next(lua_State *L, int table, blb_scalar *key, blb_scalar *value) {
    if (!lua_next(L, table)) return 0;
    blb_read(L, -2, key);
    blb_read(L, -1, value);
    // Strings stay valid after the pop: the table still references them and nothing allocates
    // before the caller copies them.
    if (value->type <= LUA_TSTRING && value->type != LUA_TLIGHTUSERDATA) lua_settop(L, -2);
    return 1;
}
