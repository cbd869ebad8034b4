//! Deterministic transcendental functions for sampling. `f64::ln`/`exp` call the platform's
//! libm, whose last-bit rounding may differ between machines; these use only IEEE-754
//! basic operations (+ − × ÷ and `sqrt`, all correctly rounded), so every machine computes
//! the same bits. Accuracy is ~1e-15 relative, far more than sampling needs.

const LN2: f64 = std::f64::consts::LN_2;
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// Series terms, enough for full double precision over the reduced ranges below:
/// atanh: (1/3)^33/33 < 2e-17; exp: 0.347^14/14! < 5e-18.
const LN_TERMS: u32 = 17;
const EXP_TERMS: u32 = 15;
/// 1/(2k+1) for k in 0..LN_TERMS (each the correctly rounded quotient, computed at compile
/// time by IEEE division, so the same on every machine).
const ODD_RECIPROCALS: [f64; LN_TERMS as usize] = {
    let mut t = [0.0; LN_TERMS as usize];
    let mut k = 0;
    while k < LN_TERMS as usize {
        t[k] = 1.0 / (2 * k + 1) as f64;
        k += 1;
    }
    t
};
/// 1/n! for n in 0..EXP_TERMS.
const INV_FACTORIALS: [f64; EXP_TERMS as usize] = {
    let mut t = [0.0; EXP_TERMS as usize];
    let mut f = 1.0;
    let mut n = 0;
    while n < EXP_TERMS as usize {
        if n > 0 {
            f *= n as f64;
        }
        t[n] = 1.0 / f;
        n += 1;
    }
    t
};

/// Natural logarithm of `x > 0`.
pub fn ln(x: f64) -> f64 {
    assert!(x > 0.0 && x.is_finite(), "ln({x}) is undefined here");
    // x = m · 2^e with m in [1, 2): exact, from the bits (subnormals are scaled first).
    let (x, bias) = if x < f64::MIN_POSITIVE {
        (x * (1u64 << 54) as f64, -54)
    } else {
        (x, 0)
    };
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023 + bias;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    // ln(m) = 2 atanh(s), s = (m − 1)/(m + 1) in [0, 1/3).
    let s = (m - 1.0) / (m + 1.0);
    debug_assert!(
        (0.0..0.34).contains(&s),
        "ln's series argument {s} outside [0, 1/3)"
    );
    let s2 = s * s;
    // atanh(s)/s = Σ s^(2k)/(2k+1), by Horner's rule with exact-quotient constants.
    let mut poly = 0.0;
    for k in (0..LN_TERMS as usize).rev() {
        poly = poly * s2 + ODD_RECIPROCALS[k];
    }
    let sum = s * poly;
    let y = 2.0 * sum + e as f64 * LN2;
    debug_assert!(
        y.is_finite() && ((x - 1.0).abs() < 1e-9 || (x > 1.0) == (y > 0.0)),
        "ln({x}) = {y}"
    );
    y
}

/// `e^x`, clamped to the finite range (`x` in [−700, 700]).
pub fn exp(x: f64) -> f64 {
    assert!(!x.is_nan(), "exp(NaN)");
    let x = x.clamp(-700.0, 700.0);
    // x = k ln2 + r with |r| ≤ ln2/2; e^x = 2^k e^r.
    let k = (x / LN2 + if x >= 0.0 { 0.5 } else { -0.5 }) as i64;
    // Cody–Waite: ln2 split in two so that k·ln2 is exact in its high part.
    let r = (x - k as f64 * LN2_HI) - k as f64 * LN2_LO;
    debug_assert!(r.abs() < 0.347, "exp's reduced argument {r} outside ±ln2/2");
    // Σ r^n/n! by Horner's rule with the reciprocal factorials.
    let mut sum = 0.0;
    for n in (0..EXP_TERMS as usize).rev() {
        sum = sum * r + INV_FACTORIALS[n];
    }
    let y = sum * pow2(k);
    debug_assert!(y > 0.0 && y.is_finite(), "exp({x}) = {y}");
    y
}

/// 2^k for k in [−1022, 1023], built from the exponent bits.
fn pow2(k: i64) -> f64 {
    assert!((-1022..=1023).contains(&k), "2^{k} out of range");
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// The standard normal quantile Φ⁻¹(p) for p in (0, 1), by Acklam's rational
/// approximation (relative error < 1.2e-9), using `ln` above and IEEE `sqrt`.
pub fn normal_quantile(p: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0, "normal_quantile({p})");
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let z = if p < P_LOW {
        tail((-2.0 * ln(p)).sqrt())
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * ln(1.0 - p)).sqrt())
    };
    debug_assert!(
        z.is_finite() && (p >= 0.5 || z <= 0.0) && (p <= 0.5 || z >= 0.0),
        "Φ⁻¹({p}) = {z} has not the sign of p − ½"
    );
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn ln_matches_libm_closely() {
        for &x in &[
            1e-300, 1e-9, 0.001, 0.5, 1.0, 1.5, 2.0, 10.0, 12345.678, 1e300,
        ] {
            assert!(
                close(ln(x), x.ln(), 1e-14) || (x == 1.0 && ln(x) == 0.0),
                "ln({x})"
            );
        }
    }

    #[test]
    fn exp_matches_libm_closely() {
        for &x in &[-700.0, -20.0, -1.0, -1e-9, 0.0, 0.3, 1.0, 5.5, 100.0, 700.0] {
            assert!(close(exp(x), x.exp(), 1e-14), "exp({x})");
        }
    }

    #[test]
    fn normal_quantile_known_points() {
        assert!(normal_quantile(0.5).abs() < 1e-12);
        assert!(close(normal_quantile(0.975), 1.959_963_984_540_054, 1e-8));
        assert!(close(normal_quantile(0.001), -3.090_232_306_167_813, 1e-8));
        assert!(close(normal_quantile(0.999_9), 3.719_016_485_455_68, 1e-8));
    }
}
