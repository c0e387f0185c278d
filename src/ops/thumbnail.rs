//! The latest picture: a destination channel's thumbnail (MediaLive) or
//! the flow source's (MediaConnect), for a quick look at what goes out or
//! comes in without a player.
//!
//! MediaLive makes thumbnails only while a channel runs, when the channel
//! has `ThumbnailConfiguration: AUTO` (lunora renders it); MediaConnect
//! makes them for the source the flow uses, when the flow has source
//! thumbnails enabled (lunora renders that too):
//! https://docs.aws.amazon.com/medialive/latest/ug/thumbnails-work-cli.html,
//! https://docs.aws.amazon.com/mediaconnect/latest/ug/thumbnails-enable-retrieve-programatically.html

use super::stacks::read_stacks;
use crate::aws::media;
use crate::aws::Aws;
use crate::config::Deployment;
use crate::health::SourceRole;

/// A thumbnail and what it shows.
#[derive(Debug, Clone)]
pub struct Thumbnail {
    pub jpeg: Vec<u8>,
    /// `youtube` or `primary source`.
    pub subject: String,
    /// Something the operator should know about the picture.
    pub note: Option<String>,
}

/// The destination channel's latest thumbnail.
pub async fn of_destination(
    aws: &Aws,
    deployment: &Deployment,
    id: &str,
) -> anyhow::Result<Thumbnail> {
    let stacks = read_stacks(aws, deployment).await?;
    let Some(dest) = stacks.dests.get(id) else {
        let in_config = deployment
            .destinations
            .iter()
            .any(|d| d.destination.id == id);
        if in_config {
            anyhow::bail!("`{id}` is in the config but not deployed (hint: `lunora deploy`)");
        }
        let known: Vec<&str> = stacks.dests.keys().map(String::as_str).collect();
        anyhow::bail!(
            "`{id}` is not a deployed destination (deployed: {}; hint: `lunora status`)",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        );
    };
    let channel = dest
        .outputs
        .get("ChannelId")
        .ok_or_else(|| anyhow::anyhow!("the stack `{}` names no channel", dest.stack))?;
    let state = crate::aws::channel_state(aws, channel).await?;
    anyhow::ensure!(
        state.as_deref() == Some("RUNNING"),
        "the `{id}` channel is {}: MediaLive makes thumbnails only while a channel runs (hint: `lunora start {id}`)",
        state.as_deref().unwrap_or("missing")
    );
    let jpeg = media::channel_thumbnail(aws, channel).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "MediaLive has no thumbnail of the `{id}` channel yet (thumbnails start a few seconds after the channel gets input; a channel deployed before lunora enabled thumbnails needs a `lunora deploy` while stopped)"
        )
    })?;
    Ok(Thumbnail {
        jpeg,
        subject: id.to_owned(),
        note: None,
    })
}

/// The flow source's latest thumbnail. MediaConnect gives the one of the
/// source in use; asking for the other is an error once lunora can tell
/// which one is in use.
pub async fn of_source(
    aws: &Aws,
    deployment: &Deployment,
    role: SourceRole,
) -> anyhow::Result<Thumbnail> {
    let stacks = read_stacks(aws, deployment).await?;
    let flow_arn = stacks.flow_arn()?.to_owned();
    let reading = super::status::read(aws, deployment).await?;
    let wanted = reading
        .ingest
        .sources
        .iter()
        .find(|s| s.role == role)
        .ok_or_else(|| anyhow::anyhow!("the flow has no {} source", role.as_str()))?;
    let mut note = None;
    match reading.ingest.active_source.as_deref() {
        Some(active) if active != wanted.name => anyhow::bail!(
            "the flow uses source `{active}` now, and MediaConnect gives the thumbnail of the source in use only (hint: `lunora thumbnail --source {}`)",
            reading.ingest.sources.iter().find(|s| s.name == active).map_or("primary", |s| s.role.as_str())
        ),
        Some(_) => {}
        None => {
            note = Some(
                "lunora cannot tell which source the flow uses now (no recent CloudWatch datapoint); MediaConnect returned the thumbnail of the source in use".to_owned(),
            );
        }
    }
    match media::flow_thumbnail(aws, &flow_arn).await? {
        Ok(jpeg) => Ok(Thumbnail {
            jpeg,
            subject: format!("{} source `{}`", role.as_str(), wanted.name),
            note,
        }),
        Err(messages) => anyhow::bail!(
            "MediaConnect has no thumbnail of the flow's source: {} (thumbnails exist only while the flow is active and receiving)",
            if messages.is_empty() { "no reason given".to_owned() } else { messages.join("; ") }
        ),
    }
}
