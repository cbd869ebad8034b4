//! Where a run's seed comes from: `--seed`, else `ZABSIM_SEED`, else (for `run`/`replay` of
//! a run directory's `scenario.json`) the seed that file was written for, else fresh OS
//! entropy (the one place zabsim draws ambient randomness — only to pick a seed, which is
//! printed first).

use std::hash::{BuildHasher, RandomState};

/// Parse a seed in decimal or `0x` hex.
pub fn parse(text: &str) -> Result<u64, String> {
    let t = text.trim().replace('_', "");
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse::<u64>(),
    };
    parsed.map_err(|_| format!("seed `{text}` is not a decimal or 0x-hex u64"))
}

/// The seed to replay: as [`choose`], but never fresh entropy — a replay of nothing in
/// particular is a mistake, not a run.
pub fn choose_recorded(flag: Option<&str>, recorded: Option<u64>) -> Result<u64, String> {
    if flag.is_none() && recorded.is_none() && std::env::var_os("ZABSIM_SEED").is_none() {
        return Err(
            "replay needs a seed: give --seed N (or ZABSIM_SEED), or a run file \
                    (a run directory's scenario.json, a shrunk.json) that records one"
                .into(),
        );
    }
    choose(flag, recorded)
}

/// The seed for this run: `--seed`, `ZABSIM_SEED`, the `recorded` seed of a run file, or
/// fresh entropy, in that order.
pub fn choose(flag: Option<&str>, recorded: Option<u64>) -> Result<u64, String> {
    if let Some(s) = flag {
        return parse(s).map_err(|e| format!("--seed: {e}"));
    }
    if let Ok(s) = std::env::var("ZABSIM_SEED") {
        return parse(&s).map_err(|e| format!("ZABSIM_SEED: {e}"));
    }
    if let Some(seed) = recorded {
        return Ok(seed);
    }
    Ok(RandomState::new().hash_one(std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_and_hex() {
        assert_eq!(parse("1234"), Ok(1234));
        assert_eq!(parse("0x4d2"), Ok(1234));
        assert_eq!(parse("1_000"), Ok(1000));
        assert!(parse("-1").is_err());
        assert!(parse("seven").is_err());
    }
}
