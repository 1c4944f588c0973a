#!/usr/bin/env bash
# `make bench`: size, start-up time, peak memory and CPU figures of the
# release binary on this machine. Prints figures; asserts nothing.
#
#   tests/bench.sh RELEASE_BINARY MOCK_BINARY
#
# OFFICIAL_DIFYCTL=path adds the official binary's figures to the growth
# table; GROWTH_SIZES picks its rows (default 1 100 1000 10000 100000).
#
# Wall time is the median of RUNS runs of a fork+exec from bash (so /bin/true
# is the floor); peak RSS is the median of /usr/bin/time's %M.
set -euo pipefail
[ -n "${EPOCHREALTIME:-}" ] || { echo "bench needs bash 5 (EPOCHREALTIME)" >&2; exit 1; }
bin=$(realpath "$1")
mock=$(realpath "$2")
runs=${RUNS:-200}
work=$(mktemp -d)
trap 'kill $mock_pid 2>/dev/null || true; rm -rf "$work"' EXIT
mock_pid=

command -v /usr/bin/time >/dev/null || { echo "bench needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# median peak RSS in KiB of "$@"
rss_kib() {
    local i
    for ((i = 0; i < 21; i++)); do
        /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1
    done | median
}

# one run of "$@": wall time in microseconds
# ($EPOCHREALTIME, not date(1): a fork on each side would add to every figure
# and bring every ratio nearer 1.)
once_us() {
    local s e
    s=$EPOCHREALTIME; "$@" >/dev/null 2>&1 || true; e=$EPOCHREALTIME
    echo $((10#${e//[.,]/} - 10#${s//[.,]/}))
}

# the median of a file of microsecond figures, in ms
ms_of() { median < "$1" | awk '{printf "%.2f", $1/1000}'; }

# median peak RSS in MiB of "$@" over 3 runs
rss_mib() {
    local i
    for ((i = 0; i < 3; i++)); do
        /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1
    done | median | awk '{printf "%.1f", $1/1024}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a/b : 0}'; }

# hosts.yml with N contexts (hosts of 2 accounts each, each context with its
# workspace: about 280 bytes a context), the last host active.
contexts() {
    local n=$1 dir=$2
    mkdir -p "$dir"
    awk -v n="$n" 'BEGIN {
        hosts = int((n + 1) / 2)
        print "token_storage: file"; printf "current_host: host%d.example.com\n", hosts - 1; print "hosts:"
        for (h = 0; h < hosts; h++) {
            per = (h == hosts - 1 && n % 2) ? 1 : 2
            printf "  host%d.example.com:\n    current_account: u%d@example.com\n    accounts:\n", h, per - 1
            for (a = 0; a < per; a++) {
                printf "      u%d@example.com:\n        account:\n          id: acc-%d-%d\n", a, h, a
                printf "          email: u%d@example.com\n          name: User %d\n", a, a
                printf "        workspace:\n          id: ws-%d\n          name: Team %d\n          role: owner\n", h, h
                printf "        token_id: tok-%d-%d\n", h, a
            }
        }
    }' > "$dir/hosts.yml"
    chmod 600 "$dir/hosts.yml"
}

row() { printf '%-40s %10s %10s\n' "$@"; }

echo "machine: $(nproc) cores, $(uname -sr); runs per figure: $runs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $bin"
echo "size: $(stat -c %s "$bin") bytes ($(awk -v s="$(stat -c %s "$bin")" 'BEGIN {printf "%.2f", s/1048576}') MiB); $(file -b "$bin" | cut -d, -f1-2,4)"
echo
row "command" "median ms" "peak KiB"
export DIFY_E2E_NO_KEYRING=1
contexts 1 "$work/one"
export DIFY_CONFIG_DIR="$work/one"
# The floor and the start-up figures in turns, so that all see the same load.
: > "$work/true"; : > "$work/version"; : > "$work/whoami"
for ((i = 0; i < runs; i++)); do
    once_us /bin/true >> "$work/true"
    once_us "$bin" --version >> "$work/version"
    once_us "$bin" auth whoami >> "$work/whoami"
done
true_ms=$(ms_of "$work/true") whoami_ms=$(ms_of "$work/whoami")
row "/bin/true (floor)" "$true_ms" "$(rss_kib /bin/true)"
row "difyctl --version" "$(ms_of "$work/version")" "$(rss_kib "$bin" --version)"
row "difyctl auth whoami (1 context)" "$whoami_ms" "$(rss_kib "$bin" auth whoami)"
echo "auth whoami / /bin/true: $(ratio "$whoami_ms" "$true_ms")x"

# Growth: each figure beside `sha256sum` of the same file (the cost of merely
# reading it), measured in turns so that both see the same load. `use host`
# switches between two hosts, so every run rewrites the file.
growth_runs() { case $1 in 1 | 100) echo "$runs" ;; 1000) echo $((runs < 50 ? runs : 50)) ;;
    10000) echo $((runs < 15 ? runs : 15)) ;; *) echo $((runs < 11 ? runs : 11)) ;; esac; }
official=${OFFICIAL_DIFYCTL:-}
[ -z "$official" ] || official=$(realpath "$official")
echo
echo "growth (median ms; x = times sha256sum of the same hosts.yml; peak RSS in MiB)"
printf '%-9s %8s %8s %15s %15s %15s %9s %9s' contexts "MB" sha256sum "auth list" "list -o json" "use host" "RSS list" "RSS use"
[ -z "$official" ] || printf ' %12s %12s %12s' "official list" "json" "use"
printf '\n'
for n in ${GROWTH_SIZES:-1 100 1000 10000 100000}; do
    dir="$work/c$n"
    contexts "$n" "$dir"
    export DIFY_CONFIG_DIR="$dir"
    k=$(growth_runs "$n")
    a=host0.example.com b=host$(((n + 1) / 2 - 1)).example.com
    # the host the next `use host` switches to (the file starts with b active)
    cur=$b
    other() { if [ "$cur" = "$a" ]; then cur=$b; else cur=$a; fi; }
    # One untimed round first: the file and the binaries in the page cache.
    sha256sum "$dir/hosts.yml" >/dev/null; "$bin" auth list >/dev/null; "$bin" auth list -o json >/dev/null
    : > "$work/sha" ; : > "$work/list" ; : > "$work/json" ; : > "$work/use"
    : > "$work/olist" ; : > "$work/ojson" ; : > "$work/ouse"
    for ((i = 0; i < k; i++)); do
        once_us sha256sum "$dir/hosts.yml" >> "$work/sha"
        once_us "$bin" auth list >> "$work/list"
        once_us "$bin" auth list -o json >> "$work/json"
        other
        once_us "$bin" use host --domain "$cur" >> "$work/use"
        if [ -n "$official" ]; then
            once_us "$official" auth list >> "$work/olist"
            once_us "$official" auth list -o json >> "$work/ojson"
            other
            once_us "$official" use host --domain "$cur" >> "$work/ouse"
        fi
    done
    sha=$(ms_of "$work/sha") list=$(ms_of "$work/list") json=$(ms_of "$work/json") use=$(ms_of "$work/use")
    rss_list=$(rss_mib "$bin" auth list)
    rss_use=$(for i in 1 2 3; do
        other
        /usr/bin/time -f %M "$bin" use host --domain "$cur" 2>&1 >/dev/null | tail -n 1
    done | median | awk '{printf "%.1f", $1/1024}')
    printf '%-9s %8s %8s %15s %15s %15s %9s %9s' "$n" \
        "$(awk -v s="$(stat -c %s "$dir/hosts.yml")" 'BEGIN {printf "%.2f", s/1e6}')" "$sha" \
        "$list ($(ratio "$list" "$sha")x)" "$json ($(ratio "$json" "$sha")x)" "$use ($(ratio "$use" "$sha")x)" \
        "$rss_list" "$rss_use"
    [ -z "$official" ] || printf ' %12s %12s %12s' "$(ms_of "$work/olist")" "$(ms_of "$work/ojson")" "$(ms_of "$work/ouse")"
    printf '\n'
    case $n in 10000 | 100000) echo "$n $list $use" >> "$work/use_vs_list" ;; esac
    [ "$n" = 100000 ] && target="auth list ${list} ms = $(ratio "$list" "$sha")x sha256sum (target <= 4.5x), use host ${use} ms = $(ratio "$use" "$sha")x (target <= 9x), peak RSS ${rss_list} / ${rss_use} MiB (target <= 120)"
    rm -rf "$dir"
done
[ -s "$work/use_vs_list" ] && while read -r n list use; do
    echo "use host / auth list at $n contexts: $(ratio "$use" "$list")x (target <= 1.4x)"
done < "$work/use_vs_list"
[ -z "${target:-}" ] || echo "at 100000 contexts: $target"
echo "auth whoami / /bin/true: $(ratio "$whoami_ms" "$true_ms")x (target <= 1.8x)"

# CPU time of a pending sign-in: the mock never approves; stop it after 20 s.
echo
secs=${PENDING_SECS:-20}
"$mock" --interval 5 > "$work/url" & mock_pid=$!
while [ ! -s "$work/url" ]; do kill -0 "$mock_pid"; sleep 0.05; done
export DIFY_CONFIG_DIR="$work/pending"
cpu=$( { /usr/bin/time -f "%U %S" timeout -s INT "$secs" "$bin" auth login --host "$(head -n 1 "$work/url")" \
    --insecure --no-browser >/dev/null 2>/dev/null || true; } 2>&1 | tail -n 1)
echo "pending sign-in for ${secs} s (interval 5 s): user+sys CPU $(awk -v u="${cpu% *}" -v s="${cpu#* }" 'BEGIN {printf "%.0f ms", (u+s)*1000}')"
