#!/usr/bin/env bash
# Install the Debian packages art2music needs: FluidSynth and a General MIDI soundfont (the demo corpus), and
# Chromium with its chromedriver (the web page's real-browser test; browsers cannot be downloaded by Selenium here).
# Skips what is already installed; uses sudo when not root; explains what to do where apt-get is missing.
set -euo pipefail
packages=(fluidsynth fluid-soundfont-gm chromium chromium-driver)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages present: ${packages[*]}"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-get not found: install ${missing[*]} with your system's package manager" \
       "(FluidSynth and any General MIDI .sf2 soundfont; set ART2MUSIC_SOUNDFONT to its path;" \
       "Chromium and chromedriver at /usr/bin/chromium and /usr/bin/chromedriver)." >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
