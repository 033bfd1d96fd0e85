#!/usr/bin/env bash
# Measures task success on any model: copies each task of bench/tasks/ into a fresh git repository,
# runs them all with `agent batch` (every argument is passed on: provider, model, -j ...), and
# prints solved tasks, turns and tokens. A task is solved when its check (the project's tests)
# passes after the agent's change.
#
#   bench/run.sh --provider-kind openai --base-url http://127.0.0.1:8080/v1 --model qwen2.5-coder-1.5b
#   bench/run.sh                      # GLM-4.7-Flash with ZAI_API_KEY
#
# Env: AGENT (default: agent on PATH), BENCH_OUT (results directory, default a temp dir).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
agent=${AGENT:-agent}
work=$(mktemp -d)
out=${BENCH_OUT:-$work/results}
for task in "$here"/tasks/*/; do
  name=$(basename "$task")
  cp -r "$task" "$work/$name"
  git -C "$work/$name" init -q
  git -C "$work/$name" add -A
  git -C "$work/$name" -c user.name=bench -c user.email=bench@localhost commit -qm "task $name"
done
cd "$work"
"$agent" batch "$here/tasks.jsonl" --out "$out" "$@" || true
python3 - "$out/results.jsonl" <<'PY'
import json, sys
results = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
solved = [r["id"] for r in results if r["status"] == "ok"]
total = lambda key: sum(r.get(key, 0) for r in results)
print(f"solved {len(solved)}/{len(results)}: {', '.join(solved) or '-'}")
print(f"turns {total('turns')}, prompt tokens {total('prompt_tokens')} ({total('cached_tokens')} cached), "
      f"completion tokens {total('completion_tokens')}, {total('seconds'):.0f} s of task time")
PY
