#!/usr/bin/env bash
# tui_sigbus.sh — a model file truncated while the explorer has it mapped: the next read of its
# weights raises SIGBUS; the explorer must leave the alternate screen, put the terminal modes
# back, say which file shrank in one line and exit 2 (README, Reliability). Real binary in tmux.
set -eu
E2E="$FIXTURES/probe-e2e"
. "$(dirname "$0")/_tmux.sh"
cp -r "$E2E/model" "$T/model"
cat > "$T/run.sh" <<EOS
stty -g > "$T/stty.before"
MODEX_MAP_COPY_MAX=0 NO_COLOR=1 XDG_STATE_HOME="$T/state" "$MODEX" "$T/model" "$E2E/probe.csv" --draws 4 2> "$T/stderr"
echo \$? > "$T/rc"
stty -g > "$T/stty.after"
sleep 600
EOS
start_session "$T/run.sh" || fail "tmux did not start"
wait_for "3 of 3 layers analysed" "layers view"
[ "$(tm display -p '#{alternate_on}')" = 1 ] || fail "the explorer is not on the alternate screen"
# the weights are mapped (MODEX_MAP_COPY_MAX=0): cut the file, then ask for a forward pass
truncate -s 4096 "$T/model/model.safetensors"
tm send-keys : "view perturb" Enter
wait_exit || true
[ -s "$T/rc" ] || fail "the explorer did not end after its file shrank"
[ "$(cat "$T/rc")" = 2 ] || fail "exit status $(cat "$T/rc") (want 2): $(cat "$T/stderr")"
grep -q "model.safetensors: the file shrank while modex was reading it" "$T/stderr" || fail "stderr: $(cat "$T/stderr")"
cmp -s "$T/stty.before" "$T/stty.after" || fail "terminal modes changed: $(cat "$T/stty.before") -> $(cat "$T/stty.after")"
[ "$(tm display -p '#{alternate_on}')" = 0 ] || fail "still on the alternate screen"
[ "$(tm display -p '#{cursor_flag}')" = 1 ] || fail "the cursor stayed hidden"
echo "ok"
