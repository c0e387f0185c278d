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
//!
//! The config the reading is of can change under a running server: the
//! admin page's form writes lunora.yaml, and anyone may edit it by hand.
//! [`Live::check_file`] compares the file's SHA-256 with the one last
//! loaded and swaps in the new config when it is valid (and names the
//! same account, Region and release store, which the AWS clients were
//! made for); otherwise the server keeps the config it has and says why.
//! It runs after every write through the form, before every AWS reading
//! and at every rendering of the admin page, so a file read costs one
//! read per refresh, not one per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
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
    /// The config served; swapped by [`Live::check_file`].
    deployment: ArcSwap<Deployment>,
    /// What the last look at the file found.
    file: std::sync::Mutex<FileSeen>,
    /// Counts the changes that make a reading under way out of date (a
    /// new config, an action): such a reading is answered to the request
    /// that asked for it but not cached.
    generation: AtomicU64,
    pub refresh: Duration,
    /// The last reading and when it was taken; locked only to copy or
    /// replace it, never across an AWS call.
    cached: std::sync::Mutex<Option<(Instant, Arc<StatusReading>)>>,
    /// Held by the one reader refreshing the reading (single flight).
    refreshing: Mutex<()>,
    events: broadcast::Sender<LiveEvent>,
    wake: Notify,
}

/// The config file as last looked at.
#[derive(Debug, Default)]
struct FileSeen {
    /// SHA-256 of its bytes (empty before the first look).
    digest: String,
    /// Why those bytes are not the config served, if they are not.
    problem: Option<String>,
}

/// What [`Live::check_file`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileCheck {
    /// The file is the config served (unchanged, or swapped in now).
    Serving,
    /// The file changed but is not served; why, in one line.
    Kept(String),
}

impl Live {
    pub fn new(aws: Aws, deployment: Arc<Deployment>, refresh: Duration) -> Self {
        // A slow client that falls this far behind misses events and
        // gets the next status in full (the stream says so).
        let (events, _) = broadcast::channel(256);
        Self {
            aws,
            // The bytes it was loaded from are not known here: the first
            // look at the file loads it again (quietly).
            deployment: ArcSwap::new(deployment),
            file: std::sync::Mutex::default(),
            generation: AtomicU64::new(0),
            refresh,
            cached: std::sync::Mutex::new(None),
            refreshing: Mutex::new(()),
            events,
            wake: Notify::new(),
        }
    }

    /// The config served now.
    pub fn deployment(&self) -> Arc<Deployment> {
        self.deployment.load_full()
    }

    /// Looks at the config file: when its bytes changed since the last
    /// look, loads them and serves them from now on (the cached reading
    /// is dropped, the event stream gets a new one), unless they are
    /// invalid or name another account, Region or release store. Then
    /// the config served stays, and the answer (and one log line per
    /// change of the file) says why.
    pub fn check_file(&self) -> FileCheck {
        let Ok(mut seen) = self.file.lock() else {
            return FileCheck::Serving;
        };
        let current = self.deployment();
        let path = current.path.clone();
        let text = match crate::fsread::read_to_string_bounded(
            &path,
            crate::fsread::CONFIG_LIMIT,
            "config file",
        ) {
            Ok(t) => t,
            Err(e) => {
                let problem = format!(
                    "{}; this server keeps serving the config it loaded before",
                    e.diagnostic("check the file's permissions")
                );
                if seen.problem.as_deref() != Some(problem.as_str()) {
                    crate::output::write_stderr(&format!("lunora serve: {problem}\n"));
                }
                seen.digest.clear();
                seen.problem = Some(problem.clone());
                return FileCheck::Kept(problem);
            }
        };
        let digest = super::edit::digest(&text);
        if digest == seen.digest {
            return seen
                .problem
                .clone()
                .map_or(FileCheck::Serving, FileCheck::Kept);
        }
        let first_look = seen.digest.is_empty() && seen.problem.is_none();
        seen.digest = digest;
        let problem = match crate::config::load_text(&path, &text) {
            Ok(new) => match Self::incompatible(&current, &new) {
                None => {
                    let count = new.destinations.len();
                    self.deployment.store(Arc::new(new));
                    self.invalidate();
                    if !first_look {
                        crate::output::write_stderr(&format!(
                            "lunora serve: {} changed; serving it now ({})\n",
                            path.display(),
                            crate::progress::count(count, "destination")
                        ));
                    }
                    None
                }
                Some(field) => Some(format!(
                    "{} changed its `{field}`: this server keeps serving the config it started with; restart `lunora serve` to serve the new one",
                    path.display()
                )),
            },
            Err(d) => Some(format!(
                "{} changed but is invalid ({}; `lunora validate` lists {}): this server keeps serving the config it loaded before",
                path.display(),
                d.0.first().map(ToString::to_string).unwrap_or_default(),
                crate::progress::count(d.0.len(), "problem")
            )),
        };
        if let Some(p) = &problem {
            crate::output::write_stderr(&format!("lunora serve: {p}\n"));
        }
        seen.problem.clone_from(&problem);
        problem.map_or(FileCheck::Serving, FileCheck::Kept)
    }

    /// The field of `new` the server cannot follow without a restart: the
    /// AWS clients were made for the old account, Region and store.
    fn incompatible(old: &Deployment, new: &Deployment) -> Option<&'static str> {
        let (o, n) = (&old.config, &new.config);
        if o.region != n.region {
            Some("region")
        } else if o.account_id != n.account_id {
            Some("account_id")
        } else if o.state != n.state {
            Some("state")
        } else {
            None
        }
    }

    /// Drops the cached reading and asks the refresher for a new one: no
    /// request gets a reading of before the change.
    fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut cached) = self.cached.lock() {
            *cached = None;
        }
        self.wake.notify_one();
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
        // A file edited by hand shows at the next reading.
        let _ = self.check_file();
        let generation = self.generation.load(Ordering::SeqCst);
        let deployment = self.deployment();
        // Every AWS call has its own timeout; this bounds the whole
        // reading, so a hung refresh cannot hold the lock for ever.
        let limit = self.aws.timeouts.wait(self.aws.timeouts.call);
        let reading = tokio::time::timeout(limit, crate::ops::status::read(&self.aws, &deployment))
            .await
            .map_err(|_| {
                crate::aws::TimedOut::wait("the status reading is not complete", limit)
            })??;
        let reading = Arc::new(reading);
        if let Ok(mut cached) = self.cached.lock() {
            if self.generation.load(Ordering::SeqCst) == generation {
                *cached = Some((Instant::now(), Arc::clone(&reading)));
            }
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
        self.invalidate();
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
