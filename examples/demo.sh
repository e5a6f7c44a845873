#!/usr/bin/env bash
# The main demo (Majordomo): a broker, two echo workers and a client doing 300 requests; one worker is killed
# with SIGKILL half way through, and the client still completes. Everything on 127.0.0.1, nothing left running.
set -euo pipefail
bin=${1:-build/bin}
requests=${DEMO_REQUESTS:-300}
dir=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() {  # wait_for <file> <text> [tries of 50 ms]
    for _ in $(seq "${3:-200}"); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    echo "demo: timed out waiting for '$2' in $1" >&2
    return 1
}

echo "== Majordomo demo: mdbroker, 2 x mdworker (echo), mdclient doing $requests requests"
"$bin/mdbroker" --bind 'tcp://127.0.0.1:*' --heartbeat-ms 250 -v >"$dir/broker.log" 2>&1 &
pids+=($!)
wait_for "$dir/broker.log" "bound broker"
ep=$(grep -o 'bound broker tcp://[0-9.]*:[0-9]*' "$dir/broker.log" | head -1 | awk '{print $3}')
echo "   broker bound $ep"

# Each worker takes ~10 ms per request, so the run lasts a few seconds and the kill lands mid-stream.
for n in 1 2; do
    "$bin/mdworker" --connect "$ep" --service echo --heartbeat-ms 250 --slow-after 1 --delay-ms 10 \
        >"$dir/worker$n.log" 2>&1 &
    pids+=($!)
done
victim=${pids[1]}
for _ in $(seq 200); do [ "$(grep -c "ready for 'echo'" "$dir/broker.log")" -ge 2 ] && break; sleep 0.05; done
echo "   2 workers registered (pids ${pids[1]} ${pids[2]})"

"$bin/mdclient" --connect "$ep" --service echo --requests "$requests" --timeout-ms 500 --retries 5 -v \
    >"$dir/client.out" 2>"$dir/client.log" &
client=$!
pids+=($client)

half=$((requests / 2))
for _ in $(seq 600); do
    [ "$(grep -c ': ok after' "$dir/client.log" 2>/dev/null || true)" -ge "$half" ] && break
    sleep 0.05
done
kill -9 "$victim"
{ wait "$victim"; } 2>/dev/null || true
echo "   SIGKILL worker $victim after $(grep -c ': ok after' "$dir/client.log") answers"

status=0
wait "$client" || status=$?
echo "   retried requests:"
grep -E 'after [2-9] attempt' "$dir/client.log" | sed 's/^/     /' || echo "     (none: the killed worker held no request)"
echo "== $(cat "$dir/client.out")"
if [ "$status" -eq 0 ]; then echo "== client completed: every request answered and matched"; else
    echo "== client FAILED (exit $status)"; fi
exit "$status"
