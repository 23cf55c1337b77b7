#!/usr/bin/env bash
# What `weir new NAME --lang LANG` does, to try this SDK's template from the repo:
#
#   new-project.sh DIR [NAME]
#
# copies template/ to DIR with {{name}} replaced by NAME (default: DIR's last part),
# and this SDK (this folder, less template/, test/, node_modules/ and this script) into
# DIR/weir-sdk/, where the template's build looks for it (for C++, with the C SDK it
# wraps; WAT has no SDK to copy). The same script sits in every plugin-sdk/<language>/
# of a core-module language.
set -euo pipefail
sdk=$(cd "$(dirname "$0")" && pwd)
dir=$1
name=${2:-$(basename "$dir")}
mkdir -p "$dir"
(cd "$sdk/template" && find . -type f) | while read -r file; do
  mkdir -p "$dir/$(dirname "$file")"
  sed "s/{{name}}/$name/g" "$sdk/template/$file" >"$dir/$file"
  chmod --reference="$sdk/template/$file" "$dir/$file"
done
if [ "$(basename "$sdk")" != wat ]; then
  mkdir -p "$dir/weir-sdk"
  (cd "$sdk" && tar -c --exclude=./template --exclude=./test --exclude=./node_modules --exclude=./new-project.sh .) |
    tar -x -C "$dir/weir-sdk"
fi
if [ "$(basename "$sdk")" = cpp ]; then
  cp "$sdk/../c/weir.h" "$sdk/../c/weir.c" "$dir/weir-sdk/"
fi
