//! Rebuild when the built-in presets or the templates change: both are
//! compiled into the binary, and cargo does not see new files in a
//! directory on its own. Also records the git commit the binary is built
//! from, for `lunora --version` (`unknown` outside a git checkout).

fn main() {
    println!("cargo:rerun-if-changed=presets");
    println!("cargo:rerun-if-changed=templates");
    // A new commit moves the branch ref (or HEAD itself when detached).
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    println!("cargo:rerun-if-changed=.git/packed-refs");
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit()))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=LUNORA_COMMIT={commit}");
}
