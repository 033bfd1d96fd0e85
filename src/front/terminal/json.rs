/*! `--json`: one event per line on stdout, flushed as it happens. */

use std::io::Write;

use crate::protocol::event::{Event, EventSink};

pub struct JsonLines;

impl EventSink for JsonLines {
    fn emit(&mut self, event: &Event) {
        let Ok(line) = serde_json::to_string(event) else {
            return;
        };
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }
}
