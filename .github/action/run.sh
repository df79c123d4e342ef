#!/usr/bin/env bash
# The action's run step (action.yml): `drizzle-ops <command> <args>` in the working directory. For plan
# and lint (unless args choose --format or --json, or summary is off) it asks for Markdown, which the tool
# prints and appends to $GITHUB_STEP_SUMMARY itself; a copy is kept and named in the `report` output.
#
# Env: ACTION_DRIZZLE_OPS       the drizzle-ops script (install.sh's bin output)
#      ACTION_COMMAND           one task: migrate, status, verify, lint, plan, …
#      ACTION_ARGS              its flags, split as a shell splits words (quotes work; nothing is expanded or run)
#      ACTION_WORKING_DIRECTORY where to run (invoke.yaml is read from there)
#      ACTION_SUMMARY           true (default) or false
#      RUNNER_TEMP, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY (set by the runner)
# Exits with drizzle-ops' own exit code (2: bad input, 1: a failed operation); also in the exit-code output.
set -euo pipefail

tool=${ACTION_DRIZZLE_OPS:?the drizzle-ops script}
command=${ACTION_COMMAND:-}
output=${GITHUB_OUTPUT:?set by the runner}
bad_input() {
	local message=${1//%/%25}
	echo "::error title=drizzle-ops action::${message//$'\n'/%0A}"
	echo "exit-code=2" >>"$output"
	exit 2
}

[[ "$command" =~ ^[a-z][a-z.-]*$ ]] ||
	bad_input "command must be one drizzle-ops task such as migrate, status, verify, lint or plan (flags go in args), not '$command'"
cd "${ACTION_WORKING_DIRECTORY:-.}" 2>/dev/null ||
	bad_input "working-directory '${ACTION_WORKING_DIRECTORY}' does not exist (it is relative to the repository checkout)"

# args as words, without eval: shlex splits them like a shell, but runs and expands nothing
words=$(mktemp)
trap 'rm -f "$words"' EXIT
if ! error=$("$(dirname "$tool")/python" - "${ACTION_ARGS:-}" 2>&1 >"$words" <<-'PY'
	import shlex, sys
	try:
	    sys.stdout.write("".join(word + "\0" for word in shlex.split(sys.argv[1])))
	except ValueError as exc:
	    sys.exit(f"args: {exc} (quote words the way a shell would)")
PY
); then
	bad_input "$error"
fi
args=()
mapfile -d '' -t args <"$words"

markdown=false
if [ "${ACTION_SUMMARY:-true}" = true ] && { [ "$command" = plan ] || [ "$command" = lint ]; }; then
	markdown=true
	for word in "${args[@]}"; do
		case $word in --format | --format=* | --json) markdown=false ;; esac
	done
fi

echo "::group::drizzle-ops $command ${args[*]}"
echo "in $(pwd)"
echo "::endgroup::"
code=0
if [ "$markdown" = true ]; then
	report=$(mktemp "${RUNNER_TEMP:?set by the runner}/drizzle-ops-$command.XXXXXX.md")
	"$tool" "$command" "${args[@]}" --format markdown >"$report" || code=$?
	cat "$report"
	echo "report=$report" >>"$output"
else
	"$tool" "$command" "${args[@]}" || code=$?
fi
echo "exit-code=$code" >>"$output"
[ "$code" = 0 ] || echo "::error title=drizzle-ops $command::exit code $code (the reason is in the log above)"
exit "$code"
