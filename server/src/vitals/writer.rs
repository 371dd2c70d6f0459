//! Group commit: one task writes every beacon, many at a time.
//!
//! A handler hands its checked beacon to [`Writer::write`] and waits. The writer takes the
//! first beacon waiting and everything queued behind it, waits for more until that first
//! beacon has waited [`GATHER`] (up to [`MAX_VALUES`] values), writes them all in one
//! transaction (one statement of multi-row `unnest` inserts), and only once it has committed
//! answers every waiting handler. So an answered beacon is committed, and the cost of a commit is shared by
//! everyone who arrived meanwhile. Under load the beacons queued during one commit have
//! waited long enough by the time it ends, so the next commit starts at once; a lone beacon
//! waits at most [`GATHER`] for company. If the commit fails, every one of them is told, and
//! none is answered as stored.
//!
//! The queue is bounded ([`QUEUE`] beacons): when it is full the beacon is refused at once
//! rather than held, so a flood costs a fixed amount of memory.

use super::beacon::{Name, Rating};
use sqlx::PgPool;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use time::Date;
use tokio::sync::{mpsc, oneshot};

/// How long the first beacon of a commit may wait, from its arrival, for others to join it.
const GATHER: Duration = Duration::from_millis(2);
/// Most values (metrics and page views) in one commit.
const MAX_VALUES: usize = 4096;
/// Beacons waiting for the writer, at most.
const QUEUE: usize = 1024;

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
        match committed.await {
            Ok(true) => Ok(()),
            _ => Err(WriteError::Failed),
        }
    }
}

async fn run(pool: PgPool, mut jobs: mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let first_queued = first.queued;
        let mut values = first.batch.values.len() + 1;
        let mut gathered = vec![first];
        let deadline = first_queued + GATHER;
        while values < MAX_VALUES {
            let next = match jobs.try_recv() {
                Ok(job) => job,
                Err(_) if Instant::now() >= deadline => break,
                Err(_) => match tokio::time::timeout_at(deadline.into(), jobs.recv()).await {
                    Ok(Some(job)) => job,
                    _ => break,
                },
            };
            values += next.batch.values.len() + 1;
            gathered.push(next);
        }
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
