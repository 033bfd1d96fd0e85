/*!
`agent batch`: many tasks in parallel, each in its own worktree, resumable and shardable; and
the commands that act on a batch's results (`agent batch merge`, `agent review`, `agent apply DIR`).
*/

mod input;
mod progress;
mod results;
mod task;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::cli::{BatchArgs, BatchCommand, PatchArgs, ReviewArgs, Shard};
use crate::config::{FileConfig, Settings};
use crate::front::terminal::{interaction, report_offered, report_problem, report_window};
use crate::isolate::{Offered, offer};
use crate::model::{ModelClient, settle_for_server};
use crate::policy::{approval_mode, confinement, sandbox};
use crate::protocol::exit::Exit;
use crate::protocol::modes::ApprovalMode;
use input::TaskSpec;
use progress::ProgressBars;
pub use results::RESULTS_FILE;
use results::{ResultsWriter, Status, TaskResult};
use task::BatchContext;

pub async fn batch(args: BatchArgs) -> Result<ExitCode> {
    if let Some(BatchCommand::Merge { out, dirs }) = &args.command {
        let count = results::merge(dirs, out)?;
        println!("merged {count} results into {}", out.display());
        return Ok(ExitCode::SUCCESS);
    }
    let Some(file) = &args.file else {
        bail!("give a batch file (JSONL or TOML), or `-` for stdin")
    };
    let tasks = input::load(file)?;
    let tasks: Vec<TaskSpec> = match args.shard {
        Some(shard) => tasks
            .into_iter()
            .filter(|task| shard.contains(&task.id))
            .collect(),
        None => tasks,
    };
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let config = FileConfig::load(&cwd)?;
    let mut settings = Settings::resolve(&args.model.choice(), None, &config)?;
    settle_for_server(&mut settings).await;
    report_window(&settings);
    let out = args.out.clone().unwrap_or_else(|| default_out(&cwd, file));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let out = out.canonicalize()?;
    let previous = results::read(&out)?;
    let (to_run, skipped): (Vec<TaskSpec>, Vec<TaskSpec>) =
        tasks
            .into_iter()
            .partition(|task| match previous.get(&task.id) {
                None => true,
                Some(result) => args.retry_failed && result.status != Status::Ok,
            });
    if !skipped.is_empty() {
        eprintln!(
            "skipping {} tasks already finished in {}",
            skipped.len(),
            out.display()
        );
    }
    // Said once, for every task, when the sandbox cannot be enforced here.
    if let (_, Some(why_not)) = confinement(&sandbox(args.sandbox.choice(), &config)) {
        report_problem(format!("warning: {why_not}"));
    }
    let context = Arc::new(BatchContext {
        client: ModelClient::new(&settings)?,
        settings,
        cwd,
        out: out.clone(),
        timeout_secs: args.timeout_secs,
        yes: args.yes,
        running: tokio::sync::Semaphore::new(usize::from(args.jobs)),
        sandbox: args.sandbox.choice(),
        heads: tokio::sync::Mutex::default(),
    });
    let finished = run_all(to_run, context, usize::from(args.jobs), &out).await?;
    print_summary(&finished, &out);
    let all_ok = finished.iter().all(|result| result.status == Status::Ok);
    Ok(ExitCode::from(if all_ok {
        Exit::Success
    } else {
        Exit::BatchNotAllOk
    }))
}

/// Runs the tasks, at most `jobs` at once (with as many more preparing their worktree or
/// writing their patch), appending each result as it finishes.
async fn run_all(
    tasks: Vec<TaskSpec>,
    context: Arc<BatchContext>,
    jobs: usize,
    out: &Path,
) -> Result<Vec<TaskResult>> {
    let writer = Arc::new(std::sync::Mutex::new(ResultsWriter::open(out)?));
    let progress = Arc::new(ProgressBars::new(
        tasks.len(),
        std::io::stderr().is_terminal(),
    ));
    let permits = Arc::new(tokio::sync::Semaphore::new(2 * jobs.max(1)));
    let mut running = tokio::task::JoinSet::new();
    for spec in tasks {
        let (context, writer, progress, permits) = (
            context.clone(),
            writer.clone(),
            progress.clone(),
            permits.clone(),
        );
        running.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let bar = progress.task_bar();
            let result = task::run(spec, &context, bar.clone()).await;
            crate::sync::lock(&writer).append(&result)?;
            progress.finished(&result, bar);
            anyhow::Ok(result)
        });
    }
    let mut finished = Vec::new();
    while let Some(joined) = running.join_next().await {
        finished.push(joined.context("a batch task panicked")??);
    }
    progress.close();
    finished.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(finished)
}

fn default_out(cwd: &Path, file: &str) -> PathBuf {
    let name = Path::new(file).file_stem().map_or_else(
        || "stdin".to_string(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    let name = if file == "-" {
        "stdin".to_string()
    } else {
        name
    };
    let time = jiff::Zoned::now().strftime("%Y%m%d-%H%M%S").to_string();
    cwd.join(".agent/batch").join(format!("{name}-{time}"))
}

fn print_summary(finished: &[TaskResult], out: &Path) {
    let width = finished
        .iter()
        .map(|result| result.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    println!(
        "{:<width$}  {:<12} {:>5} {:>9} {:>9} {:>9} {:>8}  patch",
        "id", "status", "turns", "prompt", "cached", "output", "seconds"
    );
    for result in finished {
        println!(
            "{:<width$}  {:<12} {:>5} {:>9} {:>9} {:>9} {:>8.1}  {}",
            result.id,
            result.status.as_str(),
            result.turns,
            result.prompt_tokens,
            result.cached_tokens,
            result.completion_tokens,
            result.seconds,
            result.patch.as_deref().unwrap_or("-")
        );
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for result in finished {
        *counts.entry(result.status.as_str()).or_default() += 1;
    }
    let counts: Vec<String> = counts
        .into_iter()
        .map(|(status, count)| format!("{count} {status}"))
        .collect();
    println!(
        "{} tasks: {} (results in {})",
        finished.len(),
        counts.join(", "),
        out.join(RESULTS_FILE).display()
    );
}

impl Shard {
    /// Whether the task `id` belongs to this shard: a stable hash (64-bit FNV-1a, the same on
    /// every machine and Rust version) of the id, modulo the shard count.
    pub fn contains(&self, id: &str) -> bool {
        let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        hash % self.count == self.index
    }
}

/// `agent review DIR`: walk a batch's patches with the review UI, applying accepted ones.
pub async fn review(args: ReviewArgs) -> Result<ExitCode> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "agent review needs a terminal; to apply without one use `agent apply DIR --ids ... --yes`"
        );
    }
    apply_results(&args.dir, None, ApprovalMode::Ask).await
}

/// Whether `agent apply` names a batch's results directory.
pub fn is_results_dir(named: &str) -> bool {
    Path::new(named).join(RESULTS_FILE).is_file()
}

/// `agent apply DIR [--ids a,b]`: apply chosen patches of a batch (reviewed unless `--yes`).
pub async fn apply_batch(args: &PatchArgs) -> Result<ExitCode> {
    let (dir, ids) = (Path::new(&args.session), args.ids.as_deref());
    let mode = approval_mode(args.workspace.approval_flag(), &FileConfig::default());
    let ids: Option<Vec<String>> = ids.map(|ids| {
        ids.split(',')
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty())
            .collect()
    });
    apply_results(dir, ids, mode).await
}

async fn apply_results(
    dir: &Path,
    ids: Option<Vec<String>>,
    mode: ApprovalMode,
) -> Result<ExitCode> {
    let results = results::read(dir)?;
    if results.is_empty() {
        bail!("no {RESULTS_FILE} in {}", dir.display());
    }
    if let Some(ids) = &ids
        && let Some(unknown) = ids.iter().find(|id| !results.contains_key(id.as_str()))
    {
        bail!("no task `{unknown}` in {}", dir.display());
    }
    let mut not_applied = 0;
    for result in results.values() {
        let chosen = ids.as_ref().is_none_or(|ids| ids.contains(&result.id));
        let Some(patch) = result.patch.as_ref().filter(|_| chosen) else {
            continue;
        };
        eprintln!("== {} ({}) ==", result.id, result.status.as_str());
        let workspace = crate::cli::open_workspace(Some(Path::new(&result.workspace)))?;
        let text = std::fs::read_to_string(dir.join(patch))
            .with_context(|| format!("cannot read {patch}"))?;
        let journal = dir.join(format!("{}.edits.jsonl", result.id));
        match offer(&workspace, &text, &journal, Some(mode), interaction()).await {
            Ok(offered @ Offered::Applied { .. }) => report_offered(workspace.root(), &offered),
            Ok(Offered::NotApplied) => not_applied += 1,
            Ok(Offered::Quit) => {
                not_applied += 1;
                break;
            }
            Err(error) => {
                eprintln!("{}: {error:#}", result.id);
                not_applied += 1;
            }
        }
    }
    Ok(ExitCode::from(if not_applied == 0 {
        Exit::Success
    } else {
        Exit::Denied
    }))
}
