# Sourced by scripts/demo and scripts/probes: a private D-Bus bus, the
# acquirer simulator on free loopback ports and posd with simulated hardware,
# all in $work (a fresh temporary folder), every process stopped on exit.
# Needs: $bin (the folder of the built posd, posctl and pos-acquirer-sim)
# and $rig_name (the caller's name for messages).
work=$(mktemp -d)
pids=()
# Stops what we started: TERM, up to 5 s, then KILL. (Not `wait`: inside the
# EXIT trap after a failing step, bash's `wait` was seen to hang.)
stop() {
  local pid=$1
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
  local status=$?
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[$i]}"; done
  if ((status != 0)); then
    echo "$rig_name: FAILED (exit $status). posd's log:"; tail -n 30 "$work/posd.log" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

start_rig() {
  # 1. A private bus (never the machine's own).
  cat >"$work/bus.conf" <<CONF
<busconfig><type>session</type><listen>unix:path=$work/bus</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>
CONF
  dbus-daemon --config-file="$work/bus.conf" --nofork --print-address >"$work/bus.addr" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 100); do [[ -s "$work/bus.addr" ]] && break; sleep 0.05; done
  bus=$(head -n1 "$work/bus.addr")

  # 2. The acquirer simulator on free loopback ports.
  "$bin/pos-acquirer-sim" serve --listen 127.0.0.1:0 --control 127.0.0.1:0 >"$work/ports" 2>"$work/sim.log" &
  pids+=($!)
  for _ in $(seq 100); do [[ -s "$work/ports" ]] && break; sleep 0.05; done
  [[ -s "$work/ports" ]] || { echo "$rig_name: the simulator did not start:"; cat "$work/sim.log"; exit 1; }
  listen=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listen"])' "$work/ports")

  # 3. posd with simulated reader, contactless field, code scanner, keypad and modem.
  sed -e "s#127.0.0.1:1#$listen#" -e "s#/tmp/posd-test#$work/state#" -e 's#^\[hardware\]$#[hardware]\ncontactless = "sim"\nscanner = "sim"#' tests/fixtures/posd-test.toml >"$work/posd.toml"
  "$bin/posd" --config "$work/posd.toml" --bus "$bus" >"$work/posd.log" 2>&1 &
  posd_pid=$!
  pids+=($posd_pid)
  for _ in $(seq 100); do pos status >/dev/null 2>&1 && break; sleep 0.05; done
}

pos() { "$bin/posctl" --bus "$bus" "$@"; }

# Inserts (or, with a third argument `tap`, taps) a card and arms the cardholder: `posctl sim keys --when-asked`
# types the PIN once posd asks for it (earlier presses are dropped, as on
# the real keypad). Returns once the typist is listening.
cardholder() {
  local card=$1 pin=$2 how=${3:-insert}
  pos sim "$how" "$card" >/dev/null
  rm -f "$work/keys.log"
  pos sim keys --when-asked "$pin" >/dev/null 2>"$work/keys.log" &
  typist=$!
  for _ in $(seq 250); do grep -q waiting "$work/keys.log" 2>/dev/null && return 0; sleep 0.02; done
  echo "$rig_name: posctl sim keys --when-asked did not start:"; cat "$work/keys.log"; return 1
}

# The cashier app (pos-kiosk) on loopback, against this rig's posd: port
# 8080 when free, else any; its URL in $kiosk_url.
start_kiosk() {
  local port=8080
  (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && port=0
  printf 'listen = "127.0.0.1:%s"\noperator_pin = "%s"\nlanguage = "zh"\n' "$port" "${KIOSK_PIN:-2580}" >"$work/kiosk.toml"
  "$bin/pos-kiosk" --config "$work/kiosk.toml" --bus "$bus" >"$work/kiosk.out" 2>"$work/kiosk.log" &
  pids+=($!)
  for _ in $(seq 100); do [[ -s "$work/kiosk.out" ]] && break; sleep 0.05; done
  kiosk_url=$(sed -n 's/^pos-kiosk: //p' "$work/kiosk.out")
  [[ -n "$kiosk_url" ]] || { echo "$rig_name: pos-kiosk did not start:"; cat "$work/kiosk.log"; exit 1; }
}
