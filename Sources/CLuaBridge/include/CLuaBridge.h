#ifndef BLACKLIGHT_CLUABRIDGE_H
#define BLACKLIGHT_CLUABRIDGE_H
// The C half of LuaHost. Everything that can longjmp (lua_error, lua_yield, a failing allocation,
// the instruction hook) lives behind these functions, so no longjmp ever crosses a Swift frame.
//
// Modes: the allocator may refuse memory only while Lua runs inside blb_pcall / blb_resume / blb_load
// ("protected mode"). While Swift is on the stack (the default, and inside every host-function
// call) allocations always succeed, over-committing if needed; the trampoline raises
// "memory limit exceeded" once Swift has returned. Every function declared here that Swift calls
// directly is non-raising.
#include <stddef.h>
#include <stdint.h>
#include <lua.h>

typedef struct blb_state blb_state;

/// Called by the trampoline for every Swift function call. `function` is the unretained Swift
/// function object given to blb_push_function; the arguments are the whole stack of `L`.
/// Returns one of the codes below.
typedef int (*blb_dispatch_fn)(void *host, lua_State *L, void *function);

/// Dispatch return codes: n >= 0 means "n results pushed on top".
enum {
    /// An error message string is on top; the trampoline prefixes the caller's position and raises it.
    BLB_CALL_ERROR = -1,
    /// An error value is on top; the trampoline raises it unchanged.
    BLB_CALL_ERROR_RAW = -2,
    /// `BLB_CALL_YIELD_BASE - n`: n values are on top; the trampoline yields them.
    BLB_CALL_YIELD_BASE = -3,
};

/// Which limit tripped first (stays set until blb_reset_limits).
enum { BLB_TRIPPED_NONE = 0, BLB_TRIPPED_INSTRUCTIONS = 1, BLB_TRIPPED_MEMORY = 2, BLB_TRIPPED_TIME = 3 };

/// What blb_take_released hands back: an object pointer to release or a function slot to free.
typedef struct {
    void *object;   /// non-NULL: a retained Swift object whose userdata was collected
    int slot;       /// >= 0: a Swift function slot whose last closure was collected
} blb_released;

/// Opens a state with the capped allocator, the instruction hook and all standard libraries
/// (string.dump removed). Returns NULL when the state cannot be created.
blb_state *blb_open(size_t memory_cap, long long instruction_budget, blb_dispatch_fn dispatch);
/// Sets the unretained pointer handed to `dispatch`; NULL makes every Swift call raise "closed".
void blb_set_host(blb_state *S, void *host);
lua_State *blb_main_thread(blb_state *S);
/// Closes the Lua state (running finalizers, which may queue releases) but keeps `S` for draining.
void blb_close_lua(blb_state *S);
void blb_free(blb_state *S);

// Limits
void blb_set_memory_cap(blb_state *S, size_t cap);
void blb_set_instruction_budget(blb_state *S, long long budget);
/// Sets the deadline to now + `nanoseconds` (CLOCK_MONOTONIC), or clears it with 0. Checked each
/// time the hook fires and every few thousand pattern-matching steps; clears a time trip.
void blb_set_deadline(blb_state *S, long long nanoseconds);
/// Clears the instruction counter, the deadline and every trip.
void blb_reset_limits(blb_state *S);
int blb_tripped(blb_state *S);
size_t blb_memory_in_use(blb_state *S);
size_t blb_memory_cap(blb_state *S);
long long blb_instructions_executed(blb_state *S);
const char *blb_memory_message(blb_state *S);
const char *blb_instruction_message(blb_state *S);
const char *blb_time_message(blb_state *S);

// Entering Lua (protected). The function and its arguments are on top of `L`.
/// lua_pcall with a message handler that stores luaL_traceback (see blb_push_last_traceback).
int blb_pcall(lua_State *L, int nargs, int nresults);
/// lua_resume in protected mode.
int blb_resume(lua_State *co, lua_State *from, int nargs, int *nresults);
/// luaL_loadbufferx in protected mode (compilation may hit the memory cap).
int blb_load(lua_State *L, const char *source, size_t length, const char *chunkname, const char *mode);
/// Pushes the traceback stored by the message handler of the last failed blb_pcall (or nil).
void blb_push_last_traceback(lua_State *L);
/// Pushes luaL_traceback of `co` (a coroutine that stopped with an error) onto `L`.
void blb_push_thread_traceback(lua_State *L, lua_State *co);

// Reading values in bulk (non-raising): one call instead of type + isinteger + to* per value.
/// A Lua value as seen by blb_read. `string` points into the Lua string (valid while the string is
/// referenced and no allocation has happened).
typedef struct {
    int type;               /// LUA_T* of the value
    int is_integer;         /// for numbers
    lua_Integer integer;
    lua_Number number;
    int boolean;
    const char *string;
    size_t length;
} blb_scalar;

/// Reads the value at `index` (strings are not created from numbers).
void blb_read(lua_State *L, int index, blb_scalar *out);
/// Table traversal like lua_next (the key on top is replaced by the next key and its value), also
/// reading key and value. A scalar value (nil, boolean, number, string) is popped right away, leaving the key; any other
/// value stays on top for the caller to convert and pop. Returns 0 (nothing pushed) at the end.
int blb_next(lua_State *L, int table, blb_scalar *key, blb_scalar *value);

// Swift functions, objects and read-only tables (all non-raising).
/// Pushes a Lua closure that calls Swift through the trampoline with `function` (kept alive by
/// Swift in `slot`). When Lua collects the closure, `slot` is queued for release.
void blb_push_function(lua_State *L, int slot, void *function);
/// Pushes a new full userdata holding `object` (already retained) with the metatable on top of the
/// stack; the metatable is popped. The object is released (queued) when the userdata is collected.
void blb_push_object(lua_State *L, void *object);
/// The object stored in a userdata made by blb_push_object, or NULL for any other value.
void *blb_to_object(lua_State *L, int index);
/// Turns the table on top into a userdata metatable named `name` (__name, __metatable, __gc).
void blb_prepare_object_metatable(lua_State *L, const char *name);
/// Replaces the table at the top with a read-only proxy named `name` (for error messages).
void blb_make_readonly(lua_State *L, const char *name);
/// If the value at `index` is a read-only proxy, pushes the table it stands for and returns 1.
int blb_push_readonly_target(lua_State *L, int index);
/// Pushes the sandbox building blocks written in C: a table {readonly=, rawset=, setmetatable=,
/// positioned=}.
void blb_push_sandbox_helpers(lua_State *L);
/// Copies up to `max` queued releases into `out`; returns how many were copied.
int blb_take_released(blb_state *S, blb_released *out, int max);
int blb_released_count(blb_state *S);

/// Pushes a table with Lua's own string.find/match/gmatch/gsub, which the state replaced with
/// step-counting versions; for tests comparing the two. Non-raising.
void blb_push_stock_string_functions(lua_State *L);

#endif
