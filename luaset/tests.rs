//! Host tests of the `set` library (luaset/): upstream Lunatik's
//! behaviours of `set.new` and `set.labeled`, the errors, the memory a
//! set costs and the work its build is charged.

use super::State;

fn state() -> State {
    let mut s = State::new(0, 0).expect("state");
    s.run("set = require('set')").unwrap();
    s
}

/// Runs `src`, which must return true (or fail with its message).
fn holds(s: &mut State, src: &str) {
    assert_eq!(s.eval(src).as_deref(), Ok("true"), "{src}");
}

#[test]
fn plain_sets_answer_exact_membership() {
    let mut s = state();
    holds(
        &mut s,
        "local t = set.new({'delta', 'alpha', 'charlie', 'bravo'})
         return t:has('charlie') and t:has('bravo') and t:has('delta') and t:has('alpha')
            and not t:has('nope') and #t == 4",
    );
    holds(
        &mut s,
        "local t = set.new({'a', 'bb', 'ccc'})
         return not t:has('b') and not t:has('cccc') and not t:has('') and t:has('bb')",
    );
    // Duplicates count in #s, as upstream's, and are stored once.
    holds(
        &mut s,
        "local t = set.new({'x', 'x', 'y'}) return t:has('x') and t:has('y') and #t == 3",
    );
    holds(
        &mut s,
        "local t = set.new({}) return #t == 0 and not t:has('anything')",
    );
    holds(
        &mut s,
        "local t = set.new({''}) return t:has('') and not t:has('x') and #t == 1",
    );
    // Keys are bytes: embedded NULs, long keys (multi-byte lengths).
    holds(
        &mut s,
        "local long = string.rep('k', 300)
         local t = set.new({'a\\0b', long, 'a'})
         return t:has('a\\0b') and not t:has('a\\0') and t:has(long)
            and not t:has(long .. 'k') and t:has('a')",
    );
    // Numbers given to has() are converted, as luaL_checklstring does.
    holds(&mut s, "return set.new({'42'}):has(42)");
}

/// Duplicates are placed once, so their bucket stays one entry long: a
/// lookup that misses in it scans one entry, not 5,000 (the room the
/// first pass made for the copies stays unused at the end, as upstream's
/// set keeps duplicates too).
#[test]
fn many_duplicates_are_stored_once() {
    let mut s = state();
    holds(
        &mut s,
        "local t = {} for i = 1, 5000 do t[i] = 'same' end t[5001] = 'other'
         local x = set.new(t)
         return #x == 5001 and x:has('same') and x:has('other') and not x:has('sam')",
    );
}

#[test]
fn labeled_sets_union_the_labels_of_every_level() {
    let mut s = state();
    holds(
        &mut s,
        "local t = set.labeled({alpha = 1, bravo = 2, charlie = 4, delta = 8})
         return t:match('charlie') == 4 and t:match('alpha') == 1 and t:match('nope') == 0
            and #t == 4",
    );
    holds(
        &mut s,
        "local t = set.labeled({['a.b.c'] = 1, ['b.c'] = 2, c = 4})
         return t:match('a.b.c') == 7 and t:match('x.a.b.c') == 7 and t:match('b.c') == 6
            and t:match('c') == 4 and t:match('nope') == 0 and t:match('b.c.d') == 0",
    );
    holds(
        &mut s,
        "local t = set.labeled({c = 1, ['b.c'] = 2, ['a.b.c'] = 4})
         return t:match('c') == 1 and t:match('b.c') == 3 and t:match('a.b.c') == 7
            and t:match('z.c') == 1 and t:match('zc') == 0",
    );
    holds(
        &mut s,
        "local t = set.labeled({['a.b'] = 1 | 4, b = 2})
         return t:match('x.a.b') == 7 and t:match('z.w') == 0 and t:match('c.b') == 2",
    );
    holds(
        &mut s,
        "local t = set.labeled({}) return #t == 0 and t:match('a.b') == 0",
    );
    // The empty member is reached after a final '.'.
    holds(
        &mut s,
        "local t = set.labeled({[''] = 5})
         return t:match('a.') == 5 and t:match('a') == 0 and t:match('') == 5 and #t == 1",
    );
    holds(
        &mut s,
        "for _, l in ipairs({1, 255, 256, 65535, 65536, 16777215, 4294967295}) do
            if set.labeled({k = l}):match('k') ~= l then return l end
         end
         return true",
    );
}

#[test]
fn bad_members_and_labels_raise() {
    let mut s = state();
    for (src, msg) in [
        ("set.new({'ok', 42})", "members must be strings"),
        ("set.new({'ok', {}})", "members must be strings"),
        ("set.new('x')", "table expected"),
        ("set.labeled({[42] = 1, k = 2})", "members must be strings"),
        (
            "set.labeled({k = 'not a number'})",
            "labels must be integers in [1, 2^32)",
        ),
        (
            "set.labeled({k = 0})",
            "labels must be integers in [1, 2^32)",
        ),
        (
            "set.labeled({k = -1})",
            "labels must be integers in [1, 2^32)",
        ),
        (
            "set.labeled({k = 4294967296})",
            "labels must be integers in [1, 2^32)",
        ),
        ("set.labeled(nil)", "table expected"),
        ("set.new({}).match", "attempt to call"),
    ] {
        let e = s
            .run(&format!("{src}()"))
            .err()
            .or_else(|| s.run(src).err());
        let e = e.unwrap_or_else(|| panic!("{src} must raise"));
        assert!(e.contains(msg), "{src}: {e}");
    }
    // The methods check their object.
    let e = s
        .run("local t = set.new({'a'}) return t.has({}, 'a')")
        .unwrap_err();
    assert!(e.contains("set expected"), "{e}");
    let e = s
        .run("local t = set.labeled({a = 1}) return set.new({'a'}).has(t, 'a')")
        .unwrap_err();
    assert!(e.contains("set expected"), "{e}");
}

#[test]
fn sets_count_against_the_memory_cap() {
    // A cap that holds the table of names but not also the set.
    let mut s = State::new(3 << 20, 0).expect("state");
    s.run("set = require('set')").unwrap();
    s.run("names = {} for i = 1, 20000 do names[i] = ('host%d.blocked.example'):format(i) end")
        .unwrap();
    let used = s.account().used;
    let e = s
        .run("local t = {} for i = 1, 3 do t[i] = set.new(names) end")
        .unwrap_err();
    assert!(e.contains("not enough memory"), "{e}");
    // The state stays usable, and what the failed builds took comes back.
    s.collect();
    assert!(
        s.account().used <= used + 4096,
        "{} > {used}",
        s.account().used
    );
    holds(&mut s, "return set.new({'a'}):has('a')");
}

#[test]
fn building_is_charged_to_the_budget() {
    let mut s = State::new(0, 200_000).expect("state");
    s.run("set = require('set')").unwrap();
    // 20,000 names fit the budget to make; the build of each set is
    // charged per member, so a few builds exceed it.
    s.run("names = {} for i = 1, 20000 do names[i] = 'n' .. i end")
        .unwrap();
    let e = s.run("for i = 1, 10 do set.new(names) end").unwrap_err();
    assert!(e.contains("instruction budget exceeded"), "{e}");
    // A long many-level key given to match is charged by the bytes each
    // level hashes.
    s.run("dots = string.rep('a.', 20000) t = set.labeled({a = 1})")
        .unwrap();
    let e = s.run("return t:match(dots)").unwrap_err();
    assert!(e.contains("instruction budget exceeded"), "{e}");
}

/// A million names: the set's bytes per member, and that every member is
/// found and no near miss is.
#[test]
fn a_million_names() {
    let mut s = State::new(0, 0).expect("state");
    s.run("set = require('set')").unwrap();
    let empty = s.account().used;
    s.run(
        "names = {} for i = 1, 1000000 do names[i] = ('h%d.blocked%d.example'):format(i, i % 97) end",
    )
    .unwrap();
    s.collect();
    println!(
        "a million names: their table takes {} bytes",
        s.account().used - empty
    );
    let bytes = s
        .eval(
            "collectgarbage() local before = collectgarbage('count') * 1024
             big = set.new(names)
             collectgarbage() local after = collectgarbage('count') * 1024
             local sum = 0 for i = 1, #names do sum = sum + #names[i] end
             return (after - before - sum) .. ' ' .. sum",
        )
        .unwrap();
    let (overhead, keys) = bytes.split_once(' ').unwrap();
    let overhead: i64 = overhead.parse().unwrap();
    let keys: i64 = keys.parse().unwrap();
    println!(
        "a million names: {keys} key bytes, {overhead} bytes beside them ({} per name)",
        overhead / 1_000_000
    );
    assert!(
        overhead <= 5 * 1_000_000,
        "{overhead} bytes beside the keys"
    );
    holds(
        &mut s,
        "for i = 1, #names, 7 do
            if not big:has(names[i]) then return names[i] end
            if big:has(names[i] .. 'x') or big:has('x' .. names[i]) then return 'near ' .. names[i] end
         end
         return #big == 1000000",
    );
}

/// The cost of a lookup in sets of 1,000 and 1,000,000 names on the host
/// (a measurement, not a check: `cargo test --release -p lunatik-lua
/// set_lookup_cost -- --ignored --nocapture`). `make bench` measures the
/// same in the kernel (selftests/bench.d/set.sh).
#[test]
#[ignore]
fn set_lookup_cost() {
    let mut s = State::new(0, 0).expect("state");
    s.run("set = require('set')").unwrap();
    for n in [1000, 1_000_000] {
        s.run(&format!(
            "local names, labeled = {{}}, {{}}
             for i = 1, {n} do
                local name = ('h%d.example.%d'):format(i, i % 97)
                names[i] = name labeled[name] = 1
             end
             plain, match = set.new(names), set.labeled(labeled)
             probes, deep = {{}}, {{}}
             for k = 1, 1000 do
                local i = (k * 7919) % {n} + 1
                probes[k] = k % 2 == 0 and ('h%d.example.%d'):format(i, i % 97)
                    or ('m%d.example.%d'):format(i, i % 97)
                deep[k] = 'www.a.' .. probes[k]
             end
             names, labeled = nil, nil collectgarbage()"
        ))
        .unwrap();
        for (what, body) in [
            ("has", "plain:has(probes[k])"),
            ("match", "match:match(deep[k])"),
            ("loop only", "local _ = probes[k]"),
        ] {
            let mut best = u128::MAX;
            for _ in 0..3 {
                let t0 = std::time::Instant::now();
                s.run(&format!(
                    "for r = 1, 1000 do for k = 1, 1000 do {body} end end"
                ))
                .unwrap();
                best = best.min(t0.elapsed().as_nanos());
            }
            println!("{n} names, {what}: {} ns per call", best / 1_000_000);
        }
    }
}
