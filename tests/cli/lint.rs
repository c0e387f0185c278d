//! Every rendered template, in both input modes, with and without a backup
//! source, passes cfn-lint with zero errors and zero warnings. cfn-lint must
//! be installed (`.ci/run` installs the pinned version): a missing linter
//! fails this test rather than skipping it.

use std::process::Command;

use super::util::{configs, render};

#[test]
fn every_rendered_template_passes_cfn_lint() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, path) in configs() {
        for stack in render(&path) {
            let file = dir.path().join(format!("{name}--{}", stack.file_name()));
            std::fs::write(&file, &stack.template).unwrap();
            files.push(file);
        }
    }
    let output = Command::new("cfn-lint")
        .args(&files)
        .output()
        .expect("cfn-lint is not installed: run `pip install -r requirements-dev.txt`");
    assert!(
        output.status.success(),
        "cfn-lint found problems:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        files.len() >= 18,
        "only {} templates were linted",
        files.len()
    );
}
