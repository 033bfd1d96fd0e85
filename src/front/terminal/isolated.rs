/*! Bringing an isolated session's change back to the real workspace, on the terminal. */

use std::path::Path;

use agent_tools::Workspace;
use anyhow::{Context, Result};

use super::{interaction, report_offered};
use crate::isolate::{Isolation, Offered, offer};
use crate::protocol::modes::ApprovalMode;
use crate::records::journal_path;

/// Takes an isolated session's change, removes its tree, and offers the change for the real
/// workspace in approval `mode`; saves it beside the session's `transcript` as a patch when it
/// is not (all) applied. Returns false when a change was left unapplied.
pub async fn bring_back(
    isolation: Isolation,
    real: &Workspace,
    transcript: &Path,
    session_id: &str,
    mode: Option<ApprovalMode>,
) -> Result<bool> {
    let patch = isolation.patch()?;
    isolation.remove()?;
    let patch_path = &transcript.with_extension("patch");
    if patch.trim().is_empty() {
        eprintln!("isolated run: no changes");
        return Ok(true);
    }
    std::fs::write(patch_path, &patch)
        .with_context(|| format!("cannot save {}", patch_path.display()))?;
    match offer(real, &patch, &journal_path(transcript), mode, interaction()).await {
        Ok(offered @ Offered::Applied { .. }) => {
            report_offered(real.root(), &offered);
            return Ok(true);
        }
        Ok(Offered::NotApplied | Offered::Quit) => eprintln!(
            "the isolated change was not applied; it is saved in {}\nreview it later with `agent apply {session_id}`, or drop it with `agent discard {session_id}`",
            patch_path.display()
        ),
        // Saved all the same: the work is not lost, and `git apply` may take what we cannot.
        Err(error) => eprintln!(
            "{error:#}\nthe isolated change is saved in {}: `git apply {}` applies it as it is",
            patch_path.display(),
            patch_path.display()
        ),
    }
    Ok(false)
}
