#!/usr/bin/env bash
# Runs the whole test suite: unit, integration (real Kafka, simulator, Prometheus, Chromium),
# end to end and the fault suite. Starts the local broker unless KRWFEED_KAFKA_BOOTSTRAP is set,
# and stops what it started.
#
# The suite must leave the checkout as it found it: results and screenshots go to temporary
# directories (`make results` updates the committed ones). The state of every changed or untracked
# file (git status plus a content hash) is taken before and after the run, so a developer's own
# edits are allowed but anything the run wrote into the checkout fails it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

tree_state() {
  # One line per changed or untracked (not ignored) path: its status and the hash of its content.
  git status --porcelain=v1 -z --untracked-files=all | while IFS= read -r -d '' entry; do
    path=${entry:3}
    case "${entry:0:1}" in R|C) IFS= read -r -d '' _ ;; esac  # the rename's source path follows
    if [ -f "$path" ]; then hash=$(git hash-object -- "$path"); else hash=-; fi
    printf '%s %s %s\n' "${entry:0:2}" "$hash" "$path"
  done
}

in_git=0
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  in_git=1
  before=$(tree_state)
else
  echo "test.sh: not a git checkout; the clean-checkout check is skipped" >&2
fi

rc=0
$PY -m pytest -q "$@" || rc=$?
# pytest exits 5 when no test ran: that is a failure here.

if [ "$in_git" = 1 ]; then
  after=$(tree_state)
  if [ "$before" != "$after" ]; then
    echo "test.sh: the test run changed the checkout (tests must write to temporary directories;" \
         "committed results are updated with 'make results'):" >&2
    diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep '^[<>]' >&2 || true
    [ "$rc" = 0 ] && rc=1
  fi
fi
exit $rc
