#!/usr/bin/env bash
# The action's install step (action.yml): drizzle-ops in a virtualenv of its own under $RUNNER_TEMP, so the
# job's Python and PATH stay as they were. A second use in the same job with the same version reuses it.
#
# Env: ACTION_PYTHON   the interpreter actions/setup-python installed (its python-path output)
#      ACTION_VERSION  empty: the action's own source ($GITHUB_ACTION_PATH, the ref in `uses:`);
#                      a version such as 0.1.0: that release from PyPI; else a pip requirement as given
#      GITHUB_ACTION_PATH, RUNNER_TEMP, GITHUB_OUTPUT (set by the runner)
# Writes `bin=<path of the drizzle-ops script>` to $GITHUB_OUTPUT.
set -euo pipefail

python=${ACTION_PYTHON:?the python-path of actions/setup-python}
version=${ACTION_VERSION:-}
if [ -z "$version" ]; then
	requirement=${GITHUB_ACTION_PATH:?set by the runner}
elif [[ "$version" =~ ^v?[0-9][0-9A-Za-z.+!-]*$ ]]; then
	requirement="drizzle-ops==${version#v}"
else
	requirement=$version
fi

venv=${RUNNER_TEMP:?set by the runner}/drizzle-ops-venv
if [ -x "$venv/bin/drizzle-ops" ] && [ "$(cat "$venv/.requirement" 2>/dev/null)" = "$requirement" ]; then
	echo "drizzle-ops already installed in $venv ($("$venv/bin/drizzle-ops" --version))"
else
	rm -rf "$venv"
	"$python" -m venv "$venv"
	echo "installing $requirement with $("$venv/bin/python" --version)"
	"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$requirement"
	printf '%s' "$requirement" >"$venv/.requirement"
	"$venv/bin/drizzle-ops" --version
fi
echo "bin=$venv/bin/drizzle-ops" >>"${GITHUB_OUTPUT:?set by the runner}"
