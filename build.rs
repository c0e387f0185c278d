//! Rebuild when the built-in presets or the templates change: both are
//! compiled into the binary, and cargo does not see new files in a
//! directory on its own.

fn main() {
    println!("cargo:rerun-if-changed=presets");
    println!("cargo:rerun-if-changed=templates");
}
