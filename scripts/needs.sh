#!/usr/bin/env bash
# What the set-up scripts install, decided one need at a time from what is already present.
# Sourced by scripts/setup.sh, scripts/test.sh, scripts/web-tools.sh and bench/setup.sh.
#
# Why one need at a time: a single `apt-get install nodejs npm chromium …` fails as a whole on a
# machine whose Node.js came from NodeSource (its `nodejs` ships npm, and Debian's `npm` cannot
# be installed beside it), and then Chromium never arrives either. So each need is checked on
# its own and only its missing packages are asked for.
#
# The decisions are plain functions of `have_command` and `have_file`, which a test redefines to
# fake a machine (tests/setup_scripts.rs); `SOSRISK_SETUP_DRY_RUN=1` prints what would be
# installed instead of installing it.

have_command() { command -v "$1" >/dev/null 2>&1; }
have_file() { [ -e "$1" ]; }

# Debian packages for Node.js and npm, given what is on PATH. Node.js from NodeSource, from
# Debian or from nvm all provide `node`; NodeSource's and nvm's also provide `npm`. Debian's
# `npm` package is asked for only where `npm` is missing, and then `nodejs` is Debian's (or
# being installed now), so the two fit.
need_node() {
  if ! have_command node; then echo nodejs; fi
  if ! have_command npm; then echo npm; fi
}
need_chromium() { have_command chromium || echo chromium; }
need_chromedriver() { have_command chromedriver || echo chromium-driver; }
# A CJK font, so that screenshots show what a counselor sees rather than empty boxes.
need_cjk_font() { have_file /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc || echo fonts-wqy-zenhei; }
# Vulkan on the CPU (Mesa lavapipe), so the wgpu backend is tested without a GPU.
need_vulkan() {
  have_file /usr/share/vulkan/icd.d/lvp_icd.x86_64.json || echo mesa-vulkan-drivers
  have_file /usr/lib/x86_64-linux-gnu/libvulkan.so.1 || echo libvulkan1
}
need_c_toolchain() {
  have_command cc || echo build-essential
  have_command pkg-config || echo pkg-config
}
need_pip() { have_command_pip || echo python3-pip; }
have_command_pip() { python3 -m pip --version >/dev/null 2>&1; }
# `python3 -m venv` needs Debian's python3-venv where python3 is Debian's; pyenv's has it built in.
need_venv() { have_venv || echo python3-venv; }
have_venv() { python3 -c 'import ensurepip, venv' >/dev/null 2>&1; }

_apt_updated=""
# install_needs WHAT NEED…: installs the packages each NEED function prints, one need per
# apt-get call (a conflict in one need cannot stop the others), and says what it does.
install_needs() {
  local what=$1
  shift
  local need packages
  for need in "$@"; do
    packages=$("$need" | tr '\n' ' ')
    packages=${packages% }
    [ -n "$packages" ] || continue
    if [ -n "${SOSRISK_SETUP_DRY_RUN:-}" ]; then
      echo "would install ($what, $need): $packages"
      continue
    fi
    if [ "$(id -u)" != 0 ]; then
      echo "error: $what needs: sudo apt-get install $packages" >&2
      return 1
    fi
    echo "== installing ($what): $packages" >&2
    if [ -z "$_apt_updated" ]; then
      apt-get update -qq >&2
      _apt_updated=1
    fi
    # shellcheck disable=SC2086 # one word per package
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null; then
      echo "error: apt-get install $packages failed ($what); see apt's message above" >&2
      return 1
    fi
  done
}

# cargo_install_needed CRATE VERSION COMMAND: true when COMMAND --version does not print exactly
# "COMMAND VERSION" (Trunk uses a tool on PATH only if its version matches exactly).
cargo_install_needed() {
  local crate=$1 version=$2 command=$3
  ! { have_command "$command" && "$command" --version 2>/dev/null | grep -qx "$command $version"; }
}
