// string.find, string.match, string.gmatch and string.gsub with a step counter.
//
// Lua's own matcher runs inside one C call, where neither the count hook nor the call hook fires:
// `string.find(string.rep("a", 5000), ".-.-.-.-b")` would run for hours. This is a port of the Lua
// 5.4 matcher (lstrlib.c) that behaves the same, error messages included, but charges its steps to
// the instruction budget and checks the deadline every BLB_PATTERN_CHECK_STEPS steps, raising the
// limit error like the hook does. Raising here is safe: these functions are called by Lua, never
// with Swift frames between them and the protected call.
//
// Derived from lstrlib.c of Lua 5.4:
// Copyright (C) 1994-2022 Lua.org, PUC-Rio.
//
// Permission is hereby granted, free of charge, to any person obtaining a copy of this software
// and associated documentation files (the "Software"), to deal in the Software without
// restriction, including without limitation the rights to use, copy, modify, merge, publish,
// distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
// Software is furnished to do so, subject to the following conditions:
//
// The above copyright notice and this permission notice shall be included in all copies or
// substantial portions of the Software.
//
// THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
// BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
// NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
// DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
// OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
#include "bridge_internal.h"
#include <ctype.h>
#include <string.h>

/// Lua's defaults (lstrlib.c): the same limits give the same "too many captures" and
/// "pattern too complex" errors.
#define BLB_MAXCAPTURES 32
#define BLB_MAXMATCHDEPTH 200

/// How many steps run between two looks at the budget and the clock. A step (one character
/// tried, one pattern item entered) costs about as much as a VM instruction, so each is charged
/// as one; at a few ns per step this checks the clock every few µs.
#define BLB_PATTERN_CHECK_STEPS 2048

#define BLB_CAP_UNFINISHED (-1)
#define BLB_CAP_POSITION (-2)
#define BLB_ESC '%'
#define BLB_SPECIALS "^$*+?.([%-"

#define uchar(c) ((unsigned char)(c))

typedef struct {
    const char *src_init;
    const char *src_end;
    const char *p_end;
    lua_State *L;
    blb_state *S;
    int matchdepth;         /// recursion left before "pattern too complex"
    ptrdiff_t countdown;    /// steps left before the next limit check (negative after a big charge)
    unsigned char level;    /// captures opened so far (finished or not)
    struct {
        const char *init;
        ptrdiff_t len;      /// or BLB_CAP_UNFINISHED / BLB_CAP_POSITION
    } capture[BLB_MAXCAPTURES];
} blb_match;

static char blb_stock_string_key;

// Charges the steps since the last check and raises the limit error once a limit has tripped.
static void blb_pattern_checkpoint(blb_match *ms) {
    blb_state *S = ms->S;
    S->executed += BLB_PATTERN_CHECK_STEPS - ms->countdown;
    ms->countdown = BLB_PATTERN_CHECK_STEPS;
    if (S->tripped == BLB_TRIPPED_NONE) {
        if (S->executed > S->budget) S->tripped = BLB_TRIPPED_INSTRUCTIONS;
        else if (blb_deadline_passed(S)) S->tripped = BLB_TRIPPED_TIME;
        else return;
    }
    // Outside protection (Swift on the stack) raising would cross Swift frames; the hook raises later.
    if (S->protected_mode) blb_raise_limit(ms->L, S, 1);
}

static inline void blb_charge(blb_match *ms, ptrdiff_t steps) {
    ms->countdown -= steps;
    if (ms->countdown <= 0) blb_pattern_checkpoint(ms);
}

#define BLB_STEP(ms) do { if (--(ms)->countdown <= 0) blb_pattern_checkpoint(ms); } while (0)

// Charges what a call used without raising: the next hook or check does that.
static void blb_pattern_settle(blb_match *ms) {
    ms->S->executed += BLB_PATTERN_CHECK_STEPS - ms->countdown;
    ms->countdown = BLB_PATTERN_CHECK_STEPS;
}

static const char *blb_do_match(blb_match *ms, const char *s, const char *p);

static int blb_check_capture(blb_match *ms, int l) {
    l -= '1';
    if (l < 0 || l >= ms->level || ms->capture[l].len == BLB_CAP_UNFINISHED)
        return luaL_error(ms->L, "invalid capture index %%%d", l + 1);
    return l;
}

static int blb_capture_to_close(blb_match *ms) {
    int level = ms->level;
    for (level--; level >= 0; level--)
        if (ms->capture[level].len == BLB_CAP_UNFINISHED) return level;
    return luaL_error(ms->L, "invalid pattern capture");
}

static const char *blb_class_end(blb_match *ms, const char *p) {
    switch (*p++) {
    case BLB_ESC:
        if (p == ms->p_end) luaL_error(ms->L, "malformed pattern (ends with '%%')");
        return p + 1;
    case '[':
        if (*p == '^') p++;
        do {
            if (p == ms->p_end) luaL_error(ms->L, "malformed pattern (missing ']')");
            if (*(p++) == BLB_ESC && p < ms->p_end) p++;  // '%]' does not close the set
        } while (*p != ']');
        return p + 1;
    default:
        return p;
    }
}

static int blb_match_class(int c, int cl) {
    int res;
    switch (tolower(cl)) {
    case 'a': res = isalpha(c); break;
    case 'c': res = iscntrl(c); break;
    case 'd': res = isdigit(c); break;
    case 'g': res = isgraph(c); break;
    case 'l': res = islower(c); break;
    case 'p': res = ispunct(c); break;
    case 's': res = isspace(c); break;
    case 'u': res = isupper(c); break;
    case 'w': res = isalnum(c); break;
    case 'x': res = isxdigit(c); break;
    case 'z': res = (c == 0); break;
    default: return cl == c;
    }
    return islower(cl) ? res : !res;
}

// `p` is the '[' of the set, `ec` its closing ']'.
static int blb_match_bracket_class(int c, const char *p, const char *ec) {
    int sig = 1;
    if (*(p + 1) == '^') {
        sig = 0;
        p++;
    }
    while (++p < ec) {
        if (*p == BLB_ESC) {
            p++;
            if (blb_match_class(c, uchar(*p))) return sig;
        } else if (*(p + 1) == '-' && p + 2 < ec) {
            p += 2;
            if (uchar(*(p - 2)) <= c && c <= uchar(*p)) return sig;
        } else if (uchar(*p) == c) {
            return sig;
        }
    }
    return !sig;
}

static int blb_single_match(blb_match *ms, const char *s, const char *p, const char *ep) {
    if (s >= ms->src_end) return 0;
    int c = uchar(*s);
    switch (*p) {
    case '.': return 1;
    case BLB_ESC: return blb_match_class(c, uchar(*(p + 1)));
    case '[': return blb_match_bracket_class(c, p, ep - 1);
    default: return uchar(*p) == c;
    }
}

static const char *blb_match_balance(blb_match *ms, const char *s, const char *p) {
    if (p >= ms->p_end - 1) luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
    if (*s != *p) return NULL;
    int open = *p, close = *(p + 1), depth = 1;
    while (++s < ms->src_end) {
        BLB_STEP(ms);
        if (*s == close) {
            if (--depth == 0) return s + 1;
        } else if (*s == open) {
            depth++;
        }
    }
    return NULL;
}

static const char *blb_max_expand(blb_match *ms, const char *s, const char *p, const char *ep) {
    ptrdiff_t i = 0;
    while (blb_single_match(ms, s + i, p, ep)) {
        BLB_STEP(ms);
        i++;
    }
    // Backtrack from the longest repetition.
    while (i >= 0) {
        const char *res = blb_do_match(ms, s + i, ep + 1);
        if (res) return res;
        i--;
    }
    return NULL;
}

static const char *blb_min_expand(blb_match *ms, const char *s, const char *p, const char *ep) {
    for (;;) {
        const char *res = blb_do_match(ms, s, ep + 1);
        if (res != NULL) return res;
        if (!blb_single_match(ms, s, p, ep)) return NULL;
        BLB_STEP(ms);
        s++;
    }
}

static const char *blb_start_capture(blb_match *ms, const char *s, const char *p, int what) {
    int level = ms->level;
    if (level >= BLB_MAXCAPTURES) luaL_error(ms->L, "too many captures");
    ms->capture[level].init = s;
    ms->capture[level].len = what;
    ms->level = (unsigned char)(level + 1);
    const char *res = blb_do_match(ms, s, p);
    if (res == NULL) ms->level--;
    return res;
}

static const char *blb_end_capture(blb_match *ms, const char *s, const char *p) {
    int l = blb_capture_to_close(ms);
    ms->capture[l].len = s - ms->capture[l].init;
    const char *res = blb_do_match(ms, s, p);
    if (res == NULL) ms->capture[l].len = BLB_CAP_UNFINISHED;
    return res;
}

static const char *blb_match_capture(blb_match *ms, const char *s, int l) {
    l = blb_check_capture(ms, l);
    size_t len = (size_t)ms->capture[l].len;
    blb_charge(ms, (ptrdiff_t)(len / 32));
    if ((size_t)(ms->src_end - s) >= len && memcmp(ms->capture[l].init, s, len) == 0) return s + len;
    return NULL;
}

static const char *blb_do_match(blb_match *ms, const char *s, const char *p) {
    if (ms->matchdepth-- == 0) luaL_error(ms->L, "pattern too complex");
next_item:  // tail calls become jumps, as in Lua's matcher, so the depth only counts real recursion
    BLB_STEP(ms);
    if (p != ms->p_end) {
        switch (*p) {
        case '(':
            if (*(p + 1) == ')') s = blb_start_capture(ms, s, p + 2, BLB_CAP_POSITION);
            else s = blb_start_capture(ms, s, p + 1, BLB_CAP_UNFINISHED);
            break;
        case ')':
            s = blb_end_capture(ms, s, p + 1);
            break;
        case '$':
            if (p + 1 != ms->p_end) goto single_item;  // a '$' elsewhere is an ordinary character
            s = (s == ms->src_end) ? s : NULL;
            break;
        case BLB_ESC:
            switch (*(p + 1)) {
            case 'b':
                s = blb_match_balance(ms, s, p + 2);
                if (s != NULL) {
                    p += 4;
                    goto next_item;
                }
                break;
            case 'f': {
                p += 2;
                if (*p != '[') luaL_error(ms->L, "missing '[' after '%%f' in pattern");
                const char *ep = blb_class_end(ms, p);
                char previous = (s == ms->src_init) ? '\0' : *(s - 1);
                if (!blb_match_bracket_class(uchar(previous), p, ep - 1) &&
                    blb_match_bracket_class(uchar(*s), p, ep - 1)) {
                    p = ep;
                    goto next_item;
                }
                s = NULL;
                break;
            }
            case '0': case '1': case '2': case '3': case '4':
            case '5': case '6': case '7': case '8': case '9':
                s = blb_match_capture(ms, s, uchar(*(p + 1)));
                if (s != NULL) {
                    p += 2;
                    goto next_item;
                }
                break;
            default:
                goto single_item;
            }
            break;
        default:
        single_item: {
            const char *ep = blb_class_end(ms, p);
            if (!blb_single_match(ms, s, p, ep)) {
                if (*ep == '*' || *ep == '?' || *ep == '-') {  // zero repetitions are fine
                    p = ep + 1;
                    goto next_item;
                }
                s = NULL;
            } else {
                switch (*ep) {
                case '?': {
                    const char *res = blb_do_match(ms, s + 1, ep + 1);
                    if (res != NULL) {
                        s = res;
                    } else {
                        p = ep + 1;
                        goto next_item;
                    }
                    break;
                }
                case '+': s = blb_max_expand(ms, s + 1, p, ep); break;
                case '*': s = blb_max_expand(ms, s, p, ep); break;
                case '-': s = blb_min_expand(ms, s, p, ep); break;
                default:
                    s++;
                    p = ep;
                    goto next_item;
                }
            }
            break;
        }
        }
    }
    ms->matchdepth++;
    return s;
}

static size_t blb_get_capture(blb_match *ms, int i, const char *s, const char *e, const char **cap) {
    if (i >= ms->level) {
        if (i != 0) luaL_error(ms->L, "invalid capture index %%%d", i + 1);
        *cap = s;  // no captures: the whole match stands for capture 1
        return (size_t)(e - s);
    }
    ptrdiff_t len = ms->capture[i].len;
    *cap = ms->capture[i].init;
    if (len == BLB_CAP_UNFINISHED) luaL_error(ms->L, "unfinished capture");
    else if (len == BLB_CAP_POSITION) lua_pushinteger(ms->L, (ms->capture[i].init - ms->src_init) + 1);
    return (size_t)len;
}

static void blb_push_capture(blb_match *ms, int i, const char *s, const char *e) {
    const char *cap;
    ptrdiff_t len = (ptrdiff_t)blb_get_capture(ms, i, s, e, &cap);
    if (len != BLB_CAP_POSITION) lua_pushlstring(ms->L, cap, (size_t)len);  // else already pushed
}

static int blb_push_captures(blb_match *ms, const char *s, const char *e) {
    int count = (ms->level == 0 && s) ? 1 : ms->level;
    luaL_checkstack(ms->L, count, "too many captures");
    for (int i = 0; i < count; i++) blb_push_capture(ms, i, s, e);
    return count;
}

// The pattern may contain zeros: look past each one.
static int blb_no_specials(const char *p, size_t l) {
    size_t upto = 0;
    do {
        if (strpbrk(p + upto, BLB_SPECIALS)) return 0;
        upto += strlen(p + upto) + 1;
    } while (upto <= l);
    return 1;
}

// A plain search, charged too: its worst case is the product of both lengths.
static const char *blb_find_plain(blb_match *ms, const char *s1, size_t l1, const char *s2, size_t l2) {
    if (l2 == 0) return s1;
    if (l2 > l1) return NULL;
    const char *candidate;
    l2--;  // memchr checks the first character
    l1 = l1 - l2;
    while (l1 > 0 && (candidate = memchr(s1, *s2, l1)) != NULL) {
        blb_charge(ms, 1 + (ptrdiff_t)(l2 / 32) + (candidate - s1) / 64);
        candidate++;
        if (memcmp(candidate, s2 + 1, l2) == 0) return candidate - 1;
        l1 -= (size_t)(candidate - s1);
        s1 = candidate;
    }
    return NULL;
}

static void blb_prepare(blb_match *ms, lua_State *L, const char *s, size_t ls, const char *p, size_t lp) {
    ms->L = L;
    ms->S = blb_get(L);
    ms->matchdepth = BLB_MAXMATCHDEPTH;
    ms->countdown = BLB_PATTERN_CHECK_STEPS;
    ms->src_init = s;
    ms->src_end = s + ls;
    ms->p_end = p + lp;
}

// Like Lua's posrelatI: a relative start position clipped to [1, inf).
static size_t blb_start_position(lua_Integer pos, size_t len) {
    if (pos > 0) return (size_t)pos;
    if (pos == 0) return 1;
    if (pos < -(lua_Integer)len) return 1;
    return len + (size_t)pos + 1;
}

static int blb_find_aux(lua_State *L, int find) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = blb_start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        lua_pushnil(L);
        return 1;
    }
    blb_match ms;
    if (find && (lua_toboolean(L, 4) || blb_no_specials(p, lp))) {
        blb_prepare(&ms, L, s, ls, p, lp);
        const char *found = blb_find_plain(&ms, s + init, ls - init, p, lp);
        blb_pattern_settle(&ms);
        if (found) {
            lua_pushinteger(L, (found - s) + 1);
            lua_pushinteger(L, (lua_Integer)((size_t)(found - s) + lp));
            return 2;
        }
    } else {
        const char *s1 = s + init;
        int anchor = (*p == '^');
        if (anchor) {
            p++;
            lp--;
        }
        blb_prepare(&ms, L, s, ls, p, lp);
        do {
            ms.level = 0;
            const char *res = blb_do_match(&ms, s1, p);
            if (res != NULL) {
                blb_pattern_settle(&ms);
                if (find) {
                    lua_pushinteger(L, (s1 - s) + 1);
                    lua_pushinteger(L, res - s);
                    return blb_push_captures(&ms, NULL, 0) + 2;
                }
                return blb_push_captures(&ms, s1, res);
            }
        } while (s1++ < ms.src_end && !anchor);
        blb_pattern_settle(&ms);
    }
    lua_pushnil(L);
    return 1;
}

static int blb_str_find(lua_State *L) { return blb_find_aux(L, 1); }
static int blb_str_match(lua_State *L) { return blb_find_aux(L, 0); }

typedef struct {
    const char *src;
    const char *p;
    const char *lastmatch;
    blb_match ms;
} blb_gmatch_state;

static int blb_gmatch_next(lua_State *L) {
    blb_gmatch_state *gm = lua_touserdata(L, lua_upvalueindex(3));
    gm->ms.L = L;  // the iterator may be called from another coroutine than gmatch was
    gm->ms.S = blb_get(L);
    for (const char *src = gm->src; src <= gm->ms.src_end; src++) {
        gm->ms.level = 0;
        // A limit error leaves the depth where the longjmp found it.
        gm->ms.matchdepth = BLB_MAXMATCHDEPTH;
        const char *e = blb_do_match(&gm->ms, src, gm->p);
        if (e != NULL && e != gm->lastmatch) {
            gm->src = gm->lastmatch = e;
            blb_pattern_settle(&gm->ms);
            return blb_push_captures(&gm->ms, src, e);
        }
    }
    blb_pattern_settle(&gm->ms);
    return 0;
}

static int blb_str_gmatch(lua_State *L) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = blb_start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    lua_settop(L, 2);  // the closure keeps both strings alive
    blb_gmatch_state *gm = lua_newuserdatauv(L, sizeof *gm, 0);
    if (init > ls) init = ls + 1;
    blb_prepare(&gm->ms, L, s, ls, p, lp);
    gm->src = s + init;
    gm->p = p;
    gm->lastmatch = NULL;
    lua_pushcclosure(L, blb_gmatch_next, 3);
    return 1;
}

static void blb_add_string_replacement(blb_match *ms, luaL_Buffer *b, const char *s, const char *e) {
    size_t l;
    lua_State *L = ms->L;
    const char *news = lua_tolstring(L, 3, &l);
    const char *p;
    while ((p = memchr(news, BLB_ESC, l)) != NULL) {
        luaL_addlstring(b, news, (size_t)(p - news));
        p++;
        if (*p == BLB_ESC) {
            luaL_addchar(b, *p);
        } else if (*p == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit(uchar(*p))) {
            const char *cap;
            ptrdiff_t len = (ptrdiff_t)blb_get_capture(ms, *p - '1', s, e, &cap);
            if (len == BLB_CAP_POSITION) luaL_addvalue(b);  // the position was pushed
            else luaL_addlstring(b, cap, (size_t)len);
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", BLB_ESC);
        }
        l -= (size_t)(p + 1 - news);
        news = p + 1;
    }
    luaL_addlstring(b, news, l);
}

// Returns whether the text changed (a false or nil replacement keeps the original).
static int blb_add_replacement(blb_match *ms, luaL_Buffer *b, const char *s, const char *e, int type) {
    lua_State *L = ms->L;
    switch (type) {
    case LUA_TFUNCTION: {
        lua_pushvalue(L, 3);
        int n = blb_push_captures(ms, s, e);
        lua_call(L, n, 1);
        break;
    }
    case LUA_TTABLE:
        blb_push_capture(ms, 0, s, e);
        lua_gettable(L, 3);
        break;
    default:
        blb_add_string_replacement(ms, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int blb_str_gsub(lua_State *L) {
    size_t srcl, lp;
    const char *src = luaL_checklstring(L, 1, &srcl);
    const char *p = luaL_checklstring(L, 2, &lp);
    const char *lastmatch = NULL;
    int type = lua_type(L, 3);
    lua_Integer max_s = luaL_optinteger(L, 4, (lua_Integer)srcl + 1);
    int anchor = (*p == '^');
    lua_Integer n = 0;
    int changed = 0;
    blb_match ms;
    luaL_Buffer b;
    luaL_argexpected(L, type == LUA_TNUMBER || type == LUA_TSTRING || type == LUA_TFUNCTION || type == LUA_TTABLE,
                     3, "string/function/table");
    luaL_buffinit(L, &b);
    if (anchor) {
        p++;
        lp--;
    }
    blb_prepare(&ms, L, src, srcl, p, lp);
    while (n < max_s) {
        ms.level = 0;
        const char *e = blb_do_match(&ms, src, p);
        if (e != NULL && e != lastmatch) {
            n++;
            changed = blb_add_replacement(&ms, &b, src, e, type) | changed;
            src = lastmatch = e;
        } else if (src < ms.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchor) break;
    }
    blb_pattern_settle(&ms);
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

void blb_install_patterns(lua_State *L) {
    static const luaL_Reg replacements[] = {
        {"find", blb_str_find},
        {"match", blb_str_match},
        {"gmatch", blb_str_gmatch},
        {"gsub", blb_str_gsub},
        {NULL, NULL},
    };
    lua_getglobal(L, "string");
    int string_table = lua_gettop(L);
    // The stock functions stay reachable from C only, so tests can compare both matchers.
    lua_createtable(L, 0, 4);
    for (const luaL_Reg *r = replacements; r->name; r++) {
        lua_getfield(L, string_table, r->name);
        lua_setfield(L, -2, r->name);
    }
    lua_rawsetp(L, LUA_REGISTRYINDEX, &blb_stock_string_key);
    luaL_setfuncs(L, replacements, 0);
    lua_pop(L, 1);
}

void blb_push_stock_string_functions(lua_State *L) {
    lua_checkstack(L, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &blb_stock_string_key);
}
