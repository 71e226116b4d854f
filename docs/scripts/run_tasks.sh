#!/usr/bin/env bash
# The paper's tasks on real data, every task × model, written to target/tasks/:
#   politeness (tasks 1 and 2, the corpus shipped in examples/data) and climate stance
#   (task 3, from a clone of github.com/yiweiluo/GWStance given as the first argument).
# Then `python3 docs/scripts/tasks_summary.py target/tasks` prints docs/tasks.md's tables.
set -euo pipefail
gwstance=${1:?usage: run_tasks.sh PATH/TO/GWStance [REPS]}
reps=${2:-1000}
cd "$(dirname "$0")/../.."
cargo build --release --features sim --example politeness --example climate_stance
out=target/tasks
mkdir -p "$out"
for task in hedge we; do
  for model in ols logistic; do
    ./target/release/examples/politeness --task "$task" --model "$model" --reps "$reps" \
      --out "$out/politeness_${task}_${model}" > "$out/politeness_${task}_${model}.txt"
  done
done
for model in ols logistic; do
  ./target/release/examples/climate_stance --gwstance "$gwstance" --model "$model" \
    --reps "$reps" --out "$out/climate_stance" > "$out/climate_stance_${model}.txt"
done
