#!/bin/sh
# Render the man pages listed in pages.txt to plain UTF-8 text under docs/.
set -eu
cd "$(dirname "$0")"
mkdir -p docs
export LANG=C.UTF-8 LC_ALL=C.UTF-8 MANWIDTH=80
while read -r page; do
  [ -n "$page" ] || continue
  man -P cat "$page" 2>/dev/null | col -bx | sed -e 's/[[:space:]]*$//' > "docs/$page.txt"
done < pages.txt
