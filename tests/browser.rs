//! `lunora serve`'s pages in a real browser: headless Chromium, driven over
//! WebDriver (chromedriver, Debian's `chromium` and `chromium-driver`
//! packages, which `scripts/test` installs), against the binary serving the
//! example deployed on the project's AWS emulator. What an HTTP client
//! cannot see is checked here: that the page's script asks for the token,
//! confirms the action, posts it and swaps in the new reading.
//!
//! The test always takes a screenshot of both pages; with
//! `LUNORA_SCREENSHOTS=1` it also writes them to `docs/` (the ones the
//! README shows).
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::common::workspace::root;
use crate::serve::{channel_states, Deployed, Served, TOKEN};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The screenshots' size: the width of a laptop's browser window.
const WINDOW: (u32, u32) = (1280, 900);

/// `fut`, or a panic naming `what` after `secs`: no WebDriver call may hang.
async fn within<T>(secs: u64, what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {secs} s"))
}

/// chromedriver on a free loopback port, with a fresh profile directory
/// for the browser it starts; killed, with the browser, when dropped.
struct Chromedriver {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // chromedriver leads its own process group, and the browser it
        // started is in it: end the group, so no Chromium outlives the test.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Chromedriver {
    fn start() -> Self {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: install Debian's chromium and chromium-driver \
                 (scripts/test does)"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("chromedriver.log");
        // A port the system just handed out and let go: another process
        // taking it in between would show as chromedriver failing to start.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(CHROMEDRIVER);
        cmd.arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().unwrap();
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within 20 s; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }

    /// A headless Chromium session with its own profile.
    async fn browser(&self) -> Client {
        let profile = self.dir.path().join("profile");
        let args = [
            "--headless".to_owned(),
            // As root, Chromium refuses to start with its sandbox on.
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--no-proxy-server".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "timeouts": { "pageLoad": 30_000, "script": 10_000, "implicit": 0 },
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let caps = caps.as_object().unwrap().clone();
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let b = within(
            60,
            "starting headless Chromium",
            ClientBuilder::new(connector)
                .capabilities(caps)
                .connect(&self.url),
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "no browser session ({e}); chromedriver's log:\n{}",
                std::fs::read_to_string(self.dir.path().join("chromedriver.log"))
                    .unwrap_or_default()
            )
        });
        // --window-size is the window's; grow it by what the window takes
        // around the page, so the page (and a screenshot) is WINDOW.
        let inner = within(10, "measuring the window", async {
            b.execute("return [window.innerWidth, window.innerHeight]", vec![])
                .await
        })
        .await
        .unwrap();
        let (w, h) = (inner[0].as_u64().unwrap(), inner[1].as_u64().unwrap());
        let grow = |want: u32, got: u64| (2 * u64::from(want)).saturating_sub(got) as u32;
        within(10, "sizing the window", async {
            b.set_window_size(grow(WINDOW.0, w), grow(WINDOW.1, h))
                .await
        })
        .await
        .unwrap();
        b
    }
}

/// Polls `read` until it gives `Some`, for at most `secs`; `what` names
/// the awaited state in the panic, with the last thing read. The page swaps
/// in a new fragment on each reading, so a read may fail on an element that
/// has just been replaced: that counts as "not yet".
async fn until<T, F, Fut>(secs: u64, what: &str, mut read: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, String>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = String::from("nothing read");
    loop {
        match within(10, what, read()).await {
            Ok(Some(v)) => return v,
            Ok(None) => {}
            Err(e) => last = e,
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {secs} s (last read: {last})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Each destination card's `data-channel-state`.
async fn card_states(b: &Client) -> Result<BTreeMap<String, String>, String> {
    let cards = b
        .find_all(Locator::Css("article[data-dest]"))
        .await
        .map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for card in cards {
        let id = card.attr("data-dest").await.map_err(|e| e.to_string())?;
        let state = card
            .attr("data-channel-state")
            .await
            .map_err(|e| e.to_string())?;
        out.insert(id.unwrap_or_default(), state.unwrap_or_default());
    }
    Ok(out)
}

/// The twitch card's state: its attribute and the text it shows.
async fn twitch_state(b: &Client) -> Result<(String, String), String> {
    let card = b
        .find(Locator::Css(r#"article[data-dest="twitch"]"#))
        .await
        .map_err(|e| e.to_string())?;
    let attr = card
        .attr("data-channel-state")
        .await
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let shown = card
        .find(Locator::Css(".channel-state"))
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    Ok((attr, shown))
}

/// Waits at most `seconds` for an element `css`, saying `what` it waits
/// for when there is none.
async fn shown(b: &Client, seconds: u64, what: &str, css: &str) {
    until(seconds, what, || async {
        Ok(b.find_all(Locator::Css(css))
            .await
            .map_err(|e| e.to_string())?
            .first()
            .map(|_| ()))
    })
    .await;
}

/// Waits for the dialog `id` to be open (a `<dialog>` shown modal has
/// the `open` attribute).
async fn dialog_open(b: &Client, id: &str) {
    shown(
        b,
        10,
        &format!("the {id} opens"),
        &format!("dialog#{id}[open]"),
    )
    .await;
}

/// A screenshot of the window as PNG, checked and saved as `name` in
/// `dir`, and in `docs/` when `LUNORA_SCREENSHOTS=1`.
async fn screenshot(b: &Client, dir: &Path, name: &str) -> PathBuf {
    let png = within(30, "a screenshot", b.screenshot()).await.unwrap();
    assert!(png.len() > 1000, "{name}: {} bytes", png.len());
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is not a PNG");
    // The IHDR chunk: width and height, big-endian, at bytes 16..24.
    let size = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((size(16), size(20)), WINDOW, "{name}'s size");
    let path = dir.join(name);
    std::fs::write(&path, &png).unwrap();
    if std::env::var("LUNORA_SCREENSHOTS").as_deref() == Ok("1") {
        let docs = root().join("docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join(name), &png).unwrap();
        eprintln!("wrote docs/{name}");
    }
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn the_streaming_page_starts_twitch_after_the_token_and_a_confirmation() {
    let started = Instant::now();
    let env = Deployed::new().await;
    let ws = &env.0;
    let served = Served::start(ws, &[]);
    let before = channel_states(ws).await;
    assert!(before.values().all(|s| s == "IDLE"), "{before:?}");

    let driver = Chromedriver::start();
    let b = driver.browser().await;
    within(40, "opening the streaming page", b.goto(&served.url("/")))
        .await
        .unwrap();
    // The page's script has connected to the event stream.
    until(20, "the page says it is live", || async {
        let t = b
            .find(Locator::Id("conn"))
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        Ok((t == "live").then_some(()))
    })
    .await;
    let cards_before = until(10, "reading the cards", || async {
        card_states(&b).await.map(Some)
    })
    .await;
    assert_eq!(cards_before.get("twitch").map(String::as_str), Some("IDLE"));
    assert!(cards_before.len() >= 4, "{cards_before:?}");
    assert!(
        cards_before.values().all(|s| s == "IDLE"),
        "{cards_before:?}"
    );

    // Start on the twitch card: the tab has no token yet, so the page
    // asks for it, then asks to confirm, naming the destination.
    let start = r#"article[data-dest="twitch"] button[data-action="start"]"#;
    // The live fragment is swapped in after every reading, so an element
    // found just before a swap is stale by the click: find and click
    // again until one lands.
    until(10, "clicking Start", || async {
        let button = b
            .find(Locator::Css(start))
            .await
            .map_err(|e| e.to_string())?;
        button.click().await.map_err(|e| e.to_string())?;
        Ok(Some(()))
    })
    .await;
    enter_token(&b).await;
    dialog_open(&b, "confirm-dialog").await;
    let question = within(10, "reading the question", async {
        b.find(Locator::Id("confirm-text")).await?.text().await
    })
    .await
    .unwrap();
    assert!(question.contains("twitch"), "{question}");
    // Nothing happens before the confirmation.
    assert_eq!(channel_states(ws).await, before);
    within(10, "confirming", async {
        b.find(Locator::Id("confirm-yes")).await?.click().await
    })
    .await
    .unwrap();

    // The card shows the channel running, in its attribute and its text.
    let clicked = Instant::now();
    until(30, "the twitch card shows RUNNING", || async {
        let (attr, shown) = twitch_state(&b).await?;
        Ok((attr == "RUNNING" && shown == "RUNNING").then_some(()))
    })
    .await;
    eprintln!(
        "the card showed RUNNING {:?} after the confirmation",
        clicked.elapsed()
    );
    let cards_after = until(10, "reading the cards", || async {
        card_states(&b).await.map(Some)
    })
    .await;
    for (id, state) in &cards_before {
        if id != "twitch" {
            assert_eq!(&cards_after[id], state, "the {id} card changed");
        }
    }
    // And so it is: only twitch's channel runs.
    let after = channel_states(ws).await;
    assert_eq!(after["twitch"], "RUNNING");
    for (id, state) in &before {
        if id != "twitch" {
            assert_eq!(&after[id], state, "{id} changed");
        }
    }
    // The page reports the outcome, not an error.
    let message = ok_message(&b, 10, "the page reports the outcome").await;
    assert!(message.contains("twitch"), "{message}");
    // It goes after 8 s, uncovering the cards for the screenshot.
    until(15, "the outcome message goes", || async {
        let m = b
            .find(Locator::Id("message"))
            .await
            .map_err(|e| e.to_string())?;
        let text = m.text().await.map_err(|e| e.to_string())?;
        Ok(text.is_empty().then_some(()))
    })
    .await;

    let shots = tempfile::tempdir().unwrap();
    screenshot(&b, shots.path(), "serve-streaming.png").await;
    within(40, "opening the admin page", b.goto(&served.url("/admin")))
        .await
        .unwrap();
    shown(
        &b,
        20,
        "the admin page shows the stacks",
        "#stacks table tbody tr",
    )
    .await;
    screenshot(&b, shots.path(), "serve-admin.png").await;

    within(20, "closing the browser", b.close()).await.unwrap();
    drop(driver);
    eprintln!("browser test took {:?}", started.elapsed());
}

/// Answers the page's token dialog with the server's token.
async fn enter_token(b: &Client) {
    dialog_open(b, "token-dialog").await;
    within(10, "entering the token", async {
        b.find(Locator::Id("token-input"))
            .await?
            .send_keys(TOKEN)
            .await?;
        b.find(Locator::Id("token-save")).await?.click().await
    })
    .await
    .unwrap();
}

/// Waits at most `seconds` for the page's message to report success
/// (class `ok`); its text.
async fn ok_message(b: &Client, seconds: u64, what: &str) -> String {
    until(seconds, what, || async {
        let m = b
            .find(Locator::Id("message"))
            .await
            .map_err(|e| e.to_string())?;
        let class = m.attr("class").await.map_err(|e| e.to_string())?;
        let text = m.text().await.map_err(|e| e.to_string())?;
        Ok((class.as_deref() == Some("ok")).then_some(text))
    })
    .await
}

/// The text of the element `css`, or `None` while there is none.
async fn text_of(b: &Client, css: &str) -> Result<Option<String>, String> {
    match b
        .find_all(Locator::Css(css))
        .await
        .map_err(|e| e.to_string())?
        .first()
    {
        Some(e) => e.text().await.map(Some).map_err(|e| e.to_string()),
        None => Ok(None),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_form_adds_a_destination_after_a_preview_and_a_confirmation() {
    let env = Deployed::new().await;
    let ws = &env.0;
    let served = Served::start(ws, &[]);
    let config = ws.config();
    let original = std::fs::read_to_string(&config).unwrap();

    let driver = Chromedriver::start();
    let b = driver.browser().await;
    within(40, "opening the admin page", b.goto(&served.url("/admin")))
        .await
        .unwrap();
    shown(
        &b,
        20,
        "the admin page shows the form",
        "form#add-destination",
    )
    .await;

    // Choosing the platform offers its presets (the recommended one
    // chosen) and fills in its ingest URL.
    within(10, "choosing YouTube", async {
        b.find(Locator::Id("add-platform"))
            .await?
            .select_by_value("youtube")
            .await
    })
    .await
    .unwrap();
    let offered = within(10, "reading the presets", async {
        let mut out = Vec::new();
        for o in b.find_all(Locator::Css("#add-preset option")).await? {
            out.push(o.attr("value").await?.unwrap_or_default());
        }
        Ok::<_, fantoccini::error::CmdError>(out)
    })
    .await
    .unwrap();
    assert!(
        offered.contains(&"youtube-720p30".to_owned()),
        "{offered:?}"
    );
    assert!(
        offered.iter().all(|p| !p.starts_with("twitch-")),
        "only presets that fit YouTube: {offered:?}"
    );
    // Preselected: the platform's recommended preset, or its own first.
    let (selected, recommended) = within(10, "reading the preselected preset", async {
        let selected = b
            .find(Locator::Id("add-preset"))
            .await?
            .prop("value")
            .await?;
        let recommended = match b
            .find_all(Locator::Css(
                r#"#preset-catalog option[data-platform="youtube"][data-recommended="true"]"#,
            ))
            .await?
            .first()
        {
            Some(o) => o.attr("value").await?,
            None => None,
        };
        Ok::<_, fantoccini::error::CmdError>((selected.unwrap_or_default(), recommended))
    })
    .await
    .unwrap();
    match recommended {
        Some(r) => assert_eq!(selected, r),
        None => assert!(selected.starts_with("youtube-"), "{selected}"),
    }
    let url = within(10, "reading the ingest URL", async {
        b.find(Locator::Id("add-ingest-url"))
            .await?
            .prop("value")
            .await
    })
    .await
    .unwrap()
    .unwrap_or_default();
    assert!(url.starts_with("rtmp"), "the platform's default URL: {url}");
    within(10, "filling in the form", async {
        b.find(Locator::Id("add-preset"))
            .await?
            .select_by_value("youtube-720p30")
            .await?;
        b.find(Locator::Id("add-id"))
            .await?
            .send_keys("youtube-2")
            .await?;
        b.find(Locator::Id("add-secret"))
            .await?
            .send_keys(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:lunora/stream-keys-Xy34Zw",
            )
            .await?;
        b.find(Locator::Id("add-json-key"))
            .await?
            .send_keys("youtube")
            .await?;
        b.find(Locator::Id("add-preview")).await?.click().await
    })
    .await
    .unwrap();

    // No token in this tab yet: the page asks for it, then previews.
    enter_token(&b).await;
    let diff = until(60, "the preview shows the diff", || async {
        Ok(text_of(&b, "#edit-preview:not([hidden]) #edit-diff")
            .await?
            .filter(|t| !t.is_empty()))
    })
    .await;
    assert!(diff.contains("+  - id: youtube-2"), "{diff}");
    let plan = text_of(&b, "#edit-plan").await.unwrap().unwrap_or_default();
    assert!(plan.contains("-dest-youtube-2 will be created"), "{plan}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        original,
        "a preview writes nothing"
    );
    let shots = tempfile::tempdir().unwrap();
    screenshot(&b, shots.path(), "serve-admin-form.png").await;

    within(10, "confirming", async {
        b.find(Locator::Id("edit-confirm")).await?.click().await
    })
    .await
    .unwrap();
    let message = ok_message(&b, 20, "the page reports the write").await;
    assert!(message.contains("youtube-2"), "{message}");
    assert!(message.contains("lunora deploy"), "{message}");
    // The file has it, and it is valid; the list on the page shows it.
    let now = std::fs::read_to_string(&config).unwrap();
    assert!(now.contains("  - id: youtube-2\n"), "{now}");
    // What was written is what the preview showed.
    assert_eq!(
        lunora::serve::edit::unified_diff("lunora.yaml", &original, &now).trim_end(),
        diff.trim_end()
    );
    let out = ws.run(&["validate"]);
    assert_eq!(out.status.code(), Some(0));
    shown(
        &b,
        20,
        "the list shows youtube-2",
        r#"tr[data-config-dest="youtube-2"]"#,
    )
    .await;

    // Remove on its row: the preview shows the lines going, Confirm gives
    // back the original bytes.
    until(10, "clicking Remove", || async {
        b.find(Locator::Css(
            r#"button[data-edit="remove"][data-dest="youtube-2"]"#,
        ))
        .await
        .map_err(|e| e.to_string())?
        .click()
        .await
        .map_err(|e| e.to_string())?;
        Ok(Some(()))
    })
    .await;
    let diff = until(60, "the removal's preview", || async {
        Ok(text_of(&b, "#edit-preview:not([hidden]) #edit-diff")
            .await?
            .filter(|t| t.contains("-  - id: youtube-2")))
    })
    .await;
    let added: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    assert_eq!(
        added,
        ["+    destinations: [youtube, twitch, linkedin, custom]"],
        "only the stage's list changes besides the lines going"
    );
    let summary = text_of(&b, "#edit-summary")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(summary.contains("dest-youtube-2"), "{summary}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), now);
    within(10, "confirming the removal", async {
        b.find(Locator::Id("edit-confirm")).await?.click().await
    })
    .await
    .unwrap();
    until(20, "the file is back to its original bytes", || async {
        Ok((std::fs::read_to_string(&config).unwrap() == original).then_some(()))
    })
    .await;
    within(20, "closing the browser", b.close()).await.unwrap();
    drop(driver);
}
