/*!
`agent trust [DIR]`: lets the hooks of a directory's own `.agent/config.toml` run (they are
listed and skipped until then), by adding the directory to `trusted_dirs` in the user's config;
`--revoke` takes it back.
*/

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::TrustArgs;
use crate::config::FileConfig;
use crate::config::edit::{Changed, TrustChange, change_trust, user_config_file};

pub fn trust(args: TrustArgs) -> Result<ExitCode> {
    let dir = match args.dir {
        Some(dir) => dir,
        None => std::env::current_dir().context("no current directory")?,
    };
    let dir = dir
        .canonicalize()
        .with_context(|| format!("no directory {}", dir.display()))?;
    let change = match args.revoke {
        true => TrustChange::Revoke,
        false => TrustChange::Trust,
    };
    let file = user_config_file()?;
    let changed = change_trust(&file, &dir, change)?;
    let shown = dir.display();
    match (change, changed) {
        (TrustChange::Trust, Changed::Yes) => println!("trusted {shown} (in {})", file.display()),
        (TrustChange::Trust, Changed::AlreadySo) => println!("{shown} was trusted already"),
        (TrustChange::Revoke, Changed::Yes) => println!("{shown} is not trusted any more"),
        (TrustChange::Revoke, Changed::AlreadySo) => println!("{shown} was not trusted"),
    }
    if change == TrustChange::Trust {
        let project = FileConfig::load(&dir)?.project_hooks;
        for (event, hooks) in &project {
            for hook in hooks {
                println!("  its {} hook runs: {}", event.name(), hook.command);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
