//! What `lunatik log` prints: events made safe for a terminal.
//!
//! An event carries whatever a script printed, byte for byte. Written to
//! a terminal as is, an escape sequence in it could clear the screen,
//! move the cursor, retitle the window or, on some terminals, answer back
//! into the operator's input. So every byte that could drive a terminal
//! is shown as `\xNN` instead: C0 controls other than tab and newline,
//! DEL, the C1 controls (U+0080 to U+009F, which some terminals obey like
//! ESC sequences) and bytes that are not UTF-8. A backslash is doubled,
//! so `\x1b` in the output always means that the script printed ESC, not
//! the four characters.
//!
//! Newlines are kept but cannot start a line of their own: each line of a
//! multi-line message (a traceback, or a print of a string holding "\n")
//! gets the state's name in front, so every line of the log says which
//! state it came from and no script can forge another's.

use std::fmt::Write;

/// `bytes` as text a terminal only displays: see the module documentation
/// for what is escaped. Tabs and newlines are kept.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, 0),
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                // `valid_up_to` marks the end of the longest valid prefix;
                // an error with no length is a sequence cut short by the
                // end of the message.
                let bad = e.error_len().unwrap_or(after.len());
                (std::str::from_utf8(valid).expect("valid up to here"), bad)
            }
        };
        for c in valid.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\t' | '\n' => out.push(c),
                // Cc: C0, DEL and C1.
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        hex(&mut out, b);
                    }
                }
                c => out.push(c),
            }
        }
        let after = &rest[valid.len()..];
        for &b in &after[..bad] {
            hex(&mut out, b);
        }
        rest = &after[bad..];
    }
    out
}

fn hex(out: &mut String, b: u8) {
    // Writing to a String cannot fail.
    let _ = write!(out, "\\x{b:02x}");
}

/// The lines `lunatik log` prints for one event of state `name`: `NAME:
/// message`, or `NAME: KIND: message` for a callback error of kind
/// `kind`, each further line of the message with `NAME: ` in front too;
/// everything escaped. Ends with a newline.
pub fn format_event(name: &[u8], kind: Option<&str>, message: &[u8]) -> String {
    let name = escape(name);
    let mut out = String::new();
    for (i, line) in escape(message).split('\n').enumerate() {
        out.push_str(&name);
        out.push_str(": ");
        if let (0, Some(kind)) = (i, kind) {
            out.push_str(kind);
            out.push_str(": ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_passes_unchanged() {
        assert_eq!(escape(b"event\t1"), "event\t1");
        assert_eq!(escape("héllo, ✓".as_bytes()), "héllo, ✓");
        assert_eq!(escape(b""), "");
    }

    #[test]
    fn terminal_controls_are_escaped() {
        // Clear the screen and ring the bell, as the selftest's script does.
        assert_eq!(escape(b"\x1b[2J\x07"), "\\x1b[2J\\x07");
        assert_eq!(escape(b"a\rb\x00c\x7fd"), "a\\x0db\\x00c\\x7fd");
        // An OSC sequence that would retitle the window.
        assert_eq!(escape(b"\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
        // C1 CSI (U+009B) in UTF-8: both bytes escaped.
        assert_eq!(escape("\u{9b}2J".as_bytes()), "\\xc2\\x9b2J");
        // Not a control: the first character after C1.
        assert_eq!(escape("\u{a0}".as_bytes()), "\u{a0}");
    }

    #[test]
    fn invalid_utf8_is_escaped_byte_by_byte() {
        assert_eq!(escape(b"a\xffb"), "a\\xffb");
        // A lone continuation byte, an overlong encoding, a surrogate.
        assert_eq!(escape(b"\x80"), "\\x80");
        assert_eq!(escape(b"\xc0\xaf"), "\\xc0\\xaf");
        assert_eq!(escape(b"\xed\xa0\x80x"), "\\xed\\xa0\\x80x");
        // A sequence cut short by the end of the message.
        assert_eq!(escape(b"ok\xe2\x9c"), "ok\\xe2\\x9c");
        // Valid text after invalid bytes is kept.
        assert_eq!(escape(b"\xfe\xe2\x9c\x93"), "\\xfe✓");
    }

    #[test]
    fn backslashes_are_doubled_so_escapes_are_unambiguous() {
        assert_eq!(escape(b"\\x1b"), "\\\\x1b");
        assert_ne!(escape(b"\\x1b"), escape(b"\x1b"));
    }

    #[test]
    fn every_line_of_an_event_names_its_state() {
        assert_eq!(
            format_event(b"hello", None, b"event\t1"),
            "hello: event\t1\n"
        );
        assert_eq!(
            format_event(
                b"bad",
                Some("error"),
                b"x.lua:2: boom\nstack traceback:\n\t[C]: in ?"
            ),
            "bad: error: x.lua:2: boom\nbad: stack traceback:\nbad: \t[C]: in ?\n"
        );
        // A script cannot make a line that looks like another state's.
        let out = format_event(b"evil", None, b"x\nhello: fake\r\x1b[1A");
        assert_eq!(out, "evil: x\nevil: hello: fake\\x0d\\x1b[1A\n");
        assert!(out.lines().all(|l| l.starts_with("evil: ")));
    }

    #[test]
    fn nothing_escaped_reaches_the_output_raw() {
        // Every byte value, alone and after a valid multi-byte character:
        // the output never holds a control character other than tab and
        // newline.
        for b in 0..=255u8 {
            for prefix in [&b""[..], "é".as_bytes()] {
                let mut input = prefix.to_vec();
                input.push(b);
                let out = escape(&input);
                assert!(
                    out.chars()
                        .all(|c| !c.is_control() || c == '\t' || c == '\n'),
                    "{input:?} gave {out:?}"
                );
            }
        }
    }
}
