//! A bounded load test of `lunora serve` on loopback (issue 11): N
//! concurrent clients each hold one event stream (`GET /api/events`) and
//! poll `GET /api/channels/status`, for S seconds, against the project's
//! AWS emulator with the example deployed and twitch running. It reports
//! the poll latency (p50/p90/p99/max), the streams held, the `status`
//! events each got, every error, the server's peak memory (VmRSS sampled
//! every 100 ms, VmHWM at the end) and the AWS requests the server made
//! during the run (the emulator's request journal): with the shared,
//! single-flight reading, about one reading per refresh interval whatever
//! the number of clients. Any error makes it exit 1.
//!
//! `cargo bench --bench serve_load` (the bench profile: release). Knobs:
//! LUNORA_LOAD_CLIENTS (50), LUNORA_LOAD_SECONDS (30),
//! LUNORA_LOAD_INTERVAL_MS (100; 0 polls back to back),
//! LUNORA_LOAD_REFRESH (1, the server's `--refresh`). The figures go to
//! stdout and, as JSON, to `target/serve-load.json`.
//!
//! Without `--bench` (`cargo test --all-targets` runs bench targets once)
//! it makes a short smoke run (2 clients, 2 s) and writes no JSON.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use common::workspace::{example, Workspace};
use serde_json::{json, Value};

/// The server's token (for the one start; reads need none).
const TOKEN: &str = "load-test-token-0123456789abcdef";
/// How long one poll may take before it counts as a transport error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The run's shape, from the environment.
struct Settings {
    clients: usize,
    seconds: u64,
    /// Between the starts of two polls of one client; zero: back to back.
    interval: Duration,
    refresh: u64,
    /// `cargo bench` (not the smoke run of `cargo test`).
    bench: bool,
}

impl Settings {
    fn from_env() -> Self {
        let bench = std::env::args().any(|a| a == "--bench");
        let number = |name: &str, default: u64| -> u64 {
            match std::env::var(name) {
                Ok(v) => v
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
                Err(_) => default,
            }
        };
        let (clients, seconds) = if bench { (50, 30) } else { (2, 2) };
        Self {
            clients: usize::try_from(number("LUNORA_LOAD_CLIENTS", clients)).unwrap(),
            seconds: number("LUNORA_LOAD_SECONDS", seconds),
            interval: Duration::from_millis(number("LUNORA_LOAD_INTERVAL_MS", 100)),
            refresh: number("LUNORA_LOAD_REFRESH", 1),
            bench,
        }
    }
}

/// A running `lunora serve`, killed when dropped.
struct Served {
    child: Child,
    base: String,
    pid: u32,
    /// What it wrote on stderr after saying where it listens.
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// As `Served::start` of tests/serve.rs: the built binary, in the
    /// workspace, against its emulator.
    fn start(ws: &Workspace, refresh: u64) -> Self {
        let mut child = ws
            .lunora_process()
            .args(["serve", "--listen", "127.0.0.1:0", "--refresh"])
            .arg(refresh.to_string())
            .env("LUNORA_SERVE_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut told = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("serve: {line}");
                if told {
                    kept.lock().unwrap().push(line);
                } else if let Some(rest) = line.split("listening on http://").nth(1) {
                    told = true;
                    let _ = tx.send(rest.split('/').next().unwrap_or_default().to_owned());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("lunora serve said where it listens within 60 s");
        Self {
            child,
            base: format!("http://{addr}"),
            pid,
            log,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A field of /proc/PID/status in KiB (`VmRSS`, `VmHWM`).
    fn memory_kib(pid: u32, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

/// The binary cargo built with this bench (the same profile).
fn lunora_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lunora"))
}

/// What one client saw.
#[derive(Default)]
struct ClientResult {
    /// (ms since the start of the run, latency in µs) of each poll.
    polls: Vec<(u32, u32)>,
    non_200: usize,
    transport_errors: usize,
    /// A 200 whose body is not the status document.
    bad_bodies: usize,
    /// Bodies that showed twitch RUNNING (the live state).
    twitch_running: usize,
    /// The stream was still open at the end.
    stream_held: bool,
    stream_error: Option<String>,
    status_events: usize,
    /// `error` events: a refresh that failed.
    error_events: usize,
    first_event_ms: Option<u128>,
    /// When the stream's response headers came.
    headers_ms: Option<u128>,
}

/// One client's event stream, read until `deadline`.
async fn hold_stream(
    client: reqwest::Client,
    url: String,
    start: Instant,
    deadline: tokio::time::Instant,
) -> ClientResult {
    let mut out = ClientResult::default();
    let response = match tokio::time::timeout_at(deadline, client.get(url).send()).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            out.stream_error = Some(format!("connect: {e}"));
            return out;
        }
        Err(_) => {
            out.stream_error = Some("no answer before the end of the run".to_owned());
            return out;
        }
    };
    out.headers_ms = Some(start.elapsed().as_millis());
    if response.status() != reqwest::StatusCode::OK {
        out.stream_error = Some(format!("status {}", response.status()));
        return out;
    }
    let mut response = response;
    let mut buffer = String::new();
    loop {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Err(_) => {
                out.stream_held = true;
                return out;
            }
            Ok(Ok(Some(chunk))) => {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find('\n') {
                    let line = buffer[..end].trim_end_matches('\r').to_owned();
                    buffer.drain(..=end);
                    match line.strip_prefix("event:").map(str::trim) {
                        Some("status") => {
                            out.status_events += 1;
                            out.first_event_ms
                                .get_or_insert(start.elapsed().as_millis());
                        }
                        Some("error") => out.error_events += 1,
                        _ => {}
                    }
                }
            }
            Ok(Ok(None)) => {
                out.stream_error = Some(format!(
                    "the stream ended after {:.1} s",
                    start.elapsed().as_secs_f64()
                ));
                return out;
            }
            Ok(Err(e)) => {
                out.stream_error = Some(format!("read: {e}"));
                return out;
            }
        }
    }
}

/// One client's polls of the status document until `deadline`.
async fn poll(
    client: reqwest::Client,
    url: String,
    interval: Duration,
    start: Instant,
    deadline: tokio::time::Instant,
) -> ClientResult {
    let mut out = ClientResult::default();
    let mut ticks = (!interval.is_zero()).then(|| {
        let mut t = tokio::time::interval(interval);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    loop {
        if let Some(t) = ticks.as_mut() {
            t.tick().await;
        }
        if tokio::time::Instant::now() >= deadline {
            return out;
        }
        let sent = Instant::now();
        let result = async {
            let r = client.get(&url).send().await?;
            let status = r.status();
            let body = r.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        }
        .await;
        let latency = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
        let at = u32::try_from(sent.duration_since(start).as_millis()).unwrap_or(u32::MAX);
        match result {
            Err(e) => {
                out.transport_errors += 1;
                eprintln!("poll: {e}");
            }
            Ok((status, _)) if status != reqwest::StatusCode::OK => {
                out.non_200 += 1;
                eprintln!("poll: status {status}");
            }
            Ok((_, body)) => {
                out.polls.push((at, latency));
                match serde_json::from_slice::<Value>(&body) {
                    Ok(v) if v["schema"] == "lunora.status/v1" => {
                        let twitch = v["destinations"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|d| d["id"] == "twitch");
                        if twitch.is_some_and(|d| d["channel_state"] == "RUNNING") {
                            out.twitch_running += 1;
                        }
                    }
                    _ => out.bad_bodies += 1,
                }
            }
        }
    }
}

/// The `p`-th percentile (nearest rank) of sorted `values`.
fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(us: u32) -> f64 {
    f64::from(us) / 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn run(settings: &Settings) -> i32 {
    // Workspace::lunora (assert_cmd) finds the binary by this variable at
    // run time: the same one this bench spawns.
    std::env::set_var("CARGO_BIN_EXE_lunora", lunora_bin());
    let profile = if cfg!(debug_assertions) {
        "debug (dev profile)"
    } else {
        "release (bench profile)"
    };
    eprintln!(
        "serve_load: {} clients, {} s, poll every {:?}, --refresh {}, {profile} binary {}",
        settings.clients,
        settings.seconds,
        settings.interval,
        settings.refresh,
        lunora_bin().display()
    );

    let ws = Workspace::new(&example()).await;
    let out = ws.run(&["deploy", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "deploy failed");
    let served = Served::start(&ws, settings.refresh);

    // Twitch running, so the reading has live state to show.
    let one = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let r = one
        .post(served.url("/api/destinations/twitch/start-channel"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let code = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(code, reqwest::StatusCode::OK, "start twitch: {body}");
    let body = one
        .get(served.url("/api/channels/status"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let status: Value = serde_json::from_str(&body).unwrap();
    let twitch = status["destinations"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["id"] == "twitch")
        .map(|d| d["channel_state"].clone());
    assert_eq!(twitch, Some(json!("RUNNING")), "twitch after the start");

    let rss_before = Served::memory_kib(served.pid, "VmRSS").unwrap_or(0);
    served.log.lock().unwrap().clear();
    ws.emulator.clear_requests();

    // Each client has its own connection pools, as a browser of its own
    // would; built before the clock starts (a reqwest client loads the
    // system's root certificates).
    let clients: Vec<(reqwest::Client, reqwest::Client)> = (0..settings.clients)
        .map(|_| {
            // No overall timeout on the stream: it is meant to stay open.
            let stream = reqwest::Client::builder()
                .connect_timeout(REQUEST_TIMEOUT)
                .build()
                .unwrap();
            let polls = reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .unwrap();
            (stream, polls)
        })
        .collect();

    // The load.
    let start = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(settings.seconds);
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let pid = served.pid;
        let sampling = Arc::clone(&sampling);
        tokio::spawn(async move {
            let mut samples: Vec<(u32, u64)> = Vec::new();
            let mut t = tokio::time::interval(Duration::from_millis(100));
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                t.tick().await;
                if let Some(kib) = Served::memory_kib(pid, "VmRSS") {
                    let at = u32::try_from(start.elapsed().as_millis()).unwrap_or(u32::MAX);
                    samples.push((at, kib));
                }
            }
            samples
        })
    };
    let mut streams = Vec::new();
    let mut pollers = Vec::new();
    for (stream, polls) in clients {
        streams.push(tokio::spawn(hold_stream(
            stream,
            served.url("/api/events"),
            start,
            deadline,
        )));
        pollers.push(tokio::spawn(poll(
            polls,
            served.url("/api/channels/status"),
            settings.interval,
            start,
            deadline,
        )));
    }
    let mut streams_out = Vec::new();
    for s in streams {
        streams_out.push(s.await.unwrap());
    }
    let mut polls_out = Vec::new();
    for p in pollers {
        polls_out.push(p.await.unwrap());
    }
    let elapsed = start.elapsed();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let samples = sampler.await.unwrap();
    let hwm = Served::memory_kib(served.pid, "VmHWM").unwrap_or(0);
    let alive = served.pid != 0 && Served::memory_kib(served.pid, "VmRSS").is_some();
    let requests = ws.emulator.requests();
    let server_log: Vec<String> = served.log.lock().unwrap().clone();
    drop(served);
    drop(ws);

    // The figures.
    let mut latencies: Vec<u32> = polls_out
        .iter()
        .flat_map(|c| c.polls.iter().map(|&(_, l)| l))
        .collect();
    latencies.sort_unstable();
    let mut slowest: Vec<(u32, u32)> = polls_out.iter().flat_map(|c| c.polls.clone()).collect();
    slowest.sort_unstable_by_key(|&(_, l)| std::cmp::Reverse(l));
    slowest.truncate(5);
    let ok_polls = latencies.len();
    let non_200: usize = polls_out.iter().map(|c| c.non_200).sum();
    let transport: usize = polls_out.iter().map(|c| c.transport_errors).sum();
    let bad_bodies: usize = polls_out.iter().map(|c| c.bad_bodies).sum();
    let twitch_running: usize = polls_out.iter().map(|c| c.twitch_running).sum();
    let held = streams_out.iter().filter(|s| s.stream_held).count();
    let stream_errors: Vec<String> = streams_out
        .iter()
        .filter_map(|s| s.stream_error.clone())
        .collect();
    let error_events: usize = streams_out.iter().map(|s| s.error_events).sum();
    let events: Vec<usize> = streams_out.iter().map(|s| s.status_events).collect();
    let first_event_max = streams_out
        .iter()
        .filter_map(|s| s.first_event_ms)
        .max()
        .unwrap_or(0);
    let headers_max = streams_out
        .iter()
        .filter_map(|s| s.headers_ms)
        .max()
        .unwrap_or(0);
    let peak_rss = samples.iter().map(|&(_, k)| k).max().unwrap_or(0);
    let rss_end = samples.last().map_or(0, |&(_, k)| k);
    let panics = server_log.iter().filter(|l| l.contains("panicked")).count();
    let mut by_operation: BTreeMap<String, usize> = BTreeMap::new();
    for (service, op) in &requests {
        *by_operation.entry(format!("{service}:{op}")).or_default() += 1;
    }
    let readings = requests
        .iter()
        .filter(|(_, op)| op == "DescribeFlow")
        .count();
    let errors = non_200
        + transport
        + bad_bodies
        + stream_errors.len()
        + (settings.clients - held)
        + error_events
        + panics
        + usize::from(!alive);
    let requests_made = ok_polls + non_200 + transport;
    let secs = elapsed.as_secs_f64();

    println!("lunora serve under load ({profile})");
    println!(
        "  clients {}: one event stream + polls of /api/channels/status every {:?} each, {:.1} s, --refresh {}",
        settings.clients, settings.interval, secs, settings.refresh
    );
    println!(
        "  polls: {requests_made} ({:.0}/s), {ok_polls} answered 200 with the status document ({twitch_running} showing twitch RUNNING)",
        requests_made as f64 / secs
    );
    println!(
        "  latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 90.0)),
        ms(percentile(&latencies, 99.0)),
        ms(latencies.last().copied().unwrap_or(0))
    );
    println!(
        "  slowest (at s, ms): {}",
        slowest
            .iter()
            .map(|&(at, l)| format!("{:.1}s {:.1}", f64::from(at) / 1000.0, ms(l)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  streams held the whole run: {held}/{}; status events per stream: min {} max {} (all answered within {headers_max} ms, first event within {first_event_max} ms)",
        settings.clients,
        events.iter().min().unwrap_or(&0),
        events.iter().max().unwrap_or(&0)
    );
    println!(
        "  errors: {errors} (non-200 {non_200}, transport {transport}, bad bodies {bad_bodies}, streams ended or failed {}, error events {error_events}, server panics {panics}, server gone {})",
        stream_errors.len(),
        !alive
    );
    for e in stream_errors.iter().take(5) {
        println!("    stream: {e}");
    }
    println!(
        "  server memory: RSS before {:.1} MiB, peak {:.1} MiB (sampled every 100 ms), at the end {:.1} MiB, VmHWM {:.1} MiB",
        mib(rss_before),
        mib(peak_rss),
        mib(rss_end),
        mib(hwm)
    );
    println!(
        "  AWS requests during the run: {} ({} status readings, {:.2}/s): {}",
        requests.len(),
        readings,
        readings as f64 / secs,
        by_operation
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    if settings.bench {
        let report = json!({
            "profile": profile,
            "clients": settings.clients,
            "seconds": secs,
            "poll_interval_ms": settings.interval.as_millis(),
            "refresh_seconds": settings.refresh,
            "requests": requests_made,
            "requests_ok": ok_polls,
            "twitch_running_bodies": twitch_running,
            "latency_ms": {
                "p50": ms(percentile(&latencies, 50.0)),
                "p90": ms(percentile(&latencies, 90.0)),
                "p99": ms(percentile(&latencies, 99.0)),
                "max": ms(latencies.last().copied().unwrap_or(0)),
            },
            "streams_held": held,
            "status_events_per_stream": events,
            "streams_answered_within_ms": headers_max,
            "first_event_within_ms": first_event_max,
            "errors": {
                "total": errors,
                "non_200": non_200,
                "transport": transport,
                "bad_bodies": bad_bodies,
                "streams_ended_or_failed": stream_errors,
                "error_events": error_events,
                "server_panics": panics,
                "server_gone": !alive,
            },
            "memory_mib": {
                "rss_before": mib(rss_before),
                "rss_peak_sampled": mib(peak_rss),
                "rss_end": mib(rss_end),
                "vm_hwm": mib(hwm),
                // One sample a second: growth would show here.
                "rss_every_second": samples
                    .iter()
                    .step_by(10)
                    .map(|&(_, k)| (mib(k) * 10.0).round() / 10.0)
                    .collect::<Vec<_>>(),
            },
            "aws_requests": {
                "total": requests.len(),
                "status_readings": readings,
                "by_operation": by_operation,
            },
        });
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| common::workspace::root().join("target"), PathBuf::from);
        let path = target.join("serve-load.json");
        std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
        eprintln!("serve_load: wrote {}", path.display());
    }
    i32::from(errors > 0)
}

fn main() {
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let code = runtime.block_on(run(&settings));
    drop(runtime);
    if code != 0 {
        eprintln!("serve_load: errors under load (see above)");
    }
    std::process::exit(code);
}
