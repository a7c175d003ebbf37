//! Host tests of `require`: the standard libraries by name, script files
//! along the search path (served by the host's loader, `FILES` in
//! host.rs), `package.loaded`, and the names that may never become paths.

use super::interp_require::{script_path, valid_module_name, SCRIPT_PATH_MAX};
use super::State;

fn state() -> State {
    State::new(0, 0).expect("state")
}

#[test]
fn standard_libraries_by_name() {
    let mut s = state();
    for name in [
        "string",
        "table",
        "math",
        "coroutine",
        "utf8",
        "debug",
        "_G",
        "package",
    ] {
        let src = format!("return require('{name}') == {name}");
        assert_eq!(s.eval(&src).unwrap(), "true", "{name}");
    }
    // The sandbox's debug: only traceback.
    assert_eq!(
        s.eval("local d = require('debug') return d.traceback ~= nil and d.getinfo == nil")
            .unwrap(),
        "true"
    );
    assert_eq!(
        s.eval("return package.loaded.string == string").unwrap(),
        "true"
    );
    assert_eq!(
        s.eval("return package.path").unwrap(),
        "/lib/modules/lua/?.lua;/lib/modules/lua/?/init.lua"
    );
    assert_eq!(
        s.eval("return _LUNATIK_VERSION").unwrap(),
        "lunatik-rs 0.1.0 (Lua 5.5)"
    );
}

#[test]
fn files_along_the_search_path() {
    let mut s = state();
    // Dots become slashes; the chunk gets its name and path, as in stock Lua.
    assert_eq!(
        s.run("local m, path = require('mod.a') return m.name, m.path, path")
            .unwrap(),
        [
            "mod.a",
            "/lib/modules/lua/mod/a.lua",
            "/lib/modules/lua/mod/a.lua"
        ]
    );
    // ?.lua before ?/init.lua.
    assert_eq!(s.eval("return require('pkg')").unwrap(), "pkg from pkg.lua");
    // A required file may require a standard library.
    assert_eq!(s.eval("return require('needs')").unwrap(), "xxx");
}

#[test]
fn modules_are_cached_in_package_loaded() {
    let mut s = state();
    assert_eq!(
        s.eval("local a = require('mod.a') return a == require('mod.a') and a == package.loaded['mod.a']")
            .unwrap(),
        "true"
    );
    // A chunk that returns nothing runs once and is loaded as true.
    assert_eq!(
        s.run("local r = require('noreturn') require('noreturn') return r, counter")
            .unwrap(),
        ["true", "1"]
    );
    // A chunk may set its own entry.
    assert_eq!(
        s.eval("return require('selfset')").unwrap(),
        "set by the chunk"
    );
    // package.loaded is what require reads: clearing it loads again.
    assert_eq!(
        s.eval("package.loaded.noreturn = nil require('noreturn') return counter")
            .unwrap(),
        "2"
    );
    // And a preset entry is returned without looking for a file.
    assert_eq!(
        s.eval("package.loaded.nowhere = 7 return require('nowhere')")
            .unwrap(),
        "7"
    );
}

#[test]
fn missing_broken_and_binary_files_fail_clearly() {
    let mut s = state();
    let e = s.run("return require('no.such')").unwrap_err();
    assert!(e.contains("module 'no.such' not found"), "{e}");
    assert!(e.contains("no file '/lib/modules/lua/no/such.lua'"), "{e}");
    assert!(
        e.contains("no file '/lib/modules/lua/no/such/init.lua'"),
        "{e}"
    );
    let e = s.run("return require('broken')").unwrap_err();
    assert!(e.contains("expected"), "{e}");
    let e = s.run("return require('fails')").unwrap_err();
    assert!(e.contains("fails on load"), "{e}");
    // A failed load is not cached.
    assert_eq!(s.eval("return package.loaded.fails").unwrap(), "nil");
    let e = s.run("return require('binary')").unwrap_err();
    assert!(e.contains("attempt to load a binary chunk"), "{e}");
}

#[test]
fn names_that_could_escape_are_refused() {
    let mut s = state();
    for name in [
        "../etc/passwd",
        "/etc/passwd",
        "a..b",
        ".a",
        "a.",
        "a/b",
        "",
        "a b",
        "..",
        "a\0b",
    ] {
        assert!(!valid_module_name(name.as_bytes()), "{name:?}");
        let src = format!("return require({name:?})");
        let e = s.run(&src).unwrap_err();
        assert!(e.contains("not found"), "{name:?}: {e}");
    }
    assert!(!valid_module_name(&[b'a'; 201]));
    for name in ["a", "examples.dnsblock.common", "x_1-2.Y"] {
        assert!(valid_module_name(name.as_bytes()), "{name:?}");
    }
}

#[test]
fn script_paths() {
    let mut buf = [0xffu8; SCRIPT_PATH_MAX];
    let n = script_path(b"examples.dnsblock.common", 0, &mut buf).unwrap();
    assert_eq!(&buf[..=n], b"examples/dnsblock/common.lua\0");
    let n = script_path(b"pkg", 1, &mut buf).unwrap();
    assert_eq!(&buf[..=n], b"pkg/init.lua\0");
    assert_eq!(script_path(b"pkg", 2, &mut buf), None);
    assert_eq!(script_path(b"a..b", 0, &mut buf), None);
    let long = [b'a'; 200];
    let n = script_path(&long, 1, &mut buf).unwrap();
    assert_eq!(n, 209);
}
