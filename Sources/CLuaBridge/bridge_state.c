// State lifetime, the capped allocator, the instruction hook and the limit bookkeeping.
#include "bridge_internal.h"
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>

static void *blb_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    blb_state *S = ud;
    if (ptr == NULL) osize = 0;  // osize then encodes the object type, not a size
    if (nsize == 0) {
        free(ptr);
        S->used -= osize;
        return NULL;
    }
    // Only growth can be refused, and only while Lua runs under our protection: failing while Swift
    // is on the stack would longjmp across Swift frames. Shrinking must never fail (Lua relies on it).
    if (nsize > osize && S->protected_mode && S->grace == 0) {
        size_t growth = nsize - osize;
        if (S->memory_tripped || S->used > S->cap || growth > S->cap - S->used) {
            blb_trip_memory(S);
            return NULL;
        }
    }
    void *block = realloc(ptr, nsize);
    if (block == NULL) return NULL;
    S->used = S->used - osize + nsize;
    return block;
}

void blb_trip_memory(blb_state *S) {
    S->memory_tripped = 1;
    if (S->tripped == BLB_TRIPPED_NONE) S->tripped = BLB_TRIPPED_MEMORY;
}

static const char *blb_tripped_message(blb_state *S) {
    switch (S->tripped) {
    case BLB_TRIPPED_MEMORY: return S->memory_message;
    case BLB_TRIPPED_TIME: return S->time_message;
    default: return S->instruction_message;
    }
}

int blb_raise_limit(lua_State *L, blb_state *S, int level) {
    // The message needs a few bytes even when the memory limit has tripped.
    S->grace++;
    lua_checkstack(L, 3);
    luaL_where(L, level);
    lua_pushstring(L, blb_tripped_message(S));
    lua_concat(L, 2);
    S->grace--;
    return lua_error(L);
}

static void blb_hook(lua_State *L, lua_Debug *ar) {
    blb_state *S = blb_get(L);
    int counted = ar->event == LUA_HOOKCOUNT;
    S->executed += counted ? BLB_HOOK_COUNT : BLB_CALL_COST;
    if (S->tripped == BLB_TRIPPED_NONE) {
        if (S->executed > S->budget) {
            S->tripped = BLB_TRIPPED_INSTRUCTIONS;
        } else {
            // Reading the clock costs about as much as a Lua call: on calls, only every few.
            if (S->deadline == 0 || (!counted && --S->calls_until_clock > 0)) return;
            S->calls_until_clock = BLB_CLOCK_CALL_INTERVAL;
            if (blb_now() < S->deadline) return;
            S->tripped = BLB_TRIPPED_TIME;
        }
    }
    // Lua code runs outside protection only in finalizers, where hooks are off; never raise there.
    if (!S->protected_mode) return;
    if (ar->event == LUA_HOOKCALL) {
        // The message handler is called like any function: raising in its call hook would recurse
        // until "error in error handling" replaced the real message.
        lua_getinfo(L, "f", ar);
        int is_handler = lua_tocfunction(L, -1) == blb_message_handler;
        lua_pop(L, 1);
        if (is_handler) return;
    }
    // For a call, name the caller's line: the callee has not started yet.
    blb_raise_limit(L, S, ar->event == LUA_HOOKCALL ? 1 : 0);
}

static int blb_panic(lua_State *L) {
    const char *message = lua_tostring(L, -1);
    fprintf(stderr, "LuaHost: unprotected Lua error (a bug in the bridge): %s\n",
            message ? message : "(error object is not a string)");
    fflush(stderr);
    abort();
}

static void blb_format_memory_message(blb_state *S) {
    size_t cap = S->cap;
    if (cap >= (1u << 20) && cap % (1u << 20) == 0)
        snprintf(S->memory_message, sizeof S->memory_message, "memory limit exceeded (cap %zu MiB)", cap >> 20);
    else if (cap >= 1024 && cap % 1024 == 0)
        snprintf(S->memory_message, sizeof S->memory_message, "memory limit exceeded (cap %zu KiB)", cap >> 10);
    else
        snprintf(S->memory_message, sizeof S->memory_message, "memory limit exceeded (cap %zu bytes)", cap);
}

static void blb_format_instruction_message(blb_state *S) {
    snprintf(S->instruction_message, sizeof S->instruction_message,
             "instruction limit exceeded (budget %lld instructions)", S->budget);
}

blb_state *blb_open(size_t memory_cap, long long instruction_budget, blb_dispatch_fn dispatch) {
    blb_state *S = calloc(1, sizeof *S);
    if (S == NULL) return NULL;
    S->cap = memory_cap;
    S->budget = instruction_budget;
    S->dispatch = dispatch;
    blb_format_memory_message(S);
    blb_format_instruction_message(S);
    lua_State *L = lua_newstate(blb_alloc, S);
    if (L == NULL) {
        free(S);
        return NULL;
    }
    S->L = L;
    *(blb_state **)lua_getextraspace(L) = S;  // threads copy the main thread's extra space
    lua_atpanic(L, blb_panic);
    luaL_openlibs(L);
    // Binary chunks can never be loaded, so dumping bytecode has no use and only leaks internals.
    lua_getglobal(L, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    blb_install_patterns(L);
    blb_install_object_support(L);
    // LUA_MASKCALL too: a loop spending its time in C calls runs few instructions per second.
    lua_sethook(L, blb_hook, LUA_MASKCOUNT | LUA_MASKCALL, BLB_HOOK_COUNT);
    return S;
}

void blb_set_host(blb_state *S, void *host) { S->host = host; }
lua_State *blb_main_thread(blb_state *S) { return S->L; }

void blb_close_lua(blb_state *S) {
    S->host = NULL;
    if (S->L != NULL) lua_close(S->L);
    S->L = NULL;
}

void blb_free(blb_state *S) {
    free(S->released);
    free(S);
}

void blb_set_memory_cap(blb_state *S, size_t cap) {
    S->cap = cap;
    blb_format_memory_message(S);
}

void blb_set_instruction_budget(blb_state *S, long long budget) {
    S->budget = budget;
    S->executed = 0;
    blb_format_instruction_message(S);
    if (S->tripped == BLB_TRIPPED_INSTRUCTIONS) S->tripped = S->memory_tripped ? BLB_TRIPPED_MEMORY : BLB_TRIPPED_NONE;
}

void blb_set_deadline(blb_state *S, long long nanoseconds) {
    if (nanoseconds <= 0) {
        S->deadline = 0;
    } else {
        S->deadline = blb_now() + nanoseconds;
        // %g drops trailing zeros: "0.5 s", "30 s".
        snprintf(S->time_message, sizeof S->time_message, "time limit exceeded (%g s)", (double)nanoseconds / 1e9);
    }
    if (S->tripped == BLB_TRIPPED_TIME) S->tripped = S->memory_tripped ? BLB_TRIPPED_MEMORY : BLB_TRIPPED_NONE;
}

void blb_reset_limits(blb_state *S) {
    S->executed = 0;
    S->tripped = BLB_TRIPPED_NONE;
    S->memory_tripped = 0;
    S->deadline = 0;
}

int blb_tripped(blb_state *S) { return S->tripped; }
size_t blb_memory_in_use(blb_state *S) { return S->used; }
size_t blb_memory_cap(blb_state *S) { return S->cap; }
long long blb_instructions_executed(blb_state *S) { return S->executed; }
const char *blb_memory_message(blb_state *S) { return S->memory_message; }
const char *blb_instruction_message(blb_state *S) { return S->instruction_message; }
const char *blb_time_message(blb_state *S) { return S->time_message; }
