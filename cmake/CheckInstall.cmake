# cmake -DBUILD_DIR=<build tree> -DPREFIX=<scratch prefix> -DCONFIG=<config>
#       -DLIBDIR=lib -DINCLUDEDIR=include -DSHARED_REALNAME=librgcd.so.X.Y.Z
#       -DSONAME=librgcd.so.X -DSHARED_NAME=librgcd.so -DSTATIC_NAME=librgcd.a
#       [-DREADELF=<readelf>] -P CheckInstall.cmake
#
# Installs the build tree into an empty PREFIX with `cmake --install` and checks
# the layout: the library under its full version with the soname and
# development links, the static library, the headers, rgcd.pc and the CMake
# package. The consumer tests then build against PREFIX.
file(REMOVE_RECURSE "${PREFIX}")
set(_install "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}")
if(CONFIG)
  list(APPEND _install --config "${CONFIG}")
endif()
execute_process(COMMAND ${_install} RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${_rc})")
endif()

set(_errors "")
macro(_expect what)
  if(NOT (${ARGN}))
    string(APPEND _errors "\n  ${what}")
  endif()
endmacro()

set(_lib "${PREFIX}/${LIBDIR}")
_expect("${LIBDIR}/${SHARED_REALNAME} is a file"
  EXISTS "${_lib}/${SHARED_REALNAME}" AND NOT IS_SYMLINK "${_lib}/${SHARED_REALNAME}")
foreach(_link_target IN ITEMS "${SONAME}:${SHARED_REALNAME}" "${SHARED_NAME}:${SONAME}")
  string(REPLACE ":" ";" _pair "${_link_target}")
  list(GET _pair 0 _link)
  list(GET _pair 1 _target)
  set(_points_to "")
  if(IS_SYMLINK "${_lib}/${_link}")
    file(READ_SYMLINK "${_lib}/${_link}" _points_to)
  endif()
  _expect("${LIBDIR}/${_link} is a link to ${_target}" _points_to STREQUAL _target)
endforeach()
_expect("${LIBDIR}/${STATIC_NAME} exists" EXISTS "${_lib}/${STATIC_NAME}")
_expect("${INCLUDEDIR}/rgcd.h exists" EXISTS "${PREFIX}/${INCLUDEDIR}/rgcd.h")
_expect("${INCLUDEDIR}/dispatch/dispatch.h exists" EXISTS "${PREFIX}/${INCLUDEDIR}/dispatch/dispatch.h")
_expect("${LIBDIR}/pkgconfig/rgcd.pc exists" EXISTS "${_lib}/pkgconfig/rgcd.pc")
foreach(_file rgcdConfig.cmake rgcdConfigVersion.cmake)
  _expect("${LIBDIR}/cmake/rgcd/${_file} exists" EXISTS "${_lib}/cmake/rgcd/${_file}")
endforeach()

# The links above only work if the library's soname is SONAME.
if(READELF AND EXISTS "${_lib}/${SHARED_REALNAME}")
  execute_process(COMMAND "${READELF}" -d "${_lib}/${SHARED_REALNAME}"
    OUTPUT_VARIABLE _dynamic RESULT_VARIABLE _rc)
  string(REGEX MATCH "Library soname: \\[([^]]*)\\]" _match "${_dynamic}")
  _expect("the library's soname is ${SONAME} (found '${CMAKE_MATCH_1}')"
    CMAKE_MATCH_1 STREQUAL SONAME)
endif()

if(_errors)
  message(FATAL_ERROR "install tree ${PREFIX} is wrong:${_errors}")
endif()
message(STATUS "install tree ${PREFIX} is complete")
