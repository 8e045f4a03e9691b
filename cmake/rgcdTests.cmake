# CTest entries. Included from the top-level CMakeLists.txt when BUILD_TESTING
# is on. Labels: rust, loom, c, compat, header, install, go, cpp, python, memcheck, miri,
# tsan (ctest -L <label>).

# --- Rust suites, plus the header/ABI checks of the tests/abi-check member ---
add_test(NAME cargo_test
  COMMAND "${CARGO_EXECUTABLE}" test --target-dir "${RGCD_CARGO_TARGET_DIR}"
  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}")
# The first debug build of the crate and its tests is slow on small machines.
set_tests_properties(cargo_test PROPERTIES TIMEOUT 900 LABELS rust)

# --- Model checks: loom runs the real state-word functions of the serial queue's
# enqueue/drain, the semaphore, the group and the source (src/atomics.rs) through every
# interleaving up to LOOM_MAX_PREEMPTIONS preemptions: the unit tests named loom_model, built
# with --cfg loom in a target dir of their own (the flag changes every crate's build). ---
add_test(NAME loom_model
  COMMAND "${CARGO_EXECUTABLE}" test --release -p rgcd --lib
    --target-dir "${CMAKE_BINARY_DIR}/cargo-loom" loom_model
  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}")
set_tests_properties(loom_model PROPERTIES TIMEOUT 600 LABELS loom
  ENVIRONMENT "RUSTFLAGS=--cfg loom;LOOM_MAX_PREEMPTIONS=3")

# --- C tests: one program per file in tests/c, one CTest entry each ---
file(GLOB _rgcd_c_tests CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tests/c/*.c")
foreach(_src IN LISTS _rgcd_c_tests)
  get_filename_component(_name "${_src}" NAME_WE)
  rgcd_add_program(c_${_name} "${_src}"
    OUTPUT_DIR "${CMAKE_BINARY_DIR}/tests/c"
    C_STANDARD 11
    LINK rgcd::rgcd Threads::Threads)
  add_test(NAME c_${_name} COMMAND c_${_name})
  set_tests_properties(c_${_name} PROPERTIES TIMEOUT 120 LABELS c)
endforeach()

# The misuse table (every C function x each class of bad input) also has a label of its own.
if(TEST c_misuse_table)
  set_tests_properties(c_misuse_table PROPERTIES LABELS "c;misuse")
endif()

# --- libdispatch compatibility: tests/compat programs use only
# <dispatch/dispatch.h>. They are built with the project's C compiler and, to
# check that they compile unchanged with both, once more with the other of
# gcc/clang when it is installed (compiled, linked and run by the test).
# tests/compat/blocks/ holds programs for the block API: clang -fblocks plus
# the BlocksRuntime library. A leading "compat_" in a file name is not repeated
# in the test name. ---
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  set(_rgcd_alt_cc_name clang)
elseif(CMAKE_C_COMPILER_ID MATCHES "Clang")
  set(_rgcd_alt_cc_name gcc)
endif()
if(_rgcd_alt_cc_name)
  find_program(RGCD_ALT_C_COMPILER ${_rgcd_alt_cc_name})
endif()

# rgcd_add_compile_and_run_test(<name> <compiler> <source> [CFLAGS <flags>] [LIBS <libs>])
# A test that compiles <source> with <compiler> against the staged library and
# runs it (cmake/CompileAndRun.cmake). CFLAGS/LIBS are space-separated.
function(rgcd_add_compile_and_run_test name compiler source)
  cmake_parse_arguments(PARSE_ARGV 3 arg "" "CFLAGS;LIBS" "")
  add_test(NAME ${name}
    COMMAND "${CMAKE_COMMAND}"
      "-DCOMPILER=${compiler}"
      "-DSOURCE=${source}"
      "-DOUTPUT=${CMAKE_BINARY_DIR}/tests/compat/bin/${name}"
      "-DINCLUDE_DIR=${PROJECT_SOURCE_DIR}/include"
      "-DLIB_DIR=${RGCD_STAGE_DIR}"
      "-DWERROR=${RGCD_WERROR}"
      "-DCFLAGS=${arg_CFLAGS}"
      "-DLIBS=${arg_LIBS}"
      -P "${PROJECT_SOURCE_DIR}/cmake/CompileAndRun.cmake")
  set_tests_properties(${name} PROPERTIES TIMEOUT 120 LABELS compat)
endfunction()

file(GLOB _rgcd_compat_tests CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tests/compat/*.c")
foreach(_src IN LISTS _rgcd_compat_tests)
  get_filename_component(_name "${_src}" NAME_WE)
  string(REGEX REPLACE "^compat_" "" _name "${_name}")
  rgcd_add_program(compat_${_name} "${_src}"
    OUTPUT_DIR "${CMAKE_BINARY_DIR}/tests/compat"
    C_STANDARD 11
    LINK rgcd::rgcd Threads::Threads)
  add_test(NAME compat_${_name} COMMAND compat_${_name})
  set_tests_properties(compat_${_name} PROPERTIES TIMEOUT 120 LABELS compat)
  if(RGCD_ALT_C_COMPILER)
    rgcd_add_compile_and_run_test(compat_${_name}_${_rgcd_alt_cc_name}
      "${RGCD_ALT_C_COMPILER}" "${_src}")
  endif()
endforeach()

if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  set(RGCD_BLOCKS_C_COMPILER "${CMAKE_C_COMPILER}")
else()
  find_program(RGCD_BLOCKS_C_COMPILER clang)
endif()
find_library(RGCD_BLOCKS_RUNTIME BlocksRuntime)
file(GLOB _rgcd_blocks_tests CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tests/compat/blocks/*.c")
if(_rgcd_blocks_tests AND RGCD_BLOCKS_C_COMPILER AND RGCD_BLOCKS_RUNTIME)
  foreach(_src IN LISTS _rgcd_blocks_tests)
    get_filename_component(_name "${_src}" NAME_WE)
    string(REGEX REPLACE "^compat_" "" _name "${_name}")
    string(REGEX REPLACE "^blocks_" "" _name "${_name}")
    rgcd_add_compile_and_run_test(compat_blocks_${_name} "${RGCD_BLOCKS_C_COMPILER}" "${_src}"
      CFLAGS "-fblocks" LIBS "${RGCD_BLOCKS_RUNTIME}")
  endforeach()
  # C++ with blocks (the header's overloads): clang++ beside the clang above.
  get_filename_component(_rgcd_blocks_cc_dir "${RGCD_BLOCKS_C_COMPILER}" DIRECTORY)
  find_program(RGCD_BLOCKS_CXX_COMPILER clang++ HINTS "${_rgcd_blocks_cc_dir}")
  file(GLOB _rgcd_blocks_cxx_tests CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tests/compat/blocks/*.cpp")
  if(RGCD_BLOCKS_CXX_COMPILER)
    foreach(_src IN LISTS _rgcd_blocks_cxx_tests)
      get_filename_component(_name "${_src}" NAME_WE)
      string(REGEX REPLACE "^blocks_" "" _name "${_name}")
      rgcd_add_compile_and_run_test(compat_blocks_${_name} "${RGCD_BLOCKS_CXX_COMPILER}" "${_src}"
        CFLAGS "-fblocks" LIBS "${RGCD_BLOCKS_RUNTIME}")
    endforeach()
  endif()
elseif(_rgcd_blocks_tests)
  message(STATUS "rgcd: clang or BlocksRuntime (libblocksruntime-dev) not found, block API tests skipped")
endif()

# --- Memory proofs (label memcheck): every C test and compat program once more under
# valgrind memcheck, when it is installed. A read of freed or uninitialised memory, an invalid
# free, or a definite leak fails the test (--error-exitcode); still-reachable blocks (rgcd's
# global queues, pool and reactor live for the process) are not errors. tests/valgrind.supp
# holds the few reports that are not rgcd bugs, each with its reason. Under valgrind threads
# run one at a time and every instruction is slower: tests with a rounds argument get fewer.
# Note: blocks recycled by rgcd's own caches (work items, queue objects: src/alloc.rs) are
# not seen by memcheck until the cache gives them back to malloc. ---
find_program(RGCD_VALGRIND valgrind)
if(RGCD_VALGRIND)
  set(_rgcd_memcheck_opts --quiet --error-exitcode=1 --leak-check=full
    --show-leak-kinds=definite --errors-for-leak-kinds=definite
    "--suppressions=${PROJECT_SOURCE_DIR}/tests/valgrind.supp")
  # Not run under valgrind, and why:
  set(_rgcd_memcheck_skip
    # re-executes itself through /proc/self/exe, which under valgrind is valgrind's own binary
    c_thread_cap
    # watch a child process: valgrind 3.19 does not know pidfd_open (ENOSYS), so
    # rgcd_activate of a proc source fails under it (tests/c/source_proc.c covers the rest)
    c_source_proc c_source_lifecycle compat_sources)
  # Fewer rounds under valgrind (the argument each program takes).
  set(_rgcd_memcheck_args_c_semaphore_release_while_waiting 200)
  set(_rgcd_memcheck_args_c_release_after_wake 200)
  set(_rgcd_memcheck_args_c_source_release_in_handler 300)
  # Each misuse case runs in a forked child that _exits holding the objects the case made
  # (on purpose): leaks there are the table's, not rgcd's. Memory errors still fail it.
  set(_rgcd_memcheck_opts_c_misuse_table --leak-check=no)
  # Its children _exit holding what the parent's threads held at the fork (work items, queue
  # and source references that thread was running: leaked in the child by design, see
  # docs/fork.md), and valgrind checks each child's leaks at its exit too. Memory errors, in
  # the parent and in every child, still fail it.
  set(_rgcd_memcheck_opts_c_fork --leak-check=no)
  set(_rgcd_memcheck_opts_c_fork_storm --leak-check=no)
  set(_rgcd_memcheck_args_c_fork_storm 20)
  set(_rgcd_memcheck_opts_c_fork_object_locks --leak-check=no)
  set(_rgcd_memcheck_args_c_fork_object_locks 50)
  get_property(_rgcd_tests DIRECTORY PROPERTY TESTS)
  foreach(_test IN LISTS _rgcd_tests)
    if(NOT _test MATCHES "^(c|compat)_" OR NOT TARGET ${_test} OR _test IN_LIST _rgcd_memcheck_skip)
      continue()
    endif()
    add_test(NAME ${_test}_memcheck
      COMMAND "${RGCD_VALGRIND}" ${_rgcd_memcheck_opts} ${_rgcd_memcheck_opts_${_test}}
        $<TARGET_FILE:${_test}> ${_rgcd_memcheck_args_${_test}})
    set_tests_properties(${_test}_memcheck PROPERTIES TIMEOUT 300 LABELS memcheck)
  endforeach()
else()
  message(STATUS "rgcd: valgrind not found, the memcheck tests (*_memcheck) are skipped")
endif()

# --- Miri (label miri): the unit tests named miri_* (the unsafe code that needs no thread or
# system call) under `cargo +nightly miri test`; skipped when Miri is not installed. The
# first run builds Miri's standard library (minutes). ---
add_test(NAME miri
  COMMAND "${CMAKE_COMMAND}"
    "-DCARGO=${CARGO_EXECUTABLE}"
    "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
    "-DTARGET_DIR=${CMAKE_BINARY_DIR}/cargo-miri"
    -P "${PROJECT_SOURCE_DIR}/cmake/Miri.cmake")
set_tests_properties(miri PROPERTIES
  TIMEOUT 1800 LABELS miri SKIP_REGULAR_EXPRESSION "rgcd-miri: skipped")

# --- ThreadSanitizer (label tsan), when the C compiler can link -fsanitize=thread: the
# programs of tests/tsan share plain memory and order it only through rgcd. tsan_<name>
# builds it against an rgcd built with the `tsan` feature (its annotations tell TSan about
# rgcd's happens-before edges; built once by the tsan_build fixture) and must run without a
# report; tsan_<name>_unannotated builds it against the default rgcd, where TSan must report
# a data race: that shows each program can fail. ---
include(CheckCSourceCompiles)
set(CMAKE_REQUIRED_FLAGS "-fsanitize=thread")
set(CMAKE_REQUIRED_LINK_OPTIONS "-fsanitize=thread")
check_c_source_compiles("int main(void) { return 0; }" RGCD_C_HAS_TSAN)
unset(CMAKE_REQUIRED_FLAGS)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
file(GLOB _rgcd_tsan_tests CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tests/tsan/*.c")
if(RGCD_C_HAS_TSAN AND _rgcd_tsan_tests)
  set(_rgcd_tsan_dir "${CMAKE_BINARY_DIR}/cargo-tsan")
  add_test(NAME tsan_build
    COMMAND "${CMAKE_COMMAND}"
      "-DCARGO=${CARGO_EXECUTABLE}"
      "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
      "-DTARGET_DIR=${_rgcd_tsan_dir}"
      "-DSONAME=${RGCD_SONAME}"
      -P "${PROJECT_SOURCE_DIR}/cmake/CargoTsan.cmake")
  set_tests_properties(tsan_build PROPERTIES
    TIMEOUT 900 LABELS tsan FIXTURES_SETUP rgcd_tsan_lib)
  set(_rgcd_tsan_env
    "TSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/tsan/tsan.supp")
  foreach(_src IN LISTS _rgcd_tsan_tests)
    get_filename_component(_name "${_src}" NAME_WE)
    string(REGEX REPLACE "^tsan_" "" _name "${_name}")
    foreach(_variant IN ITEMS annotated unannotated)
      if(_variant STREQUAL "annotated")
        set(_test tsan_${_name})
        set(_lib_dir "${_rgcd_tsan_dir}/debug")
      else()
        set(_test tsan_${_name}_unannotated)
        set(_lib_dir "${RGCD_STAGE_DIR}")
      endif()
      add_test(NAME ${_test}
        COMMAND "${CMAKE_COMMAND}"
          "-DCOMPILER=${CMAKE_C_COMPILER}"
          "-DSOURCE=${_src}"
          "-DOUTPUT=${CMAKE_BINARY_DIR}/tests/tsan/${_test}"
          "-DINCLUDE_DIR=${PROJECT_SOURCE_DIR}/include"
          "-DLIB_DIR=${_lib_dir}"
          "-DWERROR=${RGCD_WERROR}"
          "-DCFLAGS=-fsanitize=thread -g -O1"
          -P "${PROJECT_SOURCE_DIR}/cmake/CompileAndRun.cmake")
      set_tests_properties(${_test} PROPERTIES
        TIMEOUT 300 LABELS tsan ENVIRONMENT "${_rgcd_tsan_env}")
      if(_variant STREQUAL "annotated")
        set_tests_properties(${_test} PROPERTIES FIXTURES_REQUIRED rgcd_tsan_lib)
      else()
        set_tests_properties(${_test} PROPERTIES
          PASS_REGULAR_EXPRESSION "WARNING: ThreadSanitizer: data race")
      endif()
    endforeach()
  endforeach()
  # tests/tsan/races: programs with a real race (no rgcd ordering between the accesses):
  # TSan must report it against the annotated rgcd too (the annotations hide no real race).
  file(GLOB _rgcd_tsan_races CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tests/tsan/races/*.c")
  foreach(_src IN LISTS _rgcd_tsan_races)
    get_filename_component(_name "${_src}" NAME_WE)
    add_test(NAME tsan_race_${_name}
      COMMAND "${CMAKE_COMMAND}"
        "-DCOMPILER=${CMAKE_C_COMPILER}"
        "-DSOURCE=${_src}"
        "-DOUTPUT=${CMAKE_BINARY_DIR}/tests/tsan/tsan_race_${_name}"
        "-DINCLUDE_DIR=${PROJECT_SOURCE_DIR}/include"
        "-DLIB_DIR=${_rgcd_tsan_dir}/debug"
        "-DWERROR=${RGCD_WERROR}"
        "-DCFLAGS=-fsanitize=thread -g -O1"
        -P "${PROJECT_SOURCE_DIR}/cmake/CompileAndRun.cmake")
    set_tests_properties(tsan_race_${_name} PROPERTIES
      TIMEOUT 300 LABELS tsan ENVIRONMENT "${_rgcd_tsan_env}" FIXTURES_REQUIRED rgcd_tsan_lib
      PASS_REGULAR_EXPRESSION "WARNING: ThreadSanitizer: data race")
  endforeach()
elseif(_rgcd_tsan_tests)
  message(STATUS "rgcd: the C compiler cannot link -fsanitize=thread, the tsan tests are skipped")
endif()

# --- C++ (include/rgcd.hpp): tests/cpp/*.cpp as C++17 with the project's C++
# compiler, once more with the other of g++/clang++ when installed, and once
# with -fsanitize=address,undefined when the compiler can link it. rgcd's own
# process-lifetime allocations (the global queues) are not leaks: lsan.supp. ---
file(GLOB _rgcd_cpp_tests CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tests/cpp/*.cpp")
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  find_program(RGCD_ALT_CXX_COMPILER clang++)
  set(_rgcd_alt_cxx_name clang)
elseif(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  find_program(RGCD_ALT_CXX_COMPILER g++)
  set(_rgcd_alt_cxx_name gcc)
endif()
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_FLAGS "-fsanitize=address,undefined")
set(CMAKE_REQUIRED_LINK_OPTIONS "-fsanitize=address,undefined")
check_cxx_source_compiles("int main() { return 0; }" RGCD_CXX_HAS_SANITIZERS)
unset(CMAKE_REQUIRED_FLAGS)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
set(_rgcd_lsan_env "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/cpp/lsan.supp")
foreach(_src IN LISTS _rgcd_cpp_tests)
  get_filename_component(_name "${_src}" NAME_WE)
  string(REGEX REPLACE "^cpp_" "" _name "${_name}")
  set(_variants cpp_${_name})
  if(RGCD_CXX_HAS_SANITIZERS)
    list(APPEND _variants cpp_${_name}_asan)
  endif()
  foreach(_target IN LISTS _variants)
    add_executable(${_target} "${_src}")
    set_target_properties(${_target} PROPERTIES
      CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF
      RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests/cpp")
    target_compile_options(${_target} PRIVATE ${RGCD_WARNINGS})
    target_link_libraries(${_target} PRIVATE rgcd::rgcd Threads::Threads)
    add_test(NAME ${_target} COMMAND ${_target})
    set_tests_properties(${_target} PROPERTIES TIMEOUT 120 LABELS cpp)
  endforeach()
  if(RGCD_CXX_HAS_SANITIZERS)
    target_compile_options(cpp_${_name}_asan PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(cpp_${_name}_asan PRIVATE -fsanitize=address,undefined)
    set_tests_properties(cpp_${_name}_asan PROPERTIES ENVIRONMENT "${_rgcd_lsan_env}")
  endif()
  if(RGCD_ALT_CXX_COMPILER)
    rgcd_add_compile_and_run_test(cpp_${_name}_${_rgcd_alt_cxx_name}
      "${RGCD_ALT_CXX_COMPILER}" "${_src}" CFLAGS "-O2")
    set_tests_properties(cpp_${_name}_${_rgcd_alt_cxx_name} PROPERTIES LABELS cpp)
  endif()
endforeach()

# The C++ demo (examples/cpp) must run and succeed.
if(TARGET demo_cpp)
  add_test(NAME example_demo_cpp COMMAND demo_cpp)
  set_tests_properties(example_demo_cpp PROPERTIES TIMEOUT 60 LABELS cpp)
endif()

# --- Header checks: rgcd.h (included twice) and dispatch/dispatch.h must
# compile without a warning as strict C99 and as C++11, and link. The programs
# are built by their test, so a header problem is one failing test rather than
# a broken build. ---
if(EXISTS "${PROJECT_SOURCE_DIR}/include/dispatch/dispatch.h")
  add_executable(header_check_c EXCLUDE_FROM_ALL "${PROJECT_SOURCE_DIR}/tests/header/header_check.c")
  set_target_properties(header_check_c PROPERTIES
    C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
    RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests/header")
  add_executable(header_check_cxx EXCLUDE_FROM_ALL "${PROJECT_SOURCE_DIR}/tests/header/header_check.cpp")
  set_target_properties(header_check_cxx PROPERTIES
    CXX_STANDARD 11 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF
    RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests/header")
  foreach(_target header_check_c header_check_cxx)
    target_compile_options(${_target} PRIVATE ${RGCD_WARNINGS})
    if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
      target_compile_options(${_target} PRIVATE -Wpedantic)
    endif()
    target_link_libraries(${_target} PRIVATE rgcd::rgcd)
  endforeach()

  add_test(NAME header_c99
    COMMAND "${CMAKE_COMMAND}" --build "${CMAKE_BINARY_DIR}" --target header_check_c --config $<CONFIG>)
  add_test(NAME header_cxx11
    COMMAND "${CMAKE_COMMAND}" --build "${CMAKE_BINARY_DIR}" --target header_check_cxx --config $<CONFIG>)
  # Two builds in one tree at a time could step on each other.
  set_tests_properties(header_c99 header_cxx11 PROPERTIES
    TIMEOUT 300 LABELS header RESOURCE_LOCK rgcd_build_tree)
else()
  message(STATUS "rgcd: include/dispatch/dispatch.h not found, header checks skipped")
endif()

# --- Install the build into a scratch prefix, then build programs against the
# installed tree with find_package(rgcd) and with pkg-config. ---
set(RGCD_TEST_PREFIX "${CMAKE_BINARY_DIR}/install-test")
add_test(NAME install
  COMMAND "${CMAKE_COMMAND}"
    "-DBUILD_DIR=${CMAKE_BINARY_DIR}"
    "-DPREFIX=${RGCD_TEST_PREFIX}"
    "-DCONFIG=$<CONFIG>"
    "-DLIBDIR=${CMAKE_INSTALL_LIBDIR}"
    "-DINCLUDEDIR=${CMAKE_INSTALL_INCLUDEDIR}"
    "-DSHARED_REALNAME=${RGCD_SHARED_REALNAME}"
    "-DSONAME=${RGCD_SONAME}"
    "-DSHARED_NAME=${RGCD_SHARED_NAME}"
    "-DSTATIC_NAME=${RGCD_STATIC_NAME}"
    "-DREADELF=${CMAKE_READELF}"
    -P "${PROJECT_SOURCE_DIR}/cmake/CheckInstall.cmake")
set_tests_properties(install PROPERTIES
  TIMEOUT 120 LABELS install FIXTURES_SETUP rgcd_install)

add_test(NAME consumer_cmake
  COMMAND "${CMAKE_CTEST_COMMAND}"
    --build-and-test
      "${PROJECT_SOURCE_DIR}/tests/consumer/cmake"
      "${CMAKE_BINARY_DIR}/consumer-cmake"
    --build-generator "${CMAKE_GENERATOR}"
    --build-makeprogram "${CMAKE_MAKE_PROGRAM}"
    --build-options
      "-DCMAKE_PREFIX_PATH=${RGCD_TEST_PREFIX}"
      "-DCMAKE_C_COMPILER=${CMAKE_C_COMPILER}"
      "-DCMAKE_BUILD_TYPE=$<CONFIG>"
      "-DRGCD_EXPECTED_VERSION=${PROJECT_VERSION}"
    --test-command "${CMAKE_CTEST_COMMAND}" --output-on-failure --timeout 60)
set_tests_properties(consumer_cmake PROPERTIES
  TIMEOUT 300 LABELS install FIXTURES_REQUIRED rgcd_install)

find_package(PkgConfig QUIET)
find_program(RGCD_BASH bash)
if(PKG_CONFIG_EXECUTABLE AND RGCD_BASH)
  add_test(NAME consumer_pkgconfig
    COMMAND "${RGCD_BASH}" "${PROJECT_SOURCE_DIR}/tests/consumer/pkgconfig/run.sh"
      "${CMAKE_BINARY_DIR}/consumer-pkgconfig")
  set_tests_properties(consumer_pkgconfig PROPERTIES
    TIMEOUT 300 LABELS install FIXTURES_REQUIRED rgcd_install
    ENVIRONMENT "PKG_CONFIG_PATH=${RGCD_TEST_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig;PKG_CONFIG=${PKG_CONFIG_EXECUTABLE};CC=${CMAKE_C_COMPILER}")
else()
  message(STATUS "rgcd: pkg-config or bash not found, consumer_pkgconfig test skipped")
endif()

# --- Go: the binding (bindings/go) and the Go examples (examples/go), vetted and
# tested with the race detector against this build's librgcd.a (cmake/GoTest.cmake).
# Skipped when no `go` is found. ---
find_program(RGCD_GO_EXECUTABLE go HINTS "$ENV{GOROOT}/bin" /usr/local/go/bin)
if(RGCD_GO_EXECUTABLE)
  # rgcd_add_go_test(<name> <module dir> <go args>...)
  function(rgcd_add_go_test name dir)
    # Lists travel as |-separated strings (see GoTest.cmake).
    list(JOIN ARGN "|" _args)
    list(JOIN RGCD_STATIC_DEPS_FLAGS "|" _deps)
    add_test(NAME ${name}
      COMMAND "${CMAKE_COMMAND}"
        "-DGO=${RGCD_GO_EXECUTABLE}"
        "-DDIR=${dir}"
        "-DARGS=${_args}"
        "-DINCLUDE_DIR=${PROJECT_SOURCE_DIR}/include"
        "-DSTATIC_LIB=${RGCD_STAGE_DIR}/${RGCD_STATIC_NAME}"
        "-DSTATIC_DEPS=${_deps}"
        "-DCC=${CMAKE_C_COMPILER}"
        "-DCACHE_DIR=${CMAKE_BINARY_DIR}/go-cache"
        -P "${PROJECT_SOURCE_DIR}/cmake/GoTest.cmake")
    # The first -race build compiles the standard library with the race detector.
    set_tests_properties(${name} PROPERTIES TIMEOUT 1200 LABELS go RESOURCE_LOCK rgcd_go)
  endfunction()
  set(_rgcd_go_dir "${PROJECT_SOURCE_DIR}/bindings/go")
  rgcd_add_go_test(go_vet "${_rgcd_go_dir}" vet ./...)
  rgcd_add_go_test(go_test "${_rgcd_go_dir}" test -race -count=1 ./...)
  if(EXISTS "${PROJECT_SOURCE_DIR}/examples/go/go.mod")
    rgcd_add_go_test(go_examples_vet "${PROJECT_SOURCE_DIR}/examples/go" vet ./...)
    rgcd_add_go_test(go_examples "${PROJECT_SOURCE_DIR}/examples/go" test -race -count=1 ./...)
    # A Go program built against the installed tree with pkg-config, as a user builds it.
    if(PKG_CONFIG_EXECUTABLE AND RGCD_BASH)
      add_test(NAME consumer_go
        COMMAND "${RGCD_BASH}" "${PROJECT_SOURCE_DIR}/tests/consumer/go/run.sh"
          "${RGCD_GO_EXECUTABLE}" "${CMAKE_BINARY_DIR}/consumer-go")
      set_tests_properties(consumer_go PROPERTIES
        TIMEOUT 600 LABELS "install;go" FIXTURES_REQUIRED rgcd_install RESOURCE_LOCK rgcd_go
        ENVIRONMENT "PKG_CONFIG_PATH=${RGCD_TEST_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig;PKG_CONFIG=${PKG_CONFIG_EXECUTABLE};CC=${CMAKE_C_COMPILER}")
    endif()
  endif()
else()
  message(STATUS "rgcd: go not found, the Go binding's tests are skipped")
endif()

# --- Python binding: a venv under the build tree gets the package (built by setuptools +
# cffi, bundling this build's librgcd), then one pytest run per file of
# bindings/python/tests, loading this build's librgcd (RGCD_LIBRARY). ---
find_package(Python3 3.9 COMPONENTS Interpreter)
if(Python3_FOUND AND RGCD_BASH)
  set(_rgcd_py_driver "${PROJECT_SOURCE_DIR}/bindings/python/tests/ctest.sh")
  set(_rgcd_py_venv "${CMAKE_BINARY_DIR}/python-venv")
  set(_rgcd_py_lib "${RGCD_STAGE_DIR}/${RGCD_SHARED_NAME}")
  add_test(NAME python_setup
    COMMAND "${RGCD_BASH}" "${_rgcd_py_driver}" setup "${Python3_EXECUTABLE}" "${_rgcd_py_venv}" "${_rgcd_py_lib}")
  set_tests_properties(python_setup PROPERTIES
    TIMEOUT 600 LABELS python FIXTURES_SETUP rgcd_python)
  # A wheel built once (bundling this build's librgcd) installs and runs in a fresh venv
  # with no cargo, rustc or C compiler on PATH.
  add_test(NAME python_wheel
    COMMAND "${RGCD_BASH}" "${_rgcd_py_driver}" wheel "${Python3_EXECUTABLE}"
            "${CMAKE_BINARY_DIR}/python-wheel" "${_rgcd_py_lib}" "${_rgcd_py_venv}")
  set_tests_properties(python_wheel PROPERTIES
    TIMEOUT 600 LABELS python FIXTURES_REQUIRED rgcd_python)
  file(GLOB _rgcd_py_tests CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/bindings/python/tests/test_*.py")
  foreach(_src IN LISTS _rgcd_py_tests)
    get_filename_component(_name "${_src}" NAME_WE)
    string(REGEX REPLACE "^test_" "" _name "${_name}")
    add_test(NAME python_${_name}
      COMMAND "${RGCD_BASH}" "${_rgcd_py_driver}" run "${_rgcd_py_venv}" "${_rgcd_py_lib}" "${_src}")
    set_tests_properties(python_${_name} PROPERTIES
      TIMEOUT 300 LABELS python FIXTURES_REQUIRED rgcd_python)
  endforeach()
else()
  message(STATUS "rgcd: python3 (>= 3.9) or bash not found, Python binding tests skipped")
endif()

# --- The soak test (tests/soak/soak.c): built with the tests, run by hand, not by CTest
# (a few minutes): ./build/tests/rgcd_soak [--rounds N] [--ops N] [--seed S]. ---
rgcd_add_program(rgcd_soak "${PROJECT_SOURCE_DIR}/tests/soak/soak.c"
  OUTPUT_DIR "${CMAKE_BINARY_DIR}/tests"
  C_STANDARD 11
  LINK rgcd::rgcd Threads::Threads)
