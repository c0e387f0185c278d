//! Is the HLS playlist a viewer loads moving? Pure parsing and comparison;
//! fetching is the status operation's job.
//!
//! A live HLS media playlist slides: each new segment raises
//! `#EXT-X-MEDIA-SEQUENCE` (the sequence number of its first segment) or
//! adds a segment. Two readings a segment's duration apart that show the
//! same sequence and the same segments mean the player sees a frozen
//! stream, whatever MediaLive says. RFC 8216, sections 4.3.3.2 (media
//! sequence) and 4.3.3.1 (target duration):
//! https://www.rfc-editor.org/rfc/rfc8216#section-4.3.3.2

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a playlist says.
#[derive(Debug, Clone, PartialEq)]
pub enum Playlist {
    /// A multivariant (master) playlist: the variant URIs, as written.
    Multivariant { variants: Vec<String> },
    /// A media playlist.
    Media(MediaPlaylist),
}

/// The parts of a media playlist that tell whether it moves.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaPlaylist {
    /// `#EXT-X-MEDIA-SEQUENCE` (0 when absent, as the RFC says).
    pub sequence: u64,
    /// Number of segments listed.
    pub segments: u64,
    /// `#EXT-X-TARGETDURATION`, seconds.
    pub target_duration: Option<f64>,
    /// Duration of the newest segment (`#EXTINF`), seconds.
    pub last_segment: Option<f64>,
    /// `#EXT-X-ENDLIST`: the event is over.
    pub ended: bool,
}

impl MediaPlaylist {
    /// Position of the newest segment: grows by one per new segment.
    pub fn position(&self) -> u64 {
        self.sequence + self.segments
    }

    /// How long to wait before a second reading can show progress: the
    /// newest segment's duration (or the target duration), a little more,
    /// within 0.1 to 8 seconds.
    pub fn wait_seconds(&self) -> f64 {
        let d = self.last_segment.or(self.target_duration).unwrap_or(2.0);
        (d * 1.25).clamp(0.1, 8.0)
    }
}

/// Why a text is not a playlist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaylistError {
    #[error("not an HLS playlist (no #EXTM3U)")]
    NotPlaylist,
    #[error("a multivariant playlist without variants")]
    NoVariants,
}

/// Parses a playlist.
pub fn parse(text: &str) -> Result<Playlist, PlaylistError> {
    let mut lines = text.lines().map(str::trim);
    if lines.next().map(|l| l.trim_start_matches('\u{feff}')) != Some("#EXTM3U") {
        return Err(PlaylistError::NotPlaylist);
    }
    let mut variants = Vec::new();
    let mut expect_variant = false;
    let mut media = MediaPlaylist {
        sequence: 0,
        segments: 0,
        target_duration: None,
        last_segment: None,
        ended: false,
    };
    let mut is_master = false;
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if let Some(v) = line.strip_prefix("#EXT-X-STREAM-INF:") {
            let _ = v;
            is_master = true;
            expect_variant = true;
        } else if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            media.sequence = v.trim().parse().unwrap_or(0);
        } else if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            media.target_duration = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("#EXTINF:") {
            let d = v.split(',').next().unwrap_or_default().trim();
            media.last_segment = d.parse().ok();
        } else if line == "#EXT-X-ENDLIST" {
            media.ended = true;
        } else if line.starts_with('#') {
            continue;
        } else if expect_variant {
            variants.push(line.to_owned());
            expect_variant = false;
        } else {
            media.segments += 1;
        }
    }
    if is_master {
        if variants.is_empty() {
            return Err(PlaylistError::NoVariants);
        }
        return Ok(Playlist::Multivariant { variants });
    }
    Ok(Playlist::Media(media))
}

/// The result of the playlist check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum HlsCheck {
    /// The newest segment moved from `from` to `to`.
    Advancing { from: u64, to: u64 },
    /// Unchanged over `seconds`.
    Stalled { sequence: u64, seconds: f64 },
    /// Could not be read or parsed.
    Unreadable(String),
}

/// Compares two readings of one media playlist taken `seconds` apart.
pub fn compare(before: &MediaPlaylist, after: &MediaPlaylist, seconds: f64) -> HlsCheck {
    if after.position() > before.position() {
        HlsCheck::Advancing {
            from: before.position(),
            to: after.position(),
        }
    } else if after.ended {
        HlsCheck::Unreadable("the playlist has ended (#EXT-X-ENDLIST)".into())
    } else {
        HlsCheck::Stalled {
            sequence: after.sequence,
            seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:41\n#EXTINF:6.000,\nseg41.ts\n#EXTINF:6.000,\nseg42.ts\n#EXTINF:5.500,\nseg43.ts\n";

    fn media(text: &str) -> MediaPlaylist {
        match parse(text) {
            Ok(Playlist::Media(m)) => m,
            other => panic!("not a media playlist: {other:?}"),
        }
    }

    #[test]
    fn reads_a_live_media_playlist() {
        let m = media(LIVE);
        assert_eq!(m.sequence, 41);
        assert_eq!(m.segments, 3);
        assert_eq!(m.target_duration, Some(6.0));
        assert_eq!(m.last_segment, Some(5.5));
        assert_eq!(m.position(), 44);
        assert!((m.wait_seconds() - 6.875).abs() < 1e-9);
        assert!(!m.ended);
    }

    #[test]
    fn reads_a_multivariant_playlist() {
        let text = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=6000000,RESOLUTION=1920x1080\nindex_1.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=3000000\nhttps://cdn.example/index_2.m3u8\n";
        assert_eq!(
            parse(text),
            Ok(Playlist::Multivariant {
                variants: vec![
                    "index_1.m3u8".into(),
                    "https://cdn.example/index_2.m3u8".into()
                ]
            })
        );
    }

    #[test]
    fn refuses_what_is_not_a_playlist() {
        assert_eq!(parse("<html>"), Err(PlaylistError::NotPlaylist));
        assert_eq!(
            parse("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n"),
            Err(PlaylistError::NoVariants)
        );
    }

    #[test]
    fn a_missing_media_sequence_is_zero() {
        assert_eq!(media("#EXTM3U\n#EXTINF:2,\na.ts\n").sequence, 0);
    }

    #[test]
    fn compares_two_readings() {
        let a = media(LIVE);
        let b = media(&LIVE.replace("SEQUENCE:41", "SEQUENCE:42"));
        assert_eq!(
            compare(&a, &b, 7.0),
            HlsCheck::Advancing { from: 44, to: 45 }
        );
        assert_eq!(
            compare(&a, &a, 7.0),
            HlsCheck::Stalled {
                sequence: 41,
                seconds: 7.0
            }
        );
        // A growing playlist without a sliding window advances too.
        let grown = media(&format!("{LIVE}#EXTINF:6.0,\nseg44.ts\n"));
        assert!(matches!(
            compare(&a, &grown, 7.0),
            HlsCheck::Advancing { .. }
        ));
        let ended = media(&format!("{LIVE}#EXT-X-ENDLIST\n"));
        assert!(matches!(compare(&a, &ended, 7.0), HlsCheck::Unreadable(_)));
    }

    #[test]
    fn waits_a_short_segment_briefly_and_a_long_one_at_most_eight_seconds() {
        let short = media("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:0.2,\na.ts\n");
        assert!((short.wait_seconds() - 0.25).abs() < 1e-9);
        let long = media("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\na.ts\n");
        assert!((long.wait_seconds() - 8.0).abs() < 1e-9);
    }
}
