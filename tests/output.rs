//! Structured output (`--output-schema`, a batch task's `output_schema`) and the output token cap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::{MockGlm, Sandbox, finish, turn};

const SCHEMA: &str = r#"{
  "type": "object",
  "properties": {"files": {"type": "integer"}, "summary": {"type": "string"}},
  "required": ["files", "summary"],
  "additionalProperties": false
}"#;

fn with_schema() -> Sandbox {
    let sandbox = Sandbox::new(&[]);
    std::fs::write(sandbox.dir.path().join("schema.json"), SCHEMA).unwrap();
    sandbox
}

fn schema_path(sandbox: &Sandbox) -> String {
    sandbox.dir.path().join("schema.json").display().to_string()
}

fn last_message(body: &Value) -> Value {
    body["messages"].as_array().unwrap().last().unwrap().clone()
}

#[tokio::test]
async fn a_valid_answer_is_printed_alone_as_json() {
    let sandbox = with_schema();
    let mock = MockGlm::start(vec![
        turn()
            .content("```json\n{\"files\": 2, \"summary\": \"two\"}\n```")
            .reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--output-schema", &schema_path(&sandbox), "count"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "{\"files\":2,\"summary\":\"two\"}\n");
    assert_eq!(mock.requests()[0].body.get("response_format"), None);
}

#[tokio::test]
async fn an_invalid_answer_is_sent_back_with_what_failed_in_json_mode() {
    let sandbox = with_schema();
    let mock = MockGlm::start(vec![
        turn().content("I found two files.").reply(),
        turn()
            .content(r#"{"files": "2", "summary": "two"}"#)
            .reply(),
        turn().content(r#"{"files": 2, "summary": "two"}"#).reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args([
        "run",
        "--json",
        "--output-schema",
        &schema_path(&sandbox),
        "count",
    ]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = mock.requests();
    assert_eq!(requests.len(), 3);
    let format = json!({"type": "json_object"});
    assert_eq!(requests[1].body["response_format"], format);
    assert_eq!(requests[2].body["response_format"], format);
    let first_correction = last_message(&requests[1].body);
    assert_eq!(first_correction["role"], "user");
    let text = first_correction["content"].as_str().unwrap();
    assert!(text.contains("the answer is not one JSON value"), "{text}");
    let second = last_message(&requests[2].body)["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        second.contains(r#"at /files: "2" is not of type "integer""#),
        "{second}"
    );
    let events: Vec<Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let rejected: Vec<&Value> = events
        .iter()
        .filter(|event| event["type"] == "output_rejected")
        .collect();
    assert_eq!(rejected.len(), 2);
    let finished = events.last().unwrap();
    assert_eq!(finished["type"], "finished");
    assert_eq!(finished["output"], json!({"files": 2, "summary": "two"}));
    assert_eq!(finished["answer"], r#"{"files":2,"summary":"two"}"#);
}

#[tokio::test]
async fn openai_servers_get_the_schema_itself() {
    let sandbox = with_schema();
    let mock = MockGlm::start(vec![
        turn().content("two").reply(),
        turn().content(r#"{"files": 2, "summary": "two"}"#).reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args([
        "run",
        "--provider-kind",
        "openai",
        "--output-schema",
        &schema_path(&sandbox),
        "count",
    ]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    assert_eq!(
        mock.requests()[1].body["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "answer", "strict": true, "schema": schema}})
    );
}

#[tokio::test]
async fn an_answer_that_never_validates_ends_with_its_own_exit_code() {
    let sandbox = with_schema();
    let mock = MockGlm::start(vec![turn().content("no JSON here").reply(); 5]).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--output-schema", &schema_path(&sandbox), "count"]);
    let run = finish(command).await;
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert_eq!(
        mock.requests().len(),
        4,
        "the first answer and 3 corrections"
    );
    assert!(
        run.stderr
            .contains("the answer never satisfied the output schema"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_schema_that_is_not_json_schema_is_a_setup_error() {
    let sandbox = Sandbox::new(&[]);
    let path = sandbox.dir.path().join("bad.json");
    std::fs::write(&path, r#"{"type": 12}"#).unwrap();
    let mock = MockGlm::start(vec![]).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--output-schema", path.to_str().unwrap(), "x"]);
    let run = finish(command).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("not a valid JSON Schema"),
        "{}",
        run.stderr
    );
    assert_eq!(mock.requests().len(), 0);
}

#[tokio::test]
async fn batch_tasks_put_their_typed_answer_in_the_results() {
    let sandbox = with_schema();
    let mock = MockGlm::start(vec![
        turn().content(r#"{"files": 1, "summary": "one"}"#).reply(),
    ])
    .await;
    let tasks = sandbox.dir.path().join("tasks.jsonl");
    let task = json!({"id": "typed", "task": "count", "output_schema": serde_json::from_str::<Value>(SCHEMA).unwrap()});
    std::fs::write(&tasks, format!("{task}\n")).unwrap();
    let out = sandbox.dir.path().join("out");
    let mut command = sandbox.agent(&mock);
    command.args([
        "batch",
        tasks.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let results = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let result: Value = serde_json::from_str(results.lines().next().unwrap()).unwrap();
    assert_eq!(result["status"], "ok");
    assert_eq!(result["output"], json!({"files": 1, "summary": "one"}));
}

#[tokio::test]
async fn a_batch_task_with_a_missing_schema_file_is_refused_before_anything_runs() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![]).await;
    let tasks = sandbox.dir.path().join("tasks.jsonl");
    std::fs::write(
        &tasks,
        "{\"id\": \"a\", \"task\": \"x\", \"output_schema\": \"missing.json\"}\n",
    )
    .unwrap();
    let mut command = sandbox.agent(&mock);
    command.args(["batch", tasks.to_str().unwrap()]);
    let run = finish(command).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("line 1: output_schema: cannot read the output schema"),
        "{}",
        run.stderr
    );
    assert_eq!(mock.requests().len(), 0);
}

#[tokio::test]
async fn max_tokens_goes_up_to_the_models_largest_output() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![turn().content("ok").reply()]).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--max-tokens", "131072", "x"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(mock.requests()[0].body["max_tokens"], 131072);

    let mut command = sandbox.agent(&mock);
    command.args(["run", "--max-tokens", "131073", "x"]);
    let run = finish(command).await;
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("131073"), "{}", run.stderr);
}
