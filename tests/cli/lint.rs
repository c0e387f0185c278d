//! Every rendered template, in both input modes, with and without a backup
//! source, passes cfn-lint with zero errors and zero warnings. cfn-lint must
//! be installed (`.ci/run` installs the pinned version): a missing linter
//! fails this test rather than skipping it.

use super::util::{assert_cfn_lint_clean, configs, render};

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
    assert_cfn_lint_clean(&files);
    assert!(
        files.len() >= 18,
        "only {} templates were linted",
        files.len()
    );
}
