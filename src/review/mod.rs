/*!
Approval of edits and commands: everything with `--yes`, nothing when no one is at a terminal, and
a y/n question with a colored diff otherwise.
*/

mod render;

use std::io::{BufRead, IsTerminal, Write};

pub use render::colored_diff;

use crate::agent::event::ApprovalAction;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalMode {
    /// `--yes`: approve everything.
    All,
    /// Ask on the terminal.
    Ask,
    /// No terminal and no `--yes`: nothing is applied or run.
    Deny,
}

impl ApprovalMode {
    /// `--yes` wins; otherwise ask if stdin is a terminal, deny if not.
    pub fn detect(yes: bool) -> Self {
        match (yes, std::io::stdin().is_terminal()) {
            (true, _) => ApprovalMode::All,
            (false, true) => ApprovalMode::Ask,
            (false, false) => ApprovalMode::Deny,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approved,
    Denied { reason: String },
}

pub struct Approver {
    mode: ApprovalMode,
    denied: u32,
}

impl Approver {
    pub fn new(mode: ApprovalMode) -> Self {
        Self { mode, denied: 0 }
    }

    /// How many actions were refused so far.
    pub fn denied(&self) -> u32 {
        self.denied
    }

    pub async fn decide(&mut self, action: &ApprovalAction) -> Decision {
        let decision = match self.mode {
            ApprovalMode::All => Decision::Approved,
            ApprovalMode::Deny => Decision::Denied {
                reason: "no one is at a terminal to approve it and --yes was not given".into(),
            },
            ApprovalMode::Ask => ask(action.clone()).await,
        };
        if matches!(decision, Decision::Denied { .. }) {
            self.denied += 1;
        }
        decision
    }
}

async fn ask(action: ApprovalAction) -> Decision {
    let answer = tokio::task::spawn_blocking(move || prompt(&action)).await;
    match answer {
        Ok(Some(true)) => Decision::Approved,
        Ok(Some(false)) => Decision::Denied {
            reason: String::new(),
        },
        Ok(None) | Err(_) => Decision::Denied {
            reason: "the terminal closed before an answer".into(),
        },
    }
}

/// Shows the action and reads y/n from stdin; None at end of input.
fn prompt(action: &ApprovalAction) -> Option<bool> {
    let mut stderr = std::io::stderr().lock();
    let question = match action {
        ApprovalAction::Edit { diff, .. } => {
            let _ = write!(stderr, "{}", colored_diff(diff));
            "Apply this edit?"
        }
        ApprovalAction::Command { command } => {
            let _ = writeln!(stderr, "{}", console::style(format!("$ {command}")).bold());
            "Run this command?"
        }
    };
    let stdin = std::io::stdin();
    loop {
        let _ = write!(stderr, "{question} [y/n] ");
        let _ = stderr.flush();
        let mut line = String::new();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Some(true),
            "n" | "no" => return Some(false),
            _ => continue,
        }
    }
}
