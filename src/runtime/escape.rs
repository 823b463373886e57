//! Kernel strings (comm, paths, arguments) are bytes that may hold anything.
//! Nothing a traced program chooses may reach the terminal raw: control
//! characters and invalid UTF-8 are shown as escapes.

use std::fmt::Write as _;

/// The bytes up to the first NUL.
pub fn cstr(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(n) => &bytes[..n],
        None => bytes,
    }
}

/// The bytes as `i8` or `u8` C chars, up to the first NUL.
pub fn cchars<T: Copy + Into<i16>>(chars: &[T]) -> Vec<u8> {
    chars
        .iter()
        .map(|&c| (c.into() & 0xff) as u8)
        .take_while(|&b| b != 0)
        .collect()
}

fn push_escaped_char(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        // C1 controls (CSI is U+009B) act as escapes on some terminals.
        c if (0x80..0xa0).contains(&(c as u32)) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// For terminal columns: printable text, with control characters and
/// invalid UTF-8 bytes as `\n`, `\xNN`.
pub fn printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    push_printable(&mut out, bytes);
    out
}

/// `printable`, appended to `out` without a new allocation (for tools that
/// format many rows a second); plain ASCII is copied as is.
pub fn push_printable(out: &mut String, bytes: &[u8]) {
    if bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        out.push_str(std::str::from_utf8(bytes).unwrap_or_default());
        return;
    }
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped_char(out, c);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}

/// For JSON strings: the text as is where it is UTF-8 (serde_json escapes
/// control characters), invalid bytes as `\xNN` text.
pub fn json_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() + 8);
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                for b in chunk.invalid() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
            out
        }
    }
}

/// `bytes` as a JSON string (quotes included) appended to `out`, with
/// json_text's rules; plain ASCII is copied as is (for tools writing many
/// JSON lines a second without building a serde_json::Value each).
pub fn push_json_str(out: &mut String, bytes: &[u8]) {
    if bytes
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push('"');
        out.push_str(std::str::from_utf8(bytes).unwrap_or_default());
        out.push('"');
        return;
    }
    // As Output::json_line writes strings: DEL and C1 controls escaped too.
    out.push_str(&crate::runtime::output::json_string(
        &serde_json::Value::String(json_text(bytes)),
    ));
}

/// bcc's `-q`: the argument in double quotes, with `"` and `\` escaped.
pub fn quoted(bytes: &[u8]) -> String {
    let p = printable(bytes);
    let mut out = String::with_capacity(p.len() + 2);
    out.push('"');
    for c in p.chars() {
        if c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bad_utf8() {
        assert_eq!(printable(b"ls -l"), "ls -l");
        assert_eq!(printable(b"a\nb\tc"), "a\\nb\\tc");
        assert_eq!(printable(b"\x1b[31mred"), "\\x1b[31mred");
        assert_eq!(printable(b"\xff\xfeok"), "\\xff\\xfeok");
        assert_eq!(printable("\u{9b}2J".as_bytes()), "\\u{9b}2J");
        assert_eq!(printable("héllo".as_bytes()), "héllo");
        assert_eq!(json_text(b"\xffx"), "\\xffx");
        assert_eq!(json_text(b"a\x1bb"), "a\x1bb");
        assert_eq!(quoted(b"say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(cstr(b"abc\0def"), b"abc");
        assert_eq!(cchars(&[104i8, 105, 0, 120]), b"hi");
    }

    #[test]
    fn json_stays_valid_and_safe() {
        let v = serde_json::json!({ "s": json_text(b"\x1b]0;x\x07\xff") });
        let line = v.to_string();
        assert!(!line.bytes().any(|b| b < 0x20));
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["s"], "\x1b]0;x\x07\\xff");
        for raw in [
            &b"plain/path"[..],
            b"q\"uote\\",
            b"\x1b]0;x\x07\xff",
            "h\u{e9}".as_bytes(),
        ] {
            let mut s = String::new();
            push_json_str(&mut s, raw);
            let back: serde_json::Value = serde_json::from_str(&s).unwrap();
            assert_eq!(back, serde_json::Value::String(json_text(raw)), "{s}");
        }
    }
}
