//! Host tests of the Lua modules of lib/ (`net`, `struct`), loaded by
//! `require` as the kernel loads them from /lib/modules/lua.

use super::State;

fn state() -> State {
    let mut s = State::new(0, 0).expect("state");
    s.run("net = require('net') struct = require('struct')")
        .unwrap();
    s
}

fn eval(s: &mut State, src: &str) -> String {
    s.eval(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

#[test]
fn ipv4_text_and_integers() {
    let mut s = state();
    for (text, value) in [
        ("192.168.1.1", 3232235777i64),
        ("0.0.0.0", 0),
        ("255.255.255.255", 4294967295),
        ("127.0.0.1", 2130706433),
        ("10.0.0.2", 167772162),
    ] {
        assert_eq!(
            eval(&mut s, &format!("return net.aton('{text}')")),
            value.to_string()
        );
        assert_eq!(eval(&mut s, &format!("return net.ntoa({value})")), text);
    }
    // The low 32 bits of any integer, as upstream's ntoa.
    assert_eq!(eval(&mut s, "return net.ntoa(-1)"), "255.255.255.255");
    assert_eq!(eval(&mut s, "return net.ntoa(1 << 32 | 7)"), "0.0.0.7");
    // Four bytes in network order, as a packet holds them.
    assert_eq!(eval(&mut s, "return net.ntoa('\\10\\0\\0\\1')"), "10.0.0.1");
    for bad in [
        "",
        "1.2.3",
        "1.2.3.4.5",
        "256.0.0.1",
        "01.2.3.4",
        "1.2.3.4 ",
        "a.b.c.d",
        "1..2.3",
        "1.2.3.-4",
        "1234.1.1.1",
    ] {
        assert_eq!(
            eval(&mut s, &format!("return net.aton('{bad}')")),
            "nil",
            "{bad}"
        );
    }
}

#[test]
fn ipv6_text_and_bytes() {
    let mut s = state();
    // (text in, canonical text out, bytes as hex)
    for (text, canonical, hex) in [
        ("::", "::", "00000000000000000000000000000000"),
        ("::1", "::1", "00000000000000000000000000000001"),
        ("1::", "1::", "00010000000000000000000000000000"),
        (
            "2001:db8::1",
            "2001:db8::1",
            "20010db8000000000000000000000001",
        ),
        (
            "2001:0DB8:0000:0000:0000:0000:0000:0001",
            "2001:db8::1",
            "20010db8000000000000000000000001",
        ),
        // One zero group stays "0"; the longest run is shortened, the
        // first of two equal runs.
        (
            "2001:db8:0:1:1:1:1:1",
            "2001:db8:0:1:1:1:1:1",
            "20010db8000000010001000100010001",
        ),
        (
            "2001:0:0:1:0:0:0:1",
            "2001:0:0:1::1",
            "20010000000000010000000000000001",
        ),
        (
            "2001:db8:0:0:1:0:0:1",
            "2001:db8::1:0:0:1",
            "20010db8000000000001000000000001",
        ),
        (
            "fe80::1:2:3:4",
            "fe80::1:2:3:4",
            "fe800000000000000001000200030004",
        ),
        (
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8",
            "00010002000300040005000600070008",
        ),
        (
            "::ffff:10.0.0.1",
            "::ffff:10.0.0.1",
            "00000000000000000000ffff0a000001",
        ),
        (
            "::ffff:a00:1",
            "::ffff:10.0.0.1",
            "00000000000000000000ffff0a000001",
        ),
        (
            "64:ff9b::192.0.2.33",
            "64:ff9b::c000:221",
            "0064ff9b0000000000000000c0000221",
        ),
    ] {
        let got = eval(
            &mut s,
            &format!(
                "local b = net.aton('{text}')
                 return #b .. ' ' .. b:gsub('.', function(c) return ('%02x'):format(c:byte()) end)
                    .. ' ' .. net.ntoa(b)"
            ),
        );
        assert_eq!(got, format!("16 {hex} {canonical}"), "{text}");
    }
    for bad in [
        ":",
        ":::",
        "1:::2",
        "1::2::3",
        "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:8:9",
        "12345::",
        "g::",
        "::1.2.3",
        "1::2:3:4:5:6:7:8",
        "::ffff:256.0.0.1",
        "1.2.3.4::",
        ":1::",
    ] {
        assert_eq!(
            eval(&mut s, &format!("return net.aton('{bad}')")),
            "nil",
            "{bad}"
        );
    }
    for bad in [
        "net.ntoa('abc')",
        "net.ntoa({})",
        "net.ntoa()",
        "net.aton(1)",
    ] {
        let e = s.run(bad).unwrap_err();
        assert!(e.contains("bad argument #1"), "{bad}: {e}");
    }
}

#[test]
fn struct_formats_round_trips_and_overlaps() {
    let mut s = state();
    let src = "local c = struct{ size = 16, fields = {
            { name = 'a', offset = 0, size = 1, signed = false },
            { name = 'b', offset = 2, size = 2, signed = false },
            { name = 'c', offset = 4, size = 4, signed = true },
            { name = 'd', offset = 8, size = 4, signed = false },
        } }
        local bytes = c:pack(1, 2, -3, 4)
        local a, b, x, d, pos = c:unpack(bytes)
        return c.format, c.size, #bytes, a, b, x, d, pos, c:fieldsize('b'), c:fieldsize('nope')";
    assert_eq!(
        s.run(src).unwrap(),
        [
            "=I1xI2i4I4xxxx",
            "16",
            "16",
            "1",
            "2",
            "-3",
            "4",
            "17",
            "2",
            "nil"
        ]
    );
    // Fields out of order are sorted by offset, and the layout is left as
    // it was; unpack starts where told.
    let src = "local fields = {
            { name = 'hi', offset = 2, size = 2, signed = false },
            { name = 'lo', offset = 0, size = 2, signed = false },
        }
        local c = struct{ size = 4, fields = fields }
        local lo, hi, pos = c:unpack('xx' .. c:pack(5, 6), 3)
        return c.format, fields[1].name, lo, hi, pos";
    assert_eq!(s.run(src).unwrap(), ["=I2I2", "hi", "5", "6", "7"]);
    // Overlapping fields (a union) and fields past the size are refused.
    for layout in [
        "{ size = 4, fields = { { name = 'x', offset = 0, size = 4 }, { name = 'y', offset = 0, size = 4 } } }",
        "{ size = 4, fields = { { name = 'x', offset = 0, size = 4 }, { name = 'y', offset = 2, size = 2 } } }",
        "{ size = 2, fields = { { name = 'x', offset = 0, size = 4 } } }",
    ] {
        let e = s.run(&format!("struct({layout})")).unwrap_err();
        assert!(e.contains("struct: "), "{layout}: {e}");
        assert_eq!(s.eval(&format!("return pcall(struct, {layout})")).unwrap(), "false");
    }
}
