/*!
The daemon as the front end of its sessions: an approval question is stored (so every client can
list it, also after a restart) and waits for the first HTTP answer; a later answer gets 409. A
question answered while no turn waited for it (the daemon was restarted meanwhile) finds its
answer stored when the continued turn asks it again. Files are on disk.
*/

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::api::stored_answer;
use super::db::Db;
use super::hub::Changes;
use super::store::Asked;
use crate::agent::Editor;
use crate::approval::{Answer, Asker, Interaction, Question, split_hunks};
use crate::session::{Front, Stop};
use crate::sync::lock;

/// Open questions, by (session id, call id), each waiting for its first answer.
pub type Waiters = Arc<Mutex<HashMap<(String, String), oneshot::Sender<Answer>>>>;

pub struct HttpFront {
    pub store: Db,
    pub waiters: Waiters,
    pub changes: Changes,
}

impl Front for HttpFront {
    fn interaction(&self, session_id: &str, stop: Stop) -> Interaction {
        Interaction::Asked(Arc::new(HttpAsker {
            session_id: session_id.to_string(),
            store: self.store.clone(),
            waiters: Arc::clone(&self.waiters),
            changes: self.changes.clone(),
            stop,
        }))
    }

    fn editor(&self, _session_id: &str) -> Option<Editor> {
        None
    }
}

struct HttpAsker {
    session_id: String,
    store: Db,
    waiters: Waiters,
    changes: Changes,
    stop: Stop,
}

impl Asker for HttpAsker {
    fn ask(&self, question: Question) -> Pin<Box<dyn Future<Output = Answer> + Send>> {
        let (call_id, shown) = described(&question);
        let (sender, receiver) = oneshot::channel();
        let key = (self.session_id.clone(), call_id.clone());
        // Waiting before the question is visible: an answer finds its waiter.
        lock(&self.waiters).insert(key.clone(), sender);
        let stop = lock(&self.stop).clone();
        let (waiters, store) = (Arc::clone(&self.waiters), self.store.clone());
        let changes = self.changes.clone();
        Box::pin(async move {
            let (session_id, call_id) = key.clone();
            let asked = store
                .call(move |store| store.ask_approval(&session_id, &call_id, &shown.to_string()))
                .await;
            // Its state is waiting for approval now.
            changes.touched(&key.0);
            match asked {
                Ok(Asked::Pending) => {}
                Ok(Asked::AnsweredBefore(stored)) => {
                    lock(&waiters).remove(&key);
                    return stored_answer(&stored);
                }
                Err(_) => {
                    lock(&waiters).remove(&key);
                    return Answer::RejectOnce { reason: None };
                }
            }
            tokio::select! {
                answer = receiver => answer.unwrap_or(Answer::Cancelled),
                () = stop.cancelled() => {
                    lock(&waiters).remove(&key);
                    // The turn that asked is over: the question is no longer open.
                    // Left open, it is expired by the next message or the next start.
                    if let Err(error) = store.expire_approvals(&key.0).await {
                        eprintln!(
                            "agent serve: session {}: its question not expired: {error:#}",
                            key.0
                        );
                    }
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
            ..
        } => {
            let files: Vec<Value> = files
                .iter()
                .map(|file| {
                    let hunks: Vec<Value> = split_hunks(
                        file.old.as_deref().unwrap_or(""),
                        file.new.as_deref().unwrap_or(""),
                    )
                    .into_iter()
                    .map(|hunk| json!({"header": hunk.header, "diff": hunk.text}))
                    .collect();
                    json!({"path": file.path, "old": file.old, "new": file.new, "hunks": hunks})
                })
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
            ..
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
