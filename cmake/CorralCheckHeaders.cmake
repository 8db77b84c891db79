# SPDX-License-Identifier: LGPL-2.1-or-later
# Every public header under src/ must compile on its own (it includes what it uses): one tiny
# translation unit per header, built as part of the default target.
file(GLOB_RECURSE corral_headers RELATIVE ${PROJECT_SOURCE_DIR}/src CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/src/*.hpp)
set(check_dir ${CMAKE_BINARY_DIR}/header_checks)
set(check_sources)
foreach(header ${corral_headers})
    string(MAKE_C_IDENTIFIER ${header} id)
    set(tu ${check_dir}/${id}.cpp)
    file(CONFIGURE OUTPUT ${tu} CONTENT "#include \"${header}\"\n")
    list(APPEND check_sources ${tu})
endforeach()
add_library(corral_header_checks OBJECT ${check_sources})
target_include_directories(corral_header_checks PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_BINARY_DIR}/generated)
target_link_libraries(corral_header_checks PRIVATE corral_warnings PkgConfig::SQLITE3)
# Generated protocol headers must exist first.
add_dependencies(corral_header_checks corral_rpc)
