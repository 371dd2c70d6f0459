//! Group commit: beacons are written many at a time, and answered once committed.
//!
//! A handler hands its checked beacon to [`Writer::write`] and waits. The writer task takes
//! every beacon waiting, in the order they came (up to [`MAX_VALUES`] values), writes them in
//! one transaction (one statement of multi-row `unnest` inserts), and only once that has
//! committed answers every handler in it. So an answered beacon is committed, and the cost of
//! a commit is shared by everyone who arrived meanwhile. A commit starts at once when none is
//! running, so a beacon at a quiet moment waits for nothing but its own commit. Up to
//! [`IN_FLIGHT`] commits run at once, each on its own connection; one beside a running commit
//! starts once the oldest waiting beacon has waited [`GATHER`] (or a full commit waits), so
//! under load the database works on one batch while the next gathers.
//!
//! Two commits in flight never touch the same row: a beacon reporting a page view or metric
//! id that a running commit writes waits for the next commit after it (and so does every
//! later beacon with one of its ids). So a re-reported value is written after the report it
//! replaces, the latest report wins, and commits never wait on each other's locks. If a commit
//! fails, every one of its beacons is told, and none is answered as stored.
//!
//! The queue is bounded ([`QUEUE`] beacons in the channel, as many again waiting): when it
//! is full a beacon is refused at once rather than held, so a flood costs a fixed amount of
//! memory.

use super::beacon::{Name, Rating};
use sqlx::PgPool;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};
use time::Date;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

/// How long the oldest waiting beacon waits for company before a commit starts beside one
/// already running (none when no commit is running).
const GATHER: Duration = Duration::from_millis(2);
/// Most values (metrics and page views) in one commit.
pub const MAX_VALUES: usize = 4096;
/// Beacons waiting for the writer, at most (and as many again taken from the channel).
const QUEUE: usize = 1024;
/// Commits running at once, at most. Measured (wrk and `bench/ingest.lua`) with every commit
/// starting at once: a third or fourth made commits smaller and the tail longer at 64
/// connections, for no gain at 16.
const IN_FLIGHT: usize = 2;

/// A page view, ready to store.
#[derive(Debug, Clone)]
pub struct View {
    pub id: String,
    pub day: Date,
    pub route: &'static str,
    pub device: &'static str,
    pub nav: &'static str,
    pub ect: Option<&'static str>,
    pub referrer_host: Option<String>,
    pub visitor: [u8; 32],
}

/// A metric value, ready to store.
#[derive(Debug, Clone)]
pub struct Value {
    pub id: String,
    pub name: Name,
    pub value: f64,
    pub rating: Rating,
    pub bin: i16,
    pub attribution: serde_json::Value,
}

/// One beacon: a page view and the values it reports.
#[derive(Debug, Clone)]
pub struct Batch {
    pub view: View,
    pub values: Vec<Value>,
}

impl Batch {
    /// The values it stores: its metrics and its page view.
    fn len(&self) -> usize {
        self.values.len() + 1
    }

    /// The page view's id and the metric ids.
    fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.view.id.as_str()).chain(self.values.iter().map(|v| v.id.as_str()))
    }
}

/// Why a beacon was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("the queue of beacons waiting to be written is full")]
    Busy,
    #[error("the commit failed")]
    Failed,
}

struct Job {
    batch: Batch,
    queued: Instant,
    done: oneshot::Sender<bool>,
}

/// The handle handlers write through; the task behind it ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task (inside the current Tokio runtime).
    pub fn start(pool: PgPool) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, jobs));
        Self { queue }
    }

    /// Stores a beacon; returns once the transaction holding it has committed.
    pub async fn write(&self, batch: Batch) -> Result<(), WriteError> {
        self.queue(batch)?.await
    }

    /// Queues a beacon now (beacons are written in the order they are queued); what it returns
    /// resolves once the transaction holding it has committed.
    pub fn queue(
        &self,
        batch: Batch,
    ) -> Result<impl Future<Output = Result<(), WriteError>> + use<>, WriteError> {
        let (done, committed) = oneshot::channel();
        self.queue
            .try_send(Job {
                batch,
                queued: Instant::now(),
                done,
            })
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => WriteError::Busy,
                mpsc::error::TrySendError::Closed(_) => WriteError::Failed,
            })?;
        Ok(async move {
            match committed.await {
                Ok(true) => Ok(()),
                _ => Err(WriteError::Failed),
            }
        })
    }
}

async fn run(pool: PgPool, mut jobs: mpsc::Receiver<Job>) {
    let mut waiting = Waiting::default();
    let mut flying = JoinSet::new();
    let mut open = true;
    loop {
        // Whatever has arrived goes into the next commit, not just the first beacon of it.
        while open && waiting.jobs.len() < QUEUE {
            match jobs.try_recv() {
                Ok(job) => waiting.push(job),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => open = false,
            }
        }
        while waiting.is_due(flying.len(), open) {
            let gathered = waiting.take();
            if gathered.is_empty() {
                break;
            }
            let ids: Vec<String> = gathered
                .iter()
                .flat_map(|job| job.batch.ids().map(str::to_owned))
                .collect();
            let task = flying.spawn(write(pool.clone(), gathered)).id();
            waiting.busy.extend(ids.into_iter().map(|id| (id, task)));
        }
        if !open && waiting.jobs.is_empty() && flying.is_empty() {
            return;
        }
        let due = waiting.due_at(flying.len());
        tokio::select! {
            () = sleep_until(due), if due.is_some() => {}
            job = jobs.recv(), if open && waiting.jobs.len() < QUEUE => match job {
                Some(job) => waiting.push(job),
                None => open = false,
            },
            Some(ended) = flying.join_next_with_id() => {
                // A commit task that panicked dropped its handlers' answers: they were told
                // it failed.
                waiting.finished(match ended {
                    Ok((task, ())) => task,
                    Err(error) => error.id(),
                });
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

/// The beacons not yet in a commit, and the ids the commits in flight are writing.
#[derive(Default)]
struct Waiting {
    jobs: VecDeque<Job>,
    /// The values of `jobs`.
    values: usize,
    /// Each id a commit in flight writes, and that commit's task.
    busy: HashMap<String, tokio::task::Id>,
    /// Every beacon waiting has an id a commit in flight writes: none can go in a commit
    /// until one of those ends or another beacon arrives.
    stalled: bool,
}

impl Waiting {
    fn push(&mut self, job: Job) {
        self.values += job.batch.len();
        self.jobs.push_back(job);
        self.stalled = false;
    }

    /// The commit run by `task` has ended (or its task panicked): its ids are free again.
    fn finished(&mut self, task: tokio::task::Id) {
        self.busy.retain(|_, writer| *writer != task);
        self.stalled = false;
    }

    fn oldest(&self) -> Option<Instant> {
        self.jobs.front().map(|job| job.queued)
    }

    /// Whether a commit should start now, with `flying` commits running: never when none more
    /// may run or every beacon waiting is held back; at once when none is running or no more
    /// beacons will come; beside a running one once the oldest beacon has waited [`GATHER`]
    /// or a full commit waits.
    fn is_due(&self, flying: usize, open: bool) -> bool {
        self.may_start(flying)
            && self.oldest().is_some_and(|queued| {
                flying == 0 || !open || self.values >= MAX_VALUES || queued.elapsed() >= GATHER
            })
    }

    /// When the oldest beacon will have gathered long enough, if a commit may start then.
    fn due_at(&self, flying: usize) -> Option<Instant> {
        self.oldest()
            .filter(|_| self.may_start(flying))
            .map(|queued| queued + GATHER)
    }

    fn may_start(&self, flying: usize) -> bool {
        flying < IN_FLIGHT && !self.stalled
    }

    /// The beacons for the next commit, in order, up to [`MAX_VALUES`] values: all but those
    /// with an id a commit in flight writes, or one of those left behind does.
    fn take(&mut self) -> Vec<Job> {
        let mut gathered = Vec::new();
        let mut values = 0;
        let mut left = VecDeque::new();
        // The ids of beacons left behind (rare: a page reporting again within milliseconds).
        let mut held: HashSet<String> = HashSet::new();
        let mut jobs = std::mem::take(&mut self.jobs).into_iter();
        for job in jobs.by_ref() {
            let blocked = job
                .batch
                .ids()
                .any(|id| self.busy.contains_key(id) || held.contains(id));
            if blocked {
                held.extend(job.batch.ids().map(str::to_owned));
                left.push_back(job);
                continue;
            }
            let size = job.batch.len();
            if values + size > MAX_VALUES && !gathered.is_empty() {
                left.push_back(job);
                break;
            }
            values += size;
            gathered.push(job);
        }
        left.extend(jobs);
        self.jobs = left;
        self.values -= values;
        self.stalled = gathered.is_empty();
        gathered
    }
}

/// Writes one commit's beacons and answers their handlers.
async fn write(pool: PgPool, gathered: Vec<Job>) {
    let batches: Vec<&Batch> = gathered.iter().map(|job| &job.batch).collect();
    let committed = match commit(&pool, &batches).await {
        Ok(()) => true,
        Err(error) => {
            tracing::error!(%error, beacons = batches.len(), "storing Web Vitals failed");
            false
        }
    };
    for job in gathered {
        // A handler that stopped waiting (its client went away) is no one's loss.
        let _ = job.done.send(committed);
    }
}

/// Writes the beacons: their page views (the first beacon of a view creates it) and their
/// values (a re-reported id replaces the value it had; one reported under an id another view
/// or metric owns changes nothing). One statement is one transaction, so the views and values
/// commit together, in a single round trip to the database.
async fn commit(pool: &PgPool, batches: &[&Batch]) -> Result<(), sqlx::Error> {
    let views = ViewColumns::from(batches);
    let values = ValueColumns::from(batches);
    sqlx::query!(
        r#"
        with new_views as (
            insert into vitals_views (view_id, day, route, device, nav, referrer_host, visitor)
            select * from unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::text[],
                                 $6::text[], $7::bytea[])
            on conflict (view_id) do nothing
        )
        insert into vitals_metrics
            (metric_id, view_id, day, name, value, rating, bin, route, device, nav, ect, attribution)
        select * from unnest($8::text[], $9::text[], $10::date[], $11::text[], $12::float8[],
                             $13::text[], $14::int2[], $15::text[], $16::text[], $17::text[],
                             $18::text[], $19::jsonb[])
        on conflict (metric_id) do update
            set value = excluded.value, rating = excluded.rating, bin = excluded.bin,
                attribution = excluded.attribution, updated_at = now()
            where vitals_metrics.view_id = excluded.view_id
              and vitals_metrics.name = excluded.name
        "#,
        &views.id,
        &views.day,
        &views.route as &[&str],
        &views.device as &[&str],
        &views.nav as &[&str],
        &views.referrer_host as &[Option<String>],
        &views.visitor,
        &values.id,
        &values.view_id,
        &values.day,
        &values.name as &[&str],
        &values.value,
        &values.rating as &[&str],
        &values.bin,
        &values.route as &[&str],
        &values.device as &[&str],
        &values.nav as &[&str],
        &values.ect as &[Option<&str>],
        &values.attribution,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The page views of a commit, one array per column (for `unnest`).
#[derive(Default)]
struct ViewColumns {
    id: Vec<String>,
    day: Vec<Date>,
    route: Vec<&'static str>,
    device: Vec<&'static str>,
    nav: Vec<&'static str>,
    referrer_host: Vec<Option<String>>,
    visitor: Vec<Vec<u8>>,
}

impl ViewColumns {
    fn from(batches: &[&Batch]) -> Self {
        // Duplicate view ids are fine here: `do nothing` skips them.
        let mut columns = Self::default();
        for batch in batches {
            let view = &batch.view;
            columns.id.push(view.id.clone());
            columns.day.push(view.day);
            columns.route.push(view.route);
            columns.device.push(view.device);
            columns.nav.push(view.nav);
            columns.referrer_host.push(view.referrer_host.clone());
            columns.visitor.push(view.visitor.to_vec());
        }
        columns
    }
}

/// The values of a commit, one array per column, each metric id once.
#[derive(Default)]
struct ValueColumns {
    id: Vec<String>,
    view_id: Vec<String>,
    day: Vec<Date>,
    name: Vec<&'static str>,
    value: Vec<f64>,
    rating: Vec<&'static str>,
    bin: Vec<i16>,
    route: Vec<&'static str>,
    device: Vec<&'static str>,
    nav: Vec<&'static str>,
    ect: Vec<Option<&'static str>>,
    attribution: Vec<serde_json::Value>,
}

impl ValueColumns {
    fn from(batches: &[&Batch]) -> Self {
        // `on conflict do update` may not touch one row twice in a statement, so an id
        // reported twice in one commit is written once, with its latest report.
        let mut latest: HashMap<&str, (&View, &Value)> = HashMap::new();
        let mut order: Vec<&str> = Vec::new();
        for batch in batches {
            for value in &batch.values {
                if latest.insert(&value.id, (&batch.view, value)).is_none() {
                    order.push(&value.id);
                }
            }
        }
        let mut columns = Self::default();
        for (view, value) in order.iter().filter_map(|id| latest.get(id)) {
            columns.id.push(value.id.clone());
            columns.view_id.push(view.id.clone());
            columns.day.push(view.day);
            columns.name.push(value.name.as_str());
            columns.value.push(value.value);
            columns.rating.push(value.rating.as_str());
            columns.bin.push(value.bin);
            columns.route.push(view.route);
            columns.device.push(view.device);
            columns.nav.push(view.nav);
            columns.ect.push(view.ect);
            columns.attribution.push(value.attribution.clone());
        }
        columns
    }
}
