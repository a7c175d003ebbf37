//! Host tests of the `data` and `byteorder` libraries and `require`
//! (luadata/data.rs, lua/byteorder.rs, lua/interp.rs).

use super::data::DataArg;
use super::interp::{Arg, Value};
use super::State;

fn state() -> State {
    let mut s = State::new(0, 0).expect("state");
    s.run("data = require('data') byteorder = require('byteorder')")
        .unwrap();
    s
}

/// Each accessor with its width.
const ACCESSORS: &[(&str, usize)] = &[
    ("byte", 1),
    ("int8", 1),
    ("uint8", 1),
    ("int16", 2),
    ("uint16", 2),
    ("int32", 4),
    ("uint32", 4),
    ("int64", 8),
    ("number", 8),
];

#[test]
fn every_accessor_at_every_edge() {
    let mut s = state();
    let size = 16;
    for &(name, width) in ACCESSORS {
        for (off, inside) in [
            ("0".to_string(), true),
            ((size - width).to_string(), true),
            ((size - width + 1).to_string(), false),
            ("-1".to_string(), false),
            ("math.maxinteger".to_string(), false),
            ("math.mininteger".to_string(), false),
        ] {
            let src = format!(
                "local d = data.new({size}) d:set{name}({off}, 5) return d:get{name}({off})"
            );
            let got = s.eval(&src);
            if inside {
                assert_eq!(got.as_deref(), Ok("5"), "{name} at {off}");
            } else {
                let e = got.expect_err(&format!("{name} at {off} must fail"));
                assert!(e.contains("out of bounds"), "{name} at {off}: {e}");
                // The getter alone fails the same way.
                let e = s
                    .eval(&format!("return data.new({size}):get{name}({off})"))
                    .unwrap_err();
                assert!(e.contains("out of bounds"), "get{name} at {off}: {e}");
            }
        }
    }
}

#[test]
fn widths_signs_and_host_order() {
    let mut s = state();
    let r = s
        .run(
            "local d = data.new(8)
             d:setnumber(0, -2)
             return d:getint8(0), d:getuint8(0), d:getint16(0), d:getuint16(0),
                    d:getint32(0), d:getuint32(0), d:getint64(0), d:getbyte(7)",
        )
        .unwrap();
    assert_eq!(
        r,
        ["-2", "254", "-2", "65534", "-2", "4294967294", "-2", "255"]
    );
    // Setters keep the low bytes; host order (x86_64 is little-endian).
    let r = s
        .run("local d = data.new(4) d:setuint16(0, 0x12345) d:setbyte(2, 0x1ff) return d:getbyte(0), d:getbyte(1), d:getbyte(2), byteorder.ntoh16(d:getuint16(0))")
        .unwrap();
    assert_eq!(r, ["69", "35", "255", "17699"]);
}

#[test]
fn strings_length_and_tostring() {
    let mut s = state();
    let r = s
        .run(
            "local d = data.new(6) d:setstring(1, 'abcd')
             return #d, d:getstring(1, 4), d:getstring(3), d:getstring(6), tostring(d) == '\\0abcd\\0'",
        )
        .unwrap();
    assert_eq!(r, ["6", "abcd", "cd\0", "", "true"]);
    for bad in [
        "data.new(6):setstring(3, 'abcd')",
        "data.new(6):getstring(7)",
        "data.new(6):getstring(2, 5)",
        "data.new(6):getstring(0, -1)",
        "data.new(6):getstring(-1)",
    ] {
        let e = s.run(bad).unwrap_err();
        assert!(e.contains("out of bounds"), "{bad}: {e}");
    }
    assert!(s.run("data.new(-1)").unwrap_err().contains("invalid size"));
    // No address in the string form, and the metatable is sealed.
    assert_eq!(s.eval("return getmetatable(data.new(1))").unwrap(), "data");
}

#[test]
fn internet_checksum() {
    let mut s = state();
    // An IPv4 header with its checksum (0xb861) in place sums to 0.
    let header = "\\x45\\x00\\x00\\x73\\x00\\x00\\x40\\x00\\x40\\x11\\xb8\\x61\\xc0\\xa8\\x00\\x01\\xc0\\xa8\\x00\\xc7";
    let src = format!(
        "local h = '{header}' local d = data.new(#h) d:setstring(0, h)
         local whole = d:checksum()
         d:setuint16(10, 0)
         return whole, d:checksum(), d:checksum(0, 20), d:checksum(2, 0)"
    );
    assert_eq!(s.run(&src).unwrap(), ["0", "47201", "47201", "65535"]);
    assert_eq!(super::data::internet_checksum(&[0x01]), !0x0100u16);
    assert!(s
        .run("data.new(4):checksum(2, 3)")
        .unwrap_err()
        .contains("out of bounds"));
}

#[test]
fn byteorder_conversions() {
    let mut s = state();
    let r = s
        .run(
            "return byteorder.hton16(0x1234), byteorder.ntoh16(0x3412), byteorder.hton32(0x12345678),
                    byteorder.htobe64(1), byteorder.htole32(0x12345678), byteorder.le16toh(0x10000 + 7),
                    byteorder.be32toh(byteorder.htobe32(0xdeadbeef))",
        )
        .unwrap();
    assert_eq!(
        r,
        [
            "13330",
            "4660",
            "2018915346",
            "72057594037927936",
            "305419896",
            "7",
            "3735928559"
        ]
    );
}

#[test]
fn require_finds_builtins_once_and_nothing_else() {
    let mut s = state();
    assert_eq!(
        s.eval("return require('data') == require('data')").unwrap(),
        "true"
    );
    let e = s.run("require('io')").unwrap_err();
    assert!(e.contains("module 'io' not found"), "{e}");
}

#[test]
fn kernel_views_are_read_only_and_detached_after_the_call() {
    let mut s = state();
    s.run(
        "function peek(d) kept = d return #d, d:getbyte(1), d:getstring(0) end
         function poke(d) d:setbyte(0, 42) end",
    )
    .unwrap();
    let packet = *b"\x01\x02\x03";
    let r = s
        .call(c"peek", &[Arg::Lent(&DataArg::read_only(&packet))], |v| {
            v.to_vec()
                .iter()
                .map(|x| format!("{x:?}"))
                .collect::<Vec<_>>()
        })
        .unwrap();
    assert_eq!(r, ["Int(3)", "Int(2)", "Str([1, 2, 3])"]);
    // The view the script kept is empty now.
    assert_eq!(s.run("return #kept, tostring(kept)").unwrap(), ["0", ""]);
    assert!(s
        .run("return kept:getbyte(0)")
        .unwrap_err()
        .contains("out of bounds"));
    // Writes to a read-only view fail; to a writable one they land.
    let e = s
        .call(c"poke", &[Arg::Lent(&DataArg::read_only(&packet))], |_| ())
        .unwrap_err();
    assert!(e.contains("read only"), "{e}");
    let mut buf = [0u8; 2];
    s.call(c"poke", &[Arg::Lent(&DataArg::writable(&mut buf))], |_| ())
        .unwrap();
    assert_eq!(buf, [42, 0]);
}

#[test]
fn views_are_detached_after_a_failing_call_and_survive_collection() {
    let mut s = state();
    s.run("function f(d) kept = d collectgarbage() error('late') end")
        .unwrap();
    let packet = [7u8; 4];
    let e = s
        .call(c"f", &[Arg::Lent(&DataArg::read_only(&packet))], |_| ())
        .unwrap_err();
    assert!(e.contains("late"));
    assert_eq!(s.eval("return #kept").unwrap(), "0");
    // A view the script dropped is collected only after the call, and the
    // next call's views are fresh.
    s.run("function g(d) d = nil collectgarbage() return 1 end")
        .unwrap();
    for _ in 0..3 {
        let n = s
            .call(c"g", &[Arg::Lent(&DataArg::read_only(&packet))], |v| {
                v[0] == Value::Int(1)
            })
            .unwrap();
        assert!(n);
    }
    s.collect();
}

/// Registry keys of the kept views of the test below.
static KEPT: [u8; 2] = [0; 2];

#[test]
fn kept_views_serve_every_call_and_are_detached_outside_one() {
    let mut s = state();
    s.run(
        "calls = 0
         function f(p, a)
            calls = calls + 1
            local same = p == first_p and a == first_a
            if calls == 1 then first_p, first_a = p, a end
            -- the first call's views show this call's memory
            p:setbyte(0, a:getbyte(0))
            collectgarbage()
            return same, #first_p, first_p:getbyte(0), #first_a
         end",
    )
    .unwrap();
    let call = |s: &mut State, packet: &mut [u8], arg: &mut [u8]| {
        let (p, a) = (
            DataArg::writable(packet).kept(&KEPT[0]),
            DataArg::writable(arg).kept(&KEPT[1]),
        );
        s.call(c"f", &[Arg::Lent(&p), Arg::Lent(&a)], |v| {
            v.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>()
        })
    };
    let (mut one, mut two) = ([0u8; 2], [0u8; 3]);
    assert_eq!(
        call(&mut s, &mut one, &mut [5]).unwrap(),
        ["Bool(false)", "Int(2)", "Int(5)", "Int(1)"]
    );
    assert_eq!(
        call(&mut s, &mut two, &mut [6, 7]).unwrap(),
        ["Bool(true)", "Int(3)", "Int(6)", "Int(2)"]
    );
    assert_eq!((one, two), ([5, 0], [6, 0, 0]));
    // Outside a call the kept views are empty; writes fail.
    assert_eq!(s.run("return #first_p, #first_a").unwrap(), ["0", "0"]);
    let e = s.run("first_p:setbyte(0, 1)").unwrap_err();
    assert!(e.contains("out of bounds"), "{e}");
    // A failing call leaves them detached too.
    s.run("function f(p) kept = p error('boom') end").unwrap();
    assert!(call(&mut s, &mut one, &mut []).is_err());
    assert_eq!(
        s.run("return #kept, kept == first_p").unwrap(),
        ["0", "true"]
    );
    s.collect();
}

/// The captured ClientHello (examples/tls-clienthello.hex), for
/// "blocked.example.com".
fn client_hello() -> Vec<u8> {
    let hex: String = include_str!("../examples/tls-clienthello.hex")
        .split_whitespace()
        .collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn tls_sni_parser_finds_the_server_name() {
    let mut s = state();
    s.run(include_str!("../examples/tls_sni.lua")).unwrap();
    let hello = client_hello();
    s.run("function sni(d) return tls_server_name(d) end")
        .unwrap();
    let name = s
        .call(c"sni", &[Arg::Lent(&DataArg::read_only(&hello))], |v| {
            format!("{:?}", v[0])
        })
        .unwrap();
    assert_eq!(name, format!("{:?}", Value::Str(b"blocked.example.com")));
    // Truncated anywhere, it never reads past the view: nil or an
    // "out of bounds" error.
    s.run("function sni2(d) local ok, r = pcall(tls_server_name, d) return ok, tostring(r) end")
        .unwrap();
    for cut in 0..hello.len() {
        let (ok, r) = s
            .call(
                c"sni2",
                &[Arg::Lent(&DataArg::read_only(&hello[..cut]))],
                |v| {
                    let text = match v[1] {
                        Value::Str(b) => String::from_utf8_lossy(b).into_owned(),
                        other => format!("{other:?}"),
                    };
                    (v[0] == Value::Bool(true), text)
                },
            )
            .unwrap();
        if ok {
            assert!(!r.contains("blocked"), "cut at {cut}: {r}");
        } else {
            assert!(r.contains("out of bounds"), "cut at {cut}: {r}");
        }
    }
}

#[test]
fn skb_object_shows_the_packet_and_returns_a_mark() {
    use super::skb::SkbArg;
    use core::cell::Cell;
    let mut s = state();
    s.run(
        "function hook(skb) kept = skb
            local d = skb:data('net')
            skb:mark(7)
            return #skb, d:getbyte(0), skb:data('mac') == nil, skb:ifindex(), skb:mark(),
                skb:data() == d
         end",
    )
    .unwrap();
    let packet = [0x45u8, 0, 0, 20];
    let new_mark = Cell::new(None);
    let skb = SkbArg {
        net: DataArg::read_only(&packet),
        mac: None,
        len: 4,
        ifindex: 3,
        mark: 1,
        new_mark: &new_mark,
        ops: None,
    };
    let arg = Arg::Lent(&skb);
    let got = s
        .call(c"hook", &[arg], |v| {
            v.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>()
        })
        .unwrap();
    // skb:data() is skb:data('net'), as upstream.
    assert_eq!(
        got,
        [
            "Int(4)",
            "Int(69)",
            "Bool(true)",
            "Int(3)",
            "Int(7)",
            "Bool(true)"
        ]
    );
    assert_eq!(new_mark.get(), Some(7));
    // Kept past the call: old numbers, an empty view.
    assert_eq!(
        s.run("return #kept, #kept:data('net')").unwrap(),
        ["4", "0"]
    );
    let e = s.run("kept:data('ip')").unwrap_err();
    assert!(e.contains("\"net\" or \"mac\""), "{e}");
    let e = s.run("kept:mark(-1)").unwrap_err();
    assert!(e.contains("mark out of range"), "{e}");
}

#[test]
fn one_skb_object_serves_every_packet_and_a_kept_one_is_detached() {
    use super::skb::SkbArg;
    use core::cell::Cell;
    let mut s = state();
    s.run(
        "calls = 0
         function hook(skb)
            calls = calls + 1
            local same = skb == first
            if calls == 1 then first, first_view = skb, skb:data('net') end
            return same, #first_view, first_view:getbyte(0), skb:data('mac') == nil, skb:mark()
         end",
    )
    .unwrap();
    let mark = Cell::new(None);
    let (one, two, mac) = ([1u8, 2], [9u8, 8, 7], [0xaau8; 14]);
    let mut packet = |net: &[u8], mac: Option<&[u8]>, m: u32| {
        let skb = SkbArg {
            net: DataArg::read_only(net),
            mac: mac.map(DataArg::read_only),
            len: net.len() as i64,
            ifindex: 1,
            mark: m,
            new_mark: &mark,
            ops: None,
        };
        s.call(c"hook", &[Arg::Lent(&skb)], |v| {
            v.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>()
        })
        .unwrap()
    };
    assert_eq!(
        packet(&one, Some(&mac), 5),
        ["Bool(false)", "Int(2)", "Int(1)", "Bool(false)", "Int(5)"]
    );
    // The second packet gets the same object, its view now showing the
    // second packet, no link-layer view, and no mark left over.
    assert_eq!(
        packet(&two, None, 6),
        ["Bool(true)", "Int(3)", "Int(9)", "Bool(true)", "Int(6)"]
    );
    assert_eq!(mark.get(), None);
    // Outside a hook, what the script kept is detached: it reads nothing.
    assert_eq!(
        s.run("return #first_view, #first, first:data('mac') == nil")
            .unwrap(),
        ["0", "3", "true"]
    );
    let e = s.run("return first_view:getbyte(0)").unwrap_err();
    assert!(e.contains("out of bounds"), "{e}");
    // A hook that fails still leaves the views detached.
    s.run("function hook(skb) kept_view = skb:data('net') error('boom') end")
        .unwrap();
    let skb = SkbArg {
        net: DataArg::read_only(&one),
        mac: None,
        len: 2,
        ifindex: 1,
        mark: 0,
        new_mark: &mark,
        ops: None,
    };
    assert!(s.call(c"hook", &[Arg::Lent(&skb)], |_| ()).is_err());
    assert_eq!(s.run("return #kept_view").unwrap(), ["0"]);
}
