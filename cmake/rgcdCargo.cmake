# Builds the Rust crate with cargo and exposes it to the rest of the build as
#   rgcd::rgcd         the shared library (librgcd.so, soname librgcd.so.<ABI major>)
#   rgcd::rgcd_static  the static library plus the native libraries it needs
#
# cargo writes into ${CMAKE_BINARY_DIR}/cargo; the artifacts are then staged in
# ${RGCD_STAGE_DIR} under their installed names (librgcd.so.X.Y.Z plus the
# librgcd.so.X and librgcd.so links), so programs built here load the library
# through the soname exactly as they will after installation.
#
# Both targets are plain INTERFACE libraries rather than IMPORTED ones so that
# include/ is not added as a system directory: our tests must see the header's
# warnings. The installed package (rgcdConfig.cmake) defines IMPORTED targets
# with the same names.

find_program(CARGO_EXECUTABLE cargo HINTS "$ENV{CARGO_HOME}/bin" "$ENV{HOME}/.cargo/bin")
if(NOT CARGO_EXECUTABLE)
  message(FATAL_ERROR "cargo not found: install Rust (https://rustup.rs) or set CARGO_EXECUTABLE")
endif()

set(RGCD_CARGO_TARGET_DIR "${CMAKE_BINARY_DIR}/cargo")
set(RGCD_CARGO_OUT_DIR "${RGCD_CARGO_TARGET_DIR}/release")
set(RGCD_STAGE_DIR "${CMAKE_BINARY_DIR}/lib")

set(RGCD_SHARED_NAME "${CMAKE_SHARED_LIBRARY_PREFIX}rgcd${CMAKE_SHARED_LIBRARY_SUFFIX}")
set(RGCD_SONAME "${RGCD_SHARED_NAME}.${RGCD_SOVERSION}")
set(RGCD_SHARED_REALNAME "${RGCD_SHARED_NAME}.${PROJECT_VERSION}")
set(RGCD_STATIC_NAME "${CMAKE_STATIC_LIBRARY_PREFIX}rgcd${CMAKE_STATIC_LIBRARY_SUFFIX}")

# Native libraries a program linking librgcd.a needs besides the C runtime. This
# is the list printed by
#   cargo rustc --release -p rgcd --crate-type staticlib -- --print native-static-libs
# on Linux/glibc (-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc); refresh it if
# the crate gains native dependencies. The C library itself is always linked.
set(RGCD_STATIC_DEPS_CMAKE Threads::Threads ${CMAKE_DL_LIBS} m)
set(RGCD_STATIC_DEPS_FLAGS -lpthread -ldl -lm)
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  list(APPEND RGCD_STATIC_DEPS_CMAKE rt util gcc_s)
  list(PREPEND RGCD_STATIC_DEPS_FLAGS -lgcc_s -lutil -lrt)
endif()

# Everything that can change the library. The glob over the top-level files
# picks up build.rs, Cargo.lock and cbindgen.toml when they appear.
file(GLOB_RECURSE _rgcd_rust_sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/*")
file(GLOB _rgcd_crate_files CONFIGURE_DEPENDS
  "${PROJECT_SOURCE_DIR}/Cargo.toml"
  "${PROJECT_SOURCE_DIR}/Cargo.lock"
  "${PROJECT_SOURCE_DIR}/build.rs"
  "${PROJECT_SOURCE_DIR}/cbindgen.toml")

set(_rgcd_stamp "${RGCD_CARGO_TARGET_DIR}/rgcd-release.stamp")
add_custom_command(
  OUTPUT "${_rgcd_stamp}"
  BYPRODUCTS
    "${RGCD_CARGO_OUT_DIR}/${RGCD_SHARED_NAME}"
    "${RGCD_CARGO_OUT_DIR}/${RGCD_STATIC_NAME}"
    "${RGCD_STAGE_DIR}/${RGCD_SHARED_REALNAME}"
    "${RGCD_STAGE_DIR}/${RGCD_SONAME}"
    "${RGCD_STAGE_DIR}/${RGCD_SHARED_NAME}"
    "${RGCD_STAGE_DIR}/${RGCD_STATIC_NAME}"
  COMMAND "${CARGO_EXECUTABLE}" build --release -p rgcd --target-dir "${RGCD_CARGO_TARGET_DIR}"
  COMMAND "${CMAKE_COMMAND}" -E make_directory "${RGCD_STAGE_DIR}"
  COMMAND "${CMAKE_COMMAND}" -E copy_if_different
    "${RGCD_CARGO_OUT_DIR}/${RGCD_SHARED_NAME}" "${RGCD_STAGE_DIR}/${RGCD_SHARED_REALNAME}"
  COMMAND "${CMAKE_COMMAND}" -E copy_if_different
    "${RGCD_CARGO_OUT_DIR}/${RGCD_STATIC_NAME}" "${RGCD_STAGE_DIR}/${RGCD_STATIC_NAME}"
  COMMAND "${CMAKE_COMMAND}" -E create_symlink "${RGCD_SHARED_REALNAME}" "${RGCD_STAGE_DIR}/${RGCD_SONAME}"
  COMMAND "${CMAKE_COMMAND}" -E create_symlink "${RGCD_SONAME}" "${RGCD_STAGE_DIR}/${RGCD_SHARED_NAME}"
  COMMAND "${CMAKE_COMMAND}" -E touch "${_rgcd_stamp}"
  DEPENDS ${_rgcd_rust_sources} ${_rgcd_crate_files}
  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
  USES_TERMINAL
  COMMENT "cargo build --release -p rgcd"
  VERBATIM)
add_custom_target(rgcd_cargo ALL DEPENDS "${_rgcd_stamp}")

add_library(rgcd INTERFACE)
target_include_directories(rgcd INTERFACE "${PROJECT_SOURCE_DIR}/include")
target_link_libraries(rgcd INTERFACE "${RGCD_STAGE_DIR}/${RGCD_SHARED_REALNAME}")
add_dependencies(rgcd rgcd_cargo)
add_library(rgcd::rgcd ALIAS rgcd)

add_library(rgcd_static INTERFACE)
target_include_directories(rgcd_static INTERFACE "${PROJECT_SOURCE_DIR}/include")
target_link_libraries(rgcd_static INTERFACE
  "${RGCD_STAGE_DIR}/${RGCD_STATIC_NAME}" ${RGCD_STATIC_DEPS_CMAKE})
add_dependencies(rgcd_static rgcd_cargo)
add_library(rgcd::rgcd_static ALIAS rgcd_static)
