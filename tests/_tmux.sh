# _tmux.sh — sourced by the tests that drive the real explorer in tmux (tui_tmux.sh,
# tui_sigbus.sh; run_all.sh skips files starting with _): a private tmux server on its own
# socket, a temp folder $T removed at exit (kept with KEEP=1), and polling helpers.
command -v tmux >/dev/null || { echo "FAIL: tmux is missing (make deps installs it)"; exit 1; }
T=$(mktemp -d)
SOCK="modex-test-$$"
tm() { tmux -L "$SOCK" "$@"; }
trap 'tm kill-server 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; echo "--- screen:"; tm capture-pane -p 2>/dev/null || true; exit 1; }
screen() { tm capture-pane -p; }
wait_for() { # wait_for PATTERN [what]: polls the screen, 30 s at most
  local i
  for i in $(seq 150); do
    screen | grep -q -- "$1" && return 0
    sleep 0.2
  done
  fail "no '$1' on the screen after 30 s${2:+ ($2)}"
}
start_session() { # start_session SCRIPT: 120x40 (a loaded machine may lose the first start: three tries)
  local i
  for i in 1 2 3; do tm -f /dev/null new-session -d -x 120 -y 40 -s main "bash $1" && return 0; sleep 1; done
  return 1
}
wait_exit() { # waits (30 s at most) for run.sh's $T/rc and $T/stty.after, written after modex ends
  local i
  for i in $(seq 150); do [ -s "$T/rc" ] && [ -s "$T/stty.after" ] && return 0; sleep 0.2; done
  return 1
}
