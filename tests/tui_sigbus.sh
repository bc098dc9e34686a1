#!/usr/bin/env bash
# tui_sigbus.sh — a model file truncated while the explorer has it mapped: the next read of its
# weights raises SIGBUS; the explorer must leave the alternate screen, put the terminal modes
# back, say which file shrank in one line and exit 2 (README, Reliability). Real binary in tmux.
set -eu
E2E="$FIXTURES/probe-e2e"
command -v tmux >/dev/null || { echo "FAIL: tmux is missing (make deps installs it)"; exit 1; }
T=$(mktemp -d)
SOCK="modex-sigbus-$$"
tm() { tmux -L "$SOCK" "$@"; }
trap 'tm kill-server 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; echo "--- screen:"; tm capture-pane -p 2>/dev/null || true; exit 1; }
wait_for() { # wait_for PATTERN [what]
  local i
  for i in $(seq 150); do
    tm capture-pane -p | grep -q -- "$1" && return 0
    sleep 0.2
  done
  fail "no '$1' on the screen after 30 s${2:+ ($2)}"
}
cp -r "$E2E/model" "$T/model"
cat > "$T/run.sh" <<EOS
stty -g > "$T/stty.before"
MODEX_MAP_COPY_MAX=0 NO_COLOR=1 XDG_STATE_HOME="$T/state" "$MODEX" "$T/model" "$E2E/probe.csv" --draws 4 2> "$T/stderr"
echo \$? > "$T/rc"
stty -g > "$T/stty.after"
sleep 600
EOS
for i in 1 2 3; do tm -f /dev/null new-session -d -x 120 -y 40 -s main "bash $T/run.sh" && break; sleep 1; done
wait_for "3 of 3 layers analysed" "layers view"
[ "$(tm display -p '#{alternate_on}')" = 1 ] || fail "the explorer is not on the alternate screen"
# the weights are mapped (MODEX_MAP_COPY_MAX=0): cut the file, then ask for a forward pass
truncate -s 4096 "$T/model/model.safetensors"
tm send-keys : "view perturb" Enter
for i in $(seq 150); do [ -s "$T/rc" ] && [ -s "$T/stty.after" ] && break; sleep 0.2; done
[ -s "$T/rc" ] || fail "the explorer did not end after its file shrank"
[ "$(cat "$T/rc")" = 2 ] || fail "exit status $(cat "$T/rc") (want 2): $(cat "$T/stderr")"
grep -q "model.safetensors: the file shrank while modex was reading it" "$T/stderr" || fail "stderr: $(cat "$T/stderr")"
cmp -s "$T/stty.before" "$T/stty.after" || fail "terminal modes changed: $(cat "$T/stty.before") -> $(cat "$T/stty.after")"
[ "$(tm display -p '#{alternate_on}')" = 0 ] || fail "still on the alternate screen"
[ "$(tm display -p '#{cursor_flag}')" = 1 ] || fail "the cursor stayed hidden"
echo "ok"
