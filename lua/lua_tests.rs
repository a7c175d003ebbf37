//! Host tests of the safe handle (lua/handle.rs): a library written against
//! it, as lualinux/ and luanetfilter/ are, driven from Lua.

use crate::ffi::lua_CFunction;
use crate::lua::{Class, Lua};
use crate::lua_fn;
use core::ffi::{c_int, CStr};
use core::marker::PhantomData;

/// `t.opt(table)`: the integer fields `a` and `b` of an options table,
/// read with get_field/top_integer/pop as `netfilter.register` does.
fn opt(lua: &mut Lua<'_>) -> c_int {
    lua.check_type(1, crate::ffi::LUA_TTABLE);
    let mut sum = 0;
    for name in [c"a", c"b"] {
        lua.get_field(1, name);
        let Some(v) = lua.top_integer() else {
            lua.error_with(c"'%s' must be an integer", name);
        };
        lua.pop(1);
        sum += v;
    }
    lua.push_integer(sum);
    1
}

/// `t.many(n)`: `n` results, more than the stack a C function starts with.
fn many(lua: &mut Lua<'_>) -> c_int {
    let n = lua.check_integer(1).clamp(0, 1000);
    for i in 0..n {
        lua.push_integer(i);
    }
    n as c_int
}

/// `t.popargs()`: tries to pop an argument, which the handle refuses.
fn popargs(lua: &mut Lua<'_>) -> c_int {
    lua.pop(1);
    0
}

/// `t.counter(v)`: a userdata of the test class.
fn counter(lua: &mut Lua<'_>) -> c_int {
    let v = lua.check_integer(1);
    COUNTER.push(lua, core::cell::Cell::new(v), 0);
    1
}

fn bump(lua: &mut Lua<'_>) -> c_int {
    let c = COUNTER.check(lua, 1);
    c.set(c.get() + 1);
    lua.push_integer(c.get());
    1
}

static COUNTER: Class<core::cell::Cell<i64>> = Class {
    name: c"test.counter",
    methods: &[(c"bump", lua_fn!(bump))],
    metamethods: &[],
    _values: PhantomData,
};

/// The registry key of the function `t.slot` keeps.
static SLOT: u8 = 0;

/// `t.slot(f)`: keeps `f` under [`SLOT`], as `xdp.attach` does.
fn slot(lua: &mut Lua<'_>) -> c_int {
    lua.check_type(1, crate::ffi::LUA_TFUNCTION);
    lua.set_slot(&SLOT, 1);
    0
}

/// `t.unslot()`: empties [`SLOT`], as `xdp.detach` does.
fn unslot(lua: &mut Lua<'_>) -> c_int {
    lua.clear_slot(&SLOT);
    0
}

/// `require "handletest"`.
pub unsafe extern "C" fn open(L: *mut crate::ffi::lua_State) -> c_int {
    fn body(lua: &mut Lua<'_>) -> c_int {
        let functions: [(&CStr, lua_CFunction); 6] = [
            (c"opt", lua_fn!(opt)),
            (c"many", lua_fn!(many)),
            (c"popargs", lua_fn!(popargs)),
            (c"counter", lua_fn!(counter)),
            (c"slot", lua_fn!(slot)),
            (c"unslot", lua_fn!(unslot)),
        ];
        lua.push_table(functions.len());
        lua.set_functions(&functions);
        lua.push_integers(&[(c"ONE", 1), (c"TWO", 2)]);
        lua.set_field(c"k");
        1
    }
    // SAFETY: Lua calls the opener as a C function in protected mode.
    body(&mut unsafe { Lua::from_raw(L) })
}

fn state() -> crate::State {
    crate::State::new(0, 0).expect("state")
}

#[test]
fn fields_are_read_and_popped() {
    let mut s = state();
    let t = "local t = require 'handletest' ";
    assert_eq!(
        s.eval(&format!("{t} return t.opt{{a = 2, b = 40}}"))
            .unwrap(),
        "42"
    );
    let e = s
        .run(&format!("{t} return t.opt{{a = 2, b = 'x'}}"))
        .unwrap_err();
    assert!(e.contains("'b' must be an integer"), "{e}");
    let e = s.run(&format!("{t} return t.opt(5)")).unwrap_err();
    assert!(e.contains("table expected"), "{e}");
    assert_eq!(
        s.eval(&format!("{t} return t.k.ONE + t.k.TWO")).unwrap(),
        "3"
    );
}

#[test]
fn pushes_grow_the_stack() {
    let mut s = state();
    assert_eq!(
        s.eval("return select('#', require('handletest').many(500))")
            .unwrap(),
        "500"
    );
}

#[test]
fn arguments_are_never_popped() {
    let mut s = state();
    let e = s.run("require('handletest').popargs(1)").unwrap_err();
    assert!(e.contains("pop below the arguments"), "{e}");
}

#[test]
fn class_values_have_a_hidden_metatable() {
    let mut s = state();
    let t = "local t = require 'handletest' ";
    assert_eq!(
        s.eval(&format!(
            "{t} local c = t.counter(5) c:bump() return c:bump()"
        ))
        .unwrap(),
        "7"
    );
    assert_eq!(
        s.eval(&format!("{t} return getmetatable(t.counter(1))"))
            .unwrap(),
        "test.counter"
    );
    let e = s
        .run(&format!("{t} local c = t.counter(1) c.bump({{}})"))
        .unwrap_err();
    assert!(e.contains("test.counter expected"), "{e}");
}

/// Registry keys of the kept views of the test below.
static VIEWS: [u8; 2] = [0; 2];

/// A stored function called with kept views takes `interp::call`'s direct
/// path from the second call on (the views exist then): the views are
/// still attached during the call and detached after it, also when the
/// function fails, and a string argument still goes the protected way.
#[test]
fn slot_calls_with_kept_views_lend_and_release_them() {
    use crate::data::DataArg;
    use crate::interp::{Arg, Callee};
    use crate::State;
    let mut s = state();
    let t = "local t = require 'handletest' ";
    s.run(&format!(
        "{t} t.slot(function(p, a, x) kept = p p:setbyte(0, #a) return #p, x end)"
    ))
    .unwrap();
    let call = |s: &mut State, packet: &mut [u8], x: Arg<'_>| {
        let mut arg = [0u8; 3];
        let (p, a) = (
            DataArg::writable(packet).kept(&VIEWS[0]),
            DataArg::writable(&mut arg).kept(&VIEWS[1]),
        );
        s.call_callee(
            Callee::Slot(&SLOT),
            &[Arg::Lent(&p), Arg::Lent(&a), x],
            |r| r.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>(),
        )
    };
    for len in [4, 5, 6] {
        let mut packet = vec![0u8; len];
        assert_eq!(
            call(&mut s, &mut packet, Arg::Int(9)).unwrap(),
            [format!("Int({len})"), "Int(9)".into()]
        );
        assert_eq!(packet[0], 3);
        assert_eq!(s.eval("return #kept").unwrap(), "0");
    }
    let mut packet = [0u8; 2];
    let r = call(&mut s, &mut packet, Arg::Str(b"s")).unwrap();
    assert_eq!(r[0], "Int(2)");
    s.run(&format!(
        "{t} t.slot(function(p) kept = p error('boom') end)"
    ))
    .unwrap();
    let e = call(&mut s, &mut packet, Arg::Nil).unwrap_err();
    assert!(e.contains("boom"), "{e}");
    assert_eq!(s.eval("return #kept").unwrap(), "0");
}

#[test]
fn slots_hold_the_function_a_library_keeps() {
    use crate::interp::{Arg, Callee, Value};
    let mut s = state();
    let t = "local t = require 'handletest' ";
    assert!(!s.holds_slot(&SLOT));
    let e = s.call_callee(Callee::Slot(&SLOT), &[], |_| ()).unwrap_err();
    assert!(e.contains("no function attached"), "{e}");
    s.run(&format!("{t} t.slot(function(x) return x * 2 end)"))
        .unwrap();
    assert!(s.holds_slot(&SLOT));
    let v = s
        .call_callee(Callee::Slot(&SLOT), &[Arg::Int(21)], |r| {
            r.to_vec() == [Value::Int(42)]
        })
        .unwrap();
    assert!(v);
    // Replaced, then emptied.
    s.run(&format!("{t} t.slot(function() return 7 end)"))
        .unwrap();
    let v = s
        .call_callee(Callee::Slot(&SLOT), &[], |r| r.to_vec() == [Value::Int(7)])
        .unwrap();
    assert!(v);
    let e = s.run(&format!("{t} t.slot(42)")).unwrap_err();
    assert!(e.contains("function expected"), "{e}");
    s.run(&format!("{t} t.unslot() t.unslot()")).unwrap();
    assert!(!s.holds_slot(&SLOT));
}
