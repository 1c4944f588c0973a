#!/usr/bin/env bash
# `make bench`: size, start-up time, peak memory and CPU figures of the
# release binary on this machine. Prints figures; asserts nothing.
#
#   tests/bench.sh RELEASE_BINARY MOCK_BINARY
#
# Wall time is the median of RUNS runs of a fork+exec from bash (so /bin/true
# is the floor); peak RSS is the median of /usr/bin/time's %M.
set -euo pipefail
bin=$(realpath "$1")
mock=$(realpath "$2")
runs=${RUNS:-200}
work=$(mktemp -d)
trap 'kill $mock_pid 2>/dev/null || true; rm -rf "$work"' EXIT
mock_pid=

command -v /usr/bin/time >/dev/null || { echo "bench needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# median wall time in ms of "$@"
wall_ms() {
    local i s e
    for ((i = 0; i < runs; i++)); do
        s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
        echo $(((e - s) / 1000))
    done | median | awk '{printf "%.2f", $1/1000}'
}

# median peak RSS in KiB of "$@"
rss_kib() {
    local i
    for ((i = 0; i < 21; i++)); do
        /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1
    done | median
}

# hosts.yml with N contexts (N/2 hosts with 2 accounts each), the last active.
contexts() {
    local n=$1 dir=$2
    mkdir -p "$dir"
    awk -v n="$n" 'BEGIN {
        print "token_storage: file"; printf "current_host: host%d.example.com\n", n/2 - 1; print "hosts:"
        for (h = 0; h < n/2; h++) {
            printf "  host%d.example.com:\n    current_account: u1@example.com\n    accounts:\n", h
            for (a = 0; a < 2; a++) {
                printf "      u%d@example.com:\n        account:\n          id: acc-%d-%d\n", a, h, a
                printf "          email: u%d@example.com\n          name: User %d\n", a, a
                printf "        token_id: tok-%d-%d\n", h, a
            }
        }
    }' > "$dir/hosts.yml"
    chmod 600 "$dir/hosts.yml"
}

row() { printf '%-40s %10s %10s\n' "$@"; }

echo "machine: $(nproc) cores, $(uname -sr); runs per figure: $runs"
echo "binary: $bin"
echo "size: $(stat -c %s "$bin") bytes ($(awk -v s="$(stat -c %s "$bin")" 'BEGIN {printf "%.2f", s/1048576}') MiB); $(file -b "$bin" | cut -d, -f1-2,4)"
echo
row "command" "median ms" "peak KiB"
export DIFY_E2E_NO_KEYRING=1
contexts 2 "$work/one"
row "/bin/true (floor)" "$(wall_ms /bin/true)" "$(rss_kib /bin/true)"
row "difyctl --version" "$(wall_ms "$bin" --version)" "$(rss_kib "$bin" --version)"
export DIFY_CONFIG_DIR="$work/one"
row "difyctl auth whoami" "$(wall_ms "$bin" auth whoami)" "$(rss_kib "$bin" auth whoami)"
row "difyctl auth list (2 contexts)" "$(wall_ms "$bin" auth list)" "$(rss_kib "$bin" auth list)"
for n in 100 1000 10000; do
    contexts "$n" "$work/c$n"
    export DIFY_CONFIG_DIR="$work/c$n"
    [ "$n" = 10000 ] && runs=$(( runs < 20 ? runs : 20 ))
    row "difyctl auth list ($n contexts)" "$(wall_ms "$bin" auth list)" "$(rss_kib "$bin" auth list)"
done

# CPU time of a pending sign-in: the mock never approves; stop it after 20 s.
echo
secs=${PENDING_SECS:-20}
"$mock" --interval 5 > "$work/url" & mock_pid=$!
while [ ! -s "$work/url" ]; do kill -0 "$mock_pid"; sleep 0.05; done
export DIFY_CONFIG_DIR="$work/pending"
cpu=$( { /usr/bin/time -f "%U %S" timeout -s INT "$secs" "$bin" auth login --host "$(head -n 1 "$work/url")" \
    --insecure --no-browser >/dev/null 2>/dev/null || true; } 2>&1 | tail -n 1)
echo "pending sign-in for ${secs} s (interval 5 s): user+sys CPU $(awk -v u="${cpu% *}" -v s="${cpu#* }" 'BEGIN {printf "%.0f ms", (u+s)*1000}')"
