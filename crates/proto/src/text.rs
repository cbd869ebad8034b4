//! Building short strings (znode paths, node data) without the formatting machinery:
//! `concat(&[a, b, c])` is `format!("{a}{b}{c}")` and `push_decimal(s, n)` is
//! `write!(s, "{n}")` (`push_hex`: `{n:x}`), byte for byte, at a fraction of the cost on hot paths.

/// The parts one after another, in one allocation.
pub fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    parts.iter().for_each(|p| s.push_str(p));
    s
}

/// Appends `n` in decimal (as `{n}` formats it).
pub fn push_decimal(s: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let (mut rest, mut at) = (n, digits.len());
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    s.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
}

/// Appends `n` in lowercase hexadecimal (as `{n:x}` formats it).
pub fn push_hex(s: &mut String, n: u64) {
    let mut digits = [0u8; 16];
    let (mut rest, mut at) = (n, digits.len());
    loop {
        at -= 1;
        digits[at] = b"0123456789abcdef"[(rest % 16) as usize];
        rest /= 16;
        if rest == 0 {
            break;
        }
    }
    s.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_format() {
        assert_eq!(concat(&["/a", "/", "b"]), format!("{}/{}", "/a", "b"));
        assert_eq!(concat(&[]), "");
        for n in [0, 1, 9, 10, 99, 100, 12345, u64::from(u32::MAX), u64::MAX] {
            let mut s = "x".to_string();
            push_decimal(&mut s, n);
            assert_eq!(s, format!("x{n}"));
            let mut h = "x".to_string();
            push_hex(&mut h, n);
            assert_eq!(h, format!("x{n:x}"));
        }
    }
}
