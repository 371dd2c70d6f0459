//! The histogram bins values are rolled up into: log-spaced, 20 to a decade (each about 12 %
//! wide), so a percentile read from a day's histogram is within a bin's width of the exact one
//! whatever the metric's scale.
//!
//! Values are binned in milliseconds, CLS in thousandths. Bin 0 holds everything below 1 unit
//! (CLS under 0.001, times under 1 ms); bin `k` ≥ 1 holds `[10^((k-1)/20), 10^(k/20))`. The
//! largest value the ingest accepts (600,000 ms) falls in bin [`LAST`]. The server bins values
//! with these as it stores and rolls them up; the dashboard reads rolled-up bins with them.

use super::rules::Name;

const PER_DECADE: f64 = 20.0;
/// The highest bin a valid value can fall in.
pub const LAST: i16 = 116;

fn units(name: Name, value: f64) -> f64 {
    match name {
        Name::Cls => value * 1000.0,
        _ => value,
    }
}

/// The bin of a (valid, non-negative) value.
pub fn bin(name: Name, value: f64) -> i16 {
    let units = units(name, value);
    if units < 1.0 {
        return 0;
    }
    let k = 1.0 + (PER_DECADE * units.log10()).floor();
    // In range for every value up to MAX_MILLIS; the clamp only guards the conversion.
    k.clamp(1.0, f64::from(LAST)) as i16
}

/// The values bin `k` holds, `[low, high)`, in the metric's own unit (ms, or CLS).
pub fn range(name: Name, k: i16) -> (f64, f64) {
    let scale = match name {
        Name::Cls => 1000.0,
        _ => 1.0,
    };
    let edge = |k: i16| 10f64.powf(f64::from(k) / PER_DECADE) / scale;
    match k {
        ..=0 => (0.0, edge(0)),
        k => (edge(k - 1), edge(k)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ingest's bounds (`server/src/vitals/beacon.rs`).
    const MAX_MILLIS: f64 = 600_000.0;
    const MAX_CLS: f64 = 50.0;

    #[test]
    fn every_value_falls_inside_its_bin() {
        for name in [Name::Lcp, Name::Cls, Name::Ttfb] {
            let values = [
                0.0, 0.0004, 0.05, 0.1, 0.26, 3.0, 49.9, 120.0, 2500.0, 4000.5, 599_999.0,
            ];
            let max = if name == Name::Cls {
                MAX_CLS
            } else {
                MAX_MILLIS
            };
            for value in values.into_iter().filter(|v| *v <= max) {
                let k = bin(name, value);
                let (low, high) = range(name, k);
                assert!((0..=LAST).contains(&k));
                assert!(
                    low <= value && value < high,
                    "{name:?} {value} in bin {k}: [{low}, {high})"
                );
            }
        }
        assert_eq!(bin(Name::Lcp, MAX_MILLIS), LAST);
        assert_eq!(bin(Name::Lcp, 1.0), 1);
        assert_eq!(bin(Name::Cls, 0.0), 0);
    }

    #[test]
    fn bins_are_about_twelve_percent_wide() {
        let (low, high) = range(Name::Lcp, 70);
        assert!((high / low - 1.122).abs() < 0.001);
    }
}
