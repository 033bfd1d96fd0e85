/*!
The daemon as the front end of its sessions: an approval question is stored (so every client can
list it) and waits for the first HTTP answer; a later answer gets 409. Files are on disk.
*/

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::store::Store;
use crate::agent::Editor;
use crate::live::{Front, Stop, lock};
use crate::review::{Answer, Asker, Question};

/// Open questions, by (session id, call id), each waiting for its first answer.
pub type Waiters = Arc<Mutex<HashMap<(String, String), oneshot::Sender<Answer>>>>;

pub struct HttpFront {
    pub store: Arc<Mutex<Store>>,
    pub waiters: Waiters,
}

impl Front for HttpFront {
    fn asker(&self, session_id: &str, stop: Stop) -> Arc<dyn Asker> {
        Arc::new(HttpAsker {
            session_id: session_id.to_string(),
            store: Arc::clone(&self.store),
            waiters: Arc::clone(&self.waiters),
            stop,
        })
    }

    fn editor(&self, _session_id: &str) -> Option<Editor> {
        None
    }
}

struct HttpAsker {
    session_id: String,
    store: Arc<Mutex<Store>>,
    waiters: Waiters,
    stop: Stop,
}

impl Asker for HttpAsker {
    fn ask(&self, question: Question) -> Pin<Box<dyn Future<Output = Answer> + Send>> {
        let (call_id, shown) = described(&question);
        let (sender, receiver) = oneshot::channel();
        let key = (self.session_id.clone(), call_id.clone());
        lock(&self.waiters).insert(key.clone(), sender);
        let stored = lock(&self.store).add_approval(&self.session_id, &call_id, &shown.to_string());
        let stop = lock(&self.stop).clone();
        let waiters = Arc::clone(&self.waiters);
        Box::pin(async move {
            if stored.is_err() {
                lock(&waiters).remove(&key);
                return Answer::RejectOnce;
            }
            tokio::select! {
                answer = receiver => answer.unwrap_or(Answer::Cancelled),
                () = stop.cancelled() => {
                    lock(&waiters).remove(&key);
                    Answer::Cancelled
                }
            }
        })
    }
}

/// The call a question is about, and the question as clients see it.
pub fn described(question: &Question) -> (String, Value) {
    match question {
        Question::Edit {
            call_id,
            summary,
            files,
        } => {
            let files: Vec<Value> = files
                .iter()
                .map(|file| json!({"path": file.path, "old": file.old, "new": file.new}))
                .collect();
            (
                call_id.clone(),
                json!({"kind": "edit", "summary": summary, "files": files}),
            )
        }
        Question::Command {
            call_id,
            command,
            outside_sandbox,
        } => (
            call_id.clone(),
            json!({"kind": "command", "command": command, "outside_sandbox": outside_sandbox}),
        ),
        Question::ToolCall {
            call_id,
            tool,
            arguments,
        } => (
            call_id.clone(),
            json!({"kind": "tool_call", "tool": tool, "arguments": arguments}),
        ),
    }
}
