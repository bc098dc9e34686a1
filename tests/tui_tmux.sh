#!/usr/bin/env bash
# tui_tmux.sh — the real explorer in a real terminal: tmux (private socket, 120x40, NO_COLOR)
# on the probe-e2e fixture. The layers view fills in, Enter opens a layer's heatmap, Space
# masks an expert and the perturbation numbers change, :export writes a CSV whose rows equal
# the view, a resize to 60x20 and back does not crash, q exits 0 and leaves the terminal
# sane. Every step polls the screen (30 s at most) rather than sleeping a fixed time.
set -eu
E2E="$FIXTURES/probe-e2e"
. "$(dirname "$0")/_tmux.sh"
cat > "$T/run.sh" <<EOS
stty -g > "$T/stty.before"
NO_COLOR=1 XDG_STATE_HOME="$T/state" "$MODEX" "$E2E/model" "$E2E/probe.csv" --draws 4 2> "$T/stderr"
echo \$? > "$T/rc"
stty -g > "$T/stty.after"
sleep 600
EOS
start_session "$T/run.sh" || fail "tmux did not start"
tm set-option -g window-size manual 2>/dev/null || true

# --- the layers view fills in --------------------------------------------------------------
wait_for "3 of 3 layers analysed" "layers view"
screen | grep -Eq '^ +2 done +256 +8 ' || fail "layer rows"
# --- Enter opens layer 0: the heatmap --------------------------------------------------------
tm send-keys Enter
wait_for "layer 0: 8 experts x 3 sub-functions" "experts view"
wait_for "z-score" "heatmap legend"
# NO_COLOR: attributes only (no foreground colours), the glyphs carry the values
[ "$(tm capture-pane -e -p | grep -c "$(printf '\033')\[3[0-7]m\|$(printf '\033')\[38;5")" = 0 ] || fail "colours under NO_COLOR"
# 8 heatmap rows of ramp glyphs
[ "$(screen | grep -Ec '^ +[0-7] .*[@%#*+=:.-]{4}')" -ge 8 ] || fail "heatmap rows"
# --- the mouse: a click (X10 report) on screen row 8 selects expert 5, the wheel scrolls ---------
byte() { printf "\\x$(printf %x "$1")"; }
tm send-keys -l "$(printf '\033[M')$(byte 32)$(byte $((32 + 10)))$(byte $((32 + 9)))"
wait_for "layer 0 expert 5: 32 neurons" "mouse click"
tm send-keys -l "$(printf '\033[M')$(byte $((32 + 64)))$(byte 40)$(byte 40)"
wait_for "layer 0 expert 2: 32 neurons" "mouse wheel up"
# --- the perturbation numbers with nothing masked, then with expert 0 masked -----------------
tm send-keys : "view perturb" Enter
wait_for "done (4/4 draws)" "clean perturbation"
before=$(screen | grep -E '^sentiment +task ')
echo "$before" | awk '{ if ($4 != $5) exit 1 }' || fail "nothing masked yet, but before != after: $before"
tm send-keys Escape
wait_for "| experts " "back to the experts"
tm send-keys g Space
wait_for "masked 32" "mask toggled"
tm send-keys Tab Tab
wait_for "masked: 32 neurons" "perturb view"
wait_for "done (4/4 draws)" "masked perturbation"
after=$(screen | grep -E '^sentiment +task ')
[ "$before" != "$after" ] || fail "masking did not change the numbers: $after"
echo "$after" | awk '{ if ($4 == $5) exit 1 }' || fail "masked: before == after: $after"
# --- :export writes the rows of the view -----------------------------------------------------
tm send-keys : "export $T/view.csv" Enter
wait_for "exported 3 rows" "export"
tr -d '\r' < "$T/view.csv" | tail -n +2 | tr ',' ' ' > "$T/csv.rows"
screen | grep -E '^(sentiment|animal_vs_tool|capital_of) +[a-z]+ +(loss|accuracy) ' | tr -s ' ' | sed 's/ $//' > "$T/screen.rows"
diff "$T/csv.rows" "$T/screen.rows" || fail "exported rows differ from the screen"
tr -d '\r' < "$T/view.csv" | head -1 | grep -qx 'subfunction,function,metric,before,after,delta,random_after,random_sd,random_delta,excess' || fail "export header"
# an existing file is not overwritten
tm send-keys : "export $T/view.csv" Enter
wait_for "already exists" "export refuses"
# --- resize to 60x20 and back ----------------------------------------------------------------
tm resize-window -t main -x 60 -y 20
wait_for "terminal too small" "small"
tm resize-window -t main -x 120 -y 40
wait_for "masked: 32 neurons" "after resize"
# --- help, then q exits 0 and the terminal is sane -------------------------------------------
tm send-keys '?'
wait_for ":next-view\|next-view" "help"
tm send-keys q
wait_exit || true
[ -s "$T/rc" ] || fail "q did not quit"
[ "$(cat "$T/rc")" = 0 ] || fail "exit status $(cat "$T/rc"): $(cat "$T/stderr")"
cmp -s "$T/stty.before" "$T/stty.after" || fail "terminal modes changed: $(cat "$T/stty.before") -> $(cat "$T/stty.after")"
[ ! -s "$T/stderr" ] || fail "stderr: $(cat "$T/stderr")"
# the command line kept its history
grep -q "^export $T/view.csv" "$T/state/modex/history" || fail "history"
echo "ok"
