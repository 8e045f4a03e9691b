# cmake -DCOMPILER=<cc> -DSOURCE=<file.c> -DOUTPUT=<exe> -DINCLUDE_DIR=<dir>
#       -DLIB_DIR=<dir> [-DWERROR=ON] [-DCFLAGS="<flags>"] [-DLIBS="<libs>"]
#       -P CompileAndRun.cmake
#
# Compiles one C (or C++, for a .cpp) program against rgcd with the given compiler (C11 and the
# project's warning flags, then CFLAGS), links it with librgcd.so from LIB_DIR
# and LIBS (space-separated) and runs it. Fails if any step fails. Used to build
# the compat programs with a second compiler, or with clang -fblocks, without
# configuring a second build tree.
foreach(_var COMPILER SOURCE OUTPUT INCLUDE_DIR LIB_DIR)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "CompileAndRun.cmake: -D${_var}=... is required")
  endif()
endforeach()

# C++ sources (.cpp) are compiled as C++17, C sources as C11.
if(SOURCE MATCHES "\\.cpp$")
  set(_flags -std=c++17 -Wall -Wextra)
else()
  set(_flags -std=c11 -Wall -Wextra)
endif()
if(WERROR)
  list(APPEND _flags -Werror)
endif()
separate_arguments(_extra_cflags UNIX_COMMAND "${CFLAGS}")
separate_arguments(_extra_libs UNIX_COMMAND "${LIBS}")

get_filename_component(_out_dir "${OUTPUT}" DIRECTORY)
file(MAKE_DIRECTORY "${_out_dir}")

set(_compile "${COMPILER}" ${_flags} ${_extra_cflags} "-I${INCLUDE_DIR}" "${SOURCE}"
  -o "${OUTPUT}" "-L${LIB_DIR}" "-Wl,-rpath,${LIB_DIR}" -lrgcd ${_extra_libs} -pthread)
list(JOIN _compile " " _compile_line)
message(STATUS "${_compile_line}")
execute_process(COMMAND ${_compile} RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "compiling ${SOURCE} with ${COMPILER} failed (${_rc})")
endif()

execute_process(COMMAND "${OUTPUT}" RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${OUTPUT} failed: ${_rc}")
endif()
