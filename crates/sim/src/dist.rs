//! Latency distributions and probabilities as scenario values, and how a sample is drawn
//! from raw stream words. Every sampler here is documented and owned by zabsim, so a
//! seed's samples never change with a dependency's version.
//!
//! Invariant: each sampler consumes a fixed number of draws per call (constant: 0,
//! uniform/exponential: 1, log-normal: 2), so a run's stream positions depend only on how
//! many samples were taken, never on the values.

use crate::detmath;
use crate::rng::{PPM_ONE, Stream};
use proto::NS_PER_US;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// No single sampled latency exceeds this (one minute): keeps every queue bounded in time.
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
        Ok(Probability {
            ppm: (x * PPM_ONE as f64).round() as u32,
        })
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

    /// One sample in nanoseconds, at most [`LATENCY_NS_MAX`].
    ///
    /// - uniform: `min + below(max − min + 1)` on the µs scale, then × 1000;
    /// - exponential: `min − mean · ln(U)`, U uniform in (0,1) from one draw;
    /// - log-normal: `median · exp(sigma · Φ⁻¹(U))` from one draw, plus the tail from a
    ///   second draw (always taken);
    ///   with `detmath` functions so the bits are identical on every machine.
    pub fn sample_ns(&self, rng: &mut Stream) -> u64 {
        let ns = match *self {
            Latency::Constant { us } => us.saturating_mul(NS_PER_US),
            Latency::Uniform { min_us, max_us } => {
                rng.between(min_us * NS_PER_US, max_us * NS_PER_US)
            }
            Latency::Exponential { mean_us, min_us } => {
                let extra = -(mean_us as f64) * detmath::ln(rng.unit_open());
                to_ns(min_us as f64 + extra)
            }
            Latency::Lognormal {
                median_us,
                sigma,
                tail,
                tail_us,
            } => {
                let z = detmath::normal_quantile(rng.unit_open());
                let body = median_us as f64 * detmath::exp(sigma * z);
                let tail_draw = rng.u64();
                let extra_us = if tail_us > 0 && tail_draw_hits(tail_draw, tail) {
                    (tail_draw >> 32) % (tail_us + 1)
                } else {
                    0
                };
                to_ns(body).saturating_add(extra_us * NS_PER_US)
            }
        };
        ns.min(LATENCY_NS_MAX)
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
        let mut v: Vec<u64> = (0..n).map(|_| l.sample_ns(&mut rng)).collect();
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
