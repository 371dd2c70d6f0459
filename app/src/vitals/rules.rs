//! The rules of the Core Web Vitals as GoogleChrome/web-vitals v6 applies them
//! (<https://github.com/GoogleChrome/web-vitals/tree/v6.0.0/src>), apart from the browser so
//! that they are tested natively: ratings (`bindReporter.ts`), when a value is reported and
//! with which delta, CLS session windows (`LayoutShiftManager.ts`), the INP candidates and
//! estimate (`InteractionManager.ts`) and metric ids (`generateUniqueID.ts`). The collector
//! feeds them with `PerformanceObserver` entries.

/// A metric the collector measures (and the beacon names: `LCP`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Name {
    Lcp,
    Inp,
    Cls,
    Fcp,
    Ttfb,
}

impl Name {
    pub const ALL: [Self; 5] = [Self::Lcp, Self::Inp, Self::Cls, Self::Fcp, Self::Ttfb];

    /// As web-vitals and the wire format name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lcp => "LCP",
            Self::Inp => "INP",
            Self::Cls => "CLS",
            Self::Fcp => "FCP",
            Self::Ttfb => "TTFB",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.as_str() == name)
    }

    /// The largest value still "good" and the largest still "needs improvement".
    pub fn thresholds(self) -> (f64, f64) {
        match self {
            Self::Lcp => (2500.0, 4000.0),
            Self::Inp => (200.0, 500.0),
            Self::Cls => (0.1, 0.25),
            Self::Fcp => (1800.0, 3000.0),
            Self::Ttfb => (800.0, 1800.0),
        }
    }

    pub fn rating(self, value: f64) -> Rating {
        let (good, poor) = self.thresholds();
        if value > poor {
            Rating::Poor
        } else if value > good {
            Rating::NeedsImprovement
        } else {
            Rating::Good
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rating {
    Good,
    NeedsImprovement,
    Poor,
}

impl Rating {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::NeedsImprovement => "needs-improvement",
            Self::Poor => "poor",
        }
    }
}

/// When a metric's value is reported, as web-vitals' `bindReporter` decides (without
/// `reportAllChanges`): only when forced, only once there is a value (a negative one means
/// none yet), and then only if it changed or was never reported. Returns the delta to report.
#[derive(Debug, Default, Clone)]
pub struct Reporter {
    reported: Option<f64>,
}

impl Reporter {
    pub fn report(&mut self, value: f64, force: bool) -> Option<f64> {
        if value < 0.0 || !force {
            return None;
        }
        let delta = value - self.reported.unwrap_or(0.0);
        if delta != 0.0 || self.reported.is_none() {
            self.reported = Some(value);
            Some(delta)
        } else {
            None
        }
    }
}

/// A `layout-shift` entry, as CLS needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shift {
    pub start_time: f64,
    pub value: f64,
    pub had_recent_input: bool,
}

/// CLS: shifts without recent input grouped in session windows (each shift less than 1 s after
/// the one before and less than 5 s after the window's first); the largest window's sum.
#[derive(Debug, Default, Clone)]
pub struct LayoutShifts {
    session_value: f64,
    /// Start times of the current window's first and last shift.
    session: Option<(f64, f64)>,
    /// The current window's largest shift (its index and value), for attribution.
    session_largest: Option<(usize, f64)>,
    /// The metric: the largest window so far, and the index of its largest shift.
    pub value: f64,
    pub largest: Option<usize>,
}

impl LayoutShifts {
    /// Adds shift number `index` (its position among every shift fed in, for attribution).
    pub fn add(&mut self, index: usize, shift: Shift) {
        if shift.had_recent_input {
            return;
        }
        match self.session {
            Some((first, last))
                if self.session_value != 0.0
                    && shift.start_time - last < 1000.0
                    && shift.start_time - first < 5000.0 =>
            {
                self.session_value += shift.value;
                self.session = Some((first, shift.start_time));
            }
            _ => {
                self.session_value = shift.value;
                self.session = Some((shift.start_time, shift.start_time));
                self.session_largest = None;
            }
        }
        // As web-vitals' `reduce((a, b) => a.value > b.value ? a : b)`: a tie goes to the later.
        if self
            .session_largest
            .is_none_or(|(_, value)| shift.value >= value)
        {
            self.session_largest = Some((index, shift.value));
        }
        if self.session_value > self.value {
            self.value = self.session_value;
            self.largest = self.session_largest.map(|(index, _)| index);
        }
    }
}

/// An `event` (or `first-input`) timing entry, as INP needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventEntry {
    /// 0 for events that are not part of an interaction.
    pub interaction_id: u64,
    pub first_input: bool,
    pub duration: f64,
    pub start_time: f64,
}

/// One interaction: its latency (the longest duration among its entries) and the entries of
/// that length, by their index among every entry fed in.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    pub id: u64,
    pub latency: f64,
    pub start_time: f64,
    pub entries: Vec<usize>,
}

/// The ten longest interactions, longest first, as web-vitals' `InteractionManager` keeps
/// them.
#[derive(Debug, Default, Clone)]
pub struct Interactions {
    pub longest: Vec<Interaction>,
    /// The interaction count when this page view began (after a bfcache restore, the earlier
    /// view's interactions do not count).
    count_before: u64,
}

const MAX_INTERACTIONS: usize = 10;

impl Interactions {
    /// Starts over for a new page view (a bfcache restore), at `count` interactions so far.
    pub fn reset(&mut self, count: u64) {
        self.longest.clear();
        self.count_before = count;
    }

    /// Adds entry number `index`.
    pub fn add(&mut self, index: usize, entry: EventEntry) {
        if entry.interaction_id == 0 && !entry.first_input {
            return;
        }
        let existing = self
            .longest
            .iter_mut()
            .find(|i| i.id == entry.interaction_id);
        match existing {
            Some(interaction) => {
                if entry.duration > interaction.latency {
                    interaction.latency = entry.duration;
                    interaction.start_time = entry.start_time;
                    interaction.entries = vec![index];
                } else if entry.duration == interaction.latency
                    && entry.start_time == interaction.start_time
                {
                    interaction.entries.push(index);
                }
            }
            None => {
                let shortest = self.longest.last().map_or(f64::NEG_INFINITY, |i| i.latency);
                if self.longest.len() >= MAX_INTERACTIONS && entry.duration <= shortest {
                    return;
                }
                self.longest.push(Interaction {
                    id: entry.interaction_id,
                    latency: entry.duration,
                    start_time: entry.start_time,
                    entries: vec![index],
                });
            }
        }
        // Stable, as Array.prototype.sort is: equal latencies keep their arrival order.
        sort_stably(&mut self.longest, |a, b| a.latency > b.latency);
        self.longest.truncate(MAX_INTERACTIONS);
    }

    /// The INP candidate given `count` interactions on the page so far: the longest, then one
    /// place further down for every 50 interactions (an estimate of the 98th percentile).
    pub fn estimate(&self, count: u64) -> Option<&Interaction> {
        let count = count.saturating_sub(self.count_before);
        let index = ((count / 50) as usize).min(self.longest.len().checked_sub(1)?);
        self.longest.get(index)
    }
}

impl Interactions {
    /// INP given `count` interactions on the page so far: the estimate's latency; or, after a
    /// bfcache restore (`restored`) with interactions none of which lasted long enough to be
    /// observed, 8 ms, as web-vitals v6 reports it; or nothing yet.
    pub fn value(&self, count: u64, restored: bool) -> Option<f64> {
        match self.estimate(count) {
            Some(interaction) => Some(interaction.latency),
            None if restored && count > self.count_before => Some(8.0),
            None => None,
        }
    }
}

/// Sorts `items` so that none is `before` one ahead of it, keeping the order of equals, as
/// `Array.prototype.sort` does. An insertion sort: the lists here are a few dozen long at most,
/// and the standard library's sorts would add several kilobytes to the WASM for each type.
pub fn sort_stably<T>(items: &mut [T], before: impl Fn(&T, &T) -> bool) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && before(&items[j], &items[j - 1]) {
            items.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// A metric id as web-vitals makes them: `v6-<ms since the epoch>-<13 random digits>`.
pub fn metric_id(now_ms: f64, random: f64) -> String {
    let digits = (random * (9e12 - 1.0)).floor() + 1e12;
    format!("v6-{}-{}", now_ms as u64, digits as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_use_the_librarys_thresholds_inclusive_of_good() {
        assert_eq!(Name::Lcp.rating(2500.0), Rating::Good);
        assert_eq!(Name::Lcp.rating(2500.1), Rating::NeedsImprovement);
        assert_eq!(Name::Lcp.rating(4000.0), Rating::NeedsImprovement);
        assert_eq!(Name::Lcp.rating(4000.1), Rating::Poor);
        assert_eq!(Name::Cls.rating(0.1), Rating::Good);
        assert_eq!(Name::Cls.rating(0.26), Rating::Poor);
        assert_eq!(Name::Inp.rating(201.0), Rating::NeedsImprovement);
        assert_eq!(Name::Fcp.rating(3000.5), Rating::Poor);
        assert_eq!(Name::Ttfb.rating(0.0), Rating::Good);
        for name in Name::ALL {
            assert_eq!(Name::parse(name.as_str()), Some(name));
        }
    }

    #[test]
    fn a_value_is_reported_when_forced_and_changed_or_first() {
        let mut r = Reporter::default();
        assert_eq!(r.report(-1.0, true), None, "no value yet");
        assert_eq!(r.report(5.0, false), None, "not forced");
        assert_eq!(r.report(0.0, true), Some(0.0), "a first zero is reported");
        assert_eq!(r.report(0.0, true), None, "unchanged");
        assert_eq!(r.report(0.25, true), Some(0.25));
        assert_eq!(r.report(0.1, true), Some(0.1 - 0.25), "INP can go down");
    }

    fn shift(start_time: f64, value: f64) -> Shift {
        Shift {
            start_time,
            value,
            had_recent_input: false,
        }
    }

    #[test]
    fn cls_is_the_largest_session_window() {
        let mut cls = LayoutShifts::default();
        cls.add(0, shift(100.0, 0.05));
        cls.add(1, shift(900.0, 0.05)); // same window: < 1 s after the last
        assert!((cls.value - 0.1).abs() < 1e-12);
        assert_eq!(cls.largest, Some(1), "the later of two equal shifts");
        cls.add(2, shift(2000.0, 0.02)); // a gap of 1.1 s: a new window
        assert!((cls.value - 0.1).abs() < 1e-12, "the larger window stays");
        cls.add(
            3,
            Shift {
                start_time: 2100.0,
                value: 5.0,
                had_recent_input: true,
            },
        );
        assert!((cls.value - 0.1).abs() < 1e-12, "input excuses a shift");
        // A window is cut at 5 s even without a gap.
        let mut long = LayoutShifts::default();
        for (i, t) in [0.0, 900.0, 1800.0, 2700.0, 3600.0, 4500.0, 5400.0]
            .iter()
            .enumerate()
        {
            long.add(i, shift(*t, 0.01));
        }
        assert!((long.value - 0.06).abs() < 1e-12, "{}", long.value);
        // A later, larger window wins, with its own largest shift.
        cls.add(4, shift(9000.0, 0.04));
        cls.add(5, shift(9500.0, 0.08));
        assert!((cls.value - 0.12).abs() < 1e-12);
        assert_eq!(cls.largest, Some(5));
    }

    fn event(id: u64, duration: f64, start_time: f64) -> EventEntry {
        EventEntry {
            interaction_id: id,
            first_input: false,
            duration,
            start_time,
        }
    }

    #[test]
    fn inp_keeps_the_ten_longest_and_estimates_the_98th_percentile() {
        let mut inp = Interactions::default();
        inp.add(0, event(0, 500.0, 0.0)); // not an interaction
        assert!(inp.estimate(1).is_none());
        for n in 1..=12u64 {
            inp.add(n as usize, event(n * 7, n as f64 * 10.0, n as f64 * 100.0));
        }
        assert_eq!(inp.longest.len(), 10);
        assert_eq!(inp.longest[0].latency, 120.0);
        assert_eq!(inp.longest[9].latency, 30.0);
        assert_eq!(inp.estimate(12).map(|i| i.latency), Some(120.0));
        assert_eq!(inp.estimate(50).map(|i| i.latency), Some(110.0));
        assert_eq!(
            inp.estimate(10_000).map(|i| i.latency),
            Some(30.0),
            "at most the tenth"
        );
        // Another entry of an interaction raises its latency; a shorter one does not.
        inp.add(20, event(21, 200.0, 300.0));
        inp.add(21, event(21, 5.0, 300.0));
        assert_eq!(inp.longest[0].id, 21);
        assert_eq!(inp.longest[0].entries, [20]);
        // After a bfcache restore only the new view's interactions count.
        inp.reset(60);
        assert!(inp.estimate(60).is_none());
        assert_eq!(inp.value(60, true), None, "no interaction since");
        assert_eq!(inp.value(62, true), Some(8.0), "only short ones since");
        assert_eq!(inp.value(62, false), None);
        inp.add(30, event(100, 48.0, 0.0));
        assert_eq!(inp.estimate(61).map(|i| i.latency), Some(48.0));
        assert_eq!(inp.value(61, true), Some(48.0));
    }

    #[test]
    fn sorting_keeps_the_order_of_equals() {
        let mut items = [(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        sort_stably(&mut items, |a, b| a.0 > b.0);
        assert_eq!(items, [(3, 'a'), (3, 'c'), (2, 'd'), (1, 'b'), (1, 'e')]);
        let mut none: [u8; 0] = [];
        sort_stably(&mut none, |a, b| a < b);
    }

    #[test]
    fn ids_look_like_the_librarys() {
        let id = metric_id(1_764_633_600_000.0, 0.5);
        assert_eq!(id, "v6-1764633600000-5499999999999");
        assert!(metric_id(0.0, 0.0).ends_with("-1000000000000"));
    }
}
