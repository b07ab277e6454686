#!/usr/bin/env bash
# The live monitoring stack (tests/live/test_monitoring.py): Debian 12's
# Prometheus 2.42, Alertmanager 0.25, blackbox exporter 0.23 (its packaged
# /etc/prometheus/blackbox.yml holds the http_2xx and tcp_connect modules the
# generated prometheus.yml uses) and node exporter 1.5; openssl for the test's
# throwaway CA. The tests run their own instances on loopback ports, so the
# services the packages start are stopped and disabled.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
apt_install prometheus prometheus-alertmanager prometheus-blackbox-exporter prometheus-node-exporter openssl
services=(prometheus prometheus-alertmanager prometheus-blackbox-exporter prometheus-node-exporter)
if [ -d /run/systemd/system ]; then
  systemctl disable --now "${services[@]}" >/dev/null 2>&1 || true
else
  for s in "${services[@]}"; do
    [ -x "/etc/init.d/$s" ] && "/etc/init.d/$s" stop >/dev/null 2>&1 || true
  done
fi
