#!/bin/bash
# EMR bootstrap action: installs the distroduce engine on every node of the cluster.
#   bootstrap.sh s3://BUCKET/PREFIX
# copies s3://BUCKET/PREFIX/engine to /usr/local/bin/engine and s3://BUCKET/PREFIX/plugins/ (the
# scenarios' .wasm plugins) to /usr/local/lib/distroduce/plugins/. EMR runs bootstrap actions as
# the `hadoop` user before the applications start; a failure here fails the cluster's start.
set -euo pipefail

prefix="${1:?usage: bootstrap.sh s3://BUCKET/PREFIX}"
prefix="${prefix%/}"
case "$prefix" in s3://?*) ;; *) echo "bootstrap.sh: $prefix is not an s3:// prefix" >&2; exit 2 ;; esac

bin=/usr/local/bin/engine
plugins=/usr/local/lib/distroduce/plugins
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

aws s3 cp --only-show-errors "$prefix/engine" "$tmp/engine"
aws s3 cp --only-show-errors --recursive "$prefix/plugins/" "$tmp/plugins/"
chmod +x "$tmp/engine"

sudo install -d -m 0755 "$plugins"
sudo install -m 0755 "$tmp/engine" "$bin"
if [ -d "$tmp/plugins" ]; then
  sudo cp -r "$tmp/plugins/." "$plugins/"
  sudo chmod -R a+rX "$plugins"
fi

"$bin" --version   # fails the bootstrap if the binary cannot run on this image
echo "bootstrap.sh: installed $("$bin" --version) at $bin, plugins in $plugins"
