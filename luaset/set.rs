// SPDX-License-Identifier: GPL-2.0

//! The `set` library: immutable sets of strings, built once from a Lua
//! table, whose lookups cost the same whatever their size (Lunatik's
//! `set`; docs/libraries.md, "set").
//!
//! `set.new({s, ...})` builds a plain set, tested with `s:has(str)`;
//! `set.labeled({[s] = label, ...})` builds a labeled set, where each
//! member carries a 32-bit label and `s:match(str)` returns the union of
//! the labels of `str` and of each suffix of it that follows a `.` (0
//! if none is a member): the data structure a domain blocklist wants.
//! `#s` is the number of members given.
//!
//! A lookup hashes the key once (once per level for `match`) and scans one
//! bucket of about two entries (luaset/index.rs): no binary search, no
//! lock, no allocation, so it is as cheap in a million-member set as in a
//! small one, and safe from a packet hook. Building reads the table
//! twice (three times for a labeled one), is charged to the entry's
//! budget by the bytes it reads and writes, and allocates the set as one
//! block from the state's allocator (luaset/storage.rs): the set counts
//! against the state's memory cap.
//!
//! Written against the safe handle (lua/handle.rs): no `unsafe` here. Every
//! function may raise through its checks and holds no value with a
//! destructor (docs/architecture.md, "The longjmp rule").

use super::index::{self, Shape};
use super::storage::Set;
use crate::lua::ffi::{lua_CFunction, LUA_TSTRING, LUA_TTABLE};
use crate::lua::{Class, Lua};
use crate::lua_fn;
use crate::luarcu::siphash::Key;
use core::ffi::{c_int, CStr};
use core::marker::PhantomData;

/// Work charged per member and pass of a build, beside its bytes, in
/// bytes as `charge_bytes` counts them (64 bytes are one unit, about one
/// VM instruction): a few units for the hash and the bookkeeping.
const MEMBER_WORK: usize = 256;

/// Plain sets: `s:has(str)`, `#s`.
static SETS: Class<Set> = Class {
    name: c"set",
    methods: &[(c"has", lua_fn!(has))],
    metamethods: &[(c"__len", lua_fn!(len))],
    _values: PhantomData,
};

/// Labeled sets: `s:match(str)`, `#s`.
static LABELED: Class<Set> = Class {
    name: c"set.labeled",
    methods: &[(c"match", lua_fn!(match_labels))],
    metamethods: &[(c"__len", lua_fn!(len_labeled))],
    _values: PhantomData,
};

/// `#s` of a plain set.
fn len(lua: &mut Lua<'_>) -> c_int {
    let set = SETS.check(lua, 1);
    lua.push_integer(set.members as i64);
    1
}

/// `#s` of a labeled set.
fn len_labeled(lua: &mut Lua<'_>) -> c_int {
    let set = LABELED.check(lua, 1);
    lua.push_integer(set.members as i64);
    1
}

/// `s:has(str)`: whether `str` is a member.
fn has(lua: &mut Lua<'_>) -> c_int {
    let set = SETS.check(lua, 1);
    let s = lua.check_bytes(2);
    lua.charge_bytes(s.len());
    let found = set.shape.find(set.bytes(), s).is_some();
    lua.push_bool(found);
    1
}

/// `s:match(str)`: the union of the labels of `str` and its suffixes.
fn match_labels(lua: &mut Lua<'_>) -> c_int {
    let set = LABELED.check(lua, 1);
    let s = lua.check_bytes(2);
    // Each level hashes what follows its `.`: charged before the walk,
    // which calls no Lua (a long key of many levels costs its due).
    let mut work = 0usize;
    let labels = set
        .shape
        .walk(set.bytes(), s, |n| work = work.saturating_add(n));
    lua.charge_bytes(work);
    lua.push_integer(i64::from(labels));
    1
}

/// A fresh hash key from the RNG.
fn fresh_key() -> Key {
    Key([super::random(), super::random()])
}

/// Reads the little-endian `u32` at slot `i` of `words`, 0 if out of range.
fn word(words: &[u8], i: usize) -> u32 {
    i.checked_mul(4)
        .and_then(|at| index::read_u32(words, at))
        .unwrap_or(0)
}

/// Writes `v` at slot `i` of `words` (which the caller sized).
fn set_word(words: &mut [u8], i: usize, v: u32) {
    if let Some(at) = i.checked_mul(4) {
        let _ = index::write_u32(words, at, v);
    }
}

/// A set's bytes split into its directory of `buckets` buckets and its
/// entries, if they hold the directory.
fn split(bytes: &mut [u8], buckets: usize) -> Option<(&mut [u8], &mut [u8])> {
    let dir = index::dir_len(buckets)?;
    // `split_at_mut` cannot panic: `dir` is within the bytes.
    (dir <= bytes.len()).then(|| bytes.split_at_mut(dir))
}

/// How a build ends when the table changed between its passes (a
/// finalizer run by an allocation may change it).
fn changed(lua: &mut Lua<'_>) -> ! {
    lua.arg_error(1, c"table changed while the set was built")
}

/// What the passes of a build share: the set's shape and the running sizes
/// of its buckets, in a scratch buffer of one `u32` per bucket.
struct Build<'a> {
    shape: Shape,
    /// Bytes of each bucket's entries (the first pass), then where the
    /// next entry of each bucket goes (the second).
    sizes: &'a mut [u8],
    /// Bytes of all entries.
    total: usize,
}

impl<'a> Build<'a> {
    /// A build of `n` members, its scratch pushed on the stack. May raise.
    fn new(lua: &mut Lua<'a>, n: usize, labeled: bool) -> Self {
        let buckets = index::buckets(n);
        let Some(bytes) = buckets.checked_mul(4) else {
            lua.arg_error(1, c"table too large");
        };
        Build {
            shape: Shape {
                buckets,
                labeled,
                key: fresh_key(),
            },
            sizes: lua.push_buffer(bytes),
            total: 0,
        }
    }

    /// The first pass's step for member `s`: counts its entry in its
    /// bucket. Returns false if the set would pass 4 GiB (offsets are
    /// `u32`).
    fn measure(&mut self, s: &[u8]) -> bool {
        let b = index::bucket(index::hash(&self.shape.key, s), self.shape.buckets);
        let e = index::entry_len(s.len(), self.shape.labeled);
        self.total = self.total.saturating_add(e);
        let size = word(self.sizes, b) as usize + e;
        if self.total > u32::MAX as usize {
            return false;
        }
        set_word(self.sizes, b, size as u32);
        true
    }

    /// Pushes the set, with its directory laid out from the sizes, which
    /// become each bucket's write position. May raise (memory).
    fn push(&mut self, lua: &mut Lua<'a>, class: &Class<Set>, members: usize) -> &'a mut [u8] {
        let Some(len) = index::dir_len(self.shape.buckets).and_then(|d| d.checked_add(self.total))
        else {
            lua.arg_error(1, c"table too large");
        };
        let (_, bytes) = Set::push(lua, class, self.shape, members, len);
        let mut at = 0u32;
        for b in 0..self.shape.buckets {
            let size = word(self.sizes, b);
            set_word(bytes, b, at);
            set_word(self.sizes, b, at);
            at += size;
        }
        set_word(bytes, self.shape.buckets, at);
        bytes
    }

    /// The second pass's step for member `s`: writes its entry in its
    /// bucket unless the bucket holds it already. Returns false if the
    /// entry does not fit where the first pass made room for it.
    fn place(&mut self, bytes: &mut [u8], s: &[u8], label: Option<u32>) -> bool {
        let shape = self.shape;
        let h = index::hash(&shape.key, s);
        let b = index::bucket(h, shape.buckets);
        let Some((head, entries)) = split(bytes, shape.buckets) else {
            return false;
        };
        let from = word(head, b) as usize;
        let at = word(self.sizes, b) as usize;
        let end = word(head, b + 1) as usize;
        if index::scan(entries, from, at, shape.labeled, index::tag(h), s).is_some() {
            // A duplicate (plain sets keep one copy).
            return true;
        }
        match index::write_entry(entries, at, index::tag(h), s, label) {
            Some(next) if next <= end => {
                set_word(self.sizes, b, next as u32);
                true
            }
            _ => false,
        }
    }

    /// Closes the gaps duplicates left: each bucket's entries move down
    /// to follow the previous bucket's, and the directory follows them.
    fn compact(&mut self, bytes: &mut [u8]) {
        let buckets = self.shape.buckets;
        let Some((head, entries)) = split(bytes, buckets) else {
            return;
        };
        let mut to = 0usize;
        for b in 0..buckets {
            let from = word(head, b) as usize;
            let end = word(self.sizes, b) as usize;
            if from != to && from <= end && end <= entries.len() {
                entries.copy_within(from..end, to);
            }
            set_word(head, b, to as u32);
            to += end.saturating_sub(from);
        }
        set_word(head, buckets, to as u32);
    }
}

/// `set.new({s, ...})`: a plain set of the strings of the array.
fn new(lua: &mut Lua<'_>) -> c_int {
    lua.check_type(1, LUA_TTABLE);
    let n = usize::try_from(lua.raw_len(1)).unwrap_or(usize::MAX);
    if n > u32::MAX as usize {
        lua.arg_error(1, c"table too large");
    }
    let mut build = Build::new(lua, n, false);
    for i in 1..=n {
        if lua.raw_get_index(1, i as i64) != LUA_TSTRING {
            lua.arg_error(1, c"members must be strings");
        }
        let (fits, len) = match lua.bytes_at(-1) {
            Some(s) => (build.measure(s), s.len()),
            None => (false, 0),
        };
        lua.pop(1);
        if !fits {
            lua.arg_error(1, c"table too large");
        }
        lua.charge_bytes(len.saturating_add(MEMBER_WORK));
    }
    let bytes = build.push(lua, &SETS, n);
    for i in 1..=n {
        if lua.raw_get_index(1, i as i64) != LUA_TSTRING {
            changed(lua);
        }
        let (placed, len) = match lua.bytes_at(-1) {
            Some(s) => (build.place(bytes, s, None), s.len()),
            None => (false, 0),
        };
        lua.pop(1);
        if !placed {
            changed(lua);
        }
        lua.charge_bytes(len.saturating_add(MEMBER_WORK));
    }
    build.compact(bytes);
    lua.charge_bytes(build.total);
    // The set is on top, above the scratch.
    1
}

/// The label of the pair on top of the stack (key, value), if the key is
/// a string and the value a label, in `[1, 2^32)`.
fn label_on_top(lua: &Lua<'_>) -> Result<u32, &'static CStr> {
    if lua.bytes_at(-2).is_none() {
        return Err(c"members must be strings");
    }
    match lua.integer_at(-1).map(u32::try_from) {
        Some(Ok(l)) if l >= 1 => Ok(l),
        _ => Err(c"labels must be integers in [1, 2^32)"),
    }
}

/// `set.labeled({[s] = label, ...})`: a labeled set of the table's pairs.
fn labeled(lua: &mut Lua<'_>) -> c_int {
    lua.check_type(1, LUA_TTABLE);
    // Counting pass: the pairs are checked, and counted to size the set.
    let mut n = 0usize;
    lua.push_nil();
    while lua.next(1) {
        if let Err(msg) = label_on_top(lua) {
            lua.arg_error(1, msg);
        }
        n += 1;
        lua.pop(1);
        lua.charge_bytes(MEMBER_WORK);
    }
    if n > u32::MAX as usize {
        lua.arg_error(1, c"table too large");
    }
    let mut build = Build::new(lua, n, true);
    lua.push_nil();
    let mut seen = 0usize;
    while lua.next(1) {
        let (fits, len) = match lua.bytes_at(-2) {
            Some(s) => (build.measure(s), s.len()),
            None => (false, 0),
        };
        lua.pop(1);
        seen += 1;
        if !fits {
            lua.arg_error(1, c"table too large");
        }
        lua.charge_bytes(len.saturating_add(MEMBER_WORK));
    }
    if seen != n {
        changed(lua);
    }
    let bytes = build.push(lua, &LABELED, n);
    lua.push_nil();
    seen = 0;
    while lua.next(1) {
        let label = label_on_top(lua).ok();
        let (placed, len) = match (lua.bytes_at(-2), label) {
            (Some(s), Some(l)) => (build.place(bytes, s, Some(l)), s.len()),
            _ => (false, 0),
        };
        seen += 1;
        if !placed || seen > n {
            changed(lua);
        }
        lua.pop(1);
        lua.charge_bytes(len.saturating_add(MEMBER_WORK));
    }
    if seen != n {
        changed(lua);
    }
    build.compact(bytes);
    // The set is on top, above the scratch.
    1
}

/// `require "set"`: the library table.
fn open(lua: &mut Lua<'_>) -> c_int {
    let functions: [(&CStr, lua_CFunction); 2] =
        [(c"new", lua_fn!(new)), (c"labeled", lua_fn!(labeled))];
    lua.push_table(functions.len());
    lua.set_functions(&functions);
    1
}

/// The opener of `require "set"`, for the library registry (and the
/// host's list of libraries).
pub const OPEN: lua_CFunction = lua_fn!(open);
