# cmake -DCARGO=<cargo> -DSOURCE_DIR=<repo> -DTARGET_DIR=<dir> -P Miri.cmake
#
# Runs the crate's unit tests named miri_* (single-threaded tests of its unsafe code: the
# intrusive list, the block allocator, work items, handle conversions, data regions) under
# Miri with the nightly toolchain. Prints "rgcd-miri: skipped" (the CTest entry's skip
# pattern) when `cargo +nightly miri` is not installed
# (rustup +nightly component add miri rust-src).
foreach(_var CARGO SOURCE_DIR TARGET_DIR)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "Miri.cmake: -D${_var}=... is required")
  endif()
endforeach()
execute_process(COMMAND "${CARGO}" +nightly miri --version
  RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
if(NOT _rc EQUAL 0)
  message("rgcd-miri: skipped (no `cargo +nightly miri`)")
  return()
endif()
# rgcd turns an object's address back into a pointer on purpose (src/object.rs, new_arc):
# permissive provenance, without the warning on each such cast.
if(NOT DEFINED ENV{MIRIFLAGS})
  set(ENV{MIRIFLAGS} "-Zmiri-permissive-provenance")
endif()
execute_process(
  COMMAND "${CARGO}" +nightly miri test -p rgcd --lib --target-dir "${TARGET_DIR}" miri_
  WORKING_DIRECTORY "${SOURCE_DIR}"
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "cargo +nightly miri test failed (${_rc})")
endif()
