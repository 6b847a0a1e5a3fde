#!/usr/bin/env bash
# Keeps the build cache (CARGO_TARGET_DIR, outside the clone) from filling the disk: a link that
# runs out of space dies with SIGBUS, which once failed CI. Everything in the cache can be rebuilt,
# so pruning only costs build time.
#   usage: prune-cache.sh DIR [MIN_FREE_GB]
set -euo pipefail
dir="$1"
need_gb="${2:-15}"
[ -d "$dir" ] || exit 0

# Asked of the parent, which outlives the cache's removal below.
free_gb() { df -P -k "$(dirname "$dir")" | awk 'NR == 2 { print int($4 / 1048576) }'; }

echo "== build cache $dir: $(du -sh "$dir" | cut -f1), $(free_gb) GB free (want $need_gb)"
if [ "$(free_gb)" -ge "$need_gb" ]; then exit 0; fi

# First what is cheapest to rebuild: linked test and tool binaries (relinked on the next build,
# each ~0.5 GB) and incremental state (only our own crate uses it).
for profile in "$dir"/debug "$dir"/*/debug "$dir"/*/release; do
  [ -d "$profile/deps" ] || continue
  find "$profile/deps" -maxdepth 1 -type f -executable ! -name '*.so' -delete
  rm -rf "$profile/incremental"
done
echo "   after removing linked binaries: $(free_gb) GB free"
if [ "$(free_gb)" -ge "$need_gb" ]; then exit 0; fi

rm -rf "$dir"
echo "   removed the cache: $(free_gb) GB free"
if [ "$(free_gb)" -lt "$need_gb" ]; then
  echo "warning: only $(free_gb) GB free for the build; it may fail for lack of disk" >&2
fi
