/*! The process's exit codes, documented in README.md. */

/// How a command ended, as its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// Setup or unrecoverable API error; for `tools call`, the tool reported an error.
    Failure,
    /// A flag or argument the command line does not take.
    Usage,
    TurnLimit,
    RepeatedCall,
    /// The run finished, but at least one edit or command was not approved.
    Denied,
    /// The user answered `q` at a review prompt.
    Quit,
    /// A batch finished, but not every task ended ok.
    BatchNotAllOk,
    /// The final answer never satisfied `--output-schema`.
    InvalidOutput,
    Interrupted,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::TurnLimit => 3,
            Exit::RepeatedCall => 4,
            Exit::Denied => 5,
            Exit::Quit => 6,
            Exit::BatchNotAllOk => 7,
            Exit::InvalidOutput => 8,
            Exit::Interrupted => 130,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}
