//! ZooKeeper's znode path rules: `validate_path` is a transcription of
//! `org.apache.zookeeper.common.PathUtils.validatePath` (ZooKeeper 3.8), the parent/name
//! split of `PrepRequestProcessor`/`DataTree` (everything before the last `/`; the empty
//! parent is the root), and the sequential suffix `%010d`. Invariants: every path stored in
//! a tree passes `validate_path`; `parent_of` is only called on paths starting with `/`.

use proto::zk::ZkError;

/// The root znode's path.
pub const ROOT: &str = "/";

/// Width of the sequential suffix (`String.format("%010d", n)`).
pub const SEQUENTIAL_DIGITS: usize = 10;

/// `PathUtils.validatePath(path)`: `Err(BadArguments)` exactly when ZooKeeper throws
/// `IllegalArgumentException`. Rules: non-empty, starts with `/`, the root `/` alone is
/// valid, no trailing `/`, no empty segment (`//`), no `.` or `..` segment, no NUL, and no
/// character in U+0001–U+001F, U+007F–U+009F, U+D800–U+F8FF (in Java's UTF-16 view this
/// includes every character outside the Basic Multilingual Plane, which Java stores as a
/// surrogate pair) or U+FFF0–U+FFFF.
pub fn validate_path(path: &str) -> Result<(), ZkError> {
    if path.is_empty() || !path.starts_with('/') {
        return Err(ZkError::BadArguments);
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(ZkError::BadArguments);
    }
    if path.is_ascii() {
        return validate_ascii(&path.as_bytes()[1..]);
    }
    // After the leading `/`, every segment is non-empty (no `//`), not `.` or `..`, and
    // holds no NUL or rejected character: exactly `PathUtils`'s character walk.
    for segment in path[1..].split('/') {
        let bad = segment.is_empty()
            || segment == "."
            || segment == ".."
            || segment.chars().any(|c| c == '\0' || is_invalid_char(c));
        if bad {
            return Err(ZkError::BadArguments);
        }
    }
    Ok(())
}

/// `validate_path`'s segment walk for an ASCII path after its leading `/` (which does not
/// end in `/`), byte by byte: among ASCII characters, NUL, U+0001–U+001F and U+007F are the
/// rejected ones.
fn validate_ascii(rest: &[u8]) -> Result<(), ZkError> {
    let bad_segment = |segment: &[u8]| matches!(segment, b"" | b"." | b"..");
    let mut start = 0;
    for (i, &b) in rest.iter().enumerate() {
        if b == b'/' {
            if bad_segment(&rest[start..i]) {
                return Err(ZkError::BadArguments);
            }
            start = i + 1;
        } else if b < 0x20 || b == 0x7f {
            return Err(ZkError::BadArguments);
        }
    }
    if bad_segment(&rest[start..]) {
        return Err(ZkError::BadArguments);
    }
    Ok(())
}

/// The characters `PathUtils` rejects (besides NUL, `/` and `.` rules).
fn is_invalid_char(c: char) -> bool {
    let u = c as u32;
    (0x01..=0x1f).contains(&u)
        || (0x7f..=0x9f).contains(&u)
        || (0xd800..=0xf8ff).contains(&u)
        || (0xfff0..=0xffff).contains(&u)
        // Outside the BMP: a surrogate pair (U+D800–U+DFFF) in Java's UTF-16.
        || u > 0xffff
}

/// `PathUtils.validatePath(path, isSequential)`, the client-side check of a create: a
/// sequential path is checked with a digit appended, so `/q/` is a valid sequential prefix.
pub fn validate_create_path(path: &str, sequential: bool) -> Result<(), ZkError> {
    if sequential {
        let mut suffixed = String::with_capacity(path.len() + 1);
        suffixed.push_str(path);
        suffixed.push('1');
        validate_path(&suffixed)
    } else {
        validate_path(path)
    }
}

/// The parent's path and the last segment: `"/a/b"` → `("/a", "b")`, `"/a"` → `("/", "a")`,
/// `"/q/"` → `("/q", "")`, `"/"` → `("/", "")`. As in ZooKeeper, the parent is everything
/// before the last `/`, and the empty parent is the root.
pub fn parent_of(path: &str) -> (&str, &str) {
    assert!(path.starts_with('/'), "parent_of({path:?}): not absolute");
    let last_slash = path.rfind('/').expect("absolute path has a slash");
    let parent = &path[..last_slash];
    let name = &path[last_slash + 1..];
    if parent.is_empty() {
        (ROOT, name)
    } else {
        (parent, name)
    }
}

/// The child's full path under `parent` (which is a stored, valid path).
pub fn join(parent: &str, name: &str) -> String {
    assert!(
        !name.is_empty() && !name.contains('/'),
        "bad child name {name:?}"
    );
    if parent == ROOT {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// The name a sequential create asks for: the requested path followed by the parent's
/// counter as `%010d` (Java's zero padding keeps a minus sign first, as Rust's does).
pub fn sequential_path(requested: &str, counter: i32) -> String {
    let path = match u32::try_from(counter) {
        Ok(n) => {
            // `%010d` of a non-negative counter (at most 10 digits): zero-padded decimal.
            let mut digits = [b'0'; SEQUENTIAL_DIGITS];
            let (mut rest, mut at) = (n, SEQUENTIAL_DIGITS);
            while rest > 0 {
                at -= 1;
                digits[at] = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
            let mut path = String::with_capacity(requested.len() + SEQUENTIAL_DIGITS);
            path.push_str(requested);
            path.push_str(std::str::from_utf8(&digits).expect("ASCII digits"));
            path
        }
        Err(_) => format!("{requested}{counter:0width$}", width = SEQUENTIAL_DIGITS),
    };
    assert!(path.len() >= requested.len() + SEQUENTIAL_DIGITS);
    path
}

/// Paths that `PrepRequestProcessor.getParentPathAndValidate` refuses to delete. ZooKeeper
/// also reserves `/zookeeper`, `/zookeeper/quota` and `/zookeeper/config`; this tree does
/// not create those system nodes (see the crate docs), so only the root is reserved.
pub fn is_undeletable(path: &str) -> bool {
    path == ROOT
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `PathUtils.validatePath`'s character walk as ZooKeeper writes it, the reference
    /// the segment-wise `validate_path` is compared with.
    fn reference_validate(path: &str) -> bool {
        if path.is_empty() || !path.starts_with('/') {
            return false;
        }
        if path.len() == 1 {
            return true;
        }
        if path.ends_with('/') {
            return false;
        }
        let chars: Vec<char> = path.chars().collect();
        let ends = |i: usize| i + 1 == chars.len() || chars[i + 1] == '/';
        let mut lastc = '/';
        for (i, &c) in chars.iter().enumerate().skip(1) {
            let bad = match c {
                '\0' => true,
                '/' => lastc == '/',
                '.' if lastc == '.' => chars[i - 2] == '/' && ends(i),
                '.' => chars[i - 1] == '/' && ends(i),
                _ => is_invalid_char(c),
            };
            if bad {
                return false;
            }
            lastc = c;
        }
        true
    }

    #[test]
    fn validate_path_matches_the_reference_walk_on_every_short_string() {
        let alphabet = ['/', '.', 'a', '\0', '\u{1}', '\u{fff5}'];
        let mut strings = vec![String::new()];
        let mut checked = 0;
        for _length in 0..6 {
            let mut longer = Vec::new();
            for s in &strings {
                assert_eq!(validate_path(s).is_ok(), reference_validate(s), "{s:?}");
                checked += 1;
                longer.extend(alphabet.iter().map(|c| format!("{s}{c}")));
            }
            strings = longer;
        }
        assert_eq!(checked, (0..6).map(|n| 6usize.pow(n)).sum::<usize>());
    }

    fn check(cases: &[(&str, bool)]) {
        for &(path, valid) in cases {
            assert_eq!(
                validate_path(path).is_ok(),
                valid,
                "validate_path({path:?})"
            );
        }
    }

    #[test]
    fn validate_path_matches_path_utils() {
        check(&[
            ("/", true),
            ("/a", true),
            ("/a/b/c", true),
            ("/a.", true),
            ("/.a", true),
            ("/a..", true),
            ("/...", true),
            ("/a/.../b", true),
            ("/zookeeper", true),
            ("/héllo/✓", true),
            ("/日本", true),
            ("/a b", true),
            ("", false),
            ("a", false),
            ("a/b", false),
            ("//", false),
            ("/a/", false),
            ("/a//b", false),
            ("/.", false),
            ("/..", false),
            ("/a/./b", false),
            ("/a/../b", false),
            ("/a/..", false),
            ("/a\0b", false),
            ("/a\u{1}", false),
            ("/a\u{1f}", false),
            ("/a\u{7f}", false),
            ("/a\u{9f}", false),
            ("/a\u{a0}", true),
            ("/a\u{e000}", false),
            ("/a\u{f8ff}", false),
            ("/a\u{f900}", true),
            ("/a\u{fff0}", false),
            ("/a\u{ffff}", false),
            ("/a\u{1f600}", false),
        ]);
    }

    #[test]
    fn sequential_create_paths_validate_with_a_suffix() {
        assert_eq!(validate_create_path("/q/", true), Ok(()));
        assert_eq!(validate_create_path("/", true), Ok(()));
        assert_eq!(
            validate_create_path("/q/", false),
            Err(ZkError::BadArguments)
        );
        assert_eq!(
            validate_create_path("/q//", true),
            Err(ZkError::BadArguments)
        );
        assert_eq!(validate_create_path("/q/.", true), Ok(()));
        assert_eq!(validate_create_path("/q/item-", true), Ok(()));
    }

    #[test]
    fn parents_and_names() {
        let cases = [
            ("/", ("/", "")),
            ("/a", ("/", "a")),
            ("/a/b", ("/a", "b")),
            ("/q/", ("/q", "")),
            ("/a/b/c", ("/a/b", "c")),
        ];
        for (path, expected) in cases {
            assert_eq!(parent_of(path), expected, "{path}");
        }
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }

    #[test]
    fn sequential_suffix_is_ten_digits() {
        assert_eq!(sequential_path("/q/", 3), "/q/0000000003");
        assert_eq!(sequential_path("/q/item-", 0), "/q/item-0000000000");
        assert_eq!(sequential_path("/a", i32::MAX), "/a2147483647");
        assert_eq!(sequential_path("/a", -1), "/a-000000001");
        for n in [
            0,
            1,
            9,
            10,
            99,
            12345,
            999_999_999,
            1_000_000_000,
            i32::MAX,
            i32::MIN,
        ] {
            let want = format!("/s{n:0width$}", width = SEQUENTIAL_DIGITS);
            assert_eq!(sequential_path("/s", n), want);
        }
    }
}
