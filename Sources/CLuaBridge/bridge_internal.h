#ifndef BLACKLIGHT_CLUABRIDGE_INTERNAL_H
#define BLACKLIGHT_CLUABRIDGE_INTERNAL_H
#include "CLuaBridge.h"
#include <lauxlib.h>
#include <time.h>

/// The hook runs every BLB_HOOK_COUNT instructions and on every call.
#define BLB_HOOK_COUNT 1000
/// A function call is charged like this many instructions, so loops that spend their time in calls
/// (string functions, host functions) still consume the budget.
#define BLB_CALL_COST 10
/// With a deadline set, the hook reads the clock on every count event (every BLB_HOOK_COUNT
/// instructions) but only on every this many call events, so call-heavy code stays within a few %
/// of its speed. Slow C functions can therefore overrun by this many calls; the pattern functions,
/// the only ones slow beyond what the memory cap allows, check the clock themselves.
#define BLB_CLOCK_CALL_INTERVAL 32

struct blb_state {
    lua_State *L;
    void *host;                 /// unretained Swift LuaVM, NULL once closing
    blb_dispatch_fn dispatch;
    size_t used;                /// bytes currently allocated by this state
    size_t cap;
    long long executed;         /// instructions charged since the last reset
    long long budget;
    int tripped;                /// BLB_TRIPPED_*: the first limit that tripped
    int memory_tripped;         /// once set, growing allocations fail in protected mode
    int protected_mode;         /// 1 while Lua runs inside blb_pcall/blb_resume/blb_load
    int grace;                  /// > 0 while C builds an error message: allocations may exceed the cap
    long long deadline;         /// CLOCK_MONOTONIC nanoseconds; 0 when no time limit is set
    int calls_until_clock;      /// call events left before the hook reads the clock again
    char memory_message[80];
    char instruction_message[80];
    char time_message[80];
    blb_released *released;    /// queued by __gc metamethods, drained by Swift at safe points
    int released_count;
    int released_capacity;
};

/// The upvalue of every trampoline closure.
typedef struct {
    int slot;           /// where Swift keeps the function alive; -1 once released
    void *function;     /// unretained Swift function object
} blb_function_box;

static inline blb_state *blb_get(lua_State *L) { return *(blb_state **)lua_getextraspace(L); }

void blb_trip_memory(blb_state *S);
static inline long long blb_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

/// True once the deadline (if any) has passed. Inline so the hook pays one compare when no time
/// limit is set; clock_gettime itself goes through the vDSO (about 20 ns).
static inline int blb_deadline_passed(blb_state *S) { return S->deadline != 0 && blb_now() >= S->deadline; }
/// Raises the message of the tripped limit, prefixed with the position at `level`.
int blb_raise_limit(lua_State *L, blb_state *S, int level);
int blb_message_handler(lua_State *L);
int blb_trampoline(lua_State *L);
void blb_install_object_support(lua_State *L);
/// Replaces string.find/match/gmatch/gsub with the step-counting matcher (bridge_patterns.c).
void blb_install_patterns(lua_State *L);

#endif
