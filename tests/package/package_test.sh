#!/usr/bin/env bash
# The install / package tests (tests/package/CMakeLists.txt runs each step as its own ctest entry):
#   package_test.sh install  BUILD PREFIX            cmake --install into a fresh PREFIX
#   package_test.sh c        PREFIX WORK             C programs built with pkg-config only
#   package_test.sh cmake    PREFIX WORK             find_package(hugemem 0.1) consumer; 1.0 refused
#   package_test.sh subdir   SOURCE WORK             add_subdirectory consumer
#   package_test.sh header   PREFIX WORK HEADER      one installed header compiles alone
#   package_test.sh deb      BUILD WORK              cpack -G DEB and what the .deb holds
# Exit 0 pass, 77 skip (with the reason on stdout), anything else fail.
# (No "cmd | grep -q" under pipefail: grep exits at the first match and cmd dies of SIGPIPE.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
step=$1
shift

libdir=${HM_LIBDIR:-lib}  # CMAKE_INSTALL_LIBDIR of the build under test
fail() { echo "FAIL: $*" >&2; exit 1; }
fresh() { rm -rf "$1" && mkdir -p "$1"; }

# Every location a consumer could find hugemem other than the prefix is switched off: no
# system pkg-config directories, no CMake package registry.
pc_env() { export PKG_CONFIG_LIBDIR="$1/$libdir/pkgconfig" PKG_CONFIG_PATH=; }

case $step in
install)
  build=$1 prefix=$2
  fresh "$prefix"
  cmake --install "$build" --prefix "$prefix" >"$prefix.log"
  for f in $libdir/libhugemem.so $libdir/libhugemem.so.0 $libdir/libhugemem.a $libdir/libhugemem_pktpool.a \
           $libdir/libhugemem_vfio.a \
           include/hugemem/hugemem.h include/hugemem/hugemem.hpp include/hugemem/version.h \
           include/hugemem/pktpool/pktpool.h include/hugemem/vfio/e1000.h \
           $libdir/cmake/hugemem/hugememConfig.cmake $libdir/cmake/hugemem/hugememConfigVersion.cmake \
           $libdir/pkgconfig/hugemem.pc $libdir/pkgconfig/hugemem-static.pc $libdir/pkgconfig/hugemem-pktpool.pc \
           $libdir/pkgconfig/hugemem-vfio.pc bin/hugemem-loopback share/doc/hugemem/README.md \
           share/doc/hugemem/options.md share/doc/hugemem/architecture.md share/doc/hugemem/using.md \
           share/doc/hugemem/vm-iommu.md; do
    [ -e "$prefix/$f" ] || fail "not installed: $f"
  done
  soname=$(objdump -p "$prefix/$libdir/libhugemem.so" | awk '/SONAME/ {print $2}')
  [ "$soname" = libhugemem.so.0 ] || fail "soname is '$soname'"
  # Nothing installed refers back to the source or build tree.
  if grep -rlI -e "$(cd "$here/../.." && pwd)" -e "$build" "$prefix" --exclude='*.log'; then
    fail "installed files name the source or build directory (above)"
  fi
  echo "installed into $prefix"
  ;;
c)
  prefix=$1 work=$2
  fresh "$work"
  command -v pkg-config >/dev/null || { echo "SKIP: pkg-config is not installed (scripts/deps.sh installs it)"; exit 77; }
  pc_env "$prefix"
  cc=${CC:-cc}
  pkg-config --exists hugemem hugemem-static hugemem-pktpool hugemem-vfio || fail "pkg-config does not find the packages"
  [ "$(pkg-config --modversion hugemem)" = "$(sed -n 's/#define HUGEMEM_VERSION_MAJOR //p' "$prefix/include/hugemem/version.h").$(sed -n 's/#define HUGEMEM_VERSION_MINOR //p' "$prefix/include/hugemem/version.h").$(sed -n 's/#define HUGEMEM_VERSION_PATCH //p' "$prefix/include/hugemem/version.h")" ] \
    || fail "pkg-config version differs from version.h"
  # shellcheck disable=SC2046
  $cc -std=c99 -pedantic-errors -Wall -Wextra -Werror -o "$work/hm_api" "$here/consumers/c/hm_api.c" \
      $(pkg-config --cflags --libs hugemem-static)
  "$work/hm_api"
  # shellcheck disable=SC2046
  $cc -std=c99 -Wall -Wextra -Werror -o "$work/override" "$here/consumers/c/override.c" \
      $(pkg-config --cflags --libs hugemem) -ldl
  grep -q 'NEEDED *libhugemem.so.0' <<<"$(objdump -p "$work/override")" || fail "override does not need libhugemem.so.0"
  LD_LIBRARY_PATH="$prefix/$libdir" "$work/override"
  ;;
cmake)
  prefix=$1 work=$2
  fresh "$work"
  args=(-G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
        -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=Release)
  cmake -S "$here/consumers/cmake" -B "$work/build" "${args[@]}" >"$work/configure.log" || { cat "$work/configure.log"; fail "configure"; }
  grep -q "found hugemem .* in $prefix/$libdir/cmake/hugemem" "$work/configure.log" || { cat "$work/configure.log"; fail "hugemem found elsewhere than $prefix"; }
  cmake --build "$work/build" >"$work/build.log" || { cat "$work/build.log"; fail "build"; }
  "$work/build/embed"
  # The installed library, found through the RUNPATH CMake gives a build-tree binary.
  "$work/build/override"
  grep -q "$prefix/$libdir/libhugemem.so.0" <<<"$(ldd "$work/build/override")" || fail "override runs another libhugemem"
  # SameMajorVersion: 1.0 is not satisfied by 0.x.
  if cmake -S "$here/consumers/cmake" -B "$work/build1" "${args[@]}" -DHM_WANT=1.0 >"$work/configure1.log" 2>&1; then
    fail "find_package(hugemem 1.0) accepted version 0.x"
  fi
  grep -q "compatible with requested version \"1.0\"" "$work/configure1.log" || { cat "$work/configure1.log"; fail "refused for another reason"; }
  echo "find_package(hugemem 1.0) refused, as it should be"
  ;;
subdir)
  source=$1 work=$2
  fresh "$work"
  # No CMAKE_BUILD_TYPE: hugemem must not set one in the parent's cache.
  cmake -S "$here/consumers/subdir" -B "$work/build" -G Ninja -DHUGEMEM_SOURCE_DIR="$source" >"$work/configure.log" 2>&1 \
    || { cat "$work/configure.log"; fail "configure"; }
  [ ! -e "$work/build/hugemem/tests" ] || fail "hugemem's tests were configured"
  [ ! -e "$work/build/hugemem/bench" ] || fail "hugemem's benchmarks were configured"
  n=$(ctest --test-dir "$work/build" -N | sed -n 's/^Total Tests: //p')
  [ "$n" = 1 ] || fail "the parent sees $n tests (expected its own 1)"
  cmake --build "$work/build" --target parent_app >"$work/build.log" || { cat "$work/build.log"; fail "build"; }
  "$work/build/parent_app"
  ;;
header)
  prefix=$1 work=$2 header=$3
  mkdir -p "$work"
  name=$(echo "$header" | tr '/.' '__')
  echo "#include <$header>" >"$work/$name.cpp"
  # The blockers: two headers still include lib/ internals (os/os.h, page/region.h), which are
  # not installed. Headers that include them are skipped while they do, and only for that reason.
  blocked=""
  for b in hugemem/pktpool/pktpool.h hugemem/vfio/e1000.h; do
    if grep -Eq '#include "(os|page|slab|api)/' "$prefix/include/$b"; then blocked="$blocked $b"; fi
  done
  if ! ${CXX:-c++} -std=c++20 -fsyntax-only -Wall -Wextra -Werror -I"$prefix/include" "$work/$name.cpp" 2>"$work/$name.err"; then
    for b in $blocked; do
      if grep -q "include/$b:.*fatal error: \(os\|page\|slab\|api\)/.*No such file" "$work/$name.err"; then
        if [ "$b" = "$header" ]; then why="it includes"; else why="it needs $b, which includes"; fi
        echo "SKIP: $header does not compile alone: $why lib/ internals (os/, page/) that are not installed"
        exit 77
      fi
    done
    cat "$work/$name.err"
    fail "$header does not compile alone with -I$prefix/include"
  fi
  case $header in
  hugemem/hugemem.h | hugemem/version.h)
    printf '#include <%s>\nint hm_header_alone;\n' "$header" >"$work/$name.c"  # a TU must declare something
    ${CC:-cc} -std=c99 -pedantic-errors -fsyntax-only -Wall -Wextra -Werror -I"$prefix/include" "$work/$name.c" \
      || fail "$header is not C99"
    ;;
  esac
  echo "$header compiles alone"
  ;;
deb)
  build=$1 work=$2
  fresh "$work"
  command -v dpkg-deb >/dev/null || { echo "SKIP: no dpkg-deb"; exit 77; }
  (cd "$work" && cpack --config "$build/CPackConfig.cmake" -G DEB >cpack.log) || { cat "$work/cpack.log"; fail "cpack"; }
  deb=$(ls "$work"/*.deb)
  dpkg-deb -c "$deb" >"$work/contents"
  for f in usr/$libdir/libhugemem.so.0 usr/$libdir/libhugemem.a usr/include/hugemem/hugemem.h \
           usr/$libdir/cmake/hugemem/hugememConfig.cmake usr/$libdir/pkgconfig/hugemem.pc usr/bin/hugemem-loopback; do
    grep -q "\./$f\$\|\./$f " "$work/contents" || { cat "$work/contents"; fail "$f not in $deb"; }
  done
  echo "$(basename "$deb") ok"
  ;;
*) fail "unknown step $step" ;;
esac
