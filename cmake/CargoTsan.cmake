# cmake -DCARGO=<cargo> -DSOURCE_DIR=<repo> -DTARGET_DIR=<dir> -P CargoTsan.cmake
#
# Builds librgcd with the `tsan` feature (ThreadSanitizer annotations, src/tsan.rs) in the
# dev profile into TARGET_DIR/debug, and gives librgcd.so the name the programs linked to it
# ask for at run time (its SONAME, librgcd.so.<major>).
foreach(_var CARGO SOURCE_DIR TARGET_DIR SONAME)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "CargoTsan.cmake: -D${_var}=... is required")
  endif()
endforeach()
execute_process(
  COMMAND "${CARGO}" build -p rgcd --lib --features tsan --target-dir "${TARGET_DIR}"
  WORKING_DIRECTORY "${SOURCE_DIR}"
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "cargo build --features tsan failed (${_rc})")
endif()
file(CREATE_LINK librgcd.so "${TARGET_DIR}/debug/${SONAME}" SYMBOLIC)
