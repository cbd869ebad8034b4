//! Latency distributions and probabilities as scenario values, and how a sample is drawn
//! from raw stream words. Every sampler here is documented and owned by zabsim, so a
//! seed's samples never change with a dependency's version.
//!
//! Distributions are compiled once into a [`Sampler`] (the log-normal into a quantile table
//! built with `detmath`); a sample is then integer arithmetic on raw draws, but for the
//! exponential's `ln`.
//!
//! Invariant: each sampler consumes a fixed number of draws per call (constant: 0,
//! exponential: 1, log-normal: 2; uniform: 1, plus one more on each of Lemire's rejections,
//! which happen with probability below `range / 2^64`), so a run's stream positions depend
//! only on how many samples were taken, not on the values.

use crate::detmath;
use crate::rng::{PPM_ONE, Stream};
use sansio::NS_PER_US;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// No single sampled latency exceeds this (one minute): keeps every queue bounded in time.
/// Samples are clamped to it, and a scenario's latency parameters over it are refused at
/// load (`Latency::validate`), so no parameter's value in ns can overflow.
pub const LATENCY_NS_MAX: u64 = 60_000_000_000;

/// A probability, written in scenarios as a number in [0, 1] and kept as parts per million.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Probability {
    pub ppm: u32,
}

impl Probability {
    pub const ZERO: Probability = Probability { ppm: 0 };
    pub const fn from_ppm(ppm: u32) -> Probability {
        assert!(ppm <= PPM_ONE);
        Probability { ppm }
    }
    pub fn as_f64(self) -> f64 {
        self.ppm as f64 / PPM_ONE as f64
    }
}

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = f64::deserialize(d)?;
        if !(0.0..=1.0).contains(&x) {
            return Err(serde::de::Error::custom(format!(
                "probability {x} is outside [0, 1]"
            )));
        }
        // Decimal parsing is correctly rounded, so this is the same on every machine.
        let ppm = (x * PPM_ONE as f64).round() as u32;
        debug_assert!(ppm <= PPM_ONE);
        Ok(Probability { ppm })
    }
}

impl Serialize for Probability {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

/// A one-way message latency distribution. Values in microseconds.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum Latency {
    /// Always `us`.
    Constant { us: u64 },
    /// Uniform in `[min_us, max_us]`.
    Uniform { min_us: u64, max_us: u64 },
    /// `min_us` plus an exponential with mean `mean_us`.
    Exponential {
        mean_us: u64,
        #[serde(default)]
        min_us: u64,
    },
    /// Log-normal with the given median and shape `sigma`; with probability `tail` a
    /// further uniform delay in `[0, tail_us]` is added (a heavy tail: GC pauses,
    /// retransmits).
    Lognormal {
        median_us: u64,
        sigma: f64,
        #[serde(default)]
        tail: Probability,
        #[serde(default)]
        tail_us: u64,
    },
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Constant { us: 1_000 }
    }
}

impl Latency {
    /// Checks that the parameters make sense; `Err` names the offending field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        // Samples never exceed `LATENCY_NS_MAX`: a longer parameter could not be honoured
        // (and its value in ns could overflow).
        const US_MAX: u64 = LATENCY_NS_MAX / NS_PER_US;
        if let Some((field, us)) = self.params_us().into_iter().find(|(_, us)| *us > US_MAX) {
            let message = format!("{field} {us} is more than {US_MAX} µs, the longest latency");
            return Err((field, message));
        }
        match *self {
            Latency::Uniform { min_us, max_us } if min_us > max_us => Err((
                "max_us",
                format!("max_us {max_us} is below min_us {min_us}"),
            )),
            Latency::Exponential { mean_us: 0, .. } => {
                Err(("mean_us", "mean_us must be positive".into()))
            }
            Latency::Lognormal { median_us: 0, .. } => {
                Err(("median_us", "median_us must be positive".into()))
            }
            Latency::Lognormal { sigma, .. } if !(0.0..=4.0).contains(&sigma) => {
                Err(("sigma", format!("sigma {sigma} must be in [0, 4]")))
            }
            _ => Ok(()),
        }
    }

    /// Its parameters in microseconds, by field name.
    fn params_us(&self) -> [(&'static str, u64); 2] {
        match *self {
            Latency::Constant { us } => [("us", us), ("us", us)],
            Latency::Uniform { min_us, max_us } => [("min_us", min_us), ("max_us", max_us)],
            Latency::Exponential { mean_us, min_us } => [("mean_us", mean_us), ("min_us", min_us)],
            Latency::Lognormal {
                median_us, tail_us, ..
            } => [("median_us", median_us), ("tail_us", tail_us)],
        }
    }

    /// The median of the distribution in nanoseconds (for summaries and defaults).
    pub fn median_ns(&self) -> u64 {
        match *self {
            Latency::Constant { us } => us * NS_PER_US,
            Latency::Uniform { min_us, max_us } => (min_us + max_us) / 2 * NS_PER_US,
            Latency::Exponential { mean_us, min_us } => {
                to_ns(min_us as f64 + mean_us as f64 * std::f64::consts::LN_2)
            }
            Latency::Lognormal { median_us, .. } => median_us * NS_PER_US,
        }
    }
}

/// A [`Latency`] compiled for sampling: what each sample needs, computed once (the uniform
/// bound and its rejection threshold, the log-normal's quantile table).
#[derive(Clone, Debug, PartialEq)]
pub struct Sampler {
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Constant {
        ns: u64,
    },
    /// `lo_ns + below(bound)`; `bound == 0` stands for the full `u64` range (one raw draw).
    Uniform {
        lo_ns: u64,
        bound: u64,
        /// Lemire's rejection threshold, `2^64 mod bound`.
        threshold: u64,
    },
    Exponential {
        mean_us: f64,
        min_us: f64,
    },
    Lognormal {
        table: std::sync::Arc<QuantileTable>,
        tail: Probability,
        tail_us: u64,
    },
}

/// Cells per octave of the log-normal quantile table (`2^QT_CELL_BITS`), octaves tabulated,
/// and bits of a draw that place a sample within its cell.
const QT_CELL_BITS: u32 = 6;
const QT_CELLS: usize = 1 << QT_CELL_BITS;
const QT_OCTAVES: usize = 40;
const QT_FRAC_BITS: u32 = 24;
const QT_ROW: usize = QT_CELLS + 1;

/// The log-normal's quantile function in integer nanoseconds, tabulated once per
/// distribution with `detmath`: for `p` in each octave `[2^-(o+2), 2^-(o+1))`, `o <
/// QT_OCTAVES` (so down to `p = 2^-41`), at `QT_CELLS + 1` evenly spaced points, the
/// latency at quantile `p` (`lower`) and at quantile `1 − p` (`upper`). A sample
/// interpolates linearly between two points in integers: no floating point per sample,
/// and the same bits on every machine.
#[derive(Debug, PartialEq)]
struct QuantileTable {
    lower: Vec<u64>,
    upper: Vec<u64>,
}

/// Quantile tables by `(median_us, sigma bits)`.
type SharedTables = Vec<((u64, u64), std::sync::Arc<QuantileTable>)>;
/// Tables built so far, kept for the life of the process: a table is a pure function of its
/// parameters (so sharing one cannot shape a run), it costs ~1% of a short run to build,
/// and a sweep runs the same few distributions thousands of times.
static QUANTILE_TABLES: std::sync::Mutex<SharedTables> = std::sync::Mutex::new(Vec::new());
/// Distinct tables kept, at most (more are built per use and not kept).
const QUANTILE_TABLES_MAX: usize = 64;

impl QuantileTable {
    /// The table for `(median_us, sigma)`, built once per process.
    fn shared(median_us: u64, sigma: f64) -> std::sync::Arc<QuantileTable> {
        let key = (median_us, sigma.to_bits());
        let mut kept = QUANTILE_TABLES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, t)) = kept.iter().find(|(k, _)| *k == key) {
            return t.clone();
        }
        let t = std::sync::Arc::new(QuantileTable::new(median_us, sigma));
        if kept.len() < QUANTILE_TABLES_MAX {
            kept.push((key, t.clone()));
        }
        t
    }

    fn new(median_us: u64, sigma: f64) -> QuantileTable {
        let n = QT_OCTAVES * QT_ROW;
        let (mut lower, mut upper) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for o in 0..QT_OCTAVES {
            // 2^-(o+2), exact.
            let base = 1.0 / (1u64 << (o + 2)) as f64;
            for c in 0..QT_ROW {
                let p = base * (1.0 + c as f64 / QT_CELLS as f64);
                let e = detmath::exp(sigma * detmath::normal_quantile(p));
                lower.push(to_ns(median_us as f64 * e));
                upper.push(to_ns(median_us as f64 / e));
            }
        }
        let median_ns = to_ns(median_us as f64);
        debug_assert!(
            lower.iter().all(|&l| l <= median_ns) && upper.iter().all(|&u| u >= median_ns),
            "lower quantiles below the median, upper ones above"
        );
        QuantileTable { lower, upper }
    }

    /// The latency for one raw draw `d`, read as the quantile `d / 2^64`: the draw's top bit
    /// picks the half, its leading zeros (in the lower half; of its complement in the upper)
    /// the octave, the next bits the cell and the place within it.
    #[inline]
    fn sample(&self, d: u64) -> u64 {
        let (w, table) = if d >> 63 == 0 {
            (d, &self.lower)
        } else {
            (!d, &self.upper)
        };
        let lz = w.leading_zeros() as usize;
        debug_assert!(lz >= 1);
        if lz > QT_OCTAVES {
            // Beyond the last octave (p < 2^-41): its extreme point.
            return table[(QT_OCTAVES - 1) * QT_ROW];
        }
        let m = w << lz;
        let cell = ((m >> (63 - QT_CELL_BITS)) as usize) & (QT_CELLS - 1);
        let frac = (m >> (63 - QT_CELL_BITS - QT_FRAC_BITS)) & ((1 << QT_FRAC_BITS) - 1);
        // Higher cells are nearer the next octave up (larger p); the row's last point is
        // that octave's first.
        let at = (lz - 1) * QT_ROW + cell;
        let (a, b) = (table[at] as i64, table[at + 1] as i64);
        let v = a + (((b - a) * frac as i64) >> QT_FRAC_BITS);
        debug_assert!(
            v >= a.min(b) && v <= a.max(b),
            "interpolated outside its cell"
        );
        v as u64
    }
}

impl Sampler {
    pub fn new(latency: &Latency) -> Sampler {
        let kind = match *latency {
            Latency::Constant { us } => Kind::Constant {
                ns: us.saturating_mul(NS_PER_US),
            },
            Latency::Uniform { min_us, max_us } => {
                let (lo_ns, hi_ns) = (min_us * NS_PER_US, max_us * NS_PER_US);
                assert!(
                    lo_ns <= hi_ns,
                    "uniform latency [{min_us}, {max_us}] µs is empty"
                );
                let bound = (hi_ns - lo_ns).wrapping_add(1);
                Kind::Uniform {
                    lo_ns,
                    bound,
                    threshold: if bound == 0 {
                        0
                    } else {
                        bound.wrapping_neg() % bound
                    },
                }
            }
            Latency::Exponential { mean_us, min_us } => Kind::Exponential {
                mean_us: mean_us as f64,
                min_us: min_us as f64,
            },
            Latency::Lognormal {
                median_us,
                sigma,
                tail,
                tail_us,
            } => Kind::Lognormal {
                table: QuantileTable::shared(median_us, sigma),
                tail,
                tail_us,
            },
        };
        Sampler { kind }
    }

    /// One sample in nanoseconds, at most [`LATENCY_NS_MAX`].
    ///
    /// - uniform: `min + below(max − min + 1)` on the ns scale (`below` by Lemire's
    ///   multiply-shift with rejection, as `sansio::uniform_below`);
    /// - exponential: `min − mean · ln(U)`, U uniform in (0,1) from one draw;
    /// - log-normal: `median · exp(sigma · Φ⁻¹(U))`, U = one draw / 2^64, read from the
    ///   distribution's quantile table (see `QuantileTable`; within ~1e-5 of the formula),
    ///   plus the tail from a second draw (always taken);
    ///
    /// with `detmath` functions where floats are used, so the bits are identical on every
    /// machine.
    #[inline]
    pub fn sample_ns(&self, rng: &mut Stream) -> u64 {
        let ns = match self.kind {
            Kind::Constant { ns } => ns,
            Kind::Uniform {
                lo_ns,
                bound,
                threshold,
            } => {
                if bound == 0 {
                    return rng.u64().min(LATENCY_NS_MAX);
                }
                loop {
                    let product = (rng.u64() as u128) * (bound as u128);
                    if (product as u64) >= threshold {
                        let v = lo_ns + (product >> 64) as u64;
                        debug_assert!(v - lo_ns < bound, "a uniform sample out of its range");
                        break v;
                    }
                }
            }
            Kind::Exponential { mean_us, min_us } => {
                let extra = -mean_us * detmath::ln(rng.unit_open());
                debug_assert!(extra >= 0.0, "an exponential's excess is not negative");
                to_ns(min_us + extra)
            }
            Kind::Lognormal {
                ref table,
                tail,
                tail_us,
            } => {
                let body_ns = table.sample(rng.u64());
                let tail_draw = rng.u64();
                let extra_us = if tail_us > 0 && tail_draw_hits(tail_draw, tail) {
                    (tail_draw >> 32) % (tail_us + 1)
                } else {
                    0
                };
                debug_assert!(extra_us <= tail_us);
                body_ns.saturating_add(extra_us * NS_PER_US)
            }
        };
        ns.min(LATENCY_NS_MAX)
    }
}

/// The low 32 bits of the tail draw decide whether the tail applies.
fn tail_draw_hits(draw: u64, p: Probability) -> bool {
    ((draw & 0xffff_ffff) * PPM_ONE as u64) >> 32 < p.ppm as u64
}

fn to_ns(us: f64) -> u64 {
    let ns = us * NS_PER_US as f64;
    if ns >= LATENCY_NS_MAX as f64 {
        LATENCY_NS_MAX
    } else {
        ns.max(0.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;

    fn samples(l: &Latency, n: usize) -> Vec<u64> {
        let mut rng = Stream::new(42, Purpose::Network);
        let sampler = Sampler::new(l);
        let mut v: Vec<u64> = (0..n).map(|_| sampler.sample_ns(&mut rng)).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn constant_and_uniform_bounds() {
        assert!(
            samples(&Latency::Constant { us: 7 }, 10)
                .iter()
                .all(|&x| x == 7_000)
        );
        let u = samples(
            &Latency::Uniform {
                min_us: 100,
                max_us: 200,
            },
            10_000,
        );
        assert!(u[0] >= 100_000 && u[u.len() - 1] <= 200_000);
        let median = u[u.len() / 2];
        assert!((145_000..155_000).contains(&median), "median {median}");
    }

    #[test]
    fn exponential_mean_is_right() {
        let v = samples(
            &Latency::Exponential {
                mean_us: 1_000,
                min_us: 50,
            },
            100_000,
        );
        let mean = v.iter().sum::<u64>() / v.len() as u64;
        assert!(v[0] >= 50_000);
        assert!((1_030_000..1_070_000).contains(&mean), "mean {mean}");
    }

    #[test]
    fn lognormal_median_and_tail() {
        let plain = Latency::Lognormal {
            median_us: 1_000,
            sigma: 0.5,
            tail: Probability::ZERO,
            tail_us: 0,
        };
        let v = samples(&plain, 100_000);
        let median = v[v.len() / 2];
        assert!((980_000..1_020_000).contains(&median), "median {median}");
        let tailed = Latency::Lognormal {
            median_us: 1_000,
            sigma: 0.5,
            tail: Probability::from_ppm(100_000),
            tail_us: 100_000,
        };
        let t = samples(&tailed, 100_000);
        let over = t.iter().filter(|&&x| x > 20_000_000).count();
        // About 10% × 80% of the tail exceed 20 ms on top of a ~1 ms body.
        assert!((7_000..9_000).contains(&over), "over {over}");
    }

    /// The quantile table agrees with the formula `median · exp(σ · Φ⁻¹(p))` at quantiles
    /// from 2^-41 to 1 − 2^-41, within `2e-5 · (1 + σ²)` (relative) plus two nanoseconds
    /// (linear interpolation's error grows with the curvature, σ²; table points and
    /// interpolation round down to whole nanoseconds).
    #[test]
    fn lognormal_table_matches_the_formula() {
        for (median_us, sigma) in [(1_000u64, 0.4), (500, 0.3), (1_000, 2.0), (7, 0.05)] {
            let t = QuantileTable::new(median_us, sigma);
            let mut x = 3u64;
            for i in 0..200_000u64 {
                x = sansio::mix64(x ^ i);
                // Spread the draws over every octave of both halves.
                let d = match i % 3 {
                    0 => x,
                    1 => x >> (x % 42),
                    _ => !(x >> (x % 42)),
                };
                // The quantile's distance from its end, computed without cancellation.
                let (w, sign) = if d >> 63 == 0 { (d, 1.0) } else { (!d, -1.0) };
                let q = (w as f64 + 0.5) / 18_446_744_073_709_551_616.0;
                if q < 2f64.powi(-41) {
                    continue;
                }
                let want = median_us as f64
                    * 1_000.0
                    * detmath::exp(sign * sigma * detmath::normal_quantile(q));
                let got = t.sample(d) as f64;
                assert!(
                    (got - want).abs() <= 2e-5 * (1.0 + sigma * sigma) * want + 2.0
                        // Next to the one-minute cap, a table point is the cap itself.
                        || want >= 0.99 * LATENCY_NS_MAX as f64,
                    "median {median_us} sigma {sigma} q {q:e}: {got} vs {want}"
                );
            }
        }
    }

    /// The compiled uniform sampler draws exactly what `Stream::between` draws.
    #[test]
    fn uniform_sampler_matches_between() {
        for (min_us, max_us) in [(0, 0), (500, 1_500), (0, 1), (7, 7), (1, 3_000_000)] {
            let l = Latency::Uniform { min_us, max_us };
            let sampler = Sampler::new(&l);
            let mut a = Stream::new(3, Purpose::Network);
            let mut b = a.clone();
            for _ in 0..10_000 {
                assert_eq!(
                    sampler.sample_ns(&mut a),
                    b.between(min_us * NS_PER_US, max_us * NS_PER_US)
                );
            }
        }
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(
            Latency::Uniform {
                min_us: 5,
                max_us: 1
            }
            .validate()
            .unwrap_err()
            .0,
            "max_us"
        );
        assert_eq!(
            Latency::Exponential {
                mean_us: 0,
                min_us: 0
            }
            .validate()
            .unwrap_err()
            .0,
            "mean_us"
        );
    }
}
