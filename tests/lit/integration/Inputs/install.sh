#!/bin/sh
# install.sh BUILD STAGING PREFIX: stages `meson install` of BUILD in
# STAGING (STAGING/PREFIX is the installed tree) without rebuilding, and
# points libweft.pc at the staged tree (a DESTDIR install keeps the
# configured prefix in it; the CMake config and weftc find their prefix
# from their own location).
set -eu
build=$1 staging=$2 prefix=$3
rm -rf "$staging"
meson install -C "$build" --no-rebuild --quiet --destdir "$staging" >/dev/null
found=
for pc in "$prefix"/lib*/pkgconfig/libweft.pc "$prefix"/lib*/*/pkgconfig/libweft.pc; do
  if [ -f "$pc" ]; then
    sed -i -e "s|^prefix=.*|prefix=$prefix|" "$pc"
    found=1
  fi
done
if [ -z "$found" ]; then
  echo "install.sh: no libweft.pc under $prefix" >&2
  exit 1
fi
