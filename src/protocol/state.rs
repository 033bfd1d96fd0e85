/*! Where a session the daemon holds stands, as clients see it and the database keeps it. */

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Work accepted, waiting for its turn to run.
    Queued,
    Running,
    /// Running, and a question waits for an answer.
    WaitingForApproval,
    /// Its last turn ended; a message continues it.
    Idle,
    /// Its turn was cut short by the daemon stopping; a message continues it.
    Interrupted,
    /// Its last turn failed, or it could not be reopened.
    Failed,
}

impl SessionState {
    pub const ALL: [SessionState; 6] = [
        SessionState::Queued,
        SessionState::Running,
        SessionState::WaitingForApproval,
        SessionState::Idle,
        SessionState::Interrupted,
        SessionState::Failed,
    ];

    /// The name clients see and the database stores.
    pub fn name(self) -> &'static str {
        match self {
            SessionState::Queued => "queued",
            SessionState::Running => "running",
            SessionState::WaitingForApproval => "waiting_for_approval",
            SessionState::Idle => "idle",
            SessionState::Interrupted => "interrupted",
            SessionState::Failed => "failed",
        }
    }

    /// The state a stored name stands for.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.name() == name)
    }

    /// Whether a turn runs or waits to run.
    pub fn is_busy(self) -> bool {
        match self {
            SessionState::Queued | SessionState::Running | SessionState::WaitingForApproval => true,
            SessionState::Idle | SessionState::Interrupted | SessionState::Failed => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_name() {
        let read: Vec<Option<SessionState>> = SessionState::ALL
            .into_iter()
            .map(|state| SessionState::named(state.name()))
            .collect();
        assert_eq!(read, SessionState::ALL.map(Some).to_vec());
        assert_eq!(SessionState::named("sleeping"), None);
    }
}
