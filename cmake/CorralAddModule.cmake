# SPDX-License-Identifier: LGPL-2.1-or-later
# corral_add_module(NAME SOURCES ... DEPS ...): one static library per src/ folder, named corral_NAME.
function(corral_add_module name)
    cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
    add_library(corral_${name} STATIC ${ARG_SOURCES})
    target_include_directories(corral_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(corral_${name} PRIVATE corral_warnings ${ARG_DEPS} PUBLIC ${ARG_PUBLIC_DEPS})
endfunction()

# corral_add_unit_test(NAME SOURCES ... DEPS ...): a GoogleTest binary registered with label "unit".
function(corral_add_unit_test name)
    cmake_parse_arguments(ARG "" "LABEL" "SOURCES;DEPS" ${ARGN})
    if(NOT ARG_LABEL)
        set(ARG_LABEL unit)
    endif()
    add_executable(${name} ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE corral_warnings ${ARG_DEPS} GTest::gtest GTest::gtest_main)
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
    gtest_discover_tests(${name} PROPERTIES LABELS ${ARG_LABEL} DISCOVERY_TIMEOUT 60)
endfunction()
