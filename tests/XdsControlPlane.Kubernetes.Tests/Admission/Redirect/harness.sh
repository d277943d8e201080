#!/bin/sh
# Test harness, run by RedirectScriptTests inside a fresh network namespace (unshare -n, as root): a veth pair gives
# the "pod" an interface (10.99.0.1/24, fd00:99::1/64) whose peer drops everything, redirect.sh installs the rules,
# a listener on the proxy's port reports each connection's original destination, and clients connect as root, as
# the proxy's uid (setpriv), to an excluded port and to loopback. $1 = redirect.sh, $2 = the listener, $3 = a scratch directory.
set -eu
script=$1 listener=$2 scratch=$3
ip link set lo up
ip link add sbx0 type veth peer name sbx1
ip addr add 10.99.0.1/24 dev sbx0
ip -6 addr add fd00:99::1/64 dev sbx0 nodad
ip link set sbx0 up
ip link set sbx1 up
sh "$script" -p 15001 -u 1337 -x 18000,18100-18199
sh "$script" -p 15001 -u 1337 -x 18000,18100-18199 >/dev/null   # a restarted init container: same rules
echo "--- iptables-save"
iptables-save -t nat | grep -v '^#'
echo "--- ip6tables-save"
ip6tables-save -t nat | grep -v '^#'
echo "--- connections"
/usr/bin/python3 "$listener" 15001 "$scratch/ready" > "$scratch/accepted" &
pid=$!
for _ in $(seq 1 100); do [ -s "$scratch/ready" ] && break; sleep 0.05; done
dial() { # name user host port: connected | failed
    if setpriv --reuid "$2" --regid "$2" --clear-groups timeout 1 bash -c "exec 3<>/dev/tcp/$3/$4" 2>/dev/null; then r=connected; else r=failed; fi
    echo "CLIENT $1 $r"
}
dial app-ipv4 0 10.99.0.2 8080
dial app-ipv6 0 fd00:99::2 8080
dial excluded-port 0 10.99.0.2 18000
dial excluded-range 0 10.99.0.2 18150
dial proxy-uid 1337 10.99.0.2 8080
dial loopback 0 127.0.0.1 8080
dial other-uid 1000 10.99.0.2 9090
# Connections are accepted in order: the listener exits at this direct one, after printing every redirected one.
timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/15001" || { kill "$pid"; echo "the listener did not answer on loopback"; }
wait "$pid" || true
cat "$scratch/accepted"
echo "--- counters"
iptables -t nat -L SANDBOXCTL_OUTPUT -v -x -n
