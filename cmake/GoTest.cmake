# Runs `go <ARGS>` in DIR against the library staged by this build (librgcd.a and
# include/), for the Go binding's and the Go examples' CTest entries.
#   cmake -DGO=<go> -DDIR=<module dir> -DARGS=<go arguments, |-separated> -DINCLUDE_DIR=<dir>
#         -DSTATIC_LIB=<librgcd.a> -DSTATIC_DEPS=<linker flags, |-separated> [-DCC=<cc>]
#         [-DCACHE_DIR=<dir, used when HOME is unset>] -P GoTest.cmake
#
# The package is built with the tag rgcd_nopkgconfig, so every flag comes from CGO_CFLAGS
# and CGO_LDFLAGS. The go command does not notice that a library named in CGO_LDFLAGS
# changed, so the library's hash goes into CGO_CFLAGS (part of its cache key): a rebuilt
# librgcd.a relinks the tests.
foreach(_var GO DIR ARGS INCLUDE_DIR STATIC_LIB)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "GoTest.cmake: ${_var} is not set")
  endif()
endforeach()
if(NOT EXISTS "${STATIC_LIB}")
  message(FATAL_ERROR "GoTest.cmake: ${STATIC_LIB} is missing: build the project first")
endif()
string(REPLACE "|" ";" ARGS "${ARGS}")
string(REPLACE "|" ";" STATIC_DEPS "${STATIC_DEPS}")
file(SHA256 "${STATIC_LIB}" _lib_hash)
string(SUBSTRING "${_lib_hash}" 0 16 _lib_hash)
list(JOIN STATIC_DEPS " " _deps)
set(ENV{CGO_ENABLED} 1)
set(ENV{CGO_CFLAGS} "-O2 -I${INCLUDE_DIR} -DRGCD_GO_LIB_HASH=${_lib_hash}")
set(ENV{CGO_LDFLAGS} "${STATIC_LIB} ${_deps}")
set(ENV{GOFLAGS} "-mod=mod -tags=rgcd_nopkgconfig")
set(ENV{GOTOOLCHAIN} local)
if(CC)
  set(ENV{CC} "${CC}")
endif()
if(NOT DEFINED ENV{HOME} AND NOT DEFINED ENV{GOCACHE} AND CACHE_DIR)
  set(ENV{GOCACHE} "${CACHE_DIR}/go-build")
  set(ENV{GOPATH} "${CACHE_DIR}/gopath")
endif()
execute_process(COMMAND "${GO}" ${ARGS} WORKING_DIRECTORY "${DIR}" RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "go ${ARGS}: exit status ${_rc}")
endif()
