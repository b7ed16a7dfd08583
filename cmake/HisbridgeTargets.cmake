# Helpers that give every hisbridge target the same include root, language
# level and warning set. Sources are always listed explicitly (no globbing).

set(HISBRIDGE_SOURCE_ROOT "${CMAKE_SOURCE_DIR}")

function(hisbridge_target_options target)
  target_include_directories(${target} PRIVATE "${HISBRIDGE_SOURCE_ROOT}")
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wnon-virtual-dtor -Woverloaded-virtual -Wimplicit-fallthrough)
  if(HISBRIDGE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# hisbridge_server_allocator(<executable>): malloc and operator new of the
# executable and every library it loads come from jemalloc instead of
# glibc. Measured on the query role (docs/operations.md, "Memory"): about
# 120 MiB less resident memory for the same cache and about a tenth less
# CPU per GetPatient, where glibc kept returning memory to the kernel and
# faulting it in again. Only for the binaries that run as servers and the
# benchmarks that measure them; tests keep glibc.
function(hisbridge_server_allocator target)
  target_link_libraries(${target} PRIVATE PkgConfig::JEMALLOC)
endfunction()

# hisbridge_library(NAME <name> SRCS ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Creates static library target hisbridge_<name>. Headers include from the
# repository root ("libs/base/status_macros.h"), which is PUBLIC so that
# dependants resolve the same paths.
function(hisbridge_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(target hisbridge_${ARG_NAME})
  add_library(${target} STATIC ${ARG_SRCS})
  hisbridge_target_options(${target})
  target_include_directories(${target} PUBLIC "${HISBRIDGE_SOURCE_ROOT}")
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# hisbridge_test(NAME <name> SRCS ... DEPS ... [LABELS ...] [TIMEOUT s])
# One GoogleTest executable per module; each TEST becomes its own ctest case.
function(hisbridge_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT HISBRIDGE_BUILD_TESTS)
    return()
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  hisbridge_target_options(${ARG_NAME})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  set(properties TIMEOUT ${ARG_TIMEOUT})
  if(ARG_LABELS)
    list(APPEND properties LABELS "${ARG_LABELS}")
  endif()
  gtest_discover_tests(${ARG_NAME} DISCOVERY_MODE PRE_TEST PROPERTIES ${properties})
endfunction()

# hisbridge_fuzzer(NAME <name> SRCS ... DEPS ...): a libFuzzer target, only in
# the clang fuzz tree (HISBRIDGE_FUZZ=ON).
function(hisbridge_fuzzer)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  if(NOT HISBRIDGE_FUZZ)
    return()
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  hisbridge_target_options(${ARG_NAME})
  target_compile_options(${ARG_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${ARG_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
endfunction()
