#!/usr/bin/env bash
# Measures task success on any model: copies each task of bench/tasks/ into a fresh git repository,
# runs them all with `agent batch` (every argument is passed on: provider, model, -j ...), or with
# Aider on the same tasks and server, and prints solved tasks, turns, prompt tokens and time. A task
# is solved when its check (the project's tests) passes after the change.
#
#   bench/run.sh --provider-kind openai --base-url http://127.0.0.1:8080/v1 --model qwen2.5-coder-1.5b
#   bench/run.sh                      # GLM-4.7-Flash with ZAI_API_KEY
#   bench/run.sh --aider --base-url http://127.0.0.1:8080/v1 --model qwen2.5-coder-1.5b
#
# Env: AGENT (default: agent on PATH), AIDER (default: aider on PATH; `pip install aider-chat`),
# RUNS (default 1: each run starts from fresh copies; the model samples, so runs differ),
# BENCH_OUT (results directory, default a temp dir), TASK_TIMEOUT (seconds per Aider task, 600).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
agent=${AGENT:-agent}
aider=${AIDER:-aider}
runs=${RUNS:-1}
work=$(mktemp -d)
out=${BENCH_OUT:-$work/results}

tool=agent
if [ "${1:-}" = --aider ]; then
  tool=aider
  shift
  base_url= model=
  while [ $# -gt 0 ]; do
    case "$1" in
      --base-url) base_url=$2; shift 2 ;;
      --model) model=$2; shift 2 ;;
      *) echo "bench/run.sh --aider takes --base-url URL --model NAME, not $1" >&2; exit 2 ;;
    esac
  done
  [ -n "$base_url" ] && [ -n "$model" ] || { echo "bench/run.sh --aider needs --base-url and --model" >&2; exit 2; }
fi

# Fresh copies of every task, each its own git repository, under $1.
copy_tasks() {
  mkdir -p "$1"
  for task in "$here"/tasks/*/; do
    name=$(basename "$task")
    cp -r "$task" "$1/$name"
    git -C "$1/$name" init -q
    git -C "$1/$name" add -A
    git -C "$1/$name" -c user.name=bench -c user.email=bench@localhost commit -qm "task $name"
  done
}

# Aider on every task of tasks.jsonl in $1, writing results.jsonl like agent batch's to $2.
run_aider() {
  python3 - "$here/tasks.jsonl" "$1" "$2" "$aider" "$base_url" "$model" "${TASK_TIMEOUT:-600}" <<'PY'
import json, os, re, subprocess, sys, time
tasks_file, root, out, aider, base_url, model, timeout = sys.argv[1:]
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "results.jsonl"), "w") as results:
    for line in open(tasks_file):
        if not line.strip():
            continue
        task = json.loads(line)
        cwd = os.path.join(root, task["workspace"])
        start = time.monotonic()
        try:
            run = subprocess.run(
                [aider, "--model", f"openai/{model}", "--openai-api-base", base_url,
                 "--openai-api-key", "x", "--yes-always", "--no-check-update", "--no-analytics",
                 "--no-show-release-notes", "--no-show-model-warnings", "--no-gitignore",
                 "--no-pretty", "--no-stream", "--message", task["task"]],
                cwd=cwd, capture_output=True, text=True, timeout=int(timeout), stdin=subprocess.DEVNULL)
            output = run.stdout + run.stderr
        except subprocess.TimeoutExpired as expired:
            output = (expired.stdout or b"").decode(errors="replace") if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        seconds = time.monotonic() - start
        open(os.path.join(out, f"{task['id']}.log"), "w").write(output)
        sent = re.findall(r"Tokens: ([\d.]+)(k?) sent", output)
        prompt = sum(float(n) * (1000 if k else 1) for n, k in sent)
        check = subprocess.run(task["check"], shell=True, cwd=cwd, capture_output=True)
        results.write(json.dumps({
            "id": task["id"], "status": "ok" if check.returncode == 0 else "check-failed",
            "turns": len(sent), "prompt_tokens": int(prompt), "cached_tokens": 0,
            "completion_tokens": 0, "seconds": round(seconds, 1)}) + "\n")
        results.flush()
PY
}

summarize() {
  python3 - "$@" <<'PY'
import json, sys
for path in sys.argv[1:]:
    results = [json.loads(line) for line in open(path) if line.strip()]
    solved = [r["id"] for r in results if r["status"] == "ok"]
    total = lambda key: sum(r.get(key, 0) for r in results)
    print(f"solved {len(solved)}/{len(results)}: {', '.join(solved) or '-'}")
    print(f"turns {total('turns')}, prompt tokens {total('prompt_tokens')} ({total('cached_tokens')} cached), "
          f"completion tokens {total('completion_tokens')}, {total('seconds'):.0f} s of task time "
          f"({total('seconds') / max(len(results), 1):.0f} s a task)")
PY
}

all_results=()
for run in $(seq 1 "$runs"); do
  copy="$work/run-$run"
  results="$out/run-$run"
  [ "$runs" = 1 ] && results="$out"
  copy_tasks "$copy"
  case "$tool" in
    agent) (cd "$copy" && "$agent" batch "$here/tasks.jsonl" --out "$results" "$@") || true ;;
    aider) run_aider "$copy" "$results" ;;
  esac
  echo "run $run ($tool):"
  summarize "$results/results.jsonl"
  all_results+=("$results/results.jsonl")
done
