#!/bin/sh
# sandboxctl-init: redirect a pod's outbound TCP connections to its sidecar proxy (docs/sidecar-injection.md).
#
#   redirect.sh [-p PROXY_PORT] [-u PROXY_UID] [-x PORT[,FIRST-LAST]...] [--legacy] [--dry-run]
#
# In the nat table, OUTPUT sends TCP to the chain SANDBOXCTL_OUTPUT, which lets through (RETURN) the proxy's own
# connections (owner match on its uid), connections over loopback (127.0.0.0/8, ::1 and the pod's own addresses) and
# connections to the excluded ports, and REDIRECTs every other TCP connection to the proxy's port. Inbound traffic is
# not captured. IPv6 gets the same rules when ip6tables-restore and an IPv6 stack are present.
#
# Runs as root with NET_ADMIN and NET_RAW in the pod's network namespace (iptables cannot run as any other user);
# the injector adds it as the init container sandboxctl-init. Idempotent: a second run leaves the same rules.
set -eu

proxy_port=15001
proxy_uid=1337
excluded=""
dry_run=0
legacy=0

fail() {
    echo "sandboxctl-init: $*" >&2
    exit 2
}

usage() {
    sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'
    exit "$1"
}

# A decimal number without sign or leading zero, from $2 to $3 (at most 10 digits, so shell arithmetic cannot overflow).
check_number() {
    name=$1 value=$2 min=$3 max=$4
    case "$value" in
        '' | *[!0-9]* | 0?*) fail "$name must be a number from $min to $max, got '$value'" ;;
    esac
    [ "${#value}" -le 10 ] || fail "$name must be a number from $min to $max, got '$value'"
    if [ "$value" -lt "$min" ] || [ "$value" -gt "$max" ]; then
        fail "$name must be a number from $min to $max, got '$value'"
    fi
}

while [ $# -gt 0 ]; do
    case "$1" in
        -p) [ $# -ge 2 ] || fail "-p needs a port"; proxy_port=$2; shift 2 ;;
        -u) [ $# -ge 2 ] || fail "-u needs a uid"; proxy_uid=$2; shift 2 ;;
        -x) [ $# -ge 2 ] || fail "-x needs ports"; excluded=$2; shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        --legacy) legacy=1; shift ;;
        -h | --help) usage 0 ;;
        *) fail "unknown argument '$1' (see --help)" ;;
    esac
done

check_number "-p (the proxy's port)" "$proxy_port" 1 65535
check_number "-u (the proxy's uid)" "$proxy_uid" 1 2147483647

# -x: PORT or FIRST-LAST (or FIRST:LAST), comma-separated, at most 64; each becomes an iptables --dport.
dports=""
count=0
old_ifs=$IFS
IFS=,
for item in $excluded; do
    IFS=$old_ifs
    count=$((count + 1))
    [ "$count" -le 64 ] || fail "-x holds more than 64 ports or ranges"
    case "$item" in
        *-*) first=${item%%-*} last=${item#*-} ;;
        *:*) first=${item%%:*} last=${item#*:} ;;
        *) first=$item last=$item ;;
    esac
    check_number "-x port '$item'" "$first" 1 65535
    check_number "-x port '$item'" "$last" 1 65535
    [ "$first" -le "$last" ] || fail "-x range '$item' must run from low to high"
    if [ "$first" = "$last" ]; then dports="$dports $first"; else dports="$dports $first:$last"; fi
done
IFS=$old_ifs

# The iptables-restore input for the nat table; $1 is the loopback network (127.0.0.0/8 or ::1/128).
rules() {
    echo "*nat"
    echo ":SANDBOXCTL_OUTPUT - [0:0]"
    if [ "$2" = 1 ]; then
        echo "-A OUTPUT -p tcp -j SANDBOXCTL_OUTPUT"
    fi
    echo "-A SANDBOXCTL_OUTPUT -m owner --uid-owner $proxy_uid -j RETURN"
    echo "-A SANDBOXCTL_OUTPUT -d $1 -j RETURN"
    echo "-A SANDBOXCTL_OUTPUT -o lo -j RETURN"
    for dport in $dports; do
        echo "-A SANDBOXCTL_OUTPUT -p tcp -m tcp --dport $dport -j RETURN"
    done
    echo "-A SANDBOXCTL_OUTPUT -p tcp -j REDIRECT --to-ports $proxy_port"
    echo "COMMIT"
}

if [ "$dry_run" = 1 ]; then
    echo "# IPv4 (iptables-restore --noflush)"
    rules 127.0.0.0/8 1
    echo "# IPv6 (ip6tables-restore --noflush), when the pod has IPv6"
    rules ::1/128 1
    exit 0
fi

prefix=""
[ "$legacy" = 1 ] && prefix="-legacy"

# Applies the rules with $1-restore; the jump from OUTPUT is added once (--noflush keeps other chains; declaring
# SANDBOXCTL_OUTPUT again empties it), so a restarted init container leaves the same rules.
apply() {
    tool=$1 loopback=$2
    if "${tool}-save" -t nat 2>/dev/null | grep -q -- '-A OUTPUT -p tcp -j SANDBOXCTL_OUTPUT'; then
        rules "$loopback" 0 | "${tool}-restore" --noflush
    else
        rules "$loopback" 1 | "${tool}-restore" --noflush
    fi
}

apply "iptables$prefix" 127.0.0.0/8
echo "sandboxctl-init: IPv4 outbound TCP redirected to port $proxy_port (uid $proxy_uid and ports${dports:- none} excluded)"

# IPv6: when the kernel has it. Failing to redirect is fatal only if the pod has an IPv6 address beyond loopback and
# link-local, through which traffic would otherwise leave unproxied.
if grep -q . /proc/net/if_inet6 2>/dev/null; then
    if command -v "ip6tables$prefix-restore" >/dev/null 2>&1 && apply "ip6tables$prefix" ::1/128; then
        echo "sandboxctl-init: IPv6 outbound TCP redirected to port $proxy_port"
    elif awk '$1 != "00000000000000000000000000000001" && $1 !~ /^fe80/ { found = 1 } END { exit !found }' /proc/net/if_inet6; then
        echo "sandboxctl-init: the pod has IPv6 addresses but ip6tables could not install the redirect" >&2
        exit 1
    else
        echo "sandboxctl-init: IPv6 redirect not installed (no ip6tables nat table); the pod has no routable IPv6 address"
    fi
fi
