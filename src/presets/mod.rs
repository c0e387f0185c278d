//! The preset library: the encoder presets and platform limit files lunora
//! knows, from the built-in collection and from the user's directories.
//!
//! The built-in collection is the repository's `presets/` directory,
//! compiled into the binary so an installed `lunora` works from any
//! directory. A user directory (`presets/` next to `lunora.yaml`, or one the
//! config names) adds files; a user file with the id of a built-in one
//! replaces it, so a team can tune a default without forking lunora. Adding
//! a platform or a preset is a new YAML file, never a code change.

pub mod catalog;
pub mod model;
pub mod rules;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::yaml::{self, Locator};
use model::{Platform, Preset};

static BUILT_IN: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/presets");

/// Where a preset or platform file came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "path", rename_all = "kebab-case")]
pub enum Origin {
    /// Compiled into lunora (the repository's `presets/`).
    BuiltIn(PathBuf),
    /// A file on disk.
    File(PathBuf),
}

impl Origin {
    /// The path to name in messages.
    pub fn path(&self) -> &Path {
        match self {
            Self::BuiltIn(p) | Self::File(p) => p,
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BuiltIn(p) => write!(f, "{} (built-in)", p.display()),
            Self::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A loaded file: its value, where it came from, and its field positions.
#[derive(Debug, Clone)]
pub struct Entry<T> {
    pub value: T,
    pub origin: Origin,
    pub locator: Locator,
}

impl<T> Entry<T> {
    /// A diagnostic located at `field` of this file.
    pub fn diagnostic(&self, field: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.origin.path(), field, message).at(self.locator.locate(field))
    }
}

/// Every preset and platform lunora can use.
#[derive(Debug, Clone, Default)]
pub struct Library {
    pub presets: BTreeMap<String, Entry<Preset>>,
    pub platforms: BTreeMap<String, Entry<Platform>>,
}

/// One YAML file read from the built-in collection or a directory.
struct RawFile {
    origin: Origin,
    text: String,
    stem: String,
}

impl Library {
    /// The built-in collection only.
    pub fn built_in() -> Result<Self, Diagnostics> {
        Self::load(&[])
    }

    /// The built-in collection, then each directory in order (later files
    /// replace earlier ones with the same id; two files with one id in the
    /// same directory are an error).
    pub fn load(dirs: &[PathBuf]) -> Result<Self, Diagnostics> {
        let mut library = Self::default();
        let mut errors = Vec::new();
        let (presets, platforms) = built_in_files();
        library.add_layer(presets, platforms, &mut errors);
        for dir in dirs {
            match dir_files(dir) {
                Ok((presets, platforms)) => library.add_layer(presets, platforms, &mut errors),
                Err(d) => errors.push(d),
            }
        }
        if errors.is_empty() {
            library.check_references(&mut errors);
        }
        if errors.is_empty() {
            Ok(library)
        } else {
            Err(Diagnostics(errors))
        }
    }

    fn add_layer(
        &mut self,
        presets: Vec<RawFile>,
        platforms: Vec<RawFile>,
        errors: &mut Vec<Diagnostic>,
    ) {
        let mut seen = BTreeMap::new();
        for file in platforms {
            if let Some(entry) = parse_file::<Platform>(&file, |p| &p.id, errors) {
                if let Some(first) = seen.insert(entry.value.id.clone(), entry.origin.clone()) {
                    errors.push(duplicate(&entry, "platform", &first));
                }
                self.platforms.insert(entry.value.id.clone(), entry);
            }
        }
        seen.clear();
        for file in presets {
            if let Some(entry) = parse_file::<Preset>(&file, |p| &p.id, errors) {
                if let Some(first) = seen.insert(entry.value.id.clone(), entry.origin.clone()) {
                    errors.push(duplicate(&entry, "preset", &first));
                }
                self.presets.insert(entry.value.id.clone(), entry);
            }
        }
    }

    /// Every `source:` key a platform uses exists, and every preset's
    /// platform exists.
    fn check_references(&self, errors: &mut Vec<Diagnostic>) {
        for entry in self.platforms.values() {
            let p = &entry.value;
            let mut refs: Vec<(String, &str)> = vec![
                ("video.source".into(), p.video.source.as_str()),
                ("audio.source".into(), p.audio.source.as_str()),
            ];
            if let Some(ingest) = &p.ingest {
                refs.push(("ingest.source".into(), ingest.source.as_str()));
            }
            for (i, band) in p.video.bitrate.iter().enumerate() {
                refs.push((format!("video.bitrate[{i}].source"), band.source.as_str()));
            }
            for (field, key) in refs {
                if !p.sources.contains_key(key) {
                    errors.push(
                        entry
                            .diagnostic(
                                &field,
                                format!("source `{key}` is not listed under `sources`"),
                            )
                            .hint(
                                "add it to `sources` with its url, date and whether it is verified",
                            ),
                    );
                }
            }
        }
        for entry in self.platforms.values() {
            if let Some(d) = self.recommended_problem(entry) {
                errors.push(d);
            }
        }
        for entry in self.presets.values() {
            if let Some(platform) = &entry.value.platform {
                if !self.platforms.contains_key(platform) {
                    errors.push(
                        entry
                            .diagnostic("platform", format!("unknown platform `{platform}`"))
                            .hint(self.platform_hint(platform)),
                    );
                }
            }
        }
    }

    /// Why a platform's `recommended_preset` cannot be offered: an unknown
    /// preset, one made for another platform, or one over the platform's
    /// (or MediaLive's) limits, naming the first limit.
    fn recommended_problem(&self, entry: &Entry<Platform>) -> Option<Diagnostic> {
        let platform = &entry.value;
        let id = platform.recommended_preset.as_deref()?;
        let field = "recommended_preset";
        let Some(preset) = self.presets.get(id) else {
            return Some(
                entry
                    .diagnostic(field, format!("unknown preset `{id}`"))
                    .hint(self.preset_hint(id)),
            );
        };
        if let Some(other) = preset
            .value
            .platform
            .as_deref()
            .filter(|p| *p != platform.id)
        {
            return Some(
                entry
                    .diagnostic(
                        field,
                        format!("preset `{id}` is made for platform `{other}`"),
                    )
                    .hint("recommend a preset without `platform:` or one for this platform"),
            );
        }
        let problem = rules::platform_problems(&preset.value, platform)
            .into_iter()
            .chain(rules::medialive_problems(&preset.value))
            .next()?;
        Some(
            entry
                .diagnostic(
                    field,
                    format!(
                        "preset `{id}` does not pass the limits: `{}`: {}",
                        problem.field, problem.message
                    ),
                )
                .hint(problem.hint),
        )
    }

    /// A hint naming the closest preset id, or how to list them.
    pub fn preset_hint(&self, id: &str) -> String {
        let ids: Vec<&str> = self.presets.keys().map(String::as_str).collect();
        match yaml::closest(id, &ids) {
            Some(best) => format!("did you mean `{best}`? `lunora presets list` shows them all"),
            None => "`lunora presets list` shows the available presets".to_owned(),
        }
    }

    /// A hint naming the closest platform id, or the known ones.
    pub fn platform_hint(&self, id: &str) -> String {
        let ids: Vec<&str> = self.platforms.keys().map(String::as_str).collect();
        match yaml::closest(id, &ids) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!(
                "known platforms: {}; add `presets/platforms/{id}.yaml` for a new one",
                ids.join(", ")
            ),
        }
    }
}

fn duplicate<T>(entry: &Entry<T>, what: &str, first: &Origin) -> Diagnostic {
    entry
        .diagnostic("id", format!("{what} id is also used by {first}"))
        .hint("give each file its own id")
}

fn parse_file<T: DeserializeOwned>(
    file: &RawFile,
    id_of: impl Fn(&T) -> &String,
    errors: &mut Vec<Diagnostic>,
) -> Option<Entry<T>> {
    let no_hint = |_: &str, _: &str| None;
    match yaml::from_str::<T>(file.origin.path(), &file.text, &no_hint) {
        Ok(loaded) => {
            let entry = Entry {
                value: loaded.value,
                origin: file.origin.clone(),
                locator: loaded.locator,
            };
            let id = id_of(&entry.value);
            if *id != file.stem {
                errors.push(
                    entry
                        .diagnostic(
                            "id",
                            format!("id `{id}` does not match the file name `{}`", file.stem),
                        )
                        .hint(format!(
                            "rename the file to `{id}.yaml` or set `id: {}`",
                            file.stem
                        )),
                );
                return None;
            }
            Some(entry)
        }
        Err(d) => {
            errors.push(d);
            None
        }
    }
}

fn is_yaml(name: &str) -> Option<&str> {
    name.strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"))
}

fn built_in_files() -> (Vec<RawFile>, Vec<RawFile>) {
    let collect = |dir: Option<&Dir<'_>>, prefix: &str| {
        let mut out = Vec::new();
        for file in dir.into_iter().flat_map(Dir::files) {
            let name = file
                .path()
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let (Some(stem), Some(text)) = (is_yaml(name), file.contents_utf8()) else {
                continue;
            };
            out.push(RawFile {
                origin: Origin::BuiltIn(Path::new(prefix).join(name)),
                text: text.to_owned(),
                stem: stem.to_owned(),
            });
        }
        out.sort_by(|a, b| a.stem.cmp(&b.stem));
        out
    };
    (
        collect(Some(&BUILT_IN), "presets"),
        collect(BUILT_IN.get_dir("platforms"), "presets/platforms"),
    )
}

fn dir_files(dir: &Path) -> Result<(Vec<RawFile>, Vec<RawFile>), Diagnostic> {
    let read = |dir: &Path, required: bool| -> Result<Vec<RawFile>, Diagnostic> {
        let entries = match fs_err::read_dir(dir) {
            Ok(entries) => entries,
            Err(_) if !required => return Ok(Vec::new()),
            Err(e) => {
                return Err(Diagnostic::new(
                    dir,
                    "",
                    format!("cannot read the preset directory: {}", io_reason(&e)),
                )
                .hint("check `presets_dirs` in the config; paths are relative to the config file"))
            }
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            let Some(stem) = is_yaml(&name) else { continue };
            let text = read_user_file(&path)?;
            out.push(RawFile {
                origin: Origin::File(path.clone()),
                text,
                stem: stem.to_owned(),
            });
        }
        out.sort_by(|a, b| a.stem.cmp(&b.stem));
        Ok(out)
    };
    Ok((read(dir, true)?, read(&dir.join("platforms"), false)?))
}

/// Reads a `*.yaml` file found in a user preset directory. A file there
/// replaces the built-in one of the same id, so one that cannot be read is
/// an error naming it, never skipped (the built-in would be used silently).
/// The file type is checked before opening: a FIFO would block the open.
fn read_user_file(path: &Path) -> Result<String, Diagnostic> {
    const HINT: &str =
        "a file in a preset directory replaces the built-in one of the same id, so it must be a readable YAML file: fix or remove it";
    let refuse = |message: String| Diagnostic::new(path, "", message).hint(HINT);
    // `metadata` follows symlinks: it fails for a dangling link or a loop.
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => {
            let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
            let reason = match (link, e.kind()) {
                (true, std::io::ErrorKind::NotFound) => {
                    "a symbolic link to a file that does not exist".to_owned()
                }
                (true, _) => format!(
                    "a symbolic link that cannot be followed ({})",
                    io_reason(&e)
                ),
                (false, _) => io_reason(&e),
            };
            return Err(refuse(format!("cannot read the preset file: {reason}")));
        }
    };
    let kind = file_kind(&meta.file_type());
    if kind != "regular file" {
        return Err(refuse(format!(
            "cannot read the preset file: it is a {kind}, not a regular file"
        )));
    }
    crate::fsread::read_to_string_bounded(path, crate::fsread::PRESET_LIMIT, "preset file")
        .map_err(|e| e.diagnostic("check the file's permissions and that it is UTF-8 text"))
}

/// What a file is, in words.
fn file_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "FIFO (named pipe)";
        }
        if t.is_char_device() {
            return "character device";
        }
        if t.is_block_device() {
            return "block device";
        }
        if t.is_socket() {
            return "socket";
        }
    }
    if t.is_dir() {
        "directory"
    } else if t.is_file() {
        "regular file"
    } else {
        "special file"
    }
}

/// The OS reason of an IO error, without the path (the diagnostic names it).
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    let kind = e.kind();
    match kind {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => std::error::Error::source(e)
            .map_or_else(|| kind.to_string(), ToString::to_string)
            .to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_collection_loads() {
        let lib = Library::built_in().expect("built-in presets load");
        for id in [
            "youtube-1080p30",
            "youtube-1080p60",
            "youtube-720p30",
            "twitch-1080p60",
            "twitch-720p60",
            "twitch-720p30",
            "linkedin-720p30",
            "linkedin-1080p30",
            "facebook-1080p30",
            "generic-720p30",
            "generic-1080p30",
            "hls-ladder",
        ] {
            assert!(lib.presets.contains_key(id), "missing built-in preset {id}");
        }
        for id in [
            "youtube",
            "twitch",
            "linkedin",
            "facebook",
            "custom",
            "mediapackage",
        ] {
            assert!(
                lib.platforms.contains_key(id),
                "missing built-in platform {id}"
            );
        }
    }

    #[test]
    fn every_rtmp_platform_recommends_a_preset_within_its_limits() {
        let lib = Library::built_in().expect("built-in presets load");
        for p in lib.platforms.values().map(|e| &e.value) {
            if p.kind == model::PlatformKind::Rtmp {
                let id = p.recommended_preset.as_deref().expect("recommended");
                let preset = &lib.presets[id].value;
                assert_eq!(rules::platform_problems(preset, p), vec![], "{}", p.id);
            }
        }
    }

    #[test]
    fn a_recommended_preset_that_does_not_fit_is_one_located_error() {
        let twitch = include_str!("../../presets/platforms/twitch.yaml");
        let fast = include_str!("../../presets/generic-1080p30.yaml")
            .replace("id: generic-1080p30", "id: fast")
            .replace("bitrate_kbps: 5000", "bitrate_kbps: 9000");
        for (recommended, expect) in [
            (
                "fast",
                "preset `fast` does not pass the limits: `renditions[0]",
            ),
            ("youtube-720p30", "made for platform `youtube`"),
            ("twitch-720p6", "unknown preset `twitch-720p6`"),
        ] {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::create_dir(dir.path().join("platforms")).expect("mkdir");
            std::fs::write(
                dir.path().join("platforms/twitch.yaml"),
                twitch.replace(
                    "recommended_preset: twitch-720p60",
                    &format!("recommended_preset: {recommended}"),
                ),
            )
            .expect("write");
            std::fs::write(dir.path().join("fast.yaml"), &fast).expect("write");
            let errors = Library::load(&[dir.path().to_path_buf()])
                .expect_err("refused")
                .0;
            assert_eq!(errors.len(), 1, "{errors:?}");
            let line = errors[0].to_string();
            assert!(line.contains("twitch.yaml:"), "{line}");
            assert!(line.contains("`recommended_preset`"), "{line}");
            assert!(line.contains(expect), "{line}");
            assert_eq!(line.lines().count(), 1, "{line}");
        }
    }

    #[test]
    fn no_built_in_file_has_a_secret_shape() {
        let lib = Library::built_in().expect("built-in presets load");
        let none = |_: &str| false;
        for entry in lib.presets.values() {
            let value = serde_json::to_value(&entry.value).expect("serializes");
            let found = crate::config::secrets::scan(&value, &none);
            assert!(found.is_empty(), "{}: {found:?}", entry.origin);
        }
        for entry in lib.platforms.values() {
            let value = serde_json::to_value(&entry.value).expect("serializes");
            let found = crate::config::secrets::scan(&value, &none);
            assert!(found.is_empty(), "{}: {found:?}", entry.origin);
        }
    }

    #[test]
    fn every_built_in_preset_follows_medialive_and_its_platform() {
        let lib = Library::built_in().expect("built-in presets load");
        for entry in lib.presets.values() {
            let p = &entry.value;
            assert_eq!(rules::medialive_problems(p), vec![], "preset {}", p.id);
            if let Some(platform) = &p.platform {
                let platform = &lib.platforms[platform].value;
                assert_eq!(
                    rules::platform_problems(p, platform),
                    vec![],
                    "preset {}",
                    p.id
                );
            }
        }
    }
}
