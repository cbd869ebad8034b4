//! The regression-seed list, `regressions.txt` beside the scenarios: seeds that once found a
//! bug in zabsim, each pinned to the trace hash of the run that caught it. One seed a line,
//! `<scenario file> <seed> <trace hash: 16 hex digits> <what it found>`; lines starting with
//! `#` and blank lines are skipped. A bad line is an error naming the file, the line and the
//! field. A pinned hash is what keeps a seed honest: once random draws shift, the seed still
//! passes but no longer replays the situation it caught, and only its hash says so.

use std::path::Path;

/// The list's file name, beside the scenario files.
pub const FILE: &str = "regressions.txt";

/// One line of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regression {
    /// The scenario's file name (in the list's directory).
    pub scenario: String,
    pub seed: u64,
    /// The trace hash of the run that caught the bug.
    pub hash: u64,
    /// What the seed found.
    pub found: String,
    /// Where the line is: `path:line`.
    pub at: String,
}

/// The line format, for error messages.
const FORMAT: &str = "a line is `<scenario> <seed> <trace hash> <what it found>`";

/// The list in `text`, read from `path` (named in errors).
pub fn parse(path: &str, text: &str) -> Result<Vec<Regression>, String> {
    let mut list = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{path}:{}", i + 1);
        let r = parse_line(line, &at).map_err(|e| format!("{at}: {e}"))?;
        list.push(r);
    }
    Ok(list)
}

/// One non-comment line.
fn parse_line(line: &str, at: &str) -> Result<Regression, String> {
    let (scenario, rest) = word(line);
    let (seed, rest) = word(rest);
    let (hash, found) = word(rest);
    let missing = |field: &str| format!("no {field} ({FORMAT})");
    if seed.is_empty() {
        return Err(missing("seed"));
    }
    let seed = seed
        .parse()
        .map_err(|_| format!("seed `{seed}` is not a decimal u64 ({FORMAT})"))?;
    if hash.is_empty() {
        return Err(missing("trace hash"));
    }
    let hash = parse_hash(hash)?;
    if found.is_empty() {
        return Err(missing("what it found"));
    }
    Ok(Regression {
        scenario: scenario.to_string(),
        seed,
        hash,
        found: found.to_string(),
        at: at.to_string(),
    })
}

/// The first whitespace-separated word of `text` and the rest, trimmed.
fn word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    (&text[..end], text[end..].trim())
}

/// A trace hash as zabsim prints it: 16 hex digits.
fn parse_hash(text: &str) -> Result<u64, String> {
    let hex = text.len() == 16 && text.chars().all(|c| c.is_ascii_hexdigit());
    match u64::from_str_radix(text, 16) {
        Ok(h) if hex => Ok(h),
        _ => Err(format!(
            "trace hash `{text}` is not 16 hex digits (the `trace hash:` that `zabsim replay` \
             prints; {FORMAT})"
        )),
    }
}

/// The list at `path`; empty when there is no such file.
pub fn read(path: &Path) -> Result<Vec<Regression>, String> {
    let shown = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&shown, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read {shown}: {e}")),
    }
}

/// The entries of scenario file `name`, in the list's order.
pub fn of_scenario(list: &[Regression], name: &str) -> Vec<Regression> {
    list.iter()
        .filter(|r| r.scenario == name)
        .cloned()
        .collect()
}

/// What it means that regression seed `seed`, pinned to `pinned` at `pinned_at`, now runs
/// with trace hash `got`, and what to do about it.
pub fn moved(seed: u64, pinned: u64, got: u64, pinned_at: &str) -> String {
    format!(
        "seed {seed} no longer replays the run that caught its bug: its trace hash is now \
         {got:016x}, {pinned_at} pins {pinned:016x} (random draws have shifted under it). \
         Re-check that the seed still reaches the situation described there (replay it with \
         --out or --trace), or pick a new seed that does with the bug re-planted; then update \
         the line"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "# a comment\n\
        \n\
        ci.toml 31 b11ece678c92fb73 requests lost in a partition\n\
        zab-5.toml 345 be8c7ae3d3fa4ca5 a leader paused past initLimit\n\
        ci.toml  471\t1ac35cd3ee250ad6   a pong raised the zxid\n";

    #[test]
    fn lines_give_scenario_seed_hash_and_finding() {
        let list = parse("r.txt", LIST).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(
            list[0],
            Regression {
                scenario: "ci.toml".into(),
                seed: 31,
                hash: 0xb11ece678c92fb73,
                found: "requests lost in a partition".into(),
                at: "r.txt:3".into(),
            }
        );
        assert_eq!(list[2].found, "a pong raised the zxid");
        let ci: Vec<u64> = of_scenario(&list, "ci.toml")
            .iter()
            .map(|r| r.seed)
            .collect();
        assert_eq!(ci, [31, 471]);
        assert!(of_scenario(&list, "default.toml").is_empty());
    }

    /// The error for `line` as the second line of a file.
    fn error(line: &str) -> String {
        parse("s/regressions.txt", &format!("# header\n{line}\n")).unwrap_err()
    }

    #[test]
    fn a_bad_line_names_file_line_and_field() {
        let old_format = error("ci.toml 31 requests lost in a partition");
        assert!(
            old_format.starts_with("s/regressions.txt:2: trace hash `requests` is not 16 hex"),
            "{old_format}"
        );
        let cases = [
            ("ci.toml", "no seed"),
            (
                "ci.toml 0x1f b11ece678c92fb73 x",
                "seed `0x1f` is not a decimal u64",
            ),
            ("ci.toml 31", "no trace hash"),
            (
                "ci.toml 31 b11ece678c92fb7 x",
                "trace hash `b11ece678c92fb7` is not 16",
            ),
            (
                "ci.toml 31 b11ece678c92fb7g x",
                "trace hash `b11ece678c92fb7g`",
            ),
            ("ci.toml 31 b11ece678c92fb73", "no what it found"),
        ];
        for (line, want) in cases {
            let e = error(line);
            assert!(
                e.starts_with(&format!("s/regressions.txt:2: {want}")),
                "{e}"
            );
        }
    }

    #[test]
    fn a_missing_list_is_empty() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(read(&dir.join("no-such-regressions.txt")), Ok(Vec::new()));
    }

    #[test]
    fn a_moved_seed_says_what_happened_and_what_to_do() {
        let text = moved(158, 0xab, 0xcd, "s/regressions.txt:4");
        assert!(
            text.starts_with(
                "seed 158 no longer replays the run that caught its bug: its trace hash is now \
                 00000000000000cd, s/regressions.txt:4 pins 00000000000000ab"
            ),
            "{text}"
        );
        assert!(text.contains("pick a new seed"), "{text}");
        assert!(text.ends_with("then update the line"), "{text}");
    }
}
