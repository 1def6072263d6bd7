#!/usr/bin/env bash
# Installs what is missing, builds Weft in build/, then compiles and runs
# examples/hello.weft with the freshly built weftc.
#
#   ./scripts/demo.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$WEFT_ROOT"

weft_install_deps
weft_configure build
weft_build build

weft_say "compiling examples/hello.weft"
echo "\$ build/compiler/weftc examples/hello.weft -o build/hello"
build/compiler/weftc examples/hello.weft -o build/hello

weft_say "running it"
echo "\$ build/hello"
build/hello

weft_say "done"
cat <<'MSG'
Next:
  build/compiler/weftc run examples/deploy.weft db api   # compile + run in one step
  build/compiler/weftc --emit=frames examples/hello.weft # see each workflow's frame
  build/compiler/weftc --help
  ./scripts/test.sh                                      # every test, two builds
MSG
