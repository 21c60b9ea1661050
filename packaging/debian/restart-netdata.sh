# Restarts a running Netdata so that it starts (or stops) its plugins again, only where an init
# system runs it: in a container or a chroot nothing is started or stopped.
restart_running_netdata() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl try-restart netdata.service >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/netdata ] && command -v invoke-rc.d >/dev/null 2>&1; then
    if invoke-rc.d --quiet netdata status >/dev/null 2>&1; then
      invoke-rc.d netdata restart || true
    fi
  fi
}
