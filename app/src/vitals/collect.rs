//! The browser collector: measures LCP, INP, CLS, FCP and TTFB on visitors' page views as
//! GoogleChrome/web-vitals v6 does (`src/on*.ts` and `src/attribution/`; the rules themselves
//! are in [`super::rules`], tested natively) and sends them to `POST /api/vitals` when the page
//! is hidden, one small JSON beacon per page view.
//!
//! It runs only where the page asks (`<meta name="folio-vitals" content="PERCENT">`, rendered
//! for visitors only) and then for that share of page views. It sets no cookie and stores
//! nothing in the browser. It starts once the islands are awake, after the page has loaded, so
//! it never delays the page or its hydration; what happened before comes from the observers'
//! buffered entries, as it does for the library loaded late. Every handler is short: nothing
//! here is a long task.
//!
//! Soft navigations are not measured (folio's pages are whole documents); prerendered pages
//! start when activated and measure from `activationStart`; a bfcache restore starts a new page
//! view with new ids.

use super::rules::{
    EventEntry, Interactions, LayoutShifts, Name, Reporter, Shift, metric_id, sort_stably,
};
use gloo::events::{EventListener, EventListenerOptions};
use gloo::timers::callback::Timeout;
use std::cell::RefCell;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// Where beacons go.
const ENDPOINT: &str = "/api/vitals";
/// web-vitals' default `durationThreshold` for INP's event entries.
const DURATION_THRESHOLD: f64 = 40.0;
/// Entries presented within this many milliseconds of each other share one frame (INP's
/// attribution, as web-vitals groups them).
const SAME_FRAME: f64 = 8.0;
/// Frames kept for INP's attribution (web-vitals keeps 10 plus the candidates').
const FRAMES_KEPT: usize = 32;
/// web-vitals' `getSelector` cut-off.
const SELECTOR_MAX: usize = 100;

#[wasm_bindgen]
extern "C" {
    /// `PerformanceObserver`, which web-sys binds without `type` + `buffered` and without
    /// `durationThreshold`.
    #[wasm_bindgen(js_name = PerformanceObserver)]
    type Observer;
    #[wasm_bindgen(constructor, js_class = "PerformanceObserver", catch)]
    fn new(callback: &js_sys::Function) -> Result<Observer, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn observe(this: &Observer, options: &js_sys::Object) -> Result<(), JsValue>;
    #[wasm_bindgen(method, js_name = takeRecords)]
    fn take_records(this: &Observer) -> js_sys::Array;
    #[wasm_bindgen(method)]
    fn disconnect(this: &Observer);
    #[wasm_bindgen(static_method_of = Observer, js_class = "PerformanceObserver", getter, js_name = supportedEntryTypes)]
    fn supported_entry_types() -> js_sys::Array;

    type EntryList;
    #[wasm_bindgen(method, js_name = getEntries)]
    fn get_entries(this: &EntryList) -> js_sys::Array;

    /// Any performance entry; each getter is read only on the kinds that have it
    /// (`largest-contentful-paint`, `layout-shift`, `event`, `navigation`, `resource`).
    type Entry;
    #[wasm_bindgen(method, getter, js_name = entryType)]
    fn entry_type(this: &Entry) -> String;
    #[wasm_bindgen(method, getter)]
    fn name(this: &Entry) -> String;
    #[wasm_bindgen(method, getter, js_name = startTime)]
    fn start_time(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter)]
    fn duration(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter)]
    fn element(this: &Entry) -> Option<web_sys::Node>;
    #[wasm_bindgen(method, getter)]
    fn url(this: &Entry) -> Option<String>;
    #[wasm_bindgen(method, getter)]
    fn id(this: &Entry) -> Option<String>;
    #[wasm_bindgen(method, getter)]
    fn value(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter, js_name = hadRecentInput)]
    fn had_recent_input(this: &Entry) -> bool;
    #[wasm_bindgen(method, getter)]
    fn sources(this: &Entry) -> Option<js_sys::Array>;
    #[wasm_bindgen(method, getter, js_name = interactionId)]
    fn interaction_id(this: &Entry) -> Option<f64>;
    #[wasm_bindgen(method, getter, js_name = processingStart)]
    fn processing_start(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter, js_name = processingEnd)]
    fn processing_end(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter)]
    fn target(this: &Entry) -> Option<web_sys::Node>;
    #[wasm_bindgen(method, getter, js_name = responseStart)]
    fn response_start(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter, js_name = activationStart)]
    fn activation_start(this: &Entry) -> Option<f64>;
    #[wasm_bindgen(method, getter, js_name = type)]
    fn navigation_type(this: &Entry) -> Option<String>;
    #[wasm_bindgen(method, getter, js_name = requestStart)]
    fn request_start(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter, js_name = responseEnd)]
    fn response_end(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter, js_name = workerStart)]
    fn worker_start(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter, js_name = fetchStart)]
    fn fetch_start(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter, js_name = domainLookupStart)]
    fn domain_lookup_start(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter, js_name = connectStart)]
    fn connect_start(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter, js_name = connectEnd)]
    fn connect_end(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter, js_name = domInteractive)]
    fn dom_interactive(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter, js_name = domContentLoadedEventStart)]
    fn dom_content_loaded_event_start(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter, js_name = domComplete)]
    fn dom_complete(this: &Entry) -> f64;

    /// A `layout-shift` entry's `sources[i]`.
    type ShiftSource;
    #[wasm_bindgen(method, getter)]
    fn node(this: &ShiftSource) -> Option<web_sys::Node>;

    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn now() -> f64;
    #[wasm_bindgen(js_namespace = performance, js_name = getEntriesByType)]
    fn entries_by_type(kind: &str) -> js_sys::Array;
    #[wasm_bindgen(js_namespace = performance, js_name = getEntriesByName)]
    fn entries_by_name(name: &str, kind: &str) -> js_sys::Array;
    #[wasm_bindgen(js_name = requestIdleCallback, catch)]
    fn request_idle_callback(
        callback: &js_sys::Function,
        options: &js_sys::Object,
    ) -> Result<u32, JsValue>;
    #[wasm_bindgen(js_name = requestAnimationFrame)]
    fn request_animation_frame(callback: &js_sys::Function) -> u32;
    #[wasm_bindgen(js_namespace = navigator, js_name = sendBeacon, catch)]
    fn send_beacon(url: &str, data: &web_sys::Blob) -> Result<bool, JsValue>;
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with(url: &str, init: &js_sys::Object) -> js_sys::Promise;
}

/// Starts measuring this page view if the page asks for it and this view is in the sample.
pub fn start() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let selector = format!("meta[name=\"{}\"]", super::SAMPLE_META);
    let Some(percent) = document
        .query_selector(&selector)
        .ok()
        .flatten()
        .and_then(|meta| meta.get_attribute("content"))
        .and_then(|content| content.parse::<u8>().ok())
    else {
        return;
    };
    if js_sys::Math::random() * 100.0 >= f64::from(percent) {
        return;
    }
    let window = web_sys::window().expect_throw("a window");
    if !js_sys::Reflect::has(&window, &JsValue::from_str("PerformanceObserver")).unwrap_or(false) {
        return;
    }
    when_activated(begin);
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// Runs `f` on the collector's state (there is none before [`begin`]).
fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> Option<T> {
    STATE.with_borrow_mut(|state| state.as_mut().map(f))
}

/// One metric instance: a value (negative: none yet), its id, and what was last reported.
#[derive(Debug)]
struct Metric {
    id: String,
    value: f64,
    reporter: Reporter,
}

impl Metric {
    fn new(value: f64) -> Self {
        Self {
            id: new_id(),
            value,
            reporter: Reporter::default(),
        }
    }
}

/// A value waiting for the next beacon: the metric's fields and its attribution.
struct Queued {
    name: Name,
    id: String,
    value: f64,
    delta: f64,
    attribution: js_sys::Object,
}

/// What INP's attribution needs of an event entry.
#[derive(Debug)]
struct EventFacts {
    name: String,
    start_time: f64,
    duration: f64,
    target: String,
    /// The frame it was presented in ([`State::frames`], by number).
    frame: usize,
}

/// Event entries presented together: the earliest start and processing start, the latest
/// processing end.
#[derive(Debug, Clone, Copy)]
struct Frame {
    render_time: f64,
    processing_start: f64,
    processing_end: f64,
}

struct State {
    view: String,
    nav: &'static str,
    /// When the page was first hidden (infinite while it has not been).
    first_hidden: f64,
    /// A bfcache restore began this view (at this time).
    restored_at: Option<f64>,
    queue: Vec<Queued>,
    /// Work waiting for the browser to be idle, done at once if the page is hidden first.
    idle: Vec<fn(&mut State)>,
    idle_scheduled: bool,

    lcp: Metric,
    lcp_final: bool,
    lcp_entry: Option<Entry>,
    lcp_target: String,
    lcp_observer: Option<Observer>,

    fcp: Metric,
    fcp_entry: Option<Entry>,
    fcp_observer: Option<Observer>,

    cls: Option<Cls>,

    inp: Metric,
    interactions: Interactions,
    inp_observer: Option<Observer>,
    pending_events: Vec<Entry>,
    events_seen: usize,
    /// What attribution needs of the entries the INP candidates hold, by entry number.
    facts: Vec<(usize, EventFacts)>,
    frames: Vec<Frame>,
    /// The number of the first frame in `frames`.
    frames_dropped: usize,
    /// The interaction count estimate, where the browser has no `performance.interactionCount`.
    count_polyfill: Option<CountPolyfill>,

    ttfb: Metric,
}

/// CLS, which starts only once FCP is reported (as CrUX counts it).
struct Cls {
    metric: Metric,
    shifts: LayoutShifts,
    /// The shifts seen, in order: start time, value and the largest source's selector.
    seen: Vec<(f64, f64, String)>,
    observer: Observer,
}

struct CountPolyfill {
    min: f64,
    max: f64,
    _observer: Observer,
}

fn document() -> web_sys::Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect_throw("a document")
}

fn new_id() -> String {
    metric_id(js_sys::Date::now(), js_sys::Math::random())
}

fn document_flag(name: &str) -> bool {
    js_sys::Reflect::get(&document(), &JsValue::from_str(name))
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

fn hidden() -> bool {
    document().visibility_state() == web_sys::VisibilityState::Hidden
}

/// The first of `entries`, if any.
fn first(entries: &js_sys::Array) -> Option<Entry> {
    let first = entries.get(0);
    (!first.is_undefined()).then(|| first.unchecked_into())
}

/// The page's navigation entry, once it has a response (web-vitals' `getNavigationEntry`).
fn navigation_entry() -> Option<Entry> {
    let entry = first(&entries_by_type("navigation"))?;
    let response_start = entry.response_start();
    (response_start > 0.0 && response_start < now()).then_some(entry)
}

fn activation_start() -> f64 {
    navigation_entry()
        .and_then(|e| e.activation_start())
        .unwrap_or(0.0)
}

/// web-vitals' `whenActivated`: now, or once a prerendered page is shown.
fn when_activated(f: fn()) {
    if document_flag("prerendering") {
        let options = EventListenerOptions::run_in_capture_phase();
        EventListener::once_with_options(&document(), "prerenderingchange", options, move |_| f())
            .forget();
    } else {
        f();
    }
}

/// The navigation type of a page view that did not begin with a bfcache restore.
fn navigation_type() -> &'static str {
    let Some(entry) = navigation_entry() else {
        return "navigate";
    };
    if document_flag("prerendering") || activation_start() > 0.0 {
        return "prerender";
    }
    if document_flag("wasDiscarded") {
        return "restore";
    }
    match entry.navigation_type().as_deref() {
        Some("reload") => "reload",
        Some("back_forward") => "back-forward",
        Some("prerender") => "prerender",
        _ => "navigate",
    }
}

/// When the page was first hidden: from a `visibility-state` entry where the browser has them,
/// else now if it is hidden (it has been since it was loaded), else not yet.
fn first_hidden_time() -> f64 {
    let activation = activation_start();
    let earlier = entries_by_type("visibility-state")
        .iter()
        .map(JsCast::unchecked_into::<Entry>)
        .find(|e| e.name() == "hidden" && e.start_time() >= activation)
        .map(|e| e.start_time());
    earlier.unwrap_or(if hidden() { 0.0 } else { f64::INFINITY })
}

fn supports(kind: &str) -> bool {
    Observer::supported_entry_types().includes(&JsValue::from_str(kind), 0)
}

/// A buffered observer of `kinds`, calling `f` with each batch of entries in the order they
/// ended (web-vitals' `observe`).
fn observe(
    kinds: &[&str],
    duration_threshold: Option<f64>,
    f: fn(&mut State, Vec<Entry>),
) -> Option<Observer> {
    let kinds: Vec<&str> = kinds.iter().copied().filter(|k| supports(k)).collect();
    if kinds.is_empty() {
        return None;
    }
    let several = kinds.len() > 1;
    let callback = Closure::<dyn FnMut(EntryList)>::new(move |list: EntryList| {
        let entries = sorted(list.get_entries(), several);
        with_state(|state| f(state, entries));
    });
    let observer = Observer::new(callback.as_ref().unchecked_ref()).ok()?;
    callback.forget();
    for kind in kinds {
        let options = js_sys::Object::new();
        set(&options, "type", &JsValue::from_str(kind));
        set(&options, "buffered", &JsValue::TRUE);
        if let Some(threshold) = duration_threshold {
            set(&options, "durationThreshold", &JsValue::from_f64(threshold));
        }
        observer.observe(&options).ok()?;
    }
    Some(observer)
}

fn sorted(entries: js_sys::Array, by_end: bool) -> Vec<Entry> {
    let mut entries: Vec<Entry> = entries.iter().map(JsCast::unchecked_into).collect();
    if by_end {
        sort_stably(&mut entries, |a, b| {
            a.start_time() + a.duration() < b.start_time() + b.duration()
        });
    }
    entries
}

fn set(object: &js_sys::Object, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(object, &JsValue::from_str(key), value);
}

/// Sets everything up, once the page is active.
fn begin() {
    let state = State {
        view: new_id(),
        nav: navigation_type(),
        first_hidden: first_hidden_time(),
        restored_at: None,
        queue: Vec::new(),
        idle: Vec::new(),
        idle_scheduled: false,
        lcp: Metric::new(-1.0),
        lcp_final: false,
        lcp_entry: None,
        lcp_target: String::new(),
        lcp_observer: None,
        fcp: Metric::new(-1.0),
        fcp_entry: None,
        fcp_observer: None,
        cls: None,
        inp: Metric::new(-1.0),
        interactions: Interactions::default(),
        inp_observer: None,
        pending_events: Vec::new(),
        events_seen: 0,
        facts: Vec::new(),
        frames: Vec::new(),
        frames_dropped: 0,
        count_polyfill: None,
        ttfb: Metric::new(-1.0),
    };
    STATE.with_borrow_mut(|slot| *slot = Some(state));

    let window = web_sys::window().expect_throw("a window");
    let capture = EventListenerOptions::run_in_capture_phase();
    EventListener::new_with_options(&window, "visibilitychange", capture, |event| {
        if hidden() {
            let at = event.time_stamp();
            with_state(|state| state.on_hidden(at));
        }
    })
    .forget();
    EventListener::new_with_options(&window, "pagehide", capture, |_| {
        with_state(State::flush);
    })
    .forget();
    EventListener::new_with_options(&window, "pageshow", capture, |event| {
        let persisted = js_sys::Reflect::get(event, &JsValue::from_str("persisted"))
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if persisted {
            let at = event.time_stamp();
            with_state(|state| state.on_restore(at));
        }
    })
    .forget();

    let lcp = observe(&["largest-contentful-paint"], None, State::on_lcp_entries);
    let fcp = observe(&["paint"], None, State::on_paint_entries);
    let supports_inp = js_sys::Reflect::get(&window, &JsValue::from_str("PerformanceEventTiming"))
        .ok()
        .filter(|class| !class.is_undefined())
        .and_then(|class| js_sys::Reflect::get(&class, &JsValue::from_str("prototype")).ok())
        .is_some_and(|proto| {
            js_sys::Reflect::has(&proto, &JsValue::from_str("interactionId")).unwrap_or(false)
        });
    let count_polyfill = (supports_inp && !has_interaction_count())
        .then(|| observe(&["event"], Some(0.0), State::on_count_entries))
        .flatten()
        .map(|observer| CountPolyfill {
            min: f64::INFINITY,
            max: 0.0,
            _observer: observer,
        });
    let inp = supports_inp
        .then(|| {
            observe(
                &["event", "first-input"],
                Some(DURATION_THRESHOLD),
                State::on_event_entries,
            )
        })
        .flatten();

    // LCP is final at the first trusted key press or click, or when the page is hidden. The
    // listeners stay (they do nothing once it is): one may be running when LCP is finalized.
    if lcp.is_some() {
        for kind in ["keydown", "click", "visibilitychange"] {
            EventListener::new_with_options(&window, kind, capture, |event| {
                if event.is_trusted() {
                    with_state(|state| {
                        if !state.lcp_final {
                            state.when_idle_or_hidden(State::finalize_lcp);
                        }
                    });
                }
            })
            .forget();
        }
    }
    with_state(|state| {
        state.lcp_observer = lcp;
        state.fcp_observer = fcp;
        state.inp_observer = inp;
        state.count_polyfill = count_polyfill;
    });

    // TTFB once the page has loaded (it has, by the time the islands wake).
    let ttfb = || {
        Timeout::new(0, || {
            with_state(State::measure_ttfb);
        })
        .forget();
    };
    if document().ready_state() == "complete" {
        ttfb();
    } else {
        EventListener::once(&window, "load", move |_| ttfb()).forget();
    }
}

fn has_interaction_count() -> bool {
    web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w, &JsValue::from_str("performance")).ok())
        .is_some_and(|p| {
            js_sys::Reflect::has(&p, &JsValue::from_str("interactionCount")).unwrap_or(false)
        })
}

/// Interactions on the page so far (`performance.interactionCount`, or web-vitals' estimate
/// from interaction ids where the browser lacks it).
fn interaction_count(polyfill: Option<&CountPolyfill>) -> u64 {
    let count = match polyfill {
        Some(p) if p.max > 0.0 => (p.max - p.min) / 7.0 + 1.0,
        Some(_) => 0.0,
        None => web_sys::window()
            .and_then(|w| js_sys::Reflect::get(&w, &JsValue::from_str("performance")).ok())
            .and_then(|p| js_sys::Reflect::get(&p, &JsValue::from_str("interactionCount")).ok())
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0),
    };
    count.max(0.0) as u64
}

/// Calls `f` after two animation frames (web-vitals' `doubleRAF`).
fn double_raf(f: fn(&mut State)) {
    let second = Closure::once_into_js(move || {
        with_state(f);
    });
    let first = Closure::once_into_js(move || {
        request_animation_frame(second.unchecked_ref());
    });
    request_animation_frame(first.unchecked_ref());
}

impl State {
    /// Queues a metric's value for the next beacon if `bindReporter` would report it now.
    fn report(&mut self, name: Name, force: bool) {
        let metric = match name {
            Name::Lcp => &mut self.lcp,
            Name::Fcp => &mut self.fcp,
            Name::Inp => &mut self.inp,
            Name::Ttfb => &mut self.ttfb,
            Name::Cls => match &mut self.cls {
                Some(cls) => &mut cls.metric,
                None => return,
            },
        };
        let Some(delta) = metric.reporter.report(metric.value, force) else {
            return;
        };
        let (id, value) = (metric.id.clone(), metric.value);
        let attribution = self.attribution(name);
        self.queue.retain(|q| q.id != id);
        self.queue.push(Queued {
            name,
            id,
            value,
            delta,
            attribution,
        });
    }

    /// web-vitals' `whenIdleOrHidden`: `task` runs when the browser is next idle (within a
    /// second), or at once when the page is, or becomes, hidden.
    fn when_idle_or_hidden(&mut self, task: fn(&mut State)) {
        if hidden() {
            task(self);
            return;
        }
        self.idle.push(task);
        if self.idle_scheduled {
            return;
        }
        self.idle_scheduled = true;
        let run = Closure::once_into_js(|| {
            with_state(State::run_idle);
        });
        let options = js_sys::Object::new();
        set(&options, "timeout", &JsValue::from_f64(1000.0));
        if request_idle_callback(run.unchecked_ref(), &options).is_err() {
            Timeout::new(0, || {
                with_state(State::run_idle);
            })
            .forget();
        }
    }

    fn run_idle(&mut self) {
        self.idle_scheduled = false;
        for task in std::mem::take(&mut self.idle) {
            task(self);
        }
    }

    /// The page is hidden (at `at`): finish what waits, report what is final, and send.
    fn on_hidden(&mut self, at: f64) {
        self.run_idle();
        self.finalize_lcp();
        if let Some(cls) = &self.cls {
            let records = sorted(cls.observer.take_records(), false);
            self.on_shift_entries(records);
            self.report(Name::Cls, true);
        }
        if let Some(observer) = &self.inp_observer {
            let records = sorted(observer.take_records(), false);
            self.pending_events.extend(records);
            self.process_events();
            self.report(Name::Inp, true);
        }
        if !self.first_hidden.is_finite() {
            self.first_hidden = at;
        }
        self.flush();
    }

    /// Sends what is queued, as one beacon.
    fn flush(&mut self) {
        if self.queue.is_empty() {
            return;
        }
        let body = self.beacon();
        self.queue.clear();
        send(&body);
    }

    /// The beacon's JSON (written by the browser's `JSON.stringify`, which writes numbers
    /// exactly as web-vitals' own would be sent).
    fn beacon(&self) -> String {
        let document = document();
        let page = document
            .location()
            .and_then(|l| l.pathname().ok())
            .filter(|p| p.starts_with('/'))
            .unwrap_or_else(|| "/".to_owned());
        let beacon = js_sys::Object::new();
        set(&beacon, "page", &JsValue::from_str(&page));
        set(&beacon, "view", &JsValue::from_str(&self.view));
        set(&beacon, "nav", &JsValue::from_str(self.nav));
        if let Some(ect) = effective_connection_type() {
            set(&beacon, "ect", &JsValue::from_str(ect));
        }
        set(&beacon, "ref", &JsValue::from_str(&document.referrer()));
        let metrics = js_sys::Array::new();
        for q in &self.queue {
            let metric = js_sys::Object::new();
            set(&metric, "name", &JsValue::from_str(q.name.as_str()));
            set(&metric, "id", &JsValue::from_str(&q.id));
            set(&metric, "value", &JsValue::from_f64(q.value));
            set(&metric, "delta", &JsValue::from_f64(q.delta));
            let rating = q.name.rating(q.value).as_str();
            set(&metric, "rating", &JsValue::from_str(rating));
            set(&metric, "attribution", &q.attribution);
            metrics.push(&metric);
        }
        set(&beacon, "metrics", &metrics);
        js_sys::JSON::stringify(&beacon)
            .ok()
            .and_then(|json| json.as_string())
            .unwrap_or_default()
    }

    // LCP (web-vitals' onLCP and attribution/onLCP).

    fn on_lcp_entries(&mut self, entries: Vec<Entry>) {
        if self.lcp_final {
            return;
        }
        // Without reportAllChanges only the last entry counts.
        let Some(entry) = entries.into_iter().last() else {
            return;
        };
        let target = match entry.element() {
            Some(node) => selector(Some(node)),
            None => entry
                .id()
                .filter(|id| !id.is_empty())
                .map(|id| format!("#{id}"))
                .unwrap_or_default(),
        };
        if entry.start_time() < self.first_hidden {
            self.lcp.value = (entry.start_time() - activation_start()).max(0.0);
            self.lcp_entry = Some(entry);
            self.lcp_target = target;
            self.report(Name::Lcp, false);
        }
    }

    fn finalize_lcp(&mut self) {
        if self.lcp_final {
            return;
        }
        self.lcp_final = true;
        if let Some(observer) = self.lcp_observer.take() {
            observer.disconnect();
        }
        self.report(Name::Lcp, true);
    }

    // FCP, and CLS once FCP is reported.

    fn on_paint_entries(&mut self, entries: Vec<Entry>) {
        let Some(entry) = entries
            .into_iter()
            .find(|e| e.name() == "first-contentful-paint")
        else {
            return;
        };
        if let Some(observer) = self.fcp_observer.take() {
            observer.disconnect();
        }
        if entry.start_time() < self.first_hidden {
            self.fcp.value = (entry.start_time() - activation_start()).max(0.0);
            self.fcp_entry = Some(entry);
            self.report(Name::Fcp, true);
            self.start_cls();
        }
    }

    fn start_cls(&mut self) {
        if self.cls.is_some() {
            return;
        }
        let Some(observer) = observe(&["layout-shift"], None, State::on_shift_entries) else {
            return;
        };
        self.cls = Some(Cls {
            metric: Metric::new(0.0),
            shifts: LayoutShifts::default(),
            seen: Vec::new(),
            observer,
        });
    }

    fn on_shift_entries(&mut self, entries: Vec<Entry>) {
        let Some(cls) = &mut self.cls else {
            return;
        };
        for entry in entries {
            let shift = Shift {
                start_time: entry.start_time(),
                value: entry.value(),
                had_recent_input: entry.had_recent_input(),
            };
            let target = if shift.had_recent_input {
                String::new()
            } else {
                largest_source_selector(&entry)
            };
            cls.shifts.add(cls.seen.len(), shift);
            cls.seen.push((shift.start_time, shift.value, target));
        }
        // The largest window so far: it only grows.
        cls.metric.value = cls.shifts.value;
        self.report(Name::Cls, false);
    }

    // INP (web-vitals' onINP, InteractionManager and attribution/onINP).

    fn on_event_entries(&mut self, entries: Vec<Entry>) {
        self.pending_events.extend(entries);
        self.when_idle_or_hidden(State::process_events);
    }

    fn on_count_entries(&mut self, entries: Vec<Entry>) {
        if let Some(polyfill) = &mut self.count_polyfill {
            for id in entries.iter().filter_map(Entry::interaction_id) {
                if id > 0.0 {
                    polyfill.min = polyfill.min.min(id);
                    polyfill.max = polyfill.max.max(id);
                }
            }
        }
    }

    fn process_events(&mut self) {
        for entry in std::mem::take(&mut self.pending_events) {
            let index = self.events_seen;
            self.events_seen += 1;
            let frame = self.frame_of(&entry);
            let event = EventEntry {
                interaction_id: entry.interaction_id().unwrap_or(0.0).max(0.0) as u64,
                first_input: entry.entry_type() == "first-input",
                duration: entry.duration(),
                start_time: entry.start_time(),
            };
            self.interactions.add(index, event);
            let candidate = self
                .interactions
                .longest
                .iter()
                .any(|i| i.entries.contains(&index));
            if candidate {
                self.facts.push((
                    index,
                    EventFacts {
                        name: entry.name(),
                        start_time: event.start_time,
                        duration: event.duration,
                        target: selector(entry.target()),
                        frame,
                    },
                ));
            }
        }
        let kept: Vec<usize> = self
            .interactions
            .longest
            .iter()
            .flat_map(|i| i.entries.iter().copied())
            .collect();
        self.facts.retain(|(index, _)| kept.contains(index));
        let count = interaction_count(self.count_polyfill.as_ref());
        if let Some(value) = self.interactions.value(count, self.restored_at.is_some())
            && value != self.inp.value
        {
            self.inp.value = value;
            self.report(Name::Inp, false);
        }
    }

    /// The number of the frame `entry` was presented in, merging it into a frame presented
    /// within [`SAME_FRAME`] ms.
    fn frame_of(&mut self, entry: &Entry) -> usize {
        let render_time = entry.start_time() + entry.duration();
        let found = self
            .frames
            .iter()
            .rposition(|f| (render_time - f.render_time).abs() <= SAME_FRAME);
        let at = match found {
            Some(at) => {
                let frame = &mut self.frames[at];
                frame.processing_start = frame.processing_start.min(entry.processing_start());
                frame.processing_end = frame.processing_end.max(entry.processing_end());
                at
            }
            None => {
                self.frames.push(Frame {
                    render_time,
                    processing_start: entry.processing_start(),
                    processing_end: entry.processing_end(),
                });
                self.frames.len() - 1
            }
        };
        let number = self.frames_dropped + at;
        if self.frames.len() > FRAMES_KEPT {
            let drop = self.frames.len() - FRAMES_KEPT;
            self.frames.drain(..drop);
            self.frames_dropped += drop;
        }
        number
    }

    // TTFB.

    fn measure_ttfb(&mut self) {
        if let Some(entry) = navigation_entry() {
            self.ttfb.value = (entry.response_start() - activation_start()).max(0.0);
            self.report(Name::Ttfb, true);
        }
    }

    // A bfcache restore: a new page view, every metric starting over with a new id.

    fn on_restore(&mut self, at: f64) {
        self.flush();
        self.view = new_id();
        self.nav = "back-forward-cache";
        self.restored_at = Some(at);
        Timeout::new(0, || {
            with_state(|state| {
                state.first_hidden = if hidden() { 0.0 } else { f64::INFINITY };
            });
        })
        .forget();

        self.lcp = Metric::new(-1.0);
        self.lcp_entry = None;
        self.lcp_target.clear();
        self.fcp = Metric::new(-1.0);
        self.fcp_entry = None;
        double_raf(|state| {
            let since = now() - state.restored_at.unwrap_or(0.0);
            state.lcp.value = since;
            state.lcp_final = true;
            state.report(Name::Lcp, true);
            state.fcp.value = since;
            state.report(Name::Fcp, true);
        });
        if let Some(cls) = &mut self.cls {
            cls.metric = Metric::new(0.0);
            cls.shifts = LayoutShifts::default();
            cls.seen.clear();
        }
        let count = interaction_count(self.count_polyfill.as_ref());
        self.interactions.reset(count);
        self.facts.clear();
        self.inp = Metric::new(-1.0);
        self.ttfb = Metric::new(0.0);
        self.report(Name::Ttfb, true);
    }

    // Attribution: a JSON object of the fields the server allows (server/src/vitals/beacon.rs).

    fn attribution(&self, name: Name) -> js_sys::Object {
        let mut out = Attribution::default();
        let restored = self.restored_at.is_some();
        match name {
            Name::Lcp => self.lcp_attribution(&mut out, restored),
            Name::Fcp => {
                let (ttfb, load_state) = match (&self.fcp_entry, navigation_entry()) {
                    (Some(fcp), Some(nav)) if !restored => (
                        (nav.response_start() - nav.activation_start().unwrap_or(0.0)).max(0.0),
                        load_state(fcp.start_time()),
                    ),
                    _ => (0.0, load_state(self.restored_at.unwrap_or(-1.0))),
                };
                out.millis("timeToFirstByte", ttfb);
                out.millis("firstByteToFCP", self.fcp.value - ttfb);
                out.text("loadState", load_state);
            }
            Name::Cls => {
                if let Some(cls) = &self.cls
                    && let Some((start, _, target)) =
                        cls.shifts.largest.and_then(|i| cls.seen.get(i))
                {
                    if !target.is_empty() {
                        out.text("target", target);
                    }
                    out.text("loadState", load_state(*start));
                }
            }
            Name::Inp => self.inp_attribution(&mut out),
            Name::Ttfb => {
                if let Some(nav) = navigation_entry().filter(|_| !restored) {
                    let activation = nav.activation_start().unwrap_or(0.0);
                    let worker_or_fetch = match nav.worker_start() {
                        w if w > 0.0 => w,
                        _ => nav.fetch_start(),
                    };
                    let wait_end = (worker_or_fetch - activation).max(0.0);
                    let dns_start = (nav.domain_lookup_start() - activation).max(0.0);
                    let connect_start = (nav.connect_start() - activation).max(0.0);
                    let connect_end = (nav.connect_end() - activation).max(0.0);
                    out.millis("waitingDuration", wait_end);
                    out.millis("cacheDuration", dns_start - wait_end);
                    out.millis("dnsDuration", connect_start - dns_start);
                    out.millis("connectionDuration", connect_end - connect_start);
                    out.millis("requestDuration", self.ttfb.value - connect_end);
                } else {
                    for field in [
                        "waitingDuration",
                        "cacheDuration",
                        "dnsDuration",
                        "connectionDuration",
                        "requestDuration",
                    ] {
                        out.millis(field, 0.0);
                    }
                }
            }
        }
        out.finish()
    }

    fn lcp_attribution(&self, out: &mut Attribution, restored: bool) {
        let value = self.lcp.value;
        let (Some(entry), Some(nav)) = (&self.lcp_entry, navigation_entry().filter(|_| !restored))
        else {
            for (field, ms) in [
                ("timeToFirstByte", 0.0),
                ("resourceLoadDelay", 0.0),
                ("resourceLoadDuration", 0.0),
                ("elementRenderDelay", value),
            ] {
                out.millis(field, ms);
            }
            return;
        };
        if !self.lcp_target.is_empty() {
            out.text("element", &self.lcp_target);
        }
        let url = entry.url().unwrap_or_default();
        let resource: Option<Entry> = (!url.is_empty())
            .then(|| first(&entries_by_name(&url, "resource")))
            .flatten();
        if !url.is_empty() {
            out.text("url", &url);
        }
        let activation = nav.activation_start().unwrap_or(0.0);
        let ttfb = (nav.response_start() - activation).max(0.0);
        let request_start = ttfb.max(resource.as_ref().map_or(0.0, |r| {
            let start = match r.request_start() {
                s if s > 0.0 => s,
                _ => r.start_time(),
            };
            start - activation
        }));
        let response_end = value.min(
            request_start.max(
                resource
                    .as_ref()
                    .map_or(0.0, |r| r.response_end() - activation),
            ),
        );
        out.millis("timeToFirstByte", ttfb);
        out.millis("resourceLoadDelay", request_start - ttfb);
        out.millis("resourceLoadDuration", response_end - request_start);
        out.millis("elementRenderDelay", value - response_end);
    }

    fn inp_attribution(&self, out: &mut Attribution) {
        let count = interaction_count(self.count_polyfill.as_ref());
        let first = self
            .interactions
            .estimate(count)
            .and_then(|i| i.entries.first())
            .and_then(|index| self.facts.iter().find(|(i, _)| i == index))
            .map(|(_, facts)| facts);
        let Some(first) = first else {
            out.millis("inputDelay", 0.0);
            out.millis("processingDuration", 0.0);
            out.millis("presentationDelay", self.inp.value);
            out.text("loadState", load_state(self.restored_at.unwrap_or(0.0)));
            return;
        };
        let frame = first
            .frame
            .checked_sub(self.frames_dropped)
            .and_then(|at| self.frames.get(at))
            .copied();
        let next_paint = first.start_time + first.duration;
        let (processing_start, processing_end) = frame
            .map_or((first.start_time, next_paint), |f| {
                (f.processing_start, f.processing_end)
            });
        let next_paint = next_paint.max(processing_start);
        let processing_end = processing_end.min(next_paint);
        if !first.target.is_empty() {
            out.text("target", &first.target);
        }
        out.text("type", &first.name);
        out.text("loadState", load_state(first.start_time));
        out.millis("inputDelay", processing_start - first.start_time);
        out.millis("processingDuration", processing_end - processing_start);
        out.millis("presentationDelay", next_paint - processing_end);
    }
}

/// An attribution object under construction.
struct Attribution(js_sys::Object);

impl Default for Attribution {
    fn default() -> Self {
        Self(js_sys::Object::new())
    }
}

impl Attribution {
    fn text(&mut self, key: &str, value: &str) {
        // The server takes at most 500 characters.
        let cut: String = value.chars().take(500).collect();
        set(&self.0, key, &JsValue::from_str(&cut));
    }

    /// A duration, kept within what the server accepts (0 to ten minutes).
    fn millis(&mut self, key: &str, value: f64) {
        let value = if value.is_finite() {
            value.clamp(0.0, 600_000.0)
        } else {
            0.0
        };
        set(&self.0, key, &JsValue::from_f64(value));
    }

    fn finish(self) -> js_sys::Object {
        self.0
    }
}

fn effective_connection_type() -> Option<&'static str> {
    let navigator = web_sys::window()?.navigator();
    let connection = js_sys::Reflect::get(&navigator, &JsValue::from_str("connection")).ok()?;
    let kind = js_sys::Reflect::get(&connection, &JsValue::from_str("effectiveType"))
        .ok()?
        .as_string()?;
    ["4g", "3g", "2g", "slow-2g"]
        .into_iter()
        .find(|known| *known == kind)
}

/// web-vitals' `getLoadState`: how far the page had loaded at `time`.
fn load_state(time: f64) -> &'static str {
    if document().ready_state() == "loading" {
        return "loading";
    }
    if let Some(nav) = navigation_entry() {
        if time < nav.dom_interactive() {
            return "loading";
        }
        let dcl = nav.dom_content_loaded_event_start();
        if dcl == 0.0 || time < dcl {
            return "dom-interactive";
        }
        let complete = nav.dom_complete();
        if complete == 0.0 || time < complete {
            return "dom-content-loaded";
        }
    }
    "complete"
}

/// The selector of a layout shift's largest source: the first that is an element, else the
/// first.
fn largest_source_selector(entry: &Entry) -> String {
    let Some(sources) = entry.sources() else {
        return String::new();
    };
    let sources: Vec<ShiftSource> = sources.iter().map(JsCast::unchecked_into).collect();
    let source = sources
        .iter()
        .find(|s| {
            s.node()
                .is_some_and(|n| n.node_type() == web_sys::Node::ELEMENT_NODE)
        })
        .or(sources.first());
    source.map_or_else(String::new, |s| selector(s.node()))
}

/// A short CSS selector for `node`, as web-vitals' `getSelector` makes it: names and sorted
/// classes up to the nearest ancestor with an id, at most 100 characters.
fn selector(mut node: Option<web_sys::Node>) -> String {
    let mut out = String::new();
    while let Some(current) = node {
        if current.node_type() == web_sys::Node::DOCUMENT_NODE {
            break;
        }
        let element = current.dyn_ref::<web_sys::Element>();
        let id = element
            .map(web_sys::Element::id)
            .filter(|id| !id.is_empty());
        let part = match &id {
            Some(id) => format!("#{id}"),
            None => {
                // ASCII case, as HTML's names are: Unicode's case tables would double the
                // collector's size.
                let mut name = current.node_name();
                if current.node_type() == web_sys::Node::ELEMENT_NODE {
                    name.make_ascii_lowercase();
                } else {
                    name.make_ascii_uppercase();
                    name = name.trim_start_matches('#').to_owned();
                }
                // Sorted as JavaScript sorts them (by UTF-16 code units), and by its sort.
                let classes = element.map_or_else(js_sys::Array::new, |e| {
                    js_sys::Array::from(&e.class_list()).sort()
                });
                classes.unshift(&JsValue::from_str(&name));
                String::from(classes.join("."))
            }
        };
        let length = |s: &str| s.encode_utf16().count();
        if length(&out) + length(&part) > SELECTOR_MAX - 1 {
            return if out.is_empty() { part } else { out };
        }
        out = if out.is_empty() {
            part
        } else {
            format!("{part}>{out}")
        };
        if id.is_some() {
            break;
        }
        node = current.parent_node();
    }
    out
}

/// Sends a beacon: `sendBeacon` with a JSON blob, or `fetch` with `keepalive` where the browser
/// refuses it.
fn send(body: &str) {
    let parts = js_sys::Array::of1(&JsValue::from_str(body));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let sent = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .ok()
        .and_then(|blob| send_beacon(ENDPOINT, &blob).ok())
        .unwrap_or(false);
    if sent {
        return;
    }
    let init = js_sys::Object::new();
    set(&init, "method", &JsValue::from_str("POST"));
    set(&init, "body", &JsValue::from_str(body));
    set(&init, "keepalive", &JsValue::TRUE);
    set(&init, "credentials", &JsValue::from_str("omit"));
    let headers = js_sys::Object::new();
    set(
        &headers,
        "content-type",
        &JsValue::from_str("application/json"),
    );
    set(&init, "headers", &headers);
    // A failure has nowhere to be reported; it must not become an unhandled rejection.
    let ignore = Closure::<dyn FnMut(JsValue)>::new(|_| {});
    let _ = fetch_with(ENDPOINT, &init).catch(&ignore);
    ignore.forget();
}
