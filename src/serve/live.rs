//! The live reading the pages and the API share, and the event stream.
//!
//! One status reading serves every client: a request takes the cached
//! reading while it is younger than the refresh interval, and one reader
//! at a time refreshes it (single flight), so fifty polling clients cost
//! AWS what one does. While that refresh is under way, the other requests
//! take the reading there is rather than wait for AWS (waiting made every
//! request that came during a refresh as slow as the refresh: the p99 of
//! `benches/serve_load.rs`). A background task refreshes the reading
//! every interval while someone holds the event stream (and not otherwise: an
//! idle server makes no AWS calls), and right away after an action, and
//! broadcasts it as a `status` event. Actions' progress and reports go
//! out on the same stream.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, Mutex, Notify};

use crate::aws::Aws;
use crate::config::Deployment;
use crate::ops::status::StatusReading;
use crate::output::Envelope;

/// One event of `GET /api/events`: its SSE `event:` name and its JSON.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    /// `status`, `progress` or `action`.
    pub name: &'static str,
    pub data: Arc<String>,
}

/// The shared reading and the broadcast of events.
pub struct Live {
    aws: Aws,
    deployment: Arc<Deployment>,
    pub refresh: Duration,
    /// The last reading and when it was taken; locked only to copy or
    /// replace it, never across an AWS call.
    cached: std::sync::Mutex<Option<(Instant, Arc<StatusReading>)>>,
    /// Held by the one reader refreshing the reading (single flight).
    refreshing: Mutex<()>,
    events: broadcast::Sender<LiveEvent>,
    wake: Notify,
}

impl Live {
    pub fn new(aws: Aws, deployment: Arc<Deployment>, refresh: Duration) -> Self {
        // A slow client that falls this far behind misses events and
        // gets the next status in full (the stream says so).
        let (events, _) = broadcast::channel(256);
        Self {
            aws,
            deployment,
            refresh,
            cached: std::sync::Mutex::new(None),
            refreshing: Mutex::new(()),
            events,
            wake: Notify::new(),
        }
    }

    /// The reading, at most `refresh` old; reads AWS when it is older,
    /// unless another request is reading it already: then the reading
    /// there is (its `read_at` says how old), without waiting.
    pub async fn reading(&self) -> anyhow::Result<Arc<StatusReading>> {
        self.read(self.refresh, true).await
    }

    /// The cached reading if it is younger than `max_age`; any cached
    /// reading with `max_age` `None`.
    fn cached(&self, max_age: Option<Duration>) -> Option<Arc<StatusReading>> {
        let cached = self.cached.lock().ok()?;
        let (at, r) = cached.as_ref()?;
        max_age
            .is_none_or(|max| at.elapsed() < max)
            .then(|| Arc::clone(r))
    }

    async fn read(
        &self,
        max_age: Duration,
        may_be_stale: bool,
    ) -> anyhow::Result<Arc<StatusReading>> {
        if let Some(r) = self.cached(Some(max_age)) {
            return Ok(r);
        }
        let _refreshing = match self.refreshing.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                if may_be_stale {
                    if let Some(r) = self.cached(None) {
                        return Ok(r);
                    }
                }
                let guard = self.refreshing.lock().await;
                // The refresh we waited for may be fresh enough.
                if let Some(r) = self.cached(Some(max_age)) {
                    return Ok(r);
                }
                guard
            }
        };
        // Every AWS call has its own timeout; this bounds the whole
        // reading, so a hung refresh cannot hold the lock for ever.
        let limit = self.aws.timeouts.wait(self.aws.timeouts.call);
        let reading =
            tokio::time::timeout(limit, crate::ops::status::read(&self.aws, &self.deployment))
                .await
                .map_err(|_| {
                    crate::aws::TimedOut::wait("the status reading is not complete", limit)
                })??;
        let reading = Arc::new(reading);
        if let Ok(mut cached) = self.cached.lock() {
            *cached = Some((Instant::now(), Arc::clone(&reading)));
        }
        Ok(reading)
    }

    /// Subscribes to the event stream.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.events.subscribe()
    }

    /// Sends an event to every subscriber (none is fine).
    pub fn send(&self, name: &'static str, data: String) {
        let _ = self.events.send(LiveEvent {
            name,
            data: Arc::new(data),
        });
    }

    /// Asks for a fresh reading now (after an action): the cached one
    /// predates the action, so no request gets it any more.
    pub fn refresh_now(&self) {
        if let Ok(mut cached) = self.cached.lock() {
            *cached = None;
        }
        self.wake.notify_one();
    }

    /// The status document of `reading`, as `status --output json` prints
    /// it.
    pub fn document(reading: &StatusReading) -> String {
        serde_json::to_string(&Envelope::new("status", reading)).unwrap_or_default()
    }

    /// Refreshes and broadcasts while anyone listens; runs until the
    /// server stops.
    pub async fn run(self: Arc<Self>) {
        loop {
            let woken = tokio::select! {
                () = self.wake.notified() => true,
                () = tokio::time::sleep(self.refresh) => false,
            };
            if !woken && self.events.receiver_count() == 0 {
                continue;
            }
            let max_age = if woken {
                Duration::ZERO
            } else {
                self.refresh / 2
            };
            // The refresher waits for a refresh under way: what it
            // broadcasts is new.
            match self.read(max_age, false).await {
                Ok(r) => self.send("status", Self::document(&r)),
                Err(e) => self.send("error", super::api::ApiError::aws(&e).to_json()),
            }
        }
    }
}
