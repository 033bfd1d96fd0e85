/*!
npm packages the tests run (real MCP servers, real ACP clients), installed by the tests themselves
from the lock file under `tests/<dir>/`, so that `cargo test` alone is the test command: once per
change of the lock file, under a file lock so tests running in parallel wait for one install,
and without the network once installed.
*/

use std::path::{Path, PathBuf};
use std::process::Command;

/// `tests/<dir>/node_modules`, installed from `tests/<dir>/package-lock.json` if it is not yet.
pub fn npm_packages(dir: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir);
    let modules = root.join("node_modules");
    let lock_path = std::env::temp_dir().join(format!("agent-tests-npm-{dir}.lock"));
    let lock = std::fs::File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    if !installed(&root) {
        install(&root);
    }
    modules
}

/// npm writes `node_modules/.package-lock.json` last: newer than the lock file means done.
fn installed(root: &Path) -> bool {
    let modified = |path: PathBuf| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
    };
    match (
        modified(root.join("node_modules/.package-lock.json")),
        modified(root.join("package-lock.json")),
    ) {
        (Some(installed), Some(locked)) => installed >= locked,
        _ => false,
    }
}

fn install(root: &Path) {
    let npm = Command::new("npm").arg("--version").output();
    assert!(
        npm.is_ok_and(|output| output.status.success()),
        "these tests run packages from the npm registry: install Node.js and npm (Debian: apt-get install nodejs npm), then run the tests again"
    );
    let output = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "npm ci in {} failed:\n{}{}",
        root.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
