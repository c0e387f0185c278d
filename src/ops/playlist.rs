//! The primary's viewer-side check: fetch the HLS playlist of the existing
//! MediaPackage channel twice, one segment apart, and compare (see
//! [`crate::health::hls`]). "HLS unchanged" means a player keeps working;
//! this is what tells whether it still gets new segments.
//!
//! Every request has a deadline and every body a size bound, so a slow or
//! hostile origin cannot hold `status` up or fill memory.

use std::time::{Duration, Instant};

use crate::health::hls::{self, HlsCheck, MediaPlaylist, Playlist};

/// The largest playlist read (a live media playlist is a few KiB).
const MAX_PLAYLIST_BYTES: usize = 1024 * 1024;

/// The check, from the playlist URL (a MediaPackage origin endpoint's).
pub async fn check(url: &str, call_timeout: Duration) -> HlsCheck {
    match check_inner(url, call_timeout).await {
        Ok(c) => c,
        Err(e) => HlsCheck::Unreadable(e),
    }
}

async fn check_inner(url: &str, call_timeout: Duration) -> Result<HlsCheck, String> {
    let client = reqwest::Client::builder()
        .timeout(call_timeout.min(Duration::from_secs(10)))
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("lunora/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))?;
    let (media_url, first) = media_playlist(&client, url).await?;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(first.wait_seconds())).await;
    let second = match parse(&fetch(&client, &media_url).await?)? {
        Playlist::Media(m) => m,
        Playlist::Multivariant { .. } => {
            return Err("the media playlist turned into a multivariant one".into())
        }
    };
    Ok(hls::compare(
        &first,
        &second,
        started.elapsed().as_secs_f64(),
    ))
}

/// The first variant's media playlist (or the URL's own, when it is a
/// media playlist) and its URL.
async fn media_playlist(
    client: &reqwest::Client,
    url: &str,
) -> Result<(String, MediaPlaylist), String> {
    match parse(&fetch(client, url).await?)? {
        Playlist::Media(m) => Ok((url.to_owned(), m)),
        Playlist::Multivariant { variants } => {
            let base = url::Url::parse(url).map_err(|e| format!("bad URL {url}: {e}"))?;
            let variant = variants.first().ok_or("no variants")?;
            let variant = base
                .join(variant)
                .map_err(|e| format!("bad variant URI {variant}: {e}"))?
                .to_string();
            match parse(&fetch(client, &variant).await?)? {
                Playlist::Media(m) => Ok((variant, m)),
                Playlist::Multivariant { .. } => {
                    Err("the variant is itself a multivariant playlist".into())
                }
            }
        }
    }
}

fn parse(text: &str) -> Result<Playlist, String> {
    hls::parse(text).map_err(|e| e.to_string())
}

/// GET with a size bound; the error names the status or the failure.
async fn fetch(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {}: {}", strip_query(url), short(e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "GET {}: HTTP {}",
            strip_query(url),
            status.as_u16()
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("GET {}: {}", strip_query(url), short(e)))?
    {
        if body.len() + chunk.len() > MAX_PLAYLIST_BYTES {
            return Err(format!(
                "GET {}: larger than {} KiB, not a playlist",
                strip_query(url),
                MAX_PLAYLIST_BYTES / 1024
            ));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| format!("GET {}: not UTF-8 text", strip_query(url)))
}

/// The URL without its query: a CDN-signed URL carries a token there.
fn strip_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

fn short(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        e.without_url().to_string()
    }
}
