/*!
Files through the editor for an ACP session whose client offers `fs/read_text_file` and
`fs/write_text_file`: what the tools read comes from its buffers, edits go into them.
*/

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use agent_client_protocol::Client;
use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::v1::schema::{ReadTextFileRequest, WriteTextFileRequest};

use crate::agent::EditorFiles;

pub struct AcpFiles {
    pub connection: ConnectionTo<Client>,
    pub session_id: String,
}

impl EditorFiles for AcpFiles {
    fn read(&self, path: PathBuf) -> Pin<Box<dyn Future<Output = Option<String>> + Send>> {
        let sent = self
            .connection
            .send_request(ReadTextFileRequest::new(self.session_id.clone(), path));
        // The editor answers an error for a file that does not exist: then there is no text.
        Box::pin(async move { sent.block_task().await.ok().map(|read| read.content) })
    }

    fn write(
        &self,
        path: PathBuf,
        text: String,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> {
        let sent = self.connection.send_request(WriteTextFileRequest::new(
            self.session_id.clone(),
            path,
            text,
        ));
        Box::pin(async move {
            sent.block_task()
                .await
                .map(|_| ())
                .map_err(|error| error.to_string())
        })
    }
}
