//! Figures in human units: a figure whose name carries a unit as one of its `_`-separated
//! words (`election_ns_median`, `rtt_us_p99`, `snapshot_bytes`) is shown as `216.5 ms` or
//! `1.50 MiB` — four significant digits, rounded half up in integers — and its raw value
//! stays available beside it. Figures without a unit are shown as they are.

/// A unit a figure's name can carry, and how its values scale.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds per one of the named unit (`ns` 1, `us` 1000, …).
    Time(u64),
    Bytes,
}

/// Display units of time, largest first, in nanoseconds.
const TIME_UNITS: [(&str, u64); 4] = [
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("µs", 1_000),
    ("ns", 1),
];
/// Display units of size, largest first, in bytes.
const BYTE_UNITS: [(&str, u64); 5] = [
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("B", 1),
];

/// The unit `name` carries, if one of its words names one, with that word.
pub fn unit_of(name: &str) -> Option<(&str, Unit)> {
    name.split('_').find_map(|word| match word {
        "ns" => Some((word, Unit::Time(1))),
        "us" => Some((word, Unit::Time(1_000))),
        "ms" => Some((word, Unit::Time(1_000_000))),
        "bytes" => Some((word, Unit::Bytes)),
        _ => None,
    })
}

/// `v` of the smallest unit in the largest of `units` it reaches once rounded to four
/// significant digits: `216.5 ms`, `4.250 ms`, `1.000 s`, `17 ns`.
fn scaled(v: u128, units: &[(&str, u64)]) -> String {
    let (name, per) = units
        .iter()
        .map(|&(name, per)| (name, u128::from(per)))
        .find(|&(_, per)| v * 20_000 >= per * 19_999)
        .unwrap_or((units[units.len() - 1].0, 1));
    if per == 1 {
        return format!("{v} {name}");
    }
    for decimals in [3u32, 2, 1] {
        let ten = 10u128.pow(decimals);
        let q = (v * ten + per / 2) / per;
        if q < 10_000 {
            let (whole, frac) = (q / ten, q % ten);
            return format!("{whole}.{frac:0width$} {name}", width = decimals as usize);
        }
    }
    format!("{} {name}", (v + per / 2) / per)
}

/// A duration in nanoseconds, in the unit that suits it: `216.5 ms`, `1.906 s`.
pub fn duration(ns: u64) -> String {
    scaled(u128::from(ns), &TIME_UNITS)
}

/// A size in bytes, in binary units: `512 B`, `1.500 KiB`.
pub fn bytes(b: u64) -> String {
    scaled(u128::from(b), &BYTE_UNITS)
}

/// Figure `name`'s value `v` as shown: in a human unit when the name carries one.
pub fn figure(name: &str, v: u64) -> String {
    match unit_of(name).map(|(_, u)| u) {
        Some(Unit::Time(per)) => scaled(u128::from(v) * u128::from(per), &TIME_UNITS),
        Some(Unit::Bytes) => bytes(v),
        None => v.to_string(),
    }
}

/// Figure `name`'s raw value with its unit as the name states it (`216522374 ns`), or the
/// bare number for a figure without a unit.
pub fn raw(name: &str, v: u64) -> String {
    match unit_of(name) {
        Some((word, _)) => format!("{v} {word}"),
        None => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_with_a_unit_are_shown_in_a_human_one() {
        assert_eq!(figure("election_ns_median", 216_522_374), "216.5 ms");
        assert_eq!(figure("election_ns_max", 4_250_000), "4.250 ms");
        assert_eq!(figure("rtt_ns_p50", 17), "17 ns");
        assert_eq!(figure("rtt_ns_p50", 0), "0 ns");
        assert_eq!(figure("x_ns", 1_906_477_000), "1.906 s");
        assert_eq!(figure("x_ns", 21_654_000), "21.65 ms");
        assert_eq!(
            figure("x_ns", 999_960_000),
            "1.000 s",
            "rounds up into seconds"
        );
        assert_eq!(figure("x_ns", 9_999_600), "10.00 ms");
        assert_eq!(figure("x_ns", 3_600_000_000_000), "3600 s");
        assert_eq!(figure("wait_us_max", 1_500), "1.500 ms");
        assert_eq!(figure("wait_us_max", 250), "250.0 µs");
        assert_eq!(figure("tick_ms", 2_000), "2.000 s");
        assert_eq!(figure("log_bytes", 512), "512 B");
        assert_eq!(figure("log_bytes", 1_536), "1.500 KiB");
        assert_eq!(figure("log_bytes", 5 << 30), "5.000 GiB");
        assert_eq!(figure("log_bytes", u64::MAX), "16777216 TiB");
        assert_eq!(figure("commits", 22_669), "22669");
        assert_eq!(figure("elections", 3), "3", "no unit word in `elections`");
        assert_eq!(raw("election_ns_median", 216_522_374), "216522374 ns");
        assert_eq!(raw("commits", 5), "5");
        assert_eq!(unit_of("nsfoo_x"), None);
    }
}
